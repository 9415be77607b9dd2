//! What zt's tests share, in one place instead of copied into each test file: the runner of
//! the real `zt` binary in an isolated directory, a test OIDC issuer (ES256 key, tokens with
//! any header and claims, its JWKS served on loopback), a SoftHSM2 token, the path of the
//! shared real-world test data, and the rule that CI runs every test.
//!
//! ```
//! let issuer = zt_test_support::issuer::Issuer::new("https://issuer.test", "k1");
//! let token = issuer.mint(&issuer.claims("org/app", "refs/heads/main", "jti-1"));
//! assert_eq!(token.split('.').count(), 3);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Test support: a failed unwrap is a failed test, and tests talk on stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

pub mod issuer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Skips a test whose tool is missing, except under CI, which installs every tool
/// (`.ci/run`) and must run every test.
pub fn skip_outside_ci(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run this test: {why}"
    );
    eprintln!("NOTICE: {why}; test skipped");
}

/// `shared/testdata/REL` beside the repository (`../shared/testdata`), found from a crate
/// directory (`env!("CARGO_MANIFEST_DIR")`) upwards, so that it resolves from a git worktree
/// too; where none exists, the path beside the repository (for the error message).
pub fn shared(manifest_dir: &str, rel: &str) -> PathBuf {
    let start = Path::new(manifest_dir);
    start
        .ancestors()
        .map(|a| a.join("shared/testdata").join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| start.join("../../../shared/testdata").join(rel))
}

/// The binary `bin` run in `dir` with a clean environment: `PATH` only, `HOME` in `dir`, no
/// colour.
pub fn command(bin: &Path, dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1");
    c
}

/// stdout and stderr as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A SoftHSM2 token (label `zt-test`, PIN 1234, SO PIN 5678) in `dir`: its SOFTHSM2_CONF
/// path, or `None` when SoftHSM is not installed outside CI (CI installs it and must run this).
pub fn softhsm(dir: &Path) -> Option<String> {
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
