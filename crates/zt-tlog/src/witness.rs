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

/// An `add-checkpoint` request body (C2SP `tlog-witness`): the old size, the consistency
/// proof from it, and the signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the latest checkpoint the client believes this witness cosigned.
    pub old: u64,
    /// The RFC 6962 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Vec<u8>,
}

/// The most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

impl AddCheckpoint {
    /// Parses a request body: `old <N>\n`, up to 63 base64 hash lines, an empty line, then
    /// the checkpoint. Every malformed body is [`Error::WitnessRequest`].
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let bad = Error::WitnessRequest;
        let mut rest = body;
        let first = std::str::from_utf8(next_line(&mut rest)?)
            .map_err(|_| bad("the old size line is not UTF-8"))?;
        let old = first
            .strip_prefix("old ")
            .and_then(crate::checkpoint::parse_decimal)
            .ok_or(bad("the first line is not `old <size>`"))?;
        let mut proof = Vec::new();
        loop {
            let l = next_line(&mut rest)?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash = std::str::from_utf8(l)
                .ok()
                .and_then(zt_core::b64::decode)
                .and_then(|b| crate::merkle::hash_from_slice(&b))
                .ok_or(bad("a proof line is not a base64 SHA-256 hash"))?;
            proof.push(hash);
        }
        if old == 0 && !proof.is_empty() {
            return Err(bad("the proof must be empty when the old size is 0"));
        }
        Ok(Self {
            old,
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(zt_core::b64::encode(h).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }
}

impl Witness<'_> {
    /// Handles a C2SP `tlog-witness` `add-checkpoint` request for one of `logs` (the log keys
    /// this witness trusts) and returns the cosignature line(s), each ending in a newline.
    ///
    /// Refusals, each a distinct error so a server can answer with the spec's status:
    /// unknown origin [`Error::UnknownLog`] (404); no trusted signature verifies
    /// [`Error::Note`] (403); old size above the checkpoint's [`Error::WitnessRequest`] (400);
    /// old size not the size last cosigned [`Error::OldSizeMismatch`] (409, the body is the
    /// latest size), or the same size with another root [`Error::Fork`] (409); a consistency
    /// proof that does not verify [`Error::Proof`] (422).
    ///
    /// The check and the update of the remembered checkpoint must not interleave with another
    /// request for the same origin: callers serialise calls (a server holds one lock).
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpoint,
        logs: &[NoteVerifier],
        timestamp: u64,
    ) -> Result<String, Error> {
        let note = Note::parse(&request.checkpoint)?;
        let origin = Checkpoint::parse_body(note.text())?.origin;
        let candidates: Vec<&NoteVerifier> = logs.iter().filter(|v| v.name() == origin).collect();
        if candidates.is_empty() {
            return Err(Error::UnknownLog { origin });
        }
        let mut opened = None;
        let mut last_err = None;
        for key in &candidates {
            match Checkpoint::open(&request.checkpoint, key) {
                Ok((cp, _)) => {
                    opened = Some((cp, *key));
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let Some((cp, key)) = opened else {
            return Err(last_err.unwrap_or(Error::UnknownLog { origin }));
        };
        if request.old > cp.size {
            return Err(Error::WitnessRequest(
                "the old size is above the checkpoint's size",
            ));
        }
        let state_file = self.state_file(&cp.origin);
        let latest = remembered(&state_file, key)?;
        let latest_size = latest.as_ref().map_or(0, |c| c.size);
        if request.old != latest_size {
            return Err(Error::OldSizeMismatch {
                old: request.old,
                latest: latest_size,
            });
        }
        match &latest {
            Some(old) if old.size == cp.size && old.root != cp.root => {
                return Err(Error::Fork { size: cp.size });
            }
            Some(old) if old.size == cp.size => {}
            Some(old) => {
                verify_consistency(old.size, cp.size, &request.proof, &old.root, &cp.root)?;
            }
            None => {}
        }
        let mut seen = Note::new(note.text())?;
        for sig in note.signatures().iter().filter(|s| key.matches(s)) {
            seen.push_signature(sig.clone());
        }
        fs_err::create_dir_all(&self.state)?;
        zt_core::fsutil::write_atomic(&state_file, seen.to_text().as_bytes())?;
        let mut line = self.signer.cosign(note.text(), timestamp).to_line();
        line.push('\n');
        Ok(line)
    }
}

/// The next `\n`-terminated line of `rest` (without its newline), advancing `rest`.
fn next_line<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let end = rest
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(Error::WitnessRequest("a line does not end in a newline"))?;
    let (line, after) = rest.split_at(end);
    *rest = &after[1..];
    Ok(line)
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

    fn request(old: u64, proof: Vec<Hash>, checkpoint: &str) -> AddCheckpoint {
        AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        }
    }

    #[test]
    fn add_checkpoint_follows_the_protocol() {
        let f = fixture();
        let w = Witness::new(&f.witness, &f.state);
        let logs = [f.log.verifier().clone()];
        f.log.append(b"one").unwrap();
        let cp1 = f.log.checkpoint();
        // First contact: old 0, empty proof.
        let line = w
            .add_checkpoint(&request(0, vec![], &cp1), &logs, 5)
            .unwrap();
        assert!(line.starts_with("— witness.example "), "{line}");
        assert!(line.ends_with('\n'));
        // The line verifies as a cosignature over the checkpoint.
        let mut note = Note::parse(cp1.as_bytes()).unwrap();
        note.push_signature(
            Note::parse(format!("x\n\n{line}").as_bytes())
                .unwrap()
                .signatures()[0]
                .clone(),
        );
        let sig = &note.signatures()[1];
        assert_eq!(
            crate::verify_cosignature(f.witness.verifier(), note.text(), sig).unwrap(),
            5
        );
        f.log.append(b"two").unwrap();
        f.log.append(b"three").unwrap();
        let cp3 = f.log.checkpoint();
        // Old size 0 now conflicts: the answer names the latest size.
        let err = w
            .add_checkpoint(&request(0, vec![], &cp3), &logs, 6)
            .unwrap_err();
        assert!(
            matches!(err, Error::OldSizeMismatch { old: 0, latest: 1 }),
            "{err}"
        );
        // A bad proof: 422.
        let err = w
            .add_checkpoint(&request(1, vec![[3; 32]], &cp3), &logs, 6)
            .unwrap_err();
        assert!(matches!(err, Error::Proof(_)), "{err}");
        // Old above the checkpoint's size: 400.
        let err = w
            .add_checkpoint(&request(9, vec![], &cp3), &logs, 6)
            .unwrap_err();
        assert!(matches!(err, Error::WitnessRequest(_)), "{err}");
        // The right proof: cosigned, and remembered.
        let proof = f.log.consistency_proof(1, 3).unwrap();
        w.add_checkpoint(&request(1, proof, &cp3), &logs, 7)
            .unwrap();
        let err = w
            .add_checkpoint(&request(1, vec![], &cp1), &logs, 8)
            .unwrap_err();
        assert!(
            matches!(err, Error::OldSizeMismatch { old: 1, latest: 3 }),
            "{err}"
        );
        // A fork at the remembered size: 409.
        let signer = crate::NoteSigner::new("example.com/log", key(1)).unwrap();
        let forked = Checkpoint::new("example.com/log", 3, [7; 32])
            .sign(&signer)
            .unwrap();
        let err = w
            .add_checkpoint(&request(3, vec![], &forked), &logs, 9)
            .unwrap_err();
        assert!(matches!(err, Error::Fork { size: 3 }), "{err}");
        // An unknown origin: 404; a known origin signed by another key: a note error (403).
        let other = crate::NoteSigner::new("other.example/log", key(4)).unwrap();
        let foreign = Checkpoint::new("other.example/log", 1, [1; 32])
            .sign(&other)
            .unwrap();
        let err = w
            .add_checkpoint(&request(0, vec![], &foreign), &logs, 9)
            .unwrap_err();
        assert!(matches!(err, Error::UnknownLog { .. }), "{err}");
        let impostor = crate::NoteSigner::new("example.com/log", key(5)).unwrap();
        let forged = Checkpoint::new("example.com/log", 4, [1; 32])
            .sign(&impostor)
            .unwrap();
        let err = w
            .add_checkpoint(&request(3, vec![], &forged), &logs, 9)
            .unwrap_err();
        assert!(matches!(err, Error::Note(_)), "{err}");
    }

    #[test]
    fn add_checkpoint_bodies_parse_and_round_trip() {
        let body = b"old 2\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\nexample.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\xe2\x80\x94 x y\n";
        let r = AddCheckpoint::parse(body).unwrap();
        assert_eq!(r.old, 2);
        assert_eq!(r.proof.len(), 1);
        assert!(r.checkpoint.starts_with(b"example.com/log\n"));
        assert_eq!(r.to_body(), body.to_vec());
        for bad in [
            &b""[..],
            b"old 2",
            b"old 02\n\n",
            b"new 2\n\n",
            b"old -1\n\n",
            b"old 2\nnot base64!\n\n",
            b"old 2\nAAAA\n\n",
            b"old 0\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n",
            b"old 2\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
        ] {
            assert!(
                matches!(AddCheckpoint::parse(bad), Err(Error::WitnessRequest(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut long = b"old 5\n".to_vec();
        for _ in 0..64 {
            long.extend_from_slice(b"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n");
        }
        long.push(b'\n');
        assert!(AddCheckpoint::parse(&long).is_err());
    }

    proptest::proptest! {
        #[test]
        fn add_checkpoint_parse_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = AddCheckpoint::parse(&body);
        }

        #[test]
        fn add_checkpoint_text_bodies_never_panic(body in "(old [0-9]{1,3}\n)?([A-Za-z0-9+/=]{0,48}\n){0,3}\n?[ -~\n—]{0,200}") {
            if let Ok(r) = AddCheckpoint::parse(body.as_bytes()) {
                proptest::prop_assert_eq!(AddCheckpoint::parse(&r.to_body()).unwrap(), r);
            }
        }
    }
}
