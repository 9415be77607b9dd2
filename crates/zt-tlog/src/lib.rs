//! zt's transparency log: an append-only RFC 6962 Merkle tree stored in the C2SP
//! [tlog-tiles](https://c2sp.org/tlog-tiles) layout, committed to by Ed25519
//! [signed-note](https://c2sp.org/signed-note) [checkpoints](https://c2sp.org/tlog-checkpoint),
//! cosigned by witnesses ([`cosignature/v1`](https://c2sp.org/tlog-cosignature)), and proved
//! offline with [`c2sp.org/tlog-proof@v1`](https://c2sp.org/tlog-proof) files.
//!
//! Two halves:
//!
//! - **The log** ([`Log`]): [`Log::init`] / [`Log::open`] a directory; [`Log::append`] (group
//!   commit across threads) or [`Log::append_batch`] return an entry's index only after the
//!   checkpoint covering it is durable; [`Log::checkpoint`], [`Log::inclusion_proof`],
//!   [`Log::consistency_proof`], [`Log::root_at`], [`Log::tlog_proof`]. A crash at any moment
//!   (even `kill -9`) loses no acknowledged entry and never forks the log.
//! - **Verification without a log**: [`verify_inclusion`] and [`verify_consistency`] (RFC 9162
//!   §2.1.3.2 and §2.1.4.2), [`Checkpoint::open`] (parse and check a log-signed checkpoint),
//!   [`TrustPolicy::verify_checkpoint`] (log key plus a k-of-N witness quorum; cosignatures by
//!   unknown keys are ignored), and [`TlogProof::verify`].
//!
//! ```
//! use zt_tlog::{Log, TrustPolicy, leaf_hash, verify_inclusion};
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = tmp.path().join("log");
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let log = Log::init(&dir, key, "example.com/log").unwrap();
//! let first = log.append_batch(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]).unwrap();
//! assert_eq!(first, 0);
//!
//! // Anyone holding the log's verifier key checks a proof offline.
//! let policy = TrustPolicy::log_only(log.verifier().clone()).unwrap();
//! let proof = log.tlog_proof(1, None).unwrap();
//! let checked = proof.verify(&leaf_hash(b"b"), &policy).unwrap();
//! assert_eq!(checked.checkpoint.size, 3);
//!
//! let root = log.root_at(3).unwrap();
//! let path = log.inclusion_proof(2, 3).unwrap();
//! verify_inclusion(&leaf_hash(b"c"), 2, 3, &path, &root).unwrap();
//! ```
//!
//! ## For Sigstore bundles (zt-sign)
//!
//! A bundle's `tlogEntries[]` item needs the entry's index ([`Log::append`] returns it), and an
//! inclusion proof and the signed checkpoint of one and the same tree: take both from
//! [`Log::tlog_proof`], which reads them under one lock (`hashes`, `index`, `checkpoint`; the
//! checkpoint's size and root come from [`Checkpoint::parse_body`] of its note text). Calling
//! [`Log::checkpoint`] and [`Log::inclusion_proof`] separately can straddle another append.
//! Verifiers call [`TlogProof::verify`], or [`verify_inclusion`] with [`leaf_hash`] of the
//! canonical entry body plus [`Checkpoint::open`] (or [`TrustPolicy::verify_checkpoint`] when
//! witnesses are required) with the log's [`NoteVerifier`] (`log.pub` in the log directory,
//! [`Log::verifier`]; [`NoteVerifier::public_key`] is the raw Ed25519 key for a
//! `trusted_root.json`).
//!
//! ## Durability
//!
//! One process at a time holds a log open (an exclusive `flock` on `private/lock`; others
//! wait). A batch is appended to the write-ahead file `private/wal` and synced (one
//! fdatasync); [`Log::append`] returns after that, with the batch's checkpoint signed in
//! memory. The tiles and bundles a batch completes are written (temp file, rename) right away;
//! the partial tiles and the `checkpoint` file are published when no append waits, or every
//! [`LogOptions::publish_interval`], partial tiles first, so the `checkpoint` file always names
//! a tree whose tiles are on disk. Every file is synced at the next base; opening replays the
//! WAL, rebuilding tiles and checkpoints byte for byte, so killing the process at any moment
//! loses no acknowledged entry; [`Log::open`] checks the right edge of the tree against the
//! root it starts from. See the `log` module's documentation.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
pub mod cosignature;
mod error;
mod log;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod proof_file;
pub mod sumdb;
pub mod tiles;
pub mod witness;

pub use checkpoint::Checkpoint;
pub use cosignature::{WitnessSigner, verify_cosignature};
pub use ed25519_dalek;
pub use error::{Error, NoteError};
pub use log::{Log, LogOptions};
pub use merkle::{
    Hash, MemoryTree, ProofError, Prover, empty_root, leaf_hash, node_hash, verify_consistency,
    verify_inclusion,
};
pub use note::{Note, NoteSignature, NoteSigner, NoteVerifier};
pub use policy::{TrustPolicy, VerifiedCheckpoint};
pub use proof_file::TlogProof;
pub use witness::{Cosigned, Witness};
