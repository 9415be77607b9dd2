//! The checks every request passes before any route sees it: `Host` and `Origin`.
//!
//! - **Host** (DNS rebinding): a web page on `evil.example` whose name is re-pointed at
//!   127.0.0.1 reaches a loopback server with `Host: evil.example`. The host named must be
//!   the listen address itself (`127.0.0.1:8787`, `[::1]:8787`), `localhost` on the listen
//!   port, or a name the operator configured (`--allow-host zt.example.com`, the name a TLS
//!   proxy in front forwards, any port). Anything else is 421 `wrong_host`; no `Host` is 400
//!   `missing_host`.
//! - **Origin** (cross-site requests): a browser sends `Origin` (and `Sec-Fetch-Site`) with
//!   cross-origin requests, including the "simple" POSTs it sends without asking. zt's
//!   clients (curl, the CLI) send neither. A request whose `Origin` is not the server's own
//!   (the `Host` it named, over `http`, or an allowed name over `https`), or whose
//!   `Sec-Fetch-Site` says `cross-site`/`same-site`, is 403 `cross_origin`.
//!
//! Both refusals are RFC 9457 problems and a line on the server's log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::server::log_line;

/// Who the server is: the bound address and the extra names it answers to.
#[derive(Debug, Clone)]
pub struct Identity {
    addr: SocketAddr,
    names: Vec<String>,
}

impl Identity {
    /// The server bound at `addr`, also answering to `names` (host names, no port).
    pub fn new(addr: SocketAddr, names: &[String]) -> Self {
        Self {
            addr,
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `authority` (a `Host` value: `host[:port]`, IPv6 in brackets) names this
    /// server.
    pub fn accepts_host(&self, authority: &str) -> bool {
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let listen_ip = match self.addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let local = host == listen_ip || host == "localhost";
        if local {
            return port.is_none_or(|p| p == self.addr.port());
        }
        self.names.contains(&host)
    }

    /// Whether `origin` (an `Origin` value) is this server's own origin, for a request whose
    /// `Host` was `host`.
    pub fn accepts_origin(&self, origin: &str, host: &str) -> bool {
        if let Some(rest) = origin.strip_prefix("http://") {
            return rest.eq_ignore_ascii_case(host) && self.accepts_host(rest);
        }
        if let Some(rest) = origin.strip_prefix("https://") {
            return split_authority(rest)
                .is_some_and(|(h, _)| self.names.iter().any(|n| n.eq_ignore_ascii_case(h)));
        }
        false
    }
}

/// Splits `host[:port]`; `None` for anything that is not a plain authority (userinfo,
/// paths, empty host, bad port, unbracketed IPv6).
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.is_empty()
        || authority
            .bytes()
            .any(|b| matches!(b, b'@' | b'/' | b'?' | b'#' | b'\\') || !b.is_ascii_graphic())
    {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = authority.get(..=end)?;
        match authority.get(end + 1..)? {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host, port))
}

/// The middleware: refuses a request whose `Host` or `Origin` is not this server's.
pub(crate) async fn check(
    State(identity): State<Arc<Identity>>,
    request: Request,
    next: Next,
) -> Response {
    match verdict(&identity, request.headers(), request.uri().authority()) {
        Ok(()) => next.run(request).await,
        Err(problem) => {
            log_line(&format!(
                "refused {} {} {} {}",
                request.method(),
                printable(request.uri().path()),
                problem.status,
                problem.detail
            ));
            problem.into_response()
        }
    }
}

fn verdict(
    identity: &Identity,
    headers: &HeaderMap,
    uri_authority: Option<&axum::http::uri::Authority>,
) -> Result<(), Problem> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(h), None) => h.to_str().map_err(|_| Problem::new(400, "bad_host"))?,
        (Some(_), Some(_)) => return Err(Problem::new(400, "bad_host")),
        (None, _) => match uri_authority {
            Some(a) => a.as_str(),
            None => return Err(Problem::new(400, "missing_host")),
        },
    };
    if !identity.accepts_host(host) {
        return Err(Problem::new(421, "wrong_host"));
    }
    // An absolute-form request target must name the same server.
    if uri_authority.is_some_and(|a| !identity.accepts_host(a.as_str())) {
        return Err(Problem::new(421, "wrong_host"));
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("cross-site");
        if !matches!(site, "same-origin" | "none") {
            return Err(Problem::new(403, "cross_origin"));
        }
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        (None, _) => Ok(()),
        (Some(o), None)
            if o.to_str()
                .is_ok_and(|o| identity.accepts_origin(o.trim(), host)) =>
        {
            Ok(())
        }
        _ => Err(Problem::new(403, "cross_origin")),
    }
}

fn printable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn id() -> Identity {
        Identity::new(
            "127.0.0.1:8787".parse().unwrap(),
            &["zt.example.com".to_owned()],
        )
    }

    #[test]
    fn hosts() {
        let id = id();
        for ok in [
            "127.0.0.1:8787",
            "127.0.0.1",
            "localhost:8787",
            "LOCALHOST:8787",
            "zt.example.com",
            "ZT.example.com:443",
        ] {
            assert!(id.accepts_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8787",
            "127.0.0.1:8788",
            "127.0.0.2:8787",
            "localhost:80",
            "[::1]:8787",
            "zt.example.com.evil.example",
            "zt.example.com@evil.example",
            "127.0.0.1:8787/x",
            "127.0.0.1:",
            "127.0.0.1:99999",
            ":8787",
            "",
            "localhost.:8787",
        ] {
            assert!(!id.accepts_host(bad), "{bad}");
        }
        let v6 = Identity::new("[::1]:9000".parse().unwrap(), &[]);
        assert!(v6.accepts_host("[::1]:9000"));
        assert!(!v6.accepts_host("[::1]:9001"));
        assert!(!v6.accepts_host("::1:9000"));
    }

    #[test]
    fn origins() {
        let id = id();
        assert!(id.accepts_origin("http://127.0.0.1:8787", "127.0.0.1:8787"));
        assert!(id.accepts_origin("https://zt.example.com", "zt.example.com"));
        // Another port on the same machine is another origin.
        assert!(!id.accepts_origin("http://127.0.0.1:3000", "127.0.0.1:8787"));
        assert!(!id.accepts_origin("http://localhost:8787", "127.0.0.1:8787"));
        assert!(!id.accepts_origin("null", "127.0.0.1:8787"));
        assert!(!id.accepts_origin("https://evil.example", "127.0.0.1:8787"));
        assert!(!id.accepts_origin("http://zt.example.com", "127.0.0.1:8787"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn detail(r: Result<(), Problem>) -> String {
        r.map(|()| "ok".to_owned()).unwrap_or_else(|p| p.detail)
    }

    #[test]
    fn verdicts() {
        let id = id();
        let v =
            |pairs: &[(&'static str, &'static str)]| detail(verdict(&id, &headers(pairs), None));
        assert_eq!(v(&[("host", "127.0.0.1:8787")]), "ok");
        assert_eq!(v(&[]), "missing_host");
        assert_eq!(v(&[("host", "evil.example:8787")]), "wrong_host");
        assert_eq!(
            v(&[("host", "127.0.0.1:8787"), ("host", "127.0.0.1:8787")]),
            "bad_host"
        );
        assert_eq!(
            v(&[
                ("host", "127.0.0.1:8787"),
                ("origin", "https://evil.example")
            ]),
            "cross_origin"
        );
        assert_eq!(
            v(&[
                ("host", "127.0.0.1:8787"),
                ("origin", "http://127.0.0.1:8787")
            ]),
            "ok"
        );
        assert_eq!(
            v(&[("host", "127.0.0.1:8787"), ("sec-fetch-site", "cross-site")]),
            "cross_origin"
        );
        assert_eq!(
            v(&[("host", "127.0.0.1:8787"), ("sec-fetch-site", "same-site")]),
            "cross_origin"
        );
        assert_eq!(
            v(&[("host", "127.0.0.1:8787"), ("sec-fetch-site", "none")]),
            "ok"
        );
    }
}
