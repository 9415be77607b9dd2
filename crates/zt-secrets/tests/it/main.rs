//! zt-secrets's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-secrets --test it MODULE::`.

mod common;

mod attacks;
mod bad_input;
mod tamper;
