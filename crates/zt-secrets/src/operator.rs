//! The operator credential: what `zt serve`'s administration routes (token revocation, and
//! any later admin route) require, even from loopback — a peer address proves nothing about
//! who sent a request (a browser page, another local user, a proxy).
//!
//! - `.zt/secrets/operator.sha256`: the SHA-256 (hex) of the operator token, mode 0600. The
//!   server checks presented tokens against it and never holds the token itself.
//! - `.zt/secrets/operator.token`: the token (`zto1.` + 43 base64url characters, 256 random
//!   bits), mode 0600, written once when the credential is created, for the operator to pick
//!   up (`Authorization: Bearer $(cat .zt/secrets/operator.token)`); move it elsewhere or
//!   delete it, the server does not read it. To replace the credential, delete both files and
//!   restart `zt serve`.
//!
//! [`ensure`] creates the pair (`zt secrets init` and `zt serve` call it); [`verify`] checks a
//! presented token in constant time.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::error::{Denial, Error};
use crate::store;

/// The operator token's file (for the operator; the server never reads it).
pub const TOKEN_FILE: &str = "operator.token";
/// The file holding the token's SHA-256, which the server checks against.
pub const HASH_FILE: &str = "operator.sha256";
/// Every operator token starts with this.
pub const PREFIX: &str = "zto1.";

/// Creates the operator credential in `secrets_dir` unless it exists. Returns the path of
/// the new token file when one was made. A token file left without its hash (a crash between
/// the two writes) is hashed, not replaced.
pub fn ensure(secrets_dir: &Path) -> Result<Option<PathBuf>, Error> {
    let hash_path = secrets_dir.join(HASH_FILE);
    if hash_path.exists() {
        return Ok(None);
    }
    let token_path = secrets_dir.join(TOKEN_FILE);
    let (token, created) = match fs_err::read_to_string(&token_path) {
        Ok(t) if is_well_formed(t.trim()) => (t.trim().to_owned(), false),
        Ok(_) => {
            return Err(Error::BadKeyFile {
                path: token_path,
                message: format!("not an operator token (`{PREFIX}…`)"),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(store::random::<32>()?));
            zt_core::fsutil::write_atomic_mode(
                &token_path,
                format!("{token}\n").as_bytes(),
                Some(0o600),
            )?;
            (token, true)
        }
        Err(e) => return Err(e.into()),
    };
    zt_core::fsutil::write_atomic_mode(
        &hash_path,
        format!("{}\n", hex::encode(Sha256::digest(token.as_bytes()))).as_bytes(),
        Some(0o600),
    )?;
    Ok(created.then_some(token_path))
}

fn is_well_formed(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .is_some_and(|b| b.len() == 43 && URL_SAFE_NO_PAD.decode(b).is_ok_and(|k| k.len() == 32))
}

/// Checks `presented` against the operator credential of `secrets_dir`: `operator_required`
/// when nothing is presented, `bad_operator_token` when it does not match, and an error
/// naming the file when the credential is missing or unreadable (refused, never skipped).
pub fn verify(secrets_dir: &Path, presented: Option<&str>) -> Result<(), Error> {
    let hash_path = secrets_dir.join(HASH_FILE);
    store::check_private(&hash_path)?;
    let expected = fs_err::read_to_string(&hash_path)?;
    let expected = hex::decode(expected.trim())
        .ok()
        .filter(|h| h.len() == 32)
        .ok_or_else(|| Error::BadKeyFile {
            path: hash_path.clone(),
            message: "not a SHA-256 in hex".into(),
        })?;
    let Some(presented) = presented.filter(|p| !p.is_empty()) else {
        return Err(Error::denied(
            Denial::OperatorRequired,
            "this route needs the operator token (`Authorization: Bearer`)",
        ));
    };
    let got = Sha256::digest(presented.as_bytes());
    // Constant time: no early exit on the first differing byte.
    let diff = got
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(Error::denied(
            Denial::BadOperatorToken,
            "the operator token does not match",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Result<(), Error>) -> &'static str {
        r.map(|()| "ok").unwrap_or_else(|e| e.reason())
    }

    #[test]
    fn created_once_stored_hashed_and_verified() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = ensure(dir).unwrap().unwrap();
        let token = fs_err::read_to_string(&path).unwrap().trim().to_owned();
        assert!(is_well_formed(&token), "{token}");
        let hash = fs_err::read_to_string(dir.join(HASH_FILE)).unwrap();
        assert!(!hash.contains(&token) && hash.trim().len() == 64);
        for f in [TOKEN_FILE, HASH_FILE] {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &fs_err::metadata(dir.join(f)).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        // Again: nothing new, the same credential.
        assert_eq!(ensure(dir).unwrap(), None);
        assert_eq!(reason(verify(dir, Some(&token))), "ok");
        assert_eq!(reason(verify(dir, None)), "operator_required");
        assert_eq!(reason(verify(dir, Some(""))), "operator_required");
        assert_eq!(
            reason(verify(dir, Some(&format!("{token}x")))),
            "bad_operator_token"
        );
        // The server needs only the hash: the token file may go.
        fs_err::remove_file(&path).unwrap();
        assert_eq!(reason(verify(dir, Some(&token))), "ok");
    }

    #[test]
    fn no_credential_is_a_refusal_not_a_pass() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(verify(tmp.path(), Some("zto1.anything")).is_err());
        zt_core::fsutil::write_atomic_mode(&tmp.path().join(HASH_FILE), b"zz\n", Some(0o600))
            .unwrap();
        let e = verify(tmp.path(), Some("zto1.anything")).unwrap_err();
        assert!(e.to_string().contains("not a SHA-256"), "{e}");
    }

    #[test]
    fn a_token_file_without_its_hash_is_hashed_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        fs_err::write(tmp.path().join(TOKEN_FILE), &token).unwrap();
        assert_eq!(ensure(tmp.path()).unwrap(), None);
        assert_eq!(reason(verify(tmp.path(), Some(&token))), "ok");
    }
}
