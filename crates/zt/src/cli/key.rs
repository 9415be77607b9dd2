use clap::{Args, Subcommand, ValueEnum};

// `zt key …`
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    pub(crate) command: KeyCommand,
}

// Key commands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a key pair: NAME (PKCS#8 PEM private key, mode 0600) and NAME.pub (SPKI PEM),
    /// or, when `--out` is a `pkcs11:` URI, a key pair inside that token.
    Generate {
        /// The key algorithm.
        #[arg(long = "type", value_enum, default_value_t = KeyTypeArg::Ed25519)]
        key_type: KeyTypeArg,
        /// Where to write the private key (the public key goes to the same path plus `.pub`),
        /// or a `pkcs11:` URI naming the token, label and id of a new token key.
        #[arg(long)]
        out: String,
    },
    /// Show a key's algorithm and id (a private or public PEM key, or a `pkcs11:` URI).
    Show {
        /// The key.
        key: String,
        /// Print the public key as SPKI PEM (to export a token's public key).
        #[arg(long)]
        pem: bool,
    },
    /// Revoke a key and show its blast radius: every bundle it signed and the builds behind
    /// them. The revocation is a signed statement appended to the repository's log; the gate
    /// rejects evidence signed by the key unless its verified log entry comes before the
    /// revocation's, or a verified signed time is before `--at`.
    Revoke {
        /// The key: its 64-hex-digit id, a public or private PEM key file, or a `pkcs11:` URI.
        key: String,
        /// Why (shown in every rejection).
        #[arg(long)]
        reason: String,
        /// When the revocation takes effect: RFC 3339 (`2026-11-01T00:00:00Z`) or Unix
        /// seconds; default now. Set it to when the key was compromised.
        #[arg(long)]
        at: Option<String>,
        /// The repository whose ledger records it.
        #[arg(long, default_value = ".")]
        repo: std::path::PathBuf,
    },
}

/// The key algorithms `zt key generate` offers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KeyTypeArg {
    /// Ed25519.
    Ed25519,
    /// ECDSA on NIST P-256 with SHA-256.
    P256,
}
