use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from keys, signing and verification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file is not a PEM key zt understands.
    #[error("`{}` is not a usable {expected}: {reason}", path.display())]
    KeyFormat {
        /// The key file.
        path: PathBuf,
        /// What kind of key was expected there.
        expected: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A key uses an algorithm zt does not sign or verify with.
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A signature did not verify against the key.
    #[error("signature does not verify with the given key")]
    BadSignature,
    /// A signature is not validly encoded for its algorithm.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// A file already exists where a new key would be written.
    #[error("`{}` already exists; zt never overwrites a key", .0.display())]
    KeyExists(PathBuf),
    /// The signing backend failed.
    #[error("signing failed: {0}")]
    SigningFailed(String),
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An evidence-model error.
    #[error(transparent)]
    Core(#[from] zt_core::Error),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::BadSignature | Error::MalformedSignature(_) => Outcome::Rejected,
            Error::Core(e) => e.outcome(),
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        match self {
            Error::KeyFormat { expected, .. } => Some(format!(
                "pass a PEM {expected}, such as one written by `zt key generate`"
            )),
            Error::UnsupportedAlgorithm(_) => {
                Some("zt signs with ed25519 and ECDSA P-256 keys (`zt key generate --type ed25519|p256`)".into())
            }
            Error::BadSignature | Error::MalformedSignature(_) => Some(
                "check that the artifact is the one that was signed and that the key is the signer's".into(),
            ),
            Error::KeyExists(_) => Some("choose another `--out` name, or move the old key away first".into()),
            Error::SigningFailed(_) => Some("check that the key or token is available and unlocked".into()),
            Error::Io(_) => Some("check that the path exists and is readable".into()),
            Error::Core(e) => e.help(),
        }
    }
}
