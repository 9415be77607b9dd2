//! zt-vuln's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-vuln --test it MODULE::`.

mod cvss;
mod import;
mod matching;
mod properties;
mod purl;
mod scan;
mod versions;
mod waiver;
