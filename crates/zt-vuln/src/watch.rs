//! `zt vuln watch`: re-match every SBOM recorded in the ledger against the current database
//! and report only what is new since the last watch.
//!
//! The SBOMs are the ledger's bundles with a CycloneDX (`https://cyclonedx.org/bom`) or SPDX
//! 2.3 (`https://spdx.dev/Document/v2.3`) predicate type — what `zt pipeline run` and
//! `zt sbom --attest` record; each bundle's DSSE payload is the in-toto statement whose
//! predicate is the SBOM. The previous finding set of each SBOM (keyed by bundle id; a
//! finding is `advisory id` + `purl`) is kept in a state file (by default
//! `.zt/vuln/watch.json`), replaced atomically after each watch. An SBOM seen for the first
//! time reports all its findings as new.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use zt_core::predicate;
use zt_store::{BundleQuery, Ledger};

use crate::Error;
use crate::sbom::{Component, read_components};
use crate::scan::{Finding, scan_components};
use crate::store::Store;

/// The state file format version.
const STATE_FORMAT: u32 = 1;

/// One SBOM recorded in the ledger.
#[derive(Debug, Clone)]
pub struct RecordedSbom {
    /// The bundle id (hex SHA-256 of the bundle).
    pub bundle: String,
    /// The predicate type.
    pub predicate_type: String,
    /// The statement's subjects, as `name@sha256:hex`.
    pub subjects: Vec<String>,
    /// The SBOM's components.
    pub components: Vec<Component>,
}

/// Every SBOM in the ledger, oldest first, with the bundles that could not be read as one
/// (each described; they are skipped, never fatal).
pub fn recorded_sboms(ledger: &dyn Ledger) -> Result<(Vec<RecordedSbom>, Vec<String>), Error> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for pt in [predicate::CYCLONEDX, predicate::SPDX_23] {
        for b in ledger
            .find_bundles(&BundleQuery::predicate_type(pt))
            .map_err(|e| Error::Ledger(e.to_string()))?
        {
            let id = b.id.hex();
            match sbom_of_bundle(&b.json, &id) {
                Ok((subjects, components)) => out.push(RecordedSbom {
                    bundle: id,
                    predicate_type: pt.to_owned(),
                    subjects,
                    components,
                }),
                Err(why) => problems.push(format!("bundle {id}: {why}")),
            }
        }
    }
    Ok((out, problems))
}

fn sbom_of_bundle(json: &str, id: &str) -> Result<(Vec<String>, Vec<Component>), String> {
    let bundle: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let st = match zt_core::bundle::content(&bundle).map_err(|e| e.to_string())? {
        zt_core::bundle::Content::Dsse(st) => st,
        zt_core::bundle::Content::MessageSignature(_) => {
            return Err("a message signature, not a DSSE envelope".into());
        }
    };
    let predicate = st.predicate.ok_or("the statement has no predicate")?;
    let text = serde_json::to_string(&predicate).map_err(|e| e.to_string())?;
    let (_, components) =
        read_components(&text, Path::new(&format!("bundle {id}"))).map_err(|e| e.to_string())?;
    let subjects = st
        .subject
        .iter()
        .map(|s| {
            let digest = s
                .digest
                .get("sha256")
                .map(|d| format!("@sha256:{d}"))
                .unwrap_or_default();
            format!("{}{digest}", s.name.as_deref().unwrap_or(""))
        })
        .collect();
    Ok((subjects, components))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    format: u32,
    /// bundle id → previous findings (`ID purl`)
    sboms: BTreeMap<String, SbomState>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SbomState {
    findings: BTreeSet<String>,
    checked_at: i64,
}

/// A finding that is new since the last watch.
#[derive(Debug, Clone, Serialize)]
pub struct NewFinding {
    /// The SBOM's bundle id.
    pub sbom: String,
    /// The SBOM statement's subjects.
    pub subjects: Vec<String>,
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
}

/// What a watch found.
#[derive(Debug, Clone, Serialize)]
pub struct WatchReport {
    /// SBOMs re-matched.
    pub sboms: usize,
    /// SBOMs seen for the first time (all their findings are new).
    pub first_seen: Vec<String>,
    /// Findings not present at the last watch, most severe first.
    pub new: Vec<NewFinding>,
    /// Findings of the last watch that are gone (`bundle: ID purl`): fixed records,
    /// withdrawn advisories.
    pub resolved: Vec<String>,
    /// Findings in total, new or not.
    pub total: usize,
}

fn key(f: &Finding) -> String {
    format!("{} {}", f.id, f.purl)
}

fn load_state(path: &Path) -> Result<State, Error> {
    if !path.exists() {
        return Ok(State {
            format: STATE_FORMAT,
            ..State::default()
        });
    }
    let text = fs_err::read_to_string(path)?;
    let state: State = serde_json::from_str(&text).map_err(|e| Error::Store {
        path: path.to_owned(),
        reason: format!("watch state: {e}"),
    })?;
    if state.format != STATE_FORMAT {
        return Err(Error::Store {
            path: path.to_owned(),
            reason: format!("watch state format {} is not {STATE_FORMAT}", state.format),
        });
    }
    Ok(state)
}

/// Re-matches `sboms` against `store`, compares with the state at `state_path`, writes the
/// new state atomically, and returns what is new.
pub fn watch(
    store: &Store,
    sboms: &[RecordedSbom],
    state_path: &Path,
    now: i64,
) -> Result<WatchReport, Error> {
    let mut state = load_state(state_path)?;
    let mut report = WatchReport {
        sboms: sboms.len(),
        first_seen: Vec::new(),
        new: Vec::new(),
        resolved: Vec::new(),
        total: 0,
    };
    for sbom in sboms {
        let scan = scan_components(store, &sbom.components)?;
        report.total += scan.findings.len();
        let current: BTreeSet<String> = scan.findings.iter().map(key).collect();
        let previous = state.sboms.get(&sbom.bundle);
        if previous.is_none() {
            report.first_seen.push(sbom.bundle.clone());
        }
        for f in &scan.findings {
            if previous.is_none_or(|p| !p.findings.contains(&key(f))) {
                report.new.push(NewFinding {
                    sbom: sbom.bundle.clone(),
                    subjects: sbom.subjects.clone(),
                    finding: f.clone(),
                });
            }
        }
        if let Some(p) = previous {
            for gone in p.findings.difference(&current) {
                report.resolved.push(format!("{}: {gone}", sbom.bundle));
            }
        }
        state.sboms.insert(
            sbom.bundle.clone(),
            SbomState {
                findings: current,
                checked_at: now,
            },
        );
    }
    report.new.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then_with(|| a.sbom.cmp(&b.sbom))
            .then_with(|| key(&a.finding).cmp(&key(&b.finding)))
    });
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| Error::Store {
        path: state_path.to_owned(),
        reason: e.to_string(),
    })?;
    if let Some(parent) = state_path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    zt_core::fsutil::write_atomic(state_path, &bytes)?;
    Ok(report)
}
