//! No outcome before its record: an exchange's scoped token or a read's value is released only
//! once its access record is in the write-ahead file, on the blocking path (`exchange`, `read`:
//! the CLI) and the async one (`start_exchange`, `start_read`: `zt serve`), and a record that
//! cannot be written fails the call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use zt_test_support::issuer::{AUDIENCE, Issuer};

use crate::{AccessQuery, Binding, Broker, Error, Pending, audit::WAL_FILE};

const VALUE: &[u8] = b"durable-s3cr3t";

struct Env {
    _dir: tempfile::TempDir,
    zt: PathBuf,
    issuer: Issuer,
}

/// A store with one secret bound to org/app, trusting `issuer`: pinned keys (no fetch ever) or
/// discovery on loopback.
fn env(pinned: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let zt = dir.path().join(".zt");
    crate::init(&zt, &crate::InitOptions::default()).unwrap();
    let mut issuer = Issuer::new("https://issuer.example", "k1");
    let trust = if pinned {
        fs_err::write(
            zt.join("secrets/jwks.json"),
            issuer.jwks().to_string().as_bytes(),
        )
        .unwrap();
        format!(
            "[[issuer]]\nurl = \"{}\"\naudiences = [\"{AUDIENCE}\"]\njwks = \"jwks.json\"\n",
            issuer.iss
        )
    } else {
        issuer.iss = Issuer::serve_jwks(issuer.jwks());
        format!(
            "[[issuer]]\nurl = \"{}\"\naudiences = [\"{AUDIENCE}\"]\n",
            issuer.iss
        )
    };
    fs_err::write(zt.join("secrets/trust.toml"), trust.as_bytes()).unwrap();
    let binding = Binding::parse("repository=org/app,ref=refs/heads/main").unwrap();
    crate::put(&zt, "db", VALUE, vec![binding]).unwrap();
    Env {
        _dir: dir,
        zt,
        issuer,
    }
}

impl Env {
    fn token(&self, jti: &str) -> String {
        self.issuer
            .mint(&self.issuer.claims("org/app", "refs/heads/main", jti))
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives a future to its end on this thread (no runtime: the access log's thread completes
/// the record and wakes this one).
fn block_on<F: Future + Unpin>(mut f: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = std::pin::Pin::new(&mut f).poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

fn wal_text(zt: &Path) -> String {
    String::from_utf8(fs_err::read(zt.join(WAL_FILE)).unwrap()).unwrap()
}

fn awaited<T: Unpin>(p: Pending<T>) -> Result<T, Error> {
    block_on(p)
}

#[test]
fn an_exchange_and_a_read_return_only_once_their_records_are_in_the_wal() {
    let env = env(true);
    let broker = Broker::open(&env.zt).unwrap();
    let blocking = broker.exchange(env.token("sync").as_bytes()).unwrap();
    assert!(wal_text(&env.zt).contains(&blocking.id));
    let pending = broker
        .start_exchange(env.token("async").as_bytes())
        .expect("pinned keys never need a fetch");
    let issued = awaited(pending).unwrap();
    assert!(wal_text(&env.zt).contains(&issued.id));
    let before = wal_text(&env.zt).matches(r#""action":"read""#).count();
    let value = awaited(broker.start_read(&issued.token, "db")).unwrap();
    assert_eq!(value.expose(), VALUE);
    assert_eq!(
        wal_text(&env.zt).matches(r#""action":"read""#).count(),
        before + 1
    );
}

/// Regression guard for the async path: a WAL that cannot be written must fail the exchange
/// (and the read) and release no token (and no value), exactly as the blocking path does.
#[test]
fn a_failed_wal_write_fails_the_call_and_releases_nothing() {
    let env = env(true);
    let broker = Broker::open(&env.zt).unwrap();
    let issued = broker.exchange(env.token("before").as_bytes()).unwrap();
    broker.access.break_wal(&env.zt);

    let err = broker
        .exchange(env.token("sync").as_bytes())
        .expect_err("no token without its record");
    assert!(matches!(err, Error::Audit(_)), "{err}");
    let pending = broker
        .start_exchange(env.token("async").as_bytes())
        .unwrap();
    let err = awaited(pending).expect_err("no token without its record");
    assert!(matches!(err, Error::Audit(_)), "{err}");
    assert!(err.to_string().contains(WAL_FILE), "{err}");

    let err = awaited(broker.start_read(&issued.token, "db")).expect_err("no value");
    assert!(matches!(err, Error::Audit(_)), "{err}");
    let err = broker.read(&issued.token, "db").expect_err("no value");
    assert!(matches!(err, Error::Audit(_)), "{err}");
}

#[test]
fn concurrent_exchanges_on_both_paths_are_each_recorded_once() {
    let env = Arc::new(env(true));
    let broker = Arc::new(Broker::open(&env.zt).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (env, broker) = (env.clone(), broker.clone());
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let token = env.token(&format!("c-{t}-{i}"));
                        let issued = if (t + i) % 2 == 0 {
                            broker.exchange(token.as_bytes()).unwrap()
                        } else {
                            awaited(broker.start_exchange(token.as_bytes()).unwrap()).unwrap()
                        };
                        // Every third token is replayed: refused, and that refusal recorded.
                        if i % 3 == 0 {
                            let e = broker.exchange(token.as_bytes()).unwrap_err();
                            assert_eq!(e.reason(), "replayed_jti");
                        }
                        issued.id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<String> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let mut allowed: Vec<String> = report
        .records
        .iter()
        .filter(|e| e.action == "exchange" && e.decision == "allow")
        .map(|e| e.token_id.clone().unwrap())
        .collect();
    ids.sort();
    allowed.sort();
    assert_eq!(allowed, ids, "each issued token recorded exactly once");
    let replays = report
        .records
        .iter()
        .filter(|e| e.reason == "replayed_jti")
        .count();
    assert_eq!(replays, 8 * 9);
    let seqs: Vec<u64> = report.records.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn an_exchange_that_must_fetch_keys_is_left_to_the_blocking_path() {
    let env = env(false);
    let broker = Broker::open(&env.zt).unwrap();
    let records = || broker.audit(&AccessQuery::default()).unwrap().records.len();
    let before = records();
    // Discovery has not run yet: deciding would block on the network.
    assert!(
        broker
            .start_exchange(env.token("first").as_bytes())
            .is_none()
    );
    assert_eq!(
        records(),
        before,
        "nothing recorded for an exchange not run"
    );
    // The same token is still exchangeable (its jti was not claimed), on the blocking path.
    broker.exchange(env.token("first").as_bytes()).unwrap();
    // Keys cached now: the async path takes the next one.
    let pending = broker.start_exchange(env.token("second").as_bytes());
    awaited(pending.expect("keys are cached")).unwrap();
    assert_eq!(records(), before + 2);
}
