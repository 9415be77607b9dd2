//! Key revocation and its blast radius: record that a key stops counting from a moment on, and
//! list every piece of evidence the ledger holds that the key signed, split by whether the
//! ledger saw it before the revocation (still trusted) or after (rejected by the gate).

use std::path::Path;

use serde::Serialize;
use zt_store::{BundleQuery, Ledger as _, Put, Revocation, SqliteLedger};

use crate::Error;

/// What a revocation touches.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRadius {
    /// The key's id (hex SHA-256 of its SPKI DER).
    pub key_id: String,
    /// When the revocation takes effect (seconds since the Unix epoch).
    pub revoked_at: i64,
    /// Why.
    pub reason: String,
    /// Whether the key had already been revoked (the first revocation stands).
    pub already_revoked: bool,
    /// Every bundle the key signed, oldest first.
    pub bundles: Vec<Affected>,
    /// The ids of the builds that produced an artifact one of those bundles is about.
    pub builds: Vec<String>,
}

impl BlastRadius {
    /// How many of the key's bundles the gate now rejects (recorded at or after the revocation).
    pub fn rejected(&self) -> usize {
        self.bundles.iter().filter(|b| !b.still_trusted).count()
    }
}

/// One bundle signed by the revoked key.
#[derive(Debug, Clone, Serialize)]
pub struct Affected {
    /// The bundle's id in the ledger.
    pub id: String,
    /// Its predicate type (`None` for a plain signature).
    pub predicate_type: Option<String>,
    /// The digests it is about.
    pub subjects: Vec<String>,
    /// When the ledger first recorded it.
    pub recorded_at: i64,
    /// Recorded before the revocation took effect, so the gate still accepts it.
    pub still_trusted: bool,
}

/// Revokes `key_id` from `revoked_at` on in the repository's ledger and reports what it signed.
pub fn revoke(
    repo: &Path,
    key_id: &str,
    reason: &str,
    revoked_at: i64,
) -> Result<BlastRadius, Error> {
    if key_id.len() != 64 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Input {
            what: format!("`{key_id}` is not a key id"),
            help: "pass the key's 64-hex-digit id (`zt key show KEY` prints it) or the key file"
                .into(),
        });
    }
    let key_id = key_id.to_ascii_lowercase();
    let mut ledger = SqliteLedger::open_in_repo(repo)?;
    let put = ledger.revoke_key(&Revocation {
        key_id: key_id.clone(),
        revoked_at,
        reason: reason.to_string(),
    })?;
    // The first revocation stands: report the one that is in force.
    let in_force = ledger.revocation(&key_id)?.unwrap_or(Revocation {
        key_id: key_id.clone(),
        revoked_at,
        reason: reason.to_string(),
    });
    let mut bundles = Vec::new();
    let mut builds = std::collections::BTreeSet::new();
    for stored in ledger.find_bundles(&BundleQuery::key_id(&key_id))? {
        for subject in &stored.index.subjects {
            for build in ledger.builds_producing(subject)? {
                builds.insert(build.id);
            }
        }
        bundles.push(Affected {
            id: stored.id.to_string(),
            predicate_type: stored.index.predicate_type.clone(),
            subjects: stored
                .index
                .subjects
                .iter()
                .map(ToString::to_string)
                .collect(),
            recorded_at: stored.index.recorded_at,
            still_trusted: stored.index.recorded_at < in_force.revoked_at,
        });
    }
    Ok(BlastRadius {
        key_id,
        revoked_at: in_force.revoked_at,
        reason: in_force.reason,
        already_revoked: put == Put::AlreadyPresent,
        bundles,
        builds: builds.into_iter().collect(),
    })
}
