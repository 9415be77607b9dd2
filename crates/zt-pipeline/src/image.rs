//! Container images as artifacts: `zt sign IMAGE`, `zt attest IMAGE` and `zt verify IMAGE`.
//!
//! The subject is the image's manifest digest (the in-toto subject is named by the repository,
//! `registry/repository`, as cosign's `docker-reference` names it). Every signature and
//! attestation is stored twice beside the image:
//!
//! - as an OCI 1.1 referrer holding the Sigstore bundle (see [`zt_oci::artifacts`]): a message
//!   signature over the manifest bytes, or the DSSE attestation about the manifest digest;
//! - in cosign's layout: a simple-signing payload layer on `sha256-<hex>.sig`, a DSSE envelope
//!   layer on `sha256-<hex>.att`, each carrying zt's bundle (with its log proof) as an
//!   annotation besides cosign's own.
//!
//! `zt verify IMAGE` finds both forms (and cosign's own signatures with Rekor v1 entries),
//! verifies each with the Sigstore verifier, and reports which it found. Verified bundles about
//! the image join the workspace's ledger when it has one.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_core::{Digest, ResourceDescriptor, Statement, Workspace};
use zt_oci::artifacts::{self, CosignLayer};
use zt_oci::layout::Layout;
use zt_oci::{Descriptor, Fetched, Reference, Repository};
use zt_sign::Signer;
use zt_sign::bundle::{self, NewBundle, ParsedBundle};
use zt_sign::verify::{Artifact, Identity, Verified};

use crate::Error;
use crate::attest::Predicate;

/// How registries are reached.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Registries (`host:port`) reached over plain HTTP although they are not on loopback.
    pub insecure: Vec<String>,
}

/// An image argument opened: the store it lives in and the tag or digest asked for.
pub struct Image {
    /// The name statements give it (`registry/repository`, or the layout path).
    pub name: String,
    /// The tag or digest asked for.
    pub target: String,
    repo: Box<dyn Repository>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}@{})", self.name, self.target)
    }
}

/// Whether a command-line artifact names an image rather than a file: `oci://…`,
/// `oci-layout:DIR…`, `…@sha256:…` or `host[:port]/repository…` that is not an existing path.
pub fn is_image(arg: &str) -> bool {
    if Path::new(arg).exists() {
        return false;
    }
    arg.starts_with("oci-layout:") || Reference::looks_like_image(arg)
}

/// `DIR[:TAG|@sha256:…]` (after `oci-layout:`) as the directory and the tag or digest
/// (default `latest`).
fn split_layout(rest: &str) -> (&str, String) {
    match rest.rsplit_once('@') {
        Some((dir, digest)) => (dir, digest.to_string()),
        None => {
            let last = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
            match rest.get(last..).and_then(|t| t.rfind(':')) {
                Some(i) => (
                    rest.get(..last + i).unwrap_or_default(),
                    rest.get(last + i + 1..).unwrap_or_default().to_string(),
                ),
                None => (rest, "latest".to_string()),
            }
        }
    }
}

/// Opens `oci://REF`, `REF` (`registry/repo[:tag][@sha256:…]`) or `oci-layout:DIR[:TAG|@sha256:…]`.
pub fn open(arg: &str, options: &RegistryOptions) -> Result<Image, Error> {
    if let Some(rest) = arg.strip_prefix("oci-layout:") {
        let (dir, target) = split_layout(rest);
        let layout = Layout::open(Path::new(dir))?;
        return Ok(Image {
            name: format!("oci-layout:{dir}"),
            target,
            repo: Box::new(layout),
        });
    }
    let reference = Reference::parse(arg)?;
    let client = zt_oci::Client::new(zt_oci::Options {
        insecure_registries: options.insecure.clone(),
        docker_config: zt_oci::auth::DockerConfig::load_default()?,
    });
    Ok(Image {
        name: reference.name(),
        target: reference.target(),
        repo: Box::new(client.repo(&reference)),
    })
}

impl Image {
    /// The store.
    pub fn repo(&self) -> &dyn Repository {
        self.repo.as_ref()
    }

    /// The manifest the argument names (fetched and checked against its digest).
    pub fn resolve(&self) -> Result<Fetched, Error> {
        Ok(zt_oci::resolve(self.repo(), &self.target)?)
    }

    /// `name@digest`.
    pub fn pinned(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.name)
    }
}

/// An image copied by `zt push`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pushed {
    /// The source, pinned.
    pub source: String,
    /// The destination, pinned.
    pub destination: String,
    /// The manifest (or index) digest: the same on both sides.
    pub digest: Digest,
    /// The tag set at the destination, if any.
    pub tag: Option<String>,
}

/// `zt push SRC DST`: copies an image (manifest or index, config, layers; every blob checked
/// against its digest) from a layout or registry to a registry or a layout (created when
/// absent), tagged as DST names it (a DST pinned by digest must be the source's digest).
pub fn push(source: &str, destination: &str, options: &RegistryOptions) -> Result<Pushed, Error> {
    let from = open(source, options)?;
    let digest = from.resolve()?.descriptor.digest;
    if let Some(pinned) = destination.rsplit_once('@').map(|(_, d)| d)
        && zt_oci::reference::parse_digest(pinned).is_ok_and(|d| d != digest)
    {
        return Err(Error::Input {
            what: format!("`{destination}` names another digest than `{source}` ({digest})"),
            help: "name the destination by tag, or by the source's digest".into(),
        });
    }
    let (to, tag, name): (Box<dyn Repository>, Option<String>, String) =
        match destination.strip_prefix("oci-layout:") {
            Some(rest) => {
                let (dir, target) = split_layout(rest);
                let tag = zt_oci::reference::parse_digest(&target)
                    .is_err()
                    .then_some(target);
                (
                    Box::new(Layout::open_or_create(Path::new(dir))?),
                    tag,
                    format!("oci-layout:{dir}"),
                )
            }
            None => {
                let opened = open(destination, options)?;
                let tag = zt_oci::reference::parse_digest(&opened.target)
                    .is_err()
                    .then(|| opened.target.clone());
                (opened.repo, tag, opened.name)
            }
        };
    // By digest, so that what is copied is what was checked above.
    let descriptor = zt_oci::assemble::copy(
        from.repo(),
        &digest.to_string(),
        to.as_ref(),
        tag.as_deref(),
    )?;
    Ok(Pushed {
        source: from.pinned(&descriptor.digest),
        destination: format!("{name}@{}", descriptor.digest),
        digest: descriptor.digest,
        tag,
    })
}

/// A signature or attestation to make about an image.
pub struct Request<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// The image argument.
    pub image: String,
    /// The transparency log every signature is appended to (created on first use).
    pub log_dir: PathBuf,
    /// How registries are reached.
    pub registry: RegistryOptions,
}

/// What was signed or attested.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignedImage {
    /// The image, pinned to its digest.
    pub image: String,
    /// The manifest digest (the subject).
    pub digest: Digest,
    /// Whether the argument was a tag that was resolved.
    pub resolved_tag: Option<String>,
    /// The referrer artifact manifest's digest.
    pub referrer: Digest,
    /// The cosign tag the signature or attestation was added to.
    pub cosign_tag: String,
    /// The predicate type, for attestations.
    pub predicate_type: Option<String>,
    /// The log entries made.
    pub log_indexes: Vec<u64>,
    /// The bundle, also stored in the evidence store.
    pub bundle: PathBuf,
    /// The origin of the log, when this signature created it.
    #[serde(skip)]
    pub created_log: Option<String>,
}

fn log_new(req: &Request<'_>, new: &mut NewBundle) -> Result<(u64, Option<String>), Error> {
    let (log, created) = zt_sign::transparency::open_or_init(&req.log_dir)?;
    let index = zt_sign::transparency::log_bundle(&log, new, &req.signer.public_key())?;
    Ok((index, created.then(|| log.origin().to_string())))
}

fn resolved_tag(image: &Image) -> Option<String> {
    zt_oci::reference::parse_digest(&image.target)
        .is_err()
        .then(|| image.target.clone())
}

/// `zt sign IMAGE`: a message signature over the manifest (its SHA-256 is the image digest) as
/// a Sigstore-bundle referrer, and a cosign simple-signing signature on `sha256-<hex>.sig`.
/// Both are logged.
pub fn sign(ws: &Workspace, req: &Request<'_>) -> Result<SignedImage, Error> {
    crate::revoke::refuse_revoked(ws, &req.signer.public_key())?;
    let image = open(&req.image, &req.registry)?;
    let fetched = image.resolve()?;
    let digest = fetched.descriptor.digest.clone();

    // 1. The referrer: a message signature whose digest is the manifest digest.
    let mut new = bundle::sign_bytes(req.signer, &fetched.bytes)?;
    let (index, created_log) = log_new(req, &mut new)?;
    let bytes = bundle::to_bytes(&new.json);
    let referrer =
        artifacts::push_bundle_referrer(image.repo(), &fetched.descriptor, &bytes, None)?;
    let path = crate::evidence::record(ws, "image-signature", &new.json)?;

    // 2. cosign's layout: the simple-signing payload, signed and logged on its own.
    let payload = artifacts::simple_signing_payload(&image.name, &digest);
    let mut sig = bundle::sign_bytes(req.signer, &payload)?;
    let (sig_index, _) = log_new(req, &mut sig)?;
    let layer = Descriptor::of(artifacts::SIMPLE_SIGNING, &payload)
        .annotate(
            artifacts::COSIGN_SIGNATURE,
            zt_core::b64::encode(&sig.signature),
        )
        .annotate(artifacts::ZT_BUNDLE, compact(&sig.json));
    let tag = artifacts::sig_tag(&digest);
    artifacts::append_cosign_layer(image.repo(), &tag, layer, &payload)?;

    Ok(SignedImage {
        image: image.pinned(&digest),
        digest,
        resolved_tag: resolved_tag(&image),
        referrer: referrer.digest,
        cosign_tag: tag,
        predicate_type: None,
        log_indexes: vec![index, sig_index],
        bundle: path,
        created_log,
    })
}

/// The statement `zt attest IMAGE` makes: the repository and the manifest digest as subject.
pub fn statement(name: &str, digest: &Digest, predicate: &Predicate) -> Result<Statement, Error> {
    let (predicate_type, predicate) = predicate.read()?;
    Ok(Statement::new(
        vec![ResourceDescriptor::subject(name.to_string(), digest)],
        predicate_type,
        predicate,
    ))
}

/// `zt attest IMAGE`: one DSSE attestation about the manifest digest, logged, stored as a
/// Sigstore-bundle referrer and as a layer of `sha256-<hex>.att`.
pub fn attest(
    ws: &Workspace,
    req: &Request<'_>,
    predicate: &Predicate,
) -> Result<SignedImage, Error> {
    crate::revoke::refuse_revoked(ws, &req.signer.public_key())?;
    let image = open(&req.image, &req.registry)?;
    let fetched = image.resolve()?;
    let digest = fetched.descriptor.digest.clone();
    let statement = statement(&image.name, &digest, predicate)?;
    let mut new = bundle::attest(req.signer, &statement)?;
    let (index, created_log) = log_new(req, &mut new)?;
    let bytes = bundle::to_bytes(&new.json);
    let referrer = artifacts::push_bundle_referrer(
        image.repo(),
        &fetched.descriptor,
        &bytes,
        Some(&statement.predicate_type),
    )?;
    let path = crate::evidence::record(ws, predicate.kind(), &new.json)?;

    let envelope = new
        .json
        .get("dsseEnvelope")
        .map(compact)
        .unwrap_or_default();
    let layer = Descriptor::of(artifacts::DSSE_ENVELOPE, envelope.as_bytes())
        .annotate(artifacts::PREDICATE_TYPE, statement.predicate_type.clone())
        .annotate(artifacts::ZT_BUNDLE, compact(&new.json));
    let tag = artifacts::att_tag(&digest);
    artifacts::append_cosign_layer(image.repo(), &tag, layer, envelope.as_bytes())?;

    Ok(SignedImage {
        image: image.pinned(&digest),
        digest,
        resolved_tag: resolved_tag(&image),
        referrer: referrer.digest,
        cosign_tag: tag,
        predicate_type: Some(statement.predicate_type),
        log_indexes: vec![index],
        bundle: path,
        created_log,
    })
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// How to verify an image.
#[derive(Debug)]
pub struct Check<'a> {
    /// The image argument.
    pub image: &'a str,
    /// The signer to expect.
    pub identity: &'a Identity,
    /// A `trusted_root.json` to use instead of the public-good root (+ the workspace's log).
    pub trusted_root: Option<&'a Path>,
    /// The transparency log whose key joins the public-good root (default: the workspace's).
    pub log_dir: Option<PathBuf>,
    /// A witness cosignature policy every log checkpoint must satisfy.
    pub witness_policy: Option<&'a Path>,
    /// Accept signatures that carry no transparency-log proof (dangerous).
    pub insecure_ignore_tlog: bool,
    /// How registries are reached.
    pub registry: RegistryOptions,
}

/// Where a piece of evidence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// An OCI 1.1 referrer holding a Sigstore bundle.
    Referrer,
    /// A layer of cosign's `sha256-<hex>.sig` or `.att` image.
    Cosign,
}

/// One signature or attestation that verified.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Found {
    /// Where it was found.
    pub form: Form,
    /// `signature` or `attestation`.
    pub kind: &'static str,
    /// The predicate type, for attestations.
    pub predicate_type: Option<String>,
    /// Who signed (key id or certificate identity).
    pub signer: String,
    /// Whether a transparency-log proof was checked.
    pub tlog_verified: bool,
    /// The manifest or layer digest that carried it.
    pub carrier: Digest,
}

/// One signature or attestation that was found but did not verify.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refused {
    /// Where it was found.
    pub form: Form,
    /// The manifest or layer digest that carried it.
    pub carrier: Digest,
    /// Why it was refused.
    pub reason: String,
}

/// What `zt verify IMAGE` established.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedImage {
    /// The image, pinned to its digest.
    pub image: String,
    /// The manifest digest.
    pub digest: Digest,
    /// Whether the store holds the image's manifest (an image pinned by digest is judged by
    /// its digest alone when it does not).
    pub manifest_present: bool,
    /// How the referrers were listed.
    pub referrers_via: zt_oci::Via,
    /// Valid signatures.
    pub signatures: Vec<Found>,
    /// Valid attestations.
    pub attestations: Vec<Found>,
    /// Evidence found that did not verify (ignored, as cosign ignores it).
    pub refused: Vec<Refused>,
}

/// `zt verify IMAGE`: resolves the image, finds its referrers and cosign tags, verifies every
/// signature and attestation, and requires at least one valid signature.
pub fn verify(ws: &Workspace, check: &Check<'_>) -> Result<VerifiedImage, Error> {
    let image = open(check.image, &check.registry)?;
    let repo = image.repo();
    // An image pinned by digest is judged by its digest even when the store lacks the
    // manifest itself (signatures are about the digest); a tag must resolve. Pinned, the
    // manifest is read while its signatures are listed (every read is a round trip).
    let pinned_digest = zt_oci::reference::parse_digest(&image.target).ok();
    let name = image.name.as_str();
    let (manifest, early) = std::thread::scope(|s| {
        let early = pinned_digest
            .as_ref()
            .map(|d| s.spawn(move || listings(repo, name, d)));
        let manifest = repo.manifest(&image.target);
        (manifest, early.map(|h| h.join()))
    });
    let (digest, manifest_bytes) = match manifest? {
        Some(f) => (f.descriptor.digest, Some(f.bytes)),
        None => match zt_oci::reference::parse_digest(&image.target) {
            Ok(d) => (d, None),
            Err(_) => {
                return Err(zt_oci::resolve(image.repo(), &image.target)
                    .err()
                    .map(Error::Oci)
                    .unwrap_or_else(|| Error::Input {
                        what: format!("`{}` vanished while it was read", check.image),
                        help: "run `zt verify IMAGE` again".into(),
                    }));
            }
        },
    };
    let root = crate::verify::trusted_root(ws, check.trusted_root, check.log_dir.clone())?;
    let witness = crate::verify::witness_policy(check.witness_policy)?;
    // zt stores each attestation's bundle twice (referrer and `.att` annotation): the same
    // bundle bytes about the same artifact are verified once; the verdict is the same.
    let seen: std::cell::RefCell<std::collections::HashMap<(Digest, Digest), Verified>> =
        std::cell::RefCell::default();
    let run = |bundle: &ParsedBundle, artifact: &Artifact| -> Result<Verified, Error> {
        let key = (
            Digest::sha256(&bundle::to_bytes(&bundle.json)),
            match artifact {
                Artifact::Digest(d) => d.clone(),
                Artifact::Bytes(b) => Digest::sha256(b),
                Artifact::File(p) => Digest::sha256(p.to_string_lossy().as_bytes()),
            },
        );
        if let Some(v) = seen.borrow().get(&key) {
            return Ok(v.clone());
        }
        let v = zt_sign::verify::verify(&zt_sign::verify::Request {
            artifact,
            bundle,
            identity: check.identity,
            trusted_root: root.as_deref(),
            insecure_ignore_tlog: check.insecure_ignore_tlog,
            witness_policy: witness.as_ref(),
        })?;
        seen.borrow_mut().insert(key, v.clone());
        Ok(v)
    };
    let mut out = VerifiedImage {
        image: image.pinned(&digest),
        digest: digest.clone(),
        manifest_present: manifest_bytes.is_some(),
        referrers_via: zt_oci::Via::TagSchema,
        signatures: Vec::new(),
        attestations: Vec::new(),
        refused: Vec::new(),
    };
    let mut ledger_bundles: Vec<Value> = Vec::new();

    // Every read is a round trip to the registry: the three listings run side by side (for a
    // pinned image, already done above), then the referrers' manifests and bundles.
    let listed = match early {
        Some(Ok(l)) => l,
        Some(Err(_)) => Err(zt_oci::Error::Request {
            url: repo.describe(),
            reason: "a reader thread failed".into(),
        }),
        None => listings(repo, name, &digest),
    };
    let (referrers, sig_layers, att_layers) = listed?;
    // zt's attestation bundles are on `.att` too: a referrer's bundle blob whose digest is
    // one of theirs is not fetched again.
    let known: std::collections::HashMap<Digest, Vec<u8>> = att_layers
        .iter()
        .filter_map(|l| {
            let json: Value =
                serde_json::from_str(l.descriptor.annotations.get(artifacts::ZT_BUNDLE)?).ok()?;
            let bytes = bundle::to_bytes(&json);
            Some((Digest::sha256(&bytes), bytes))
        })
        .collect();
    let listed: Vec<&Descriptor> = referrers.manifests.iter().take(256).collect();
    let fetched = zt_oci::each_concurrently(&listed, |d| {
        referrer_bytes(repo, &d.digest, &digest, &known)
    });

    // 1. OCI 1.1 referrers holding Sigstore bundles.
    out.referrers_via = referrers.via;
    for (d, bytes) in listed.iter().zip(fetched) {
        let result = bytes
            .map_err(Error::from)
            .and_then(|b| Ok(bundle::parse(&b, &format!("referrer {}", d.digest))?));
        let result = result.and_then(|parsed| {
            let artifact = match (parsed.json.get("messageSignature"), &manifest_bytes) {
                (Some(_), Some(bytes)) => Artifact::Bytes(bytes.clone()),
                _ => Artifact::Digest(digest.clone()),
            };
            let v = run(&parsed, &artifact)?;
            Ok((parsed, v))
        });
        match result {
            Ok((parsed, v)) => {
                ledger_bundles.push(parsed.json);
                push_found(&mut out, Form::Referrer, d.digest.clone(), &v);
            }
            Err(e) => out.refused.push(refused(Form::Referrer, &d.digest, &e)),
        }
    }

    // 2. cosign's `.sig` layers: simple-signing payloads about this digest.
    for layer in sig_layers {
        let carrier = layer.descriptor.digest.clone();
        let result = cosign_signature(&layer, &digest, check.insecure_ignore_tlog)
            .and_then(|parsed| run(&parsed, &Artifact::Bytes(layer.bytes.clone())));
        match result {
            Ok(v) => push_found(&mut out, Form::Cosign, carrier, &v),
            Err(e) => out.refused.push(refused(Form::Cosign, &carrier, &e)),
        }
    }

    // 3. cosign's `.att` layers: DSSE envelopes about this digest.
    for layer in att_layers {
        let carrier = layer.descriptor.digest.clone();
        let result = cosign_attestation(&layer).and_then(|parsed| {
            let v = run(&parsed, &Artifact::Digest(digest.clone()))?;
            Ok((parsed, v))
        });
        match result {
            Ok((parsed, v)) => {
                ledger_bundles.push(parsed.json);
                push_found(&mut out, Form::Cosign, carrier, &v);
            }
            Err(e) => out.refused.push(refused(Form::Cosign, &carrier, &e)),
        }
    }

    if out.signatures.is_empty() {
        return Err(Error::ImageUnsigned {
            image: out.image,
            reasons: out.refused.iter().map(|r| r.reason.clone()).collect(),
        });
    }
    // Evidence follows the digest: what verified joins the ledger, like `zt verify FILE`
    // (opened once; a bundle already there is a read, not a write).
    if let Some(mut ledger) = crate::ledger::open_existing(ws)? {
        for b in &ledger_bundles {
            crate::evidence::index_into(ws, &mut ledger, b)?;
        }
    }
    Ok(out)
}

/// The referrers of `digest` (Sigstore bundles) and the layers of its cosign `.sig` and `.att`
/// tags, read side by side.
#[allow(clippy::type_complexity)] // (referrers, .sig layers, .att layers), named where used
fn listings(
    repo: &dyn Repository,
    name: &str,
    digest: &Digest,
) -> Result<(zt_oci::Referrers, Vec<CosignLayer>, Vec<CosignLayer>), zt_oci::Error> {
    // zt's own cosign layers can be rebuilt from what zt put beside them (the simple-signing
    // payload; the envelope of the bundle annotation): bytes that hash to the layer's digest
    // *are* the layer, so the blob is not fetched. Anything else is fetched.
    let payload = artifacts::simple_signing_payload(name, digest);
    let sig_bytes = |d: &Descriptor| {
        d.annotations
            .contains_key(artifacts::ZT_BUNDLE)
            .then(|| payload.clone())
    };
    let att_bytes = |d: &Descriptor| {
        let bundle: Value = serde_json::from_str(d.annotations.get(artifacts::ZT_BUNDLE)?).ok()?;
        bundle.get("dsseEnvelope").map(|e| compact(e).into_bytes())
    };
    std::thread::scope(|s| {
        let sig = s.spawn(|| cosign_layers(repo, &artifacts::sig_tag(digest), &sig_bytes));
        let att = s.spawn(|| cosign_layers(repo, &artifacts::att_tag(digest), &att_bytes));
        let referrers = zt_oci::referrers(repo, digest, Some(artifacts::SIGSTORE_BUNDLE));
        let joined = |h: std::thread::ScopedJoinHandle<'_, _>| {
            h.join().unwrap_or_else(|_| {
                Err(zt_oci::Error::Request {
                    url: repo.describe(),
                    reason: "a reader thread failed".into(),
                })
            })
        };
        Ok((referrers?, joined(sig)?, joined(att)?))
    })
}

/// The layers of the cosign image at `tag`, each from `known(descriptor)` when those bytes
/// hash to the layer's digest and size, else fetched.
fn cosign_layers(
    repo: &dyn Repository,
    tag: &str,
    known: &(dyn Fn(&Descriptor) -> Option<Vec<u8>> + Sync),
) -> Result<Vec<CosignLayer>, zt_oci::Error> {
    let Some(fetched) = repo.manifest(tag)? else {
        return Ok(Vec::new());
    };
    let layers: Vec<Descriptor> = fetched.manifest.layers.into_iter().take(256).collect();
    zt_oci::each_concurrently(&layers, |d| {
        let bytes = match known(d) {
            Some(b) if b.len() as u64 == d.size && Digest::sha256(&b) == d.digest => b,
            _ => repo.blob(&d.digest)?,
        };
        Ok(CosignLayer {
            descriptor: d.clone(),
            bytes,
        })
    })
    .into_iter()
    .collect()
}

/// What deploy admission does with images (see `zt serve --admission-resolve-tags`).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// Resolve an image given by tag to its digest through the registry (else a tag is
    /// denied: "pin by digest").
    pub resolve_tags: bool,
    /// Judge with the evidence the registry holds about the digest too (its Sigstore-bundle
    /// referrers and zt's attestations on cosign's `.att` tag), verified like any bundle.
    pub registry_evidence: bool,
    /// How registries are reached.
    pub registry: RegistryOptions,
}

/// The digest an image reference names now: its own when pinned, else its tag resolved
/// through the registry (the manifest fetched and checked).
pub fn resolve_digest(image: &str, options: &RegistryOptions) -> Result<Digest, Error> {
    let opened = open(image, options)?;
    Ok(opened.resolve()?.descriptor.digest)
}

/// Writes to `dir` every bundle the registry holds about `digest` in `image`'s repository —
/// each Sigstore-bundle referrer, and the bundles on cosign's `.att` tag (zt's own, or made
/// from cosign's Rekor entries) — and returns their paths, for the gate to verify and judge
/// like any other evidence. Nothing here is trusted before the gate verifies it.
pub fn registry_evidence(
    image: &str,
    digest: &Digest,
    options: &RegistryOptions,
    dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let opened = open(image, options)?;
    let repo = opened.repo();
    let mut bundles: Vec<Vec<u8>> = Vec::new();
    let (referrers, att_layers) = std::thread::scope(|s| {
        let att = s.spawn(|| artifacts::cosign_layers(repo, &artifacts::att_tag(digest)));
        let referrers = zt_oci::referrers(repo, digest, Some(artifacts::SIGSTORE_BUNDLE));
        let att = att.join().unwrap_or_else(|_| {
            Err(zt_oci::Error::Request {
                url: repo.describe(),
                reason: "a reader thread failed".into(),
            })
        });
        (referrers, att)
    });
    let referrers = referrers?;
    let listed: Vec<&Descriptor> = referrers.manifests.iter().take(256).collect();
    let none = std::collections::HashMap::new();
    let fetched =
        zt_oci::each_concurrently(&listed, |d| referrer_bytes(repo, &d.digest, digest, &none));
    for (d, bytes) in listed.iter().zip(fetched) {
        if let Ok(parsed) = bytes
            .map_err(Error::from)
            .and_then(|b| Ok(bundle::parse(&b, &format!("referrer {}", d.digest))?))
        {
            bundles.push(bundle::to_bytes(&parsed.json));
        }
    }
    for layer in att_layers? {
        if let Ok(parsed) = cosign_attestation(&layer) {
            bundles.push(bundle::to_bytes(&parsed.json));
        }
    }
    let mut paths = Vec::with_capacity(bundles.len());
    for (i, b) in bundles.iter().enumerate() {
        let path = dir.join(format!("registry-{i}.sigstore.json"));
        fs_err::write(&path, b)?;
        paths.push(path);
    }
    Ok(paths)
}

fn push_found(out: &mut VerifiedImage, form: Form, carrier: Digest, v: &Verified) {
    let found = Found {
        form,
        kind: if v.kind == "dsse" {
            "attestation"
        } else {
            "signature"
        },
        predicate_type: v.predicate_type.clone(),
        signer: v.signer.clone(),
        tlog_verified: v.tlog_verified,
        carrier,
    };
    if v.kind == "dsse" {
        out.attestations.push(found);
    } else {
        out.signatures.push(found);
    }
}

fn refused(form: Form, carrier: &Digest, e: &Error) -> Refused {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(&format!(": {s}"));
        source = s.source();
    }
    Refused {
        form,
        carrier: carrier.clone(),
        reason,
    }
}

/// The bytes of the Sigstore bundle layer of a referrer artifact whose manifest names
/// `subject` (not yet parsed: this runs on reader threads).
fn referrer_bytes(
    repo: &dyn Repository,
    artifact: &Digest,
    subject: &Digest,
    known: &std::collections::HashMap<Digest, Vec<u8>>,
) -> Result<Vec<u8>, zt_oci::Error> {
    let bad = |reason: &str| zt_oci::Error::Manifest {
        reason: format!("referrer {artifact}: {reason}"),
    };
    let m = zt_oci::resolve(repo, &artifact.to_string())?.manifest;
    if m.subject.as_ref().map(|s| &s.digest) != Some(subject) {
        return Err(bad("its subject is another manifest"));
    }
    let layer = m
        .layers
        .iter()
        .find(|l| l.media_type == artifacts::SIGSTORE_BUNDLE)
        .ok_or_else(|| bad("it holds no Sigstore bundle layer"))?;
    match known.get(&layer.digest) {
        Some(bytes) if bytes.len() as u64 == layer.size => Ok(bytes.clone()),
        _ => repo.blob(&layer.digest),
    }
}

/// The bundle that proves a `.sig` layer: zt's own (its signature must be the layer's), the
/// Rekor v1 entry cosign attached, or — only with `--insecure-ignore-tlog` — the bare
/// signature. The payload must name this image's digest.
fn cosign_signature(
    layer: &CosignLayer,
    digest: &Digest,
    insecure_ignore_tlog: bool,
) -> Result<ParsedBundle, Error> {
    let name = format!("cosign signature {}", layer.descriptor.digest);
    let bad = |reason: &str| {
        Error::Oci(zt_oci::Error::Manifest {
            reason: format!("{name}: {reason}"),
        })
    };
    if layer.descriptor.media_type != artifacts::SIMPLE_SIGNING {
        return Err(bad("it is not a simple-signing payload"));
    }
    let claims = artifacts::read_simple_signing(&layer.bytes)?;
    if &claims.digest != digest {
        return Err(bad(&format!("it signs {}, not this image", claims.digest)));
    }
    let annotations = &layer.descriptor.annotations;
    let signature = annotations
        .get(artifacts::COSIGN_SIGNATURE)
        .ok_or_else(|| bad("it carries no signature annotation"))?;
    if let Some(zt) = annotations.get(artifacts::ZT_BUNDLE) {
        let parsed = bundle::parse(zt.as_bytes(), &name)?;
        let inner = parsed
            .json
            .pointer("/messageSignature/signature")
            .and_then(Value::as_str);
        if inner != Some(signature.as_str()) {
            return Err(bad(
                "its bundle holds another signature than its annotation",
            ));
        }
        return Ok(parsed);
    }
    if let Some(json) = artifacts::bundle_from_cosign_layer(layer)? {
        return Ok(bundle::parse(json.to_string().as_bytes(), &name)?);
    }
    if !insecure_ignore_tlog {
        return Err(bad(
            "it carries no transparency-log entry (pass `--insecure-ignore-tlog` to accept it)",
        ));
    }
    let json = serde_json::json!({
        "mediaType": bundle::MEDIA_TYPE_V03,
        "verificationMaterial": { "publicKey": { "hint": "" }, "tlogEntries": [] },
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": zt_core::b64::encode(Digest::sha256(&layer.bytes).bytes()),
            },
            "signature": signature,
        },
    });
    Ok(bundle::parse(json.to_string().as_bytes(), &name)?)
}

/// The bundle that proves a `.att` layer: zt's own (its envelope must be the layer's), the
/// Rekor v1 entry cosign attached, or the bare envelope (verified only with
/// `--insecure-ignore-tlog`).
fn cosign_attestation(layer: &CosignLayer) -> Result<ParsedBundle, Error> {
    let name = format!("cosign attestation {}", layer.descriptor.digest);
    let bad = |reason: &str| {
        Error::Oci(zt_oci::Error::Manifest {
            reason: format!("{name}: {reason}"),
        })
    };
    if layer.descriptor.media_type != artifacts::DSSE_ENVELOPE {
        return Err(bad("it is not a DSSE envelope"));
    }
    let envelope: Value =
        serde_json::from_slice(&layer.bytes).map_err(|_| bad("it is not a DSSE envelope"))?;
    if let Some(zt) = layer.descriptor.annotations.get(artifacts::ZT_BUNDLE) {
        let parsed = bundle::parse(zt.as_bytes(), &name)?;
        if parsed.json.get("dsseEnvelope") != Some(&envelope) {
            return Err(bad("its bundle holds another envelope than its layer"));
        }
        return Ok(parsed);
    }
    if let Some(json) = artifacts::bundle_from_cosign_layer(layer)? {
        return Ok(bundle::parse(json.to_string().as_bytes(), &name)?);
    }
    let json = serde_json::json!({
        "mediaType": bundle::MEDIA_TYPE_V03,
        "verificationMaterial": { "publicKey": { "hint": "" }, "tlogEntries": [] },
        "dsseEnvelope": envelope,
    });
    Ok(bundle::parse(json.to_string().as_bytes(), &name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ghcr.io");
        fs_err::create_dir_all(&file).unwrap();
        fs_err::write(file.join("x"), b"").unwrap();
        assert!(!is_image(&file.join("x").to_string_lossy()));
        assert!(is_image("ghcr.io/org/app:1"));
        assert!(is_image("oci://alpine"));
        assert!(is_image("oci-layout:/tmp/x:latest"));
        assert!(!is_image("out/hello"));
    }
}
