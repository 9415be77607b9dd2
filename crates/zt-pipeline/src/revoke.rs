//! Key revocation, judged by the transparency log.
//!
//! A revocation is itself evidence: an in-toto statement (predicate type
//! [`zt_core::predicate::ZT_KEY_REVOCATION_V1`]) about the revoked key (subject `sha256` = the
//! key id, the SHA-256 of its SPKI), signed, appended to the repository's log and stored like
//! every other bundle. Its verified log entry is the point of revocation: an entry of the same
//! log at a lower index was appended before it, which the inclusion proofs of both bundles tie
//! to checkpoints the log signed. A bundle signed by a revoked key is trusted only if
//!
//! - its verified entry sits below the revocation's cut-off in the same log, or
//! - it carries a verified signed time (an RFC 3161 timestamp, a Rekor integrated time)
//!   earlier than the time the revocation takes effect.
//!
//! A revocation set to take effect earlier than when it is made (`zt key revoke --at` in the
//! past: the key was compromised before anyone noticed) has no log cut-off: the log cannot say
//! when an entry was appended, so only a signed time can show a bundle predates it.
//!
//! The ledger's revocation row is a cache for listings. It never makes evidence trusted: a
//! revocation found only there (no logged statement backs it) has no cut-off, and when a
//! logged revocation exists the row is not consulted. Deleting the row un-revokes nothing:
//! the statement is found from the evidence store and the ledger's bundles.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor, Statement, Workspace};
use zt_sign::verify::{Artifact, Identity, Request, verify};
use zt_sign::{PublicKey, Signer as _, bundle, transparency};
use zt_store::{BundleQuery, Ledger, Put, Revocation};

use crate::{Error, evidence};

/// Where a log entry sits: the log (its id, base64, as bundles write `logId.keyId`) and the
/// entry's index in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogPosition {
    /// The log's id.
    pub log_id: String,
    /// The entry's index.
    pub index: u64,
}

/// A revocation as the gate applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRevocation {
    /// The revoked key's id.
    pub key_id: String,
    /// When the revocation takes effect (seconds since the Unix epoch).
    pub revoked_at: i64,
    /// Why.
    pub reason: String,
    /// Entries of this log below this index were logged before the revocation. `None` for a
    /// backdated revocation and for one known only from the ledger: then only a verified
    /// signed time earlier than `revoked_at` shows that a bundle predates it.
    pub cutoff: Option<LogPosition>,
    /// Where it was found: the statement's bundle (file or `ledger:<id>`), or `ledger` for a
    /// bare ledger row.
    pub source: String,
}

impl KeyRevocation {
    /// Whether a bundle with these verified log entries and this verified signed time was
    /// made before the revocation.
    pub fn predates(&self, entries: &[LogPosition], signed_time: Option<i64>) -> bool {
        let by_log = self.cutoff.as_ref().is_some_and(|cut| {
            entries
                .iter()
                .any(|e| e.log_id == cut.log_id && e.index < cut.index)
        });
        let by_time = signed_time.is_some_and(|t| t < self.revoked_at);
        by_log || by_time
    }

    /// The rejection text for a bundle this revocation rejects.
    pub fn describe(&self) -> String {
        let id = self.key_id.get(..12).unwrap_or(&self.key_id);
        let when = zt_core::time::rfc3339(self.revoked_at);
        match &self.cutoff {
            Some(cut) => format!(
                "signed by key {id} which was revoked at {when} ({}); the revocation is log entry {} and this bundle has no verified entry of that log below it, nor a signed time before {when}",
                self.reason, cut.index
            ),
            None => format!(
                "signed by key {id} which was revoked at {when} ({}), and this bundle has no verified signed time before then",
                self.reason
            ),
        }
    }
}

/// The revocation (if any) that rejects a bundle with these verified log entries and verified
/// signed time: every revocation of the key must be predated, so the strictest one decides.
pub fn rejecting<'a>(
    revocations: &'a [KeyRevocation],
    entries: &[LogPosition],
    signed_time: Option<i64>,
) -> Option<&'a KeyRevocation> {
    revocations
        .iter()
        .find(|r| !r.predates(entries, signed_time))
}

/// The log entries a bundle carries (`verificationMaterial.tlogEntries[]`): after the bundle
/// verified, each is proven by its inclusion proof under a checkpoint its log signed.
pub fn log_positions(bundle_json: &Value) -> Vec<LogPosition> {
    zt_core::bundle::log_entries(bundle_json)
        .into_iter()
        .map(|e| LogPosition {
            log_id: e.log_id,
            index: e.index,
        })
        .collect()
}

/// The earliest signed time a verification established (its verified RFC 3161 `timestamps`,
/// the log's `integrated_time`); never a time the signer or the ledger controls.
pub fn signed_time(timestamps: &[i64], integrated_time: Option<i64>) -> Option<i64> {
    timestamps.iter().copied().chain(integrated_time).min()
}

/// The digest a revocation statement is about: the key id as a SHA-256.
fn key_digest(key_id: &str) -> Result<Digest, Error> {
    Digest::from_hex(DigestAlgorithm::Sha256, key_id).map_err(|_| Error::Input {
        what: format!("`{key_id}` is not a key id"),
        help: "pass the key's 64-hex-digit id (`zt key show KEY` prints it) or the key file".into(),
    })
}

/// Finds and verifies the revocations of keys, for one repository (results cached per key).
pub struct Finder<'a> {
    ws: &'a Workspace,
    ledger: Option<&'a dyn Ledger>,
    keys: Vec<PublicKey>,
    root: String,
    cache: RefCell<BTreeMap<String, Vec<KeyRevocation>>>,
}

impl<'a> Finder<'a> {
    /// A finder over `repo`'s evidence store and `ledger`, accepting revocation statements
    /// signed by `keys` (zt.toml's trusted keys) or by the revoked key itself, logged in a log
    /// of the trusted root `root` (JSON).
    pub fn new(
        ws: &'a Workspace,
        ledger: Option<&'a dyn Ledger>,
        keys: &[PublicKey],
        root: &str,
    ) -> Self {
        Self {
            ws,
            ledger,
            keys: keys.to_vec(),
            root: root.to_string(),
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// The revocation that rejects a bundle signed by `key`, or `None` when it stands.
    /// `bundle_json` is the bundle (for its log entries, counted only when `tlog_verified`);
    /// `signed_time` what its verification established ([`signed_time`]).
    pub fn judge(
        &self,
        key: &PublicKey,
        bundle_json: &Value,
        tlog_verified: bool,
        signed_time: Option<i64>,
    ) -> Result<Option<KeyRevocation>, Error> {
        let revocations = self.of(key)?;
        let entries = if tlog_verified {
            log_positions(bundle_json)
        } else {
            Vec::new()
        };
        Ok(rejecting(&revocations, &entries, signed_time).cloned())
    }

    /// Every revocation of `key`: the verified logged statements, or, when there is none, the
    /// ledger's row (without a log cut-off).
    pub fn of(&self, key: &PublicKey) -> Result<Vec<KeyRevocation>, Error> {
        let key_id = key.key_id();
        if let Some(found) = self.cache.borrow().get(&key_id) {
            return Ok(found.clone());
        }
        let found = self.find(&key_id, Some(key))?;
        self.cache.borrow_mut().insert(key_id, found.clone());
        Ok(found)
    }

    fn find(&self, key_id: &str, key: Option<&PublicKey>) -> Result<Vec<KeyRevocation>, Error> {
        let digest = key_digest(key_id)?;
        let mut candidates: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(ledger) = self.ledger {
            for stored in ledger.find_bundles(&BundleQuery::subject(&digest))? {
                candidates.push((format!("ledger:{}", stored.id), stored.json.into_bytes()));
            }
        }
        // And the store's revocation files (named `revocation-…`, so that this is cheap
        // however much evidence the store holds): a revocation whose ledger rows were deleted
        // still counts.
        for path in evidence::about_kind(self.ws, "revocation", &digest)? {
            candidates.push((path.to_string_lossy().into_owned(), fs_err::read(&path)?));
        }
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|(_, bytes)| seen.insert(Digest::sha256(bytes)));

        let mut keys: Vec<&PublicKey> = self.keys.iter().collect();
        keys.extend(key);
        let artifact = Artifact::Digest(digest);
        let mut out = Vec::new();
        for (source, bytes) in candidates {
            if let Some(r) = self.verified(&source, &bytes, key_id, &keys, &artifact) {
                out.push(r);
            }
        }
        if out.is_empty()
            && let Some(ledger) = self.ledger
            && let Some(row) = ledger.revocation(key_id)?
        {
            out.push(KeyRevocation {
                key_id: row.key_id,
                revoked_at: row.revoked_at,
                reason: row.reason,
                cutoff: None,
                source: "ledger".into(),
            });
        }
        out.sort_by(|a, b| (a.revoked_at, &a.source).cmp(&(b.revoked_at, &b.source)));
        Ok(out)
    }

    /// A revocation statement about `key_id` in `bytes`, if it verifies (signed by one of
    /// `keys`, logged with a valid proof); anything else is not a revocation.
    fn verified(
        &self,
        source: &str,
        bytes: &[u8],
        key_id: &str,
        keys: &[&PublicKey],
        artifact: &Artifact,
    ) -> Option<KeyRevocation> {
        let parsed = bundle::parse(bytes, source).ok()?;
        let statement = evidence::statement(&parsed.json)?;
        if statement.predicate_type != zt_core::predicate::ZT_KEY_REVOCATION_V1 {
            return None;
        }
        let predicate = statement.predicate.as_ref()?;
        if predicate.get("keyId").and_then(Value::as_str) != Some(key_id) {
            return None;
        }
        let revoked_at = predicate
            .get("revokedAt")
            .and_then(Value::as_str)
            .and_then(zt_core::time::parse_rfc3339)?;
        let reason = predicate
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let verified = keys.iter().any(|k| {
            verify(&Request {
                artifact,
                bundle: &parsed,
                identity: &Identity::Key((*k).clone()),
                trusted_root: Some(&self.root),
                insecure_ignore_tlog: false,
                witness_policy: None,
            })
            .is_ok_and(|v| v.tlog_verified)
        });
        if !verified {
            return None;
        }
        // The revocation's own entry is where it happened; the log size it states (the
        // revoker's view just before) can only move the cut-off earlier.
        let own = log_positions(&parsed.json).into_iter().next()?;
        let cutoff = match predicate.get("logSize") {
            None | Some(Value::Null) => None,
            Some(size) => Some(LogPosition {
                index: size.as_u64()?.min(own.index),
                log_id: own.log_id,
            }),
        };
        Some(KeyRevocation {
            key_id: key_id.to_string(),
            revoked_at,
            reason,
            cutoff,
            source: source.to_string(),
        })
    }
}

/// The keys a repository's revocations may be signed by: zt.toml's trusted keys and the
/// pipeline key's public half, when present.
fn repository_keys(ws: &Workspace) -> Result<Vec<PublicKey>, Error> {
    let repo = ws.root();
    let mut keys = Vec::new();
    if let Ok(config) = ws.config() {
        for key in &config.trust.keys {
            if let Some(p) = &key.public_key
                && let Ok(k) = PublicKey::load(&repo.join(p))
            {
                keys.push(k);
            }
        }
    }
    let pipeline = ws.layout().pipeline_key().with_extension("pub");
    if pipeline.is_file() {
        keys.push(PublicKey::load(&pipeline)?);
    }
    Ok(keys)
}

/// The trusted root the repository's evidence is checked against: the public-good root plus
/// the repository's own log.
pub fn trusted_root(ws: &Workspace) -> Result<String, Error> {
    crate::gate::trusted_root(ws)
}

/// Refuses to sign with `key` when `repo` holds a revocation of it (a verified logged one, or
/// the ledger's row: refusing to sign is always safe).
pub fn refuse_revoked(ws: &Workspace, key: &PublicKey) -> Result<(), Error> {
    let ledger = crate::ledger::open_existing(ws)?;
    let has_bundles = ws.layout().bundles().is_dir();
    if ledger.is_none() && !has_bundles {
        return Ok(());
    }
    let keys = repository_keys(ws)?;
    let root = trusted_root(ws)?;
    let finder = Finder::new(ws, ledger.as_deref(), &keys, &root);
    match finder.of(key)?.into_iter().next() {
        None => Ok(()),
        Some(r) => Err(Error::RevokedKey {
            key_id: r.key_id,
            revoked_at: zt_core::time::rfc3339(r.revoked_at),
            reason: r.reason,
            found_in: r.source,
        }),
    }
}

/// What a revocation touches.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRadius {
    /// The key's id (hex SHA-256 of its SPKI DER).
    pub key_id: String,
    /// When the revocation in force takes effect (seconds since the Unix epoch).
    pub revoked_at: i64,
    /// Why.
    pub reason: String,
    /// Whether the key had already been revoked at or before this time (that revocation
    /// stands and nothing new is recorded; an earlier time is recorded, tightening it).
    pub already_revoked: bool,
    /// The revocation statement's bundle and log entry, when one was recorded now.
    pub bundle: Option<String>,
    /// The revocation's log cut-off: entries of the log below it predate the revocation.
    pub cutoff: Option<LogPosition>,
    /// Every bundle the key signed, oldest first.
    pub bundles: Vec<Affected>,
    /// The ids of the builds that produced an artifact one of those bundles is about.
    pub builds: Vec<String>,
}

impl BlastRadius {
    /// How many of the key's bundles the gate now rejects.
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
    /// When the ledger first recorded it (informational only: not authenticated).
    pub recorded_at: i64,
    /// Its log entry's index, if logged.
    pub log_index: Option<u64>,
    /// Logged before the revocation (by the log), so the gate still accepts it.
    pub still_trusted: bool,
}

/// Revokes `key_id` from `revoked_at` on: signs a revocation statement with the repository's
/// pipeline key, logs it (its log entry is the cut-off), stores it as evidence, records the
/// ledger row, and reports what the key signed. `now` is the current time: a `revoked_at`
/// before it is a backdated revocation, which has no log cut-off.
pub fn revoke(
    ws: &Workspace,
    key_id: &str,
    reason: &str,
    revoked_at: i64,
    now: i64,
) -> Result<BlastRadius, Error> {
    let digest = key_digest(key_id)?;
    let key_id = digest.hex();
    let signer = crate::run::pipeline_key(ws)?;
    let mut keys = repository_keys(ws)?;
    keys.push(signer.public_key());
    let root = trusted_root(ws)?;

    // What is already in force (verified statements; the ledger row only without one).
    let existing = {
        let ledger = crate::ledger::open_existing(ws)?;
        let finder = Finder::new(ws, ledger.as_deref(), &keys, &root);
        finder.find(&key_id, None)?
    };
    let already = existing.iter().any(|r| r.revoked_at <= revoked_at);
    let mut recorded = None;
    if !already {
        let (log, _) = transparency::open_or_init(&ws.layout().log())?;
        let backdated = revoked_at < now;
        let statement = Statement::new(
            vec![ResourceDescriptor::subject(
                format!("key:{key_id}"),
                &digest,
            )],
            zt_core::predicate::ZT_KEY_REVOCATION_V1,
            serde_json::json!({
                "keyId": key_id,
                "reason": reason,
                "revokedAt": zt_core::time::rfc3339(revoked_at),
                "recordedAt": zt_core::time::rfc3339(now),
                "logSize": if backdated { Value::Null } else { log.size()?.into() },
            }),
        );
        let mut new = bundle::attest(&signer, &statement)?;
        transparency::log_bundle(&log, &mut new, &signer.public_key())?;
        recorded = Some(evidence::record(ws, "revocation", &new.json)?);
    }
    let mut ledger = crate::ledger::open(ws)?;
    let put = ledger.revoke_key(&Revocation {
        key_id: key_id.clone(),
        revoked_at,
        reason: reason.to_string(),
    })?;
    let finder = Finder::new(ws, Some(ledger.as_ref()), &keys, &root);
    let in_force = finder.find(&key_id, None)?;
    let Some(first) = in_force.first().cloned() else {
        return Err(Error::Input {
            what: format!("the revocation of {key_id} was recorded but does not verify"),
            help: "check that `zt.toml` trusts the pipeline key and run `zt key revoke` again"
                .into(),
        });
    };

    let mut bundles = Vec::new();
    let mut builds = std::collections::BTreeSet::new();
    for stored in ledger.find_bundles(&BundleQuery::key_id(&key_id))? {
        // Revocations are not evidence about artifacts.
        if stored.index.predicate_type.as_deref() == Some(zt_core::predicate::ZT_KEY_REVOCATION_V1)
        {
            continue;
        }
        for subject in &stored.index.subjects {
            for build in ledger.builds_producing(subject)? {
                builds.insert(build.id);
            }
        }
        let json: Value = serde_json::from_str(&stored.json).unwrap_or_default();
        let entries = log_positions(&json);
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
            log_index: stored.index.log_index,
            // The report reads the bundles' own claims; the gate verifies them.
            still_trusted: rejecting(&in_force, &entries, None).is_none(),
        });
    }
    // Oldest first by the log (the authenticated order), then by the ledger's time.
    bundles.sort_by(|a, b| {
        (a.log_index.is_none(), a.log_index, a.recorded_at, &a.id).cmp(&(
            b.log_index.is_none(),
            b.log_index,
            b.recorded_at,
            &b.id,
        ))
    });
    Ok(BlastRadius {
        key_id,
        revoked_at: first.revoked_at,
        reason: first.reason.clone(),
        already_revoked: already || (recorded.is_none() && put == Put::AlreadyPresent),
        bundle: recorded.map(|p| p.display().to_string()),
        cutoff: first.cutoff.clone(),
        bundles,
        builds: builds.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LOG: &str = "bG9nLWE=";
    const OTHER: &str = "bG9nLWI=";

    fn at(log: &str, index: u64) -> LogPosition {
        LogPosition {
            log_id: log.into(),
            index,
        }
    }

    fn revocation(cutoff: Option<LogPosition>, revoked_at: i64) -> KeyRevocation {
        KeyRevocation {
            key_id: "ab".repeat(32),
            revoked_at,
            reason: "stolen".into(),
            cutoff,
            source: "test".into(),
        }
    }

    #[test]
    fn entries_below_the_cutoff_in_the_same_log_predate_the_revocation() {
        let r = revocation(Some(at(LOG, 10)), 1_000);
        assert!(r.predates(&[at(LOG, 0)], None));
        assert!(r.predates(&[at(LOG, 9)], None));
        assert!(!r.predates(&[at(LOG, 10)], None));
        assert!(!r.predates(&[at(LOG, 11)], None));
    }

    #[test]
    fn an_index_in_another_log_says_nothing_about_this_one() {
        let r = revocation(Some(at(LOG, 10)), 1_000);
        assert!(!r.predates(&[at(OTHER, 1)], None));
        // Any one verified entry below the cut-off suffices.
        assert!(r.predates(&[at(OTHER, 99), at(LOG, 3)], None));
    }

    #[test]
    fn an_unlogged_bundle_without_signed_time_never_predates() {
        let r = revocation(Some(at(LOG, 10)), 1_000);
        assert!(!r.predates(&[], None));
        let backdated = revocation(None, 1_000);
        assert!(!backdated.predates(&[at(LOG, 0)], None));
    }

    #[test]
    fn a_signed_time_before_the_revocation_predates_it() {
        let r = revocation(None, 1_000);
        assert!(r.predates(&[], Some(999)));
        assert!(!r.predates(&[], Some(1_000)));
        assert!(!r.predates(&[at(LOG, 0)], Some(1_001)));
        let logged = revocation(Some(at(LOG, 5)), 1_000);
        assert!(logged.predates(&[at(LOG, 7)], Some(10)));
    }

    #[test]
    fn every_revocation_must_be_predated_so_the_strictest_decides() {
        let loose = revocation(Some(at(LOG, 10)), 2_000);
        let strict = revocation(None, 500);
        let both = [loose.clone(), strict.clone()];
        assert_eq!(rejecting(&both, &[at(LOG, 3)], None), Some(&strict));
        assert_eq!(rejecting(&both, &[at(LOG, 3)], Some(100)), None);
        // After the cut-off, a signed time predates the looser one but not the stricter one.
        assert_eq!(rejecting(&both, &[at(LOG, 30)], Some(600)), Some(&strict));
        assert_eq!(
            rejecting(std::slice::from_ref(&loose), &[at(LOG, 30)], Some(600)),
            None
        );
        assert_eq!(
            rejecting(std::slice::from_ref(&loose), &[at(LOG, 30)], Some(2_000)),
            Some(&loose)
        );
        assert_eq!(rejecting(&[], &[], None), None);
    }

    #[test]
    fn log_positions_read_every_entry_and_skip_malformed_ones() {
        let json = serde_json::json!({"verificationMaterial": {"tlogEntries": [
            {"logIndex": "7", "logId": {"keyId": LOG}},
            {"logIndex": 8, "logId": {"keyId": LOG}},
            {"logIndex": "x", "logId": {"keyId": LOG}},
            {"logIndex": "9"},
            {"logIndex": "18446744073709551615", "logId": {"keyId": OTHER}}
        ]}});
        assert_eq!(log_positions(&json), [at(LOG, 7), at(OTHER, u64::MAX)]);
        assert!(log_positions(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn describe_names_the_key_time_reason_and_cutoff() {
        let text = revocation(Some(at(LOG, 4)), 0).describe();
        assert!(text.contains("abababababab"), "{text}");
        assert!(text.contains("1970-01-01T00:00:00Z"), "{text}");
        assert!(
            text.contains("stolen") && text.contains("entry 4"),
            "{text}"
        );
    }
}
