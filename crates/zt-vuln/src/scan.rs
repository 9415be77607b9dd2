//! Scanning an SBOM against the store: each component's purl → ecosystem and name → the
//! records the ecosystem index lists for that name → the OSV evaluation → findings triaged by
//! severity. Components that cannot be checked (no purl, a purl type without an OSV
//! ecosystem, no version, an invalid version) and ranges that cannot be evaluated offline
//! are listed, never dropped silently.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::cvss::Severity;
use crate::matching::{RangeResult, evaluate_valid, severity};
use crate::osv::{AdvisoryKind, Event};
use crate::purl::Purl;
use crate::sbom::{Component, read_components};
use crate::store::Store;
use crate::{Ecosystem, Error};

/// One affected component.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The component's purl.
    pub purl: String,
    /// The OSV ecosystem.
    pub ecosystem: String,
    /// The package name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The advisory id.
    pub id: String,
    /// The advisory's aliases.
    pub aliases: Vec<String>,
    /// What kind of advisory.
    pub kind: AdvisoryKind,
    /// The severity used for triage.
    pub severity: Severity,
    /// Where that severity came from: `cvss`, `database`, `malware`, or `unknown` (a
    /// vulnerability without a usable severity counts as high; an informational advisory as
    /// none).
    pub severity_source: &'static str,
    /// The CVSS score, when a vector gave it.
    pub score: Option<f64>,
    /// The CVSS vector used.
    pub vector: Option<String>,
    /// The advisory's summary.
    pub summary: Option<String>,
    /// Versions that fix it (the `fixed` events above the version).
    pub fixed: Vec<String>,
    /// Which entry, range and event made the component affected (`versions[]` when listed).
    pub decided_by: String,
}

/// A component that could not be checked, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unscanned {
    /// Where it sits in the SBOM.
    pub location: String,
    /// Its name.
    pub name: String,
    /// Why it was not checked.
    pub reason: String,
}

/// The result of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Components in the SBOM.
    pub components: usize,
    /// Components checked against the store.
    pub scanned: usize,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Components that could not be checked.
    pub unscanned: Vec<Unscanned>,
    /// Ranges of the matched records that could not be evaluated offline (GIT, no native
    /// ordering), each once.
    pub unsupported_ranges: Vec<String>,
    /// Findings per severity.
    pub counts: BTreeMap<Severity, usize>,
}

impl ScanReport {
    /// Findings at or above `threshold`.
    pub fn at_or_above(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count()
    }
}

/// Scans the SBOM at `path` against `store`.
pub fn scan_file(store: &Store, path: &Path) -> Result<ScanReport, Error> {
    let text = fs_err::read_to_string(path)?;
    let (_, components) = read_components(&text, path)?;
    scan_components(store, &components)
}

/// Scans a list of components against `store`.
pub fn scan_components(store: &Store, components: &[Component]) -> Result<ScanReport, Error> {
    let mut report = ScanReport {
        components: components.len(),
        scanned: 0,
        findings: Vec::new(),
        unscanned: Vec::new(),
        unsupported_ranges: Vec::new(),
        counts: BTreeMap::new(),
    };
    let skip = |c: &Component, reason: String| Unscanned {
        location: c.location.clone(),
        name: c.name.clone(),
        reason,
    };
    let mut unsupported = std::collections::BTreeSet::new();
    for c in components {
        let Some(purl_text) = &c.purl else {
            report.unscanned.push(skip(c, "no purl".into()));
            continue;
        };
        let purl: Purl = match purl_text.parse() {
            Ok(p) => p,
            Err(e) => {
                report.unscanned.push(skip(c, e.to_string()));
                continue;
            }
        };
        let Some(eco) = Ecosystem::of_purl(&purl) else {
            report.unscanned.push(skip(
                c,
                format!("purl type `{}` has no OSV ecosystem zt orders", purl.ty),
            ));
            continue;
        };
        let Some(version) = purl.version.clone().or_else(|| c.version.clone()) else {
            report.unscanned.push(skip(c, "no version".into()));
            continue;
        };
        if let Err(e) = eco.validate(&version) {
            report.unscanned.push(skip(c, e.to_string()));
            continue;
        }
        report.scanned += 1;
        let name = purl.osv_name();
        for adv in store.query_shared(&eco, &name)? {
            let ev = evaluate_valid(&adv, &eco, &name, &version);
            unsupported.extend(ev.unsupported.iter().cloned());
            if !ev.affected {
                continue;
            }
            let (entry_index, decided_by, fixed) = decision(&ev, &eco, &version);
            let sev = severity(&adv, entry_index);
            let (severity, severity_source, score, vector) = match sev {
                Some((s, Some(score), vector)) => (s, "cvss", Some(score), vector),
                Some((s, None, _)) if adv.kind == AdvisoryKind::Malicious => {
                    (s, "malware", None, None)
                }
                Some((s, None, _)) => (s, "database", None, None),
                None if adv.kind.is_informational() => (Severity::None, "unknown", None, None),
                None => (Severity::High, "unknown", None, None),
            };
            report.findings.push(Finding {
                purl: purl_text.clone(),
                ecosystem: eco.name().to_owned(),
                name: name.clone(),
                version: version.clone(),
                id: adv.id.clone(),
                aliases: adv.aliases.clone(),
                kind: adv.kind,
                severity,
                severity_source,
                score,
                vector,
                summary: adv.summary.clone(),
                fixed,
                decided_by,
            });
        }
    }
    report.unsupported_ranges = unsupported.into_iter().collect();
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.purl.cmp(&b.purl))
            .then_with(|| a.id.cmp(&b.id))
    });
    for f in &report.findings {
        *report.counts.entry(f.severity).or_default() += 1;
    }
    Ok(report)
}

/// Which entry and event decided, and the fixes above the version.
fn decision(
    ev: &crate::matching::Evaluation,
    eco: &crate::Ecosystem,
    version: &str,
) -> (Option<usize>, String, Vec<String>) {
    for e in &ev.entries {
        let mut fixed: Vec<String> = e
            .ranges
            .iter()
            .flat_map(|r| r.sorted_events.iter())
            .filter_map(|x| {
                if let Event::Fixed(f) = x {
                    Some(f.clone())
                } else {
                    None
                }
            })
            .filter(|f| eco.compare_unchecked(f, version) == std::cmp::Ordering::Greater)
            .collect();
        fixed.dedup();
        if let Some(v) = &e.listed {
            return (
                Some(e.index),
                format!("affected[{}].versions lists {v}", e.index),
                fixed,
            );
        }
        for r in &e.ranges {
            if let RangeResult::Affected { by } = &r.result {
                return (
                    Some(e.index),
                    format!(
                        "affected[{}].ranges[{}] ({}): {} {}",
                        e.index,
                        r.index,
                        r.kind,
                        by.name(),
                        by.version()
                    ),
                    fixed,
                );
            }
        }
    }
    (None, String::new(), Vec::new())
}

/// The scan as the predicate of a signed `https://zt.dev/attestation/vuln-scan/v1` statement
/// (the shape the built-in policies read; `zt vuln scan --attest` and `zt pipeline run` both
/// make it here): the SBOM scanned (its name and SHA-256), the database's age and size, and
/// every finding with its severity — waived ones included, marked `waived`.
///
/// `database.updated` is the time of the advisory data ([`Manifest::data_time`]: the newest
/// record's `modified`), not the time it was imported, and it is omitted for an undated
/// database (the policy then counts it as stale). Nothing here reads the clock, so the same
/// SBOM, store and waivers give the same bytes.
///
/// [`Manifest::data_time`]: crate::store::Manifest::data_time
pub fn predicate(
    report: &ScanReport,
    waived: &[Finding],
    sbom: &str,
    sbom_digest: &zt_core::Digest,
    manifest: &crate::store::Manifest,
) -> serde_json::Value {
    let one = |f: &Finding, waived: bool| {
        serde_json::json!({
            "id": f.id,
            "aliases": f.aliases,
            "package": f.purl,
            "severity": f.severity.name().to_lowercase(),
            "score": f.score,
            "fixed": f.fixed,
            "waived": waived,
        })
    };
    let mut findings: Vec<serde_json::Value> =
        report.findings.iter().map(|f| one(f, false)).collect();
    findings.extend(waived.iter().map(|f| one(f, true)));
    let mut database = serde_json::json!({
        "records": manifest.records,
        "newest_modified": manifest.newest_modified,
    });
    if let Some(t) = manifest.data_time() {
        database["updated"] = zt_core::time::rfc3339(t).into();
    }
    serde_json::json!({
        "sbom": sbom,
        "sbom_sha256": sbom_digest.hex(),
        "database": database,
        "components": report.components,
        "scanned": report.scanned,
        "unscanned": report.unscanned.len(),
        "findings": findings,
    })
}

/// The report as SARIF 2.1.0: one rule per advisory, one result per finding, located in the
/// SBOM file.
pub fn to_sarif(report: &ScanReport, sbom_uri: &str) -> serde_json::Value {
    let mut rules: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        rules.entry(&f.id).or_insert_with(|| {
            let mut props =
                serde_json::json!({ "tags": ["security", "vulnerability", f.kind.name()] });
            if let Some(s) = f.score {
                props["security-severity"] = serde_json::Value::String(format!("{s:.1}"));
            }
            serde_json::json!({
                "id": f.id,
                "name": f.id.replace('-', ""),
                "shortDescription": { "text": f.summary.clone().unwrap_or_else(|| f.id.clone()) },
                "helpUri": format!("https://osv.dev/vulnerability/{}", f.id),
                "properties": props,
            })
        });
        let level = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::None => "note",
        };
        let fix = if f.fixed.is_empty() {
            "no fixed version known".to_owned()
        } else {
            format!("fixed in {}", f.fixed.join(", "))
        };
        results.push(serde_json::json!({
            "ruleId": f.id,
            "level": level,
            "message": { "text": format!("{} {} is affected by {} ({} severity): {fix}", f.name, f.version, f.id, f.severity) },
            "locations": [{ "physicalLocation": { "artifactLocation": { "uri": sbom_uri } } }],
            "properties": { "purl": f.purl, "severity": f.severity, "decidedBy": f.decided_by },
        }));
    }
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "zt",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://ossf.github.io/osv-schema/",
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}
