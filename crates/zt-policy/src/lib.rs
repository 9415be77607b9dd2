//! zt's policy engine: Rego v1 (on `regorus`) over verified evidence.
//!
//! A policy is zt's built-in library ([`library::BUILTIN`], compiled into the binary) with a
//! repository's `policies/` folder laid over it: a file named like a built-in one replaces
//! it, other files add rules. Rules live in packages under `zt.` and are written
//! `deny contains d if {…}` with `d = {"id", "message", "remediation", "doc"}`. Evaluation
//! collects every deny of every package, sorted; no deny means allow. The input document is
//! [`PolicyInput`] (see `docs/policy-input.md`); `data.zt.config` comes from `zt.toml`
//! through [`policy_data`].
//!
//! ```
//! use zt_core::config::Config;
//! use zt_policy::{Policy, PolicyInput, PolicySet, policy_data};
//!
//! let config = Config::default();
//! let data = policy_data(&config, ".".as_ref()).unwrap();
//! let mut policy = Policy::compile(&PolicySet::builtin(), data).unwrap();
//! let input = PolicyInput::from_json(br#"{
//!     "version": 1,
//!     "subject": {"name": "app", "digest": {"sha256": "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}},
//!     "evidence": [],
//!     "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z"}
//! }"#, None).unwrap();
//! let decision = policy.evaluate(&input).unwrap();
//! // No evidence at all: every built-in rule fails closed.
//! assert!(!decision.allow);
//! assert!(decision.deny.iter().any(|d| d.id == "provenance.missing"
//!     && d.remediation.contains("zt build --rebuild 2")));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod data;
mod document;
mod engine;
mod error;
pub mod evidence;
pub mod input;
pub mod library;
pub mod time;

pub use data::policy_data;
pub use engine::{Clock, Decision, Deny, Policy, TestCase, TestOutcome};
pub use error::Error;
pub use input::{INPUT_VERSION, PolicyInput};
pub use library::{PolicySet, PolicySource};
