//! Verus's `vstd` as an ordinary (unverified) build sees it.
//!
//! regorus 0.14 annotates its number arithmetic (`src/number.rs`) with Verus specifications and
//! proofs: `#[verus_verify]`, `#[verus_spec(...)]`, `proof! { ... }`, imported through
//! `use vstd::prelude::*`. The dependency is not optional, yet outside the Verus verifier
//! (`cfg(verus_keep_ghost)` unset, which is every `cargo build`) each of those macros erases
//! itself: `verus_builtin_macros`' `cfg_erase()` is `EraseGhost::EraseAll`, under which
//! `verus_verify` and `verus_spec` return their item unchanged and `proof!`, `proof_with!` and
//! `proof_decl!` expand to nothing. Building that path took Verus's syntax crate, its
//! pretty-printer, its state-machine macros and the whole of `vstd` — about 115 s of CPU on a
//! newcomer's first build, more than any other part of zt's dependency graph
//! (docs/performance.md, "A newcomer's first two commands").
//!
//! This crate is patched in its place (`[patch.crates-io]`) and provides exactly that erasing
//! behaviour from [`vstd_macros`], with no parser: the macros pass tokens through or drop them.
//! What regorus compiles is therefore the same Rust as before. Checked when this crate was
//! written: regorus 0.14.1's macro expansion (`RUSTC_BOOTSTRAP=1 cargo rustc -p regorus --
//! -Zunpretty=expanded`) is byte for byte the same with Verus's crates and with these
//! (25,654 lines each); `tests/erasure.rs` holds the forms regorus uses, and zt-policy's tests
//! run the arithmetic they annotate.
//!
//! When regorus moves to a new `vstd` version the patch stops applying: cargo then warns that
//! the patch was unused and builds Verus again; bump `version` in Cargo.toml after checking
//! that regorus's uses still erase the same way.
#![forbid(unsafe_code)]
#![no_std]

/// What `use vstd::prelude::*` brings into an unverified build of regorus: the annotation
/// macros, each erasing itself.
pub mod prelude {
    pub use vstd_macros::{proof, proof_decl, proof_with, verus_spec, verus_verify};
}
