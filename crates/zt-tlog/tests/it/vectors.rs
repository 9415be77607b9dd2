//! Conformance: every RFC 6962 proof vector from transparency-dev/merkle in
//! `../shared/testdata/merkle/` gets the expected verdict from the library.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zt_tlog::merkle::hash_from_slice;
use zt_tlog::{Hash, verify_consistency, verify_inclusion};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/merkle"
);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[derive(Deserialize)]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn files(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(DATA).join(sub)];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Base64 that is valid but not 32 bytes long is a hash that cannot match: verification
/// fails (`None`), as it does for a wrong hash.
fn hash(b64: &str) -> Option<Hash> {
    hash_from_slice(&zt_core::b64::decode(b64).expect("vectors hold valid base64"))
}

fn proof(p: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    p.iter().flatten().map(|h| hash(h)).collect()
}

#[test]
fn all_inclusion_vectors() {
    let files = files("inclusion");
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Inclusion = serde_json::from_str(&fs_err::read_to_string(f).unwrap()).unwrap();
        let valid = match (hash(&v.leaf_hash), hash(&v.root), proof(&v.proof)) {
            (Some(leaf), Some(root), Some(proof)) => {
                verify_inclusion(&leaf, v.leaf_idx, v.tree_size, &proof, &root).is_ok()
            }
            _ => false,
        };
        assert_eq!(valid, !v.want_err, "{}", f.display());
        if valid { ok += 1 } else { rejected += 1 }
    }
    assert_eq!(files.len(), 53, "inclusion vectors");
    assert_eq!((ok, rejected), (4, 49));
}

#[test]
fn all_consistency_vectors() {
    let files = files("consistency");
    let (mut ok, mut rejected) = (0, 0);
    for f in &files {
        let v: Consistency = serde_json::from_str(&fs_err::read_to_string(f).unwrap()).unwrap();
        let valid = match (hash(&v.root1), hash(&v.root2), proof(&v.proof)) {
            (Some(r1), Some(r2), Some(proof)) => {
                verify_consistency(v.size1, v.size2, &proof, &r1, &r2).is_ok()
            }
            _ => false,
        };
        assert_eq!(valid, !v.want_err, "{}", f.display());
        if valid { ok += 1 } else { rejected += 1 }
    }
    assert_eq!(files.len(), 43, "consistency vectors");
    assert_eq!((ok, rejected), (3, 40));
}
