//! Turning test-runner output into predicates zt signs as evidence.

pub mod coverage;
pub mod junit;
