//! zt's pipeline: every stage that exists, in order, on one repository — secret scan, hermetic
//! build rebuilt and compared, tests, SBOM and vulnerability scan, signing and logging of every
//! piece of evidence, the ledger, and policy at the `ci` stage — ending in allow or deny.
//!
//! This crate is the one place that composes the feature crates (the arrows still point
//! down: the binary calls it, it calls them). The same evidence gathering and policy
//! evaluation serve `zt verify --stage` and `zt build verify` through [`gate`].
//!
//! ```no_run
//! use zt_pipeline::{Options, run, NoProgress};
//! let report = run(&Options::example(), &NoProgress)?;
//! assert!(report.allowed());
//! # Ok::<(), zt_pipeline::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api_tokens;
pub mod approvals;
pub mod attest;
pub mod build;
pub mod context;
pub mod dashboard;
pub mod deps;
pub mod drill;
mod error;
pub mod evidence;
pub mod example;
pub mod gate;
pub mod hub;
mod hub_memo;
pub mod image;
pub mod image_sbom;
pub mod incident;
pub mod init;
pub mod intake;
pub mod intake_dynamic;
pub mod ledger;
pub mod metrics;
pub mod on_demand;
pub mod policy;
pub mod preset;
pub mod registry;
pub mod revoke;
mod run;
pub mod sbom;
pub mod source;
pub mod subject;
pub mod trace;
pub mod verify;
pub mod vuln;
pub mod watch;

pub use error::Error;
pub use run::{NoProgress, Options, Progress, Report, StageReport, StageStatus, pipeline_key, run};
