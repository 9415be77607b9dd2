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
    /// A bundle could not be read as a Sigstore bundle.
    #[error("`{name}` is not a valid Sigstore bundle: {reason}")]
    MalformedBundle {
        /// The bundle's source.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A bundle's media type is not one zt reads.
    #[error("`{name}` has unknown bundle media type `{media_type}`")]
    UnknownMediaType {
        /// The bundle's source.
        name: String,
        /// The media type it declares.
        media_type: String,
    },
    /// The trusted root could not be used.
    #[error("unusable trusted root: {0}")]
    TrustedRoot(String),
    /// A verification check failed.
    #[error("{check} check failed: {reason}")]
    Verification {
        /// Which check: signature, certificate, transparency log, timestamp, …
        check: &'static str,
        /// The verifier's reason.
        reason: String,
    },
    /// A `pkcs11:` URI is malformed.
    #[error("invalid PKCS#11 URI `{uri}`: {reason}")]
    Pkcs11Uri {
        /// The URI, with any PIN hidden.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// No PKCS#11 module was named or found.
    #[error("no PKCS#11 module found")]
    Pkcs11NoModule,
    /// The named PKCS#11 module does not exist.
    #[error("PKCS#11 module `{}` does not exist", .0.display())]
    Pkcs11Module(PathBuf),
    /// No PIN was given for the token.
    #[error("no PIN for the PKCS#11 token")]
    Pkcs11NoPin,
    /// No token matches the URI.
    #[error("no initialised PKCS#11 token labelled `{token}`")]
    Pkcs11NoToken {
        /// The token label asked for.
        token: String,
    },
    /// No key object matches the URI.
    #[error("the token holds no {what} matching the URI")]
    Pkcs11NoKey {
        /// Which half was looked for.
        what: String,
    },
    /// The token or module reported an error.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// Reading or writing a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The transparency log failed.
    #[error(transparent)]
    Log(#[from] zt_tlog::Error),
    /// An evidence-model error.
    #[error(transparent)]
    Core(#[from] zt_core::Error),
    /// The running `zt serve` that holds the log refused or failed an append.
    #[error("appending through the running server at {url} failed: {reason}")]
    LogServer {
        /// The server's URL (from `.zt/serve.addr`).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::BadSignature | Error::MalformedSignature(_) | Error::Verification { .. } => {
                Outcome::Rejected
            }
            Error::Core(e) => e.outcome(),
            Error::Log(e) => e.outcome(),
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
            Error::Pkcs11Uri { .. } => Some(
                "write it as `pkcs11:token=LABEL;object=KEY?module-path=/path/to/module.so&pin-source=/path/to/pin` (RFC 7512)".into(),
            ),
            Error::Pkcs11NoModule | Error::Pkcs11Module(_) => Some(
                "add `module-path=/path/to/module.so` to the URI or set `ZT_PKCS11_MODULE` (SoftHSM: `apt-get install softhsm2`)".into(),
            ),
            Error::Pkcs11NoPin => Some(
                "add `pin-source=/path/to/pin-file` (or `pin-value=`) to the URI, or set `ZT_PKCS11_PIN`".into(),
            ),
            Error::Pkcs11NoToken { .. } => Some(
                "list tokens with `softhsm2-util --show-slots` (or your HSM's tool) and fix `token=` in the URI".into(),
            ),
            Error::Pkcs11NoKey { .. } => Some(
                "check `object=`/`id=` in the URI, or create the key with `zt key generate --out 'pkcs11:…'`".into(),
            ),
            Error::Pkcs11(_) => Some("check the token, its PIN and the module path".into()),
            Error::MalformedBundle { .. } => Some(
                "pass the bundle JSON that `zt sign`, `zt attest` or a Sigstore client wrote (`*.sigstore.json`)".into(),
            ),
            Error::UnknownMediaType { .. } => Some(format!(
                "zt reads Sigstore bundles v0.1 to v0.3 (`{}`)",
                crate::bundle::MEDIA_TYPE_V03
            )),
            Error::TrustedRoot(_) => Some(
                "check the `--trusted-root` file: it must be a Sigstore `trusted_root.json`".into(),
            ),
            Error::Verification { check, .. } => Some(match *check {
                "signature" => "the artifact or bundle changed after signing, or another key signed it: check both".into(),
                "certificate identity" => "check `--certificate-identity` and `--certificate-oidc-issuer` against the signer you expect".into(),
                "certificate" => "the signing certificate does not chain to the trusted root or was not valid at signing time: check `--trusted-root`".into(),
                "transparency log" => "the bundle's log entry, inclusion proof or checkpoint does not verify: re-fetch the bundle from its producer".into(),
                "timestamp" => "the bundle's timestamp does not verify against the trusted timestamp authorities: check `--trusted-root`".into(),
                "key hint" => "the bundle was signed by another key: pass that signer's public key, or check where the bundle came from".into(),
                "witness quorum" => "the checkpoint lacks enough witness cosignatures: have the policy's witnesses cosign it (`zt log cosign`)".into(),
                "artifact digest" => "the bundle is about a different artifact: check that you passed the file that was signed".into(),
                "provenance" => "the upstream provenance is not about this archive or not from its publisher: re-fetch the archive and its attestation from the registry, and check who publishes the package".into(),
                _ => "the bundle's contents are inconsistent: re-fetch it from its producer".into(),
            }),
            Error::Core(e) => e.help(),
            Error::Log(e) => e.help(),
            Error::LogServer { .. } => Some("check the server's log on its stderr; stop `zt serve` to append to the log directly (see `docs/server.md`)".into()),
        }
    }
}
