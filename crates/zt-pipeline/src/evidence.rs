//! Where the pipeline keeps its evidence: every signed bundle under `.zt/bundles/`, named by
//! its own digest, and the lookups that find the bundles about an artifact.

use std::path::PathBuf;

use serde_json::Value;
use zt_core::{Digest, Statement, Workspace};
use zt_sign::Signer as _;
use zt_sign::bundle;

use crate::Error;

/// Where the evidence store keeps a bundle: `.zt/bundles/<kind>-<bundle digest prefix>.sigstore.json`.
pub fn bundle_path(ws: &Workspace, kind: &str, json: &Value) -> PathBuf {
    let id = Digest::sha256(&bundle::to_bytes(json)).hex();
    ws.layout().bundles().join(format!(
        "{kind}-{}.sigstore.json",
        id.get(..16).unwrap_or(&id)
    ))
}

/// Writes a bundle to the evidence store (atomic, see [`bundle_path`]) and returns its path.
pub fn store(ws: &Workspace, kind: &str, json: &Value) -> Result<PathBuf, Error> {
    let path = bundle_path(ws, kind, json);
    zt_core::fsutil::write_atomic(&path, &bundle::to_bytes(json))?;
    Ok(path)
}

/// Records a bundle in the workspace's ledger (see [`crate::ledger`]), indexed by subject
/// digest, predicate type, signer key id and log index. Storing the same bytes again changes
/// nothing.
pub fn index(ws: &Workspace, json: &Value) -> Result<(), Error> {
    index_into(ws, &mut crate::ledger::open(ws)?, json)
}

/// Indexes a bundle in a ledger already open (see [`index`]).
pub fn index_into(
    ws: &Workspace,
    ledger: &mut crate::ledger::Handle,
    json: &Value,
) -> Result<(), Error> {
    let bytes = bundle::to_bytes(json);
    let index = zt_store::index::from_sigstore_bundle(&bytes, None, ws.now())?;
    ledger.put_bundle(&bytes, &index)?;
    Ok(())
}

/// Stores a bundle in the evidence store and indexes it in the ledger; returns its path.
pub fn record(ws: &Workspace, kind: &str, json: &Value) -> Result<PathBuf, Error> {
    let path = store(ws, kind, json)?;
    index(ws, json)?;
    Ok(path)
}

/// Stores several bundles in the evidence store and indexes them in the ledger, opened once;
/// returns their paths in order.
pub fn record_all(ws: &Workspace, items: &[(&str, &Value)]) -> Result<Vec<PathBuf>, Error> {
    let mut ledger = crate::ledger::open(ws)?;
    let mut paths = Vec::with_capacity(items.len());
    for (kind, json) in items {
        paths.push(store(ws, kind, json)?);
        let bytes = bundle::to_bytes(json);
        let index = zt_store::index::from_sigstore_bundle(&bytes, None, ws.now())?;
        ledger.put_bundle(&bytes, &index)?;
    }
    Ok(paths)
}

/// Signs a statement with the repository's pipeline key (see [`crate::pipeline_key`]),
/// appends the signature to the repository's transparency log (`.zt/log`, created on first use),
/// stores the bundle under `.zt/bundles/` and indexes it in the ledger. This is how every stage
/// outside `zt pipeline run` (intake decisions, SBOMs, scans, source verification, requests)
/// turns its result into evidence. A revoked pipeline key is refused
/// ([`crate::revoke::refuse_revoked`]). Returns the bundle's path and its log index.
pub fn attest(ws: &Workspace, kind: &str, statement: &Statement) -> Result<(PathBuf, u64), Error> {
    let key = crate::run::pipeline_key(ws)?;
    crate::revoke::refuse_revoked(ws, &key.public_key())?;
    let (log, _) = zt_sign::transparency::open_or_init(&ws.layout().log())?;
    let mut new = bundle::attest(&key, statement)?;
    let index = zt_sign::transparency::log_bundle(&log, &mut new, &key.public_key())?;
    Ok((record(ws, kind, &new.json)?, index))
}

/// The SHA-256 subjects a bundle is about (see [`zt_core::bundle::subjects`]).
pub fn subjects(json: &Value) -> Vec<Digest> {
    zt_core::bundle::subjects(json)
}

/// The in-toto statement inside a DSSE bundle, if it holds one.
pub fn statement(json: &Value) -> Option<Statement> {
    zt_core::bundle::statement(json)
}

/// Every bundle file under `.zt/bundles/` that is about `digest`, sorted by path.
pub fn about(ws: &Workspace, digest: &Digest) -> Result<Vec<PathBuf>, Error> {
    about_kind(ws, "", digest)
}

/// Every bundle file of one kind (its name starts with `<kind>-`; `""`: any) under
/// `.zt/bundles/` that is about `digest`, sorted by path.
pub fn about_kind(ws: &Workspace, kind: &str, digest: &Digest) -> Result<Vec<PathBuf>, Error> {
    let dir = ws.layout().bundles();
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let prefix = if kind.is_empty() {
        String::new()
    } else {
        format!("{kind}-")
    };
    let mut found = Vec::new();
    for entry in fs_err::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.ends_with(".sigstore.json") || !name.starts_with(&prefix) {
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
pub fn named(ws: &Workspace, name: &str) -> Result<Vec<PathBuf>, Error> {
    let dir = ws.layout().bundles();
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
