//! End to end: `zt init`, `zt policy eval` and `zt policy test` on the real binary.
// Helpers below are test code called from `#[test]`s: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const DIGEST: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

/// The built-in library's `test_` rules: library 2, signature 7, provenance 6, tests 5,
/// deps 3, sbom 2, vuln 4.
const BUILTIN_TESTS: usize = 44;

fn zt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zt"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ev(key: &str, predicate_type: &str, predicate: Value) -> Value {
    json!({
        "statement": {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app.tar.gz", "digest": {"sha256": DIGEST}}],
            "predicateType": predicate_type,
            "predicate": predicate,
        },
        "signer": {"key_id": key, "algorithm": "ed25519"},
        "log": {"status": "verified", "index": 4},
        "time": "2026-11-25T10:00:00Z",
    })
}

fn good_input(key: &str) -> Value {
    json!({
        "version": 1,
        "subject": {"name": "app.tar.gz", "digest": {"sha256": DIGEST}},
        "evidence": [
            ev(key, "https://slsa.dev/provenance/v1", json!({"buildDefinition": {"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2}}})),
            ev(key, "https://in-toto.io/attestation/test-result/v0.1", json!({"result": "PASSED", "passedTests": ["t"], "warnedTests": [], "failedTests": [], "coverage": 85.0})),
            ev(key, "https://zt.dev/attestation/dependency-intake/v1", json!({"pinned": true, "unpinned": []})),
            ev(key, "https://spdx.dev/Document/v2.3", json!({"spdxVersion": "SPDX-2.3"})),
            ev(key, "https://zt.dev/attestation/vuln-scan/v1", json!({"database": {"updated": "2026-11-24T00:00:00Z"}, "findings": []})),
        ],
        "rejected": [],
        "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "example", "ref": "refs/heads/main"},
    })
}

/// Runs `zt init` in a fresh directory and returns it with the new key's id.
fn initialised() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["init", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let key = out["key_id"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 64);
    (dir, key)
}

fn write_input(dir: &Path, v: &Value) {
    fs_err::write(
        dir.join("input.json"),
        serde_json::to_vec_pretty(v).unwrap(),
    )
    .unwrap();
}

#[test]
fn policy_test_passes_on_the_builtin_library() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["policy", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().last(),
        Some(format!("{BUILTIN_TESTS} passed, 0 failed").as_str())
    );
    assert!(
        out.contains("ok data.zt.vuln_test.test_unwaived_critical_denies"),
        "{out}"
    );
    let o = zt(dir.path(), &["policy", "test", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], BUILTIN_TESTS);
    assert_eq!(v["failed"], 0);
}

#[test]
fn policy_test_reports_failures_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine");
    fs_err::create_dir(&p).unwrap();
    fs_err::write(
        p.join("mine_test.rego"),
        "package zt.mine_test\n\ntest_true if true\n\ntest_false if {\n\t1 == 2\n}\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["policy", "test", "mine"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("FAIL data.zt.mine_test.test_false"), "{out}");
    assert!(out.contains("undefined"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some(format!("{} passed, 1 failed", BUILTIN_TESTS + 1).as_str())
    );
}

#[test]
fn rego_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pol");
    fs_err::create_dir(&p).unwrap();
    fs_err::write(
        p.join("bad.rego"),
        "package zt.bad\n\ndeny contains d if {\n\td := {\"id\": }\n}\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["policy", "test", "pol"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error: pol/bad.rego:4:"), "{err}");
    assert!(err.contains("help:"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn init_scaffolds_and_refuses_to_overwrite() {
    let (dir, key) = initialised();
    let root = dir.path();
    let config = fs_err::read_to_string(root.join("zt.toml")).unwrap();
    assert!(config.contains("public_key = \".zt/keys/local.pub\""));
    assert!(config.contains(&key));
    assert!(root.join(".zt/keys/local").is_file());
    assert!(root.join(".zt/keys/local.pub").is_file());
    assert!(root.join("policies/README.md").is_file());
    assert!(root.join("policies/branch.rego").is_file());
    // Private keys, the secrets store (its master key) and per-machine caches are never committed.
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(root)
            .args(args)
            .status()
            .unwrap()
    };
    assert!(git(&["init", "-q"]).success());
    for private in [
        ".zt/keys/local",
        ".zt/secrets/master.key",
        ".zt/source/verified",
        ".zt/cache/digests.json",
        ".zt/cache/program-digests",
    ] {
        assert!(git(&["check-ignore", "-q", private]).success(), "{private}");
    }
    assert!(!git(&["check-ignore", "-q", ".zt/keys/local.pub"]).success());
    let o = zt(root, &["init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("exists and trusts"), "{}", stderr(&o));
    assert_eq!(
        fs_err::read_to_string(root.join("zt.toml")).unwrap(),
        config
    );
    // The scaffolded repository's policies (built-in + the example) all pass their tests.
    let o = zt(root, &["policy", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).ends_with(&format!("{} passed, 0 failed\n", BUILTIN_TESTS + 2)));
}

#[test]
fn eval_allows_complete_evidence_and_denies_what_is_missing() {
    let (dir, key) = initialised();
    let root = dir.path();
    write_input(root, &good_input(&key));
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "allow (stage ci)\n");

    // Without provenance: a deny that names the rule, the missing evidence and the command.
    let mut input = good_input(&key);
    input["evidence"].as_array_mut().unwrap().remove(0);
    write_input(root, &input);
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("FAIL provenance.missing: no trusted SLSA provenance"),
        "{out}"
    );
    assert!(
        out.contains("fix: build with `zt build --rebuild 2 -- <your build command>`"),
        "{out}"
    );
    assert!(
        out.contains("doc: docs/policies.md#provenance-missing"),
        "{out}"
    );
    assert!(
        out.ends_with("deny (stage ci): 1 rule violation\n"),
        "{out}"
    );

    // A rejected bundle and a feature branch at deploy: every deny, sorted, as JSON.
    let mut input = good_input(&key);
    input["rejected"] =
        json!([{"source": "app.tar.gz.sigstore.json", "reason": "signature does not verify"}]);
    input["context"]["ref"] = json!("refs/heads/wip");
    write_input(root, &input);
    let o = zt(
        root,
        &[
            "--json",
            "policy",
            "eval",
            "--input",
            "input.json",
            "--stage",
            "deploy",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["allow"], false);
    assert_eq!(v["stage"], "deploy");
    let ids: Vec<&str> = v["deny"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["branch.not-deployable", "signature.rejected"]);
    assert!(
        v["deny"][1]["message"]
            .as_str()
            .unwrap()
            .contains("signature does not verify")
    );
}

#[test]
fn eval_input_errors_exit_2_and_name_the_field() {
    let (dir, key) = initialised();
    let root = dir.path();
    let mut input = good_input(&key);
    input["context"]["stage"] = json!("prod");
    write_input(root, &input);
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `context.stage`: unknown variant `prod`"),
        "{}",
        stderr(&o)
    );

    let mut input = good_input(&key);
    input["evidence"][1]["signer"]["kid"] = json!("x");
    write_input(root, &input);
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `evidence[1].signer.kid`: unknown field `kid`"),
        "{}",
        stderr(&o)
    );

    write_input(root, &good_input(&key));
    let o = zt(
        root,
        &["policy", "eval", "--input", "input.json", "--stage", "prod"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("prod"));

    fs_err::write(root.join("input.json"), "{\"version\": 1").unwrap();
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("policy input `input.json`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn eval_needs_a_valid_zt_toml() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), &good_input(&"1".repeat(64)));
    let o = zt(dir.path(), &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("zt init"), "{}", stderr(&o));

    fs_err::write(
        dir.path().join("zt.toml"),
        "[thresholds]\nmin_coverage = 50.0\nfoo = 1\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("zt.toml:3:1: unknown field `foo`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn init_example_override_replaces_the_builtin_tests_policy() {
    let (dir, key) = initialised();
    let root = dir.path();
    // `zt init` leaves coverage off until CI records it; this repository has turned it on.
    let config = fs_err::read_to_string(root.join("zt.toml")).unwrap();
    assert!(config.contains("min_coverage = 0.0"), "{config}");
    fs_err::write(
        root.join("zt.toml"),
        config.replace("min_coverage = 0.0", "min_coverage = 80.0"),
    )
    .unwrap();
    let mut input = good_input(&key);
    input["evidence"][1]["statement"]["predicate"]["coverage"] = json!(10.0);
    write_input(root, &input);
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("tests.coverage: test coverage 10% is below the required 80%"),
        "{}",
        stdout(&o)
    );

    fs_err::rename(
        root.join("policies/tests.rego.example"),
        root.join("policies/tests.rego"),
    )
    .unwrap();
    let o = zt(root, &["policy", "eval", "--input", "input.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = zt(
        root,
        &[
            "policy",
            "eval",
            "--input",
            "input.json",
            "--stage",
            "deploy",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("tests.coverage: no test results report at least 80% coverage"),
        "{}",
        stdout(&o)
    );
    // The built-in tests of the replaced file notice that coverage no longer counts at ci.
    let o = zt(root, &["policy", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL data.zt.tests_test.test_low_coverage_denies"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn policy_commands_use_the_repository_found_from_a_subdirectory() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    fs_err::create_dir(repo.join(".git")).unwrap();
    let p = repo.join("policies");
    fs_err::create_dir(&p).unwrap();
    fs_err::write(
        p.join("team_test.rego"),
        "package zt.team_test\n\ntest_team if true\n",
    )
    .unwrap();
    fs_err::write(repo.join("zt.toml"), "[policy]\ndirs = [\"policies\"]\n").unwrap();
    let sub = repo.join("src/lib");
    fs_err::create_dir_all(&sub).unwrap();
    // The repository's zt.toml names its policy folder: its test runs from anywhere inside.
    let o = zt(&sub, &["policy", "test"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("ok data.zt.team_test.test_team"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some(format!("{} passed, 0 failed", BUILTIN_TESTS + 1).as_str())
    );
    // A folder that is not there is named, with the fix.
    fs_err::write(repo.join("zt.toml"), "[policy]\ndirs = [\"gone\"]\n").unwrap();
    let o = zt(&sub, &["policy", "test"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("gone"), "{}", stderr(&o));
    assert!(stderr(&o).contains("help:"), "{}", stderr(&o));
}
