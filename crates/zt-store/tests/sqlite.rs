//! The shared ledger suite over the embedded SQLite backend.
// Backend constructors are test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod suite;

use std::path::PathBuf;

use zt_store::SqliteLedger;

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".zt/ledger.db");
        Self { _dir: dir, path }
    }
}

impl suite::Backend for Sqlite {
    type L = SqliteLedger;
    fn open(&self) -> SqliteLedger {
        SqliteLedger::open(&self.path).unwrap()
    }
    fn raw_sql(&self, sql: &str) {
        rusqlite::Connection::open(&self.path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }
}

ledger_suite!(Sqlite::new();
    fresh_ledger_has_current_schema,
    store_and_find_by_every_key,
    same_bundle_twice_is_a_no_op,
    invalid_bundles_are_refused_and_nothing_is_stored,
    records_survive_reopening,
    build_records,
    builds_since_lists_the_history_in_time_order_with_outputs,
    key_revocations,
    holdings_name_the_bundles_and_revocations,
    sigstore_bundle_round_trip,
    access_records,
    access_records_are_never_rewritten,
    evidence_pages_are_stable,
    evidence_by_commit,
    uploads_are_recorded_once,
    uploads_stored_together_are_each_as_alone,
    uploads_are_looked_up_together_as_one_by_one,
    open_findings_are_those_of_the_latest_scan_of_each_sbom,
    scans_recorded_before_the_scan_index_are_indexed_on_upgrade,
    build_figures_are_listed_by_time,
    intake_decisions_are_found_by_package,
    deployments_are_kept_by_digest,
    trace_reads_are_intake_decisions_and_deployments,
    builds_are_numbered_in_the_order_of_recording,
    builds_recorded_before_numbering_are_numbered_on_upgrade,
    the_watch_state_moves_from_its_cursor_only,
);

/// A version-1 ledger (before access records) is migrated in place to the current schema:
/// its bundles stay, the access-record table appears.
#[test]
fn version_1_ledger_is_migrated() {
    use zt_store::{AccessQuery, Ledger as _, SCHEMA_VERSION};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(suite::SCHEMA_V1).unwrap();
    }
    let l = SqliteLedger::open(&path).unwrap();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(l.revocations().unwrap().len(), 1);
    assert!(
        l.access_records(&AccessQuery::default())
            .unwrap()
            .is_empty()
    );
}
