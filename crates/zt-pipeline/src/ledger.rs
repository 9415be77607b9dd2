//! The workspace's ledger, opened as configured: the embedded SQLite file (default) or a
//! PostgreSQL server (`[store] url = "postgres://…"` in `zt.toml`, or `ZT_STORE_URL`). Every
//! workflow opens the ledger here, so every command uses the same one.

use zt_core::{StoreLocation, Workspace};
use zt_store::Ledger;

use crate::Error;

/// The ledger every workflow writes to and reads from.
pub type Handle = Box<dyn Ledger>;

/// The PostgreSQL schema used when the URL names none (`?schema=NAME` picks one).
pub const DEFAULT_SCHEMA: &str = "zt";

/// Opens the workspace's ledger, creating the embedded one (or the PostgreSQL schema) on
/// first use.
pub fn open(ws: &Workspace) -> Result<Handle, Error> {
    match ws.store() {
        StoreLocation::Sqlite(path) => Ok(Box::new(zt_store::SqliteLedger::open(path)?)),
        StoreLocation::Postgres(url) => {
            let (conn, schema) = split_schema(url);
            Ok(Box::new(zt_store::PostgresLedger::connect(&conn, &schema)?))
        }
    }
}

/// Opens the workspace's ledger if it exists; judging never creates an embedded ledger. A
/// configured PostgreSQL ledger is always opened (an unreachable server is an error, never
/// "no evidence").
pub fn open_existing(ws: &Workspace) -> Result<Option<Handle>, Error> {
    match ws.store() {
        StoreLocation::Sqlite(path) if !path.is_file() => Ok(None),
        StoreLocation::Sqlite(path) => {
            Ok(Some(Box::new(zt_store::SqliteLedger::open_existing(path)?)))
        }
        StoreLocation::Postgres(_) => open(ws).map(Some),
    }
}

/// Splits `?schema=NAME` (or `&schema=NAME`) off a PostgreSQL URL: the client library does
/// not know that parameter.
fn split_schema(url: &str) -> (String, String) {
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
}
