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
use crate::scan::Finding;
use crate::{Ecosystem, Error};

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
            .map_err(|e: Error| bad(at("purl"), e.to_string()))?;
        let ecosystem = purl.ecosystem().ok_or_else(|| {
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
