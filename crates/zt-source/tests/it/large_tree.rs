//! On a large real tree (the crate sources under `~/.cargo/registry/src`, which every machine
//! that built this crate has), the keyword-window search finds exactly what running every
//! triggered rule over whole files finds (gitleaks' semantics), finding for finding.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use zt_source::secrets::{Config, Detector, ScanOptions, Scanner};

/// How much of the tree to compare (whole crate directories, in name order).
const BUDGET_BYTES: u64 = 40_000_000;

#[test]
fn windows_equal_whole_file_scans_on_the_cargo_registry() {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap();
    let mut crates: Vec<PathBuf> = Vec::new();
    for index in fs_err::read_dir(home.join("registry/src")).unwrap() {
        for c in fs_err::read_dir(index.unwrap().path()).unwrap() {
            crates.push(c.unwrap().path());
        }
    }
    crates.sort();
    let opts = ScanOptions::default();
    let mut files = Vec::new();
    let mut bytes = 0u64;
    for c in &crates {
        if bytes > BUDGET_BYTES {
            break;
        }
        for f in Scanner::collect_files(std::slice::from_ref(c), &opts).unwrap() {
            bytes += fs_err::metadata(&f).map(|m| m.len()).unwrap_or(0);
            files.push(f);
        }
    }
    assert!(
        bytes > 10_000_000,
        "a large tree: {bytes} bytes in {} crates",
        crates.len()
    );
    let windowed = Scanner::new(Detector::new(Config::default_rules().unwrap()).unwrap());
    let whole = Scanner::new(
        Detector::new(Config::default_rules().unwrap())
            .unwrap()
            .without_windows(),
    );
    let a = windowed.scan_files(&files, &opts);
    let b = whole.scan_files(&files, &opts);
    assert_eq!(a.scanned, b.scanned);
    assert!(a.scanned > 1000, "{} files", a.scanned);
    let key = |f: &zt_source::secrets::Finding| {
        (
            f.file.clone(),
            f.rule_id.clone(),
            f.start_line,
            f.start_column,
            f.end_line,
            f.end_column,
            f.secret.clone(),
        )
    };
    let a: Vec<_> = a.findings.iter().map(key).collect();
    let b: Vec<_> = b.findings.iter().map(key).collect();
    eprintln!("{} files, {bytes} bytes, {} findings", files.len(), a.len());
    assert!(
        !a.is_empty(),
        "a tree this size holds test keys and examples"
    );
    assert_eq!(a, b, "{} files, {bytes} bytes", files.len());
}
