//! Where signatures and attestations live beside an image, in the two layouts verifiers read:
//!
//! - **OCI 1.1 referrers**: an artifact manifest (`artifactType`
//!   `application/vnd.dev.sigstore.bundle.v0.3+json`, empty config, one layer holding the
//!   Sigstore bundle) whose `subject` is the image manifest.
//! - **cosign's tags**: `sha256-<hex>.sig`, an image whose layers are simple-signing payloads
//!   (`application/vnd.dev.cosign.simplesigning.v1+json`) with the signature in the
//!   `dev.cosignproject.cosign/signature` annotation, and `sha256-<hex>.att`, whose layers are
//!   DSSE envelopes (`application/vnd.dsse.envelope.v1+json`) with a `predicateType`
//!   annotation. Rekor v1 entries ride in `dev.sigstore.cosign/bundle`, Fulcio certificates
//!   in `dev.sigstore.cosign/certificate` and `/chain`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use zt_core::Digest;

use crate::manifest::{self, Descriptor, Manifest};
use crate::{Error, Repository};

/// The artifact type (and layer media type) of a Sigstore bundle v0.3 referrer.
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// cosign's simple-signing payload layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// cosign's attestation layer (a DSSE envelope).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The base64 signature of a `.sig` layer.
pub const COSIGN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// The Rekor v1 entry (SET, body, index, time) of a layer.
pub const COSIGN_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// The signer's Fulcio certificate (PEM).
pub const COSIGN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// The certificate's chain (PEM).
pub const COSIGN_CHAIN: &str = "dev.sigstore.cosign/chain";
/// The predicate type of a `.att` layer.
pub const PREDICATE_TYPE: &str = "predicateType";
/// zt's own annotation on cosign-layout layers: the whole Sigstore bundle v0.3 of the
/// signature, which carries zt's log entry with its inclusion proof and checkpoint (zt's log
/// issues no Rekor v1 SET, so `dev.sigstore.cosign/bundle` cannot hold it).
pub const ZT_BUNDLE: &str = "dev.zt.sigstore/bundle";
/// The referrer annotation naming the bundle's content (`dsse-envelope`, `message-signature`).
pub const BUNDLE_CONTENT: &str = "dev.sigstore.bundle.content";
/// The referrer annotation naming an attestation's predicate type.
pub const BUNDLE_PREDICATE_TYPE: &str = "dev.sigstore.bundle.predicateType";

/// The cosign signature tag of a manifest: `sha256-<hex>.sig`.
pub fn sig_tag(subject: &Digest) -> String {
    format!("{}.sig", crate::fallback_tag(subject))
}

/// The cosign attestation tag of a manifest: `sha256-<hex>.att`.
pub fn att_tag(subject: &Digest) -> String {
    format!("{}.att", crate::fallback_tag(subject))
}

/// cosign's simple-signing payload for an image, byte for byte as cosign writes it.
pub fn simple_signing_payload(docker_reference: &str, digest: &Digest) -> Vec<u8> {
    let v = json!({
        "critical": {
            "identity": { "docker-reference": docker_reference },
            "image": { "docker-manifest-digest": digest.to_string() },
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// What a simple-signing payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub digest: Digest,
}

/// Reads a simple-signing payload (untrusted).
pub fn read_simple_signing(bytes: &[u8]) -> Result<SimpleSigning, Error> {
    let bad = |reason: &str| Error::Manifest {
        reason: format!("the simple-signing payload {reason}"),
    };
    let v: Value = serde_json::from_slice(bytes).map_err(|_| bad("is not JSON"))?;
    if v.pointer("/critical/type").and_then(Value::as_str)
        != Some("cosign container image signature")
    {
        return Err(bad("is not a cosign container image signature"));
    }
    let digest = v
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(Value::as_str)
        .and_then(|d| crate::reference::parse_digest(d).ok())
        .ok_or_else(|| bad("names no sha256 manifest digest"))?;
    Ok(SimpleSigning {
        docker_reference: v
            .pointer("/critical/identity/docker-reference")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        digest,
    })
}

/// Pushes a Sigstore bundle as an OCI 1.1 referrer of `subject` (blobs, manifest, and the
/// fallback tag index when the registry does not index subjects). Returns the artifact
/// manifest's descriptor.
pub fn push_bundle_referrer(
    repo: &dyn Repository,
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: Option<&str>,
) -> Result<Descriptor, Error> {
    let empty = b"{}";
    repo.push_blob(empty)?;
    repo.push_blob(bundle)?;
    let mut m = Manifest::image(
        Descriptor::of(manifest::OCI_EMPTY, empty),
        vec![Descriptor::of(SIGSTORE_BUNDLE, bundle)],
    );
    m.artifact_type = Some(SIGSTORE_BUNDLE.to_string());
    let subject = Descriptor {
        annotations: BTreeMap::new(),
        artifact_type: None,
        platform: None,
        ..subject.clone()
    };
    m.subject = Some(subject);
    let content = if predicate_type.is_some() {
        "dsse-envelope"
    } else {
        "message-signature"
    };
    m.annotations
        .insert(BUNDLE_CONTENT.to_string(), content.to_string());
    if let Some(p) = predicate_type {
        m.annotations
            .insert(BUNDLE_PREDICATE_TYPE.to_string(), p.to_string());
    }
    crate::push_referrer(repo, &m)
}

/// One layer of a cosign `.sig` / `.att` image, with its content (digest checked).
#[derive(Debug, Clone)]
pub struct CosignLayer {
    /// The layer's descriptor, annotations included.
    pub descriptor: Descriptor,
    /// The layer's bytes.
    pub bytes: Vec<u8>,
}

/// The layers of the cosign image at `tag` (none when the tag does not exist).
pub fn cosign_layers(repo: &dyn Repository, tag: &str) -> Result<Vec<CosignLayer>, Error> {
    let Some(fetched) = repo.manifest(tag)? else {
        return Ok(Vec::new());
    };
    let layers: Vec<Descriptor> = fetched.manifest.layers.into_iter().take(256).collect();
    crate::each_concurrently(&layers, |descriptor| {
        Ok(CosignLayer {
            bytes: repo.blob(&descriptor.digest)?,
            descriptor: descriptor.clone(),
        })
    })
    .into_iter()
    .collect()
}

/// Adds a layer to the cosign image at `tag` (created when absent), as `cosign sign` and
/// `cosign attest` append: the same layer twice is kept once.
pub fn append_cosign_layer(
    repo: &dyn Repository,
    tag: &str,
    layer: Descriptor,
    bytes: &[u8],
) -> Result<(), Error> {
    let mut layers = match repo.manifest(tag)? {
        Some(f) if !f.manifest.is_index() => f.manifest.layers,
        _ => Vec::new(),
    };
    if layers
        .iter()
        .any(|l| l.digest == layer.digest && l.annotations == layer.annotations)
    {
        return Ok(());
    }
    repo.push_blob(bytes)?;
    layers.push(layer);
    // The config go-containerregistry writes for cosign's images.
    let diff_ids: Vec<String> = layers.iter().map(|l| l.digest.to_string()).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": layers.iter().map(|_| json!({"created": "0001-01-01T00:00:00Z"})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": { "diff_ids": diff_ids, "type": "layers" },
    }))
    .unwrap_or_default();
    repo.push_blob(&config)?;
    let m = Manifest::image(Descriptor::of(manifest::OCI_CONFIG, &config), layers);
    repo.push_manifest(&m.to_bytes(), manifest::OCI_MANIFEST, Some(tag))?;
    Ok(())
}

/// A Sigstore bundle (v0.1 shape, which allows an SET without an inclusion proof) made from a
/// cosign layer that carries a Rekor v1 entry in `dev.sigstore.cosign/bundle`: the form in
/// which Sigstore verifiers check cosign's legacy signatures. For a `.sig` layer the bundle is
/// a message signature over the payload; for a `.att` layer it holds the DSSE envelope.
/// `None` when the layer carries no Rekor entry.
pub fn bundle_from_cosign_layer(layer: &CosignLayer) -> Result<Option<Value>, Error> {
    let bad = |reason: &str| Error::Manifest {
        reason: format!("cosign layer {}: {reason}", layer.descriptor.digest),
    };
    let Some(rekor) = layer.descriptor.annotations.get(COSIGN_BUNDLE) else {
        return Ok(None);
    };
    let rekor: Value =
        serde_json::from_str(rekor).map_err(|_| bad("its Rekor bundle is not JSON"))?;
    let payload = rekor
        .get("Payload")
        .ok_or_else(|| bad("its Rekor bundle has no Payload"))?;
    let body_b64 = payload
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("its Rekor bundle has no body"))?;
    let body: Value = zt_core::b64::decode(body_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("its Rekor body is not base64 JSON"))?;
    let num = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_i64)
            .map(|n| n.to_string())
    };
    let log_id = payload
        .get("logID")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| bad("its Rekor bundle has no hex logID"))?;
    let entry = json!({
        "logIndex": num("logIndex").ok_or_else(|| bad("its Rekor bundle has no logIndex"))?,
        "logId": { "keyId": zt_core::b64::encode(log_id) },
        "kindVersion": {
            "kind": body.get("kind").and_then(Value::as_str).unwrap_or_default(),
            "version": body.get("apiVersion").and_then(Value::as_str).unwrap_or_default(),
        },
        "integratedTime": num("integratedTime").ok_or_else(|| bad("its Rekor bundle has no integratedTime"))?,
        "inclusionPromise": {
            "signedEntryTimestamp": rekor.get("SignedEntryTimestamp").and_then(Value::as_str)
                .ok_or_else(|| bad("its Rekor bundle has no SignedEntryTimestamp"))?,
        },
        "canonicalizedBody": body_b64,
    });
    let mut material = json!({ "tlogEntries": [entry] });
    match layer.descriptor.annotations.get(COSIGN_CERTIFICATE) {
        Some(pem) => {
            let der = pem_to_der(pem).ok_or_else(|| bad("its certificate is not PEM"))?;
            material["x509CertificateChain"] =
                json!({ "certificates": [{ "rawBytes": zt_core::b64::encode(der) }] });
        }
        None => material["publicKey"] = json!({ "hint": "" }),
    }
    let mut bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": material,
    });
    if layer.descriptor.media_type == DSSE_ENVELOPE {
        let envelope: Value =
            serde_json::from_slice(&layer.bytes).map_err(|_| bad("it is not a DSSE envelope"))?;
        bundle["dsseEnvelope"] = envelope;
    } else {
        let sig = layer
            .descriptor
            .annotations
            .get(COSIGN_SIGNATURE)
            .ok_or_else(|| bad("it carries no signature annotation"))?;
        bundle["messageSignature"] = json!({
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": zt_core::b64::encode(Digest::sha256(&layer.bytes).bytes()),
            },
            "signature": sig,
        });
    }
    Ok(Some(bundle))
}

/// The DER of the first PEM block.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    zt_core::b64::decode(&body).filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_is_cosigns_bytes() {
        // The payload cosign signed for ghcr.io/gertd/demo (its hash is in Rekor entry 68494219).
        let d: Digest = "sha256:e583dc0e018fc11d659da7d1957c60ad8a523eafc142a9de391516eb45594e6f"
            .parse()
            .unwrap();
        let p = simple_signing_payload("ghcr.io/gertd/demo", &d);
        assert_eq!(
            Digest::sha256(&p).hex(),
            "111f86da6a8caf0b7bc3e4ab6cd8bcc6d8d50dc5329436af6feafc0b5b83524b"
        );
        let back = read_simple_signing(&p).unwrap();
        assert_eq!(back.digest, d);
        assert_eq!(back.docker_reference, "ghcr.io/gertd/demo");
        assert!(read_simple_signing(b"{\"critical\":{}}").is_err());
    }

    proptest::proptest! {
        // Layers and annotations come from registries: reading them never panics.
        #[test]
        fn cosign_layers_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            rekor in ".{0,300}",
            sig in ".{0,80}",
            cert in ".{0,200}",
            dsse in proptest::prelude::any::<bool>(),
        ) {
            let _ = read_simple_signing(&bytes);
            let media = if dsse { DSSE_ENVELOPE } else { SIMPLE_SIGNING };
            let layer = CosignLayer {
                descriptor: Descriptor::of(media, &bytes)
                    .annotate(COSIGN_BUNDLE, rekor)
                    .annotate(COSIGN_SIGNATURE, sig)
                    .annotate(COSIGN_CERTIFICATE, cert),
                bytes,
            };
            let _ = bundle_from_cosign_layer(&layer);
        }
    }

    #[test]
    fn a_rekor_v1_entry_becomes_a_v01_bundle() {
        let payload = simple_signing_payload("r", &Digest::sha256(b"m"));
        let rekor = json!({
            "SignedEntryTimestamp": "c2V0",
            "Payload": {
                "body": zt_core::b64::encode(br#"{"apiVersion":"0.0.1","kind":"hashedrekord"}"#),
                "integratedTime": 1700000000,
                "logIndex": 7,
                "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
            },
        });
        let layer = CosignLayer {
            descriptor: Descriptor::of(SIMPLE_SIGNING, &payload)
                .annotate(COSIGN_BUNDLE, rekor.to_string())
                .annotate(COSIGN_SIGNATURE, "c2ln"),
            bytes: payload.clone(),
        };
        let b = bundle_from_cosign_layer(&layer).unwrap().unwrap();
        assert_eq!(b["verificationMaterial"]["tlogEntries"][0]["logIndex"], "7");
        assert_eq!(
            b["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
            "hashedrekord"
        );
        assert_eq!(b["messageSignature"]["signature"], "c2ln");
        assert_eq!(
            b["messageSignature"]["messageDigest"]["digest"],
            zt_core::b64::encode(Digest::sha256(&payload).bytes())
        );
        // No Rekor entry: nothing to make.
        let bare = CosignLayer {
            descriptor: Descriptor::of(SIMPLE_SIGNING, &payload),
            bytes: payload,
        };
        assert!(bundle_from_cosign_layer(&bare).unwrap().is_none());
    }

    #[test]
    fn tags() {
        let d = Digest::sha256(b"x");
        assert_eq!(sig_tag(&d), format!("sha256-{}.sig", d.hex()));
        assert_eq!(att_tag(&d), format!("sha256-{}.att", d.hex()));
    }
}
