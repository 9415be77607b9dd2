//! Scoped tokens: what the broker hands a CI job in exchange for its OIDC token.
//!
//! Form: `zts1.<payload>.<signature>`, both base64url without padding; the signature is
//! Ed25519 by the broker's key (`.zt/secrets/broker.key`) over `zts1.<payload>`. The payload
//! is JSON: the token's id, the secrets it opens, issue and expiry times, the OIDC issuer,
//! the OIDC token's `jti` and a SHA-256 of its claims (binding the token to one job).
//! Revoked ids are kept in `.zt/secrets/revoked` (one per line).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{Denial, Error};

/// The prefix of every scoped token.
pub const PREFIX: &str = "zts1.";
/// The broker key file, relative to the secrets directory.
pub const BROKER_KEY_FILE: &str = "broker.key";
/// The revocation list, relative to the secrets directory.
pub const REVOKED_FILE: &str = "revoked";

/// What a scoped token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The token's id (random, 128 bits, hex).
    pub id: String,
    /// The secrets it opens.
    pub secrets: Vec<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The OIDC issuer.
    pub iss: String,
    /// The OIDC subject.
    pub sub: String,
    /// The OIDC `repository` claim, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The OIDC token's `jti`.
    pub oidc_jti: String,
    /// SHA-256 (hex) of the OIDC token's claims.
    pub claims_sha256: String,
}

/// The broker's signing key and its revocation list.
#[derive(Debug)]
pub(crate) struct Minter {
    key: SigningKey,
    verifying: VerifyingKey,
    revoked: RwLock<HashSet<String>>,
    revoked_path: PathBuf,
}

impl Minter {
    pub(crate) fn load(dir: &Path) -> Result<Minter, Error> {
        let seed = crate::store::read_hex_key(&dir.join(BROKER_KEY_FILE))?;
        let key = SigningKey::from_bytes(&seed);
        let revoked_path = dir.join(REVOKED_FILE);
        let revoked = if revoked_path.exists() {
            fs_err::read_to_string(&revoked_path)?
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        } else {
            HashSet::new()
        };
        Ok(Minter {
            verifying: key.verifying_key(),
            key,
            revoked: RwLock::new(revoked),
            revoked_path,
        })
    }

    pub(crate) fn mint(&self, claims: &Claims) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims)
            .map_err(|_| Error::Internal("serialising a scoped token failed"))?;
        let mut token = String::with_capacity(PREFIX.len() + payload.len() * 2 + 90);
        token.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let sig = self.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig.to_bytes(), &mut token);
        Ok(token)
    }

    /// Verifies form, signature, expiry and revocation.
    pub(crate) fn check(&self, token: &str, now: i64) -> Result<Claims, Error> {
        let bad = |d: &str| Error::denied(Denial::BadToken, d.to_string());
        if token.len() > 8 * 1024 {
            return Err(bad("the scoped token is too long"));
        }
        let rest = token
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("not a zt scoped token (`zts1.` prefix)"))?;
        let (payload, sig) = rest
            .split_once('.')
            .ok_or_else(|| bad("not a zt scoped token"))?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .ok_or_else(|| bad("the signature is not base64url Ed25519"))?;
        let signed = token
            .get(..PREFIX.len() + payload.len())
            .ok_or_else(|| bad("not a zt scoped token"))?;
        self.verifying
            .verify(
                signed.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .map_err(|_| bad("the broker's signature does not verify"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or_else(|| bad("the payload is not a scoped token"))?;
        if now >= claims.exp {
            return Err(Error::denied(
                Denial::TokenExpired,
                format!(
                    "scoped token {} expired {}s ago",
                    claims.id,
                    now.saturating_sub(claims.exp)
                ),
            ));
        }
        if self
            .revoked
            .read()
            .map_err(|_| Error::Internal("revocation lock poisoned"))?
            .contains(&claims.id)
        {
            return Err(Error::denied(
                Denial::TokenRevoked,
                format!("scoped token {} was revoked", claims.id),
            ));
        }
        Ok(claims)
    }

    /// Adds `id` to the revocation list (durably).
    pub(crate) fn revoke(&self, id: &str) -> Result<(), Error> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.len() > 64 {
            return Err(Error::denied(
                Denial::BadToken,
                "a token id is the hex `id` that `zt secrets token --json` printed",
            ));
        }
        let mut set = self
            .revoked
            .write()
            .map_err(|_| Error::Internal("revocation lock poisoned"))?;
        if set.insert(id.to_string()) {
            let mut f = fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.revoked_path)?;
            f.write_all(format!("{id}\n").as_bytes())?;
            f.sync_data()?;
        }
        Ok(())
    }

    /// Re-reads the revocation list (another process may have revoked a token).
    pub(crate) fn reload_revocations(&self) -> Result<(), Error> {
        if !self.revoked_path.exists() {
            return Ok(());
        }
        let text = fs_err::read_to_string(&self.revoked_path)?;
        let mut set = self
            .revoked
            .write()
            .map_err(|_| Error::Internal("revocation lock poisoned"))?;
        set.extend(
            text.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty()),
        );
        Ok(())
    }
}
