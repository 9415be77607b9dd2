//! C2SP signed notes (<https://c2sp.org/signed-note>): a UTF-8 text, a blank line, and one
//! `— <key name> base64(key ID ‖ signature)` line per signature. Keys are named; a key ID is
//! the first four bytes of SHA-256(name ‖ "\n" ‖ signature type ‖ public key).
//!
//! Two signature types are implemented, both Ed25519: `0x01` (plain note signatures, used by
//! logs) and `0x04` (`cosignature/v1`, used by witnesses; see [`crate::cosignature`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::error::NoteError;

/// The signature type byte of an Ed25519 note signature.
pub const TYPE_ED25519: u8 = 0x01;
/// The signature type byte of an Ed25519 `cosignature/v1` witness cosignature.
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;

/// The em dash and space that open every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Notes larger than this are refused before parsing (a checkpoint is a few hundred bytes).
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Notes with more signature lines than this are refused (as the Go reference does).
pub const MAX_SIGNATURES: usize = 100;

/// The 32-bit key ID of a key: `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]`, big-endian.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether `name` is a valid key name: non-empty, no Unicode whitespace, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// A public key that verifies one kind of note signature, with its name and key ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    sig_type: u8,
    key: VerifyingKey,
    id: u32,
}

impl NoteVerifier {
    /// A verifier for `key` under `name` with signature type `sig_type`
    /// ([`TYPE_ED25519`] or [`TYPE_COSIGNATURE_V1`]).
    pub fn new(name: &str, sig_type: u8, key: VerifyingKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.into()));
        }
        if sig_type != TYPE_ED25519 && sig_type != TYPE_COSIGNATURE_V1 {
            return Err(NoteError::KeyType(sig_type));
        }
        let id = key_id(name, sig_type, key.as_bytes());
        Ok(Self {
            name: name.into(),
            sig_type,
            key,
            id,
        })
    }

    /// Parses a verifier key: `<name>+<8 hex digit key ID>+base64(type ‖ public key)`. The
    /// key ID must match the one computed from the rest.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let vkey = vkey.trim();
        let bad = |why: &str| NoteError::VerifierKey(why.into());
        let (name, rest) = vkey
            .split_once('+')
            .ok_or_else(|| bad("expected `name+id+key`"))?;
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or_else(|| bad("expected `name+id+key`"))?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the key ID is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("the key ID is not hex"))?;
        let raw = STANDARD
            .decode(key_b64)
            .map_err(|_| bad("the key is not base64"))?;
        let (&sig_type, key) = raw.split_first().ok_or_else(|| bad("the key is empty"))?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 point"))?;
        let v = Self::new(name, sig_type, key)?;
        if v.id != id {
            return Err(bad("the key ID does not match the name and key"));
        }
        Ok(v)
    }

    /// The verifier key text: `<name>+<key ID>+base64(type ‖ public key)`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.sig_type];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type byte.
    pub fn sig_type(&self) -> u8 {
        self.sig_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether a signature line's name and key ID are this key's.
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.key_id == self.id
    }

    /// Verifies a raw Ed25519 signature over `message`.
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify(message, &sig).is_ok()
    }
}

/// An Ed25519 key that makes note signatures (type `0x01`) under a name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    verifier: NoteVerifier,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        write!(f, "NoteSigner({})", self.verifier.to_vkey())
    }
}

impl NoteSigner {
    /// A signer for `key` under `name`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        let verifier = NoteVerifier::new(name, TYPE_ED25519, key.verifying_key())?;
        Ok(Self {
            name: name.into(),
            key,
            verifier,
        })
    }

    /// Parses a signer key as Go's `note` package writes it:
    /// `PRIVATE+KEY+<name>+<key ID>+base64(0x01 ‖ 32-byte seed)`.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let bad = |why: &str| NoteError::SignerKey(why.into());
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("expected `PRIVATE+KEY+name+id+key`"))?;
        // Names and IDs hold no `+`; base64 may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected `PRIVATE+KEY+name+id+key`"));
        };
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("the key ID is not hex"))?;
        let raw = STANDARD
            .decode(key_b64)
            .map_err(|_| bad("the key is not base64"))?;
        let (&sig_type, seed) = raw.split_first().ok_or_else(|| bad("the key is empty"))?;
        if sig_type != TYPE_ED25519 {
            return Err(bad("only Ed25519 (type 0x01) signer keys are supported"));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| bad("an Ed25519 seed is 32 bytes"))?;
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if signer.verifier.id != id {
            return Err(bad("the key ID does not match the name and key"));
        }
        Ok(signer)
    }

    /// The signer key text (secret): `PRIVATE+KEY+<name>+<key ID>+base64(0x01 ‖ seed)`.
    pub fn to_skey(&self) -> String {
        let mut raw = vec![TYPE_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier.id,
            STANDARD.encode(raw)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs a note text (which must be a valid note text) and returns the signature line.
    pub fn sign(&self, text: &str) -> NoteSignature {
        let sig = self.key.sign(text.as_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier.id,
            signature: sig.to_bytes().to_vec(),
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature bytes after the key ID (for Ed25519, 64 bytes; for `cosignature/v1`,
    /// an 8-byte timestamp then 64 bytes).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, without its newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }
}

/// A parsed signed note: its text and its signature lines (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` and no signatures yet. The text must be valid UTF-8 without
    /// control characters other than newline, end in a newline, and have no blank line.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self {
            text: text.into(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Fails on any malformed signature line; does not verify.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::Malformed("the note is larger than 1 MiB"));
        }
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        if !msg.ends_with('\n') {
            return Err(NoteError::Malformed("the note does not end with a newline"));
        }
        // The signatures follow the last blank line.
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&msg[..=split], &msg[split + 2..]);
        check_text(text)?;
        let mut signatures = Vec::new();
        // Split on "\n" only: a "\r" left in a line makes it malformed, as in Go's parser.
        for line in sigs.strip_suffix('\n').unwrap_or(sigs).split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed("more than 100 signatures"));
            }
            signatures.push(parse_sig_line(line)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("the note has no signature lines"));
        }
        Ok(Self {
            text: text.into(),
            signatures,
        })
    }

    /// The signed text (ending in a newline).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line.
    pub fn push_signature(&mut self, sig: NoteSignature) {
        self.signatures.push(sig);
    }

    /// Verifies the note's `0x01` signature by `verifier`. Fails if there is none, if a
    /// line with the verifier's name and key ID does not verify, or if the verifier is
    /// not of type `0x01`. Lines from other keys are ignored.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<(), NoteError> {
        if verifier.sig_type != TYPE_ED25519 {
            return Err(NoteError::KeyType(verifier.sig_type));
        }
        let mut found = false;
        for sig in self.signatures.iter().filter(|s| verifier.matches(s)) {
            if !verifier.verify_raw(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            found = true;
        }
        if found {
            Ok(())
        } else {
            Err(NoteError::Unsigned {
                name: verifier.name.clone(),
                key_id: verifier.id,
            })
        }
    }

    /// The whole signed note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
            out.push('\n');
        }
        out
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the note text does not end with a newline",
        ));
    }
    if text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::Malformed("the note text has a blank line"));
    }
    if text
        .chars()
        .any(|c| (c < '\u{20}' && c != '\n') || c == '\u{7f}')
    {
        return Err(NoteError::Malformed(
            "the note text has a control character",
        ));
    }
    Ok(())
}

fn parse_sig_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
        "a signature line does not start with `— `",
    ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::Malformed("a signature line has no signature"))?;
    if !is_valid_key_name(name) {
        return Err(NoteError::Malformed(
            "a signature line has an invalid key name",
        ));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| NoteError::Malformed("a signature is not standard base64"))?;
    if raw.len() < 5 {
        return Err(NoteError::Malformed("a signature is shorter than 5 bytes"));
    }
    let (id, sig) = raw.split_at(4);
    let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Ok(NoteSignature {
        name: name.into(),
        key_id,
        signature: sig.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key pair from Go's golang.org/x/mod/sumdb/note documentation.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn go_reference_keys_and_note_interoperate() {
        let signer = NoteSigner::parse(GO_SKEY).unwrap();
        assert_eq!(signer.verifier().to_vkey(), GO_VKEY);
        assert_eq!(signer.to_skey(), GO_SKEY);
        let v = NoteVerifier::parse(GO_VKEY).unwrap();
        let note = Note::parse(GO_NOTE.as_bytes()).unwrap();
        note.verify(&v).unwrap();
        // Ed25519 is deterministic: signing the same text again gives the same line.
        let mut again = Note::new(note.text()).unwrap();
        again.push_signature(signer.sign(note.text()));
        assert_eq!(again.to_text(), GO_NOTE);
    }

    #[test]
    fn tampered_text_or_signature_fails() {
        let v = NoteVerifier::parse(GO_VKEY).unwrap();
        let tampered = GO_NOTE.replace("answer", "Answer");
        let note = Note::parse(tampered.as_bytes()).unwrap();
        assert!(matches!(
            note.verify(&v),
            Err(NoteError::BadSignature { .. })
        ));
        let other = NoteSigner::new("Other", SigningKey::from_bytes(&[7; 32])).unwrap();
        let note = Note::parse(GO_NOTE.as_bytes()).unwrap();
        assert!(matches!(
            note.verify(other.verifier()),
            Err(NoteError::Unsigned { .. })
        ));
    }

    #[test]
    fn malformed_notes_are_rejected() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n— \n",
            "text\n\n- PeterNeumann AAAAAAAA\n",
            "text\n\n— PeterNeumann AAAA\n",
            "text\n\n— Peter+Neumann AAAAAAAA\n",
            "text\x01\n\n— PeterNeumann AAAAAAAA\n",
            "text\n\n— PeterNeumann AAAAAAAA",
            "text\n\n— PeterNeumann !!!!!!!!\n",
            "text\n\n— PeterNeumann AAAAAAAA\r\n",
        ] {
            assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_verifier_keys_are_rejected() {
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
            "PeterNeumann+zz4f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad:?}");
        }
    }
}
