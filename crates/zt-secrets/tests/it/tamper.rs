//! Tamper tests: a flipped ciphertext byte is refused and named; a deleted or edited access
//! record (in the ledger or in the log) is found by the audit and named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Env;
use serde_json::Value;
use zt_secrets::{AccessQuery, Error};

fn flip_ciphertext(env: &Env, name: &str) {
    let path = env.zt().join("secrets/store.json");
    let mut store: Value = serde_json::from_slice(&fs_err::read(&path).unwrap()).unwrap();
    let ct = &mut store["secrets"][name]["versions"][0]["ciphertext"];
    let mut bytes = STANDARD.decode(ct.as_str().unwrap()).unwrap();
    bytes[3] ^= 0x01;
    *ct = Value::String(STANDARD.encode(bytes));
    fs_err::write(&path, serde_json::to_vec_pretty(&store).unwrap()).unwrap();
}

#[test]
fn flipped_ciphertext_byte_is_refused_and_named() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    flip_ciphertext(&env, "db");
    let err = broker.read(&issued.token, "db").unwrap_err();
    assert!(
        matches!(err, Error::Tampered { ref name, version: 1 } if name == "db"),
        "{err}"
    );
    assert!(err.to_string().contains("secret `db` version 1"), "{err}");
    let last = broker
        .audit(&AccessQuery::default())
        .unwrap()
        .records
        .pop()
        .unwrap();
    assert_eq!(
        (last.decision.as_str(), last.reason.as_str()),
        ("deny", "tampered")
    );
    drop(broker);
    let err = zt_secrets::read_as_operator(&env.zt(), "db", "test").unwrap_err();
    assert!(matches!(err, Error::Tampered { .. }), "{err}");
}

/// Makes some access records, then closes the broker (the audit reopens the log).
fn with_records(env: &Env) {
    let broker = env.broker();
    for _ in 0..3 {
        let issued = broker
            .exchange(env.token(&env.claims()).as_bytes())
            .unwrap();
        broker.read(&issued.token, "db").unwrap();
    }
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.checked >= 8);
}

fn ledger(env: &Env) -> rusqlite::Connection {
    rusqlite::Connection::open(env.zt().join("ledger.db")).unwrap()
}

fn problems(env: &Env) -> Vec<String> {
    zt_secrets::audit(&env.zt(), &AccessQuery::default())
        .unwrap()
        .problems
}

#[test]
fn deleted_record_is_named() {
    let env = Env::new();
    with_records(&env);
    assert!(problems(&env).is_empty());
    ledger(&env)
        .execute("DELETE FROM access_records WHERE seq = 4", [])
        .unwrap();
    let p = problems(&env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("record 4 (log index") && p[0].ends_with("deleted"),
        "{p:?}"
    );
}

#[test]
fn deleted_last_record_is_named() {
    let env = Env::new();
    with_records(&env);
    let last: i64 = ledger(&env)
        .query_row("SELECT max(seq) FROM access_records", [], |r| r.get(0))
        .unwrap();
    ledger(&env)
        .execute("DELETE FROM access_records WHERE seq = ?1", [last])
        .unwrap();
    let p = problems(&env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with(&format!("record {last} ")), "{p:?}");
}

#[test]
fn edited_record_is_named() {
    let env = Env::new();
    with_records(&env);
    // The columns the audit lists by.
    ledger(&env)
        .execute(
            "UPDATE access_records SET decision = 'deny' WHERE seq = 5",
            [],
        )
        .unwrap();
    let p = problems(&env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("record 5 ") && p[0].contains("edited"),
        "{p:?}"
    );
    // The stored entry itself.
    ledger(&env)
        .execute("UPDATE access_records SET decision = 'allow', entry = replace(entry, 'allow', 'deny') WHERE seq = 5", [])
        .unwrap();
    let p = problems(&env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("record 5 ") && p[0].contains("differs from the log entry"),
        "{p:?}"
    );
}

/// Editing the entry in the log's own files (the entry bundle) is caught too.
#[test]
fn edited_log_entry_is_named() {
    let env = Env::new();
    with_records(&env);
    let bundle_dir = env.zt().join("log/tile/entries");
    let mut files = vec![];
    let mut stack = vec![bundle_dir];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    // The checkpoint reads the newest partial bundle (`000.p/<width>`, widest last).
    files.sort_by_key(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    });
    files.reverse();
    let mut edited = false;
    for f in files {
        let mut b = fs_err::read(&f).unwrap();
        if let Some(i) = b.windows(7).position(|w| w == b"\"allow\"") {
            b[i + 1] = b'A';
            fs_err::write(&f, b).unwrap();
            edited = true;
            break;
        }
    }
    assert!(edited);
    // The log refuses to open over an entry that no longer hashes to its tile, and names it.
    let err = zt_secrets::audit(&env.zt(), &AccessQuery::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("tile/entries/000.p/") && msg.contains("do not hash"),
        "{msg}"
    );
}

/// A record that reached the write-ahead file but not the log (a crash in between) is
/// replayed into the log and the ledger when the broker opens again: none is lost.
#[test]
fn wal_records_reach_the_log_after_a_crash() {
    let env = Env::new();
    with_records(&env);
    let before = problems(&env);
    assert!(before.is_empty());
    let n = zt_secrets::audit(&env.zt(), &AccessQuery::default())
        .unwrap()
        .checked as u64;
    let line = serde_json::json!({"type": "zt-secrets-access/v1", "seq": n, "at": 1,
        "action": "read", "decision": "allow", "reason": "ok", "who": "crash test"});
    fs_err::write(
        env.zt().join("secrets/access.wal"),
        format!("{line}\n{{\"torn"),
    )
    .unwrap();
    let broker = env.broker();
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let last = report.records.last().unwrap();
    assert_eq!((last.seq, last.who.as_str()), (n, "crash test"));
}

/// Concurrent exchanges reach the log and the ledger in batches the committer gathers over
/// its interval; an audit waits for them, and each record
/// is there once, in `seq` order, provable under the checkpoint.
#[test]
fn concurrent_records_all_reach_the_log_and_ledger_in_order() {
    let env = Env::new();
    let broker = env.broker();
    let tokens: Vec<Vec<String>> = (0..8)
        .map(|_| (0..12).map(|_| env.token(&env.claims())).collect())
        .collect();
    std::thread::scope(|s| {
        for batch in &tokens {
            let broker = &broker;
            s.spawn(move || {
                for t in batch {
                    broker.exchange(t.as_bytes()).unwrap();
                }
            });
        }
    });
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let exchanges = report
        .records
        .iter()
        .filter(|r| r.action == "exchange" && r.decision == "allow")
        .count();
    assert_eq!(exchanges, 96);
    // The two `put`s of the set-up, then the exchanges.
    let seqs: Vec<u64> = report.records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (0..98).collect::<Vec<_>>());
    assert_eq!(report.checked, 98);
    drop(broker);
    assert!(problems(&env).is_empty());
}
