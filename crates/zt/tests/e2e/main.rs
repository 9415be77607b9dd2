//! zt's end-to-end tests: the real `zt` binary run in temp dirs, one module per command family
//! or concern.
//!
//! One test binary, not one per file: each `tests/*.rs` used to be its own binary, and linking
//! ~40 of them cost more than compiling them. Run one module with
//! `cargo test -p zt --test e2e presets::`, one test with its full path.

mod common;

mod book;
mod build;
mod build_mirror;
mod ci_recipe;
mod ci_templates;
mod commits;
mod conformance;
mod dashboard;
mod deps;
mod docs;
mod drill;
mod every_commit;
mod hostile;
mod hub;
mod intake;
mod intake_dynamic;
mod log;
mod normalize;
mod oci;
mod on_demand;
mod one_producer;
mod pipeline;
mod policy;
mod presets;
mod provenance;
mod provenance_go;
mod registry;
mod repro;
mod revoke;
mod secrets;
mod serve;
mod serve_ops;
mod sign;
mod snapshots;
mod source;
mod store;
mod tamper;
mod vuln;
mod watch;
