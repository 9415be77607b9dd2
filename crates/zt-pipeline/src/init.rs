//! `zt init`: sets a repository up for zt — a `zt.toml` that trusts a new local signing key,
//! the key pair itself (`.zt/keys/local`, private half 0600 and git-ignored) and a `policies/`
//! folder with an example rule (for the branch git has checked out), its test and an example
//! override. Nothing existing is overwritten.
//!
//! On a clone of a repository that is already set up (`zt.toml` committed, its private key
//! not: it never leaves the machine that made it), `init` makes this machine a key of its own
//! and adds it to `zt.toml`'s trust list as a new `[[trust.key]]` — a change to the trust
//! policy that shows in `git diff` and is reviewed like any other. A repository whose trusted
//! key is already here is left alone.

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
    /// A clone of a configured repository: `zt.toml` was kept and now also trusts the new key.
    pub clone: bool,
    /// The ecosystem preset whose `[build]` table `zt.toml` got (given or detected).
    pub preset: Option<crate::preset::Preset>,
    /// Files the preset wrote (e.g. `.cargo/config.toml`).
    pub files: Vec<PathBuf>,
    /// What is left to do before the pipeline can build offline (vendoring, lockfiles).
    pub next: Vec<String>,
}

/// Sets `repo` up for zt; on a repository that has a `zt.toml` already, see [`init_clone`].
/// The ecosystem is detected ([`crate::preset::detect`]); none found, `zt.toml` has no
/// `[build]` table (the pipeline's defaults: `make`).
pub fn init(repo: &Path) -> Result<Initialised, Error> {
    init_with(repo, None)
}

/// [`init`] with the ecosystem `preset` (`None`: detected): `zt.toml` gets its `[build]`
/// table and the repository the files its offline build needs.
pub fn init_with(repo: &Path, preset: Option<crate::preset::Preset>) -> Result<Initialised, Error> {
    let config_path = repo.join(CONFIG_FILE);
    if config_path.exists() {
        if let Some(p) = preset {
            return Err(Error::Input {
                what: format!(
                    "`{}` exists: zt init never overwrites a configuration",
                    config_path.display()
                ),
                help: format!(
                    "move it away and run `zt init --preset {p}` again, or add the `[build]` table to it by hand (see docs/presets.md)"
                ),
            });
        }
        return init_clone(repo);
    }
    let setup = match preset.or_else(|| crate::preset::detect(repo)) {
        Some(p) => Some(crate::preset::setup(p, repo)?),
        None => None,
    };
    let build_table = setup.as_ref().map(|s| s.table.as_str()).unwrap_or("");
    // The template must stay valid: a broken one would be written once and fail forever.
    // Checked before anything is written.
    let text_for = |key_id: &str| {
        let mut text = CONFIG_TEMPLATE
            .replace("{key_path}", KEY_PATH)
            .replace("{key_id}", key_id);
        text.push_str(build_table);
        text
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
    let branch = current_branch(repo).unwrap_or_else(|| "main".into());
    for (name, text) in POLICY_FILES {
        let path = repo.join("policies").join(name);
        if !path.exists() {
            write_new(&path, &text.replace("{branch}", &branch))?;
            policies.push(path);
        }
    }
    let mut files = Vec::new();
    for (rel, text) in setup.as_ref().map(|s| s.files.as_slice()).unwrap_or(&[]) {
        let path = repo.join(rel);
        if !path.exists() {
            write_new(&path, text)?;
            files.push(path);
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
        clone: false,
        preset: setup.as_ref().map(|s| s.preset),
        files,
        next: setup.map(|s| s.next).unwrap_or_default(),
    })
}

/// The branch git has checked out in `repo`, if any.
fn current_branch(repo: &Path) -> Option<String> {
    crate::example::git(repo, &["symbolic-ref", "-q", "--short", "HEAD"])
        .ok()
        .filter(|b| !b.is_empty() && !b.contains(['"', '\\', '\n']))
}

/// `zt init` where `zt.toml` exists: if a key it trusts has its private half here, nothing to
/// do (an error saying so); otherwise a new key for this machine, trusted by a new
/// `[[trust.key]]` appended to `zt.toml`.
pub fn init_clone(repo: &Path) -> Result<Initialised, Error> {
    let config_path = repo.join(CONFIG_FILE);
    let config = Config::load(&config_path).map_err(|e| Error::Policy(e.to_string()))?;
    for key in &config.trust.keys {
        if let Some(public) = &key.public_key
            && public.extension().is_some_and(|e| e == "pub")
            && repo.join(public.with_extension("")).is_file()
        {
            return Err(Error::Input {
                what: format!(
                    "`{}` exists and trusts `{}`, whose private key is here",
                    config_path.display(),
                    public.display()
                ),
                help: "zt init never overwrites a configuration; edit `zt.toml`, or run `zt pipeline run .`".into(),
            });
        }
    }
    // A name of its own, so that a committed `local.pub` (another machine's) is never replaced.
    let key = FileKey::generate(KeyType::Ed25519);
    let public = key.public_key();
    let key_id = public.key_id();
    let rel = format!(".zt/keys/local-{}", key_id.get(..12).unwrap_or(&key_id));
    let key_path = repo.join(&rel);
    zt_sign::keys::write_key_pair(&key, &key_path)?;
    let ignore = repo.join(".zt/.gitignore");
    if !ignore.exists() {
        write_new(&ignore, GITIGNORE)?;
    }
    let mut text = fs_err::read_to_string(&config_path)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# Added by `zt init` on a clone: this machine's key (its private half stays here).\n\
         [[trust.key]]\nname = \"local-{short}\"\npublic_key = \"{rel}.pub\"  # id {key_id}\n\
         predicate_types = [\"*\"]\nstages = [\"ci\", \"publish\", \"deploy\"]\n",
        short = key_id.get(..12).unwrap_or(&key_id),
    ));
    // The result must still be a valid configuration before it replaces the old one.
    Config::parse(&text, &config_path).map_err(|e| Error::Policy(e.to_string()))?;
    zt_core::fsutil::write_atomic(&config_path, text.as_bytes())?;
    Ok(Initialised {
        config: config_path,
        key_id,
        public_key: repo.join(format!("{rel}.pub")),
        private_key: Some(key_path),
        policies: Vec::new(),
        clone: true,
        preset: None,
        files: Vec::new(),
        next: Vec::new(),
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

    #[test]
    fn a_clone_without_the_private_key_gets_a_key_of_its_own_and_trusts_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = init(dir.path()).unwrap();
        // A clone: the private key did not come along.
        fs_err::remove_file(first.private_key.as_ref().unwrap()).unwrap();
        let before = fs_err::read_to_string(&first.config).unwrap();
        let second = init(dir.path()).unwrap();
        assert!(second.clone);
        assert_ne!(second.key_id, first.key_id);
        let after = fs_err::read_to_string(&second.config).unwrap();
        assert!(
            after.starts_with(&before),
            "the old configuration is kept as it was"
        );
        let config = Config::load(&second.config).unwrap();
        assert_eq!(config.trust.keys.len(), 2);
        assert!(second.private_key.as_ref().unwrap().is_file());
        // The committed public key of the other machine is untouched.
        assert!(first.public_key.is_file());
        // Now a trusted key is here: a third init has nothing to do.
        assert!(init(dir.path()).is_err());
    }
}
