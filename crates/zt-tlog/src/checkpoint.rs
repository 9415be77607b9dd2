//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the signed-note text that commits a
//! log to a tree size and root hash.
//!
//! ```text
//! example.com/log
//! 42
//! 3Ew1eQ2wFQ/4vK9uHH/vN1cMMb4V08xJKUqVPE5SBa4=
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::Error;
use crate::merkle::Hash;
use crate::note::{Note, NoteSigner, NoteVerifier};

/// A checkpoint's body: origin, tree size, root hash, and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (a schema-less URL naming the log).
    pub origin: String,
    /// The number of entries in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
    /// Extension lines after the root hash, without newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint body (the note text, ending in a newline).
    pub fn parse_body(text: &str) -> Result<Self, Error> {
        let body = text
            .strip_suffix('\n')
            .ok_or(Error::Checkpoint("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(Error::Checkpoint("the origin line is empty"));
        }
        let size = lines.next().ok_or(Error::Checkpoint("no tree size line"))?;
        let size = parse_decimal(size).ok_or(Error::Checkpoint(
            "the tree size is not a decimal number without leading zeros",
        ))?;
        let root = lines.next().ok_or(Error::Checkpoint("no root hash line"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or(Error::Checkpoint(
                "the root hash is not 32 bytes of standard base64",
            ))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Error::Checkpoint("an extension line is empty"));
        }
        Ok(Self {
            origin: origin.into(),
            size,
            root,
            extensions,
        })
    }

    /// The note text: one line each for origin, size, root, then the extensions.
    pub fn to_body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint with the log's key and returns the signed note text.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, Error> {
        let body = self.to_body();
        let mut note = Note::new(&body)?;
        note.push_signature(signer.sign(&body));
        Ok(note.to_text())
    }

    /// Parses a signed checkpoint and verifies the log's signature on it; the origin must
    /// be the log key's name. Other signature lines (witnesses) are not checked here.
    pub fn open(signed: &[u8], log_key: &NoteVerifier) -> Result<(Self, Note), Error> {
        let note = Note::parse(signed)?;
        note.verify(log_key)?;
        let cp = Self::parse_body(note.text())?;
        if cp.origin != log_key.name() {
            return Err(Error::OriginMismatch {
                expected: log_key.name().into(),
                found: cp.origin,
            });
        }
        Ok((cp, note))
    }
}

/// Parses an ASCII decimal u64 without sign or leading zeros.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips() {
        let text = "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(text).unwrap();
        assert_eq!(cp.origin, "example.com/log");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_body(), text);
        let with_ext = format!("{text}ext one\n");
        assert_eq!(
            Checkpoint::parse_body(&with_ext).unwrap().extensions,
            vec!["ext one"]
        );
    }

    #[test]
    fn open_checks_the_log_signature_and_origin() {
        use crate::error::NoteError;
        use crate::note::NoteSigner;
        use ed25519_dalek::SigningKey;

        let log = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let root = crate::merkle::empty_root();
        let signed = Checkpoint::new("example.com/log", 0, root)
            .sign(&log)
            .unwrap();
        let (cp, _) = Checkpoint::open(signed.as_bytes(), log.verifier()).unwrap();
        assert_eq!((cp.size, cp.root), (0, root));
        // Another log's checkpoint signed with this key: wrong origin.
        let other = Checkpoint::new("example.com/other", 0, root)
            .sign(&log)
            .unwrap();
        assert!(matches!(
            Checkpoint::open(other.as_bytes(), log.verifier()),
            Err(Error::OriginMismatch { .. })
        ));
        // An impostor key under the same name has another key ID: no signature by the log.
        let impostor =
            NoteSigner::new("example.com/log", SigningKey::from_bytes(&[2; 32])).unwrap();
        let forged = Checkpoint::new("example.com/log", 9, root)
            .sign(&impostor)
            .unwrap();
        assert!(matches!(
            Checkpoint::open(forged.as_bytes(), log.verifier()),
            Err(Error::Note(NoteError::Unsigned { .. }))
        ));
        // Changing the size after signing breaks the signature.
        let tampered = signed.replacen("\n0\n", "\n1\n", 1);
        assert!(matches!(
            Checkpoint::open(tampered.as_bytes(), log.verifier()),
            Err(Error::Note(NoteError::BadSignature { .. }))
        ));
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            String::new(),
            "o\n1\n".into(),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAA\n".into(),
            format!("o\n1\n{root}"),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
    }
}
