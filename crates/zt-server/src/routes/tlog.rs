//! The transparency log over HTTP.
//!
//! | route | what |
//! |---|---|
//! | `GET /checkpoint` | the signed checkpoint (C2SP tlog-tiles), `text/plain; charset=utf-8`, `Cache-Control: public, max-age=5` |
//! | `GET /tile/<L>/<N>` | a full hash tile, `application/octet-stream`, `Cache-Control: public, max-age=31536000, immutable` |
//! | `GET /tile/<L>/<N>.p/<W>` | a partial tile, `Cache-Control: public, max-age=60` (deleted once its full tile exists) |
//! | `GET /tile/entries/<N>[.p/<W>]` | entry bundles, same caching as tiles |
//! | `GET /log.pub` | the log's note verifier key |
//! | `POST /add-checkpoint` | C2SP tlog-witness: cosign another log's checkpoint (when configured as a witness) |
//! | `POST /log/v1/append` | append entries (loopback, append token; the CLI's route while the server holds the log) |
//!
//! The read routes serve the files of the log directory, the same bytes a static web server
//! or a CDN would serve from a copy of it: nothing outside the tlog-tiles layout is reachable
//! (`private/` never is). `/checkpoint` is the log's newest (in memory); while appends keep
//! coming, the log writes its partial tiles and `checkpoint` file at most every few ms
//! (`zt_tlog::LogOptions::publish_interval`), so a partial tile of that checkpoint not on disk
//! yet is served from memory, byte for byte the file it becomes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use sha2::{Digest as _, Sha256};
use zt_tlog::witness::AddCheckpoint;
use zt_tlog::{Log, NoteVerifier, Witness, WitnessSigner};

use crate::metrics::registry;
use crate::problem::Problem;

/// `Cache-Control` of full tiles and entry bundles: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of partial tiles: they never change either, but are deleted once their full
/// tile is published, so caches should not keep answering for them long.
pub const PARTIAL: &str = "public, max-age=60";
/// `Cache-Control` of the checkpoint: it changes with every append (tlog-tiles: "SHOULD
/// prevent caching beyond a few seconds").
pub const CHECKPOINT: &str = "public, max-age=5";

/// The largest `add-checkpoint` body read: 63 proof lines and a checkpoint with signatures.
pub const MAX_WITNESS_BODY: usize = 64 * 1024;
/// The largest append body read: up to [`zt_sign::transparency::MAX_APPEND_ENTRIES`] entries.
pub const MAX_APPEND_BODY: usize = 8 * 1024 * 1024;

/// A witness the server runs: its key, the logs it cosigns, where it remembers them.
pub struct WitnessConfig {
    signer: WitnessSigner,
    logs: Vec<NoteVerifier>,
    state: PathBuf,
    /// The check of the old size and the update of the remembered checkpoint are atomic
    /// (tlog-witness): one request at a time.
    lock: Mutex<()>,
}

impl WitnessConfig {
    /// A witness signing with `signer` for `logs`, remembering in `state`.
    pub fn new(signer: WitnessSigner, logs: Vec<NoteVerifier>, state: PathBuf) -> Self {
        Self {
            signer,
            logs,
            state,
            lock: Mutex::new(()),
        }
    }
}

impl std::fmt::Debug for WitnessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessConfig({:?})", self.signer)
    }
}

/// What the log routes serve.
#[derive(Debug)]
pub struct LogRoutes {
    log: Arc<Log>,
    dir: PathBuf,
    append_token_hash: Option<[u8; 32]>,
    witness: Option<WitnessConfig>,
}

impl LogRoutes {
    /// The log `log` (its directory's files are served as they are); appends need the
    /// bearer token whose SHA-256 is `append_token_hash` (`None`: no append route).
    pub fn new(log: Arc<Log>, append_token: Option<&str>, witness: Option<WitnessConfig>) -> Self {
        Self {
            dir: log.dir().to_path_buf(),
            log,
            append_token_hash: append_token.map(|t| Sha256::digest(t.as_bytes()).into()),
            witness,
        }
    }
}

/// The log routes.
pub fn routes(state: Arc<LogRoutes>) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/log.pub", get(vkey))
        .route("/tile/{*path}", get(tile))
        .route("/add-checkpoint", post(add_checkpoint))
        .route(zt_sign::transparency::APPEND_PATH, post(append))
        .with_state(state)
}

async fn checkpoint(State(s): State<Arc<LogRoutes>>) -> Response {
    // The in-memory checkpoint is the one last made durable.
    let text = s.log.checkpoint();
    registry().set("zt_log_size", &[], s.log.size() as f64);
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(CHECKPOINT)),
        ],
        text,
    )
        .into_response()
}

async fn vkey(State(s): State<Arc<LogRoutes>>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE)),
        ],
        format!("{}\n", s.log.verifier().to_vkey()),
    )
        .into_response()
}

async fn tile(State(s): State<Arc<LogRoutes>>, Path(path): Path<String>) -> Response {
    let rel = format!("tile/{path}");
    if !zt_tlog::tiles::is_tile_path(&rel) {
        return Problem::new(404, "no_such_tile").into_response();
    }
    let partial = rel.contains(".p/");
    let file = s.dir.join(&rel);
    let read = tokio::task::spawn_blocking(move || fs_err::read(file)).await;
    match read {
        Ok(Ok(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(if partial { PARTIAL } else { IMMUTABLE }),
                ),
            ],
            Bytes::from(bytes),
        )
            .into_response(),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            // A partial tile of the served (in-memory) checkpoint that the log has not
            // published to disk yet: the bytes the file will hold.
            match s.log.unpublished_tile(&rel) {
                Some(bytes) => (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/octet-stream"),
                        ),
                        (header::CACHE_CONTROL, HeaderValue::from_static(PARTIAL)),
                    ],
                    Bytes::from(bytes),
                )
                    .into_response(),
                None => Problem::new(404, "no_such_tile").into_response(),
            }
        }
        _ => Problem::new(500, "internal_error").into_response(),
    }
}

/// How long a client may take to send a request body the routes read.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads at most `limit` bytes of a body within [`BODY_READ_TIMEOUT`]: 413 past the limit
/// (counted as an upload reject), 408 for a client too slow, 400 if it breaks off.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, Problem> {
    let read = async move {
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Problem::new(400, "unreadable_body"))?;
            if let Some(data) = frame.data_ref() {
                if out.len() + data.len() > limit {
                    registry().inc("zt_upload_rejects_total", &[("reason", "too_large")]);
                    return Err(Problem::new(413, "body_too_large"));
                }
                out.extend_from_slice(data);
            }
        }
        Ok(out)
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(r) => r,
        Err(_) => {
            registry().inc("zt_upload_rejects_total", &[("reason", "body_timeout")]);
            Err(Problem::new(408, "body_timeout"))
        }
    }
}

/// `POST /add-checkpoint` (C2SP tlog-witness).
async fn add_checkpoint(State(s): State<Arc<LogRoutes>>, body: Body) -> Response {
    let response = witness_reply(s, body).await;
    registry().inc(
        "zt_witness_requests_total",
        &[("status", response.status().as_str())],
    );
    response
}

async fn witness_reply(s: Arc<LogRoutes>, body: Body) -> Response {
    if s.witness.is_none() {
        return Problem::new(404, "not_a_witness").into_response();
    }
    let body = match read_body(body, MAX_WITNESS_BODY).await {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let request = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(_) => return Problem::new(400, "malformed_request").into_response(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let result = tokio::task::spawn_blocking(move || {
        let Some(w) = &s.witness else {
            return Err(zt_tlog::Error::UnknownLog {
                origin: String::new(),
            });
        };
        let _one_at_a_time = w
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Witness::new(&w.signer, &w.state).add_checkpoint(&request, &w.logs, now)
    })
    .await;
    let result = match result {
        Ok(r) => r,
        Err(_) => return Problem::new(500, "internal_error").into_response(),
    };
    match result {
        Ok(lines) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            lines,
        )
            .into_response(),
        Err(zt_tlog::Error::OldSizeMismatch { latest, .. }) => {
            // tlog-witness: the body is the latest cosigned size, `text/x.tlog.size`.
            (
                StatusCode::CONFLICT,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/x.tlog.size"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                format!("{latest}\n"),
            )
                .into_response()
        }
        Err(e) => {
            let (status, reason) = witness_status(&e);
            if status >= 500 {
                crate::server::log_line(&format!("witness: {e}"));
            }
            Problem::new(status, reason).into_response()
        }
    }
}

/// The tlog-witness status of a refusal.
fn witness_status(e: &zt_tlog::Error) -> (u16, &'static str) {
    match e {
        zt_tlog::Error::UnknownLog { .. } => (404, "unknown_log"),
        zt_tlog::Error::Note(_) => (403, "no_trusted_signature"),
        zt_tlog::Error::WitnessRequest(_) | zt_tlog::Error::Checkpoint(_) => {
            (400, "malformed_request")
        }
        zt_tlog::Error::Fork { .. } | zt_tlog::Error::Rollback { .. } => (409, "conflict"),
        zt_tlog::Error::Proof(_) => (422, "bad_consistency_proof"),
        zt_tlog::Error::OriginMismatch { .. } => (403, "no_trusted_signature"),
        _ => (500, "internal_error"),
    }
}

/// `POST /log/v1/append`: `{"entries": [base64…]}` → `{"first": N, "proofs": [tlog-proof…]}`.
/// From this machine only (loopback peer, no forwarding header) and with the append token
/// `zt serve` wrote to `.zt/serve.addr` (0600).
async fn append(
    State(s): State<Arc<LogRoutes>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !super::from_this_machine(peer, &headers) {
        return Problem::new(403, "append_loopback_only").into_response();
    }
    let Some(expected) = s.append_token_hash else {
        return Problem::new(404, "no_such_route").into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(given) = given else {
        return Problem::new(401, "append_token_required").into_response();
    };
    // Compared as SHA-256 digests: the comparison's timing says nothing about the token.
    let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    if digest != expected {
        return Problem::new(401, "bad_append_token").into_response();
    }
    let body = match read_body(body, MAX_APPEND_BODY).await {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let entries = match parse_append(&body) {
        Ok(e) => e,
        Err(reason) => return Problem::new(400, reason).into_response(),
    };
    let n = entries.len();
    let result = tokio::task::spawn_blocking(move || -> Result<_, zt_tlog::Error> {
        let first = match entries.as_slice() {
            [one] => s.log.append(one)?,
            _ => s.log.append_batch(&entries)?,
        };
        let proofs = (0..n as u64)
            .map(|i| s.log.tlog_proof(first + i, None).map(|p| p.to_text()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((first, proofs, s.log.size()))
    })
    .await;
    match result {
        Ok(Ok((first, proofs, size))) => {
            registry().add("zt_log_appends_total", &[("route", "append")], n as u64);
            registry().set("zt_log_size", &[], size as f64);
            let mut r =
                axum::Json(serde_json::json!({"first": first, "proofs": proofs})).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Ok(Err(e)) => {
            crate::server::log_line(&format!("append failed: {e}"));
            Problem::new(503, "log_unavailable").into_response()
        }
        Err(_) => Problem::new(500, "internal_error").into_response(),
    }
}

/// The entries of an append body; a reason code if it is not `{"entries": [base64, …]}`
/// with 1 to 1024 entries of at most 65535 bytes.
fn parse_append(body: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Append {
        entries: Vec<String>,
    }
    let a: Append = serde_json::from_slice(body).map_err(|_| "malformed_append")?;
    if a.entries.is_empty() || a.entries.len() > zt_sign::transparency::MAX_APPEND_ENTRIES {
        return Err("bad_entry_count");
    }
    a.entries
        .iter()
        .map(|e| {
            zt_core::b64::decode(e)
                .filter(|b| b.len() <= zt_tlog::tiles::MAX_ENTRY_SIZE)
                .ok_or("bad_entry")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_bodies() {
        assert_eq!(
            parse_append(br#"{"entries":["YQ==","Yg=="]}"#).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(parse_append(br#"{"entries":[]}"#), Err("bad_entry_count"));
        assert_eq!(parse_append(br#"{"entries":["!"]}"#), Err("bad_entry"));
        assert_eq!(
            parse_append(br#"{"entries":["YQ=="],"x":1}"#),
            Err("malformed_append")
        );
        assert_eq!(parse_append(b"nope"), Err("malformed_append"));
        let big = zt_core::b64::encode(vec![0u8; 65536]);
        assert_eq!(
            parse_append(format!(r#"{{"entries":["{big}"]}}"#).as_bytes()),
            Err("bad_entry")
        );
    }

    #[test]
    fn witness_statuses_follow_the_spec() {
        use zt_tlog::Error as E;
        assert_eq!(witness_status(&E::UnknownLog { origin: "x".into() }).0, 404);
        assert_eq!(witness_status(&E::WitnessRequest("x")).0, 400);
        assert_eq!(witness_status(&E::Fork { size: 1 }).0, 409);
        assert_eq!(
            witness_status(&E::Note(zt_tlog::NoteError::Malformed("x"))).0,
            403
        );
    }
}
