//! Lockfile readers. Each reader turns one file's text into [`Package`]s; malformed input is
//! an [`Error::Parse`] naming the file, the line (or field) and the fix.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Ecosystem, Error, Hash, Package, Source};

mod cargo;
mod gemfile;
mod gomod;
mod npm;
mod pnpm;
mod poetry;
mod requirements;
mod uv;
mod yarn;
pub mod yarn_v1;

/// The lockfile formats zt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `Cargo.lock`.
    CargoLock,
    /// `package-lock.json` / `npm-shrinkwrap.json` (lockfile versions 1–3).
    PackageLockJson,
    /// `requirements*.txt` (pip requirement files, with `--hash` and `-r` includes).
    RequirementsTxt,
    /// `poetry.lock`.
    PoetryLock,
    /// `go.mod` (and its `go.sum` for Go ≤ 1.16 modules).
    GoMod,
    /// `uv.lock`.
    UvLock,
    /// `Gemfile.lock`.
    GemfileLock,
    /// `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x).
    PnpmLock,
    /// `yarn.lock`: classic (v1) or berry (yarn 2+).
    YarnLock,
    /// A CycloneDX JSON SBOM read back (see [`crate::sbom::read`]).
    CycloneDx,
    /// An SPDX JSON SBOM read back.
    Spdx,
    /// A dpkg status database (`var/lib/dpkg/status`, `status.d/*`) inside an image.
    DpkgStatus,
    /// An apk database (`lib/apk/db/installed`) inside an image.
    ApkInstalled,
}

impl Format {
    /// The format a file name stands for: `Cargo.lock`, `package-lock.json`,
    /// `npm-shrinkwrap.json`, `requirements*.txt`, `poetry.lock`, `go.mod`, `uv.lock`, `Gemfile.lock`,
    /// `pnpm-lock.yaml`, `yarn.lock`.
    pub fn detect(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        Some(match name {
            "Cargo.lock" => Format::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => Format::PackageLockJson,
            "poetry.lock" => Format::PoetryLock,
            "go.mod" => Format::GoMod,
            "uv.lock" => Format::UvLock,
            "Gemfile.lock" | "gems.locked" => Format::GemfileLock,
            "pnpm-lock.yaml" => Format::PnpmLock,
            "yarn.lock" => Format::YarnLock,
            n if n.starts_with("requirements") && n.ends_with(".txt") => Format::RequirementsTxt,
            _ => return None,
        })
    }

    /// The usual file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::CargoLock => "Cargo.lock",
            Format::PackageLockJson => "package-lock.json",
            Format::RequirementsTxt => "requirements.txt",
            Format::PoetryLock => "poetry.lock",
            Format::GoMod => "go.mod",
            Format::UvLock => "uv.lock",
            Format::GemfileLock => "Gemfile.lock",
            Format::PnpmLock => "pnpm-lock.yaml",
            Format::YarnLock => "yarn.lock",
            Format::CycloneDx => "bom.cdx.json",
            Format::Spdx => "bom.spdx.json",
            Format::DpkgStatus => "var/lib/dpkg/status",
            Format::ApkInstalled => "lib/apk/db/installed",
        }
    }
}

/// Parses `text`, the contents of `path`, as `format`. Readers that follow includes
/// (`requirements.txt` `-r`, `go.mod` → `go.sum`) read them relative to `path`.
pub fn parse(format: Format, path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let mut packages = match format {
        Format::CargoLock => cargo::parse(path, text)?,
        Format::PackageLockJson => npm::parse(path, text)?,
        Format::RequirementsTxt => requirements::parse(path, text)?,
        Format::PoetryLock => poetry::parse(path, text)?,
        Format::GoMod => gomod::parse(path, text)?,
        Format::UvLock => uv::parse(path, text)?,
        Format::GemfileLock => gemfile::parse(path, text)?,
        Format::PnpmLock => pnpm::parse(path, text)?,
        Format::YarnLock => yarn::parse(path, text)?,
        Format::CycloneDx | Format::Spdx => {
            let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                Error::parse(
                    path,
                    Some(e.line()),
                    format!("not valid JSON: {e}"),
                    "check that the file is complete, valid JSON",
                )
            })?;
            crate::sbom::from_value(path, &doc)?
        }
        // Without the image's os-release (see `crate::os` for the image reader's call).
        Format::DpkgStatus => crate::os::dpkg(path, text, &crate::os::Distro::default())?,
        Format::ApkInstalled => crate::os::apk(path, text, &crate::os::Distro::default())?,
    };
    for p in &mut packages {
        p.dependencies.sort();
        p.dependencies.dedup();
        p.groups.sort();
        p.groups.dedup();
        p.hashes.sort();
        p.hashes.dedup();
    }
    Ok(packages)
}

/// A package with the purl computed and the other fields empty.
pub(crate) fn package(ecosystem: Ecosystem, name: &str, version: &str, source: Source) -> Package {
    Package {
        purl: crate::purl::purl(ecosystem, name, version),
        ecosystem,
        name: name.to_string(),
        version: version.to_string(),
        hashes: Vec::new(),
        source,
        dependencies: Vec::new(),
        dev: false,
        groups: Vec::new(),
        lockfile: 0,
        line: None,
        requirement: None,
        license: None,
    }
}

/// The 1-based line of byte offset `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// Parses TOML, mapping errors to the file and line.
pub(crate) fn parse_toml(path: &Path, text: &str, fix: &str) -> Result<toml::Table, Error> {
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        Error::parse(path, line, format!("not valid TOML: {}", e.message()), fix)
    })
}

/// The 1-based lines of every `[[package]]` header, in order.
pub(crate) fn package_header_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[package]]")
        .map(|(i, _)| i + 1)
        .collect()
}

/// A hex value, lower-cased, or `None` when it is not hex.
pub(crate) fn hex_lower(value: &str) -> Option<String> {
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

/// An `ALGO:VALUE` or `ALGO-BASE64` hash as written in a lockfile.
pub(crate) fn hash_from_prefixed(text: &str) -> Option<Hash> {
    if let Some((algo, value)) = text.split_once(':') {
        let value = hex_lower(value).unwrap_or_else(|| value.to_string());
        return Some(Hash {
            algorithm: algo.to_ascii_lowercase(),
            value,
        });
    }
    None
}

/// A Subresource Integrity value (`sha512-BASE64`, space-separated alternatives) as hex hashes.
pub(crate) fn hashes_from_sri(sri: &str) -> Vec<Hash> {
    sri.split_whitespace()
        .filter_map(|one| {
            let (algo, b64) = one.split_once('-')?;
            let bytes = zt_core::b64::decode(b64)?;
            Some(Hash {
                algorithm: algo.to_ascii_lowercase(),
                value: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            })
        })
        .collect()
}

/// A full 40- or 64-hex-digit git commit id.
pub(crate) fn is_full_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves dependency names to purls within one lockfile: the unique package of that name,
/// or the one with the given version.
pub(crate) struct NameIndex {
    by_name: BTreeMap<String, Vec<(String, String)>>,
}

impl NameIndex {
    pub(crate) fn new(packages: &[Package], key: impl Fn(&str) -> String) -> Self {
        let mut by_name: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for p in packages {
            by_name
                .entry(key(&p.name))
                .or_default()
                .push((p.version.clone(), p.purl.clone()));
        }
        NameIndex { by_name }
    }

    pub(crate) fn resolve(&self, name: &str, version: Option<&str>) -> Option<&str> {
        let candidates = self.by_name.get(name)?;
        match version {
            Some(v) => candidates
                .iter()
                .find(|(cv, _)| cv == v)
                .map(|(_, p)| p.as_str()),
            None if candidates.len() == 1 => candidates.first().map(|(_, p)| p.as_str()),
            None => None,
        }
    }
}
