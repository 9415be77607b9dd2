use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Outcome};

/// Errors from parsing and checking zt's evidence model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest string is not `ALGO:HEX` with a known algorithm and the right length.
    #[error("invalid digest `{value}`: {reason}")]
    InvalidDigest {
        /// The text that failed to parse (shortened if long).
        value: String,
        /// Why it failed.
        reason: &'static str,
    },
    /// A statement is not a valid in-toto Statement v1.
    #[error("invalid in-toto statement: {0}")]
    InvalidStatement(String),
    /// A DSSE envelope is malformed.
    #[error("invalid DSSE envelope: {0}")]
    InvalidEnvelope(String),
    /// A JSON document did not parse.
    #[error("invalid JSON in {what}: {source}")]
    Json {
        /// What was being parsed.
        what: String,
        /// The parser's complaint (with line and column).
        source: serde_json::Error,
    },
    /// Base64 text did not decode.
    #[error("invalid base64 in {what}")]
    Base64 {
        /// Which field held it.
        what: String,
    },
    /// A file could not be read or written (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A path that must not exist already does.
    #[error("`{}` already exists", .0.display())]
    AlreadyExists(PathBuf),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::InvalidDigest { .. } => {
                "write digests as `sha256:<64 lowercase hex digits>` (or `sha512:<128 hex digits>`)"
                    .into()
            }
            Error::InvalidStatement(_) => "statements must follow in-toto Statement v1: `_type` https://in-toto.io/Statement/v1, a non-empty `subject` whose entries each carry a `digest`, a `predicateType`".into(),
            Error::InvalidEnvelope(_) => "a DSSE envelope is `{payloadType, payload (base64), signatures: [{keyid, sig (base64)}]}`".into(),
            Error::Json { .. } => "check that the file is complete, valid JSON".into(),
            Error::Base64 { .. } => "the field must hold standard or URL-safe base64".into(),
            Error::Io(_) => "check that the path exists and is readable".into(),
            Error::AlreadyExists(_) => "choose another path, or remove the existing file first".into(),
        })
    }
}
