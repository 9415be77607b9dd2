//! The RustSec advisory-db format (`crates/<crate>/RUSTSEC-YYYY-NNNN.md`: a TOML front matter
//! in a ```` ```toml ```` fence, then `# title` and the description), converted to the OSV
//! model as osv.dev does: a crates.io version is affected when it matches none of the
//! `patched` and `unaffected` requirements, so the affected set is the complement of the
//! union of those requirements, written as SEMVER `introduced`/`fixed` events.

use std::path::Path;

use semver::{Comparator, Op, Prerelease, Version, VersionReq};
use serde::Deserialize;

use crate::Error;
use crate::osv::{
    Advisory, AdvisoryKind, Affected, Event, Package, Range, RangeKind, SeverityEntry,
};

#[derive(Debug, Deserialize)]
struct Front {
    advisory: Meta,
    #[serde(default)]
    versions: Option<Versions>,
    #[serde(default)]
    affected: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    id: String,
    package: String,
    date: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

/// Reads one RustSec advisory file.
pub fn parse_advisory(text: &str, file: &Path) -> Result<Advisory, Error> {
    let bad = |field: &str, reason: String| Error::Record {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    };
    let body = text.trim_start_matches('\u{feff}');
    let after_open = body.strip_prefix("```toml").ok_or_else(|| {
        bad(
            "front matter",
            "the file must start with a ```toml fence".into(),
        )
    })?;
    let end = after_open
        .find("\n```")
        .ok_or_else(|| bad("front matter", "the ```toml fence is not closed".into()))?;
    let toml_text = after_open.get(..end).unwrap_or_default();
    let rest = after_open.get(end + 4..).unwrap_or_default();
    let de = toml::Deserializer::new(toml_text);
    let front: Front = serde_path_to_error::deserialize(de)
        .map_err(|e| bad(&toml_field(e.path()), toml_reason(e.inner())))?;
    let meta = front.advisory;
    let date = to_timestamp(&meta.date).ok_or_else(|| {
        bad(
            "advisory.date",
            format!("`{}` is not a date (YYYY-MM-DD)", meta.date),
        )
    })?;
    let withdrawn = match &meta.withdrawn {
        Some(w) => Some(
            to_timestamp(w)
                .ok_or_else(|| bad("advisory.withdrawn", format!("`{w}` is not a date")))?,
        ),
        None => None,
    };
    let kind = match meta.informational.as_deref() {
        None => AdvisoryKind::Vulnerability,
        Some("unmaintained") => AdvisoryKind::Unmaintained,
        Some("unsound") => AdvisoryKind::Unsound,
        Some(_) => AdvisoryKind::Notice,
    };
    let versions = front.versions.unwrap_or_default();
    let mut safe = Vec::new();
    for (field, reqs) in [
        ("versions.patched", &versions.patched),
        ("versions.unaffected", &versions.unaffected),
    ] {
        for (i, r) in reqs.iter().enumerate() {
            let req = VersionReq::parse(r)
                .map_err(|e| bad(&format!("{field}[{i}]"), format!("`{r}`: {e}")))?;
            if let Some(iv) = req_interval(&req) {
                safe.push(iv);
            }
        }
    }
    let events = affected_events(safe);
    let (title, details) = split_markdown(rest);
    let mut severity = Vec::new();
    if let Some(v) = &meta.cvss {
        let kind = if v.starts_with("CVSS:4") {
            "CVSS_V4"
        } else {
            "CVSS_V3"
        };
        severity.push(SeverityEntry {
            kind: kind.into(),
            score: v.clone(),
        });
    }
    let ecosystem_specific = front
        .affected
        .and_then(|a| serde_json::to_value(a).ok())
        .map(|a| serde_json::json!({ "affected": a }));
    let mut db = serde_json::json!({
        "categories": meta.categories,
        "informational": meta.informational,
        "patched": versions.patched,
        "unaffected": versions.unaffected,
    });
    if let Some(u) = meta.url {
        db["url"] = serde_json::Value::String(u);
    }
    let adv = Advisory {
        id: meta.id,
        modified: date.clone(),
        published: Some(date),
        withdrawn,
        aliases: meta.aliases,
        related: meta.related,
        summary: title,
        details,
        severity,
        affected: vec![Affected {
            package: Some(Package {
                ecosystem: "crates.io".into(),
                name: meta.package.clone(),
                purl: Some(format!("pkg:cargo/{}", meta.package)),
            }),
            ranges: vec![Range {
                kind: RangeKind::Semver,
                repo: None,
                events,
            }],
            versions: Vec::new(),
            severity: Vec::new(),
            ecosystem_specific,
            database_specific: None,
        }],
        database_specific: Some(db),
        kind,
        source: "rustsec".into(),
    };
    crate::osv::validate(&adv).map_err(|(field, reason)| bad(&field, reason))?;
    Ok(adv)
}

fn to_timestamp(date: &str) -> Option<String> {
    let ts = if date.len() == 10 {
        format!("{date}T00:00:00Z")
    } else {
        date.to_owned()
    };
    crate::osv::looks_like_rfc3339(&ts).then_some(ts)
}

fn split_markdown(rest: &str) -> (Option<String>, Option<String>) {
    let rest = rest.trim_start_matches(['\r', '\n']);
    let mut lines = rest.lines();
    let mut title = None;
    for line in lines.by_ref() {
        if let Some(t) = line.strip_prefix("# ") {
            title = Some(t.trim().to_owned());
            break;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let details: String = lines.collect::<Vec<_>>().join("\n").trim().to_owned();
    (title, (!details.is_empty()).then_some(details))
}

/// A half-open interval `[lo, hi)` of versions (`None`: unbounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interval {
    lo: Option<Version>,
    hi: Option<Version>,
}

fn v(major: u64, minor: u64, patch: u64) -> Version {
    Version::new(major, minor, patch)
}

/// The smallest pre-release of a version (`1.3.0-0`), the first version of its line.
fn floor(mut ver: Version) -> Version {
    ver.pre = Prerelease::new("0").unwrap_or(Prerelease::EMPTY);
    ver
}

/// The version right after `ver` in SemVer order.
fn successor(ver: &Version) -> Version {
    if ver.pre.is_empty() {
        floor(v(ver.major, ver.minor, ver.patch.saturating_add(1)))
    } else {
        let mut next = ver.clone();
        next.build = semver::BuildMetadata::EMPTY;
        next.pre = Prerelease::new(&format!("{}.0", ver.pre)).unwrap_or_else(|_| ver.pre.clone());
        next
    }
}

/// The interval a single comparator matches (Cargo semantics, pre-release gating aside).
fn comparator_interval(c: &Comparator) -> Interval {
    let full = |c: &Comparator| {
        let mut ver = v(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
        ver.pre = c.pre.clone();
        ver
    };
    let next_minor = || floor(v(c.major, c.minor.unwrap_or(0).saturating_add(1), 0));
    let next_major = || floor(v(c.major.saturating_add(1), 0, 0));
    // the interval of versions that `c`'s partial version names
    let partial_end = || match (c.minor, c.patch) {
        (None, _) => next_major(),
        (Some(_), None) => next_minor(),
        (Some(_), Some(_)) => successor(&full(c)),
    };
    match c.op {
        Op::Exact | Op::Wildcard => Interval {
            lo: Some(full(c)),
            hi: Some(partial_end()),
        },
        Op::Greater => Interval {
            lo: Some(if c.patch.is_some() {
                successor(&full(c))
            } else {
                partial_end()
            }),
            hi: None,
        },
        Op::GreaterEq => Interval {
            lo: Some(full(c)),
            hi: None,
        },
        Op::Less => Interval {
            lo: None,
            hi: Some(if c.patch.is_some() {
                full(c)
            } else {
                floor(full(c))
            }),
        },
        Op::LessEq => Interval {
            lo: None,
            hi: Some(partial_end()),
        },
        Op::Tilde => Interval {
            lo: Some(full(c)),
            hi: Some(if c.minor.is_some() {
                next_minor()
            } else {
                next_major()
            }),
        },
        Op::Caret => {
            let hi = match (c.major, c.minor, c.patch) {
                (0, None, _) => next_major(),
                (0, Some(0), None) => next_minor(),
                (0, Some(0), Some(p)) => floor(v(0, 0, p.saturating_add(1))),
                (0, Some(_), _) => next_minor(),
                _ => next_major(),
            };
            Interval {
                lo: Some(full(c)),
                hi: Some(hi),
            }
        }
        // Future operators: match exactly what is named, the conservative reading.
        _ => Interval {
            lo: Some(full(c)),
            hi: Some(partial_end()),
        },
    }
}

/// The interval a requirement (an intersection of comparators) matches; `None` if empty.
pub(crate) fn req_interval(req: &VersionReq) -> Option<Interval> {
    let mut out = Interval { lo: None, hi: None };
    for c in &req.comparators {
        let i = comparator_interval(c);
        out.lo = match (out.lo, i.lo) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        out.hi = match (out.hi, i.hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    match (&out.lo, &out.hi) {
        (Some(l), Some(h)) if l >= h => None,
        _ => Some(out),
    }
}

/// Events for the complement of the union of `safe` intervals.
pub(crate) fn affected_events(mut safe: Vec<Interval>) -> Vec<Event> {
    // sort by lower bound (unbounded first) and merge
    safe.sort_by(|a, b| match (&a.lo, &b.lo) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    let mut merged: Vec<Interval> = Vec::new();
    for iv in safe {
        if let Some(last) = merged.last_mut() {
            let overlaps = match (&last.hi, &iv.lo) {
                (None, _) => true,
                (Some(_), None) => true,
                (Some(h), Some(l)) => l <= h,
            };
            if overlaps {
                last.hi = match (last.hi.take(), iv.hi) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                continue;
            }
        }
        merged.push(iv);
    }
    // walk the gaps
    let mut events = Vec::new();
    let mut cursor: Option<Option<Version>> = Some(None); // Some(None): from the very start
    for iv in &merged {
        if let Some(start) = cursor.take() {
            let gap_nonempty = match (&start, &iv.lo) {
                (_, None) => false,
                (None, Some(l)) => *l > floor(v(0, 0, 0)),
                (Some(s), Some(l)) => s < l,
            };
            if gap_nonempty {
                events.push(Event::Introduced(
                    start.map_or_else(|| "0".to_owned(), |s| s.to_string()),
                ));
                if let Some(l) = &iv.lo {
                    events.push(Event::Fixed(l.to_string()));
                }
            }
        }
        cursor = iv.hi.clone().map(Some);
    }
    if let Some(start) = cursor {
        events.push(Event::Introduced(
            start.map_or_else(|| "0".to_owned(), |s| s.to_string()),
        ));
    }
    events
}

/// The field of a TOML error (`(file)` for syntax errors, which have no field path).
pub(crate) fn toml_field(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." { "(file)".to_owned() } else { p }
}

/// A TOML error's message, with its line and column for syntax errors.
pub(crate) fn toml_reason(e: &toml::de::Error) -> String {
    e.to_string()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(reqs: &[&str]) -> Vec<String> {
        let safe = reqs
            .iter()
            .filter_map(|r| req_interval(&VersionReq::parse(r).unwrap()))
            .collect();
        affected_events(safe)
            .iter()
            .map(|e| format!("{}:{}", e.name(), e.version()))
            .collect()
    }

    #[test]
    fn requirement_sets_become_events() {
        assert_eq!(events(&[">= 0.9.1"]), ["introduced:0", "fixed:0.9.1"]);
        assert_eq!(events(&[]), ["introduced:0"]);
        assert_eq!(
            events(&[">= 1.2.3", "^1.1.5"]),
            ["introduced:0", "fixed:1.1.5"]
        );
        assert_eq!(
            events(&["^0.3.7", ">= 0.4.2"]),
            [
                "introduced:0",
                "fixed:0.3.7",
                "introduced:0.4.0-0",
                "fixed:0.4.2"
            ]
        );
        assert_eq!(
            events(&["< 0.2.0", ">= 0.2.5"]),
            ["introduced:0.2.0", "fixed:0.2.5"]
        );
        assert_eq!(events(&["<= 1.0.0"]), ["introduced:1.0.1-0"]);
    }
}
