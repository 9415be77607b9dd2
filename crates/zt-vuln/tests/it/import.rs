//! Importing the real advisory databases in `shared/testdata/osv/` into a store, and reading
//! them back through the indexes.

// Test helpers outside `#[test]` functions: a failed read must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use zt_vuln::Ecosystem;
use zt_vuln::osv::AdvisoryKind;
use zt_vuln::store::{Store, import};

const OSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/osv/");

fn p(rel: &str) -> PathBuf {
    PathBuf::from(format!("{OSV}{rel}"))
}

#[test]
fn import_every_database() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("vuln");
    let paths = [
        p("pypa-advisory-db/vulns"),
        p("rustsec/crates"),
        p("malicious"),
    ];
    let report = import(&store_dir, &paths, 1_800_000_000).unwrap();
    for e in &report.skipped {
        eprintln!("skipped: {e}");
    }
    println!("{report:?}");
    assert!(report.skipped.is_empty());
    assert_eq!(report.files, 2661 + 1205 + 20);
    let store = Store::open(&store_dir).unwrap();
    let m = store.manifest();
    assert_eq!(m.sources.get("rustsec"), Some(&1205));
    assert_eq!(m.sources.get("osv"), Some(&(2661 + 20)));
    assert_eq!(m.kinds.get("unmaintained"), Some(&267));
    assert_eq!(m.kinds.get("unsound"), Some(&203));
    assert_eq!(m.kinds.get("notice"), Some(&6));
    assert_eq!(m.kinds.get("malicious"), Some(&20));
    assert_eq!(m.withdrawn, 13 + 10);
    let adv = store.query(&Ecosystem::PyPI, "AccessControl").unwrap();
    assert!(adv.iter().any(|a| a.id == "PYSEC-2021-335"));
    let a = store.get("CVE-2020-36212").unwrap();
    assert_eq!(a.id, "RUSTSEC-2020-0105");
    assert_eq!(a.kind, AdvisoryKind::Vulnerability);
}

const GOOD: &str = r#"{"id": "TEST-1", "modified": "2024-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]}]}"#;

#[test]
fn a_bad_record_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs_err::create_dir_all(&src).unwrap();
    fs_err::write(src.join("good.json"), GOOD).unwrap();
    fs_err::write(
        src.join("badver.json"),
        GOOD.replace("TEST-1", "TEST-2")
            .replace("\"1.2\"", "\"1.2 beta\""),
    )
    .unwrap();
    fs_err::write(
        src.join("noid.yaml"),
        "modified: 2024-01-01T00:00:00Z\naffected: []\n",
    )
    .unwrap();
    fs_err::write(
        src.join("twokeys.json"),
        GOOD.replace("TEST-1", "TEST-3")
            .replace(r#"{"fixed": "1.2"}"#, r#"{"fixed": "1.2", "limit": "2"}"#),
    )
    .unwrap();
    fs_err::write(src.join("broken.json"), "{\"id\": ").unwrap();
    let store_dir = dir.path().join("store");
    let report = import(&store_dir, std::slice::from_ref(&src), 1_700_000_000).unwrap();
    let errors: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(report.added, 1, "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("badver.json")
            && e.contains("affected[0].ranges[0].events[1].fixed")
            && e.contains("`1.2 beta`")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("noid.yaml") && e.contains("missing field `id`")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("twokeys.json") && e.contains("exactly one of")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("broken.json")),
        "{errors:?}"
    );
    let store = Store::open(&store_dir).unwrap();
    assert_eq!(store.manifest().records, 1);
    assert_eq!(store.query(&Ecosystem::PyPI, "demo.pkg").unwrap().len(), 1);
}

#[test]
fn reimport_replaces_by_id_and_modified() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.json");
    let store_dir = dir.path().join("store");
    fs_err::write(&src, GOOD).unwrap();
    import(&store_dir, std::slice::from_ref(&src), 1).unwrap();
    // newer: replaces
    fs_err::write(
        &src,
        GOOD.replace("2024-01-01", "2024-02-01")
            .replace("\"1.2\"", "\"1.3\""),
    )
    .unwrap();
    let r = import(&store_dir, std::slice::from_ref(&src), 2).unwrap();
    assert_eq!((r.added, r.updated, r.total), (0, 1, 1));
    // older: ignored
    fs_err::write(&src, GOOD).unwrap();
    let r = import(&store_dir, std::slice::from_ref(&src), 3).unwrap();
    assert_eq!((r.updated, r.unchanged), (0, 1));
    let store = Store::open(&store_dir).unwrap();
    let adv = store.get("TEST-1").unwrap();
    assert_eq!(adv.modified, "2024-02-01T00:00:00Z");
    // one generation directory only: the old ones were removed after the swap
    let gens = fs_err::read_dir(&store_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(gens, 1);
}

/// The OSV schema repository's records: every schema-valid record imports, the one without an
/// `introduced` event is rejected, and the two non-record JSON files are reported.
#[test]
fn osv_schema_records() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(&dir.path().join("s"), &[p("osv-schema")], 1).unwrap();
    let mut skipped: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    skipped.sort();
    assert_eq!(skipped.len(), 3, "{skipped:#?}");
    assert!(skipped[0].contains("ecosystems.json") && skipped[0].contains("missing field `id`"));
    assert!(
        skipped[1].contains("nointroduced-CVE-2023-41045.json")
            && skipped[1].contains("has no `introduced` event")
    );
    assert!(skipped[2].contains("schema.json"));
    assert_eq!(report.files, 24);
}
