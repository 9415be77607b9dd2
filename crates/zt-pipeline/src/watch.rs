//! `zt watch`: the ledger's build records through zt-watch's detector, its baselines kept in
//! the ledger between runs ([`watch_in`]); and what a build record carries for it (the
//! `ztWatch` object: repository, commit, author, committer, commit-signing key, provenance
//! signing key), added where builds are recorded.

use std::path::Path;

use serde_json::{Value, json};
use zt_core::{Digest, Workspace};
use zt_sign::Signer as _;
use zt_watch::{Alert, BuildFacts, Detector, State};

use crate::Error;

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Report builds recorded at or after this time (Unix seconds); earlier ones only make the
    /// baselines. `None`: report every build.
    pub since: Option<i64>,
}

/// The alerts and what they were judged over.
#[derive(Debug, Clone)]
pub struct Report {
    /// The alerts, by time.
    pub alerts: Vec<Alert>,
    /// How many build records were read.
    pub builds: usize,
    /// How many pipelines they belong to.
    pub pipelines: usize,
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "builds": self.builds,
            "pipelines": self.pipelines,
            "alerts": self.alerts.iter().map(Alert::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The alerts of the workspace's ledger: its stored baselines brought up to date with the
/// builds recorded since the last run ([`watch_in`]).
pub fn watch(ws: &Workspace, req: &Request) -> Result<Report, Error> {
    watch_with(ws, req, &Detector::default())
}

/// [`watch`] with the detector's settings given (drills use a shorter warm-up).
pub fn watch_with(ws: &Workspace, req: &Request, detector: &Detector) -> Result<Report, Error> {
    match crate::ledger::open_existing(ws)? {
        Some(mut ledger) => watch_in(&mut *ledger, req, detector),
        None => Ok(Report {
            alerts: Vec::new(),
            builds: 0,
            pipelines: 0,
        }),
    }
}

/// Where the stored baselines stand: the detector they were made with, the last build they
/// include (its number in the ledger and its place in the detector's order), and how many
/// builds and pipelines they cover.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cursor {
    detector: String,
    seq: u64,
    last: Option<(i64, u64, String)>,
    builds: usize,
    pipelines: usize,
}

/// How many times a run starts again when another run stored its state first.
const ATTEMPTS: usize = 5;

/// The watch over `ledger`: the builds recorded since the stored cursor are judged against
/// the stored baselines of their pipelines and repositories (read only for those), then the
/// baselines, their alerts and the cursor are stored in one transaction, and the report lists
/// the stored alerts of the period.
///
/// The result is the one [`Detector::detect`] gives over every build record: builds are
/// judged in the detector's order (time, place in the second, id), so the stored baselines
/// are reused only when every new build comes after the last one they include; a build
/// recorded with an earlier time (a clock set back, a late upload), a state made by another
/// detector or one that does not read, make the baselines again from every record.
pub fn watch_in(
    ledger: &mut dyn zt_store::Ledger,
    req: &Request,
    detector: &Detector,
) -> Result<Report, Error> {
    let mut attempt = 0;
    let (cursor, made) = loop {
        attempt += 1;
        match update(ledger, detector) {
            Ok(c) => break c,
            Err(Error::Store(zt_store::Error::WatchMoved)) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    };
    let since = req.since.unwrap_or(i64::MIN);
    let mut rows = match &made {
        Some(u) if u.reset => Vec::new(),
        _ => ledger.watch_alerts(since)?,
    };
    if let Some(u) = made {
        rows.extend(u.alerts.into_iter().filter(|a| a.at >= since));
    }
    let mut alerts = Vec::new();
    rows.sort_by(|a, b| {
        (a.at, &a.build, a.rank, a.build_seq, a.ordinal).cmp(&(
            b.at,
            &b.build,
            b.rank,
            b.build_seq,
            b.ordinal,
        ))
    });
    for row in rows {
        let alert = serde_json::from_str(&row.alert)
            .ok()
            .and_then(|v| Alert::from_json(&v))
            .ok_or_else(|| {
                zt_store::Error::Corrupt(format!("the stored alert of build `{}`", row.build))
            })?;
        alerts.push(alert);
    }
    Ok(Report {
        alerts,
        builds: cursor.builds,
        pipelines: cursor.pipelines,
    })
}

/// Brings the stored baselines up to date; the cursor they then stand at, and the update when
/// the report is made from it in memory: the ledger would not take it, or it replaces every
/// stored alert (`reset`).
fn update(
    ledger: &mut dyn zt_store::Ledger,
    detector: &Detector,
) -> Result<(Cursor, Option<zt_store::WatchUpdate>), Error> {
    let fingerprint = detector.fingerprint();
    let expected = ledger.watch_cursor()?;
    let stored = expected
        .as_deref()
        .and_then(|t| serde_json::from_str::<Cursor>(t).ok())
        .filter(|c| c.detector == fingerprint);
    let mut batch = facts_after(ledger, stored.as_ref().map_or(0, |c| c.seq))?;
    if let Some(c) = &stored
        && batch.is_empty()
    {
        return Ok((c.clone(), None));
    }
    let mut state = State::new();
    let mut base = stored.clone().filter(|c| {
        let after = |f: &BuildFacts| {
            c.last
                .as_ref()
                .is_none_or(|(at, ns, id)| zt_watch::detect::order_key(f) > (*at, *ns, id.as_str()))
        };
        batch.iter().all(|(_, f)| after(f))
    });
    if base.is_some() {
        match load(ledger, &mut state, &batch) {
            Ok(()) => {}
            // A stored baseline that does not read is made again, as a changed detector's is.
            Err(Error::Watch(zt_watch::Error::State { .. })) => {
                base = None;
                state = State::new();
            }
            Err(e) => return Err(e),
        }
    }
    let reset = base.is_none();
    if reset && stored.is_some() {
        // Everything again: the batch read so far was only what came after the cursor.
        batch = facts_after(ledger, 0)?;
    }
    // Builds are mostly recorded in time order: sorted already, they are not moved (a stable
    // sort would leave them as they are).
    let key = zt_watch::detect::order_key;
    if !batch.is_sorted_by(|(_, a), (_, b)| key(a) <= key(b)) {
        batch.sort_by(|(_, a), (_, b)| key(a).cmp(&key(b)));
    }
    let known: std::collections::BTreeSet<String> = state.pipelines().map(str::to_owned).collect();
    let mut update = zt_store::WatchUpdate {
        expected,
        reset,
        ..zt_store::WatchUpdate::default()
    };
    let mut cursor = base.unwrap_or(Cursor {
        detector: fingerprint,
        seq: 0,
        last: None,
        builds: 0,
        pipelines: 0,
    });
    let mut new_pipelines: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (seq, f) in &batch {
        for (ordinal, a) in detector.step(&mut state, f).into_iter().enumerate() {
            update.alerts.push(zt_store::WatchAlert {
                build_seq: *seq,
                ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
                at: a.at,
                build: a.build.clone(),
                rank: u32::try_from(zt_watch::detect::rank(a.kind)).unwrap_or(u32::MAX),
                alert: a.to_json().to_string(),
            });
        }
        if !known.contains(&f.pipeline) {
            new_pipelines.insert(&f.pipeline);
        }
        cursor.seq = cursor.seq.max(*seq);
        cursor.builds += 1;
    }
    if let Some((_, f)) = batch.last() {
        let (at, ns, id) = zt_watch::detect::order_key(f);
        cursor.last = Some((at, ns, id.to_owned()));
    }
    cursor.pipelines += new_pipelines.len();
    for p in state.pipelines() {
        if let Some(json) = state.pipeline_json(p) {
            update.states.push(("pipeline".into(), p.to_owned(), json));
        }
    }
    for r in state.repositories() {
        if let Some(json) = state.repository_json(r) {
            update
                .states
                .push(("repository".into(), r.to_owned(), json));
        }
    }
    update.cursor = serde_json::to_string(&cursor).map_err(|e| Error::Input {
        what: format!("the watch's cursor: {e}"),
        help: "rerun `zt watch`".into(),
    })?;
    match ledger.put_watch(&update) {
        // Made again from every build, the stored alerts are now exactly this update's: the
        // report is made from them as they are, not read back.
        Ok(()) => Ok((cursor, update.reset.then_some(update))),
        Err(zt_store::Error::WatchMoved) => Err(zt_store::Error::WatchMoved.into()),
        // The stored state only spares the next run work: a ledger that cannot be written (a
        // read-only copy) still gets its report, and the next run does this again.
        Err(_) => Ok((cursor, Some(update))),
    }
}

/// The facts of every build recorded after the one numbered `seq`, with their numbers, in
/// the order of recording; each record read from its text ([`BuildFacts::from_json`]).
fn facts_after(ledger: &dyn zt_store::Ledger, seq: u64) -> Result<Vec<(u64, BuildFacts)>, Error> {
    let mut out = Vec::new();
    ledger.each_build_after(seq, &mut |b| {
        let f = BuildFacts::from_json(b.id, b.recorded_at, b.record)
            .map_err(|e| zt_store::Error::Corrupt(format!("build `{}` record: {e}", b.id)))?;
        out.push((b.seq, f));
        Ok(())
    })?;
    Ok(out)
}

/// The stored baselines of the pipelines and repositories `batch` touches.
fn load(
    ledger: &dyn zt_store::Ledger,
    state: &mut State,
    batch: &[(u64, BuildFacts)],
) -> Result<(), Error> {
    let names = |f: fn(&BuildFacts) -> &String| -> Vec<String> {
        batch
            .iter()
            .map(|(_, b)| f(b).clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    for (name, json) in ledger.watch_states("pipeline", &names(|b| &b.pipeline))? {
        state.load_pipeline(&name, &json)?;
    }
    for (name, json) in ledger.watch_states("repository", &names(|b| &b.repository))? {
        state.load_repository(&name, &json)?;
    }
    Ok(())
}

/// The `ztWatch` object of a build of `commit` in `tree`: the repository (its `origin` URL,
/// else its path), the commit's author and committer e-mails and the key that signed it
/// (SSH fingerprint, or OpenPGP issuer), and the key that signs the provenance.
pub fn context(ws: &Workspace, tree: &Path, commit: Option<&str>) -> Value {
    let repository = repository(tree);
    let signer_key = crate::run::pipeline_key(ws)
        .ok()
        .map(|k| k.public_key().key_id());
    // Orders builds recorded within the same second (`ZT_NOW` fixes the workspace clock).
    let recorded_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut v = json!({"repository": repository, "signerKey": signer_key, "commit": commit, "recordedNs": recorded_ns});
    if let Some(c) = commit.and_then(|c| parse_commit(tree, c)) {
        v["author"] = json!(c.author.email);
        v["committer"] = json!(c.committer.email);
        v["commitKey"] = json!(c.signature.as_deref().and_then(signature_key));
    }
    v
}

/// The repository of `tree` as build records name it: `git+<origin URL>`, else
/// `git+file://<path>`.
pub fn repository(tree: &Path) -> String {
    git(tree, &["config", "--get", "remote.origin.url"])
        .map(|u| format!("git+{u}"))
        .unwrap_or_else(|| format!("git+file://{}", tree.display()))
}

fn parse_commit(tree: &Path, commit: &str) -> Option<zt_source::commits::Commit> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["cat-file", "commit", commit])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let id = zt_source::commits::ObjectId::from_hex(commit.as_bytes()).ok()?;
    zt_source::commits::Commit::parse(id, out.stdout).ok()
}

/// The key that made a commit signature: an SSH signature's public key fingerprint
/// (`SHA256:…`), an OpenPGP signature's issuer. Who signed, not whether it verifies
/// (`zt source verify` judges that).
pub fn signature_key(sig: &[u8]) -> Option<String> {
    if sig.starts_with(b"-----BEGIN SSH SIGNATURE") {
        zt_source::commits::SshSignature::parse(sig)
            .ok()
            .map(|s| s.key().fingerprint())
    } else {
        zt_source::commits::PgpSignature::parse(sig)
            .ok()
            .map(|s| s.issuer())
    }
}

fn git(tree: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Records a build in the ledger under its provenance invocation id, with the `ztWatch`
/// object, indexed by the digests it produced.
pub fn record(
    ws: &Workspace,
    tree: &Path,
    outputs: &[Digest],
    predicate: &Value,
) -> Result<(), Error> {
    let Some(id) = predicate
        .pointer("/runDetails/metadata/invocationId")
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    let commit = predicate
        .pointer("/buildDefinition/externalParameters/source")
        .and_then(Value::as_str);
    let mut record = predicate.clone();
    record["ztWatch"] = context(ws, tree, commit);
    crate::ledger::open(ws)?.put_build(&zt_store::BuildRecord {
        id: id.to_owned(),
        outputs: outputs.to_vec(),
        recorded_at: ws.now(),
        record,
    })?;
    Ok(())
}

/// Spools `events` for the workspace's `[[notify]]` routes and delivers what is due, within
/// `budget` (zero: spool only, as the pipeline does: it never waits for a receiver).
pub fn notify(
    ws: &Workspace,
    events: &[zt_watch::notify::Event],
    budget: std::time::Duration,
) -> Result<Option<zt_watch::notify::Drained>, Error> {
    let config = ws.config()?;
    if config.notify.is_empty() {
        return Ok(None);
    }
    let routes = zt_watch::notify::routes(&config.notify)?;
    for e in events {
        zt_watch::notify::enqueue(ws.root(), &routes, e)?;
    }
    if budget.is_zero() {
        return Ok(None);
    }
    Ok(Some(zt_watch::notify::drain(
        ws.root(),
        &routes,
        ws.now(),
        budget,
    )?))
}

/// The notification of an alert.
pub fn alert_event(a: &Alert) -> zt_watch::notify::Event {
    zt_watch::notify::Event {
        kind: "alert",
        summary: format!("{} [{}] in {}: {}", a.kind, a.severity, a.pipeline, a.why),
        fix: Some(format!(
            "look at build {} (`zt watch --json`); if it is a compromise, `zt incident bad-commit COMMIT`",
            a.build
        )),
        details: a.to_json(),
        at: a.at,
    }
}

#[cfg(test)]
mod tests {
    use zt_store::{BuildRecord, Ledger, SqliteLedger};
    use zt_watch::generate::{Spec, history, record};

    use super::*;

    fn put(l: &mut dyn Ledger, f: &BuildFacts, at: i64) {
        l.put_build(&BuildRecord {
            id: f.id.clone(),
            outputs: Vec::new(),
            recorded_at: at,
            record: record(f),
        })
        .unwrap();
    }

    /// What `zt watch` printed before the baselines were kept: every record read, one pass.
    fn from_scratch(l: &dyn Ledger, since: Option<i64>) -> Report {
        let facts: Vec<BuildFacts> = l
            .builds_since(i64::MIN)
            .unwrap()
            .iter()
            .map(|b| BuildFacts::from_record(&b.id, b.recorded_at, &b.record))
            .collect();
        Report {
            alerts: Detector::default().detect(&facts, since),
            builds: facts.len(),
            pipelines: facts
                .iter()
                .map(|f| &f.pipeline)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        }
    }

    fn same(got: &Report, want: &Report) {
        assert_eq!(got.to_json(), want.to_json());
        assert_eq!(got.alerts, want.alerts);
    }

    fn chunks_then_one_pass(l: &mut dyn Ledger) {
        let (builds, _) = history(&Spec::default());
        let d = Detector::default();
        let all = Request::default();
        let cuts = [0, 1, 12, 300, 301, 1200, 1999, builds.len()];
        for w in cuts.windows(2) {
            // Each chunk recorded newest first: the watch orders them by time.
            for f in builds[w[0]..w[1]].iter().rev() {
                put(l, f, f.at);
            }
            same(&watch_in(l, &all, &d).unwrap(), &from_scratch(l, None));
        }
        assert!(from_scratch(l, None).alerts.len() > 100);
        let since = Request {
            since: builds.get(1500).map(|f| f.at),
        };
        same(
            &watch_in(l, &since, &d).unwrap(),
            &from_scratch(l, since.since),
        );
        // Nothing new: the stored state as it is.
        let cursor = l.watch_cursor().unwrap();
        same(&watch_in(l, &all, &d).unwrap(), &from_scratch(l, None));
        assert_eq!(l.watch_cursor().unwrap(), cursor);
        // A build recorded late with an earlier time (a clock set back) is judged where it
        // belongs: the baselines are made again, and the alerts are still those of one pass.
        let late = BuildFacts {
            id: "late".into(),
            ..builds[40].clone()
        };
        put(l, &late, builds[40].at);
        same(&watch_in(l, &all, &d).unwrap(), &from_scratch(l, None));
        // Another detector's state is not reused, and the default one's is made again after.
        let short = Detector {
            min_history: 3,
            ..Detector::default()
        };
        let other = watch_in(l, &all, &short).unwrap();
        assert!(other.alerts.len() > from_scratch(l, None).alerts.len());
        same(&watch_in(l, &all, &d).unwrap(), &from_scratch(l, None));
    }

    #[test]
    fn incremental_runs_over_sqlite_give_the_alerts_of_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = SqliteLedger::open(&dir.path().join("ledger.db")).unwrap();
        chunks_then_one_pass(&mut l);
    }

    #[test]
    fn incremental_runs_over_postgres_give_the_alerts_of_one_pass() {
        let conn = std::env::var("ZT_TEST_POSTGRES")
            .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into());
        let schema = format!("zt_watch_test_{}", std::process::id());
        let mut l = zt_store::PostgresLedger::connect(&conn, &schema).unwrap();
        chunks_then_one_pass(&mut l);
        l.drop_schema().unwrap();
    }

    /// A ledger written by a zt without build numbers (schema 4) is numbered on upgrade, and
    /// its first watch gives the alerts of one pass; the next builds are then read alone.
    #[test]
    fn a_version_4_ledger_is_watched_after_its_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let (builds, _) = history(&Spec {
            builds: 600,
            ..Spec::default()
        });
        {
            let mut l = SqliteLedger::open(&path).unwrap();
            for f in &builds[..500] {
                put(&mut l, f, f.at);
            }
        }
        rusqlite_v4(&path);
        let mut l = SqliteLedger::open(&path).unwrap();
        assert_eq!(l.schema_version().unwrap(), zt_store::SCHEMA_VERSION);
        let d = Detector::default();
        same(
            &watch_in(&mut l, &Request::default(), &d).unwrap(),
            &from_scratch(&l, None),
        );
        for f in &builds[500..] {
            put(&mut l, f, f.at);
        }
        assert_eq!(l.builds_after(500).unwrap().len(), 100);
        same(
            &watch_in(&mut l, &Request::default(), &d).unwrap(),
            &from_scratch(&l, None),
        );
    }

    /// A ledger that refuses the watch's state (a read-only copy; here a trigger) still gets
    /// the report of one pass, run after run.
    #[test]
    fn a_ledger_that_refuses_the_state_still_gets_its_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let (builds, _) = history(&Spec {
            builds: 400,
            ..Spec::default()
        });
        let mut l = SqliteLedger::open(&path).unwrap();
        for f in &builds[..300] {
            put(&mut l, f, f.at);
        }
        let d = Detector::default();
        same(
            &watch_in(&mut l, &Request::default(), &d).unwrap(),
            &from_scratch(&l, None),
        );
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE UPDATE ON watch_state
                 BEGIN SELECT RAISE(ABORT, 'read-only'); END;",
            )
            .unwrap();
        for f in &builds[300..] {
            put(&mut l, f, f.at);
        }
        let since = Request {
            since: builds.get(350).map(|f| f.at),
        };
        for _ in 0..2 {
            same(
                &watch_in(&mut l, &Request::default(), &d).unwrap(),
                &from_scratch(&l, None),
            );
            same(
                &watch_in(&mut l, &since, &d).unwrap(),
                &from_scratch(&l, since.since),
            );
        }
        assert_eq!(l.builds_after(300).unwrap().len(), 100);
    }

    /// What zt wrote at schema 4: no build numbers, no watch tables.
    fn rusqlite_v4(path: &std::path::Path) {
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(
                "DROP TABLE watch_alerts; DROP TABLE watch_state; DROP INDEX builds_by_seq; \
                 ALTER TABLE builds DROP COLUMN seq; \
                 UPDATE zt_meta SET value = '4' WHERE key = 'schema_version';",
            )
            .unwrap();
    }
}
