//! Trust policies: which log key to believe, which witnesses, and how many of them (k of N)
//! must have cosigned a checkpoint before a proof under it counts.
//!
//! The text form, one directive per line (`#` starts a comment):
//!
//! ```text
//! log example.com/log+1234abcd+AXb…
//! witness witness1.example+5678ef01+BKc…
//! witness witness2.example+9abc2345+BDd…
//! quorum 1
//! ```

use crate::checkpoint::{Checkpoint, parse_decimal};
use crate::cosignature::verify_cosignature;
use crate::error::Error;
use crate::note::{Note, NoteVerifier, TYPE_COSIGNATURE_V1, TYPE_ED25519};

/// A log key, N witness keys and a threshold k.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    log: NoteVerifier,
    witnesses: Vec<NoteVerifier>,
    quorum: usize,
}

/// A checkpoint that passed a [`TrustPolicy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The whole signed note.
    pub note: Note,
    /// The names of the trusted witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

impl TrustPolicy {
    /// A policy trusting `log` (a type `0x01` key named for the log's origin) and requiring
    /// `quorum` of `witnesses` (type `0x04` keys).
    pub fn new(
        log: NoteVerifier,
        witnesses: Vec<NoteVerifier>,
        quorum: usize,
    ) -> Result<Self, Error> {
        let policy = |reason: String| Error::Policy { line: 0, reason };
        if log.sig_type() != TYPE_ED25519 {
            return Err(policy(
                "the log key must be an Ed25519 note key (type 0x01)".into(),
            ));
        }
        for (i, w) in witnesses.iter().enumerate() {
            if w.sig_type() != TYPE_COSIGNATURE_V1 {
                return Err(policy(format!(
                    "witness `{}` is not a cosignature/v1 key (type 0x04)",
                    w.name()
                )));
            }
            if witnesses[..i]
                .iter()
                .any(|o| o.name() == w.name() || o.public_key() == w.public_key())
            {
                return Err(policy(format!("witness `{}` is listed twice", w.name())));
            }
        }
        if quorum > witnesses.len() {
            return Err(policy(format!(
                "quorum {quorum} is more than the {} witnesses listed",
                witnesses.len()
            )));
        }
        Ok(Self {
            log,
            witnesses,
            quorum,
        })
    }

    /// A policy trusting the log alone, with no witnesses.
    pub fn log_only(log: NoteVerifier) -> Result<Self, Error> {
        Self::new(log, Vec::new(), 0)
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut log = None;
        let mut witnesses = Vec::new();
        let mut quorum = None;
        for (n, raw) in text.lines().enumerate() {
            let at = |reason: String| Error::Policy {
                line: n + 1,
                reason,
            };
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let (word, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let arg = arg.trim();
            match word {
                "log" => {
                    if log.is_some() {
                        return Err(at("a second `log` line".into()));
                    }
                    log = Some(NoteVerifier::parse(arg).map_err(|e| at(e.to_string()))?);
                }
                "witness" => {
                    witnesses.push(NoteVerifier::parse(arg).map_err(|e| at(e.to_string()))?)
                }
                "quorum" => {
                    if quorum.is_some() {
                        return Err(at("a second `quorum` line".into()));
                    }
                    let k = parse_decimal(arg).and_then(|k| usize::try_from(k).ok());
                    quorum = Some(k.ok_or_else(|| at(format!("`{arg}` is not a number")))?);
                }
                other => return Err(at(format!("unknown directive `{other}`"))),
            }
        }
        let log = log.ok_or(Error::Policy {
            line: 0,
            reason: "no `log` line".into(),
        })?;
        let quorum = quorum.unwrap_or(if witnesses.is_empty() {
            0
        } else {
            witnesses.len()
        });
        Self::new(log, witnesses, quorum)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("log {}\n", self.log.to_vkey());
        for w in &self.witnesses {
            s.push_str(&format!("witness {}\n", w.to_vkey()));
        }
        s.push_str(&format!("quorum {}\n", self.quorum));
        s
    }

    /// The log's verifier key.
    pub fn log(&self) -> &NoteVerifier {
        &self.log
    }

    /// The trusted witnesses.
    pub fn witnesses(&self) -> &[NoteVerifier] {
        &self.witnesses
    }

    /// How many witnesses must cosign.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Verifies a signed checkpoint: the log's signature, the origin, and at least `quorum`
    /// distinct trusted witnesses with a valid cosignature. Lines by unknown keys are
    /// ignored; a line under a trusted key's name and ID that fails to verify is an error.
    pub fn verify_checkpoint(&self, signed: &[u8]) -> Result<VerifiedCheckpoint, Error> {
        let (checkpoint, note) = Checkpoint::open(signed, &self.log)?;
        let mut valid = Vec::new();
        for w in &self.witnesses {
            let mut ok = false;
            for sig in note.signatures().iter().filter(|s| w.matches(s)) {
                verify_cosignature(w, note.text(), sig)?;
                ok = true;
            }
            if ok {
                valid.push(w.name().to_owned());
            }
        }
        if valid.len() < self.quorum {
            return Err(Error::QuorumNotMet {
                valid: valid.len(),
                required: self.quorum,
            });
        }
        Ok(VerifiedCheckpoint {
            checkpoint,
            note,
            witnesses: valid,
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::cosignature::WitnessSigner;
    use crate::merkle::empty_root;
    use crate::note::NoteSigner;

    fn setup() -> (NoteSigner, Vec<WitnessSigner>, String) {
        let log = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap();
        let ws = (0..3u8)
            .map(|i| {
                WitnessSigner::new(
                    &format!("w{i}.example"),
                    SigningKey::from_bytes(&[10 + i; 32]),
                )
                .unwrap()
            })
            .collect();
        let signed = Checkpoint::new("example.com/log", 0, empty_root())
            .sign(&log)
            .unwrap();
        (log, ws, signed)
    }

    fn cosigned(signed: &str, by: &[&WitnessSigner]) -> String {
        let mut note = Note::parse(signed.as_bytes()).unwrap();
        let text = note.text().to_owned();
        for w in by {
            note.push_signature(w.cosign(&text, 1_700_000_000));
        }
        note.to_text()
    }

    #[test]
    fn quorum_counts_distinct_trusted_witnesses_and_ignores_strangers() {
        let (log, ws, signed) = setup();
        let policy = TrustPolicy::new(
            log.verifier().clone(),
            vec![ws[0].verifier().clone(), ws[1].verifier().clone()],
            2,
        )
        .unwrap();
        let stranger = &ws[2];
        let one = cosigned(&signed, &[&ws[0], stranger]);
        assert!(matches!(
            policy.verify_checkpoint(one.as_bytes()),
            Err(Error::QuorumNotMet {
                valid: 1,
                required: 2
            })
        ));
        let twice = cosigned(&signed, &[&ws[0], &ws[0], stranger]);
        assert!(matches!(
            policy.verify_checkpoint(twice.as_bytes()),
            Err(Error::QuorumNotMet { .. })
        ));
        let two = cosigned(&signed, &[stranger, &ws[1], &ws[0]]);
        let v = policy.verify_checkpoint(two.as_bytes()).unwrap();
        assert_eq!(v.witnesses, vec!["w0.example", "w1.example"]);
        assert_eq!(v.checkpoint.size, 0);
    }

    #[test]
    fn text_form_round_trips_and_bad_policies_are_rejected() {
        let (log, ws, _) = setup();
        let policy =
            TrustPolicy::new(log.verifier().clone(), vec![ws[0].verifier().clone()], 1).unwrap();
        assert_eq!(TrustPolicy::parse(&policy.to_text()).unwrap(), policy);
        let w = ws[0].verifier().to_vkey();
        let l = log.verifier().to_vkey();
        for bad in [
            String::new(),
            format!("witness {w}\n"),
            format!("log {l}\nquorum 2\nwitness {w}\n"),
            format!("log {l}\nlog {l}\n"),
            format!("log {w}\n"),
            format!("log {l}\nwitness {l}\n"),
            format!("log {l}\nwitness {w}\nwitness {w}\n"),
            format!("log {l}\nfrobnicate\n"),
            format!("log {l}\nquorum x\n"),
        ] {
            assert!(TrustPolicy::parse(&bad).is_err(), "{bad}");
        }
    }
}
