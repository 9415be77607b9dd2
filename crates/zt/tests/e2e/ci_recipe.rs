//! `docs/ci.md`'s recipe, step by step, as CI would run it on a repository: separate zt
//! steps, each attesting about the built artifact, end in allow — and a step left out ends in
//! the deny that names it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{example_repo, text, zt};

fn step(repo: &Path, args: &[&str]) -> String {
    let out = zt(repo).args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "zt {}:\n{stdout}\n{stderr}",
        args.join(" ")
    );
    stdout
}

#[test]
fn the_ci_recipe_of_separate_steps_reaches_allow() {
    let dir = tempfile::tempdir().unwrap();
    // The example repository, set up as `zt pipeline run` writes it; its evidence is then
    // thrown away so that only the recipe's steps make any.
    let (repo, _) = example_repo(dir.path(), "repo");
    for d in [
        "bundles",
        "log",
        "ledger.db",
        "ledger.db-wal",
        "ledger.db-shm",
        "vuln",
    ] {
        let p = repo.join(".zt").join(d);
        if p.is_dir() {
            fs_err::remove_dir_all(&p).unwrap();
        } else if p.exists() {
            fs_err::remove_file(&p).unwrap();
        }
    }
    fs_err::remove_dir_all(repo.join("out")).unwrap();
    let key = ".zt/keys/pipeline";

    step(&repo, &["source", "scan", "."]);
    step(&repo, &["build", "--rebuild", "2", "--", "make"]);
    let junit = repo.join("junit.xml");
    let make = Command::new("make")
        .arg("-C")
        .arg(&repo)
        .args(["-s", "test"])
        .arg(format!("JUNIT={}", junit.display()))
        .output()
        .unwrap();
    assert!(make.status.success(), "{:?}", text(&make));
    step(
        &repo,
        &[
            "attest",
            "out/hello",
            "--type",
            "test-results",
            "--from",
            "junit.xml",
            "--key",
            key,
        ],
    );
    // Judged before the rest: the missing steps are named.
    let out = zt(&repo).args(["build", "verify"]).output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for missing in ["deps.missing", "sbom.missing", "vuln.missing"] {
        assert!(stdout.contains(missing), "{missing}: {stdout}");
    }
    assert!(!stdout.contains("provenance.missing"), "{stdout}");
    assert!(!stdout.contains("tests.missing"), "{stdout}");
    // The same denies as SARIF for code scanning: one result each, at the artifact, with its
    // fix; the exit status is the verdict's.
    let out = zt(&repo)
        .args(["build", "verify", "--sarif"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for missing in ["deps.missing", "sbom.missing", "vuln.missing"] {
        let r = results.iter().find(|r| r["ruleId"] == missing).unwrap();
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "out/hello"
        );
        assert!(r["message"]["text"].as_str().unwrap().contains("Fix: "));
    }

    step(
        &repo,
        &["deps", "check", "--attest", "--subject", "out/hello"],
    );
    step(
        &repo,
        &[
            "sbom",
            "--out",
            "bom.cdx.json",
            "--attest",
            "--subject",
            "out/hello",
        ],
    );
    step(&repo, &["vuln", "db", "import", "advisories"]);
    step(
        &repo,
        &[
            "vuln",
            "scan",
            "bom.cdx.json",
            "--attest",
            "--subject",
            "out/hello",
        ],
    );
    let out = zt(&repo).args(["build", "verify"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("allow out/hello"), "{stdout}");
}
