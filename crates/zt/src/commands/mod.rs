//! Running commands: resolve arguments, call the library crates, print the result.

use std::process::ExitCode;

use crate::cli::Command;
use crate::printer::Printer;
use crate::report::CliError;

mod init;
mod key;
mod policy;

/// How a command that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Everything checked out: exit 0.
    Success,
    /// The command ran and its verdict is negative (findings, denial): exit 1.
    Failure,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        match s {
            Status::Success => ExitCode::SUCCESS,
            Status::Failure => ExitCode::from(1),
        }
    }
}

/// Dispatches a parsed command.
pub(crate) fn run(command: Command, printer: &Printer) -> Result<Status, CliError> {
    match command {
        Command::Key(args) => key::run(args, printer),
        Command::Init(args) => init::run(args, printer),
        Command::Policy(args) => policy::run(args, printer),
    }
}
