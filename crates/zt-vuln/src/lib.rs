//! zt's vulnerability management: an indexed local store of OSV advisories (imported from OSV
//! JSON/YAML and the RustSec advisory format), native version ordering per ecosystem, the OSV
//! range evaluation, package URLs, CVSS scoring and SBOM scanning.
//!
//! ```
//! use std::cmp::Ordering;
//! use zt_vuln::Ecosystem;
//!
//! let pypi = Ecosystem::parse("PyPI");
//! assert_eq!(pypi.compare("1.0.dev1", "1.0a1").unwrap(), Ordering::Less);
//! let deb = Ecosystem::parse("Debian:12");
//! assert_eq!(deb.compare("1.2.3-1~deb7u1", "1.2.3-1").unwrap(), Ordering::Less);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cvss;
mod error;
pub mod malicious;
pub mod matching;
pub mod osv;
pub mod purl;
pub mod rustsec;
pub mod sbom;
pub mod scan;
pub mod store;
pub mod version;
pub mod waiver;
pub mod watch;

pub use error::Error;
pub use version::Ecosystem;
