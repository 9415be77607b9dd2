//! Command-line arguments (clap derive). Doc comments become `--help`. No logic here: each
//! command's arguments are resolved and run in `crate::commands`.

use clap::{Args, Parser, Subcommand};

mod init;
mod key;
mod policy;

pub(crate) use init::InitArgs;
pub(crate) use key::{KeyArgs, KeyCommand, KeyTypeArg};
pub(crate) use policy::{PolicyArgs, PolicyCommand};

/// zt: prove, for every artifact you ship, who wrote it, what went into it, how it was built,
/// and that every policy held — offline.
#[derive(Debug, Parser)]
#[command(name = "zt", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Print machine-readable JSON on stdout instead of human output.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print only errors on stderr.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
}

/// zt's commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate and inspect signing keys.
    Key(KeyArgs),
    /// Scaffold `zt.toml`, a local signing key and a `policies/` folder in a repository.
    Init(InitArgs),
    /// Evaluate and test Rego policies.
    Policy(PolicyArgs),
}
