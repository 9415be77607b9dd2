use std::path::PathBuf;

use clap::Args;

// `zt metrics [--since T] [--json|--prometheus]`
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// Count records at or after this time (RFC 3339, Unix seconds, or an age like `30d`).
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Print the Prometheus text format (what a server's `/metrics` serves).
    #[arg(long, conflicts_with = "json")]
    pub(crate) prometheus: bool,
    /// The repository (default: the current directory).
    #[arg(long, default_value = ".")]
    pub(crate) dir: PathBuf,
}
