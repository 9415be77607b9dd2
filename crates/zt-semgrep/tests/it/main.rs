//! zt-semgrep's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-semgrep --test it MODULE::`.

mod guarddog_rules;
mod prefilter;
