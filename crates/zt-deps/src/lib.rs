//! zt's dependency inventory: read the lockfiles of a project into one model of packages keyed
//! by package URL (purl), and write it out as a CycloneDX 1.6 or SPDX 2.3 SBOM.
//!
//! Readers: `Cargo.lock`, `package-lock.json` (lockfile versions 1–3), `requirements*.txt`
//! (with `--hash`, following `-r` includes), `poetry.lock`, `uv.lock`, `Gemfile.lock`, `go.mod` (+ `go.sum` for
//! Go ≤ 1.16 modules), `pnpm-lock.yaml` (5.x, 6.x, 9.x) and `yarn.lock` (classic v1 and berry). Each package carries its canonical purl, ecosystem, name, version,
//! hashes, source (registry, git URL and commit, path, URL), dependency edges (by purl),
//! whether it is a development-only dependency, and the lockfile line it came from.
//!
//! The API the pipeline calls:
//!
//! - [`inventory`]`(dir)` finds the lockfiles in `dir` and reads them into an [`Inventory`]
//!   (one lockfile: [`read_lockfile`]);
//! - [`sbom::cyclonedx`] / [`sbom::spdx`] turn an inventory plus a [`sbom::RootInfo`] (the
//!   project's name and version, and optionally the built artifacts with their SHA-256) into
//!   a deterministic JSON document: the same inventory and root give the same bytes
//!   ([`sbom::to_bytes`]).
//! - [`sbom::read`] parses a CycloneDX or SPDX JSON document back into an inventory,
//!   rejecting documents that break the formats' structure;
//! - [`check::pinning`] lists the pinning problems (floating ranges, missing hashes, git and
//!   URL dependencies without a pinned commit) with file and line; [`check::run`] adds the
//!   licence policy ([`check::licenses`]), known-malware hits and typosquats
//!   ([`check::typosquat`]).
//! - [`intake::decide`] checks an archive a registry served (checksum against the lockfile or
//!   index entry, safe unpacking, static malware heuristics, quarantine age) before it enters
//!   the content-addressed [`intake::mirror`]; [`intake::requests`] holds the requests and
//!   approvals a new dependency needs.
//!
//! ```no_run
//! # fn main() -> Result<(), zt_deps::Error> {
//! let inv = zt_deps::inventory(std::path::Path::new("."))?;
//! let root = zt_deps::sbom::RootInfo::new("my-app", "1.2.0");
//! let doc = zt_deps::sbom::cyclonedx(&inv, &root);
//! let bytes = zt_deps::sbom::to_bytes(&doc);
//! # let _ = bytes; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use zt_core::Digest;

pub mod check;
mod error;
pub mod intake;
pub mod lockfile;
pub mod os;
pub mod pinned;
pub mod purl;
pub mod registry;
pub mod sbom;

pub use error::Error;

/// A package ecosystem, named as OSV names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Ecosystem {
    /// Rust crates (`pkg:cargo`).
    #[serde(rename = "crates.io")]
    CratesIo,
    /// npm (`pkg:npm`).
    #[serde(rename = "npm")]
    Npm,
    /// Python packages (`pkg:pypi`).
    #[serde(rename = "PyPI")]
    PyPI,
    /// Go modules (`pkg:golang`).
    #[serde(rename = "Go")]
    Go,
    /// Ruby gems (`pkg:gem`).
    #[serde(rename = "RubyGems")]
    RubyGems,
    /// Any other package type (read from an SBOM; its purl is kept as written).
    #[serde(rename = "other")]
    Other,
}

impl Ecosystem {
    /// The OSV name: `crates.io`, `npm`, `PyPI`, `Go`.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Other => "other",
        }
    }

    /// The purl type: `cargo`, `npm`, `pypi`, `golang`.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Other => "generic",
        }
    }
}

/// One hash of a package's content as the lockfile records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Hash {
    /// The algorithm, lower case (`sha256`, `sha512`, `sha1`, …).
    pub algorithm: String,
    /// The value as written in the lockfile when it is not hex (e.g. a malformed
    /// `--hash`), otherwise lower-case hex.
    pub value: String,
}

impl Hash {
    /// The hash as a [`Digest`] when it is a well-formed SHA-256/SHA-512 hex value.
    pub fn digest(&self) -> Option<Digest> {
        let algorithm = zt_core::DigestAlgorithm::from_name(&self.algorithm)?;
        Digest::from_hex(algorithm, &self.value).ok()
    }
}

/// Where a package's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// A package registry (the URL when the lockfile names one).
    Registry {
        /// The registry or download URL, if recorded.
        url: Option<String>,
    },
    /// A git repository; `commit` is the pinned revision when the lockfile records a full one.
    Git {
        /// The repository URL.
        url: String,
        /// The full commit id, if pinned.
        commit: Option<String>,
    },
    /// A local path (workspace member, `file:` dependency).
    Path {
        /// The path as written.
        path: String,
    },
    /// A direct download URL (tarball, wheel) without a registry.
    Url {
        /// The URL.
        url: String,
    },
}

/// One package of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    /// The canonical package URL (see [`purl`]).
    pub purl: String,
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem spells it.
    pub name: String,
    /// The resolved version; empty when the lockfile pins none (e.g. an unpinned requirement).
    pub version: String,
    /// Content hashes recorded by the lockfile.
    pub hashes: Vec<Hash>,
    /// Where the content comes from.
    pub source: Source,
    /// Direct dependencies, by purl, sorted.
    pub dependencies: Vec<String>,
    /// Only needed for development (dev dependency group).
    pub dev: bool,
    /// Dependency groups the lockfile names (`dev`, `optional`, `bundled`, poetry/uv groups), sorted.
    pub groups: Vec<String>,
    /// The lockfile it came from (index into [`Inventory::lockfiles`]).
    pub lockfile: usize,
    /// The 1-based line of its entry in that lockfile, where known.
    pub line: Option<usize>,
    /// The requirement as written (requirements.txt), when the lockfile is a requirement list.
    pub requirement: Option<String>,
    /// The declared licence (an SPDX expression, or the text as recorded) where the input
    /// carries one: `package-lock.json` v2/v3 `license`, CycloneDX `licenses`, SPDX
    /// `licenseConcluded`/`licenseDeclared`. The other lockfiles record none.
    pub license: Option<String>,
}

/// A lockfile that was read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lockfile {
    /// Its path.
    pub path: PathBuf,
    /// The format.
    pub format: lockfile::Format,
    /// SHA-256 of its bytes.
    pub sha256: Digest,
}

/// Every package of a project, from its lockfiles.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Inventory {
    /// The lockfiles read, in path order.
    pub lockfiles: Vec<Lockfile>,
    /// The packages, sorted by purl then lockfile; duplicates across lockfiles are kept.
    pub packages: Vec<Package>,
    /// Manifests found beside the lockfiles that declare dependencies no lockfile pins
    /// (`package.json` without `package-lock.json`…): `unpinned-manifest` findings.
    pub unlocked: Vec<check::manifests::UnlockedManifest>,
}

impl Inventory {
    /// Adds the packages of one lockfile.
    pub fn add(&mut self, lockfile: Lockfile, mut packages: Vec<Package>) {
        let index = self.lockfiles.len();
        for p in &mut packages {
            p.lockfile = index;
        }
        self.lockfiles.push(lockfile);
        self.packages.extend(packages);
        self.packages
            .sort_by(|a, b| (&a.purl, a.lockfile, a.line).cmp(&(&b.purl, b.lockfile, b.line)));
    }
}

/// Finds the lockfiles directly in `dir` (see [`lockfile::Format::detect`]) and reads them all.
/// A directory without lockfiles gives an empty inventory.
pub fn inventory(dir: &Path) -> Result<Inventory, Error> {
    let mut paths = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.is_file() && lockfile::Format::detect(&path).is_some() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut inv = Inventory::default();
    for path in paths {
        let (lock, packages) = read_lockfile(&path)?;
        inv.add(lock, packages);
    }
    inv.unlocked = check::manifests::find_unlocked(dir)?;
    Ok(inv)
}

/// Reads one lockfile, its format detected from its name.
pub fn read_lockfile(path: &Path) -> Result<(Lockfile, Vec<Package>), Error> {
    let format = lockfile::Format::detect(path).ok_or_else(|| Error::UnknownFormat(path.into()))?;
    read_lockfile_as(path, format)
}

/// Reads one lockfile in the given format.
pub fn read_lockfile_as(
    path: &Path,
    format: lockfile::Format,
) -> Result<(Lockfile, Vec<Package>), Error> {
    let bytes = fs_err::read(path)?;
    let sha256 = Digest::sha256(&bytes);
    let text = String::from_utf8(bytes).map_err(|e| Error::Parse {
        file: path.into(),
        line: None,
        message: format!("not UTF-8 text ({e})"),
        fix: "a lockfile is UTF-8 text; regenerate it with its package manager".into(),
    })?;
    let packages = lockfile::parse(format, path, &text)?;
    Ok((
        Lockfile {
            path: path.into(),
            format,
            sha256,
        },
        packages,
    ))
}
