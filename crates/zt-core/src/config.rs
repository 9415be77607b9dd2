//! `zt.toml`: the repository's configuration, read by every command.
//!
//! Four tables, all optional, every unknown key an error that names the key and its line:
//!
//! ```toml
//! [[trust.key]]                  # who may sign what, and where it counts
//! name = "local"
//! public_key = ".zt/keys/local.pub"   # or `id = "<hex sha256 of the SPKI DER>"`
//! predicate_types = ["*"]            # URIs, or "*" for every type
//! stages = ["ci", "publish", "deploy"]
//!
//! [policy]
//! dirs = ["policies"]          # override folders, later ones win
//! builtin = true               # start from zt's built-in policy library
//! require_log_proof = true     # evidence without a verified log proof does not count
//! require_signed_commits = false  # deny without a trusted `zt source verify --attest` that passed
//! require_enforced_sandbox = true  # deny zt provenance whose build sandbox was weak
//!
//! [thresholds]
//! min_coverage = 80.0          # percent
//! max_vuln_db_age_days = 7
//! min_rebuilds = 2
//!
//! [deps.licenses]              # `zt deps check`: licence policy (SPDX ids)
//! allow = ["MIT", "Apache-2.0"]
//! unknown = "deny"             # or "warn": packages whose licence is not known
//! [[deps.licenses.exception]]
//! package = "pkg:npm/some-tool"   # purl, with or without version
//! allow = ["GPL-3.0-only"]
//! reason = "dev tool, never shipped"
//! ```
//!
//! ```
//! use zt_core::config::{Config, Stage};
//!
//! let cfg = Config::parse("[thresholds]\nmin_coverage = 90.0\n", "zt.toml".as_ref()).unwrap();
//! assert_eq!(cfg.thresholds.min_coverage, 90.0);
//! assert!(cfg.trust.keys.is_empty());
//! let err = Config::parse("[thresholds]\nmin_coverag = 90.0\n", "zt.toml".as_ref()).unwrap_err();
//! assert!(err.to_string().starts_with("zt.toml:2:1: unknown field `min_coverag`"));
//! assert_eq!("deploy".parse::<Stage>().unwrap(), Stage::Deploy);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Outcome};

/// The configuration file's name, at the repository root.
pub const CONFIG_FILE: &str = "zt.toml";

/// A pipeline stage at which evidence is judged; trust and policy may differ per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Continuous integration: every build of every branch.
    Ci,
    /// Publishing a release artifact.
    Publish,
    /// Admitting an artifact into a running environment.
    Deploy,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 3] = [Stage::Ci, Stage::Publish, Stage::Deploy];

    /// The stage's name as written in `zt.toml`, policy input and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ci => "ci",
            Stage::Publish => "publish",
            Stage::Deploy => "deploy",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| ConfigError::UnknownStage(s.chars().take(64).collect()))
    }
}

/// The whole of `zt.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which keys may sign which predicate types at which stages.
    #[serde(default)]
    pub trust: TrustConfig,
    /// Where policies come from.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Numbers the built-in policies compare against.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Dependency policy read by `zt deps check`.
    #[serde(default)]
    pub deps: DepsConfig,
    /// Where the ledger lives.
    #[serde(default)]
    pub store: StoreConfig,
    /// Where notifications go: one `[[notify]]` per route (see zt-watch's `notify`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyRoute>,
    /// How `zt pipeline run` builds and tests the repository (`zt init --preset` writes it).
    #[serde(default)]
    pub build: BuildConfig,
}

/// The `[build]` table: what `zt pipeline run DIR` runs in the sandbox (flags override it).
///
/// ```toml
/// [build]
/// command = ["cargo", "build", "--offline", "--locked", "--release"]
/// test = ["sh", "-c", "…", "sh", "{junit}"]   # `{junit}`: where the JUnit report goes
/// out = "out"                                  # the artifacts, relative to the repository
/// toolchains = ["~/.rustup/toolchains/stable-x86_64-unknown-linux-gnu"]
/// mirror = "local"                             # install packages from the curated mirror only
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// The build command, run in the sandbox (unset: `make`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The test command, run in the sandbox on a copy of the tree with the build's outputs;
    /// `{junit}` is replaced by the path where it must write its JUnit XML report (unset:
    /// `make test JUNIT={junit}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    /// The build's output directory, relative to the repository (unset: `out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    /// Toolchain directories outside the base system (`/usr`, `/opt`…), shown read-only in
    /// the sandbox at the same path, their `bin/` first on `PATH`; a leading `~/` is the
    /// home directory of the user running zt (so one `zt.toml` serves every machine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolchains: Vec<String>,
    /// Pin the curated mirror as the build's only package source: `"local"` is this
    /// repository's mirror (what `zt deps intake` admitted), anything else the path of
    /// another mirror directory (relative to the repository). Cargo, pip and Go in the
    /// sandbox then install from it, offline; the provenance records its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// The container image `zt build` makes from the outputs (see [`ImageConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageConfig>,
}

/// The `[build.image]` table: an OCI image `zt build` assembles from its outputs, without a
/// daemon or a Dockerfile. Its manifest digest joins the provenance's subjects.
///
/// ```toml
/// [build.image]
/// layout = "image"                        # where the OCI image layout is written
/// name = "registry.example.com/team/app"  # the subject's name (default: the layout path)
/// tag = "latest"                          # the tag in the layout's index.json
/// base = "oci-layout:base"                # a base image (layout or registry@digest); unset: none
/// entrypoint = ["/app/hello"]
/// cmd = []
/// env = ["PATH=/app:/usr/bin"]
/// workdir = "/"
/// user = "65532"
/// labels = { "org.opencontainers.image.source" = "https://example.com/app" }
/// [[build.image.layers]]                  # bottom first; default: the whole output at `/`
/// from = "out/rootfs"                     # a directory of the build's outputs
/// to = "/"                                # where its contents go in the image
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Where the layout is written, relative to the repository (unset: `image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<PathBuf>,
    /// The image's name in the provenance subject (unset: `oci-layout:<layout>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The tag written in the layout (unset: `latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The base image: `oci-layout:DIR[:TAG|@sha256:…]` or `registry/repo@sha256:…` (unset:
    /// none, the image holds only its own layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The layers, bottom first (unset: the whole output directory at `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<ImageLayer>,
    /// The entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// The command (arguments to the entrypoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// Environment `KEY=VALUE` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// The user (`uid[:gid]` or a name the image knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Labels (also the manifest's annotations).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The architecture in GOARCH spelling (unset: the machine's, e.g. `amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
}

/// One `[[build.image.layers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLayer {
    /// A directory of the build's outputs, relative to the repository.
    pub from: PathBuf,
    /// Where its contents go in the image (absolute; unset: `/`).
    #[serde(default = "root_dir")]
    pub to: String,
}

fn root_dir() -> String {
    "/".to_string()
}

impl BuildConfig {
    /// The toolchain directories with `~/` expanded against `home`.
    pub fn toolchain_dirs(&self, home: Option<&Path>) -> Vec<PathBuf> {
        self.toolchains
            .iter()
            .map(|t| match (t.strip_prefix("~/"), home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(t),
            })
            .collect()
    }
}

/// A `[[notify]]` route: a generic webhook (the event's JSON as the body), a Slack-compatible
/// incoming webhook, or a command (the event's JSON on its stdin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRoute {
    /// `webhook`, `slack` or `command`.
    pub kind: String,
    /// The URL (`webhook`, `slack`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The command and its arguments (`command`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The events it receives: `denial`, `vulnerability`, `alert`, `incident` (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
}

/// The `[store]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The ledger every command uses: `postgres://…` for a shared PostgreSQL, `sqlite:PATH` or
    /// a path; unset, the embedded `.zt/ledger.db`. `ZT_STORE_URL` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The `[deps]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsConfig {
    /// The licence policy; without it licences are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<LicensesConfig>,
    /// One `[[deps.approver]]` per person who may approve dependency requests, with the key
    /// that signs their approvals.
    #[serde(default, rename = "approver", skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<Approver>,
    /// The `[deps.malware]` table: rules added to zt's built-in malware rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malware: Option<MalwareConfig>,
    /// The `[deps.provenance]` table: upstream provenance required at intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceConfig>,
    /// The `[deps.on_demand]` table: upstream registries `zt serve` takes a missing package
    /// in from when a client first asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand: Option<OnDemandConfig>,
}

/// The `[deps.on_demand]` table: when a client asks `zt serve`'s registry for a package the
/// mirror lacks and a request for it was approved, the server fetches the approved version
/// from upstream, runs intake on it (every check, the provenance policy) and serves it only if
/// admitted.
///
/// ```toml
/// [deps.on_demand]
/// cargo = "https://index.crates.io"    # a sparse index; downloads from its config.json `dl`
/// npm = "https://registry.npmjs.org"   # packuments; tarballs from the same origin only
/// pypi = "https://pypi.org"            # the JSON API (`/pypi/NAME/json`)
/// pypi_files = "https://files.pythonhosted.org"   # where PyPI's files may be downloaded from
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDemandConfig {
    /// The upstream Cargo sparse index (`https://index.crates.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cargo: Option<String>,
    /// The upstream npm registry (`https://registry.npmjs.org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npm: Option<String>,
    /// The upstream PyPI (`https://pypi.org`), read through its JSON API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pypi: Option<String>,
    /// The one other origin PyPI's files may be downloaded from, besides `pypi` itself
    /// (default `https://files.pythonhosted.org`, where pypi.org's files are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pypi_files: Option<String>,
}

/// The `[deps.provenance]` table: how `zt deps intake` treats the provenance registries
/// publish (npm SLSA provenance, PyPI PEP 740 attestations, the Go checksum database), per
/// ecosystem, and the source repository each named package must be published from.
///
/// ```toml
/// [deps.provenance]
/// npm = "require"      # require | prefer (default) | off
/// pypi = "prefer"
/// go = "require"       # the module's h1: hash logged by the checksum database
/// go_sumdb = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8 https://sum.golang.org"
/// [[deps.provenance.package]]
/// package = "pkg:npm/sigstore"
/// repository = "https://github.com/sigstore/sigstore-js"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceConfig {
    /// npm packages.
    #[serde(default)]
    pub npm: ProvenanceRequirement,
    /// PyPI distributions.
    #[serde(default)]
    pub pypi: ProvenanceRequirement,
    /// Go modules: their `h1:` hash proved logged by the checksum database.
    #[serde(default)]
    pub go: ProvenanceRequirement,
    /// The Go checksum database, as `GOSUMDB` writes it: its verifier key, then optionally
    /// its URL (default: `https` at the key's name). Unset: `sum.golang.org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_sumdb: Option<String>,
    /// The expected source repository of named packages.
    #[serde(default, rename = "package", skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<ExpectedSource>,
}

impl ProvenanceConfig {
    /// The requirement for an ecosystem by its purl type (`npm`, `pypi`, `golang`); others are `off`
    /// (their registries publish no provenance zt verifies).
    pub fn requirement(&self, purl_type: &str) -> ProvenanceRequirement {
        match purl_type {
            "npm" => self.npm,
            "pypi" => self.pypi,
            "golang" => self.go,
            _ => ProvenanceRequirement::Off,
        }
    }

    /// The repository `package` (a purl without version, `pkg:npm/sigstore`) must come from.
    pub fn expected_repository(&self, package: &str) -> Option<&str> {
        self.packages
            .iter()
            .find(|p| p.package.eq_ignore_ascii_case(package))
            .map(|p| p.repository.as_str())
    }
}

/// How intake treats upstream provenance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvenanceRequirement {
    /// A version without verified provenance is rejected.
    Require,
    /// Provenance given is verified (a bad one rejects); a version without any is admitted.
    #[default]
    Prefer,
    /// Not checked.
    Off,
}

/// One `[[deps.provenance.package]]`: the source repository a package is published from; a
/// version whose provenance names another one is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedSource {
    /// The package as a purl without version, e.g. `pkg:npm/sigstore`, `pkg:pypi/requests`.
    pub package: String,
    /// Its source repository URL (or, for a publisher without one, the signer identity).
    pub repository: String,
}

/// The `[deps.malware]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MalwareConfig {
    /// Folders (or single files) of YARA rules run by `zt deps intake` beside zt's built-in
    /// rules, relative to the repository root; e.g. an installed GuardDog's
    /// `guarddog/analyzer/sourcecode` folder.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Ecosystems whose packages `zt deps intake` also runs in the sandbox, as with
    /// `--dynamic`: `npm`, `pypi`, `crates.io` (or `cargo`), `rubygems` (or `gem`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic: Vec<String>,
    /// Each install hook's time limit under `--dynamic`, in seconds (default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_timeout_seconds: Option<u64>,
    /// Each install hook's address-space limit under `--dynamic`, in MiB (default 4096).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_memory_mib: Option<u64>,
    /// The most each install hook may write under `--dynamic`, in MiB (default 2048): its
    /// `/tmp` holds at most this much, and the hook is killed once the file system of the
    /// package's tree has grown by more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_disk_mib: Option<u64>,
    /// The platforms the mirror's packages are installed on: `linux`, `macos`, `windows`. A
    /// bundled native program or library for none of them (a Windows `.exe` in a mirror for
    /// Linux machines: it cannot run there) warns instead of rejecting. Empty (the default):
    /// every platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// Deny findings a reviewer has looked at and accepted, each for one archive (by its
    /// SHA-256): `[[deps.malware.accept]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<MalwareAccept>,
}

/// One `[[deps.malware.accept]]`: a reviewer's acceptance of a rule's deny findings in one
/// archive — e.g. the Windows launchers pip ships (`bundled-binary`). It applies to the
/// archive whose SHA-256 it names and to no other (a new release is reviewed again); its
/// findings stay in the signed decision, as warnings that name the reviewer and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MalwareAccept {
    /// The package's name, as in `NAME@VERSION`.
    pub package: String,
    /// Its version.
    pub version: String,
    /// The SHA-256 (hex) of the archive reviewed.
    pub sha256: String,
    /// The rule id whose findings are accepted (`bundled-binary`, `install-hook-network`, …).
    pub rule: String,
    /// The files whose findings are accepted: `fnmatch` globs over the paths as the decision's
    /// findings give them (the archive's own, e.g. `package/…` in an npm tarball); empty:
    /// every file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// What the reviewer found, in words.
    pub reason: String,
    /// Who reviewed it.
    pub reviewer: String,
}

/// One `[[deps.approver]]`: a person who may approve dependency requests (`zt deps approve ID
/// --key KEY`), and the public key their approvals must be signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approver {
    /// Their name, as approvals report it.
    pub name: String,
    /// A PEM public key file, relative to the repository root.
    pub public_key: PathBuf,
}

/// How a kind of finding counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingLevel {
    /// Fails the check.
    #[default]
    Deny,
    /// Reported, does not fail the check.
    Warn,
}

/// The `[deps.licenses]` table: SPDX licence ids that may be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicensesConfig {
    /// Allowed licences (SPDX ids, optionally `WITH` an exception).
    pub allow: Vec<String>,
    /// How a package whose licence is unknown counts (default: deny).
    #[serde(default)]
    pub unknown: FindingLevel,
    /// Per-package additions to the allow list.
    #[serde(default, rename = "exception", skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<LicenseException>,
}

/// One `[[deps.licenses.exception]]`: more licences allowed for one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseException {
    /// The package as a purl; without a version it covers every version.
    pub package: String,
    /// Licences allowed for it in addition to the global list.
    pub allow: Vec<String>,
    /// Why (required: an exception is a decision someone owns).
    pub reason: String,
}

/// The `[trust]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// One `[[trust.key]]` entry per signing key.
    #[serde(default, rename = "key")]
    pub keys: Vec<TrustedKey>,
}

/// One `[[trust.key]]`: a key and what its signatures count for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// A label for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The key id: hex SHA-256 of the key's DER SubjectPublicKeyInfo (as `zt key show` prints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A PEM public key file, relative to the repository root; its id is computed from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PathBuf>,
    /// The predicate type URIs this key may sign; `"*"` allows every type.
    pub predicate_types: Vec<String>,
    /// The stages at which this key's signatures count (default: every stage).
    #[serde(default = "all_stages")]
    pub stages: Vec<Stage>,
}

fn all_stages() -> Vec<Stage> {
    Stage::ALL.to_vec()
}

/// The `[policy]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Folders of `.rego` files, relative to the repository root; a file named like a
    /// built-in one replaces it, other files add rules. Later folders win.
    #[serde(default = "default_policy_dirs")]
    pub dirs: Vec<PathBuf>,
    /// Whether zt's built-in policy library is loaded first.
    #[serde(default = "yes")]
    pub builtin: bool,
    /// Whether evidence must carry a verified transparency-log proof to count.
    #[serde(default = "yes")]
    pub require_log_proof: bool,
    /// Whether a trusted source verification (`zt source verify --attest`) that passed is
    /// required (`source.unverified` denies without one).
    #[serde(default)]
    pub require_signed_commits: bool,
    /// Whether zt provenance must record a fully enforced build sandbox (`build.sandbox`
    /// denies a build run with `--allow-weak-sandbox` where the sandbox was weak).
    #[serde(default = "yes")]
    pub require_enforced_sandbox: bool,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            dirs: default_policy_dirs(),
            builtin: true,
            require_log_proof: true,
            require_signed_commits: false,
            require_enforced_sandbox: true,
        }
    }
}

fn default_policy_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from("policies")]
}

fn yes() -> bool {
    true
}

/// The `[thresholds]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Minimum line coverage, in percent, that test evidence must report (0 disables).
    #[serde(default = "default_min_coverage")]
    pub min_coverage: f64,
    /// How old, in days, the vulnerability database behind a scan may be.
    #[serde(default = "default_max_vuln_db_age_days")]
    pub max_vuln_db_age_days: u32,
    /// How many independent builds must have produced identical outputs.
    #[serde(default = "default_min_rebuilds")]
    pub min_rebuilds: u32,
    /// How old, in hours, a package version must be before `zt deps intake` admits it
    /// (younger versions are held: most malicious releases are caught and yanked within
    /// days).
    #[serde(default = "default_min_package_age_hours")]
    pub min_package_age_hours: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_coverage: default_min_coverage(),
            max_vuln_db_age_days: default_max_vuln_db_age_days(),
            min_rebuilds: default_min_rebuilds(),
            min_package_age_hours: default_min_package_age_hours(),
        }
    }
}

fn default_min_coverage() -> f64 {
    80.0
}
fn default_max_vuln_db_age_days() -> u32 {
    7
}
fn default_min_rebuilds() -> u32 {
    2
}
fn default_min_package_age_hours() -> u64 {
    72
}

impl Config {
    /// Reads and checks `path` (normally `<repo>/zt.toml`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match fs_err::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            Err(e) => return Err(ConfigError::Io(e)),
        };
        Config::parse(&text, path)
    }

    /// Parses and checks configuration text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| line_column(text, s.start))
                .unwrap_or((0, 0));
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().replace('\n', " "),
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: String, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            reason,
        };
        for (i, key) in self.trust.keys.iter().enumerate() {
            let field = |f: &str| format!("trust.key[{i}].{f}");
            if key.id.is_none() && key.public_key.is_none() {
                return Err(invalid(
                    format!("trust.key[{i}]"),
                    "needs `id` or `public_key`".into(),
                ));
            }
            if let Some(id) = &key.id
                && (id.len() != 64 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            {
                return Err(invalid(
                    field("id"),
                    "must be 64 lowercase hex digits (the SHA-256 of the key's SPKI DER)".into(),
                ));
            }
            if key.predicate_types.is_empty() {
                return Err(invalid(field("predicate_types"), "is empty".into()));
            }
            if let Some(t) = key
                .predicate_types
                .iter()
                .find(|t| t.as_str() != "*" && !t.contains(':'))
            {
                return Err(invalid(
                    field("predicate_types"),
                    format!("`{t}` is neither a URI nor \"*\""),
                ));
            }
            if key.stages.is_empty() {
                return Err(invalid(field("stages"), "is empty".into()));
            }
        }
        if let Some(m) = &self.deps.malware {
            for (i, a) in m.accept.iter().enumerate() {
                let field = |f: &str| format!("deps.malware.accept[{i}].{f}");
                if a.sha256.len() != 64
                    || !a
                        .sha256
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    return Err(invalid(
                        field("sha256"),
                        "must be the archive's SHA-256, 64 lowercase hex digits (the `sha256` of `zt deps intake --json`)".into(),
                    ));
                }
                for (name, value) in [
                    ("package", &a.package),
                    ("version", &a.version),
                    ("rule", &a.rule),
                    ("reviewer", &a.reviewer),
                ] {
                    if value.trim().is_empty() {
                        return Err(invalid(field(name), "is empty".into()));
                    }
                }
                if a.reason.trim().is_empty() {
                    return Err(invalid(
                        field("reason"),
                        "is empty: say what the reviewer found and why it may be admitted".into(),
                    ));
                }
                if a.files.iter().any(|f| f.trim().is_empty()) {
                    return Err(invalid(
                        field("files"),
                        "has an empty pattern: leave `files` out to accept every file".into(),
                    ));
                }
            }
        }
        if let Some(l) = &self.deps.licenses {
            for (i, e) in l.exceptions.iter().enumerate() {
                if e.reason.trim().is_empty() {
                    return Err(invalid(
                        format!("deps.licenses.exception[{i}].reason"),
                        "is empty: say why the package may use these licences".into(),
                    ));
                }
            }
        }
        if let Some(out) = &self.build.out
            && (out.is_absolute()
                || out.as_os_str().is_empty()
                || out
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_))))
        {
            return Err(invalid(
                "build.out".into(),
                "must be a relative path inside the repository, e.g. \"out\"".into(),
            ));
        }
        if let Some(image) = &self.build.image {
            let inside = |p: &Path| {
                !p.is_absolute()
                    && !p.as_os_str().is_empty()
                    && p.components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)))
            };
            if image.layout.as_deref().is_some_and(|l| !inside(l)) {
                return Err(invalid(
                    "build.image.layout".into(),
                    "must be a relative path inside the repository, e.g. \"image\"".into(),
                ));
            }
            for (i, l) in image.layers.iter().enumerate() {
                if !inside(&l.from) {
                    return Err(invalid(
                        format!("build.image.layers[{i}].from"),
                        "must be a relative path inside the repository, e.g. \"out\"".into(),
                    ));
                }
                if !l.to.starts_with('/') || l.to.split('/').any(|c| c == "..") {
                    return Err(invalid(
                        format!("build.image.layers[{i}].to"),
                        "must be an absolute path inside the image, e.g. \"/app\"".into(),
                    ));
                }
            }
            if image.env.iter().any(|e| !e.contains('=')) {
                return Err(invalid(
                    "build.image.env".into(),
                    "every entry is `KEY=VALUE`".into(),
                ));
            }
        }
        if let Some(t) = self
            .build
            .toolchains
            .iter()
            .find(|t| !(t.starts_with('/') || t.starts_with("~/")))
        {
            return Err(invalid(
                "build.toolchains".into(),
                format!("`{t}` must be an absolute path or start with `~/`"),
            ));
        }
        let t = &self.thresholds;
        if !(0.0..=100.0).contains(&t.min_coverage) {
            return Err(invalid(
                "thresholds.min_coverage".into(),
                "must be a percentage between 0 and 100".into(),
            ));
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Errors reading `zt.toml` or a stage name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// There is no `zt.toml` where one is needed.
    #[error("no `{}` found", .0.display())]
    Missing(PathBuf),
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's complaint (names the key).
        message: String,
    },
    /// A value parsed but makes no sense.
    #[error("{}: `{field}` {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A stage name is not one of `ci`, `publish`, `deploy`.
    #[error("unknown stage `{0}`")]
    UnknownStage(String),
    /// Reading the file failed (the message names the path).
    #[error(transparent)]
    Io(std::io::Error),
}

impl Diagnostic for ConfigError {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            ConfigError::Missing(_) => {
                "run `zt init` at the repository root to write a `zt.toml`".into()
            }
            ConfigError::Syntax { .. } => {
                "fix the key or value at that line; the tables are `[[trust.key]]`, `[policy]`, `[thresholds]`, `[deps.licenses]` and `[store]` (see `zt init`'s template)".into()
            }
            ConfigError::Invalid { .. } => "correct that field in `zt.toml`".into(),
            ConfigError::UnknownStage(_) => "the stages are `ci`, `publish` and `deploy`".into(),
            ConfigError::Io(_) => "check that the path exists and is readable".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("zt.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.policy.dirs, vec![PathBuf::from("policies")]);
        assert!(c.policy.builtin && c.policy.require_log_proof);
        assert_eq!(c.thresholds.min_rebuilds, 2);
    }

    #[test]
    fn full_file() {
        let c = parse(
            r#"
[[trust.key]]
name = "ci"
id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
predicate_types = ["https://slsa.dev/provenance/v1"]
stages = ["ci", "deploy"]

[[trust.key]]
public_key = ".zt/keys/local.pub"
predicate_types = ["*"]

[policy]
dirs = ["policies", "more"]
require_log_proof = false

[thresholds]
min_coverage = 65.5
max_vuln_db_age_days = 3
"#,
        )
        .unwrap();
        assert_eq!(c.trust.keys.len(), 2);
        assert_eq!(c.trust.keys[0].stages, vec![Stage::Ci, Stage::Deploy]);
        assert_eq!(c.trust.keys[1].stages, Stage::ALL.to_vec());
        assert!(!c.policy.require_log_proof);
        assert!(c.policy.builtin);
        assert_eq!(c.thresholds.min_coverage, 65.5);
        assert_eq!(c.thresholds.max_vuln_db_age_days, 3);
        assert_eq!(c.thresholds.min_rebuilds, 2);
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let e = parse("[policy]\nbuiltin = true\ncolour = \"red\"\n").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("zt.toml:3:1: unknown field `colour`"),
            "{msg}"
        );
        let e = parse("[[trust.key]]\nid = \"x\"\npredicate_types=[\"*\"]\nstage = [\"ci\"]\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("zt.toml:4:1: unknown field `stage`"),
            "{e}"
        );
        let e = parse("[nope]\n").unwrap_err();
        assert!(
            e.to_string().contains(":1:") && e.to_string().contains("`nope`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_and_values_are_errors() {
        let e = parse("[thresholds]\nmin_coverage = \"high\"\n").unwrap_err();
        assert!(e.to_string().starts_with("zt.toml:2:"), "{e}");
        let e = parse("[[trust.key]]\npredicate_types = [\"*\"]\nstages=[\"prod\"]\nid=\"00\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("zt.toml:3:"), "{e}");
        let e = parse("[[trust.key]]\npredicate_types = [\"*\"]\n").unwrap_err();
        assert!(e.to_string().contains("`trust.key[0]` needs"), "{e}");
        let e = parse("[[trust.key]]\nid=\"00\"\npredicate_types = [\"*\"]\n").unwrap_err();
        assert!(e.to_string().contains("trust.key[0].id"), "{e}");
        let e = parse("[thresholds]\nmin_coverage = 120.0\n").unwrap_err();
        assert!(e.to_string().contains("thresholds.min_coverage"), "{e}");
        let e = parse("[[trust.key]]\npublic_key=\"k.pub\"\npredicate_types = [\"slsa\"]\n")
            .unwrap_err();
        assert!(e.to_string().contains("neither a URI"), "{e}");
    }

    #[test]
    fn on_demand_upstreams_per_ecosystem() {
        let c = parse(
            "[deps.on_demand]\ncargo = \"https://index.crates.io\"\nnpm = \"https://registry.npmjs.org\"\npypi = \"https://pypi.org\"\npypi_files = \"https://files.example\"\n",
        )
        .unwrap();
        let o = c.deps.on_demand.unwrap();
        assert_eq!(o.npm.as_deref(), Some("https://registry.npmjs.org"));
        assert_eq!(o.pypi.as_deref(), Some("https://pypi.org"));
        assert_eq!(o.pypi_files.as_deref(), Some("https://files.example"));
        let e = parse("[deps.on_demand]\nrubygems = \"https://rubygems.org\"\n").unwrap_err();
        assert!(e.to_string().contains("rubygems"), "{e}");
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::load(&dir.path().join("zt.toml")).unwrap_err();
        assert!(matches!(e, ConfigError::Missing(_)));
        assert!(e.help().unwrap().contains("zt init"));
    }

    #[test]
    fn stages_parse() {
        for s in Stage::ALL {
            assert_eq!(s.name().parse::<Stage>().unwrap(), s);
        }
        assert!(matches!(
            "prod".parse::<Stage>(),
            Err(ConfigError::UnknownStage(_))
        ));
    }
}
