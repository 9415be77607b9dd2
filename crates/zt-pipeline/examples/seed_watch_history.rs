//! Loads a generated build history (zt_watch::generate, seeded) into a repository's ledger, for
//! `bench/watch.sh`: `cargo run --release -p zt-pipeline --example seed_watch_history -- DIR N
//! [FROM [TO]]` records builds FROM (default 0) to TO (default N) of the N-build history, so
//! that a history can be recorded in parts, as it would be between two `zt watch` runs.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench helper

use zt_store::{BuildRecord, Ledger as _, SqliteLedger};
use zt_watch::generate::{Spec, history, record};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("usage: seed_watch_history DIR N"));
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let from: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let to: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(n);
    let (builds, labels) = history(&Spec {
        builds: n,
        ..Spec::default()
    });
    let mut ledger = SqliteLedger::open(&dir.join(".zt/ledger.db")).expect("ledger");
    for f in builds.iter().take(to).skip(from) {
        ledger
            .put_build(&BuildRecord {
                id: f.id.clone(),
                outputs: vec![zt_core::Digest::sha256(f.id.as_bytes())],
                recorded_at: f.at,
                record: record(f),
            })
            .expect("put_build");
    }
    println!(
        "{} builds recorded (of {}), {} injected anomalies in all",
        to.min(builds.len()).saturating_sub(from),
        builds.len(),
        labels.len()
    );
}
