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

mod error;
pub mod keys;

pub use error::Error;
pub use keys::{FileKey, KeyType, PublicKey, Signer};
