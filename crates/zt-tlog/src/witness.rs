//! A witness's decision to cosign a checkpoint (C2SP `tlog-witness` semantics, offline): a
//! witness vouches that it has seen a log grow append-only, so it remembers the last checkpoint
//! it cosigned for each origin and refuses
//! - a **rollback**: a smaller tree than one it already cosigned;
//! - a **fork**: the same size with another root;
//! - a growth whose consistency proof from the remembered tree does not verify.
//!
//! The new checkpoint is remembered (written atomically) *before* the cosignature is made, so a
//! crash between the two can never let the witness later cosign an older, inconsistent tree.

use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::cosignature::WitnessSigner;
use crate::error::Error;
use crate::merkle::{Hash, verify_consistency};
use crate::note::{Note, NoteVerifier};

/// A checkpoint cosigned by the witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint the witness vouched for.
    pub checkpoint: Checkpoint,
    /// The note text with the log's signature(s) and the witness's cosignature.
    pub text: String,
    /// The cosignature's timestamp (Unix seconds).
    pub timestamp: u64,
}

/// A witness: its key and where it remembers what it cosigned (one file per log origin).
#[derive(Clone)]
pub struct Witness<'a> {
    signer: &'a WitnessSigner,
    state: PathBuf,
}

impl<'a> Witness<'a> {
    /// A witness signing with `signer`, remembering in the directory `state`.
    pub fn new(signer: &'a WitnessSigner, state: impl Into<PathBuf>) -> Self {
        Self {
            signer,
            state: state.into(),
        }
    }

    /// The file remembering the last checkpoint cosigned for `origin`.
    pub fn state_file(&self, origin: &str) -> PathBuf {
        self.state.join(escape(origin))
    }

    /// Checks `signed` (a checkpoint note signed by `log_key`) against what this witness has
    /// cosigned for its origin, remembers it, and cosigns it at `timestamp`. `proof` gives the
    /// consistency proof between the remembered size and the new one (from the request, or
    /// from the log itself); it is called only when there is something to prove.
    pub fn cosign(
        &self,
        signed: &[u8],
        log_key: &NoteVerifier,
        proof: impl FnOnce(u64, u64) -> Result<Vec<Hash>, Error>,
        timestamp: u64,
    ) -> Result<Cosigned, Error> {
        let (cp, mut note) = Checkpoint::open(signed, log_key)?;
        let state_file = self.state_file(&cp.origin);
        if let Some(old) = remembered(&state_file, log_key)? {
            check_growth(&old, &cp, proof)?;
        }
        // Remember the checkpoint (with the log's signatures only) before vouching for it.
        let mut seen = Note::new(note.text())?;
        for sig in note.signatures().iter().filter(|s| log_key.matches(s)) {
            seen.push_signature(sig.clone());
        }
        fs_err::create_dir_all(&self.state)?;
        zt_core::fsutil::write_atomic(&state_file, seen.to_text().as_bytes())?;
        let text = note.text().to_owned();
        note.push_signature(self.signer.cosign(&text, timestamp));
        Ok(Cosigned {
            checkpoint: cp,
            text: note.to_text(),
            timestamp,
        })
    }
}

/// The checkpoint remembered in `file`, if any (it must still verify under `log_key`: a
/// state file that does not is an error, never a fresh start).
fn remembered(file: &Path, log_key: &NoteVerifier) -> Result<Option<Checkpoint>, Error> {
    let text = match fs_err::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(Checkpoint::open(&text, log_key)?.0))
}

/// Whether `new` is an append-only growth of `old`.
pub fn check_growth(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: impl FnOnce(u64, u64) -> Result<Vec<Hash>, Error>,
) -> Result<(), Error> {
    if new.size < old.size {
        return Err(Error::Rollback {
            old_size: old.size,
            new_size: new.size,
        });
    }
    if new.size == old.size {
        return if new.root == old.root {
            Ok(())
        } else {
            Err(Error::Fork { size: new.size })
        };
    }
    let proof = proof(old.size, new.size)?;
    verify_consistency(old.size, new.size, &proof, &old.root, &new.root)?;
    Ok(())
}

/// A file name for an origin: `[A-Za-z0-9.-]` kept, everything else `_XX` hex.
fn escape(origin: &str) -> String {
    origin
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("_{b:02x}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::Log;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        log: Log,
        state: PathBuf,
        witness: WitnessSigner,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::init(&dir.path().join("log"), key(1), "example.com/log").unwrap();
        let witness = WitnessSigner::new("witness.example", key(2)).unwrap();
        Fixture {
            state: dir.path().join("state"),
            _dir: dir,
            log,
            witness,
        }
    }

    #[test]
    fn cosigns_growth_and_remembers_it() {
        let f = fixture();
        let w = Witness::new(&f.witness, &f.state);
        f.log.append(b"one").unwrap();
        let first = f.log.checkpoint();
        let c = w
            .cosign(first.as_bytes(), f.log.verifier(), |_, _| unreachable!(), 7)
            .unwrap();
        assert_eq!(c.checkpoint.size, 1);
        assert!(c.text.lines().count() > first.lines().count());
        f.log.append(b"two").unwrap();
        f.log.append(b"three").unwrap();
        let log = &f.log;
        let c = w
            .cosign(
                log.checkpoint().as_bytes(),
                log.verifier(),
                |a, b| log.consistency_proof(a, b),
                8,
            )
            .unwrap();
        assert_eq!(c.checkpoint.size, 3);
        // The same checkpoint again is fine (no growth, same root).
        w.cosign(
            log.checkpoint().as_bytes(),
            log.verifier(),
            |_, _| unreachable!(),
            9,
        )
        .unwrap();
    }

    #[test]
    fn refuses_a_rollback_and_remembers_nothing() {
        let f = fixture();
        let w = Witness::new(&f.witness, &f.state);
        f.log.append(b"one").unwrap();
        let small = f.log.checkpoint();
        f.log.append(b"two").unwrap();
        let big = f.log.checkpoint();
        w.cosign(big.as_bytes(), f.log.verifier(), |_, _| unreachable!(), 1)
            .unwrap();
        let remembered = fs_err::read(w.state_file("example.com/log")).unwrap();
        let err = w
            .cosign(small.as_bytes(), f.log.verifier(), |_, _| unreachable!(), 2)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Rollback {
                    old_size: 2,
                    new_size: 1
                }
            ),
            "{err}"
        );
        assert_eq!(
            fs_err::read(w.state_file("example.com/log")).unwrap(),
            remembered
        );
    }

    #[test]
    fn refuses_a_fork_at_the_same_size_and_an_unprovable_growth() {
        let f = fixture();
        let w = Witness::new(&f.witness, &f.state);
        f.log.append(b"one").unwrap();
        w.cosign(
            f.log.checkpoint().as_bytes(),
            f.log.verifier(),
            |_, _| unreachable!(),
            1,
        )
        .unwrap();
        // The same log key signing another tree of size 1: a fork.
        let signer = crate::NoteSigner::new("example.com/log", key(1)).unwrap();
        let forked = Checkpoint::new("example.com/log", 1, [7; 32])
            .sign(&signer)
            .unwrap();
        let err = w
            .cosign(
                forked.as_bytes(),
                f.log.verifier(),
                |_, _| unreachable!(),
                2,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Fork { size: 1 }), "{err}");
        // A bigger tree whose root the remembered one does not lead to.
        let grown = Checkpoint::new("example.com/log", 2, [9; 32])
            .sign(&signer)
            .unwrap();
        let err = w
            .cosign(
                grown.as_bytes(),
                f.log.verifier(),
                |_, _| Ok(vec![[1; 32]]),
                3,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Proof(_)), "{err}");
    }
}
