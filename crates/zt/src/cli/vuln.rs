use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt vuln …`
#[derive(Debug, Args)]
pub(crate) struct VulnArgs {
    /// The vulnerability store directory [default: the repository's `.zt/vuln`, the
    /// repository found from `--repo` or the current directory as every command finds it].
    #[arg(long, global = true, env = "ZT_VULN_STORE")]
    pub(crate) store: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: VulnCommand,
}

// Vulnerability commands.
#[derive(Debug, Subcommand)]
pub(crate) enum VulnCommand {
    /// Compare two versions with an ecosystem's native ordering; prints `<`, `=` or `>`.
    VersionCmp {
        /// The ecosystem, as OSV names it (`crates.io`, `npm`, `Go`, `PyPI`, `Maven`, `Debian`, …).
        #[arg(long)]
        ecosystem: String,
        /// The first version.
        a: String,
        /// The second version.
        b: String,
    },
    /// Score a CVSS v3.0, v3.1 or v4.0 vector; prints the score and severity.
    Cvss {
        /// The vector, e.g. `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.
        vector: String,
    },
    /// Show which range and event make a package affected by an advisory, or not.
    Explain {
        /// The advisory id or one of its aliases (`RUSTSEC-2020-0105`, `CVE-2020-36212`).
        id: String,
        /// The package, as a purl with a version (`pkg:cargo/abi_stable@0.9.0`).
        purl: String,
    },
    /// Match an SBOM's components (CycloneDX 1.x or SPDX 2.3 JSON, or a `Cargo.lock`) against
    /// the database.
    Scan {
        /// The SBOM file (or a `Cargo.lock`).
        sbom: PathBuf,
        /// Exit 1 when a finding is at or above this severity.
        #[arg(long, default_value = "critical", value_parser = parse_severity)]
        fail_on: zt_vuln::cvss::Severity,
        /// A waiver file (TOML, `[[waiver]]` tables); waived findings do not fail the scan, but
        /// expired and unused waivers do (default: `zt-waivers.toml` in `--repo` when it
        /// exists, the file `zt vuln waive` writes).
        #[arg(long)]
        waivers: Option<PathBuf>,
        /// Longest time a waiver may run, in days from now (policy).
        #[arg(long, env = "ZT_VULN_MAX_WAIVER_DAYS", default_value_t = 90)]
        max_waiver_days: u64,
        /// Warn when a waiver expires within this many days.
        #[arg(long, default_value_t = 14)]
        waiver_warn_days: u64,
        /// Print SARIF 2.1.0 instead of the human report.
        #[arg(long, conflicts_with = "json")]
        sarif: bool,
        /// Also record the result as a signed statement (predicate type
        /// `https://zt.dev/attestation/vuln-scan/v1`) in the ledger of `--repo`, signed with
        /// its pipeline key, about the `--subject` artifacts (without one: about the SBOM file).
        #[arg(long)]
        attest: bool,
        /// An artifact the statement is about (repeatable), e.g. `--subject out/hello`: named
        /// by its path in `--repo`, with its SHA-256, as `zt pipeline run` names it.
        #[arg(long, requires = "attest")]
        subject: Vec<PathBuf>,
        /// The repository whose key signs and whose ledger records `--attest`.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Also print JSON (same as the global `--json`).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Re-match every SBOM recorded in the ledger against the database and list only the
    /// findings that are new since the last watch (run it after `zt vuln db import`).
    Watch {
        /// The repository whose ledger holds the SBOMs (its `[store]`, else `.zt/ledger.db`).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// Where the previous findings are remembered (default: `watch.json` in the store).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Exit 1 when a new finding is at or above this severity.
        #[arg(long, default_value = "critical", value_parser = parse_severity)]
        fail_on: zt_vuln::cvss::Severity,
    },
    /// Record a waiver in the repository's waiver file (`zt-waivers.toml`, which `zt vuln scan`
    /// and `zt pipeline run` read), checked as `--waivers` checks it: an expiry no further
    /// than `--max-waiver-days` away, an approver other than the owner, a version scope.
    Waive(WaiveArgs),
    /// Export waivers as an OpenVEX v0.2.0 document (`not_affected` statements).
    Vex {
        /// The waiver file.
        waivers: PathBuf,
        /// The document's author.
        #[arg(long)]
        author: String,
        /// The document's timestamp (RFC 3339; default: now).
        #[arg(long)]
        timestamp: Option<String>,
        /// Longest time a waiver may run, in days from now (policy).
        #[arg(long, env = "ZT_VULN_MAX_WAIVER_DAYS", default_value_t = 90)]
        max_waiver_days: u64,
    },
    /// The local advisory database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

// Database commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Import OSV records (JSON, YAML) and RustSec advisories (Markdown + TOML) from files or
    /// directories; a record replaces the stored one with the same id unless that is newer.
    Import {
        /// Files or directories to read (searched recursively).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show record counts per ecosystem, source and kind, and the age of the newest record.
    Status {
        /// Fail (exit 1) when the newest record is older than this many days.
        #[arg(long, env = "ZT_VULN_MAX_AGE_DAYS")]
        max_age_days: Option<u64>,
    },
}

/// `zt vuln waive`
#[derive(Debug, Args)]
pub(crate) struct WaiveArgs {
    /// The advisory id or one of its aliases (`GHSA-…`, `CVE-…`, `RUSTSEC-…`).
    pub(crate) id: String,
    /// The package as a purl with its exact version (`pkg:cargo/abi_stable@0.9.0`), or without
    /// a version together with `--introduced` and `--fixed`/`--last-affected`.
    #[arg(long)]
    pub(crate) purl: String,
    /// A version range instead of one version: the first version covered.
    #[arg(long, requires = "purl")]
    pub(crate) introduced: Option<String>,
    /// The first version no longer covered (with `--introduced`).
    #[arg(long, requires = "introduced", conflicts_with = "last_affected")]
    pub(crate) fixed: Option<String>,
    /// The last version covered (with `--introduced`).
    #[arg(long, requires = "introduced")]
    pub(crate) last_affected: Option<String>,
    /// Why the finding does not apply (OpenVEX justification).
    #[arg(long, value_enum)]
    pub(crate) justification: JustificationArg,
    /// What the justification rests on, in words.
    #[arg(long)]
    pub(crate) statement: String,
    /// A control that compensates meanwhile (repeatable).
    #[arg(long = "compensating-control")]
    pub(crate) compensating_controls: Vec<String>,
    /// Who answers for the waiver.
    #[arg(long)]
    pub(crate) owner: String,
    /// Who approved it (not the owner).
    #[arg(long)]
    pub(crate) approver: String,
    /// When it stops applying: `YYYY-MM-DD` (end of that day, UTC) or RFC 3339; required, at
    /// most `--max-waiver-days` away.
    #[arg(long)]
    pub(crate) expires: String,
    /// The waiver file (default: `zt-waivers.toml` in `--repo`).
    #[arg(long)]
    pub(crate) waivers: Option<PathBuf>,
    /// The repository whose waiver file is written.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// Longest time a waiver may run, in days from now (policy).
    #[arg(long, env = "ZT_VULN_MAX_WAIVER_DAYS", default_value_t = 90)]
    pub(crate) max_waiver_days: u64,
}

/// OpenVEX `not_affected` justifications.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum JustificationArg {
    /// The vulnerable component is not included.
    ComponentNotPresent,
    /// The vulnerable code is not included.
    VulnerableCodeNotPresent,
    /// The vulnerable code cannot be executed.
    VulnerableCodeNotInExecutePath,
    /// The vulnerable code cannot be controlled by an adversary.
    VulnerableCodeCannotBeControlledByAdversary,
    /// Built-in protections prevent exploitation.
    InlineMitigationsAlreadyExist,
}

fn parse_severity(s: &str) -> Result<zt_vuln::cvss::Severity, String> {
    s.parse()
}
