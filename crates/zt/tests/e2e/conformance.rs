//! The whole sigstore-conformance `bundle-verify` suite — the cases in
//! `../shared/testdata/sigstore/conformance/` and the rest of the suite committed in
//! `tests/data/sigstore-conformance/` (see its SOURCE.md) — run through the real `zt verify`
//! with no network: positive folders must verify, every `_fail` folder must be rejected with a
//! specific reason.

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

use common::{shared, text, zt_offline};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn read_trimmed(p: &Path) -> Option<String> {
    fs_err::read_to_string(p).ok().map(|s| s.trim().to_string())
}

#[test]
fn conformance_positive_cases_verify() {
    let (ok, total) = run_cases(false);
    // A verifier that rejects everything would pass every `_fail` case: count these apart.
    println!("conformance: {ok} of {total} positive cases verified");
    assert_eq!(total, 21, "positive cases of the suite");
}

#[test]
fn conformance_fail_cases_are_rejected_with_a_reason() {
    let (ok, total) = run_cases(true);
    println!("conformance: {ok} of {total} _fail cases rejected with a reason");
    assert_eq!(total, 49, "_fail cases of the suite");
}

/// Runs every case whose name does (`fail_cases`) or does not end in `_fail`; panics listing
/// every case that did not behave as its name says; returns (behaved, total).
fn run_cases(fail_cases: bool) -> (usize, usize) {
    let root = shared("sigstore/conformance");
    let rest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigstore-conformance");
    let mut cases: Vec<_> = [&root, &rest]
        .into_iter()
        .flat_map(|dir| fs_err::read_dir(dir).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort_by_key(|p| p.file_name().map(std::ffi::OsStr::to_os_string));
    // The upstream suite at the commit named in SOURCE.md has 70 cases.
    assert_eq!(cases.len(), 70, "expected the whole conformance suite");

    let (mut positive_ok, mut positive_total, mut negative_ok, mut negative_total) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expect_fail = name.ends_with("_fail");
        if expect_fail != fail_cases {
            continue;
        }
        let artifact = if case.join("artifact").exists() {
            case.join("artifact")
        } else {
            root.join("a.txt")
        };
        let artifact = artifact.to_string_lossy().into_owned();
        let bundle = case
            .join("bundle.sigstore.json")
            .to_string_lossy()
            .into_owned();
        let mut args: Vec<String> = vec![
            "verify".into(),
            artifact.clone(),
            "--bundle".into(),
            bundle.clone(),
            "--json".into(),
        ];
        if case.join("key.pub").exists() {
            args.extend([
                "--key".into(),
                case.join("key.pub").to_string_lossy().into_owned(),
            ]);
        } else {
            let identity =
                read_trimmed(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into());
            let issuer =
                read_trimmed(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into());
            args.extend([
                "--certificate-identity".into(),
                identity,
                "--certificate-oidc-issuer".into(),
                issuer,
            ]);
        }
        if case.join("trusted_root.json").exists() {
            args.extend([
                "--trusted-root".into(),
                case.join("trusted_root.json")
                    .to_string_lossy()
                    .into_owned(),
            ]);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = zt_offline(case, &argv);
        let (stdout, stderr) = text(&out);
        let code = out.status.code();
        if expect_fail {
            negative_total += 1;
            // Rejected (1) or refused as malformed (2), never a crash, always with a reason.
            // A malformed trust input (a trusted root without a validity start, a key that is
            // not PEM) is refused as such, naming it.
            let specific = stderr.contains("check failed")
                || stderr.contains("not a valid Sigstore bundle")
                || stderr.contains("unknown bundle media type")
                || stderr.contains("unusable trusted root")
                || stderr.contains("is not a usable SPKI public key");
            if matches!(code, Some(1) | Some(2)) && specific && stderr.contains("help:") {
                negative_ok += 1;
            } else {
                failures.push(format!(
                    "{name}: expected rejection with a reason, got {code:?}\n{stderr}"
                ));
            }
        } else {
            positive_total += 1;
            let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
            if code == Some(0) && json["ok"] == true && json["tlog_verified"] == true {
                positive_ok += 1;
            } else {
                failures.push(format!(
                    "{name}: expected to verify, got {code:?}\n{stdout}\n{stderr}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    if fail_cases {
        (negative_ok, negative_total)
    } else {
        (positive_ok, positive_total)
    }
}

#[test]
fn a_digest_stands_in_for_the_artifact() {
    let root = shared("sigstore/conformance");
    let digest =
        zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, &root.join("a.txt")).unwrap();
    let bundle = root.join("happy-path-v0.3/bundle.sigstore.json");
    let out = zt_offline(
        &root,
        &[
            "verify",
            &digest.to_string(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // Another digest is rejected.
    let other = zt_core::Digest::sha256(b"not a.txt").to_string();
    let out = zt_offline(
        &root,
        &[
            "verify",
            &other,
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
}

#[test]
fn a_wrong_identity_is_rejected_and_named() {
    let root = shared("sigstore/conformance");
    let bundle = root.join("happy-path-v0.3/bundle.sigstore.json");
    let out = zt_offline(
        &root,
        &[
            "verify",
            root.join("a.txt").to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity",
            "https://example.com/someone-else",
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("certificate identity check failed"),
        "{stderr}"
    );
    assert!(stderr.contains("help:"), "{stderr}");
}
