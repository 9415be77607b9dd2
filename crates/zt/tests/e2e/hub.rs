//! `zt serve` as the evidence hub, end to end: the real binary on 127.0.0.1, a CI runner's
//! evidence (the bundled example taken through `zt pipeline run`) uploaded over HTTP to a
//! server that has its own, empty store and trusts the runner's pipeline key and log; the
//! server's decision must be the runner's own `zt verify --stage deploy`; bad input is refused
//! with a problem and stores nothing; a `kill -9` in the middle of a stream of uploads loses
//! no acknowledged upload and does not fork the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Serve, example_repo, text, zt};

/// The hub on `server`, trusting the runner's log (its bundles' log entries).
fn hub(server: &Path, runner: &Path, extra: &[&str]) -> Serve {
    let runner_log = runner.join(".zt/log/log.pub");
    let mut args = vec!["--trust-log", runner_log.to_str().unwrap()];
    args.extend_from_slice(extra);
    Serve::start(server, &args, &[])
}

/// The runner (the example after one pipeline run) and a server repository that trusts the
/// runner's pipeline key with the same policy, but holds no evidence.
fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let (runner, _) = example_repo(dir, "runner");
    let server = dir.join("server");
    fs_err::create_dir_all(server.join(".zt/keys")).unwrap();
    fs_err::copy(runner.join("zt.toml"), server.join("zt.toml")).unwrap();
    fs_err::copy(
        runner.join(".zt/keys/pipeline.pub"),
        server.join(".zt/keys/pipeline.pub"),
    )
    .unwrap();
    (runner, server)
}

fn token(server: &Path, role: &str) -> String {
    let out = zt(server)
        .args([
            "serve", "token", "create", "--role", role, "--name", "test", "--repo",
        ])
        .arg(server)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let t = stdout.trim().to_owned();
    assert!(t.starts_with("ztk_"), "{t}");
    t
}

fn bundles(runner: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs_err::read_dir(runner.join(".zt/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".sigstore.json"))
        .collect();
    v.sort();
    v
}

fn curl(args: &[&str]) -> (u16, serde_json::Value) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl must be installed (`.ci/run` installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = stdout.rsplit_once('\n').unwrap();
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (code.trim().parse().unwrap(), json)
}

fn upload(url: &str, token: &str, file: &Path) -> (u16, serde_json::Value) {
    curl(&[
        "-X",
        "POST",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "--data-binary",
        &format!("@{}", file.display()),
        &format!("{url}/api/v1/bundles"),
    ])
}

fn evidence_count(url: &str, token: &str, query: &str) -> usize {
    let mut cursor: Option<String> = None;
    let mut n = 0;
    loop {
        let mut q = format!("{url}/api/v1/evidence?limit=2{query}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let (code, page) = curl(&["-H", &format!("Authorization: Bearer {token}"), &q]);
        assert_eq!(code, 200, "{page}");
        n += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return n,
        }
    }
}

fn digest_of(runner: &Path) -> String {
    let out = zt(runner)
        .args(["verify", "out/hello", "--stage", "deploy", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    v["digest"].as_str().unwrap().to_owned()
}

/// A fresh PostgreSQL schema on the test server (`ZT_TEST_POSTGRES`, default
/// `127.0.0.1:5432`, database `test`), dropped when the test ends.
struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    fn new() -> PgSchema {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "zt_hub_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        PgSchema {
            url: format!("postgres://postgres@127.0.0.1/test?schema={name}"),
            name,
        }
    }

    fn args(&self) -> Vec<String> {
        vec!["--store".into(), self.url.clone()]
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-qc"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .output();
    }
}

#[test]
fn a_runner_uploads_its_evidence_and_the_server_decides_as_the_runner_does() {
    uploads_and_decisions(&[]);
}

#[test]
fn uploads_and_decisions_with_a_postgres_store() {
    let pg = PgSchema::new();
    uploads_and_decisions(&pg.args());
}

#[test]
fn kill_9_during_uploads_loses_no_acknowledged_upload() {
    kill_9_during_uploads(&[]);
}

#[test]
fn kill_9_during_uploads_to_a_postgres_store() {
    let pg = PgSchema::new();
    kill_9_during_uploads(&pg.args());
}

fn uploads_and_decisions(store: &[String]) {
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let digest = digest_of(&runner);
    let up = token(&server_repo, "upload");
    let read = token(&server_repo, "read");
    let server = hub(&server_repo, &runner, &store);
    let url = server.url.clone();

    // Nothing uploaded yet: the server denies, naming what is missing.
    let empty = Command::new(common::zt_bin())
        .current_dir(dir.path())
        .env("ZT_SERVER_TOKEN", &read)
        .args(["verify", &digest, "--stage", "deploy", "--server", &url])
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(1), "{:?}", text(&empty));

    // Reads and uploads need credentials; a read token cannot upload.
    let files = bundles(&runner);
    assert!(files.len() >= 5, "{files:?}");
    let (code, p) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("@{}", files[0].display()),
        &format!("{url}/api/v1/bundles"),
    ]);
    assert_eq!(
        (code, p["detail"].as_str()),
        (401, Some("credentials_required")),
        "{p}"
    );
    let (code, p) = upload(&url, &read, &files[0]);
    assert_eq!(
        (code, p["detail"].as_str()),
        (403, Some("role_required")),
        "{p}"
    );
    let (code, p) = curl(&[&format!("{url}/api/v1/evidence")]);
    assert_eq!(code, 401, "{p}");

    // Every bundle: 201 the first time, the same receipt (200) the second.
    let mut receipts = Vec::new();
    for f in &files {
        let (code, r) = upload(&url, &up, f);
        assert_eq!(code, 201, "{}: {r}", f.display());
        assert_eq!(r["created"], true);
        receipts.push(r);
    }
    for (f, first) in files.iter().zip(&receipts) {
        let (code, r) = upload(&url, &up, f);
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["log_index"], first["log_index"]);
        assert_eq!(r["created"], false);
    }
    assert_eq!(evidence_count(&url, &read, ""), files.len());
    assert!(evidence_count(&url, &read, &format!("&subject={digest}")) >= 3);

    // The server's decision is the runner's own, from a directory with no zt state at all.
    let local = zt(&runner)
        .args(["verify", "out/hello", "--stage", "deploy", "--json"])
        .output()
        .unwrap();
    let local: serde_json::Value = serde_json::from_str(&text(&local).0).unwrap();
    let stateless = tempfile::tempdir().unwrap();
    let remote = Command::new(common::zt_bin())
        .current_dir(stateless.path())
        .env("ZT_SERVER_TOKEN", &read)
        .env("ZT_SERVER", &url)
        .args(["verify", &digest, "--stage", "deploy", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&remote);
    assert_eq!(remote.status.code(), Some(0), "{stdout}\n{stderr}");
    let remote: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(remote["allow"], local["allow"]);
    assert_eq!(remote["deny"], local["deny"]);
    assert_eq!(
        remote["evidence"].as_array().unwrap().len(),
        local["evidence"].as_array().unwrap().len()
    );
    assert!(!stateless.path().join(".zt").exists());
    if !store.is_empty() {
        // The server's store is PostgreSQL: no embedded ledger was made.
        assert!(!server_repo.join(".zt/ledger.db").exists());
    }

    // The trace: the build, the commit it was made from with its verdict, the signer, and
    // an allow at every stage.
    let out = Command::new(common::zt_bin())
        .current_dir(stateless.path())
        .env("ZT_SERVER_TOKEN", &read)
        .args(["trace", &digest, "--server", &url, "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let trace: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(trace["builds"].as_array().unwrap().len(), 1, "{trace}");
    assert!(trace["builds"][0]["invocation"].is_string(), "{trace}");
    // The commit it was built from; the example's commit is unsigned and `zt source verify`
    // never ran on it, so no verified source-verification statement vouches for it.
    let head = common::git(&runner, &["rev-parse", "HEAD"]);
    assert_eq!(trace["commits"][0]["commit"], head.trim(), "{trace}");
    assert_eq!(trace["commits"][0]["verdict"], "unverified", "{trace}");
    assert!(
        trace["signers"][0]["predicate_types"]
            .as_array()
            .unwrap()
            .len()
            >= 5,
        "{trace}"
    );
    assert_eq!(trace["decisions"].as_array().unwrap().len(), 3);
    assert_eq!(trace["decisions"][2]["stage"], "deploy");
    assert_eq!(trace["decisions"][2]["allow"], true, "{trace}");
    // The same trace as the runner computes from its own ledger.
    let out = zt(&runner)
        .args(["trace", "out/hello", "--json"])
        .output()
        .unwrap();
    let local_trace: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(local_trace["commits"], trace["commits"]);
    assert_eq!(local_trace["dependencies"], trace["dependencies"]);
    let out = zt(&runner)
        .args(["trace", "out/hello", "--graph", "dot"])
        .output()
        .unwrap();
    assert!(
        text(&out).0.starts_with("digraph trace {"),
        "{:?}",
        text(&out)
    );
    // A graceful stop closes the store's connections cleanly (regression: dropping pooled
    // PostgreSQL clients inside the runtime aborted the process on SIGTERM).
    let out = server.stop();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[test]
fn bad_uploads_are_clear_problems_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let up = token(&server_repo, "upload");
    let server = hub(&server_repo, &runner, &[]);
    let url = server.url.clone();
    let good = fs_err::read_to_string(&bundles(&runner)[0]).unwrap();
    let mut with_unknown: serde_json::Value = serde_json::from_str(&good).unwrap();
    with_unknown["extra"] = "x".into();
    let mut tampered: serde_json::Value = serde_json::from_str(&good).unwrap();
    if let Some(sig) = tampered.pointer_mut("/dsseEnvelope/signatures/0/sig") {
        *sig = zt_core::b64::encode([7u8; 64]).into();
    } else if let Some(sig) = tampered.pointer_mut("/messageSignature/signature") {
        *sig = zt_core::b64::encode([7u8; 64]).into();
    }
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed", b"{not json".to_vec(), 400, "malformed_bundle"),
        ("array", b"[]".to_vec(), 400, "malformed_bundle"),
        (
            "unknown",
            with_unknown.to_string().into_bytes(),
            400,
            "unknown_field",
        ),
        (
            "tampered",
            tampered.to_string().into_bytes(),
            422,
            "bundle_not_verified",
        ),
        (
            "oversized",
            vec![b' '; 5 * 1024 * 1024],
            413,
            "body_too_large",
        ),
    ];
    for (name, body, status, code) in cases {
        let f = dir.path().join(format!("{name}.json"));
        fs_err::write(&f, &body).unwrap();
        let (got, p) = upload(&url, &up, &f);
        assert_eq!(got, status, "{name}: {p}");
        assert_eq!(p["detail"], code, "{name}: {p}");
        assert_eq!(p["status"], status, "{name}: {p}");
        assert!(
            p["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "{name}: {p}"
        );
    }
    // A decide body with an unknown field, a bad stage, a bad digest.
    for (body, code) in [
        (r#"{"digest":"sha256:00","stage":"deploy"}"#, "bad_digest"),
        (
            &*format!(r#"{{"digest":"sha256:{}","stage":"prod"}}"#, "0".repeat(64)),
            "bad_stage",
        ),
        (
            &*format!(
                r#"{{"digest":"sha256:{}","stage":"ci","x":1}}"#,
                "0".repeat(64)
            ),
            "unknown_field",
        ),
    ] {
        let (got, p) = curl(&[
            "-X",
            "POST",
            "-H",
            &format!("Authorization: Bearer {up}"),
            "-d",
            body,
            &format!("{url}/api/v1/decide"),
        ]);
        assert_eq!(
            (got, p["detail"].as_str()),
            (400, Some(code)),
            "{body}: {p}"
        );
    }
    assert_eq!(evidence_count(&url, &up, ""), 0);
    drop(server);
    // Nothing reached the log either: it holds no upload record.
    let log = zt_tlog::Log::open(&server_repo.join(".zt/log")).unwrap();
    for i in 0..log.size() {
        let e = String::from_utf8(log.entry(i).unwrap()).unwrap();
        assert!(!e.contains("evidence-upload"), "{e}");
    }
}

/// A stream of uploads from four clients, the server killed with SIGKILL in the middle:
/// after a restart every upload that got a 2xx is in the store and in the log at the index
/// its receipt gave, the log opens (its tiles hash to its signed checkpoint) and grows on
/// from there.
fn kill_9_during_uploads(store: &[String]) {
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    // More bundles: sign 40 small files in the runner (each logged in the runner's log).
    let files_dir = runner.join("many");
    fs_err::create_dir_all(&files_dir).unwrap();
    let mut files = bundles(&runner);
    for i in 0..40 {
        let f = files_dir.join(format!("f{i}.txt"));
        fs_err::write(&f, format!("artifact {i}\n")).unwrap();
        let out = zt(&runner)
            .args(["sign"])
            .arg(&f)
            .args(["--key", ".zt/keys/pipeline"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        files.push(files_dir.join(format!("f{i}.txt.sigstore.json")));
    }
    let up = token(&server_repo, "upload");
    let server = hub(&server_repo, &runner, &store);
    let url = server.url.clone();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let chunks: Vec<Vec<PathBuf>> = files
        .chunks(files.len().div_ceil(4))
        .map(<[_]>::to_vec)
        .collect();
    let mut handles = Vec::new();
    for chunk in chunks {
        let (url, up, acked) = (url.clone(), up.clone(), acked.clone());
        handles.push(std::thread::spawn(move || {
            for f in chunk {
                let (code, r) = upload(&url, &up, &f);
                if (200..300).contains(&code) {
                    acked.lock().unwrap().push(r);
                }
            }
        }));
    }
    // Kill once some, not all, uploads were acknowledged.
    let start = std::time::Instant::now();
    while acked.lock().unwrap().len() < files.len() / 3 && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill9();
    for h in handles {
        h.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // The kill came in the middle: some uploads were acknowledged, the rest found no server.
    assert!(
        !acked.is_empty() && acked.len() < files.len(),
        "{} of {}",
        acked.len(),
        files.len()
    );

    // The log opens: its tiles hash to the signed checkpoint (nothing half-written).
    {
        let log = zt_tlog::Log::open(&server_repo.join(".zt/log")).unwrap();
        for r in &acked {
            let i = r["log_index"].as_u64().unwrap();
            let e: serde_json::Value = serde_json::from_slice(&log.entry(i).unwrap()).unwrap();
            assert_eq!(e["bundle"], r["id"], "entry {i}");
        }
    }
    // Restarted, the server has every acknowledged upload, with the same receipt, and takes
    // the rest.
    let server = hub(&server_repo, &runner, &store);
    for r in &acked {
        let (code, page) = curl(&[
            "-H",
            &format!("Authorization: Bearer {up}"),
            &format!("{}/api/v1/evidence?limit=1000", server.url),
        ]);
        assert_eq!(code, 200);
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == r["id"]),
            "{} lost",
            r["id"]
        );
    }
    for f in &files {
        let (code, r) = upload(&server.url, &up, f);
        assert!(code == 200 || code == 201, "{r}");
        if let Some(first) = acked.iter().find(|a| a["id"] == r["id"]) {
            assert_eq!((code, &r["log_index"]), (200, &first["log_index"]));
        }
    }
    assert_eq!(evidence_count(&server.url, &up, ""), files.len());
}

#[test]
fn tokens_are_listed_without_secrets_and_revoked_tokens_stop_working() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let read = token(&server_repo, "read");
    let server = hub(&server_repo, &runner, &[]);
    let (code, _) = curl(&[
        "-H",
        &format!("Authorization: Bearer {read}"),
        &format!("{}/api/v1/evidence", server.url),
    ]);
    assert_eq!(code, 200);
    let out = zt(&server_repo)
        .args(["serve", "token", "list", "--json", "--repo"])
        .arg(&server_repo)
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(!stdout.contains(&read), "{stdout}");
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let out = zt(&server_repo)
        .args(["serve", "token", "revoke", &id, "--repo"])
        .arg(&server_repo)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (code, p) = curl(&[
        "-H",
        &format!("Authorization: Bearer {read}"),
        &format!("{}/api/v1/evidence", server.url),
    ]);
    assert_eq!(
        (code, p["detail"].as_str()),
        (401, Some("bad_api_token")),
        "{p}"
    );
    // The OpenAPI document needs no credential.
    let (code, doc) = curl(&[&format!("{}/api/v1/openapi.json", server.url)]);
    assert_eq!((code, doc["openapi"].as_str()), (200, Some("3.1.0")));
    // Both changes made on the host are access records in the log: the creation before the
    // server ran (appended directly), the revocation while it ran (appended through it).
    drop(server);
    let log = zt_tlog::Log::open(&server_repo.join(".zt/log")).unwrap();
    let admin: Vec<serde_json::Value> = (0..log.size())
        .map(|i| serde_json::from_slice(&log.entry(i).unwrap()).unwrap_or_default())
        .filter(|e: &serde_json::Value| e["type"] == "https://zt.dev/log/hub-admin/v1")
        .collect();
    let actions: Vec<&str> = admin.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["token-create", "token-revoke"], "{admin:?}");
    assert_eq!(admin[1]["detail"], format!("id={id}"));
    assert!(
        admin[0]["who"].as_str().unwrap().starts_with("host:"),
        "{admin:?}"
    );
}

/// `zt sign --server` uploads what it signed: a runner with its own log and key, the server
/// trusting both.
#[test]
fn sign_with_server_uploads_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let up = token(&server_repo, "upload");
    // The runner's log is held by nobody: the server has its own.
    let server = hub(&server_repo, &runner, &[]);
    let f = runner.join("artifact.bin");
    fs_err::write(&f, b"payload").unwrap();
    let out: Output = zt(&runner)
        .env("ZT_SERVER_TOKEN", &up)
        .args([
            "sign",
            "artifact.bin",
            "--key",
            ".zt/keys/pipeline",
            "--server",
            &server.url,
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["upload"]["created"], true, "{v}");
    // Without a credential the upload is refused, and zt says how to fix it.
    let out = zt(&runner)
        .args([
            "sign",
            "artifact.bin",
            "--key",
            ".zt/keys/pipeline",
            "--server",
            &server.url,
        ])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("credentials_required") && stderr.contains("help:"),
        "{stderr}"
    );
}

/// The bundle file of `runner` whose statement has `predicate_type`.
fn bundle_of_type(runner: &Path, predicate_type: &str) -> PathBuf {
    bundles(runner)
        .into_iter()
        .find(|p| {
            let json: serde_json::Value =
                serde_json::from_slice(&fs_err::read(p).unwrap()).unwrap();
            zt_core::bundle::statement(&json).is_some_and(|s| s.predicate_type == predicate_type)
        })
        .unwrap()
}

/// A CI job uploads with its OIDC ID token, no API token: what `[[upload]]` binds to its
/// repository and ref goes in, anything else is refused naming the binding; its token also
/// reads; `reads = "public"` opens reads to anyone.
#[test]
fn ci_jobs_upload_with_their_oidc_token_as_trust_toml_binds() {
    use zt_test_support::issuer::{AUDIENCE, Issuer};
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let mut issuer = Issuer::new("", "hub-key");
    issuer.iss = Issuer::serve_jwks(issuer.jwks());
    fs_err::create_dir_all(server_repo.join(".zt/secrets")).unwrap();
    fs_err::write(
        server_repo.join(".zt/secrets/trust.toml"),
        format!(
            "reads = \"public\"\n\n[[issuer]]\nurl = \"{}\"\naudiences = [\"{AUDIENCE}\"]\n\n\
             [[upload]]\nbind = \"repository=org/app,ref=refs/heads/main\"\n\
             predicate_types = [\"https://slsa.dev/provenance/v1\"]\n",
            issuer.iss
        ),
    )
    .unwrap();
    let server = hub(&server_repo, &runner, &[]);
    let url = server.url.clone();
    let provenance = bundle_of_type(&runner, "https://slsa.dev/provenance/v1");
    let sbom = bundle_of_type(&runner, "https://cyclonedx.org/bom");

    let main = issuer.mint(&issuer.claims("org/app", "refs/heads/main", "j1"));
    let (code, r) = upload(&url, &main, &provenance);
    assert_eq!(code, 201, "{r}");
    let sub = "repo:org/app:ref:refs/heads/main";
    assert_eq!(
        r["uploaded_by"],
        format!("oidc:{} {sub}", issuer.iss),
        "{r}"
    );
    // The same token again (no jti replay check for uploads): another bundle type is not
    // bound to this job.
    let (code, p) = upload(&url, &main, &sbom);
    assert_eq!(
        (code, p["detail"].as_str()),
        (403, Some("upload_not_bound")),
        "{p}"
    );
    assert!(p["reason"].as_str().unwrap().contains("org/app"), "{p}");
    // Another repository, or another branch, may upload nothing.
    for (repo, git_ref) in [
        ("org/other", "refs/heads/main"),
        ("org/app", "refs/heads/dev"),
    ] {
        let t = issuer.mint(&issuer.claims(repo, git_ref, "j2"));
        let (code, p) = upload(
            &url,
            &t,
            &bundle_of_type(&runner, "https://slsa.dev/provenance/v1"),
        );
        // Already uploaded: the first receipt, whoever asks (nothing is written).
        assert_eq!(code, 200, "{p}");
        let (code, p) = upload(&url, &t, &sbom);
        assert_eq!(
            (code, p["detail"].as_str()),
            (403, Some("upload_not_bound")),
            "{repo} {git_ref}: {p}"
        );
    }
    // A token of an issuer the server does not trust, or one that expired.
    let stranger = Issuer::new("https://stranger.example", "hub-key");
    let t = stranger.mint(&stranger.claims("org/app", "refs/heads/main", "j3"));
    let (code, p) = upload(&url, &t, &sbom);
    assert_eq!(
        (code, p["detail"].as_str()),
        (401, Some("wrong_issuer")),
        "{p}"
    );
    let mut claims = issuer.claims("org/app", "refs/heads/main", "j4");
    claims["exp"] = (zt_test_support::issuer::now() - 3600).into();
    claims["iat"] = (zt_test_support::issuer::now() - 4000).into();
    claims["nbf"] = (zt_test_support::issuer::now() - 4000).into();
    let (code, p) = upload(&url, &issuer.mint(&claims), &sbom);
    assert_eq!((code, p["detail"].as_str()), (401, Some("expired")), "{p}");
    // Public reads: no credential needed; the one upload is there.
    let (code, page) = curl(&[&format!("{url}/api/v1/evidence")]);
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

/// The hub remembers which bundles verified, but never their revocation: once a revocation of
/// the signing key is uploaded, the next decision rejects the key's evidence.
#[test]
fn a_revocation_uploaded_later_turns_the_next_decision_to_deny() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let digest = digest_of(&runner);
    let up = token(&server_repo, "upload");
    let server = hub(&server_repo, &runner, &[]);
    for f in bundles(&runner) {
        let (code, r) = upload(&server.url, &up, &f);
        assert_eq!(code, 201, "{r}");
    }
    let decide = || {
        curl(&[
            "-H",
            &format!("Authorization: Bearer {up}"),
            "-d",
            &format!(r#"{{"digest":"{digest}","stage":"deploy"}}"#),
            &format!("{}/api/v1/decide", server.url),
        ])
    };
    let (code, j) = decide();
    assert_eq!(
        (code, &j["allow"]),
        (200, &serde_json::Value::Bool(true)),
        "{j}"
    );
    let bundle = revoke_pipeline_key(&runner);
    let (code, r) = upload(&server.url, &up, &bundle);
    assert_eq!(code, 201, "{r}");
    let (code, j) = decide();
    assert_eq!(
        (code, &j["allow"]),
        (200, &serde_json::Value::Bool(false)),
        "{j}"
    );
    assert!(j.to_string().contains("revoked"), "{j}");
}

/// `POST /api/v1/decide` for `digest` at deploy on `url`.
/// Revokes the runner's pipeline key (`zt key revoke`, backdated to 0); the revocation's
/// bundle.
fn revoke_pipeline_key(runner: &Path) -> PathBuf {
    let out = zt(runner)
        .args([
            "key",
            "revoke",
            ".zt/keys/pipeline.pub",
            "--reason",
            "stolen",
            "--at",
            "0",
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let revocation: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let bundle = PathBuf::from(revocation["bundle"].as_str().unwrap());
    if bundle.is_absolute() {
        bundle
    } else {
        runner.join(bundle)
    }
}

fn decide(url: &str, token: &str, digest: &str) -> serde_json::Value {
    let (code, j) = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-d",
        &format!(r#"{{"digest":"{digest}","stage":"deploy"}}"#),
        &format!("{url}/api/v1/decide"),
    ]);
    assert_eq!(code, 200, "{j}");
    j
}

/// `GET /api/v1/trace/{digest}` on `url`: whether deploy is allowed.
fn trace_allows_deploy(url: &str, token: &str, digest: &str) -> bool {
    let (code, t) = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{url}/api/v1/trace/{digest}"),
    ]);
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["decisions"][2]["stage"], "deploy", "{t}");
    t["decisions"][2]["allow"].as_bool().unwrap()
}

/// A test-result statement about the runner's artifact reporting a failure, signed by the
/// runner's pipeline key and logged in its log: evidence that turns the decision to deny.
fn failed_test_result(runner: &Path) -> PathBuf {
    fs_err::write(
        runner.join("junit-failed.xml"),
        r#"<testsuite name="s" tests="2" failures="1"><testcase classname="c" name="ok"/><testcase classname="c" name="bad"><failure message="boom"/></testcase></testsuite>"#,
    )
    .unwrap();
    let bundle = runner.join("failed-tests.sigstore.json");
    let out = zt(runner)
        .args([
            "attest",
            "out/hello",
            "--type",
            "test-results",
            "--from",
            "junit-failed.xml",
            "--key",
            ".zt/keys/pipeline",
            "--bundle",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    bundle
}

fn denied_by(j: &serde_json::Value, rule: &str) -> bool {
    j["allow"] == false
        && j["deny"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == rule)
}

/// The hub keeps an artifact's verified evidence and its judgements between decisions; a
/// failing test result uploaded after an allow must turn the very next decision (and trace)
/// to deny — a kept allow is never served once the ledger holds more evidence.
#[test]
fn a_failed_test_result_uploaded_after_an_allow_turns_the_next_decision_to_deny() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, server_repo) = setup(dir.path());
    let digest = digest_of(&runner);
    let up = token(&server_repo, "upload");
    let server = hub(&server_repo, &runner, &[]);
    for f in bundles(&runner) {
        let (code, r) = upload(&server.url, &up, &f);
        assert_eq!(code, 201, "{r}");
    }
    // Twice: the second decision is the kept one.
    for _ in 0..2 {
        let j = decide(&server.url, &up, &digest);
        assert_eq!(j["allow"], true, "{j}");
        assert!(trace_allows_deploy(&server.url, &up, &digest));
    }
    let (code, r) = upload(&server.url, &up, &failed_test_result(&runner));
    assert_eq!(code, 201, "{r}");
    let j = decide(&server.url, &up, &digest);
    assert!(denied_by(&j, "tests.failed"), "{j}");
    assert!(!trace_allows_deploy(&server.url, &up, &digest));
}

/// Two hubs on one PostgreSQL store (each its own repository, log and tokens): each keeps
/// what it gathered, but checks the shared ledger before reusing it, so an upload through one
/// — a failing test result, then a revocation of the signing key — is seen by the next
/// decision on the other.
#[test]
fn two_servers_on_one_postgres_store_see_each_others_uploads() {
    let pg = PgSchema::new();
    let store = pg.args();
    let store: Vec<&str> = store.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    let (runner, repo_a) = setup(dir.path());
    let repo_b = dir.path().join("server-b");
    fs_err::create_dir_all(repo_b.join(".zt/keys")).unwrap();
    fs_err::copy(repo_a.join("zt.toml"), repo_b.join("zt.toml")).unwrap();
    fs_err::copy(
        repo_a.join(".zt/keys/pipeline.pub"),
        repo_b.join(".zt/keys/pipeline.pub"),
    )
    .unwrap();
    let digest = digest_of(&runner);
    let up_a = token(&repo_a, "upload");
    let read_b = token(&repo_b, "read");
    let a = hub(&repo_a, &runner, &store);
    let b = hub(&repo_b, &runner, &store);

    // Nothing yet: B denies (and keeps that gathering).
    let j = decide(&b.url, &read_b, &digest);
    assert_eq!(j["allow"], false, "{j}");
    for f in bundles(&runner) {
        let (code, r) = upload(&a.url, &up_a, &f);
        assert_eq!(code, 201, "{r}");
    }
    for _ in 0..2 {
        let j = decide(&b.url, &read_b, &digest);
        assert_eq!(j["allow"], true, "{j}");
        assert!(trace_allows_deploy(&b.url, &read_b, &digest));
    }

    // A failing test result through A: B denies.
    let (code, r) = upload(&a.url, &up_a, &failed_test_result(&runner));
    assert_eq!(code, 201, "{r}");
    let j = decide(&b.url, &read_b, &digest);
    assert!(denied_by(&j, "tests.failed"), "{j}");
    assert!(!trace_allows_deploy(&b.url, &read_b, &digest));

    // A revocation of the signing key through A: B rejects every bundle the key signed.
    let bundle = revoke_pipeline_key(&runner);
    let (code, r) = upload(&a.url, &up_a, &bundle);
    assert_eq!(code, 201, "{r}");
    let j = decide(&b.url, &read_b, &digest);
    assert_eq!(j["allow"], false, "{j}");
    assert!(j["evidence"].as_array().unwrap().is_empty(), "{j}");
    assert!(j.to_string().contains("revoked"), "{j}");
}
