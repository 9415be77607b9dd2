//! SQL and row conversions shared by both backends. The statements use `$N` placeholders,
//! which PostgreSQL numbers natively and SQLite binds in order of first appearance.

use zt_core::Digest;
use zt_core::config::Stage;

use crate::{
    BuildRecord, BundleIndex, BundleQuery, Error, EvidenceQuery, MAX_PAGE, Revocation,
    StoredBundle, Upload,
};

/// An access record as a row: its columns in `INSERT_ACCESS` / `SELECT_ACCESS` order.
pub(crate) type AccessRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

pub(crate) fn access_from_row(r: AccessRow) -> crate::AccessRecord {
    crate::AccessRecord {
        seq: r.0 as u64,
        log_index: r.1 as u64,
        at: r.2,
        action: r.3,
        decision: r.4,
        reason: r.5,
        secret: r.6,
        repository: r.7,
        who: r.8,
        entry: r.9,
    }
}

/// The schema, one migration per version step: `MIGRATIONS[i]` takes a ledger from version
/// `i` to `i + 1`. Both backends run the same statements.
pub(crate) const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE bundles (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        predicate_type TEXT,
        key_id TEXT,
        log_index BIGINT,
        stage TEXT,
        recorded_at BIGINT NOT NULL
    )",
        "CREATE TABLE bundle_subjects (
        digest TEXT NOT NULL,
        bundle_id TEXT NOT NULL REFERENCES bundles (id),
        PRIMARY KEY (digest, bundle_id)
    )",
        "CREATE INDEX bundles_by_predicate_type ON bundles (predicate_type)",
        "CREATE INDEX bundles_by_key_id ON bundles (key_id)",
        "CREATE INDEX bundles_by_log_index ON bundles (log_index)",
        "CREATE TABLE builds (
        id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        recorded_at BIGINT NOT NULL
    )",
        "CREATE TABLE build_outputs (
        digest TEXT NOT NULL,
        build_id TEXT NOT NULL REFERENCES builds (id),
        PRIMARY KEY (digest, build_id)
    )",
        "CREATE TABLE revocations (
        key_id TEXT PRIMARY KEY,
        revoked_at BIGINT NOT NULL,
        reason TEXT NOT NULL
    )",
    ],
    // Version 2: the secrets broker's access records (zt-secrets), each a copy of a transparency
    // log entry, numbered without gaps by `seq`.
    &[
        "CREATE TABLE access_records (
        seq BIGINT PRIMARY KEY,
        log_index BIGINT NOT NULL,
        at BIGINT NOT NULL,
        action TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        secret TEXT,
        repository TEXT,
        who TEXT NOT NULL,
        entry TEXT NOT NULL
    )",
        "CREATE INDEX access_records_by_secret ON access_records (secret)",
        "CREATE INDEX access_records_by_repository ON access_records (repository)",
        "CREATE INDEX access_records_by_at ON access_records (at)",
    ],
    // Version 3: the evidence hub (`zt serve`). Commits a bundle names are indexed; every
    // listing is ordered by `(recorded_at, id)`, so the indexes end in those columns and a
    // page is one index range scan (keyset paging); subjects and outputs are read back by
    // bundle and build. `uploads` holds who uploaded a bundle and its access record's index
    // in the server's log.
    &[
        "CREATE TABLE bundle_commits (
        commit_id TEXT NOT NULL,
        bundle_id TEXT NOT NULL REFERENCES bundles (id),
        PRIMARY KEY (commit_id, bundle_id)
    )",
        "CREATE TABLE uploads (
        bundle_id TEXT PRIMARY KEY REFERENCES bundles (id),
        log_index BIGINT NOT NULL,
        who TEXT NOT NULL,
        at BIGINT NOT NULL
    )",
        "DROP INDEX IF EXISTS bundles_by_predicate_type",
        "DROP INDEX IF EXISTS bundles_by_key_id",
        "CREATE INDEX bundles_by_time ON bundles (recorded_at, id)",
        "CREATE INDEX bundles_by_predicate_type ON bundles (predicate_type, recorded_at, id)",
        "CREATE INDEX bundles_by_key_id ON bundles (key_id, recorded_at, id)",
        "CREATE INDEX bundle_subjects_by_bundle ON bundle_subjects (bundle_id)",
        "CREATE INDEX bundle_commits_by_bundle ON bundle_commits (bundle_id)",
        "CREATE INDEX build_outputs_by_build ON build_outputs (build_id)",
    ],
    // Version 4: vulnerability scans indexed (`index::scan_of`): every scan's findings, and
    // the latest scan of each SBOM, so that "open criticals" is one join over the latest scans
    // rather than a read of every scan bundle. A ledger upgraded from version 3 has its
    // recorded scans indexed by the backend right after these statements (`backfill_scans`).
    &[
        "CREATE TABLE scan_findings (
        bundle_id TEXT NOT NULL REFERENCES bundles (id),
        advisory TEXT NOT NULL,
        package TEXT NOT NULL,
        severity TEXT NOT NULL,
        waived BOOLEAN NOT NULL
    )",
        "CREATE INDEX scan_findings_by_bundle ON scan_findings (bundle_id, severity)",
        "CREATE TABLE latest_scans (
        sbom TEXT PRIMARY KEY,
        bundle_id TEXT NOT NULL REFERENCES bundles (id),
        recorded_at BIGINT NOT NULL
    )",
        // A build's figures (`index::build_figures`) beside its record, so that the metrics
        // over a period read three numbers per build rather than every record's JSON.
        "ALTER TABLE builds ADD COLUMN reproducible BOOLEAN",
        "ALTER TABLE builds ADD COLUMN setup_ms BIGINT",
        "ALTER TABLE builds ADD COLUMN duration_ms BIGINT",
        "CREATE INDEX builds_by_time ON builds (recorded_at, id)",
        // Intake decisions by package (`index::intake_of`; the purl without qualifiers), so
        // that an artifact's dependencies show what intake decided about each.
        "CREATE TABLE intake_decisions (
        purl TEXT NOT NULL,
        bundle_id TEXT NOT NULL REFERENCES bundles (id),
        named TEXT NOT NULL,
        verdict TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        PRIMARY KEY (purl, bundle_id)
    )",
        // Deploy admission reviews by image digest (the review itself is a log entry).
        "CREATE TABLE deployments (
        digest TEXT NOT NULL,
        at BIGINT NOT NULL,
        allowed BOOLEAN NOT NULL,
        operation TEXT NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        log_index BIGINT
    )",
        "CREATE UNIQUE INDEX deployments_once ON deployments
        (digest, at, kind, namespace, name, operation, COALESCE(log_index, -1))",
    ],
    // Version 5: the incremental watch. Each build gets its place in the order of recording
    // (`seq`: 1, 2, 3, … assigned under the write lock, so a reader that has seen `seq` n has
    // seen every build below it); builds recorded before are numbered by (time, id), the
    // order they were listed in. `watch_state` holds `zt watch`'s baselines (zt-watch's JSON,
    // one row per pipeline and per repository, and the cursor: the last build they include);
    // `watch_alerts` the alerts of every build the baselines include.
    &[
        "ALTER TABLE builds ADD COLUMN seq BIGINT",
        "UPDATE builds SET seq = r.n FROM
        (SELECT id, row_number() OVER (ORDER BY recorded_at, id) AS n FROM builds) r
        WHERE builds.id = r.id",
        "CREATE UNIQUE INDEX builds_by_seq ON builds (seq)",
        "CREATE TABLE watch_state (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    )",
        "CREATE TABLE watch_alerts (
        build_seq BIGINT NOT NULL,
        ordinal INTEGER NOT NULL,
        at BIGINT NOT NULL,
        build TEXT NOT NULL,
        rank INTEGER NOT NULL,
        alert TEXT NOT NULL,
        PRIMARY KEY (build_seq, ordinal)
    )",
        "CREATE INDEX watch_alerts_by_time ON watch_alerts (at)",
    ],
];

/// The schema version that added the scan index (a ledger migrated from below it has its
/// recorded scans indexed once).
pub(crate) const SCANS_SINCE_VERSION: u32 = 4;

pub(crate) const INSERT_SCAN_FINDING: &str = "INSERT INTO scan_findings
     (bundle_id, advisory, package, severity, waived) VALUES ($1, $2, $3, $4, $5)";
/// Makes a scan the latest of its SBOM unless a later one (by time, then id) is there.
pub(crate) const UPSERT_LATEST_SCAN: &str = "INSERT INTO latest_scans (sbom, bundle_id, recorded_at)
     VALUES ($1, $2, $3)
     ON CONFLICT (sbom) DO UPDATE SET bundle_id = excluded.bundle_id, recorded_at = excluded.recorded_at
     WHERE excluded.recorded_at > latest_scans.recorded_at
        OR (excluded.recorded_at = latest_scans.recorded_at AND excluded.bundle_id > latest_scans.bundle_id)";
pub(crate) const OPEN_FINDINGS: &str = "SELECT DISTINCT f.advisory, f.package FROM latest_scans l
     JOIN scan_findings f ON f.bundle_id = l.bundle_id AND f.severity = $1
     WHERE NOT f.waived ORDER BY f.advisory, f.package";
pub(crate) const INSERT_INTAKE: &str = "INSERT INTO intake_decisions
     (purl, bundle_id, named, verdict, recorded_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING";
pub(crate) const INSERT_DEPLOYMENT: &str = "INSERT INTO deployments
     (digest, at, allowed, operation, kind, namespace, name, log_index)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
pub(crate) const DEPLOYMENTS_OF: &str = "SELECT digest, at, allowed, operation, kind, namespace,
     name, log_index FROM deployments WHERE digest = $1
     ORDER BY at DESC, log_index DESC LIMIT $2";
/// The intake decisions about one purl key (called once per key).
pub(crate) const INTAKE_OF: &str = "SELECT i.named, i.verdict, i.bundle_id, i.recorded_at,
     (SELECT min(s.digest) FROM bundle_subjects s WHERE s.bundle_id = i.bundle_id)
     FROM intake_decisions i WHERE i.purl = $1 ORDER BY i.recorded_at, i.bundle_id";
/// The intake decisions about any of an array of purl keys, in one PostgreSQL round trip.
#[cfg(feature = "postgres")]
pub(crate) const INTAKE_OF_ANY: &str = "SELECT i.named, i.verdict, i.bundle_id, i.recorded_at,
     (SELECT min(s.digest) FROM bundle_subjects s WHERE s.bundle_id = i.bundle_id)
     FROM intake_decisions i WHERE i.purl = ANY($1)
     ORDER BY i.recorded_at, i.bundle_id, i.purl";

/// [`INTAKE_OF_ANY`] and [`DEPLOYMENTS_OF`] in one round trip (a trace reads both): rows
/// `('i', named, verdict, bundle_id, subject, recorded_at, NULL, NULL, NULL)` and
/// `('d', operation, kind, namespace, name, at, log_index, allowed, rank)`, the reviews ranked
/// in `DEPLOYMENTS_OF`'s order.
#[cfg(feature = "postgres")]
pub(crate) const TRACE_READS: &str = "SELECT 'i'::TEXT, i.named, i.verdict, i.bundle_id,
     (SELECT min(s.digest) FROM bundle_subjects s WHERE s.bundle_id = i.bundle_id),
     i.recorded_at, NULL::BIGINT, NULL::BOOLEAN, NULL::BIGINT
     FROM intake_decisions i WHERE i.purl = ANY($1)
     UNION ALL
     SELECT 'd', operation, kind, namespace, name, at, log_index, allowed,
     row_number() OVER (ORDER BY at DESC, log_index DESC)
     FROM (SELECT operation, kind, namespace, name, at, log_index, allowed FROM deployments
           WHERE digest = $2 ORDER BY at DESC, log_index DESC LIMIT $3) d";

/// The recorded scans (and intake decisions) a ledger upgraded to [`SCANS_SINCE_VERSION`]
/// indexes.
pub(crate) const SCAN_BUNDLES: &str =
    "SELECT id, json, recorded_at FROM bundles WHERE predicate_type = $1 OR predicate_type = $2";

/// The table holding the schema version (`key = 'schema_version'`).
pub(crate) const CREATE_META: &str =
    "CREATE TABLE IF NOT EXISTS zt_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)";
pub(crate) const READ_VERSION: &str = "SELECT value FROM zt_meta WHERE key = 'schema_version'";
pub(crate) const WRITE_VERSION: &str =
    "INSERT INTO zt_meta (key, value) VALUES ('schema_version', $1)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub(crate) const INSERT_BUNDLE: &str = "INSERT INTO bundles
     (id, json, predicate_type, key_id, log_index, stage, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";
pub(crate) const INSERT_SUBJECT: &str = "INSERT INTO bundle_subjects (digest, bundle_id)
     VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const INSERT_COMMIT: &str = "INSERT INTO bundle_commits (commit_id, bundle_id)
     VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const INSERT_UPLOAD: &str = "INSERT INTO uploads (bundle_id, log_index, who, at)
     VALUES ($1, $2, $3, $4) ON CONFLICT (bundle_id) DO NOTHING";
pub(crate) const UPLOAD_OF: &str =
    "SELECT bundle_id, log_index, who, at FROM uploads WHERE bundle_id = $1";
/// [`UPLOAD_OF`] for several bundles (PostgreSQL: an array of ids).
pub(crate) const UPLOADS_OF: &str =
    "SELECT bundle_id, log_index, who, at FROM uploads WHERE bundle_id = ANY($1)";
pub(crate) const SUBJECTS_OF: &str =
    "SELECT digest FROM bundle_subjects WHERE bundle_id = $1 ORDER BY digest";
const BUNDLE_COLUMNS: &str = "SELECT b.id, b.json, b.predicate_type, b.key_id, b.log_index, b.stage, b.recorded_at FROM bundles b";

/// `sql` (a query made from `BUNDLE_COLUMNS`) with each bundle's subjects as an eighth column,
/// a PostgreSQL array sorted as [`SUBJECTS_OF`] sorts them; `None` for any other query.
#[cfg(feature = "postgres")]
pub(crate) fn with_subjects_array(sql: &str) -> Option<String> {
    let rest = sql.strip_prefix(BUNDLE_COLUMNS)?;
    let columns = BUNDLE_COLUMNS.strip_suffix(" FROM bundles b")?;
    Some(format!(
        "{columns}, ARRAY(SELECT s_.digest FROM bundle_subjects s_ WHERE s_.bundle_id = b.id ORDER BY s_.digest) FROM bundles b{rest}"
    ))
}

/// A build takes the next `seq`; the caller holds the ledger's write lock (SQLite: the
/// statement itself; PostgreSQL: [`BUILD_SEQ_LOCK`]), so numbers are given and committed in
/// order.
pub(crate) const INSERT_BUILD: &str = "INSERT INTO builds
     (id, record, recorded_at, reproducible, setup_ms, duration_ms, seq)
     VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(seq), 0) + 1 FROM builds))
     ON CONFLICT (id) DO NOTHING";
/// Serialises build writers on PostgreSQL until their transaction ends: a build numbered n
/// is committed before n + 1 is given.
#[cfg(feature = "postgres")]
pub(crate) const BUILD_SEQ_LOCK: &str = "SELECT pg_advisory_xact_lock(7420421)";
pub(crate) const SET_BUILD_FIGURES: &str =
    "UPDATE builds SET reproducible = $1, setup_ms = $2, duration_ms = $3 WHERE id = $4";
/// The builds a ledger upgraded to [`SCANS_SINCE_VERSION`] takes the figures of.
pub(crate) const ALL_BUILDS: &str = "SELECT id, record FROM builds";
pub(crate) const BUILD_FIGURES_SINCE: &str =
    "SELECT recorded_at, reproducible, setup_ms, duration_ms
     FROM builds WHERE recorded_at >= $1 ORDER BY recorded_at, id";
pub(crate) const INSERT_OUTPUT: &str = "INSERT INTO build_outputs (digest, build_id)
     VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const BUILD_BY_ID: &str = "SELECT id, record, recorded_at FROM builds WHERE id = $1";
pub(crate) const BUILDS_PRODUCING: &str = "SELECT b.id, b.record, b.recorded_at FROM builds b
     JOIN build_outputs o ON o.build_id = b.id WHERE o.digest = $1
     ORDER BY b.recorded_at, b.id";
pub(crate) const OUTPUTS_OF: &str =
    "SELECT digest FROM build_outputs WHERE build_id = $1 ORDER BY digest";

pub(crate) const INSERT_ACCESS: &str = "INSERT INTO access_records
     (seq, log_index, at, action, decision, reason, secret, repository, who, entry)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (seq) DO NOTHING";
pub(crate) const SELECT_ACCESS: &str = "SELECT seq, log_index, at, action, decision, reason,
     secret, repository, who, entry FROM access_records
     WHERE (CAST($1 AS TEXT) IS NULL OR secret = $1)
       AND (CAST($2 AS TEXT) IS NULL OR repository = $2)
       AND (CAST($3 AS BIGINT) IS NULL OR at >= $3)
     ORDER BY seq";

pub(crate) const INSERT_REVOCATION: &str = "INSERT INTO revocations (key_id, revoked_at, reason)
     VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING";
pub(crate) const REVOCATION_OF: &str =
    "SELECT key_id, revoked_at, reason FROM revocations WHERE key_id = $1";
/// The bundle ids about one subject (an index-only scan of the subjects' primary key).
pub(crate) const BUNDLE_IDS_ABOUT: &str = "SELECT bundle_id FROM bundle_subjects WHERE digest = $1";
/// [`crate::Ledger::holdings`] in one PostgreSQL round trip: `(subject, bundle id)` rows, then
/// revocation rows (`bundle_id` NULL).
#[cfg(feature = "postgres")]
pub(crate) const HOLDINGS: &str = "SELECT digest, bundle_id, NULL::BIGINT, NULL::TEXT
     FROM bundle_subjects WHERE digest = ANY($1)
     UNION ALL
     SELECT key_id, NULL, revoked_at, reason FROM revocations WHERE key_id = ANY($2)";
pub(crate) const ALL_REVOCATIONS: &str =
    "SELECT key_id, revoked_at, reason FROM revocations ORDER BY revoked_at, key_id";

/// A bound parameter, in a form both drivers accept.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    /// A NULL in a text column.
    NullText,
    /// A NULL in an integer column.
    NullInt,
}

/// `SELECT … WHERE …` for a bundle query, with its parameters.
pub(crate) fn select_bundles(q: &BundleQuery) -> (String, Vec<Param>) {
    let mut sql = String::from(BUNDLE_COLUMNS);
    let mut params = Vec::new();
    let mut clauses: Vec<String> = Vec::new();
    if let Some(d) = &q.subject {
        params.push(Param::Text(d.to_string()));
        // A join, not `EXISTS`: SQLite plans a correlated `EXISTS` as a scan of every bundle
        // in `(recorded_at, id)` order with a probe each (1.3 s at 1M bundles); the join
        // looks the digest up in the subjects' key and sorts the few rows found.
        sql.push_str(&format!(
            " JOIN bundle_subjects s ON s.bundle_id = b.id AND s.digest = ${}",
            params.len()
        ));
    }
    if let Some(t) = &q.predicate_type {
        params.push(Param::Text(t.clone()));
        clauses.push(format!("b.predicate_type = ${}", params.len()));
    }
    if let Some(k) = &q.key_id {
        params.push(Param::Text(k.clone()));
        clauses.push(format!("b.key_id = ${}", params.len()));
    }
    if let Some(i) = q.log_index {
        params.push(Param::Int(i64::try_from(i).unwrap_or(i64::MAX)));
        clauses.push(format!("b.log_index = ${}", params.len()));
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY b.recorded_at, b.id");
    (sql, params)
}

/// `SELECT … WHERE … ORDER BY recorded_at, id LIMIT n` for one page of an evidence query:
/// keyset paging on `(recorded_at, id)` from the query's position.
pub(crate) fn select_evidence(q: &EvidenceQuery) -> (String, Vec<Param>) {
    let mut sql = String::from(BUNDLE_COLUMNS);
    let mut params = Vec::new();
    let mut clauses: Vec<String> = Vec::new();
    if let Some(d) = &q.subject {
        params.push(Param::Text(d.to_string()));
        sql.push_str(&format!(
            " JOIN bundle_subjects s ON s.bundle_id = b.id AND s.digest = ${}",
            params.len()
        ));
    }
    if let Some(c) = &q.commit {
        params.push(Param::Text(c.to_ascii_lowercase()));
        sql.push_str(&format!(
            " JOIN bundle_commits c ON c.bundle_id = b.id AND c.commit_id = ${}",
            params.len()
        ));
    }
    if let Some(t) = &q.predicate_type {
        params.push(Param::Text(t.clone()));
        clauses.push(format!("b.predicate_type = ${}", params.len()));
    }
    if let Some(k) = &q.key_id {
        params.push(Param::Text(k.clone()));
        clauses.push(format!("b.key_id = ${}", params.len()));
    }
    if let Some(t) = q.since {
        params.push(Param::Int(t));
        clauses.push(format!("b.recorded_at >= ${}", params.len()));
    }
    if let Some(t) = q.until {
        params.push(Param::Int(t));
        clauses.push(format!("b.recorded_at < ${}", params.len()));
    }
    if let Some(after) = &q.after {
        params.push(Param::Int(after.recorded_at));
        params.push(Param::Text(after.id.to_string()));
        clauses.push(format!(
            "(b.recorded_at, b.id) > (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    params.push(Param::Int(i64::from(q.limit.clamp(1, MAX_PAGE))));
    sql.push_str(&format!(
        " ORDER BY b.recorded_at, b.id LIMIT ${}",
        params.len()
    ));
    (sql, params)
}

/// `SELECT … WHERE id = $1` for one bundle.
pub(crate) fn select_bundle_by_id() -> String {
    format!("{BUNDLE_COLUMNS} WHERE b.id = $1")
}

/// A `bundles` row as read, before its subjects are attached.
pub(crate) struct BundleRow {
    pub(crate) id: String,
    pub(crate) json: String,
    pub(crate) predicate_type: Option<String>,
    pub(crate) key_id: Option<String>,
    pub(crate) log_index: Option<i64>,
    pub(crate) stage: Option<String>,
    pub(crate) recorded_at: i64,
}

impl BundleRow {
    pub(crate) fn into_bundle(self, subjects: Vec<String>) -> Result<StoredBundle, Error> {
        let id = parse_digest(&self.id)?;
        let subjects = subjects
            .iter()
            .map(|s| parse_digest(s))
            .collect::<Result<Vec<_>, _>>()?;
        let stage = self
            .stage
            .map(|s| {
                s.parse::<Stage>()
                    .map_err(|_| Error::Corrupt(format!("bundle {id}: unknown stage `{s}`")))
            })
            .transpose()?;
        let log_index = self
            .log_index
            .map(|i| {
                u64::try_from(i)
                    .map_err(|_| Error::Corrupt(format!("bundle {id}: negative log index")))
            })
            .transpose()?;
        Ok(StoredBundle {
            id,
            json: self.json,
            index: BundleIndex {
                subjects,
                predicate_type: self.predicate_type,
                key_id: self.key_id,
                log_index,
                stage,
                recorded_at: self.recorded_at,
            },
        })
    }
}

/// The parameters of [`INSERT_BUNDLE`], in order.
pub(crate) fn bundle_params(id: &Digest, json: &str, index: &BundleIndex) -> Vec<Param> {
    let opt = |v: &Option<String>| v.clone().map_or(Param::NullText, Param::Text);
    vec![
        Param::Text(id.to_string()),
        Param::Text(json.to_string()),
        opt(&index.predicate_type),
        opt(&index.key_id),
        index.log_index.map_or(Param::NullInt, |i| {
            Param::Int(i64::try_from(i).unwrap_or(i64::MAX))
        }),
        index
            .stage
            .map_or(Param::NullText, |s| Param::Text(s.name().to_string())),
        Param::Int(index.recorded_at),
    ]
}

/// Subjects, deduplicated and sorted, as stored.
pub(crate) fn subject_keys(index: &BundleIndex) -> Vec<String> {
    let mut v: Vec<String> = index.subjects.iter().map(Digest::to_string).collect();
    v.sort();
    v.dedup();
    v
}

/// Outputs, deduplicated and sorted, as stored.
pub(crate) fn output_keys(build: &BuildRecord) -> Vec<String> {
    let mut v: Vec<String> = build.outputs.iter().map(Digest::to_string).collect();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn parse_digest(s: &str) -> Result<Digest, Error> {
    s.parse::<Digest>()
        .map_err(|e| Error::Corrupt(format!("digest `{s}`: {e}")))
}

pub(crate) fn build_from_row(
    id: String,
    record: &str,
    recorded_at: i64,
    outputs: Vec<String>,
) -> Result<BuildRecord, Error> {
    let record = serde_json::from_str(record)
        .map_err(|e| Error::Corrupt(format!("build `{id}` record: {e}")))?;
    let outputs = outputs
        .iter()
        .map(|s| parse_digest(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BuildRecord {
        id,
        outputs,
        recorded_at,
        record,
    })
}

/// Whether a stored build equals the one offered (outputs compared as sets).
pub(crate) fn same_build(stored: &BuildRecord, offered: &BuildRecord) -> bool {
    let mut a: Vec<String> = stored.outputs.iter().map(Digest::to_string).collect();
    let b = output_keys(offered);
    a.sort();
    a.dedup();
    stored.recorded_at == offered.recorded_at && stored.record == offered.record && a == b
}

pub(crate) fn revocation_from_row(key_id: String, revoked_at: i64, reason: String) -> Revocation {
    Revocation {
        key_id,
        revoked_at,
        reason,
    }
}

pub(crate) fn parse_version(location: &str, text: &str) -> Result<u32, Error> {
    text.parse::<u32>()
        .map_err(|_| Error::Corrupt(format!("{location}: schema version `{text}`")))
}

/// The parameters of [`INSERT_UPLOAD`], in order.
pub(crate) fn upload_params(id: &Digest, u: &Upload) -> Vec<Param> {
    vec![
        Param::Text(id.to_string()),
        Param::Int(i64::try_from(u.log_index).unwrap_or(i64::MAX)),
        Param::Text(u.who.clone()),
        Param::Int(u.at),
    ]
}

/// The [`crate::Put`] of one upload among several stored in one transaction
/// ([`crate::Ledger::put_uploads`]), from what storing it did: `bundle`, its bundle's row, and
/// `recorded`, whether its upload record was inserted. An upload record already present is
/// the first upload's, so the bundle's row must have been present too; when it was not (this
/// transaction stored the bundle, someone else its upload), `put_upload` alone would take the
/// bundle's rows back with its transaction — here that would take the others' too, so the
/// whole call fails with [`Error::Conflict`] and the caller stores them one by one.
pub(crate) fn grouped_upload(
    id: &Digest,
    bundle: crate::Put,
    recorded: bool,
) -> Result<crate::Put, Error> {
    match (recorded, bundle) {
        (true, _) => Ok(crate::Put::Inserted),
        (false, crate::Put::Inserted) => Err(Error::Conflict {
            what: "upload",
            id: id.to_string(),
        }),
        (false, crate::Put::AlreadyPresent) => Ok(crate::Put::AlreadyPresent),
    }
}

pub(crate) fn upload_from_row(
    id: &str,
    log_index: i64,
    who: String,
    at: i64,
) -> Result<Upload, Error> {
    Ok(Upload {
        bundle_id: parse_digest(id)?,
        log_index: u64::try_from(log_index)
            .map_err(|_| Error::Corrupt(format!("upload {id}: negative log index")))?,
        who,
        at,
    })
}

/// `builds_since`: the builds, then all their outputs (grouped by the caller).
pub(crate) const BUILDS_SINCE: &str =
    "SELECT id, record, recorded_at FROM builds WHERE recorded_at >= $1 ORDER BY recorded_at, id";
pub(crate) const OUTPUTS_SINCE: &str = "SELECT o.build_id, o.digest FROM build_outputs o
     JOIN builds b ON b.id = o.build_id WHERE b.recorded_at >= $1 ORDER BY o.build_id, o.digest";

/// Puts each build's outputs (`(build id, digest)` rows) with it.
pub(crate) fn builds_with_outputs(
    rows: Vec<(String, String, i64)>,
    outputs: Vec<(String, String)>,
) -> Result<Vec<BuildRecord>, Error> {
    let mut by_build: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for (id, digest) in outputs {
        by_build.entry(id).or_default().push(digest);
    }
    rows.into_iter()
        .map(|(id, record, at)| {
            let outputs = by_build.remove(&id).unwrap_or_default();
            build_from_row(id, &record, at, outputs)
        })
        .collect()
}

/// A deployment row: digest, at, allowed, operation, kind, namespace, name, log index.
pub(crate) type DeploymentRow = (
    String,
    i64,
    bool,
    String,
    String,
    String,
    String,
    Option<i64>,
);

pub(crate) fn deployment_from_row(r: DeploymentRow) -> Result<crate::Deployment, Error> {
    Ok(crate::Deployment {
        digest: parse_digest(&r.0)?,
        at: r.1,
        allowed: r.2,
        operation: r.3,
        kind: r.4,
        namespace: r.5,
        name: r.6,
        log_index: r.7.map(|i| i as u64),
    })
}

/// A log index as a BIGINT parameter (refused above `i64::MAX`).
pub(crate) fn log_index_param(i: Option<u64>) -> Result<Option<i64>, Error> {
    i.map(|i| {
        i64::try_from(i).map_err(|_| Error::InvalidBundle(format!("log index {i} is out of range")))
    })
    .transpose()
}

/// `builds_after`: the builds recorded after `seq`, in the order they were recorded.
pub(crate) const BUILDS_AFTER: &str =
    "SELECT seq, id, record, recorded_at FROM builds WHERE seq > $1 ORDER BY seq";

/// The watch's cursor row (`kind = 'cursor'`).
pub(crate) const WATCH_CURSOR: &str =
    "SELECT state FROM watch_state WHERE kind = 'cursor' AND name = ''";
pub(crate) const WATCH_STATE_OF: &str =
    "SELECT state FROM watch_state WHERE kind = $1 AND name = $2";
/// Moves the cursor only from where the caller read it (an optimistic lock).
pub(crate) const MOVE_WATCH_CURSOR: &str =
    "UPDATE watch_state SET state = $1 WHERE kind = 'cursor' AND name = '' AND state = $2";
pub(crate) const FIRST_WATCH_CURSOR: &str = "INSERT INTO watch_state (kind, name, state)
     VALUES ('cursor', '', $1) ON CONFLICT (kind, name) DO NOTHING";
pub(crate) const PUT_WATCH_STATE: &str = "INSERT INTO watch_state (kind, name, state)
     VALUES ($1, $2, $3) ON CONFLICT (kind, name) DO UPDATE SET state = excluded.state";
pub(crate) const CLEAR_WATCH_STATE: &str = "DELETE FROM watch_state WHERE kind <> 'cursor'";
pub(crate) const CLEAR_WATCH_ALERTS: &str = "DELETE FROM watch_alerts";
pub(crate) const INSERT_WATCH_ALERT: &str = "INSERT INTO watch_alerts
     (build_seq, ordinal, at, build, rank, alert) VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const WATCH_ALERTS_SINCE: &str = "SELECT build_seq, ordinal, at, build, rank, alert
     FROM watch_alerts WHERE at >= $1";

/// A `seq` or ordinal read back: never negative in a ledger zt wrote.
pub(crate) fn unsigned(what: &str, n: i64) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| Error::Corrupt(format!("{what}: negative number {n}")))
}

/// A `seq` or ordinal as a column value.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
