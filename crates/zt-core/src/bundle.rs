//! What a Sigstore bundle (v0.1–v0.3 JSON) says about itself, read as typed values: its
//! content (an in-toto statement in a DSSE envelope, or a message signature over a digest), the
//! subjects that content is about, the transparency-log entries it carries and its key hint.
//!
//! Nothing here verifies anything: these are the claims a bundle makes, read once in one
//! place for indexing and for routing it to the verifier; trust comes only from verification
//! (zt-sign). Every reader returns `None`/empty or an error on malformed input, never panics.
//!
//! ```
//! use zt_core::bundle::{self, Content};
//! let json: serde_json::Value = serde_json::from_str(r#"{"messageSignature":
//!   {"messageDigest": {"algorithm": "SHA2_256",
//!    "digest": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}, "signature": ""}}"#).unwrap();
//! let Content::MessageSignature(d) = bundle::content(&json).unwrap() else { panic!() };
//! assert_eq!(bundle::subjects(&json), vec![d]);
//! ```

use serde_json::Value;

use crate::{Digest, DigestAlgorithm, Statement, b64};

/// What a bundle signs.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// An in-toto statement in a DSSE envelope.
    Dsse(Statement),
    /// A signature over an artifact's digest.
    MessageSignature(Digest),
}

/// A transparency-log entry a bundle carries (`verificationMaterial.tlogEntries[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntryRef {
    /// The entry's index in its log.
    pub index: u64,
    /// The log's id (`logId.keyId`, base64), as the bundle gives it.
    pub log_id: String,
}

/// Why a bundle's content cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ContentError(pub String);

/// The bundle's content.
pub fn content(json: &Value) -> Result<Content, ContentError> {
    let bad = |m: &str| ContentError(m.to_string());
    if let Some(env) = json.get("dsseEnvelope") {
        let payload = env
            .get("payload")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`dsseEnvelope.payload` is missing"))?;
        let bytes =
            b64::decode(payload).ok_or_else(|| bad("`dsseEnvelope.payload` is not base64"))?;
        let statement =
            Statement::from_json(&bytes).map_err(|e| ContentError(format!("DSSE payload: {e}")))?;
        return Ok(Content::Dsse(statement));
    }
    if let Some(sig) = json.get("messageSignature") {
        let md = sig
            .get("messageDigest")
            .ok_or_else(|| bad("`messageSignature.messageDigest` is missing"))?;
        let algorithm = match md.get("algorithm").and_then(Value::as_str) {
            Some("SHA2_256") => DigestAlgorithm::Sha256,
            Some("SHA2_512") => DigestAlgorithm::Sha512,
            Some(other) => {
                return Err(ContentError(format!(
                    "unsupported message digest algorithm `{other}`"
                )));
            }
            None => return Err(bad("`messageSignature.messageDigest.algorithm` is missing")),
        };
        let bytes = md
            .get("digest")
            .and_then(Value::as_str)
            .and_then(b64::decode)
            .ok_or_else(|| bad("`messageSignature.messageDigest.digest` is not base64"))?;
        let digest = Digest::new(algorithm, bytes)
            .map_err(|e| ContentError(format!("message digest: {e}")))?;
        return Ok(Content::MessageSignature(digest));
    }
    Err(bad(
        "neither `dsseEnvelope` nor `messageSignature` is present",
    ))
}

/// The in-toto statement of a DSSE bundle.
pub fn statement(json: &Value) -> Option<Statement> {
    match content(json).ok()? {
        Content::Dsse(s) => Some(s),
        Content::MessageSignature(_) => None,
    }
}

/// The SHA-256 digests the bundle is about: the signed digest of a message signature, or the
/// statement's subjects.
pub fn subjects(json: &Value) -> Vec<Digest> {
    subjects_of(json, &[DigestAlgorithm::Sha256])
}

/// The digests (of the given algorithms) the bundle is about.
pub fn subjects_of(json: &Value, algorithms: &[DigestAlgorithm]) -> Vec<Digest> {
    match content(json) {
        Ok(Content::MessageSignature(d)) if algorithms.contains(&d.algorithm()) => vec![d],
        Ok(Content::Dsse(s)) => s
            .subject
            .iter()
            .flat_map(|r| algorithms.iter().filter_map(|a| r.digest_for(*a)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The log entries the bundle carries, in order (entries without an index or log id are
/// left out).
pub fn log_entries(json: &Value) -> Vec<LogEntryRef> {
    json.pointer("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(LogEntryRef {
                log_id: e.pointer("/logId/keyId")?.as_str()?.to_string(),
                index: e.get("logIndex")?.as_str()?.parse().ok()?,
            })
        })
        .collect()
}

/// The public-key hint of a key-signed bundle (`verificationMaterial.publicKey.hint`).
pub fn key_hint(json: &Value) -> Option<&str> {
    json.pointer("/verificationMaterial/publicKey/hint")
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn a_dsse_bundle_reads_as_its_statement() {
        let st = Statement::new(
            vec![crate::ResourceDescriptor::subject(
                "a",
                &Digest::sha256(b"a"),
            )],
            "https://example.com/p",
            json!({}),
        );
        let payload = b64::encode(st.to_json());
        let json = json!({
            "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": []},
            "verificationMaterial": {"tlogEntries": [{"logIndex": "7", "logId": {"keyId": "AA=="}}, {"logIndex": "x"}]},
        });
        assert_eq!(statement(&json), Some(st));
        assert_eq!(subjects(&json), vec![Digest::sha256(b"a")]);
        assert_eq!(
            log_entries(&json),
            vec![LogEntryRef {
                index: 7,
                log_id: "AA==".into()
            }]
        );
    }

    #[test]
    fn malformed_bundles_read_as_nothing() {
        for j in [
            json!(null),
            json!({}),
            json!({"dsseEnvelope": {"payload": "!!"}}),
            json!({"messageSignature": {"messageDigest": {"algorithm": "MD5", "digest": ""}}}),
            json!({"verificationMaterial": {"tlogEntries": "no"}}),
        ] {
            assert!(statement(&j).is_none());
            assert!(subjects(&j).is_empty());
            assert!(log_entries(&j).is_empty());
        }
    }
}
