//! End-to-end tests of `zt sbom` and `zt deps check`: the real binary in a temporary directory.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/lockfiles"
);

fn zt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zt"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn copy(from: &str, dir: &Path, to: &str) {
    fs_err::copy(Path::new(SHARED).join(from), dir.join(to)).unwrap();
}

#[test]
fn sbom_is_deterministic_and_lists_the_lockfile() {
    let dir = tempfile::tempdir().unwrap();
    copy("cargo-lock/many-packages.lock", dir.path(), "Cargo.lock");
    let a = zt(dir.path(), &["sbom", "--name", "demo", "--out", "a.json"]);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let b = zt(dir.path(), &["sbom", "--name", "demo", "--out", "b.json"]);
    assert_eq!(b.status.code(), Some(0));
    let a = fs_err::read(dir.path().join("a.json")).unwrap();
    assert_eq!(a, fs_err::read(dir.path().join("b.json")).unwrap());
    let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["components"].as_array().unwrap().len(), 6);
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");

    let s = zt(dir.path(), &["sbom", ".", "--format", "spdx"]);
    assert_eq!(s.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["packages"].as_array().unwrap().len(), 7);
}

#[test]
fn sbom_of_a_directory_without_lockfiles_has_the_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["sbom"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no lockfile"));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["components"].as_array().unwrap().is_empty());
}

#[test]
fn malformed_lockfile_is_an_input_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n[[package]]\nname = \"x\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["sbom", "--out", "out.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Cargo.lock:2: package `x` has no string `version`"),
        "{err}"
    );
    assert!(err.contains("help:"), "{err}");
    assert!(!dir.path().join("out.json").exists());
}

#[test]
fn deps_check_reports_unpinned_requirements() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("requirements.txt"),
        "good==1.0 --hash=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nloose>=2.0\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("requirements.txt:2: `loose>=2.0` does not pin an exact version"),
        "{out}"
    );
    assert!(
        out.contains("requirements.txt:2: `loose` has no `--hash`"),
        "{out}"
    );
    assert!(!out.contains(":1:"), "{out}");
    let j = zt(dir.path(), &["deps", "check", "--json"]);
    assert_eq!(j.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2);

    copy("cargo-lock/many-packages.lock", dir.path(), "Cargo.lock");
    fs_err::remove_file(dir.path().join("requirements.txt")).unwrap();
    assert_eq!(zt(dir.path(), &["deps", "check"]).status.code(), Some(0));
}

#[test]
fn deps_check_flags_git_without_commit_and_missing_checksums() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\nsource = \"git+https://example.com/b?branch=main\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Cargo.lock:3: `a` 1.0.0 has no checksum"),
        "{out}"
    );
    assert!(
        out.contains(
            "Cargo.lock:8: `b` comes from git `https://example.com/b` without a pinned commit"
        ),
        "{out}"
    );
}
