use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from references, manifests, registries and image layouts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference is malformed.
    #[error("`{reference}` is not an image reference: {reason}")]
    Reference {
        /// The reference as given (clipped).
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// A manifest is malformed.
    #[error("malformed manifest: {reason}")]
    Manifest {
        /// What is wrong.
        reason: String,
    },
    /// Content from a registry or layout does not hash to the digest that named it.
    #[error("{what} `{expected}` has digest `{actual}`: the content does not match its name")]
    DigestMismatch {
        /// What was fetched (manifest, blob).
        what: &'static str,
        /// The digest asked for.
        expected: String,
        /// The digest of what came back.
        actual: String,
    },
    /// The registry could not be reached or the connection failed.
    #[error("request to {url} failed: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("{method} {url} answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error message, if it gave one.
        detail: Option<String>,
    },
    /// Nothing is there (no such tag, manifest or blob).
    #[error("{what} not found at {url}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// Where.
        url: String,
    },
    /// The registry refused the credentials (or wants some).
    #[error("{registry} refused access: {reason}")]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// What happened.
        reason: String,
    },
    /// `~/.docker/config.json` is unreadable.
    #[error("`{}` is not a docker config zt can read: {reason}", path.display())]
    DockerConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An OCI image layout is malformed.
    #[error("`{}` is not an OCI image layout: {reason}", path.display())]
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An image layer (a tar archive, maybe compressed) is malformed or unsupported.
    #[error("layer {layer}: {reason}")]
    Layer {
        /// The layer's digest or path.
        layer: String,
        /// What is wrong.
        reason: String,
    },
    /// An image cannot be built as asked (a layer source, the base image, the config).
    #[error("cannot build the image: {reason}")]
    Build {
        /// What is wrong.
        reason: String,
        /// How to fix it.
        fix: String,
    },
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::DigestMismatch { .. } => Outcome::Rejected,
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Reference { .. } => "write it as `registry/repository[:tag][@sha256:<hex>]`, e.g. `ghcr.io/org/app@sha256:…` (or `oci://…`)".into(),
            Error::Manifest { .. } => "the registry returned something that is not an OCI or Docker v2 manifest: check the reference".into(),
            Error::DigestMismatch { .. } => "the registry or layout served altered content: do not use it; re-push the image from a trusted copy".into(),
            Error::Request { .. } => "check the registry's address and that it is running (`--insecure-registry` for plain HTTP on a private network)".into(),
            Error::Status { .. } => "check the reference and your access to the repository (`docker login`)".into(),
            Error::NotFound { .. } => "check the repository and tag, e.g. with `zt verify IMAGE` on a digest you know".into(),
            Error::Unauthorized { .. } => "log in with `docker login REGISTRY` (zt reads `~/.docker/config.json`), or check the repository name".into(),
            Error::DockerConfig { .. } => "fix or move `~/.docker/config.json` (or set `DOCKER_CONFIG` to its directory)".into(),
            Error::Layout { .. } => "pass a directory holding `oci-layout`, `index.json` and `blobs/sha256/`".into(),
            Error::Layer { .. } => "the image holds a layer zt cannot read (zt reads tar, tar+gzip): rebuild or re-pull it from a trusted source".into(),
            Error::Build { fix, .. } => fix.clone(),
            Error::Io(_) => "check that the path exists and is readable".into(),
        })
    }
}
