//! Router assembly: one module per feature, each contributing its routes under `/v1/…`.
//! Later features (log tiles, admission, dashboard) add a module and one `.merge(…)` here.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use zt_secrets::Broker;

use crate::problem::Problem;

pub mod admission;
pub mod evidence;
pub mod openapi;
pub mod ops;
pub mod registry;
pub mod secrets;
pub mod tlog;

/// Whether a request comes from this machine itself: a loopback peer that names no forwarded
/// client (a reverse proxy on the same host connects from loopback too). The routes taken
/// from this machine only (administration, the log's append route) ask this first.
pub(crate) fn from_this_machine(
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
) -> bool {
    peer.ip().is_loopback()
        && !["forwarded", "x-forwarded-for", "x-real-ip"]
            .iter()
            .any(|h| headers.contains_key(*h))
}

/// The whole API: every feature's routes, health, problem documents for unknown paths and
/// methods, and a log line for every refusal.
pub fn router(broker: Arc<Broker>) -> Router {
    service(Some(broker), Router::new())
}

/// The API with the secrets broker and the evidence hub, each optional (tests and tools that
/// serve one of them; `zt serve` assembles everything in [`crate::service`]).
pub fn router_with(broker: Option<Arc<Broker>>, hub: Option<Arc<evidence::Evidence>>) -> Router {
    service(broker, hub.map(evidence::routes).unwrap_or_default())
}

/// The whole API with the secrets broker when the repository has one, plus `features` (the
/// evidence API, the log, admission, readiness and metrics routes `zt serve` adds), each
/// request logged as one JSON line and counted ([`ops::access_log`]).
pub fn service(broker: Option<Arc<Broker>>, features: Router) -> Router {
    let mut app = base();
    if let Some(broker) = broker {
        app = app.merge(
            secrets::routes(broker).layer(DefaultBodyLimit::max(secrets::MAX_EXCHANGE_BODY_BYTES)),
        );
    }
    app.merge(features)
        // Again after the merges: a fallback set before covers only the routes it saw.
        .method_not_allowed_fallback(|| async { Problem::new(405, "method_not_allowed") })
        .layer(middleware::from_fn(ops::access_log))
}

/// `GET /healthz`: 200 `ok` while the server accepts requests.
async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok\n")
}

/// The router shared by every feature: health, and problem documents for unknown paths and
/// methods.
fn base() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .fallback(|| async { Problem::not_found() })
        .method_not_allowed_fallback(|| async { Problem::new(405, "method_not_allowed") })
}
