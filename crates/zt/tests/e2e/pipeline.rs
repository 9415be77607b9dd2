//! `zt pipeline run`: the README's main job, end to end on the bundled example, and the
//! ways it must deny.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{text, zt};

fn run_example(d: &Path) -> serde_json::Value {
    let out = zt(d)
        .args(["pipeline", "run", "--workdir", "example", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn the_bundled_example_ends_in_allow_with_verifiable_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = run_example(d);
    assert_eq!(report["allow"], true);
    let names: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "source", "build", "test", "deps", "sbom", "vuln", "sign", "verify", "policy"
        ]
    );
    for stage in report["stages"].as_array().unwrap() {
        assert_eq!(stage["status"], "passed", "{stage}");
    }
    let ex = d.join("example");
    assert!(ex.join("out/hello").is_file());
    // Every piece of evidence is a bundle that `zt verify` accepts on its own.
    let bundles: Vec<_> = fs_err::read_dir(ex.join(".zt/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(bundles.len() >= 5, "{bundles:?}");
    for b in &bundles {
        let out = zt(&ex)
            .args([
                "verify",
                "out/hello",
                "--bundle",
                b.to_str().unwrap(),
                "--key",
                ".zt/keys/pipeline.pub",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{b:?}: {:?}", text(&out));
    }
    // The same policies judge the artifact for deploy, offline, over the local evidence.
    let deploy = |ex: &Path| {
        let out = zt(ex)
            .args(["verify", "out/hello", "--stage", "deploy"])
            .output()
            .unwrap();
        (out.status.code(), text(&out).0)
    };
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("allow"), "{stdout}");
    let out = zt(&ex).args(["build", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    // Deleting the provenance: a deny that names the missing evidence.
    let provenance: Vec<_> = bundles
        .iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("provenance-")
        })
        .collect();
    assert_eq!(provenance.len(), 1);
    let kept = d.join("provenance.json");
    fs_err::rename(provenance[0], &kept).unwrap();
    // The ledger still holds it: the gate reads evidence from the ledger as well as files.
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(0), "{stdout}");
    // Without the ledger too, the provenance is gone.
    let ledgers: Vec<_> = fs_err::read_dir(ex.join(".zt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledger.db")
        })
        .collect();
    for l in &ledgers {
        fs_err::rename(l, d.join(l.file_name().unwrap())).unwrap();
    }
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("provenance.missing"), "{stdout}");
    fs_err::rename(&kept, provenance[0]).unwrap();
    for l in &ledgers {
        fs_err::rename(d.join(l.file_name().unwrap()), l).unwrap();
    }

    // One flipped byte in the artifact: another digest, about which nothing was ever signed.
    // The evidence about the built digest is not "rejected" (it is about other bytes): the
    // changed artifact simply has none.
    let original = fs_err::read(ex.join("out/hello")).unwrap();
    let mut bytes = original.clone();
    bytes[100] ^= 0xff;
    fs_err::write(ex.join("out/hello"), &bytes).unwrap();
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("provenance.missing"), "{stdout}");
    assert!(stdout.contains("signature.unsigned"), "{stdout}");
    // A bundle that claims the changed bytes' digest but signs other content is rejected and
    // named: here the provenance about the original, offered for the changed file.
    let out = zt(&ex)
        .args(["verify", "out/hello", "--stage", "deploy", "--bundle"])
        .arg(provenance_bundle(&bundles))
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    fs_err::write(ex.join("out/hello"), &original).unwrap();

    // One flipped byte in the artifact and every bundle refuses it.

    let mut bytes = fs_err::read(ex.join("out/hello")).unwrap();
    bytes[100] ^= 0xff;
    fs_err::write(ex.join("out/hello"), &bytes).unwrap();
    for b in &bundles {
        let out = zt(&ex)
            .args([
                "verify",
                "out/hello",
                "--bundle",
                b.to_str().unwrap(),
                "--key",
                ".zt/keys/pipeline.pub",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{b:?}: {:?}", text(&out));
    }
}

fn provenance_bundle(bundles: &[std::path::PathBuf]) -> &std::path::Path {
    bundles
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("provenance-")
        })
        .unwrap()
}

#[test]
fn revoking_the_signing_key_rejects_its_later_evidence_and_shows_the_blast_radius() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_example(d);
    let ex = d.join("example");
    let deploy = |ex: &Path| {
        let out = zt(ex)
            .args(["verify", "out/hello", "--stage", "deploy"])
            .output()
            .unwrap();
        (out.status.code(), text(&out).0)
    };
    // Revoked from a future moment: everything the ledger recorded before it still counts.
    let out = zt(&ex)
        .args([
            "key",
            "revoke",
            ".zt/keys/pipeline.pub",
            "--reason",
            "rotation",
            "--at",
            "2999-01-01T00:00:00Z",
            "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let radius: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let signed = radius["bundles"].as_array().unwrap();
    assert!(signed.len() >= 5, "{radius}");
    assert!(
        signed.iter().all(|b| b["still_trusted"] == true),
        "{radius}"
    );
    assert_eq!(radius["already_revoked"], false);
    // The build that produced the artifact is in the blast radius.
    assert_eq!(radius["builds"].as_array().unwrap().len(), 1, "{radius}");
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(0), "{stdout}");

    // A later second revocation does not move the first: the key stays revoked from 2999.
    let out = zt(&ex)
        .args([
            "key",
            "revoke",
            ".zt/keys/pipeline.pub",
            "--reason",
            "x",
            "--at",
            "3000-01-01T00:00:00Z",
            "--json",
        ])
        .output()
        .unwrap();
    let radius: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(radius["already_revoked"], true);
    assert_eq!(radius["reason"], "rotation");

    // Deleting the ledger un-revokes nothing (the revocation is logged evidence), and an
    // earlier revocation tightens it: from the epoch, every bundle the key signed is rejected.
    let ledgers: Vec<_> = fs_err::read_dir(ex.join(".zt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledger.db")
        })
        .collect();
    for l in &ledgers {
        fs_err::remove_file(l).unwrap();
    }
    let out = zt(&ex)
        .args([
            "key",
            "revoke",
            ".zt/keys/pipeline.pub",
            "--reason",
            "stolen",
            "--at",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("signature.rejected"), "{stdout}");
    assert!(
        stdout.contains("revoked") && stdout.contains("stolen"),
        "{stdout}"
    );

    // Bad input names itself.
    let out = zt(&ex)
        .args([
            "key",
            "revoke",
            "nope",
            "--reason",
            "x",
            "--at",
            "yesterday",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
}

#[test]
fn a_committed_secret_denies_at_the_source_stage_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_example(d);
    let ex = d.join("example");
    let key = ["AKIA", "QYLPMN5HHHFPZAM2"].concat();
    fs_err::write(
        ex.join("src/config.h"),
        format!("#define AWS_KEY \"{key}\"\n"),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&ex)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", "oops"]);
    let out = zt(d).args(["pipeline", "run", "example"]).output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("aws-access-token"), "{stderr}");
    assert!(stderr.contains("fix:"), "{stderr}");
    assert!(stderr.contains("deny"), "{stderr}");
}

#[test]
fn a_directory_that_is_not_a_repository_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path())
        .args(["pipeline", "run", "."])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a git work tree") && stderr.contains("help:"),
        "{stderr}"
    );
}
