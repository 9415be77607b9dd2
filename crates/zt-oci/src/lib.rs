//! zt's OCI side: image references, a small blocking distribution client, OCI image layouts
//! on disk, and the shapes in which Sigstore bundles and cosign signatures live next to an
//! image (OCI 1.1 referrers, cosign's `sha256-<hex>.sig` / `.att` tags); images built
//! reproducibly from directories ([`assemble`], [`tar`]) and read back layer by layer
//! ([`rootfs`]).
//!
//! ```
//! use zt_oci::Reference;
//!
//! let r = Reference::parse("alpine:3.20").unwrap();
//! assert_eq!(r.name(), "docker.io/library/alpine");
//! assert_eq!(r.target(), "3.20");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod artifacts;
pub mod assemble;
pub mod auth;
pub mod client;
mod error;
pub mod layout;
pub mod manifest;
pub mod reference;
pub mod rootfs;
pub mod tar;

pub use client::{Client, Options};
pub use error::Error;
pub use manifest::{Descriptor, Manifest};
pub use reference::Reference;

use zt_core::Digest;

/// A manifest fetched and checked: its bytes hash to the digest in its descriptor.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// Its descriptor (media type, digest, size, artifact type).
    pub descriptor: Descriptor,
}

impl Fetched {
    /// Wraps bytes already parsed into `manifest`.
    pub fn new(manifest: Manifest, bytes: Vec<u8>) -> Self {
        let mut descriptor = Descriptor::of(manifest.media_type(), &bytes);
        descriptor.artifact_type = manifest.artifact_type.clone();
        Fetched {
            manifest,
            bytes,
            descriptor,
        }
    }
}

/// One repository: in a registry ([`client::RegistryRepo`]) or an image layout on disk
/// ([`layout::Layout`]). Every read verifies digests. Shared between threads: reads of
/// independent manifests and blobs run concurrently ([`each_concurrently`]).
pub trait Repository: Send + Sync {
    /// How to name it in messages.
    fn describe(&self) -> String;
    /// The manifest at a tag or digest (`None`: nothing there).
    fn manifest(&self, target: &str) -> Result<Option<Fetched>, Error>;
    /// A blob, checked against its digest.
    fn blob(&self, digest: &Digest) -> Result<Vec<u8>, Error>;
    /// Stores a blob (nothing happens when it is there already); returns its digest.
    fn push_blob(&self, bytes: &[u8]) -> Result<Digest, Error>;
    /// Stores a manifest, tagged `tag` or by digest alone. Returns whether the store indexed
    /// its `subject` for the referrers API (a registry's `OCI-Subject` reply header).
    fn push_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<bool, Error>;
    /// Deletes a manifest (its tags go with it).
    fn delete_manifest(&self, digest: &Digest) -> Result<(), Error>;
    /// The OCI 1.1 referrers API (`None`: the store does not offer it).
    fn referrers_api(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, Error>;
}

/// How many requests [`each_concurrently`] keeps in flight.
pub const CONCURRENCY: usize = 8;

/// `f` over every item, up to [`CONCURRENCY`] at a time on scoped threads; results in the
/// items' order. Reads from a registry are round trips: this is what keeps a verification
/// that needs twenty of them from waiting for each in turn.
pub fn each_concurrently<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..items.len().min(CONCURRENCY) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Some(slot) = results.get(i)
                        && let Ok(mut slot) = slot.lock()
                    {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

/// Resolves a tag or digest to its manifest (an error when nothing is there).
pub fn resolve(repo: &dyn Repository, target: &str) -> Result<Fetched, Error> {
    repo.manifest(target)?.ok_or_else(|| Error::NotFound {
        what: format!("manifest `{target}`"),
        url: repo.describe(),
    })
}

/// How the referrers were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The registry's `/v2/<name>/referrers/<digest>` API.
    ReferrersApi,
    /// The `sha256-<hex>` tag index (the OCI 1.1 fallback).
    TagSchema,
}

/// The referrers of a manifest.
#[derive(Debug, Clone)]
pub struct Referrers {
    /// Their descriptors.
    pub manifests: Vec<Descriptor>,
    /// Where they came from.
    pub via: Via,
}

/// The tag of the referrers fallback index: `sha256-<hex>`.
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}

/// The manifests that refer to `subject` (of `artifact_type` when given): through the
/// referrers API, else the tag-schema fallback index.
pub fn referrers(
    repo: &dyn Repository,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Referrers, Error> {
    // The API and the fallback index are asked at once: a registry without the API costs one
    // round trip, not two (the fallback read is dropped when the API answers).
    let (api, fallback) = std::thread::scope(|s| {
        let fallback = s.spawn(|| repo.manifest(&fallback_tag(subject)));
        let api = repo.referrers_api(subject, artifact_type);
        (api, fallback.join())
    });
    if let Some(manifests) = api? {
        // A registry may ignore the filter (it then omits `OCI-Filters-Applied`): filter again.
        let manifests = manifests
            .into_iter()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect();
        return Ok(Referrers {
            manifests,
            via: Via::ReferrersApi,
        });
    }
    let fallback = fallback.unwrap_or_else(|_| {
        Err(Error::Request {
            url: repo.describe(),
            reason: "a reader thread failed".into(),
        })
    });
    let manifests = match fallback? {
        Some(f) if f.manifest.is_index() => f
            .manifest
            .manifests
            .into_iter()
            .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t)))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Referrers {
        manifests,
        via: Via::TagSchema,
    })
}

/// Pushes an artifact manifest that names a `subject` (its blobs must be pushed already).
/// When the store does not index subjects itself, the `sha256-<hex>` fallback index is
/// updated to list it. Returns the artifact manifest's descriptor.
pub fn push_referrer(repo: &dyn Repository, artifact: &Manifest) -> Result<Descriptor, Error> {
    let bytes = artifact.to_bytes();
    let indexed = repo.push_manifest(&bytes, artifact.media_type(), None)?;
    let descriptor = artifact.descriptor();
    let Some(subject) = &artifact.subject else {
        return Ok(descriptor);
    };
    if indexed {
        return Ok(descriptor);
    }
    let tag = fallback_tag(&subject.digest);
    let mut index = match repo.manifest(&tag)? {
        Some(f) if f.manifest.is_index() => f.manifest,
        _ => Manifest::index(),
    };
    if !index
        .manifests
        .iter()
        .any(|d| d.digest == descriptor.digest)
    {
        index.manifests.push(descriptor.clone());
        if repo
            .push_manifest(&index.to_bytes(), manifest::OCI_INDEX, Some(&tag))
            .is_err()
        {
            // A registry refuses an index naming a manifest it no longer holds (a deleted
            // referrer): drop those entries and push again.
            let mut kept = Vec::with_capacity(index.manifests.len());
            for d in index.manifests {
                if d.digest == descriptor.digest || repo.manifest(&d.digest.to_string())?.is_some()
                {
                    kept.push(d);
                }
            }
            index.manifests = kept;
            repo.push_manifest(&index.to_bytes(), manifest::OCI_INDEX, Some(&tag))?;
        }
    }
    Ok(descriptor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_concurrently_keeps_the_order_of_its_items() {
        let items: Vec<u64> = (0..50).collect();
        let out = super::each_concurrently(&items, |i| {
            // Later items finish first.
            std::thread::sleep(std::time::Duration::from_micros(50 - i));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(super::each_concurrently(&[7u8], |i| *i), [7]);
        assert!(super::each_concurrently(&[] as &[u8], |i| *i).is_empty());
    }
}
