//! Canonical package URLs (<https://github.com/package-url/purl-spec>) of the packages a
//! lockfile names: the ecosystem's spelling of a name split into the purl's parts (npm
//! `@scope/` becomes the namespace; Go module paths split into namespace and name, versions
//! prefixed `v`), then built and normalised by zt-core's [`Purl`] (PyPI names lower case with
//! `_` as `-`, as the specification says). Names are compared as the ecosystem compares them
//! ([`pep503`] for PyPI).

use std::collections::BTreeMap;

use zt_core::purl::Purl;

use crate::Ecosystem;

/// Percent-encodes one purl segment.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use zt_core::purl::pep503;

/// The canonical purl of a package; `version` may be empty (no `@`). Built and normalised by
/// [`zt_core::purl::Purl`], the one package model zt-vuln reads too; here the ecosystem's
/// own spelling of a name is split into the purl's parts (npm `@scope/name`, Go module
/// paths, whose versions gain their `v`).
pub fn purl(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let (namespace, name, version) = match ecosystem {
        Ecosystem::CratesIo | Ecosystem::RubyGems | Ecosystem::PyPI | Ecosystem::Other => {
            (None, name, version.to_string())
        }
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, n)) => (Some(format!("@{scope}")), n, version.to_string()),
            None => (None, name, version.to_string()),
        },
        Ecosystem::Go => {
            let version = if version.is_empty() || version.starts_with('v') {
                version.to_string()
            } else {
                format!("v{version}")
            };
            match name.rsplit_once('/') {
                Some((ns, n)) => (Some(ns.to_string()), n, version),
                None => (None, name, version),
            }
        }
    };
    match Purl::from_parts(
        ecosystem.purl_type(),
        namespace.as_deref(),
        name,
        (!version.is_empty()).then_some(version.as_str()),
        BTreeMap::new(),
        None,
    ) {
        Ok(p) => p.to_string(),
        // Only an empty name is refused for these types: written as is, it names nothing.
        Err(_) => format!("pkg:{}/{}", ecosystem.purl_type(), encode(name)),
    }
}

/// The ecosystem, name (namespace joined with `/`, percent-decoded) and version of a purl,
/// or `None` when it is not a valid `pkg:TYPE/…NAME[@VERSION][?…][#…]`.
pub fn parse(purl: &str) -> Option<(Ecosystem, String, String)> {
    let p: Purl = purl.parse().ok()?;
    let ecosystem = match p.ty.as_str() {
        "cargo" => Ecosystem::CratesIo,
        "npm" => Ecosystem::Npm,
        "pypi" => Ecosystem::PyPI,
        "golang" => Ecosystem::Go,
        "gem" => Ecosystem::RubyGems,
        _ => Ecosystem::Other,
    };
    let name = match &p.namespace {
        Some(ns) => format!("{ns}/{}", p.name),
        None => p.name.clone(),
    };
    let version = p.version.unwrap_or_default();
    let version = match ecosystem {
        Ecosystem::Go => version.trim_start_matches('v').to_string(),
        _ => version,
    };
    Some((ecosystem, name, version))
}

/// A `pkg:generic` purl for a project without an ecosystem (the SBOM root).
pub fn generic(name: &str, version: &str) -> String {
    let mut out = format!("pkg:generic/{}", encode(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            purl(Ecosystem::CratesIo, "serde", "1.0.0"),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            purl(Ecosystem::CratesIo, "wasi", "0.10.2+wasi-snapshot-preview1"),
            "pkg:cargo/wasi@0.10.2%2Bwasi-snapshot-preview1"
        );
        assert_eq!(
            purl(Ecosystem::Npm, "@babel/code-frame", "7.0.0"),
            "pkg:npm/%40babel/code-frame@7.0.0"
        );
        assert_eq!(
            purl(Ecosystem::PyPI, "Django_Rest.framework", "3.0"),
            "pkg:pypi/django-rest.framework@3.0"
        );
        assert_eq!(
            purl(Ecosystem::Go, "github.com/BurntSushi/toml", "1.0.0"),
            "pkg:golang/github.com/BurntSushi/toml@v1.0.0"
        );
        assert_eq!(purl(Ecosystem::PyPI, "pytest", ""), "pkg:pypi/pytest");
    }

    #[test]
    fn parse_round_trips() {
        for (e, n, v) in [
            (Ecosystem::Npm, "@babel/code-frame", "7.0.0"),
            (Ecosystem::Go, "github.com/a/b", "1.0.0"),
            (Ecosystem::CratesIo, "wasi", "0.1+x"),
        ] {
            assert_eq!(
                parse(&purl(e, n, v)),
                Some((e, n.to_string(), v.to_string()))
            );
        }
        assert_eq!(
            parse("pkg:maven/org.a/b@1?type=jar"),
            Some((Ecosystem::Other, "org.a/b".into(), "1".into()))
        );
        assert_eq!(parse("nope"), None);
        assert_eq!(parse("pkg:npm/%zz@1"), None);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = parse(&s);
        }

        #[test]
        fn encoding_is_plain_ascii(s in ".*") {
            let e = encode(&s);
            proptest::prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"%.-_~".contains(&b)));
        }
    }
}
