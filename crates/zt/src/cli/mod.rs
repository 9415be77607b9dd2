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
#[derive(Debug, Subcommand)]
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
