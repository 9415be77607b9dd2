use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

// `zt sbom`
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// The project directory whose lockfiles are read, or a container image whose layers are
    /// read (`oci-layout:DIR[:TAG|@sha256:…]`, `registry/repo@sha256:…`, `registry/repo:tag`,
    /// `oci://…`): its OS packages (dpkg, apk) and the lockfiles inside it.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The SBOM format.
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub(crate) format: SbomFormat,
    /// Write the SBOM here (atomically) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The project name of the root component (default: the directory's name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The project version of the root component.
    #[arg(long = "project-version", default_value = "")]
    pub(crate) project_version: String,
    /// Also record the SBOM as a signed statement (predicate type `https://cyclonedx.org/bom`
    /// or `https://spdx.dev/Document/v2.3`) in the ledger of `--repo`, signed with its
    /// pipeline key, about the `--subject` artifacts (without one: about the lockfiles);
    /// `zt vuln watch` re-matches it later.
    #[arg(long)]
    pub(crate) attest: bool,
    /// An artifact the SBOM describes and the statement is about (repeatable), e.g.
    /// `--subject out/hello`: named by its path in `--repo`, with its SHA-256, as
    /// `zt pipeline run` names it.
    #[arg(long)]
    pub(crate) subject: Vec<PathBuf>,
    /// The repository whose key signs and whose ledger records `--attest`.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// For an image: the key `--attest` signs with (the SBOM is attached to the image digest
    /// in its registry or layout, as `zt attest IMAGE` attaches attestations).
    #[arg(long, env = "ZT_KEY")]
    pub(crate) key: Option<String>,
    /// For an image: the transparency log `--attest` appends to (default: the workspace's).
    #[arg(long)]
    pub(crate) log_dir: Option<PathBuf>,
    /// For an image index: the platform whose image is read (`OS/ARCH`, default
    /// `linux/<this machine>`).
    #[arg(long, value_name = "OS/ARCH")]
    pub(crate) platform: Option<String>,
    /// A registry (`HOST:PORT`) to reach over plain HTTP although it is not on loopback.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

// `zt deps …`
#[derive(Debug, Args)]
pub(crate) struct DepsArgs {
    #[command(subcommand)]
    pub(crate) command: DepsCommand,
}

// Dependency commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DepsCommand {
    /// Check the dependencies: pinned (no floating ranges, hashes where the format carries
    /// them, git at a full commit), licences against `[deps.licenses]` in `zt.toml`, known
    /// malware (OSV `MAL-` records), typosquats of popular packages. Exit 1 on a `deny`
    /// finding.
    Check(CheckArgs),
    /// Check the archive a registry served before it may be used: checksum against the
    /// lockfile or index entry, safe unpacking, static malware heuristics (never running
    /// it), quarantine age. Admitted archives enter the content-addressed mirror
    /// `.zt/mirror/`; every decision is a signed statement in the ledger. Exit 1 when
    /// rejected or held.
    Intake(IntakeArgs),
    /// Verify the provenance a registry publishes for a package version against its archive,
    /// offline (npm SLSA provenance, PyPI PEP 740 attestations): what `zt deps intake
    /// --provenance` checks, without taking the package in. Exit 1 when it does not verify.
    Provenance(ProvenanceArgs),
    /// Ask for a new dependency: a justification and a maintenance plan, signed and
    /// recorded under `.zt/requests/`; someone else approves it with `zt deps approve`.
    Request(RequestArgs),
    /// Approve a dependency request (not your own), signed and recorded.
    Approve(ApproveArgs),
    /// List the dependency requests and their state.
    Requests(RequestsArgs),
}

/// Package ecosystems for intake and requests.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum EcosystemArg {
    /// crates.io (`.crate`).
    #[value(name = "crates.io", alias = "cargo", alias = "crates")]
    CratesIo,
    /// npm (`.tgz`).
    Npm,
    /// PyPI (sdist `.tar.gz`, `.whl`).
    #[value(name = "pypi", alias = "PyPI")]
    Pypi,
    /// RubyGems (`.gem`).
    #[value(name = "rubygems", alias = "gem")]
    Rubygems,
    /// Go modules (module `.zip`).
    #[value(name = "go", alias = "golang")]
    Go,
}

/// `zt deps intake`
#[derive(Debug, Args)]
pub(crate) struct IntakeArgs {
    /// The package and version, `NAME@VERSION` (npm scopes: `@scope/name@1.0.0`).
    pub(crate) package: String,
    /// The package's ecosystem.
    #[arg(long, value_enum)]
    pub(crate) ecosystem: EcosystemArg,
    /// The archive the registry served (`.crate`, `.tgz`, `.tar.gz`, `.whl`, `.gem`, `.zip`).
    #[arg(long)]
    pub(crate) archive: PathBuf,
    /// A lockfile whose entry for the package gives the expected checksum (and makes the
    /// package an existing dependency that needs no request).
    #[arg(long)]
    pub(crate) lockfile: Option<PathBuf>,
    /// The registry's index entry for the package: a crates.io index file, an npm
    /// packument, a PyPI JSON document, a RubyGems versions JSON, or a go.sum. Gives the
    /// expected checksum and the publish time.
    #[arg(long)]
    pub(crate) index: Option<PathBuf>,
    /// Admit a package whose publish time is unknown (no `--index`, or an entry without a
    /// time). Without it such a package is held: the quarantine age fails closed.
    #[arg(long)]
    pub(crate) allow_unknown_age: bool,
    /// Override `thresholds.min_package_age_hours` of `zt.toml` (default 72).
    #[arg(long)]
    pub(crate) min_age_hours: Option<u64>,
    /// The registry's provenance document for this version, verified offline against the
    /// Sigstore public-good root (for Go modules: the checksum database's saved documents, a
    /// directory with `lookup/` and `tile/8/`, or its URL; without it the database of
    /// `[deps.provenance] go_sumdb` is asked online): npm's attestations document
    /// (`/-/npm/v1/attestations/NAME@VERSION`) or its SLSA provenance bundle, or a PyPI PEP 740
    /// provenance object (`/integrity/NAME/VERSION/FILE/provenance`). It must be about this
    /// archive; `[deps.provenance]` in `zt.toml` says whether it is required and which source
    /// repository each package must come from.
    #[arg(long)]
    pub(crate) provenance: Option<PathBuf>,
    /// Also run the package's install-time code (npm `preinstall`/`install`/`postinstall`, a
    /// Python sdist's build backend or `setup.py`, a crate's `build.rs`, a gem's
    /// `extconf.rb`) in `zt build`'s sandbox: no network, a home of canary credentials, a
    /// time and memory limit. Network attempts, canary reads, network tools and writes
    /// outside the package are findings of source `dynamic`. `[deps.malware] dynamic` in
    /// `zt.toml` makes it the default per ecosystem.
    #[arg(long)]
    pub(crate) dynamic: bool,
    /// The repository whose mirror, requests and ledger are used.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
}

/// `zt deps provenance`
#[derive(Debug, Args)]
pub(crate) struct ProvenanceArgs {
    /// The package and version, `NAME@VERSION`.
    pub(crate) package: String,
    /// The package's ecosystem (`npm`, `pypi` or `go`).
    #[arg(long, value_enum)]
    pub(crate) ecosystem: EcosystemArg,
    /// The archive the registry served (the npm tarball, the PyPI distribution, the Go
    /// module zip).
    #[arg(long)]
    pub(crate) archive: PathBuf,
    /// The provenance document: npm's attestations document or SLSA bundle, a PyPI PEP 740
    /// provenance object or attestation. For Go: the checksum database's documents, a
    /// directory holding `lookup/` and `tile/8/` (the `go` command's
    /// `$GOMODCACHE/cache/download/sumdb/sum.golang.org`) or a lookup file in it, or the
    /// database's URL to ask it online (default `https://sum.golang.org`).
    #[arg(long)]
    pub(crate) document: Option<PathBuf>,
    /// A Sigstore `trusted_root.json` replacing the embedded public-good root.
    #[arg(long)]
    pub(crate) trusted_root: Option<PathBuf>,
    /// Go: the checksum database as `GOSUMDB` names it, `<verifier key> [url]` (default
    /// `sum.golang.org`'s key).
    #[arg(long)]
    pub(crate) go_sumdb: Option<String>,
}

/// `zt deps request`
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The package name.
    pub(crate) package: String,
    /// The package's ecosystem.
    #[arg(long, value_enum)]
    pub(crate) ecosystem: EcosystemArg,
    /// Limit the request to one version.
    #[arg(long = "package-version")]
    pub(crate) package_version: Option<String>,
    /// Why the project needs it.
    #[arg(long)]
    pub(crate) justification: String,
    /// Who keeps it up to date, and how.
    #[arg(long)]
    pub(crate) maintenance_plan: String,
    /// Who asks (default: `$ZT_USER`, then `$USER`).
    #[arg(long)]
    pub(crate) requester: Option<String>,
    /// Sign the request with this key (a PEM private key or a `pkcs11:` URI); default: the
    /// repository's pipeline key. An approval must then come from another key.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// The repository whose requests and ledger are used.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
}

/// `zt deps approve`
#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The request id (`REQ-…`).
    pub(crate) id: String,
    /// The approver's own key (a PEM private key or a `pkcs11:` URI): listed under
    /// `[[deps.approver]]` in `zt.toml`, not the requester's key, not the repository's.
    #[arg(long)]
    pub(crate) key: String,
    /// Who approves (default: the name `zt.toml` gives the key); must match it.
    #[arg(long)]
    pub(crate) approver: Option<String>,
    /// The repository whose requests and ledger are used.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
}

/// `zt deps requests`
#[derive(Debug, Args)]
pub(crate) struct RequestsArgs {
    /// The repository whose requests are listed.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
}

/// `zt deps check`
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The project directory whose lockfiles are read.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The configuration with the `[deps.licenses]` policy (default: `DIR/zt.toml` when it
    /// exists).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Licences for packages whose lockfile records none: a JSON object purl → SPDX
    /// expression, or a CycloneDX/SPDX JSON SBOM.
    #[arg(long)]
    pub(crate) licenses: Option<PathBuf>,
    /// Known-malicious package records: a vulnerability store (`zt vuln db import`) or a
    /// folder of OSV `MAL-` files (default: the store `DIR/.zt/vuln` when it exists).
    #[arg(long, env = "ZT_MALWARE_DB")]
    pub(crate) malware: Option<PathBuf>,
    /// A folder of popular-package lists (`top_pypi_packages.json`, `top_npm_packages.json`,
    /// `top_go_packages.json`, `top_rubygems_packages.json`) for typosquat detection.
    #[arg(long, env = "ZT_TOP_PACKAGES")]
    pub(crate) top_packages: Option<PathBuf>,
    /// How a typosquat finding counts: `deny` fails the check, `warn` only reports it.
    #[arg(long, value_enum, default_value_t = Level::Deny)]
    pub(crate) typosquat: Level,
    /// Also record the result as a signed statement (predicate type
    /// `https://zt.dev/attestation/dependency-intake/v1`, read by the `deps.*` policies) in
    /// the ledger of `--repo`, signed with its pipeline key, about the `--subject` artifacts
    /// (without one: about the lockfiles).
    #[arg(long)]
    pub(crate) attest: bool,
    /// An artifact the statement is about (repeatable), e.g. `--subject out/hello`: named by
    /// its path in `--repo`, with its SHA-256, as `zt pipeline run` names it.
    #[arg(long, requires = "attest")]
    pub(crate) subject: Vec<PathBuf>,
    /// The repository whose key signs and whose ledger records `--attest`.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// Print the findings as SARIF 2.1.0 (for code scanning) instead of the report.
    #[arg(long)]
    pub(crate) sarif: bool,
}

/// How a kind of finding counts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Level {
    /// Fails the check.
    Deny,
    /// Reported only.
    Warn,
}
