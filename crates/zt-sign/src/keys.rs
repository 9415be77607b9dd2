//! File keys: generation, PEM encoding (PKCS#8 private, SPKI public), signing and verification.

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use sha2::Digest as _;
use zt_core::{Digest, b64};

use crate::Error;

const OID_ED25519: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: pkcs8::ObjectIdentifier = pkcs8::ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// The kinds of key zt generates and signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Ed25519 (pure EdDSA over the message).
    Ed25519,
    /// ECDSA on NIST P-256 with SHA-256, DER signatures.
    P256,
}

impl KeyType {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::P256 => "p256",
        }
    }
}

impl std::str::FromStr for KeyType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "ed25519" => Ok(KeyType::Ed25519),
            "p256" | "ecdsa-p256" => Ok(KeyType::P256),
            other => Err(Error::UnsupportedAlgorithm(other.to_string())),
        }
    }
}

/// Anything that signs: a file key or a PKCS#11 token key.
pub trait Signer: Send + Sync {
    /// Signs a message. ECDSA hashes it with SHA-256 first; Ed25519 signs it as is.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;

    /// Signs a precomputed SHA-256 digest (ECDSA only): lets large files be signed from their
    /// streamed digest. Ed25519 keys return `None`: they must see the whole message.
    fn sign_prehashed(&self, sha256: &[u8; 32]) -> Option<Result<Vec<u8>, Error>>;

    /// The public half.
    fn public_key(&self) -> PublicKey;
}

/// A private key held in a PEM file.
#[derive(Clone)]
pub enum FileKey {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::SigningKey),
    /// An ECDSA P-256 key.
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        write!(
            f,
            "FileKey({}, {})",
            self.key_type().name(),
            self.public_key().key_id()
        )
    }
}

impl FileKey {
    /// Generates a new key from the operating system's randomness.
    pub fn generate(key_type: KeyType) -> Self {
        let mut rng = rand_core::OsRng;
        match key_type {
            KeyType::Ed25519 => FileKey::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
            KeyType::P256 => FileKey::P256(p256::ecdsa::SigningKey::random(&mut rng)),
        }
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        match self {
            FileKey::Ed25519(_) => KeyType::Ed25519,
            FileKey::P256(_) => KeyType::P256,
        }
    }

    /// The PKCS#8 PEM encoding of the private key.
    pub fn to_pkcs8_pem(&self) -> Result<String, Error> {
        let doc = match self {
            FileKey::Ed25519(k) => k.to_pkcs8_der(),
            FileKey::P256(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::SigningFailed(format!("encoding the private key: {e}")))?;
        let pem = doc
            .to_pem("PRIVATE KEY", pkcs8::LineEnding::LF)
            .map_err(|e| Error::SigningFailed(format!("encoding the private key: {e}")))?;
        Ok(pem.to_string())
    }

    /// Parses a PKCS#8 PEM private key; `path` only names the source in errors.
    pub fn from_pem(pem: &str, path: &Path) -> Result<Self, Error> {
        let bad = |reason: String| Error::KeyFormat {
            path: path.to_path_buf(),
            expected: "PKCS#8 private key",
            reason,
        };
        if pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad(
                "encrypted keys are not supported; decrypt it or use a PKCS#11 token".into(),
            ));
        }
        if pem.contains("PUBLIC KEY") && !pem.contains("PRIVATE KEY") {
            return Err(bad(
                "this is a public key; signing needs the private key".into()
            ));
        }
        let (label, der) = pkcs8::Document::from_pem(pem).map_err(|e| bad(pem_reason(e)))?;
        if label != "PRIVATE KEY" {
            return Err(bad(format!(
                "PEM label is `{label}`, expected `PRIVATE KEY`"
            )));
        }
        let info =
            pkcs8::PrivateKeyInfo::try_from(der.as_bytes()).map_err(|e| bad(e.to_string()))?;
        match info.algorithm.oid {
            OID_ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der.as_bytes())
                .map(FileKey::Ed25519)
                .map_err(|e| bad(e.to_string())),
            OID_EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|e| bad(e.to_string()))?;
                if curve != OID_P256 {
                    return Err(Error::UnsupportedAlgorithm(format!(
                        "ECDSA on curve {curve}"
                    )));
                }
                p256::ecdsa::SigningKey::from_pkcs8_der(der.as_bytes())
                    .map(FileKey::P256)
                    .map_err(|e| bad(e.to_string()))
            }
            other => Err(Error::UnsupportedAlgorithm(format!(
                "key algorithm OID {other}"
            ))),
        }
    }

    /// Reads a PKCS#8 PEM private key file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = fs_err::read_to_string(path)?;
        Self::from_pem(&text, path)
    }
}

impl Signer for FileKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(match self {
            FileKey::Ed25519(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
            FileKey::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
        })
    }

    fn sign_prehashed(&self, sha256: &[u8; 32]) -> Option<Result<Vec<u8>, Error>> {
        match self {
            FileKey::Ed25519(_) => None,
            FileKey::P256(k) => Some(
                p256::ecdsa::signature::hazmat::PrehashSigner::<p256::ecdsa::Signature>::sign_prehash(k, sha256)
                    .map(|s| s.to_der().as_bytes().to_vec())
                    .map_err(|e| Error::SigningFailed(e.to_string())),
            ),
        }
    }

    fn public_key(&self) -> PublicKey {
        match self {
            FileKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            FileKey::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }
}

/// A public key that verifies signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// ECDSA P-256 (SHA-256).
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384 (SHA-384), verification only.
    P384(p384::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let bad = |reason: String| Error::KeyFormat {
            path: "<public key>".into(),
            expected: "SPKI public key",
            reason,
        };
        let spki = spki::SubjectPublicKeyInfoRef::try_from(der).map_err(|e| bad(e.to_string()))?;
        match spki.algorithm.oid {
            OID_ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::Ed25519)
                .map_err(|e| bad(e.to_string())),
            OID_EC_PUBLIC_KEY => match spki
                .algorithm
                .parameters_oid()
                .map_err(|e| bad(e.to_string()))?
            {
                OID_P256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(PublicKey::P256)
                    .map_err(|e| bad(e.to_string())),
                OID_P384 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map(PublicKey::P384)
                    .map_err(|e| bad(e.to_string())),
                curve => Err(Error::UnsupportedAlgorithm(format!(
                    "ECDSA on curve {curve}"
                ))),
            },
            other => Err(Error::UnsupportedAlgorithm(format!(
                "key algorithm OID {other}"
            ))),
        }
    }

    /// Parses a PEM `PUBLIC KEY`; `path` only names the source in errors.
    pub fn from_pem(pem: &str, path: &Path) -> Result<Self, Error> {
        let bad = |reason: String| Error::KeyFormat {
            path: path.to_path_buf(),
            expected: "SPKI public key",
            reason,
        };
        if pem.contains("PRIVATE KEY") {
            return Err(bad(
                "this is a private key; pass the public key (`.pub`) instead".into(),
            ));
        }
        let (label, der) = spki::Document::from_pem(pem).map_err(|e| bad(pem_reason(e)))?;
        if label != "PUBLIC KEY" {
            return Err(bad(format!(
                "PEM label is `{label}`, expected `PUBLIC KEY`"
            )));
        }
        Self::from_spki_der(der.as_bytes()).map_err(|e| match e {
            Error::KeyFormat { reason, .. } => bad(reason),
            other => other,
        })
    }

    /// Reads a PEM public key file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = fs_err::read_to_string(path)?;
        Self::from_pem(&text, path)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let doc = match self {
            PublicKey::Ed25519(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
        };
        // Encoding a valid in-memory key cannot fail.
        doc.map(|d| d.into_vec()).unwrap_or_default()
    }

    /// The PEM SubjectPublicKeyInfo.
    pub fn to_pem(&self) -> String {
        let der = self.to_spki_der();
        let body = b64::encode(&der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The key's identity: the SHA-256 of its DER SubjectPublicKeyInfo.
    pub fn fingerprint(&self) -> Digest {
        Digest::sha256(&self.to_spki_der())
    }

    /// The key id zt prints and indexes: hex SHA-256 of the SPKI DER.
    pub fn key_id(&self) -> String {
        self.fingerprint().hex()
    }

    /// The Sigstore bundle `publicKey.hint`: base64 SHA-256 of the SPKI DER.
    pub fn hint(&self) -> String {
        b64::encode(self.fingerprint().bytes())
    }

    /// The algorithm's name.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::P256(_) => "ecdsa-p256-sha256",
            PublicKey::P384(_) => "ecdsa-p384-sha384",
        }
    }

    /// Verifies a signature over a whole message.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        match self {
            PublicKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|e| Error::MalformedSignature(e.to_string()))?;
                k.verify_strict(message, &sig)
                    .map_err(|_| Error::BadSignature)
            }
            PublicKey::P256(_) => self.verify_digest(&sha2::Sha256::digest(message), signature),
            PublicKey::P384(_) => self.verify_digest(&sha2::Sha384::digest(message), signature),
        }
    }

    /// Verifies an ECDSA signature over a precomputed digest (SHA-256 for P-256, SHA-384 for
    /// P-384). Ed25519 cannot verify a digest and reports that.
    pub fn verify_digest(&self, digest: &[u8], signature: &[u8]) -> Result<(), Error> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        match self {
            PublicKey::Ed25519(_) => Err(Error::UnsupportedAlgorithm(
                "ed25519 signatures cover the whole artifact, not its digest; pass the file".into(),
            )),
            PublicKey::P256(k) => {
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|e| Error::MalformedSignature(e.to_string()))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| Error::BadSignature)
            }
            PublicKey::P384(k) => {
                let sig = p384::ecdsa::Signature::from_der(signature)
                    .map_err(|e| Error::MalformedSignature(e.to_string()))?;
                k.verify_prehash(digest, &sig)
                    .map_err(|_| Error::BadSignature)
            }
        }
    }
}

fn pem_reason(e: impl std::fmt::Display) -> String {
    format!("not valid PEM ({e}); is the file truncated?")
}

/// Writes a new key pair: `NAME` (PKCS#8 PEM, mode 0600) and `NAME.pub` (SPKI PEM). Refuses
/// to overwrite either file; on error nothing is left behind.
pub fn write_key_pair(key: &FileKey, out: &Path) -> Result<std::path::PathBuf, Error> {
    let public_path = {
        let mut p = out.as_os_str().to_owned();
        p.push(".pub");
        std::path::PathBuf::from(p)
    };
    for p in [out, public_path.as_path()] {
        if p.exists() {
            return Err(Error::KeyExists(p.to_path_buf()));
        }
    }
    let private_pem = key.to_pkcs8_pem()?;
    zt_core::fsutil::create_new_atomic(out, private_pem.as_bytes(), Some(0o600)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyExists(out.to_path_buf())
        } else {
            Error::Io(e)
        }
    })?;
    if let Err(e) = zt_core::fsutil::create_new_atomic(
        &public_path,
        key.public_key().to_pem().as_bytes(),
        Some(0o644),
    ) {
        // Leave nothing half-written: remove the private half we just created.
        let _ = fs_err::remove_file(out);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyExists(public_path)
        } else {
            Error::Io(e)
        });
    }
    Ok(public_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_sign() {
        for t in [KeyType::Ed25519, KeyType::P256] {
            let key = FileKey::generate(t);
            let pem = key.to_pkcs8_pem().unwrap();
            let back = FileKey::from_pem(&pem, Path::new("k")).unwrap();
            assert_eq!(back.public_key(), key.public_key());
            let pubkey =
                PublicKey::from_pem(&key.public_key().to_pem(), Path::new("k.pub")).unwrap();
            let sig = back.sign(b"msg").unwrap();
            pubkey.verify(b"msg", &sig).unwrap();
            assert!(pubkey.verify(b"msh", &sig).is_err());
            if let Some(s) = key.sign_prehashed(&sha2::Sha256::digest(b"msg").into()) {
                pubkey.verify(b"msg", &s.unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn refuses_bad_pem() {
        let key = FileKey::generate(KeyType::P256);
        let pem = key.to_pkcs8_pem().unwrap();
        let truncated = &pem[..pem.len() / 2];
        let err = FileKey::from_pem(truncated, Path::new("k.pem")).unwrap_err();
        assert!(err.to_string().contains("k.pem"), "{err}");
        let err = FileKey::from_pem(&key.public_key().to_pem(), Path::new("k.pub")).unwrap_err();
        assert!(err.to_string().contains("public key"), "{err}");
        let err = PublicKey::from_pem(&pem, Path::new("k.pem")).unwrap_err();
        assert!(err.to_string().contains("private key"), "{err}");
    }

    #[test]
    fn write_key_pair_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("signing");
        let key = FileKey::generate(KeyType::Ed25519);
        let pub_path = write_key_pair(&key, &out).unwrap();
        assert!(pub_path.ends_with("signing.pub"));
        let again = write_key_pair(&FileKey::generate(KeyType::Ed25519), &out).unwrap_err();
        assert!(matches!(again, Error::KeyExists(_)));
        assert_eq!(FileKey::load(&out).unwrap().public_key(), key.public_key());
    }
}
