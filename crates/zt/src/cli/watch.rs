use std::path::PathBuf;

use clap::Args;

// `zt watch [--since T] [--json|--sarif]`
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Report builds recorded at or after this time (RFC 3339, Unix seconds, or an age like
    /// `7d`); earlier builds still make the baselines.
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Print the alerts as SARIF 2.1.0.
    #[arg(long, conflicts_with = "json")]
    pub(crate) sarif: bool,
    /// Exit 1 when there is an alert (for CI).
    #[arg(long)]
    pub(crate) fail_on_alert: bool,
    /// The repository (default: the current directory).
    #[arg(long, default_value = ".")]
    pub(crate) dir: PathBuf,
}
