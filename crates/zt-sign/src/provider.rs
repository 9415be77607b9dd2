//! zt's backend for `sigstore-crypto`, installed once per process by [`install`]. ECDSA over a
//! whole message (certificate chains, SCTs, DSSE, checkpoints — every signature of a bundle but
//! a hashedrekord's) goes to `ring`, which rustls links into zt anyway and which verifies
//! P-256 and P-384 about ten times faster than the pure-Rust `p256`/`p384`; those still take
//! prehashed ECDSA (ring has no prehashed API) and keys in compressed form (ring takes only
//! uncompressed points). Ed25519 is ed25519-dalek's `verify_strict`, RSA the `rsa` crate.

use sha2::Digest as _;
use sigstore_verify::crypto::error::{Error as CryptoError, Result as CryptoResult};
use sigstore_verify::crypto::{CryptoProvider, HashContext, SigningScheme};
use sigstore_verify::types::HashAlgorithm;

/// The provider; stateless.
#[derive(Debug)]
pub(crate) struct RustCryptoProvider;

static PROVIDER: RustCryptoProvider = RustCryptoProvider;

/// Installs the provider as sigstore-crypto's process-wide default (idempotent).
pub(crate) fn install() {
    // A second call finds it installed already: that is fine.
    let _ = sigstore_verify::crypto::install_default_provider(&PROVIDER);
}

enum Hash {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl HashContext for Hash {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hash::Sha256(h) => h.update(data),
            Hash::Sha384(h) => h.update(data),
            Hash::Sha512(h) => h.update(data),
        }
    }

    fn finalize(self: Box<Self>) -> Vec<u8> {
        match *self {
            Hash::Sha256(h) => h.finalize().to_vec(),
            Hash::Sha384(h) => h.finalize().to_vec(),
            Hash::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

fn digest(algorithm: HashAlgorithm, data: &[u8]) -> CryptoResult<Vec<u8>> {
    Ok(match algorithm {
        HashAlgorithm::Sha2256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha2384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha2512 => sha2::Sha512::digest(data).to_vec(),
        other => return Err(unsupported_hash(other)),
    })
}

fn unsupported_hash(algorithm: HashAlgorithm) -> CryptoError {
    CryptoError::UnsupportedAlgorithm(format!("cannot compute {algorithm} digests"))
}

fn invalid(scheme: SigningScheme) -> CryptoError {
    CryptoError::Verification(format!("{} signature invalid", scheme.name()))
}

fn verify_ecdsa_prehashed(
    scheme: SigningScheme,
    key: &[u8],
    prehash: &[u8],
    signature: &[u8],
) -> CryptoResult<()> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    match scheme {
        SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP256Sha384 => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| CryptoError::InvalidKey(format!("P-256 public key: {e}")))?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| invalid(scheme))?;
            vk.verify_prehash(prehash, &sig)
                .map_err(|_| invalid(scheme))
        }
        SigningScheme::EcdsaP384Sha256 | SigningScheme::EcdsaP384Sha384 => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|e| CryptoError::InvalidKey(format!("P-384 public key: {e}")))?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| invalid(scheme))?;
            vk.verify_prehash(prehash, &sig)
                .map_err(|_| invalid(scheme))
        }
        _ => Err(CryptoError::UnsupportedAlgorithm(format!(
            "{scheme:?} is not ECDSA"
        ))),
    }
}

/// ring's verifier for an ECDSA scheme with DER (ASN.1) signatures, as X.509 and Sigstore use.
fn ring_ecdsa(
    scheme: SigningScheme,
) -> Option<&'static ring::signature::EcdsaVerificationAlgorithm> {
    use ring::signature as r;
    Some(match scheme {
        SigningScheme::EcdsaP256Sha256 => &r::ECDSA_P256_SHA256_ASN1,
        SigningScheme::EcdsaP256Sha384 => &r::ECDSA_P256_SHA384_ASN1,
        SigningScheme::EcdsaP384Sha256 => &r::ECDSA_P384_SHA256_ASN1,
        SigningScheme::EcdsaP384Sha384 => &r::ECDSA_P384_SHA384_ASN1,
        _ => return None,
    })
}

fn verify_rsa_prehashed(
    scheme: SigningScheme,
    key: &[u8],
    prehash: &[u8],
    signature: &[u8],
) -> CryptoResult<()> {
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let pk = rsa::RsaPublicKey::from_pkcs1_der(key)
        .map_err(|e| CryptoError::InvalidKey(format!("RSA public key: {e}")))?;
    let bits = pk.size() * 8;
    if !(2048..=8192).contains(&bits) {
        return Err(CryptoError::InvalidKey(format!(
            "RSA key of {bits} bits (2048 to 8192 are accepted)"
        )));
    }
    let result = match scheme {
        SigningScheme::RsaPkcs1Sha256 => {
            pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), prehash, signature)
        }
        SigningScheme::RsaPkcs1Sha384 => {
            pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), prehash, signature)
        }
        SigningScheme::RsaPkcs1Sha512 => {
            pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), prehash, signature)
        }
        SigningScheme::RsaPssSha256 => {
            pk.verify(rsa::Pss::new::<sha2::Sha256>(), prehash, signature)
        }
        SigningScheme::RsaPssSha384 => {
            pk.verify(rsa::Pss::new::<sha2::Sha384>(), prehash, signature)
        }
        SigningScheme::RsaPssSha512 => {
            pk.verify(rsa::Pss::new::<sha2::Sha512>(), prehash, signature)
        }
        _ => {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "{scheme:?} is not RSA"
            )));
        }
    };
    result.map_err(|_| invalid(scheme))
}

impl CryptoProvider for RustCryptoProvider {
    fn hash(&self, algorithm: HashAlgorithm) -> CryptoResult<Box<dyn HashContext>> {
        Ok(Box::new(match algorithm {
            HashAlgorithm::Sha2256 => Hash::Sha256(sha2::Sha256::new()),
            HashAlgorithm::Sha2384 => Hash::Sha384(sha2::Sha384::new()),
            HashAlgorithm::Sha2512 => Hash::Sha512(sha2::Sha512::new()),
            other => return Err(unsupported_hash(other)),
        }))
    }

    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(data).into()
    }

    fn sha384(&self, data: &[u8]) -> [u8; 48] {
        sha2::Sha384::digest(data).into()
    }

    fn sha512(&self, data: &[u8]) -> [u8; 64] {
        sha2::Sha512::digest(data).into()
    }

    fn verify_raw(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> CryptoResult<()> {
        match scheme {
            SigningScheme::Ed25519 => {
                let bytes: [u8; 32] = key
                    .try_into()
                    .map_err(|_| CryptoError::InvalidKey("Ed25519 key is not 32 bytes".into()))?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|e| CryptoError::InvalidKey(format!("Ed25519 key: {e}")))?;
                let sig =
                    ed25519_dalek::Signature::from_slice(signature).map_err(|_| invalid(scheme))?;
                vk.verify_strict(data, &sig).map_err(|_| invalid(scheme))
            }
            SigningScheme::MlDsa44 | SigningScheme::MlDsa65 | SigningScheme::MlDsa87 => {
                Err(CryptoError::UnsupportedAlgorithm(format!(
                    "{} is not supported by zt",
                    scheme.name()
                )))
            }
            _ => {
                if let Some(alg) = ring_ecdsa(scheme)
                    && key.first() == Some(&0x04)
                {
                    return ring::signature::UnparsedPublicKey::new(alg, key)
                        .verify(data, signature)
                        .map_err(|_| invalid(scheme));
                }
                let algorithm = scheme.hash_algorithm().ok_or_else(|| {
                    CryptoError::UnsupportedAlgorithm(format!("{scheme:?} has no hash"))
                })?;
                self.verify_prehashed(scheme, key, &digest(algorithm, data)?, signature)
            }
        }
    }

    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        key: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> CryptoResult<()> {
        let expected = scheme
            .hash_algorithm()
            .ok_or_else(|| {
                CryptoError::UnsupportedAlgorithm(format!(
                    "{scheme:?} does not support prehashed mode"
                ))
            })?
            .digest_size();
        if prehash.len() != expected {
            return Err(CryptoError::Verification(format!(
                "digest of {} bytes for a scheme hashing to {expected}",
                prehash.len()
            )));
        }
        match scheme {
            SigningScheme::EcdsaP256Sha256
            | SigningScheme::EcdsaP256Sha384
            | SigningScheme::EcdsaP384Sha256
            | SigningScheme::EcdsaP384Sha384 => {
                verify_ecdsa_prehashed(scheme, key, prehash, signature)
            }
            _ => verify_rsa_prehashed(scheme, key, prehash, signature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileKey, KeyType, Signer as _};

    #[test]
    fn verifies_what_file_keys_sign() {
        for t in [KeyType::Ed25519, KeyType::P256] {
            let key = FileKey::generate(t);
            let sig = key.sign(b"data").unwrap();
            let spki = key.public_key().to_spki_der();
            let info = spki::SubjectPublicKeyInfoRef::try_from(spki.as_slice()).unwrap();
            let raw = info.subject_public_key.raw_bytes();
            let scheme = match t {
                KeyType::Ed25519 => SigningScheme::Ed25519,
                KeyType::P256 => SigningScheme::EcdsaP256Sha256,
            };
            PROVIDER.verify_raw(scheme, raw, b"data", &sig).unwrap();
            assert!(PROVIDER.verify_raw(scheme, raw, b"date", &sig).is_err());
        }
    }

    /// ring (whole messages, uncompressed keys) and p256/p384 (prehashed, compressed keys) must
    /// agree on every signature: good ones, and single-bit flips all over signature and message
    /// (every 7th bit: a test of seconds, not minutes, in a debug build).
    #[test]
    fn ring_and_rustcrypto_agree_on_ecdsa() {
        use p256::ecdsa::signature::Signer as _;
        let mut rng = rand_core::OsRng;
        let k256 = p256::ecdsa::SigningKey::random(&mut rng);
        let k384 = p384::ecdsa::SigningKey::random(&mut rng);
        let msg = b"an in-toto statement, or a certificate's TBS bytes".to_vec();
        let s256: p256::ecdsa::Signature = k256.sign(&msg);
        let s384: p384::ecdsa::Signature = k384.sign(&msg);
        let cases = [
            (
                SigningScheme::EcdsaP256Sha256,
                k256.verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
                k256.verifying_key()
                    .to_encoded_point(true)
                    .as_bytes()
                    .to_vec(),
                s256.to_der().as_bytes().to_vec(),
            ),
            (
                SigningScheme::EcdsaP384Sha384,
                k384.verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
                k384.verifying_key()
                    .to_encoded_point(true)
                    .as_bytes()
                    .to_vec(),
                s384.to_der().as_bytes().to_vec(),
            ),
        ];
        for (scheme, uncompressed, compressed, sig) in cases {
            let check = |m: &[u8], s: &[u8]| {
                let fast = PROVIDER.verify_raw(scheme, &uncompressed, m, s).is_ok();
                let slow = PROVIDER.verify_raw(scheme, &compressed, m, s).is_ok();
                let prehashed = PROVIDER
                    .verify_prehashed(
                        scheme,
                        &uncompressed,
                        &digest(scheme.hash_algorithm().unwrap(), m).unwrap(),
                        s,
                    )
                    .is_ok();
                assert_eq!((fast, slow), (prehashed, prehashed), "{scheme:?}");
                fast
            };
            assert!(check(&msg, &sig));
            for i in (0..sig.len() * 8).step_by(7) {
                let mut s = sig.clone();
                s[i / 8] ^= 1 << (i % 8);
                assert!(!check(&msg, &s), "{scheme:?} signature bit {i}");
            }
            for i in (0..msg.len() * 8).step_by(7) {
                let mut m = msg.clone();
                m[i / 8] ^= 1 << (i % 8);
                assert!(!check(&m, &sig), "{scheme:?} message bit {i}");
            }
            // Another scheme's curve: refused, not a panic.
            let other = if scheme == SigningScheme::EcdsaP256Sha256 {
                SigningScheme::EcdsaP384Sha384
            } else {
                SigningScheme::EcdsaP256Sha256
            };
            assert!(
                PROVIDER
                    .verify_raw(other, &uncompressed, &msg, &sig)
                    .is_err()
            );
        }
    }
}
