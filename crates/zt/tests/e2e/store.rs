//! The ledger chosen by configuration: with `[store] url = "postgres://…"` (or
//! `ZT_STORE_URL`) every command records to and judges from PostgreSQL, and the embedded
//! `.zt/ledger.db` is never created. Needs the PostgreSQL server `.ci/run` starts
//! (127.0.0.1:5432, trust auth, database `test`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

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

/// `psql -Atc SQL` on the test database.
fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-Atc",
            sql,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "psql {sql}: {:?}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn the_secrets_access_records_go_to_the_configured_ledger() {
    if !postgres_up() {
        skip_outside_ci("no PostgreSQL on 127.0.0.1:5432");
        return;
    }
    let schema = Schema(format!("zt_secrets_e2e_{}", std::process::id()));
    let url = format!("postgres://postgres@127.0.0.1/test?schema={}", schema.0);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    fs_err::write(repo.join("zt.toml"), format!("[store]\nurl = \"{url}\"\n")).unwrap();
    // Run from a subdirectory: the repository (and its configuration) is found as every
    // command finds it.
    let sub = repo.join("src/deep");
    fs_err::create_dir_all(&sub).unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = zt(&sub);
        cmd.args(args);
        let out = match stdin {
            Some(value) => {
                use std::io::Write as _;
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(value.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
            None => cmd.output().unwrap(),
        };
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "zt {args:?}\n{stdout}\n{stderr}"
        );
        stdout
    };
    run(&["secrets", "init"], None);
    assert!(
        repo.join(".zt/secrets").is_dir(),
        "the store is the repository's"
    );
    run(
        &["secrets", "put", "db", "--bind", "repository=org/app"],
        Some("s3cret"),
    );
    run(&["secrets", "rotate"], None);
    assert!(
        !repo.join(".zt/ledger.db").exists(),
        "access records never go to the embedded ledger when PostgreSQL is configured"
    );
    let records = psql(&format!("SELECT count(*) FROM {}.access_records", schema.0));
    assert_eq!(records, "2", "put and rotate, each recorded in PostgreSQL");
    // The audit checks the log against the same ledger and finds nothing wrong.
    let audit: serde_json::Value =
        serde_json::from_str(&run(&["secrets", "audit", "--json"], None)).unwrap();
    assert_eq!(audit["problems"], serde_json::json!([]), "{audit}");
    assert_eq!(audit["records"].as_array().unwrap().len(), 2, "{audit}");
    // A record deleted from PostgreSQL is found by the audit, as from the embedded ledger.
    psql(&format!(
        "DELETE FROM {}.access_records WHERE seq = 0",
        schema.0
    ));
    let out = zt(&sub)
        .args(["secrets", "audit", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("missing from the ledger") || stderr.contains("missing from the ledger"),
        "{stdout}\n{stderr}"
    );
}
