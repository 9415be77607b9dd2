//! Shared helpers for end-to-end tests: run the real `zt` binary in a temp dir with a clean
//! environment.
#![allow(dead_code, unused_imports)]
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

pub(crate) use zt_test_support::{skip_outside_ci, softhsm, text};

/// The `zt` binary under test.
pub(crate) fn zt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zt"))
}

/// `../shared/testdata` relative to the repository root.
pub(crate) fn shared(rel: &str) -> PathBuf {
    zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), rel)
}

/// A `zt` command in `dir` with a clean environment (HOME inside the temp dir, no colour).
pub(crate) fn zt(dir: &Path) -> Command {
    zt_test_support::command(&zt_bin(), dir)
}

/// A source tree for a build: a temporary directory holding `input.txt` (not a git work tree).
pub(crate) fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("input.txt"), "source\n").unwrap();
    dir
}

/// `git ARGS` in `dir` with a fixed identity and no global configuration; asserts success and
/// returns stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {:?}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bundled example written to `dir/NAME` and taken through `zt pipeline run` once (which
/// must allow): the repository and the run's JSON report.
pub(crate) fn example_repo(dir: &Path, name: &str) -> (PathBuf, serde_json::Value) {
    let out = zt(dir)
        .args(["pipeline", "run", "--workdir", name, "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    (dir.join(name), serde_json::from_str(&stdout).unwrap())
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
