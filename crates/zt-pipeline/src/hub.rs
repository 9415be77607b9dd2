//! The evidence hub behind `zt serve`: the organisation's one place that receives every
//! pipeline's bundles, answers "is this digest allowed?" and "where did it come from?".
//!
//! - [`Hub::upload`]: a Sigstore bundle is parsed strictly, verified against the server's
//!   trust configuration (a `zt.toml` key allowed to sign its predicate type, a valid log
//!   proof against the public-good root or the server's own log), then an access record
//!   naming the bundle and the uploader is appended to the server's transparency log, and the
//!   bundle and its upload record are stored in the ledger in one transaction. The same bundle
//!   again returns the first receipt and appends nothing.
//! - [`Hub::evidence`]: keyset-paged evidence queries ([`zt_store::EvidenceQuery`]) with an
//!   opaque cursor.
//! - [`Hub::decide`]: [`crate::gate::judge_in`] over the hub's ledger: the same judgement
//!   `zt verify sha256:… --stage S` prints.
//! - [`Hub::trace`]: the trace ([`crate::trace::trace_in`]).
//!
//! Every write is an access record in the transparency log (not only the ledger): the log is
//! append-only and verifiable by anyone holding a checkpoint, so an operator with database
//! access cannot erase or backdate an upload without the log showing it.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use zt_core::config::{Stage, TrustedKey};
use zt_core::{Digest, Workspace};
use zt_sign::PublicKey;
use zt_sign::verify::{Artifact, Identity, Request, verify};
use zt_store::{BundleIndex, EvidenceQuery, Position, Put, StoredBundle, Upload};
use zt_tlog::Log;

use crate::Error;
use crate::gate::Judgement;
use crate::ledger::Handle;
use zt_core::group::Group;

/// The largest bundle the hub accepts (bytes).
pub const MAX_BUNDLE_BYTES: usize = 4 * 1024 * 1024;
/// The `type` of an upload's access record in the log.
pub const UPLOAD_ENTRY_TYPE: &str = "https://zt.dev/log/evidence-upload/v1";
/// The top-level members a Sigstore bundle may have (protobuf JSON names).
const BUNDLE_MEMBERS: &[&str] = &[
    "mediaType",
    "verificationMaterial",
    "dsseEnvelope",
    "messageSignature",
];
/// Lock stripes: two uploads of the same bundle wait for each other, others do not.
const STRIPES: usize = 64;
/// Ledger connections kept open for reuse: as many as `zt serve` runs blocking calls at once
/// (at most 64), so that a busy server does not reconnect (a PostgreSQL connection runs the
/// schema check when it opens).
const POOL: usize = 64;
/// The most uploads stored in one transaction.
const MAX_STORED_TOGETHER: usize = 256;

/// Why the hub refused a request: an HTTP status, a stable reason code and a sentence for
/// the caller (never a secret: it names what in the input is wrong and the fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The stable reason code, e.g. `bundle_not_verified`.
    pub reason: &'static str,
    /// What is wrong.
    pub detail: String,
    /// How to fix it.
    pub fix: String,
}

impl Refusal {
    fn new(status: u16, reason: &'static str, detail: impl Into<String>, fix: &str) -> Self {
        Self {
            status,
            reason,
            detail: detail.into(),
            fix: fix.to_owned(),
        }
    }
}

/// What the hub's workflows return: a refusal of the input, or an error of the hub itself.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Done.
    Done(T),
    /// The input was refused; nothing was stored.
    Refused(Refusal),
}

/// A bundle that parsed and verified, ready to be recorded.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The bundle's id (SHA-256 of its bytes).
    pub id: Digest,
    /// Its predicate type, or `"signature"` for a message signature.
    pub predicate_type: String,
    /// Its subjects.
    pub subjects: Vec<Digest>,
    /// The id of the trusted key that signed it.
    pub key_id: String,
    index: zt_store::BundleIndex,
}

/// The hub's answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The bundle's id (`sha256:…`).
    pub id: String,
    /// The index of the upload's access record in the server's log.
    pub log_index: u64,
    /// Who uploaded it first.
    pub uploaded_by: String,
    /// When (Unix seconds).
    pub uploaded_at: i64,
    /// Whether this request stored it (`false`: it was uploaded before).
    pub created: bool,
}

/// One page of evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The bundles, oldest first.
    pub items: Vec<Item>,
    /// The cursor of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One bundle in a page.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// The bundle's id.
    pub id: String,
    /// Its subjects.
    pub subjects: Vec<String>,
    /// Its predicate type (absent for a message signature).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// The signer's key id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
    /// The bundle itself.
    pub bundle: serde_json::Value,
}

/// Who is writing: recorded in the log and the ledger with every upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer(pub String);

/// The evidence hub over one workspace (its `zt.toml` trust, its log, its ledger).
pub struct Hub {
    ws: Workspace,
    log: Arc<Log>,
    keys: Vec<(PublicKey, Option<TrustedKey>)>,
    root: String,
    trusted: crate::gate::Trusted,
    memo: crate::hub_memo::Memo,
    pool: Mutex<Vec<Handle>>,
    stripes: Vec<Mutex<()>>,
    /// Uploads waiting to be stored together ([`Hub::upload`]).
    puts: Group<(Vec<u8>, BundleIndex, Upload), Option<Put>>,
    /// Uploads waiting to be looked up together ("uploaded before?", [`Hub::upload`]);
    /// `None`: the shared query failed, and the lookup is made alone.
    lookups: Group<Digest, Option<Option<Upload>>>,
    /// Traces waiting for their ledger reads (intake decisions, deploy reviews); concurrent
    /// traces of the same digest share one query ([`Hub::trace_json`]). `None`: the shared
    /// query failed, and the reads are made alone.
    trace_reads: Group<(Digest, Vec<String>), Option<crate::trace::Reads>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hub({})", self.ws.root().display())
    }
}

/// A ledger connection borrowed from the pool; back to the pool when dropped.
pub(crate) struct Lease<'a> {
    hub: &'a Hub,
    handle: Option<Handle>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = dyn zt_store::Ledger;
    fn deref(&self) -> &Self::Target {
        // Only `Drop` takes the handle out.
        match &self.handle {
            Some(h) => h.as_ref(),
            None => unreachable_handle(),
        }
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.handle {
            Some(h) => h.as_mut(),
            None => unreachable_handle(),
        }
    }
}

#[allow(clippy::panic)] // A lease holds its handle from creation until drop.
fn unreachable_handle() -> ! {
    panic!("ledger lease used after release")
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let mut pool = relock(&self.hub.pool);
            if pool.len() < POOL {
                pool.push(h);
            }
        }
    }
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Hub {
    fn drop(&mut self) {
        let pool = std::mem::take(&mut *relock(&self.pool));
        // A PostgreSQL client blocks on its own runtime when dropped, which panics on a thread
        // that drives async tasks — and `zt serve` drops the hub as its runtime stops. The
        // connections are closed on a plain thread instead.
        let _ = std::thread::spawn(move || drop(pool)).join();
    }
}

impl Hub {
    /// Opens the hub: reads the trust configuration of `ws` (`zt.toml` keys, the log's key),
    /// and checks that the ledger opens. `log` is the workspace's log, already open;
    /// `other_logs` are the verifier keys (signed-note `log.pub` text) of other logs whose
    /// entries the hub accepts in uploaded bundles (CI runners' own logs).
    pub fn open(ws: Workspace, log: Arc<Log>, other_logs: &[String]) -> Result<Hub, Error> {
        let config = ws.config().map_err(|e| Error::Policy(e.to_string()))?;
        let mut keys = Vec::new();
        for key in &config.trust.keys {
            if let Some(p) = &key.public_key {
                keys.push((PublicKey::load(&ws.root().join(p))?, Some(key.clone())));
            }
        }
        let mut root: serde_json::Value =
            serde_json::from_str(&crate::gate::trusted_root(&ws)?).unwrap_or_default();
        for vkey in other_logs {
            zt_sign::rekor::merge_tlogs(
                &mut root,
                &zt_sign::transparency::trusted_root_for_vkey(vkey)?,
            );
        }
        let root = root.to_string();
        let first = crate::ledger::open(&ws)?;
        let trusted =
            crate::gate::Trusted::new(keys.iter().map(|(k, _)| k.clone()).collect(), root.clone())
                .cached(&ws);
        Ok(Hub {
            ws,
            log,
            keys,
            root,
            trusted,
            memo: crate::hub_memo::Memo::default(),
            pool: Mutex::new(vec![first]),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            puts: Group::new(MAX_STORED_TOGETHER),
            lookups: Group::new(MAX_STORED_TOGETHER),
            trace_reads: Group::new(MAX_STORED_TOGETHER),
        })
    }

    /// The workspace the hub serves.
    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The server's transparency log.
    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub(crate) fn ledger(&self) -> Result<Lease<'_>, Error> {
        let pooled = relock(&self.pool).pop();
        let handle = match pooled {
            Some(h) => h,
            None => crate::ledger::open(&self.ws)?,
        };
        Ok(Lease {
            hub: self,
            handle: Some(handle),
        })
    }

    /// Parses and verifies `bytes` as an upload (see the module docs). Nothing is written.
    pub fn check(&self, bytes: &[u8]) -> Result<Outcome<Checked>, Error> {
        match self.check_inner(bytes) {
            Ok(c) => Ok(Outcome::Done(c)),
            Err(r) => Ok(Outcome::Refused(r)),
        }
    }

    fn check_inner(&self, bytes: &[u8]) -> Result<Checked, Refusal> {
        const FIX_FORMAT: &str = "send the Sigstore bundle JSON exactly as `zt sign` or `zt attest` wrote it (`application/vnd.dev.sigstore.bundle.v0.3+json`)";
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(Refusal::new(
                413,
                "bundle_too_large",
                format!("the bundle is over {MAX_BUNDLE_BYTES} bytes"),
                "upload one bundle per request; bundles zt writes are a few KiB",
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Refusal::new(
                400,
                "malformed_bundle",
                format!("not JSON: {e}"),
                FIX_FORMAT,
            )
        })?;
        let Some(object) = value.as_object() else {
            return Err(Refusal::new(
                400,
                "malformed_bundle",
                "not a JSON object",
                FIX_FORMAT,
            ));
        };
        if let Some(unknown) = object
            .keys()
            .find(|k| !BUNDLE_MEMBERS.contains(&k.as_str()))
        {
            return Err(Refusal::new(
                400,
                "unknown_field",
                format!(
                    "unknown member `{}` in the bundle",
                    unknown.chars().take(64).collect::<String>()
                ),
                FIX_FORMAT,
            ));
        }
        let parsed = zt_sign::bundle::parse(bytes, "upload")
            .map_err(|e| Refusal::new(400, "malformed_bundle", e.to_string(), FIX_FORMAT))?;
        let index = zt_store::index::from_sigstore_bundle(bytes, None, self.ws.now())
            .map_err(|e| Refusal::new(400, "malformed_bundle", e.to_string(), FIX_FORMAT))?;
        let predicate_type = index
            .predicate_type
            .clone()
            .unwrap_or_else(|| "signature".to_owned());
        let subject = zt_core::bundle::subjects(&parsed.json)
            .into_iter()
            .next()
            .ok_or_else(|| {
                Refusal::new(
                    400,
                    "malformed_bundle",
                    "the bundle names no sha256 subject",
                    FIX_FORMAT,
                )
            })?;
        let artifact = Artifact::Digest(subject);
        let mut last = None;
        for (key, trusted) in &self.keys {
            let result = verify(&Request {
                artifact: &artifact,
                bundle: &parsed,
                identity: &Identity::Key(key.clone()),
                trusted_root: Some(&self.root),
                insecure_ignore_tlog: false,
                witness_policy: None,
            });
            match result {
                Ok(v) if v.tlog_verified => {
                    if let Some(t) = trusted
                        && !t
                            .predicate_types
                            .iter()
                            .any(|p| p == "*" || *p == predicate_type)
                    {
                        return Err(Refusal::new(
                            403,
                            "key_not_trusted_for_type",
                            format!(
                                "key {} may not sign `{predicate_type}` evidence",
                                key.key_id()
                            ),
                            "sign it with a key whose `[[trust.key]] predicate_types` in the server's `zt.toml` lists this type",
                        ));
                    }
                    let mut index = index;
                    index.key_id = Some(key.key_id());
                    return Ok(Checked {
                        id: zt_store::bundle_id(bytes),
                        predicate_type,
                        subjects: index.subjects.clone(),
                        key_id: key.key_id(),
                        index,
                    });
                }
                Ok(_) => last = Some("the bundle's log entry was not verified".to_owned()),
                Err(e) => last = Some(e.to_string()),
            }
        }
        Err(Refusal::new(
            422,
            "bundle_not_verified",
            last.unwrap_or_else(|| "the server's `zt.toml` trusts no key".into()),
            "sign with a key listed in the server's `zt.toml` `[[trust.key]]`, and log the signature in a log the server trusts (its own, or the public-good Rekor)",
        ))
    }

    /// Uploads a bundle: if it was uploaded before, the first receipt (nothing written);
    /// otherwise check it, let `authorize` decide whether `writer` may upload it, append an
    /// access record to the log, and store it with its upload record.
    pub fn upload(
        &self,
        bytes: &[u8],
        writer: &Writer,
        authorize: impl FnOnce(&Checked) -> Result<(), Refusal>,
    ) -> Result<Outcome<Receipt>, Error> {
        let id = zt_store::bundle_id(bytes);
        let stripe = usize::from(id.bytes().first().copied().unwrap_or(0)) % STRIPES;
        let _one_at_a_time = self.stripes.get(stripe).map(relock);
        if let Some(up) = self.uploaded(&id)? {
            return Ok(Outcome::Done(receipt(&up, false)));
        }
        let checked = match self.check_inner(bytes) {
            Ok(c) => c,
            Err(r) => return Ok(Outcome::Refused(r)),
        };
        if let Err(r) = authorize(&checked) {
            return Ok(Outcome::Refused(r));
        }
        let at = self.ws.now();
        let entry = serde_json::json!({
            "type": UPLOAD_ENTRY_TYPE,
            "bundle": checked.id.to_string(),
            "subjects": checked.subjects.iter().map(Digest::to_string).collect::<Vec<_>>(),
            "predicateType": checked.predicate_type,
            "signer": checked.key_id,
            "who": writer.0,
            "at": at,
        });
        let entry = serde_json::to_vec(&entry).unwrap_or_default();
        // The log first: once the ledger says "uploaded", the log already has the record.
        let log_index = self.log.append(&entry).map_err(zt_sign::Error::from)?;
        let upload = Upload {
            bundle_id: checked.id.clone(),
            log_index,
            who: writer.0.clone(),
            at,
        };
        let mut index = checked.index;
        index.recorded_at = at;
        // Stored with the uploads that arrive meanwhile, in one transaction (one commit);
        // if that transaction fails, each is stored alone and gets its own error.
        let together = self.puts.submit(
            (bytes.to_vec(), index.clone(), upload.clone()),
            |batch| {
                let items: Vec<(&[u8], &BundleIndex, &Upload)> =
                    batch.iter().map(|(b, i, u)| (b.as_slice(), i, u)).collect();
                match self.ledger().and_then(|mut l| Ok(l.put_uploads(&items)?)) {
                    Ok(puts) => puts.into_iter().map(|(_, p)| Some(p)).collect(),
                    Err(_) => Vec::new(),
                }
            },
            || None,
        );
        let put = match together {
            Some(put) => put,
            None => self.ledger()?.put_upload(bytes, &index, &upload)?.1,
        };
        Ok(Outcome::Done(receipt(&upload, put == Put::Inserted)))
    }

    /// The upload record of bundle `id`, if it was uploaded: read by a query sent after this
    /// call began, shared with the lookups of the uploads that arrive meanwhile (one round
    /// trip for all of them; a lookup never joins a query already sent, so an upload
    /// acknowledged before this call is always found).
    fn uploaded(&self, id: &Digest) -> Result<Option<Upload>, Error> {
        let shared = self.lookups.submit(
            id.clone(),
            |batch| match self.ledger().and_then(|l| Ok(l.uploads(&batch)?)) {
                Ok(found) if found.len() == batch.len() => found.into_iter().map(Some).collect(),
                _ => Vec::new(),
            },
            || None,
        );
        match shared {
            Some(found) => Ok(found),
            None => Ok(self.ledger()?.upload(id)?),
        }
    }

    /// One page of evidence. `cursor` is the previous page's `next_cursor`.
    pub fn evidence(
        &self,
        mut query: EvidenceQuery,
        cursor: Option<&str>,
    ) -> Result<Outcome<Page>, Error> {
        if let Some(c) = cursor {
            match decode_cursor(c) {
                Some(p) => query.after = Some(p),
                None => {
                    return Ok(Outcome::Refused(Refusal::new(
                        400,
                        "bad_cursor",
                        "the cursor is not one this server issued",
                        "pass `cursor` exactly as the previous page's `next_cursor` gave it",
                    )));
                }
            }
        }
        query.limit = query.limit.clamp(1, zt_store::MAX_PAGE);
        let rows = self.ledger()?.evidence(&query)?;
        let next_cursor = (rows.len() == query.limit as usize)
            .then(|| rows.last().map(encode_cursor))
            .flatten();
        let items = rows.into_iter().map(item).collect();
        Ok(Outcome::Done(Page { items, next_cursor }))
    }

    /// The judgement of `digest` at `stage`: what [`crate::gate::judge_in`] gives over the
    /// hub's ledger. The verified evidence is reused while the ledger (and the evidence
    /// store's files, and the repository's commits) still hold what it was gathered from, and
    /// a judgement within the same second, or at any second when its evaluation never read
    /// the time (see [`crate::hub_memo`]).
    pub fn decide(&self, digest: &Digest, stage: Stage) -> Result<Arc<Judgement>, Error> {
        Ok(self.judged(digest, stage)?.judgement.clone())
    }

    /// The body of `POST /api/v1/decide`'s reply about `digest` at `stage`: the JSON of
    /// [`Hub::decide`]'s judgement ([`Judgement::to_json`], named by the digest), kept with
    /// the judgement.
    pub fn decide_reply(&self, digest: &Digest, stage: Stage) -> Result<Vec<u8>, Error> {
        Ok(self.judged(digest, stage)?.reply(stage).to_vec())
    }

    fn judged(&self, digest: &Digest, stage: Stage) -> Result<Arc<crate::hub_memo::Judged>, Error> {
        let mut ledger = self.ledger()?;
        let current = self
            .memo
            .gathered(&self.ws, &mut *ledger, &self.trusted, digest)?;
        drop(ledger);
        self.memo
            .judgement(&self.ws, &self.trusted, &current, stage)
    }

    /// The trace of `digest` (see [`crate::trace`]), from the same remembered evidence and
    /// judgements as [`Hub::decide`].
    pub fn trace(&self, digest: &Digest) -> Result<crate::trace::Trace, Error> {
        let mut ledger = self.ledger()?;
        let current = self
            .memo
            .gathered(&self.ws, &mut *ledger, &self.trusted, digest)?;
        let judged = self.judged_all(&current)?;
        let judged: Vec<(Stage, &Judgement)> =
            judged.iter().map(|(s, j)| (*s, &*j.judgement)).collect();
        crate::trace::assemble(
            Some(&*ledger),
            digest,
            &current.gathered,
            crate::trace::decisions(&judged),
        )
    }

    /// The JSON of [`Hub::trace`], byte for byte: the parts that depend on the evidence and
    /// the judgements alone are kept with them, serialized once; only the ledger's intake
    /// decisions and deploy reviews are read and serialized for each request.
    pub fn trace_json(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        let mut ledger = self.ledger()?;
        let current = self
            .memo
            .gathered(&self.ws, &mut *ledger, &self.trusted, digest)?;
        let judged = self.judged_all(&current)?;
        let parts = match current.trace.get() {
            Some(p) => p,
            None => {
                let made = crate::trace::Parts::of(digest, &current.gathered)?;
                current.trace.get_or_init(|| made)
            }
        };
        let decisions: Vec<&[u8]> = judged
            .iter()
            .map(|(stage, j)| j.trace_decision(*stage))
            .collect();
        drop(ledger);
        let reads = self.trace_reads(digest, parts.purls())?;
        parts.write(&reads, &decisions)
    }

    /// The ledger's intake decisions about `purls` and deploy reviews of `digest`, read by a
    /// query sent after this call began. Concurrent traces share queries: the reads waiting
    /// when no query is running are answered together, one query for each distinct (digest,
    /// package URLs) among them — so traces of one artifact share one — and a trace never
    /// joins a query already sent (as the holdings checks, [`crate::hub_memo`]).
    fn trace_reads(&self, digest: &Digest, purls: &[String]) -> Result<crate::trace::Reads, Error> {
        let shared = self.trace_reads.submit(
            (digest.clone(), purls.to_vec()),
            |batch| {
                let Ok(ledger) = self.ledger() else {
                    return Vec::new();
                };
                let mut answered: Vec<(&(Digest, Vec<String>), crate::trace::Reads)> = Vec::new();
                let mut out = Vec::with_capacity(batch.len());
                for key in &batch {
                    let known = answered.iter().find(|(k, _)| *k == key);
                    let reads = match known {
                        Some((_, r)) => r.clone(),
                        None => match crate::trace::reads(Some(&*ledger), &key.0, &key.1) {
                            Ok(r) => {
                                answered.push((key, r.clone()));
                                r
                            }
                            // The rest are read alone, each getting its own error.
                            Err(_) => break,
                        },
                    };
                    out.push(Some(reads));
                }
                out
            },
            || None,
        );
        match shared {
            Some(reads) => Ok(reads),
            None => crate::trace::reads(Some(&*self.ledger()?), digest, purls),
        }
    }

    /// The judgements of `current` at every stage.
    fn judged_all(
        &self,
        current: &crate::hub_memo::Current,
    ) -> Result<Vec<(Stage, Arc<crate::hub_memo::Judged>)>, Error> {
        Stage::ALL
            .into_iter()
            .map(|stage| {
                Ok((
                    stage,
                    self.memo
                        .judgement(&self.ws, &self.trusted, current, stage)?,
                ))
            })
            .collect()
    }

    /// Appends an access record of an administrative write (e.g. an API token created) to the
    /// log; returns its index.
    pub fn record_admin(&self, action: &str, writer: &Writer, detail: &str) -> Result<u64, Error> {
        let entry = serde_json::json!({
            "type": ADMIN_ENTRY_TYPE,
            "action": action,
            "detail": detail,
            "who": writer.0,
            "at": self.ws.now(),
        });
        Ok(self
            .log
            .append(&serde_json::to_vec(&entry).unwrap_or_default())
            .map_err(zt_sign::Error::from)?)
    }
}

/// The `type` of an administrative access record in the log.
pub const ADMIN_ENTRY_TYPE: &str = "https://zt.dev/log/hub-admin/v1";

fn receipt(up: &Upload, created: bool) -> Receipt {
    Receipt {
        id: up.bundle_id.to_string(),
        log_index: up.log_index,
        uploaded_by: up.who.clone(),
        uploaded_at: up.at,
        created,
    }
}

fn item(b: StoredBundle) -> Item {
    Item {
        id: b.id.to_string(),
        subjects: b.index.subjects.iter().map(Digest::to_string).collect(),
        predicate_type: b.index.predicate_type,
        key_id: b.index.key_id,
        recorded_at: b.index.recorded_at,
        bundle: serde_json::from_str(&b.json).unwrap_or(serde_json::Value::Null),
    }
}

/// The cursor after `b`: `v1.<recorded_at>.<id hex>`, opaque to clients.
fn encode_cursor(b: &StoredBundle) -> String {
    format!("v1.{}.{}", b.index.recorded_at, b.id.hex())
}

fn decode_cursor(c: &str) -> Option<Position> {
    let mut parts = c.split('.');
    let (Some("v1"), Some(at), Some(hex), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let recorded_at = at.parse::<i64>().ok()?;
    let id = Digest::from_hex(zt_core::DigestAlgorithm::Sha256, hex).ok()?;
    Some(Position { recorded_at, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let id = Digest::sha256(b"x");
        let c = format!("v1.-5.{}", id.hex());
        assert_eq!(
            decode_cursor(&c),
            Some(Position {
                recorded_at: -5,
                id: id.clone()
            })
        );
        for bad in [
            "",
            "v1",
            "v2.1.00",
            "v1.x.00",
            &format!("v1.1.{}.x", id.hex()),
            "v1.1.zz",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}
