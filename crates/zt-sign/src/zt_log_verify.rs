//! Verifying zt-logged entries directly: the Rekor v2 `hashedrekord` 0.0.2 entries that zt's
//! log holds, checked against a trusted root's Ed25519 log keys with zt-tlog. sigstore-rs
//! parses only ECDSA P-256 verifiers in Rekor v2 bodies (Rekor v2's own limit for
//! hashedrekord), so bundles signed with Ed25519 keys take this path; it checks the same
//! things: the body names the bundle's digest, signature and key, the leaf is included under
//! the checkpoint's root, and the checkpoint is signed by a trusted log key.

use serde_json::Value;
use zt_core::{Digest, b64};
use zt_tlog::{Checkpoint, NoteVerifier, leaf_hash, verify_inclusion};

use crate::{Error, PublicKey, rekor};

fn fail(reason: impl Into<String>) -> Error {
    Error::Verification {
        check: "transparency log",
        reason: reason.into(),
    }
}

/// The Ed25519 log keys of a trusted root, as (log id, key).
fn trusted_logs(root: &Value) -> Vec<([u8; 32], ed25519_dalek::VerifyingKey)> {
    let mut out = Vec::new();
    for t in root
        .get("tlogs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = t
            .pointer("/logId/keyId")
            .and_then(Value::as_str)
            .and_then(b64::decode);
        let spki = t
            .pointer("/publicKey/rawBytes")
            .and_then(Value::as_str)
            .and_then(b64::decode);
        if let (Some(id), Some(spki)) = (id, spki)
            && let (Ok(id), Ok(PublicKey::Ed25519(key))) =
                (<[u8; 32]>::try_from(id), PublicKey::from_spki_der(&spki))
        {
            out.push((id, key));
        }
    }
    out
}

/// Checks every `tlogEntries[]` item of a bundle signed by `key` over `signed_digest` with
/// `signature`. Returns the number of entries checked (at least one).
pub(crate) fn verify_entries(
    bundle: &Value,
    root: &Value,
    key: &PublicKey,
    signed_digest: &Digest,
    signature: &[u8],
) -> Result<usize, Error> {
    let entries = bundle
        .pointer("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| fail("the bundle carries no transparency-log entry"))?;
    let logs = trusted_logs(root);
    for entry in entries {
        let get = |p: &str| entry.pointer(p).and_then(Value::as_str);
        if get("/kindVersion/kind") != Some("hashedrekord")
            || get("/kindVersion/version") != Some("0.0.2")
        {
            return Err(fail("entry is not a hashedrekord 0.0.2 entry"));
        }
        let body = get("/canonicalizedBody")
            .and_then(b64::decode)
            .ok_or_else(|| fail("entry body is not base64"))?;
        let parsed: Value = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("entry body is not JSON: {e}")))?;
        let expected: Value =
            serde_json::from_slice(&rekor::hashedrekord_body(signed_digest, signature, key))
                .map_err(|e| fail(e.to_string()))?;
        if parsed != expected {
            return Err(Error::Verification {
                check: "transparency log",
                reason: "log entry does not match the bundle (digest, signature or key differ)"
                    .into(),
            });
        }
        let log_id: [u8; 32] = get("/logId/keyId")
            .and_then(b64::decode)
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| fail("entry has no 32-byte log id"))?;
        let (_, log_key) = logs
            .iter()
            .find(|(id, _)| *id == log_id)
            .ok_or_else(|| fail(format!("unknown transparency log {}", b64::encode(log_id))))?;
        let index: u64 = get("/logIndex")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fail("entry has no log index"))?;
        let envelope = get("/inclusionProof/checkpoint/envelope")
            .ok_or_else(|| fail("entry has no inclusion proof with a checkpoint"))?;
        // The checkpoint's first line is the log's origin, which is also its key name; the log
        // id binds that name and key together.
        let origin = envelope.lines().next().unwrap_or_default();
        if rekor::log_id(origin, log_key.as_bytes()) != log_id {
            return Err(fail("checkpoint origin does not match the log id"));
        }
        let verifier = NoteVerifier::new(origin, zt_tlog::note::TYPE_ED25519, *log_key)
            .map_err(|e| fail(e.to_string()))?;
        let (checkpoint, _) = Checkpoint::open(envelope.as_bytes(), &verifier)
            .map_err(|e| fail(format!("invalid checkpoint: {e}")))?;
        let hashes: Vec<[u8; 32]> = entry
            .pointer("/inclusionProof/hashes")
            .and_then(Value::as_array)
            .ok_or_else(|| fail("inclusion proof has no hashes"))?
            .iter()
            .map(|h| {
                h.as_str()
                    .and_then(b64::decode)
                    .and_then(|v| v.try_into().ok())
            })
            .collect::<Option<_>>()
            .ok_or_else(|| fail("inclusion proof hash is not 32 bytes of base64"))?;
        verify_inclusion(
            &leaf_hash(&body),
            index,
            checkpoint.size,
            &hashes,
            &checkpoint.root,
        )
        .map_err(|e| fail(format!("invalid inclusion proof: {e}")))?;
    }
    Ok(entries.len())
}
