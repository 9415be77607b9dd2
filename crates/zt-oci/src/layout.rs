//! An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/<hex>`): the
//! air-gapped form of a repository. Tags are `org.opencontainers.image.ref.name` annotations
//! of `index.json` entries. Every read is checked against its digest; every write is atomic.

use std::path::{Path, PathBuf};

use zt_core::Digest;

use crate::manifest::{self, Descriptor, Manifest};
use crate::{Error, Fetched, Repository};

/// The annotation that names a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An image layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// Opens a layout, creating an empty one when `dir` does not hold one yet.
    pub fn open_or_create(dir: &Path) -> Result<Self, Error> {
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        if !dir.join("oci-layout").is_file() {
            fs_err::create_dir_all(dir.join("blobs/sha256"))?;
            zt_core::fsutil::write_atomic(
                &dir.join("oci-layout"),
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
            layout.write_index(&Manifest::index())?;
        }
        layout.index()?;
        Ok(layout)
    }

    /// Opens an existing layout.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        let layout = Layout {
            dir: dir.to_path_buf(),
        };
        let version: serde_json::Value = serde_json::from_slice(
            &fs_err::read(dir.join("oci-layout"))
                .map_err(|_| layout.bad("no `oci-layout` file"))?,
        )
        .map_err(|_| layout.bad("`oci-layout` is not JSON"))?;
        if version.get("imageLayoutVersion").and_then(|v| v.as_str()) != Some("1.0.0") {
            return Err(layout.bad("`imageLayoutVersion` is not 1.0.0"));
        }
        layout.index()?;
        Ok(layout)
    }

    fn bad(&self, reason: &str) -> Error {
        Error::Layout {
            path: self.dir.clone(),
            reason: reason.to_string(),
        }
    }

    /// The top-level index (`index.json`).
    pub fn index(&self) -> Result<Manifest, Error> {
        let bytes = fs_err::read(self.dir.join("index.json"))?;
        let index = Manifest::parse(&bytes, Some(manifest::OCI_INDEX))?;
        if !index.is_index() {
            return Err(self.bad("`index.json` is not an image index"));
        }
        Ok(index)
    }

    fn write_index(&self, index: &Manifest) -> Result<(), Error> {
        zt_core::fsutil::write_atomic(&self.dir.join("index.json"), &index.to_bytes())?;
        Ok(())
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }
}

impl Repository for Layout {
    fn describe(&self) -> String {
        format!("OCI layout `{}`", self.dir.display())
    }

    fn manifest(&self, target: &str) -> Result<Option<Fetched>, Error> {
        let descriptor = match crate::reference::parse_digest(target) {
            Ok(d) => Some(d),
            Err(_) => self
                .index()?
                .manifests
                .into_iter()
                .rev()
                .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(target))
                .map(|d| d.digest),
        };
        let Some(digest) = descriptor else {
            return Ok(None);
        };
        if !self.blob_path(&digest).is_file() {
            return Ok(None);
        }
        let bytes = self.blob(&digest)?;
        let parsed = Manifest::parse(&bytes, None)?;
        Ok(Some(Fetched::new(parsed, bytes)))
    }

    fn blob(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        let path = self.blob_path(digest);
        if !path.is_file() {
            return Err(Error::NotFound {
                what: format!("blob {digest}"),
                url: self.describe(),
            });
        }
        let bytes = fs_err::read(&path)?;
        crate::client::verify_digest(&bytes, digest, "blob")?;
        Ok(bytes)
    }

    fn push_blob(&self, bytes: &[u8]) -> Result<Digest, Error> {
        let digest = Digest::sha256(bytes);
        let path = self.blob_path(&digest);
        if !path.is_file() {
            zt_core::fsutil::write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    fn push_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<bool, Error> {
        let parsed = Manifest::parse(bytes, Some(media_type))?;
        self.push_blob(bytes)?;
        let mut descriptor = Descriptor::of(media_type, bytes);
        descriptor.artifact_type = parsed.artifact_type.clone();
        let mut index = self.index()?;
        match tag {
            Some(t) => {
                index
                    .manifests
                    .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(t));
                index.manifests.push(descriptor.annotate(REF_NAME, t));
            }
            None if index
                .manifests
                .iter()
                .any(|d| d.digest == descriptor.digest) => {}
            None => index.manifests.push(descriptor),
        }
        self.write_index(&index)?;
        Ok(false)
    }

    fn delete_manifest(&self, digest: &Digest) -> Result<(), Error> {
        let mut index = self.index()?;
        index.manifests.retain(|d| &d.digest != digest);
        self.write_index(&index)
    }

    fn referrers_api(
        &self,
        _subject: &Digest,
        _artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, Error> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{OCI_CONFIG, OCI_LAYER_GZIP};

    #[test]
    fn layout_round_trip_with_referrers_and_tamper() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open_or_create(&dir.path().join("img")).unwrap();
        let config = layout.push_blob(b"{}").unwrap();
        let layer = layout.push_blob(b"layer").unwrap();
        let mut c = Descriptor::of(OCI_CONFIG, b"{}");
        c.digest = config;
        let l = Descriptor::of(OCI_LAYER_GZIP, b"layer");
        assert_eq!(l.digest, layer);
        let m = Manifest::image(c, vec![l]);
        layout
            .push_manifest(&m.to_bytes(), manifest::OCI_MANIFEST, Some("v1"))
            .unwrap();
        let got = crate::resolve(&layout, "v1").unwrap();
        assert_eq!(got.manifest, m);
        assert_eq!(got.descriptor.digest, Digest::sha256(&m.to_bytes()));
        let again = Layout::open(&dir.path().join("img")).unwrap();
        assert!(
            again
                .manifest(&got.descriptor.digest.to_string())
                .unwrap()
                .is_some()
        );

        // A referrer lands in the fallback tag index.
        let mut art = Manifest::image(Descriptor::of(manifest::OCI_EMPTY, b"{}"), vec![]);
        art.artifact_type = Some("application/x-test".into());
        art.subject = Some(got.descriptor.clone());
        let d = crate::push_referrer(&layout, &art).unwrap();
        let r =
            crate::referrers(&layout, &got.descriptor.digest, Some("application/x-test")).unwrap();
        assert_eq!(r.via, crate::Via::TagSchema);
        assert_eq!(r.manifests.len(), 1);
        assert_eq!(r.manifests[0].digest, d.digest);
        assert!(
            crate::referrers(&layout, &got.descriptor.digest, Some("other"))
                .unwrap()
                .manifests
                .is_empty()
        );

        // A replaced blob is caught by its digest.
        fs_err::write(layout.blob_path(&layer), b"evil").unwrap();
        let e = layout.blob(&layer).unwrap_err();
        assert!(matches!(e, Error::DigestMismatch { .. }), "{e}");
        assert!(Layout::open(dir.path()).is_err());
    }
}
