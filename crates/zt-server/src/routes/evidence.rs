//! The evidence API (`/api/v1/…`): zt's evidence hub ([`zt_pipeline::hub::Hub`]) over HTTP.
//!
//! | route | role | what |
//! |---|---|---|
//! | `POST /api/v1/bundles` | `upload`, or a CI job's OIDC token bound by `[[upload]]` | upload a Sigstore bundle: verified, logged, stored; the same bundle again is the same receipt |
//! | `GET /api/v1/evidence` | `read` | evidence by `subject`, `predicateType`, `key`, `commit`, `since`, `until`, paged by `cursor`/`limit` |
//! | `POST /api/v1/decide` | `read` | `{digest, stage}` → the judgement `zt verify sha256:… --stage S` prints |
//! | `GET /api/v1/trace/{digest}` | `read` | build, commits and their verdicts, dependencies, signers, decisions |
//! | `POST /api/v1/tokens` | `admin` | create an API token `{role, name}`; the token is in this reply only |
//! | `GET /api/v1/openapi.json` | none | this API as an OpenAPI 3.1 document |
//!
//! Credentials are `Authorization: Bearer <token>`: an API token (`ztk_…`, see
//! [`zt_pipeline::api_tokens`]) or a CI job's OIDC ID token, verified against the issuers of
//! `.zt/secrets/trust.toml`. Reads need no credential when `trust.toml` says
//! `reads = "public"`; a verified OIDC token may read. Every refusal is an RFC 9457 problem
//! whose `detail` is a stable reason code, with `reason` (what is wrong) and `fix` members;
//! nothing is stored for a refused request. The read routes a browser follows from the
//! dashboard (`GET /api/v1/evidence`, `GET /api/v1/trace/…`) also take the token from the
//! dashboard's session cookie ([`SESSION_COOKIE`]); writes never do.

// A refusal is the response itself, built once where it is decided and passed up unchanged;
// boxing it would only add an allocation to every refusal.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use serde::Deserialize;
use zt_core::config::Stage;
use zt_core::{Digest, DigestAlgorithm};
use zt_pipeline::api_tokens::{self, Role};
use zt_pipeline::hub::{Hub, Outcome, Refusal, Writer};
use zt_secrets::trust::{Trust, VerifiedIdToken};
use zt_store::EvidenceQuery;

use crate::problem::Problem;
use crate::server::log_line;

/// The largest JSON request body (decide, tokens).
pub const MAX_JSON_BODY_BYTES: usize = 16 * 1024;

/// Every route of the evidence API: method and path, as routed and as documented in
/// [`openapi`] (a test holds the two together).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/bundles"),
    ("get", "/api/v1/evidence"),
    ("post", "/api/v1/decide"),
    ("get", "/api/v1/trace/{digest}"),
    ("post", "/api/v1/tokens"),
    ("get", "/api/v1/openapi.json"),
];

/// What the evidence routes serve: the hub, the API tokens and the OIDC trust.
#[derive(Debug)]
pub struct Evidence {
    hub: Hub,
    tokens: api_tokens::Verifier,
    trust: Option<Trust>,
}

impl Evidence {
    /// The evidence API over `hub`, with API tokens from its workspace and, when given, the
    /// OIDC issuers, upload bindings and read policy of `trust`.
    pub fn new(hub: Hub, trust: Option<Trust>) -> Self {
        let tokens = api_tokens::Verifier::new(hub.workspace().clone());
        Self { hub, tokens, trust }
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }
}

/// The evidence routes.
pub fn routes(state: Arc<Evidence>) -> Router {
    Router::new()
        .route("/api/v1/bundles", post(upload))
        .route("/api/v1/evidence", get(evidence))
        .route("/api/v1/decide", post(decide))
        .route("/api/v1/trace/{digest}", get(trace))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/openapi.json", get(openapi_json))
        .with_state(state)
}

/// Who is calling.
enum Caller {
    Token { id: String, role: Role },
    Oidc(Box<VerifiedIdToken>),
    Anonymous,
}

impl Caller {
    fn writer(&self) -> Writer {
        Writer(match self {
            Caller::Token { id, .. } => format!("token:{id}"),
            Caller::Oidc(t) => format!("oidc:{} {}", t.iss, t.sub),
            Caller::Anonymous => "anonymous".into(),
        })
    }
}

fn refusal(r: Refusal) -> Response {
    Problem::explained(r.status, r.reason, &r.detail, &r.fix).into_response()
}

fn problem(status: u16, code: &str, reason: &str, fix: &str) -> Response {
    Problem::explained(status, code, reason, fix).into_response()
}

pub(crate) fn internal(e: &zt_pipeline::Error) -> Response {
    // The cause goes to the server's log, not to the caller.
    log_line(&format!("evidence API error: {e}"));
    Problem::new(500, "internal_error").into_response()
}

/// The name of the cookie the dashboard's sign-in sets: the same token a client sends as
/// `Authorization: Bearer`, for reads only (`HttpOnly`, `SameSite=Strict`).
pub const SESSION_COOKIE: &str = "zt_session";

/// The session cookie's token, if the request carries one.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the caller may read, from `Authorization: Bearer …` or, for the read routes a
/// browser follows (the dashboard, its links to the evidence JSON), the session cookie
/// (blocking: an OIDC token may need its issuer's keys fetched).
pub(crate) fn check_read(state: &Evidence, headers: &HeaderMap) -> Result<(), Response> {
    let caller = match (headers.get(header::AUTHORIZATION), session_token(headers)) {
        (None, Some(token)) => authenticate_token(state, &token)?,
        _ => authenticate(state, headers)?,
    };
    may_read(state, &caller)
}

/// Identifies the caller from `Authorization: Bearer …` (blocking: an OIDC token may need
/// its issuer's keys fetched).
fn authenticate(state: &Evidence, headers: &HeaderMap) -> Result<Caller, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let bearer = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    match bearer {
        Some(token) => authenticate_token(state, token),
        None => Err(problem(
            401,
            "bad_authorization",
            "the Authorization header is not `Bearer <token>`",
            "send `Authorization: Bearer <API token or OIDC ID token>`",
        )),
    }
}

/// Identifies the caller from a bearer token: an API token or an OIDC ID token.
fn authenticate_token(state: &Evidence, token: &str) -> Result<Caller, Response> {
    if token.starts_with("ztk_") {
        return match state.tokens.verify(token) {
            Ok(Some((id, role))) => Ok(Caller::Token { id, role }),
            Ok(None) => Err(problem(
                401,
                "bad_api_token",
                "the API token is not one in force on this server",
                "create one with `zt serve token create --role ROLE` on the server",
            )),
            Err(e) => Err(internal(&e)),
        };
    }
    let Some(trust) = &state.trust else {
        return Err(problem(
            401,
            "oidc_not_configured",
            "this server trusts no OIDC issuer",
            "list the CI's issuer under `[[issuer]]` in the server's `.zt/secrets/trust.toml`, or use an API token",
        ));
    };
    match trust.verify_id_token(token.as_bytes(), now()) {
        Ok(t) => Ok(Caller::Oidc(Box::new(t))),
        Err(e) => Err(problem(
            e.status(),
            e.reason(),
            &e.to_string(),
            "send the CI job's current OIDC ID token, for an audience the server's `trust.toml` accepts",
        )),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Whether `caller` may read.
fn may_read(state: &Evidence, caller: &Caller) -> Result<(), Response> {
    let public = state.trust.as_ref().is_some_and(|t| t.public_reads);
    match caller {
        Caller::Token { role, .. } if role.allows(Role::Read) => Ok(()),
        Caller::Oidc(_) => Ok(()),
        Caller::Anonymous if public => Ok(()),
        Caller::Anonymous => Err(problem(
            401,
            "credentials_required",
            "reads on this server need a credential",
            "send `Authorization: Bearer` with an API token (`zt serve token create --role read`) or the CI job's OIDC token",
        )),
        Caller::Token { .. } => Err(problem(
            403,
            "role_required",
            "the API token's role does not allow this",
            "use a token with the `read` role or above",
        )),
    }
}

/// Runs blocking hub work on the blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, Response>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        log_line("an evidence call panicked or was cancelled");
        Problem::new(500, "internal_error").into_response()
    })
}

/// Reads a body of at most `limit` bytes; `Err` with a 413 problem when it is larger, 400
/// when it breaks off.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, Response> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(problem(
                400,
                "unreadable_body",
                "the request body broke off",
                "send the whole body",
            ));
        };
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > limit {
                return Err(problem(
                    413,
                    "body_too_large",
                    &format!("the body is over {limit} bytes"),
                    "upload one bundle per request; bundles zt writes are a few KiB",
                ));
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

fn json_reply(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let mut r = (status, axum::Json(value)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// As [`json_reply`], for a body already serialized (the hub keeps its replies' bytes).
fn json_bytes_reply(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    let headers = r.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn upload(State(state): State<Arc<Evidence>>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body, zt_pipeline::hub::MAX_BUNDLE_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let result = blocking(move || -> Result<Response, Response> {
        let caller = authenticate(&state, &headers)?;
        let writer = caller.writer();
        match &caller {
            Caller::Token { role, .. } if role.allows(Role::Upload) => {}
            Caller::Oidc(_) => {}
            Caller::Token { .. } => {
                return Err(problem(
                    403,
                    "role_required",
                    "the API token's role does not allow uploads",
                    "use a token with the `upload` role (`zt serve token create --role upload`)",
                ));
            }
            Caller::Anonymous => {
                return Err(problem(
                    401,
                    "credentials_required",
                    "uploads need a credential",
                    "send `Authorization: Bearer` with the CI job's OIDC ID token or an `upload` API token",
                ));
            }
        }
        let rules = state.trust.as_ref().map(|t| t.uploads.as_slice());
        let outcome = state.hub.upload(&body, &writer, |checked| match &caller {
            Caller::Oidc(t) => {
                let bound = rules
                    .unwrap_or_default()
                    .iter()
                    .any(|r| r.allows(&t.claims, &checked.predicate_type));
                if bound {
                    Ok(())
                } else {
                    Err(Refusal {
                        status: 403,
                        reason: "upload_not_bound",
                        detail: format!(
                            "no `[[upload]]` binding lets repository `{}` upload `{}` evidence",
                            t.claims
                                .get("repository")
                                .and_then(|v| v.as_str())
                                .unwrap_or("-"),
                            checked.predicate_type
                        ),
                        fix: "add an `[[upload]]` with a `bind` matching the job and this predicate type to the server's `.zt/secrets/trust.toml`".into(),
                    })
                }
            }
            _ => Ok(()),
        });
        match outcome {
            Ok(Outcome::Done(receipt)) => {
                let status = if receipt.created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                Ok(json_reply(status, &receipt))
            }
            Ok(Outcome::Refused(r)) => Err(refusal(r)),
            Err(e) => Err(internal(&e)),
        }
    })
    .await;
    match result {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

/// Splits and percent-decodes a query string; `None` if it is not valid UTF-8 after
/// decoding.
pub(crate) fn query_pairs(query: &str) -> Option<Vec<(String, String)>> {
    fn decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                    i += 2;
                }
                _ => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn bad_query(what: &str) -> Response {
    problem(
        400,
        "bad_query",
        what,
        "see `/api/v1/openapi.json` for the parameters of `GET /api/v1/evidence`",
    )
}

fn parse_digest(s: &str) -> Option<Digest> {
    let hex = s.strip_prefix("sha256:")?;
    Digest::from_hex(DigestAlgorithm::Sha256, hex).ok()
}

fn parse_time(s: &str) -> Option<i64> {
    s.parse::<i64>()
        .ok()
        .or_else(|| zt_core::time::parse_rfc3339(s))
}

/// The evidence query and cursor of a query string.
fn evidence_query(raw: Option<&str>) -> Result<(EvidenceQuery, Option<String>), Response> {
    let pairs =
        query_pairs(raw.unwrap_or("")).ok_or_else(|| bad_query("the query is not valid UTF-8"))?;
    let mut q = EvidenceQuery::default();
    let mut cursor = None;
    let mut seen = std::collections::HashSet::new();
    for (k, v) in pairs {
        if !seen.insert(k.clone()) {
            return Err(bad_query(&format!("`{}` is given twice", short(&k))));
        }
        match k.as_str() {
            "subject" => {
                q.subject =
                    Some(parse_digest(&v).ok_or_else(|| {
                        bad_query("`subject` must be `sha256:` and 64 hex digits")
                    })?);
            }
            "predicateType" => q.predicate_type = Some(v),
            "key" => q.key_id = Some(v),
            "commit" => {
                if !(v.len() >= 40 && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
                    return Err(bad_query("`commit` must be a full git commit id (hex)"));
                }
                q.commit = Some(v.to_ascii_lowercase());
            }
            "since" => {
                q.since = Some(parse_time(&v).ok_or_else(|| {
                    bad_query("`since` must be Unix seconds or an RFC 3339 time")
                })?);
            }
            "until" => {
                q.until = Some(parse_time(&v).ok_or_else(|| {
                    bad_query("`until` must be Unix seconds or an RFC 3339 time")
                })?);
            }
            "cursor" => cursor = Some(v),
            "limit" => {
                q.limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=zt_store::MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        bad_query(&format!(
                            "`limit` must be between 1 and {}",
                            zt_store::MAX_PAGE
                        ))
                    })?;
            }
            other => {
                return Err(bad_query(&format!("unknown parameter `{}`", short(other))));
            }
        }
    }
    Ok((q, cursor))
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

async fn evidence(
    State(state): State<Arc<Evidence>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (query, cursor) = match evidence_query(raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let result = blocking(move || -> Result<Response, Response> {
        check_read(&state, &headers)?;
        match state.hub.evidence(query, cursor.as_deref()) {
            Ok(Outcome::Done(page)) => Ok(json_reply(StatusCode::OK, &page)),
            Ok(Outcome::Refused(r)) => Err(refusal(r)),
            Err(e) => Err(internal(&e)),
        }
    })
    .await;
    match result {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

/// The body of `POST /api/v1/decide`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideBody {
    digest: String,
    stage: String,
}

/// Parses a JSON body into `T`, or a problem naming what is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], fix: &str) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.to_string().starts_with("unknown field") {
            "unknown_field"
        } else {
            "malformed_body"
        };
        problem(400, code, &e.to_string(), fix)
    })
}

async fn decide(State(state): State<Arc<Evidence>>, headers: HeaderMap, body: Body) -> Response {
    const FIX: &str = "send `{\"digest\": \"sha256:<64 hex>\", \"stage\": \"ci|publish|deploy\"}`";
    let body = match read_body(body, MAX_JSON_BODY_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req: DecideBody = match json_body(&body, FIX) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(digest) = parse_digest(&req.digest) else {
        return problem(
            400,
            "bad_digest",
            "`digest` is not `sha256:` and 64 hex digits",
            FIX,
        );
    };
    let Ok(stage) = req.stage.parse::<Stage>() else {
        return problem(
            400,
            "bad_stage",
            "`stage` is not one of ci, publish, deploy",
            FIX,
        );
    };
    let result = blocking(move || -> Result<Response, Response> {
        let caller = authenticate(&state, &headers)?;
        may_read(&state, &caller)?;
        let reply = state
            .hub
            .decide_reply(&digest, stage)
            .map_err(|e| internal(&e))?;
        Ok(json_bytes_reply(StatusCode::OK, reply))
    })
    .await;
    match result {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

async fn trace(
    State(state): State<Arc<Evidence>>,
    Path(digest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(digest) = parse_digest(&digest) else {
        return problem(
            400,
            "bad_digest",
            "the path's digest is not `sha256:` and 64 hex digits",
            "call `/api/v1/trace/sha256:<64 hex>`",
        );
    };
    let result = blocking(move || -> Result<Response, Response> {
        check_read(&state, &headers)?;
        let trace = state.hub.trace_json(&digest).map_err(|e| internal(&e))?;
        Ok(json_bytes_reply(StatusCode::OK, trace))
    })
    .await;
    match result {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    role: String,
    #[serde(default)]
    name: String,
}

async fn create_token(
    State(state): State<Arc<Evidence>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    const FIX: &str = "send `{\"role\": \"read|upload|admin\", \"name\": \"LABEL\"}`";
    let body = match read_body(body, MAX_JSON_BODY_BYTES).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let req: TokenBody = match json_body(&body, FIX) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Ok(role) = req.role.parse::<Role>() else {
        return problem(400, "bad_role", "`role` is not read, upload or admin", FIX);
    };
    let result = blocking(move || -> Result<Response, Response> {
        let caller = authenticate(&state, &headers)?;
        match &caller {
            Caller::Token { role, .. } if role.allows(Role::Admin) => {}
            _ => {
                return Err(problem(
                    403,
                    "role_required",
                    "creating tokens needs an `admin` API token",
                    "create the first admin token on the server with `zt serve token create --role admin`",
                ));
            }
        }
        let ws = state.hub.workspace();
        let created = api_tokens::create(ws, role, &req.name).map_err(|e| internal(&e))?;
        state
            .hub
            .record_admin(
                "token-create",
                &caller.writer(),
                &format!("id={} role={}", created.id, role.name()),
            )
            .map_err(|e| internal(&e))?;
        Ok(json_reply(StatusCode::CREATED, &created))
    })
    .await;
    match result {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

async fn openapi_json() -> Response {
    let mut r = axum::Json(super::openapi::document()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode_and_refuse_junk() {
        assert_eq!(
            query_pairs("a=1&b=x%20y+z&&c").unwrap(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), String::new())
            ]
        );
        assert!(query_pairs("a=%ff").is_none());
        assert!(query_pairs("a=%f").is_none());
        let d = Digest::sha256(b"x");
        let (q, c) = evidence_query(Some(&format!(
            "subject=sha256:{}&limit=5&cursor=v1.1.{}&since=2024-01-01T00:00:00Z",
            d.hex(),
            d.hex()
        )))
        .unwrap();
        assert_eq!(q.subject, Some(d.clone()));
        assert_eq!(q.limit, 5);
        assert_eq!(q.since, Some(1_704_067_200));
        assert!(c.is_some());
        for bad in [
            "subject=md5:00",
            "limit=0",
            "limit=100000",
            "nope=1",
            "since=yesterday",
            "commit=abc",
            "key=a&key=b",
        ] {
            let r = evidence_query(Some(bad)).unwrap_err();
            assert_eq!(r.status(), 400, "{bad}");
        }
    }
}
