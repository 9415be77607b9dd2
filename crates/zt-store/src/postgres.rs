//! The shared ledger: the same schema and statements as SQLite, in one PostgreSQL schema
//! (namespace) per ledger, every write in one transaction.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};
use zt_core::Digest;

use crate::query::{self, BundleRow, Param};
use crate::{
    AccessQuery, AccessRecord, BuildRecord, BundleIndex, BundleQuery, Error, EvidenceQuery, Ledger,
    Put, Revocation, SCHEMA_VERSION, StoredBuild, StoredBundle, Upload, WatchAlert, WatchUpdate,
};

/// The PostgreSQL ledger. The client sits behind a mutex so that reads can take `&self`.
pub struct PostgresLedger {
    client: Mutex<Conn>,
    schema: String,
}

/// The most statements one connection keeps prepared (the ledger's queries come in a few
/// dozen shapes; past this the cache starts over).
const MAX_PREPARED: usize = 256;

/// A connection and the statements prepared on it, by SQL text. A statement given as text is
/// parsed, planned and described by the server in one round trip and executed in another;
/// prepared once per connection, every later use is one round trip, and the server keeps its
/// plan.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

type Sql<'a> = &'a [&'a (dyn ToSql + Sync)];

fn prepared<C: GenericClient>(
    cache: &mut HashMap<String, Statement>,
    client: &mut C,
    sql: &str,
) -> Result<Statement, postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    if cache.len() >= MAX_PREPARED {
        cache.clear();
    }
    cache.insert(sql.to_owned(), s.clone());
    Ok(s)
}

impl Conn {
    fn query(&mut self, sql: &str, params: Sql<'_>) -> Result<Vec<Row>, postgres::Error> {
        let st = prepared(&mut self.prepared, &mut self.client, sql)?;
        self.client.query(&st, params)
    }

    fn query_opt(&mut self, sql: &str, params: Sql<'_>) -> Result<Option<Row>, postgres::Error> {
        let st = prepared(&mut self.prepared, &mut self.client, sql)?;
        self.client.query_opt(&st, params)
    }

    fn execute(&mut self, sql: &str, params: Sql<'_>) -> Result<u64, postgres::Error> {
        let st = prepared(&mut self.prepared, &mut self.client, sql)?;
        self.client.execute(&st, params)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.batch_execute(sql)
    }

    fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            tx: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

/// A transaction on a [`Conn`], using its prepared statements.
struct Tx<'a> {
    tx: Transaction<'a>,
    prepared: &'a mut HashMap<String, Statement>,
}

impl Tx<'_> {
    fn execute(&mut self, sql: &str, params: Sql<'_>) -> Result<u64, postgres::Error> {
        let st = prepared(self.prepared, &mut self.tx, sql)?;
        self.tx.execute(&st, params)
    }

    fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

impl std::fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Owned parameter values, borrowed as `&dyn ToSql` for one call.
struct Params(Vec<Box<dyn ToSql + Sync>>);

impl Params {
    fn new(params: &[Param]) -> Self {
        Self(
            params
                .iter()
                .map(|p| -> Box<dyn ToSql + Sync> {
                    match p {
                        Param::Text(s) => Box::new(s.clone()),
                        Param::Int(i) => Box::new(*i),
                        Param::NullText => Box::new(Option::<String>::None),
                        Param::NullInt => Box::new(Option::<i64>::None),
                    }
                })
                .collect(),
        )
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl PostgresLedger {
    /// Connects with a libpq-style string (`host=127.0.0.1 user=postgres dbname=zt`) and opens
    /// the ledger in `schema` (created if missing; `[a-z0-9_]` only), migrating an older
    /// schema. A ledger from a newer zt is refused untouched.
    pub fn connect(conn: &str, schema: &str) -> Result<Self, Error> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Error::InvalidBundle(format!(
                "ledger schema name `{schema}` must be lowercase letters, digits and `_`"
            )));
        }
        let mut client = Client::connect(conn, NoTls)?;
        let location = format!("postgres schema `{schema}`");
        // A current ledger is opened in one round trip, without the migration's lock and DDL
        // (readers such as `zt trace` open one per process): the search path and the schema
        // version in one simple query. A schema or table that does not exist yet fails it and
        // is made below; any other version migrates below, under the lock, which checks again.
        let probe = client.simple_query(&format!(
            "SET search_path TO {schema}; SELECT value FROM {schema}.zt_meta WHERE key = 'schema_version'"
        ));
        match probe {
            Ok(messages) => {
                let found = messages
                    .iter()
                    .find_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(row) => Some(row.get(0)),
                        _ => None,
                    })
                    .flatten()
                    .map(|v| query::parse_version(&location, v))
                    .transpose()?;
                if found == Some(SCHEMA_VERSION) {
                    return Ok(Self {
                        client: Mutex::new(Conn {
                            client,
                            prepared: HashMap::new(),
                        }),
                        schema: schema.to_string(),
                    });
                }
            }
            Err(e)
                if matches!(
                    e.code(),
                    Some(&postgres::error::SqlState::UNDEFINED_TABLE)
                        | Some(&postgres::error::SqlState::INVALID_SCHEMA_NAME)
                ) => {}
            Err(e) => return Err(e.into()),
        }
        let mut tx = client.transaction()?;
        // One migrator at a time per database.
        tx.execute("SELECT pg_advisory_xact_lock(7420420)", &[])?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema}"
        ))?;
        tx.execute(query::CREATE_META, &[])?;
        let current = match tx.query_opt(query::READ_VERSION, &[])? {
            Some(row) => query::parse_version(&location, row.try_get::<_, &str>(0)?)?,
            None => 0,
        };
        if current > SCHEMA_VERSION {
            // Dropping the transaction rolls back: nothing was changed.
            return Err(Error::NewerSchema {
                location,
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for step in query::MIGRATIONS.iter().skip(current as usize) {
            for sql in *step {
                tx.execute(*sql, &[])?;
            }
        }
        if current > 0 && current < query::SCANS_SINCE_VERSION {
            backfill_scans(&mut tx)?;
        }
        if current != SCHEMA_VERSION {
            tx.execute(query::WRITE_VERSION, &[&SCHEMA_VERSION.to_string()])?;
        }
        tx.commit()?;
        client.batch_execute(&format!("SET search_path TO {schema}"))?;
        Ok(Self {
            client: Mutex::new(Conn {
                client,
                prepared: HashMap::new(),
            }),
            schema: schema.to_string(),
        })
    }

    /// The PostgreSQL schema this ledger lives in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Drops the ledger's schema and everything in it (for tests and teardown).
    pub fn drop_schema(self) -> Result<(), Error> {
        let schema = self.schema.clone();
        let mut client = self.lock();
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))?;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        // A poisoned lock only means another thread panicked mid-call; every write is a
        // transaction, so the connection's state is still consistent.
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bundles(&self, sql: &str, params: &[Param]) -> Result<Vec<StoredBundle>, Error> {
        let mut client = self.lock();
        let p = Params::new(params);
        // Each bundle's subjects in the same query (an array column), not one more query per row.
        let with_subjects = query::with_subjects_array(sql);
        let rows = client.query(with_subjects.as_deref().unwrap_or(sql), &p.refs())?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let row = BundleRow {
                id: r.try_get(0)?,
                json: r.try_get(1)?,
                predicate_type: r.try_get(2)?,
                key_id: r.try_get(3)?,
                log_index: r.try_get(4)?,
                stage: r.try_get(5)?,
                recorded_at: r.try_get(6)?,
            };
            let subjects = match with_subjects {
                Some(_) => r.try_get::<_, Vec<String>>(7)?,
                None => client
                    .query(query::SUBJECTS_OF, &[&row.id])?
                    .iter()
                    .map(|s| s.try_get::<_, String>(0))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            out.push(row.into_bundle(subjects)?);
        }
        Ok(out)
    }

    fn builds(&self, sql: &str, param: &str) -> Result<Vec<BuildRecord>, Error> {
        let mut client = self.lock();
        let rows = client.query(sql, &[&param])?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(0)?;
            let record: String = r.try_get(1)?;
            let at: i64 = r.try_get(2)?;
            let outputs = client
                .query(query::OUTPUTS_OF, &[&id])?
                .iter()
                .map(|s| s.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(query::build_from_row(id, &record, at, outputs)?);
        }
        Ok(out)
    }
}

/// The rows of one bundle (bundle, subjects, commits, scan) inside `tx`; nothing when its id is
/// already stored.
fn insert_bundle(
    tx: &mut Tx<'_>,
    id: &Digest,
    json: &str,
    index: &BundleIndex,
    derived: &crate::Derived,
) -> Result<Put, Error> {
    let p = Params::new(&query::bundle_params(id, json, index));
    let inserted = tx.execute(query::INSERT_BUNDLE, &p.refs())?;
    if inserted == 0 {
        return Ok(Put::AlreadyPresent);
    }
    let id_text = id.to_string();
    for subject in query::subject_keys(index) {
        tx.execute(query::INSERT_SUBJECT, &[&subject, &id_text])?;
    }
    for commit in &derived.commits {
        tx.execute(query::INSERT_COMMIT, &[commit, &id_text])?;
    }
    if let Some(scan) = &derived.scan {
        for f in &scan.findings {
            tx.execute(
                query::INSERT_SCAN_FINDING,
                &[&id_text, &f.advisory, &f.package, &f.severity, &f.waived],
            )?;
        }
        tx.execute(
            query::UPSERT_LATEST_SCAN,
            &[&scan.sbom, &id_text, &index.recorded_at],
        )?;
    }
    if let Some(intake) = &derived.intake {
        tx.execute(
            query::INSERT_INTAKE,
            &[
                &crate::index::purl_key(&intake.purl),
                &id_text,
                &intake.purl,
                &intake.verdict,
                &index.recorded_at,
            ],
        )?;
    }
    Ok(Put::Inserted)
}

/// Indexes the scans recorded before the ledger had a scan index (an upgrade from a version
/// below `query::SCANS_SINCE_VERSION`), inside the migration's transaction.
fn backfill_scans(tx: &mut postgres::Transaction<'_>) -> Result<(), Error> {
    let rows = tx.query(
        query::SCAN_BUNDLES,
        &[
            &zt_core::predicate::ZT_VULN_SCAN_V1,
            &zt_core::predicate::ZT_INTAKE_V1,
        ],
    )?;
    for r in rows {
        let (id, json, recorded_at): (String, String, i64) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) else {
            continue;
        };
        if let Some(intake) = crate::index::intake_of(&v) {
            tx.execute(
                query::INSERT_INTAKE,
                &[
                    &crate::index::purl_key(&intake.purl),
                    &id,
                    &intake.purl,
                    &intake.verdict,
                    &recorded_at,
                ],
            )?;
        }
        let Some(scan) = crate::index::scan_of(&v) else {
            continue;
        };
        for f in &scan.findings {
            tx.execute(
                query::INSERT_SCAN_FINDING,
                &[&id, &f.advisory, &f.package, &f.severity, &f.waived],
            )?;
        }
        tx.execute(query::UPSERT_LATEST_SCAN, &[&scan.sbom, &id, &recorded_at])?;
    }
    // And the figures of the builds recorded before the builds table had them.
    for r in tx.query(query::ALL_BUILDS, &[])? {
        let (id, record): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&record) else {
            continue;
        };
        let f = crate::index::build_figures(&v);
        tx.execute(
            query::SET_BUILD_FIGURES,
            &[&f.reproducible, &f.setup_ms, &f.duration_ms, &id],
        )?;
    }
    Ok(())
}

impl Ledger for PostgresLedger {
    fn schema_version(&self) -> Result<u32, Error> {
        let location = format!("postgres schema `{}`", self.schema);
        match self.lock().query_opt(query::READ_VERSION, &[])? {
            Some(row) => query::parse_version(&location, row.try_get::<_, &str>(0)?),
            None => Ok(0),
        }
    }

    fn put_bundle(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
    ) -> Result<(Digest, Put), Error> {
        let (json, derived) = crate::check_bundle(bundle_json, index)?;
        let id = crate::bundle_id(bundle_json);
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        let put = insert_bundle(&mut tx, &id, &json, index, &derived)?;
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
        let inserted = {
            let mut client = self.lock();
            let mut tx = client.transaction()?;
            tx.execute(query::BUILD_SEQ_LOCK, &[])?;
            let f = crate::index::build_figures(&build.record);
            let n = tx.execute(
                query::INSERT_BUILD,
                &[
                    &build.id,
                    &record,
                    &build.recorded_at,
                    &f.reproducible,
                    &f.setup_ms,
                    &f.duration_ms,
                ],
            )?;
            if n > 0 {
                for digest in query::output_keys(build) {
                    tx.execute(query::INSERT_OUTPUT, &[&digest, &build.id])?;
                }
                tx.commit()?;
            }
            n > 0
        };
        if inserted {
            return Ok(Put::Inserted);
        }
        match self.build(&build.id)? {
            Some(s) if query::same_build(&s, build) => Ok(Put::AlreadyPresent),
            _ => Err(Error::Conflict {
                what: "build",
                id: build.id.clone(),
            }),
        }
    }

    fn build(&self, id: &str) -> Result<Option<BuildRecord>, Error> {
        Ok(self.builds(query::BUILD_BY_ID, id)?.into_iter().next())
    }

    fn builds_producing(&self, digest: &Digest) -> Result<Vec<BuildRecord>, Error> {
        self.builds(query::BUILDS_PRODUCING, &digest.to_string())
    }

    fn revoke_key(&mut self, r: &Revocation) -> Result<Put, Error> {
        let n = self.lock().execute(
            query::INSERT_REVOCATION,
            &[&r.key_id, &r.revoked_at, &r.reason],
        )?;
        Ok(if n == 0 {
            Put::AlreadyPresent
        } else {
            Put::Inserted
        })
    }

    fn revocation(&self, key_id: &str) -> Result<Option<Revocation>, Error> {
        let row = self.lock().query_opt(query::REVOCATION_OF, &[&key_id])?;
        row.map(|r| {
            Ok(query::revocation_from_row(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
            ))
        })
        .transpose()
    }

    fn revocations(&self) -> Result<Vec<Revocation>, Error> {
        let rows = self.lock().query(query::ALL_REVOCATIONS, &[])?;
        rows.iter()
            .map(|r| {
                Ok(query::revocation_from_row(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                ))
            })
            .collect()
    }

    fn put_access_records(&mut self, records: &[AccessRecord]) -> Result<(), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        for r in records {
            let n = tx.execute(
                query::INSERT_ACCESS,
                &[
                    &(r.seq as i64),
                    &(r.log_index as i64),
                    &r.at,
                    &r.action,
                    &r.decision,
                    &r.reason,
                    &r.secret,
                    &r.repository,
                    &r.who,
                    &r.entry,
                ],
            )?;
            if n == 0 {
                return Err(Error::Conflict {
                    what: "access record",
                    id: r.seq.to_string(),
                });
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn access_records(&self, q: &AccessQuery) -> Result<Vec<AccessRecord>, Error> {
        let rows = self
            .lock()
            .query(query::SELECT_ACCESS, &[&q.secret, &q.repository, &q.since])?;
        rows.iter()
            .map(|r| {
                Ok(query::access_from_row((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                    r.try_get(7)?,
                    r.try_get(8)?,
                    r.try_get(9)?,
                )))
            })
            .collect()
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
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        insert_bundle(&mut tx, &id, &json, index, &derived)?;
        let p = Params::new(&query::upload_params(&id, upload));
        if tx.execute(query::INSERT_UPLOAD, &p.refs())? == 0 {
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
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        let mut out = Vec::with_capacity(uploads.len());
        for ((bytes, index, upload), (json, derived)) in uploads.iter().zip(&checked) {
            let id = crate::bundle_id(bytes);
            let bundle = insert_bundle(&mut tx, &id, json, index, derived)?;
            let p = Params::new(&query::upload_params(&id, upload));
            let recorded = tx.execute(query::INSERT_UPLOAD, &p.refs())? > 0;
            let put = query::grouped_upload(&id, bundle, recorded)?;
            out.push((id, put));
        }
        tx.commit()?;
        Ok(out)
    }

    fn upload(&self, id: &Digest) -> Result<Option<Upload>, Error> {
        let row = self
            .lock()
            .query_opt(query::UPLOAD_OF, &[&id.to_string()])?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(query::upload_from_row(
                r.try_get::<_, &str>(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            )?)),
        }
    }

    fn uploads(&self, ids: &[Digest]) -> Result<Vec<Option<Upload>>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let texts: Vec<String> = ids.iter().map(Digest::to_string).collect();
        let rows = self.lock().query(query::UPLOADS_OF, &[&texts])?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in rows {
            let up = query::upload_from_row(
                r.try_get::<_, &str>(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            )?;
            found.insert(up.bundle_id.clone(), up);
        }
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    fn open_findings(&self, severity: &str) -> Result<Vec<(String, String)>, Error> {
        self.lock()
            .query(query::OPEN_FINDINGS, &[&severity])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    fn intake_decisions(&self, purls: &[String]) -> Result<Vec<crate::index::IntakeRecord>, Error> {
        let keys: std::collections::BTreeSet<&str> =
            purls.iter().map(|p| crate::index::purl_key(p)).collect();
        let mut out = Vec::new();
        if keys.is_empty() {
            return Ok(out);
        }
        // One round trip for every key (a trace asks about every dependency at once).
        let keys: Vec<&str> = keys.into_iter().collect();
        for r in self.lock().query(query::INTAKE_OF_ANY, &[&keys])? {
            out.push(crate::index::IntakeRecord {
                purl: r.try_get(0)?,
                verdict: r.try_get(1)?,
                bundle_id: query::parse_digest(r.try_get::<_, &str>(2)?)?,
                subject: query::parse_digest(r.try_get::<_, &str>(4)?)?,
                recorded_at: r.try_get(3)?,
            });
        }
        out.sort_by(|a, b| (a.recorded_at, &a.bundle_id).cmp(&(b.recorded_at, &b.bundle_id)));
        Ok(out)
    }

    fn put_deployments(&mut self, deployments: &[crate::Deployment]) -> Result<(), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        for d in deployments {
            let log_index = query::log_index_param(d.log_index)?;
            tx.execute(
                query::INSERT_DEPLOYMENT,
                &[
                    &d.digest.to_string(),
                    &d.at,
                    &d.allowed,
                    &d.operation,
                    &d.kind,
                    &d.namespace,
                    &d.name,
                    &log_index,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn holdings(&self, subjects: &[Digest], key_ids: &[String]) -> Result<crate::Holdings, Error> {
        let subjects: Vec<String> = subjects.iter().map(Digest::to_string).collect();
        let mut out = crate::Holdings::default();
        for r in self.lock().query(query::HOLDINGS, &[&subjects, &key_ids])? {
            let first: String = r.try_get(0)?;
            match r.try_get::<_, Option<String>>(1)? {
                Some(bundle) => out
                    .bundles
                    .push((query::parse_digest(&first)?, query::parse_digest(&bundle)?)),
                None => out.revocations.push(query::revocation_from_row(
                    first,
                    r.try_get::<_, Option<i64>>(2)?.unwrap_or_default(),
                    r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                )),
            }
        }
        out.sort();
        Ok(out)
    }

    fn deployments(&self, digest: &Digest, limit: u32) -> Result<Vec<crate::Deployment>, Error> {
        let rows = self.lock().query(
            query::DEPLOYMENTS_OF,
            &[&digest.to_string(), &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                query::deployment_from_row((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                    r.try_get(7)?,
                ))
            })
            .collect()
    }

    fn trace_reads(
        &self,
        purls: &[String],
        digest: &Digest,
        limit: u32,
    ) -> Result<(Vec<crate::index::IntakeRecord>, Vec<crate::Deployment>), Error> {
        let keys: std::collections::BTreeSet<&str> =
            purls.iter().map(|p| crate::index::purl_key(p)).collect();
        let keys: Vec<&str> = keys.into_iter().collect();
        let digest_text = digest.to_string();
        let rows = self.lock().query(
            query::TRACE_READS,
            &[&keys, &digest_text, &i64::from(limit)],
        )?;
        let mut intake = Vec::new();
        let mut reviews = Vec::new();
        for r in rows {
            if r.try_get::<_, &str>(0)? == "i" {
                intake.push(crate::index::IntakeRecord {
                    purl: r.try_get(1)?,
                    verdict: r.try_get(2)?,
                    bundle_id: query::parse_digest(r.try_get::<_, &str>(3)?)?,
                    subject: query::parse_digest(r.try_get::<_, &str>(4)?)?,
                    recorded_at: r.try_get(5)?,
                });
            } else {
                let rank: i64 = r.try_get(8)?;
                let review = query::deployment_from_row((
                    digest_text.clone(),
                    r.try_get(5)?,
                    r.try_get(7)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(6)?,
                ))?;
                reviews.push((rank, review));
            }
        }
        // As `intake_decisions` and `deployments` order them.
        intake.sort_by(|a, b| {
            (a.recorded_at, &a.bundle_id, &a.purl).cmp(&(b.recorded_at, &b.bundle_id, &b.purl))
        });
        reviews.sort_by_key(|(rank, _)| *rank);
        Ok((intake, reviews.into_iter().map(|(_, d)| d).collect()))
    }

    fn each_build_after(
        &self,
        seq: u64,
        each: &mut dyn FnMut(StoredBuild<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut client = self.lock();
        for r in client.query(query::BUILDS_AFTER, &[&query::signed(seq)])? {
            each(StoredBuild {
                seq: query::unsigned("build seq", r.try_get(0)?)?,
                id: r.try_get(1)?,
                record: r.try_get(2)?,
                recorded_at: r.try_get(3)?,
            })?;
        }
        Ok(())
    }

    fn watch_cursor(&self) -> Result<Option<String>, Error> {
        let mut client = self.lock();
        Ok(match client.query_opt(query::WATCH_CURSOR, &[])? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    fn watch_states(&self, kind: &str, names: &[String]) -> Result<Vec<(String, String)>, Error> {
        let mut client = self.lock();
        let mut out = Vec::new();
        for name in names {
            if let Some(r) = client.query_opt(query::WATCH_STATE_OF, &[&kind, name])? {
                out.push((name.clone(), r.try_get(0)?));
            }
        }
        Ok(out)
    }

    fn watch_alerts(&self, since: i64) -> Result<Vec<WatchAlert>, Error> {
        let mut client = self.lock();
        let rows = client.query(query::WATCH_ALERTS_SINCE, &[&since])?;
        rows.iter()
            .map(|r| {
                let ordinal: i32 = r.try_get(1)?;
                let rank: i32 = r.try_get(4)?;
                Ok(WatchAlert {
                    build_seq: query::unsigned("alert build seq", r.try_get(0)?)?,
                    ordinal: u32::try_from(ordinal)
                        .map_err(|_| Error::Corrupt(format!("alert ordinal {ordinal}")))?,
                    at: r.try_get(2)?,
                    build: r.try_get(3)?,
                    rank: u32::try_from(rank)
                        .map_err(|_| Error::Corrupt(format!("alert rank {rank}")))?,
                    alert: r.try_get(5)?,
                })
            })
            .collect()
    }

    fn put_watch(&mut self, u: &WatchUpdate) -> Result<(), Error> {
        let mut client = self.lock();
        let mut tx = client.transaction()?;
        let moved = match &u.expected {
            Some(old) => tx.execute(query::MOVE_WATCH_CURSOR, &[&u.cursor, old])?,
            None => tx.execute(query::FIRST_WATCH_CURSOR, &[&u.cursor])?,
        };
        if moved != 1 {
            return Err(Error::WatchMoved);
        }
        if u.reset {
            tx.execute(query::CLEAR_WATCH_STATE, &[])?;
            tx.execute(query::CLEAR_WATCH_ALERTS, &[])?;
        }
        for (kind, name, state) in &u.states {
            tx.execute(query::PUT_WATCH_STATE, &[kind, name, state])?;
        }
        for a in &u.alerts {
            let ordinal = i32::try_from(a.ordinal).unwrap_or(i32::MAX);
            let rank = i32::try_from(a.rank).unwrap_or(i32::MAX);
            tx.execute(
                query::INSERT_WATCH_ALERT,
                &[
                    &query::signed(a.build_seq),
                    &ordinal,
                    &a.at,
                    &a.build,
                    &rank,
                    &a.alert,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn build_figures_since(&self, since: i64) -> Result<Vec<crate::index::BuildFigures>, Error> {
        self.lock()
            .query(query::BUILD_FIGURES_SINCE, &[&since])?
            .iter()
            .map(|r| {
                Ok(crate::index::BuildFigures {
                    recorded_at: r.try_get(0)?,
                    reproducible: r.try_get(1)?,
                    setup_ms: r.try_get(2)?,
                    duration_ms: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn builds_since(&self, since: i64) -> Result<Vec<BuildRecord>, Error> {
        let mut client = self.lock();
        let rows = client
            .query(query::BUILDS_SINCE, &[&since])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let outputs = client
            .query(query::OUTPUTS_SINCE, &[&since])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        query::builds_with_outputs(rows, outputs)
    }
}
