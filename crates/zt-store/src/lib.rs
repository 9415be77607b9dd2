//! zt's ledger: every bundle zt makes or verifies, every build record and every key
//! revocation, indexed so that "what do we know about this digest?" is one query.
//!
//! One [`Ledger`] trait, two backends that pass the same test suite: [`SqliteLedger`] (the
//! embedded default, `.zt/ledger.db` in the repository, WAL mode) and, with the `postgres`
//! feature, [`PostgresLedger`] for shared deployments. Every write is one transaction: a crash
//! never leaves a bundle stored without its index rows. Storing the same bundle bytes twice is
//! a no-op that reports [`Put::AlreadyPresent`]: bundles are keyed by the SHA-256 of their
//! bytes.
//!
//! ```
//! use zt_core::Digest;
//! use zt_store::{BundleIndex, BundleQuery, Ledger, Put, SqliteLedger};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut ledger = SqliteLedger::open(&dir.path().join("ledger.db")).unwrap();
//! let artifact = Digest::sha256(b"app.tar.gz contents");
//! let index = BundleIndex {
//!     subjects: vec![artifact.clone()],
//!     predicate_type: Some("https://slsa.dev/provenance/v1".into()),
//!     key_id: Some("ab".repeat(32)),
//!     log_index: Some(7),
//!     stage: None,
//!     recorded_at: 1_700_000_000,
//! };
//! let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
//! let (id, put) = ledger.put_bundle(bundle, &index).unwrap();
//! assert_eq!(put, Put::Inserted);
//! assert_eq!(ledger.put_bundle(bundle, &index).unwrap(), (id.clone(), Put::AlreadyPresent));
//! let found = ledger.find_bundles(&BundleQuery::subject(&artifact)).unwrap();
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].id, id);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
pub mod index;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod sqlite;

use zt_core::Digest;
use zt_core::config::Stage;

pub use error::Error;
pub use open::{DEFAULT_SCHEMA, Handle, open, open_existing, split_schema};
#[cfg(feature = "postgres")]
pub use postgres::PostgresLedger;
pub use sqlite::SqliteLedger;

/// The ledger schema version this build of zt reads and writes. A ledger written by a newer
/// zt (a higher version) is refused with [`Error::NewerSchema`], never modified.
pub const SCHEMA_VERSION: u32 = 5;

/// Where the embedded ledger lives, relative to the repository root.
pub const LEDGER_PATH: &str = ".zt/ledger.db";

/// The keys a bundle is found by. zt extracts them when it verifies or creates a bundle
/// ([`index::from_sigstore_bundle`] reads them from a Sigstore bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleIndex {
    /// The digests of the statement's subjects (or the signed artifact's digest).
    pub subjects: Vec<Digest>,
    /// The in-toto predicate type; `None` for a plain message signature.
    pub predicate_type: Option<String>,
    /// The signer's key id (hex SHA-256 of its SPKI DER), when known.
    pub key_id: Option<String>,
    /// The transparency-log index of the bundle's entry, when logged.
    pub log_index: Option<u64>,
    /// The stage at which the bundle was produced or verified, when known.
    pub stage: Option<Stage>,
    /// When the bundle was recorded, in seconds since the Unix epoch (UTC).
    pub recorded_at: i64,
}

/// A bundle read back from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// SHA-256 of the bundle's bytes: its identity in the ledger.
    pub id: Digest,
    /// The bundle JSON, exactly as stored.
    pub json: String,
    /// Its index keys (subjects sorted).
    pub index: BundleIndex,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The record is new.
    Inserted,
    /// An identical record was already there; nothing changed.
    AlreadyPresent,
}

/// A build: its id, the outputs it produced and zt's record of it (the JSON zt-build writes).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildRecord {
    /// The build's id (unique; e.g. the provenance invocation id).
    pub id: String,
    /// The digests of the files it produced.
    pub outputs: Vec<Digest>,
    /// When it was recorded, in seconds since the Unix epoch.
    pub recorded_at: i64,
    /// The full record.
    pub record: serde_json::Value,
}

/// A build record with its place in the order of recording: `seq` is 1 for the ledger's
/// first build and grows by one with each build recorded, and a build numbered n is committed
/// before n + 1 is given (so a reader that has seen n has seen everything below it).
#[derive(Debug, Clone, PartialEq)]
pub struct SequencedBuild {
    /// Its place in the order of recording.
    pub seq: u64,
    /// The build's id.
    pub id: String,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
    /// The full record.
    pub record: serde_json::Value,
}

/// A build record as the ledger holds it, its record's JSON text not parsed
/// ([`Ledger::each_build_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBuild<'a> {
    /// Its place in the order of recording.
    pub seq: u64,
    /// The build's id.
    pub id: &'a str,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
    /// The full record, as JSON text.
    pub record: &'a str,
}

impl StoredBuild<'_> {
    /// The build with its record parsed.
    pub fn parse(&self) -> Result<SequencedBuild, Error> {
        let record = serde_json::from_str(self.record)
            .map_err(|e| Error::Corrupt(format!("build `{}` record: {e}", self.id)))?;
        Ok(SequencedBuild {
            seq: self.seq,
            id: self.id.to_owned(),
            recorded_at: self.recorded_at,
            record,
        })
    }
}

/// What `zt watch` keeps between runs so that each run reads only the builds recorded since
/// the last (zt-watch's baselines; opaque text to the ledger).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchUpdate {
    /// The cursor the update was computed from, as [`Ledger::watch_cursor`] gave it (`None`:
    /// there was none). The update is refused with [`Error::WatchMoved`] if another run moved
    /// it meanwhile.
    pub expected: Option<String>,
    /// The new cursor.
    pub cursor: String,
    /// Drop every state row and alert first (the baselines were made again from scratch).
    pub reset: bool,
    /// State rows to write: `(kind, name, state)`.
    pub states: Vec<(String, String, String)>,
    /// The alerts of the builds the update adds.
    pub alerts: Vec<WatchAlert>,
}

/// One stored alert of the watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchAlert {
    /// The `seq` of the build it is about.
    pub build_seq: u64,
    /// Its place among that build's alerts.
    pub ordinal: u32,
    /// When the build was recorded (Unix seconds).
    pub at: i64,
    /// The build's id.
    pub build: String,
    /// Its kind's place in the order reports list kinds.
    pub rank: u32,
    /// The alert (JSON).
    pub alert: String,
}

/// A key revocation: from `revoked_at` on, the key's signatures no longer count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked key's id.
    pub key_id: String,
    /// When the revocation takes effect, in seconds since the Unix epoch.
    pub revoked_at: i64,
    /// Why (free text, shown in reports).
    pub reason: String,
}

/// One access to the secrets broker (an exchange, a read, a denial, a put, a rotation, a
/// revocation), as zt-secrets appended it to the transparency log. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// The record's number: 0, 1, 2, … without gaps.
    pub seq: u64,
    /// Its entry's index in the transparency log.
    pub log_index: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// What was done (`exchange`, `read`, `put`, …).
    pub action: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Why (a stable reason code).
    pub reason: String,
    /// The secret concerned, if one.
    pub secret: Option<String>,
    /// The workload's repository claim, if any.
    pub repository: Option<String>,
    /// Who: the OIDC identity (`iss` and `sub`) or the local operator.
    pub who: String,
    /// The log entry's exact bytes (UTF-8 JSON).
    pub entry: String,
}

/// What the ledger holds about some subjects and keys, without the bundles' bytes: the id of
/// every bundle about each subject and each key's revocation row ([`Ledger::holdings`]).
/// Bundles are addressed by the SHA-256 of their bytes, so equal holdings mean the same
/// evidence: a long-running reader (the evidence hub) keeps what it derived from the bundles
/// and compares holdings before reusing it — one index-only query instead of reading,
/// hashing and verifying every bundle again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// `(subject, bundle id)`, sorted.
    pub bundles: Vec<(Digest, Digest)>,
    /// The revocation rows of the keys asked about, sorted by key id.
    pub revocations: Vec<Revocation>,
}

impl Holdings {
    /// Sorts both lists (the order [`Ledger::holdings`] returns).
    pub fn sort(&mut self) {
        self.bundles.sort();
        self.bundles.dedup();
        self.revocations.sort_by(|a, b| {
            (&a.key_id, a.revoked_at, &a.reason).cmp(&(&b.key_id, b.revoked_at, &b.reason))
        });
        self.revocations.dedup();
    }
}

/// An access record search: every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// Records about this secret.
    pub secret: Option<String>,
    /// Records of this repository.
    pub repository: Option<String>,
    /// Records at or after this time (Unix seconds).
    pub since: Option<i64>,
}

/// A bundle search: every field that is set must match (AND). An empty query lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleQuery {
    /// A subject digest the bundle must be about.
    pub subject: Option<Digest>,
    /// The predicate type it must carry.
    pub predicate_type: Option<String>,
    /// The key that must have signed it.
    pub key_id: Option<String>,
    /// Its transparency-log index.
    pub log_index: Option<u64>,
}

impl BundleQuery {
    /// Bundles about `digest`.
    pub fn subject(digest: &Digest) -> Self {
        Self {
            subject: Some(digest.clone()),
            ..Self::default()
        }
    }

    /// Bundles with predicate type `predicate_type`.
    pub fn predicate_type(predicate_type: &str) -> Self {
        Self {
            predicate_type: Some(predicate_type.to_string()),
            ..Self::default()
        }
    }

    /// Bundles signed by `key_id`.
    pub fn key_id(key_id: &str) -> Self {
        Self {
            key_id: Some(key_id.to_string()),
            ..Self::default()
        }
    }
}

/// The most bundles one [`EvidenceQuery`] page returns.
pub const MAX_PAGE: u32 = 1000;

/// Where a page of evidence ends: the `(recorded_at, id)` of its last bundle. The next page
/// starts after it (keyset paging: stable whatever is added meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The last bundle's `recorded_at`.
    pub recorded_at: i64,
    /// The last bundle's id.
    pub id: Digest,
}

/// One page of an evidence search: every field that is set must match (AND); results are
/// ordered by `recorded_at`, then id, and start after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceQuery {
    /// A subject digest the bundle must be about.
    pub subject: Option<Digest>,
    /// The predicate type it must carry.
    pub predicate_type: Option<String>,
    /// The key that must have signed it.
    pub key_id: Option<String>,
    /// A git commit (hex id) the statement must name: as a subject, or as a resolved
    /// dependency of SLSA provenance.
    pub commit: Option<String>,
    /// Recorded at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Recorded before this time (Unix seconds).
    pub until: Option<i64>,
    /// Start after this position (the previous page's last bundle).
    pub after: Option<Position>,
    /// The most bundles returned (1 to [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for EvidenceQuery {
    fn default() -> Self {
        Self {
            subject: None,
            predicate_type: None,
            key_id: None,
            commit: None,
            since: None,
            until: None,
            after: None,
            limit: 100,
        }
    }
}

/// One image of a deploy admission review (`zt serve`'s admission webhook): which digest was
/// to be deployed where, and whether it was admitted. Kept by digest, so that an artifact's
/// page shows where it was deployed (or refused); the review itself is a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The image's digest.
    pub digest: Digest,
    /// When it was reviewed (Unix seconds).
    pub at: i64,
    /// Whether the review admitted the object.
    pub allowed: bool,
    /// The operation (`CREATE`, `UPDATE`).
    pub operation: String,
    /// The object's kind (`Pod`, `Deployment`, …).
    pub kind: String,
    /// Its namespace (empty for a cluster-scoped object).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The review's entry in the server's transparency log.
    pub log_index: Option<u64>,
}

/// Who uploaded a bundle to the evidence hub, and the index of that upload's access record
/// in the server's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The bundle's id.
    pub bundle_id: Digest,
    /// The index of the upload's access record in the server's transparency log.
    pub log_index: u64,
    /// Who uploaded it (`oidc:<iss> <sub>` or `token:<id>`).
    pub who: String,
    /// When (Unix seconds).
    pub at: i64,
}

/// The ledger. Reads take `&self`, writes `&mut self`; each write is atomic. Results are in a
/// deterministic order: by `recorded_at`, then by id. `Send`, so that a server can keep a
/// pool of open ledgers and hand one to each request.
pub trait Ledger: Send {
    /// The schema version of the open ledger.
    fn schema_version(&self) -> Result<u32, Error>;

    /// Stores a bundle (any JSON object, normally a Sigstore bundle) with its index keys, in one
    /// transaction. Returns its id (SHA-256 of `bundle_json`); the same bytes stored again
    /// change nothing and report [`Put::AlreadyPresent`].
    fn put_bundle(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
    ) -> Result<(Digest, Put), Error>;

    /// The bundle with this id, if stored.
    fn bundle(&self, id: &Digest) -> Result<Option<StoredBundle>, Error>;

    /// Every bundle matching `query`.
    fn find_bundles(&self, query: &BundleQuery) -> Result<Vec<StoredBundle>, Error>;

    /// Stores a build record (outputs indexed). Re-storing an identical record is a no-op; a
    /// different record under an existing id is [`Error::Conflict`].
    fn put_build(&mut self, build: &BuildRecord) -> Result<Put, Error>;

    /// The build with this id.
    fn build(&self, id: &str) -> Result<Option<BuildRecord>, Error>;

    /// Every build that produced `digest`.
    fn builds_producing(&self, digest: &Digest) -> Result<Vec<BuildRecord>, Error>;

    /// Records a key revocation. A key revoked twice keeps its first revocation and reports
    /// [`Put::AlreadyPresent`].
    fn revoke_key(&mut self, revocation: &Revocation) -> Result<Put, Error>;

    /// The revocation of `key_id`, if any.
    fn revocation(&self, key_id: &str) -> Result<Option<Revocation>, Error>;

    /// Every revocation, ordered by time then key id.
    fn revocations(&self) -> Result<Vec<Revocation>, Error>;

    /// Stores access records in one transaction (all or none). A record whose `seq` is
    /// already stored is refused with [`Error::Conflict`].
    fn put_access_records(&mut self, records: &[AccessRecord]) -> Result<(), Error>;

    /// Access records matching `query`, by `seq`.
    fn access_records(&self, query: &AccessQuery) -> Result<Vec<AccessRecord>, Error>;

    /// One page of the bundles matching `query` (see [`EvidenceQuery`]).
    fn evidence(&self, query: &EvidenceQuery) -> Result<Vec<StoredBundle>, Error>;

    /// Stores an uploaded bundle (as [`Ledger::put_bundle`]) and its upload record in one
    /// transaction. The [`Put`] is the upload's: a bundle uploaded before keeps its first
    /// upload record and reports [`Put::AlreadyPresent`].
    fn put_upload(
        &mut self,
        bundle_json: &[u8],
        index: &BundleIndex,
        upload: &Upload,
    ) -> Result<(Digest, Put), Error>;

    /// Stores several uploads, each as [`Ledger::put_upload`] would, in one transaction (one
    /// commit), all or none: the evidence hub stores concurrent uploads together. An upload
    /// whose bundle was stored here but whose upload record was already present (which
    /// `put_upload` would take back alone) fails the whole call with [`Error::Conflict`].
    fn put_uploads(
        &mut self,
        uploads: &[(&[u8], &BundleIndex, &Upload)],
    ) -> Result<Vec<(Digest, Put)>, Error>;

    /// The upload record of the bundle with this id, if it was uploaded.
    fn upload(&self, id: &Digest) -> Result<Option<Upload>, Error>;

    /// The upload records of the bundles with these ids, in the same order (`None`: not
    /// uploaded): the evidence hub asks for concurrent uploads together. One query on
    /// PostgreSQL; this default asks for each ([`Ledger::upload`]).
    fn uploads(&self, ids: &[Digest]) -> Result<Vec<Option<Upload>>, Error> {
        ids.iter().map(|id| self.upload(id)).collect()
    }

    /// Every build recorded at or after `since` (Unix seconds), by time then id: the history
    /// `zt watch` makes its baselines from. Two queries whatever the number of builds.
    fn builds_since(&self, since: i64) -> Result<Vec<BuildRecord>, Error>;

    /// The unwaived findings of `severity` (lowercase, e.g. `critical`) in the latest
    /// vulnerability scan of each SBOM ([`index::scan_of`]): `(advisory, package)`, sorted. One
    /// query over the latest scans, whatever the number of scans recorded.
    fn open_findings(&self, severity: &str) -> Result<Vec<(String, String)>, Error>;

    /// The figures ([`index::build_figures`]) of every build recorded at or after `since`, by
    /// time then id: what the metrics count, without reading the records.
    fn build_figures_since(&self, since: i64) -> Result<Vec<index::BuildFigures>, Error>;

    /// The intake decisions ([`index::intake_of`]) recorded about any of `purls` (compared
    /// without qualifiers and subpath, see [`index::purl_key`]), by time then bundle id.
    fn intake_decisions(&self, purls: &[String]) -> Result<Vec<index::IntakeRecord>, Error>;

    /// Records deploy admission reviews, all or none. The same review stored again (same
    /// digest, time, object and log entry) changes nothing.
    fn put_deployments(&mut self, deployments: &[Deployment]) -> Result<(), Error>;

    /// The latest `limit` reviews of `digest`, newest first.
    fn deployments(&self, digest: &Digest, limit: u32) -> Result<Vec<Deployment>, Error>;

    /// What a trace reads besides the evidence: the intake decisions about `purls`
    /// ([`Ledger::intake_decisions`]; none when `purls` is empty) and the latest `limit`
    /// reviews of `digest` ([`Ledger::deployments`]) — one round trip on PostgreSQL.
    fn trace_reads(
        &self,
        purls: &[String],
        digest: &Digest,
        limit: u32,
    ) -> Result<(Vec<index::IntakeRecord>, Vec<Deployment>), Error> {
        let intake = if purls.is_empty() {
            Vec::new()
        } else {
            self.intake_decisions(purls)?
        };
        Ok((intake, self.deployments(digest, limit)?))
    }

    /// The ids of the bundles about each of `subjects` and the revocation rows of `key_ids`
    /// ([`Holdings`], sorted). The backends answer with index-only reads (one query on
    /// PostgreSQL); this default reads the bundles.
    fn holdings(&self, subjects: &[Digest], key_ids: &[String]) -> Result<Holdings, Error> {
        let mut out = Holdings::default();
        for subject in subjects {
            for b in self.find_bundles(&BundleQuery::subject(subject))? {
                out.bundles.push((subject.clone(), b.id));
            }
        }
        for key_id in key_ids {
            out.revocations.extend(self.revocation(key_id)?);
        }
        out.sort();
        Ok(out)
    }

    /// Every build recorded after the one numbered `seq` ([`SequencedBuild`]), in the order
    /// of recording. One query.
    fn builds_after(&self, seq: u64) -> Result<Vec<SequencedBuild>, Error> {
        let mut out = Vec::new();
        self.each_build_after(seq, &mut |b| {
            out.push(b.parse()?);
            Ok(())
        })?;
        Ok(out)
    }

    /// [`Ledger::builds_after`] one build at a time, each record's text as stored: what
    /// `zt watch` reads (it takes a few fields of each record, so it parses the text itself,
    /// and keeps no record once read). One query; stops at the first error `each` returns.
    fn each_build_after(
        &self,
        seq: u64,
        each: &mut dyn FnMut(StoredBuild<'_>) -> Result<(), Error>,
    ) -> Result<(), Error>;

    /// The watch's cursor ([`WatchUpdate::cursor`]), if a watch ever stored its state.
    fn watch_cursor(&self) -> Result<Option<String>, Error>;

    /// The watch's state rows of `kind` named `names`: `(name, state)`, for those that exist.
    fn watch_states(&self, kind: &str, names: &[String]) -> Result<Vec<(String, String)>, Error>;

    /// The stored alerts of builds recorded at or after `since` (unordered: the caller
    /// orders them by its own rules).
    fn watch_alerts(&self, since: i64) -> Result<Vec<WatchAlert>, Error>;

    /// Stores the watch's state in one transaction: all of it, or nothing and
    /// [`Error::WatchMoved`] when the cursor is no longer `update.expected`.
    fn put_watch(&mut self, update: &WatchUpdate) -> Result<(), Error>;
}

/// The id of a bundle: SHA-256 of its bytes.
pub fn bundle_id(bundle_json: &[u8]) -> Digest {
    Digest::sha256(bundle_json)
}

/// What the ledger derives from a bundle's statement and indexes beside it.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    /// The commits it names ([`index::commits_of`]).
    pub(crate) commits: Vec<String>,
    /// The vulnerability scan it records ([`index::scan_of`]).
    pub(crate) scan: Option<index::Scan>,
    /// The intake decision it records ([`index::intake_of`]).
    pub(crate) intake: Option<index::Intake>,
}

impl Derived {
    pub(crate) fn of(bundle: &serde_json::Value) -> Self {
        Self {
            commits: index::commits_of(bundle),
            scan: index::scan_of(bundle),
            intake: index::intake_of(bundle),
        }
    }
}

/// Checks what both backends require of a bundle before writing it; returns its text and
/// what the ledger indexes beside it ([`Derived`]).
fn check_bundle(bundle_json: &[u8], index: &BundleIndex) -> Result<(String, Derived), Error> {
    let text =
        std::str::from_utf8(bundle_json).map_err(|_| Error::InvalidBundle("not UTF-8".into()))?;
    let derived = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v @ serde_json::Value::Object(_)) => Derived::of(&v),
        Ok(_) => return Err(Error::InvalidBundle("not a JSON object".into())),
        Err(e) => return Err(Error::InvalidBundle(e.to_string())),
    };
    if index.subjects.is_empty() {
        return Err(Error::InvalidBundle(
            "the index names no subject digest".into(),
        ));
    }
    if let Some(i) = index.log_index
        && i > i64::MAX as u64
    {
        return Err(Error::InvalidBundle(format!(
            "log index {i} is out of range"
        )));
    }
    Ok((text.to_string(), derived))
}
