//! Deploy admission: `POST /admission/v1`, a Kubernetes `ValidatingAdmissionWebhook`
//! endpoint speaking `admission.k8s.io/v1` `AdmissionReview`.
//!
//! For every container image (`containers`, `initContainers`, `ephemeralContainers`) of a Pod,
//! or of the pod template of a Deployment, StatefulSet, DaemonSet, ReplicaSet,
//! ReplicationController, Job or CronJob, the image must be pinned by digest
//! (`registry/name@sha256:<64 hex>`; a tag alone is denied: "pin by digest", unless tags are
//! resolved through the registry by configuration) and the digest must be allowed at stage
//! `deploy` by [`zt_pipeline::gate::judge`] from the evidence the server's ledger holds about
//! it (and, by configuration, the evidence the image's registry holds). The reply echoes the request's `uid`; a denial carries
//! every reason and its fix in `status.message`. Namespaces excluded by configuration are
//! allowed with a warning. A dry-run request is judged the same way but leaves no record;
//! every other review is appended to the transparency log as a `zt.admission/v1` entry.
//!
//! When the ledger cannot be reached the reply is 503 (a problem document, not a review):
//! the API server then applies the webhook's `failurePolicy` (set it to `Fail`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use zt_core::config::Stage;
use zt_core::{Digest, DigestAlgorithm, Workspace};
use zt_pipeline::gate::{self, Target};
use zt_tlog::Log;

use crate::metrics::registry;
use crate::problem::Problem;

/// The largest AdmissionReview read (the API server sends at most ~3 MiB objects).
pub const MAX_REVIEW_BODY: usize = 4 * 1024 * 1024;

/// The most characters of `status.message` (the API server shows it to `kubectl` users).
const MAX_MESSAGE: usize = 4000;

/// How the webhook judges.
#[derive(Debug)]
pub struct Admission {
    ws: Workspace,
    exclude: Vec<String>,
    log: Option<Arc<Log>>,
    images: zt_pipeline::image::Admission,
}

impl Admission {
    /// Judges with the evidence and policy of `ws`; reviews in the `exclude` namespaces are
    /// allowed with a warning; records go to `log` (`None`: not recorded).
    pub fn new(ws: Workspace, exclude: Vec<String>, log: Option<Arc<Log>>) -> Self {
        Self {
            ws,
            exclude,
            log,
            images: zt_pipeline::image::Admission::default(),
        }
    }

    /// Resolves tags through the registry and/or judges with the registry's evidence too.
    pub fn with_images(mut self, images: zt_pipeline::image::Admission) -> Self {
        self.images = images;
        self
    }

    /// The digest an image is judged by: pinned, or (when configured) its tag resolved.
    fn digest_of(&self, img: &ImageRef) -> Result<Option<Digest>, String> {
        match (&img.digest, self.images.resolve_tags) {
            (Some(d), _) => Ok(Some(d.clone())),
            (None, false) => Ok(None),
            (None, true) => zt_pipeline::image::resolve_digest(&img.image, &self.images.registry)
                .map(Some)
                .map_err(|e| e.to_string()),
        }
    }
}

/// `POST /admission/v1`.
pub fn routes(admission: Arc<Admission>) -> Router {
    Router::new()
        .route("/admission/v1", post(review))
        .with_state(admission)
}

/// Why a review could not be answered with a verdict.
#[derive(Debug, PartialEq, Eq)]
pub enum ReviewError {
    /// The body is not an `admission.k8s.io/v1` AdmissionReview with a request.
    Malformed(&'static str),
    /// The ledger could not be reached: 503 `store_unavailable`, the API server's
    /// failurePolicy decides.
    Unavailable(String),
    /// The policy or the trust configuration could not be read (a missing `policies/`, a bad
    /// `zt.toml`): 503 `cannot_judge`, logged with the reason.
    Unjudgeable(String),
}

async fn review(State(a): State<Arc<Admission>>, body: Body) -> Response {
    let body = match super::tlog::read_body(body, MAX_REVIEW_BODY).await {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let result = tokio::task::spawn_blocking(move || a.answer(&body)).await;
    match result {
        Ok(Ok(reply)) => {
            let mut r = axum::Json(reply).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Err(ReviewError::Malformed(reason))) => {
            registry().inc("zt_admission_reviews_total", &[("outcome", "malformed")]);
            Problem::new(400, reason).into_response()
        }
        Ok(Err(ReviewError::Unavailable(why))) => {
            registry().inc("zt_admission_reviews_total", &[("outcome", "error")]);
            crate::server::log_line(&format!("admission: cannot judge: {why}"));
            Problem::new(503, "store_unavailable").into_response()
        }
        Ok(Err(ReviewError::Unjudgeable(why))) => {
            registry().inc("zt_admission_reviews_total", &[("outcome", "error")]);
            crate::server::log_line(&format!("admission: cannot judge: {why}"));
            Problem::new(503, "cannot_judge").into_response()
        }
        Err(_) => Problem::new(500, "internal_error").into_response(),
    }
}

/// One image of the reviewed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Where it was found, e.g. `spec.containers[0]` (`name` of the container included).
    pub at: String,
    /// The image reference as written.
    pub image: String,
    /// Its digest, if pinned.
    pub digest: Option<Digest>,
}

impl Admission {
    /// The AdmissionReview reply to a request body.
    pub fn answer(&self, body: &[u8]) -> Result<Value, ReviewError> {
        let review: Value =
            serde_json::from_slice(body).map_err(|_| ReviewError::Malformed("not_json"))?;
        if review.get("apiVersion").and_then(Value::as_str) != Some("admission.k8s.io/v1")
            || review.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
        {
            return Err(ReviewError::Malformed("not_admission_review_v1"));
        }
        let request = review
            .get("request")
            .filter(|r| r.is_object())
            .ok_or(ReviewError::Malformed("no_request"))?;
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty() && u.len() <= 128)
            .ok_or(ReviewError::Malformed("no_uid"))?;
        let namespace = request
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = request
            .pointer("/kind/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let dry_run = request
            .get("dryRun")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let name = request
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| {
                request
                    .pointer("/object/metadata/name")
                    .and_then(Value::as_str)
            })
            .unwrap_or("");
        let operation = request
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("");

        let reply = |allowed: bool, message: Option<String>, warnings: Vec<String>| {
            let mut response = json!({"uid": uid, "allowed": allowed});
            if let Some(m) = message {
                let code = if allowed { 200 } else { 403 };
                response["status"] = json!({
                    "code": code,
                    "message": truncate(&m, MAX_MESSAGE),
                    "reason": if allowed { "" } else { "Forbidden" },
                });
            }
            if !warnings.is_empty() {
                response["warnings"] = json!(warnings);
            }
            json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": response,
            })
        };

        if self.exclude.iter().any(|n| n == namespace) {
            registry().inc("zt_admission_reviews_total", &[("outcome", "excluded")]);
            return Ok(reply(
                true,
                None,
                vec![format!(
                    "zt: namespace `{namespace}` is excluded from deploy admission by configuration; images were not checked"
                )],
            ));
        }
        let Some(object) = request.get("object").filter(|o| o.is_object()) else {
            // DELETE and CONNECT carry no object: nothing is deployed.
            registry().inc("zt_admission_reviews_total", &[("outcome", "allowed")]);
            return Ok(reply(true, None, Vec::new()));
        };
        let Some(images) = images_of(kind, object) else {
            registry().inc("zt_admission_reviews_total", &[("outcome", "allowed")]);
            return Ok(reply(
                true,
                None,
                vec![format!(
                    "zt: kind `{kind}` holds no pod template zt inspects; allowed without checking"
                )],
            ));
        };

        // Judge each distinct digest once.
        let mut verdicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut records = Vec::new();
        for img in &images {
            let resolved = match self.digest_of(img) {
                Ok(d) => d,
                Err(why) => {
                    problems.push(format!(
                        "{} image `{}` could not be resolved through its registry: {why} (fix: pin it by digest, or check the registry and its credentials)",
                        img.at, img.image
                    ));
                    records.push(
                        json!({"image": img.image, "allowed": false, "deny": ["image.unresolved"]}),
                    );
                    continue;
                }
            };
            let Some(digest) = &resolved else {
                problems.push(format!(
                    "{} image `{}` is not pinned by digest: pin by digest — deploy `{}@sha256:<digest>` (the digest `zt pipeline run` signed; `docker buildx imagetools inspect {}` prints it)",
                    img.at,
                    img.image,
                    strip_tag(&img.image),
                    img.image
                ));
                records.push(
                    json!({"image": img.image, "allowed": false, "deny": ["image.unpinned"]}),
                );
                continue;
            };
            let key = digest.to_string();
            if !verdicts.contains_key(&key) {
                // The registry's evidence about the digest joins the ledger's (the gate
                // verifies every bundle against the repository's trust before it counts).
                let scratch = tempfile::tempdir()
                    .map_err(|e| ReviewError::Unavailable(format!("a scratch directory: {e}")))?;
                let extra = if self.images.registry_evidence {
                    zt_pipeline::image::registry_evidence(
                        &img.image,
                        digest,
                        &self.images.registry,
                        scratch.path(),
                    )
                    .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let judgement = gate::judge(
                    &self.ws,
                    &Target::Digest(digest.clone()),
                    Stage::Deploy,
                    &extra,
                )
                .map_err(unavailable)?;
                let verdict = if judgement.decision.allow {
                    "allow"
                } else {
                    "deny"
                };
                registry().inc(
                    "zt_decisions_total",
                    &[("stage", "deploy"), ("verdict", verdict)],
                );
                let denies = judgement
                    .decision
                    .deny
                    .iter()
                    .map(|d| format!("{}: {} (fix: {})", d.id, d.message, d.remediation))
                    .collect();
                verdicts.insert(key.clone(), denies);
            }
            let denies = verdicts.get(&key).cloned().unwrap_or_default();
            for d in &denies {
                problems.push(format!("{} image `{}`: {d}", img.at, img.image));
            }
            let ids: Vec<&str> = denies.iter().filter_map(|d| d.split(':').next()).collect();
            let mut record = json!({"image": img.image, "digest": key, "allowed": denies.is_empty(), "deny": ids});
            if img.digest.is_none() {
                record["resolved_from_tag"] = true.into();
            }
            records.push(record);
        }
        let allowed = problems.is_empty();
        registry().inc(
            "zt_admission_reviews_total",
            &[("outcome", if allowed { "allowed" } else { "denied" })],
        );
        let mut log_index = None;
        if !dry_run && let Some(log) = &self.log {
            let record = json!({
                "type": "zt.admission/v1",
                "uid": uid,
                "time": zt_core::time::rfc3339(self.ws.now()),
                "operation": operation,
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "allowed": allowed,
                "images": records,
            });
            let mut bytes = record.to_string().into_bytes();
            if bytes.len() > zt_tlog::tiles::MAX_ENTRY_SIZE {
                // A pod with hundreds of images: the verdict and the object, not every image.
                bytes = json!({
                    "type": "zt.admission/v1", "uid": uid, "operation": operation, "kind": kind,
                    "namespace": namespace, "name": name, "allowed": allowed,
                    "images_omitted": records.len(),
                })
                .to_string()
                .into_bytes();
            }
            log_index = Some(
                log.append(&bytes)
                    .map_err(|e| ReviewError::Unavailable(format!("recording the review: {e}")))?,
            );
            registry().inc("zt_log_appends_total", &[("route", "admission")]);
        }
        if !dry_run {
            // Kept by digest in the ledger too, so that an artifact's trace and page show
            // where it was deployed (or refused).
            let at = self.ws.now();
            let deployments: Vec<zt_store::Deployment> = verdicts
                .keys()
                .filter_map(|k| k.parse::<Digest>().ok())
                .map(|digest| zt_store::Deployment {
                    digest,
                    at,
                    allowed,
                    operation: operation.to_owned(),
                    kind: kind.to_owned(),
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    log_index,
                })
                .collect();
            zt_pipeline::ledger::record_deployments(&self.ws, &deployments)
                .map_err(|e| ReviewError::Unavailable(format!("recording the review: {e}")))?;
        }
        let message = (!allowed).then(|| {
            format!(
                "zt deploy admission denied {kind} {namespace}/{name}:\n- {}",
                problems.join("\n- ")
            )
        });
        Ok(reply(allowed, message, Vec::new()))
    }
}

fn unavailable(e: zt_pipeline::Error) -> ReviewError {
    match e {
        zt_pipeline::Error::Store(_) => ReviewError::Unavailable(e.to_string()),
        e => ReviewError::Unjudgeable(e.to_string()),
    }
}

/// The pod spec of an object of `kind`, and the images in it; `None` for a kind without one.
pub fn images_of(kind: &str, object: &Value) -> Option<Vec<ImageRef>> {
    let (pointer, prefix) = match kind {
        "Pod" => ("/spec", "spec"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => ("/spec/template/spec", "spec.template.spec"),
        "CronJob" => (
            "/spec/jobTemplate/spec/template/spec",
            "spec.jobTemplate.spec.template.spec",
        ),
        _ => return None,
    };
    let spec = object.pointer(pointer)?;
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(items) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in items.iter().enumerate() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let image = c.get("image").and_then(Value::as_str).unwrap_or("");
            out.push(ImageRef {
                at: format!("{prefix}.{list}[{i}] ({name})"),
                image: image.to_owned(),
                digest: pinned_digest(image),
            });
        }
    }
    Some(out)
}

/// The SHA-256 digest an image reference is pinned to (`…@sha256:<64 lowercase hex>`).
pub fn pinned_digest(image: &str) -> Option<Digest> {
    let (_, digest) = image.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Digest::from_hex(DigestAlgorithm::Sha256, hex).ok()
}

/// The repository part of an image reference: without `@digest` and without `:tag` (a `:`
/// after the last `/` is a tag; one before it is a registry port).
fn strip_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(i) => &image[..last_slash + i],
        None => image,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_tags() {
        let hex = "a".repeat(64);
        assert!(pinned_digest(&format!("ghcr.io/o/app@sha256:{hex}")).is_some());
        assert!(pinned_digest(&format!("ghcr.io/o/app:1.2@sha256:{hex}")).is_some());
        assert!(pinned_digest("ghcr.io/o/app:1.2").is_none());
        assert!(pinned_digest(&format!("app@sha256:{}", "A".repeat(64))).is_none());
        assert!(pinned_digest(&format!("app@sha512:{hex}")).is_none());
        assert!(pinned_digest("app@sha256:abc").is_none());
        assert_eq!(strip_tag("registry:5000/o/app:1.2"), "registry:5000/o/app");
        assert_eq!(strip_tag("nginx"), "nginx");
        assert_eq!(strip_tag("nginx:latest"), "nginx");
    }

    #[test]
    fn pod_templates_by_kind() {
        let spec = json!({"containers": [{"name": "a", "image": "x:1"}], "initContainers": [{"name": "i", "image": "y"}]});
        let pod = json!({"spec": spec});
        assert_eq!(images_of("Pod", &pod).unwrap().len(), 2);
        let deploy = json!({"spec": {"template": {"spec": spec}}});
        let imgs = images_of("Deployment", &deploy).unwrap();
        assert_eq!(imgs[0].at, "spec.template.spec.initContainers[0] (i)");
        let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}});
        assert_eq!(images_of("CronJob", &cron).unwrap().len(), 2);
        assert!(images_of("ConfigMap", &pod).is_none());
        assert!(images_of("Deployment", &pod).is_none());
    }

    proptest::proptest! {
        #[test]
        fn image_parsing_never_panics(image in "\\PC{0,120}") {
            let _ = pinned_digest(&image);
            let _ = strip_tag(&image);
        }

        #[test]
        fn reviews_never_panic(body in "\\PC{0,400}") {
            let a = Admission::new(Workspace::new("/nonexistent"), Vec::new(), None);
            let _ = a.answer(body.as_bytes());
        }
    }
}
