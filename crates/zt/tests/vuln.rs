//! End-to-end tests of `zt vuln …`: the real binary in a temporary directory.
// Test helpers outside `#[test]` functions: a failed read or a malformed fixture must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

fn zt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zt"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_cmp_prints_the_order() {
    let dir = tempfile::tempdir().unwrap();
    for (eco, a, b, want) in [
        ("PyPI", "1.0.dev1", "1.0a1", "<"),
        ("Maven", "1.0", "1.0.0-ga", "="),
        ("Debian", "1:1.0", "2.0", ">"),
        ("Go", "v1.2.3", "1.2.3", "="),
    ] {
        let o = zt(
            dir.path(),
            &["vuln", "version-cmp", "--ecosystem", eco, a, b],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), want, "{eco} {a} {b}");
    }
}

#[test]
fn version_cmp_rejects_invalid_versions_and_unsupported_ecosystems() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "version-cmp", "--ecosystem", "Debian", "1.0", "abc"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid Debian version `abc`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("help:"));
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "version-cmp",
            "--ecosystem",
            "Bioconductor",
            "1",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not supported"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn cvss_scores_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "cvss",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "9.3 Critical");
    let o = zt(
        dir.path(),
        &["vuln", "cvss", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("mandatory base metric `S` is missing"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn db_import_skips_a_bad_record_and_status_reports_age() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("recs");
    fs_err::create_dir_all(&src).unwrap();
    fs_err::copy(
        format!("{SHARED}/osv/malicious/pypi/0-8/MAL-2025-2925.json"),
        src.join("MAL-2025-2925.json"),
    )
    .unwrap();
    fs_err::write(
        src.join("bad.json"),
        r#"{"id": "X-1", "modified": "yesterday"}"#,
    )
    .unwrap();
    let o = zt(dir.path(), &["vuln", "db", "import", "recs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 added"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("bad.json") && stderr(&o).contains("field `modified`"),
        "{}",
        stderr(&o)
    );
    assert!(dir.path().join(".zt/vuln/manifest.json").exists());

    let o = zt(dir.path(), &["--json", "vuln", "db", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["records"], 1);
    assert_eq!(v["manifest"]["ecosystems"]["PyPI"]["records"], 1);
    assert_eq!(v["manifest"]["newest_modified"], "2025-03-28T13:05:11Z");

    // the record is from 2025-03-28: a one-day maximum age fails, a 100-year one passes
    let o = zt(dir.path(), &["vuln", "db", "status", "--max-age-days", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("days old, over the maximum of 1 days"),
        "{}",
        stderr(&o)
    );
    let o = zt(
        dir.path(),
        &["vuln", "db", "status", "--max-age-days", "36500"],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn db_status_without_a_store_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["vuln", "db", "status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("zt vuln db import"), "{}", stderr(&o));
}
