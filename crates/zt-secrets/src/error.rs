//! The one error type of zt-secrets. Denials (a refused OIDC token, a refused scoped token)
//! carry a stable machine-readable reason ([`Error::reason`]) and an HTTP status
//! ([`Error::status`]); everything else names the input at fault and the fix.

use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Why a token was refused. The string form ([`Denial::reason`]) is stable: the server sends
/// it, the access log records it, tests match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denial {
    /// `alg: none`: an unsigned token.
    AlgNone,
    /// An HMAC algorithm (HS256…) or an algorithm that does not fit the key's type: the
    /// public key would be misused as a secret.
    KeyConfusion,
    /// An algorithm zt does not accept.
    UnsupportedAlg,
    /// The token's `kid` names no key in the issuer's JWKS (or there is no `kid`).
    UnknownKid,
    /// The signature does not verify under the key its `kid` names.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` or `iat` lies in the future.
    NotYetValid,
    /// `exp`, `nbf` or `iat` is not a NumericDate zt can compute with: not a number, before
    /// 1970, after 9999, `1e300`.
    BadTime,
    /// `iss` names no trusted issuer.
    WrongIssuer,
    /// `aud` names none of the issuer's accepted audiences.
    WrongAudience,
    /// The claims match the binding of no secret.
    BindingMismatch,
    /// This OIDC token (its `jti`) was already exchanged.
    ReplayedJti,
    /// The token is over [`crate::MAX_OIDC_TOKEN_BYTES`].
    TooLarge,
    /// Not a compact JWS, bad base64url, bad JSON, or a required claim is missing.
    Malformed,
    /// A scoped token whose lifetime is over.
    TokenExpired,
    /// A scoped token that was revoked.
    TokenRevoked,
    /// A scoped token that is not one (bad form or bad broker signature).
    BadToken,
    /// The scoped token does not list the secret asked for.
    NotListed,
    /// The secret asked for does not exist.
    NoSuchSecret,
    /// An administration route was called without the operator token.
    OperatorRequired,
    /// An administration route was called with a token that is not the operator token.
    BadOperatorToken,
}

impl Denial {
    /// The stable reason code.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::AlgNone => "alg_none",
            Denial::KeyConfusion => "key_confusion",
            Denial::UnsupportedAlg => "unsupported_alg",
            Denial::UnknownKid => "unknown_kid",
            Denial::BadSignature => "bad_signature",
            Denial::Expired => "expired",
            Denial::NotYetValid => "not_yet_valid",
            Denial::BadTime => "bad_time",
            Denial::WrongIssuer => "wrong_issuer",
            Denial::WrongAudience => "wrong_audience",
            Denial::BindingMismatch => "binding_mismatch",
            Denial::ReplayedJti => "replayed_jti",
            Denial::TooLarge => "too_large",
            Denial::Malformed => "malformed",
            Denial::TokenExpired => "token_expired",
            Denial::TokenRevoked => "token_revoked",
            Denial::BadToken => "bad_token",
            Denial::NotListed => "not_listed",
            Denial::NoSuchSecret => "no_such_secret",
            Denial::OperatorRequired => "operator_required",
            Denial::BadOperatorToken => "bad_operator_token",
        }
    }

    /// The HTTP status the server answers with.
    pub fn status(self) -> u16 {
        match self {
            Denial::TooLarge => 413,
            Denial::Malformed | Denial::BadTime => 400,
            Denial::BindingMismatch | Denial::NotListed => 403,
            Denial::NoSuchSecret => 404,
            _ => 401,
        }
    }
}

/// Everything that can go wrong in zt-secrets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A token was refused.
    #[error("refused ({reason}): {detail}", reason = denial.reason())]
    Denied {
        /// Why.
        denial: Denial,
        /// What exactly was wrong (never a secret value, never the token).
        detail: String,
    },
    /// `.zt/secrets` does not exist.
    #[error("no secrets store in `{0}`")]
    NotInitialized(PathBuf),
    /// `zt secrets init` found a store already there.
    #[error("a secrets store already exists in `{0}`")]
    AlreadyInitialized(PathBuf),
    /// The master key file is missing.
    #[error("master key `{0}` is missing")]
    MissingKey(PathBuf),
    /// A key file can be read by others.
    #[error("key file `{path}` has mode {mode:o}: readable or writable by others")]
    KeyPermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file is not in the expected format.
    #[error("key file `{path}` is malformed: {message}")]
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The master key is not the one the store was encrypted under.
    #[error(
        "master key `{path}` (key id {found}) is not the key the store was encrypted with (key id {expected})"
    )]
    WrongKey {
        /// The key file.
        path: PathBuf,
        /// The id of the key in the file.
        found: String,
        /// The id the store names.
        expected: String,
    },
    /// A stored ciphertext failed authentication.
    #[error(
        "secret `{name}` version {version} failed to decrypt: the stored ciphertext was altered"
    )]
    Tampered {
        /// The secret.
        name: String,
        /// The version.
        version: u32,
    },
    /// A secret name that could be mistaken for a path (or is empty, or too long).
    #[error("invalid secret name `{0}`: use letters, digits, `_`, `-` and `.` (no `/`, no `..`)")]
    InvalidName(String),
    /// No secret by that name.
    #[error("no secret named `{0}`")]
    NoSuchSecret(String),
    /// A binding names a claim zt does not match on.
    #[error("unknown claim `{claim}` in binding `{binding}`")]
    UnknownClaim {
        /// The claim name.
        claim: String,
        /// The binding text.
        binding: String,
    },
    /// A binding that is not `claim=value[,claim=value…]`.
    #[error("malformed binding `{0}`: expected `claim=value[,claim=value…]`")]
    BadBinding(String),
    /// The trust configuration is wrong.
    #[error("trust config `{path}`: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An issuer's JWKS could not be loaded or parsed.
    #[error("JWKS of issuer `{issuer}` ({source_name}): {message}")]
    Jwks {
        /// The issuer URL.
        issuer: String,
        /// Where the JWKS came from (a file path or a URL).
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A store file is not what zt wrote.
    #[error("secrets store `{path}` is malformed: {message}")]
    BadStore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The access log does not match the ledger (or the log itself is inconsistent).
    #[error("access audit failed: {0}")]
    Audit(String),
    /// A PKCS#11 token problem (wrapping the master key).
    #[error("PKCS#11 master key wrap: {0}")]
    Wrap(String),
    /// Running a command under `zt secrets exec` failed.
    #[error("could not run `{program}`: {source}")]
    Exec {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The transparency log failed.
    #[error(transparent)]
    Log(#[from] zt_tlog::Error),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] zt_store::Error),
    /// The repository's workspace (its `zt.toml`, `ZT_NOW`) could not be read.
    #[error(transparent)]
    Workspace(#[from] zt_core::workspace::WorkspaceError),
    /// A signing operation failed.
    #[error(transparent)]
    Sign(#[from] zt_sign::Error),
    /// An internal step failed (a poisoned lock after a panic, a crypto library error).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl Error {
    pub(crate) fn denied(denial: Denial, detail: impl Into<String>) -> Self {
        Error::Denied {
            denial,
            detail: detail.into(),
        }
    }

    /// The denial, when this error is one.
    pub fn denial(&self) -> Option<Denial> {
        match self {
            Error::Denied { denial, .. } => Some(*denial),
            _ => None,
        }
    }

    /// The HTTP status for this error: a denial's own status, 404 for an unknown secret, 400
    /// for bad input, 500 for failures of the broker itself.
    pub fn status(&self) -> u16 {
        match self {
            Error::Denied { denial, .. } => denial.status(),
            Error::NoSuchSecret(_) => 404,
            Error::InvalidName(_) | Error::UnknownClaim { .. } | Error::BadBinding(_) => 400,
            _ => 500,
        }
    }

    /// A stable code for this error (the denial reason, or a code for the error's kind).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Denied { denial, .. } => denial.reason(),
            Error::NoSuchSecret(_) => "no_such_secret",
            Error::InvalidName(_) => "invalid_name",
            Error::UnknownClaim { .. } => "unknown_claim",
            Error::BadBinding(_) => "bad_binding",
            Error::Tampered { .. } => "tampered",
            Error::WrongKey { .. } => "wrong_key",
            _ => "internal",
        }
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::Denied { .. } | Error::Tampered { .. } | Error::Audit(_) => Outcome::Rejected,
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Denied { denial, .. } => match denial {
                Denial::ReplayedJti => "request a fresh OIDC token from the CI provider".into(),
                Denial::BindingMismatch => {
                    "compare the job's claims with the secret's `--bind` (see `zt secrets list`)".into()
                }
                Denial::TokenExpired | Denial::TokenRevoked => {
                    "exchange a fresh OIDC token with `zt secrets token`".into()
                }
                Denial::NotListed => {
                    "the token opens only the secrets listed when it was issued; check the bindings".into()
                }
                Denial::WrongIssuer | Denial::WrongAudience => {
                    "check the issuers and audiences in `.zt/secrets/trust.toml`".into()
                }
                Denial::OperatorRequired | Denial::BadOperatorToken => {
                    "send `Authorization: Bearer` with the token in `.zt/secrets/operator.token` (written by `zt secrets init` or the first `zt serve`)".into()
                }
                _ => "the token was refused; the denial is in the access log (`zt secrets audit`)".into(),
            },
            Error::NotInitialized(_) => "run `zt secrets init` first".into(),
            Error::AlreadyInitialized(_) => "use the existing store, or `zt secrets rotate` for a new master key".into(),
            Error::MissingKey(p) => format!(
                "restore `{}` from your backup; without it the stored secrets cannot be decrypted",
                p.display()
            ),
            Error::KeyPermissions { path, .. } => format!("run `chmod 600 {}`", path.display()),
            Error::BadKeyFile { path, .. } => format!(
                "restore `{}` from your backup (a key file holds 64 hex digits)",
                path.display()
            ),
            Error::WrongKey { path, .. } => format!(
                "put back the master key the store was written with in `{}`",
                path.display()
            ),
            Error::Tampered { .. } => {
                "the store file was modified outside zt; restore it from a backup and check `zt secrets audit`".into()
            }
            Error::InvalidName(_) => "pick a name like `db_password` or `deploy.key`".into(),
            Error::NoSuchSecret(_) => "list the secrets with `zt secrets list`".into(),
            Error::UnknownClaim { .. } | Error::BadBinding(_) => format!(
                "bind on {} (e.g. `--bind 'repository=org/app,ref=refs/heads/main'`)",
                crate::binding::CLAIMS.join(", ")
            ),
            Error::Config { path, .. } => format!("fix `{}` (see docs/secrets.md)", path.display()),
            Error::Jwks { .. } => {
                "point `jwks` in `.zt/secrets/trust.toml` at the issuer's JWKS JSON, or check the issuer URL".into()
            }
            Error::BadStore { .. } => "restore the store from a backup".into(),
            Error::Audit(_) => "the access log or the ledger was altered; investigate before trusting either".into(),
            Error::Wrap(_) => "check the PKCS#11 URI, the module path and the PIN".into(),
            Error::Exec { .. } => "check that the command exists and is executable".into(),
            Error::Io(_) => "check the path and its permissions".into(),
            Error::Log(e @ zt_tlog::Error::Busy { .. }) => return e.help(),
            Error::Log(_) => "check `.zt/log`: `zt log checkpoint` opens it and verifies its signed checkpoint".into(),
            Error::Ledger(e) => return e.help(),
            Error::Workspace(e) => return e.help(),
            Error::Sign(e @ zt_sign::Error::Log(_)) => return e.help(),
            Error::Sign(_) => "check the key".into(),
            Error::Internal(_) => "this is a bug in zt; please report it".into(),
        })
    }
}
