//! zt-build: what zt does to and around a build.
//!
//! - [`sandbox`]: one command in fresh Linux namespaces with a read-only base system, Landlock
//!   and seccomp; [`build`]: a hermetic build of a clean git tree with its outputs collected
//!   ([`collect`]: without following a link the build left);
//! - [`provenance`]: the SLSA v1 provenance statement of a build (returned and written
//!   unsigned to `.zt/provenance/`);
//! - [`repro`] and [`diff`]: rebuild with variations, compare, bisect the cause, explain;
//! - [`normalize`]: removing timestamps, owners and ordering from archives, byte for byte the
//!   way Debian's `strip-nondeterminism` 1.13.1 does it (zip/jar/apk/jmod/pyzip, gzip, ar, png,
//!   javadoc html), plus a tar normaliser of zt's own (see [`normalize::tar`]).
//!
//! ```no_run
//! use zt_build::normalize::{normalize_file, Options};
//! let opts = Options { timestamp: Some(1_423_159_771), clamp: false, ..Options::default() };
//! let report = normalize_file(std::path::Path::new("dist/app.jar"), &opts)?;
//! println!("{:?}", report.outcome);
//! # Ok::<(), zt_build::Error>(())
//! ```
// `unsafe` is allowed in the sandbox module alone (fork, dup2, exec).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod collect;
pub mod diff;
mod error;
pub mod normalize;
pub mod provenance;
pub mod repro;
pub mod sandbox;
mod time;

pub use error::Error;
