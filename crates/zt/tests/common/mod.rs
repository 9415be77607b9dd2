//! Shared helpers for end-to-end tests: run the real `zt` binary in a temp dir with a clean
//! environment.
#![allow(dead_code)]
// Each test binary uses a different subset of these helpers.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Skips a test whose tool is missing, except under CI, which installs every tool
/// (`.ci/run`) and must run every test.
pub(crate) fn skip_outside_ci(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run this test: {why}"
    );
    eprintln!("NOTICE: {why}; test skipped");
}

/// The `zt` binary under test.
pub(crate) fn zt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zt"))
}

/// `../shared/testdata` relative to the repository root.
pub(crate) fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel)
}

/// A `zt` command in `dir` with a clean environment (HOME inside the temp dir, no colour).
pub(crate) fn zt(dir: &Path) -> Command {
    let mut c = Command::new(zt_bin());
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1");
    c
}

/// Whether `unshare -n` works here (root, or user namespaces allowed): then tests that must
/// run with no network run inside a fresh network namespace.
pub(crate) fn can_unshare_net() -> bool {
    let try_it = |args: &[&str]| {
        Command::new("unshare")
            .args(args)
            .arg("true")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    try_it(&["-n"]) || try_it(&["-rn"])
}

/// Runs `zt ARGS` with no network at all (inside `unshare -n` / `unshare -rn`). Panics when
/// CI=true and no network namespace can be made: CI must prove offline operation.
pub(crate) fn zt_offline(dir: &Path, args: &[&str]) -> Output {
    let flag = if Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        Some("-n")
    } else if Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        Some("-rn")
    } else {
        None
    };
    match flag {
        Some(flag) => Command::new("unshare")
            .arg(flag)
            .arg(zt_bin())
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("run unshare"),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run offline tests inside a network namespace, but `unshare -n` failed"
            );
            eprintln!("note: `unshare -n` unavailable; running with the network present");
            zt(dir).args(args).output().expect("run zt")
        }
    }
}

/// stdout and stderr as text.
pub(crate) fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A SoftHSM2 token (label `zt-test`, PIN 1234) in `dir`: its SOFTHSM2_CONF path, or None when
/// SoftHSM is not installed outside CI (CI installs it and must run this).
pub(crate) fn softhsm(dir: &Path) -> Option<String> {
    if Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have softhsm2 installed"
        );
        eprintln!("note: softhsm2-util not found; skipping the PKCS#11 test");
        return None;
    }
    let tokens = dir.join("tokens");
    fs_err::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    fs_err::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "zt-test",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    Some(conf.to_string_lossy().into_owned())
}
