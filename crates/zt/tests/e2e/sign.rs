//! `zt key`, `zt sign`, `zt attest` and `zt verify` end to end, with file keys and with a
//! SoftHSM2 token, and the bad inputs each must refuse cleanly.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::path::Path;

use common::{softhsm, text, zt};

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = zt(dir).args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "zt {args:?}\n{stdout}\n{stderr}"
    );
    stdout
}

fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let out = zt(dir).args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "zt {args:?}\n{stdout}\n{stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("\nhelp: "),
        "every error says what to do next: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn key_generate_writes_a_private_and_a_public_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stdout = ok(
        d,
        &[
            "key", "generate", "--type", "p256", "--out", "release", "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["type"], "p256");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs_err::metadata(d.join("release"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        fs_err::read_to_string(d.join("release"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(
        fs_err::read_to_string(d.join("release.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let before = fs_err::read(d.join("release")).unwrap();
    let err = fails(d, &["key", "generate", "--out", "release"], 2);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs_err::read(d.join("release")).unwrap(), before);
    // `key show` names the same key id for both halves.
    let a = ok(d, &["key", "show", "release"]);
    let b = ok(d, &["key", "show", "release.pub"]);
    assert_eq!(a, b);
    assert!(a.contains(json["key_id"].as_str().unwrap()));
}

#[test]
fn sign_and_verify_round_trip_with_file_keys() {
    for key_type in ["ed25519", "p256"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(d, &["key", "generate", "--type", key_type, "--out", "k"]);
        fs_err::write(d.join("app.bin"), b"the artifact\n").unwrap();
        ok(d, &["sign", "app.bin", "--key", "k"]);
        assert!(d.join("app.bin.sigstore.json").exists());
        let stdout = ok(
            d,
            &[
                "verify",
                "app.bin",
                "--bundle",
                "app.bin.sigstore.json",
                "--key",
                "k.pub",
                "--json",
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["ok"], true);
        assert_eq!(json["kind"], "message-signature");

        // Another key's signature is rejected, and the reason names the signature.
        ok(
            d,
            &["key", "generate", "--type", key_type, "--out", "other"],
        );
        let err = fails(
            d,
            &[
                "verify",
                "app.bin",
                "--bundle",
                "app.bin.sigstore.json",
                "--key",
                "other.pub",
            ],
            1,
        );
        assert!(
            err.contains("key hint check failed"),
            "another key is named: {err}"
        );

        // One changed byte in the artifact is rejected.
        fs_err::write(d.join("app.bin"), b"the artifacT\n").unwrap();
        let err = fails(
            d,
            &[
                "verify",
                "app.bin",
                "--bundle",
                "app.bin.sigstore.json",
                "--key",
                "k.pub",
            ],
            1,
        );
        assert!(err.contains("check failed"), "{err}");
    }
}

#[test]
fn attest_and_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["key", "generate", "--type", "p256", "--out", "k"]);
    fs_err::write(d.join("app.bin"), b"artifact").unwrap();
    fs_err::write(
        d.join("pred.json"),
        br#"{"buildDefinition":{"buildType":"x"}}"#,
    )
    .unwrap();
    ok(
        d,
        &[
            "attest",
            "app.bin",
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--predicate",
            "pred.json",
            "--key",
            "k",
            "--bundle",
            "app.bin.intoto.sigstore.json",
        ],
    );
    let stdout = ok(
        d,
        &[
            "verify",
            "app.bin",
            "--bundle",
            "app.bin.intoto.sigstore.json",
            "--key",
            "k.pub",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["kind"], "dsse");
    assert_eq!(json["predicate_type"], "https://slsa.dev/provenance/v1");
    // The statement is about app.bin: another file is rejected even though the signature holds.
    fs_err::write(d.join("other.bin"), b"other").unwrap();
    let err = fails(
        d,
        &[
            "verify",
            "other.bin",
            "--bundle",
            "app.bin.intoto.sigstore.json",
            "--key",
            "k.pub",
        ],
        1,
    );
    assert!(err.contains("check failed"), "{err}");
}

#[test]
fn every_signature_is_logged_and_verify_requires_the_proof() {
    for key_type in ["ed25519", "p256"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(d, &["key", "generate", "--type", key_type, "--out", "k"]);
        fs_err::write(d.join("a"), b"a").unwrap();
        let stdout = ok(
            d,
            &["sign", "a", "--key", "k", "--bundle", "a.json", "--json"],
        );
        let signed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(signed["log_index"], 0);
        let stdout = ok(
            d,
            &[
                "verify", "a", "--bundle", "a.json", "--key", "k.pub", "--json",
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["tlog_verified"], true, "{stdout}");

        // The log's trusted root lets the bundle verify anywhere, without the log.
        ok(d, &["log", "trusted-root", "--out", "root.json"]);
        let elsewhere = tempfile::tempdir().unwrap();
        for f in ["a", "a.json", "k.pub", "root.json"] {
            fs_err::copy(d.join(f), elsewhere.path().join(f)).unwrap();
        }
        ok(
            elsewhere.path(),
            &[
                "verify",
                "a",
                "--bundle",
                "a.json",
                "--key",
                "k.pub",
                "--trusted-root",
                "root.json",
            ],
        );
        // Without the log's key, the entry's log is unknown: rejected.
        let err = fails(
            elsewhere.path(),
            &["verify", "a", "--bundle", "a.json", "--key", "k.pub"],
            1,
        );
        assert!(err.contains("transparency log"), "{err}");

        // A bundle stripped of its log entry is refused unless the danger is named.
        let mut bundle: serde_json::Value =
            serde_json::from_slice(&fs_err::read(d.join("a.json")).unwrap()).unwrap();
        bundle["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
        fs_err::write(
            d.join("unlogged.json"),
            serde_json::to_vec(&bundle).unwrap(),
        )
        .unwrap();
        let err = fails(
            d,
            &["verify", "a", "--bundle", "unlogged.json", "--key", "k.pub"],
            1,
        );
        assert!(err.contains("no transparency-log entry"), "{err}");
        ok(
            d,
            &[
                "verify",
                "a",
                "--bundle",
                "unlogged.json",
                "--key",
                "k.pub",
                "--insecure-ignore-tlog",
            ],
        );
    }
}

#[test]
fn bad_inputs_get_one_clear_error_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["key", "generate", "--type", "p256", "--out", "k"]);
    fs_err::write(d.join("a"), b"a").unwrap();
    ok(d, &["sign", "a", "--key", "k", "--bundle", "a.json"]);

    // A missing artifact.
    let err = fails(d, &["sign", "missing", "--key", "k"], 2);
    assert!(err.contains("missing"), "{err}");
    // A truncated private key.
    let pem = fs_err::read_to_string(d.join("k")).unwrap();
    fs_err::write(d.join("trunc"), &pem[..pem.len() / 2]).unwrap();
    let err = fails(d, &["sign", "a", "--key", "trunc"], 2);
    assert!(err.contains("trunc") && err.contains("truncated"), "{err}");
    // A public key where a private key is needed.
    let err = fails(d, &["sign", "a", "--key", "k.pub"], 2);
    assert!(err.contains("public key"), "{err}");
    // Not a key at all.
    fs_err::write(d.join("junk.pem"), "hello").unwrap();
    fails(
        d,
        &["verify", "a", "--bundle", "a.json", "--key", "junk.pem"],
        2,
    );
    // A malformed bundle, and an unknown media type.
    fs_err::write(d.join("bad.json"), "{\"mediaType\": ").unwrap();
    let err = fails(
        d,
        &["verify", "a", "--bundle", "bad.json", "--key", "k.pub"],
        2,
    );
    assert!(err.contains("bad.json"), "{err}");
    let text = fs_err::read_to_string(d.join("a.json"))
        .unwrap()
        .replace("bundle.v0.3+json", "bundle.v9+json");
    fs_err::write(d.join("v9.json"), text).unwrap();
    let err = fails(
        d,
        &["verify", "a", "--bundle", "v9.json", "--key", "k.pub"],
        2,
    );
    assert!(err.contains("unknown bundle media type"), "{err}");
    // A missing bundle; a malformed digest.
    fails(
        d,
        &["verify", "a", "--bundle", "nope.json", "--key", "k.pub"],
        2,
    );
    let err = fails(
        d,
        &[
            "verify",
            "sha256:abc",
            "--bundle",
            "a.json",
            "--key",
            "k.pub",
        ],
        2,
    );
    assert!(err.contains("sha256:abc"), "{err}");
    // No expected signer.
    let out = zt(d)
        .args(["verify", "a", "--bundle", "a.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn pkcs11_token_keys_sign_and_verify_with_the_exported_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(conf) = softhsm(d) else { return };
    let run = |args: &[&str]| {
        zt(d)
            .env("SOFTHSM2_CONF", &conf)
            .args(args)
            .output()
            .unwrap()
    };
    let uri = "pkcs11:token=zt-test;object=release;id=%01?pin-value=1234";
    let out = run(&["key", "generate", "--type", "p256", "--out", uri]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // A second generate with the same label is refused: zt never replaces a key.
    let out = run(&["key", "generate", "--type", "p256", "--out", uri]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));

    let out = run(&["key", "show", uri, "--pem"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    fs_err::write(d.join("hsm.pub"), &out.stdout).unwrap();

    fs_err::write(d.join("app.bin"), b"signed by the token").unwrap();
    for (cmd, bundle) in [
        ("sign", "app.bin.sigstore.json"),
        ("attest", "app.bin.intoto.sigstore.json"),
    ] {
        let mut args = vec![cmd, "app.bin", "--key", uri];
        if cmd == "attest" {
            fs_err::write(d.join("p.json"), b"{}").unwrap();
            args.extend([
                "--predicate-type",
                "https://example.com/p",
                "--predicate",
                "p.json",
                "--bundle",
                bundle,
            ]);
        }
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
        // Verified with the exported public key file, no token needed.
        let out = zt(d)
            .args(["verify", "app.bin", "--bundle", bundle, "--key", "hsm.pub"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    }

    // A wrong PIN is refused with the reason.
    let out = run(&[
        "sign",
        "app.bin",
        "--key",
        "pkcs11:token=zt-test;object=release?pin-value=0000",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("PIN"), "{stderr}");
    assert!(
        !stderr.contains("0000"),
        "the PIN must not be echoed: {stderr}"
    );
    // An unknown token is named.
    let out = run(&[
        "sign",
        "app.bin",
        "--key",
        "pkcs11:token=nope;object=release?pin-value=1234",
    ]);
    let (_, stderr) = text(&out);
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn a_witness_policy_requires_a_quorum_of_cosignatures_on_the_bundles_checkpoint() {
    for key_type in ["p256", "ed25519"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        ok(d, &["key", "generate", "--type", key_type, "--out", "k"]);
        ok(d, &["key", "generate", "--type", "ed25519", "--out", "w"]);
        fs_err::write(d.join("a"), b"witnessed").unwrap();
        ok(d, &["sign", "a", "--key", "k", "--bundle", "a.json"]);
        let log_vkey = fs_err::read_to_string(d.join(".zt/log/log.pub")).unwrap();
        let witness_vkey = ok(
            d,
            &[
                "log",
                "vkey",
                "--key",
                "w",
                "--name",
                "witness.example/w1",
                "--witness",
            ],
        );
        fs_err::write(
            d.join("policy.txt"),
            format!(
                "log {}\nwitness {}\nquorum 1\n",
                log_vkey.trim(),
                witness_vkey.trim()
            ),
        )
        .unwrap();
        // The checkpoint in the bundle is signed by the log alone: the quorum is not met.
        let err = fails(
            d,
            &[
                "verify",
                "a",
                "--bundle",
                "a.json",
                "--key",
                "k.pub",
                "--witness-policy",
                "policy.txt",
            ],
            1,
        );
        assert!(err.contains("witness quorum check failed"), "{err}");
        // The witness cosigns the log's checkpoint; the bundle carries the cosigned note.
        ok(
            d,
            &[
                "log",
                "cosign",
                "--key",
                "w",
                "--name",
                "witness.example/w1",
                "--out",
                "cosigned.txt",
            ],
        );
        let cosigned = fs_err::read_to_string(d.join("cosigned.txt")).unwrap();
        let mut bundle: serde_json::Value =
            serde_json::from_slice(&fs_err::read(d.join("a.json")).unwrap()).unwrap();
        bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] =
            cosigned.into();
        fs_err::write(
            d.join("witnessed.json"),
            serde_json::to_vec(&bundle).unwrap(),
        )
        .unwrap();
        let stdout = ok(
            d,
            &[
                "verify",
                "a",
                "--bundle",
                "witnessed.json",
                "--key",
                "k.pub",
                "--witness-policy",
                "policy.txt",
                "--json",
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            json["witnesses"],
            serde_json::json!(["witness.example/w1"]),
            "{stdout}"
        );
        // Without the policy the cosignature is simply extra.
        ok(
            d,
            &[
                "verify",
                "a",
                "--bundle",
                "witnessed.json",
                "--key",
                "k.pub",
            ],
        );
    }
}

/// Regression: `zt attest out/app` wrote its bundle beside the artifact, in `out/`, where `zt
/// build verify` then judged the bundle itself as a build output (6 denies). By default the
/// bundle joins the evidence store.
#[test]
fn attest_keeps_its_bundle_in_the_evidence_store_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["key", "generate", "--out", "k"]);
    fs_err::create_dir_all(d.join("out")).unwrap();
    fs_err::write(d.join("out/app"), b"app").unwrap();
    fs_err::write(
        d.join("lcov.info"),
        b"SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\n",
    )
    .unwrap();
    let stdout = ok(
        d,
        &[
            "attest",
            "out/app",
            "--type",
            "coverage",
            "--from",
            "lcov.info",
            "--key",
            "k",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let bundle = json["bundle"].as_str().unwrap();
    assert!(bundle.contains(".zt/bundles/coverage-"), "{bundle}");
    assert!(d.join(bundle).is_file() || std::path::Path::new(bundle).is_file());
    let listed: Vec<_> = fs_err::read_dir(d.join("out")).unwrap().collect();
    assert_eq!(listed.len(), 1, "nothing but the artifact in out/");
    let out = zt(d)
        .args([
            "verify", "out/app", "--bundle", bundle, "--key", "k.pub", "--json",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["predicate_type"],
        "https://zt.dev/attestation/coverage/v1"
    );
    // A report that is neither lcov nor Cobertura is an input error that says so.
    fs_err::write(d.join("junk.txt"), b"not coverage").unwrap();
    let err = fails(
        d,
        &[
            "attest", "out/app", "--type", "coverage", "--from", "junk.txt", "--key", "k",
        ],
        2,
    );
    assert!(err.contains("lcov") && err.contains("help:"), "{err}");
}

/// Regression: `--log-dir` defaulted to `.zt/log` under the current directory, so `zt attest`
/// run from a subdirectory of a repository started a stray log there. The default is now the
/// repository's own log, found as every command finds its workspace.
#[test]
fn signing_from_a_subdirectory_uses_the_repositorys_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs_err::write(d.join("zt.toml"), "").unwrap();
    ok(d, &["key", "generate", "--out", "k"]);
    fs_err::create_dir_all(d.join("src/deep")).unwrap();
    fs_err::write(d.join("src/deep/app"), b"app").unwrap();
    let out = zt(&d.join("src/deep"))
        .args(["sign", "app", "--key", "../../k", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(d.join(".zt/log/log.pub").is_file(), "the repository's log");
    assert!(!d.join("src/deep/.zt").exists(), "no stray log");
    let out = zt(&d.join("src/deep"))
        .args([
            "verify",
            "app",
            "--bundle",
            "app.sigstore.json",
            "--key",
            "../../k.pub",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}
