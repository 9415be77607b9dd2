//! Sigstore bundles: zt writes v0.3 and reads v0.1 to v0.3.
//!
//! A bundle holds one signature — a `messageSignature` over an artifact's SHA-256, or a
//! `dsseEnvelope` around an in-toto statement — plus the verification material: the signer's
//! key hint (or certificate chain) and the transparency-log entries that prove it was logged.

use std::path::Path;

use serde_json::{Value, json};
use zt_core::{Digest, DigestAlgorithm, Envelope, Statement, b64, dsse};

use crate::{Error, Signer};

/// The media type of the bundles zt writes.
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Every bundle media type zt reads.
pub const KNOWN_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    MEDIA_TYPE_V03,
];

/// A bundle zt has made, before it is logged and written.
#[derive(Debug, Clone)]
pub struct NewBundle {
    /// The bundle JSON (v0.3), without transparency-log entries yet.
    pub json: Value,
    /// The bytes the signature covers: the artifact's SHA-256 for a message signature, the
    /// PAE for a DSSE envelope. The transparency log records these.
    pub signed_digest: Digest,
    /// The raw signature.
    pub signature: Vec<u8>,
    /// The artifact digest(s) the bundle is about.
    pub subjects: Vec<Digest>,
}

/// Signs a file's contents: ECDSA keys sign the streamed SHA-256; Ed25519 keys, which must see
/// the whole message, sign the file's bytes.
pub fn sign_file(signer: &dyn Signer, path: &Path) -> Result<NewBundle, Error> {
    let digest = Digest::of_file(DigestAlgorithm::Sha256, path)?;
    let prehash: [u8; 32] = digest
        .bytes()
        .try_into()
        .map_err(|_| Error::SigningFailed("SHA-256 digest is not 32 bytes".into()))?;
    let signature = match signer.sign_prehashed(&prehash) {
        Some(sig) => sig?,
        None => signer.sign(&fs_err::read(path)?)?,
    };
    Ok(message_bundle(signer, digest, signature))
}

/// Signs a message held in memory (same rules as [`sign_file`]).
pub fn sign_bytes(signer: &dyn Signer, message: &[u8]) -> Result<NewBundle, Error> {
    let digest = Digest::sha256(message);
    let signature = signer.sign(message)?;
    Ok(message_bundle(signer, digest, signature))
}

fn message_bundle(signer: &dyn Signer, digest: Digest, signature: Vec<u8>) -> NewBundle {
    let json = json!({
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {
            "publicKey": { "hint": signer.public_key().hint() },
            "tlogEntries": [],
        },
        "messageSignature": {
            "messageDigest": { "algorithm": "SHA2_256", "digest": b64::encode(digest.bytes()) },
            "signature": b64::encode(&signature),
        },
    });
    NewBundle {
        json,
        signed_digest: digest.clone(),
        signature,
        subjects: vec![digest],
    }
}

/// Signs an in-toto statement in a DSSE envelope.
pub fn attest(signer: &dyn Signer, statement: &Statement) -> Result<NewBundle, Error> {
    statement.validate()?;
    let payload = statement.to_json();
    let pae = dsse::pae(zt_core::statement::PAYLOAD_TYPE_INTOTO, &payload);
    let signature = signer.sign(&pae)?;
    let envelope = Envelope {
        payload_type: zt_core::statement::PAYLOAD_TYPE_INTOTO.to_string(),
        payload,
        signatures: vec![zt_core::dsse::Signature {
            keyid: String::new(),
            sig: signature.clone(),
        }],
    };
    let subjects = statement
        .subject
        .iter()
        .filter_map(|s| s.digest_for(DigestAlgorithm::Sha256))
        .collect();
    let json = json!({
        "mediaType": MEDIA_TYPE_V03,
        "verificationMaterial": {
            "publicKey": { "hint": signer.public_key().hint() },
            "tlogEntries": [],
        },
        "dsseEnvelope": envelope.to_json_value(),
    });
    Ok(NewBundle {
        json,
        signed_digest: Digest::sha256(&pae),
        signature,
        subjects,
    })
}

/// Serialises a bundle as zt writes it: pretty JSON with a final newline.
pub fn to_bytes(bundle: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(bundle).unwrap_or_default();
    out.push(b'\n');
    out
}

/// The parts of a bundle zt reads before verifying it.
#[derive(Debug, Clone)]
pub struct ParsedBundle {
    /// The media type, one of [`KNOWN_MEDIA_TYPES`].
    pub media_type: String,
    /// The raw JSON.
    pub json: Value,
    /// The typed bundle as sigstore-rs reads it.
    pub bundle: sigstore_verify::types::Bundle,
}

/// Parses a bundle, checking that its media type is one zt reads. `name` names the source in
/// errors (usually the file path).
pub fn parse(bytes: &[u8], name: &str) -> Result<ParsedBundle, Error> {
    let malformed = |reason: String| Error::MalformedBundle {
        name: name.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text".into()))?;
    let json: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let media_type = json
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no `mediaType` string".into()))?;
    if !KNOWN_MEDIA_TYPES.contains(&media_type) {
        return Err(Error::UnknownMediaType {
            name: name.to_string(),
            media_type: media_type.to_string(),
        });
    }
    check_fields(&json, "", &BUNDLE).map_err(malformed)?;
    let bundle =
        sigstore_verify::types::Bundle::from_json(text).map_err(|e| malformed(e.to_string()))?;
    Ok(ParsedBundle {
        media_type: media_type.to_string(),
        json,
        bundle,
    })
}

/// The shape of a Sigstore bundle (v0.1 to v0.3, protobuf JSON names): each object's known
/// fields and the shape of each field's value. Unknown fields are refused, so that no part of a
/// bundle can change unnoticed (a misspelt `messageDigest` would otherwise just vanish).
enum Shape {
    Leaf,
    Object(&'static [(&'static str, Shape)]),
    List(&'static Shape),
}

const RAW_BYTES: Shape = Shape::Object(&[("rawBytes", Shape::Leaf)]);
const BUNDLE: Shape = Shape::Object(&[
    ("mediaType", Shape::Leaf),
    (
        "verificationMaterial",
        Shape::Object(&[
            ("publicKey", Shape::Object(&[("hint", Shape::Leaf)])),
            (
                "x509CertificateChain",
                Shape::Object(&[("certificates", Shape::List(&RAW_BYTES))]),
            ),
            ("certificate", RAW_BYTES),
            (
                "tlogEntries",
                Shape::List(&Shape::Object(&[
                    ("logIndex", Shape::Leaf),
                    ("logId", Shape::Object(&[("keyId", Shape::Leaf)])),
                    (
                        "kindVersion",
                        Shape::Object(&[("kind", Shape::Leaf), ("version", Shape::Leaf)]),
                    ),
                    ("integratedTime", Shape::Leaf),
                    (
                        "inclusionPromise",
                        Shape::Object(&[("signedEntryTimestamp", Shape::Leaf)]),
                    ),
                    (
                        "inclusionProof",
                        Shape::Object(&[
                            ("logIndex", Shape::Leaf),
                            ("rootHash", Shape::Leaf),
                            ("treeSize", Shape::Leaf),
                            ("hashes", Shape::List(&Shape::Leaf)),
                            ("checkpoint", Shape::Object(&[("envelope", Shape::Leaf)])),
                        ]),
                    ),
                    ("canonicalizedBody", Shape::Leaf),
                ])),
            ),
            (
                "timestampVerificationData",
                Shape::Object(&[(
                    "rfc3161Timestamps",
                    Shape::List(&Shape::Object(&[("signedTimestamp", Shape::Leaf)])),
                )]),
            ),
        ]),
    ),
    (
        "messageSignature",
        Shape::Object(&[
            (
                "messageDigest",
                Shape::Object(&[("algorithm", Shape::Leaf), ("digest", Shape::Leaf)]),
            ),
            ("signature", Shape::Leaf),
        ]),
    ),
    (
        "dsseEnvelope",
        Shape::Object(&[
            ("payload", Shape::Leaf),
            ("payloadType", Shape::Leaf),
            (
                "signatures",
                Shape::List(&Shape::Object(&[
                    ("sig", Shape::Leaf),
                    ("keyid", Shape::Leaf),
                ])),
            ),
        ]),
    ),
]);

fn check_fields(value: &Value, path: &str, shape: &Shape) -> Result<(), String> {
    match (shape, value) {
        (Shape::Object(fields), Value::Object(map)) => {
            for (key, v) in map {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let (_, inner) = fields
                    .iter()
                    .find(|(name, _)| name == key)
                    .ok_or_else(|| format!("unknown field `{here}`"))?;
                check_fields(v, &here, inner)?;
            }
            Ok(())
        }
        (Shape::List(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_fields(v, &format!("{path}[{i}]"), inner)),
        (Shape::Leaf, v) if !v.is_object() && !v.is_array() => Ok(()),
        (Shape::Leaf, _) => Err(format!("`{path}` must be a plain value")),
        (_, Value::Null) => Ok(()),
        (Shape::Object(_), _) => Err(format!("`{path}` must be an object")),
        (Shape::List(_), _) => Err(format!("`{path}` must be a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileKey, KeyType};

    #[test]
    fn written_bundles_parse_back() {
        let key = FileKey::generate(KeyType::P256);
        let b = sign_bytes(&key, b"hello").unwrap();
        let parsed = parse(&to_bytes(&b.json), "b.json").unwrap();
        assert_eq!(parsed.media_type, MEDIA_TYPE_V03);
        let statement = Statement::new(
            vec![zt_core::ResourceDescriptor::subject(
                "x",
                &Digest::sha256(b"x"),
            )],
            zt_core::predicate::SLSA_PROVENANCE_V1,
            json!({}),
        );
        let a = attest(&key, &statement).unwrap();
        parse(&to_bytes(&a.json), "a.json").unwrap();
        assert_eq!(a.subjects, vec![Digest::sha256(b"x")]);
    }

    #[test]
    fn unknown_media_type_is_named() {
        let err = parse(
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=9"}"#,
            "b.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("version=9"), "{err}");
        assert!(
            parse(b"{", "b.json")
                .unwrap_err()
                .to_string()
                .contains("b.json")
        );
    }
}
