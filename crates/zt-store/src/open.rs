//! Opening the ledger a workspace is configured with ([`zt_core::StoreLocation`]): the embedded
//! SQLite file (default) or a PostgreSQL server (`[store] url = "postgres://…"` in `zt.toml`, or
//! `ZT_STORE_URL`). Every writer of the ledger (workflows, the secrets broker's access records,
//! the server) opens it here, so they all use the same one.

use zt_core::StoreLocation;

use crate::{Error, Ledger};

/// A ledger of either backend (every [`Ledger`] can move to the thread that writes it).
pub type Handle = Box<dyn Ledger>;

/// The PostgreSQL schema used when the URL names none (`?schema=NAME` picks one).
pub const DEFAULT_SCHEMA: &str = "zt";

/// Opens the ledger at `location`, creating the embedded one (or the PostgreSQL schema) on
/// first use.
pub fn open(location: &StoreLocation) -> Result<Handle, Error> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Box::new(crate::SqliteLedger::open(path)?)),
        StoreLocation::Postgres(url) => open_postgres(url),
    }
}

/// Opens the ledger at `location` if it exists; readers never create an embedded ledger. A
/// configured PostgreSQL ledger is always opened (an unreachable server is an error, never
/// "no evidence").
pub fn open_existing(location: &StoreLocation) -> Result<Option<Handle>, Error> {
    match location {
        StoreLocation::Sqlite(path) if !path.is_file() => Ok(None),
        StoreLocation::Sqlite(path) => {
            Ok(Some(Box::new(crate::SqliteLedger::open_existing(path)?)))
        }
        StoreLocation::Postgres(url) => open_postgres(url).map(Some),
    }
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Handle, Error> {
    let (conn, schema) = split_schema(url);
    Ok(Box::new(crate::PostgresLedger::connect(&conn, &schema)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(url: &str) -> Result<Handle, Error> {
    Err(Error::NoBackend(redact(url)))
}

#[cfg(not(feature = "postgres"))]
fn redact(url: &str) -> String {
    // Never echo a password from a connection string.
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    }
}

/// Splits `?schema=NAME` (or `&schema=NAME`) off a PostgreSQL URL: the client library does
/// not know that parameter.
pub fn split_schema(url: &str) -> (String, String) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), DEFAULT_SCHEMA.to_owned());
    };
    let mut schema = DEFAULT_SCHEMA.to_owned();
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.strip_prefix("schema=") {
            Some(s) => {
                schema = s.to_owned();
                false
            }
            None => !kv.is_empty(),
        })
        .collect();
    let conn = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (conn, schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_ours() {
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".into(), "zt".into())
        );
        assert_eq!(
            split_schema("postgres://u@h/db?schema=team_a&sslmode=disable"),
            ("postgres://u@h/db?sslmode=disable".into(), "team_a".into())
        );
        assert_eq!(
            split_schema("postgres://u@h/db?schema=x"),
            ("postgres://u@h/db".into(), "x".into())
        );
    }

    #[test]
    fn an_embedded_ledger_is_not_created_by_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let at = StoreLocation::Sqlite(dir.path().join("ledger.db"));
        assert!(open_existing(&at).unwrap().is_none());
        assert!(!dir.path().join("ledger.db").exists());
        open(&at).unwrap();
        assert!(open_existing(&at).unwrap().is_some());
    }
}
