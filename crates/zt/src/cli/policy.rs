use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

// `zt policy …`
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    pub(crate) command: PolicyCommand,
}

// Policy commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Evaluate the policy on an input document; print allow, or every deny with its fix.
    ///
    /// Exit 0 on allow, 1 on deny, 2 when the input, a policy or `zt.toml` is unusable.
    Eval {
        /// The policy input (JSON; schema in `docs/policy-input.md`).
        #[arg(long)]
        input: PathBuf,
        /// A folder of `.rego` files laid over the built-in library and `zt.toml`'s folders.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Judge at this stage instead of the input's `context.stage`.
        #[arg(long, value_enum)]
        stage: Option<StageArg>,
    },
    /// Run the policy's `test_` rules (built-in library, `zt.toml`'s folders, then DIR).
    ///
    /// Prints each test and a closing `N passed, M failed`; exit 1 if any failed.
    Test {
        /// A folder of `.rego` files (policies and their tests) to lay over the library.
        dir: Option<PathBuf>,
    },
}

/// A pipeline stage.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StageArg {
    /// Continuous integration.
    Ci,
    /// Publishing a release.
    Publish,
    /// Deploying.
    Deploy,
}

impl From<StageArg> for zt_core::config::Stage {
    fn from(s: StageArg) -> Self {
        match s {
            StageArg::Ci => Self::Ci,
            StageArg::Publish => Self::Publish,
            StageArg::Deploy => Self::Deploy,
        }
    }
}
