//! End-to-end tests of `zt sbom` and `zt deps check`: the real binary in a temporary directory.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/lockfiles"
);

fn zt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zt"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn copy(from: &str, dir: &Path, to: &str) {
    fs_err::copy(Path::new(SHARED).join(from), dir.join(to)).unwrap();
}

#[test]
fn sbom_is_deterministic_and_lists_the_lockfile() {
    let dir = tempfile::tempdir().unwrap();
    copy("cargo-lock/many-packages.lock", dir.path(), "Cargo.lock");
    let a = zt(dir.path(), &["sbom", "--name", "demo", "--out", "a.json"]);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    let b = zt(dir.path(), &["sbom", "--name", "demo", "--out", "b.json"]);
    assert_eq!(b.status.code(), Some(0));
    let a = fs_err::read(dir.path().join("a.json")).unwrap();
    assert_eq!(a, fs_err::read(dir.path().join("b.json")).unwrap());
    let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["components"].as_array().unwrap().len(), 6);
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");

    let s = zt(dir.path(), &["sbom", ".", "--format", "spdx"]);
    assert_eq!(s.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["packages"].as_array().unwrap().len(), 7);
}

#[test]
fn sbom_of_a_directory_without_lockfiles_has_the_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["sbom"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no lockfile"));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["components"].as_array().unwrap().is_empty());
}

#[test]
fn malformed_lockfile_is_an_input_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n[[package]]\nname = \"x\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["sbom", "--out", "out.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Cargo.lock:2: package `x` has no string `version`"),
        "{err}"
    );
    assert!(err.contains("help:"), "{err}");
    assert!(!dir.path().join("out.json").exists());
}

#[test]
fn deps_check_reports_unpinned_requirements() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("requirements.txt"),
        "good==1.0 --hash=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nloose>=2.0\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("requirements.txt:2: deny [floating] pkg:pypi/loose@2.0: `loose>=2.0` does not pin an exact version"),
        "{out}"
    );
    assert!(
        out.contains(
            "requirements.txt:2: deny [missing-hash] pkg:pypi/loose@2.0: `loose` has no `--hash`"
        ),
        "{out}"
    );
    assert!(!out.contains(":1:"), "{out}");
    let j = zt(dir.path(), &["deps", "check", "--json"]);
    assert_eq!(j.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2);
    // The same findings as SARIF for code scanning: each at its lockfile line, its fix in the
    // message, under its rule.
    let s = zt(dir.path(), &["deps", "check", "--sarif"]);
    assert_eq!(s.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let floating = results.iter().find(|r| r["ruleId"] == "floating").unwrap();
    assert_eq!(floating["level"], "error");
    let at = &floating["locations"][0]["physicalLocation"];
    assert_eq!(at["artifactLocation"]["uri"], "requirements.txt");
    assert_eq!(at["region"]["startLine"], 2);
    assert!(
        floating["message"]["text"]
            .as_str()
            .unwrap()
            .contains("Fix: ")
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(
        rules[floating["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "floating"
    );

    copy("cargo-lock/many-packages.lock", dir.path(), "Cargo.lock");
    fs_err::remove_file(dir.path().join("requirements.txt")).unwrap();
    assert_eq!(zt(dir.path(), &["deps", "check"]).status.code(), Some(0));
}

#[test]
fn deps_check_flags_git_without_commit_and_missing_checksums() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\nsource = \"git+https://example.com/b?branch=main\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "Cargo.lock:3: deny [missing-hash] pkg:cargo/a@1.0.0: `a` 1.0.0 has no checksum"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "Cargo.lock:8: deny [unpinned-git] pkg:cargo/b@0.1.0: `b` comes from git `https://example.com/b` without a pinned commit"
        ),
        "{out}"
    );
}

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

#[test]
fn deps_check_yarn_with_licences_malware_and_typosquats() {
    let dir = tempfile::tempdir().unwrap();
    let h = "ab".repeat(64);
    fs_err::write(
        dir.path().join("yarn.lock"),
        format!(
            "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"expresss@npm:^4.0.0\":\n  version: 4.18.2\n  resolution: \"expresss@npm:4.18.2\"\n  checksum: {h}\n\n\"02-echo@npm:0.0.7\":\n  version: 0.0.7\n  resolution: \"02-echo@npm:0.0.7\"\n  checksum: {h}\n\n\"left-pad@npm:^1.3.0\":\n  version: 1.3.0\n  resolution: \"left-pad@npm:1.3.0\"\n  checksum: {h}\n"
        ),
    )
    .unwrap();
    fs_err::write(
        dir.path().join("licenses.json"),
        r#"{"pkg:npm/expresss": "MIT", "pkg:npm/left-pad@1.3.0": "WTFPL OR GPL-3.0-only"}"#,
    )
    .unwrap();
    fs_err::write(
        dir.path().join("zt.toml"),
        "[deps.licenses]\nallow = [\"MIT\", \"ISC\"]\nunknown = \"warn\"\n",
    )
    .unwrap();
    let malware = format!("{TESTDATA}/osv/malicious");
    let top = format!("{TESTDATA}/malware/top-packages");
    let args = [
        "deps",
        "check",
        "--licenses",
        "licenses.json",
        "--malware",
        &malware,
        "--top-packages",
        &top,
    ];
    let o = zt(dir.path(), &args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("yarn.lock:5: deny [typosquat] pkg:npm/expresss@4.18.2: `expresss` looks like a typosquat of the popular `express` (edit-distance)"), "{out}");
    assert!(out.contains("yarn.lock:10: deny [malicious] pkg:npm/02-echo@0.0.7: `02-echo` 0.0.7 is known malware: MAL-2025-191025 (affected[0].versions lists 0.0.7)"), "{out}");
    assert!(
        out.contains("yarn.lock:10: warn [license-unknown]"),
        "{out}"
    );
    assert!(out.contains("yarn.lock:15: deny [license-denied] pkg:npm/left-pad@1.3.0: `left-pad` 1.3.0 is licensed `WTFPL OR GPL-3.0-only`; not allowed: WTFPL, GPL-3.0-only"), "{out}");
    assert_eq!(out.matches("    fix: ").count(), 4, "{out}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let j = zt(dir.path(), &json_args);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["denied"], true);
    assert_eq!(v["packages"], 3);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["problem"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "typosquat",
            "license-unknown",
            "malicious",
            "license-denied"
        ]
    );
    assert!(v["not_checked"].as_array().unwrap().is_empty());

    // typosquats as warnings, the malware and licence findings still deny
    let mut warn_args = args.to_vec();
    warn_args.extend(["--typosquat", "warn"]);
    assert_eq!(zt(dir.path(), &warn_args).status.code(), Some(1));
    // a clean project passes, and says what it could not check
    let clean = tempfile::tempdir().unwrap();
    copy(
        "pnpm-lock-yaml/one-package.v9.yaml",
        clean.path(),
        "pnpm-lock.yaml",
    );
    let o = zt(
        clean.path(),
        &[
            "deps",
            "check",
            "--malware",
            &malware,
            "--top-packages",
            &top,
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("not checked: licences"));
}

#[test]
fn deps_check_bad_licence_policy_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    copy(
        "pnpm-lock-yaml/one-package.v9.yaml",
        dir.path(),
        "pnpm-lock.yaml",
    );
    fs_err::write(
        dir.path().join("zt.toml"),
        "[deps.licenses]\nallow = [\n  \"MIT\",\n  \"Not-A-Licence\",\n]\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "zt.toml:4: deps.licenses.allow[1]: `Not-A-Licence` is not an SPDX licence id"
        ),
        "{err}"
    );
    fs_err::write(
        dir.path().join("zt.toml"),
        "[deps.licenses]\nallow = [\"MIT\"]\nunknow = \"warn\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("zt.toml:3:1: unknown field `unknow`"));
}

fn statement_of(dir: &Path, kind: &str) -> serde_json::Value {
    let bundle = fs_err::read_dir(dir.join(".zt/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{kind}-"))
        })
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&fs_err::read(bundle).unwrap()).unwrap();
    let payload = zt_core::b64::decode(json["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// Issue 15: `zt sbom --attest` made statements about the lockfiles and `zt deps check` could
/// not attest at all, so separate CI steps never gave the gate evidence about the artifact.
#[test]
fn check_and_sbom_attest_about_the_subject_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy("cargo-lock/many-packages.lock", d, "Cargo.lock");
    fs_err::create_dir_all(d.join("out")).unwrap();
    fs_err::write(d.join("out/app"), b"the artifact").unwrap();
    let digest = zt_core::Digest::sha256(b"the artifact").hex();
    let o = zt(
        d,
        &[
            "deps",
            "check",
            "--attest",
            "--subject",
            "out/app",
            "--json",
        ],
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let st = statement_of(d, "deps");
    assert_eq!(
        st["predicateType"],
        "https://zt.dev/attestation/dependency-intake/v1"
    );
    assert_eq!(st["subject"][0]["name"], "out/app");
    assert_eq!(st["subject"][0]["digest"]["sha256"], digest);
    assert_eq!(
        st["predicate"]["lockfiles"],
        serde_json::json!(["Cargo.lock"])
    );
    assert!(st["predicate"]["pinned"].is_boolean());
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        st["predicate"]["denied"], report["denied"],
        "the statement says what the command reports"
    );

    let o = zt(
        d,
        &[
            "sbom",
            "--attest",
            "--subject",
            "out/app",
            "--out",
            "bom.json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let st = statement_of(d, "sbom");
    assert_eq!(st["subject"][0]["name"], "out/app");
    assert_eq!(st["subject"][0]["digest"]["sha256"], digest);
    let bom = fs_err::read_to_string(d.join("bom.json")).unwrap();
    assert!(bom.contains(&digest), "the artifact is a component too");

    // a subject that is not a file is refused before anything is signed
    let o = zt(
        d,
        &["deps", "check", "--attest", "--subject", "out/missing"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("subject `out/missing` is not a file") && err.contains("help:"),
        "{err}"
    );
    // `--subject` without `--attest` is a usage error (there is no statement)
    let o = zt(d, &["deps", "check", "--subject", "out/app"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Regression (issue 16): `zt deps check` passed with "0 lockfiles" on a `package.json`
/// whose dependencies are `*` and `latest`.
#[test]
fn deps_check_denies_a_manifest_without_a_lockfile() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("package.json"),
        r#"{"name": "app", "dependencies": {"left-pad": "*", "lodash": "latest"}, "devDependencies": {"jest": "^29.0.0"}}"#,
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("package.json: deny [unpinned-manifest] pkg:npm/app: `package.json` declares 3 dependencies (`left-pad` `*`, `lodash` `latest`, `jest` `^29.0.0`) and has no lockfile"),
        "{out}"
    );
    assert!(out.contains("`npm install --package-lock-only`"), "{out}");
    let j = zt(dir.path(), &["deps", "check", "--json"]);
    assert_eq!(j.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{doc}");
    assert_eq!(findings[0]["problem"], "unpinned-manifest");
    assert!(
        findings[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("package.json")
    );

    // Cargo.toml without Cargo.lock, beside it: a second finding, its own fix.
    fs_err::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\n[dependencies]\nserde = \"1\"\n",
    )
    .unwrap();
    let o = zt(dir.path(), &["deps", "check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Cargo.toml: deny [unpinned-manifest]")
            && out.contains("`cargo generate-lockfile`"),
        "{out}"
    );

    // With the lockfiles, the manifests are pinned by them.
    copy("cargo-lock/many-packages.lock", dir.path(), "Cargo.lock");
    let o = zt(dir.path(), &["deps", "check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("Cargo.toml"), "{out}");
    assert!(
        out.contains("package.json: deny [unpinned-manifest]"),
        "{out}"
    );
}
