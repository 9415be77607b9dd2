//! Waivers: a reviewed decision that a finding does not need fixing yet. Each waiver names an
//! advisory (matched with its aliases), a scope (a package and an exact version or an OSV-style
//! version range), a justification from OpenVEX's list, compensating controls, an owner, an
//! approver other than the owner, and a mandatory expiry no further away than the policy allows.
//! Unknown keys are errors; a waiver with no version scope is over-broad; expired and unused
//! waivers fail the check; one near expiry warns. Waivers export as an OpenVEX document.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::osv::{Event, parse_rfc3339_seconds};
use crate::purl::Purl;
use crate::rustsec::{toml_field, toml_reason};
use crate::scan::{Finding, ScanReport};
use crate::{Ecosystem, Error};

/// The waiver file a repository keeps at its root, reviewed and versioned like the code:
/// `zt vuln waive` writes it, and `zt vuln scan` (without `--waivers`) and the vuln stage of
/// `zt pipeline run` read it.
pub const DEFAULT_FILE: &str = "zt-waivers.toml";

/// OpenVEX `not_affected` justifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    /// The vulnerable component is not included.
    ComponentNotPresent,
    /// The vulnerable code is not included.
    VulnerableCodeNotPresent,
    /// The vulnerable code cannot be executed.
    VulnerableCodeNotInExecutePath,
    /// The vulnerable code cannot be controlled by an adversary.
    VulnerableCodeCannotBeControlledByAdversary,
    /// Built-in protections prevent exploitation.
    InlineMitigationsAlreadyExist,
}

/// A version range in a waiver's scope (OSV event semantics: `introduced` inclusive, `fixed`
/// exclusive, `last_affected` inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRange {
    /// First version covered.
    pub introduced: String,
    /// First version no longer covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last version covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
}

/// One waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The advisory id or any alias of it.
    pub id: String,
    /// The package: a purl, with a version for an exact-version scope.
    pub purl: String,
    /// A version range, for a purl without a version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<VersionRange>,
    /// Why the finding does not apply (OpenVEX justification).
    pub justification: Justification,
    /// What the justification rests on, in words.
    pub statement: String,
    /// Controls that compensate meanwhile.
    #[serde(default)]
    pub compensating_controls: Vec<String>,
    /// Who answers for the waiver.
    pub owner: String,
    /// Who approved it (not the owner).
    pub approver: String,
    /// When it stops applying: `YYYY-MM-DD` (end of that day, UTC) or RFC 3339.
    pub expires: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    #[serde(default)]
    waiver: Vec<Waiver>,
}

/// The waiver policy: how far away an expiry may be, and when to warn.
#[derive(Debug, Clone, Copy)]
pub struct WaiverPolicy {
    /// Longest allowed time from now to expiry, in days.
    pub max_days: u64,
    /// Warn when expiry is this close, in days.
    pub warn_days: u64,
}

impl WaiverPolicy {
    /// zt's defaults: at most 90 days to expiry, a warning 14 days before it.
    pub const DEFAULT: WaiverPolicy = WaiverPolicy {
        max_days: 90,
        warn_days: 14,
    };
}

impl Default for WaiverPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A loaded, checked waiver.
#[derive(Debug, Clone)]
pub struct LoadedWaiver {
    /// The waiver.
    pub waiver: Waiver,
    /// Its index in the file.
    pub index: usize,
    purl: Purl,
    ecosystem: Ecosystem,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
}

fn expiry_seconds(s: &str) -> Option<i64> {
    if s.len() == 10 {
        parse_rfc3339_seconds(&format!("{s}T23:59:59Z"))
    } else {
        parse_rfc3339_seconds(s)
    }
}

/// Loads and checks a waiver file (TOML, `[[waiver]]` tables).
pub fn load(
    text: &str,
    file: &Path,
    policy: WaiverPolicy,
    now: i64,
) -> Result<Vec<LoadedWaiver>, Error> {
    let bad = |field: String, reason: String| Error::Waiver {
        file: file.to_owned(),
        field,
        reason,
    };
    let de = toml::Deserializer::new(text);
    let parsed: WaiverFile = serde_path_to_error::deserialize(de)
        .map_err(|e| bad(toml_field(e.path()), toml_reason(e.inner())))?;
    let mut out = Vec::new();
    for (i, w) in parsed.waiver.into_iter().enumerate() {
        let at = |f: &str| format!("waiver[{i}].{f}");
        for (f, v) in [
            ("id", &w.id),
            ("statement", &w.statement),
            ("owner", &w.owner),
            ("approver", &w.approver),
        ] {
            if v.trim().is_empty() {
                return Err(bad(at(f), "must not be empty".into()));
            }
        }
        if w.owner.trim() == w.approver.trim() {
            return Err(bad(
                at("approver"),
                "must be someone other than the owner".into(),
            ));
        }
        let purl: Purl = w
            .purl
            .parse()
            .map_err(|e: crate::purl::PurlError| bad(at("purl"), e.to_string()))?;
        let ecosystem = Ecosystem::of_purl(&purl).ok_or_else(|| {
            bad(
                at("purl"),
                format!("purl type `{}` has no OSV ecosystem", purl.ty),
            )
        })?;
        match (&purl.version, &w.versions) {
            (None, None) => {
                return Err(bad(
                    at("versions"),
                    "over-broad: give an exact version in the purl or a `versions` range".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    at("versions"),
                    "give either a purl version or a range, not both".into(),
                ));
            }
            (Some(v), None) => ecosystem
                .validate(v)
                .map_err(|e| bad(at("purl"), e.to_string()))?,
            (None, Some(r)) => {
                if r.fixed.is_none() && r.last_affected.is_none() {
                    return Err(bad(
                        at("versions"),
                        "over-broad: an open-ended range needs `fixed` or `last_affected`".into(),
                    ));
                }
                for (f, v) in [
                    ("introduced", Some(&r.introduced)),
                    ("fixed", r.fixed.as_ref()),
                    ("last_affected", r.last_affected.as_ref()),
                ] {
                    if let Some(v) = v.filter(|v| !(f == "introduced" && *v == "0")) {
                        ecosystem
                            .validate(v)
                            .map_err(|e| bad(at(&format!("versions.{f}")), e.to_string()))?;
                    }
                }
            }
        }
        let expires_at = expiry_seconds(&w.expires).ok_or_else(|| {
            bad(
                at("expires"),
                format!(
                    "`{}` is not a date (YYYY-MM-DD) or RFC 3339 time",
                    w.expires
                ),
            )
        })?;
        let cap = now.saturating_add(
            i64::try_from(policy.max_days)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(86_400),
        );
        if expires_at > cap {
            return Err(bad(
                at("expires"),
                format!(
                    "`{}` is more than {} days away, the policy's maximum",
                    w.expires, policy.max_days
                ),
            ));
        }
        out.push(LoadedWaiver {
            waiver: w,
            index: i,
            purl,
            ecosystem,
            expires_at,
        });
    }
    Ok(out)
}

impl LoadedWaiver {
    /// Whether this waiver covers `finding`.
    pub fn covers(&self, f: &Finding) -> bool {
        let ids_match = f.id.eq_ignore_ascii_case(&self.waiver.id)
            || f.aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&self.waiver.id));
        if !ids_match || f.ecosystem != self.ecosystem.name() {
            return false;
        }
        let key = |n: &str| crate::store::normalize_name(&self.ecosystem, n);
        if key(&self.purl.osv_name()) != key(&f.name) {
            return false;
        }
        let cmp = |a: &str, b: &str| self.ecosystem.compare_unchecked(a, b);
        match (&self.purl.version, &self.waiver.versions) {
            (Some(v), _) => cmp(v, &f.version) == std::cmp::Ordering::Equal,
            (None, Some(r)) => {
                let mut events = vec![Event::Introduced(r.introduced.clone())];
                events.extend(r.fixed.clone().map(Event::Fixed));
                events.extend(r.last_affected.clone().map(Event::LastAffected));
                matches!(
                    crate::matching::evaluate_events(&events, &f.version, &cmp).1,
                    crate::matching::RangeResult::Affected { .. }
                )
            }
            (None, None) => false,
        }
    }
}

/// How the waivers applied to a scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WaiverCheck {
    /// Findings waived: (finding index, waiver index).
    pub waived: Vec<(usize, usize)>,
    /// Waivers past their expiry (they waive nothing and fail the check).
    pub expired: Vec<usize>,
    /// Waivers that matched no finding (fail the check: remove them).
    pub unused: Vec<usize>,
    /// Waivers expiring within the warning window.
    pub expiring_soon: Vec<usize>,
}

impl WaiverCheck {
    /// Whether the waivers themselves fail the check.
    pub fn failed(&self) -> bool {
        !self.expired.is_empty() || !self.unused.is_empty()
    }
}

/// Applies waivers to findings.
pub fn apply(
    waivers: &[LoadedWaiver],
    findings: &[Finding],
    policy: WaiverPolicy,
    now: i64,
) -> WaiverCheck {
    let mut check = WaiverCheck::default();
    let warn = i64::try_from(policy.warn_days)
        .unwrap_or(0)
        .saturating_mul(86_400);
    for w in waivers {
        if w.expires_at < now {
            check.expired.push(w.index);
            continue;
        }
        if w.expires_at - now <= warn {
            check.expiring_soon.push(w.index);
        }
        let mut used = false;
        for (i, f) in findings.iter().enumerate() {
            if w.covers(f) {
                used = true;
                if !check.waived.iter().any(|(fi, _)| *fi == i) {
                    check.waived.push((i, w.index));
                }
            }
        }
        if !used {
            check.unused.push(w.index);
        }
    }
    check
}

/// A scan with its waivers applied.
#[derive(Debug, Clone, Serialize)]
pub struct Waived {
    /// The scan without the waived findings (counts recomputed).
    pub report: ScanReport,
    /// The waived findings, in scan order.
    pub waived: Vec<Finding>,
    /// How each waiver applied; finding indexes are into the scan as it was before waiving.
    pub check: WaiverCheck,
}

/// Applies `waivers` to a scan at time `now`: a finding a current (unexpired) waiver covers
/// moves from the report's findings to [`Waived::waived`]; expired waivers waive nothing.
/// This is the one place waivers change a scan's result: `zt vuln scan` and `zt pipeline run`
/// both call it.
pub fn waive(
    mut report: ScanReport,
    waivers: &[LoadedWaiver],
    policy: WaiverPolicy,
    now: i64,
) -> Waived {
    let check = apply(waivers, &report.findings, policy, now);
    let mut waived = Vec::new();
    let mut kept = Vec::new();
    for (i, f) in std::mem::take(&mut report.findings).into_iter().enumerate() {
        if check.waived.iter().any(|(fi, _)| *fi == i) {
            waived.push(f);
        } else {
            kept.push(f);
        }
    }
    report.findings = kept;
    report.counts.clear();
    for f in &report.findings {
        *report.counts.entry(f.severity).or_default() += 1;
    }
    Waived {
        report,
        waived,
        check,
    }
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One waiver as a `[[waiver]]` TOML table (the form [`load`] reads).
pub fn render(w: &Waiver) -> String {
    let mut out = String::from("[[waiver]]\n");
    let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    line("id", toml_string(&w.id));
    line("purl", toml_string(&w.purl));
    if let Some(r) = &w.versions {
        let mut parts = vec![format!("introduced = {}", toml_string(&r.introduced))];
        if let Some(f) = &r.fixed {
            parts.push(format!("fixed = {}", toml_string(f)));
        }
        if let Some(l) = &r.last_affected {
            parts.push(format!("last_affected = {}", toml_string(l)));
        }
        line("versions", format!("{{ {} }}", parts.join(", ")));
    }
    let justification = serde_json::to_value(w.justification)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    line("justification", toml_string(&justification));
    line("statement", toml_string(&w.statement));
    line(
        "compensating_controls",
        format!(
            "[{}]",
            w.compensating_controls
                .iter()
                .map(|c| toml_string(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    line("owner", toml_string(&w.owner));
    line("approver", toml_string(&w.approver));
    line("expires", toml_string(&w.expires));
    out
}

/// The waiver file `existing` (empty for a new file) with `w` appended, checked as a whole
/// with [`load`] under `policy` at `now` — the same rules `--waivers` applies — and refused
/// when `w` has already expired or repeats a waiver of the file (same advisory, package and
/// scope: renew it by editing its `expires`). Comments and the existing waivers are kept as
/// they are.
pub fn append(
    existing: &str,
    w: &Waiver,
    file: &Path,
    policy: WaiverPolicy,
    now: i64,
) -> Result<String, Error> {
    let before = load(existing, file, policy, now)?;
    let index = before.len();
    let bad = |field: &str, reason: String| Error::Waiver {
        file: file.to_owned(),
        field: format!("waiver[{index}].{field}"),
        reason,
    };
    if let Some(t) = expiry_seconds(&w.expires)
        && t < now
    {
        return Err(bad(
            "expires",
            format!("`{}` is in the past: a waiver must expire later", w.expires),
        ));
    }
    let mut text = existing.to_owned();
    if !text.is_empty() {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
    }
    text.push_str(&render(w));
    load(&text, file, policy, now)?;
    if let Some(dup) = before.iter().find(|b| {
        b.waiver.id.eq_ignore_ascii_case(&w.id)
            && b.waiver.purl == w.purl
            && b.waiver.versions == w.versions
    }) {
        return Err(bad(
            "id",
            format!(
                "waiver[{}] already waives {} on {}: renew it by editing its `expires`",
                dup.index, w.id, w.purl
            ),
        ));
    }
    Ok(text)
}

/// The waivers as an OpenVEX v0.2.0 document (`not_affected` statements).
pub fn to_openvex(waivers: &[LoadedWaiver], author: &str, timestamp: &str) -> serde_json::Value {
    let statements: Vec<serde_json::Value> = waivers
        .iter()
        .map(|w| {
            // A range cannot be written in a purl: the product is the package, and the range
            // is stated in `status_notes`.
            let (product, notes) = match &w.waiver.versions {
                Some(r) => {
                    let upper = match (&r.fixed, &r.last_affected) {
                        (Some(f), _) => format!("below {f}"),
                        (None, Some(l)) => format!("up to and including {l}"),
                        (None, None) => String::new(),
                    };
                    (
                        w.purl.to_string(),
                        Some(format!(
                            "applies only to versions from {} {upper}",
                            r.introduced
                        )),
                    )
                }
                None => (w.purl.to_string(), None),
            };
            let mut impact = w.waiver.statement.clone();
            if !w.waiver.compensating_controls.is_empty() {
                impact.push_str(&format!(
                    " Compensating controls: {}.",
                    w.waiver.compensating_controls.join("; ")
                ));
            }
            let mut st = serde_json::json!({
                "vulnerability": { "name": w.waiver.id },
                "products": [{ "@id": product }],
                "status": "not_affected",
                "justification": w.waiver.justification,
                "impact_statement": impact,
            });
            if let Some(n) = notes {
                st["status_notes"] = serde_json::Value::String(n);
            }
            st
        })
        .collect();
    let body = serde_json::to_vec(&statements).unwrap_or_default();
    let id = zt_core::Digest::sha256(&body);
    serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:zt:vex:{id}"),
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "statements": statements,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvss::Severity;
    use crate::osv::AdvisoryKind;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const DAY: i64 = 86_400;

    fn finding(id: &str, name: &str, version: &str, severity: Severity) -> Finding {
        Finding {
            purl: format!("pkg:pypi/{name}@{version}"),
            ecosystem: "PyPI".into(),
            name: name.into(),
            version: version.into(),
            id: id.into(),
            aliases: vec![format!("CVE-{id}")],
            kind: AdvisoryKind::Vulnerability,
            severity,
            severity_source: "cvss",
            score: None,
            vector: None,
            summary: None,
            fixed: vec![],
            decided_by: String::new(),
        }
    }

    fn report(findings: Vec<Finding>) -> ScanReport {
        let mut counts = std::collections::BTreeMap::new();
        for f in &findings {
            *counts.entry(f.severity).or_default() += 1;
        }
        ScanReport {
            components: findings.len(),
            scanned: findings.len(),
            findings,
            unscanned: vec![],
            unsupported_ranges: vec![],
            counts,
        }
    }

    fn waiver(id: &str, purl: &str, expires: &str) -> Waiver {
        Waiver {
            id: id.into(),
            purl: purl.into(),
            versions: None,
            justification: Justification::VulnerableCodeNotInExecutePath,
            statement: "never called".into(),
            compensating_controls: vec!["WAF rule 12".into()],
            owner: "alice".into(),
            approver: "bob".into(),
            expires: expires.into(),
        }
    }

    fn loaded(ws: &[Waiver]) -> Vec<LoadedWaiver> {
        let text: String = ws.iter().map(render).collect::<Vec<_>>().join("\n");
        load(&text, Path::new("w.toml"), WaiverPolicy::DEFAULT, NOW).unwrap()
    }

    #[test]
    fn a_current_waiver_moves_its_finding_out_and_recounts() {
        let r = report(vec![
            finding("A-1", "flask", "1.0", Severity::Critical),
            finding("B-2", "jinja2", "2.0", Severity::High),
        ]);
        let w = loaded(&[waiver("A-1", "pkg:pypi/flask@1.0", "2026-02-01")]);
        let out = waive(r, &w, WaiverPolicy::DEFAULT, NOW);
        assert_eq!(out.waived.len(), 1);
        assert_eq!(out.waived[0].id, "A-1");
        assert_eq!(out.report.findings.len(), 1);
        assert_eq!(out.report.at_or_above(Severity::Critical), 0);
        assert_eq!(out.report.counts.get(&Severity::Critical), None);
        assert_eq!(out.report.counts.get(&Severity::High), Some(&1));
        assert_eq!(out.check.waived, vec![(0, 0)]);
        assert!(!out.check.failed());
    }

    #[test]
    fn an_alias_names_the_advisory_too() {
        let r = report(vec![finding("A-1", "flask", "1.0", Severity::Critical)]);
        let w = loaded(&[waiver("cve-a-1", "pkg:pypi/Flask@1.0", "2026-02-01")]);
        let out = waive(r, &w, WaiverPolicy::DEFAULT, NOW);
        assert_eq!(out.waived.len(), 1, "alias and PEP 503 name match");
    }

    #[test]
    fn an_expired_waiver_waives_nothing() {
        let r = report(vec![finding("A-1", "flask", "1.0", Severity::Critical)]);
        let w = loaded(&[waiver("A-1", "pkg:pypi/flask@1.0", "2026-01-10")]);
        let later = NOW + 30 * DAY;
        let out = waive(r, &w, WaiverPolicy::DEFAULT, later);
        assert!(out.waived.is_empty());
        assert_eq!(out.report.at_or_above(Severity::Critical), 1);
        assert_eq!(out.check.expired, vec![0]);
        assert!(out.check.failed());
        // the last second of the expiry day still counts, the next does not
        let end = crate::osv::parse_rfc3339_seconds("2026-01-10T23:59:59Z").unwrap();
        let r = report(vec![finding("A-1", "flask", "1.0", Severity::Critical)]);
        assert_eq!(waive(r, &w, WaiverPolicy::DEFAULT, end).waived.len(), 1);
        let r = report(vec![finding("A-1", "flask", "1.0", Severity::Critical)]);
        assert!(
            waive(r, &w, WaiverPolicy::DEFAULT, end + 1)
                .waived
                .is_empty()
        );
    }

    #[test]
    fn a_waiver_for_another_package_version_or_advisory_does_not_apply() {
        for (id, purl) in [
            ("A-1", "pkg:pypi/flask@1.1"),
            ("A-1", "pkg:pypi/flasky@1.0"),
            ("A-1", "pkg:npm/flask@1.0"),
            ("A-2", "pkg:pypi/flask@1.0"),
        ] {
            let r = report(vec![finding("A-1", "flask", "1.0", Severity::Critical)]);
            let w = loaded(&[waiver(id, purl, "2026-02-01")]);
            let out = waive(r, &w, WaiverPolicy::DEFAULT, NOW);
            assert!(out.waived.is_empty(), "{id} {purl}");
            assert_eq!(out.report.findings.len(), 1, "{id} {purl}");
            assert_eq!(out.check.unused, vec![0], "{id} {purl}");
        }
    }

    #[test]
    fn a_range_waiver_covers_only_its_range() {
        let mut w = waiver("A-1", "pkg:pypi/flask", "2026-02-01");
        w.versions = Some(VersionRange {
            introduced: "1.0".into(),
            fixed: Some("2.0".into()),
            last_affected: None,
        });
        let w = loaded(&[w]);
        for (v, covered) in [
            ("0.9", false),
            ("1.0", true),
            ("1.9.9", true),
            ("2.0", false),
        ] {
            let r = report(vec![finding("A-1", "flask", v, Severity::Critical)]);
            let out = waive(r, &w, WaiverPolicy::DEFAULT, NOW);
            assert_eq!(out.waived.len() == 1, covered, "{v}");
        }
    }

    #[test]
    fn render_round_trips_through_load_with_awkward_text() {
        let mut w = waiver("A-1", "pkg:pypi/flask@1.0", "2026-02-01T12:00:00Z");
        w.statement = "a \"quoted\" \\ back\\slash\nand a newline\tand tab \u{7}".into();
        w.compensating_controls = vec![];
        let text = render(&w);
        let back = load(&text, Path::new("w.toml"), WaiverPolicy::DEFAULT, NOW).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].waiver, w);
    }

    #[test]
    fn append_keeps_the_file_and_applies_the_same_rules_as_load() {
        let file = Path::new("zt-waivers.toml");
        let first = append(
            "",
            &waiver("A-1", "pkg:pypi/flask@1.0", "2026-02-01"),
            file,
            WaiverPolicy::DEFAULT,
            NOW,
        )
        .unwrap();
        let with_comment = format!("# reviewed by the security team\n{first}");
        let both = append(
            &with_comment,
            &waiver("B-2", "pkg:pypi/jinja2@2.0", "2026-03-01"),
            file,
            WaiverPolicy::DEFAULT,
            NOW,
        )
        .unwrap();
        assert!(both.starts_with(&with_comment));
        assert_eq!(
            load(&both, file, WaiverPolicy::DEFAULT, NOW).unwrap().len(),
            2
        );
        let refuse = |w: Waiver, field: &str, reason: &str| {
            let e = append(&both, &w, file, WaiverPolicy::DEFAULT, NOW)
                .unwrap_err()
                .to_string();
            assert!(e.contains(field) && e.contains(reason), "{field}: {e}");
        };
        refuse(
            waiver("C-3", "pkg:pypi/x@1.0", "2026-05-01"),
            "waiver[2].expires",
            "90 days",
        );
        refuse(
            waiver("C-3", "pkg:pypi/x@1.0", "2025-12-31"),
            "waiver[2].expires",
            "in the past",
        );
        refuse(
            waiver("C-3", "pkg:pypi/x@1.0", "soon"),
            "waiver[2].expires",
            "not a date",
        );
        refuse(
            waiver("C-3", "pkg:pypi/x", "2026-02-01"),
            "waiver[2].versions",
            "over-broad",
        );
        refuse(
            waiver("a-1", "pkg:pypi/flask@1.0", "2026-02-01"),
            "waiver[2].id",
            "already waives",
        );
        let mut same = waiver("C-3", "pkg:pypi/x@1.0", "2026-02-01");
        same.approver = same.owner.clone();
        refuse(same, "waiver[2].approver", "other than the owner");
        let mut empty = waiver("C-3", "pkg:pypi/x@1.0", "2026-02-01");
        empty.statement = " ".into();
        refuse(empty, "waiver[2].statement", "must not be empty");
    }
}
