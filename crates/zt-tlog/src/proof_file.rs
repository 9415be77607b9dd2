//! The offline proof file `c2sp.org/tlog-proof@v1` (<https://c2sp.org/tlog-proof>): an entry's
//! index, its inclusion proof and the (cosigned) checkpoint it is proved under.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64, optional>
//! index 3
//! <base64 hash>
//! …
//!
//! <checkpoint note>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::parse_decimal;
use crate::error::Error;
use crate::merkle::{Hash, verify_inclusion};
use crate::policy::{TrustPolicy, VerifiedCheckpoint};

/// The first line of a proof file.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed `c2sp.org/tlog-proof@v1` proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// Parses a proof file. The checkpoint is kept as text; [`TlogProof::verify`] checks it.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |line: usize, reason: &'static str| Error::ProofFile { line, reason };
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "the file is not UTF-8"))?;
        let mut rest = text;
        let mut n = 0;
        let mut next_line = |rest: &mut &str| -> Option<String> {
            let (line, tail) = rest.split_once('\n')?;
            *rest = tail;
            n += 1;
            Some(line.to_owned())
        };
        if next_line(&mut rest).as_deref() != Some(PROOF_HEADER) {
            return Err(bad(1, "the first line is not `c2sp.org/tlog-proof@v1`"));
        }
        let mut line = next_line(&mut rest).ok_or(bad(2, "the file ends after the header"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad(2, "the extra data is not base64"))?,
            );
            line = next_line(&mut rest).ok_or(bad(3, "the file ends before the index line"))?;
        }
        let index_line = if extra.is_some() { 3 } else { 2 };
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(bad(
                index_line,
                "expected `index N` (decimal, no leading zeros)",
            ))?;
        let mut hashes = Vec::new();
        loop {
            let lineno = index_line + hashes.len() + 1;
            let line = next_line(&mut rest).ok_or(bad(
                lineno,
                "the file ends before the blank line and checkpoint",
            ))?;
            if line.is_empty() {
                break;
            }
            if hashes.len() == 64 {
                return Err(bad(lineno, "more than 64 proof hashes"));
            }
            let h = STANDARD
                .decode(&line)
                .ok()
                .and_then(|h| Hash::try_from(h.as_slice()).ok())
                .ok_or(bad(
                    lineno,
                    "a proof hash is not 32 bytes of standard base64",
                ))?;
            hashes.push(h);
        }
        if rest.is_empty() {
            return Err(bad(
                index_line + hashes.len() + 2,
                "no checkpoint after the blank line",
            ));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: rest.to_owned(),
        })
    }

    /// The file text.
    pub fn to_text(&self) -> String {
        let mut s = format!("{PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            s.push_str(&STANDARD.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Verifies the proof offline: the checkpoint against `policy` (log signature, origin,
    /// witness quorum) and the inclusion of `leaf_hash` at `index` under its root.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        policy: &TrustPolicy,
    ) -> Result<VerifiedCheckpoint, Error> {
        let verified = policy.verify_checkpoint(self.checkpoint.as_bytes())?;
        let cp = &verified.checkpoint;
        verify_inclusion(leaf_hash, self.index, cp.size, &self.hashes, &cp.root)?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CP: &str = "example.com/log\n2\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/log AAAAAAAA\n";

    #[test]
    fn round_trips_with_and_without_extra() {
        for extra in [None, Some(b"ctx".to_vec()), Some(Vec::new())] {
            let p = TlogProof {
                extra,
                index: 1,
                hashes: vec![[7; 32]],
                checkpoint: CP.into(),
            };
            assert_eq!(TlogProof::parse(p.to_text().as_bytes()).unwrap(), p);
        }
        let p = TlogProof {
            extra: None,
            index: 0,
            hashes: vec![],
            checkpoint: CP.into(),
        };
        assert_eq!(TlogProof::parse(p.to_text().as_bytes()).unwrap(), p);
    }

    #[test]
    fn malformed_files_name_the_line() {
        let h = STANDARD.encode([7u8; 32]);
        for (text, line) in [
            (String::new(), 1),
            ("c2sp.org/tlog-proof@v2\n".into(), 1),
            (format!("{PROOF_HEADER}\n"), 2),
            (format!("{PROOF_HEADER}\nindex 01\n\n{CP}"), 2),
            (format!("{PROOF_HEADER}\nextra !!\nindex 1\n\n{CP}"), 2),
            (format!("{PROOF_HEADER}\nextra AA==\nindex x\n\n{CP}"), 3),
            (format!("{PROOF_HEADER}\nindex 1\n{h}\nAAAA\n\n{CP}"), 4),
            (format!("{PROOF_HEADER}\nindex 1\n{h}\n\n"), 5),
            (format!("{PROOF_HEADER}\nindex 1\n{h}"), 3),
        ] {
            match TlogProof::parse(text.as_bytes()) {
                Err(Error::ProofFile { line: got, .. }) => assert_eq!(got, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
