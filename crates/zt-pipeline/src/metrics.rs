//! `zt metrics` (and a server's `/metrics`): the figures of zt-watch's `metrics` from the
//! workspace's ledger (build records, vulnerability scans), its policy decisions and drills
//! (`.zt/metrics/*.jsonl`, appended by `zt pipeline run` and `zt drill`) and its waivers
//! (`zt-waivers.toml`).

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;
use zt_core::Workspace;
use zt_watch::metrics::{Decision, Drill, Inputs, Metrics, compute};

use crate::Error;

/// A waiver expiring within this is "near expiry": 14 days.
pub const NEAR_EXPIRY: i64 = 14 * 86_400;

/// Appends one JSON line to `.zt/metrics/<name>.jsonl` (one `write` of the whole line, with
/// `O_APPEND`: two processes at once do not interleave within a line).
pub fn append(ws: &Workspace, name: &str, line: &Value) -> Result<(), Error> {
    let dir = ws.root().join(".zt/metrics");
    fs_err::create_dir_all(&dir)?;
    let mut f = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.jsonl")))?;
    f.write_all(format!("{line}\n").as_bytes())?;
    Ok(())
}

fn lines(path: &Path) -> Vec<Value> {
    fs_err::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// [`metrics`] in the Prometheus text format (what `zt metrics --prometheus` prints and a
/// server's `/metrics` appends).
pub fn prometheus(ws: &Workspace, since: i64) -> Result<String, Error> {
    Ok(zt_watch::metrics::prometheus(&metrics(ws, since)?))
}

/// Gathers the inputs and computes the figures for records at or after `since`.
pub fn metrics(ws: &Workspace, since: i64) -> Result<Metrics, Error> {
    Ok(compute(&inputs(ws, since)?))
}

/// The records [`metrics`] computes its figures from: build records at or after `since` (from
/// the ledger), every policy decision and drill, the open criticals and the waivers. A caller
/// that wants the figures per period (the dashboard's trend charts) filters them and calls
/// [`zt_watch::metrics::compute`] per period.
pub fn inputs(ws: &Workspace, since: i64) -> Result<Inputs, Error> {
    let ledger = crate::ledger::open_existing(ws)?;
    inputs_in(ws, ledger.as_deref(), since)
}

/// As [`inputs`], with the ledger already open (`None`: there is none yet).
pub fn inputs_in(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    since: i64,
) -> Result<Inputs, Error> {
    let mut inputs = Inputs {
        since,
        now: ws.now(),
        near_expiry: NEAR_EXPIRY,
        ..Inputs::default()
    };
    if let Some(ledger) = ledger {
        inputs.builds = ledger
            .build_figures_since(since)?
            .into_iter()
            .map(|f| zt_watch::metrics::BuildFigures {
                at: f.recorded_at,
                reproducible: f.reproducible,
                setup_ms: f.setup_ms.map(|v| v.max(0) as u64),
                duration_ms: f.duration_ms.map(|v| v.max(0) as u64),
            })
            .collect();
        // Open criticals: the latest scan of each SBOM, its unwaived critical findings (the
        // ledger's scan index: one query however many scans were recorded).
        inputs.open_criticals = ledger.open_findings("critical")?;
    }
    let dir = ws.root().join(".zt/metrics");
    inputs.decisions = lines(&dir.join("decisions.jsonl"))
        .iter()
        .map(|v| Decision {
            at: v.get("at").and_then(Value::as_i64).unwrap_or(0),
            allowed: v.get("allowed").and_then(Value::as_bool).unwrap_or(false),
            denies: v
                .get("denies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect(),
        })
        .collect();
    inputs.drills = lines(&dir.join("drills.jsonl"))
        .iter()
        .map(|v| Drill {
            at: v.get("at").and_then(Value::as_i64).unwrap_or(0),
            detected: v.get("detected").and_then(Value::as_bool).unwrap_or(false),
            detect_ms: v
                .get("time_to_detect_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            contain_ms: v
                .get("time_to_contain_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        })
        .collect();
    let waivers = ws.root().join(zt_vuln::waiver::DEFAULT_FILE);
    if let Ok(text) = fs_err::read_to_string(&waivers) {
        // Loaded at the scan's policy: an expired or invalid waiver file is an error here as
        // in `zt vuln scan`.
        for w in zt_vuln::waiver::load(
            &text,
            &waivers,
            zt_vuln::waiver::WaiverPolicy::DEFAULT,
            ws.now(),
        )? {
            inputs
                .waivers
                .push((w.waiver.id.clone(), w.waiver.purl.clone(), w.expires_at));
        }
    }
    Ok(inputs)
}

/// The figures of each of `buckets` equal periods from `since` to `until`: (period start,
/// figures of the records in `[start, end)`). Open criticals and waivers are the present
/// state, the same in every period.
pub fn series(inputs: &Inputs, since: i64, until: i64, buckets: usize) -> Vec<(i64, Metrics)> {
    let buckets = buckets.max(1);
    let span = (until - since).max(1);
    (0..buckets)
        .map(|i| {
            let start = since + span * i as i64 / buckets as i64;
            let end = since + span * (i as i64 + 1) / buckets as i64;
            let end = if i + 1 == buckets { i64::MAX } else { end };
            let part = Inputs {
                builds: inputs
                    .builds
                    .iter()
                    .filter(|b| b.at >= start && b.at < end)
                    .copied()
                    .collect(),
                decisions: inputs
                    .decisions
                    .iter()
                    .filter(|d| d.at >= start && d.at < end)
                    .cloned()
                    .collect(),
                drills: inputs
                    .drills
                    .iter()
                    .filter(|d| d.at >= start && d.at < end)
                    .cloned()
                    .collect(),
                open_criticals: inputs.open_criticals.clone(),
                waivers: inputs.waivers.clone(),
                since: start,
                now: inputs.now,
                near_expiry: inputs.near_expiry,
            };
            (start, compute(&part))
        })
        .collect()
}

/// One policy decision the pipeline recorded (`.zt/metrics/decisions.jsonl`), with each
/// deny's rule, reason and fix when the record carries them (records written before they
/// did carry only the rule ids).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecisionRecord {
    /// When (Unix seconds).
    pub at: i64,
    /// The stage judged at.
    pub stage: String,
    /// The artifact's digest (`sha256:…`).
    pub digest: String,
    /// The artifact's path in the repository, when recorded.
    pub name: Option<String>,
    /// The repository (`git+<origin>` or `git+file://<path>`), when recorded.
    pub repository: Option<String>,
    /// The commit built, when recorded.
    pub commit: Option<String>,
    /// Whether it allowed.
    pub allowed: bool,
    /// Every deny: rule id, and the reason and fix when recorded.
    pub denies: Vec<DenyRecord>,
}

/// One deny of a recorded decision.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DenyRecord {
    /// The rule id, e.g. `tests.coverage`.
    pub rule: String,
    /// Why it denied.
    pub reason: Option<String>,
    /// How to fix it.
    pub fix: Option<String>,
}

/// Every decision recorded in the workspace, oldest first.
pub fn decisions(ws: &Workspace) -> Vec<DecisionRecord> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    lines(&ws.root().join(".zt/metrics/decisions.jsonl"))
        .iter()
        .map(|v| {
            let details = v.get("deny").and_then(Value::as_array);
            let denies = match details {
                Some(d) => d
                    .iter()
                    .map(|d| DenyRecord {
                        rule: text(d, "id").unwrap_or_default(),
                        reason: text(d, "message"),
                        fix: text(d, "remediation"),
                    })
                    .collect(),
                None => v
                    .get("denies")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|r| DenyRecord {
                        rule: r.to_owned(),
                        reason: None,
                        fix: None,
                    })
                    .collect(),
            };
            DecisionRecord {
                at: v.get("at").and_then(Value::as_i64).unwrap_or(0),
                stage: text(v, "stage").unwrap_or_default(),
                digest: text(v, "digest").unwrap_or_default(),
                name: text(v, "name"),
                repository: text(v, "repository"),
                commit: text(v, "commit"),
                allowed: v.get("allowed").and_then(Value::as_bool).unwrap_or(false),
                denies,
            }
        })
        .collect()
}
