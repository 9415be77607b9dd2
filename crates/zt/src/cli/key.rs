use clap::{Args, Subcommand, ValueEnum};

/// `zt key …`
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(subcommand)]
    pub(crate) command: KeyCommand,
}

/// Key commands.
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
}

/// The key algorithms `zt key generate` offers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KeyTypeArg {
    /// Ed25519.
    Ed25519,
    /// ECDSA on NIST P-256 with SHA-256.
    P256,
}
