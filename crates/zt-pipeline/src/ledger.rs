//! The workspace's ledger, opened as configured: the embedded SQLite file (default) or a
//! PostgreSQL server (`[store] url = "postgres://…"` in `zt.toml`, or `ZT_STORE_URL`). Every
//! workflow opens the ledger here, so every command uses the same one.

use zt_core::Workspace;

use crate::Error;

/// The ledger every workflow writes to and reads from.
pub type Handle = zt_store::Handle;

pub use zt_store::DEFAULT_SCHEMA;

/// Opens the workspace's ledger, creating the embedded one (or the PostgreSQL schema) on
/// first use.
pub fn open(ws: &Workspace) -> Result<Handle, Error> {
    Ok(zt_store::open(ws.store())?)
}

/// Opens the workspace's ledger if it exists; judging never creates an embedded ledger. A
/// configured PostgreSQL ledger is always opened (an unreachable server is an error, never
/// "no evidence").
pub fn open_existing(ws: &Workspace) -> Result<Option<Handle>, Error> {
    Ok(zt_store::open_existing(ws.store())?)
}

/// Records deploy admission reviews in the workspace's ledger (created if there is none yet),
/// all or none.
pub fn record_deployments(
    ws: &Workspace,
    deployments: &[zt_store::Deployment],
) -> Result<(), Error> {
    if deployments.is_empty() {
        return Ok(());
    }
    open(ws)?.put_deployments(deployments)?;
    Ok(())
}
