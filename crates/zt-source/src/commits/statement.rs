//! The source-verification statement: an in-toto Statement v1 about the tip commit (its git
//! id as `gitCommit` and the sha256 of the commit object) with every verdict of the run.

use std::collections::BTreeMap;

use serde_json::json;
use zt_core::{ResourceDescriptor, Statement, predicate};

use super::verify::Report;

/// The statement for `report`, made at `now` (Unix seconds).
pub fn statement(report: &Report, now: i64) -> Statement {
    let mut digest = BTreeMap::new();
    digest.insert("gitCommit".to_string(), report.tip.clone());
    digest.insert("sha256".to_string(), report.tip_sha256.clone());
    let subject = ResourceDescriptor {
        name: Some(format!("git:{}", report.tip)),
        digest,
        ..ResourceDescriptor::default()
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &report.commits {
        *counts.entry(c.verdict.as_str()).or_default() += 1;
    }
    let predicate = json!({
        "commit": report.tip,
        "range": report.range,
        "verified": report.ok(),
        "verifiedAt": zt_core::time::rfc3339(now),
        "trustRoot": report.trust_root,
        "trustRootSource": report.trust_root_source,
        "policyFile": super::POLICY_PATH,
        "checked": report.commits.len(),
        "cached": report.cached,
        "verdicts": counts,
        "commits": report.commits.iter().map(|c| json!({
            "commit": c.commit,
            "verdict": c.verdict,
            "reason": c.reason,
            "signer": c.signer,
            "key": c.key,
            "firstSeen": c.first_seen,
        })).collect::<Vec<_>>(),
        "newSigningKeys": report.new_keys,
    });
    Statement::new(
        vec![subject],
        predicate::ZT_SOURCE_VERIFICATION_V1,
        predicate,
    )
}
