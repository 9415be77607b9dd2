use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors that stop the pipeline before it can report (a failing stage is not an error: it is
/// reported and the pipeline denies).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory is not something the pipeline can run on.
    #[error("`{}` {reason}", path.display())]
    Repository {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `git` could not be run or failed.
    #[error("git {args} failed: {reason}")]
    Git {
        /// The git arguments.
        args: String,
        /// Its complaint.
        reason: String,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Signing, logging or verifying failed.
    #[error(transparent)]
    Sign(#[from] zt_sign::Error),
    /// The build failed to run (not a failing build: that is a stage result).
    #[error(transparent)]
    Build(#[from] zt_build::Error),
    /// The secret scanner could not start.
    #[error(transparent)]
    Source(#[from] zt_source::Error),
    /// The vulnerability store failed.
    #[error(transparent)]
    Vuln(#[from] zt_vuln::Error),
    /// A lockfile, licence list or popular-package list could not be used.
    #[error(transparent)]
    Deps(#[from] zt_deps::Error),
    /// `zt.toml` could not be used.
    #[error(transparent)]
    Config(#[from] zt_core::config::ConfigError),
    /// An evidence-model error.
    #[error(transparent)]
    Core(#[from] zt_core::Error),
    /// The workspace could not be set up (its `zt.toml`, `ZT_NOW`, the store URL).
    #[error(transparent)]
    Workspace(#[from] zt_core::workspace::WorkspaceError),
    /// The ledger failed.
    #[error(transparent)]
    Store(#[from] zt_store::Error),
    /// The signing key is revoked: nothing more may be signed with it.
    #[error("key {key_id} is revoked (from {revoked_at}: {reason}; revocation in `{found_in}`)")]
    RevokedKey {
        /// The key's id.
        key_id: String,
        /// When the revocation takes effect (RFC 3339).
        revoked_at: String,
        /// Why it was revoked.
        reason: String,
        /// Where the revocation was found (its bundle, or `ledger`).
        found_in: String,
    },
    /// A dependency approval was refused.
    #[error("approval of `{id}` refused: {reason}")]
    Approval {
        /// The request.
        id: String,
        /// Why.
        reason: String,
    },
    /// A report (JUnit, coverage) that cannot be made into a predicate.
    #[error("{what}")]
    Report {
        /// Which file, and what it should have been.
        what: String,
        /// Why it could not be read.
        #[source]
        source: zt_policy::Error,
    },
    /// The configuration or the policy could not be used.
    #[error("{0}")]
    Policy(String),
    /// A witness cosignature policy that cannot be used.
    #[error("witness policy `{}`", path.display())]
    WitnessPolicy {
        /// The policy file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        source: zt_tlog::Error,
    },
    /// The watch (notifications, metrics) failed.
    #[error(transparent)]
    Watch(#[from] zt_watch::Error),
    /// The policy engine refused a policy, its data or an input document.
    #[error(transparent)]
    Rego(#[from] zt_policy::Error),
    /// A registry, image layout or image reference failed.
    #[error(transparent)]
    Oci(#[from] zt_oci::Error),
    /// An image carries no signature that verifies.
    #[error("{image} has no valid signature{}", if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join("; ")) })]
    ImageUnsigned {
        /// The image, pinned to its digest.
        image: String,
        /// Why each signature that was found failed.
        reasons: Vec<String>,
    },
    /// An argument the caller gave cannot be used.
    #[error("{what}")]
    Input {
        /// What is wrong.
        what: String,
        /// What to do instead.
        help: String,
    },
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::Sign(e) => e.outcome(),
            Error::Build(e) => e.outcome(),
            Error::Source(e) => e.outcome(),
            Error::Vuln(e) => e.outcome(),
            Error::Deps(e) => e.outcome(),
            Error::Config(e) => e.outcome(),
            Error::Core(e) => e.outcome(),
            Error::Workspace(e) => e.outcome(),
            Error::Store(e) => e.outcome(),
            Error::Watch(e) => e.outcome(),
            Error::Rego(e) => e.outcome(),
            Error::Oci(e) => e.outcome(),
            Error::Approval { .. } | Error::RevokedKey { .. } | Error::ImageUnsigned { .. } => {
                Outcome::Rejected
            }
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            Error::Repository { .. } => Some(
                "run `zt pipeline run DIR` on a git work tree with a Makefile, or with no DIR for the bundled example".into(),
            ),
            Error::Git { .. } => Some("check that `git` is installed and the directory is a git work tree".into()),
            Error::Io(_) => Some("check that the path exists and is writable".into()),
            Error::Sign(e) => e.help(),
            Error::Build(e) => e.help(),
            Error::Source(e) => e.help(),
            Error::Vuln(e) => e.help(),
            Error::Deps(e) => e.help(),
            Error::Config(e) => e.help(),
            Error::Core(e) => e.help(),
            Error::Workspace(e) => e.help(),
            Error::Store(e) => e.help(),
            Error::Watch(e) => e.help(),
            Error::Rego(e) => e.help(),
            Error::Oci(e) => e.help(),
            Error::ImageUnsigned { .. } => Some(
                "sign the image with `zt sign IMAGE --key KEY` (or check `--key` / `--certificate-identity` against its signer)".into(),
            ),
            Error::WitnessPolicy { source, .. } => source.help(),
            Error::Input { help, .. } => Some(help.clone()),
            Error::Report { source, .. } => source.help(),
            Error::Approval { id, .. } => Some(format!(
                "sign the approval with your own key, listed under `[[deps.approver]]` in `zt.toml`: `zt deps approve {id} --key KEY`"
            )),
            Error::RevokedKey { .. } => Some(
                "generate a new key with `zt key generate --out KEY`, add its `KEY.pub` to `zt.toml`'s `[[trust.keys]]`, and sign with it".into(),
            ),
            Error::Policy(_) => Some(
                "check `zt.toml` (create it with `zt init`) and the policies with `zt policy test`".into(),
            ),
        }
    }
}
