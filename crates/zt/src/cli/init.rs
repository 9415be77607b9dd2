use std::path::PathBuf;

use clap::Args;

/// `zt init`
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The repository root (default: the current directory).
    pub(crate) dir: Option<PathBuf>,
}
