//! Logging every signature: each bundle zt makes is appended to zt's transparency log as a
//! Rekor v2-shaped `hashedrekord` entry, and the entry, its inclusion proof and the signed
//! checkpoint go into the bundle's `tlogEntries`, so the bundle verifies offline on its own
//! given the log's key (see [`trusted_root`]).

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_tlog::{Checkpoint, Log, NoteVerifier, TlogProof, TrustPolicy, leaf_hash};

use crate::bundle::NewBundle;
use crate::{Error, PublicKey, rekor};

/// Where a repository's log lives by default.
pub const DEFAULT_LOG_DIR: &str = ".zt/log";

/// The file a running `zt serve` writes next to the log it holds (`.zt/serve.addr`, see
/// [`zt_core::workspace::Layout::server_address`]), mode 0600: where it listens and the
/// token that lets this machine's user append through it. Whoever can read it can already
/// read the log's private key (also 0600, same owner), so it grants nothing new.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerRecord {
    /// `http://127.0.0.1:PORT` (always loopback).
    pub url: String,
    /// The server's process id.
    pub pid: u32,
    /// The log directory the server holds (absolute).
    pub log: PathBuf,
    /// The bearer token for `POST /log/v1/append` (256 random bits, base64url).
    pub append_token: String,
}

impl ServerRecord {
    /// The record file for the log in `log_dir` (`<log_dir>/../serve.addr`).
    pub fn path_for(log_dir: &Path) -> PathBuf {
        log_dir
            .parent()
            .unwrap_or(Path::new("."))
            .join("serve.addr")
    }

    /// The record of a server holding `log_dir`, if one says so (the file may be stale: a
    /// killed server leaves it behind).
    pub fn read_for(log_dir: &Path) -> Option<ServerRecord> {
        let text = fs_err::read(Self::path_for(log_dir)).ok()?;
        let record: ServerRecord = serde_json::from_slice(&text).ok()?;
        let here = fs_err::canonicalize(log_dir).ok()?;
        (record.log == here).then_some(record)
    }

    /// The record of a server holding `log_dir` that answers on its loopback address. A
    /// record whose server does not accept connections is stale (a killed server): `None`,
    /// and the caller uses the log itself (the lock was released with the process).
    pub fn running_for(log_dir: &Path) -> Option<ServerRecord> {
        let record = Self::read_for(log_dir)?;
        let addr = record
            .url
            .strip_prefix("http://")
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .filter(|a| a.ip().is_loopback())?;
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).ok()?;
        Some(record)
    }
}

/// The path of the append route a running server offers.
pub const APPEND_PATH: &str = "/log/v1/append";

/// The most entries one append request may carry.
pub const MAX_APPEND_ENTRIES: usize = 1024;

/// A log to append to: the directory itself, or the running `zt serve` that holds it open
/// (so a command run beside the server finishes at once instead of waiting for the lock).
#[derive(Debug)]
pub enum LogHandle {
    /// This process holds the log.
    Local(Box<Log>),
    /// A server on this machine holds it; appends go through its loopback append route and
    /// every proof it returns is checked against the log's key before use.
    Server(Box<ServerLog>),
}

/// A log held by a running `zt serve`.
#[derive(Debug)]
pub struct ServerLog {
    record: ServerRecord,
    dir: PathBuf,
    verifier: NoteVerifier,
    agent: ureq::Agent,
}

impl LogHandle {
    /// The log's note verifier key.
    pub fn verifier(&self) -> &NoteVerifier {
        match self {
            LogHandle::Local(log) => log.verifier(),
            LogHandle::Server(s) => &s.verifier,
        }
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        self.verifier().name()
    }

    /// The number of entries under the current checkpoint (a server's log: read from its
    /// `checkpoint` file, which the server replaces atomically, and verified).
    pub fn size(&self) -> Result<u64, Error> {
        match self {
            LogHandle::Local(log) => Ok(log.size()),
            LogHandle::Server(s) => {
                let signed = fs_err::read(s.dir.join("checkpoint"))?;
                Ok(Checkpoint::open(&signed, &s.verifier)?.0.size)
            }
        }
    }

    /// Appends `entries` (one batch) and returns, for each, its index and its inclusion proof
    /// under a checkpoint covering it.
    pub fn append_all(&self, entries: &[Vec<u8>]) -> Result<Vec<TlogProof>, Error> {
        match self {
            LogHandle::Local(log) => {
                let first = match entries {
                    [] => return Ok(Vec::new()),
                    [one] => log.append(one)?,
                    _ => log.append_batch(entries)?,
                };
                // `append` returns once a checkpoint covering the entries is durable; each
                // proof and its checkpoint are read together.
                (0..entries.len() as u64)
                    .map(|i| log.tlog_proof(first + i, None).map_err(Error::from))
                    .collect()
            }
            LogHandle::Server(s) => s.append_all(entries),
        }
    }
}

impl ServerLog {
    fn append_all(&self, entries: &[Vec<u8>]) -> Result<Vec<TlogProof>, Error> {
        let mut out = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(MAX_APPEND_ENTRIES) {
            out.extend(self.append_chunk(chunk)?);
        }
        Ok(out)
    }

    fn append_chunk(&self, entries: &[Vec<u8>]) -> Result<Vec<TlogProof>, Error> {
        let url = format!("{}{APPEND_PATH}", self.record.url);
        let fail = |reason: String| Error::LogServer {
            url: self.record.url.clone(),
            reason,
        };
        let body = serde_json::json!({
            "entries": entries.iter().map(zt_core::b64::encode).collect::<Vec<_>>(),
        });
        let mut reply = self
            .agent
            .post(&url)
            .header(
                "Authorization",
                &format!("Bearer {}", self.record.append_token),
            )
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        let status = reply.status().as_u16();
        let text = reply
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| fail(e.to_string()))?;
        if status != 200 {
            let detail = serde_json::from_slice::<Value>(&text)
                .ok()
                .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            return Err(fail(format!("status {status} {detail}")));
        }
        let reply: Value =
            serde_json::from_slice(&text).map_err(|_| fail("the reply is not JSON".into()))?;
        let proofs = reply
            .get("proofs")
            .and_then(Value::as_array)
            .filter(|p| p.len() == entries.len())
            .ok_or_else(|| fail("the reply does not hold one proof per entry".into()))?;
        let policy = TrustPolicy::log_only(self.verifier.clone())?;
        let mut out = Vec::with_capacity(entries.len());
        let mut last = None;
        for (entry, proof) in entries.iter().zip(proofs) {
            let proof = proof
                .as_str()
                .and_then(|t| TlogProof::parse(t.as_bytes()).ok())
                .ok_or_else(|| fail("a proof is not a c2sp.org/tlog-proof@v1 text".into()))?;
            // The server holds the log's key, but its word is checked all the same: each
            // proof must place this entry in a checkpoint the log's key signed, in order.
            proof
                .verify(&leaf_hash(entry), &policy)
                .map_err(|e| fail(format!("a returned proof does not verify: {e}")))?;
            if last.is_some_and(|l| proof.index != l + 1) {
                return Err(fail("the returned indices are not consecutive".into()));
            }
            last = Some(proof.index);
            out.push(proof);
        }
        Ok(out)
    }
}

/// Opens the log in `dir` for appending: through the running `zt serve` that holds it if
/// there is one (see [`ServerRecord`]), else directly, creating it (with a fresh Ed25519 key)
/// if nothing is there yet. Returns the handle and whether the log was created.
pub fn open_or_init(dir: &Path) -> Result<(LogHandle, bool), Error> {
    let wait = zt_tlog::LogOptions::default().lock_wait;
    let start = std::time::Instant::now();
    loop {
        if let Some(server) = running_server(dir)? {
            return Ok((LogHandle::Server(Box::new(server)), false));
        }
        if !dir.join("checkpoint").exists() {
            let (log, created) = open_or_init_local(dir)?;
            return Ok((LogHandle::Local(Box::new(log)), created));
        }
        // Wait for the lock in short steps, looking again for a server each time: one that
        // is starting holds the lock a moment before it writes its address.
        let step = zt_tlog::LogOptions {
            lock_wait: std::time::Duration::from_millis(200),
            ..zt_tlog::LogOptions::default()
        };
        match Log::open_with(dir, step) {
            Ok(log) => return Ok((LogHandle::Local(Box::new(log)), false)),
            Err(zt_tlog::Error::Busy { .. }) if start.elapsed() < wait => {}
            Err(zt_tlog::Error::Busy { path, .. }) => {
                return Err(zt_tlog::Error::Busy {
                    path,
                    waited: start.elapsed(),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The server recorded as holding `dir`, if it answers. A record whose server does not
/// accept connections is stale (a killed server): `None`, and the caller opens the log
/// itself (the lock was released with the process).
fn running_server(dir: &Path) -> Result<Option<ServerLog>, Error> {
    let Some(record) = ServerRecord::running_for(dir) else {
        return Ok(None);
    };
    let vkey = fs_err::read_to_string(dir.join("log.pub"))?;
    let verifier = NoteVerifier::parse(vkey.trim()).map_err(zt_tlog::Error::from)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    Ok(Some(ServerLog {
        record,
        dir: dir.to_path_buf(),
        verifier,
        agent,
    }))
}

/// Opens the log in `dir` in this process, creating it (with a fresh Ed25519 key) if nothing
/// is there yet. Returns the log and whether it was created. `zt serve` itself, and anything
/// that must read entries, uses this.
pub fn open_or_init_local(dir: &Path) -> Result<(Log, bool), Error> {
    if dir.join("checkpoint").exists() {
        return Ok((Log::open(dir)?, false));
    }
    let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let origin = default_origin(&key.verifying_key());
    Ok((Log::init(dir, key, &origin)?, true))
}

/// The origin zt gives a new local log: `zt.local/log-<first 4 key bytes in hex>`.
pub fn default_origin(key: &ed25519_dalek::VerifyingKey) -> String {
    let id = hex::encode(key.as_bytes().get(..4).unwrap_or_default());
    format!("zt.local/log-{id}")
}

/// Appends the bundle's signature to the log and records the entry, its inclusion proof and
/// the covering checkpoint in the bundle. Returns the entry's index.
pub fn log_bundle(
    log: &LogHandle,
    bundle: &mut NewBundle,
    signer: &PublicKey,
) -> Result<u64, Error> {
    let mut indices = log_bundles(log, std::slice::from_mut(bundle), signer)?;
    indices.pop().ok_or_else(|| Error::LogServer {
        url: String::new(),
        reason: "no index returned".into(),
    })
}

/// Appends several bundles' signatures to the log as one batch (one durable checkpoint for
/// all, instead of one each) and puts each entry and its proof into its bundle. Returns the
/// index of each, in order.
pub fn log_bundles(
    log: &LogHandle,
    bundles: &mut [NewBundle],
    signer: &PublicKey,
) -> Result<Vec<u64>, Error> {
    if bundles.is_empty() {
        return Ok(Vec::new());
    }
    let bodies: Vec<Vec<u8>> = bundles
        .iter()
        .map(|b| rekor::hashedrekord_body(&b.signed_digest, &b.signature, signer))
        .collect();
    let proofs = log.append_all(&bodies)?;
    let mut indices = Vec::with_capacity(bundles.len());
    for ((bundle, body), proof) in bundles.iter_mut().zip(bodies).zip(proofs) {
        indices.push(proof.index);
        attach_entry(log.verifier(), bundle, body, proof)?;
    }
    Ok(indices)
}

/// Puts the log entry (whose body is `body`), its inclusion proof and the checkpoint into the
/// bundle.
fn attach_entry(
    verifier: &NoteVerifier,
    bundle: &mut NewBundle,
    body: Vec<u8>,
    proof: TlogProof,
) -> Result<(), Error> {
    let checkpoint_text = proof.checkpoint;
    let (checkpoint, _) = Checkpoint::open(checkpoint_text.as_bytes(), verifier)?;
    let hashes = proof.hashes;
    let root = checkpoint.root;

    let entry = rekor::LoggedEntry {
        index: proof.index,
        log_id: log_id(verifier),
        body: &body,
        tree_size: checkpoint.size,
        root_hash: root,
        hashes: &hashes,
        checkpoint: &checkpoint_text,
    };
    if let Some(entries) = bundle
        .json
        .pointer_mut("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array_mut)
    {
        entries.clear();
        entries.push(entry.to_json());
    }
    Ok(())
}

fn log_id(verifier: &NoteVerifier) -> [u8; 32] {
    rekor::log_id(verifier.name(), verifier.public_key().as_bytes())
}

/// A Sigstore trusted root naming the log whose verifier key is `vkey` (a signed-note
/// verifier key, as in the log's `log.pub`).
pub fn trusted_root_for_vkey(vkey: &str) -> Result<Value, Error> {
    let verifier = NoteVerifier::parse(vkey.trim()).map_err(zt_tlog::Error::from)?;
    Ok(rekor::trusted_root(
        verifier.name(),
        &format!("https://{}", verifier.name()),
        verifier.public_key().as_bytes(),
    ))
}

/// The trusted root for the log in `dir` (reads only `log.pub`).
pub fn trusted_root(dir: &Path) -> Result<Value, Error> {
    let vkey = fs_err::read_to_string(dir.join("log.pub"))?;
    trusted_root_for_vkey(&vkey)
}
