//! Rekor v2-shaped transparency-log entries for zt's own log: the canonical `hashedrekord`
//! 0.0.2 body that zt appends, the bundle `tlogEntries[]` item that carries its proof, and the
//! Sigstore trusted root that names zt's log, so that any Sigstore verifier given that root
//! and the signer's key accepts zt's bundles.

use serde_json::{Value, json};
use sha2::Digest as _;
use zt_core::{Digest, b64};

use crate::PublicKey;

/// The Sigstore `keyDetails` name of a key's algorithm.
pub fn key_details(key: &PublicKey) -> &'static str {
    match key {
        PublicKey::Ed25519(_) => "PKIX_ED25519",
        PublicKey::P256(_) => "PKIX_ECDSA_P256_SHA_256",
        PublicKey::P384(_) => "PKIX_ECDSA_P384_SHA_384",
    }
}

/// The canonical `hashedrekord` 0.0.2 body for a signature over `digest` (the artifact's
/// SHA-256 for a message signature, the SHA-256 of the PAE for a DSSE envelope). Keys are
/// sorted and there is no whitespace, so equal entries are equal bytes (RFC 8785 for this
/// all-ASCII shape).
pub fn hashedrekord_body(digest: &Digest, signature: &[u8], key: &PublicKey) -> Vec<u8> {
    let body = json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": { "algorithm": "SHA2_256", "digest": b64::encode(digest.bytes()) },
                "signature": {
                    "content": b64::encode(signature),
                    "verifier": {
                        "keyDetails": key_details(key),
                        "publicKey": { "rawBytes": b64::encode(key.to_spki_der()) },
                    },
                },
            },
        },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The Sigstore log id of a C2SP signed-note Ed25519 log key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖
/// key). Its first four bytes are the note key id that prefixes the checkpoint signature,
/// which is how Sigstore verifiers find the key for a checkpoint.
pub fn log_id(name: &str, ed25519_public: &[u8; 32]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(ed25519_public);
    h.finalize().into()
}

/// One `tlogEntries[]` item.
#[derive(Debug, Clone)]
pub struct LoggedEntry<'a> {
    /// The entry's index in the log.
    pub index: u64,
    /// The log id ([`log_id`]).
    pub log_id: [u8; 32],
    /// The canonical body that was appended.
    pub body: &'a [u8],
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// The root hash at that size.
    pub root_hash: [u8; 32],
    /// The inclusion proof, leaf to root.
    pub hashes: &'a [[u8; 32]],
    /// The signed checkpoint (note text) for `tree_size`.
    pub checkpoint: &'a str,
}

impl LoggedEntry<'_> {
    /// The bundle JSON for this entry (Rekor v2 shape: no integrated time, proof with checkpoint).
    pub fn to_json(&self) -> Value {
        json!({
            "logIndex": self.index.to_string(),
            "logId": { "keyId": b64::encode(self.log_id) },
            "kindVersion": { "kind": "hashedrekord", "version": "0.0.2" },
            "inclusionProof": {
                "logIndex": self.index.to_string(),
                "rootHash": b64::encode(self.root_hash),
                "treeSize": self.tree_size.to_string(),
                "hashes": self.hashes.iter().map(b64::encode).collect::<Vec<_>>(),
                "checkpoint": { "envelope": self.checkpoint },
            },
            "canonicalizedBody": b64::encode(self.body),
        })
    }
}

/// A Sigstore `trusted_root.json` naming one Ed25519 log (zt's), with no certificate or
/// timestamp authorities: bundles verified against it must name their signer by key.
pub fn trusted_root(name: &str, base_url: &str, ed25519_public: &[u8; 32]) -> Value {
    let spki = PublicKey::Ed25519(
        ed25519_dalek::VerifyingKey::from_bytes(ed25519_public).unwrap_or_default(),
    )
    .to_spki_der();
    json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": base_url,
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64::encode(spki),
                "keyDetails": "PKIX_ED25519",
                "validFor": { "start": "1970-01-01T00:00:00Z" },
            },
            "logId": { "keyId": b64::encode(log_id(name, ed25519_public)) },
        }],
        "certificateAuthorities": [],
        "ctlogs": [],
        "timestampAuthorities": [],
    })
}

/// Adds `extra`'s transparency logs to `root` (both trusted-root JSON), so one verifier trusts
/// the public-good instance and zt's own log at once.
pub fn merge_tlogs(root: &mut Value, extra: &Value) {
    if let (Some(tlogs), Some(more)) = (
        root.get_mut("tlogs").and_then(Value::as_array_mut),
        extra.get("tlogs").and_then(Value::as_array),
    ) {
        for t in more {
            if !tlogs.contains(t) {
                tlogs.push(t.clone());
            }
        }
    }
}
