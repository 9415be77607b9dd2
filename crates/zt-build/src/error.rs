//! The one error type of zt-build.

use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Everything that can go wrong in zt-build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A file named on the command line does not exist.
    #[error("`{}` does not exist", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// A file is not a well-formed instance of the format its name and magic bytes claim.
    #[error("`{}` is not a valid {format} file: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The format (zip, gzip, ar, png, tar).
        format: &'static str,
        /// What is wrong, with the offset or field where known.
        detail: String,
    },
    /// `--type` named a format zt does not normalise.
    #[error("unknown file type `{name}`")]
    UnknownType {
        /// The name given.
        name: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Io { .. } => {
                "check that the file exists and that you may read and write it".into()
            }
            Error::NotFound { .. } => {
                "check the path; `zt normalize` works on existing files in place".into()
            }
            Error::Malformed { format, .. } => {
                format!(
                    "the file was left unchanged; check it with a {format} tool or pass `--type` to choose another normaliser"
                )
            }
            Error::UnknownType { .. } => {
                "use one of `zip`, `jar`, `jmod`, `pyzip`, `gzip`, `ar`, `png`, `javadoc`, `tar`"
                    .into()
            }
        })
    }
}
