//! Binding, serving and stopping: a multi-threaded tokio runtime owned by [`Server`], plain
//! HTTP/1.1 on loopback only, and a graceful shutdown on SIGTERM or Ctrl-C (in-flight requests
//! finish, new connections are refused).

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
    /// The most threads running blocking broker calls at once (signature checks, fsync).
    pub blocking_threads: usize,
    /// Host names the server answers to besides its listen address and `localhost` (the
    /// name a TLS proxy in front forwards in `Host`). Any other `Host` is refused (DNS
    /// rebinding); see [`crate::guard`].
    pub allowed_hosts: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            workers: None,
            blocking_threads: default_blocking_threads(),
            allowed_hosts: Vec::new(),
        }
    }
}

/// The broker pool's default size: 8 per CPU, between 8 and 64. A broker call is a signature
/// check plus a wait for a group commit; beyond a few threads per core the extra calls only
/// queue behind the same fsync and lengthen the tail (`bench/secrets.sh` on 2 cores, 64
/// clients: 64 threads gave p99 12.3 ms, 16 gave 9.5 ms at a similar throughput).
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
        if !options.listen.ip().is_loopback() {
            return Err(Error::PlainHttpNotLoopback {
                addr: options.listen,
            });
        }
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
        })
    }

    /// The address actually bound (the port is known here when `listen` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and returns.
    pub fn run(self) -> Result<(), Error> {
        self.run_until(shutdown_signal())
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and returns.
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
        } = self;
        // Outermost: no route, fallback included, sees a request for another host or origin.
        let identity = Arc::new(Identity::new(addr, &allowed_hosts));
        let app = router
            .layer(axum::middleware::from_fn_with_state(identity, guard::check))
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = runtime.block_on(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        });
        result.map_err(|source| Error::Serve { addr, source })
    }
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

/// One line on the server's log (stderr): `<RFC 3339 time> <text>`. Callers never pass a
/// secret value, a token or a request body.
pub(crate) fn log_line(text: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{} {text}", zt_core::time::rfc3339(now));
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
