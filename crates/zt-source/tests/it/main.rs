//! zt-source's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-source --test it MODULE::`.

mod default_rules;
mod fast_path;
mod gitleaks_config;
mod large_tree;
mod planted;
