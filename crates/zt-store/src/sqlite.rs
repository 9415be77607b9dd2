//! The embedded ledger: one SQLite file (normally `.zt/ledger.db`) in WAL mode with full
//! synchronous commits, so a committed write survives a crash and an interrupted one leaves
//! no trace.

use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, ToSql, params_from_iter};
use zt_core::Digest;

use crate::query::{self, BundleRow, Param};
use crate::{
    AccessQuery, AccessRecord, BuildRecord, BundleIndex, BundleQuery, Error, EvidenceQuery, Ledger,
    Put, Revocation, SCHEMA_VERSION, StoredBuild, StoredBundle, Upload, WatchAlert, WatchUpdate,
};

/// The SQLite ledger.
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Connection,
    path: PathBuf,
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
            Param::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Param::NullText | Param::NullInt => ToSqlOutput::Owned(Value::Null),
        })
    }
}

impl SqliteLedger {
    /// Opens the ledger at `path`, creating it (and its folder) if it does not exist and
    /// bringing an older schema up to date. A ledger from a newer zt is refused untouched.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir)?;
        }
        Self::open_with(path, OpenFlags::default())
    }

    /// Opens an existing ledger; [`Error::Missing`] if there is none (nothing is created).
    pub fn open_existing(path: &Path) -> Result<Self, Error> {
        if !path.is_file() {
            return Err(Error::Missing(path.to_path_buf()));
        }
        Self::open_with(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    }

    /// Opens `<repo>/.zt/ledger.db`, creating it if needed.
    pub fn open_in_repo(repo: &Path) -> Result<Self, Error> {
        Self::open(&repo.join(crate::LEDGER_PATH))
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_with(path: &Path, flags: OpenFlags) -> Result<Self, Error> {
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let location = path.display().to_string();
        // Check the version before anything writes (WAL switch, migrations): a newer ledger
        // is left exactly as it was.
        let current = read_version(&conn, &location)?;
        if let Some(found) = current
            && found > SCHEMA_VERSION
        {
            return Err(Error::NewerSchema {
                location,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        // The journal mode is kept in the file: switching (a write) happens once.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut ledger = Self {
            conn,
            path: path.to_path_buf(),
        };
        // A current ledger is opened without a write transaction (readers such as `zt trace`
        // take no lock); anything else is migrated under one, which checks again.
        if current != Some(SCHEMA_VERSION) {
            ledger.migrate()?;
        }
        Ok(ledger)
    }

    /// Brings the schema to [`SCHEMA_VERSION`] in one immediate transaction (so two zt
    /// processes opening a fresh ledger at once do not both migrate).
    fn migrate(&mut self) -> Result<(), Error> {
        let location = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(query::CREATE_META, [])?;
        let current = read_version(&tx, &location)?.unwrap_or(0);
        if current > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                location,
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for step in query::MIGRATIONS.iter().skip(current as usize) {
            for sql in *step {
                tx.execute(sql, [])?;
            }
        }
        if current > 0 && current < query::SCANS_SINCE_VERSION {
            backfill_scans(&tx)?;
        }
        if current != SCHEMA_VERSION {
            tx.execute(query::WRITE_VERSION, [SCHEMA_VERSION.to_string()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn subjects_of(&self, id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self.conn.prepare_cached(query::SUBJECTS_OF)?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn outputs_of(&self, id: &str) -> Result<Vec<String>, Error> {
        let mut stmt = self.conn.prepare_cached(query::OUTPUTS_OF)?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn bundles(&self, sql: &str, params: &[Param]) -> Result<Vec<StoredBundle>, Error> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), bundle_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|row| {
                let subjects = self.subjects_of(&row.id)?;
                row.into_bundle(subjects)
            })
            .collect()
    }

    fn builds(&self, sql: &str, param: &str) -> Result<Vec<BuildRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map([param], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, record, at)| {
                let outputs = self.outputs_of(&id)?;
                query::build_from_row(id, &record, at, outputs)
            })
            .collect()
    }
}

/// The rows of one bundle (bundle, subjects, commits, scan) inside `tx`; nothing when its id is
/// already stored.
fn insert_bundle(
    tx: &rusqlite::Transaction<'_>,
    id: &Digest,
    json: &str,
    index: &BundleIndex,
    derived: &crate::Derived,
) -> Result<Put, Error> {
    let inserted = tx.execute(
        query::INSERT_BUNDLE,
        params_from_iter(query::bundle_params(id, json, index).iter()),
    )?;
    if inserted == 0 {
        return Ok(Put::AlreadyPresent);
    }
    let id = id.to_string();
    {
        let mut stmt = tx.prepare_cached(query::INSERT_SUBJECT)?;
        for subject in query::subject_keys(index) {
            stmt.execute([subject.as_str(), id.as_str()])?;
        }
    }
    let mut stmt = tx.prepare_cached(query::INSERT_COMMIT)?;
    for commit in &derived.commits {
        stmt.execute([commit.as_str(), id.as_str()])?;
    }
    if let Some(scan) = &derived.scan {
        insert_scan(tx, &id, index.recorded_at, scan)?;
    }
    if let Some(intake) = &derived.intake {
        insert_intake(tx, &id, index.recorded_at, intake)?;
    }
    Ok(Put::Inserted)
}

/// The intake index row of bundle `id`.
fn insert_intake(
    conn: &Connection,
    id: &str,
    recorded_at: i64,
    intake: &crate::index::Intake,
) -> Result<(), Error> {
    conn.prepare_cached(query::INSERT_INTAKE)?
        .execute(rusqlite::params![
            crate::index::purl_key(&intake.purl),
            id,
            intake.purl,
            intake.verdict,
            recorded_at
        ])?;
    Ok(())
}

/// The scan index rows of bundle `id` (see `query::MIGRATIONS`, version 4).
fn insert_scan(
    conn: &Connection,
    id: &str,
    recorded_at: i64,
    scan: &crate::index::Scan,
) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(query::INSERT_SCAN_FINDING)?;
    for f in &scan.findings {
        stmt.execute(rusqlite::params![
            id, f.advisory, f.package, f.severity, f.waived
        ])?;
    }
    conn.prepare_cached(query::UPSERT_LATEST_SCAN)?
        .execute(rusqlite::params![scan.sbom, id, recorded_at])?;
    Ok(())
}

/// Indexes the scans recorded before the ledger had a scan index (an upgrade from a version
/// below `query::SCANS_SINCE_VERSION`), inside the migration's transaction.
fn backfill_scans(conn: &Connection) -> Result<(), Error> {
    let rows: Vec<(String, String, i64)> = conn
        .prepare(query::SCAN_BUNDLES)?
        .query_map(
            [
                zt_core::predicate::ZT_VULN_SCAN_V1,
                zt_core::predicate::ZT_INTAKE_V1,
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<_, _>>()?;
    for (id, json, recorded_at) in rows {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) else {
            continue;
        };
        if let Some(scan) = crate::index::scan_of(&v) {
            insert_scan(conn, &id, recorded_at, &scan)?;
        }
        if let Some(intake) = crate::index::intake_of(&v) {
            insert_intake(conn, &id, recorded_at, &intake)?;
        }
    }
    // And the figures of the builds recorded before the builds table had them.
    let builds: Vec<(String, String)> = conn
        .prepare(query::ALL_BUILDS)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut set = conn.prepare(query::SET_BUILD_FIGURES)?;
    for (id, record) in builds {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&record) else {
            continue;
        };
        let f = crate::index::build_figures(&v);
        set.execute(rusqlite::params![
            f.reproducible,
            f.setup_ms,
            f.duration_ms,
            id
        ])?;
    }
    Ok(())
}

fn read_version(conn: &Connection, location: &str) -> Result<Option<u32>, Error> {
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'zt_meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if !has_meta {
        return Ok(None);
    }
    let text: Option<String> = conn
        .query_row(query::READ_VERSION, [], |r| r.get(0))
        .optional()?;
    text.map(|t| query::parse_version(location, &t)).transpose()
}

fn bundle_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BundleRow> {
    Ok(BundleRow {
        id: r.get(0)?,
        json: r.get(1)?,
        predicate_type: r.get(2)?,
        key_id: r.get(3)?,
        log_index: r.get(4)?,
        stage: r.get(5)?,
        recorded_at: r.get(6)?,
    })
}

impl Ledger for SqliteLedger {
    fn schema_version(&self) -> Result<u32, Error> {
        Ok(read_version(&self.conn, &self.path.display().to_string())?.unwrap_or(0))
    }

    fn put_bundle(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
    ) -> Result<(Digest, Put), Error> {
        let (json, derived) = crate::check_bundle(bundle_json, index)?;
        let id = crate::bundle_id(bundle_json);
        let tx = self.conn.transaction()?;
        let put = insert_bundle(&tx, &id, &json, index, &derived)?;
        if put == Put::Inserted {
            tx.commit()?;
        }
        Ok((id, put))
    }

    fn bundle(&self, id: &Digest) -> Result<Option<StoredBundle>, Error> {
        let sql = query::select_bundle_by_id();
        Ok(self
            .bundles(&sql, &[Param::Text(id.to_string())])?
            .into_iter()
            .next())
    }

    fn find_bundles(&self, q: &BundleQuery) -> Result<Vec<StoredBundle>, Error> {
        let (sql, params) = query::select_bundles(q);
        self.bundles(&sql, &params)
    }

    fn put_build(&mut self, build: &BuildRecord) -> Result<Put, Error> {
        let record = serde_json::to_string(&build.record)
            .map_err(|e| Error::InvalidBundle(format!("build record: {e}")))?;
        let tx = self.conn.transaction()?;
        let f = crate::index::build_figures(&build.record);
        let inserted = tx.execute(
            query::INSERT_BUILD,
            rusqlite::params![
                build.id,
                record,
                build.recorded_at,
                f.reproducible,
                f.setup_ms,
                f.duration_ms
            ],
        )?;
        if inserted == 0 {
            drop(tx);
            let stored = self.build(&build.id)?;
            return match stored {
                Some(s) if query::same_build(&s, build) => Ok(Put::AlreadyPresent),
                _ => Err(Error::Conflict {
                    what: "build",
                    id: build.id.clone(),
                }),
            };
        }
        for digest in query::output_keys(build) {
            tx.execute(query::INSERT_OUTPUT, [digest, build.id.clone()])?;
        }
        tx.commit()?;
        Ok(Put::Inserted)
    }

    fn build(&self, id: &str) -> Result<Option<BuildRecord>, Error> {
        Ok(self.builds(query::BUILD_BY_ID, id)?.into_iter().next())
    }

    fn builds_producing(&self, digest: &Digest) -> Result<Vec<BuildRecord>, Error> {
        self.builds(query::BUILDS_PRODUCING, &digest.to_string())
    }

    fn revoke_key(&mut self, r: &Revocation) -> Result<Put, Error> {
        let n = self.conn.execute(
            query::INSERT_REVOCATION,
            rusqlite::params![r.key_id, r.revoked_at, r.reason],
        )?;
        Ok(if n == 0 {
            Put::AlreadyPresent
        } else {
            Put::Inserted
        })
    }

    fn revocation(&self, key_id: &str) -> Result<Option<Revocation>, Error> {
        Ok(self
            .conn
            .query_row(query::REVOCATION_OF, [key_id], |r| {
                Ok(query::revocation_from_row(r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?)
    }

    fn holdings(&self, subjects: &[Digest], key_ids: &[String]) -> Result<crate::Holdings, Error> {
        let mut out = crate::Holdings::default();
        let mut stmt = self.conn.prepare_cached(query::BUNDLE_IDS_ABOUT)?;
        for subject in subjects {
            let ids = stmt.query_map([subject.to_string()], |r| r.get::<_, String>(0))?;
            for id in ids {
                out.bundles
                    .push((subject.clone(), query::parse_digest(&id?)?));
            }
        }
        for key_id in key_ids {
            out.revocations.extend(self.revocation(key_id)?);
        }
        out.sort();
        Ok(out)
    }

    fn revocations(&self) -> Result<Vec<Revocation>, Error> {
        let mut stmt = self.conn.prepare_cached(query::ALL_REVOCATIONS)?;
        let rows = stmt.query_map([], |r| {
            Ok(query::revocation_from_row(r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_access_records(&mut self, records: &[AccessRecord]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(query::INSERT_ACCESS)?;
            for r in records {
                let n = stmt.execute(rusqlite::params![
                    r.seq as i64,
                    r.log_index as i64,
                    r.at,
                    r.action,
                    r.decision,
                    r.reason,
                    r.secret,
                    r.repository,
                    r.who,
                    r.entry
                ])?;
                if n == 0 {
                    return Err(Error::Conflict {
                        what: "access record",
                        id: r.seq.to_string(),
                    });
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn access_records(&self, q: &AccessQuery) -> Result<Vec<AccessRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(query::SELECT_ACCESS)?;
        let rows = stmt.query_map(rusqlite::params![q.secret, q.repository, q.since], |r| {
            Ok(query::access_from_row((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            )))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn evidence(&self, q: &EvidenceQuery) -> Result<Vec<StoredBundle>, Error> {
        let (sql, params) = query::select_evidence(q);
        self.bundles(&sql, &params)
    }

    fn put_upload(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
        upload: &Upload,
    ) -> Result<(Digest, Put), Error> {
        let (json, derived) = crate::check_bundle(bundle_json, index)?;
        let id = crate::bundle_id(bundle_json);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        insert_bundle(&tx, &id, &json, index, &derived)?;
        let n = tx.execute(
            query::INSERT_UPLOAD,
            params_from_iter(query::upload_params(&id, upload).iter()),
        )?;
        if n == 0 {
            return Ok((id, Put::AlreadyPresent));
        }
        tx.commit()?;
        Ok((id, Put::Inserted))
    }

    fn put_uploads(
        &mut self,
        uploads: &[(&[u8], &BundleIndex, &Upload)],
    ) -> Result<Vec<(Digest, Put)>, Error> {
        let checked = uploads
            .iter()
            .map(|(bytes, index, _)| crate::check_bundle(bytes, index))
            .collect::<Result<Vec<_>, _>>()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(uploads.len());
        for ((bytes, index, upload), (json, derived)) in uploads.iter().zip(&checked) {
            let id = crate::bundle_id(bytes);
            let bundle = insert_bundle(&tx, &id, json, index, derived)?;
            let n = tx.execute(
                query::INSERT_UPLOAD,
                params_from_iter(query::upload_params(&id, upload).iter()),
            )?;
            let put = query::grouped_upload(&id, bundle, n > 0)?;
            out.push((id, put));
        }
        tx.commit()?;
        Ok(out)
    }

    fn upload(&self, id: &Digest) -> Result<Option<Upload>, Error> {
        let row = self
            .conn
            .query_row(query::UPLOAD_OF, [id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        row.map(|(id, li, who, at)| query::upload_from_row(&id, li, who, at))
            .transpose()
    }

    fn open_findings(&self, severity: &str) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self.conn.prepare_cached(query::OPEN_FINDINGS)?;
        let rows = stmt.query_map([severity], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn intake_decisions(&self, purls: &[String]) -> Result<Vec<crate::index::IntakeRecord>, Error> {
        let keys: std::collections::BTreeSet<&str> =
            purls.iter().map(|p| crate::index::purl_key(p)).collect();
        let mut stmt = self.conn.prepare_cached(query::INTAKE_OF)?;
        let mut out = Vec::new();
        for key in keys {
            let rows = stmt.query_map([key], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            for row in rows {
                let (purl, verdict, id, recorded_at, subject) = row?;
                out.push(crate::index::IntakeRecord {
                    purl,
                    verdict,
                    bundle_id: query::parse_digest(&id)?,
                    subject: query::parse_digest(&subject)?,
                    recorded_at,
                });
            }
        }
        out.sort_by(|a, b| (a.recorded_at, &a.bundle_id).cmp(&(b.recorded_at, &b.bundle_id)));
        Ok(out)
    }

    fn put_deployments(&mut self, deployments: &[crate::Deployment]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(query::INSERT_DEPLOYMENT)?;
            for d in deployments {
                let log_index = query::log_index_param(d.log_index)?;
                stmt.execute(rusqlite::params![
                    d.digest.to_string(),
                    d.at,
                    d.allowed,
                    d.operation,
                    d.kind,
                    d.namespace,
                    d.name,
                    log_index
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn deployments(&self, digest: &Digest, limit: u32) -> Result<Vec<crate::Deployment>, Error> {
        let mut stmt = self.conn.prepare_cached(query::DEPLOYMENTS_OF)?;
        let rows = stmt.query_map(rusqlite::params![digest.to_string(), limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })?;
        rows.map(|row| query::deployment_from_row(row?)).collect()
    }

    fn each_build_after(
        &self,
        seq: u64,
        each: &mut dyn FnMut(StoredBuild<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut stmt = self.conn.prepare_cached(query::BUILDS_AFTER)?;
        let mut rows = stmt.query([query::signed(seq)])?;
        while let Some(r) = rows.next()? {
            each(StoredBuild {
                seq: query::unsigned("build seq", r.get(0)?)?,
                id: text(r, 1)?,
                record: text(r, 2)?,
                recorded_at: r.get(3)?,
            })?;
        }
        Ok(())
    }

    fn watch_cursor(&self) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(query::WATCH_CURSOR, [], |r| r.get(0))
            .optional()?)
    }

    fn watch_states(&self, kind: &str, names: &[String]) -> Result<Vec<(String, String)>, Error> {
        let mut stmt = self.conn.prepare_cached(query::WATCH_STATE_OF)?;
        let mut out = Vec::new();
        for name in names {
            if let Some(state) = stmt
                .query_row([kind, name.as_str()], |r| r.get::<_, String>(0))
                .optional()?
            {
                out.push((name.clone(), state));
            }
        }
        Ok(out)
    }

    fn watch_alerts(&self, since: i64) -> Result<Vec<WatchAlert>, Error> {
        let mut stmt = self.conn.prepare_cached(query::WATCH_ALERTS_SINCE)?;
        let rows = stmt.query_map([since], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, ordinal, at, build, rank, alert) = row?;
            Ok(WatchAlert {
                build_seq: query::unsigned("alert build seq", seq)?,
                ordinal: u32::try_from(ordinal)
                    .map_err(|_| Error::Corrupt(format!("alert ordinal {ordinal}")))?,
                at,
                build,
                rank: u32::try_from(rank)
                    .map_err(|_| Error::Corrupt(format!("alert rank {rank}")))?,
                alert,
            })
        })
        .collect()
    }

    fn put_watch(&mut self, u: &WatchUpdate) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let moved = match &u.expected {
            Some(old) => tx.execute(query::MOVE_WATCH_CURSOR, [u.cursor.as_str(), old])?,
            None => tx.execute(query::FIRST_WATCH_CURSOR, [u.cursor.as_str()])?,
        };
        if moved != 1 {
            return Err(Error::WatchMoved);
        }
        if u.reset {
            tx.execute(query::CLEAR_WATCH_STATE, [])?;
            tx.execute(query::CLEAR_WATCH_ALERTS, [])?;
        }
        {
            let mut put = tx.prepare_cached(query::PUT_WATCH_STATE)?;
            for (kind, name, state) in &u.states {
                put.execute([kind, name, state])?;
            }
            let mut alert = tx.prepare_cached(query::INSERT_WATCH_ALERT)?;
            for a in &u.alerts {
                alert.execute(rusqlite::params![
                    query::signed(a.build_seq),
                    a.ordinal,
                    a.at,
                    a.build,
                    a.rank,
                    a.alert
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn build_figures_since(&self, since: i64) -> Result<Vec<crate::index::BuildFigures>, Error> {
        let mut stmt = self.conn.prepare_cached(query::BUILD_FIGURES_SINCE)?;
        let rows = stmt.query_map([since], |r| {
            Ok(crate::index::BuildFigures {
                recorded_at: r.get(0)?,
                reproducible: r.get(1)?,
                setup_ms: r.get(2)?,
                duration_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn builds_since(&self, since: i64) -> Result<Vec<BuildRecord>, Error> {
        let rows = self
            .conn
            .prepare_cached(query::BUILDS_SINCE)?
            .query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let outputs = self
            .conn
            .prepare_cached(query::OUTPUTS_SINCE)?
            .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        query::builds_with_outputs(rows, outputs)
    }
}

/// Column `i` of `r` as text, borrowed from the row.
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str, rusqlite::Error> {
    let v = r.get_ref(i)?;
    v.as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(d: &Digest) -> BundleIndex {
        BundleIndex {
            subjects: vec![d.clone()],
            predicate_type: Some("https://slsa.dev/provenance/v1".into()),
            key_id: None,
            log_index: None,
            stage: None,
            recorded_at: 1,
        }
    }

    /// A failure half way through a bundle write (here: the subject insert, forced to fail by
    /// a trigger) must leave neither the bundle row nor any subject row behind.
    #[test]
    fn failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = SqliteLedger::open(&dir.path().join("l.db")).unwrap();
        l.conn
            .execute_batch(
                "CREATE TRIGGER fail_subject BEFORE INSERT ON bundle_subjects
                 BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;",
            )
            .unwrap();
        let d = Digest::sha256(b"a");
        let err = l.put_bundle(b"{\"a\":1}", &index(&d)).unwrap_err();
        assert!(err.to_string().contains("simulated crash"), "{err}");
        let n: i64 = l
            .conn
            .query_row("SELECT count(*) FROM bundles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        l.conn.execute_batch("DROP TRIGGER fail_subject").unwrap();
        assert_eq!(
            l.put_bundle(b"{\"a\":1}", &index(&d)).unwrap().1,
            Put::Inserted
        );
    }

    #[test]
    fn uses_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let l = SqliteLedger::open(&dir.path().join(".zt/ledger.db")).unwrap();
        let mode: String = l
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        drop(SqliteLedger::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.execute(
                "UPDATE zt_meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        }
        let before = fs_err::read(&path).unwrap();
        let err = SqliteLedger::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NewerSchema {
                    found: 99,
                    supported: SCHEMA_VERSION,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("schema version 99"));
        assert_eq!(fs_err::read(&path).unwrap(), before);
    }

    #[test]
    fn open_existing_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".zt/ledger.db");
        assert!(matches!(
            SqliteLedger::open_existing(&path),
            Err(Error::Missing(_))
        ));
        assert!(!dir.path().join(".zt").exists());
    }
}
