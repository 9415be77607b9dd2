use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// `zt serve`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on. Plain HTTP is served on loopback only: put a TLS-terminating
    /// proxy in front to reach it from other hosts (see `docs/server.md`). Port 0 picks a free
    /// port; the URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub(crate) listen: SocketAddr,
    /// The repository whose secrets store (`.zt/`) the broker serves.
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
}
