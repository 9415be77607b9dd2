//! The shared ledger suite over PostgreSQL. Each test gets its own schema in the server named
//! by `ZT_TEST_POSTGRES` (default `host=127.0.0.1 user=postgres dbname=test`), dropped after.
// Backend constructors are test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "postgres")]

mod suite;

use std::sync::atomic::{AtomicU32, Ordering};

use zt_store::PostgresLedger;

struct Postgres {
    conn: String,
    schema: String,
}

impl Postgres {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "zt_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let conn = std::env::var("ZT_TEST_POSTGRES")
            .unwrap_or_else(|_| "host=127.0.0.1 user=postgres dbname=test".into());
        Self { conn, schema }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A raw connection: the ledger itself may refuse to open (see `newer_schema_is_refused`).
        if let Ok(mut c) = postgres::Client::connect(&self.conn, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

impl suite::Backend for Postgres {
    type L = PostgresLedger;
    fn open(&self) -> PostgresLedger {
        PostgresLedger::connect(&self.conn, &self.schema).unwrap()
    }
    fn raw_sql(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.conn, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {}; {sql}", self.schema))
            .unwrap();
    }
}

ledger_suite!(Postgres::new();
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

#[test]
fn newer_schema_is_refused() {
    let b = Postgres::new();
    drop(suite::Backend::open(&b));
    let mut c = postgres::Client::connect(&b.conn, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "UPDATE {}.zt_meta SET value = '42' WHERE key = 'schema_version'",
        b.schema
    ))
    .unwrap();
    let err = PostgresLedger::connect(&b.conn, &b.schema).unwrap_err();
    assert!(
        matches!(err, zt_store::Error::NewerSchema { found: 42, .. }),
        "{err}"
    );
}

/// A version-1 ledger (before access records) is migrated in place: its rows stay, the
/// access-record table appears.
#[test]
fn version_1_ledger_is_migrated() {
    use zt_store::{AccessQuery, Ledger as _, SCHEMA_VERSION};
    let b = Postgres::new();
    let mut c = postgres::Client::connect(&b.conn, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE SCHEMA {s}; SET search_path TO {s}; {v1}",
        s = b.schema,
        v1 = suite::SCHEMA_V1
    ))
    .unwrap();
    let l = PostgresLedger::connect(&b.conn, &b.schema).unwrap();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(l.revocations().unwrap().len(), 1);
    assert!(
        l.access_records(&AccessQuery::default())
            .unwrap()
            .is_empty()
    );
}
