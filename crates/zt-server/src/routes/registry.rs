//! The curated mirror as package registries: admitted versions only.
//!
//! | route | protocol |
//! |---|---|
//! | `GET /cargo/config.json`, `GET /cargo/{index path}` | Cargo sparse registry (`sparse+http://HOST/cargo/`) |
//! | `GET /cargo/crates/{name}/{version}/download` | the `.crate` |
//! | `GET /npm/{name}`, `GET /npm/@scope%2fname` | npm packument (admitted versions, `dist.integrity`) |
//! | `GET /npm/{name}/-/{file}` | the tarball |
//! | `GET /pypi/simple/`, `GET /pypi/simple/{project}/` | PEP 503 HTML, or PEP 691 JSON when asked (`Accept: application/vnd.pypi.simple.v1+json`) |
//! | `GET /pypi/files/{sha256}/{file}` | the distribution |
//!
//! A package (or version) that was never admitted is 404 with a problem document naming the
//! `zt deps request` to run; one intake held is 403 with intake's reasons. Archives are
//! re-hashed against the mirror's index as they are read. With `[deps.on_demand]`, a Cargo
//! index file, npm packument or PyPI project page the mirror lacks is first taken in from
//! upstream ([`zt_pipeline::on_demand`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use zt_pipeline::registry::{Ecosystem, Item, Registry, Snapshot, admitted, documents};

use crate::problem::Problem;

/// `/cargo/…`, `/npm/…`, `/pypi/…`.
pub fn routes(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/cargo/config.json", get(cargo_config))
        .route("/cargo/{*path}", get(cargo))
        .route("/npm/{*path}", get(npm))
        .route("/pypi/simple/", get(simple_root))
        .route("/pypi/simple/{*project}", get(simple))
        .route("/pypi/files/{sha256}/{file}", get(pypi_file))
        .with_state(registry)
}

/// `http://HOST` of the request (`X-Forwarded-Proto` names the scheme behind a proxy).
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn ecosystem_arg(e: Ecosystem) -> &'static str {
    match e {
        Ecosystem::CratesIo => "crates.io",
        Ecosystem::Npm => "npm",
        Ecosystem::PyPI => "pypi",
        Ecosystem::Go => "go",
        _ => "rubygems",
    }
}

/// 404 for a package or version the mirror never admitted; 403 with intake's reasons for
/// one it held.
async fn refused(
    reg: Arc<Registry>,
    ecosystem: Ecosystem,
    name: String,
    version: Option<String>,
) -> Response {
    let (n, v) = (name.clone(), version.clone());
    let held = tokio::task::spawn_blocking(move || reg.held(ecosystem, &n, v.as_deref()))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let what = match &version {
        Some(v) => format!("{name} {v}"),
        None => name.clone(),
    };
    if let Some(h) = held {
        return Problem::explained(
            403,
            "held",
            &format!(
                "intake held `{}` ({}): {}",
                h.purl,
                h.decided_at,
                h.reasons.join("; ")
            ),
            &format!(
                "resolve the reasons, then run `zt deps intake {name}@{} --ecosystem {} --archive FILE` again",
                version.as_deref().unwrap_or("VERSION"),
                ecosystem_arg(ecosystem)
            ),
        )
        .into_response();
    }
    Problem::explained(
        404,
        "not_admitted",
        &format!(
            "{} `{what}` is not in the curated mirror: only packages admitted by `zt deps intake` are served",
            ecosystem.name()
        ),
        &format!(
            "run `zt deps request {name} --ecosystem {}{} --justification … --maintenance-plan …`, have it approved (`zt deps approve`), then `zt deps intake` the archive",
            ecosystem_arg(ecosystem),
            version
                .map(|v| format!(" --package-version {v}"))
                .unwrap_or_default()
        ),
    )
    .into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    Problem::explained(
        503,
        "mirror_unavailable",
        &format!("the mirror could not be read: {e}"),
        "check `.zt/mirror/` on the server (see its log); `zt deps intake` rebuilds entries",
    )
    .into_response()
}

async fn snapshot(reg: &Arc<Registry>) -> Result<Arc<Snapshot>, Response> {
    let r = reg.clone();
    match tokio::task::spawn_blocking(move || r.snapshot()).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(unavailable(e)),
        Err(e) => Err(unavailable(e)),
    }
}

fn body(content_type: &'static str, bytes: impl Into<axum::body::Body>) -> Response {
    let mut r = Response::new(bytes.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The archive of an admitted item (re-hashed by the mirror).
async fn archive(reg: Arc<Registry>, item: Item, content_type: &'static str) -> Response {
    match tokio::task::spawn_blocking(move || reg.archive(&item)).await {
        Ok(Ok(Some(bytes))) => body(content_type, bytes),
        Ok(Ok(None)) => Problem::explained(
            404,
            "not_admitted",
            "the package left the mirror (quarantined)",
            "see `.zt/mirror/quarantine.json` and `zt incident`",
        )
        .into_response(),
        Ok(Err(e)) => unavailable(e),
        Err(e) => unavailable(e),
    }
}

async fn cargo_config(headers: HeaderMap) -> Response {
    let base = base(&headers);
    let doc = serde_json::json!({
        "dl": format!("{base}/cargo/crates/{{crate}}/{{version}}/download"),
    });
    body("application/json", doc.to_string())
}

async fn cargo(State(reg): State<Arc<Registry>>, Path(path): Path<String>) -> Response {
    if let Some(rest) = path.strip_prefix("crates/") {
        let parts: Vec<&str> = rest.split('/').collect();
        let [name, version, "download"] = parts.as_slice() else {
            return Problem::not_found().into_response();
        };
        let snap = match snapshot(&reg).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let item = snap
            .cargo
            .get(&name.to_ascii_lowercase())
            .and_then(|l| l.iter().find(|i| i.version == *version))
            .cloned();
        return match item {
            Some(i) => archive(reg, i, "application/x-tar").await,
            None => {
                refused(
                    reg,
                    Ecosystem::CratesIo,
                    (*name).into(),
                    Some((*version).into()),
                )
                .await
            }
        };
    }
    let name = path.rsplit('/').next().unwrap_or_default().to_owned();
    // The path must be the one the sparse-index rules give the name.
    if documents::cargo_index_path(&name).as_deref() != Some(path.to_ascii_lowercase().as_str()) {
        return Problem::not_found().into_response();
    }
    let snap = match snapshot(&reg).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let snap = match with_package(&reg, snap, Ecosystem::CratesIo, &name, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match snap.cargo.get(&name.to_ascii_lowercase()) {
        Some(items) => body("text/plain", documents::cargo_index_file(items)),
        None => refused(reg, Ecosystem::CratesIo, name, None).await,
    }
}

/// A snapshot that has `name`: the current one, or — with intake on demand configured for
/// the ecosystem — the one after taking it in; otherwise the refusal to answer.
async fn with_package(
    reg: &Arc<Registry>,
    snap: Arc<Snapshot>,
    ecosystem: Ecosystem,
    name: &str,
    version: Option<String>,
) -> Result<Arc<Snapshot>, Response> {
    if admitted(&snap, ecosystem, name).is_some() {
        return Ok(snap);
    }
    if !reg.on_demand_enabled(ecosystem) {
        return Err(refused(reg.clone(), ecosystem, name.into(), version).await);
    }
    take_in(reg.clone(), ecosystem, name.into(), version).await
}

/// Intake on demand of a package the mirror lacks: the snapshot that serves it once
/// admitted; a version intake held or rejected is 403 with intake's reasons; without an
/// approved request, the usual 404; an upstream that fails or lies, 502 with the reason.
async fn take_in(
    reg: Arc<Registry>,
    ecosystem: Ecosystem,
    name: String,
    version: Option<String>,
) -> Result<Arc<Snapshot>, Response> {
    use zt_pipeline::on_demand::OnDemand;
    let (r, n) = (reg.clone(), name.clone());
    let decided = tokio::task::spawn_blocking(move || r.take_in(ecosystem, &n)).await;
    let eco = ecosystem_arg(ecosystem);
    match decided {
        Ok(Ok(OnDemand::Decided { verdict, .. })) if verdict == "admitted" => {
            let snap = snapshot(&reg).await?;
            if admitted(&snap, ecosystem, &name).is_some() {
                Ok(snap)
            } else {
                Err(refused(reg, ecosystem, name, version).await)
            }
        }
        Ok(Ok(OnDemand::Decided {
            version,
            verdict,
            reasons,
        })) => Err(Problem::explained(
            403,
            if verdict == "held" { "held" } else { "rejected" },
            &format!(
                "intake on demand {verdict} `{name}@{version}`: {}",
                reasons.join("; ")
            ),
            &format!(
                "resolve the reasons, then run `zt deps intake {name}@{version} --ecosystem {eco} --archive FILE`"
            ),
        )
        .into_response()),
        Ok(Ok(OnDemand::NotApproved | OnDemand::Off)) => {
            Err(refused(reg, ecosystem, name, version).await)
        }
        Ok(Err(e)) => Err(Problem::explained(
            502,
            "upstream_failed",
            &format!("intake on demand of `{name}` failed: {e}"),
            &zt_core::Diagnostic::help(&e).unwrap_or_else(|| {
                format!("see the server's log; take the package in by hand with `zt deps intake {name}@VERSION --ecosystem {eco} --archive FILE`")
            }),
        )
        .into_response()),
        Err(e) => Err(unavailable(e)),
    }
}

async fn npm(
    State(reg): State<Arc<Registry>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    // `@scope%2fname` arrives decoded as `@scope/name`.
    if let Some((name, file)) = path.split_once("/-/") {
        let snap = match snapshot(&reg).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let item = snap
            .npm
            .get(name)
            .and_then(|l| l.iter().find(|i| i.entry.file == file))
            .cloned();
        return match item {
            Some(i) => archive(reg, i, "application/octet-stream").await,
            None => {
                let version = file
                    .strip_suffix(".tgz")
                    .and_then(|f| f.rsplit_once('-').map(|(_, v)| v.to_owned()));
                refused(reg, Ecosystem::Npm, name.to_owned(), version).await
            }
        };
    }
    let snap = match snapshot(&reg).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (name, version) = match path.strip_prefix('@') {
        Some(scoped) => match scoped.splitn(3, '/').collect::<Vec<_>>().as_slice() {
            [scope, n] => (format!("@{scope}/{n}"), None),
            [scope, n, v] => (format!("@{scope}/{n}"), Some((*v).to_owned())),
            _ => (path.clone(), None),
        },
        None => match path.split_once('/') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (path.clone(), None),
        },
    };
    let snap = match with_package(&reg, snap, Ecosystem::Npm, &name, version.clone()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(items) = snap.npm.get(&name) else {
        return refused(reg, Ecosystem::Npm, name, version).await;
    };
    let doc = documents::packument(&name, items, &format!("{}/npm", base(&headers)));
    match version {
        None => body("application/json", doc.to_string()),
        Some(v) => match doc["versions"].get(&v) {
            Some(d) => body("application/json", d.to_string()),
            None => refused(reg, Ecosystem::Npm, name, Some(v)).await,
        },
    }
}

/// PEP 691: JSON when the client prefers it, HTML otherwise.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| {
            let json = a.find("application/vnd.pypi.simple.v1+json");
            let html = a
                .find("application/vnd.pypi.simple.v1+html")
                .or_else(|| a.find("text/html"));
            match (json, html) {
                (Some(_), None) => true,
                // The first listed wins when neither names a lower quality.
                (Some(j), Some(h)) => j < h && !a.contains("v1+json;q=0"),
                _ => false,
            }
        })
}

const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";
const SIMPLE_HTML: &str = "text/html; charset=utf-8";

async fn simple_root(State(reg): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let snap = match snapshot(&reg).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let projects: Vec<&str> = snap.pypi.keys().map(String::as_str).collect();
    if wants_json(&headers) {
        body(
            SIMPLE_JSON,
            documents::simple_root_json(&projects).to_string(),
        )
    } else {
        body(SIMPLE_HTML, documents::simple_root_html(&projects))
    }
}

async fn simple(
    State(reg): State<Arc<Registry>>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    let name = project.trim_end_matches('/');
    let norm = documents::pep503(name);
    let snap = match snapshot(&reg).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let snap = match with_package(&reg, snap, Ecosystem::PyPI, name, None).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(items) = snap.pypi.get(&norm) else {
        return refused(reg, Ecosystem::PyPI, name.to_owned(), None).await;
    };
    let files = format!("{}/pypi/files", base(&headers));
    if wants_json(&headers) {
        body(
            SIMPLE_JSON,
            documents::simple_json(&norm, items, &files).to_string(),
        )
    } else {
        body(SIMPLE_HTML, documents::simple_html(&norm, items, &files))
    }
}

async fn pypi_file(
    State(reg): State<Arc<Registry>>,
    Path((sha256, file)): Path<(String, String)>,
) -> Response {
    let snap = match snapshot(&reg).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let item = snap
        .pypi
        .values()
        .flatten()
        .find(|i| i.entry.sha256 == sha256 && i.entry.file == file)
        .cloned();
    match item {
        Some(i) => archive(reg, i, "application/octet-stream").await,
        None => Problem::explained(
            404,
            "not_admitted",
            &format!("`{file}` is not in the curated mirror"),
            "run `zt deps request NAME --ecosystem pypi --justification … --maintenance-plan …`, have it approved, then `zt deps intake` the distribution",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep691_negotiation_prefers_what_the_client_lists_first() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01",
            ),
        );
        assert!(wants_json(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert!(!wants_json(&h));
    }
}
