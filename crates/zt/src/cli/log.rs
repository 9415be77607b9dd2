use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt log …`
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// The log directory (C2SP tlog-tiles layout) [default: the repository's `.zt/log`, the
    /// repository found from the current directory as every command finds it].
    #[arg(long, global = true)]
    pub(crate) dir: Option<PathBuf>,
    /// Read a remote log served in the tlog-tiles layout (by `zt serve`, a static web server
    /// or a CDN) instead of `--dir`: `checkpoint`, `prove` and `consistency` fetch its
    /// checkpoint and tiles and check every proof against the signed checkpoint. A `--dir`
    /// that is an `https://` (or loopback `http://`) URL means the same.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) log_url: Option<String>,
    /// The remote log's verifier key, or a file holding it (default: `log.pub` in `--dir` if
    /// there is one, else the key the server publishes at `URL/log.pub`, trusted on first use).
    #[arg(long, global = true, value_name = "VKEY")]
    pub(crate) log_key: Option<String>,
    #[command(subcommand)]
    pub(crate) command: LogCommand,
}

// Transparency log commands.
#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Create an empty log with a new Ed25519 signing key (or `--key`) and print its
    /// verifier key.
    Init {
        /// The checkpoint origin and key name, e.g. `example.com/log` (default:
        /// `zt.local/log-<key hex>`).
        #[arg(long)]
        origin: Option<String>,
        /// An Ed25519 private key (PKCS#8 PEM, e.g. from `zt key generate`) to sign with.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Append each FILE's bytes as one entry (all in one batch); print their indices once the
    /// covering checkpoint is durable.
    Append {
        /// The files to log (at most 65535 bytes each).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the current signed checkpoint.
    Checkpoint,
    /// Write a Sigstore `trusted_root.json` naming this log, so Sigstore verifiers accept
    /// zt's bundles given that root and the signer's public key.
    TrustedRoot {
        /// Where to write it (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the inclusion proof of entry N in the tree of size S (default: the checkpoint's).
    Prove {
        /// The entry's index.
        #[arg(long)]
        index: u64,
        /// The tree size (default: the current checkpoint's).
        #[arg(long)]
        size: Option<u64>,
        /// Also write a `c2sp.org/tlog-proof@v1` file here (current checkpoint only).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the consistency proof between two tree sizes.
    Consistency {
        /// The older tree size.
        #[arg(long)]
        from: u64,
        /// The newer tree size (default: the current checkpoint's).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Check an inclusion proof (exit 0 valid, 1 invalid).
    VerifyInclusion {
        /// The leaf hash, base64.
        #[arg(long, allow_hyphen_values = true)]
        leaf_hash: String,
        /// The leaf index.
        #[arg(long)]
        index: u64,
        /// The tree size.
        #[arg(long)]
        size: u64,
        /// The root hash, base64.
        #[arg(long, allow_hyphen_values = true)]
        root: String,
        /// The proof hashes, base64, comma-separated, from the leaf up (absent: empty).
        #[arg(long, allow_hyphen_values = true)]
        proof: Option<String>,
    },
    /// Check a consistency proof (exit 0 valid, 1 invalid).
    VerifyConsistency {
        /// The older tree size.
        #[arg(long)]
        size1: u64,
        /// The newer tree size.
        #[arg(long)]
        size2: u64,
        /// The older root hash, base64.
        #[arg(long, allow_hyphen_values = true)]
        root1: String,
        /// The newer root hash, base64.
        #[arg(long, allow_hyphen_values = true)]
        root2: String,
        /// The proof hashes, base64, comma-separated (absent: empty).
        #[arg(long, allow_hyphen_values = true)]
        proof: Option<String>,
    },
    /// Check a `c2sp.org/tlog-proof@v1` file offline against an entry and a trust policy.
    VerifyProof {
        /// The proof file.
        proof_file: PathBuf,
        /// The logged entry (its bytes are hashed as the leaf).
        #[arg(long)]
        entry: PathBuf,
        /// A trust policy file (`log <vkey>`, `witness <vkey>`…, `quorum <k>`); default: the
        /// log's own key from `--dir`, no witnesses.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Act as a witness: check the checkpoint's log signature and its consistency with the
    /// last checkpoint seen for that origin, then add a cosignature/v1 and print the note.
    Cosign {
        /// The witness's Ed25519 private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The witness's name, e.g. `witness.example/w1`.
        #[arg(long)]
        name: String,
        /// The checkpoint to cosign (default: the log's `checkpoint` file).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The log's verifier key, or a file holding it (default: the log's `log.pub`).
        #[arg(long)]
        log_key: Option<String>,
        /// The consistency proof from the last seen checkpoint, base64, comma-separated
        /// (default: computed from `--dir` and checked).
        #[arg(long, allow_hyphen_values = true)]
        proof: Option<String>,
        /// Where the witness keeps the last checkpoint it saw per origin [default: the
        /// repository's `.zt/witness`].
        #[arg(long)]
        state: Option<PathBuf>,
        /// Write the cosigned checkpoint here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the note verifier key of an Ed25519 PEM key, as a log key or (`--witness`) as a
    /// cosignature/v1 witness key.
    Vkey {
        /// The Ed25519 private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// The key name (log origin or witness name).
        #[arg(long)]
        name: String,
        /// Print the witness (cosignature/v1, type 0x04) key instead of the log key.
        #[arg(long)]
        witness: bool,
    },
}
