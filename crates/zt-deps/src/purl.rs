//! Canonical package URLs (<https://github.com/package-url/purl-spec>):
//! `pkg:TYPE/NAMESPACE/NAME@VERSION`, type lower case, each segment percent-encoded (only
//! `A-Z a-z 0-9 . - _ ~` stay literal), and the per-type name rules applied: PyPI names
//! lower case with runs of `-_.` as one `-`; npm scopes (`@scope/`) become the namespace;
//! Go module paths split into namespace and name, versions prefixed `v`.

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

/// The PEP 503 normalised name: lower case, runs of `-`, `_`, `.` replaced by one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The canonical purl of a package; `version` may be empty (no `@`).
pub fn purl(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let (namespace, name, version) = match ecosystem {
        Ecosystem::CratesIo | Ecosystem::RubyGems | Ecosystem::Other => {
            (None, name.to_string(), version.to_string())
        }
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, n)) => (
                Some(format!("@{scope}")),
                n.to_string(),
                version.to_string(),
            ),
            None => (None, name.to_string(), version.to_string()),
        },
        Ecosystem::PyPI => (None, pep503(name), version.to_string()),
        Ecosystem::Go => {
            let version = if version.is_empty() || version.starts_with('v') {
                version.to_string()
            } else {
                format!("v{version}")
            };
            match name.rsplit_once('/') {
                Some((ns, n)) => (Some(ns.to_string()), n.to_string(), version),
                None => (None, name.to_string(), version),
            }
        }
    };
    let mut out = format!("pkg:{}/", ecosystem.purl_type());
    if let Some(ns) = namespace {
        for seg in ns.split('/').filter(|s| !s.is_empty()) {
            out.push_str(&encode(seg));
            out.push('/');
        }
    }
    out.push_str(&encode(&name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(&version));
    }
    out
}

/// The ecosystem, name (namespace joined with `/`, percent-decoded) and version of a purl,
/// or `None` when it is not `pkg:TYPE/…NAME[@VERSION][?…][#…]`.
pub fn parse(purl: &str) -> Option<(Ecosystem, String, String)> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let rest = rest.split('#').next()?.split('?').next()?;
    let (ty, path) = rest.split_once('/')?;
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) if !p.is_empty() => (p, decode(v)?),
        _ => (path, String::new()),
    };
    let name: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect::<Option<_>>()?;
    if name.is_empty() {
        return None;
    }
    let ecosystem = match ty.to_ascii_lowercase().as_str() {
        "cargo" => Ecosystem::CratesIo,
        "npm" => Ecosystem::Npm,
        "pypi" => Ecosystem::PyPI,
        "golang" => Ecosystem::Go,
        "gem" => Ecosystem::RubyGems,
        _ => Ecosystem::Other,
    };
    Some((
        ecosystem,
        name.join("/"),
        version
            .trim_start_matches(|c| c == 'v' && ecosystem == Ecosystem::Go)
            .to_string(),
    ))
}

/// Percent-decodes a purl segment; `None` for a broken escape or non-UTF-8 result.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
            "pkg:pypi/django-rest-framework@3.0"
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
