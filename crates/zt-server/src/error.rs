//! The one error type of `zt-server`.

use std::net::SocketAddr;

use zt_core::{Diagnostic, Outcome};

/// What can go wrong serving or calling zt's HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `zt serve` was asked to listen on an address other than loopback.
    #[error("refusing to serve plain HTTP on {addr}, which is not a loopback address")]
    PlainHttpNotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// An `--allow-host` name that is not a plain DNS name.
    #[error("`{name}` is not a host name to allow")]
    InvalidAllowedHost {
        /// The name given.
        name: String,
    },
    /// The TLS certificate or key could not be used.
    #[error("cannot use `{}` for TLS: {reason}", path.display())]
    Tls {
        /// The certificate or key file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the server's runtime")]
    Runtime(#[source] std::io::Error),
    /// Serving failed after the socket was bound.
    #[error("the server on {addr} stopped with an error")]
    Serve {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A server URL that cannot be used.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidServerUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback: tokens and secrets would cross the
    /// network in clear.
    #[error("refusing plain http:// to `{url}`, which is not a loopback address")]
    InsecureServerUrl {
        /// The URL given.
        url: String,
    },
    /// The request could not be made or its reply could not be read.
    #[error("request to {url} failed: {reason}")]
    Request {
        /// The URL called.
        url: String,
        /// Why (connection refused, timeout, TLS failure…).
        reason: String,
    },
    /// The server answered with something that is not the documented reply.
    #[error("unexpected reply from {url}: {reason}")]
    BadReply {
        /// The URL called.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The secrets broker could not be opened.
    #[error(transparent)]
    Secrets(#[from] zt_secrets::Error),
    /// The log could not be opened or appended to.
    #[error(transparent)]
    Sign(#[from] zt_sign::Error),
    /// The log or a proof fetched from a remote log failed.
    #[error(transparent)]
    Log(#[from] zt_tlog::Error),
    /// A workflow the server runs failed (the evidence hub's store, trust or policy).
    #[error(transparent)]
    Pipeline(#[from] zt_pipeline::Error),
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server refused the request (an RFC 9457 problem).
    #[error("the server refused the request: {status} {detail}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The reason code, e.g. `token_expired`.
        detail: String,
    },
    /// The evidence API refused the request (an RFC 9457 problem with `reason` and `fix`).
    #[error("the server refused the request: {status} {code}: {reason}")]
    EvidenceRefused {
        /// The HTTP status.
        status: u16,
        /// The reason code, e.g. `bundle_not_verified`.
        code: String,
        /// What the server says is wrong.
        reason: String,
        /// What the server says to do.
        fix: String,
    },
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::Refused { status, .. } if *status < 500 && *status != 413 => Outcome::Rejected,
            Error::EvidenceRefused { status, .. }
                if (401..=403).contains(status) || *status == 422 =>
            {
                Outcome::Rejected
            }
            Error::Secrets(e) => e.outcome(),
            Error::Sign(e) => e.outcome(),
            Error::Log(e) => e.outcome(),
            Error::Pipeline(e) => e.outcome(),
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Secrets(e) => return e.help(),
            Error::Sign(e) => return e.help(),
            Error::Log(e) => return e.help(),
            Error::Pipeline(e) => return e.help(),
            Error::Io(_) => "check that the path exists and that this user may read and write it".into(),
            Error::PlainHttpNotLoopback { .. } => "listen on 127.0.0.1 (the default) and put a TLS-terminating proxy in front, or serve TLS yourself with `zt serve --tls-cert FILE --tls-key FILE`; see `docs/server.md`".into(),
            Error::InvalidAllowedHost { .. } => "pass the bare name the proxy forwards, e.g. `zt serve --allow-host zt.example.com` (no port, no wildcard)".into(),
            Error::Tls { .. } => "pass a PEM certificate chain (leaf first) with `--tls-cert` and its PEM private key with `--tls-key`".into(),
            Error::Bind { .. } => "pick another port with `--listen 127.0.0.1:PORT`, or stop what holds this one".into(),
            Error::Runtime(_) => "check the process limits (threads, open files)".into(),
            Error::Serve { .. } => "restart `zt serve`; the secrets store is unchanged".into(),
            Error::InvalidServerUrl { .. } => "pass `--server https://HOST[:PORT]` (or `http://127.0.0.1:PORT` on this machine)".into(),
            Error::InsecureServerUrl { .. } => "use `https://` (a TLS proxy in front of `zt serve`), or a loopback address".into(),
            Error::Request { .. } => "check that `zt serve` is running and that `--server` / `ZT_SERVER` names it".into(),
            Error::BadReply { .. } => "check that `--server` names a zt server and not another service".into(),
            Error::Refused { detail, .. } if detail == "operator_required" || detail == "bad_operator_token" => "send the operator token: `ZT_OPERATOR_TOKEN` set to the contents of `.zt/secrets/operator.token` on the server's machine".into(),
            Error::Refused { detail, .. } if detail == "admin_loopback_only" => "administration is taken from the server's own machine only: run the command there, with `--server http://127.0.0.1:PORT`".into(),
            Error::Refused { detail, .. } if detail == "empty_value" => "pipe the value on stdin or pass `--from-file FILE`".into(),
            Error::Refused { detail, status: 413 } if detail == "too_large" => "an OIDC token is at most 16 KiB and a secret value stored through the server at most 1 MiB".into(),
            Error::Refused { status: 401 | 403, .. } => "check the token: scoped tokens expire in minutes, and each opens only the secrets bound to the job's identity".into(),
            Error::Refused { status: 413, .. } => "an OIDC token is at most 16 KiB; send the ID token itself".into(),
            Error::Refused { .. } => "the reason code names the refusal; the server's access log has the record (`zt secrets audit`)".into(),
            Error::EvidenceRefused { fix, .. } if !fix.is_empty() => fix.clone(),
            Error::EvidenceRefused { .. } => "the reason code names the refusal; see `docs/server.md`".into(),
        })
    }
}
