//! The ledger chosen by configuration: with `[store] url = "postgres://…"` (or
//! `ZT_STORE_URL`) every command records to and judges from PostgreSQL, and the embedded
//! `.zt/ledger.db` is never created. Needs the PostgreSQL server `.ci/run` starts
//! (127.0.0.1:5432, trust auth, database `test`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpStream;
use std::process::Command;

use common::{skip_outside_ci, text, zt};

fn postgres_up() -> bool {
    TcpStream::connect("127.0.0.1:5432").is_ok()
}

/// Drops the test's schema when the test ends, pass or fail.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .output();
    }
}

#[test]
fn every_command_uses_the_configured_postgres_ledger() {
    if !postgres_up() {
        skip_outside_ci("no PostgreSQL on 127.0.0.1:5432");
        return;
    }
    let schema = Schema(format!("zt_e2e_{}", std::process::id()));
    let url = format!("postgres://postgres@127.0.0.1/test?schema={}", schema.0);
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path())
        .env("ZT_STORE_URL", &url)
        .args(["pipeline", "run", "--workdir", "repo", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let repo = dir.path().join("repo");
    assert!(
        !repo.join(".zt/ledger.db").exists(),
        "the embedded ledger is not used when PostgreSQL is configured"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let digest = report["artifacts"][0][1].as_str().unwrap().to_string();

    // The bundle files are gone: only the PostgreSQL ledger still holds the evidence.
    fs_err::remove_dir_all(repo.join(".zt/bundles")).unwrap();
    let judge = |store: Option<&str>| {
        let mut cmd = zt(&repo);
        cmd.args(["verify", &digest, "--stage", "deploy"]);
        if let Some(url) = store {
            cmd.env("ZT_STORE_URL", url);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), format!("{:?}", text(&out)))
    };
    let (code, said) = judge(Some(&url));
    assert_eq!(code, Some(0), "{said}");
    // Through zt.toml instead of the environment: the same.
    let config = fs_err::read_to_string(repo.join("zt.toml")).unwrap();
    fs_err::write(
        repo.join("zt.toml"),
        format!("{config}\n[store]\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let (code, said) = judge(None);
    assert_eq!(code, Some(0), "{said}");
    // Without it (the embedded default, which never saw these bundles): nothing to judge.
    fs_err::write(repo.join("zt.toml"), &config).unwrap();
    let (code, said) = judge(None);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("provenance.missing"), "{said}");

    // An unreachable server is an error that names it, never "no evidence".
    let (code, said) = judge(Some("postgres://postgres@127.0.0.1:1/test"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("help:"), "{said}");
    // A store URL zt cannot open names the fix.
    let (code, said) = judge(Some("mysql://x/y"));
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("ZT_STORE_URL"), "{said}");
}
