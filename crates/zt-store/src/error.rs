use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ledger was written by a newer zt; this one will not read or change it.
    #[error(
        "the ledger `{location}` has schema version {found}, newer than this zt supports ({supported})"
    )]
    NewerSchema {
        /// The database file or connection.
        location: String,
        /// The version found in the ledger.
        found: u32,
        /// The newest version this zt knows.
        supported: u32,
    },
    /// No ledger exists where one must be read.
    #[error("no ledger at `{}`", .0.display())]
    Missing(PathBuf),
    /// A bundle offered for storage is not a JSON object, or its index is unusable.
    #[error("invalid bundle: {0}")]
    InvalidBundle(String),
    /// A record with the same id but different content is already stored.
    #[error("{what} `{id}` is already recorded with different content")]
    Conflict {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Another `zt watch` stored its state since this one read it.
    #[error("another `zt watch` updated the watch's state meanwhile")]
    WatchMoved,
    /// Stored data no longer parses (hand-edited or corrupted ledger).
    #[error("corrupt ledger row: {0}")]
    Corrupt(String),
    /// The SQLite backend failed.
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL backend failed.
    #[cfg(feature = "postgres")]
    #[error("ledger database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The ledger is configured on a backend this zt was built without.
    #[error("the ledger `{0}` needs PostgreSQL support, which this zt was built without")]
    NoBackend(String),
    /// Creating the ledger's folder failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::NewerSchema { .. } => {
                "upgrade zt to the version that wrote this ledger (or newer); zt never downgrades a ledger".into()
            }
            Error::Missing(_) => {
                "run zt at the repository root, or record evidence first (`zt sign`, `zt attest`, `zt build`)".into()
            }
            Error::InvalidBundle(_) => {
                "pass the bundle JSON exactly as zt wrote it, with at least one subject digest".into()
            }
            Error::Conflict { .. } => {
                "use a new id for a different record; recorded entries are never rewritten".into()
            }
            Error::WatchMoved => "run `zt watch` again".into(),
            Error::Corrupt(_) => {
                "the ledger was modified outside zt; restore `.zt/ledger.db` from a backup".into()
            }
            Error::Sqlite(_) => {
                "check that `.zt/ledger.db` is writable and not held by another process".into()
            }
            #[cfg(feature = "postgres")]
            Error::Postgres(_) => {
                "check that the PostgreSQL server is reachable and the connection string is right".into()
            }
            Error::NoBackend(_) => {
                "use a zt built with PostgreSQL support, or unset `[store] url` in zt.toml to use the embedded ledger".into()
            }
            Error::Io(_) => "check that the path exists and is writable".into(),
        })
    }
}
