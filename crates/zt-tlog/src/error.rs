use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

use crate::merkle::ProofError;

/// Errors from the transparency log, its checkpoints and its proofs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Merkle proof did not verify.
    #[error("invalid proof: {0}")]
    Proof(#[from] ProofError),
    /// A signed note is malformed or its signature does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A checkpoint's text is not `origin`, `size`, `root hash` lines (plus extensions).
    #[error("malformed checkpoint: {0}")]
    Checkpoint(&'static str),
    /// A checkpoint is for another log.
    #[error("the checkpoint is for origin `{found}`, not `{expected}`")]
    OriginMismatch {
        /// The origin the trust policy names.
        expected: String,
        /// The origin on the checkpoint.
        found: String,
    },
    /// Too few trusted witnesses cosigned the checkpoint.
    #[error(
        "the checkpoint has {valid} valid witness cosignatures; the trust policy needs {required}"
    )]
    QuorumNotMet {
        /// Distinct trusted witnesses with a valid cosignature.
        valid: usize,
        /// The policy's threshold.
        required: usize,
    },
    /// A `c2sp.org/tlog-proof@v1` file is malformed.
    #[error("malformed tlog proof, line {line}: {reason}")]
    ProofFile {
        /// The 1-based line number.
        line: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// A trust policy file is malformed.
    #[error("malformed trust policy, line {line}: {reason}")]
    Policy {
        /// The 1-based line number (0 for the policy as a whole).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// An entry is larger than a tlog-tiles entry bundle can hold.
    #[error("an entry of {len} bytes is larger than the 65535 bytes a log entry can hold")]
    EntryTooLarge {
        /// The entry's length.
        len: usize,
    },
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The requested index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree size beyond the log's current size, or sizes in the wrong order.
    #[error("tree size {size} is not available: the log has {log_size} entries")]
    SizeOutOfRange {
        /// The requested size.
        size: u64,
        /// The log's size.
        log_size: u64,
    },
    /// The directory holds no log.
    #[error("no transparency log at `{}` (no checkpoint file)", .0.display())]
    NotALog(PathBuf),
    /// `init` found a log already there.
    #[error("a transparency log already exists at `{}`", .0.display())]
    AlreadyExists(PathBuf),
    /// The log's files disagree with its checkpoint.
    #[error("the log at `{}` is damaged: {reason}", path.display())]
    Corrupt {
        /// The file or directory found wrong.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The log was opened without its private key.
    #[error("the log was opened read-only: its signing key `{}` is missing", .0.display())]
    ReadOnly(PathBuf),
    /// A witness saw a checkpoint smaller than one it cosigned before.
    #[error(
        "rollback: the log's checkpoint has size {new_size}, below the size {old_size} already seen"
    )]
    Rollback {
        /// The size seen before.
        old_size: u64,
        /// The new, smaller size.
        new_size: u64,
    },
    /// A witness saw two different roots for one tree size.
    #[error("fork: two different roots for tree size {size}")]
    Fork {
        /// The tree size.
        size: u64,
    },
    /// Another process held the log open for longer than the wait allowed (a running
    /// `zt serve` holds its secrets access log for as long as it runs).
    #[error(
        "the log at `{}` is held by another process (waited {}s for it)",
        path.display(),
        waited.as_secs()
    )]
    Busy {
        /// The log directory.
        path: PathBuf,
        /// How long this process waited.
        waited: std::time::Duration,
    },
    /// A C2SP `tlog-witness` request body is malformed or asks for something impossible.
    #[error("malformed add-checkpoint request: {0}")]
    WitnessRequest(&'static str),
    /// A witness was asked to cosign a log it is not configured for.
    #[error("this witness does not know the log `{origin}`")]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// An `add-checkpoint` request's old size is not the size the witness last cosigned.
    #[error(
        "the request's old size {old} is not {latest}, the size of the latest checkpoint cosigned"
    )]
    OldSizeMismatch {
        /// The old size sent.
        old: u64,
        /// The size of the latest checkpoint this witness cosigned for the log (0: none).
        latest: u64,
    },
    /// Another caller's batch, which included this entry, failed to commit.
    #[error("the batch holding this entry failed to commit: {0}")]
    BatchFailed(String),
    /// A Go checksum database document is malformed.
    #[error("malformed checksum database {what}: {reason}")]
    Sumdb {
        /// Which document (`lookup response`, `record`, `module path`).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The checksum database has no record of a module version (no lookup document).
    #[error("the checksum database has no record of `{module}@{version}` (no `{path}`)")]
    SumdbNoRecord {
        /// The module path.
        module: String,
        /// The version.
        version: String,
        /// The lookup path that was asked for.
        path: String,
    },
    /// A checksum database record is not in the signed tree its lookup came with.
    #[error(
        "the checksum database record of `{module}@{version}` is not in the signed tree: {reason}"
    )]
    SumdbProof {
        /// The module path.
        module: String,
        /// The version.
        version: String,
        /// Why the inclusion proof failed.
        reason: String,
    },
    /// The checksum database logged another hash for the module version.
    #[error(
        "the checksum database logged `{logged}` for `{module}@{version}`, but the module zip hashes to `{found}`"
    )]
    SumdbHashMismatch {
        /// The module path.
        module: String,
        /// The version.
        version: String,
        /// The hash the database logged.
        logged: String,
        /// The archive's hash.
        found: String,
    },
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Errors from signed notes and their keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is not a well-formed signed note.
    #[error("malformed signed note: {0}")]
    Malformed(&'static str),
    /// A key name is empty or has whitespace or `+`.
    #[error("invalid key name `{0}`: it must be non-empty, without spaces or `+`")]
    KeyName(String),
    /// A signature type zt does not implement.
    #[error("unsupported note signature type 0x{0:02x}")]
    KeyType(u8),
    /// A verifier key string did not parse.
    #[error("invalid note verifier key: {0}")]
    VerifierKey(String),
    /// A signer key string did not parse.
    #[error("invalid note signer key: {0}")]
    SignerKey(String),
    /// A signature line with a known key's name and ID does not verify.
    #[error("the signature by `{name}` (key ID {key_id:08x}) does not verify")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
    /// No signature by the required key.
    #[error("the note carries no signature by `{name}` (key ID {key_id:08x})")]
    Unsigned {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: u32,
    },
}

impl Diagnostic for NoteError {
    fn outcome(&self) -> Outcome {
        match self {
            NoteError::BadSignature { .. } | NoteError::Unsigned { .. } => Outcome::Rejected,
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            NoteError::Malformed(_) => "a signed note is text lines, a blank line, then `— <name> <base64>` signature lines (c2sp.org/signed-note)".into(),
            NoteError::KeyName(_) => "use a key name such as `example.com/log` (no spaces, no `+`)".into(),
            NoteError::KeyType(_) => "zt verifies Ed25519 note signatures (0x01) and cosignature/v1 (0x04)".into(),
            NoteError::VerifierKey(_) => "a verifier key looks like `example.com/log+1234abcd+AXb…` (`zt log init` prints the log's)".into(),
            NoteError::SignerKey(_) => "a signer key looks like `PRIVATE+KEY+example.com/log+1234abcd+AXb…`".into(),
            NoteError::BadSignature { .. } => "the note was altered after signing, or signed by another key under the same name".into(),
            NoteError::Unsigned { .. } => "check that the verifier key is the log's (`zt log init` prints it)".into(),
        })
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::Proof(_)
            | Error::OriginMismatch { .. }
            | Error::QuorumNotMet { .. }
            | Error::Corrupt { .. }
            | Error::Rollback { .. }
            | Error::Fork { .. }
            | Error::OldSizeMismatch { .. }
            | Error::UnknownLog { .. }
            | Error::SumdbProof { .. }
            | Error::SumdbHashMismatch { .. } => Outcome::Rejected,
            Error::Note(e) => e.outcome(),
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Proof(_) => "the entry is not in the log under that checkpoint, or the proof, root, index or size was altered".into(),
            Error::Note(e) => return e.help(),
            Error::Checkpoint(_) => "a checkpoint body is the origin, the decimal tree size and the base64 root hash, one per line (c2sp.org/tlog-checkpoint)".into(),
            Error::OriginMismatch { .. } => "check that the proof comes from the log the trust policy names".into(),
            Error::QuorumNotMet { .. } => "have more of the policy's witnesses cosign the checkpoint (`zt log cosign`), then fetch the proof again".into(),
            Error::ProofFile { .. } => "a proof file starts with `c2sp.org/tlog-proof@v1`, then `index N`, the proof hashes, a blank line and the checkpoint (`zt log prove --out`)".into(),
            Error::Policy { .. } => "a trust policy has one `log <vkey>` line, `witness <vkey>` lines and a `quorum <k>` line".into(),
            Error::EntryTooLarge { .. } => "log a digest or a compact record of the data instead of the data itself".into(),
            Error::IndexOutOfRange { .. } | Error::SizeOutOfRange { .. } => "see the log's size with `zt log checkpoint`".into(),
            Error::NotALog(_) => "create a log with `zt log init`, or point `--dir` at an existing one".into(),
            Error::AlreadyExists(_) => "use the existing log, or pass another `--dir`".into(),
            Error::Corrupt { .. } => "restore the log directory from a backup; do not append to it until it verifies".into(),
            Error::ReadOnly(_) => "run this where the log's private key is, or restore the key file".into(),
            Error::Rollback { .. } | Error::Fork { .. } => "the log is misbehaving: keep both checkpoints as evidence and do not cosign".into(),
            Error::WitnessRequest(_) => "send `old <size>`, the consistency proof lines, an empty line and the signed checkpoint (c2sp.org/tlog-witness)".into(),
            Error::UnknownLog { .. } => "configure the log's verifier key on the witness (`zt serve --witness-log VKEY`)".into(),
            Error::OldSizeMismatch { .. } => "send the request again with the latest size as `old` and a consistency proof from it (`zt log consistency --from SIZE`)".into(),
            Error::BatchFailed(_) => "fix the cause above and append the entry again".into(),
            Error::Busy { .. } => "wait for the other zt process to finish; if it is `zt serve`, use it (`--server URL`) or stop it first. `ZT_LOG_WAIT=SECONDS` waits longer".into(),
            Error::Sumdb { .. } => "pass the checksum database's documents as served: `lookup/MODULE@VERSION` (record id, record, blank line, signed tree note) and `tile/8/…` (the `go` command keeps them under `$GOMODCACHE/cache/download/sumdb/sum.golang.org/`)".into(),
            Error::SumdbNoRecord { .. } => "fetch the module once with the `go` command (GOSUMDB on) to save its lookup, or check the module path and version".into(),
            Error::SumdbProof { .. } => "the record or the tiles were altered (a proxy or mirror lying about the module): do not take the module in, keep the documents as evidence".into(),
            Error::SumdbHashMismatch { .. } => "the module zip is not the one the world sees for this version: take the zip from proxy.golang.org again and compare, do not take this one in".into(),
            Error::Io(_) => "check that the path exists and is readable and writable".into(),
        })
    }
}
