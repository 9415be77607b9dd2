//! The access log: every exchange, read, denial, put, rotation and revocation becomes a record
//! (who, what, when, decision, reason — never a value) appended to zt's transparency log
//! (`.zt/log`) and copied into the ledger (`.zt/ledger.db`, table `access_records`).
//!
//! Records are numbered 0, 1, 2, … (`seq`) in log order. Concurrent records are committed in
//! one batch: one log append (one checkpoint) and one ledger transaction for the lot.
//!
//! [`audit`] checks the two against each other: every ledger record must be, byte for byte,
//! an entry of the log included under the latest signed checkpoint; the sequence must have
//! no gaps; every access entry in the log must be in the ledger. A deleted or edited record
//! is named by its `seq` and log index.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zt_store::{AccessQuery, AccessRecord, Ledger as _, SqliteLedger};
use zt_tlog::{Checkpoint, Log, leaf_hash, verify_inclusion};

use crate::error::Error;
use crate::group::Group;

/// The `type` of every access entry in the log.
pub const ENTRY_TYPE: &str = "zt-secrets-access/v1";

/// One access, as written to the log (and as `zt secrets audit --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Always [`ENTRY_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The record's number.
    pub seq: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// `exchange`, `read`, `operator_read`, `put`, `rotate`, `revoke`.
    pub action: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// `ok`, or the denial reason.
    pub reason: String,
    /// Who: `<iss> <sub>` for a workload, `operator:<user>` for a local operator.
    pub who: String,
    /// The secret, when one is concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret: Option<String>,
    /// The workload's `repository` claim.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repository: Option<String>,
    /// The scoped token concerned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token_id: Option<String>,
    /// More context (a denial's detail, an operator's stated purpose).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// A record before it has a number.
#[derive(Debug, Clone, Default)]
pub(crate) struct Event {
    pub(crate) at: i64,
    pub(crate) action: &'static str,
    pub(crate) decision: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) who: String,
    pub(crate) secret: Option<String>,
    pub(crate) repository: Option<String>,
    pub(crate) token_id: Option<String>,
    pub(crate) detail: Option<String>,
}

struct Sink {
    log: Log,
    ledger: SqliteLedger,
    next_seq: u64,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sink(next_seq {})", self.next_seq)
    }
}

/// The writer of access records.
#[derive(Debug)]
pub(crate) struct AccessLog {
    group: Group<Sink, Event>,
}

fn parse_entry(bytes: &[u8]) -> Option<Entry> {
    serde_json::from_slice::<Entry>(bytes)
        .ok()
        .filter(|e| e.kind == ENTRY_TYPE)
}

fn to_record(e: &Entry, log_index: u64, raw: String) -> AccessRecord {
    AccessRecord {
        seq: e.seq,
        log_index,
        at: e.at,
        action: e.action.clone(),
        decision: e.decision.clone(),
        reason: e.reason.clone(),
        secret: e.secret.clone(),
        repository: e.repository.clone(),
        who: e.who.clone(),
        entry: raw,
    }
}

impl AccessLog {
    /// Opens the log and ledger under `zt_dir`, and copies into the ledger any access entry
    /// the log holds beyond the ledger's last record (a crash between the two writes).
    pub(crate) fn open(zt_dir: &Path) -> Result<AccessLog, Error> {
        let (log, _) = zt_sign::transparency::open_or_init(&zt_dir.join("log"))?;
        let mut ledger = SqliteLedger::open(&zt_dir.join("ledger.db"))?;
        let last = ledger.last_access_record()?;
        let (mut next_seq, from) = last.map_or((0, 0), |r| (r.seq + 1, r.log_index + 1));
        let mut repair = Vec::new();
        for i in from..log.size() {
            let raw = log.entry(i)?;
            if let Some(e) = parse_entry(&raw)
                && e.seq == next_seq
            {
                repair.push(to_record(&e, i, String::from_utf8_lossy(&raw).into_owned()));
                next_seq += 1;
            }
        }
        if !repair.is_empty() {
            ledger.put_access_records(&repair)?;
        }
        Ok(AccessLog {
            group: Group::new(Sink {
                log,
                ledger,
                next_seq,
            }),
        })
    }

    /// Appends one record; returns once it is in the log (under a durable checkpoint) and in
    /// the ledger.
    pub(crate) fn record(&self, event: Event) -> Result<(), Error> {
        self.group
            .submit(event, |sink, events| {
                let first_seq = sink.next_seq;
                let entries: Vec<(Entry, Vec<u8>)> = events
                    .into_iter()
                    .enumerate()
                    .map(|(i, ev)| {
                        let e = Entry {
                            kind: ENTRY_TYPE.into(),
                            seq: first_seq + i as u64,
                            at: ev.at,
                            action: ev.action.into(),
                            decision: ev.decision.into(),
                            reason: ev.reason.into(),
                            who: ev.who,
                            secret: ev.secret,
                            repository: ev.repository,
                            token_id: ev.token_id,
                            detail: ev.detail,
                        };
                        let raw = serde_json::to_vec(&e).unwrap_or_default();
                        (e, raw)
                    })
                    .collect();
                let raws: Vec<Vec<u8>> = entries.iter().map(|(_, r)| r.clone()).collect();
                let first_index = sink.log.append_batch(&raws).map_err(|e| e.to_string())?;
                // The log has them: the numbers are spent whatever the ledger does next (a
                // failed ledger write is repaired from the log on the next open).
                sink.next_seq += entries.len() as u64;
                let records: Vec<AccessRecord> = entries
                    .into_iter()
                    .enumerate()
                    .map(|(i, (e, raw))| {
                        to_record(
                            &e,
                            first_index + i as u64,
                            String::from_utf8(raw).unwrap_or_default(),
                        )
                    })
                    .collect();
                sink.ledger
                    .put_access_records(&records)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| Error::Audit(format!("writing the access record: {e}")))
    }

    /// Runs [`audit`] against the open log and ledger.
    pub(crate) fn audit(&self, query: &AccessQuery) -> Result<Report, Error> {
        self.group
            .with_sink(|s| audit_with(&s.log, &s.ledger, query))
    }
}

trait LastRecord {
    fn last_access_record(&self) -> Result<Option<AccessRecord>, Error>;
}

impl LastRecord for SqliteLedger {
    fn last_access_record(&self) -> Result<Option<AccessRecord>, Error> {
        Ok(self.access_records(&AccessQuery::default())?.pop())
    }
}

/// What [`audit`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The records matching the query, verified.
    pub records: Vec<Entry>,
    /// How many records were checked in all.
    pub checked: usize,
    /// The size of the checkpoint they were checked under.
    pub checkpoint_size: u64,
    /// Every deleted, edited or unprovable record, named.
    pub problems: Vec<String>,
}

fn audit_with(log: &Log, ledger: &SqliteLedger, query: &AccessQuery) -> Result<Report, Error> {
    let (checkpoint, _) = Checkpoint::open(log.checkpoint().as_bytes(), log.verifier())?;
    let size = checkpoint.size;
    let all = ledger.access_records(&AccessQuery::default())?;
    let mut problems = Vec::new();
    let mut by_seq = std::collections::BTreeMap::new();
    for r in &all {
        by_seq.insert(r.seq, r);
    }
    // Every access entry in the log must be in the ledger, unchanged.
    let mut in_log = std::collections::BTreeMap::new();
    for i in 0..size {
        let raw = log.entry(i)?;
        if let Some(e) = parse_entry(&raw) {
            in_log.insert(e.seq, i);
            match by_seq.get(&e.seq) {
                None => problems.push(format!(
                    "record {} (log index {i}, {} {} by {}) is missing from the ledger: deleted",
                    e.seq, e.action, e.decision, e.who
                )),
                Some(r) if r.log_index != i => problems.push(format!(
                    "record {} is at log index {i} but the ledger says {}: edited",
                    e.seq, r.log_index
                )),
                Some(_) => {}
            }
        }
    }
    let mut expected = 0u64;
    for r in &all {
        if r.seq > expected {
            for missing in expected..r.seq {
                if !in_log.contains_key(&missing) {
                    problems.push(format!(
                        "record {missing} is missing from both the ledger and the log: deleted"
                    ));
                }
            }
        }
        expected = r.seq + 1;
        let name = format!("record {} (log index {})", r.seq, r.log_index);
        if r.log_index >= size {
            problems.push(format!("{name} is beyond the checkpoint (size {size})"));
            continue;
        }
        let logged = log.entry(r.log_index)?;
        if logged != r.entry.as_bytes() {
            problems.push(format!(
                "{name} was edited: the ledger's copy differs from the log entry"
            ));
            continue;
        }
        let proof = log.inclusion_proof(r.log_index, size)?;
        if verify_inclusion(
            &leaf_hash(r.entry.as_bytes()),
            r.log_index,
            size,
            &proof,
            &checkpoint.root,
        )
        .is_err()
        {
            problems.push(format!(
                "{name} is not included under the checkpoint: the log was edited"
            ));
            continue;
        }
        match parse_entry(r.entry.as_bytes()) {
            Some(e)
                if e.seq == r.seq
                    && e.at == r.at
                    && e.action == r.action
                    && e.decision == r.decision
                    && e.reason == r.reason
                    && e.who == r.who
                    && e.secret == r.secret
                    && e.repository == r.repository => {}
            _ => problems.push(format!(
                "{name} was edited: the ledger's columns differ from its logged entry"
            )),
        }
    }
    let records = all
        .iter()
        .filter(|r| {
            query
                .secret
                .as_ref()
                .is_none_or(|s| r.secret.as_ref() == Some(s))
        })
        .filter(|r| {
            query
                .repository
                .as_ref()
                .is_none_or(|s| r.repository.as_ref() == Some(s))
        })
        .filter(|r| query.since.is_none_or(|t| r.at >= t))
        .filter_map(|r| parse_entry(r.entry.as_bytes()))
        .collect();
    Ok(Report {
        records,
        checked: all.len(),
        checkpoint_size: size,
        problems,
    })
}

/// Verifies every access record under `zt_dir` and lists those matching `query`.
pub fn audit(zt_dir: &Path, query: &AccessQuery) -> Result<Report, Error> {
    let log_dir = zt_dir.join("log");
    if !log_dir.join("checkpoint").exists() {
        return Err(Error::NotInitialized(zt_dir.join("secrets")));
    }
    let log = Log::open(&log_dir)?;
    let ledger = SqliteLedger::open_existing(&zt_dir.join("ledger.db"))?;
    audit_with(&log, &ledger, query)
}
