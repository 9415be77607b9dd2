//! Property test over the real binary: a bundle made by `zt sign` or `zt attest` (logged) stops
//! verifying when any single byte of its JSON, of the artifact, of the DSSE payload or of the
//! signature is flipped. (JSON whitespace flips break the JSON itself; every value is checked.)

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

use common::zt;
use proptest::prelude::*;

fn setup(d: &Path, key_type: &str) {
    let run = |args: &[&str]| {
        let out = zt(d).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {:?}", common::text(&out));
    };
    run(&["key", "generate", "--type", key_type, "--out", "k"]);
    fs_err::write(d.join("art"), b"artifact bytes\n").unwrap();
    fs_err::write(d.join("p.json"), br#"{"result":"PASSED"}"#).unwrap();
    run(&["sign", "art", "--key", "k", "--bundle", "sig.json"]);
    run(&[
        "attest",
        "art",
        "--key",
        "k",
        "--predicate-type",
        "https://in-toto.io/attestation/test-result/v0.1",
        "--predicate",
        "p.json",
        "--bundle",
        "att.json",
    ]);
    run(&["verify", "art", "--bundle", "sig.json", "--key", "k.pub"]);
    run(&["verify", "art", "--bundle", "att.json", "--key", "k.pub"]);
}

fn verifies(d: &Path, artifact: &str, bundle: &str) -> bool {
    zt(d)
        .args(["verify", artifact, "--bundle", bundle, "--key", "k.pub"])
        .output()
        .unwrap()
        .status
        .success()
}

fn flipped_bundle_is_rejected(
    d: &Path,
    bundle: &str,
    at: usize,
    bit: u8,
) -> Result<(), TestCaseError> {
    let mut bytes = fs_err::read(d.join(bundle)).unwrap();
    let i = at % bytes.len();
    bytes[i] ^= 1 << (bit % 8);
    fs_err::write(d.join("flipped.json"), &bytes).unwrap();
    prop_assert!(
        !verifies(d, "art", "flipped.json"),
        "flipping bit {} of byte {i} ({:?}) of {bundle} went unnoticed",
        bit % 8,
        String::from_utf8_lossy(&bytes[i.saturating_sub(20)..(i + 20).min(bytes.len())])
    );
    Ok(())
}

fn run_for(key_type: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d, key_type);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(60));
    runner
        .run(
            &(any::<usize>(), any::<u8>(), any::<bool>()),
            |(at, bit, dsse)| {
                flipped_bundle_is_rejected(d, if dsse { "att.json" } else { "sig.json" }, at, bit)
            },
        )
        .unwrap();

    // The artifact: any flipped byte breaks both bundles.
    let art = fs_err::read(d.join("art")).unwrap();
    for i in 0..art.len() {
        let mut changed = art.clone();
        changed[i] ^= 0x01;
        fs_err::write(d.join("art2"), &changed).unwrap();
        assert!(!verifies(d, "art2", "sig.json"), "artifact byte {i}");
        assert!(!verifies(d, "art2", "att.json"), "artifact byte {i}");
    }
}

#[test]
fn flipped_bytes_are_rejected_ed25519() {
    run_for("ed25519");
}

#[test]
fn flipped_bytes_are_rejected_p256() {
    run_for("p256");
}
