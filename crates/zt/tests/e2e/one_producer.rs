//! One producer per predicate type (issue 15): the SBOM, vulnerability-scan and
//! dependency-check statements `zt pipeline run` makes are the ones `zt sbom`, `zt vuln scan`
//! and `zt deps check` make with `--attest --subject FILE` in separate CI steps, byte for
//! byte; and the pipeline's vuln stage applies the repository's waivers (it used to write
//! `waived: false` for every finding, so a waived critical still blocked).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{git, text, zt};

fn bundles(ex: &Path) -> BTreeSet<PathBuf> {
    fs_err::read_dir(ex.join(".zt/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// The DSSE payload (the statement's bytes as signed) of the one bundle among `new` whose
/// name starts with `kind-`.
fn payload(new: &BTreeSet<PathBuf>, kind: &str) -> Vec<u8> {
    let found: Vec<&PathBuf> = new
        .iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.strip_prefix(kind)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| !rest.starts_with("scan-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{kind}: {new:?}");
    let json: serde_json::Value = serde_json::from_slice(&fs_err::read(found[0]).unwrap()).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(json["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap()
}

fn run_pipeline(ex: &Path) -> serde_json::Value {
    let out = zt(ex)
        .args(["pipeline", "run", ".", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap()
}

fn stage<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

fn example(d: &Path) -> PathBuf {
    common::example_repo(d, "example").0
}

#[test]
fn pipeline_stages_and_standalone_commands_make_byte_identical_statements() {
    let dir = tempfile::tempdir().unwrap();
    let ex = example(dir.path());
    // A second run: now every input the stages read exists already (the vulnerability store
    // the first run's vuln stage imported is also the deps check's malware data).
    let before = bundles(&ex);
    let report = run_pipeline(&ex);
    for name in ["deps", "sbom", "vuln"] {
        assert_eq!(stage(&report, name)["status"], "passed", "{report}");
    }
    let pipeline: BTreeSet<PathBuf> = bundles(&ex).difference(&before).cloned().collect();

    let before = bundles(&ex);
    for args in [
        &[
            "sbom",
            "--attest",
            "--subject",
            "out/hello",
            "--out",
            "../bom.json",
        ][..],
        &[
            "vuln",
            "scan",
            ".zt/sbom/bom.cdx.json",
            "--attest",
            "--subject",
            "out/hello",
        ],
        &["deps", "check", "--attest", "--subject", "out/hello"],
    ] {
        let out = zt(&ex).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {:?}", text(&out));
    }
    let standalone: BTreeSet<PathBuf> = bundles(&ex).difference(&before).cloned().collect();

    for (stage_kind, cli_kind) in [("sbom", "sbom"), ("vuln", "vuln-scan"), ("deps", "deps")] {
        let a = payload(&pipeline, stage_kind);
        let b = payload(&standalone, cli_kind);
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{stage_kind}"
        );
        let st: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(st["subject"][0]["name"], "out/hello", "{st}");
    }
    // The statement is about the artifact as it is on disk.
    let st: serde_json::Value = serde_json::from_slice(&payload(&standalone, "vuln-scan")).unwrap();
    let digest = zt_core::Digest::sha256(&fs_err::read(ex.join("out/hello")).unwrap());
    assert_eq!(st["subject"][0]["digest"]["sha256"], digest.hex());
    // The database is dated by its advisories, not by the (repeated) import.
    let feed: serde_json::Value = serde_json::from_slice(
        &fs_err::read(ex.join("advisories/ZT-EXAMPLE-2026-0001.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(st["predicate"]["database"]["updated"], feed["modified"]);
}

#[test]
fn a_waived_critical_no_longer_blocks_the_pipeline_and_an_expired_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let ex = example(dir.path());
    // A dependency the example's own advisory (critical, CVSS 9.8) affects.
    let h = "ab".repeat(32);
    fs_err::write(
        ex.join("requirements.txt"),
        format!("example-greeter==0.8.0 --hash=sha256:{h}\n"),
    )
    .unwrap();
    git(&ex, &["add", "requirements.txt"]);
    git(&ex, &["commit", "-q", "-m", "use greeter"]);
    let report = run_pipeline(&ex);
    let vuln = stage(&report, "vuln");
    assert_eq!(vuln["status"], "failed", "{report}");
    assert!(
        vuln["remediation"]
            .as_str()
            .unwrap()
            .contains("zt vuln waive"),
        "{vuln}"
    );

    // The waiver, written by `zt vuln waive`, committed: the critical is waived.
    let out = zt(&ex)
        .args([
            "vuln",
            "waive",
            "ZT-EXAMPLE-2026-0001",
            "--purl",
            "pkg:pypi/example-greeter@0.8.0",
            "--justification",
            "vulnerable_code_not_in_execute_path",
            "--statement",
            "the greeting is never formatted from user input",
            "--compensating-control",
            "input length limit",
            "--owner",
            "alice",
            "--approver",
            "bob",
            "--expires",
            &zt_core::time::rfc3339(zt_core::time::now() + 30 * 86_400),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(ex.join("zt-waivers.toml").is_file());
    git(&ex, &["add", "zt-waivers.toml"]);
    git(&ex, &["commit", "-q", "-m", "waive greeter"]);
    let before = bundles(&ex);
    let report = run_pipeline(&ex);
    let vuln = stage(&report, "vuln");
    assert_eq!(vuln["status"], "passed", "{report}");
    assert!(
        vuln["summary"].as_str().unwrap().contains("1 waived"),
        "{vuln}"
    );
    let new: BTreeSet<PathBuf> = bundles(&ex).difference(&before).cloned().collect();
    let st: serde_json::Value = serde_json::from_slice(&payload(&new, "vuln")).unwrap();
    let findings = st["predicate"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{st}");
    assert_eq!(findings[0]["id"], "ZT-EXAMPLE-2026-0001");
    assert_eq!(findings[0]["severity"], "critical");
    assert_eq!(findings[0]["waived"], true);

    // The same waiver, expired (edited by hand, as an old file would be): it waives nothing.
    let text_now = fs_err::read_to_string(ex.join("zt-waivers.toml")).unwrap();
    let expires = text_now
        .lines()
        .find(|l| l.starts_with("expires = "))
        .unwrap()
        .to_owned();
    fs_err::write(
        ex.join("zt-waivers.toml"),
        text_now.replace(&expires, "expires = \"2026-01-02\""),
    )
    .unwrap();
    git(&ex, &["commit", "-q", "-am", "waiver expired"]);
    let report = run_pipeline(&ex);
    let vuln = stage(&report, "vuln");
    assert_eq!(vuln["status"], "failed", "{report}");
    assert!(
        vuln["summary"]
            .as_str()
            .unwrap()
            .contains("1 expired waiver"),
        "{vuln}"
    );
}
