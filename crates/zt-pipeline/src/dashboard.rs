//! What `zt serve`'s dashboard shows, read from the hub's ledger and the workspace: the
//! evidence about an artifact with its log entries ([`artifact`]), a search by digest, commit,
//! file name or repository ([`search`]), the latest denials with their fixes ([`denials`]) and
//! the incident records ([`incidents`]). The figures come from [`crate::metrics`], the alerts
//! from [`crate::watch`], the trace from [`crate::trace`]. The server renders; nothing here
//! knows HTML.

use serde_json::Value;
use zt_core::{Digest, DigestAlgorithm, predicate};
use zt_store::{BundleQuery, EvidenceQuery};

use crate::Error;
use crate::hub::Hub;
use crate::metrics::DecisionRecord;

/// The most bundles about one artifact the artifact page reads.
pub const MAX_EVIDENCE: u32 = 200;
/// The most provenance statements a name or repository search reads, newest first (see
/// [`search`]).
pub const SEARCH_SCAN: usize = 2000;
/// The most hits a search returns.
pub const MAX_HITS: usize = 100;
/// The rows read per query of a name or repository search.
const SEARCH_PAGE: u32 = 500;
/// How far back each window of a name or repository search reaches from now: an hour, a
/// day, a week, 30 days, a year, then everything (the period's start bounds them all).
const SEARCH_WINDOWS: &[i64] = &[
    3_600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
    i64::MAX,
];

fn hits_full(hits: &[Hit]) -> bool {
    hits.len() >= MAX_HITS
}

/// Adds `hit` unless the same artifact and name is there already or the list is full.
fn add(hits: &mut Vec<Hit>, hit: Hit) {
    if !hits_full(hits)
        && !hits
            .iter()
            .any(|h| h.digest == hit.digest && h.name == hit.name)
    {
        hits.push(hit);
    }
}

/// The records of the figures ([`crate::metrics::inputs`]) read over the hub's pooled ledger
/// connection.
pub fn metrics_inputs(hub: &Hub, since: i64) -> Result<zt_watch::metrics::Inputs, Error> {
    let ledger = hub.ledger()?;
    crate::metrics::inputs_in(hub.workspace(), Some(&*ledger), since)
}

/// One bundle about an artifact: a signature or an attestation, with its log entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvidenceNode {
    /// The bundle's id (`sha256:…` of its bytes).
    pub id: String,
    /// Its predicate type; `None` for a plain signature.
    pub predicate_type: Option<String>,
    /// The key that signed it, when known.
    pub key_id: Option<String>,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
    /// Its entry's index in the transparency log.
    pub log_index: Option<u64>,
    /// The first line of the checkpoint its inclusion proof is against (the log's origin)
    /// and the tree size.
    pub checkpoint: Option<(String, u64)>,
}

/// What the artifact page shows: the names the evidence gives the digest, its bundles, and
/// its trace (builds, commits, dependencies, signers, decisions).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArtifactView {
    /// The digest.
    pub digest: String,
    /// The names the statements give it (`out/hello`).
    pub names: Vec<String>,
    /// The bundles about it, oldest first.
    pub evidence: Vec<EvidenceNode>,
    /// The trace.
    pub trace: crate::trace::Trace,
}

/// The artifact page of `digest`.
pub fn artifact(hub: &Hub, digest: &Digest) -> Result<ArtifactView, Error> {
    let rows = hub.ledger()?.evidence(&EvidenceQuery {
        subject: Some(digest.clone()),
        limit: MAX_EVIDENCE,
        ..EvidenceQuery::default()
    })?;
    let mut names = Vec::new();
    let mut evidence = Vec::new();
    for b in rows {
        let json: Value = serde_json::from_str(&b.json).unwrap_or(Value::Null);
        if let Some(st) = crate::evidence::statement(&json) {
            for s in st.subject.iter().filter(|s| s.matches(digest)) {
                if let Some(n) = &s.name
                    && !names.contains(n)
                {
                    names.push(n.clone());
                }
            }
        }
        evidence.push(EvidenceNode {
            id: b.id.to_string(),
            predicate_type: b.index.predicate_type.clone(),
            key_id: b.index.key_id.clone(),
            recorded_at: b.index.recorded_at,
            log_index: b.index.log_index,
            checkpoint: checkpoint_of(&json),
        });
    }
    let trace = hub.trace(digest)?;
    Ok(ArtifactView {
        digest: digest.to_string(),
        names,
        evidence,
        trace,
    })
}

/// The origin and size of the checkpoint a bundle's first inclusion proof is against.
fn checkpoint_of(json: &Value) -> Option<(String, u64)> {
    let text = json
        .pointer("/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope")
        .and_then(Value::as_str)?;
    let mut lines = text.lines();
    let origin = lines.next()?.to_owned();
    let size = lines.next()?.parse().ok()?;
    Some((origin, size))
}

/// One search result: an artifact and why it matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    /// The artifact's digest.
    pub digest: String,
    /// Its name in the statement that matched, if any.
    pub name: Option<String>,
    /// What matched: `digest`, `commit`, `name` or `repository`.
    pub matched: &'static str,
    /// When the matching statement was recorded.
    pub recorded_at: i64,
}

/// What a search string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A SHA-256 digest (`sha256:` and 64 hex digits, or 64 hex digits).
    Digest(Digest),
    /// A full git commit id (40 hex digits).
    Commit(String),
    /// Anything else: a file name or repository fragment.
    Text(String),
}

impl Query {
    /// Reads a search string (trimmed); `None` when empty.
    pub fn parse(q: &str) -> Option<Query> {
        let q = q.trim();
        if q.is_empty() {
            return None;
        }
        let hex = q.strip_prefix("sha256:").unwrap_or(q);
        if hex.len() == 64
            && let Ok(d) = Digest::from_hex(DigestAlgorithm::Sha256, &hex.to_ascii_lowercase())
        {
            return Some(Query::Digest(d));
        }
        if q.len() == 40 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Query::Commit(q.to_ascii_lowercase()));
        }
        Some(Query::Text(q.to_owned()))
    }
}

/// Searches the evidence: a digest and a commit are index lookups over all of history; a
/// name or repository fragment (case-insensitive) is looked for in the subjects and
/// resolved dependencies of at most [`SEARCH_SCAN`] provenance statements recorded at or
/// after `since`, the newest first.
pub fn search(hub: &Hub, query: &Query, since: i64) -> Result<Vec<Hit>, Error> {
    let mut hits: Vec<Hit> = Vec::new();
    match query {
        Query::Digest(d) => {
            let rows = hub.ledger()?.evidence(&EvidenceQuery {
                subject: Some(d.clone()),
                limit: MAX_EVIDENCE,
                ..EvidenceQuery::default()
            })?;
            let mut names = Vec::new();
            let mut first = None;
            for b in &rows {
                first.get_or_insert(b.index.recorded_at);
                let json: Value = serde_json::from_str(&b.json).unwrap_or(Value::Null);
                for s in crate::evidence::statement(&json)
                    .map(|s| s.subject)
                    .unwrap_or_default()
                {
                    let matches = s.matches(d);
                    if let Some(n) = s.name
                        && matches
                        && !names.contains(&n)
                    {
                        names.push(n);
                    }
                }
            }
            if let Some(at) = first {
                add(
                    &mut hits,
                    Hit {
                        digest: d.to_string(),
                        name: names.into_iter().next(),
                        matched: "digest",
                        recorded_at: at,
                    },
                );
            }
        }
        Query::Commit(c) => {
            let rows = hub.ledger()?.evidence(&EvidenceQuery {
                commit: Some(c.clone()),
                limit: MAX_EVIDENCE,
                ..EvidenceQuery::default()
            })?;
            for b in rows {
                let json: Value = serde_json::from_str(&b.json).unwrap_or(Value::Null);
                for s in crate::evidence::statement(&json)
                    .map(|s| s.subject)
                    .unwrap_or_default()
                {
                    if let Some(d) = s.digest_for(DigestAlgorithm::Sha256) {
                        add(
                            &mut hits,
                            Hit {
                                digest: d.to_string(),
                                name: s.name.clone(),
                                matched: "commit",
                                recorded_at: b.index.recorded_at,
                            },
                        );
                    }
                }
            }
        }
        Query::Text(t) => {
            let needle = t.to_lowercase();
            let ledger = hub.ledger()?;
            let now = hub.workspace().now();
            let mut read = 0;
            // Newest first: windows reaching back from now (an hour, a day, a week, …, the
            // period), each read oldest first, until the budget is spent.
            let mut end = now.saturating_add(1);
            for width in SEARCH_WINDOWS {
                if read >= SEARCH_SCAN || end <= since || hits_full(&hits) {
                    break;
                }
                let start = now.saturating_sub(*width).max(since);
                let mut query = EvidenceQuery {
                    predicate_type: Some(predicate::SLSA_PROVENANCE_V1.to_owned()),
                    since: Some(start),
                    until: Some(end),
                    limit: SEARCH_PAGE,
                    ..EvidenceQuery::default()
                };
                end = start;
                while read < SEARCH_SCAN {
                    let rows = ledger.evidence(&query)?;
                    read += rows.len();
                    for b in &rows {
                        let json: Value = serde_json::from_str(&b.json).unwrap_or(Value::Null);
                        let Some(st) = crate::evidence::statement(&json) else {
                            continue;
                        };
                        let repo_match = st
                            .predicate
                            .as_ref()
                            .and_then(|p| p.pointer("/buildDefinition/resolvedDependencies"))
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|d| d.get("uri").and_then(Value::as_str))
                            .any(|u| u.to_lowercase().contains(&needle));
                        for s in &st.subject {
                            let Some(d) = s.digest_for(DigestAlgorithm::Sha256) else {
                                continue;
                            };
                            let named = s
                                .name
                                .as_deref()
                                .is_some_and(|n| n.to_lowercase().contains(&needle));
                            let matched = if named {
                                "name"
                            } else if repo_match {
                                "repository"
                            } else {
                                continue;
                            };
                            add(
                                &mut hits,
                                Hit {
                                    digest: d.to_string(),
                                    name: s.name.clone(),
                                    matched,
                                    recorded_at: b.index.recorded_at,
                                },
                            );
                        }
                    }
                    match rows.last() {
                        Some(last) if rows.len() == query.limit as usize => {
                            query.after = Some(zt_store::Position {
                                recorded_at: last.index.recorded_at,
                                id: last.id.clone(),
                            });
                        }
                        _ => break,
                    }
                }
            }
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.recorded_at));
    Ok(hits)
}

/// The latest `limit` decisions that denied, newest first, of repositories whose name
/// contains `repository` and with a deny by rule `rule` (when given).
pub fn denials(
    ws: &zt_core::Workspace,
    repository: Option<&str>,
    rule: Option<&str>,
    limit: usize,
) -> Vec<DecisionRecord> {
    let mut all = crate::metrics::decisions(ws);
    all.reverse();
    all.into_iter()
        .filter(|d| !d.allowed)
        .filter(|d| {
            repository.is_none_or(|r| d.repository.as_deref().is_some_and(|x| x.contains(r)))
        })
        .filter(|d| rule.is_none_or(|r| d.denies.iter().any(|x| x.rule == r)))
        .take(limit)
        .collect()
}

/// An incident record (`zt incident …`) from the ledger.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IncidentRecord {
    /// The record's bundle id.
    pub id: String,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
    /// Its log index.
    pub log_index: Option<u64>,
    /// `key-compromised`, `bad-package` or `bad-commit`.
    pub incident: String,
    /// The key id, purl or commit.
    pub subject: String,
    /// What was done.
    pub actions: Vec<String>,
    /// Artifacts re-decided, and how many of them are now denied.
    pub redecided: usize,
    /// How many of those are denied now.
    pub denied: usize,
    /// The builds to redo.
    pub rebuild: Vec<String>,
}

/// Every incident record in the ledger, newest first.
pub fn incidents(hub: &Hub) -> Result<Vec<IncidentRecord>, Error> {
    let rows = hub.ledger()?.find_bundles(&BundleQuery::predicate_type(
        crate::incident::INCIDENT_PREDICATE,
    ))?;
    let strings = |p: &Value, k: &str| -> Vec<String> {
        p.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut out: Vec<IncidentRecord> = rows
        .into_iter()
        .filter_map(|b| {
            let json: Value = serde_json::from_str(&b.json).ok()?;
            let p = crate::evidence::statement(&json)?.predicate?;
            let redecided = p.get("redecided").and_then(Value::as_array);
            Some(IncidentRecord {
                id: b.id.to_string(),
                recorded_at: b.index.recorded_at,
                log_index: b.index.log_index,
                incident: p
                    .get("incident")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                subject: p
                    .get("subject")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                actions: strings(&p, "actions"),
                redecided: redecided.map_or(0, Vec::len),
                denied: redecided
                    .into_iter()
                    .flatten()
                    .filter(|r| r.get("allowed") == Some(&Value::Bool(false)))
                    .count(),
                rebuild: strings(&p, "rebuild"),
            })
        })
        .collect();
    out.sort_by_key(|i| std::cmp::Reverse(i.recorded_at));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn search_strings_are_digests_commits_or_text() {
        let d = Digest::sha256(b"x");
        assert_eq!(
            Query::parse(&format!(" {d} ")),
            Some(Query::Digest(d.clone()))
        );
        assert_eq!(
            Query::parse(&d.hex().to_ascii_uppercase()),
            Some(Query::Digest(d))
        );
        assert_eq!(
            Query::parse(&"aB".repeat(20)),
            Some(Query::Commit("ab".repeat(20)))
        );
        assert_eq!(
            Query::parse("out/hello"),
            Some(Query::Text("out/hello".into()))
        );
        assert_eq!(
            Query::parse("sha256:zz"),
            Some(Query::Text("sha256:zz".into()))
        );
        assert_eq!(Query::parse("  "), None);
    }

    #[test]
    fn checkpoints_are_read_from_the_bundles_inclusion_proof() {
        let json = serde_json::json!({"verificationMaterial": {"tlogEntries": [{"inclusionProof":
            {"checkpoint": {"envelope": "example.com/log\n12\nAAAA\n\n— sig\n"}}}]}});
        assert_eq!(checkpoint_of(&json), Some(("example.com/log".into(), 12)));
        assert_eq!(checkpoint_of(&Value::Null), None);
    }
}
