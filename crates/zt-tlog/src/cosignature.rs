//! Witness cosignatures, C2SP `cosignature/v1` (<https://c2sp.org/tlog-cosignature>), Ed25519.
//!
//! A witness signs `cosignature/v1\ntime <T>\n` followed by the whole checkpoint text, and
//! appends a note signature line (type `0x04` key ID) holding the 8-byte big-endian timestamp
//! then the 64-byte signature.

use ed25519_dalek::{Signer as _, SigningKey};

use crate::error::NoteError;
use crate::note::{NoteSignature, NoteVerifier, TYPE_COSIGNATURE_V1};

/// The message a `cosignature/v1` signs over a checkpoint note text.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// A witness key: signs `cosignature/v1` cosignatures under a name.
#[derive(Clone)]
pub struct WitnessSigner {
    key: SigningKey,
    verifier: NoteVerifier,
}

impl std::fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        write!(f, "WitnessSigner({})", self.verifier.to_vkey())
    }
}

impl WitnessSigner {
    /// A witness named `name` (a schema-less URL) with Ed25519 key `key`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        let verifier = NoteVerifier::new(name, TYPE_COSIGNATURE_V1, key.verifying_key())?;
        Ok(Self { key, verifier })
    }

    /// The witness's verifier key (type `0x04`), for trust policies.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Cosigns a checkpoint note text at `timestamp` (POSIX seconds, at most 2^63 - 1).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.min(i64::MAX as u64);
        let sig = self
            .key
            .sign(cosigned_message(checkpoint_text, timestamp).as_bytes());
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.verifier.name().into(),
            key_id: self.verifier.key_id(),
            signature,
        }
    }
}

/// Verifies one cosignature line by `witness` over `checkpoint_text`; returns its timestamp.
pub fn verify_cosignature(
    witness: &NoteVerifier,
    checkpoint_text: &str,
    sig: &NoteSignature,
) -> Result<u64, NoteError> {
    let bad = || NoteError::BadSignature {
        name: sig.name.clone(),
        key_id: sig.key_id,
    };
    if witness.sig_type() != TYPE_COSIGNATURE_V1 {
        return Err(NoteError::KeyType(witness.sig_type()));
    }
    if !witness.matches(sig) || sig.signature.len() != 8 + 64 {
        return Err(bad());
    }
    let (ts, raw) = sig.signature.split_at(8);
    let mut ts_bytes = [0u8; 8];
    ts_bytes.copy_from_slice(ts);
    let timestamp = u64::from_be_bytes(ts_bytes);
    if timestamp > i64::MAX as u64 {
        return Err(bad());
    }
    if witness.verify_raw(cosigned_message(checkpoint_text, timestamp).as_bytes(), raw) {
        Ok(timestamp)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::TYPE_ED25519;

    #[test]
    fn cosignatures_verify_and_bind_text_and_time() {
        let w = WitnessSigner::new("witness.example/w1", SigningKey::from_bytes(&[3; 32])).unwrap();
        let text = "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let sig = w.cosign(text, 1_679_315_147);
        assert_eq!(
            verify_cosignature(w.verifier(), text, &sig).unwrap(),
            1_679_315_147
        );
        assert!(verify_cosignature(w.verifier(), &text.replace('1', "2"), &sig).is_err());
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert!(verify_cosignature(w.verifier(), text, &later).is_err());
        // A type 0x01 key with the same name and key is a different key ID.
        let plain = NoteVerifier::new(
            w.verifier().name(),
            TYPE_ED25519,
            *w.verifier().public_key(),
        )
        .unwrap();
        assert_ne!(plain.key_id(), w.verifier().key_id());
        // The vkey round-trips with its type byte.
        let vkey = w.verifier().to_vkey();
        assert_eq!(NoteVerifier::parse(&vkey).unwrap(), *w.verifier());
    }
}
