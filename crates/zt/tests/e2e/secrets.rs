//! `zt secrets` end to end: init, put, token, get, exec, revoke-token, audit, rotate, list —
//! with an ES256 test issuer whose JWKS is pinned in `trust.toml` — and the secret's value
//! never in zt's output, errors or files (only `get`'s stdout, which is what it is for).

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{softhsm, text, zt};
use serde_json::{Value, json};

const VALUE: &str = "v4lue-7c1e9b-never-printed";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The test issuer as GitHub Actions would sign (zt-test-support's, with GitHub's `iss`).
struct Issuer(zt_test_support::issuer::Issuer);

impl Issuer {
    fn new() -> Issuer {
        Issuer(zt_test_support::issuer::Issuer::new(ISSUER, "gh-1"))
    }

    fn jwks(&self) -> String {
        self.0.jwks().to_string()
    }

    fn token(&self, jti: &str, git_ref: &str) -> String {
        let now = zt_test_support::issuer::now();
        self.0.mint(
            &json!({"iss": ISSUER, "aud": "zt", "sub": "repo:org/app:ref:refs/heads/main",
            "repository": "org/app", "ref": git_ref, "event_name": "push", "jti": jti,
            "iat": now, "exp": now + 300}),
        )
    }
}

/// Runs zt and asserts the value is in neither stdout nor stderr.
fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> (Output, String, String) {
    let mut cmd = zt(dir);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        // zt may refuse bad arguments and exit before it reads its input: the pipe is then
        // closed, which is not the test's failure (the exit status and output are checked).
        if let Err(e) = input.write_all(s.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    (out, stdout, stderr)
}

fn clean(dir: &Path, args: &[&str], stdin: Option<&str>, code: i32) -> String {
    let (out, stdout, stderr) = run(dir, args, stdin);
    assert_eq!(
        out.status.code(),
        Some(code),
        "zt {args:?}\n{stdout}\n{stderr}"
    );
    assert!(
        !stdout.contains(VALUE) && !stderr.contains(VALUE),
        "zt {args:?} printed the value"
    );
    if code != 0 {
        assert!(
            stderr.contains("help:"),
            "zt {args:?}: no help line\n{stderr}"
        );
    }
    stdout
}

fn setup(dir: &Path, issuer: &Issuer) {
    clean(dir, &["secrets", "init"], None, 0);
    let secrets = dir.join(".zt/secrets");
    fs_err::write(secrets.join("issuer.jwks.json"), issuer.jwks()).unwrap();
    fs_err::write(
        secrets.join("trust.toml"),
        format!("token_lifetime = 300\n[[issuer]]\nurl = \"{ISSUER}\"\naudiences = [\"zt\"]\njwks = \"issuer.jwks.json\"\n"),
    )
    .unwrap();
    let out = clean(
        dir,
        &[
            "secrets",
            "put",
            "db",
            "--bind",
            "repository=org/app,ref=refs/heads/main",
        ],
        Some(VALUE),
        0,
    );
    assert_eq!(out.trim(), "stored `db` version 1");
}

fn scoped_token(dir: &Path, issuer: &Issuer, jti: &str) -> Value {
    fs_err::write(dir.join("oidc.jwt"), issuer.token(jti, "refs/heads/main")).unwrap();
    let out = clean(
        dir,
        &["secrets", "token", "--oidc-token", "oidc.jwt", "--json"],
        None,
        0,
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn put_token_get_exec_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let issuer = Issuer::new();
    setup(dir, &issuer);
    let issued = scoped_token(dir, &issuer, "run-1");
    assert_eq!(issued["secrets"], json!(["db"]));
    let token = issued["token"].as_str().unwrap();
    assert!(token.starts_with("zts1."));

    // `get` prints exactly the value, on stdout only.
    let (out, stdout, stderr) = run(dir, &["secrets", "get", "db", "--token", token], None);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, VALUE);
    assert!(!stderr.contains(VALUE));

    // `exec`: the value in the child's environment and in a 0600 memory file; exit code
    // passed through; the file has no name anywhere.
    let script = format!(
        "test \"$DB\" = '{VALUE}' || exit 3; test \"$(cat \"$DB_FILE\")\" = '{VALUE}' || exit 4; \
         stat -L -c '%a' \"$DB_FILE\"; echo \"$DB_FILE\"; exit 7"
    );
    let (out, stdout, stderr) = run(
        dir,
        &[
            "secrets",
            "exec",
            "--token",
            token,
            "--env",
            "DB=db",
            "--file",
            "DB_FILE=db",
            "--",
            "sh",
            "-c",
            &script,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(7), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "600");
    assert!(lines[1].starts_with("/dev/fd/"), "{stdout}");
    assert!(!stderr.contains(VALUE));

    // The same OIDC token again: replay.
    let (out, _, stderr) = run(dir, &["secrets", "token", "--oidc-token", "oidc.jwt"], None);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("replayed_jti"), "{stderr}");

    // Revocation.
    let id = issued["id"].as_str().unwrap();
    clean(dir, &["secrets", "revoke-token", id], None, 0);
    let err = clean(dir, &["secrets", "get", "db", "--token", token], None, 1);
    assert!(err.is_empty());

    // The audit lists every access and finds nothing wrong.
    let audit: Value = serde_json::from_str(&clean(
        dir,
        &["secrets", "audit", "--json", "--secret", "db"],
        None,
        0,
    ))
    .unwrap();
    assert_eq!(audit["problems"], json!([]));
    let records = audit["records"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("put", "allow", "ok"),
            ("read", "allow", "ok"),
            ("read", "allow", "ok"),
            ("read", "allow", "ok"),
            ("read", "deny", "token_revoked"),
        ]
    );
    let human = clean(
        dir,
        &["secrets", "audit", "--repository", "org/app"],
        None,
        0,
    );
    assert!(
        human.contains("exchange") && human.contains("replayed_jti"),
        "{human}"
    );

    // Rotation keeps every value readable.
    clean(dir, &["secrets", "rotate"], None, 0);
    let issued = scoped_token(dir, &issuer, "run-2");
    let (_, stdout, _) = run(
        dir,
        &[
            "secrets",
            "get",
            "db",
            "--token",
            issued["token"].as_str().unwrap(),
        ],
        None,
    );
    assert_eq!(stdout, VALUE);
    let list = clean(dir, &["secrets", "list"], None, 0);
    assert!(
        list.starts_with("db  v1  ") && list.contains("ref=refs/heads/main,repository=org/app"),
        "{list}"
    );

    // No file zt wrote holds the value in the clear.
    let mut stack = vec![dir.join(".zt")];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = fs_err::read(&p).unwrap();
                assert!(
                    !bytes.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()),
                    "{}",
                    p.display()
                );
            }
        }
    }
}

/// A second secret the scoped token also lists, never mapped into the command.
const OTHER: &str = "0ther-f00d-never-mapped";

fn put_other(dir: &Path) {
    clean(
        dir,
        &[
            "secrets",
            "put",
            "other",
            "--bind",
            "repository=org/app,ref=refs/heads/main",
        ],
        Some(OTHER),
        0,
    );
}

/// Regression (issue 16): `exec` handed `ZT_SECRETS_TOKEN` to the command, which could then
/// read every secret the token lists, not only the mapped ones.
#[test]
fn exec_command_gets_no_token_and_cannot_read_unmapped_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let issuer = Issuer::new();
    setup(dir, &issuer);
    put_other(dir);
    let issued = scoped_token(dir, &issuer, "run-x");
    assert_eq!(issued["secrets"], json!(["db", "other"]));
    let token = issued["token"].as_str().unwrap();
    let zt_path = common::zt_bin();
    // `$p` is the token's prefix, built at run time so that the script's own text (in its
    // command line) does not contain it.
    let script = format!(
        "p=zt; p=\"${{p}}s1.\"; \
         test -n \"$DB\" || exit 9; \
         test -z \"${{ZT_SECRETS_TOKEN-}}\" || exit 10; test -z \"${{T-}}\" || exit 11; \
         grep -aq \"$p\" /proc/$$/environ && exit 12; \
         grep -aq \"$p\" /proc/$$/cmdline && exit 13; \
         '{zt}' secrets get other && exit 14; \
         '{zt}' secrets get other --token \"${{ZT_SECRETS_TOKEN-}}\" && exit 15; \
         echo done",
        zt = zt_path.display()
    );
    // The token from the environment (and a copy under another name), then on the command line.
    for via_env in [true, false] {
        let mut cmd = zt(dir);
        cmd.args(["secrets", "exec", "--env", "DB=db"]);
        if via_env {
            cmd.env("ZT_SECRETS_TOKEN", token).env("T", token);
        } else {
            cmd.args(["--token", token]);
        }
        let out = cmd.args(["--", "sh", "-c", &script]).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "via_env={via_env}\n{stdout}\n{stderr}"
        );
        assert_eq!(stdout.trim(), "done");
        assert!(!stdout.contains(OTHER) && !stderr.contains(OTHER));
    }
    // The command tried to read `other` in each run (with no token zt refuses to start; with
    // an empty one the broker refuses and logs it); nothing ever read it.
    let audit: Value = serde_json::from_str(&clean(
        dir,
        &["secrets", "audit", "--json", "--secret", "other"],
        None,
        0,
    ))
    .unwrap();
    let records: Vec<(&str, &str)> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records,
        [("put", "allow"), ("read", "deny"), ("read", "deny")],
        "{audit}"
    );
}

/// Regression (issue 16): on SIGTERM zt exited, the command kept running and the decrypted
/// `--file` secret stayed in `/dev/shm`. Now zt *is* the command (exec): the signal reaches
/// it, and the file is a memfd with no name in any filesystem.
#[test]
fn sigterm_to_exec_ends_the_command_and_leaves_no_secret_file() {
    use std::io::BufRead as _;
    use std::os::unix::process::ExitStatusExt as _;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let issuer = Issuer::new();
    setup(dir, &issuer);
    let issued = scoped_token(dir, &issuer, "run-t");
    let mut child = zt(dir)
        .env("ZT_SECRETS_TOKEN", issued["token"].as_str().unwrap())
        .args(["secrets", "exec", "--file", "F=db", "--", "sh", "-c"])
        .arg(
            "test \"$(cat \"$F\")\" = '".to_string()
                + VALUE
                + "' || exit 3; echo \"$F\"; exec sleep 60",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let path = line.trim();
    let fd = path.strip_prefix("/dev/fd/").expect(path);
    // The process zt started is the command itself, and its secret file is an anonymous
    // memory file, nowhere on a filesystem.
    let proc_dir = format!("/proc/{pid}");
    let mut comm = String::new();
    for _ in 0..200 {
        comm = fs_err::read_to_string(format!("{proc_dir}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(comm.trim(), "sleep");
    let target = fs_err::read_link(format!("{proc_dir}/fd/{fd}")).unwrap();
    assert!(
        target.to_string_lossy().starts_with("/memfd:"),
        "{}",
        target.display()
    );
    for entry in fs_err::read_dir(format!("{proc_dir}/fd")).unwrap() {
        let link = fs_err::read_link(entry.unwrap().path()).unwrap_or_default();
        assert!(!link.starts_with("/dev/shm"), "{}", link.display());
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert!(!Path::new(&proc_dir).exists());
}

#[test]
fn other_branch_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let issuer = Issuer::new();
    setup(dir, &issuer);
    fs_err::write(dir.join("oidc.jwt"), issuer.token("x-1", "refs/heads/dev")).unwrap();
    let (out, _, stderr) = run(
        dir,
        &["secrets", "token", "--oidc-token", "-"],
        Some(&issuer.token("x-1", "refs/heads/dev")),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("binding_mismatch") && stderr.contains("refs/heads/dev"),
        "{stderr}"
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let issuer = Issuer::new();
    setup(dir, &issuer);
    let store = fs_err::read(dir.join(".zt/secrets/store.json")).unwrap();
    let err = run(
        dir,
        &["secrets", "put", "../escape", "--bind", "repository=a/b"],
        Some("x"),
    )
    .2;
    assert!(
        err.contains("invalid secret name `../escape`") && err.contains("help:"),
        "{err}"
    );
    let (out, _, err) = run(
        dir,
        &["secrets", "put", "x", "--bind", "branch=main"],
        Some("x"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("unknown claim `branch`"), "{err}");
    fs_err::remove_file(dir.join(".zt/secrets/master.key")).unwrap();
    let (out, _, err) = run(
        dir,
        &["secrets", "put", "x", "--bind", "repository=a/b"],
        Some("x"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("master.key") && err.contains("is missing") && err.contains("help:"),
        "{err}"
    );
    assert_eq!(
        fs_err::read(dir.join(".zt/secrets/store.json")).unwrap(),
        store
    );
    let (out, _, err) = run(dir, &["secrets", "init"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("already exists"), "{err}");
}

/// The master key wrapped by an Ed25519 key in a PKCS#11 token: nothing on disk opens the
/// store without the token; rotation re-wraps with the same token key.
#[test]
fn master_key_wrapped_by_a_pkcs11_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(conf) = softhsm(dir) else { return };
    let run = |args: &[&str], stdin: Option<&str>, pin: bool| {
        let mut c = zt(dir);
        c.env("SOFTHSM2_CONF", &conf)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if pin {
            c.env("ZT_PKCS11_PIN", "1234");
        }
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin
            && let Err(e) = input.write_all(s.as_bytes())
        {
            // zt exited before reading (a refusal): its status and output are checked.
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
        drop(input);
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "key",
            "generate",
            "--type",
            "ed25519",
            "--out",
            "pkcs11:token=zt-test;object=wrap;id=%02?pin-value=1234",
        ],
        None,
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let uri = "pkcs11:token=zt-test;object=wrap;id=%02";
    // A URI carrying the PIN would write it to disk: refused.
    let out = run(
        &[
            "secrets",
            "init",
            "--pkcs11",
            &format!("{uri}?pin-value=1234"),
        ],
        None,
        false,
    );
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(!dir.join(".zt/secrets").exists());
    let out = run(&["secrets", "init", "--pkcs11", uri], None, true);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(dir.join(".zt/secrets/master.key.p11").exists());
    assert!(!dir.join(".zt/secrets/master.key").exists());
    let wrapped = fs_err::read_to_string(dir.join(".zt/secrets/master.key.p11")).unwrap();
    assert!(!wrapped.contains("1234"));
    let out = run(&["secrets", "put", "db"], Some(VALUE), true);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = run(&["secrets", "rotate"], None, true);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // Without the PIN the token cannot unwrap the key.
    let out = run(&["secrets", "put", "db"], Some(VALUE), false);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    let out = run(&["secrets", "put", "db"], Some("second"), true);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let list = run(&["secrets", "list"], None, false);
    assert!(
        String::from_utf8_lossy(&list.stdout).starts_with("db  v2  "),
        "{:?}",
        text(&list)
    );
}

/// `--repo DIR` names the repository as elsewhere in zt (its `.zt` holds the store);
/// `--zt-dir` names the `.zt` directory itself; giving both is refused.
#[test]
fn the_store_is_found_by_repo_or_by_zt_dir() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    let elsewhere = t.path().join("elsewhere");
    fs_err::create_dir_all(&repo).unwrap();
    fs_err::create_dir_all(&elsewhere).unwrap();
    let repo_arg = repo.to_str().unwrap();
    clean(
        &elsewhere,
        &["secrets", "--repo", repo_arg, "init"],
        None,
        0,
    );
    assert!(repo.join(".zt/secrets").is_dir());
    assert!(!elsewhere.join(".zt").exists());
    clean(
        &elsewhere,
        &[
            "secrets",
            "put",
            "db",
            "--repo",
            repo_arg,
            "--bind",
            "repository=org/app",
        ],
        Some(VALUE),
        0,
    );
    let zt_dir = repo.join(".zt");
    let listed = clean(
        &elsewhere,
        &[
            "--json",
            "secrets",
            "--zt-dir",
            zt_dir.to_str().unwrap(),
            "list",
        ],
        None,
        0,
    );
    assert!(listed.contains("\"db\""), "{listed}");
    let (out, _, stderr) = run(
        &elsewhere,
        &[
            "secrets",
            "--repo",
            repo_arg,
            "--zt-dir",
            zt_dir.to_str().unwrap(),
            "list",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
