//! OpenPGP signatures on commits (what `gpg --detach-sign --armor` writes for git), verified in
//! process with rPGP against a key from the signer policy, with the key's own expiry and
//! revocation read from its self-signatures.

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{Signature, SignatureType};
use pgp::types::KeyDetails;

/// An OpenPGP certificate (transferable public key) from a signer policy.
#[derive(Debug, Clone)]
pub struct PgpKey(SignedPublicKey);

/// When a key (primary or subkey) stops being valid, by its own self-signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLife {
    /// Unix seconds after which the key has expired.
    pub expires: Option<i64>,
    /// Unix seconds from which the key is revoked.
    pub revoked: Option<i64>,
}

/// A parsed OpenPGP signature.
#[derive(Debug)]
pub struct PgpSignature(DetachedSignature);

fn latest(sigs: &[Signature], pred: impl Fn(&Signature) -> bool) -> Option<&Signature> {
    sigs.iter()
        .filter(|s| pred(s))
        .max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

fn life(created: i64, self_sig: Option<&Signature>, revocations: &[&Signature]) -> KeyLife {
    let expires = self_sig
        .and_then(Signature::key_expiration_time)
        .map(|d| i64::from(d.as_secs()))
        .filter(|d| *d > 0)
        .map(|d| created + d);
    let revoked = revocations
        .iter()
        .map(|s| s.created().map_or(0, |t| i64::from(t.as_secs())))
        .min();
    KeyLife { expires, revoked }
}

impl PgpKey {
    /// Parses an armored `-----BEGIN PGP PUBLIC KEY BLOCK-----`.
    pub fn parse(armored: &str) -> Result<Self, String> {
        let (key, _) = SignedPublicKey::from_string(armored.trim())
            .map_err(|e| format!("not an OpenPGP public key: {e}"))?;
        key.verify_bindings()
            .map_err(|e| format!("OpenPGP key's self-signatures do not verify: {e}"))?;
        Ok(Self(key))
    }

    /// The primary key's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.0.primary_key.fingerprint())
    }

    /// The primary key's algorithm.
    pub fn algorithm(&self) -> String {
        format!("openpgp-{:?}", self.0.primary_key.algorithm()).to_lowercase()
    }

    /// Whether `fingerprint` (hex, any case, spaces allowed) names this key or one of its subkeys.
    pub fn has_fingerprint(&self, fingerprint: &str) -> bool {
        let want: String = fingerprint
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        std::iter::once(format!("{:X}", self.0.primary_key.fingerprint()))
            .chain(
                self.0
                    .public_subkeys
                    .iter()
                    .map(|s| format!("{:X}", s.key.fingerprint())),
            )
            .any(|f| f == want)
    }
}

/// The outcome of checking a signature against a key.
#[derive(Debug)]
pub enum Check {
    /// The signature is not by this key (nor a subkey).
    NotThisKey,
    /// Made by this key and the bytes verify; the signing (sub)key's life.
    Good(KeyLife),
    /// Made by this key but the bytes do not verify.
    Bad(String),
}

impl PgpSignature {
    /// Parses an armored `-----BEGIN PGP SIGNATURE-----`.
    pub fn parse(armored: &[u8]) -> Result<Self, String> {
        let (sig, _) = DetachedSignature::from_armor_single(armored)
            .map_err(|e| format!("malformed OpenPGP signature: {e}"))?;
        match sig.signature.typ() {
            Some(SignatureType::Binary | SignatureType::Text) => Ok(Self(sig)),
            other => Err(format!(
                "OpenPGP signature of type {other:?} is not a document signature"
            )),
        }
    }

    /// The issuer (fingerprint if the signature carries one, else the 64-bit key id), hex.
    pub fn issuer(&self) -> String {
        let s = &self.0.signature;
        if let Some(fp) = s.issuer_fingerprint().first() {
            return format!("{fp:X}");
        }
        s.issuer_key_id()
            .first()
            .map(|k| hex::encode_upper(k.as_ref()))
            .unwrap_or_else(|| "(no issuer)".into())
    }

    /// When the signer says it signed (not trusted).
    pub fn created(&self) -> Option<i64> {
        self.0.signature.created().map(|t| i64::from(t.as_secs()))
    }

    fn names(&self, key: &impl KeyDetails) -> bool {
        let s = &self.0.signature;
        let fp = key.fingerprint();
        let id = key.legacy_key_id();
        s.issuer_fingerprint().iter().any(|f| **f == fp)
            || s.issuer_key_id().iter().any(|k| **k == id)
    }

    /// Checks this signature over `payload` against `key` (its primary key or a signing subkey).
    pub fn check(&self, key: &PgpKey, payload: &[u8]) -> Check {
        let k = &key.0;
        if self.names(&k.primary_key) {
            let self_sig = latest(&k.details.direct_signatures, |_| true).or_else(|| {
                k.details
                    .users
                    .iter()
                    .filter_map(|u| {
                        latest(&u.signatures, |s| {
                            s.key_expiration_time().is_some() || s.is_certification()
                        })
                    })
                    .max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
            });
            let revocations: Vec<&Signature> = k.details.revocation_signatures.iter().collect();
            let life = life(
                i64::from(k.primary_key.created_at().as_secs()),
                self_sig,
                &revocations,
            );
            return match self.0.verify(&k.primary_key, payload) {
                Ok(()) => Check::Good(life),
                Err(e) => Check::Bad(format!("OpenPGP signature does not verify: {e}")),
            };
        }
        for sub in &k.public_subkeys {
            if !self.names(&sub.key) {
                continue;
            }
            let binding = latest(&sub.signatures, |s| {
                s.typ() == Some(SignatureType::SubkeyBinding)
            });
            if !binding.is_some_and(|b| b.key_flags().sign()) {
                return Check::Bad(
                    "signed by an OpenPGP subkey that is not bound for signing".into(),
                );
            }
            let mut revocations: Vec<&Signature> = sub
                .signatures
                .iter()
                .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
                .collect();
            revocations.extend(k.details.revocation_signatures.iter());
            let life = life(
                i64::from(sub.key.created_at().as_secs()),
                binding,
                &revocations,
            );
            return match self.0.verify(&sub.key, payload) {
                Ok(()) => Check::Good(life),
                Err(e) => Check::Bad(format!("OpenPGP signature does not verify: {e}")),
            };
        }
        Check::NotThisKey
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(
            PgpSignature::parse(
                b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
            )
            .is_err()
        );
        assert!(PgpSignature::parse(b"").is_err());
        assert!(
            PgpKey::parse(
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----"
            )
            .is_err()
        );
    }
}
