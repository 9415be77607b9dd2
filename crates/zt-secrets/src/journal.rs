//! Replay protection: every exchanged OIDC token's (`iss`, `jti`) is remembered until the
//! token expires, in memory and in an append-only journal file (`.zt/secrets/jti.journal`,
//! one `<exp> <sha256(iss, jti)>` line each) made durable before the scoped token is issued.
//! Concurrent exchanges share one fsync (group commit). Opening the journal drops entries
//! whose token has expired (rewriting the file atomically when that frees most of it).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::group::Group;
use crate::jose::LEEWAY_SECONDS;

/// The journal file, relative to the secrets directory.
pub(crate) const JOURNAL_FILE: &str = "jti.journal";

/// The set of seen token ids and the file behind it.
#[derive(Debug)]
pub(crate) struct Journal {
    seen: Mutex<HashMap<[u8; 32], i64>>,
    file: Group<fs_err::File, String>,
    path: PathBuf,
}

fn key(iss: &str, jti: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(iss.as_bytes());
    h.update([0]);
    h.update(jti.as_bytes());
    h.finalize().into()
}

impl Journal {
    pub(crate) fn open(dir: &Path, now: i64) -> Result<Journal, Error> {
        let path = dir.join(JOURNAL_FILE);
        let mut seen = HashMap::new();
        let mut lines = 0usize;
        if path.exists() {
            let text = fs_err::read_to_string(&path)?;
            for line in text.lines() {
                lines += 1;
                // A torn last line (crash mid-write) is skipped: its exchange never returned.
                let Some((exp, k)) = line.split_once(' ') else {
                    continue;
                };
                let (Ok(exp), Ok(k)) = (exp.parse::<i64>(), hex::decode(k)) else {
                    continue;
                };
                let Ok(k) = <[u8; 32]>::try_from(k) else {
                    continue;
                };
                if exp + LEEWAY_SECONDS >= now {
                    seen.insert(k, exp);
                }
            }
            if lines > 1024 && seen.len() * 2 < lines {
                let mut out = String::new();
                for (k, exp) in &seen {
                    out.push_str(&format!("{exp} {}\n", hex::encode(k)));
                }
                zt_core::fsutil::write_atomic_mode(&path, out.as_bytes(), Some(0o600))?;
            }
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Journal {
            seen: Mutex::new(seen),
            file: Group::new(file),
            path,
        })
    }

    /// Claims (`iss`, `jti`) for a token valid until `exp`: false if it was seen before.
    /// The claim is durable when this returns true.
    pub(crate) fn claim(&self, iss: &str, jti: &str, exp: i64, now: i64) -> Result<bool, Error> {
        let k = key(iss, jti);
        {
            let mut seen = self
                .seen
                .lock()
                .map_err(|_| Error::Internal("journal lock poisoned"))?;
            if seen.get(&k).is_some_and(|e| e + LEEWAY_SECONDS >= now) {
                return Ok(false);
            }
            seen.insert(k, exp);
        }
        let line = format!("{exp} {}\n", hex::encode(k));
        let path = self.path.clone();
        self.file
            .submit(line, |f, lines| {
                let all: String = lines.concat();
                f.write_all(all.as_bytes())
                    .and_then(|()| f.sync_data())
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_jti_survives_reopening_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path(), 1000).unwrap();
        assert!(j.claim("iss", "a", 1100, 1000).unwrap());
        assert!(!j.claim("iss", "a", 1100, 1000).unwrap());
        assert!(j.claim("other", "a", 1100, 1000).unwrap());
        drop(j);
        let j = Journal::open(dir.path(), 1050).unwrap();
        assert!(!j.claim("iss", "a", 1100, 1050).unwrap());
        drop(j);
        let j = Journal::open(dir.path(), 2000).unwrap();
        assert!(j.claim("iss", "a", 2100, 2000).unwrap());
    }
}
