//! zt-watch's errors.

use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// What can go wrong in the watch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `[[notify]]` route in `zt.toml` is not valid.
    #[error("`[[notify]]` route {index} in zt.toml: {problem}")]
    NotifyConfig {
        /// 0-based index of the route.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// A stored baseline (the watch's state in the ledger) does not read.
    #[error("the watch's stored baseline of {what} does not read: {reason}")]
    State {
        /// Whose baseline.
        what: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Io { .. } => "check the path and its permissions, then rerun `zt watch`".into(),
            Error::State { .. } => "rerun `zt watch`: it makes the baselines again from the build records".into(),
            Error::NotifyConfig { .. } => "give each route `kind = \"webhook\"`, `\"slack\"` or `\"command\"` with its `url` or `command` (see docs/watch.md), then rerun `zt watch`".into(),
        })
    }
}
