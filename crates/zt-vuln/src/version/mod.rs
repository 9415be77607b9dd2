//! Version ordering per ecosystem, natively (no external tools): each ecosystem's own rules,
//! checked against the OSV fixtures in `shared/testdata/versions/`.

use std::cmp::Ordering;
use std::fmt;

use crate::Error;

mod alpine;
mod cran;
mod debian;
mod maven;
mod num;
mod packagist;
mod pypi;
mod rpm;
mod rubygems;
mod semver;

pub use pypi::is_pep440;

/// A package ecosystem, named as OSV names it (`crates.io`, `PyPI`, `Debian`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ecosystem {
    /// Rust crates (SemVer).
    CratesIo,
    /// npm packages (SemVer).
    Npm,
    /// Go modules (SemVer with a leading `v`).
    Go,
    /// Erlang/Elixir Hex packages (SemVer).
    Hex,
    /// Python packages (PEP 440).
    PyPI,
    /// Maven artifacts (`ComparableVersion`).
    Maven,
    /// Ruby gems (`Gem::Version`).
    RubyGems,
    /// .NET packages (NuGet SemVer, four components).
    NuGet,
    /// Debian packages (dpkg).
    Debian,
    /// Ubuntu packages (dpkg).
    Ubuntu,
    /// Alpine packages (apk).
    Alpine,
    /// PHP packages (`version_compare`).
    Packagist,
    /// Dart packages.
    Pub,
    /// Haskell packages (PVP).
    Hackage,
    /// R packages.
    Cran,
    /// Red Hat packages (rpmvercmp).
    RedHat,
    /// An ecosystem zt has no native ordering for (its OSV name as given).
    Other(String),
}

impl Ecosystem {
    /// Every ecosystem zt orders natively.
    pub const SUPPORTED: [Ecosystem; 16] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::Go,
        Ecosystem::Hex,
        Ecosystem::PyPI,
        Ecosystem::Maven,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Debian,
        Ecosystem::Ubuntu,
        Ecosystem::Alpine,
        Ecosystem::Packagist,
        Ecosystem::Pub,
        Ecosystem::Hackage,
        Ecosystem::Cran,
        Ecosystem::RedHat,
    ];

    /// Reads an OSV ecosystem name (`Debian:11` → Debian; the release suffix does not change
    /// the ordering). Matching is case-insensitive; purl types (`cargo`, `pypi`, `gem`,
    /// `golang`, `deb`, `apk`, `rpm`, `composer`) are accepted as aliases.
    pub fn parse(name: &str) -> Ecosystem {
        let base = name.split(':').next().unwrap_or(name).trim();
        match base.to_ascii_lowercase().as_str() {
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "go" | "golang" => Ecosystem::Go,
            "hex" => Ecosystem::Hex,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "rubygems" | "gem" => Ecosystem::RubyGems,
            "nuget" => Ecosystem::NuGet,
            "debian" | "deb" => Ecosystem::Debian,
            "ubuntu" => Ecosystem::Ubuntu,
            "alpine" | "apk" => Ecosystem::Alpine,
            "packagist" | "composer" => Ecosystem::Packagist,
            "pub" => Ecosystem::Pub,
            "hackage" => Ecosystem::Hackage,
            "cran" => Ecosystem::Cran,
            "red hat" | "redhat" | "rpm" => Ecosystem::RedHat,
            _ => Ecosystem::Other(base.to_owned()),
        }
    }

    /// The OSV name.
    pub fn name(&self) -> &str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::Go => "Go",
            Ecosystem::Hex => "Hex",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Maven => "Maven",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Debian => "Debian",
            Ecosystem::Ubuntu => "Ubuntu",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Pub => "Pub",
            Ecosystem::Hackage => "Hackage",
            Ecosystem::Cran => "CRAN",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::Other(s) => s,
        }
    }

    /// Whether zt has a native ordering for this ecosystem.
    pub fn is_supported(&self) -> bool {
        !matches!(self, Ecosystem::Other(_))
    }

    /// Checks that `version` is a well-formed version of this ecosystem.
    pub fn validate(&self, version: &str) -> Result<(), Error> {
        let check = match self {
            Ecosystem::CratesIo
            | Ecosystem::Npm
            | Ecosystem::Go
            | Ecosystem::Hex
            | Ecosystem::NuGet
            | Ecosystem::Pub => semver::validate(version),
            Ecosystem::Hackage => semver::validate_hackage(version),
            Ecosystem::PyPI => pypi::validate(version),
            Ecosystem::Maven => maven::validate(version),
            Ecosystem::RubyGems => rubygems::validate(version),
            Ecosystem::Debian | Ecosystem::Ubuntu => debian::validate(version),
            Ecosystem::Alpine => alpine::validate(version),
            Ecosystem::Packagist => packagist::validate(version),
            Ecosystem::Cran => cran::validate(version),
            Ecosystem::RedHat => rpm::validate(version),
            Ecosystem::Other(name) => return Err(Error::UnsupportedEcosystem(name.clone())),
        };
        let check = if version.trim().is_empty() {
            Err("the version is empty")
        } else {
            check
        };
        check.map_err(|reason| Error::InvalidVersion {
            ecosystem: self.name().to_owned(),
            version: version.to_owned(),
            reason,
        })
    }

    /// Orders two versions of this ecosystem; both must be valid.
    pub fn compare(&self, a: &str, b: &str) -> Result<Ordering, Error> {
        self.validate(a)?;
        self.validate(b)?;
        Ok(self.compare_unchecked(a, b))
    }

    /// Orders two versions already validated (or known to come from a trusted record).
    /// Unsupported ecosystems compare equal only for identical strings.
    pub fn compare_unchecked(&self, a: &str, b: &str) -> Ordering {
        match self {
            Ecosystem::CratesIo | Ecosystem::Npm | Ecosystem::Go | Ecosystem::Hex => {
                semver::cmp_semver(a, b)
            }
            Ecosystem::NuGet => semver::cmp_nuget(a, b),
            Ecosystem::Pub => semver::cmp_pub(a, b),
            Ecosystem::Hackage => semver::cmp_hackage(a, b),
            Ecosystem::PyPI => pypi::cmp(a, b),
            Ecosystem::Maven => maven::cmp(a, b),
            Ecosystem::RubyGems => rubygems::cmp(a, b),
            Ecosystem::Debian | Ecosystem::Ubuntu => debian::cmp(a, b),
            Ecosystem::Alpine => alpine::cmp(a, b),
            Ecosystem::Packagist => packagist::cmp(a, b),
            Ecosystem::Cran => cran::cmp(a, b),
            Ecosystem::RedHat => rpm::cmp(a, b),
            Ecosystem::Other(_) => a.cmp(b),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `<`, `=` or `>`.
pub fn ordering_symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}
