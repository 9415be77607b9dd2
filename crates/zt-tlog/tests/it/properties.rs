//! Property tests: for random trees and sizes every proof verifies, and flipping any one bit
//! of a proof hash, a root or the leaf makes it fail.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use proptest::prelude::*;
use zt_tlog::{Hash, MemoryTree, leaf_hash, verify_consistency, verify_inclusion};

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(&i.to_le_bytes());
    }
    t
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_any_bit_flip_fails(
        size in 1u64..600, index_seed: u64, which: usize, bit in 0usize..256,
    ) {
        let t = tree(size);
        let index = index_seed % size;
        let mut p = t.prover();
        let root = p.root(size).unwrap();
        let proof = p.inclusion(index, size).unwrap();
        let leaf = leaf_hash(&index.to_le_bytes());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_any_bit_flip_fails(
        size2 in 1u64..600, size1_seed: u64, which: usize, bit in 0usize..256,
    ) {
        let t = tree(size2);
        let size1 = 1 + size1_seed % size2;
        let mut p = t.prover();
        let (root1, root2) = (p.root(size1).unwrap(), p.root(size2).unwrap());
        let proof = p.consistency(size1, size2).unwrap();
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &root2).is_ok());
        prop_assert!(verify_consistency(size1, size2, &proof, &flip(&root1, bit), &root2).is_err());
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &flip(&root2, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(verify_consistency(size1, size2, &bad, &root1, &root2).is_err());
        }
    }

    #[test]
    fn checkpoint_and_proof_file_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = zt_tlog::Note::parse(&bytes);
        let _ = zt_tlog::TlogProof::parse(&bytes);
        let _ = zt_tlog::Checkpoint::parse_body(&String::from_utf8_lossy(&bytes));
        let _ = zt_tlog::TrustPolicy::parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn note_parser_never_panics_on_near_valid_notes(
        text in "[a-z/.]{1,20}\n[0-9]{1,5}\n[A-Za-z0-9+/]{43}=\n",
        sig in "[A-Za-z0-9+/=]{0,120}",
        name in "[^ \n]{0,10}",
    ) {
        let note = format!("{text}\n\u{2014} {name} {sig}\n");
        let _ = zt_tlog::Note::parse(note.as_bytes());
    }
}
