//! End to end: `zt normalize` on real files, through the binary.

// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/normalize/strip-nondeterminism"
);

fn zt(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zt"));
    c.current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn normalizes_fixture_zip_and_gzip_in_place() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::copy(
        format!("{FIXTURES}/zip/test.zip.in"),
        dir.path().join("test.zip"),
    )
    .unwrap();
    fs_err::copy(
        format!("{FIXTURES}/gzip/vimoutliner_vo_readme_txt.gz.in"),
        dir.path().join("r.gz"),
    )
    .unwrap();
    fs_err::write(dir.path().join("notes.txt"), "hello").unwrap();
    let out = zt(dir.path())
        .args([
            "normalize",
            "--timestamp",
            "1423159771",
            "test.zip",
            "r.gz",
            "notes.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "normalized zip test.zip\nnormalized gzip r.gz\nnot-recognised - notes.txt\n"
    );
    assert_eq!(
        fs_err::read(dir.path().join("test.zip")).unwrap(),
        fs_err::read(format!("{FIXTURES}/zip/test.zip.out")).unwrap()
    );
    assert_eq!(
        fs_err::read(dir.path().join("r.gz")).unwrap(),
        fs_err::read(format!("{FIXTURES}/gzip/vimoutliner_vo_readme_txt.gz.out")).unwrap()
    );
    // Again: nothing left to do.
    let out = zt(dir.path())
        .args(["--json", "normalize", "-T", "1423159771", "test.zip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["outcome"], "unchanged");
    assert_eq!(v["files"][0]["type"], "zip");
}

#[test]
fn source_date_epoch_is_the_default_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::copy(format!("{FIXTURES}/ar/one.a.in"), dir.path().join("one.a")).unwrap();
    let out = zt(dir.path())
        .env("SOURCE_DATE_EPOCH", "1423159771")
        .args(["normalize", "one.a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fs_err::read(dir.path().join("one.a")).unwrap(),
        fs_err::read(format!("{FIXTURES}/ar/one.a.out")).unwrap()
    );
}

#[test]
fn signed_jar_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::copy(
        format!("{FIXTURES}/jar/android.apk.in"),
        dir.path().join("android.apk"),
    )
    .unwrap();
    let out = zt(dir.path())
        .args(["normalize", "-T", "1423159771", "android.apk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "skipped jar android.apk\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring signed JAR file"));
}

#[test]
fn bad_input_exits_2_and_leaves_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path())
        .args(["normalize", "missing.zip"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`missing.zip` does not exist"), "{err}");
    assert!(err.contains("help:"), "{err}");

    let broken = [0x1f, 0x8b, 8, 8, 1, 2, 3, 4, 0, 3, b'n', b'a'];
    fs_err::write(dir.path().join("broken.gz"), broken).unwrap();
    let out = zt(dir.path())
        .args(["normalize", "broken.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`broken.gz` is not a valid gzip file: header is truncated")
    );
    assert_eq!(fs_err::read(dir.path().join("broken.gz")).unwrap(), broken);

    let out = zt(dir.path())
        .args(["normalize", "--type", "rar", "broken.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
