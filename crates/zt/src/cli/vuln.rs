use clap::{Args, Subcommand};

/// `zt vuln …`
#[derive(Debug, Args)]
pub(crate) struct VulnArgs {
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
}
