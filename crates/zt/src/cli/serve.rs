use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt serve`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ServeArgs {
    // Administration of the server (API tokens) instead of serving.
    #[command(subcommand)]
    pub(crate) command: Option<ServeCommand>,
    /// The address to listen on. Plain HTTP is served on loopback only: give `--tls-cert` and
    /// `--tls-key`, or put a TLS-terminating proxy in front, to reach it from other hosts (see
    /// `docs/server.md`). Port 0 picks a free port; the URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,
    /// The repository served: its log (`.zt/log`), its `zt.toml` trust (which keys' evidence
    /// is accepted), its ledger and policy (evidence API, deploy admission), and its secrets
    /// store when it has one.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// The evidence store: `postgres://…[?schema=NAME]` for a shared PostgreSQL, or
    /// `sqlite:PATH` (default: the repository's store, `ZT_STORE_URL` or `zt.toml`'s
    /// `[store] url`, else `.zt/ledger.db`).
    #[arg(long, value_name = "URL")]
    pub(crate) store: Option<String>,
    /// Another transparency log whose entries uploaded bundles may carry: its verifier key
    /// file (a log's `log.pub`), e.g. a CI runner's own log. Repeatable. The server's own log
    /// and the public-good Rekor are always trusted.
    #[arg(long, value_name = "LOG.PUB")]
    pub(crate) trust_log: Vec<PathBuf>,
    /// The most blocking broker calls (issuer key fetches, revocations) running at once
    /// (default: 8 per CPU, between 8 and 64).
    #[arg(long)]
    pub(crate) blocking_threads: Option<usize>,
    /// A host name the server answers to besides its listen address and `localhost`: the
    /// name a TLS proxy in front forwards in `Host`. Repeatable. Requests naming any other
    /// host are refused (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub(crate) allow_host: Vec<String>,
    /// Run a C2SP tlog-witness at `POST /add-checkpoint`, cosigning with this Ed25519 key
    /// (PKCS#8 PEM, e.g. from `zt key generate --type ed25519`). Needs `--witness-name` and
    /// at least one `--witness-log`.
    #[arg(long, value_name = "PEM", requires_all = ["witness_name", "witness_log"])]
    pub(crate) witness_key: Option<PathBuf>,
    /// The witness's name (its cosignature key name), e.g. `witness.example.com/w1`.
    #[arg(long, value_name = "NAME", requires = "witness_key")]
    pub(crate) witness_name: Option<String>,
    /// A log the witness cosigns: its note verifier key, or a file holding one (a log's
    /// `log.pub`). Repeatable.
    #[arg(long, value_name = "VKEY", requires = "witness_key")]
    pub(crate) witness_log: Vec<String>,
    /// A namespace deploy admission (`POST /admission/v1`) allows without checking, with a
    /// warning (e.g. `kube-system`). Repeatable.
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) admission_exclude: Vec<String>,
    /// Deploy admission resolves an image given by tag to its digest through the registry
    /// and judges that digest (without it a tag is denied: "pin by digest").
    #[arg(long)]
    pub(crate) admission_resolve_tags: bool,
    /// Deploy admission judges with the evidence the image's registry holds about the digest
    /// too (Sigstore-bundle referrers, zt attestations on cosign's `.att` tag), verified
    /// against the repository's trust like any bundle.
    #[arg(long)]
    pub(crate) admission_registry_evidence: bool,
    /// Reach this registry (`HOST:PORT`) over plain HTTP during admission (registries on
    /// loopback always are). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
    /// Serve HTTPS (rustls) with this PEM certificate chain (leaf first); needs `--tls-key`.
    /// With TLS the server may listen on any address.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}

// `zt serve token …`
#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// Manage the evidence API's tokens (stored hashed in `.zt/server/tokens.json`).
    #[command(subcommand)]
    Token(TokenCommand),
}

// `zt serve token create|list|revoke`
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; it is printed once and never stored.
    Create {
        /// What it may do: `read`, `upload` (and read) or `admin` (everything).
        #[arg(long)]
        role: String,
        /// A label for listings.
        #[arg(long, default_value = "")]
        name: String,
        /// The repository whose server the token is for.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// List the tokens (ids, names, roles; never the tokens).
    List {
        /// The repository whose server's tokens to list.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Revoke a token by id; it stops working at the next request.
    Revoke {
        /// The token's id (from `zt serve token list`).
        id: String,
        /// The repository whose server's token to revoke.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
}
