use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// `zt serve`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on. Plain HTTP is served on loopback only: give `--tls-cert` and
    /// `--tls-key`, or put a TLS-terminating proxy in front, to reach it from other hosts (see
    /// `docs/server.md`). Port 0 picks a free port; the URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,
    /// The repository served: its log (`.zt/log`), its ledger and policy (deploy admission),
    /// and its secrets store when it has one.
    #[arg(long, default_value = ".")]
    pub(crate) repo: PathBuf,
    /// The most broker calls (signature checks, journal writes) running at once
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
    /// Serve HTTPS (rustls) with this PEM certificate chain (leaf first); needs `--tls-key`.
    /// With TLS the server may listen on any address.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
}
