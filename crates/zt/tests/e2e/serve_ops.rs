//! `zt serve` run like a service, end to end with the real binary on 127.0.0.1: the log over
//! HTTP (tiles, checkpoint, `zt log --log-url`), commands appending through a running server,
//! the C2SP witness, Kubernetes deploy admission with AdmissionReview documents, readiness,
//! metrics and JSON logs, and the faults: `kill -9` during appends, PostgreSQL going away,
//! slow and oversized requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Serve, example_repo, text, zt};

/// `curl -sS -i`: the status, the headers (lower-cased names) and the body.
fn http(args: &[&str]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "60", "-H", "Expect:"])
        .args(args)
        .output()
        .expect("curl must be installed (`.ci/run` installs it)");
    assert!(out.status.success(), "curl {args:?}: {:?}", text(&out));
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn post_json(url: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = http(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
        url,
    ]);
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn fixture(name: &str, digest: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../zt-server/tests/testdata/admission")
        .join(name);
    fs_err::read_to_string(path)
        .unwrap()
        .replace("@DIGEST@", digest)
}

fn log_size(url: &str) -> u64 {
    let (status, _, body) = http(&[&format!("{url}/checkpoint")]);
    assert_eq!(status, 200);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn sha256_hex(path: &Path) -> String {
    zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, path)
        .unwrap()
        .to_string()
        .trim_start_matches("sha256:")
        .to_owned()
}

#[test]
fn the_log_admission_and_appends_through_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "example");
    let serve = Serve::start(&repo, &["--admission-exclude", "kube-system"], &[]);
    let url = serve.url.clone();
    assert!(repo.join(".zt/serve.addr").is_file());

    // --- The log over HTTP: the same bytes as the files, with the right caching.
    let (status, headers, body) = http(&[&format!("{url}/checkpoint")]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&headers, "cache-control"), "public, max-age=5");
    assert_eq!(body, fs_err::read(repo.join(".zt/log/checkpoint")).unwrap());
    let size = log_size(&url);
    assert!(size > 0 && size < 256, "{size}");
    let partial = format!("tile/0/000.p/{size}");
    let (status, headers, body) = http(&[&format!("{url}/{partial}")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=60");
    assert_eq!(
        body,
        fs_err::read(repo.join(".zt/log").join(&partial)).unwrap()
    );
    let (status, _, body) = http(&[&format!("{url}/tile/entries/000.p/{size}")]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        fs_err::read(repo.join(format!(".zt/log/tile/entries/000.p/{size}"))).unwrap()
    );
    for path in [
        "tile/0/001",
        "tile/0/../../private/log.key",
        "tile/0/%2e%2e/private/log.key",
        "private/log.key",
        "tile/0/000.p/0",
    ] {
        let (status, headers, _) = http(&["--path-as-is", &format!("{url}/{path}")]);
        assert_eq!(status, 404, "{path}");
        assert_eq!(header(&headers, "content-type"), "application/problem+json");
    }

    // --- `zt log` reads the remote log: proofs computed from the served tiles and checked.
    let out = zt(dir.path())
        .args(["log", "--log-url", &url, "prove", "--index", "0", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("trusting the key"), "{stderr}");
    let proof: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(proof["size"], size);
    let p = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let out = zt(dir.path())
        .args([
            "log",
            "verify-inclusion",
            "--leaf-hash",
            proof["leaf_hash"].as_str().unwrap(),
            "--index",
            "0",
            "--size",
            &size.to_string(),
            "--root",
            proof["root"].as_str().unwrap(),
            "--proof",
            &p,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    // The key pinned (from the repository's log.pub): consistency between two sizes.
    let out = zt(dir.path())
        .args(["log", "--dir", &url, "--log-key"])
        .arg(repo.join(".zt/log/log.pub"))
        .args(["consistency", "--from", "1", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("trusting the key"), "{stderr}");
    // A key that is not the log's: the checkpoint does not verify.
    let other = tempfile::tempdir().unwrap();
    let out = zt(other.path())
        .args(["log", "--dir", "o", "init", "--origin", "other.example/log"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = zt(other.path())
        .args([
            "log",
            "--log-url",
            &url,
            "--log-key",
            "o/log.pub",
            "checkpoint",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{:?}", text(&out));

    // --- Commands that append go through the server: prompt, logged, not forked.
    let before = log_size(&url);
    // A whole pipeline run in the same repository, while the server holds the log.
    let start = Instant::now();
    let out = zt(dir.path())
        .args(["pipeline", "run", "example", "--json"])
        .env("ZT_LOG_WAIT", "3")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let elapsed = start.elapsed();
    let mid = log_size(&url);
    assert!(mid > before, "{before} -> {mid}");
    // `zt sign` beside the server.
    fs_err::write(repo.join("note.txt"), "signed while the server runs\n").unwrap();
    let start = Instant::now();
    let out = zt(&repo)
        .args(["sign", "note.txt", "--key", ".zt/keys/pipeline", "--json"])
        .env("ZT_LOG_WAIT", "3")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let signed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(signed["log_index"], mid, "{signed}");
    assert_eq!(log_size(&url), mid + 1);
    let after = mid + 1;
    // The bundle `zt sign` wrote verifies offline against the log's key.
    let out = zt(&repo)
        .args([
            "verify",
            "note.txt",
            "--key",
            ".zt/keys/pipeline.pub",
            "--bundle",
        ])
        .arg(signed["bundle"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));

    // --- Deploy admission with AdmissionReview documents.
    let admission = format!("{url}/admission/v1");
    let digest = sha256_hex(&repo.join("out/hello"));
    let (status, review) = post_json(&admission, &fixture("pod-pinned.json", &digest));
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    assert_eq!(
        review["response"]["uid"],
        "705ab4f5-6393-11e8-b7cc-42010a800002"
    );
    assert_eq!(review["response"]["allowed"], true, "{review}");
    let logged = log_size(&url);
    assert_eq!(logged, after + 1, "an admission is recorded in the log");

    let (status, review) = post_json(&admission, &fixture("pod-tag.json", &digest));
    assert_eq!(status, 200);
    assert_eq!(
        review["response"]["uid"],
        "8a2c4e1d-0d6b-4b8e-9a51-3f2b7c0e9d11"
    );
    assert_eq!(review["response"]["allowed"], false);
    assert_eq!(review["response"]["status"]["code"], 403);
    let message = review["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("pin by digest"), "{message}");
    assert!(
        message.contains("registry.example.com:5000/shop/web@sha256:<digest>"),
        "{message}"
    );
    assert!(message.contains("spec.containers[0] (web)"), "{message}");

    let (status, review) = post_json(
        &admission,
        &fixture("deployment-unknown-digest.json", &digest),
    );
    assert_eq!(status, 200);
    assert_eq!(review["response"]["allowed"], false);
    let message = review["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("provenance.missing"), "{message}");
    assert!(message.contains("fix: "), "{message}");
    assert!(
        message.contains("spec.template.spec.containers[0] (api)"),
        "{message}"
    );
    assert!(
        !message.contains("containers[1]"),
        "the pinned, signed image passes: {message}"
    );

    let before_dry = log_size(&url);
    let (status, review) = post_json(&admission, &fixture("cronjob-dry-run.json", &digest));
    assert_eq!(status, 200);
    assert_eq!(review["response"]["allowed"], true, "{review}");
    assert_eq!(log_size(&url), before_dry, "a dry run leaves no record");

    let (status, review) = post_json(&admission, &fixture("kube-system-excluded.json", &digest));
    assert_eq!(status, 200);
    assert_eq!(review["response"]["allowed"], true);
    let warning = review["response"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("kube-system") && warning.contains("excluded"),
        "{warning}"
    );

    let (status, review) = post_json(&admission, &fixture("pod-delete.json", &digest));
    assert_eq!(status, 200);
    assert_eq!(review["response"]["allowed"], true);

    // The reviews that named the artifact's digest are in its trace, newest first: the refused
    // Deployment (another of its images is unsigned), the refused Pod (another of its images
    // is not pinned) and the admitted Pod; the dry run left no record; each points at its log
    // entry.
    let out = zt(&repo)
        .args(["trace", "out/hello", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let trace: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let deployments: Vec<(String, bool, String)> = trace["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["object"].as_str().unwrap().to_owned(),
                d["allowed"].as_bool().unwrap(),
                d["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        deployments,
        [
            ("Deployment shop/api".to_owned(), false, "UPDATE".to_owned()),
            ("Pod shop/web".to_owned(), false, "CREATE".to_owned()),
            ("Pod shop/hello".to_owned(), true, "CREATE".to_owned())
        ],
        "{trace}"
    );
    assert_eq!(trace["deployments"][2]["log_index"], after, "{trace}");
    let out = zt(&repo).args(["trace", "out/hello"]).output().unwrap();
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("deployment  admitted CREATE Pod shop/hello at "),
        "{stdout}"
    );

    let (status, problem) = post_json(&admission, r#"{"apiVersion":"v1","kind":"Pod"}"#);
    assert_eq!(status, 400);
    assert_eq!(problem["detail"], "not_admission_review_v1");

    // --- Health, readiness, metrics.
    let (status, _, body) = http(&[&format!("{url}/healthz")]);
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    let (status, _, body) = http(&[&format!("{url}/readyz")]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, headers, body) = http(&[&format!("{url}/metrics")]);
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").starts_with("text/plain; version=0.0.4"));
    let metrics = String::from_utf8(body).unwrap();
    for needle in [
        "# TYPE zt_http_requests_total counter",
        "zt_http_requests_total{route=\"/admission/v1\",method=\"POST\",status=\"200\"}",
        "zt_http_request_duration_seconds_bucket{route=\"/checkpoint\",le=\"+Inf\"}",
        "zt_decisions_total{stage=\"deploy\",verdict=\"allow\"}",
        "zt_decisions_total{stage=\"deploy\",verdict=\"deny\"}",
        "zt_admission_reviews_total{outcome=\"excluded\"} 1",
        &format!("zt_log_size {}", log_size(&url)),
        // The pipeline's own figures from the ledger (`zt metrics`), after the example's run.
        "# TYPE zt_builds gauge",
        "zt_reproducibility_ratio 1",
        "zt_policy_pass_ratio 1",
    ] {
        assert!(metrics.contains(needle), "{needle} missing:\n{metrics}");
    }

    let (_, _, served) = http(&[&format!("{url}/checkpoint")]);
    let out = serve.stop();
    let (status, log) = (out.status, text(&out).1);
    assert!(status.success(), "{log}");
    assert!(
        !repo.join(".zt/serve.addr").exists(),
        "the record goes with the server"
    );
    // One JSON object per line on stderr, one per request, never a query string or body.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "/admission/v1" && l["status"] == 200)
    );
    assert!(
        lines
            .iter()
            .any(|l| l["path"] == "/log/v1/append" && l["status"] == 200)
    );
    assert!(!log.contains("zta1."), "the append token is never logged");
    eprintln!("pipeline run beside the server: {elapsed:?}");

    // After the server: the log opens, and is the one the server served (not forked).
    let out = zt(&repo).args(["log", "checkpoint"]).output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(
        text(&out).0.trim_end(),
        String::from_utf8_lossy(&served).trim_end()
    );
}

/// The append token `zt serve` wrote for this machine's user.
fn append_token(repo: &Path) -> String {
    let text = fs_err::read_to_string(repo.join(".zt/serve.addr")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["append_token"].as_str().unwrap().to_owned()
}

#[test]
fn append_route_needs_the_token_and_refuses_bad_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().to_path_buf();
    let serve = Serve::start(&repo, &[], &[]);
    let url = format!("{}/log/v1/append", serve.url);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs_err::metadata(repo.join(".zt/serve.addr"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = append_token(&repo);
    let body = r#"{"entries":["aGVsbG8="]}"#;
    let (status, _, b) = http(&["-X", "POST", "--data-binary", body, &url]);
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&b));
    let (status, _, _) = http(&[
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer zta1.nope",
        "--data-binary",
        body,
        &url,
    ]);
    assert_eq!(status, 401);
    let auth = format!("Authorization: Bearer {token}");
    let (status, _, _) = http(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "-H",
        "X-Forwarded-For: 203.0.113.9",
        "--data-binary",
        body,
        &url,
    ]);
    assert_eq!(status, 403);
    let (status, _, b) = http(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        "{\"entries\":[\"!\"]}",
        &url,
    ]);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&b));
    // An oversized body: a problem document, nothing appended.
    let big = dir.path().join("big.json");
    fs_err::write(
        &big,
        format!("{{\"entries\":[\"{}\"]}}", "A".repeat(9 << 20)),
    )
    .unwrap();
    let (status, headers, b) = http(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        &format!("@{}", big.display()),
        &url,
    ]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&b));
    assert_eq!(header(&headers, "content-type"), "application/problem+json");
    let problem: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(problem["detail"], "body_too_large");
    assert_eq!(log_size(&serve.url), 0);
    let (status, _, b) = http(&["-X", "POST", "-H", &auth, "--data-binary", body, &url]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
    let reply: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(reply["first"], 0);
    assert!(
        reply["proofs"][0]
            .as_str()
            .unwrap()
            .starts_with("c2sp.org/tlog-proof@v1\n")
    );
    assert_eq!(log_size(&serve.url), 1);

    // A client that never finishes its request head is cut off; the server keeps serving.
    let mut slow = TcpStream::connect(serve.addr()).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: ").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(25),
        "{:?}",
        start.elapsed()
    );
    // A client that sends a head and then trickles a body: 408 after the body timeout would
    // take 30 s; the head timeout above is the one exercised here.
    let (status, _, _) = http(&[&format!("{}/healthz", serve.url)]);
    assert_eq!(status, 200);
    let out = serve.stop();
    let (status, _) = (out.status, text(&out).1);
    assert!(status.success());
}

/// An acknowledged append: its index, the entry, and the proof the server returned.
type Acked = (u64, Vec<u8>, String);

#[test]
fn kill_9_during_appends_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().to_path_buf();
    let serve = Serve::start(&repo, &[], &[]);
    let url = format!("{}/log/v1/append", serve.url);
    let token = append_token(&repo);
    // Several writers append as fast as they can; each remembers what was acknowledged.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (url, token, acked, stop) =
                (url.clone(), token.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    let entry = format!("writer {w} entry {i}").into_bytes();
                    i += 1;
                    let body = format!("{{\"entries\":[\"{}\"]}}", zt_core::b64::encode(&entry));
                    let out = Command::new("curl")
                        .args(["-sS", "--max-time", "10", "-X", "POST", "-H"])
                        .arg(format!("Authorization: Bearer {token}"))
                        .args(["--data-binary", &body, "-w", "\n%{http_code}", &url])
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout).into_owned();
                    let Some((json, code)) = text.rsplit_once('\n') else {
                        continue;
                    };
                    if code == "200" {
                        let v: serde_json::Value = serde_json::from_str(json).unwrap();
                        let proof = v["proofs"][0].as_str().unwrap().to_owned();
                        acked
                            .lock()
                            .unwrap()
                            .push((v["first"].as_u64().unwrap(), entry, proof));
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    while acked.lock().unwrap().len() < 40 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    serve.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "only {} appends acknowledged",
        acked.len()
    );

    // The server is gone; its stale record does not stop a command from using the log.
    assert!(repo.join(".zt/serve.addr").exists());
    let log = zt_tlog::Log::open(&repo.join(".zt/log")).unwrap();
    let policy = zt_tlog::TrustPolicy::log_only(log.verifier().clone()).unwrap();
    let final_cp = zt_tlog::Checkpoint::parse_body(
        zt_tlog::Note::parse(log.checkpoint().as_bytes())
            .unwrap()
            .text(),
    )
    .unwrap();
    for (index, entry, proof) in &acked {
        assert_eq!(&log.entry(*index).unwrap(), entry, "entry {index}");
        // The checkpoint the client was given is a prefix of the log after the restart.
        let proof = zt_tlog::TlogProof::parse(proof.as_bytes()).unwrap();
        let seen = proof.verify(&zt_tlog::leaf_hash(entry), &policy).unwrap();
        let consistency = log
            .consistency_proof(seen.checkpoint.size, final_cp.size)
            .unwrap();
        zt_tlog::verify_consistency(
            seen.checkpoint.size,
            final_cp.size,
            &consistency,
            &seen.checkpoint.root,
            &final_cp.root,
        )
        .unwrap();
    }
    drop(log);
    // And a restarted server serves on, appending after what is there.
    let serve = Serve::start(&repo, &[], &[]);
    let size = log_size(&serve.url);
    assert!(size >= acked.len() as u64);
    let auth = format!("Authorization: Bearer {}", append_token(&repo));
    let (status, _, b) = http(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        r#"{"entries":["YWZ0ZXI="]}"#,
        &format!("{}/log/v1/append", serve.url),
    ]);
    assert_eq!(status, 200);
    let reply: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(reply["first"], size);
    serve.stop();
}

/// A TCP proxy to PostgreSQL the test can take down and bring back: the store "restarts"
/// without touching the shared server.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let flag = flag.clone();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let flag = flag.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        from.set_read_timeout(Some(Duration::from_millis(200)))
                            .unwrap();
                        loop {
                            if !flag.load(Ordering::SeqCst) {
                                let _ = to.shutdown(std::net::Shutdown::Both);
                                let _ = from.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => {
                                    let _ = to.shutdown(std::net::Shutdown::Write);
                                    return;
                                }
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        return;
                                    }
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        std::io::ErrorKind::WouldBlock
                                            | std::io::ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => return,
                            }
                        }
                    });
                }
            }
        });
        Proxy { port, up }
    }
}

#[test]
fn postgres_going_away_makes_the_server_unready_not_broken() {
    if Command::new("pg_isready")
        .args(["-h", "127.0.0.1", "-p", "5432"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI must run PostgreSQL on 127.0.0.1:5432 (`.ci/run` starts it)");
        }
        eprintln!("skipped: no PostgreSQL on 127.0.0.1:5432");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().to_path_buf();
    // Policies to judge with (`zt init`), the ledger in PostgreSQL behind a proxy.
    let out = zt(&repo).arg("init").output().unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let proxy = Proxy::start("127.0.0.1:5432");
    let schema = format!("zt_ops_{}", std::process::id());
    let store = format!(
        "postgres://postgres@127.0.0.1:{}/test?schema={schema}",
        proxy.port
    );
    // The schema exists before the server starts (any command that opens the ledger makes it).
    let serve = Serve::start(&repo, &[], &[("ZT_STORE_URL", &store)]);
    let ready = |url: &str| http(&[&format!("{url}/readyz")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, body) = ready(&serve.url);
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready: {}",
            String::from_utf8_lossy(&body)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let review = fixture("pod-pinned.json", &"a".repeat(64));
    let (status, verdict) = post_json(&format!("{}/admission/v1", serve.url), &review);
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["response"]["allowed"], false);

    // The store goes away: unready, and the routes that need it answer 503, never 500.
    proxy.up.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1200));
    let (status, _, body) = ready(&serve.url);
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["checks"]["store"]["ok"], false);
    assert_eq!(body["checks"]["log"]["ok"], true);
    let (status, problem) = post_json(&format!("{}/admission/v1", serve.url), &review);
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["detail"], "store_unavailable");
    // The log does not depend on the store: appends still succeed.
    let auth = format!("Authorization: Bearer {}", append_token(&repo));
    let (status, _, _) = http(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        r#"{"entries":["eA=="]}"#,
        &format!("{}/log/v1/append", serve.url),
    ]);
    assert_eq!(status, 200);

    // It comes back: ready again, judging again, nothing lost.
    proxy.up.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1200));
    let (status, _, body) = ready(&serve.url);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, verdict) = post_json(&format!("{}/admission/v1", serve.url), &review);
    assert_eq!(status, 200, "{verdict}");
    // Two recorded admissions (before and after) and the append made while the store was down.
    assert_eq!(log_size(&serve.url), 3);
    let out = serve.stop();
    let (status, log) = (out.status, text(&out).1);
    assert!(status.success());
    assert!(log.contains("\"status\":503"), "{log}");
    assert!(!log.contains("\"status\":500"), "{log}");
    let _ = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c"])
        .arg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .output();
}

#[test]
fn a_witness_cosigns_another_organisations_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The other organisation's log, and this server's witness key.
    let run = |args: &[&str]| {
        let out = zt(d).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {:?}", text(&out));
        text(&out).0
    };
    run(&[
        "log",
        "--dir",
        "theirs",
        "init",
        "--origin",
        "theirs.example/log",
    ]);
    for i in 0..3 {
        fs_err::write(d.join(format!("e{i}")), format!("entry {i}")).unwrap();
    }
    run(&["log", "--dir", "theirs", "append", "e0"]);
    run(&["key", "generate", "--type", "ed25519", "--out", "witness"]);
    let key = d.join("witness");
    let repo = d.join("repo");
    fs_err::create_dir_all(&repo).unwrap();
    let theirs_pub = d.join("theirs/log.pub");
    let serve = Serve::start(
        &repo,
        &[
            "--witness-key",
            key.to_str().unwrap(),
            "--witness-name",
            "witness.example/w1",
            "--witness-log",
            theirs_pub.to_str().unwrap(),
        ],
        &[],
    );
    let add = format!("{}/add-checkpoint", serve.url);
    let post = |body: &[u8]| {
        let f = d.join("req");
        fs_err::write(&f, body).unwrap();
        http(&[
            "-X",
            "POST",
            "--data-binary",
            &format!("@{}", f.display()),
            &add,
        ])
    };
    let cp1 = fs_err::read(d.join("theirs/checkpoint")).unwrap();
    let body = [b"old 0\n\n".as_slice(), &cp1].concat();
    let (status, headers, reply) = post(&body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    let line = String::from_utf8(reply).unwrap();
    assert!(
        line.starts_with("— witness.example/w1 ") && line.ends_with('\n'),
        "{line}"
    );
    assert!(header(&headers, "content-type").starts_with("text/plain"));
    // The cosigned checkpoint meets a policy requiring this witness.
    let cosigned = format!("{}{line}", String::from_utf8_lossy(&cp1));
    fs_err::write(d.join("cosigned"), &cosigned).unwrap();

    run(&["log", "--dir", "theirs", "append", "e1", "e2"]);
    let cp3 = fs_err::read(d.join("theirs/checkpoint")).unwrap();
    // Old size 0 again: 409 with the latest size as text/x.tlog.size.
    let (status, headers, reply) = post(&[b"old 0\n\n".as_slice(), &cp3].concat());
    assert_eq!(status, 409);
    assert_eq!(header(&headers, "content-type"), "text/x.tlog.size");
    assert_eq!(reply, b"1\n");
    // A proof that does not verify: 422.
    let bad = b"old 1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n".as_slice();
    let (status, _, _) = post(&[bad, &cp3].concat());
    assert_eq!(status, 422);
    // The real proof: 200.
    let out = run(&[
        "log",
        "--dir",
        "theirs",
        "consistency",
        "--from",
        "1",
        "--json",
    ]);
    let proof: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut body = b"old 1\n".to_vec();
    for h in proof["proof"].as_array().unwrap() {
        body.extend_from_slice(h.as_str().unwrap().as_bytes());
        body.push(b'\n');
    }
    body.push(b'\n');
    body.extend_from_slice(&cp3);
    let (status, _, reply) = post(&body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    // A log this witness does not know: 404. Garbage: 400.
    run(&[
        "log",
        "--dir",
        "stranger",
        "init",
        "--origin",
        "stranger.example/log",
    ]);
    let cp = fs_err::read(d.join("stranger/checkpoint")).unwrap();
    let (status, _, _) = post(&[b"old 0\n\n".as_slice(), &cp].concat());
    assert_eq!(status, 404);
    let (status, _, _) = post(b"hello\n");
    assert_eq!(status, 400);
    // The witness remembers across restarts: a stale old size is still a conflict.
    serve.stop();
    let serve = Serve::start(
        &repo,
        &[
            "--witness-key",
            key.to_str().unwrap(),
            "--witness-name",
            "witness.example/w1",
            "--witness-log",
            theirs_pub.to_str().unwrap(),
        ],
        &[],
    );
    let add = format!("{}/add-checkpoint", serve.url);
    let f = d.join("req");
    fs_err::write(&f, [b"old 1\n\n".as_slice(), &cp3].concat()).unwrap();
    let (status, _, reply) = http(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("@{}", f.display()),
        &add,
    ]);
    assert_eq!(status, 409);
    assert_eq!(reply, b"3\n");
    serve.stop();
}

#[test]
fn tls_when_given_a_certificate_and_plain_http_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = Command::new("openssl")
        .current_dir(d)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .output()
        .expect("openssl must be installed (`.ci/run` installs it)");
    assert!(out.status.success(), "{:?}", text(&out));
    // Plain HTTP off loopback: refused before anything is opened.
    let out = zt(d)
        .args(["serve", "--listen", "0.0.0.0:0", "--repo", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(text(&out).1.contains("--tls-cert"), "{:?}", text(&out));
    // A key that is not a key: a clear error naming the file.
    fs_err::write(d.join("bad.pem"), "nope").unwrap();
    let out = zt(d)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--repo",
            ".",
            "--tls-cert",
            "cert.pem",
            "--tls-key",
            "bad.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(text(&out).1.contains("bad.pem"), "{:?}", text(&out));
    // With TLS (any address may be given; loopback here), HTTPS with the certificate.
    let serve = Serve::start(d, &["--tls-cert", "cert.pem", "--tls-key", "key.pem"], &[]);
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    let port = serve.url.rsplit(':').next().unwrap().to_owned();
    let (status, _, body) = http(&[
        "--cacert",
        d.join("cert.pem").to_str().unwrap(),
        &format!("https://localhost:{port}/checkpoint"),
    ]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // Plain HTTP to the TLS port gets nothing served.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/healthz"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("ok"));
    // No append record under TLS: local commands use the log directly when it is free.
    assert!(!d.join(".zt/serve.addr").exists());
    let out = serve.stop();
    let (status, _) = (out.status, text(&out).1);
    assert!(status.success());
}
