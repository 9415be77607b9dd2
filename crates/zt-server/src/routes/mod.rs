//! Router assembly: one module per feature, each contributing its routes under `/v1/…`.
//! Later features (log tiles, admission, dashboard) add a module and one `.merge(…)` here.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use zt_secrets::Broker;

use crate::problem::{Problem, Reason};
use crate::server::log_line;

pub mod evidence;
pub mod openapi;
pub mod secrets;

/// The whole API: every feature's routes, health, problem documents for unknown paths and
/// methods, and a log line for every refusal.
pub fn router(broker: Arc<Broker>) -> Router {
    router_with(Some(broker), None)
}

/// The API with the features given: the secrets broker and the evidence hub, each optional.
pub fn router_with(broker: Option<Arc<Broker>>, hub: Option<Arc<evidence::Evidence>>) -> Router {
    let mut app = base();
    if let Some(broker) = broker {
        app = app.merge(secrets::routes(broker));
    }
    if let Some(hub) = hub {
        app = app.merge(evidence::routes(hub));
    }
    // Again after the merges: a fallback set before covers only the routes it saw.
    app.method_not_allowed_fallback(|| async { Problem::new(405, "method_not_allowed") })
        .layer(DefaultBodyLimit::max(secrets::MAX_EXCHANGE_BODY_BYTES))
        .layer(middleware::from_fn(log_refusals))
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

/// Logs each refused request: method, path (never the query, headers or body), status,
/// reason code and time taken. Successful requests are counted by the broker's access log.
async fn log_refusals(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let reason = response
            .extensions()
            .get::<Reason>()
            .map_or("-", |r| r.0.as_str());
        log_line(&format!(
            "refused {method} {} {} {reason} {:.1}ms",
            printable(&path),
            status.as_u16(),
            start.elapsed().as_secs_f64() * 1e3
        ));
    }
    response
}

/// The path as logged: at most 200 characters, control characters replaced.
fn printable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
