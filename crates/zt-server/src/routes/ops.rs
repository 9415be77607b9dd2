//! Running `zt serve` like a service: readiness (`GET /readyz`), Prometheus metrics
//! (`GET /metrics`), and one structured JSON line on stderr per request ([`access_log`]).
//!
//! `/healthz` (in `routes`) says the process answers; `/readyz` says it can do its work: every
//! registered [`Check`] (the store answers a query, the log's checkpoint verifies) passed
//! within the last second. A load balancer or Kubernetes takes an unready server out of
//! rotation; requests that reach it anyway get 503 from the route that needs the broken part.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::registry;
use crate::problem::Reason;

/// A readiness check: a name (`store`, `log`) and a probe that says what is wrong.
pub struct Check {
    name: String,
    probe: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
}

impl Check {
    /// A check named `name` running `probe` (on the blocking pool; keep it short).
    pub fn new(
        name: impl Into<String>,
        probe: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            probe: Box::new(probe),
        }
    }
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Check({})", self.name)
    }
}

/// A gauge read when `/metrics` is scraped (the log's size, say).
pub type Gauge = (String, Box<dyn Fn() -> Option<f64> + Send + Sync>);

/// Each check's name and result.
pub type Readiness = Vec<(String, Result<(), String>)>;

/// A block of Prometheus text computed per scrape (e.g. the pipeline's metrics from the
/// ledger); `None` leaves it out (the data could not be read: the scrape still answers).
pub type TextSource = Box<dyn Fn() -> Option<String> + Send + Sync>;

/// What `/readyz` checks and `/metrics` samples.
pub struct Ops {
    checks: Vec<Check>,
    gauges: Vec<Gauge>,
    texts: Vec<TextSource>,
    last: Mutex<Option<(Instant, Readiness)>>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").field("checks", &self.checks).finish()
    }
}

/// How long a readiness result is reused: a flood of probes costs one store query a second.
const READY_CACHE: Duration = Duration::from_secs(1);

impl Ops {
    /// Readiness `checks` and scraped `gauges`.
    pub fn new(checks: Vec<Check>, gauges: Vec<Gauge>) -> Self {
        Self {
            checks,
            gauges,
            texts: Vec::new(),
            last: Mutex::new(None),
        }
    }

    /// Adds a block of metrics text that `/metrics` appends to the registry's.
    pub fn with_text(mut self, source: TextSource) -> Self {
        self.texts.push(source);
        self
    }

    /// Runs every check (or reuses results under a second old): each check's name and result.
    pub fn readiness(&self) -> Readiness {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, results)) = last.as_ref()
            && at.elapsed() < READY_CACHE
        {
            return results.clone();
        }
        let results: Vec<_> = self
            .checks
            .iter()
            .map(|c| (c.name.clone(), (c.probe)()))
            .collect();
        *last = Some((Instant::now(), results.clone()));
        results
    }

    /// Forgets the cached readiness (after a route saw the store fail, say).
    pub fn invalidate(&self) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// `GET /readyz` and `GET /metrics`.
pub fn routes(ops: Arc<Ops>) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn readyz(State(ops): State<Arc<Ops>>) -> Response {
    let results = match tokio::task::spawn_blocking(move || ops.readiness()).await {
        Ok(r) => r,
        Err(_) => vec![("readyz".to_owned(), Err("the check panicked".to_owned()))],
    };
    let ready = results.iter().all(|(_, r)| r.is_ok());
    registry().set("zt_ready", &[], if ready { 1.0 } else { 0.0 });
    let checks: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => serde_json::json!({"ok": true}),
                Err(e) => serde_json::json!({"ok": false, "error": e}),
            };
            (name, v)
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut r = (
        status,
        axum::Json(serde_json::json!({"ready": ready, "checks": checks})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !ready {
        r.extensions_mut().insert(Reason("not_ready".into()));
    }
    r
}

async fn metrics(State(ops): State<Arc<Ops>>) -> Response {
    let text = tokio::task::spawn_blocking(move || {
        for (name, read) in &ops.gauges {
            if let Some(v) = read() {
                registry().set(name, &[], v);
            }
        }
        let mut text = registry().render();
        for source in &ops.texts {
            if let Some(block) = source() {
                text.push_str(&block);
            }
        }
        text
    })
    .await
    .unwrap_or_default();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response()
}

/// One JSON line on stderr per request (time, method, path without the query, route
/// template, status, reason code of a refusal, duration, peer) — never a header, a body, a
/// query string or a token — and the request counters and latency histogram.
pub async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = printable(request.uri().path());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let start = Instant::now();
    let response = next.run(request).await;
    let elapsed = start.elapsed().as_secs_f64();
    let status = response.status();
    let reason = response.extensions().get::<Reason>().map(|r| r.0.clone());
    let status_text = status.as_u16().to_string();
    registry().inc(
        "zt_http_requests_total",
        &[
            ("route", &route),
            ("method", method.as_str()),
            ("status", &status_text),
        ],
    );
    registry().observe(
        "zt_http_request_duration_seconds",
        &[("route", &route)],
        elapsed,
    );
    let mut line = serde_json::json!({
        "time": crate::server::now_rfc3339(),
        "msg": if status.is_client_error() || status.is_server_error() { "refused" } else { "request" },
        "method": method.as_str(),
        "path": path,
        "route": route,
        "status": status.as_u16(),
        "ms": (elapsed * 1e4).round() / 10.0,
    });
    if let Some(reason) = reason {
        line["reason"] = reason.into();
    }
    if let Some(peer) = peer {
        line["peer"] = peer.into();
    }
    crate::server::log_json(&line);
    response
}

/// The path as logged: at most 200 characters, control characters replaced.
fn printable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn readiness_is_cached_for_a_second_and_can_be_invalidated() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let ops = Ops::new(
            vec![
                Check::new("store", move || {
                    c.fetch_add(1, Ordering::SeqCst);
                    Err("connection refused".into())
                }),
                Check::new("log", || Ok(())),
            ],
            Vec::new(),
        );
        let r = ops.readiness();
        assert_eq!(r[0], ("store".into(), Err("connection refused".into())));
        assert_eq!(r[1], ("log".into(), Ok(())));
        ops.readiness();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        ops.invalidate();
        ops.readiness();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn logged_paths_are_bounded_and_printable() {
        assert_eq!(printable("/a\nb"), "/a?b");
        assert_eq!(printable(&"x".repeat(500)).len(), 200);
    }
}
