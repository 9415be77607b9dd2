use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `zt sbom`
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// The project directory whose lockfiles are read.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The SBOM format.
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub(crate) format: SbomFormat,
    /// Write the SBOM here (atomically) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The project name of the root component (default: the directory's name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The project version of the root component.
    #[arg(long = "project-version", default_value = "")]
    pub(crate) project_version: String,
    /// Also record the SBOM as a signed statement (predicate type `https://cyclonedx.org/bom`
    /// or `https://spdx.dev/Document/v2.3`, subjects the lockfiles) in the ledger of
    /// `--repo`, signed with its pipeline key; `zt vuln watch` re-matches it later.
    #[arg(long)]
    pub(crate) attest: bool,
    /// The repository whose key signs and whose ledger records `--attest`.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// `zt deps …`
#[derive(Debug, Args)]
pub(crate) struct DepsArgs {
    #[command(subcommand)]
    pub(crate) command: DepsCommand,
}

/// Dependency commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DepsCommand {
    /// Check the dependencies: pinned (no floating ranges, hashes where the format carries
    /// them, git at a full commit), licences against `[deps.licenses]` in `zt.toml`, known
    /// malware (OSV `MAL-` records), typosquats of popular packages. Exit 1 on a `deny`
    /// finding.
    Check(CheckArgs),
}

/// `zt deps check`
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The project directory whose lockfiles are read.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The configuration with the `[deps.licenses]` policy (default: `DIR/zt.toml` when it
    /// exists).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Licences for packages whose lockfile records none: a JSON object purl → SPDX
    /// expression, or a CycloneDX/SPDX JSON SBOM.
    #[arg(long)]
    pub(crate) licenses: Option<PathBuf>,
    /// Known-malicious package records: a vulnerability store (`zt vuln db import`) or a
    /// folder of OSV `MAL-` files (default: the store `DIR/.zt/vuln` when it exists).
    #[arg(long, env = "ZT_MALWARE_DB")]
    pub(crate) malware: Option<PathBuf>,
    /// A folder of popular-package lists (`top_pypi_packages.json`, `top_npm_packages.json`,
    /// `top_go_packages.json`, `top_rubygems_packages.json`) for typosquat detection.
    #[arg(long, env = "ZT_TOP_PACKAGES")]
    pub(crate) top_packages: Option<PathBuf>,
    /// How a typosquat finding counts: `deny` fails the check, `warn` only reports it.
    #[arg(long, value_enum, default_value_t = Level::Deny)]
    pub(crate) typosquat: Level,
}

/// How a kind of finding counts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Level {
    /// Fails the check.
    Deny,
    /// Reported only.
    Warn,
}
