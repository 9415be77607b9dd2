//! Replay protection: every exchanged OIDC token's (`iss`, `jti`) is remembered until the
//! token expires. The claim is made in memory (atomically, so two concurrent exchanges of one
//! token cannot both pass) and made durable by the exchange's own access record, which
//! carries `sha256(iss, jti)` and the token's `exp` and is in the access log's write-ahead
//! file before the scoped token is returned. Opening the broker rebuilds the set from the
//! ledger's recent exchange records.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::jose::LEEWAY_SECONDS;

/// OIDC tokens may not claim to live longer than this past the exchange (seconds): the
/// window the broker remembers their `jti` across restarts.
pub(crate) const MAX_OIDC_LIFETIME: i64 = 24 * 3600;

/// The set of seen token ids.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

/// The key an (`iss`, `jti`) pair is remembered by (hex in the access record).
pub(crate) fn key(iss: &str, jti: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(iss.as_bytes());
    h.update([0]);
    h.update(jti.as_bytes());
    h.finalize().into()
}

impl Journal {
    /// A journal holding `seen` (key, exp) pairs still live at `now`.
    pub(crate) fn new(seen: impl IntoIterator<Item = ([u8; 32], i64)>, now: i64) -> Journal {
        Journal {
            seen: Mutex::new(
                seen.into_iter()
                    .filter(|(_, exp)| exp.saturating_add(LEEWAY_SECONDS) >= now)
                    .collect(),
            ),
        }
    }

    /// Claims `key` for a token valid until `exp`: false if it was seen before. Expired
    /// entries are dropped now and then.
    pub(crate) fn claim(&self, key: [u8; 32], exp: i64, now: i64) -> Result<bool, Error> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| Error::Internal("journal lock poisoned"))?;
        if seen
            .get(&key)
            .is_some_and(|e| e.saturating_add(LEEWAY_SECONDS) >= now)
        {
            return Ok(false);
        }
        if seen.len() >= 65536 && seen.len().is_power_of_two() {
            seen.retain(|_, e| e.saturating_add(LEEWAY_SECONDS) >= now);
        }
        seen.insert(key, exp);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_claimed_once_until_it_expires() {
        let j = Journal::new([(key("iss", "old"), 900)], 1000);
        assert!(j.claim(key("iss", "old"), 1100, 1000).unwrap());
        assert!(!j.claim(key("iss", "old"), 1100, 1000).unwrap());
        assert!(j.claim(key("other", "old"), 1100, 1000).unwrap());
        let j = Journal::new([(key("iss", "a"), 1100)], 1050);
        assert!(!j.claim(key("iss", "a"), 1100, 1050).unwrap());
    }
}
