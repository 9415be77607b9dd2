//! Logging every signature: each bundle zt makes is appended to zt's transparency log as a
//! Rekor v2-shaped `hashedrekord` entry, and the entry, its inclusion proof and the signed
//! checkpoint go into the bundle's `tlogEntries`, so the bundle verifies offline on its own
//! given the log's key (see [`trusted_root`]).

use std::path::Path;

use serde_json::Value;
use zt_tlog::{Checkpoint, Log, NoteVerifier};

use crate::bundle::NewBundle;
use crate::{Error, PublicKey, rekor};

/// Where a repository's log lives by default.
pub const DEFAULT_LOG_DIR: &str = ".zt/log";

/// Opens the log in `dir`, creating it (with a fresh Ed25519 key) if nothing is there yet.
/// Returns the log and whether it was created.
pub fn open_or_init(dir: &Path) -> Result<(Log, bool), Error> {
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
pub fn log_bundle(log: &Log, bundle: &mut NewBundle, signer: &PublicKey) -> Result<u64, Error> {
    let body = rekor::hashedrekord_body(&bundle.signed_digest, &bundle.signature, signer);
    let index = log.append(&body)?;
    attach_entry(log, bundle, index, body)?;
    Ok(index)
}

/// Appends several bundles' signatures to the log as one batch (one durable checkpoint for
/// all, instead of one each) and puts each entry and its proof into its bundle. Returns the
/// index of each, in order.
pub fn log_bundles(
    log: &Log,
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
    let first = log.append_batch(&bodies)?;
    let mut indices = Vec::with_capacity(bundles.len());
    for (i, (bundle, body)) in bundles.iter_mut().zip(bodies).enumerate() {
        let index = first + i as u64;
        attach_entry(log, bundle, index, body)?;
        indices.push(index);
    }
    Ok(indices)
}

/// Puts the log entry at `index` (whose body is `body`), its inclusion proof and the checkpoint
/// into the bundle.
fn attach_entry(log: &Log, bundle: &mut NewBundle, index: u64, body: Vec<u8>) -> Result<(), Error> {
    // `append` returns once a checkpoint covering the entry is durable; the proof and the
    // checkpoint are taken together, so a concurrent append cannot come between them.
    let proof = log.tlog_proof(index, None)?;
    let checkpoint_text = proof.checkpoint;
    let (checkpoint, _) = Checkpoint::open(checkpoint_text.as_bytes(), log.verifier())?;
    let hashes = proof.hashes;
    let root = checkpoint.root;

    let entry = rekor::LoggedEntry {
        index,
        log_id: log_id(log.verifier()),
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
