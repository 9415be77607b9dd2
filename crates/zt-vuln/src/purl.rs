//! Package URLs: the type is zt-core's ([`zt_core::purl`], the package model zt-deps shares);
//! here, the OSV ecosystem a purl's type belongs to.

pub use zt_core::purl::{Purl, PurlError, pep503};

use crate::Ecosystem;

impl Ecosystem {
    /// The OSV ecosystem of this purl's type, if zt knows one.
    pub fn of_purl(purl: &Purl) -> Option<Ecosystem> {
        let eco = match purl.ty.as_str() {
            "cargo" => Ecosystem::CratesIo,
            "npm" => Ecosystem::Npm,
            "golang" => Ecosystem::Go,
            "hex" => Ecosystem::Hex,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "gem" => Ecosystem::RubyGems,
            "nuget" => Ecosystem::NuGet,
            "deb" => match purl.namespace.as_deref() {
                Some("ubuntu") => Ecosystem::Ubuntu,
                _ => Ecosystem::Debian,
            },
            "apk" => Ecosystem::Alpine,
            "composer" => Ecosystem::Packagist,
            "pub" => Ecosystem::Pub,
            "hackage" => Ecosystem::Hackage,
            "cran" => Ecosystem::Cran,
            "rpm" => Ecosystem::RedHat,
            _ => return None,
        };
        Some(eco)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystems_of_purls() {
        let of = |s: &str| Ecosystem::of_purl(&s.parse::<Purl>().unwrap());
        assert_eq!(of("pkg:cargo/serde@1"), Some(Ecosystem::CratesIo));
        assert_eq!(of("pkg:deb/ubuntu/openssl@3"), Some(Ecosystem::Ubuntu));
        assert_eq!(of("pkg:deb/debian/openssl@3"), Some(Ecosystem::Debian));
        assert_eq!(of("pkg:generic/thing@1"), None);
    }
}
