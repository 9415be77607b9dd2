//! Key revocation is judged by the transparency log, never by the ledger: tampering with
//! `.zt/ledger.db` (its `recorded_at` column, the revocation row) must never make a revoked
//! key's evidence trusted again, and a revoked key signs nothing more.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;

use common::{text, zt};

fn run_example(d: &Path) -> std::path::PathBuf {
    let out = zt(d)
        .args(["pipeline", "run", "--workdir", "example", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    d.join("example")
}

fn deploy(ex: &Path) -> (Option<i32>, String) {
    let out = zt(ex)
        .args(["verify", "out/hello", "--stage", "deploy"])
        .output()
        .unwrap();
    (out.status.code(), text(&out).0)
}

fn revoke(ex: &Path, reason: &str, at: Option<&str>) -> serde_json::Value {
    let mut args = vec![
        "key",
        "revoke",
        ".zt/keys/pipeline.pub",
        "--reason",
        reason,
        "--json",
    ];
    if let Some(at) = at {
        args.extend(["--at", at]);
    }
    let out = zt(ex).args(&args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn ledger(ex: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(ex.join(".zt/ledger.db")).unwrap()
}

#[test]
fn editing_recorded_at_or_deleting_the_revocation_row_does_not_untrust_a_revoked_key() {
    let dir = tempfile::tempdir().unwrap();
    let ex = run_example(dir.path());
    assert_eq!(deploy(&ex).0, Some(0));

    // Revoked from the epoch (compromised since forever): no bundle carries a signed time
    // before it, so every bundle the key signed is rejected.
    let radius = revoke(&ex, "stolen", Some("0"));
    assert!(radius["bundle"].is_string(), "{radius}");
    assert!(radius["cutoff"].is_null(), "backdated: {radius}");
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("revoked") && stdout.contains("stolen"),
        "{stdout}"
    );

    // The attack of issue 16: the ledger says every bundle was recorded before the revocation,
    // and the revocation row says it takes effect in 2999.
    let db = ledger(&ex);
    let n = db
        .execute("UPDATE bundles SET recorded_at = -1000", [])
        .unwrap();
    assert!(n >= 5, "{n}");
    db.execute("UPDATE revocations SET revoked_at = 32503680000", [])
        .unwrap();
    let (code, stdout) = deploy(&ex);
    assert_eq!(
        code,
        Some(1),
        "edited ledger made evidence trusted: {stdout}"
    );
    assert!(stdout.contains("stolen"), "{stdout}");

    // Deleting the revocation row does not un-revoke: the logged statement is still found.
    db.execute("DELETE FROM revocations", []).unwrap();
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "deleted row un-revoked the key: {stdout}");
    assert!(stdout.contains("stolen"), "{stdout}");

    // Nor does deleting the statement's ledger rows: the evidence store still holds it.
    db.execute(
        "DELETE FROM bundle_subjects WHERE bundle_id IN (SELECT id FROM bundles WHERE predicate_type LIKE '%key-revocation%')",
        [],
    )
    .unwrap();
    db.execute(
        "DELETE FROM bundles WHERE predicate_type LIKE '%key-revocation%'",
        [],
    )
    .unwrap();
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("stolen"), "{stdout}");
}

#[test]
fn a_revocation_now_keeps_earlier_log_entries_and_rejects_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ex = run_example(dir.path());

    // Revoked now: everything logged so far sits below the revocation's entry.
    let radius = revoke(&ex, "rotation", None);
    let cutoff = radius["cutoff"]["index"].as_u64().unwrap();
    assert!(cutoff >= 5, "{radius}");
    assert!(
        radius["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["still_trusted"] == true),
        "{radius}"
    );
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(0), "{stdout}");

    // A second, later revocation changes nothing; the first stands.
    let again = revoke(&ex, "x", Some("2999-01-01T00:00:00Z"));
    assert_eq!(again["already_revoked"], true, "{again}");
    assert_eq!(again["reason"], "rotation", "{again}");

    // `zt sign` and `zt attest` refuse the revoked key, naming the revocation and the fix.
    for args in [
        vec![
            "sign",
            "out/hello",
            "--key",
            ".zt/keys/pipeline",
            "--bundle",
            "s.json",
        ],
        vec![
            "attest",
            "out/hello",
            "--key",
            ".zt/keys/pipeline",
            "--predicate-type",
            "https://in-toto.io/attestation/test-result/v0.1",
            "--predicate",
            "zt.toml",
        ],
    ] {
        let out = zt(&ex).args(&args).output().unwrap();
        let (_, stderr) = text(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains("revoked") && stderr.contains("rotation"),
            "{stderr}"
        );
        assert!(stderr.contains("zt key generate"), "{stderr}");
        assert!(!ex.join("s.json").exists());
    }
    // So do the commands that attest through the pipeline key.
    let out = zt(&ex)
        .args([
            "deps",
            "request",
            "requests",
            "--ecosystem",
            "pypi",
            "--justification",
            "http",
            "--maintenance-plan",
            "monthly",
            "--requester",
            "alice",
        ])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("revoked"), "{stderr}");

    // A thief with the key signs elsewhere (no revocation there) and appends to this log:
    // the entry comes after the revocation's, so the gate rejects it whatever the ledger says.
    let elsewhere = dir.path().join("elsewhere");
    fs_err::create_dir_all(&elsewhere).unwrap();
    let bundle = ex.join(".zt/bundles/thief.sigstore.json");
    let out = zt(&elsewhere)
        .arg("sign")
        .arg(ex.join("out/hello"))
        .arg("--key")
        .arg(ex.join(".zt/keys/pipeline"))
        .arg("--log-dir")
        .arg(ex.join(".zt/log"))
        .arg("--bundle")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // The stolen signature reaches this repository's ledger the way any bundle does: a `zt
    // verify --bundle` here checks it (the signature itself is valid) and records it.
    let out = zt(&ex)
        .args([
            "verify",
            "out/hello",
            "--key",
            ".zt/keys/pipeline.pub",
            "--bundle",
        ])
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("signature.rejected") && stdout.contains("rotation"),
        "{stdout}"
    );
    // Recorded in the ledger "long ago" and with the revocation row pushed to 2999: still
    // rejected, since the log places it after the revocation.
    let db = ledger(&ex);
    db.execute("UPDATE revocations SET revoked_at = 32503680000", [])
        .unwrap();
    db.execute("UPDATE bundles SET recorded_at = 0", [])
        .unwrap();
    drop(db);
    let (code, stdout) = deploy(&ex);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("signature.rejected"), "{stdout}");
}
