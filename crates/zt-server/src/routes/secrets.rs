//! The secrets routes: the broker ([`zt_secrets::Broker`]) over HTTP.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/secrets/exchange` | body: the OIDC ID token, raw or `{"token": "…"}`; reply: the scoped token as JSON |
//! | `GET /v1/secrets/{name}` | `Authorization: Bearer <scoped token>`; reply: the value, `application/octet-stream` |
//! | `PUT /v1/secrets/{name}` | `Authorization: Bearer <operator token>`, from a loopback peer only; body `{"value": "<base64>", "bindings": ["claim=value,…"]}`; reply: `{"name": …, "version": n}` |
//! | `POST /v1/secrets/tokens/{id}/revoke` | `Authorization: Bearer <operator token>`, from a loopback peer only; reply: `{"revoked": id}` |
//!
//! Exchanges and reads are decided on the async worker that received them (signature checks
//! and signing are CPU work of tens of microseconds; nothing waits on I/O), and their access
//! record goes to the access log's own thread, which fdatasyncs a whole batch at once; the
//! handler `.await`s that record's durability before it replies ([`zt_secrets::Pending`]), so
//! no scoped token or value leaves before its record is durable, and no thread is parked
//! meanwhile. An exchange whose issuer keys must first be fetched (discovery, an unknown or
//! stale `kid`), and revocations (which rewrite a file), run on tokio's blocking pool (bounded
//! by [`crate::ServeOptions::blocking_threads`]) instead, never on the reactor. Every refusal is the broker's own decision, so the broker's access log records it —
//! including a body over the size limit, whose first bytes are handed to
//! [`zt_secrets::Broker::exchange`] to be refused and logged as `token_too_large`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use zeroize::Zeroizing;
use zt_secrets::{Broker, MAX_OIDC_TOKEN_BYTES};

use crate::problem::Problem;
use crate::server::log_line;

/// The most bytes of an exchange body read: a 16 KiB token plus room for a JSON wrapper.
/// One byte more marks the body as too large.
pub const MAX_EXCHANGE_BODY_BYTES: usize = MAX_OIDC_TOKEN_BYTES + 1024;

/// The largest secret value `PUT /v1/secrets/{name}` stores (1 MiB, Kubernetes' limit for a
/// Secret): larger values belong in a file the secret points to.
pub const MAX_PUT_VALUE_BYTES: usize = 1024 * 1024;

/// The most bytes of a put body read: the value in base64 plus room for the bindings.
const MAX_PUT_BODY_BYTES: usize = MAX_PUT_VALUE_BYTES.div_ceil(3) * 4 + 64 * 1024;

/// The secrets routes over `broker`.
pub fn routes(broker: Arc<Broker>) -> Router {
    Router::new()
        // A secret named `exchange` is still readable: GET on the exchange path reads it.
        .route(
            "/v1/secrets/exchange",
            post(exchange).get(read_exchange).put(put_exchange),
        )
        .route("/v1/secrets/{name}", get(read).put(put))
        .route("/v1/secrets/tokens/{id}/revoke", post(revoke))
        .with_state(broker)
}

/// `{"token": "…"}`, the JSON form of the exchange body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeBody {
    token: String,
}

async fn exchange(State(broker): State<Arc<Broker>>, body: Body) -> Response {
    let body = match read_limited(body, MAX_EXCHANGE_BODY_BYTES).await {
        Ok(b) => b,
        Err(()) => return Problem::new(400, "unreadable_body").into_response(),
    };
    let token = oidc_token_of(&body);
    let outcome = match broker.start_exchange(&token) {
        Some(pending) => pending.await,
        // The issuer's keys must be fetched first: that blocks on the network.
        None => match blocking(move || broker.exchange(&token)).await {
            Ok(outcome) => outcome,
            Err(p) => return p.into_response(),
        },
    };
    match outcome {
        Ok(issued) => no_store(axum::Json(issued).into_response()),
        Err(e) => Problem::new(e.status(), e.reason()).into_response(),
    }
}

/// The token in an exchange body: the `token` member of a JSON object, or else the body
/// itself with surrounding whitespace removed (`curl --data-binary @token` keeps a newline).
/// Anything malformed goes to the broker as is, to be refused and logged there.
fn oidc_token_of(body: &[u8]) -> Vec<u8> {
    if body.len() <= MAX_EXCHANGE_BODY_BYTES
        && let Ok(ExchangeBody { token }) = serde_json::from_slice::<ExchangeBody>(body)
    {
        return token.into_bytes();
    }
    body.trim_ascii().to_vec()
}

/// Reads at most `limit + 1` bytes of a body: enough to know it is over the limit without
/// buffering an attacker's gigabyte. `Err` when the body breaks off.
async fn read_limited(mut body: Body, limit: usize) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ())?;
        if let Some(data) = frame.data_ref() {
            let room = (limit + 1).saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
            if out.len() > limit {
                break;
            }
        }
    }
    Ok(out)
}

async fn read(
    State(broker): State<Arc<Broker>>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    match name {
        Ok(Path(name)) => read_secret(broker, name, &headers).await,
        Err(_) => Problem::new(400, "bad_secret_name").into_response(),
    }
}

async fn read_exchange(State(broker): State<Arc<Broker>>, headers: HeaderMap) -> Response {
    read_secret(broker, "exchange".to_owned(), &headers).await
}

async fn read_secret(broker: Arc<Broker>, name: String, headers: &HeaderMap) -> Response {
    // A missing or non-bearer header goes to the broker as an empty token: refused and logged.
    let token = bearer(headers).unwrap_or_default();
    match broker.start_read(token, &name).await {
        Ok(secret) => {
            let value = secret.expose().to_vec();
            let mut r = Bytes::from(value).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            no_store(r)
        }
        Err(e) => Problem::new(e.status(), e.reason()).into_response(),
    }
}

/// The credentials of `Authorization: Bearer <token>` (RFC 6750 §2.1; scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

async fn revoke(
    State(broker): State<Arc<Broker>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(p) = loopback_admin(peer, &headers, "revoke") {
        return p.into_response();
    }
    let Ok(Path(id)) = id else {
        return Problem::new(400, "bad_token_id").into_response();
    };
    // Loopback is not a credential (a browser page, another local user): the operator token
    // is required too (`zt_secrets::operator`).
    let operator = bearer(&headers).map(str::to_owned);
    let reply = serde_json::json!({ "revoked": id });
    match blocking(move || broker.revoke_token_as_operator(operator.as_deref(), &id)).await {
        Ok(Ok(())) => no_store(axum::Json(reply).into_response()),
        Ok(Err(e)) => Problem::new(e.status(), e.reason()).into_response(),
        Err(p) => p.into_response(),
    }
}

/// Administration from this machine only ([`super::from_this_machine`]).
fn loopback_admin(peer: SocketAddr, headers: &HeaderMap, what: &str) -> Result<(), Problem> {
    if !super::from_this_machine(peer, headers) {
        log_line(&format!("refused {what} from {peer}: not loopback"));
        return Err(Problem::new(403, "admin_loopback_only"));
    }
    Ok(())
}

/// The body of `PUT /v1/secrets/{name}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    /// The value, standard base64 (RFC 4648 §4).
    value: String,
    /// Who may read it: `claim=value[,claim=value…]` each, as `zt secrets put --bind`.
    #[serde(default)]
    bindings: Vec<String>,
}

async fn put(
    State(broker): State<Arc<Broker>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match name {
        Ok(Path(name)) => put_secret(broker, peer, name, &headers, body).await,
        Err(_) => Problem::new(400, "bad_secret_name").into_response(),
    }
}

async fn put_exchange(
    State(broker): State<Arc<Broker>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    put_secret(broker, peer, "exchange".to_owned(), &headers, body).await
}

/// Stores a secret for the operator. The operator token is checked (and a refusal recorded)
/// by the broker before the body is looked at, so an unauthenticated caller learns nothing
/// about what a well-formed body is.
async fn put_secret(
    broker: Arc<Broker>,
    peer: SocketAddr,
    name: String,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if let Err(p) = loopback_admin(peer, headers, "put") {
        return p.into_response();
    }
    let operator = bearer(headers).map(str::to_owned);
    let Ok(body) = read_limited(body, MAX_PUT_BODY_BYTES).await else {
        return Problem::new(400, "unreadable_body").into_response();
    };
    let body = Zeroizing::new(body);
    let request = parse_put(&body);
    let reply = blocking(move || {
        // The operator token first (a refusal is recorded), then the body: a caller without
        // the token learns nothing about what a well-formed body is.
        let denied = |e: zt_secrets::Error| Problem::new(e.status(), e.reason());
        broker
            .check_operator(operator.as_deref(), "put", &name)
            .map_err(denied)?;
        let (value, bindings) = request?;
        broker
            .put_as_operator(operator.as_deref(), &name, &value, bindings)
            .map(|version| serde_json::json!({ "name": name, "version": version }))
            .map_err(denied)
    })
    .await;
    match reply {
        Ok(Ok(reply)) => no_store(axum::Json(reply).into_response()),
        Ok(Err(p)) | Err(p) => p.into_response(),
    }
}

/// The value and bindings of a put body, or the problem with it.
fn parse_put(body: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Vec<zt_secrets::Binding>), Problem> {
    if body.len() > MAX_PUT_BODY_BYTES {
        return Err(Problem::new(413, "too_large"));
    }
    let PutBody { value, bindings } =
        serde_json::from_slice(body).map_err(|_| Problem::new(400, "malformed_body"))?;
    let encoded = Zeroizing::new(value);
    let value = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| Problem::new(400, "malformed_body"))?,
    );
    if value.is_empty() {
        return Err(Problem::new(400, "empty_value"));
    }
    if value.len() > MAX_PUT_VALUE_BYTES {
        return Err(Problem::new(413, "too_large"));
    }
    let bindings = bindings
        .iter()
        .map(|b| zt_secrets::Binding::parse(b))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::new(e.status(), e.reason()))?;
    Ok((value, bindings))
}

/// Runs a blocking broker call on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        log_line("a broker call panicked or was cancelled");
        Problem::new(500, "internal_error")
    })
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_body_forms() {
        assert_eq!(oidc_token_of(b"a.b.c\n"), b"a.b.c");
        assert_eq!(oidc_token_of(br#"{"token":"a.b.c"}"#), b"a.b.c");
        // Unknown members or another shape: handed over raw, for the broker to refuse.
        assert_eq!(
            oidc_token_of(br#"{"token":"a","x":1}"#),
            br#"{"token":"a","x":1}"#
        );
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[tokio::test]
    async fn read_limited_stops_one_past_the_limit() {
        let big = vec![b'a'; 100_000];
        let got = read_limited(Body::from(big), 10).await.unwrap();
        assert_eq!(got.len(), 11);
        let small = read_limited(Body::from("abc"), 10).await.unwrap();
        assert_eq!(small, b"abc");
    }
}
