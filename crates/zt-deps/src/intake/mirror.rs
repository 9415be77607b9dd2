//! The curated mirror: admitted archives, content-addressed under
//! `.zt/mirror/<ecosystem>/sha256/<hex>`, and an index (`.zt/mirror/index.json`) from package
//! URL to digest, archive name and the signed decision that admitted it.
//!
//! Writes are atomic in order: the blob goes to a temporary file in its final directory, is
//! fsynced and renamed into place (so a crash leaves either nothing or the whole blob, never
//! part of one), then the index is replaced atomically. A blob without an index entry (a
//! crash between the two) is never served: [`Mirror::get`] goes through the index and
//! re-hashes what it reads, and the next `put` of the same content completes the entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zt_core::Digest;

use crate::{Ecosystem, Error};

/// One mirrored package version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MirrorEntry {
    /// The package URL.
    pub purl: String,
    /// The ecosystem (OSV name).
    pub ecosystem: String,
    /// SHA-256 of the archive (hex).
    pub sha256: String,
    /// The archive's file name as served.
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was admitted (RFC 3339).
    pub admitted: String,
    /// The signed intake decision (bundle path), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

/// A mirror rooted at a directory (normally `<repo>/.zt/mirror`).
#[derive(Debug, Clone)]
pub struct Mirror {
    root: PathBuf,
}

impl Mirror {
    /// The mirror of a repository.
    pub fn in_repo(repo: &Path) -> Self {
        Self {
            root: repo.join(".zt/mirror"),
        }
    }

    /// A mirror rooted at `root`.
    pub fn at(root: &Path) -> Self {
        Self { root: root.into() }
    }

    /// Where the blob with this digest lives.
    pub fn blob_path(&self, ecosystem: Ecosystem, sha256: &Digest) -> PathBuf {
        self.root
            .join(ecosystem_dir(ecosystem))
            .join("sha256")
            .join(sha256.hex())
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// The index: purl → entry.
    pub fn index(&self) -> Result<BTreeMap<String, MirrorEntry>, Error> {
        let path = self.index_path();
        match fs_err::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
                file: path.clone(),
                line: Some(e.line()),
                message: format!("the mirror index is not valid: {e}"),
                fix: "restore `.zt/mirror/index.json` from backup, or remove it and run `zt deps intake` again for each package".into(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `bytes` (already admitted) and records the entry. Idempotent.
    pub fn put(
        &self,
        ecosystem: Ecosystem,
        bytes: &[u8],
        mut entry: MirrorEntry,
    ) -> Result<PathBuf, Error> {
        let digest = Digest::sha256(bytes);
        entry.sha256 = digest.hex();
        entry.size = bytes.len() as u64;
        let blob = self.blob_path(ecosystem, &digest);
        let dir = blob.parent().unwrap_or(&self.root).to_path_buf();
        fs_err::create_dir_all(&dir)?;
        let present = fs_err::read(&blob).is_ok_and(|b| Digest::sha256(&b) == digest);
        if !present {
            zt_core::fsutil::write_atomic(&blob, bytes)?;
        }
        let mut index = self.index()?;
        index.insert(entry.purl.clone(), entry);
        let mut json = serde_json::to_vec_pretty(&index).unwrap_or_default();
        json.push(b'\n');
        zt_core::fsutil::write_atomic(&self.index_path(), &json)?;
        self.sweep(&dir);
        Ok(blob)
    }

    /// The archive bytes of an indexed package, re-hashed on read.
    pub fn get(&self, purl: &str) -> Result<Option<(MirrorEntry, Vec<u8>)>, Error> {
        let index = self.index()?;
        let Some(entry) = index.get(purl) else {
            return Ok(None);
        };
        let Some((eco, _, _)) = crate::purl::parse(purl) else {
            return Ok(None);
        };
        let digest =
            Digest::from_hex(zt_core::DigestAlgorithm::Sha256, &entry.sha256).map_err(|_| {
                Error::Parse {
                    file: self.index_path(),
                    line: None,
                    message: format!("`{purl}`: `{}` is not a SHA-256", entry.sha256),
                    fix: "remove the entry and run `zt deps intake` again".into(),
                }
            })?;
        let bytes = fs_err::read(self.blob_path(eco, &digest))?;
        if Digest::sha256(&bytes) != digest {
            return Err(Error::Parse {
                file: self.blob_path(eco, &digest),
                line: None,
                message: "the mirrored archive does not match its digest".into(),
                fix: "the mirror was altered: remove the blob and run `zt deps intake` again"
                    .into(),
            });
        }
        Ok(Some((entry.clone(), bytes)))
    }

    /// Removes temporary files left by an interrupted `put`.
    fn sweep(&self, dir: &Path) {
        if let Ok(rd) = fs_err::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(".zt-tmp-") {
                    let _ = fs_err::remove_file(e.path());
                }
            }
        }
    }
}

fn ecosystem_dir(e: Ecosystem) -> &'static str {
    e.purl_type()
}

/// Quarantine (`zt incident bad-package`): an entry taken out of the index, so that it is no
/// longer served, and kept with why and when in `.zt/mirror/quarantine.json` (its blob stays,
/// as evidence).
impl Mirror {
    fn quarantine_path(&self) -> PathBuf {
        self.root.join("quarantine.json")
    }

    /// The quarantined entries: purl → (entry, reason, when).
    pub fn quarantined(&self) -> Result<BTreeMap<String, serde_json::Value>, Error> {
        let path = self.quarantine_path();
        match fs_err::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
                file: path.clone(),
                line: Some(e.line()),
                message: format!("the mirror's quarantine list is not valid: {e}"),
                fix: "restore `.zt/mirror/quarantine.json` from backup".into(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes `purl` out of the index into the quarantine list. The quarantine list is written
    /// first: a crash between the two writes leaves the package both listed and quarantined,
    /// never served unrecorded. Returns whether the mirror held it.
    pub fn quarantine(&self, purl: &str, reason: &str, when: &str) -> Result<bool, Error> {
        let mut index = self.index()?;
        let Some(entry) = index.remove(purl) else {
            return Ok(false);
        };
        let mut q = self.quarantined()?;
        q.insert(
            purl.to_owned(),
            serde_json::json!({ "entry": entry, "reason": reason, "quarantined": when }),
        );
        fs_err::create_dir_all(&self.root)?;
        let mut json = serde_json::to_vec_pretty(&q).unwrap_or_default();
        json.push(b'\n');
        zt_core::fsutil::write_atomic(&self.quarantine_path(), &json)?;
        let mut json = serde_json::to_vec_pretty(&index).unwrap_or_default();
        json.push(b'\n');
        zt_core::fsutil::write_atomic(&self.index_path(), &json)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(purl: &str) -> MirrorEntry {
        MirrorEntry {
            purl: purl.into(),
            ecosystem: "npm".into(),
            sha256: String::new(),
            file: "x-1.0.0.tgz".into(),
            size: 0,
            admitted: "2026-01-01T00:00:00Z".into(),
            decision: None,
        }
    }

    #[test]
    fn put_get_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::at(dir.path());
        let p = m
            .put(Ecosystem::Npm, b"archive", entry("pkg:npm/x@1.0.0"))
            .unwrap();
        assert!(p.ends_with(Digest::sha256(b"archive").hex()));
        assert!(p.starts_with(dir.path().join("npm/sha256")));
        m.put(Ecosystem::Npm, b"archive", entry("pkg:npm/x@1.0.0"))
            .unwrap();
        let (e, bytes) = m.get("pkg:npm/x@1.0.0").unwrap().unwrap();
        assert_eq!(bytes, b"archive");
        assert_eq!(e.size, 7);
        assert!(m.get("pkg:npm/y@1.0.0").unwrap().is_none());
    }

    #[test]
    fn a_tampered_blob_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::at(dir.path());
        let p = m
            .put(Ecosystem::Npm, b"archive", entry("pkg:npm/x@1.0.0"))
            .unwrap();
        fs_err::write(&p, b"evil").unwrap();
        assert!(m.get("pkg:npm/x@1.0.0").is_err());
    }

    #[test]
    fn leftover_temporary_files_are_swept_and_never_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::at(dir.path());
        let blob_dir = dir.path().join("npm/sha256");
        fs_err::create_dir_all(&blob_dir).unwrap();
        fs_err::write(blob_dir.join(".zt-tmp-abc"), b"half").unwrap();
        assert!(m.index().unwrap().is_empty());
        m.put(Ecosystem::Npm, b"archive", entry("pkg:npm/x@1.0.0"))
            .unwrap();
        let names: Vec<String> = fs_err::read_dir(&blob_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [Digest::sha256(b"archive").hex()]);
    }

    #[test]
    fn a_quarantined_package_is_no_longer_served_and_is_kept_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mirror::at(dir.path());
        let purl = "pkg:npm/evil@1.0.0";
        let entry = MirrorEntry {
            purl: purl.into(),
            ecosystem: "npm".into(),
            sha256: String::new(),
            file: "evil-1.0.0.tgz".into(),
            size: 0,
            admitted: "2026-01-01T00:00:00Z".into(),
            decision: None,
        };
        m.put(Ecosystem::Npm, b"payload", entry).unwrap();
        assert!(m.get(purl).unwrap().is_some());
        assert!(
            m.quarantine(purl, "malicious", "2026-02-01T00:00:00Z")
                .unwrap()
        );
        assert!(m.get(purl).unwrap().is_none());
        assert_eq!(m.quarantined().unwrap()[purl]["reason"], "malicious");
        // Twice: nothing left to quarantine, the record stays.
        assert!(!m.quarantine(purl, "again", "x").unwrap());
        assert_eq!(m.quarantined().unwrap()[purl]["reason"], "malicious");
    }
}
