//! zt's HTTP API: the secrets broker over HTTP, so that a CI job needs nothing but `curl` to
//! trade its OIDC ID token for a short-lived scoped token and read the secrets bound to its
//! identity; and the evidence hub (`/api/v1/…`: upload, query, decide, trace).
//!
//! - [`routes`]: the router, one module per feature (`routes::secrets`, `routes::evidence`).
//! - [`problem`]: every refusal is an RFC 9457 `application/problem+json` document whose
//!   `detail` is the broker's reason code — never a secret value.
//! - [`guard`]: every request's `Host` (DNS rebinding) and `Origin` (cross-site requests)
//!   are checked before any route runs.
//! - [`server`]: bind (loopback only: plain HTTP), serve, shut down gracefully on SIGTERM.
//! - [`dashboard`]: the HTML pages at `/` (figures, provenance graphs, denials, alerts, log),
//!   behind the evidence API's read permission.
//! - [`client`]: the blocking client behind `zt secrets token|get|exec --server URL`.
//! - [`service`]: `zt serve` put together — the log shared by every route, the tile,
//!   witness and append routes ([`routes::tlog`]), deploy admission
//!   ([`routes::admission`]), readiness and Prometheus metrics ([`routes::ops`],
//!   [`metrics`]).
//!
//! ```no_run
//! use zt_server::{Client, ServeOptions};
//! # fn main() -> Result<(), zt_server::Error> {
//! let client = Client::new("http://127.0.0.1:8787")?;
//! let issued = client.exchange(b"eyJ...")?;
//! let value = client.read(&issued.token, "db-password")?;
//! # let _ = (value, ServeOptions::default());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod dashboard;
mod error;
pub mod guard;
pub mod metrics;
pub mod problem;
pub mod remote_log;
pub mod routes;
pub mod server;
pub mod service;

pub use client::{Client, IssuedToken};
pub use error::Error;
pub use problem::Problem;
pub use server::{ServeOptions, Server, default_blocking_threads};
