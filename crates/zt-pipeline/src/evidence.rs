//! Where the pipeline keeps its evidence: every signed bundle under `.zt/bundles/`, named by
//! its own digest, and the lookups that find the bundles about an artifact.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_core::{Digest, Statement, b64};
use zt_sign::Signer as _;
use zt_sign::bundle;

use crate::Error;

/// The folder holding a repository's bundles.
pub fn bundles_dir(repo: &Path) -> PathBuf {
    repo.join(".zt/bundles")
}

/// Writes a bundle under `.zt/bundles/<kind>-<bundle digest prefix>.sigstore.json` (atomic)
/// and returns its path.
pub fn store(repo: &Path, kind: &str, json: &Value) -> Result<PathBuf, Error> {
    let bytes = bundle::to_bytes(json);
    let id = Digest::sha256(&bytes).hex();
    let path = bundles_dir(repo).join(format!(
        "{kind}-{}.sigstore.json",
        id.get(..16).unwrap_or(&id)
    ));
    zt_core::fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Records a bundle in the repository's ledger (`.zt/ledger.db`), indexed by subject digest,
/// predicate type, signer key id and log index. Storing the same bytes again changes nothing.
pub fn index(repo: &Path, json: &Value) -> Result<(), Error> {
    use zt_store::Ledger as _;
    let bytes = bundle::to_bytes(json);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let index = zt_store::index::from_sigstore_bundle(&bytes, None, now)?;
    zt_store::SqliteLedger::open_in_repo(repo)?.put_bundle(&bytes, &index)?;
    Ok(())
}

/// Stores a bundle in the evidence store and indexes it in the ledger; returns its path.
pub fn record(repo: &Path, kind: &str, json: &Value) -> Result<PathBuf, Error> {
    let path = store(repo, kind, json)?;
    index(repo, json)?;
    Ok(path)
}

/// Signs a statement with the repository's pipeline key (see [`crate::pipeline_key`]),
/// appends the signature to the repository's transparency log (`.zt/log`, created on first use),
/// stores the bundle under `.zt/bundles/` and indexes it in the ledger. This is how every stage
/// outside `zt pipeline run` (intake decisions, SBOMs, scans, source verification, requests)
/// turns its result into evidence. A revoked pipeline key is refused
/// ([`crate::revoke::refuse_revoked`]). Returns the bundle's path and its log index.
pub fn attest(repo: &Path, kind: &str, statement: &Statement) -> Result<(PathBuf, u64), Error> {
    let key = crate::run::pipeline_key(repo)?;
    crate::revoke::refuse_revoked(repo, &key.public_key())?;
    let (log, _) =
        zt_sign::transparency::open_or_init(&repo.join(zt_sign::transparency::DEFAULT_LOG_DIR))?;
    let mut new = bundle::attest(&key, statement)?;
    let index = zt_sign::transparency::log_bundle(&log, &mut new, &key.public_key())?;
    Ok((record(repo, kind, &new.json)?, index))
}

/// The subjects a bundle is about: the message digest of a message signature, or the
/// subjects of the in-toto statement in a DSSE envelope.
pub fn subjects(json: &Value) -> Vec<Digest> {
    if let Some(d) = json
        .pointer("/messageSignature/messageDigest/digest")
        .and_then(Value::as_str)
        .and_then(b64::decode)
    {
        return Digest::new(zt_core::DigestAlgorithm::Sha256, d)
            .into_iter()
            .collect();
    }
    statement(json)
        .map(|s| {
            s.subject
                .iter()
                .filter_map(|r| r.digest_for(zt_core::DigestAlgorithm::Sha256))
                .collect()
        })
        .unwrap_or_default()
}

/// The in-toto statement inside a DSSE bundle, if it holds one.
pub fn statement(json: &Value) -> Option<Statement> {
    let payload = json
        .pointer("/dsseEnvelope/payload")
        .and_then(Value::as_str)?;
    Statement::from_json(&b64::decode(payload)?).ok()
}

/// Every bundle file under `.zt/bundles/` that is about `digest`, sorted by path.
pub fn about(repo: &Path, digest: &Digest) -> Result<Vec<PathBuf>, Error> {
    let dir = bundles_dir(repo);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in fs_err::read_dir(&dir)? {
        let path = entry?.path();
        if !path.to_string_lossy().ends_with(".sigstore.json") {
            continue;
        }
        let Ok(json) = serde_json::from_slice::<Value>(&fs_err::read(&path)?) else {
            continue;
        };
        if subjects(&json).contains(digest) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Every bundle file under `.zt/bundles/` whose statement names a subject `name` (the
/// artifact's path in the repository), whatever its digest.
pub fn named(repo: &Path, name: &str) -> Result<Vec<PathBuf>, Error> {
    let dir = bundles_dir(repo);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in fs_err::read_dir(&dir)? {
        let path = entry?.path();
        let Ok(json) = serde_json::from_slice::<Value>(&fs_err::read(&path)?) else {
            continue;
        };
        let names = statement(&json)
            .map(|s| s.subject.iter().any(|r| r.name.as_deref() == Some(name)))
            .unwrap_or(false);
        if names {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
