//! Findings as JSON and as SARIF 2.1.0. Secrets are always redacted.

use serde_json::{Value, json};

use super::config::Config;
use super::detect::Finding;

/// One finding as JSON, with the secret redacted by `redact` percent.
pub fn finding_json(f: &Finding, redact: u8) -> Value {
    json!({
        "rule_id": f.rule_id,
        "description": f.description,
        "file": f.file,
        "commit": f.commit,
        "start_line": f.start_line,
        "end_line": f.end_line,
        "start_column": f.start_column,
        "end_column": f.end_column,
        "secret": f.redacted_secret(redact),
        "entropy": f.entropy,
        "tags": f.tags,
        "fingerprint": f.fingerprint(),
        "required": f.required,
    })
}

/// A SARIF 2.1.0 log with one run: the rule set as `tool.driver.rules`, one result per finding.
pub fn sarif(findings: &[Finding], config: &Config, redact: u8) -> Value {
    let rules: Vec<Value> = config
        .ordered_rules()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": if r.description.is_empty() { r.id.clone() } else { r.description.clone() } },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut region = json!({
                "startLine": f.start_line.max(1),
                "endLine": f.end_line.max(f.start_line).max(1),
            });
            if f.start_column > 0
                && let Some(obj) = region.as_object_mut()
            {
                obj.insert("startColumn".into(), json!(f.start_column));
                obj.insert("endColumn".into(), json!(f.end_column + 1));
                obj.insert("snippet".into(), json!({ "text": f.redacted_secret(redact) }));
            }
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": "error",
                "message": { "text": format!("{} has detected secret for file {}.", f.rule_id, f.file) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.file },
                        "region": region,
                    }
                }],
                "partialFingerprints": { "zt/v1": f.fingerprint() },
            });
            if let (Some(c), Some(obj)) = (&f.commit, result.as_object_mut()) {
                obj.insert("properties".into(), json!({ "commitSha": c }));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "zt",
                    "informationUri": "https://github.com/gitleaks/gitleaks",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }]
    })
}
