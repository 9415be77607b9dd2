//! `zt init`: sets a repository up for zt — a `zt.toml` that trusts a new local signing key,
//! the key pair itself (`.zt/keys/local`, private half 0600 and git-ignored) and a `policies/`
//! folder with an example rule, its test and an example override. Nothing existing is
//! overwritten; a configuration that is already there is an error.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zt_core::config::{CONFIG_FILE, Config};
use zt_core::fsutil::create_new_atomic;
use zt_sign::{FileKey, KeyType, PublicKey, Signer as _};

use crate::Error;

/// Where `zt init` puts the local signing key, relative to the repository.
pub const KEY_PATH: &str = ".zt/keys/local";

const CONFIG_TEMPLATE: &str = include_str!("../templates/zt.toml");
const GITIGNORE: &str = include_str!("../templates/gitignore");
const POLICY_FILES: [(&str, &str); 4] = [
    ("README.md", include_str!("../templates/policies-README.md")),
    ("branch.rego", include_str!("../templates/branch.rego")),
    (
        "branch_test.rego",
        include_str!("../templates/branch_test.rego"),
    ),
    (
        "tests.rego.example",
        include_str!("../templates/tests.rego.example"),
    ),
];

/// What `init` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Initialised {
    /// The new `zt.toml`.
    pub config: PathBuf,
    /// The id of the key it trusts.
    pub key_id: String,
    /// The public key file.
    pub public_key: PathBuf,
    /// The private key file, when init made the pair (`None`: an earlier pair was kept).
    pub private_key: Option<PathBuf>,
    /// The policy files written (existing ones are kept as they are).
    pub policies: Vec<PathBuf>,
}

/// Sets `repo` up for zt. Refuses if `repo/zt.toml` exists.
pub fn init(repo: &Path) -> Result<Initialised, Error> {
    let config_path = repo.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(Error::Input {
            what: format!("`{}` already exists", config_path.display()),
            help: "zt init never overwrites a configuration; edit it, or remove it and run `zt init` again".into(),
        });
    }
    // The template must stay valid: a broken one would be written once and fail forever.
    // Checked before anything is written.
    let text_for = |key_id: &str| {
        CONFIG_TEMPLATE
            .replace("{key_path}", KEY_PATH)
            .replace("{key_id}", key_id)
    };
    Config::parse(&text_for(&"0".repeat(64)), &config_path)
        .map_err(|e| Error::Policy(format!("the built-in zt.toml template is invalid: {e}")))?;

    // The local key: reuse a pair left by an earlier init, else make one.
    let key_path = repo.join(KEY_PATH);
    let public_path = repo.join(format!("{KEY_PATH}.pub"));
    let (public, created_key) = if public_path.is_file() {
        (PublicKey::load(&public_path)?, false)
    } else {
        let key = FileKey::generate(KeyType::Ed25519);
        zt_sign::keys::write_key_pair(&key, &key_path)?;
        (key.public_key(), true)
    };
    let ignore = repo.join(".zt/.gitignore");
    if !ignore.exists() {
        write_new(&ignore, GITIGNORE)?;
    }
    let mut policies = Vec::new();
    for (name, text) in POLICY_FILES {
        let path = repo.join("policies").join(name);
        if !path.exists() {
            write_new(&path, text)?;
            policies.push(path);
        }
    }
    let key_id = public.key_id();
    write_new(&config_path, &text_for(&key_id))?;
    Ok(Initialised {
        config: config_path,
        key_id,
        public_key: public_path,
        private_key: created_key.then_some(key_path),
        policies,
    })
}

fn write_new(path: &Path, text: &str) -> Result<(), Error> {
    create_new_atomic(path, text.as_bytes(), Some(0o644)).map_err(|e| Error::Input {
        what: format!("could not write `{}`: {e}", path.display()),
        help: "check that the directory is writable and has space".into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_template_is_a_valid_config_trusting_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let done = init(dir.path()).unwrap();
        let config = Config::load(&done.config).unwrap();
        assert_eq!(config.trust.keys.len(), 1);
        assert!(
            fs_err::read_to_string(&done.config)
                .unwrap()
                .contains(&done.key_id)
        );
        assert_eq!(done.policies.len(), POLICY_FILES.len());
        assert!(done.private_key.is_some());
        // A second init refuses and changes nothing.
        let before = fs_err::read(&done.config).unwrap();
        assert!(init(dir.path()).is_err());
        assert_eq!(fs_err::read(&done.config).unwrap(), before);
    }
}
