//! zt's signers and verifiers.
//!
//! File keys (Ed25519 and ECDSA P-256, PKCS#8 PEM) and PKCS#11 tokens sign behind one
//! [`Signer`] trait; public keys verify behind [`PublicKey`]. Sigstore bundles carry the
//! signatures.
//!
//! ```
//! use zt_sign::{KeyType, FileKey, Signer};
//!
//! let key = FileKey::generate(KeyType::Ed25519);
//! let sig = key.sign(b"hello").unwrap();
//! key.public_key().verify(b"hello", &sig).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bundle;
mod error;
pub mod keys;
pub mod pkcs11;
mod provider;
pub mod rekor;
pub mod transparency;
pub mod upstream;
pub mod verify;
mod zt_log_verify;

pub use error::Error;
pub use keys::{FileKey, KeyType, PublicKey, Signer};

/// Opens a signing key: a `pkcs11:` URI names a token key, anything else is a PKCS#8 PEM file.
pub fn load_signer(spec: &str) -> Result<Box<dyn Signer>, Error> {
    if spec.starts_with("pkcs11:") {
        Ok(Box::new(pkcs11::Pkcs11Key::open(spec)?))
    } else {
        Ok(Box::new(FileKey::load(std::path::Path::new(spec))?))
    }
}

/// Opens a verification key: a `pkcs11:` URI (its public half), a PEM public key, or a PEM
/// private key (whose public half is used).
pub fn load_public_key(spec: &str) -> Result<PublicKey, Error> {
    if spec.starts_with("pkcs11:") {
        return Ok(pkcs11::Pkcs11Key::open(spec)?.public_key());
    }
    let path = std::path::Path::new(spec);
    let text = fs_err::read_to_string(path)?;
    if text.contains("PRIVATE KEY") {
        Ok(FileKey::from_pem(&text, path)?.public_key())
    } else {
        PublicKey::from_pem(&text, path)
    }
}
