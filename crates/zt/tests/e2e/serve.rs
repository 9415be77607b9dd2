//! `zt serve` end to end: the real binary on 127.0.0.1 (an ephemeral port), a test OIDC
//! issuer whose JWKS the test serves on 127.0.0.1, and a CI job's view of it with nothing but
//! `curl` (the commands in `docs/server.md`). The secret value appears only in the read's
//! output: never in the server's log, an exchange reply, or a refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use zt_test_support::issuer;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Serve, text, zt};
use issuer::{AUDIENCE, Issuer};

const VALUE: &str = "s3rv3-value-0c4e1b7a";

/// A repository with a secrets store trusting `issuer` (by discovery on 127.0.0.1) and one
/// secret bound to `org/app` on `main`.
fn setup(dir: &Path) -> (PathBuf, Issuer) {
    let repo = dir.join("repo");
    let zt_dir = repo.join(".zt");
    zt_secrets::init(&zt_dir, &zt_secrets::InitOptions::default()).unwrap();
    let mut issuer = Issuer::new("", "serve-key");
    issuer.iss = Issuer::serve_jwks(issuer.jwks());
    fs_err::write(
        zt_dir.join("secrets/trust.toml"),
        format!(
            "[[issuer]]\nurl = \"{}\"\naudiences = [\"{AUDIENCE}\"]\n",
            issuer.iss
        ),
    )
    .unwrap();
    let binding = zt_secrets::Binding::parse("repository=org/app,ref=refs/heads/main").unwrap();
    zt_secrets::put(&zt_dir, "db_password", VALUE.as_bytes(), vec![binding]).unwrap();
    (repo, issuer)
}

fn curl(dir: &Path, args: &[&str]) -> Output {
    Command::new("curl")
        .current_dir(dir)
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl must be installed (`.ci/run` installs it): a CI job needs nothing else")
}

#[test]
fn a_ci_job_with_only_curl_exchanges_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, issuer) = setup(dir.path());
    let server = Serve::start(&repo, &[], &[]);
    let oidc = issuer.mint(&issuer.claims("org/app", "refs/heads/main", "curl-1"));
    let token_file = dir.path().join("oidc.jwt");
    fs_err::write(&token_file, format!("{oidc}\n")).unwrap();

    // 2. Exchange (the token file as is, trailing newline included).
    let exchange_url = format!("{}/v1/secrets/exchange", server.url);
    let out = curl(
        dir.path(),
        &[
            "-f",
            "--data-binary",
            &format!("@{}", token_file.display()),
            &exchange_url,
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains(VALUE));
    let issued: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(issued["secrets"], serde_json::json!(["db_password"]));
    let scoped = issued["token"].as_str().unwrap();

    // 3. Read into a file.
    let value_file = dir.path().join("db_password");
    let out = curl(
        dir.path(),
        &[
            "-f",
            "-H",
            &format!("Authorization: Bearer {scoped}"),
            &format!("{}/v1/secrets/db_password", server.url),
            "-o",
            value_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(fs_err::read_to_string(&value_file).unwrap(), VALUE);

    // The same OIDC token again: refused, with the reason in a problem document.
    let out = curl(
        dir.path(),
        &[
            "-w",
            "\n%{http_code}",
            "--data-binary",
            &oidc,
            &exchange_url,
        ],
    );
    let (stdout, _) = text(&out);
    assert!(stdout.ends_with("\n401"), "{stdout}");
    assert!(stdout.contains(r#""detail":"replayed_jti""#), "{stdout}");
    assert!(!stdout.contains(VALUE));

    // SIGTERM: a graceful stop, exit 0; the log names the refusal, never the value or a token.
    let out = server.stop();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // One JSON line per request; the refusal names its reason code.
    assert!(
        stderr.lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            v["msg"] == "refused"
                && v["method"] == "POST"
                && v["path"] == "/v1/secrets/exchange"
                && v["status"] == 401
                && v["reason"] == "replayed_jti"
        }),
        "{stderr}"
    );
    assert!(stderr.contains("stopped"), "{stderr}");
    for leaked in [VALUE, scoped, &oidc] {
        assert!(
            !stderr.contains(leaked) && !stdout.contains(leaked),
            "{stderr}"
        );
    }
}

#[test]
fn zt_secrets_token_get_exec_over_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, issuer) = setup(dir.path());
    let server = Serve::start(&repo, &[], &[]);
    let oidc = dir.path().join("oidc.jwt");
    fs_err::write(
        &oidc,
        issuer.mint(&issuer.claims("org/app", "refs/heads/main", "cli-1")),
    )
    .unwrap();
    // The job's working directory has no store: everything goes through the server.
    let job = dir.path().join("job");
    fs_err::create_dir_all(&job).unwrap();

    let out = zt(&job)
        .args(["secrets", "token", "--json", "--oidc-token"])
        .arg(&oidc)
        .args(["--server", &server.url])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let issued: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(issued["secrets"], serde_json::json!(["db_password"]));
    let token = issued["token"].as_str().unwrap().to_owned();

    let out = zt(&job)
        .args([
            "secrets",
            "get",
            "db_password",
            "--token",
            &token,
            "--server",
            &server.url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(out.stdout, VALUE.as_bytes());

    // exec with ZT_SERVER: the value reaches the child's environment, not zt's output.
    let out = zt(&job)
        .env("ZT_SERVER", &server.url)
        .args([
            "secrets",
            "exec",
            "--token",
            &token,
            "--env",
            "DB=db_password",
            "--",
        ])
        .args([
            "sh",
            "-c",
            &format!("test \"$DB\" = '{VALUE}' && echo child-saw-it"),
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "child-saw-it");
    assert!(!stderr.contains(VALUE));

    // A refusal over HTTP: exit 1, the reason code, a help line, no value.
    let out = zt(&job)
        .args([
            "secrets",
            "get",
            "other",
            "--token",
            &token,
            "--server",
            &server.url,
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("403 not_listed") && stderr.contains("help: "),
        "{stderr}"
    );
    assert!(stdout.is_empty());

    let log = server.stop();
    let (_, log) = text(&log);
    assert!(!log.contains(VALUE) && !log.contains(&token), "{log}");
}

#[test]
fn clients_refuse_plain_http_to_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path())
        .args(["secrets", "get", "db", "--token", "zts1.x.y"])
        .args(["--server", "http://zt.example.com"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing plain http://"), "{stderr}");
    assert!(stderr.contains("help: use `https://`"), "{stderr}");
}

#[test]
fn serve_refuses_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = setup(dir.path());
    let out = zt(&repo)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to serve plain HTTP on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: ") && stderr.contains("TLS"),
        "{stderr}"
    );
}

/// Without a secrets store, `zt serve` serves the rest (the evidence API, the log, admission,
/// health), the secrets routes do not exist, and it says how to turn the broker on.
#[test]
fn serve_without_a_secrets_store_serves_evidence_and_the_log_but_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path(), &[], &[]);
    let out = curl(
        dir.path(),
        &[&format!("{}/api/v1/openapi.json", server.url)],
    );
    assert!(
        text(&out).0.contains("\"openapi\":\"3.1.0\""),
        "{:?}",
        text(&out)
    );
    let out = curl(
        dir.path(),
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/v1/secrets/exchange", server.url),
            "--data-binary",
            "x",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    let out = curl(dir.path(), &["-f", &format!("{}/checkpoint", server.url)]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = server.stop();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("zt secrets init"), "{stderr}");
    assert!(!dir.path().join(".zt/secrets").exists());
}

/// While `zt serve` holds the log, a `zt secrets` command that needs it waits `ZT_LOG_WAIT`
/// seconds and then stops with exit 2, naming the problem and the fix, instead of hanging;
/// `put` and `revoke-token` go through the server instead (found by its `.zt/serve.addr`, or
/// named with `--server`), with the operator token.
#[test]
fn a_command_meeting_a_running_server_says_so_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, issuer) = setup(dir.path());
    let server = Serve::start(&repo, &[], &[]);
    let value = repo.join("value");
    fs_err::write(&value, "v2").unwrap();
    let out = zt(&repo)
        .env("ZT_LOG_WAIT", "0")
        .args(["secrets", "audit"])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is held by another process"), "{err}");
    assert!(err.contains("help:") && err.contains("zt serve"), "{err}");
    // A put goes through the server while it runs; a wrong operator token is refused with
    // the way to the right one.
    let put = |token: Option<&str>, server_url: Option<&str>| {
        let mut cmd = zt(&repo);
        cmd.env("ZT_LOG_WAIT", "0");
        if let Some(t) = token {
            cmd.env("ZT_OPERATOR_TOKEN", t);
        }
        cmd.args([
            "secrets",
            "put",
            "other",
            "--bind",
            "repository=org/app,ref=refs/heads/main",
            "--from-file",
        ])
        .arg(&value);
        if let Some(url) = server_url {
            cmd.args(["--server", url]);
        }
        cmd.output().unwrap()
    };
    let out = put(Some("zto1.not-the-operator"), Some(&server.url));
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("401 bad_operator_token"), "{err}");
    assert!(
        err.contains("help:") && err.contains("ZT_OPERATOR_TOKEN"),
        "{err}"
    );
    // Without `--server`, the running server is found; without `ZT_OPERATOR_TOKEN`, the
    // token `zt secrets init` left in the store is used.
    let out = put(None, None);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(stdout.trim(), "stored `other` version 1");
    // The running server serves it at once, and revokes through the same operator route.
    let oidc = dir.path().join("oidc.jwt");
    fs_err::write(
        &oidc,
        issuer.mint(&issuer.claims("org/app", "refs/heads/main", "put-1")),
    )
    .unwrap();
    let out = zt(&repo)
        .args([
            "secrets",
            "token",
            "--json",
            "--server",
            &server.url,
            "--oidc-token",
        ])
        .arg(&oidc)
        .output()
        .unwrap();
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    let issued: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        issued["secrets"],
        serde_json::json!(["db_password", "other"])
    );
    let token = issued["token"].as_str().unwrap();
    let get = || {
        zt(&repo)
            .args([
                "secrets",
                "get",
                "other",
                "--token",
                token,
                "--server",
                &server.url,
            ])
            .output()
            .unwrap()
    };
    assert_eq!(get().stdout, b"v2");
    let out = zt(&repo)
        .env("ZT_LOG_WAIT", "0")
        .args(["secrets", "revoke-token", issued["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let out = get();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("401 token_revoked"),
        "{}",
        text(&out).1
    );
    // Once the server is gone, the same command goes through without it.
    server.stop();
    let out = zt(&repo)
        .args([
            "secrets",
            "put",
            "other",
            "--bind",
            "repository=org/app",
            "--from-file",
        ])
        .arg(&value)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}
