//! Source integrity for zt: secret scanning with gitleaks' rule format and default rules, and
//! signed-commit verification against the repository's own signer policy ([`commits`]).
//!
//! [`secrets`] reads gitleaks rule files as-is (the default set is built in), translates the
//! rules' Go RE2 expressions for the Rust `regex` crate, and scans files, directories, git index
//! blobs, the lines added in a commit range, or every blob in history, in parallel, with a keyword
//! prefilter. [`hooks`] installs the git hooks that run the scan before commit and push.
//!
//! ```
//! use zt_source::secrets::{Config, Detector, Fragment};
//!
//! let detector = Detector::new(Config::default_rules().unwrap()).unwrap();
//! let key = ["AKIA", "QYLPMN5HHHFPZAM2"].concat();
//! let text = format!("aws_access_key_id = {key}\n");
//! let findings = detector.detect(&Fragment { raw: &text, path: "config.ini", commit: None, start_line: 1 });
//! assert_eq!(findings[0].rule_id, "aws-access-token");
//! assert_eq!(findings[0].start_line, 1);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod commits;
mod error;
pub mod hooks;
pub mod secrets;

pub use error::Error;
