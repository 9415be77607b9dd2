//! One ledger test suite, run against every backend (`sqlite.rs`, `postgres.rs`): each test
//! is a function generic over a [`Backend`] that can open (and reopen) one ledger.

// Suite bodies are test code called from `#[test]` wrappers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use zt_core::Digest;
use zt_core::config::Stage;
use zt_store::index::BuildFigures;
use zt_store::{
    BuildRecord, BundleIndex, BundleQuery, Error, Ledger, Put, Revocation, SCHEMA_VERSION,
    WatchAlert, WatchUpdate,
};

/// A place a ledger lives; `open` may be called again to reopen the same ledger.
pub(crate) trait Backend {
    type L: Ledger;
    fn open(&self) -> Self::L;
    /// Runs SQL statements on the ledger's storage directly (to make an older schema).
    fn raw_sql(&self, sql: &str);
}

/// Generates one `#[test]` per suite function for a backend constructor.
#[macro_export]
macro_rules! ledger_suite {
    ($make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let backend = $make;
                suite::$name(&backend);
            }
        )*
    };
}

const PROVENANCE: &str = "https://slsa.dev/provenance/v1";
const TESTS: &str = "https://in-toto.io/attestation/test-result/v0.1";

fn d(s: &str) -> Digest {
    Digest::sha256(s.as_bytes())
}

fn index(
    subjects: &[&str],
    pt: Option<&str>,
    key: Option<&str>,
    log: Option<u64>,
    at: i64,
) -> BundleIndex {
    BundleIndex {
        subjects: subjects.iter().map(|s| d(s)).collect(),
        predicate_type: pt.map(str::to_string),
        key_id: key.map(str::to_string),
        log_index: log,
        stage: Some(Stage::Ci),
        recorded_at: at,
    }
}

fn bundle(n: u32) -> Vec<u8> {
    format!(r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","n":{n}}}"#)
        .into_bytes()
}

fn ids(v: &[zt_store::StoredBundle]) -> Vec<Digest> {
    v.iter().map(|b| b.id.clone()).collect()
}

pub(crate) fn fresh_ledger_has_current_schema<B: Backend>(b: &B) {
    let l = b.open();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(l.find_bundles(&BundleQuery::default()).unwrap().is_empty());
    assert!(l.revocations().unwrap().is_empty());
    assert_eq!(l.bundle(&d("nothing")).unwrap(), None);
    assert_eq!(l.build("nothing").unwrap(), None);
}

pub(crate) fn store_and_find_by_every_key<B: Backend>(b: &B) {
    let mut l = b.open();
    let (p1, put) = l
        .put_bundle(
            &bundle(1),
            &index(&["app"], Some(PROVENANCE), Some("k1"), Some(10), 100),
        )
        .unwrap();
    assert_eq!(put, Put::Inserted);
    assert_eq!(p1, Digest::sha256(&bundle(1)));
    let (t1, _) = l
        .put_bundle(
            &bundle(2),
            &index(&["app", "lib"], Some(TESTS), Some("k2"), Some(11), 101),
        )
        .unwrap();
    let (p2, _) = l
        .put_bundle(
            &bundle(3),
            &index(&["lib"], Some(PROVENANCE), Some("k2"), None, 99),
        )
        .unwrap();
    let (sig, _) = l
        .put_bundle(&bundle(4), &index(&["other"], None, None, Some(12), 102))
        .unwrap();

    assert_eq!(
        ids(&l.find_bundles(&BundleQuery::subject(&d("app"))).unwrap()),
        vec![p1.clone(), t1.clone()]
    );
    // Ordered by time, then id: p2 (99) before t1 (101).
    assert_eq!(
        ids(&l.find_bundles(&BundleQuery::subject(&d("lib"))).unwrap()),
        vec![p2.clone(), t1.clone()]
    );
    assert_eq!(
        ids(&l
            .find_bundles(&BundleQuery::predicate_type(PROVENANCE))
            .unwrap()),
        vec![p2.clone(), p1.clone()]
    );
    assert_eq!(
        ids(&l.find_bundles(&BundleQuery::key_id("k2")).unwrap()),
        vec![p2.clone(), t1.clone()]
    );
    let by_log = BundleQuery {
        log_index: Some(12),
        ..BundleQuery::default()
    };
    assert_eq!(ids(&l.find_bundles(&by_log).unwrap()), vec![sig.clone()]);
    // Fields AND together.
    let both = BundleQuery {
        subject: Some(d("lib")),
        key_id: Some("k2".into()),
        predicate_type: Some(TESTS.into()),
        log_index: None,
    };
    assert_eq!(ids(&l.find_bundles(&both).unwrap()), vec![t1.clone()]);
    assert!(
        l.find_bundles(&BundleQuery::subject(&d("absent")))
            .unwrap()
            .is_empty()
    );
    assert_eq!(l.find_bundles(&BundleQuery::default()).unwrap().len(), 4);

    let got = l.bundle(&t1).unwrap().unwrap();
    assert_eq!(got.json.as_bytes(), &bundle(2)[..]);
    let mut subjects = vec![d("app"), d("lib")];
    subjects.sort_by_key(|x| x.to_string());
    assert_eq!(got.index.subjects, subjects);
    assert_eq!(got.index.predicate_type.as_deref(), Some(TESTS));
    assert_eq!(got.index.key_id.as_deref(), Some("k2"));
    assert_eq!(got.index.log_index, Some(11));
    assert_eq!(got.index.stage, Some(Stage::Ci));
    assert_eq!(got.index.recorded_at, 101);
    let plain = l.bundle(&sig).unwrap().unwrap();
    assert_eq!(plain.index.predicate_type, None);
    assert_eq!(plain.index.key_id, None);
}

pub(crate) fn same_bundle_twice_is_a_no_op<B: Backend>(b: &B) {
    let mut l = b.open();
    let first = l
        .put_bundle(
            &bundle(1),
            &index(&["app"], Some(PROVENANCE), Some("k1"), Some(1), 100),
        )
        .unwrap();
    // Same bytes, even with a different index offered: the stored record wins.
    let again = l
        .put_bundle(
            &bundle(1),
            &index(&["zzz"], Some(TESTS), Some("k9"), Some(2), 200),
        )
        .unwrap();
    assert_eq!(again, (first.0.clone(), Put::AlreadyPresent));
    let all = l.find_bundles(&BundleQuery::default()).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].index.key_id.as_deref(), Some("k1"));
    assert!(
        l.find_bundles(&BundleQuery::subject(&d("zzz")))
            .unwrap()
            .is_empty()
    );
    // Duplicate subjects in one index are stored once.
    let (_, put) = l
        .put_bundle(&bundle(2), &index(&["x", "x"], None, None, None, 1))
        .unwrap();
    assert_eq!(put, Put::Inserted);
    assert_eq!(
        l.find_bundles(&BundleQuery::subject(&d("x")))
            .unwrap()
            .len(),
        1
    );
}

pub(crate) fn invalid_bundles_are_refused_and_nothing_is_stored<B: Backend>(b: &B) {
    let mut l = b.open();
    let idx = index(&["app"], Some(PROVENANCE), None, None, 1);
    for bad in [&b"not json"[..], b"[1,2]", b"\xff\xfe", b""] {
        assert!(
            matches!(l.put_bundle(bad, &idx), Err(Error::InvalidBundle(_))),
            "{bad:?}"
        );
    }
    let no_subject = index(&[], Some(PROVENANCE), None, None, 1);
    assert!(matches!(
        l.put_bundle(&bundle(1), &no_subject),
        Err(Error::InvalidBundle(_))
    ));
    let mut huge = idx.clone();
    huge.log_index = Some(u64::MAX);
    assert!(matches!(
        l.put_bundle(&bundle(1), &huge),
        Err(Error::InvalidBundle(_))
    ));
    assert!(l.find_bundles(&BundleQuery::default()).unwrap().is_empty());
}

pub(crate) fn records_survive_reopening<B: Backend>(b: &B) {
    let (id, rev) = {
        let mut l = b.open();
        let (id, _) = l
            .put_bundle(
                &bundle(7),
                &index(&["app"], Some(PROVENANCE), Some("k"), Some(3), 5),
            )
            .unwrap();
        let rev = Revocation {
            key_id: "k".into(),
            revoked_at: 50,
            reason: "laptop stolen".into(),
        };
        l.revoke_key(&rev).unwrap();
        l.put_build(&build("b1", &["app"], 4)).unwrap();
        (id, rev)
    };
    let l = b.open();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        l.bundle(&id).unwrap().unwrap().json.as_bytes(),
        &bundle(7)[..]
    );
    assert_eq!(l.revocation("k").unwrap(), Some(rev));
    assert_eq!(l.builds_producing(&d("app")).unwrap().len(), 1);
}

fn build(id: &str, outputs: &[&str], at: i64) -> BuildRecord {
    BuildRecord {
        id: id.into(),
        outputs: outputs.iter().map(|o| d(o)).collect(),
        recorded_at: at,
        record: serde_json::json!({"command": ["make"], "hermetic": true, "id": id}),
    }
}

pub(crate) fn build_records<B: Backend>(b: &B) {
    let mut l = b.open();
    assert_eq!(
        l.put_build(&build("b2", &["app", "lib"], 20)).unwrap(),
        Put::Inserted
    );
    assert_eq!(
        l.put_build(&build("b1", &["app"], 10)).unwrap(),
        Put::Inserted
    );
    assert_eq!(
        l.put_build(&build("b1", &["app"], 10)).unwrap(),
        Put::AlreadyPresent
    );
    let err = l.put_build(&build("b1", &["other"], 10)).unwrap_err();
    assert!(
        matches!(err, Error::Conflict { what: "build", .. }),
        "{err}"
    );
    let got = l.build("b2").unwrap().unwrap();
    assert_eq!(got.record["hermetic"], true);
    assert_eq!(got.outputs.len(), 2);
    let producing: Vec<String> = l
        .builds_producing(&d("app"))
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(producing, vec!["b1", "b2"]);
    assert!(l.builds_producing(&d("other")).unwrap().is_empty());
}

pub(crate) fn key_revocations<B: Backend>(b: &B) {
    let mut l = b.open();
    let r1 = Revocation {
        key_id: "kb".into(),
        revoked_at: 200,
        reason: "rotated".into(),
    };
    let r2 = Revocation {
        key_id: "ka".into(),
        revoked_at: 100,
        reason: "compromised".into(),
    };
    assert_eq!(l.revoke_key(&r1).unwrap(), Put::Inserted);
    assert_eq!(l.revoke_key(&r2).unwrap(), Put::Inserted);
    let later = Revocation {
        key_id: "kb".into(),
        revoked_at: 999,
        reason: "again".into(),
    };
    assert_eq!(l.revoke_key(&later).unwrap(), Put::AlreadyPresent);
    assert_eq!(l.revocation("kb").unwrap(), Some(r1.clone()));
    assert_eq!(l.revocation("kc").unwrap(), None);
    assert_eq!(l.revocations().unwrap(), vec![r2, r1]);
}

/// `holdings` names exactly the bundles about each subject and the keys' revocation rows, as
/// the backend's own reads would find them (the hub reuses what it derived from evidence only
/// while these are equal), and changes with every bundle stored about one of the subjects and
/// every revocation of one of the keys.
pub(crate) fn holdings_name_the_bundles_and_revocations<B: Backend>(b: &B) {
    let mut l = b.open();
    let (a1, _) = l
        .put_bundle(&bundle(1), &index(&["a"], Some(PROVENANCE), None, None, 1))
        .unwrap();
    let (ab, _) = l
        .put_bundle(&bundle(2), &index(&["a", "b"], Some(TESTS), None, None, 2))
        .unwrap();
    l.put_bundle(&bundle(3), &index(&["c"], Some(TESTS), None, None, 3))
        .unwrap();
    let subjects = [d("a"), d("b"), d("none")];
    let keys = ["ka".to_string(), "kb".to_string()];
    let first = l.holdings(&subjects, &keys).unwrap();
    let mut expected = vec![
        (d("a"), a1.clone()),
        (d("a"), ab.clone()),
        (d("b"), ab.clone()),
    ];
    expected.sort();
    assert_eq!(first.bundles, expected);
    assert!(first.revocations.is_empty());
    // Equal to what the bundles themselves give.
    let mut from_bundles = Vec::new();
    for s in &subjects {
        for found in l.find_bundles(&BundleQuery::subject(s)).unwrap() {
            from_bundles.push((s.clone(), found.id));
        }
    }
    from_bundles.sort();
    assert_eq!(first.bundles, from_bundles);
    assert_eq!(l.holdings(&subjects, &keys).unwrap(), first);

    // A bundle about another subject changes nothing; one about `b` does.
    l.put_bundle(&bundle(4), &index(&["c"], Some(TESTS), None, None, 4))
        .unwrap();
    assert_eq!(l.holdings(&subjects, &keys).unwrap(), first);
    let (b2, _) = l
        .put_bundle(&bundle(5), &index(&["b"], Some(TESTS), None, None, 5))
        .unwrap();
    let second = l.holdings(&subjects, &keys).unwrap();
    assert_ne!(second, first);
    assert!(second.bundles.contains(&(d("b"), b2)));

    // A revocation of another key changes nothing; one of `kb` does.
    let other = Revocation {
        key_id: "kz".into(),
        revoked_at: 1,
        reason: "x".into(),
    };
    l.revoke_key(&other).unwrap();
    assert_eq!(l.holdings(&subjects, &keys).unwrap(), second);
    let kb = Revocation {
        key_id: "kb".into(),
        revoked_at: 7,
        reason: "compromised".into(),
    };
    l.revoke_key(&kb).unwrap();
    let third = l.holdings(&subjects, &keys).unwrap();
    assert_eq!(third.revocations, vec![kb]);
    assert_eq!(third.bundles, second.bundles);
    assert_eq!(l.holdings(&[], &[]).unwrap(), zt_store::Holdings::default());
}

pub(crate) fn sigstore_bundle_round_trip<B: Backend>(b: &B) {
    let path = zt_test_support::shared(
        env!("CARGO_MANIFEST_DIR"),
        "sigstore/conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json",
    );
    let bytes = fs_err::read(path).unwrap();
    let idx =
        zt_store::index::from_sigstore_bundle(&bytes, Some(Stage::Deploy), 1_700_000_000).unwrap();
    let mut l = b.open();
    let (id, _) = l.put_bundle(&bytes, &idx).unwrap();
    let subject: Digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
        .parse()
        .unwrap();
    let found = l.find_bundles(&BundleQuery::subject(&subject)).unwrap();
    assert_eq!(ids(&found), vec![id]);
    assert_eq!(found[0].json.as_bytes(), &bytes[..]);
    assert_eq!(found[0].index, idx);
}

fn access(seq: u64, secret: &str, repo: &str, at: i64) -> zt_store::AccessRecord {
    zt_store::AccessRecord {
        seq,
        log_index: seq + 10,
        at,
        action: "read".into(),
        decision: "allow".into(),
        reason: "ok".into(),
        secret: Some(secret.into()),
        repository: Some(repo.into()),
        who: "https://issuer repo:org/app".into(),
        entry: format!("{{\"seq\":{seq}}}"),
    }
}

pub(crate) fn access_records<B: Backend>(b: &B) {
    use zt_store::AccessQuery;
    let mut l = b.open();
    l.put_access_records(&[
        access(0, "db", "org/app", 100),
        access(1, "api", "org/app", 200),
    ])
    .unwrap();
    l.put_access_records(&[access(2, "db", "org/other", 300)])
        .unwrap();
    let mut none = access(3, "x", "y", 400);
    none.secret = None;
    none.repository = None;
    l.put_access_records(&[none.clone()]).unwrap();
    drop(l);
    let l = b.open();
    let all = l.access_records(&AccessQuery::default()).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(all[3], none);
    let q = |secret: Option<&str>, repo: Option<&str>, since: Option<i64>| {
        l.access_records(&AccessQuery {
            secret: secret.map(Into::into),
            repository: repo.map(Into::into),
            since,
        })
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect::<Vec<_>>()
    };
    assert_eq!(q(Some("db"), None, None), [0, 2]);
    assert_eq!(q(None, Some("org/app"), None), [0, 1]);
    assert_eq!(q(Some("db"), Some("org/app"), None), [0]);
    assert_eq!(q(None, None, Some(200)), [1, 2, 3]);
}

/// A batch with a `seq` already stored is refused whole: access records are never rewritten.
pub(crate) fn access_records_are_never_rewritten<B: Backend>(b: &B) {
    use zt_store::AccessQuery;
    let mut l = b.open();
    l.put_access_records(&[access(0, "db", "org/app", 100)])
        .unwrap();
    let err = l
        .put_access_records(&[access(1, "db", "org/app", 100), access(0, "evil", "x", 1)])
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    let all = l.access_records(&AccessQuery::default()).unwrap();
    assert_eq!(all, [access(0, "db", "org/app", 100)]);
}

/// The version-1 schema exactly as zt 0.1 wrote it (before access records), with one
/// revocation, for the migration tests of both backends.
pub(crate) const SCHEMA_V1: &str =
    "CREATE TABLE zt_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO zt_meta VALUES ('schema_version', '1');
CREATE TABLE bundles (id TEXT PRIMARY KEY, json TEXT NOT NULL, predicate_type TEXT,
    key_id TEXT, log_index BIGINT, stage TEXT, recorded_at BIGINT NOT NULL);
CREATE TABLE bundle_subjects (digest TEXT NOT NULL,
    bundle_id TEXT NOT NULL REFERENCES bundles (id), PRIMARY KEY (digest, bundle_id));
CREATE TABLE builds (id TEXT PRIMARY KEY, record TEXT NOT NULL, recorded_at BIGINT NOT NULL);
CREATE TABLE build_outputs (digest TEXT NOT NULL,
    build_id TEXT NOT NULL REFERENCES builds (id), PRIMARY KEY (digest, build_id));
CREATE TABLE revocations (key_id TEXT PRIMARY KEY, revoked_at BIGINT NOT NULL,
    reason TEXT NOT NULL);
INSERT INTO revocations VALUES ('k', 5, 'lost');";

/// A v0.3 bundle carrying `statement` in a DSSE envelope (the signature is not checked here).
fn dsse(statement: &serde_json::Value) -> Vec<u8> {
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "dsseEnvelope": {
            "payload": zt_core::b64::encode(statement.to_string()),
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": "AA==", "keyid": ""}]
        }
    })
    .to_string()
    .into_bytes()
}

/// A bundle whose DSSE statement names `commit` as provenance's resolved dependency.
fn provenance_bundle(subject: &str, commit: &str) -> Vec<u8> {
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject, "digest": {"sha256": d(subject).hex()}}],
        "predicateType": PROVENANCE,
        "predicate": {"buildDefinition": {"resolvedDependencies": [
            {"uri": "git+https://example.com/r", "digest": {"gitCommit": commit}}
        ]}}
    });
    dsse(&statement)
}

/// Evidence pages: every filter, keyset paging in `(recorded_at, id)` order that neither
/// skips nor repeats a bundle, even when bundles are added between pages.
pub(crate) fn evidence_pages_are_stable<B: Backend>(b: &B) {
    use zt_store::{EvidenceQuery, Position};
    let mut l = b.open();
    // 25 bundles: 5 per timestamp, so paging must order by id within one time.
    let mut all = Vec::new();
    for n in 0..25u32 {
        let at = 1000 + i64::from(n / 5);
        let pt = if n % 2 == 0 { PROVENANCE } else { TESTS };
        let (id, _) = l
            .put_bundle(&bundle(n), &index(&["app"], Some(pt), Some("k1"), None, at))
            .unwrap();
        all.push((at, id));
    }
    all.sort_by_key(|a| (a.0, a.1.to_string()));
    let want: Vec<Digest> = all.iter().map(|(_, id)| id.clone()).collect();

    let mut q = EvidenceQuery {
        subject: Some(d("app")),
        limit: 7,
        ..EvidenceQuery::default()
    };
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = l.evidence(&q).unwrap();
        pages += 1;
        if pages == 2 {
            // Added meanwhile, recorded earlier than the cursor: never shown, nothing skipped.
            l.put_bundle(&bundle(99), &index(&["app"], None, None, None, 10))
                .unwrap();
        }
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        let last = page.last().unwrap();
        q.after = Some(Position {
            recorded_at: last.index.recorded_at,
            id: last.id.clone(),
        });
        got.extend(ids(&page));
    }
    assert_eq!(got, want);
    assert_eq!(pages, 5);

    let count = |q: EvidenceQuery| l.evidence(&q).unwrap().len();
    let base = EvidenceQuery {
        limit: 1000,
        ..EvidenceQuery::default()
    };
    assert_eq!(
        count(EvidenceQuery {
            predicate_type: Some(PROVENANCE.into()),
            ..base.clone()
        }),
        13
    );
    assert_eq!(
        count(EvidenceQuery {
            key_id: Some("k1".into()),
            since: Some(1001),
            until: Some(1003),
            ..base.clone()
        }),
        10
    );
    assert_eq!(
        count(EvidenceQuery {
            subject: Some(d("absent")),
            ..base.clone()
        }),
        0
    );
    // A limit of 0 is one; the page never exceeds MAX_PAGE.
    assert_eq!(
        count(EvidenceQuery {
            limit: 0,
            ..base.clone()
        }),
        1
    );
}

/// The commits a statement names are indexed: evidence can be found by commit.
pub(crate) fn evidence_by_commit<B: Backend>(b: &B) {
    use zt_store::EvidenceQuery;
    let mut l = b.open();
    let c1 = "ab".repeat(20);
    let c2 = "cd".repeat(20);
    let (a, _) = l
        .put_bundle(
            &provenance_bundle("app", &c1),
            &index(&["app"], Some(PROVENANCE), None, None, 5),
        )
        .unwrap();
    l.put_bundle(
        &provenance_bundle("lib", &c2),
        &index(&["lib"], Some(PROVENANCE), None, None, 6),
    )
    .unwrap();
    let q = EvidenceQuery {
        commit: Some(c1.to_uppercase()),
        ..EvidenceQuery::default()
    };
    assert_eq!(ids(&l.evidence(&q).unwrap()), vec![a.clone()]);
    let both = EvidenceQuery {
        commit: Some(c1),
        subject: Some(d("lib")),
        ..EvidenceQuery::default()
    };
    assert!(l.evidence(&both).unwrap().is_empty());
}

/// An upload stores the bundle and its upload record together; the same bundle uploaded
/// again keeps the first record; a bundle recorded before (not uploaded) can be uploaded.
pub(crate) fn uploads_are_recorded_once<B: Backend>(b: &B) {
    use zt_store::Upload;
    let mut l = b.open();
    let first = Upload {
        bundle_id: Digest::sha256(&bundle(1)),
        log_index: 3,
        who: "token:abc".into(),
        at: 50,
    };
    let idx = index(&["app"], Some(PROVENANCE), None, None, 50);
    let (id, put) = l.put_upload(&bundle(1), &idx, &first).unwrap();
    assert_eq!(put, Put::Inserted);
    assert_eq!(l.upload(&id).unwrap(), Some(first.clone()));
    let again = Upload {
        log_index: 9,
        who: "token:other".into(),
        ..first.clone()
    };
    assert_eq!(
        l.put_upload(&bundle(1), &idx, &again).unwrap(),
        (id.clone(), Put::AlreadyPresent)
    );
    assert_eq!(l.upload(&id).unwrap(), Some(first));
    assert_eq!(l.find_bundles(&BundleQuery::default()).unwrap().len(), 1);

    let (local, _) = l.put_bundle(&bundle(2), &idx).unwrap();
    assert_eq!(l.upload(&local).unwrap(), None);
    let up = Upload {
        bundle_id: local.clone(),
        log_index: 4,
        who: "oidc:x y".into(),
        at: 51,
    };
    assert_eq!(
        l.put_upload(&bundle(2), &idx, &up).unwrap().1,
        Put::Inserted
    );
    drop(l);
    let l = b.open();
    assert_eq!(l.upload(&local).unwrap(), Some(up));
    // A refused bundle leaves no upload behind.
    let mut l = l;
    let bad = Upload {
        bundle_id: Digest::sha256(b"[]"),
        ..first_upload()
    };
    assert!(l.put_upload(b"[]", &idx, &bad).is_err());
    assert_eq!(l.upload(&Digest::sha256(b"[]")).unwrap(), None);
}

/// Uploads stored together are stored as each would be alone; a batch with a bundle that
/// cannot be stored stores nothing.
pub(crate) fn uploads_stored_together_are_each_as_alone<B: Backend>(b: &B) {
    use zt_store::Upload;
    let mut l = b.open();
    let idx = index(&["app"], Some(PROVENANCE), None, None, 50);
    let up = |n: u32, log_index: u64| Upload {
        bundle_id: Digest::sha256(&bundle(n)),
        log_index,
        who: "token:abc".into(),
        at: 50,
    };
    let (one, two, three) = (bundle(1), bundle(2), bundle(3));
    l.put_upload(&one, &idx, &up(1, 1)).unwrap();
    let (u1, u2, u3) = (up(1, 7), up(2, 8), up(3, 9));
    let got = l
        .put_uploads(&[(&one, &idx, &u1), (&two, &idx, &u2), (&three, &idx, &u3)])
        .unwrap();
    assert_eq!(
        got,
        [
            (u1.bundle_id.clone(), Put::AlreadyPresent),
            (u2.bundle_id.clone(), Put::Inserted),
            (u3.bundle_id.clone(), Put::Inserted),
        ]
    );
    // The first upload record stays; the others are recorded with their bundles.
    assert_eq!(l.upload(&u1.bundle_id).unwrap(), Some(up(1, 1)));
    assert_eq!(l.upload(&u2.bundle_id).unwrap(), Some(u2));
    assert_eq!(
        l.find_bundles(&BundleQuery::subject(&d("app")))
            .unwrap()
            .len(),
        3
    );
    // All or none.
    let (four, u4) = (bundle(4), up(4, 10));
    let bad = Upload {
        bundle_id: Digest::sha256(b"[]"),
        ..first_upload()
    };
    assert!(
        l.put_uploads(&[(&four, &idx, &u4), (b"[]", &idx, &bad)])
            .is_err()
    );
    assert_eq!(l.upload(&u4.bundle_id).unwrap(), None);
    assert!(l.put_uploads(&[]).unwrap().is_empty());
}

/// Several bundles' upload records in one call (the hub's shared "uploaded before?"): each
/// id answered in the order asked, repeats too, absent ones `None`; the same records
/// [`Ledger::upload`] gives one by one.
pub(crate) fn uploads_are_looked_up_together_as_one_by_one<B: Backend>(b: &B) {
    use zt_store::Upload;
    let mut l = b.open();
    let idx = index(&["app"], Some(PROVENANCE), None, None, 50);
    let up = |n: u32, log_index: u64| Upload {
        bundle_id: Digest::sha256(&bundle(n)),
        log_index,
        who: format!("token:{n}"),
        at: 50 + i64::from(n),
    };
    let (one, two) = (bundle(1), bundle(2));
    let (u1, u2) = (up(1, 1), up(2, 2));
    l.put_uploads(&[(&one, &idx, &u1), (&two, &idx, &u2)])
        .unwrap();
    // A bundle stored without an upload record is not an upload.
    let plain = bundle(3);
    l.put_bundle(&plain, &idx).unwrap();
    let absent = Digest::sha256(b"never uploaded");
    let ids = [
        u2.bundle_id.clone(),
        absent.clone(),
        u1.bundle_id.clone(),
        Digest::sha256(&plain),
        u2.bundle_id.clone(),
    ];
    let found = l.uploads(&ids).unwrap();
    assert_eq!(
        found,
        [Some(u2.clone()), None, Some(u1.clone()), None, Some(u2)]
    );
    for (id, f) in ids.iter().zip(&found) {
        assert_eq!(&l.upload(id).unwrap(), f);
    }
    assert!(l.uploads(&[]).unwrap().is_empty());
}

fn first_upload() -> zt_store::Upload {
    zt_store::Upload {
        bundle_id: d("x"),
        log_index: 0,
        who: "token:t".into(),
        at: 0,
    }
}

pub(crate) fn builds_since_lists_the_history_in_time_order_with_outputs<B: Backend>(b: &B) {
    let mut l = b.open();
    l.put_build(&build("b3", &["x"], 30)).unwrap();
    l.put_build(&build("b2", &["app", "lib"], 20)).unwrap();
    l.put_build(&build("b1", &[], 10)).unwrap();
    let all: Vec<(String, usize)> = l
        .builds_since(0)
        .unwrap()
        .into_iter()
        .map(|b| (b.id, b.outputs.len()))
        .collect();
    assert_eq!(
        all,
        vec![("b1".into(), 0), ("b2".into(), 2), ("b3".into(), 1)]
    );
    let later = l.builds_since(20).unwrap();
    assert_eq!(later.len(), 2);
    let mut want = vec![d("app"), d("lib")];
    want.sort_by_key(|x| x.to_string());
    assert_eq!(later[0].outputs, want);
    assert!(l.builds_since(31).unwrap().is_empty());
}

const VULN_SCAN: &str = "https://zt.dev/attestation/vuln-scan/v1";

/// A vulnerability-scan bundle of `sbom` with `findings` as (advisory, package, severity,
/// waived); `n` makes bundles of equal content distinct.
fn scan_bundle(sbom: &str, findings: &[(&str, &str, &str, bool)], n: u32) -> Vec<u8> {
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": sbom, "digest": {"sha256": d(&format!("{sbom}{n}")).hex()}}],
        "predicateType": VULN_SCAN,
        "predicate": {
            "sbom": sbom,
            "findings": findings.iter().map(|(id, p, sev, w)| serde_json::json!({
                "id": id, "package": p, "severity": sev, "waived": w,
            })).collect::<Vec<_>>(),
        }
    });
    dsse(&statement)
}

fn put_scan<L: Ledger>(
    l: &mut L,
    sbom: &str,
    findings: &[(&str, &str, &str, bool)],
    n: u32,
    at: i64,
) {
    let subject = format!("{sbom}{n}");
    l.put_bundle(
        &scan_bundle(sbom, findings, n),
        &index(&[&subject], Some(VULN_SCAN), None, None, at),
    )
    .unwrap();
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Open findings are the unwaived ones of the requested severity in the latest scan of each
/// SBOM: an older scan of the same SBOM no longer counts, whatever order the scans arrive in;
/// another SBOM's scan does; a bundle that is not a scan is not read as one.
pub(crate) fn open_findings_are_those_of_the_latest_scan_of_each_sbom<B: Backend>(b: &B) {
    let mut l = b.open();
    assert!(l.open_findings("critical").unwrap().is_empty());
    put_scan(
        &mut l,
        "app/sbom.json",
        &[
            ("CVE-1", "pkg:npm/a@1", "critical", false),
            ("CVE-2", "pkg:npm/b@1", "high", false),
        ],
        1,
        100,
    );
    // The later scan of the same SBOM arrives first; the earlier one must not replace it.
    put_scan(
        &mut l,
        "app/sbom.json",
        &[
            ("CVE-3", "pkg:npm/a@2", "critical", false),
            ("CVE-4", "pkg:npm/c@1", "critical", true),
        ],
        2,
        200,
    );
    put_scan(
        &mut l,
        "app/sbom.json",
        &[("CVE-0", "pkg:npm/old@1", "critical", false)],
        3,
        50,
    );
    put_scan(
        &mut l,
        "lib/sbom.json",
        &[
            ("CVE-3", "pkg:npm/a@2", "critical", false),
            ("CVE-5", "pkg:npm/d@1", "critical", false),
        ],
        4,
        150,
    );
    l.put_bundle(
        &provenance_bundle("out/app", &"c".repeat(40)),
        &index(&["out/app"], Some(PROVENANCE), None, None, 300),
    )
    .unwrap();
    assert_eq!(
        l.open_findings("critical").unwrap(),
        pairs(&[("CVE-3", "pkg:npm/a@2"), ("CVE-5", "pkg:npm/d@1")])
    );
    assert!(l.open_findings("high").unwrap().is_empty());
    // A newer scan that fixed everything closes the SBOM's findings.
    put_scan(&mut l, "app/sbom.json", &[], 5, 400);
    assert_eq!(
        l.open_findings("critical").unwrap(),
        pairs(&[("CVE-3", "pkg:npm/a@2"), ("CVE-5", "pkg:npm/d@1")])
    );
    put_scan(&mut l, "lib/sbom.json", &[], 6, 400);
    assert!(l.open_findings("critical").unwrap().is_empty());
    // Reopened, the index is still there.
    drop(l);
    assert!(b.open().open_findings("critical").unwrap().is_empty());
}

/// A version-3 ledger (before the scan index) with scans recorded is upgraded in place and
/// its scans indexed, so the open findings are the same as if the index had always been there.
pub(crate) fn scans_recorded_before_the_scan_index_are_indexed_on_upgrade<B: Backend>(b: &B) {
    let mut l = b.open();
    put_scan(
        &mut l,
        "app/sbom.json",
        &[("CVE-1", "pkg:npm/a@1", "critical", false)],
        1,
        100,
    );
    put_scan(
        &mut l,
        "app/sbom.json",
        &[("CVE-2", "pkg:npm/a@2", "critical", false)],
        2,
        200,
    );
    l.put_build(&figured_build("b1", 300, Some(true), Some((7, 700))))
        .unwrap();
    let purl = "pkg:npm/left-pad@1.3.0";
    let intake = l
        .put_bundle(
            &intake_bundle(purl, "admitted", 1),
            &index(&[&format!("{purl}1")], Some(INTAKE), None, None, 400),
        )
        .unwrap()
        .0;
    drop(l);
    // What zt wrote at version 3: no scan tables, no build figures (nor version 5's build
    // numbers and watch tables).
    b.raw_sql(
        "DROP TABLE watch_alerts; DROP TABLE watch_state; DROP INDEX builds_by_seq; \
         ALTER TABLE builds DROP COLUMN seq; \
         DROP TABLE latest_scans; DROP TABLE scan_findings; DROP INDEX builds_by_time; \
         DROP TABLE intake_decisions; DROP TABLE deployments; \
         ALTER TABLE builds DROP COLUMN reproducible; ALTER TABLE builds DROP COLUMN setup_ms; \
         ALTER TABLE builds DROP COLUMN duration_ms; \
         UPDATE zt_meta SET value = '3' WHERE key = 'schema_version'",
    );
    let l = b.open();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        l.open_findings("critical").unwrap(),
        pairs(&[("CVE-2", "pkg:npm/a@2")])
    );
    assert_eq!(
        l.build_figures_since(0).unwrap(),
        [BuildFigures {
            recorded_at: 300,
            reproducible: Some(true),
            setup_ms: Some(7),
            duration_ms: Some(700),
        }]
    );
    let found = l.intake_decisions(&[purl.to_owned()]).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bundle_id, intake);
    assert_eq!(found[0].verdict, "admitted");
}

/// A build record with zt's figures: rebuilt (and whether it matched), behaviour recorded
/// (set-up and run time).
fn figured_build(
    id: &str,
    at: i64,
    reproducible: Option<bool>,
    ms: Option<(u64, u64)>,
) -> BuildRecord {
    let mut internal = serde_json::json!({});
    if let Some(r) = reproducible {
        internal["reproducible"] = r.into();
    }
    if let Some((setup, run)) = ms {
        internal["behaviour"] =
            serde_json::json!({"recorded": true, "setupMs": setup, "durationMs": run});
    }
    BuildRecord {
        id: id.into(),
        outputs: vec![d(id)],
        record: serde_json::json!({"buildDefinition": {"internalParameters": internal}}),
        recorded_at: at,
    }
}

/// The figures the metrics count are kept beside each build record and listed by time from
/// `since`: a build not rebuilt has no verdict, one without behaviour no times.
pub(crate) fn build_figures_are_listed_by_time<B: Backend>(b: &B) {
    let mut l = b.open();
    l.put_build(&figured_build("late", 30, Some(false), Some((5, 50))))
        .unwrap();
    l.put_build(&figured_build("early", 10, Some(true), None))
        .unwrap();
    l.put_build(&figured_build("middle", 20, None, Some((1, 9))))
        .unwrap();
    let f = |recorded_at, reproducible, ms: Option<(i64, i64)>| BuildFigures {
        recorded_at,
        reproducible,
        setup_ms: ms.map(|m| m.0),
        duration_ms: ms.map(|m| m.1),
    };
    assert_eq!(
        l.build_figures_since(0).unwrap(),
        [
            f(10, Some(true), None),
            f(20, None, Some((1, 9))),
            f(30, Some(false), Some((5, 50)))
        ]
    );
    assert_eq!(
        l.build_figures_since(20).unwrap(),
        [f(20, None, Some((1, 9))), f(30, Some(false), Some((5, 50)))]
    );
}

const INTAKE: &str = "https://zt.dev/attestation/dependency-intake/v1";

/// An intake decision bundle about `purl`.
fn intake_bundle(purl: &str, verdict: &str, n: u32) -> Vec<u8> {
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "pkg.tgz", "digest": {"sha256": d(&format!("{purl}{n}")).hex()}}],
        "predicateType": INTAKE,
        "predicate": {"purl": purl, "verdict": verdict, "reasons": []}
    });
    dsse(&statement)
}

/// Intake decisions are found by package, qualifiers and subpath aside, oldest first; a
/// package never taken in has none.
pub(crate) fn intake_decisions_are_found_by_package<B: Backend>(b: &B) {
    let mut l = b.open();
    let put = |l: &mut B::L, purl: &str, verdict: &str, n: u32, at: i64| {
        let subject = format!("{purl}{n}");
        l.put_bundle(
            &intake_bundle(purl, verdict, n),
            &index(&[&subject], Some(INTAKE), None, None, at),
        )
        .unwrap()
        .0
    };
    let held = put(&mut l, "pkg:npm/left-pad@1.3.0", "held", 1, 10);
    let admitted = put(&mut l, "pkg:npm/left-pad@1.3.0", "admitted", 2, 20);
    put(&mut l, "pkg:npm/other@1.0.0", "rejected", 3, 15);
    let got = l
        .intake_decisions(&[
            "pkg:npm/left-pad@1.3.0?arch=any".to_owned(),
            "pkg:npm/never@1".to_owned(),
        ])
        .unwrap();
    let summary: Vec<(&str, &str, &Digest, i64)> = got
        .iter()
        .map(|r| {
            (
                r.purl.as_str(),
                r.verdict.as_str(),
                &r.bundle_id,
                r.recorded_at,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("pkg:npm/left-pad@1.3.0", "held", &held, 10),
            ("pkg:npm/left-pad@1.3.0", "admitted", &admitted, 20)
        ]
    );
    assert!(l.intake_decisions(&[]).unwrap().is_empty());
}

/// Deploy reviews are kept by digest, newest first, limited; the same review twice is kept
/// once.
pub(crate) fn deployments_are_kept_by_digest<B: Backend>(b: &B) {
    let mut l = b.open();
    let review =
        |digest: &str, at: i64, allowed: bool, name: &str, log: u64| zt_store::Deployment {
            digest: d(digest),
            at,
            allowed,
            operation: "CREATE".into(),
            kind: "Pod".into(),
            namespace: "prod".into(),
            name: name.into(),
            log_index: Some(log),
        };
    let first = review("app", 10, true, "web-1", 4);
    let second = review("app", 20, false, "web-2", 7);
    l.put_deployments(&[first.clone(), review("other", 15, true, "x", 5)])
        .unwrap();
    l.put_deployments(&[second.clone(), first.clone()]).unwrap();
    assert_eq!(
        l.deployments(&d("app"), 10).unwrap(),
        [second.clone(), first]
    );
    assert_eq!(l.deployments(&d("app"), 1).unwrap(), [second]);
    assert!(l.deployments(&d("none"), 10).unwrap().is_empty());
}

/// A trace's reads in one call are the intake decisions and the deploy reviews, as each
/// read alone gives them (order included: reviews of one time without a log index last).
pub(crate) fn trace_reads_are_intake_decisions_and_deployments<B: Backend>(b: &B) {
    let mut l = b.open();
    for (n, (purl, verdict, at)) in [
        ("pkg:npm/left-pad@1.3.0", "held", 10),
        ("pkg:npm/left-pad@1.3.0", "admitted", 20),
        ("pkg:npm/other@1.0.0", "rejected", 15),
    ]
    .into_iter()
    .enumerate()
    {
        let n = u32::try_from(n).unwrap() + 1;
        let subject = format!("{purl}{n}");
        l.put_bundle(
            &intake_bundle(purl, verdict, n),
            &index(&[&subject], Some(INTAKE), None, None, at),
        )
        .unwrap();
    }
    let review = |at: i64, name: &str, log_index: Option<u64>| zt_store::Deployment {
        digest: d("app"),
        at,
        allowed: log_index.is_some(),
        operation: "CREATE".into(),
        kind: "Pod".into(),
        namespace: "prod".into(),
        name: name.into(),
        log_index,
    };
    l.put_deployments(&[
        review(10, "a", Some(4)),
        review(20, "b", Some(7)),
        review(20, "c", None),
        review(20, "d", Some(9)),
        review(5, "e", Some(1)),
    ])
    .unwrap();
    let purls = [
        "pkg:npm/left-pad@1.3.0?arch=any".to_owned(),
        "pkg:npm/other@1.0.0".to_owned(),
        "pkg:npm/never@1".to_owned(),
    ];
    for limit in [1, 3, 10] {
        let (intake, reviews) = l.trace_reads(&purls, &d("app"), limit).unwrap();
        assert_eq!(intake, l.intake_decisions(&purls).unwrap());
        assert_eq!(intake.len(), 3);
        assert_eq!(
            reviews,
            l.deployments(&d("app"), limit).unwrap(),
            "limit {limit}"
        );
    }
    let (intake, reviews) = l.trace_reads(&[], &d("none"), 10).unwrap();
    assert!(intake.is_empty() && reviews.is_empty());
}

fn seqs(l: &impl Ledger, after: u64) -> Vec<(u64, String)> {
    l.builds_after(after)
        .unwrap()
        .into_iter()
        .map(|b| (b.seq, b.id))
        .collect()
}

/// Builds are numbered in the order they are recorded, whatever their times, and an identical
/// record stored again takes no number: a watch that has read up to n has read every build
/// recorded before n.
pub(crate) fn builds_are_numbered_in_the_order_of_recording<B: Backend>(b: &B) {
    let mut l = b.open();
    assert!(seqs(&l, 0).is_empty());
    l.put_build(&build("late", &["x"], 30)).unwrap();
    l.put_build(&build("early", &[], 10)).unwrap();
    assert_eq!(
        l.put_build(&build("late", &["x"], 30)).unwrap(),
        Put::AlreadyPresent
    );
    l.put_build(&build("mid", &["y"], 20)).unwrap();
    assert_eq!(
        seqs(&l, 0),
        vec![(1, "late".into()), (2, "early".into()), (3, "mid".into())]
    );
    assert_eq!(seqs(&l, 2), vec![(3, "mid".into())]);
    assert!(seqs(&l, 3).is_empty());
    let got = l.builds_after(1).unwrap();
    assert_eq!(got[0].recorded_at, 10);
    assert_eq!(got[0].record["id"], "early");
}

/// A version-4 ledger (before build numbers and the watch's state) is upgraded in place: its
/// builds are numbered in the order they were listed then (time, then id), and the next build
/// recorded follows them.
pub(crate) fn builds_recorded_before_numbering_are_numbered_on_upgrade<B: Backend>(b: &B) {
    let mut l = b.open();
    l.put_build(&build("b", &["x"], 20)).unwrap();
    l.put_build(&build("c", &[], 10)).unwrap();
    l.put_build(&build("a", &["y"], 20)).unwrap();
    drop(l);
    b.raw_sql(
        "DROP TABLE watch_alerts; DROP TABLE watch_state; DROP INDEX builds_by_seq; \
         ALTER TABLE builds DROP COLUMN seq; \
         UPDATE zt_meta SET value = '4' WHERE key = 'schema_version'",
    );
    let mut l = b.open();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        seqs(&l, 0),
        vec![(1, "c".into()), (2, "a".into()), (3, "b".into())]
    );
    assert_eq!(l.watch_cursor().unwrap(), None);
    l.put_build(&build("d", &[], 5)).unwrap();
    assert_eq!(seqs(&l, 3), vec![(4, "d".into())]);
}

fn alert(build_seq: u64, ordinal: u32, at: i64) -> WatchAlert {
    WatchAlert {
        build_seq,
        ordinal,
        at,
        build: format!("b{build_seq}"),
        rank: 3,
        alert: format!(r#"{{"n":{ordinal}}}"#),
    }
}

fn state(kind: &str, name: &str, state: &str) -> (String, String, String) {
    (kind.into(), name.into(), state.into())
}

/// The watch's state moves only from the cursor it was computed from: a second run that read
/// the same cursor is refused and writes nothing; a reset replaces every state row and alert.
pub(crate) fn the_watch_state_moves_from_its_cursor_only<B: Backend>(b: &B) {
    let mut l = b.open();
    assert_eq!(l.watch_cursor().unwrap(), None);
    let first = WatchUpdate {
        expected: None,
        cursor: "c1".into(),
        reset: true,
        states: vec![state("pipeline", "p", "s1"), state("repository", "r", "r1")],
        alerts: vec![alert(1, 0, 10), alert(1, 1, 10), alert(2, 0, 20)],
    };
    l.put_watch(&first).unwrap();
    assert_eq!(l.watch_cursor().unwrap().as_deref(), Some("c1"));
    // Another run that also saw no cursor lost the race.
    let err = l.put_watch(&first).unwrap_err();
    assert!(matches!(err, Error::WatchMoved), "{err}");
    let stale = WatchUpdate {
        expected: Some("c0".into()),
        cursor: "c2".into(),
        states: vec![state("pipeline", "p", "stale")],
        alerts: vec![alert(3, 0, 30)],
        ..WatchUpdate::default()
    };
    assert!(matches!(l.put_watch(&stale), Err(Error::WatchMoved)));
    let names = vec!["p".to_owned(), "q".to_owned()];
    assert_eq!(
        l.watch_states("pipeline", &names).unwrap(),
        vec![("p".into(), "s1".into())]
    );
    assert_eq!(l.watch_alerts(i64::MIN).unwrap().len(), 3);
    // A step from the cursor: one state row replaced, one added, alerts added.
    l.put_watch(&WatchUpdate {
        expected: Some("c1".into()),
        cursor: "c2".into(),
        reset: false,
        states: vec![state("pipeline", "p", "s2"), state("pipeline", "q", "q1")],
        alerts: vec![alert(3, 0, 30)],
    })
    .unwrap();
    assert_eq!(
        l.watch_states("pipeline", &names).unwrap(),
        vec![("p".into(), "s2".into()), ("q".into(), "q1".into())]
    );
    let mut since: Vec<(u64, u32)> = l
        .watch_alerts(20)
        .unwrap()
        .into_iter()
        .map(|a| (a.build_seq, a.ordinal))
        .collect();
    since.sort();
    assert_eq!(since, vec![(2, 0), (3, 0)]);
    let got = l.watch_alerts(30).unwrap();
    assert_eq!(got, vec![alert(3, 0, 30)]);
    // A reset from the cursor: only what it writes is left.
    drop(l);
    let mut l = b.open();
    l.put_watch(&WatchUpdate {
        expected: Some("c2".into()),
        cursor: "c3".into(),
        reset: true,
        states: vec![state("pipeline", "q", "q2")],
        alerts: vec![alert(1, 0, 10)],
    })
    .unwrap();
    assert_eq!(
        l.watch_states("pipeline", &names).unwrap(),
        vec![("q".into(), "q2".into())]
    );
    assert!(
        l.watch_states("repository", &["r".into()])
            .unwrap()
            .is_empty()
    );
    assert_eq!(l.watch_alerts(i64::MIN).unwrap(), vec![alert(1, 0, 10)]);
    assert_eq!(l.watch_cursor().unwrap().as_deref(), Some("c3"));
}
