//! Binding, serving and stopping: a multi-threaded tokio runtime owned by [`Server`], HTTP/1.1
//! over TLS (rustls) when given a certificate and key, plain HTTP on loopback only, and a
//! graceful shutdown on SIGTERM or Ctrl-C (in-flight requests finish, new connections are
//! refused).

use std::future::Future;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::Error;
use crate::guard::{self, Identity};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (`127.0.0.1:8787` by default). Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Reactor threads (default: the number of CPUs).
    pub workers: Option<usize>,
    /// The most threads running blocking broker calls at once (issuer key fetches,
    /// revocations).
    pub blocking_threads: usize,
    /// Host names the server answers to besides its listen address and `localhost` (the
    /// name a TLS proxy in front forwards in `Host`). Any other `Host` is refused (DNS
    /// rebinding); see [`crate::guard`].
    pub allowed_hosts: Vec<String>,
    /// Serve HTTPS with this certificate chain and private key (PEM files); then any listen
    /// address is allowed. Without it, plain HTTP on loopback only.
    pub tls: Option<TlsFiles>,
}

/// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: std::path::PathBuf,
    /// The private key.
    pub key: std::path::PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            workers: None,
            blocking_threads: default_blocking_threads(),
            allowed_hosts: Vec::new(),
            tls: None,
        }
    }
}

/// A rustls server configuration (ring, TLS 1.2 and 1.3, ALPN `http/1.1`) from PEM files.
pub fn tls_config(files: &TlsFiles) -> Result<rustls::ServerConfig, Error> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &std::path::Path, reason: String| Error::Tls {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| bad(&files.cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(&files.cert, "no certificate in the file".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|e| bad(&files.key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(&files.cert, e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| bad(&files.key, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The broker pool's default size: 8 per CPU, between 8 and 64. Exchanges and reads no longer
/// run there (they are decided on the async workers and await their access record); the pool
/// takes the calls that may block: an exchange whose issuer keys must be fetched first, and
/// revocations. (When every exchange ran there, waiting for a group commit, 16 threads on
/// 2 cores gave a shorter tail than 64: `docs/server.md`.)
pub fn default_blocking_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cpus * 8).clamp(8, 64)
}

/// Whether plain HTTP to this host is acceptable: loopback addresses and `localhost` only.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A bound, not yet serving, HTTP server.
#[derive(Debug)]
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    allowed_hosts: Vec<String>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Whether `name` can be an allowed `Host` name: a DNS name (letters, digits, `-`, `.`), no
/// port, no wildcard.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl Server {
    /// Binds `options.listen` and prepares to serve `router`. Refuses any address but loopback:
    /// zt serves plain HTTP, so a reachable server goes behind a TLS-terminating proxy.
    pub fn bind(options: &ServeOptions, router: Router) -> Result<Self, Error> {
        if options.tls.is_none() && !options.listen.ip().is_loopback() {
            return Err(Error::PlainHttpNotLoopback {
                addr: options.listen,
            });
        }
        let tls = match &options.tls {
            Some(files) => Some(Arc::new(tls_config(files)?)),
            None => None,
        };
        if let Some(name) = options.allowed_hosts.iter().find(|n| !is_host_name(n)) {
            return Err(Error::InvalidAllowedHost { name: name.clone() });
        }
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder
            .enable_all()
            .thread_name("zt-serve")
            .max_blocking_threads(options.blocking_threads.max(1));
        if let Some(n) = options.workers {
            builder.worker_threads(n.max(1));
        }
        let runtime = builder.build().map_err(Error::Runtime)?;
        let listener = runtime
            .block_on(TcpListener::bind(options.listen))
            .map_err(|source| Error::Bind {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: options.listen,
            source,
        })?;
        Ok(Self {
            runtime,
            listener,
            addr,
            router,
            allowed_hosts: options.allowed_hosts.clone(),
            tls,
        })
    }

    /// The address actually bound (the port is known here when `listen` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL: `https://ADDR` with TLS, else `http://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and returns.
    pub fn run(self) -> Result<(), Error> {
        self.run_until(shutdown_signal())
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and returns.
    ///
    /// Each connection is HTTP/1.1 with a [`HEADER_READ_TIMEOUT`] (a client that trickles
    /// its request head is dropped; bodies have their own limit where routes read them). On
    /// shutdown the listener closes, idle connections close, and requests in progress —
    /// appends to the log included — run to completion before this returns.
    pub fn run_until<F>(self, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Self {
            runtime,
            listener,
            addr,
            router,
            allowed_hosts,
            tls,
        } = self;
        // Outermost: no route, fallback included, sees a request for another host or origin.
        let identity = Arc::new(Identity::new(addr, &allowed_hosts));
        let app = router.layer(axum::middleware::from_fn_with_state(identity, guard::check));
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        runtime.block_on(serve_connections(listener, app, tls, shutdown));
        Ok(())
    }
}

/// How long a client may take to send a request's head (request line and headers).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a client may take over the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections until `shutdown`, then waits for every connection to finish its
/// request in progress.
async fn serve_connections<F>(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off, do not spin.
                    log_line(&format!("accept failed: {e}"));
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Taken now, so shutdown also waits for a TLS handshake in progress.
        let watcher = graceful.watcher();
        match &tls {
            None => serve_one(stream, peer, app, watcher),
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        serve_one(stream, peer, app, watcher);
                    }
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one connection (plain or TLS) under the graceful-shutdown watcher.
fn serve_one<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), request.map(axum::body::Body::new))
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    let conn = watcher.watch(conn);
    tokio::spawn(async move {
        let _ = conn.await;
    });
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, never complete this branch (SIGTERM still works).
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    log_line("shutting down: finishing in-flight requests");
}

/// One line on the server's log (stderr), a JSON object: `{"time", "msg"}`. Callers never
/// pass a secret value, a token or a request body.
pub(crate) fn log_line(text: &str) {
    log_json(&serde_json::json!({"time": now_rfc3339(), "msg": text}));
}

/// Writes one JSON object as one line on stderr (the server's structured log), in one
/// `write`: stderr is unbuffered, and formatting a `Value` straight into it wrote every key,
/// quote and value separately — dozens of system calls per request line, about a fifth of
/// `zt serve`'s CPU under load (`docs/performance.md`).
pub(crate) fn log_json(value: &serde_json::Value) {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&line);
}

/// The current time, RFC 3339.
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    zt_core::time::rfc3339(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.1.2.3",
            "localhost",
            "LOCALHOST",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "10.0.0.1",
            "example.com",
            "[::]",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn non_loopback_bind_is_refused_before_binding() {
        let options = ServeOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..ServeOptions::default()
        };
        let err = Server::bind(&options, Router::new()).unwrap_err();
        assert!(matches!(err, Error::PlainHttpNotLoopback { .. }), "{err}");
    }

    #[test]
    fn allowed_hosts_are_plain_names() {
        for ok in ["zt.example.com", "localhost", "zt-1.internal"] {
            assert!(is_host_name(ok), "{ok}");
        }
        for bad in [
            "",
            "*.example.com",
            "zt.example.com:443",
            "a..b",
            "ex ample",
            "é.com",
        ] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }
}
