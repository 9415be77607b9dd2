//! The dashboard `zt serve` serves at `/`: server-rendered HTML pages over the same data as
//! the evidence API, behind the same read permission.
//!
//! | route | page |
//! |---|---|
//! | `GET /` | the figures of `zt metrics` over `?since=` (default `30d`), each with a trend chart |
//! | `GET /artifacts/{digest}` | an artifact's provenance graph (SVG) and its evidence |
//! | `GET /search?q=` | artifacts by digest, commit, file name or repository |
//! | `GET /denials?repo=&rule=` | the latest denials with rule, reason and fix |
//! | `GET /alerts?since=` | `zt watch`'s alerts and the incident records |
//! | `GET /log?index=&entry=` | the checkpoint, its signatures, an inclusion-proof checker |
//! | `GET /login`, `POST /login`, `POST /logout` | sign in with an API token (a session cookie) |
//! | `GET /assets/{name}` | the stylesheet and script, named by their digest |
//!
//! Credentials are those of the API: `Authorization: Bearer` or the session cookie `POST
//! /login` sets (`HttpOnly; SameSite=Strict`) from a token with the `read` role; with
//! `reads = "public"` in `trust.toml` no credential is needed. Every page is plain HTML
//! that works with JavaScript off; the one script (vendored, pinned by digest with
//! `integrity=`) only adds pan, zoom and highlighting to the graph. Every response carries a
//! `Content-Security-Policy` of `default-src 'self'` (no inline script or style).

// A refusal is the response itself (see routes::evidence).
#![allow(clippy::result_large_err)]

pub mod html;
mod pages;
pub mod svg;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use zt_core::{Digest, DigestAlgorithm};
use zt_pipeline::dashboard::Query;
use zt_tlog::Log;

use crate::routes::evidence::{
    Evidence, SESSION_COOKIE, blocking, check_read, internal, query_pairs,
};
use html::{AssetLinks, escape};

/// The stylesheet.
const CSS: &str = include_str!("assets/dashboard.css");
/// The script (pan, zoom, highlight in the graph).
const JS: &str = include_str!("assets/dashboard.js");

/// `Content-Security-Policy` of every page.
pub const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'; object-src 'none'";

/// The trend charts' number of periods.
const PERIODS: usize = 12;
/// The most denials listed.
const MAX_DENIALS: usize = 50;
/// The largest sign-in form body read.
const MAX_FORM: usize = 8 * 1024;

/// What the dashboard serves: the evidence API's state (hub, tokens, trust) and the log.
#[derive(Debug)]
pub struct Dashboard {
    evidence: Arc<Evidence>,
    log: Arc<Log>,
    links: AssetLinks,
    /// The overview's content per `since` as given, with when it was computed: the figures
    /// read every vulnerability scan in the ledger (as `zt metrics` and `/metrics` do), so a
    /// busy dashboard computes them at most once a minute per period, like `/metrics`.
    overview: OverviewCache,
    /// `zt watch`'s report over the whole history (every alert; each page shows those of its
    /// period): detection reads every build record, seconds at a million artifacts, so it is
    /// computed in the background at start and at most once a minute after, and the page is
    /// served from the last one (stale while a new one is computed).
    alerts: Arc<AlertsCache>,
}

#[derive(Debug, Default)]
struct AlertsCache {
    /// The last report (whole history) and when it was computed.
    report: std::sync::Mutex<Option<(std::time::Instant, Arc<zt_pipeline::watch::Report>)>>,
    /// Signalled when a computation ends.
    done: std::sync::Condvar,
    /// Why the last computation failed, if it did.
    failed: std::sync::Mutex<Option<String>>,
    /// When the running computation began (`None`: none is running).
    running: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long a request with no report yet waits for the first computation before the page
/// says it is pending.
const ALERTS_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(150);

fn relock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AlertsCache {
    /// Starts a computation on its own thread unless one is running.
    fn refresh_in_background(self: &Arc<Self>, ws: zt_core::Workspace) {
        {
            let mut running = relock(&self.running);
            if running.is_some() {
                return;
            }
            *running = Some(std::time::Instant::now());
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("zt-dashboard-watch".into())
            .spawn(move || {
                let result =
                    zt_pipeline::watch::watch(&ws, &zt_pipeline::watch::Request { since: None });
                match result {
                    Ok(r) => {
                        *relock(&me.failed) = None;
                        *relock(&me.report) = Some((std::time::Instant::now(), Arc::new(r)));
                    }
                    Err(e) => {
                        crate::server::log_line(&format!("dashboard: zt watch: {e}"));
                        *relock(&me.failed) = Some(e.to_string());
                    }
                }
                *relock(&me.running) = None;
                me.done.notify_all();
            });
        if spawned.is_err() {
            *relock(&self.running) = None;
        }
    }

    /// What the page shows: the last report (refreshed in the background once older than
    /// [`OVERVIEW_FRESH`]); with none yet, the first computation is waited for a moment
    /// ([`ALERTS_FIRST_WAIT`]), then the page says it is pending.
    fn get(self: &Arc<Self>, ws: &zt_core::Workspace) -> pages::WatchState {
        let last = relock(&self.report).clone();
        if let Some((at, report)) = last {
            if at.elapsed() >= OVERVIEW_FRESH {
                self.refresh_in_background(ws.clone());
            }
            return pages::WatchState::Ready((*report).clone(), at.elapsed().as_secs());
        }
        if let Some(why) = relock(&self.failed).clone() {
            // Tried again on the next request.
            self.refresh_in_background(ws.clone());
            return pages::WatchState::Failed(why);
        }
        self.refresh_in_background(ws.clone());
        let guard = relock(&self.report);
        let (guard, _) = self
            .done
            .wait_timeout_while(guard, ALERTS_FIRST_WAIT, |r| {
                r.is_none() && relock(&self.running).is_some()
            })
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.clone() {
            Some((at, report)) => {
                pages::WatchState::Ready((*report).clone(), at.elapsed().as_secs())
            }
            None => match relock(&self.failed).clone() {
                Some(why) => pages::WatchState::Failed(why),
                None => pages::WatchState::Pending(
                    relock(&self.running)
                        .map(|t| t.elapsed().as_secs())
                        .unwrap_or(0),
                ),
            },
        }
    }
}

type OverviewCacheMap = std::collections::HashMap<String, (std::time::Instant, String)>;
type OverviewCache = std::sync::Mutex<OverviewCacheMap>;

/// How long a computed overview is served again.
const OVERVIEW_FRESH: std::time::Duration = std::time::Duration::from_secs(60);
/// The most periods whose overview is kept.
const OVERVIEW_KEPT: usize = 16;

fn pinned(name: &str, ext: &str, body: &str) -> (String, String) {
    let digest = Sha256::digest(body.as_bytes());
    let url = format!("/assets/{name}-{}.{ext}", hex::encode(&digest[..8]));
    let integrity = format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    (url, integrity)
}

impl Dashboard {
    /// The dashboard over the evidence API's state and the server's log.
    pub fn new(evidence: Arc<Evidence>, log: Arc<Log>) -> Self {
        let (css, css_integrity) = pinned("dashboard", "css", CSS);
        let (js, js_integrity) = pinned("dashboard", "js", JS);
        Self {
            evidence,
            log,
            links: AssetLinks {
                css,
                css_integrity,
                js,
                js_integrity,
            },
            overview: OverviewCache::default(),
            alerts: Arc::default(),
        }
    }

    /// Starts computing what the slow pages show (the watch's alerts) in the background, so
    /// that the first visitor does not wait for it.
    pub fn warm(&self) {
        self.alerts
            .refresh_in_background(self.evidence.hub().workspace().clone());
    }

    /// The URLs and `integrity` values of the pinned assets.
    pub fn assets(&self) -> &AssetLinks {
        &self.links
    }

    fn page(&self, title: &str, current: &str, main: &str) -> String {
        html::page(&self.links, title, current, main)
    }
}

/// The dashboard's routes.
pub fn routes(state: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/artifacts/{digest}", get(artifact))
        .route("/search", get(search))
        .route("/denials", get(denials))
        .route("/alerts", get(alerts))
        .route("/log", get(log_page))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/assets/{name}", get(asset))
        .with_state(state)
}

/// The security headers of every dashboard response.
fn secure(mut r: Response, cache: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

fn html_response(status: StatusCode, body: String) -> Response {
    let r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    secure(r, "no-store")
}

/// The query string's parameters (the last value of each), or a 400 page.
fn params(
    state: &Dashboard,
    raw: Option<&str>,
) -> Result<std::collections::HashMap<String, String>, Response> {
    query_pairs(raw.unwrap_or(""))
        .map(|p| p.into_iter().collect())
        .ok_or_else(|| {
            html_response(
                StatusCode::BAD_REQUEST,
                state.page(
                    "Bad request",
                    "",
                    "<p>The query string is not valid UTF-8 once decoded. Use the forms on the \
                     pages to build it.</p>",
                ),
            )
        })
}

/// A refused read as a page: the sign-in form for 401, an explanation for 403.
fn refused(state: &Dashboard, r: Response, next: &str) -> Response {
    match r.status() {
        StatusCode::UNAUTHORIZED => html_response(
            StatusCode::UNAUTHORIZED,
            state.page("Sign in", "", &login_main(next, None)),
        ),
        StatusCode::FORBIDDEN => html_response(
            StatusCode::FORBIDDEN,
            state.page(
                "Not allowed",
                "",
                "<p>Your token's role does not allow reading. Sign in with a token made by \
                 <code>zt serve token create --role read</code>.</p>",
            ),
        ),
        _ => r,
    }
}

/// Runs `render` on the blocking pool once the caller may read; its page, or a refusal.
async fn guarded<F>(state: Arc<Dashboard>, headers: HeaderMap, next: String, render: F) -> Response
where
    F: FnOnce(&Dashboard) -> Result<Response, Response> + Send + 'static,
{
    let result = blocking(move || {
        if let Err(r) = check_read(&state.evidence, &headers) {
            return refused(&state, r, &next);
        }
        match render(&state) {
            Ok(r) | Err(r) => r,
        }
    })
    .await;
    match result {
        Ok(r) | Err(r) => r,
    }
}

fn ok_page(
    state: &Dashboard,
    title: &str,
    current: &str,
    main: &str,
) -> Result<Response, Response> {
    Ok(html_response(
        StatusCode::OK,
        state.page(title, current, main),
    ))
}

/// `since` as given (default `30d`) and as Unix seconds.
fn since_of(
    state: &Dashboard,
    p: &std::collections::HashMap<String, String>,
) -> Result<(String, i64), Response> {
    let ws = state.evidence.hub().workspace();
    let since = p
        .get("since")
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "30d".into());
    match zt_core::time::parse_instant(&since, Some(ws.now())) {
        Ok(t) => Ok((since, t)),
        Err(e) => Err(html_response(
            StatusCode::BAD_REQUEST,
            state.page(
                "Bad period",
                "",
                &format!(
                    "<p>The period <code>{}</code> is not one zt reads: {}. Give an age like \
                     <code>7d</code>, an RFC 3339 time or Unix seconds.</p>",
                    escape(&since),
                    escape(&e)
                ),
            ),
        )),
    }
}

fn with_query(path: &str, raw: Option<&str>) -> String {
    match raw {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

async fn overview(
    State(state): State<Arc<Dashboard>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = with_query("/", raw.as_deref());
    guarded(state, headers, next, move |s| {
        let p = params(s, raw.as_deref())?;
        let (since, from) = since_of(s, &p)?;
        if let Some((at, main)) = relock_cache(&s.overview).get(&since)
            && at.elapsed() < OVERVIEW_FRESH
        {
            return ok_page(s, "Overview", "/", main);
        }
        let main = overview_main(s, &since, from)?;
        let mut cache = relock_cache(&s.overview);
        if cache.len() >= OVERVIEW_KEPT {
            cache.retain(|_, (at, _)| at.elapsed() < OVERVIEW_FRESH);
        }
        if cache.len() < OVERVIEW_KEPT {
            cache.insert(since, (std::time::Instant::now(), main.clone()));
        }
        drop(cache);
        ok_page(s, "Overview", "/", &main)
    })
    .await
}

fn relock_cache(m: &OverviewCache) -> std::sync::MutexGuard<'_, OverviewCacheMap> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The overview's content for `since` (as given) starting at `from`.
fn overview_main(s: &Dashboard, since: &str, from: i64) -> Result<String, Response> {
    let ws = s.evidence.hub().workspace();
    let inputs =
        zt_pipeline::dashboard::metrics_inputs(s.evidence.hub(), from).map_err(|e| internal(&e))?;
    let m = zt_watch::metrics::compute(&inputs);
    // The charts start at the period's start, or the first record when it is older.
    let first = inputs
        .builds
        .iter()
        .map(|b| b.at)
        .chain(inputs.decisions.iter().map(|d| d.at))
        .chain(inputs.drills.iter().map(|d| d.at))
        .filter(|at| *at >= from)
        .min()
        .unwrap_or(from);
    let start = from.max(first.min(ws.now()));
    let series = zt_pipeline::metrics::series(&inputs, start, ws.now(), PERIODS);
    Ok(pages::overview(since, from, &m, &series))
}

fn parse_digest(s: &str) -> Option<Digest> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    Digest::from_hex(DigestAlgorithm::Sha256, &hex.to_ascii_lowercase()).ok()
}

async fn artifact(
    State(state): State<Arc<Dashboard>>,
    Path(digest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let next = format!("/artifacts/{}", html::url_encode(&digest));
    guarded(state, headers, next, move |s| {
        let Some(d) = parse_digest(&digest) else {
            return Err(html_response(
                StatusCode::BAD_REQUEST,
                s.page(
                    "Not a digest",
                    "/search",
                    &format!(
                        "<p><code>{}</code> is not a SHA-256 digest (<code>sha256:</code> and 64 hex \
                         digits). <a href=\"/search?q={}\">Search for it</a> instead.</p>",
                        escape(&digest),
                        html::url_encode(&digest)
                    ),
                ),
            ));
        };
        let view =
            zt_pipeline::dashboard::artifact(s.evidence.hub(), &d).map_err(|e| internal(&e))?;
        if view.evidence.is_empty() && view.trace.builds.is_empty() {
            return Err(html_response(
                StatusCode::NOT_FOUND,
                s.page(
                    "Unknown artifact",
                    "/search",
                    &format!(
                        "<p>This server holds no evidence about <code>{}</code>. Upload its \
                         bundles (<code>POST /api/v1/bundles</code>) or search for another \
                         artifact.</p>",
                        escape(&view.digest)
                    ),
                ),
            ));
        }
        let title = format!(
            "Artifact {}",
            view.names
                .first()
                .cloned()
                .unwrap_or_else(|| html::short(&view.digest, 19).to_owned())
        );
        ok_page(s, &title, "/search", &pages::artifact(&view))
    })
    .await
}

async fn search(
    State(state): State<Arc<Dashboard>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = with_query("/search", raw.as_deref());
    guarded(state, headers, next, move |s| {
        let p = params(s, raw.as_deref())?;
        let (since, from) = since_of(s, &p)?;
        let q = p.get("q").cloned().unwrap_or_default();
        let hits = match Query::parse(&q) {
            Some(query) => Some(
                zt_pipeline::dashboard::search(s.evidence.hub(), &query, from)
                    .map_err(|e| internal(&e))?,
            ),
            None => None,
        };
        ok_page(
            s,
            "Artifacts",
            "/search",
            &pages::search(&q, &since, hits.as_deref()),
        )
    })
    .await
}

async fn denials(
    State(state): State<Arc<Dashboard>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = with_query("/denials", raw.as_deref());
    guarded(state, headers, next, move |s| {
        let p = params(s, raw.as_deref())?;
        let repo = p
            .get("repo")
            .map(|r| r.trim().to_owned())
            .unwrap_or_default();
        let rule = p
            .get("rule")
            .map(|r| r.trim().to_owned())
            .unwrap_or_default();
        let list = zt_pipeline::dashboard::denials(
            s.evidence.hub().workspace(),
            Some(repo.as_str()).filter(|r| !r.is_empty()),
            Some(rule.as_str()).filter(|r| !r.is_empty()),
            MAX_DENIALS,
        );
        ok_page(
            s,
            "Denials",
            "/denials",
            &pages::denials(&repo, &rule, &list),
        )
    })
    .await
}

async fn alerts(
    State(state): State<Arc<Dashboard>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = with_query("/alerts", raw.as_deref());
    guarded(state, headers, next, move |s| {
        let p = params(s, raw.as_deref())?;
        let (since, from) = since_of(s, &p)?;
        let hub = s.evidence.hub();
        // Detection over the whole history gives every alert; those of the period are the
        // ones a run with `--since` reports (baselines grow over all builds either way).
        let state = match s.alerts.get(hub.workspace()) {
            pages::WatchState::Ready(mut all, age) => {
                all.alerts.retain(|a| a.at >= from);
                pages::WatchState::Ready(all, age)
            }
            other => other,
        };
        let incidents = zt_pipeline::dashboard::incidents(hub).map_err(|e| internal(&e))?;
        ok_page(
            s,
            "Alerts and incidents",
            "/alerts",
            &pages::alerts(&since, &state, &incidents),
        )
    })
    .await
}

/// The most bytes of an entry shown.
const ENTRY_SHOWN: usize = 4096;

fn check_proof(log: &Log, index: &str, entry: &str) -> Result<pages::ProofCheck, String> {
    let index: u64 = index
        .trim()
        .parse()
        .map_err(|_| format!("`{}` is not an entry index (a whole number)", index.trim()))?;
    let size = log.size();
    if index >= size {
        return Err(format!(
            "the log has {size} entries: there is no entry {index} yet"
        ));
    }
    let stored = log.entry(index).map_err(|e| e.to_string())?;
    let leaf = log.leaf_hash(index).map_err(|e| e.to_string())?;
    let proof = log
        .inclusion_proof(index, size)
        .map_err(|e| e.to_string())?;
    // The root the proof must reach: the signed checkpoint's, read back and verified.
    let (cp, _) = zt_tlog::Checkpoint::open(log.checkpoint().as_bytes(), log.verifier())
        .map_err(|e| e.to_string())?;
    let (size, proof) = if cp.size == size {
        (size, proof)
    } else {
        // An append landed between the two reads: prove against the checkpoint's size.
        (
            cp.size,
            log.inclusion_proof(index, cp.size)
                .map_err(|e| e.to_string())?,
        )
    };
    let verdict =
        zt_tlog::verify_inclusion(&leaf, index, size, &proof, &cp.root).map_err(|e| e.to_string());
    let given = entry.trim_end_matches(['\r', '\n']);
    let entry_given = (!given.is_empty()).then(|| zt_tlog::leaf_hash(given.as_bytes()) == leaf);
    let text = String::from_utf8_lossy(&stored);
    Ok(pages::ProofCheck {
        index,
        size,
        leaf: hex::encode(leaf),
        entry_given,
        proof: proof.iter().map(hex::encode).collect(),
        verdict,
        entry: html::short(&text, ENTRY_SHOWN).to_owned(),
    })
}

async fn log_page(
    State(state): State<Arc<Dashboard>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let next = with_query("/log", raw.as_deref());
    guarded(state, headers, next, move |s| {
        let p = params(s, raw.as_deref())?;
        let text = s.log.checkpoint();
        let (cp, note) = zt_tlog::Checkpoint::open(text.as_bytes(), s.log.verifier())
            .map_err(|e| internal(&zt_pipeline::Error::Policy(e.to_string())))?;
        let own = s.log.verifier();
        let signatures: Vec<(String, String, bool)> = note
            .signatures()
            .iter()
            .map(|sig| {
                (
                    sig.name.clone(),
                    format!("{:08x}", sig.key_id),
                    sig.name == own.name() && sig.key_id == own.key_id(),
                )
            })
            .collect();
        let index = p.get("index").cloned().unwrap_or_default();
        let entry = p.get("entry").cloned().unwrap_or_default();
        let check = (!index.trim().is_empty()).then(|| check_proof(&s.log, &index, &entry));
        ok_page(
            s,
            "Log",
            "/log",
            &pages::log(
                &text,
                &cp.origin,
                cp.size,
                &hex::encode(cp.root),
                &signatures,
                &index,
                &entry,
                check.as_ref(),
            ),
        )
    })
    .await
}

/// Where to go after signing in: a path on this server, never another origin.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.bytes().any(|b| b.is_ascii_control());
    if ok { next } else { "/" }
}

fn login_main(next: &str, error: Option<&str>) -> String {
    format!(
        "{}<form class=\"login\" action=\"/login\" method=\"post\">\
         <p><label for=\"token\">API token</label><br>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required size=\"60\"></p>\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <p><button type=\"submit\">Sign in</button></p></form>\
         <p>The dashboard reads what the API reads: sign in with a token made on the server by \
         <code>zt serve token create --role read</code>. It is kept in a cookie only this \
         server reads (<code>HttpOnly</code>, <code>SameSite=Strict</code>).</p>",
        error
            .map(|e| format!("<p class=\"result bad\" role=\"alert\">{}</p>", escape(e)))
            .unwrap_or_default(),
        escape(safe_next(next))
    )
}

async fn login_form(State(state): State<Arc<Dashboard>>, RawQuery(raw): RawQuery) -> Response {
    let next = query_pairs(raw.as_deref().unwrap_or(""))
        .and_then(|p| p.into_iter().find(|(k, _)| k == "next").map(|(_, v)| v))
        .unwrap_or_else(|| "/".into());
    html_response(
        StatusCode::OK,
        state.page("Sign in", "", &login_main(&next, None)),
    )
}

/// Whether `token` can go in a cookie value as it is (RFC 6265 cookie-octets).
fn cookie_safe(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 4096
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

async fn login(State(state): State<Arc<Dashboard>>, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_FORM).await {
        Ok(b) => b,
        Err(_) => {
            return html_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                state.page(
                    "Sign in",
                    "",
                    &login_main("/", Some("The form is too large.")),
                ),
            );
        }
    };
    let pairs = std::str::from_utf8(&bytes)
        .ok()
        .and_then(query_pairs)
        .unwrap_or_default();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (token, next) = (get("token"), get("next"));
    let next = safe_next(&next).to_owned();
    if !cookie_safe(&token) {
        return html_response(
            StatusCode::UNAUTHORIZED,
            state.page(
                "Sign in",
                "",
                &login_main(&next, Some("That is not a token this server issues.")),
            ),
        );
    }
    let result = blocking(move || {
        let ok = HeaderValue::from_str(&format!("Bearer {token}"))
            .ok()
            .is_some_and(|value| {
                let mut headers = HeaderMap::new();
                headers.insert(header::AUTHORIZATION, value);
                check_read(&state.evidence, &headers).is_ok()
            });
        (state, token, ok)
    })
    .await;
    match result {
        Ok((_, token, true)) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::SEE_OTHER;
            if let Ok(v) = HeaderValue::from_str(&next) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            secure(r, "no-store")
        }
        Ok((state, _, false)) => html_response(
            StatusCode::UNAUTHORIZED,
            state.page(
                "Sign in",
                "",
                &login_main(
                    &next,
                    Some("That token cannot read on this server (unknown, revoked, or without the `read` role)."),
                ),
            ),
        ),
        Err(r) => r,
    }
}

async fn logout() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/login"));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("zt_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    secure(r, "no-store")
}

async fn asset(State(state): State<Arc<Dashboard>>, Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    let (body, kind) = if path == state.links.css {
        (CSS, "text/css; charset=utf-8")
    } else if path == state.links.js {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return crate::problem::Problem::not_found().into_response();
    };
    let r = ([(header::CONTENT_TYPE, kind)], body).into_response();
    secure(r, "public, max-age=31536000, immutable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_goes_back_only_to_this_server() {
        assert_eq!(
            safe_next("/artifacts/sha256:00?x=1"),
            "/artifacts/sha256:00?x=1"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }

    #[test]
    fn only_plain_tokens_go_in_the_cookie() {
        assert!(cookie_safe("ztk_abc.DEF-123"));
        for bad in ["", "a;b", "a b", "a,b", "a\"b", "é"] {
            assert!(!cookie_safe(bad), "{bad:?}");
        }
    }

    #[test]
    fn assets_are_named_and_pinned_by_their_digest() {
        let (url, integrity) = pinned("dashboard", "js", JS);
        let d = Sha256::digest(JS.as_bytes());
        assert_eq!(
            url,
            format!("/assets/dashboard-{}.js", hex::encode(&d[..8]))
        );
        assert_eq!(
            integrity,
            format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(d)
            )
        );
    }
}
