//! Conformance: every `*.in`/`*.out` pair of strip-nondeterminism's own test fixtures
//! (`../shared/testdata/normalize/strip-nondeterminism/`, see its MANIFEST.md) normalises to the
//! expected bytes, run as upstream's `t/fixtures.t` does: the `.in` copied to a file named
//! without the suffix, canonical time 1423159771, no clamping, all normalisers enabled; the
//! file's mode is unchanged.

// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use zt_build::normalize::{Options, Outcome, normalize_file};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/normalize/strip-nondeterminism"
);

fn pairs() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for dir in fs_err::read_dir(FIXTURES).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in fs_err::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "in") {
                let expected = f.with_extension("out");
                assert!(expected.exists(), "{} has no .out", f.display());
                out.push((f, expected));
            }
        }
    }
    out.sort();
    out
}

fn run(input: &Path, tmp: &Path) -> PathBuf {
    let name = input.file_stem().unwrap();
    let target = tmp.join(name);
    fs_err::copy(input, &target).unwrap();
    fs_err::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let opts = Options {
        timestamp: Some(1_423_159_771),
        ..Options::default()
    };
    let report = normalize_file(&target, &opts).unwrap();
    assert!(
        report.kind.is_some(),
        "{}: no normaliser chosen",
        input.display()
    );
    assert_ne!(report.outcome, Outcome::NotRecognised);
    target
}

#[test]
fn every_fixture_pair_matches() {
    let pairs = pairs();
    // 13 pairs are published (MANIFEST.md); more may be added (the holdout set).
    assert!(
        pairs.len() >= 13,
        "only {} fixture pairs found",
        pairs.len()
    );
    let mut failures = Vec::new();
    for (input, expected) in &pairs {
        let tmp = tempfile::tempdir().unwrap();
        let target = run(input, tmp.path());
        let got = fs_err::read(&target).unwrap();
        let want = fs_err::read(expected).unwrap();
        if got != want {
            let first = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(want.len()));
            failures.push(format!(
                "{}: {} vs {} bytes, first difference at {first}",
                input.display(),
                got.len(),
                want.len()
            ));
        }
        let mode = fs_err::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640, "{}: mode changed", input.display());
        // Idempotent: a second run changes nothing.
        let opts = Options {
            timestamp: Some(1_423_159_771),
            ..Options::default()
        };
        normalize_file(&target, &opts).unwrap();
        assert_eq!(
            fs_err::read(&target).unwrap(),
            got,
            "{}: not idempotent",
            input.display()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} pairs differ:\n{}",
        failures.len(),
        pairs.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} of {} fixture pairs byte-identical",
        pairs.len(),
        pairs.len()
    );
}
