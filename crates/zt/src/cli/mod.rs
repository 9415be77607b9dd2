//! Command-line arguments (clap derive). Doc comments become `--help`. No logic here: each
//! command's arguments are resolved and run in `crate::commands`.

use clap::{Args, Parser, Subcommand};

mod build;
mod deps;
mod docs;
#[cfg(test)]
mod fix_texts;
mod key;
mod normalize;
mod pipeline;
mod push;
mod sign;

pub(crate) use build::{BuildAction, BuildArgs, SandboxProbeArgs};
pub(crate) use deps::{
    ApproveArgs, CheckArgs, DepsArgs, DepsCommand, EcosystemArg, IntakeArgs, Level, ProvenanceArgs,
    RequestArgs, RequestsArgs, SbomArgs, SbomFormat,
};
pub(crate) use docs::{CompletionsArgs, ManArgs, ManFormat, ShellArg};
pub(crate) use key::{KeyArgs, KeyCommand, KeyTypeArg};
pub(crate) use pipeline::{PipelineArgs, PipelineCommand};
pub(crate) use push::PushArgs;
pub(crate) use sign::{AttestArgs, SignArgs, TraceArgs, VerifyArgs};
mod log;

pub(crate) use log::{LogArgs, LogCommand};
mod vuln;

pub(crate) use vuln::{DbCommand, JustificationArg, VulnArgs, VulnCommand, WaiveArgs};
mod source;

pub(crate) use normalize::NormalizeArgs;
pub(crate) use source::{ScanArgs, ScanFormat, SourceArgs, SourceCommand, SourceVerifyArgs};
mod init;
mod policy;

pub(crate) use init::InitArgs;
pub(crate) use policy::{PolicyArgs, PolicyCommand};
mod secrets;

pub(crate) use secrets::{SecretsArgs, SecretsCommand};
mod watch;

pub(crate) use watch::WatchArgs;
mod incident;

pub(crate) use incident::{IncidentArgs, IncidentCommand};
mod drill;

pub(crate) use drill::DrillArgs;
mod metrics;

pub(crate) use metrics::MetricsArgs;
mod serve;

pub(crate) use serve::{ServeArgs, ServeCommand, TokenCommand};

/// zt: prove, for every artifact you ship, who wrote it, what went into it, how it was built,
/// and that every policy held — offline.
#[derive(Debug, Parser)]
#[command(
    name = "zt",
    version = crate::VERSION,
    propagate_version = true,
    max_term_width = 100
)]
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
///
/// `defer`: each command's arguments are built only when it is the one invoked (or when help,
/// man pages or completions need the whole tree). Building all 25 commands' arguments, then
/// dropping them, was 1.2 M of the 2.5 M instructions every `zt` process spent before its own
/// work (callgrind). Two rules keep the deferred tree the same as an eager one, both tested
/// below: the argument structs named here, and the command enums inside them, carry no doc
/// comment (clap would apply it after the variant's, replacing the command's summary), and no command defines an argument that
/// shadows a global one (`--json`, `--quiet`: the global is propagated before a deferred
/// command's own arguments exist). Nested command enums are not deferred: `zt log`'s global
/// `--log-key` is shadowed by `zt log cosign`'s own.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum Command {
    /// Run a build in a hermetic sandbox and collect its outputs.
    Build(BuildArgs),
    /// Build N times with variations in the sandbox, compare, and explain differences.
    Repro(BuildArgs),
    /// Generate and inspect signing keys.
    Key(KeyArgs),
    /// Run the whole pipeline on a repository (or the bundled example).
    Pipeline(PipelineArgs),
    /// Sign a file: write a Sigstore bundle with a signature over its SHA-256.
    Sign(SignArgs),
    /// Attest to a file: sign an in-toto statement about it in a DSSE envelope.
    Attest(AttestArgs),
    /// Verify an artifact against a Sigstore bundle, offline.
    #[command(alias = "verify-bundle")]
    Verify(VerifyArgs),
    /// Keep a transparency log: append, checkpoint, prove, verify, witness.
    Log(LogArgs),
    /// Vulnerabilities: the OSV database, version ordering, matching and scans.
    Vuln(VulnArgs),
    /// Source integrity: secret scanning, signed-commit verification and git hooks.
    Source(SourceArgs),
    /// Remove timestamps, owners and ordering from archives in place (strip-nondeterminism compatible).
    Normalize(NormalizeArgs),
    /// Scaffold `zt.toml`, a local signing key and a `policies/` folder in a repository.
    Init(InitArgs),
    /// Evaluate and test Rego policies.
    Policy(PolicyArgs),
    /// Dependencies: checks over the lockfiles, intake of new archives, requests and approvals.
    Deps(DepsArgs),
    /// Write a CycloneDX 1.6 or SPDX 2.3 SBOM of the project's lockfiles, or of a container
    /// image's layers (deterministic).
    Sbom(SbomArgs),
    /// Copy a container image (an OCI layout `zt build --image` wrote, or a registry's) to a
    /// registry or a layout, every blob checked against its digest; no daemon.
    Push(PushArgs),
    /// Run a command in the bare build sandbox and time it (benchmarks).
    #[command(hide = true, name = "sandbox-probe")]
    SandboxProbe(SandboxProbeArgs),
    /// Secrets: OIDC-bound short-lived tokens, encryption at rest, an audited access log.
    Secrets(SecretsArgs),
    /// Serve zt's HTTP API (the evidence hub, the secrets broker) on loopback until SIGTERM or
    /// Ctrl-C; `zt serve token …` manages its API tokens.
    Serve(ServeArgs),
    /// Alerts from the build records' baselines: unusual programs, network attempts, writes,
    /// durations, signing keys, committers and commit keys.
    Watch(WatchArgs),
    /// Respond to an incident: a compromised key, a malicious package or commit.
    Incident(IncidentArgs),
    /// Plant a compromise in a scratch copy of the example and check that zt detects it.
    Drill(DrillArgs),
    /// Reproducibility, sandbox overhead, policy pass rate, drill times, open criticals and
    /// waivers near expiry, from the ledger.
    Metrics(MetricsArgs),
    /// Print shell completions (bash, zsh, fish) generated from this CLI.
    Completions(CompletionsArgs),
    /// Print the man page of zt or of one command, or write them all with `--out-dir`.
    Man(ManArgs),
    /// Where an artifact came from: its builds, commits and their signature verdicts,
    /// dependencies, signers and the decision at every stage, from verified evidence only.
    Trace(TraceArgs),
}

/// The whole command tree with every deferred command built, for what shows the tree rather
/// than parsing one command line (completions, man pages): `help`'s own tree (`zt help deps approve`) is
/// copied from the commands when the root is built, before a deferred command has its
/// arguments and commands. So the tree is built once, and its built commands (their globals
/// propagated, their names set, as in an eager tree) are put into a fresh root, whose build
/// then copies them whole.
pub(crate) fn whole_tree() -> clap::Command {
    use clap::CommandFactory as _;
    let mut built = Cli::command();
    built.build();
    let mut root = Cli::command();
    for sub in built.get_subcommands() {
        if sub.get_name() != "help" {
            root = root.mut_subcommand(sub.get_name(), |_| sub.clone());
        }
    }
    root
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // test code

    use clap::CommandFactory as _;

    /// A deferred command must look the same built as it did before: an argument struct's doc
    /// comment would replace the command's summary when its arguments are added.
    #[test]
    fn deferred_commands_keep_their_summary() {
        let unbuilt = super::Cli::command();
        let mut built = super::Cli::command();
        built.build();
        for sub in unbuilt.get_subcommands() {
            let name = sub.get_name();
            let after = built.find_subcommand(name).unwrap();
            assert_eq!(
                after.get_about().map(ToString::to_string),
                sub.get_about().map(ToString::to_string),
                "`zt {name}`: its argument struct's doc comment replaced the summary; make it a `//` comment",
            );
            assert_eq!(
                after.get_long_about().map(ToString::to_string),
                sub.get_long_about().map(ToString::to_string),
                "`zt {name}`: its long description changed when its arguments were built",
            );
        }
    }

    /// `zt help` knows the commands below the top level (completions offer them).
    #[test]
    fn the_whole_tree_has_help_for_nested_commands() {
        let mut tree = super::whole_tree();
        tree.build();
        let help = tree.find_subcommand("help").unwrap();
        let deps = help.find_subcommand("deps").unwrap();
        assert!(deps.find_subcommand("approve").is_some());
        let log = tree.find_subcommand("log").unwrap();
        let cosign = log.find_subcommand("cosign").unwrap();
        assert_eq!(
            cosign
                .get_arguments()
                .filter(|a| a.get_id() == "log_key")
                .count(),
            1
        );
        assert!(cosign.get_arguments().any(|a| a.get_id() == "json"));
    }

    /// The whole tree passes clap's own checks (unique argument names, among them the globals
    /// propagated into deferred commands).
    #[test]
    fn the_command_tree_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// No command defines an argument of the same name as a global one: the global, propagated
    /// before the deferred command's own arguments exist, would be listed twice.
    #[test]
    fn no_command_shadows_a_global_argument() {
        let mut cli = super::Cli::command();
        cli.build();
        let globals: Vec<String> = cli
            .get_arguments()
            .filter(|a| a.is_global_set())
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(!globals.is_empty());
        for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
            for id in &globals {
                let n = sub.get_arguments().filter(|a| a.get_id() == id).count();
                assert_eq!(
                    n,
                    1,
                    "`zt {}` has {n} arguments named `{id}`",
                    sub.get_name()
                );
            }
        }
    }
}
