//! zt-build's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-build --test it MODULE::`.

mod differential;
mod fixtures;
