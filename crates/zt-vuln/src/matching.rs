//! The OSV evaluation (<https://ossf.github.io/osv-schema/#evaluation>): a version is affected
//! by an `affected[]` entry when it is listed in `versions[]`, or when a `SEMVER`/`ECOSYSTEM`
//! range includes it: the range's events sorted by the ordering, a version is affected after
//! an `introduced` at or below it until a `fixed` at or below it or a `last_affected` below
//! it; `limit` events cap the range. `GIT` ranges (and ranges in ecosystems without a native
//! ordering) cannot be evaluated offline: they are reported as unsupported, never skipped
//! silently. Withdrawn records never apply. Every result says which range and event decided it.

use std::cmp::Ordering;

use serde::Serialize;

use crate::cvss::Severity;
use crate::osv::{Advisory, AdvisoryKind, Event, RangeKind};
use crate::store::normalize_name;
use crate::{Ecosystem, Error};

/// What a range said about a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RangeResult {
    /// Affected: this `introduced` event opened the interval that holds the version.
    Affected {
        /// The deciding event.
        by: Event,
    },
    /// Not affected: this `fixed`/`last_affected` event closed the interval (`None`: the
    /// version is below the first `introduced`).
    NotAffected {
        /// The deciding event.
        by: Option<Event>,
    },
    /// Not affected: the version is at or past every `limit` of the range.
    BeyondLimit {
        /// The highest limit.
        limit: String,
    },
    /// The range cannot be evaluated offline.
    Unsupported {
        /// Why.
        reason: String,
    },
}

/// One range's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RangeOutcome {
    /// Index in `affected[i].ranges`.
    pub index: usize,
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    pub kind: &'static str,
    /// The events in evaluation order (`introduced: 0` first, then by version).
    pub sorted_events: Vec<Event>,
    /// The result.
    #[serde(flatten)]
    pub result: RangeResult,
}

/// One `affected[]` entry that names the package.
#[derive(Debug, Clone, Serialize)]
pub struct EntryOutcome {
    /// Index in `affected`.
    pub index: usize,
    /// The entry's package name.
    pub package: String,
    /// The `versions[]` element equal to the version, if any.
    pub listed: Option<String>,
    /// Every range's outcome.
    pub ranges: Vec<RangeOutcome>,
}

/// The evaluation of one advisory for one package version.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The advisory id.
    pub id: String,
    /// The verdict: affected (never true for a withdrawn record).
    pub affected: bool,
    /// The record was withdrawn (so it does not apply, whatever its ranges say).
    pub withdrawn: bool,
    /// The entries that name the package.
    pub entries: Vec<EntryOutcome>,
    /// Ranges that could not be evaluated (GIT, unsupported ordering), described.
    pub unsupported: Vec<String>,
}

fn kind_name(k: RangeKind) -> &'static str {
    match k {
        RangeKind::Semver => "SEMVER",
        RangeKind::Ecosystem => "ECOSYSTEM",
        RangeKind::Git => "GIT",
    }
}

/// Orders events as the evaluation walks them: `introduced: "0"` first, then by version
/// (ties keep their order in the record).
fn sort_events(events: &[Event], cmp: &dyn Fn(&str, &str) -> Ordering) -> Vec<Event> {
    let mut sorted: Vec<Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .cloned()
        .collect();
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    sorted.sort_by(|a, b| match (zero(a), zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => cmp(a.version(), b.version()),
    });
    sorted
}

/// Evaluates one range's events for `version`.
pub fn evaluate_events(
    events: &[Event],
    version: &str,
    cmp: &dyn Fn(&str, &str) -> Ordering,
) -> (Vec<Event>, RangeResult) {
    let sorted = sort_events(events, cmp);
    let limits: Vec<&str> = events
        .iter()
        .filter_map(|e| {
            if let Event::Limit(l) = e {
                Some(l.as_str())
            } else {
                None
            }
        })
        .collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|l| *l == "*" || cmp(version, l) == Ordering::Less)
    {
        let highest = limits
            .iter()
            .copied()
            .max_by(|a, b| cmp(a, b))
            .unwrap_or_default()
            .to_owned();
        return (sorted, RangeResult::BeyondLimit { limit: highest });
    }
    let mut affected = false;
    let mut by: Option<Event> = None;
    for e in &sorted {
        match e {
            Event::Introduced(v) if v == "0" || cmp(version, v) != Ordering::Less => {
                affected = true;
                by = Some(e.clone());
            }
            Event::Fixed(v) if cmp(version, v) != Ordering::Less => {
                affected = false;
                by = Some(e.clone());
            }
            Event::LastAffected(v) if cmp(version, v) == Ordering::Greater => {
                affected = false;
                by = Some(e.clone());
            }
            _ => {}
        }
    }
    let result = match (affected, by) {
        (true, Some(by)) => RangeResult::Affected { by },
        (_, by) => RangeResult::NotAffected { by },
    };
    (sorted, result)
}

/// Evaluates `adv` for version `version` of package `name` in `eco`. Errors only when the
/// version is not valid in a supported ecosystem.
pub fn evaluate(
    adv: &Advisory,
    eco: &Ecosystem,
    name: &str,
    version: &str,
) -> Result<Evaluation, Error> {
    if eco.is_supported() {
        eco.validate(version)?;
    }
    Ok(evaluate_valid(adv, eco, name, version))
}

/// [`evaluate`] for a version already validated for `eco`.
pub fn evaluate_valid(adv: &Advisory, eco: &Ecosystem, name: &str, version: &str) -> Evaluation {
    let key = normalize_name(eco, name);
    let mut out = Evaluation {
        id: adv.id.clone(),
        affected: false,
        withdrawn: adv.withdrawn.is_some(),
        entries: Vec::new(),
        unsupported: Vec::new(),
    };
    let mut any = false;
    for (i, a) in adv.affected.iter().enumerate() {
        let Some(pkg) = &a.package else { continue };
        let peco = Ecosystem::parse(&pkg.ecosystem);
        if peco != *eco || normalize_name(&peco, &pkg.name) != key {
            continue;
        }
        let eco_cmp = |x: &str, y: &str| peco.compare_unchecked(x, y);
        let listed = a
            .versions
            .iter()
            .find(|v| {
                *v == version
                    || (peco.is_supported()
                        && !first_numbers_differ(v, version)
                        && eco_cmp(v, version) == Ordering::Equal)
            })
            .cloned();
        let mut entry = EntryOutcome {
            index: i,
            package: pkg.name.clone(),
            listed,
            ranges: Vec::new(),
        };
        any |= entry.listed.is_some();
        for (j, r) in a.ranges.iter().enumerate() {
            let (sorted, result) = match r.kind {
                RangeKind::Git => {
                    let reason = format!(
                        "GIT range over `{}` cannot be evaluated offline from a version",
                        r.repo.as_deref().unwrap_or("?")
                    );
                    (r.events.clone(), RangeResult::Unsupported { reason })
                }
                RangeKind::Ecosystem if !peco.is_supported() => {
                    let reason = format!(
                        "no native version ordering for ecosystem `{}`",
                        pkg.ecosystem
                    );
                    (r.events.clone(), RangeResult::Unsupported { reason })
                }
                RangeKind::Semver => {
                    let semver = |x: &str, y: &str| Ecosystem::CratesIo.compare_unchecked(x, y);
                    evaluate_events(&r.events, version, &semver)
                }
                RangeKind::Ecosystem => evaluate_events(&r.events, version, &eco_cmp),
            };
            match &result {
                RangeResult::Affected { .. } => any = true,
                RangeResult::Unsupported { reason } => out
                    .unsupported
                    .push(format!("{}: affected[{i}].ranges[{j}]: {reason}", adv.id)),
                _ => {}
            }
            entry.ranges.push(RangeOutcome {
                index: j,
                kind: kind_name(r.kind),
                sorted_events: sorted,
                result,
            });
        }
        out.entries.push(entry);
    }
    out.affected = any && !out.withdrawn;
    out
}

/// A cheap test that two versions cannot be equal in any supported ordering: their leading
/// numbers (after an optional `v`) differ. Not applied when an epoch (`N!`, `N:`) may
/// precede the number.
fn first_numbers_differ(a: &str, b: &str) -> bool {
    fn lead(s: &str) -> Option<&str> {
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        (n > 0).then(|| s.get(..n).unwrap_or_default())
    }
    if a.contains(['!', ':']) || b.contains(['!', ':']) {
        return false;
    }
    match (lead(a), lead(b)) {
        (Some(x), Some(y)) => x.trim_start_matches('0') != y.trim_start_matches('0'),
        _ => false,
    }
}

/// The severity of an advisory for triage: the highest CVSS v3.x/v4.0 score among the
/// affected entry's and the record's `severity` vectors; else the `database_specific`
/// severity word (GHSA's `CRITICAL`/`HIGH`/`MODERATE`/`LOW`); malware is critical. `None`
/// when the record says nothing usable.
pub fn severity(
    adv: &Advisory,
    entry: Option<usize>,
) -> Option<(Severity, Option<f64>, Option<String>)> {
    let mut best: Option<(f64, String)> = None;
    let entry_sev = entry
        .and_then(|i| adv.affected.get(i))
        .map(|a| a.severity.as_slice())
        .unwrap_or_default();
    for s in entry_sev.iter().chain(adv.severity.iter()) {
        if let Ok(c) = crate::cvss::score(&s.score)
            && best.as_ref().is_none_or(|(b, _)| c.score > *b)
        {
            best = Some((c.score, s.score.clone()));
        }
    }
    if let Some((score, vector)) = best {
        return Some((Severity::from_score(score), Some(score), Some(vector)));
    }
    let word = adv
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(|s| s.as_str());
    if let Some(sev) = word.and_then(|w| w.parse::<Severity>().ok()) {
        return Some((sev, None, None));
    }
    if adv.kind == AdvisoryKind::Malicious {
        return Some((Severity::Critical, None, None));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(spec: &[(&str, &str)]) -> Vec<Event> {
        spec.iter()
            .map(|(k, v)| match *k {
                "i" => Event::Introduced((*v).into()),
                "f" => Event::Fixed((*v).into()),
                "l" => Event::LastAffected((*v).into()),
                _ => Event::Limit((*v).into()),
            })
            .collect()
    }

    fn run(spec: &[(&str, &str)], v: &str) -> RangeResult {
        let pypi = |a: &str, b: &str| Ecosystem::PyPI.compare_unchecked(a, b);
        evaluate_events(&ev(spec), v, &pypi).1
    }

    #[test]
    fn osv_range_semantics() {
        let r = [("i", "4.0"), ("f", "4.3"), ("i", "5.0"), ("f", "5.2")];
        assert_eq!(
            run(&r, "4.2"),
            RangeResult::Affected {
                by: Event::Introduced("4.0".into())
            }
        );
        assert_eq!(
            run(&r, "4.3"),
            RangeResult::NotAffected {
                by: Some(Event::Fixed("4.3".into()))
            }
        );
        assert_eq!(run(&r, "3.9"), RangeResult::NotAffected { by: None });
        assert_eq!(
            run(&r, "5.1.post1"),
            RangeResult::Affected {
                by: Event::Introduced("5.0".into())
            }
        );
        // events out of order in the record are sorted first
        let r = [("f", "2.0"), ("i", "0")];
        assert_eq!(
            run(&r, "1.9"),
            RangeResult::Affected {
                by: Event::Introduced("0".into())
            }
        );
        // last_affected is inclusive
        let r = [("i", "1.0"), ("l", "1.5")];
        assert!(matches!(run(&r, "1.5"), RangeResult::Affected { .. }));
        assert!(matches!(run(&r, "1.5.1"), RangeResult::NotAffected { .. }));
        // limit caps the range
        let r = [("i", "0"), ("lim", "2.0")];
        assert!(matches!(run(&r, "1.0"), RangeResult::Affected { .. }));
        assert_eq!(
            run(&r, "2.0"),
            RangeResult::BeyondLimit {
                limit: "2.0".into()
            }
        );
    }
}
