//! RFC 6962 Merkle tree hashing, and the proof algorithms of RFC 9162 §2.1: generating
//! inclusion and consistency proofs from any store of subtree hashes, and verifying them with
//! nothing but the hashes.
//!
//! Leaf hash = SHA-256(0x00 ‖ entry); node hash = SHA-256(0x01 ‖ left ‖ right); the root of the
//! empty tree is SHA-256 of the empty string.

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The length of a [`Hash`](type@Hash) in bytes.
pub const HASH_SIZE: usize = 32;

/// The RFC 6962 leaf hash of an entry: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// The RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Converts a byte slice to a [`Hash`](type@Hash), or `None` if it is not 32 bytes long.
pub fn hash_from_slice(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

/// Why a proof did not verify. Every variant means "reject"; none is an input error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("the first tree size {size1} is larger than the second {size2}")]
    SizeOrder {
        /// The claimed older size.
        size1: u64,
        /// The claimed newer size.
        size2: u64,
    },
    /// The proof has more or fewer hashes than the sizes call for.
    #[error("the proof has {got} hashes, but one for these sizes has {want}")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a valid proof has.
        want: usize,
    },
    /// The proof hashes up to a different root than the one claimed.
    #[error(
        "the proof leads to root {}, not the claimed {}",
        zt_core::b64::encode(computed),
        zt_core::b64::encode(claimed)
    )]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root that was claimed.
        claimed: Hash,
    },
}

/// Verifies an RFC 9162 §2.1.3.2 inclusion proof: the leaf with hash `leaf` sits at `index` in
/// the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf, index, size, proof)?;
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch {
            computed,
            claimed: *root,
        })
    }
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2 without the final comparison).
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // The length check above guarantees the walk ends at the root.
    debug_assert_eq!(snode, 0);
    Ok(r)
}

/// The number of hashes in an inclusion proof for `index` in a tree of `size` leaves
/// (`index < size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    if index >= size {
        return 0;
    }
    // Levels where the paths to `index` and to the last leaf have split, plus the levels
    // above that where the last leaf's path still has a left sibling.
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Verifies an RFC 9162 §2.1.4.2 consistency proof between the tree of `size1` leaves with
/// root `root1` and the tree of `size2` leaves with root `root2`.
///
/// Equal sizes need equal roots and an empty proof. From the empty tree (`size1 == 0`) only
/// an empty proof and the empty-tree root are accepted.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == size2 || size1 == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        let want = if size1 == 0 { empty_root() } else { *root2 };
        if root1 != &want {
            return Err(ProofError::RootMismatch {
                computed: want,
                claimed: *root1,
            });
        }
        return Ok(());
    }
    let want = consistency_proof_len(size1, size2);
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    // When size1 is a power of two its root is itself the first node of the proof.
    let mut hashes = proof.iter();
    let mut fnode = size1 - 1;
    let mut snode = size2 - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let first = if size1.is_power_of_two() {
        *root1
    } else {
        match hashes.next() {
            Some(h) => *h,
            None => return Err(ProofError::WrongLength { got: 0, want }),
        }
    };
    let (mut fr, mut sr) = (first, first);
    for c in hashes {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want,
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if &fr != root1 {
        return Err(ProofError::RootMismatch {
            computed: fr,
            claimed: *root1,
        });
    }
    if &sr != root2 {
        return Err(ProofError::RootMismatch {
            computed: sr,
            claimed: *root2,
        });
    }
    Ok(())
}

/// The number of hashes in a consistency proof from `size1` to `size2` leaves
/// (`0 < size1 < size2`; otherwise 0).
pub fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    if size1 == 0 || size1 >= size2 {
        return 0;
    }
    let shift = size1.trailing_zeros();
    let (f, s) = ((size1 - 1) >> shift, (size2 - 1) >> shift);
    let inner = 64 - (f ^ s).leading_zeros();
    let border = (f >> inner).count_ones();
    let start = if size1.is_power_of_two() { 0 } else { 1 };
    start + (inner + border) as usize
}

/// A store of complete-subtree hashes that proofs are built from.
pub trait NodeSource {
    /// The error reading a node can fail with.
    type Error;

    /// The hash of the complete subtree of height `level` whose leaves are
    /// `index << level .. (index + 1) << level`.
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Computes proofs and roots over a [`NodeSource`], remembering each node it reads once.
pub struct Prover<S> {
    source: S,
    memo: HashMap<(u8, u64), Hash>,
}

impl<S: NodeSource> Prover<S> {
    /// A prover reading from `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            memo: HashMap::new(),
        }
    }

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, S::Error> {
        if let Some(h) = self.memo.get(&(level, index)) {
            return Ok(*h);
        }
        let h = self.source.node(level, index)?;
        self.memo.insert((level, index), h);
        Ok(h)
    }

    /// `MTH(D[lo:hi])` for a range that RFC 6962's recursion produces (`lo` aligned to the
    /// largest power of two not above `hi - lo`), or the empty root if `lo == hi`.
    pub fn range_root(&mut self, lo: u64, hi: u64) -> Result<Hash, S::Error> {
        if lo >= hi {
            return Ok(empty_root());
        }
        let mut nodes = Vec::new();
        let mut at = lo;
        while at < hi {
            let fit = 63 - (hi - at).leading_zeros();
            let level = at.trailing_zeros().min(fit);
            nodes.push(self.node(level as u8, at >> level)?);
            at += 1u64 << level;
        }
        let mut acc = nodes.pop().unwrap_or_else(empty_root);
        while let Some(left) = nodes.pop() {
            acc = node_hash(&left, &acc);
        }
        Ok(acc)
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&mut self, size: u64) -> Result<Hash, S::Error> {
        self.range_root(0, size)
    }

    /// The RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size` leaves
    /// (the caller checks `index < size`).
    pub fn inclusion(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, S::Error> {
        let mut out = Vec::new();
        let (mut lo, mut hi) = (0u64, size);
        // Collected top-down, returned bottom-up.
        while hi - lo > 1 {
            let k = largest_pow2_below(hi - lo);
            if index < lo + k {
                out.push(self.range_root(lo + k, hi)?);
                hi = lo + k;
            } else {
                out.push(self.range_root(lo, lo + k)?);
                lo += k;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The RFC 9162 §2.1.4.1 consistency proof from `size1` to `size2` leaves (the caller
    /// checks `size1 <= size2`; the proof is empty when `size1` is 0 or equal to `size2`).
    pub fn consistency(&mut self, size1: u64, size2: u64) -> Result<Vec<Hash>, S::Error> {
        let mut out = Vec::new();
        if size1 == 0 || size1 >= size2 {
            return Ok(out);
        }
        let (mut m, mut lo, mut hi) = (size1, 0u64, size2);
        let mut complete = true;
        loop {
            let n = hi - lo;
            if m == n {
                if !complete {
                    out.push(self.range_root(lo, hi)?);
                }
                break;
            }
            let k = largest_pow2_below(n);
            if m <= k {
                out.push(self.range_root(lo + k, hi)?);
                hi = lo + k;
            } else {
                out.push(self.range_root(lo, lo + k)?);
                lo += k;
                m -= k;
                complete = false;
            }
        }
        out.reverse();
        Ok(out)
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_pow2_below(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// A whole tree in memory: every level of complete subtree hashes. For tests, benchmarks,
/// and building large logs at once; the on-disk log keeps only tiles.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash, completing the subtrees it closes.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(h);
            if row.len() % 2 == 1 {
                break;
            }
            let n = row.len();
            h = node_hash(&row[n - 2], &row[n - 1]);
            level += 1;
        }
    }

    /// Appends an entry (hashing it as a leaf).
    pub fn push(&mut self, entry: &[u8]) {
        self.push_leaf_hash(leaf_hash(entry));
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The complete subtree hashes at `level` (level 0 are the leaf hashes).
    pub fn level(&self, level: usize) -> &[Hash] {
        self.levels.get(level).map_or(&[], |v| v.as_slice())
    }

    /// A prover over this tree.
    pub fn prover(&self) -> Prover<&MemoryTree> {
        Prover::new(self)
    }
}

/// Reading a node outside the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index}")]
pub struct MissingNode {
    /// The subtree's level.
    pub level: u8,
    /// The subtree's index within its level.
    pub index: u64,
}

impl NodeSource for &MemoryTree {
    type Error = MissingNode;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(level as usize)?.get(i).copied())
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference MTH straight from RFC 6962 §2.1.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = largest_pow2_below(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let mut t = MemoryTree::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let e = i.to_be_bytes();
            t.push(&e);
            leaves.push(leaf_hash(&e));
        }
        (t, leaves)
    }

    #[test]
    fn roots_match_the_rfc_definition() {
        let (t, leaves) = tree(70);
        for n in 0..=70u64 {
            assert_eq!(
                t.prover().root(n).unwrap(),
                mth(&leaves[..n as usize]),
                "size {n}"
            );
        }
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_proof_in_small_trees_verifies_and_has_the_predicted_length() {
        let (t, leaves) = tree(40);
        let mut p = t.prover();
        for size in 1..=40u64 {
            let root = p.root(size).unwrap();
            for index in 0..size {
                let proof = p.inclusion(index, size).unwrap();
                assert_eq!(proof.len(), inclusion_proof_len(index, size));
                verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
            }
            for size1 in 0..=size {
                let proof = p.consistency(size1, size).unwrap();
                assert_eq!(
                    proof.len(),
                    consistency_proof_len(size1, size),
                    "{size1}->{size}"
                );
                let root1 = p.root(size1).unwrap();
                verify_consistency(size1, size, &proof, &root1, &root).unwrap();
            }
        }
    }

    #[test]
    fn wrong_index_or_size_is_rejected() {
        let (t, leaves) = tree(8);
        let mut p = t.prover();
        let root = p.root(8).unwrap();
        let proof = p.inclusion(3, 8).unwrap();
        assert!(verify_inclusion(&leaves[3], 2, 8, &proof, &root).is_err());
        // Sizes 7 and 8 give leaf 3 the same path shape, so only a size that changes the
        // shape is caught without the root; 4 and 16 do.
        assert!(verify_inclusion(&leaves[3], 3, 4, &proof, &root).is_err());
        assert!(verify_inclusion(&leaves[3], 3, 16, &proof, &root).is_err());
        assert!(verify_inclusion(&leaves[3], 8, 8, &proof, &root).is_err());
        assert!(verify_inclusion(&leaves[3], u64::MAX, 8, &proof, &root).is_err());
        assert!(verify_consistency(8, 4, &[], &root, &root).is_err());
        assert!(verify_consistency(0, 8, &[], &root, &root).is_err());
        verify_consistency(0, 8, &[], &empty_root(), &root).unwrap();
    }
}
