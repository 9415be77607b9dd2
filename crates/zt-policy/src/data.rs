//! `data.zt.config`: what policies know of `zt.toml` — trusted keys (with ids resolved from
//! public key files), policy switches and thresholds.

use std::path::Path;

use serde_json::json;
use zt_core::config::Config;

use crate::Error;

/// Builds the policy `data` document from a configuration. Public key files are read relative
/// to `repo` and turned into key ids; a key given by both `id` and `public_key` must agree.
pub fn policy_data(config: &Config, repo: &Path) -> Result<serde_json::Value, Error> {
    let mut keys = Vec::with_capacity(config.trust.keys.len());
    for (index, key) in config.trust.keys.iter().enumerate() {
        let from_file = match &key.public_key {
            Some(p) => {
                let path = repo.join(p);
                let public = zt_sign::PublicKey::load(&path).map_err(|e| Error::TrustKey {
                    index,
                    message: e.to_string(),
                })?;
                Some(public.key_id())
            }
            None => None,
        };
        let id = match (&key.id, from_file) {
            (Some(id), Some(file_id)) if *id != file_id => {
                return Err(Error::TrustKey {
                    index,
                    message: format!("`id` {id} does not match `public_key`'s id {file_id}"),
                });
            }
            (Some(id), _) => id.clone(),
            (None, Some(file_id)) => file_id,
            (None, None) => {
                return Err(Error::TrustKey {
                    index,
                    message: "needs `id` or `public_key`".into(),
                });
            }
        };
        let mut types = key.predicate_types.clone();
        types.sort();
        types.dedup();
        let mut stages: Vec<&str> = key.stages.iter().map(|s| s.name()).collect();
        stages.sort_unstable();
        stages.dedup();
        keys.push(json!({
            "id": id,
            "name": key.name.clone().unwrap_or_else(|| format!("key {index}")),
            "predicate_types": types,
            "stages": stages,
        }));
    }
    let t = &config.thresholds;
    Ok(json!({
        "zt": {
            "config": {
                "trust": {"keys": keys},
                "policy": {"require_log_proof": config.policy.require_log_proof, "require_signed_commits": config.policy.require_signed_commits, "require_enforced_sandbox": config.policy.require_enforced_sandbox},
                "thresholds": {
                    "min_coverage": t.min_coverage,
                    "max_vuln_db_age_days": t.max_vuln_db_age_days,
                    "min_rebuilds": t.min_rebuilds,
                    "min_package_age_hours": t.min_package_age_hours,
                },
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zt_sign::{FileKey, KeyType, Signer as _};

    #[test]
    fn resolves_public_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = FileKey::generate(KeyType::Ed25519);
        zt_sign::keys::write_key_pair(&key, &dir.path().join(".zt/keys/local")).unwrap();
        let id = key.public_key().key_id();
        let cfg = Config::parse(
            "[[trust.key]]\npublic_key = \".zt/keys/local.pub\"\npredicate_types = [\"*\"]\nstages = [\"deploy\", \"ci\"]\n",
            Path::new("zt.toml"),
        )
        .unwrap();
        let data = policy_data(&cfg, dir.path()).unwrap();
        let k = &data["zt"]["config"]["trust"]["keys"][0];
        assert_eq!(k["id"], id);
        assert_eq!(k["stages"], json!(["ci", "deploy"]));
        assert_eq!(data["zt"]["config"]["thresholds"]["min_rebuilds"], 2);

        let wrong = Config::parse(
            &format!("[[trust.key]]\nid = \"{}\"\npublic_key = \".zt/keys/local.pub\"\npredicate_types = [\"*\"]\n", "0".repeat(64)),
            Path::new("zt.toml"),
        )
        .unwrap();
        assert!(matches!(
            policy_data(&wrong, dir.path()),
            Err(Error::TrustKey { index: 0, .. })
        ));
        let missing = Config::parse(
            "[[trust.key]]\npublic_key = \"nope.pub\"\npredicate_types = [\"*\"]\n",
            Path::new("zt.toml"),
        )
        .unwrap();
        assert!(matches!(
            policy_data(&missing, dir.path()),
            Err(Error::TrustKey { .. })
        ));
    }
}
