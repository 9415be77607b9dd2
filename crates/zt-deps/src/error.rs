use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from reading lockfiles and SBOMs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A lockfile or SBOM is malformed.
    #[error("{}{}: {message}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        file: PathBuf,
        /// The 1-based line, where known.
        line: Option<usize>,
        /// What is wrong (naming the field where there is no line).
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The file name matches no lockfile format zt reads.
    #[error("`{}` is not a lockfile zt reads", .0.display())]
    UnknownFormat(PathBuf),
    /// A file could not be read or written (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A package archive was refused while it was read (bad form, unsafe path, a limit).
    #[error(transparent)]
    Archive(#[from] crate::intake::archive::ArchiveError),
    /// A dependency request or approval was refused (self-approval, already approved, empty
    /// field).
    #[error(transparent)]
    Request(#[from] crate::intake::requests::RequestError),
    /// The dependency policy in `zt.toml` is wrong (a licence id that is not SPDX, an
    /// exception that names no package).
    #[error("{}{}: {field}: {message}", .file.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        /// The configuration file.
        file: PathBuf,
        /// The 1-based line, where known.
        line: Option<usize>,
        /// The field, e.g. `deps.licenses.allow[2]`.
        field: String,
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// Malware rules that cannot be loaded (a YARA rule that does not compile, a rule
    /// format zt does not run) are refused by file, never skipped.
    #[error("malware rule file `{}`: {message}", .file.display())]
    Rule {
        /// The rule file (`builtin/NAME` for an embedded one).
        file: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
}

impl Error {
    pub(crate) fn parse(
        file: &std::path::Path,
        line: Option<usize>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Parse {
            file: file.into(),
            line,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        use crate::intake::requests::RequestError;
        match self {
            Error::Request(
                RequestError::SelfApproval { .. } | RequestError::AlreadyApproved { .. },
            ) => Outcome::Rejected,
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Parse { fix, .. } | Error::Config { fix, .. } | Error::Rule { fix, .. } => fix.clone(),
            Error::UnknownFormat(_) => "name it `Cargo.lock`, `package-lock.json`, `requirements.txt`, `poetry.lock`, `uv.lock`, `Gemfile.lock`, `go.mod`, `pnpm-lock.yaml` or `yarn.lock`".into(),
            Error::Io(_) => "check that the path exists and is readable".into(),
            Error::Archive(_) => "the archive is not one zt admits; run `zt deps intake` on the registry's original file".into(),
            Error::Request(e) => {
                use crate::intake::requests::RequestError;
                match e {
                    RequestError::Empty(flag) => format!("give `--{flag}` a value"),
                    RequestError::Unknown(_) => "list the requests with `zt deps requests`".into(),
                    RequestError::SelfApproval { .. } => {
                        "a request needs a second person: ask someone other than the requester to run `zt deps approve`".into()
                    }
                    RequestError::AlreadyApproved { .. } => "nothing to do: the request is approved".into(),
                }
            }
        })
    }
}
