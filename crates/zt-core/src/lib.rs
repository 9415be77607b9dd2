//! zt's evidence model, shared by every other crate.
//!
//! Everything zt knows is a signed statement about an artifact digest. This crate holds the
//! pieces of that sentence: [`Digest`]s, in-toto [`Statement`]s with their subjects, [`dsse`]
//! envelopes and their pre-authentication encoding, the predicate type URIs zt emits, and the
//! [`Diagnostic`] trait through which every crate's errors tell the user what to do next.
//!
//! ```
//! use zt_core::{Digest, DigestAlgorithm};
//!
//! let d = Digest::of_bytes(DigestAlgorithm::Sha256, b"hello");
//! assert_eq!(d.to_string().len(), "sha256:".len() + 64);
//! assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod b64;
pub mod bundle;
pub mod config;
pub mod diagnostic;
pub mod digest;
pub mod dsse;
mod error;
pub mod fsutil;
pub mod group;
pub mod predicate;
pub mod purl;
pub mod statement;
pub mod time;
pub mod workspace;

pub use diagnostic::{Diagnostic, Outcome};
pub use digest::{Digest, DigestAlgorithm};
pub use dsse::Envelope;
pub use error::Error;
pub use statement::{Predicate, ResourceDescriptor, Statement};
pub use workspace::{Clock, Layout, StoreLocation, Workspace};
