//! Verifying Sigstore bundles offline: zt's own and public-good ones.
//!
//! Certificate chains, SCTs, Rekor entries, checkpoints and RFC 3161 timestamps are checked by
//! the sigstore-rs verifier (`sigstore-verify`) running on zt's pure-Rust crypto provider; zt
//! adds the trusted root (the public-good production root is embedded), the artifact input
//! (a file, streamed, or a bare digest) and the reporting.

use std::path::{Path, PathBuf};

use sigstore_verify::types::{Sha256Hash, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};
use zt_core::{Digest, DigestAlgorithm, Statement, b64};

use crate::bundle::ParsedBundle;
use crate::{Error, PublicKey};

/// The Sigstore public-good production trusted root, embedded at build time.
pub const PRODUCTION_TRUSTED_ROOT: &str =
    include_str!("../data/sigstore-production-trusted-root.json");

/// What the bundle is checked against.
#[derive(Debug, Clone)]
pub enum Identity {
    /// A managed key: the bundle must be signed by this key.
    Key(PublicKey),
    /// A Fulcio certificate whose SAN equals `identity`, issued for `issuer`.
    Certificate {
        /// The expected subject alternative name (e-mail, URI).
        identity: String,
        /// The expected OIDC issuer URL.
        issuer: String,
    },
}

/// The artifact a bundle is about.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A file, hashed by streaming.
    File(PathBuf),
    /// Only the digest is known.
    Digest(Digest),
    /// The artifact's bytes, held in memory (an image manifest, a cosign payload).
    Bytes(Vec<u8>),
}

impl Artifact {
    /// Reads `FILE_OR_DIGEST` as the CLI takes it: `sha256:<hex>` is a digest unless a file of
    /// that name exists; anything else is a path.
    pub fn from_arg(arg: &str) -> Result<Self, Error> {
        if arg.starts_with("sha256:") && !Path::new(arg).exists() {
            return Ok(Artifact::Digest(arg.parse()?));
        }
        let path = PathBuf::from(arg);
        if !path.is_file() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("artifact `{arg}` is not a file (pass a path or `sha256:<hex>`)"),
            )));
        }
        Ok(Artifact::File(path))
    }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The artifact.
    pub artifact: &'a Artifact,
    /// The parsed bundle.
    pub bundle: &'a ParsedBundle,
    /// The signer to expect.
    pub identity: &'a Identity,
    /// A trusted root JSON replacing the embedded production root.
    pub trusted_root: Option<&'a str>,
    /// Accept a bundle with no transparency-log proof. Dangerous: nothing then shows that the
    /// signature was ever made public.
    pub insecure_ignore_tlog: bool,
    /// Require this witness quorum on every log checkpoint in the bundle.
    pub witness_policy: Option<&'a zt_tlog::TrustPolicy>,
}

/// What a successful verification established.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    /// The bundle's media type.
    pub media_type: String,
    /// `message-signature` or `dsse`.
    pub kind: &'static str,
    /// The artifact's SHA-256.
    pub artifact: Digest,
    /// Who signed: the key id (hex SHA-256 of the SPKI) or the certificate identity.
    pub signer: String,
    /// The certificate's OIDC issuer, for keyless bundles.
    pub issuer: Option<String>,
    /// Whether the transparency-log proof was checked.
    pub tlog_verified: bool,
    /// The log's integrated time (Rekor v1), Unix seconds.
    pub integrated_time: Option<i64>,
    /// Verified RFC 3161 timestamps, Unix seconds.
    pub timestamps: Vec<i64>,
    /// The witnesses whose cosignatures satisfied the witness policy.
    pub witnesses: Vec<String>,
    /// The predicate type, for DSSE bundles.
    pub predicate_type: Option<String>,
    /// The in-toto statement, for DSSE bundles.
    #[serde(skip)]
    pub statement: Option<Statement>,
}

/// Verifies a bundle against an artifact and an expected signer.
pub fn verify(req: &Request<'_>) -> Result<Verified, Error> {
    crate::provider::install();
    let root_json = req.trusted_root.unwrap_or(PRODUCTION_TRUSTED_ROOT);
    let prepared = prepared_root(root_json)?;
    let verifier = &prepared.verifier;
    let bundle = &req.bundle.bundle;

    let (kind, statement) = match &bundle.content {
        SignatureContent::MessageSignature(_) => ("message-signature", None),
        SignatureContent::DsseEnvelope(env) => {
            let statement = if env.payload_type == zt_core::statement::PAYLOAD_TYPE_INTOTO {
                Statement::from_json(env.payload.as_bytes()).ok()
            } else {
                None
            };
            ("dsse", statement)
        }
        _ => {
            return Err(Error::MalformedBundle {
                name: "bundle".into(),
                reason: "neither a message signature nor a DSSE envelope".into(),
            });
        }
    };

    let artifact_digest = match req.artifact {
        Artifact::File(p) => Digest::of_file(DigestAlgorithm::Sha256, p)?,
        Artifact::Digest(d) => d.clone(),
        Artifact::Bytes(b) => Digest::sha256(b),
    };
    let hash = Sha256Hash::try_from(artifact_digest.bytes()).map_err(|_| {
        Error::Core(zt_core::Error::InvalidDigest {
            value: artifact_digest.to_string(),
            reason: "zt verifies SHA-256 artifact digests",
        })
    })?;

    if let Identity::Key(key) = req.identity {
        check_key_hint(&req.bundle.json, key)?;
    }
    check_proof_duplicates(&req.bundle.json, &prepared.json)?;

    if req
        .bundle
        .bundle
        .verification_material
        .tlog_entries
        .is_empty()
    {
        if !req.insecure_ignore_tlog {
            return Err(Error::Verification {
                check: "transparency log",
                reason: "the bundle carries no transparency-log entry, so nothing shows the signature was made public".into(),
            });
        }
        if let Identity::Key(key) = req.identity {
            return verify_signature_only(req, key, kind, statement, artifact_digest);
        }
    }

    // sigstore-rs reads only P-256 verifiers in Rekor v2 bodies: zt checks its own Ed25519
    // entries itself (see `zt_log_verify`).
    if let Identity::Key(key @ PublicKey::Ed25519(_)) = req.identity {
        let mut verified =
            verify_signature_only(req, key, kind, statement, artifact_digest.clone())?;
        let (signed_digest, signature) = signed_material(&req.bundle.json, &artifact_digest)?;
        let root = &prepared.json;
        crate::zt_log_verify::verify_entries(
            &req.bundle.json,
            root,
            key,
            &signed_digest,
            &signature,
        )?;
        verified.tlog_verified = true;
        if let Some(policy) = req.witness_policy {
            verified.witnesses = check_witnesses(req.bundle, policy)?;
        }
        return Ok(verified);
    }

    let result = match req.identity {
        Identity::Key(key) => {
            let mut policy = PublicKeyVerificationPolicy::new(
                sigstore_verify::types::DerPublicKey::new(key.to_spki_der()),
            );
            if req.insecure_ignore_tlog {
                policy = policy.skip_tlog_unsafe();
            }
            match (req.artifact, key) {
                // Ed25519 message signatures cover the whole artifact: hand over its bytes.
                (Artifact::File(p), PublicKey::Ed25519(_)) if kind == "message-signature" => {
                    let bytes = fs_err::read(p)?;
                    verifier.verify(bytes.as_slice(), bundle, &policy)
                }
                (Artifact::Bytes(b), PublicKey::Ed25519(_)) if kind == "message-signature" => {
                    verifier.verify(b.as_slice(), bundle, &policy)
                }
                _ => verifier.verify(hash, bundle, &policy),
            }
        }
        Identity::Certificate { identity, issuer } => {
            let mut policy = VerificationPolicy::new(identity.as_str(), issuer.as_str());
            if req.insecure_ignore_tlog {
                policy = policy.skip_tlog_unsafe();
            }
            verifier.verify(hash, bundle, &policy)
        }
    }
    .map_err(map_error)?;

    let witnesses = match req.witness_policy {
        Some(policy) => check_witnesses(req.bundle, policy)?,
        None => Vec::new(),
    };

    let signer = match req.identity {
        Identity::Key(key) => key.key_id(),
        Identity::Certificate { .. } => {
            result.identity().map(|s| s.to_string()).unwrap_or_default()
        }
    };
    Ok(Verified {
        media_type: req.bundle.media_type.clone(),
        kind,
        artifact: artifact_digest,
        signer,
        issuer: result.issuer().map(str::to_string),
        tlog_verified: result.tlog_verified(),
        integrated_time: result.integrated_time().map(|t| t.as_second()),
        timestamps: result
            .verified_timestamps()
            .iter()
            .map(|t| t.as_second())
            .collect(),
        witnesses,
        predicate_type: statement.as_ref().map(|s| s.predicate_type.clone()),
        statement,
    })
}

/// Checks only the signature (and, for DSSE, that the statement names the artifact): the path
/// `--insecure-ignore-tlog` takes for a bundle that was never logged.
fn verify_signature_only(
    req: &Request<'_>,
    key: &PublicKey,
    kind: &'static str,
    statement: Option<Statement>,
    artifact_digest: Digest,
) -> Result<Verified, Error> {
    let fail = |check: &'static str, reason: &str| Error::Verification {
        check,
        reason: reason.to_string(),
    };
    let json = &req.bundle.json;
    if let Some(sig) = json.get("messageSignature") {
        let signature = sig
            .get("signature")
            .and_then(serde_json::Value::as_str)
            .and_then(b64::decode)
            .ok_or_else(|| fail("bundle", "message signature is not base64"))?;
        if let Some(claimed) = sig
            .pointer("/messageDigest/digest")
            .and_then(serde_json::Value::as_str)
            && b64::decode(claimed).as_deref() != Some(artifact_digest.bytes())
        {
            return Err(fail(
                "artifact digest",
                "message digest in bundle does not match artifact hash",
            ));
        }
        let checked = match (req.artifact, key) {
            (Artifact::File(p), PublicKey::Ed25519(_)) => key.verify(&fs_err::read(p)?, &signature),
            (Artifact::Bytes(b), PublicKey::Ed25519(_)) => key.verify(b, &signature),
            _ => key.verify_digest(artifact_digest.bytes(), &signature),
        };
        checked.map_err(|e| fail("signature", &e.to_string()))?;
    } else {
        let env = json
            .get("dsseEnvelope")
            .ok_or_else(|| fail("bundle", "neither a message signature nor a DSSE envelope"))?;
        let envelope = zt_core::Envelope::from_json(env.to_string().as_bytes())
            .map_err(|e| fail("bundle", &e.to_string()))?;
        let pae = envelope.pae();
        if !envelope
            .signatures
            .iter()
            .any(|s| key.verify(&pae, &s.sig).is_ok())
        {
            return Err(fail(
                "signature",
                "no DSSE signature verifies with the given key",
            ));
        }
        let about = statement
            .as_ref()
            .is_some_and(|s| s.is_about(&artifact_digest));
        if !about {
            return Err(fail(
                "artifact digest",
                "the statement's subjects do not include the artifact",
            ));
        }
    }
    Ok(Verified {
        media_type: req.bundle.media_type.clone(),
        kind,
        artifact: artifact_digest,
        signer: key.key_id(),
        issuer: None,
        tlog_verified: false,
        integrated_time: None,
        timestamps: Vec::new(),
        witnesses: Vec::new(),
        predicate_type: statement.as_ref().map(|s| s.predicate_type.clone()),
        statement,
    })
}

/// A `publicKey.hint` in zt's and Sigstore's form (base64 SHA-256 of the SPKI) must name the
/// key the caller expects: a bundle that says another key signed it is refused. Hints in other
/// forms are informational and ignored.
fn check_key_hint(json: &serde_json::Value, key: &PublicKey) -> Result<(), Error> {
    let hint = json
        .pointer("/verificationMaterial/publicKey/hint")
        .and_then(serde_json::Value::as_str);
    // The form is 44 characters of padded base64 (32 bytes); anything that long must be
    // exactly this key's hint, byte for byte.
    match hint {
        Some(h) if h.len() == 44 && h != key.hint() => Err(Error::Verification {
            check: "key hint",
            reason: format!(
                "the bundle names key `{h}` as its signer, not the given key `{}`",
                key.hint()
            ),
        }),
        _ => Ok(()),
    }
}

/// Rekor v2 proofs (`hashedrekord`/`dsse` 0.0.2 entries) repeat the index, tree size and root
/// that the signed checkpoint authenticates; sigstore-rs ignores the copies, zt requires them to agree, so no byte of a
/// bundle's proof can change unnoticed.
/// A trusted root made ready to verify against: its JSON tree and the verifier over it (every
/// key decoded, every certificate chain prepared).
pub(crate) struct PreparedRoot {
    /// The root's JSON tree.
    pub(crate) json: serde_json::Value,
    /// The verifier over it.
    pub(crate) verifier: Verifier,
}

/// The most trusted roots kept prepared (a process verifies against one or two).
const PREPARED_ROOTS: usize = 8;

/// `root_json` prepared, once per process: parsing the root and decoding its keys and
/// certificates costs more than many a verification, and a server or `zt verify IMAGE`
/// verifies many bundles against the same root. Nothing in it depends on the time (validity
/// windows are checked against each bundle's own times).
pub(crate) fn prepared_root(root_json: &str) -> Result<std::sync::Arc<PreparedRoot>, Error> {
    static PREPARED: std::sync::Mutex<Vec<(String, std::sync::Arc<PreparedRoot>)>> =
        std::sync::Mutex::new(Vec::new());
    let lock = || {
        PREPARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    // Held while a root is prepared: threads verifying against the same new root at once
    // (a judgement verifies its bundles in parallel) wait for one preparation, not make one
    // each.
    let mut all = lock();
    if let Some((_, p)) = all.iter().find(|(text, _)| text == root_json) {
        return Ok(p.clone());
    }
    let root = sigstore_verify::trust_root::TrustedRoot::from_json(root_json)
        .map_err(|e| Error::TrustedRoot(e.to_string()))?;
    let verifier = Verifier::new(&root).map_err(|e| Error::TrustedRoot(e.to_string()))?;
    let json = serde_json::from_str(root_json).map_err(|e| Error::TrustedRoot(e.to_string()))?;
    let prepared = std::sync::Arc::new(PreparedRoot { json, verifier });
    if all.len() >= PREPARED_ROOTS {
        all.remove(0);
    }
    all.push((root_json.to_owned(), prepared.clone()));
    Ok(prepared)
}

pub(crate) fn check_proof_duplicates(
    json: &serde_json::Value,
    root: &serde_json::Value,
) -> Result<(), Error> {
    let trusted_ids: Vec<&str> = root
        .get("tlogs")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            t.pointer("/logId/keyId")
                .and_then(serde_json::Value::as_str)
        })
        .collect();
    let entries = json
        .pointer("/verificationMaterial/tlogEntries")
        .and_then(serde_json::Value::as_array);
    for entry in entries.into_iter().flatten() {
        // A checkpoint is a C2SP signed note, byte for byte: the verifier below (and
        // sigstore-rs) read it line by line and would let a changed line ending or a stray
        // control character through, so the bundle would no longer be what the log signed.
        if let Some(envelope) = entry
            .pointer("/inclusionProof/checkpoint/envelope")
            .and_then(serde_json::Value::as_str)
        {
            zt_tlog::note::Note::parse(envelope.as_bytes()).map_err(|e| Error::Verification {
                check: "transparency log",
                reason: format!("the inclusion proof's checkpoint is not a signed note: {e}"),
            })?;
        }
        // Rekor v2 logs hold `hashedrekord` and `dsse` entries of version 0.0.2 only. An
        // `intoto` 0.0.2 entry is Rekor v1's: there the entry's `logIndex` is global across
        // the log's shards while its inclusion proof's is the shard's own, so the two differ
        // by design (sigstore-go proves inclusion with the proof's index and checks the
        // signed entry timestamp over the entry's).
        let kind = entry
            .pointer("/kindVersion/kind")
            .and_then(serde_json::Value::as_str);
        let version = entry
            .pointer("/kindVersion/version")
            .and_then(serde_json::Value::as_str);
        if !matches!(
            (kind, version),
            (Some("hashedrekord" | "dsse"), Some("0.0.2"))
        ) {
            continue;
        }
        let Some(proof) = entry.get("inclusionProof") else {
            continue;
        };
        let field = |v: &serde_json::Value, k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        let mismatch = |what: &str| Error::Verification {
            check: "transparency log",
            reason: format!(
                "the inclusion proof's {what} disagrees with the entry or its checkpoint"
            ),
        };
        if field(proof, "logIndex") != field(entry, "logIndex") {
            return Err(mismatch("log index"));
        }
        // The entry's log id must name a trusted log, and that log must have signed the
        // checkpoint (its key id prefixes one of the note's signatures).
        let log_id = entry
            .pointer("/logId/keyId")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if !trusted_ids.contains(&log_id) {
            return Err(Error::Verification {
                check: "transparency log",
                reason: format!("unknown transparency log `{log_id}`"),
            });
        }
        let id_prefix = b64::decode(log_id).and_then(|b| b.get(..4).map(<[u8]>::to_vec));
        // In a Rekor v2 / C2SP checkpoint the log signs under its origin's name.
        let envelope = proof
            .pointer("/checkpoint/envelope")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let origin = envelope.lines().next().unwrap_or_default();
        let signed_by_it = envelope
            .lines()
            .filter_map(|l| l.strip_prefix("\u{2014} "))
            .filter_map(|l| l.split_once(' '))
            .any(|(name, sig)| {
                name == origin
                    && b64::decode(sig).and_then(|b| b.get(..4).map(<[u8]>::to_vec)) == id_prefix
            });

        if !signed_by_it {
            return Err(mismatch("log id"));
        }

        if let Some(envelope) = proof
            .pointer("/checkpoint/envelope")
            .and_then(serde_json::Value::as_str)
        {
            let mut lines = envelope.lines().skip(1);
            let (size, root) = (lines.next(), lines.next());
            if field(proof, "treeSize").as_deref() != size {
                return Err(mismatch("tree size"));
            }
            if field(proof, "rootHash").as_deref() != root {
                return Err(mismatch("root hash"));
            }
        }
    }
    Ok(())
}

/// What a bundle's signature covers (the artifact digest, or the SHA-256 of the DSSE PAE) and
/// the signature itself.
fn signed_material(
    json: &serde_json::Value,
    artifact: &Digest,
) -> Result<(Digest, Vec<u8>), Error> {
    let bad = |reason: &str| Error::Verification {
        check: "bundle",
        reason: reason.to_string(),
    };
    if let Some(sig) = json
        .pointer("/messageSignature/signature")
        .and_then(serde_json::Value::as_str)
    {
        return Ok((
            artifact.clone(),
            b64::decode(sig).ok_or_else(|| bad("signature is not base64"))?,
        ));
    }
    let env = json
        .get("dsseEnvelope")
        .ok_or_else(|| bad("no signature in the bundle"))?;
    let envelope = zt_core::Envelope::from_json(env.to_string().as_bytes())
        .map_err(|e| bad(&e.to_string()))?;
    let [only] = envelope.signatures.as_slice() else {
        return Err(bad(
            "a logged DSSE envelope must carry exactly one signature",
        ));
    };
    Ok((Digest::sha256(&envelope.pae()), only.sig.clone()))
}

/// Every checkpoint in the bundle must satisfy the witness policy (log signature and k-of-N
/// witness cosignatures); returns the witnesses that cosigned.
fn check_witnesses(
    bundle: &ParsedBundle,
    policy: &zt_tlog::TrustPolicy,
) -> Result<Vec<String>, Error> {
    let entries = bundle
        .json
        .pointer("/verificationMaterial/tlogEntries")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut names = Vec::new();
    for entry in entries {
        let text = entry
            .pointer("/inclusionProof/checkpoint/envelope")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| Error::Verification {
                check: "witness quorum",
                reason: "a log entry carries no checkpoint to check cosignatures on".into(),
            })?;
        let verified =
            policy
                .verify_checkpoint(text.as_bytes())
                .map_err(|e| Error::Verification {
                    check: "witness quorum",
                    reason: e.to_string(),
                })?;
        for w in verified.witnesses {
            if !names.contains(&w) {
                names.push(w);
            }
        }
    }
    Ok(names)
}

/// The base64 SHA-256 of a key's SPKI, as Sigstore writes `publicKey.hint`.
pub fn key_hint(key: &PublicKey) -> String {
    b64::encode(key.fingerprint().bytes())
}

pub(crate) fn map_error(e: sigstore_verify::Error) -> Error {
    use sigstore_verify::Error as E;
    let (check, reason) = match &e {
        E::IdentityMismatch { .. } | E::IssuerMismatch { .. } => {
            ("certificate identity", e.to_string())
        }
        E::SignatureInvalid(_) | E::Crypto(_) => ("signature", e.to_string()),
        E::ArtifactMismatch(_) => ("artifact digest", e.to_string()),
        E::Certificate(_) => ("certificate", e.to_string()),
        E::TransparencyLog(_) => ("transparency log", e.to_string()),
        E::Timestamp(_) => ("timestamp", e.to_string()),
        E::UnsupportedArtifact(_) => {
            return Error::UnsupportedAlgorithm(e.to_string());
        }
        E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => {
            return Error::TrustedRoot(e.to_string());
        }
        E::ArtifactRead(io) => return Error::Io(std::io::Error::new(io.kind(), io.to_string())),
        _ => ("bundle", e.to_string()),
    };
    Error::Verification { check, reason }
}
