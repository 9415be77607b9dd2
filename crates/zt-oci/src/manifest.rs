//! OCI image manifests and indexes (and Docker's v2 schema 2 manifest and manifest list, which
//! share their shape): descriptors, parsing of untrusted bytes, and deterministic writing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zt_core::Digest;

use crate::Error;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// A gzip'd OCI layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The empty JSON config of artifacts (`{}`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Every manifest media type zt asks a registry for (the `Accept` header).
pub const ACCEPT: &[&str] = &[
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// The largest manifest zt reads (registries cap them at 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The artifact type (of an artifact manifest referenced from an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The platform of an index entry, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
}

impl Descriptor {
    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: Digest::sha256(bytes),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
            platform: None,
        }
    }

    /// With one more annotation.
    pub fn annotate(mut self, key: &str, value: impl Into<String>) -> Self {
        self.annotations.insert(key.to_string(), value.into());
        self
    }
}

/// An image manifest or an index (one type: the fields that do not apply stay empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The media type (required by zt when it writes; taken from the reply when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob (image manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    /// The layers (image manifests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    /// The manifests (indexes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one is about (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// An empty index.
    pub fn index() -> Self {
        Manifest {
            schema_version: 2,
            media_type: Some(OCI_INDEX.to_string()),
            artifact_type: None,
            config: None,
            layers: Vec::new(),
            manifests: Vec::new(),
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// An image manifest with this config and these layers.
    pub fn image(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Manifest {
            media_type: Some(OCI_MANIFEST.to_string()),
            config: Some(config),
            layers,
            ..Manifest::index()
        }
    }

    /// Parses untrusted manifest bytes. `content_type` is the registry's `Content-Type`, used
    /// when the body names no media type. Refuses unknown media types, schema versions other
    /// than 2, and an index that carries layers (or a manifest that lists manifests).
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, Error> {
        let bad = |reason: String| Error::Manifest { reason };
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(bad(format!("it is larger than {MAX_MANIFEST_BYTES} bytes")));
        }
        let mut m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not a manifest: {e}")))?;
        if m.schema_version != 2 {
            return Err(bad(format!("schemaVersion is {}, not 2", m.schema_version)));
        }
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_string())
            .filter(|c| ACCEPT.contains(&c.as_str()));
        let media_type = match (&m.media_type, header) {
            (Some(t), _) => t.clone(),
            (None, Some(h)) => h,
            (None, None) if m.manifests.is_empty() => OCI_MANIFEST.to_string(),
            (None, None) => OCI_INDEX.to_string(),
        };
        if !ACCEPT.contains(&media_type.as_str()) {
            return Err(bad(format!("unknown media type `{}`", clip(&media_type))));
        }
        if m.is_index_type(&media_type) {
            if !m.layers.is_empty() || m.config.is_some() {
                return Err(bad("an index carries layers or a config".into()));
            }
        } else if !m.manifests.is_empty() {
            return Err(bad("an image manifest lists manifests".into()));
        } else if m.config.is_none() {
            return Err(bad("an image manifest has no config".into()));
        }
        m.media_type = Some(media_type);
        Ok(m)
    }

    fn is_index_type(&self, t: &str) -> bool {
        t == OCI_INDEX || t == DOCKER_MANIFEST_LIST
    }

    /// Whether this is an index (or a Docker manifest list).
    pub fn is_index(&self) -> bool {
        self.media_type
            .as_deref()
            .is_some_and(|t| self.is_index_type(t))
    }

    /// The media type (an image manifest when unset).
    pub fn media_type(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_MANIFEST)
    }

    /// The bytes zt writes: compact JSON, fields in the spec's order, annotations sorted.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The descriptor of these bytes as a manifest.
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::of(self.media_type(), &self.to_bytes());
        d.artifact_type = self.artifact_type.clone();
        d.annotations = self.annotations.clone();
        d
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn image_manifest_round_trips() {
        let config = Descriptor::of(OCI_CONFIG, b"{}");
        let layer = Descriptor::of(OCI_LAYER_GZIP, b"layer").annotate("a", "b");
        let m = Manifest::image(config, vec![layer]);
        let back = Manifest::parse(&m.to_bytes(), None).unwrap();
        assert_eq!(back, m);
        assert!(!back.is_index());
    }

    #[test]
    fn docker_manifest_list_is_an_index() {
        let body = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":7,"platform":{"os":"linux"}}]}"#;
        let m = Manifest::parse(body, Some(DOCKER_MANIFEST_LIST)).unwrap();
        assert!(m.is_index());
        assert_eq!(m.manifests.len(), 1);
    }

    #[test]
    fn refuses_malformed_manifests() {
        for bad in [
            &br#"{"schemaVersion":1}"#[..],
            br#"{"schemaVersion":2,"mediaType":"text/html","config":{}}"#,
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#,
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","layers":[{"mediaType":"x","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":1}]}"#,
            br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:12","size":1}}"#,
            br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":-1}}"#,
            b"not json",
        ] {
            assert!(
                Manifest::parse(bad, None).is_err(),
                "{} was accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = Manifest::parse(&bytes, None);
        }

        #[test]
        fn parse_never_panics_on_json_like_input(
            s in r#"\{"schemaVersion":[0-9],("mediaType":"[a-z./+0-9-]{0,60}",)?("config":\{"mediaType":"x","digest":"sha256:[0-9a-f]{0,64}","size":[0-9-]{1,4}\},)?"layers":\[\]\}"#,
            ct in proptest::option::of("[a-z./+;= -]{0,60}"),
        ) {
            let _ = Manifest::parse(s.as_bytes(), ct.as_deref());
        }
    }
}
