//! zt-deps's integration tests, one module per concern. One test binary, not one per file:
//! each `tests/*.rs` used to be its own binary, linked separately against the same
//! dependencies. Run one module with `cargo test -p zt-deps --test it MODULE::`.

mod check;
mod guarddog_samples;
mod js_lockfiles;
mod lockfiles;
mod real_crates;
mod sbom;
