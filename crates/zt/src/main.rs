//! The `zt` binary: parses arguments, calls the library crates, prints.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod printer;
mod report;

use std::process::ExitCode;

use clap::Parser as _;

/// `zt --version`: the workspace's version (`Cargo.toml`, the one place it is set) and the
/// commit it was built from (`build.rs`; `unknown` outside a git checkout).
pub(crate) const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("ZT_COMMIT"), ")");

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let printer = printer::Printer::new(cli.global.json, cli.global.quiet);
    match commands::run(cli.command, &printer) {
        Ok(status) => status.into(),
        Err(err) => {
            report::render(&err, &printer);
            ExitCode::from(err.exit_code())
        }
    }
}
