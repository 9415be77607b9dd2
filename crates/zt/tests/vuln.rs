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
