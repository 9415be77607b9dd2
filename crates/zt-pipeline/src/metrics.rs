//! `zt metrics` (and a server's `/metrics`): the figures of zt-watch's `metrics` from the
//! workspace's ledger (build records, vulnerability scans), its policy decisions and drills
//! (`.zt/metrics/*.jsonl`, appended by `zt pipeline run` and `zt drill`) and its waivers
//! (`zt-waivers.toml`).

use std::io::Write as _;
use std::path::Path;

use serde_json::Value;
use zt_core::Workspace;
use zt_store::BundleQuery;
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
    let mut inputs = Inputs {
        since,
        now: ws.now(),
        near_expiry: NEAR_EXPIRY,
        ..Inputs::default()
    };
    if let Some(ledger) = crate::ledger::open_existing(ws)? {
        inputs.builds = ledger
            .builds_since(since)?
            .into_iter()
            .map(|b| (b.recorded_at, b.record))
            .collect();
        // Open criticals: the latest scan of each SBOM, its unwaived critical findings.
        let mut latest: std::collections::BTreeMap<String, (i64, Value)> = Default::default();
        for b in ledger.find_bundles(&BundleQuery::predicate_type(
            zt_core::predicate::ZT_VULN_SCAN_V1,
        ))? {
            let Ok(json) = serde_json::from_str::<Value>(&b.json) else {
                continue;
            };
            let Some(p) = crate::evidence::statement(&json).and_then(|s| s.predicate) else {
                continue;
            };
            let sbom = p
                .pointer("/sbom/name")
                .or_else(|| p.get("sbom"))
                .map(Value::to_string)
                .unwrap_or_default();
            if latest
                .get(&sbom)
                .is_none_or(|(at, _)| *at <= b.index.recorded_at)
            {
                latest.insert(sbom, (b.index.recorded_at, p));
            }
        }
        for (_, p) in latest.values() {
            for f in p
                .get("findings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let waived = f
                    .get("waived")
                    .is_some_and(|w| !w.is_null() && w != &Value::Bool(false));
                if f.get("severity").and_then(Value::as_str) == Some("critical") && !waived {
                    inputs.open_criticals.push((
                        f.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
                        f.get("package")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    ));
                }
            }
        }
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
    Ok(compute(&inputs))
}
