use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt incident key-compromised|bad-package|bad-commit`
#[derive(Debug, Args)]
pub(crate) struct IncidentArgs {
    #[command(subcommand)]
    pub(crate) command: IncidentCommand,
    /// The repository (default: the current directory).
    #[arg(long, default_value = ".", global = true)]
    pub(crate) dir: PathBuf,
}

// The incident workflows.
#[derive(Debug, Subcommand)]
pub(crate) enum IncidentCommand {
    /// A signing key was compromised: revoke it from `--at`, list its blast radius, re-decide
    /// every artifact it vouched for, list the builds to redo.
    KeyCompromised {
        /// The key id (hex SHA-256 of its SPKI DER, as revocations and bundles name it).
        key: String,
        /// Since when (RFC 3339 or Unix seconds; default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// A package is malicious: quarantine it in the mirror, find every SBOM and build that
    /// used it, re-decide their artifacts.
    BadPackage {
        /// The package URL (`pkg:npm/name@1.2.3`).
        purl: String,
    },
    /// A commit is malicious: every artifact built from it or its descendants, re-decided.
    BadCommit {
        /// The commit id (or anything `git rev-parse` takes).
        commit: String,
    },
}
