use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

// `zt source …`
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    #[command(subcommand)]
    pub(crate) command: SourceCommand,
}

// Source integrity commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SourceCommand {
    /// Scan for secrets with gitleaks rules (built in, or a repository's `.gitleaks.toml`).
    ///
    /// Exit 1 when secrets are found, 0 when none, 2 on errors (a bad rule file, an
    /// unreadable file, not a git repository).
    Scan(ScanArgs),
    /// Verify commit signatures (SSH and OpenPGP, in process) against the repository's signer
    /// policy `.zt/signers.toml` as it is in each commit's parent(s).
    ///
    /// Keys are judged at the time a commit was first seen (recorded in `.zt/source/verified`,
    /// or `--push-time`), never its committer date. Exit 1 when any commit is unsigned, badly
    /// signed, signed by an unknown, expired, revoked or unauthorised key; 2 on bad input.
    Verify(SourceVerifyArgs),
    /// Install a `pre-commit` hook running `zt source scan --staged` and a `pre-push` hook
    /// scanning the lines the pushed commits add. Never replaces a hook zt did not write.
    InstallHooks {
        /// The `zt` the hooks run (default: this executable).
        #[arg(long)]
        zt: Option<PathBuf>,
    },
}

/// `zt source scan`
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files and directories to scan (default: the current directory).
    #[arg(conflicts_with_all = ["staged", "range", "history"])]
    pub(crate) paths: Vec<PathBuf>,
    /// Scan the index blobs staged for the next commit (not the work tree).
    #[arg(long, conflicts_with_all = ["range", "history"])]
    pub(crate) staged: bool,
    /// Scan only the lines added by the commits in a range (`A..B`, or one revision).
    #[arg(long, value_name = "A..B", conflicts_with = "history")]
    pub(crate) range: Option<String>,
    /// Scan every blob in the history of all refs once, attributed to the first commit.
    #[arg(long)]
    pub(crate) history: bool,
    /// A gitleaks rule file (default: `.gitleaks.toml` in the scanned root, else the built-in rules).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Skip files ignored by `.gitignore`, `.git/info/exclude` and `.ignore` when walking
    /// directories. Off by default: an ignored `.env` is still on disk, and still copied into
    /// builds and images.
    #[arg(long)]
    pub(crate) gitignore: bool,
    /// Also scan zt's own state directory (`.zt/`: its private key, secrets store and evidence),
    /// which tree scans leave out by default.
    #[arg(long)]
    pub(crate) include_zt_state: bool,
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value_t = ScanFormat::Human)]
    pub(crate) format: ScanFormat,
    /// How much of each secret to hide in the output, in percent (100 prints `REDACTED`).
    #[arg(long, value_name = "PERCENT", default_value_t = 80, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) redact: u8,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub(crate) threads: usize,
}

/// Output formats of `zt source scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScanFormat {
    /// One line per finding.
    Human,
    /// A JSON document.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// `zt source verify`
#[derive(Debug, Args)]
pub(crate) struct SourceVerifyArgs {
    /// `A..B` (the commits of B not in A), or a revision (it and its history back to the trust
    /// root). Default: `HEAD`; commits verified before are skipped (see `--no-cache`).
    #[arg(value_name = "RANGE")]
    pub(crate) range: Option<String>,
    /// The commit history is trusted from (its own policy judges it). Default:
    /// `git config zt.trustRoot`, else the first commit with `.zt/signers.toml` (with a warning).
    #[arg(long, value_name = "COMMIT")]
    pub(crate) trust_root: Option<String>,
    /// The trusted time (RFC 3339, or Unix seconds) commits not seen before were pushed at, as
    /// CI knows it; keys are judged at this time instead of now.
    #[arg(long, value_name = "TIME")]
    pub(crate) push_time: Option<String>,
    /// Check every commit again instead of skipping those verified before (first-seen times
    /// are kept).
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Also record the result as a signed in-toto statement (predicate type
    /// `https://zt.dev/attestation/source-verification/v1`, subject the tip commit) in the
    /// repository's ledger, signed with its pipeline key and logged.
    #[arg(long)]
    pub(crate) attest: bool,
}
