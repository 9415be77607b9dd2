//! What the evidence hub remembers between requests, and how it knows it still holds.
//!
//! A decision is policy over the artifact's gathered evidence; gathering reads every bundle
//! about the digest (tens of KB for an SBOM), hashes and parses it, verifies it (or finds its
//! verification remembered), finds its key's revocations (the key's bundles, its ledger row,
//! the store's revocation files) and the source verifications of the commits its provenance
//! names. All of that is a function of what the ledger holds about a handful of digests and
//! keys, of the evidence store's files, and of the repository's commits — so the hub keeps
//! each gathering with exactly what it read:
//!
//! - the ledger reads, observed by a [`Recording`] ledger while gathering: for every subject
//!   asked about, the ids of the bundles found (bundles are addressed by the SHA-256 of their
//!   bytes), and every revocation row read ([`zt_store::Holdings`]);
//! - the evidence store's files (`.zt/bundles`: names, sizes, modification times), stamped
//!   before gathering;
//! - each commit's object as the repository gave it ([`crate::gate::Gathered::commits`]).
//!
//! Before reusing a gathering the hub asks the ledger for the same holdings again (one
//! index-only query: [`zt_store::Ledger::holdings`]), stamps the files and looks the commits
//! up. Any difference — an upload about the digest, about one of its commits or about a key's
//! revocation, a revocation row, a new file — and the evidence is gathered afresh. The check
//! reads the ledger, never this process's memory of writes, so an upload through another
//! server on the same PostgreSQL store is seen by the next decision here. What was recorded is
//! what the gathering itself read, so an upload that lands while gathering makes the next
//! check differ rather than hide. A gathering that read anything else (a bundle by id, the
//! store's evidence files in place of the ledger's) is not kept.
//!
//! Judgements are kept per (gathering, stage): the policy input is the gathered evidence plus
//! the stage, the repository and the ref (fixed for the hub's life) and the time to the
//! second. A judgement whose evaluation may have read the time (`input.context.time`) is kept
//! for its second only; one whose evaluation never reached an expression that could read it
//! ([`zt_policy::Clock::Unread`]) is the decision evaluation gives at every second, and is kept
//! until its gathering is replaced. A policy that calls an impure built-in keeps none
//! ([`crate::gate::Holds`]). A kept judgement's policy input carries the time it was made at;
//! nothing the hub sends shows that time.
//!
//! Each kept judgement and gathering also keeps the bytes it is sent as (the decision's
//! reply, a trace's decision, the trace's evidence-only parts: [`crate::trace::Parts`]), made
//! at first need, so a repeated request serializes only what the ledger read for it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use zt_core::config::Stage;
use zt_core::{Digest, Workspace};
use zt_store::{
    AccessQuery, AccessRecord, BuildRecord, BundleIndex, BundleQuery, Deployment, EvidenceQuery,
    Holdings, Ledger, Put, Revocation, StoredBundle, Upload,
};

use crate::Error;
use crate::gate::{Gathered, Holds, Judgement, Trusted};
use zt_core::group::Group;

/// The most gatherings kept (then the memo starts over).
const MAX_GATHERED: usize = 4_096;
/// The most judgements kept (then the memo starts over).
const MAX_JUDGEMENTS: usize = 16_384;

/// The most kept gatherings one holdings query checks at once.
const MAX_CHECKS: usize = 256;

/// The hub's memo of gatherings and judgements.
pub(crate) struct Memo {
    gathered: Mutex<HashMap<Digest, Arc<Entry>>>,
    judgements: Mutex<HashMap<(u64, Stage), Arc<Judged>>>,
    serial: AtomicU64,
    /// Holdings checks of kept gatherings; concurrent ones share a query ([`Memo::holds`]).
    /// `None`: the shared query failed, and the check is made alone so that its caller gets
    /// the error.
    checks: Group<Arc<Entry>, Option<bool>>,
}

impl Default for Memo {
    fn default() -> Self {
        Self {
            gathered: Mutex::default(),
            judgements: Mutex::default(),
            serial: AtomicU64::default(),
            checks: Group::new(MAX_CHECKS),
        }
    }
}

/// A gathering and what it read.
struct Entry {
    /// Numbers gatherings, so that judgements of different evidence never share a key.
    serial: u64,
    gathered: Arc<Gathered>,
    subjects: Vec<Digest>,
    keys: Vec<String>,
    seen: Holdings,
    files: Option<Vec<FileStamp>>,
    /// The trace's evidence-only parts, serialized at first need.
    trace: Arc<OnceLock<crate::trace::Parts>>,
}

/// A judgement the hub made or kept, and the forms it is sent in (made at first need).
pub(crate) struct Judged {
    pub judgement: Arc<Judgement>,
    /// The second it holds for; `None`: every second ([`Holds::AnyTime`]).
    second: Option<i64>,
    /// The body of `POST /api/v1/decide`'s reply.
    reply: OnceLock<Vec<u8>>,
    /// The trace's decision at this stage ([`crate::trace::Decision`]).
    trace_decision: OnceLock<Vec<u8>>,
}

impl Judged {
    fn new(judgement: Judgement, second: Option<i64>) -> Self {
        Self {
            judgement: Arc::new(judgement),
            second,
            reply: OnceLock::new(),
            trace_decision: OnceLock::new(),
        }
    }

    /// `POST /api/v1/decide`'s reply body: [`Judgement::to_json`] named by the digest.
    pub(crate) fn reply(&self, stage: Stage) -> &[u8] {
        self.reply.get_or_init(|| {
            let j = &self.judgement;
            serde_json::to_vec(&j.to_json(&j.digest.to_string(), stage)).unwrap_or_default()
        })
    }

    /// The trace's decision at `stage`, serialized.
    pub(crate) fn trace_decision(&self, stage: Stage) -> &[u8] {
        self.trace_decision.get_or_init(|| {
            let decision = crate::trace::decisions(&[(stage, &*self.judgement)]);
            serde_json::to_vec(&decision.first()).unwrap_or_default()
        })
    }
}

/// One file of the evidence store: name, size, modification time.
type FileStamp = (std::ffi::OsString, u64, Option<SystemTime>);

/// A gathering: its number when it is kept (judgements of it may be kept too), and the
/// evidence.
pub(crate) struct Current {
    pub serial: Option<u64>,
    pub gathered: Arc<Gathered>,
    /// The trace's evidence-only parts (kept with the gathering when it is kept).
    pub trace: Arc<OnceLock<crate::trace::Parts>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Memo {
    /// The verified evidence about `digest`: kept, if the ledger, the files and the
    /// repository still hold what it was gathered from; otherwise gathered afresh (and kept).
    pub(crate) fn gathered(
        &self,
        ws: &Workspace,
        ledger: &mut dyn Ledger,
        trusted: &Trusted,
        digest: &Digest,
    ) -> Result<Current, Error> {
        let kept = relock(&self.gathered).get(digest).cloned();
        if let Some(entry) = kept
            && self.still_holds(ws, &*ledger, trusted, &entry)?
        {
            return Ok(Current {
                serial: Some(entry.serial),
                gathered: entry.gathered.clone(),
                trace: entry.trace.clone(),
            });
        }
        // Stamped before reading: a file written meanwhile makes the next stamp differ.
        let files = stamp(ws)?;
        let recording = Recording {
            inner: ledger,
            record: Mutex::new(Record::default()),
        };
        let gathered = Arc::new(crate::gate::gather(
            ws,
            Some(&recording),
            trusted,
            &crate::gate::Target::Digest(digest.clone()),
            &[],
        )?);
        let record = recording
            .record
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if record.other {
            return Ok(Current {
                serial: None,
                gathered,
                trace: Arc::default(),
            });
        }
        let mut seen = Holdings {
            bundles: record.bundles,
            revocations: record.revocations,
        };
        seen.sort();
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let entry = Arc::new(Entry {
            serial,
            gathered: gathered.clone(),
            subjects: record.subjects,
            keys: record.keys,
            seen,
            files,
            trace: Arc::default(),
        });
        let trace = entry.trace.clone();
        let mut kept = relock(&self.gathered);
        if kept.len() >= MAX_GATHERED {
            kept.clear();
        }
        kept.insert(digest.clone(), entry);
        Ok(Current {
            serial: Some(serial),
            gathered,
            trace,
        })
    }

    /// The judgement of `current` at `stage`: kept for this gathering (and this second, if
    /// its evaluation may have read the time), or made (and kept when the gathering is kept
    /// and the policies are pure).
    pub(crate) fn judgement(
        &self,
        ws: &Workspace,
        trusted: &Trusted,
        current: &Current,
        stage: Stage,
    ) -> Result<Arc<Judged>, Error> {
        let now = ws.now();
        let key = current.serial.map(|s| (s, stage));
        if let Some(k) = &key
            && let Some(j) = relock(&self.judgements).get(k)
            && j.second.is_none_or(|second| second == now)
        {
            return Ok(j.clone());
        }
        let (judgement, holds) =
            crate::gate::judge_gathered_pure(ws, trusted, &current.gathered, stage, now)?;
        let second = match holds {
            Holds::AnyTime => None,
            Holds::ThisSecond | Holds::Never => Some(now),
        };
        let judged = Arc::new(Judged::new(judgement, second));
        if let Some(k) = key
            && holds != Holds::Never
        {
            let mut kept = relock(&self.judgements);
            if kept.len() >= MAX_JUDGEMENTS {
                kept.clear();
            }
            kept.insert(k, judged.clone());
        }
        Ok(judged)
    }
}

impl Memo {
    /// Whether the ledger, the evidence store's files and the repository still hold what
    /// `entry` was gathered from.
    fn still_holds(
        &self,
        ws: &Workspace,
        ledger: &dyn Ledger,
        trusted: &Trusted,
        entry: &Arc<Entry>,
    ) -> Result<bool, Error> {
        Ok(self.holds(ledger, entry)?
            && stamp(ws)? == entry.files
            && crate::gate::same_commits(ws, trusted, &entry.gathered.commits))
    }

    /// Whether the ledger still holds what `entry` saw: its holdings read again, by a query
    /// sent after this call began. Concurrent checks are answered together (as the log
    /// commits concurrent appends together): one caller sends one query for the union of the
    /// waiting entries' subjects and keys while the others wait, and each entry is compared
    /// with the rows about its own subjects and keys — exactly the rows a query of its own
    /// would return. A check never joins a query already sent, so what it reads was read
    /// after it began: an upload acknowledged before the request is always seen.
    fn holds(&self, ledger: &dyn Ledger, entry: &Arc<Entry>) -> Result<bool, Error> {
        let shared = self.checks.submit(
            entry.clone(),
            |batch| match shared_holdings(ledger, &batch) {
                Ok(holds) => holds.into_iter().map(Some).collect(),
                Err(_) => Vec::new(),
            },
            || None,
        );
        match shared {
            Some(holds) => Ok(holds),
            None => Ok(ledger.holdings(&entry.subjects, &entry.keys)? == entry.seen),
        }
    }
}

/// One holdings query for every entry of `batch`; whether each entry's holdings are still
/// what it saw.
fn shared_holdings(ledger: &dyn Ledger, batch: &[Arc<Entry>]) -> Result<Vec<bool>, Error> {
    if let [entry] = batch {
        return Ok(vec![
            ledger.holdings(&entry.subjects, &entry.keys)? == entry.seen,
        ]);
    }
    let subjects: BTreeSet<&Digest> = batch.iter().flat_map(|e| &e.subjects).collect();
    let keys: BTreeSet<&String> = batch.iter().flat_map(|e| &e.keys).collect();
    let subjects: Vec<Digest> = subjects.into_iter().cloned().collect();
    let keys: Vec<String> = keys.into_iter().cloned().collect();
    let all = ledger.holdings(&subjects, &keys)?;
    Ok(batch
        .iter()
        .map(|e| {
            let mut own = Holdings {
                bundles: all
                    .bundles
                    .iter()
                    .filter(|(s, _)| e.subjects.contains(s))
                    .cloned()
                    .collect(),
                revocations: all
                    .revocations
                    .iter()
                    .filter(|r| e.keys.contains(&r.key_id))
                    .cloned()
                    .collect(),
            };
            own.sort();
            own == e.seen
        })
        .collect())
}

/// The evidence store's files (`.zt/bundles`), sorted by name; `None` when there is no store.
fn stamp(ws: &Workspace) -> Result<Option<Vec<FileStamp>>, Error> {
    let dir = ws.layout().bundles();
    let entries = match fs_err::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        files.push((entry.file_name(), meta.len(), meta.modified().ok()));
    }
    files.sort();
    Ok(Some(files))
}

/// What a gathering read from the ledger.
#[derive(Default)]
struct Record {
    /// The subjects whose bundles were read, and the bundles found.
    subjects: Vec<Digest>,
    bundles: Vec<(Digest, Digest)>,
    /// The keys whose revocation rows were read, and the rows found.
    keys: Vec<String>,
    revocations: Vec<Revocation>,
    /// Something else was read (or written): the gathering is not kept.
    other: bool,
}

/// A ledger that passes every call on and records what a gathering reads (see the module
/// docs).
struct Recording<'a> {
    inner: &'a mut dyn Ledger,
    record: Mutex<Record>,
}

impl Recording<'_> {
    fn other(&self) {
        relock(&self.record).other = true;
    }
}

impl Ledger for Recording<'_> {
    fn schema_version(&self) -> Result<u32, zt_store::Error> {
        self.inner.schema_version()
    }

    fn put_bundle(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
    ) -> Result<(Digest, Put), zt_store::Error> {
        self.other();
        self.inner.put_bundle(bundle_json, index)
    }

    fn bundle(&self, id: &Digest) -> Result<Option<StoredBundle>, zt_store::Error> {
        self.other();
        self.inner.bundle(id)
    }

    fn find_bundles(&self, query: &BundleQuery) -> Result<Vec<StoredBundle>, zt_store::Error> {
        let found = self.inner.find_bundles(query)?;
        let mut record = relock(&self.record);
        match &query.subject {
            Some(subject) if *query == BundleQuery::subject(subject) => {
                record.subjects.push(subject.clone());
                record
                    .bundles
                    .extend(found.iter().map(|b| (subject.clone(), b.id.clone())));
            }
            _ => record.other = true,
        }
        Ok(found)
    }

    fn put_build(&mut self, build: &BuildRecord) -> Result<Put, zt_store::Error> {
        self.other();
        self.inner.put_build(build)
    }

    fn build(&self, id: &str) -> Result<Option<BuildRecord>, zt_store::Error> {
        self.other();
        self.inner.build(id)
    }

    fn builds_producing(&self, digest: &Digest) -> Result<Vec<BuildRecord>, zt_store::Error> {
        self.other();
        self.inner.builds_producing(digest)
    }

    fn revoke_key(&mut self, revocation: &Revocation) -> Result<Put, zt_store::Error> {
        self.other();
        self.inner.revoke_key(revocation)
    }

    fn revocation(&self, key_id: &str) -> Result<Option<Revocation>, zt_store::Error> {
        let found = self.inner.revocation(key_id)?;
        let mut record = relock(&self.record);
        record.keys.push(key_id.to_owned());
        record.revocations.extend(found.clone());
        Ok(found)
    }

    fn revocations(&self) -> Result<Vec<Revocation>, zt_store::Error> {
        self.other();
        self.inner.revocations()
    }

    fn put_access_records(&mut self, records: &[AccessRecord]) -> Result<(), zt_store::Error> {
        self.other();
        self.inner.put_access_records(records)
    }

    fn access_records(&self, query: &AccessQuery) -> Result<Vec<AccessRecord>, zt_store::Error> {
        self.other();
        self.inner.access_records(query)
    }

    fn evidence(&self, query: &EvidenceQuery) -> Result<Vec<StoredBundle>, zt_store::Error> {
        self.other();
        self.inner.evidence(query)
    }

    fn put_upload(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
        upload: &Upload,
    ) -> Result<(Digest, Put), zt_store::Error> {
        self.other();
        self.inner.put_upload(bundle_json, index, upload)
    }

    fn put_uploads(
        &mut self,
        uploads: &[(&[u8], &BundleIndex, &Upload)],
    ) -> Result<Vec<(Digest, Put)>, zt_store::Error> {
        self.other();
        self.inner.put_uploads(uploads)
    }

    fn upload(&self, id: &Digest) -> Result<Option<Upload>, zt_store::Error> {
        self.other();
        self.inner.upload(id)
    }

    fn uploads(&self, ids: &[Digest]) -> Result<Vec<Option<Upload>>, zt_store::Error> {
        self.other();
        self.inner.uploads(ids)
    }

    fn builds_since(&self, since: i64) -> Result<Vec<BuildRecord>, zt_store::Error> {
        self.other();
        self.inner.builds_since(since)
    }

    fn open_findings(&self, severity: &str) -> Result<Vec<(String, String)>, zt_store::Error> {
        self.other();
        self.inner.open_findings(severity)
    }

    fn build_figures_since(
        &self,
        since: i64,
    ) -> Result<Vec<zt_store::index::BuildFigures>, zt_store::Error> {
        self.other();
        self.inner.build_figures_since(since)
    }

    fn intake_decisions(
        &self,
        purls: &[String],
    ) -> Result<Vec<zt_store::index::IntakeRecord>, zt_store::Error> {
        self.other();
        self.inner.intake_decisions(purls)
    }

    fn put_deployments(&mut self, deployments: &[Deployment]) -> Result<(), zt_store::Error> {
        self.other();
        self.inner.put_deployments(deployments)
    }

    fn deployments(&self, digest: &Digest, limit: u32) -> Result<Vec<Deployment>, zt_store::Error> {
        self.other();
        self.inner.deployments(digest, limit)
    }

    fn each_build_after(
        &self,
        seq: u64,
        each: &mut dyn FnMut(zt_store::StoredBuild<'_>) -> Result<(), zt_store::Error>,
    ) -> Result<(), zt_store::Error> {
        self.other();
        self.inner.each_build_after(seq, each)
    }

    fn watch_cursor(&self) -> Result<Option<String>, zt_store::Error> {
        self.other();
        self.inner.watch_cursor()
    }

    fn watch_states(
        &self,
        kind: &str,
        names: &[String],
    ) -> Result<Vec<(String, String)>, zt_store::Error> {
        self.other();
        self.inner.watch_states(kind, names)
    }

    fn watch_alerts(&self, since: i64) -> Result<Vec<zt_store::WatchAlert>, zt_store::Error> {
        self.other();
        self.inner.watch_alerts(since)
    }

    fn put_watch(&mut self, update: &zt_store::WatchUpdate) -> Result<(), zt_store::Error> {
        self.other();
        self.inner.put_watch(update)
    }

    fn holdings(
        &self,
        subjects: &[Digest],
        key_ids: &[String],
    ) -> Result<Holdings, zt_store::Error> {
        self.other();
        self.inner.holdings(subjects, key_ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zt_core::workspace::Clock;

    /// A waiver that let the artifact deploy expires at the start of December 2026; only the
    /// deploy rule reads the time.
    const WAIVER: &str = "package zt.waiver\n\n# The waiver lets deploys through until it expires.\ndeny contains d if {\n\tinput.context.stage == \"deploy\"\n\tinput.context.time >= \"2026-12-01T00:00:00Z\"\n\td := {\"id\": \"waiver.expired\", \"message\": \"the waiver expired\", \"remediation\": \"renew the waiver\", \"doc\": \"none\"}\n}\n";
    /// 2026-12-01T00:00:00Z.
    const EXPIRY: i64 = 1_796_083_200;

    fn at(dir: &std::path::Path, t: i64) -> Workspace {
        Workspace::new(dir).with_clock(Clock::Fixed(t))
    }

    /// An artifact with no evidence, as the memo holds it (`serial` when it is kept).
    fn no_evidence(serial: Option<u64>) -> Current {
        let digest = Digest::sha256(b"artifact");
        Current {
            serial,
            gathered: Arc::new(Gathered {
                name: digest.to_string(),
                digest,
                verified: Vec::new(),
                rejected: Vec::new(),
                commits: Vec::new(),
            }),
            trace: Arc::default(),
        }
    }

    fn expired(j: &Judged) -> bool {
        j.judgement
            .decision
            .deny
            .iter()
            .any(|d| d.id == "waiver.expired")
    }

    /// Kept judgements are reused across seconds only when their evaluation never read the
    /// time: a deploy judgement (which reads it) made one second before the waiver expires
    /// must not be served one second later, while the ci judgement (which never reads it) is
    /// kept a year on and is what a fresh evaluation then gives.
    #[test]
    fn a_kept_judgement_that_read_the_time_flips_when_the_waiver_expires() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("policies")).unwrap();
        fs_err::write(dir.path().join("policies/waiver.rego"), WAIVER).unwrap();
        let before = at(dir.path(), EXPIRY - 1);
        let trusted = Trusted::new(Vec::new(), String::new()).cached(&before);
        let memo = Memo::default();
        let current = no_evidence(Some(1));

        let deploy = memo
            .judgement(&before, &trusted, &current, Stage::Deploy)
            .unwrap();
        assert!(!expired(&deploy));
        let again = memo
            .judgement(&before, &trusted, &current, Stage::Deploy)
            .unwrap();
        assert!(Arc::ptr_eq(&deploy, &again), "kept within its second");
        let after = at(dir.path(), EXPIRY);
        let deploy_after = memo
            .judgement(&after, &trusted, &current, Stage::Deploy)
            .unwrap();
        assert!(expired(&deploy_after), "the expired waiver must deny");
        // And back (a clock is not monotonic): the kept judgement is for its second only.
        let deploy_before = memo
            .judgement(&before, &trusted, &current, Stage::Deploy)
            .unwrap();
        assert!(!expired(&deploy_before));

        let ci = memo
            .judgement(&before, &trusted, &current, Stage::Ci)
            .unwrap();
        let year_on = at(dir.path(), EXPIRY + 365 * 86_400);
        let ci_later = memo
            .judgement(&year_on, &trusted, &current, Stage::Ci)
            .unwrap();
        assert!(Arc::ptr_eq(&ci, &ci_later), "kept at every second");
        let fresh = crate::gate::judge_gathered(
            &year_on,
            &Trusted::new(Vec::new(), String::new()),
            &current.gathered,
            Stage::Ci,
        )
        .unwrap();
        assert_eq!(fresh.decision, ci_later.judgement.decision);
        assert!(
            !fresh.decision.allow,
            "no evidence: the built-in rules deny"
        );
    }

    /// A gathering that is not kept keeps no judgement either.
    #[test]
    fn judgements_of_a_gathering_not_kept_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("policies")).unwrap();
        let ws = at(dir.path(), EXPIRY);
        let trusted = Trusted::new(Vec::new(), String::new()).cached(&ws);
        let memo = Memo::default();
        let current = no_evidence(None);
        let a = memo.judgement(&ws, &trusted, &current, Stage::Ci).unwrap();
        let b = memo.judgement(&ws, &trusted, &current, Stage::Ci).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(a.judgement.decision, b.judgement.decision);
    }
}
