//! zt-watch: what happens after the gates — behaviour baselines and alerts over the ledger's
//! build records, notifications, and the figures `zt metrics` reports.
//!
//! - [`facts`]: what one build did, read from its record (the provenance predicate with the
//!   sandbox's `internalParameters.behaviour`);
//! - [`detect`]: per-pipeline baselines (median/MAD durations, rarity of programs, network
//!   attempts and writes) and per-repository ones (committers, commit keys, signing keys),
//!   and the alerts;
//! - [`generate`]: a seeded history with injected anomalies, to measure the detector;
//! - [`sarif`]: alerts as SARIF 2.1.0;
//! - [`notify`]: `[[notify]]` routes, the spool and delivery with backoff;
//! - [`metrics`]: the seed's §16 figures from records.
//!
//! ```
//! use zt_watch::{Detector, generate};
//! let (builds, _labels) = generate::history(&generate::Spec::default());
//! let alerts = Detector::default().detect(&builds, None);
//! assert!(!alerts.is_empty());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod detect;
mod error;
pub mod facts;
pub mod generate;
pub mod metrics;
pub mod notify;
pub mod sarif;

pub use detect::{Alert, Detector, KINDS, State};
pub use error::Error;
pub use facts::BuildFacts;
