use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt secrets …`
#[derive(Debug, Args)]
pub(crate) struct SecretsArgs {
    /// The repository whose store (`.zt/secrets`) to use, as `--repo` elsewhere in zt
    /// [default: the repository containing the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    /// The `.zt` directory itself, where it is not in the repository (the store is in
    /// `<dir>/secrets`).
    #[arg(
        long = "zt-dir",
        global = true,
        value_name = "DIR",
        conflicts_with = "repo"
    )]
    pub(crate) zt_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: SecretsCommand,
}

impl SecretsArgs {
    /// The `.zt` directory: `--zt-dir`, else that of the repository containing `--repo` (by
    /// default the current directory), found as every command finds it.
    pub(crate) fn zt_dir(&self) -> Result<PathBuf, zt_core::workspace::WorkspaceError> {
        if let Some(dir) = &self.zt_dir {
            return Ok(dir.clone());
        }
        let start = self.repo.clone().unwrap_or_else(|| PathBuf::from("."));
        Ok(zt_core::Workspace::discover(&start)?
            .layout()
            .dir()
            .to_path_buf())
    }
}

// Secrets broker commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Create the secrets store: a master key, the broker's token-signing key, an empty store
    /// and a commented `trust.toml` to list the OIDC issuers in.
    Init {
        /// Wrap the master key with an Ed25519 key in a PKCS#11 token (RFC 7512 URI, PIN via
        /// `pin-source` or `ZT_PKCS11_PIN`) instead of writing it to a 0600 file.
        #[arg(long, value_name = "URI")]
        pkcs11: Option<String>,
    },
    /// Store a new version of a secret, read from `--from-file` or stdin.
    Put {
        /// The secret's name (letters, digits, `_`, `-`, `.`).
        name: String,
        /// Read the value from this file instead of stdin.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// Who may read it: `claim=value[,claim=value…]` over iss, aud, sub, repository,
        /// ref, environment, workflow_ref, job_workflow_ref, event_name (values may be
        /// globs). Repeat for alternatives.
        #[arg(long = "bind", value_name = "BINDING")]
        bind: Vec<String>,
        /// Store it through the zt server at URL (`zt serve`, which holds the repository's
        /// log while it runs) instead of the local store: `http://127.0.0.1:PORT`, from the
        /// server's machine. Without it, a server running on this repository (its
        /// `.zt/serve.addr`) is used. The operator token is `ZT_OPERATOR_TOKEN`, else read
        /// from `.zt/secrets/operator.token`.
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Exchange a CI job's OIDC ID token for a scoped token; print it.
    Token {
        /// The OIDC token: a file, or `-` for stdin.
        #[arg(long, value_name = "FILE|-")]
        oidc_token: PathBuf,
        /// Exchange at the zt server at URL (`zt serve`) instead of the local store: `https://`, or
        /// `http://` to a loopback address.
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Print a secret's value with a scoped token.
    Get {
        /// The secret's name.
        name: String,
        /// The scoped token.
        #[arg(long, env = "ZT_SECRETS_TOKEN", hide_env_values = true)]
        token: String,
        /// Read from the zt server at URL (`zt serve`) instead of the local store: `https://`, or
        /// `http://` to a loopback address.
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Run a command with secrets in its environment or in sealed 0600 memory files; zt
    /// becomes the command (exec), so its exit status and signals are its own, and the token
    /// is not passed on.
    Exec {
        /// The scoped token.
        #[arg(long, env = "ZT_SECRETS_TOKEN", hide_env_values = true)]
        token: String,
        /// `VAR=SECRET`: set VAR to the secret's value.
        #[arg(long = "env", value_name = "VAR=SECRET")]
        env: Vec<String>,
        /// `VAR=SECRET`: put the secret in a sealed 0600 memory file (memfd) and set VAR to its
        /// path, `/dev/fd/N`.
        #[arg(long = "file", value_name = "VAR=SECRET")]
        file: Vec<String>,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
        /// Read from the zt server at URL (`zt serve`) instead of the local store: `https://`, or
        /// `http://` to a loopback address.
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Revoke a scoped token by its id (from `zt secrets token --json`).
    RevokeToken {
        /// The token's id.
        id: String,
        /// Revoke it through the zt server at URL (`zt serve`) instead of the local store,
        /// from the server's machine (without it, a server running on this repository); the
        /// operator token as for `put --server`.
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
    /// Verify every access record against the transparency log and list accesses.
    Audit {
        /// Only records about this secret.
        #[arg(long)]
        secret: Option<String>,
        /// Only records of this repository.
        #[arg(long)]
        repository: Option<String>,
        /// Only records since this time: RFC 3339, Unix seconds, or an age like `30m`, `12h`, `7d`.
        #[arg(long)]
        since: Option<String>,
    },
    /// Re-encrypt every version of every secret under a new master key.
    Rotate,
    /// List the secrets: names, versions, bindings (never values).
    List,
}
