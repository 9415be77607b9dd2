//! The master key wrapped by a PKCS#11 token (`.zt/secrets/master.key.p11`), so the disk never
//! holds it in the clear.
//!
//! The token holds an Ed25519 key (made with `zt key generate --type ed25519 --out 'pkcs11:token=…;object=…'`; zt-sign's PKCS#11
//! support opens it). Ed25519 signatures are deterministic (RFC 8032), so the token's signature
//! over a fixed label and a random salt is a secret only the token can reproduce; its SHA-256
//! is the key-encryption key, and the master key is stored AES-256-GCM-encrypted under it.
//! The private key never leaves the token. The URI must not carry `pin-value`: give the PIN
//! with `pin-source` or `ZT_PKCS11_PIN`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;
use zt_sign::Signer as _;
use zt_sign::pkcs11::{Pkcs11Key, Pkcs11Uri};

use crate::error::Error;
use crate::store::{MasterKey, random};

const FORMAT: &str = "zt-secrets-wrapped-key/v1";
const LABEL: &[u8] = b"zt-secrets master key wrap v1\0";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    format: String,
    uri: String,
    public_key: String,
    salt: String,
    nonce: String,
    wrapped: String,
}

fn kek(token: &Pkcs11Key, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
    if token.key_type() != zt_sign::KeyType::Ed25519 {
        return Err(Error::Wrap(
            "the token key must be Ed25519 (its signatures are deterministic; ECDSA's are not)"
                .into(),
        ));
    }
    let mut msg = LABEL.to_vec();
    msg.extend_from_slice(salt);
    let sig = Zeroizing::new(token.sign(&msg)?);
    let mut h = Sha256::new();
    h.update(b"zt-secrets kek\0");
    h.update(&*sig);
    Ok(Zeroizing::new(h.finalize().into()))
}

fn aead(kek: &[u8; 32]) -> Result<LessSafeKey, Error> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, kek).map_err(|_| Error::Internal("AES key setup failed"))?,
    ))
}

fn open_token(uri: &str) -> Result<Pkcs11Key, Error> {
    let parsed = Pkcs11Uri::parse(uri)?;
    if parsed.pin_value.is_some() {
        return Err(Error::Wrap(
            "the URI carries `pin-value`, which would be written to disk; use `pin-source` or `ZT_PKCS11_PIN`".into(),
        ));
    }
    Ok(Pkcs11Key::open(uri)?)
}

/// Wraps `key` with the token key `uri` names and writes it to `path` (0600, atomic).
pub fn wrap(path: &Path, uri: &str, key: &MasterKey) -> Result<(), Error> {
    let token = open_token(uri)?;
    let salt = random::<32>()?;
    let k1 = kek(&token, &salt)?;
    if *kek(&token, &salt)? != *k1 {
        return Err(Error::Wrap(
            "the token's signatures are not deterministic".into(),
        ));
    }
    let nonce = random::<12>()?;
    let mut buf = Zeroizing::new(key.bytes().to_vec());
    let public = token.public_key();
    aead(&k1)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(public.key_id().as_bytes()),
            &mut *buf,
        )
        .map_err(|_| Error::Internal("AES seal failed"))?;
    let w = Wrapped {
        format: FORMAT.into(),
        uri: uri.to_string(),
        public_key: public.key_id(),
        salt: STANDARD.encode(salt),
        nonce: STANDARD.encode(nonce),
        wrapped: STANDARD.encode(&*buf),
    };
    let bytes = serde_json::to_vec_pretty(&w).map_err(|_| Error::Internal("serialising failed"))?;
    zt_core::fsutil::write_atomic_mode(path, &bytes, Some(0o600))?;
    Ok(())
}

/// The token URI a wrapped key file names.
pub fn uri_of(path: &Path) -> Result<String, Error> {
    Ok(read(path)?.uri)
}

fn read(path: &Path) -> Result<Wrapped, Error> {
    crate::store::check_private(path)?;
    let bad = |m: String| Error::BadKeyFile {
        path: path.to_path_buf(),
        message: m,
    };
    let w: Wrapped =
        serde_json::from_slice(&fs_err::read(path)?).map_err(|e| bad(e.to_string()))?;
    if w.format != FORMAT {
        return Err(bad(format!("format `{}`", w.format)));
    }
    Ok(w)
}

/// Unwraps the master key in `path` with its token.
pub fn unwrap(path: &Path) -> Result<MasterKey, Error> {
    let w = read(path)?;
    let bad = |m: &str| Error::BadKeyFile {
        path: path.to_path_buf(),
        message: m.to_string(),
    };
    let token = open_token(&w.uri)?;
    if token.public_key().key_id() != w.public_key {
        return Err(Error::Wrap(format!(
            "the key at `{}` is not the key the master key was wrapped with",
            w.uri
        )));
    }
    let salt = STANDARD
        .decode(&w.salt)
        .map_err(|_| bad("salt is not base64"))?;
    let nonce: [u8; 12] = STANDARD
        .decode(&w.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| bad("nonce is not 12 bytes of base64"))?;
    let mut buf = Zeroizing::new(STANDARD.decode(&w.wrapped).map_err(|_| bad("not base64"))?);
    let plain = aead(&*kek(&token, &salt)?)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(w.public_key.as_bytes()),
            &mut buf,
        )
        .map_err(|_| {
            Error::Wrap("the wrapped master key does not open with the token's key".into())
        })?;
    let key: [u8; 32] = plain
        .try_into()
        .map_err(|_| bad("the wrapped key is not 32 bytes"))?;
    Ok(MasterKey::from_bytes(
        Zeroizing::new(key),
        path.to_path_buf(),
    ))
}
