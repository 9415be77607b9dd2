//! `.zt/source/verified`: the commits zt has verified, when each commit was first seen (the
//! trusted time its signer's key is judged at), and the signing keys seen per author.
//! Written whole to a temporary file and renamed, so a failed run leaves the old file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// The file, relative to the repository root.
pub const CACHE_PATH: &str = ".zt/source/verified";

/// A verified commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The trust root it was verified from.
    pub trust_root: String,
    /// The signer's name in the policy.
    pub signer: String,
    /// The signing key's fingerprint.
    pub key: String,
}

/// What zt remembers about one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds when zt first saw the commit (or the push time it was given then).
    pub first_seen: i64,
    /// Set once the commit verified good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// Format version, 1.
    pub version: u32,
    /// Commit id → entry.
    #[serde(default)]
    pub commits: BTreeMap<String, Entry>,
    /// Author e-mail → fingerprints of the keys their commits were signed with, in order seen.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Cache {
    /// The cache file of the repository rooted at `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(CACHE_PATH)
    }

    /// Reads the cache (empty if there is none).
    pub fn load(root: &Path) -> Result<Self, Error> {
        let path = Self::path(root);
        let bytes = match fs_err::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    version: 1,
                    ..Self::default()
                });
            }
            Err(e) => return Err(Error::Read { path, source: e }),
        };
        let cache: Self = serde_json::from_slice(&bytes).map_err(|e| Error::Cache {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if cache.version != 1 {
            return Err(Error::Cache {
                path,
                reason: format!("unsupported version {}", cache.version),
            });
        }
        Ok(cache)
    }

    /// Writes the cache atomically.
    pub fn save(&self, root: &Path) -> Result<(), Error> {
        let path = Self::path(root);
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        zt_core::fsutil::write_atomic(&path, &bytes).map_err(|e| Error::Write { path, source: e })
    }

    /// The trusted time of commit `id`: when it was first seen, recording `now` if never.
    pub fn first_seen(&mut self, id: &str, now: i64) -> i64 {
        let e = self.commits.entry(id.to_string()).or_insert(Entry {
            first_seen: now,
            verified: None,
        });
        e.first_seen = e.first_seen.min(now);
        e.first_seen
    }

    /// Records that `email` signed with `key`; true if zt had not seen that key for them.
    pub fn note_key(&mut self, email: &str, key: &str) -> bool {
        let keys = self.keys.entry(email.to_string()).or_default();
        if keys.iter().any(|k| k == key) {
            false
        } else {
            keys.push(key.to_string());
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_first_seen_keeps_the_earliest() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::load(dir.path()).unwrap();
        assert_eq!(c.first_seen("abc", 100), 100);
        assert_eq!(c.first_seen("abc", 200), 100);
        assert_eq!(c.first_seen("abc", 50), 50);
        assert!(c.note_key("a@x", "SHA256:k"));
        assert!(!c.note_key("a@x", "SHA256:k"));
        c.save(dir.path()).unwrap();
        assert_eq!(Cache::load(dir.path()).unwrap(), c);
    }

    #[test]
    fn malformed_cache_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join(".zt/source")).unwrap();
        fs_err::write(Cache::path(dir.path()), "{").unwrap();
        assert!(matches!(Cache::load(dir.path()), Err(Error::Cache { .. })));
    }
}
