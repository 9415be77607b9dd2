//! Alerts as SARIF 2.1.0: one rule per alert kind, one result per alert, the evidence in the
//! result's property bag.

use serde_json::{Value, json};

use crate::{Alert, KINDS};

/// The SARIF log of `alerts`.
pub fn sarif(alerts: &[Alert]) -> Value {
    let rules: Vec<Value> = KINDS
        .iter()
        .map(|k| {
            json!({
                "id": k,
                "name": k,
                "shortDescription": {"text": describe(k)},
                "helpUri": "https://zt.dev/docs/watch#alerts",
            })
        })
        .collect();
    let results: Vec<Value> = alerts
        .iter()
        .map(|a| {
            json!({
                "ruleId": a.kind,
                "ruleIndex": KINDS.iter().position(|k| *k == a.kind),
                "level": match a.severity { "high" => "error", "medium" => "warning", _ => "note" },
                "message": {"text": a.why},
                "locations": [{"logicalLocations": [
                    {"name": a.build, "fullyQualifiedName": format!("{}/{}", a.pipeline, a.build), "kind": "object"}
                ]}],
                "partialFingerprints": {"ztBuildKind": format!("{}/{}", a.build, a.kind)},
                "properties": {"pipeline": a.pipeline, "at": a.at, "commit": a.commit, "severity": a.severity, "evidence": a.evidence},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "zt watch", "informationUri": "https://zt.dev/docs/watch", "rules": rules}},
            "results": results,
        }],
    })
}

/// What an alert kind means, in one sentence.
pub fn describe(kind: &str) -> &'static str {
    match kind {
        "network-attempt" => {
            "The build tried to reach an address its pipeline's recent builds never tried"
        }
        "unknown-commit-key" => "A commit was signed with a key never seen for its author",
        "unsigned-commit" => "An unsigned commit by an author whose earlier commits were signed",
        "new-signing-key" => "The provenance was signed by a key new to the pipeline",
        "changed-program" => "A program the pipeline runs had a digest its recent builds never had",
        "new-program" => "The build executed a program its pipeline's recent builds never executed",
        "write-outside-output" => {
            "The build wrote files outside its output that its recent builds never wrote"
        }
        "new-committer" => "A committer never seen in the repository",
        "duration" => "The build took far longer than its pipeline's median (robust statistics)",
        _ => "unknown alert kind",
    }
}
