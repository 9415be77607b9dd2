//! Dependency intake: checking the archive a registry served before it may be used.
pub mod archive;
pub mod malware;
