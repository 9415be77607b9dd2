use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `zt vuln …`
#[derive(Debug, Args)]
pub(crate) struct VulnArgs {
    /// The vulnerability store directory.
    #[arg(long, global = true, env = "ZT_VULN_STORE", default_value = ".zt/vuln")]
    pub(crate) store: PathBuf,
    #[command(subcommand)]
    pub(crate) command: VulnCommand,
}

/// Vulnerability commands.
#[derive(Debug, Subcommand)]
pub(crate) enum VulnCommand {
    /// Compare two versions with an ecosystem's native ordering; prints `<`, `=` or `>`.
    VersionCmp {
        /// The ecosystem, as OSV names it (`crates.io`, `npm`, `Go`, `PyPI`, `Maven`, `Debian`, …).
        #[arg(long)]
        ecosystem: String,
        /// The first version.
        a: String,
        /// The second version.
        b: String,
    },
    /// Score a CVSS v3.0, v3.1 or v4.0 vector; prints the score and severity.
    Cvss {
        /// The vector, e.g. `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
        vector: String,
    },
    /// The local advisory database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

/// Database commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import OSV records (JSON, YAML) and RustSec advisories (Markdown + TOML) from files or
    /// directories; a record replaces the stored one with the same id unless that is newer.
    Import {
        /// Files or directories to read (searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show record counts per ecosystem, source and kind, and the age of the newest record.
    Status {
        /// Fail (exit 1) when the newest record is older than this many days.
        #[arg(long, env = "ZT_VULN_MAX_AGE_DAYS")]
        max_age_days: Option<u64>,
    },
}
