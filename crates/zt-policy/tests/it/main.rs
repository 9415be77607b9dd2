//! zt-policy's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-policy --test it MODULE::`.

mod document;
mod library;
