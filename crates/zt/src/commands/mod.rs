//! Running commands: resolve arguments, call the library crates, print the result.

use std::process::ExitCode;

use crate::cli::Command;
use crate::printer::Printer;
use crate::report::CliError;

mod build;
mod deps;
mod docs;
mod drill;
mod incident;
mod init;
mod key;
mod log;
mod metrics;
mod normalize;
mod pipeline;
mod policy;
mod push;
mod secrets;
mod serve;
mod sign;
mod source;
mod trace;
mod verify;
mod verify_commits;
mod vuln;
mod watch;

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

/// The workspace a command runs in: the repository containing `dir` (see
/// [`zt_core::Workspace::discover`]), its ledger as configured and its clock. A fixed clock
/// (`ZT_NOW`) is said on stderr: decisions made with it are not about the present.
pub(crate) fn workspace(
    dir: &std::path::Path,
    printer: &Printer,
) -> Result<zt_core::Workspace, CliError> {
    let ws = zt_core::Workspace::discover(dir)?;
    if let zt_core::Clock::Fixed(t) = ws.clock() {
        printer.warn(format!(
            "the clock is fixed at {} (ZT_NOW)",
            zt_core::time::rfc3339(t)
        ));
    }
    Ok(ws)
}

/// The credential sent to a zt server's evidence API: `ZT_SERVER_TOKEN` (an API token or a
/// CI job's OIDC ID token), if set.
pub(crate) fn server_credential() -> Option<String> {
    std::env::var("ZT_SERVER_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Dispatches a parsed command.
pub(crate) fn run(command: Command, printer: &Printer) -> Result<Status, CliError> {
    match command {
        Command::Build(args) => build::run(args, printer),
        Command::Repro(args) => build::repro(args, printer),
        Command::Key(args) => key::run(args, printer),
        Command::Pipeline(args) => pipeline::run(args, printer),
        Command::Sign(args) => sign::sign(args, printer),
        Command::Attest(args) => sign::attest(args, printer),
        Command::Verify(args) => verify::run(args, printer),
        Command::Log(args) => log::run(args, printer),
        Command::Vuln(args) => vuln::run(args, printer),
        Command::Source(args) => source::run(args, printer),
        Command::Normalize(args) => normalize::run(args, printer),
        Command::Init(args) => init::run(args, printer),
        Command::Policy(args) => policy::run(args, printer),
        Command::Deps(args) => deps::run(args, printer),
        Command::Sbom(args) => deps::sbom(args, printer),
        Command::Push(args) => push::run(args, printer),
        Command::SandboxProbe(args) => build::sandbox_probe(args, printer),
        Command::Secrets(args) => secrets::run(args, printer),
        Command::Serve(args) => serve::run(args, printer),
        Command::Watch(args) => watch::run(args, printer),
        Command::Incident(args) => incident::run(args, printer),
        Command::Drill(args) => drill::run_drills(args, printer),
        Command::Metrics(args) => metrics::run(args, printer),
        Command::Completions(args) => docs::completions(args, printer),
        Command::Man(args) => docs::man(args, printer),
        Command::Trace(args) => trace::run(args, printer),
    }
}
