use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from the vulnerability database, version ordering, matching and scoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A version is not well-formed for its ecosystem.
    #[error("invalid {ecosystem} version `{version}`: {reason}")]
    InvalidVersion {
        /// The ecosystem's OSV name.
        ecosystem: String,
        /// The version as given.
        version: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// zt has no native version ordering for this ecosystem.
    #[error("ecosystem `{0}` is not supported: zt has no native version ordering for it")]
    UnsupportedEcosystem(String),
    /// A CVSS vector is malformed.
    #[error("invalid CVSS vector `{vector}`: {reason}")]
    Cvss {
        /// The vector as given.
        vector: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A package URL is malformed.
    #[error("invalid package URL `{input}`: {reason}")]
    Purl {
        /// The purl as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An advisory record is malformed.
    #[error("bad advisory record `{}`: field `{field}`: {reason}", file.display())]
    Record {
        /// The record's file.
        file: PathBuf,
        /// The field at fault (a dotted path).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An SBOM could not be read.
    #[error("bad SBOM `{}`: {field}: {reason}", file.display())]
    Sbom {
        /// The SBOM file.
        file: PathBuf,
        /// The field or part at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A waiver file is malformed or breaks the waiver policy.
    #[error("bad waiver file `{}`: field `{field}`: {reason}", file.display())]
    Waiver {
        /// The waiver file.
        file: PathBuf,
        /// The field at fault (`waiver[2].expires`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The local vulnerability store is missing or damaged.
    #[error("vulnerability store `{}`: {reason}", path.display())]
    Store {
        /// The store file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No advisory with this id (or alias) is in the store.
    #[error("no advisory `{0}` in the vulnerability store")]
    UnknownAdvisory(String),
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The ledger could not be read.
    #[error("the ledger: {0}")]
    Ledger(String),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::InvalidVersion { .. } => "check the version string against the ecosystem's versioning rules".into(),
            Error::UnsupportedEcosystem(_) => format!(
                "use one of: {}",
                crate::Ecosystem::SUPPORTED.iter().map(crate::Ecosystem::name).collect::<Vec<_>>().join(", ")
            ),
            Error::Cvss { .. } => "write the vector as `CVSS:3.1/AV:…` or `CVSS:4.0/AV:…` with every mandatory base metric once".into(),
            Error::Purl { .. } => "write the package as `pkg:TYPE/NAMESPACE/NAME@VERSION`, e.g. `pkg:cargo/serde@1.0.0`".into(),
            Error::Record { .. } => "fix or remove the record; the other records were imported".into(),
            Error::Sbom { .. } => "give a CycloneDX 1.x JSON or SPDX 2.3 JSON SBOM whose components carry purls".into(),
            Error::Waiver { .. } => "fix the waiver: every waiver needs id, purl (with a version, or a `versions` range), justification, statement, owner, approver and expires within the policy's maximum".into(),
            Error::Store { .. } => "re-create the store with `zt vuln db import PATH`".into(),
            Error::UnknownAdvisory(_) => "import the database that has it with `zt vuln db import PATH`, or check the id with `zt vuln db status`".into(),
            Error::Io(_) => "check that the path exists and is readable".into(),
            Error::Ledger(_) => "check `.zt/ledger.db` (it is written by `zt pipeline run`, `zt attest` and `--attest`)".into(),
        })
    }
}

impl From<zt_core::purl::PurlError> for Error {
    fn from(e: zt_core::purl::PurlError) -> Self {
        Error::Purl {
            input: e.input,
            reason: e.reason,
        }
    }
}
