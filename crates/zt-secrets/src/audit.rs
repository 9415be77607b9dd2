//! The access log: every exchange, read, denial, put, rotation and revocation becomes a record
//! (who, what, when, decision, reason — never a value) appended to zt's transparency log
//! (`.zt/log`) and copied into the ledger (`.zt/ledger.db`, table `access_records`).
//!
//! Records are numbered 0, 1, 2, … (`seq`) in log order. A record is durable once it is in
//! the write-ahead file `.zt/secrets/access.wal`: one WAL thread takes every record queued,
//! writes them, fdatasyncs once and only then answers each caller ([`crate::group`]); a caller
//! blocks on the answer ([`AccessLog::record`]) or `.await`s it ([`AccessLog::submit`]). A
//! second background thread moves WAL records in batches into the log (one checkpoint per batch) and
//! the ledger (one transaction per batch), at most once per `COMMIT_INTERVAL` (50 ms) unless someone
//! waits for them. Opening replays WAL records the log lacks, so a crash loses none; a failing
//! log or ledger stops the broker (fail closed).
//!
//! [`audit`] checks the two against each other: every ledger record must be, byte for byte,
//! an entry of the log included under the latest signed checkpoint; the sequence must have
//! no gaps; every access entry in the log must be in the ledger. A deleted or edited record
//! is named by its `seq` and log index.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use zt_core::StoreLocation;
use zt_store::{AccessQuery, AccessRecord, Ledger};
use zt_tlog::{Checkpoint, Log, leaf_hash, verify_inclusion};

use crate::error::Error;
use crate::group::{Group, Ticket};

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
    /// For an allowed exchange: SHA-256 (hex) of the OIDC token's `iss` and `jti` (replay
    /// protection across restarts).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub oidc_jti: Option<String>,
    /// For an allowed exchange: the OIDC token's `exp`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub oidc_exp: Option<i64>,
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
    pub(crate) oidc_jti: Option<([u8; 32], i64)>,
}

/// The write-ahead file of access records (relative to the `.zt` directory).
pub const WAL_FILE: &str = "secrets/access.wal";

/// The WAL writer's state: the file and the next record number.
#[derive(Debug)]
struct WalSink {
    file: fs_err::File,
    next_seq: u64,
    /// Bytes written since the file was last emptied.
    bytes: u64,
}

/// The WAL is emptied once it holds this much and the log has caught up with it (emptying
/// it after every batch would add a metadata change to every fdatasync).
const WAL_TRUNCATE_BYTES: u64 = 4 << 20;

/// The least time between two batches the committer moves into the log and the ledger, unless
/// someone waits for the records ([`AccessLog::flush`]) or the log is closing. Every batch
/// costs a log checkpoint (an fdatasync, new tile and checkpoint files) and a ledger
/// transaction (an fsync) whatever its size: under load an interval gathers a whole interval's
/// records into one. Records are durable in the WAL before their callers return, so this only
/// delays their copies.
pub(crate) const COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Moves records from the WAL into the transparency log and the ledger.
struct Committer {
    log: Arc<Log>,
    ledger: zt_store::Handle,
}

#[derive(Debug, Default)]
struct Flow {
    /// Records durable in the WAL, waiting for the log (in `seq` order).
    pending: Vec<(u64, Vec<u8>)>,
    /// The next `seq` the WAL will take.
    written: u64,
    /// Every `seq` below this is in the log and the ledger.
    committed: u64,
    /// Set when a log or ledger write failed: the broker then refuses to work (fail closed).
    failed: Option<String>,
    closing: bool,
    /// Callers of [`AccessLog::flush`] waiting: the committer does not wait out its interval.
    flushing: usize,
}

struct Shared {
    flow: Mutex<Flow>,
    wake: Condvar,
    committer: Mutex<Committer>,
    /// Records waiting for the WAL thread.
    queue: Group<Event>,
    /// The WAL: written by the WAL thread, emptied by the log committer when caught up.
    wal: Mutex<WalSink>,
}

/// The writer of access records: a record is durable once it is in the WAL (one fdatasync
/// shared by the records queued together, by the WAL thread); a second background thread then
/// appends WAL records, in order and in batches, to the transparency log and the ledger.
/// Opening replays WAL records the log does not have yet, so a crash loses none.
pub(crate) struct AccessLog {
    shared: Arc<Shared>,
    wal_worker: Option<std::thread::JoinHandle<()>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// A record announced to the WAL thread ([`AccessLog::expect`]); dropped without being handed
/// in, it stops the WAL thread waiting for it.
pub(crate) struct Expected(Option<Arc<Shared>>);

impl std::fmt::Debug for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Expected")
    }
}

impl Drop for Expected {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.queue.unexpect();
        }
    }
}

/// An access record on its way into the WAL: resolves once it is durable there (or with the
/// error that kept it out). Block on it with [`Durable::wait`] or `.await` it.
#[derive(Debug)]
pub(crate) struct Durable(Result<Ticket, Option<Error>>);

fn wal_error(e: String) -> Error {
    Error::Audit(format!("writing the access record: {e}"))
}

impl Durable {
    /// Blocks until the record is durable.
    pub(crate) fn wait(self) -> Result<(), Error> {
        match self.0 {
            Ok(t) => t.wait().map_err(wal_error),
            Err(e) => Err(e.unwrap_or(Error::Internal("access record answered twice"))),
        }
    }
}

impl std::future::Future for Durable {
    type Output = Result<(), Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Error>> {
        match &mut self.0 {
            Ok(t) => std::pin::Pin::new(t).poll(cx).map_err(wal_error),
            Err(e) => std::task::Poll::Ready(Err(e
                .take()
                .unwrap_or(Error::Internal("access record answered twice")))),
        }
    }
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves its data whole; a panic elsewhere cannot tear it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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

/// Appends raw entries (already numbered, in order) to the log, then the ledger.
fn commit(c: &mut Committer, batch: &[(u64, Vec<u8>)]) -> Result<(), Error> {
    let raws: Vec<Vec<u8>> = batch.iter().map(|(_, r)| r.clone()).collect();
    let first = c.log.append_batch(&raws)?;
    let records: Vec<AccessRecord> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, (_, raw))| {
            parse_entry(raw).map(|e| {
                to_record(
                    &e,
                    first + i as u64,
                    String::from_utf8_lossy(raw).into_owned(),
                )
            })
        })
        .collect();
    c.ledger.put_access_records(&records)?;
    Ok(())
}

impl AccessLog {
    /// Opens the log and ledger under `zt_dir`; copies into the ledger any access entry the
    /// log holds beyond the ledger's last record, then replays the WAL's records the log
    /// lacks (a crash between the writes), and starts the committer thread.
    pub(crate) fn open(zt_dir: &Path, log: Option<Arc<Log>>) -> Result<AccessLog, Error> {
        let log = match log {
            Some(log) => log,
            None => Arc::new(zt_sign::transparency::open_or_init_local(&zt_dir.join("log"))?.0),
        };
        let mut ledger = zt_store::open(&ledger_location(zt_dir)?)?;
        let last = last_access_record(&*ledger)?;
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
        let mut committer = Committer { log, ledger };
        let wal_path = zt_dir.join(WAL_FILE);
        if wal_path.exists() {
            let text = fs_err::read(&wal_path)?;
            let mut replay = Vec::new();
            // A torn last line (a crash mid-write) never returned to its caller: skipped.
            for line in text.split(|b| *b == b'\n') {
                if let Some(e) = parse_entry(line)
                    && e.seq == next_seq
                {
                    replay.push((e.seq, line.to_vec()));
                    next_seq += 1;
                }
            }
            if !replay.is_empty() {
                commit(&mut committer, &replay)?;
            }
        }
        if let Some(parent) = wal_path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&wal_path)?;
        file.set_len(0)?;
        file.sync_all()?;
        let shared = Arc::new(Shared {
            flow: Mutex::new(Flow {
                written: next_seq,
                committed: next_seq,
                ..Flow::default()
            }),
            wake: Condvar::new(),
            committer: Mutex::new(committer),
            queue: Group::new(),
            wal: Mutex::new(WalSink {
                file,
                next_seq,
                bytes: 0,
            }),
        });
        let wal_worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("zt-secrets-access-wal".into())
                .spawn(move || shared.queue.run(|events| write_wal(&shared, events)))?
        };
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("zt-secrets-access-log".into())
                .spawn(move || run_committer(&shared))
        };
        let worker = match worker {
            Ok(w) => w,
            Err(e) => {
                shared.queue.close();
                let _ = wal_worker.join();
                return Err(e.into());
            }
        };
        Ok(AccessLog {
            shared,
            wal_worker: Some(wal_worker),
            worker: Some(worker),
        })
    }

    /// Appends one record; returns once it is durable (in the WAL, numbered). The log and
    /// ledger follow within one batch.
    pub(crate) fn record(&self, event: Event) -> Result<(), Error> {
        self.submit(event).wait()
    }

    /// Hands one record to the WAL thread without waiting: the returned [`Durable`] resolves
    /// once it is durable (in the WAL, numbered).
    pub(crate) fn submit(&self, event: Event) -> Durable {
        self.hand_in(event, false)
    }

    /// Announces a record the caller is about to decide: the WAL thread may hold its next
    /// batch back for it (at most [`crate::group::LINGER`]), so that one fdatasync covers the
    /// records of concurrent exchanges. Hand it in with [`AccessLog::submit_expected`]; a
    /// dropped [`Expected`] gives it up.
    pub(crate) fn expect(&self) -> Expected {
        self.shared.queue.expect();
        Expected(Some(self.shared.clone()))
    }

    /// [`AccessLog::submit`] for a record announced with [`AccessLog::expect`].
    pub(crate) fn submit_expected(&self, mut expected: Expected, event: Event) -> Durable {
        // The announcement is settled by the hand-in itself, not by the guard's drop.
        expected.0 = None;
        self.hand_in(event, true)
    }

    fn hand_in(&self, event: Event, announced: bool) -> Durable {
        if let Some(e) = &relock(&self.shared.flow).failed {
            if announced {
                self.shared.queue.unexpect();
            }
            return Durable(Err(Some(Error::Audit(format!(
                "the access log is failing: {e}"
            )))));
        }
        let ticket = if announced {
            self.shared.queue.submit_expected(event)
        } else {
            self.shared.queue.submit(event)
        };
        Durable(ticket.map_err(|e| Some(wal_error(e))))
    }

    /// Makes the WAL unwritable (a read-only handle in its place): every record from now on
    /// fails, as on a full or failing disk.
    #[cfg(test)]
    pub(crate) fn break_wal(&self, zt_dir: &Path) {
        relock(&self.shared.wal).file = fs_err::File::open(zt_dir.join(WAL_FILE)).unwrap();
    }
}

/// The WAL thread's batch: numbers `events`, writes them to the WAL, fdatasyncs, and hands them
/// to the log committer. The callers are answered (by [`Group::run`]) only after this returns.
fn write_wal(shared: &Shared, events: Vec<Event>) -> Result<(), String> {
    let sink = &mut *relock(&shared.wal);
    let mut buf = Vec::new();
    let mut numbered = Vec::with_capacity(events.len());
    for (i, ev) in events.into_iter().enumerate() {
        let seq = sink.next_seq + i as u64;
        let e = Entry {
            kind: ENTRY_TYPE.into(),
            seq,
            at: ev.at,
            action: ev.action.into(),
            decision: ev.decision.into(),
            reason: ev.reason.into(),
            who: ev.who,
            secret: ev.secret,
            repository: ev.repository,
            token_id: ev.token_id,
            detail: ev.detail,
            oidc_jti: ev.oidc_jti.map(|(k, _)| hex::encode(k)),
            oidc_exp: ev.oidc_jti.map(|(_, exp)| exp),
        };
        let raw = serde_json::to_vec(&e).map_err(|e| e.to_string())?;
        buf.extend_from_slice(&raw);
        buf.push(b'\n');
        numbered.push((seq, raw));
    }
    sink.file
        .write_all(&buf)
        .and_then(|()| sink.file.sync_data())
        .map_err(|e| format!("writing `{WAL_FILE}`: {e}"))?;
    sink.next_seq += numbered.len() as u64;
    sink.bytes += buf.len() as u64;
    let mut flow = relock(&shared.flow);
    flow.written = sink.next_seq;
    // Only a committer idle for want of records needs waking; one waiting out its
    // interval takes these with the others.
    let idle = flow.pending.is_empty();
    flow.pending.extend(numbered);
    if idle {
        shared.wake.notify_all();
    }
    Ok(())
}

impl AccessLog {
    /// Waits until every record written so far is in the log and the ledger.
    fn flush(&self) -> Result<(), Error> {
        let mut flow = relock(&self.shared.flow);
        let target = flow.written;
        flow.flushing += 1;
        self.shared.wake.notify_all();
        while flow.committed < target && flow.failed.is_none() {
            flow = self
                .shared
                .wake
                .wait(flow)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        flow.flushing -= 1;
        match &flow.failed {
            Some(e) => Err(Error::Audit(format!("the access log is failing: {e}"))),
            None => Ok(()),
        }
    }

    /// The (`iss`, `jti`) keys of OIDC tokens exchanged in the last [`MAX_OIDC_LIFETIME`]
    /// seconds and their `exp`, from the ledger (after flushing).
    pub(crate) fn recent_jtis(&self, now: i64) -> Result<Vec<([u8; 32], i64)>, Error> {
        self.flush()?;
        let c = relock(&self.shared.committer);
        let records = c.ledger.access_records(&AccessQuery {
            since: Some(
                now.saturating_sub(crate::journal::MAX_OIDC_LIFETIME)
                    .saturating_sub(120),
            ),
            ..AccessQuery::default()
        })?;
        Ok(records
            .iter()
            .filter(|r| r.action == "exchange" && r.decision == "allow")
            .filter_map(|r| parse_entry(r.entry.as_bytes()))
            .filter_map(|e| {
                let k = hex::decode(e.oidc_jti?).ok()?;
                Some((<[u8; 32]>::try_from(k).ok()?, e.oidc_exp?))
            })
            .collect())
    }

    /// Runs [`audit`] against the open log and ledger (after flushing).
    pub(crate) fn audit(&self, query: &AccessQuery) -> Result<Report, Error> {
        self.flush()?;
        let c = relock(&self.shared.committer);
        audit_with(&c.log, &*c.ledger, query)
    }
}

fn run_committer(shared: &Shared) {
    let mut last_commit: Option<std::time::Instant> = None;
    loop {
        let batch = {
            let mut flow = relock(&shared.flow);
            loop {
                if flow.pending.is_empty() {
                    if flow.closing {
                        return;
                    }
                    flow = shared
                        .wake
                        .wait(flow)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    continue;
                }
                let wait = last_commit.map_or(std::time::Duration::ZERO, |t| {
                    COMMIT_INTERVAL.saturating_sub(t.elapsed())
                });
                if wait.is_zero() || flow.closing || flow.flushing > 0 {
                    break;
                }
                flow = shared
                    .wake
                    .wait_timeout(flow, wait)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
            std::mem::take(&mut flow.pending)
        };
        last_commit = Some(std::time::Instant::now());
        let last = batch.last().map_or(0, |(s, _)| *s);
        let result = commit(&mut relock(&shared.committer), &batch);
        let caught_up = {
            let mut flow = relock(&shared.flow);
            match result {
                Ok(()) => flow.committed = last + 1,
                Err(e) => flow.failed = Some(e.to_string()),
            }
            shared.wake.notify_all();
            flow.failed.is_none() && flow.committed == flow.written
        };
        if caught_up {
            // Everything in the WAL is in the log: empty it (under the WAL lock, so no
            // record is being written). A lost truncation only means a replay that skips
            // records the log already has.
            let s = &mut *relock(&shared.wal);
            if s.bytes >= WAL_TRUNCATE_BYTES
                && relock(&shared.flow).committed == s.next_seq
                && s.file.set_len(0).is_ok()
            {
                s.bytes = 0;
            }
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        // The WAL thread first writes every record already queued (their callers wait for
        // it), then the log committer copies them into the log and the ledger.
        self.shared.queue.close();
        if let Some(w) = self.wal_worker.take() {
            let _ = w.join();
        }
        relock(&self.shared.flow).closing = true;
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn last_access_record(ledger: &dyn Ledger) -> Result<Option<AccessRecord>, Error> {
    Ok(ledger.access_records(&AccessQuery::default())?.pop())
}

/// Where the access records of the `.zt` directory `zt_dir` are kept: the repository's ledger
/// as every other command opens it (`[store] url` in `zt.toml`, `ZT_STORE_URL`, else
/// `.zt/ledger.db`) when `zt_dir` is a repository's `.zt`; the embedded ledger inside any other
/// directory named with `--zt-dir`.
fn ledger_location(zt_dir: &Path) -> Result<StoreLocation, Error> {
    if zt_dir.file_name() == Some(std::ffi::OsStr::new(".zt")) {
        let root = zt_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return Ok(zt_core::Workspace::open(root)?.store().clone());
    }
    Ok(StoreLocation::Sqlite(zt_dir.join("ledger.db")))
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

fn audit_with(log: &Log, ledger: &dyn Ledger, query: &AccessQuery) -> Result<Report, Error> {
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
    let location = ledger_location(zt_dir)?;
    let ledger = zt_store::open_existing(&location)?.ok_or_else(|| match &location {
        StoreLocation::Sqlite(path) => zt_store::Error::Missing(path.clone()),
        StoreLocation::Postgres(url) => zt_store::Error::Missing(url.into()),
    })?;
    audit_with(&log, &*ledger, query)
}
