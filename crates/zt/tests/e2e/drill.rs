//! End to end: `zt drill all --json` plants each compromise in a scratch copy of the example
//! and every one must be detected, with where, the time to detect and to contain. Then the
//! incident workflows on a real pipeline run.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{example_repo, text, zt};

#[test]
fn every_drill_is_detected_and_contained() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path())
        .args(["drill", "all", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["allDetected"], true, "{stdout}");
    let drills = v["drills"].as_array().unwrap();
    let names: Vec<&str> = drills
        .iter()
        .map(|d| d["drill"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tamper-dependency",
            "leaked-key",
            "unsigned-commit",
            "malicious-build-script",
            "exfiltrating-test"
        ]
    );
    let by = |name: &str| -> Vec<String> {
        drills.iter().find(|d| d["drill"] == name).unwrap()["detected_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(by("tamper-dependency").contains(&"watch: changed-program".to_owned()));
    assert_eq!(by("leaked-key"), ["pipeline: source"]);
    assert_eq!(by("unsigned-commit"), ["watch: unsigned-commit"]);
    assert!(by("malicious-build-script").contains(&"watch: network-attempt".to_owned()));
    assert!(by("exfiltrating-test").contains(&"watch: network-attempt".to_owned()));
    for d in drills {
        assert!(!d["contained_by"].as_str().unwrap().is_empty(), "{d}");
        assert!(
            d["time_to_contain_ms"].as_u64() >= d["time_to_detect_ms"].as_u64(),
            "{d}"
        );
    }
    let unknown = zt(dir.path()).args(["drill", "no-such"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn incidents_print_what_they_did_and_write_a_signed_record() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, run) = example_repo(dir.path(), "ex");
    let artifact = run["artifacts"][0][1].as_str().unwrap().to_owned();
    let head = common::git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();

    // The run's figures: one build, rebuilt and reproducible, one decision that allowed.
    let m = zt(&repo).args(["metrics", "--json"]).output().unwrap();
    let (stdout, stderr) = text(&m);
    assert_eq!(m.status.code(), Some(0), "{stdout}\n{stderr}");
    let m: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(m["builds"], 1, "{m}");
    assert_eq!(m["reproducibilityRate"], 1.0, "{m}");
    assert_eq!(m["policyPassRate"], 1.0, "{m}");
    assert!(m["sandboxOverhead"].as_f64().unwrap() > 0.0, "{m}");
    let p = zt(&repo)
        .args(["metrics", "--prometheus"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&p.stdout).contains("zt_policy_pass_ratio 1\n"));

    let out = zt(&repo)
        .args(["incident", "bad-commit", &head, "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rebuild"].as_array().unwrap().len(), 1, "{stdout}");
    assert_eq!(v["redecided"][0]["digest"], artifact.as_str());
    assert!(std::path::Path::new(v["record"].as_str().unwrap()).is_file());

    // The pipeline key is compromised: revoked from before the build, its artifact is now
    // denied, and the build is listed to redo.
    let pem = fs_err::read_to_string(repo.join(".zt/keys/pipeline.pub")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = zt_core::b64::decode(&b64).unwrap();
    let key_id = zt_core::Digest::sha256(&der).hex();
    let out = zt(&repo)
        .args([
            "incident",
            "key-compromised",
            &key_id,
            "--at",
            "2020-01-01T00:00:00Z",
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = v["redecided"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["digest"] == artifact.as_str())
        .unwrap();
    assert_eq!(r["allowed"], false, "{stdout}");
    assert_eq!(v["rebuild"].as_array().unwrap().len(), 1, "{stdout}");
    // The revoked key was the pipeline key: it signs nothing more, the record stays unsigned.
    assert_eq!(v["signed"], false, "{stdout}");
    assert!(std::path::Path::new(v["record"].as_str().unwrap()).is_file());
    assert!(stderr.contains("is not signed"), "{stderr}");

    let out = zt(&repo)
        .args(["incident", "bad-package", "pkg:npm/left-pad@1.3.0"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("not in the mirror"), "{stdout}");
}
