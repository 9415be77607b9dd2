//! Licence policy: each package's declared licence, an SPDX expression, evaluated against
//! the allow list of `zt.toml`'s `[deps.licenses]` table (plus the package's exceptions).
//!
//! ```toml
//! [deps.licenses]
//! allow = ["MIT", "Apache-2.0", "BSD-3-Clause"]
//! unknown = "deny"            # or "warn": packages whose licence is not known
//!
//! [[deps.licenses.exception]]
//! package = "pkg:npm/some-gpl-tool"   # a purl; without a version it covers every version
//! allow = ["GPL-3.0-only"]
//! reason = "build tool only, never shipped"
//! ```
//!
//! `OR` needs one side allowed, `AND` both; `L WITH E` is allowed when the allow list names
//! `L WITH E` or `L` itself (an exception only adds permissions); `L+` / `-or-later` follow
//! SPDX: an allowed later version satisfies it. Expressions are read strictly first, then in
//! the SPDX crate's lax mode (lower-case operators, `/` for `OR`, deprecated ids); text that
//! is neither — `SEE LICENSE IN …`, `NOASSERTION`, a missing licence — is *unknown*, a
//! finding whose severity the policy sets. `UNLICENSED` (npm: no licence granted) is denied.

use std::collections::BTreeMap;
use std::path::Path;

use spdx::{Expression, LicenseReq, Licensee, ParseMode};
use zt_core::config::{FindingLevel, LicensesConfig};

use crate::{Error, Inventory};

/// The outcome for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The expression is satisfied by the allow list.
    Allowed,
    /// The expression cannot be satisfied; the requirements that failed.
    Denied(Vec<String>),
    /// No usable licence; why.
    Unknown(String),
}

#[derive(Debug, Clone)]
struct Exception {
    package: String,
    allow: Vec<Licensee>,
}

/// A checked licence policy.
#[derive(Debug, Clone)]
pub struct LicensePolicy {
    allow: Vec<Licensee>,
    /// Severity of unknown licences.
    pub unknown: FindingLevel,
    exceptions: Vec<Exception>,
}

fn licensee(text: &str) -> Result<Licensee, String> {
    Licensee::parse(text)
        .or_else(|_| Licensee::parse_mode(text, ParseMode::LAX))
        .map_err(|e| format!("`{text}` is not an SPDX licence id: {}", e.reason))
}

/// The 1-based line of the first `"text"` in `source`, for messages.
fn line_of_string(source: &str, text: &str) -> Option<usize> {
    let needle = format!("\"{text}\"");
    let at = source.find(&needle)?;
    Some(crate::lockfile::line_of(source, at))
}

impl LicensePolicy {
    /// Checks the `[deps.licenses]` table of `path` (whose text is `source`): every licence
    /// id must be an SPDX id, every exception's package a purl.
    pub fn new(cfg: &LicensesConfig, path: &Path, source: &str) -> Result<Self, Error> {
        let fix = "use SPDX licence ids (https://spdx.org/licenses/), e.g. `MIT`, `Apache-2.0`, `GPL-2.0-only WITH Classpath-exception-2.0`";
        let bad = |text: &str, field: String, message: String| Error::Config {
            file: path.into(),
            line: line_of_string(source, text),
            field,
            message,
            fix: fix.into(),
        };
        let mut allow = Vec::new();
        for (i, a) in cfg.allow.iter().enumerate() {
            allow.push(licensee(a).map_err(|m| bad(a, format!("deps.licenses.allow[{i}]"), m))?);
        }
        let mut exceptions = Vec::new();
        for (i, e) in cfg.exceptions.iter().enumerate() {
            if !e.package.starts_with("pkg:") || e.package.len() < 6 {
                return Err(Error::Config {
                    file: path.into(),
                    line: line_of_string(source, &e.package),
                    field: format!("deps.licenses.exception[{i}].package"),
                    message: format!("`{}` is not a package URL", e.package),
                    fix: "name the package as a purl, e.g. `pkg:npm/left-pad` (all versions) or `pkg:npm/left-pad@1.3.0`".into(),
                });
            }
            let mut list = Vec::new();
            for (j, a) in e.allow.iter().enumerate() {
                list.push(
                    licensee(a).map_err(|m| {
                        bad(a, format!("deps.licenses.exception[{i}].allow[{j}]"), m)
                    })?,
                );
            }
            exceptions.push(Exception {
                package: e.package.clone(),
                allow: list,
            });
        }
        Ok(LicensePolicy {
            allow,
            unknown: cfg.unknown,
            exceptions,
        })
    }

    /// Evaluates one package's licence (`None`: the input records none).
    pub fn evaluate(&self, purl: &str, license: Option<&str>) -> Verdict {
        let Some(text) = license.map(str::trim).filter(|t| !t.is_empty()) else {
            return Verdict::Unknown("no licence is recorded for it".into());
        };
        match text {
            "UNLICENSED" => return Verdict::Denied(vec!["UNLICENSED".into()]),
            "NOASSERTION" | "NONE" => {
                return Verdict::Unknown(format!("its licence is `{text}`"));
            }
            _ => {}
        }
        let expr = match Expression::parse(text)
            .or_else(|_| Expression::parse_mode(text, ParseMode::LAX))
        {
            Ok(e) => e,
            Err(e) => {
                return Verdict::Unknown(format!(
                    "`{text}` is not an SPDX expression ({})",
                    e.reason
                ));
            }
        };
        let base = purl_without_version(purl);
        let extra: Vec<&Licensee> = self
            .exceptions
            .iter()
            .filter(|e| e.package == purl || e.package == base)
            .flat_map(|e| e.allow.iter())
            .collect();
        let allowed = |req: &LicenseReq| {
            let plain = LicenseReq {
                license: req.license.clone(),
                addition: None,
            };
            self.allow
                .iter()
                .chain(extra.iter().copied())
                .any(|l| l.satisfies(req) || (req.addition.is_some() && l.satisfies(&plain)))
        };
        match expr.evaluate_with_failures(allowed) {
            Ok(()) => Verdict::Allowed,
            Err(failed) => Verdict::Denied(failed.iter().map(|r| r.req.to_string()).collect()),
        }
    }
}

/// Reads a licence map for packages whose lockfile records no licence: a JSON object from
/// purl (with a version, or without: every version) to SPDX expression, or a CycloneDX /
/// SPDX JSON SBOM (the licences it records, by purl).
pub fn read_map(path: &Path) -> Result<BTreeMap<String, String>, Error> {
    let text = fs_err::read_to_string(path)?;
    let fix =
        "give a JSON object `{\"pkg:npm/name@1.0.0\": \"MIT\", …}` or a CycloneDX/SPDX JSON SBOM";
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::parse(path, Some(e.line()), format!("not valid JSON: {e}"), fix))?;
    let is_sbom = doc.get("bomFormat").is_some() || doc.get("spdxVersion").is_some();
    if is_sbom {
        let packages = crate::sbom::from_value(path, &doc)?;
        return Ok(packages
            .into_iter()
            .filter_map(|p| {
                let purl = p
                    .purl
                    .parse::<zt_core::purl::Purl>()
                    .map_or(p.purl, |c| c.to_string());
                Some((purl, p.license?))
            })
            .collect());
    }
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::parse(path, Some(1), "the top level must be an object", fix))?;
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let expr = v.as_str().ok_or_else(|| {
            Error::parse(
                path,
                None,
                format!("the licence of `{k}` must be a string (an SPDX expression)"),
                fix,
            )
        })?;
        // Keys are compared in the purl's canonical form, so `toml@0.9.12+spec-1.1.0` (as
        // `cargo metadata` and most tools write a version) names `toml@0.9.12%2Bspec-1.1.0`.
        let purl: zt_core::purl::Purl = k.parse().map_err(|e: zt_core::purl::PurlError| {
            Error::parse(
                path,
                None,
                format!("key `{k}` is not a package URL: {}", e.reason),
                fix,
            )
        })?;
        out.insert(purl.to_string(), expr.to_string());
    }
    Ok(out)
}

/// Fills in the licence of packages that have none from `map` (their exact purl first,
/// then the purl without version). Returns how many were filled.
pub fn apply_map(inv: &mut Inventory, map: &BTreeMap<String, String>) -> usize {
    let mut n = 0;
    for p in &mut inv.packages {
        if p.license.is_some() {
            continue;
        }
        let found = map
            .get(&p.purl)
            .or_else(|| map.get(purl_without_version(&p.purl)));
        if let Some(l) = found {
            p.license = Some(l.clone());
            n += 1;
        }
    }
    n
}

/// `pkg:type/ns/name@version?q#s` → `pkg:type/ns/name`.
pub(crate) fn purl_without_version(purl: &str) -> &str {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    let p = purl.get(..end).unwrap_or(purl);
    let last_slash = p.rfind('/').unwrap_or(0);
    match p.get(last_slash..).and_then(|tail| tail.rfind('@')) {
        Some(i) => p.get(..last_slash + i).unwrap_or(p),
        None => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keys_are_compared_as_canonical_purls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("licenses.json");
        fs_err::write(
            &path,
            r#"{"pkg:cargo/toml@0.9.12+spec-1.1.0": "MIT OR Apache-2.0", "pkg:PyPI/Zope_Thing@1": "ZPL-2.1"}"#,
        )
        .unwrap();
        let map = read_map(&path).unwrap();
        assert_eq!(
            map.get("pkg:cargo/toml@0.9.12%2Bspec-1.1.0")
                .map(String::as_str),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            map.get("pkg:pypi/zope-thing@1").map(String::as_str),
            Some("ZPL-2.1")
        );
        fs_err::write(&path, r#"{"pkg:npm/%zz@1": "MIT"}"#).unwrap();
        let err = read_map(&path).unwrap_err().to_string();
        assert!(err.contains("is not a package URL"), "{err}");
    }
    use zt_core::config::LicenseException;

    fn policy(allow: &[&str], exceptions: &[(&str, &[&str])]) -> LicensePolicy {
        let cfg = LicensesConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            unknown: FindingLevel::Deny,
            exceptions: exceptions
                .iter()
                .map(|(p, a)| LicenseException {
                    package: p.to_string(),
                    allow: a.iter().map(|s| s.to_string()).collect(),
                    reason: "test".into(),
                })
                .collect(),
        };
        LicensePolicy::new(&cfg, Path::new("zt.toml"), "").unwrap()
    }

    #[test]
    fn and_or_with() {
        let p = policy(
            &[
                "MIT",
                "Apache-2.0",
                "GPL-2.0-only WITH Classpath-exception-2.0",
            ],
            &[],
        );
        let v = |e: &str| p.evaluate("pkg:npm/x@1.0.0", Some(e));
        assert_eq!(v("MIT"), Verdict::Allowed);
        assert_eq!(v("MIT OR GPL-3.0-only"), Verdict::Allowed);
        assert_eq!(v("(MIT AND Apache-2.0)"), Verdict::Allowed);
        assert_eq!(
            v("MIT AND GPL-3.0-only"),
            Verdict::Denied(vec!["GPL-3.0-only".into()])
        );
        assert_eq!(v("Apache-2.0 WITH LLVM-exception"), Verdict::Allowed);
        assert_eq!(
            v("GPL-2.0-only WITH Classpath-exception-2.0"),
            Verdict::Allowed
        );
        assert_eq!(
            v("GPL-2.0-only"),
            Verdict::Denied(vec!["GPL-2.0-only".into()])
        );
        assert_eq!(v("MIT/Apache-2.0"), Verdict::Allowed, "lax mode");
        assert_eq!(v("MIT or GPL-3.0-only"), Verdict::Allowed, "lax mode");
        assert!(matches!(
            v("SEE LICENSE IN LICENSE.md"),
            Verdict::Unknown(_)
        ));
        assert!(matches!(v("NOASSERTION"), Verdict::Unknown(_)));
        assert_eq!(v("UNLICENSED"), Verdict::Denied(vec!["UNLICENSED".into()]));
        assert!(matches!(p.evaluate("pkg:npm/x", None), Verdict::Unknown(_)));
    }

    #[test]
    fn per_package_exceptions() {
        let p = policy(&["MIT"], &[("pkg:npm/tool", &["GPL-3.0-only"])]);
        assert_eq!(
            p.evaluate("pkg:npm/tool@2.0.0", Some("GPL-3.0-only")),
            Verdict::Allowed
        );
        assert!(matches!(
            p.evaluate("pkg:npm/other@2.0.0", Some("GPL-3.0-only")),
            Verdict::Denied(_)
        ));
        assert_eq!(
            purl_without_version("pkg:npm/%40s/n@1.0.0?x=1"),
            "pkg:npm/%40s/n"
        );
    }

    #[test]
    fn bad_ids_name_the_field_and_line() {
        let cfg = LicensesConfig {
            allow: vec!["MIT".into(), "Not-A-Licence".into()],
            unknown: FindingLevel::Warn,
            exceptions: Vec::new(),
        };
        let src = "[deps.licenses]\nallow = [\n  \"MIT\",\n  \"Not-A-Licence\",\n]\n";
        let err = LicensePolicy::new(&cfg, Path::new("zt.toml"), src).unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with("zt.toml:4: deps.licenses.allow[1]:"), "{s}");
    }
}
