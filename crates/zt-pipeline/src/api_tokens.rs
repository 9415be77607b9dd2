//! The evidence hub's API tokens: long-lived credentials for operators and tools, each with
//! one role, stored hashed in `.zt/server/tokens.json` (`zt serve token create|list|revoke`).
//!
//! A token is `ztk_<id>_<secret>` (16 hex digits of id, 64 of secret); the file keeps its id,
//! name, role, creation time, revocation time and the SHA-256 of the whole token, never the
//! token: it is shown once, when created. Roles nest: `admin` may do everything, `upload`
//! may upload and read, `read` may read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::SystemTime;

use rand_core::RngCore as _;
use serde::{Deserialize, Serialize};
use zt_core::{Digest, Workspace};

use crate::Error;

/// Where the tokens file lives, under the `.zt` directory.
pub const TOKENS_FILE: &str = "server/tokens.json";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Query evidence, decisions, traces.
    Read,
    /// Upload bundles (and read).
    Upload,
    /// Everything, including creating tokens over the API.
    Admin,
}

impl Role {
    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Upload => "upload",
            Role::Admin => "admin",
        }
    }

    /// Whether a token with this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "read" => Ok(Role::Read),
            "upload" => Ok(Role::Upload),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::Input {
                what: format!("unknown role `{s}`"),
                help: "use `--role read`, `--role upload` or `--role admin`".into(),
            }),
        }
    }
}

/// One token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredToken {
    /// Its id (public: shown in listings and access records).
    pub id: String,
    /// A label.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Hex SHA-256 of the whole token.
    pub sha256: String,
    /// When it was created (Unix seconds).
    pub created_at: i64,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tokens: Vec<StoredToken>,
}

/// A token just created: the only time its secret is seen.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// The token, for `Authorization: Bearer …`.
    pub token: String,
    /// Its id.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Its name.
    pub name: String,
}

fn path(ws: &Workspace) -> PathBuf {
    ws.layout().dir().join(TOKENS_FILE)
}

fn load(ws: &Workspace) -> Result<File, Error> {
    let p = path(ws);
    if !p.exists() {
        return Ok(File::default());
    }
    serde_json::from_slice(&fs_err::read(&p)?).map_err(|e| Error::Input {
        what: format!("`{}` is not a zt tokens file: {e}", p.display()),
        help: "restore it from a backup, or move it away and create tokens again with `zt serve token create`".into(),
    })
}

fn save(ws: &Workspace, file: &File) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(file).unwrap_or_default();
    zt_core::fsutil::write_atomic(&path(ws), &bytes)?;
    Ok(())
}

/// Creates a token with `role`, named `name`. The returned token is not stored anywhere.
pub fn create(ws: &Workspace, role: Role, name: &str) -> Result<Created, Error> {
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut id);
    rand_core::OsRng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let token = format!("ztk_{id}_{}", hex::encode(secret));
    let mut file = load(ws)?;
    file.tokens.push(StoredToken {
        id: id.clone(),
        name: name.clone(),
        role,
        sha256: Digest::sha256(token.as_bytes()).hex(),
        created_at: ws.now(),
        revoked_at: None,
    });
    save(ws, &file)?;
    Ok(Created {
        token,
        id,
        role,
        name,
    })
}

/// Every token, as stored.
pub fn list(ws: &Workspace) -> Result<Vec<StoredToken>, Error> {
    Ok(load(ws)?.tokens)
}

/// Revokes the token with `id`; `false` if it was already revoked.
pub fn revoke(ws: &Workspace, id: &str) -> Result<bool, Error> {
    let mut file = load(ws)?;
    let now = ws.now();
    let Some(t) = file.tokens.iter_mut().find(|t| t.id == id) else {
        return Err(Error::Input {
            what: format!("no API token with id `{id}`"),
            help: "list the tokens with `zt serve token list`".into(),
        });
    };
    if t.revoked_at.is_some() {
        return Ok(false);
    }
    t.revoked_at = Some(now);
    save(ws, &file)?;
    Ok(true)
}

/// The tokens file's stamp when read (modified time, length), and its tokens in force: hash →
/// (id, role).
type Cache = (Option<(SystemTime, u64)>, HashMap<String, (String, Role)>);

/// The tokens in force, by hash; re-read when the file changes, so a token created or
/// revoked while the server runs takes effect at the next request.
#[derive(Debug)]
pub struct Verifier {
    ws: Workspace,
    cache: std::sync::RwLock<Cache>,
}

impl Verifier {
    /// A verifier over the workspace's tokens file.
    pub fn new(ws: Workspace) -> Self {
        Self {
            ws,
            cache: std::sync::RwLock::new((None, HashMap::new())),
        }
    }

    /// The id and role of `presented`, when it is a token in force.
    pub fn verify(&self, presented: &str) -> Result<Option<(String, Role)>, Error> {
        if !presented.starts_with("ztk_") || presented.len() > 200 {
            return Ok(None);
        }
        let stamp = fs_err::metadata(path(&self.ws))
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let hash = Digest::sha256(presented.as_bytes()).hex();
        {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.0.is_some() && cache.0 == stamp {
                return Ok(cache.1.get(&hash).cloned());
            }
        }
        let map: HashMap<String, (String, Role)> = load(&self.ws)?
            .tokens
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (t.sha256, (t.id, t.role)))
            .collect();
        let found = map.get(&hash).cloned();
        *self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (stamp, map);
        Ok(found)
    }
}

/// Appends the access record of a token change made on the server's host (`zt serve token
/// create|revoke`) to the repository's log, as the API records its own: through the running
/// server when there is one (it holds the log), else directly. A token made on the host is
/// then as visible in the log as one made over the API. Returns the entry's index.
pub fn record_on_host(ws: &Workspace, action: &str, detail: &str) -> Result<u64, Error> {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| {
            !u.is_empty()
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let entry = serde_json::json!({
        "type": crate::hub::ADMIN_ENTRY_TYPE,
        "action": action,
        "detail": detail,
        "who": format!("host:{user}"),
        "at": ws.now(),
    });
    let (log, _) = zt_sign::transparency::open_or_init(&ws.layout().log())?;
    let proofs = log.append_all(&[serde_json::to_vec(&entry).unwrap_or_default()])?;
    Ok(proofs.first().map_or(0, |p| p.index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_roles_nest_and_revocation_takes_effect() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::new(dir.path());
        let a = create(&ws, Role::Upload, "ci").unwrap();
        let text = fs_err::read_to_string(path(&ws)).unwrap();
        assert!(!text.contains(&a.token), "the token itself is never stored");
        let v = Verifier::new(ws.clone());
        assert_eq!(
            v.verify(&a.token).unwrap(),
            Some((a.id.clone(), Role::Upload))
        );
        assert_eq!(v.verify("ztk_nope").unwrap(), None);
        assert_eq!(v.verify(&format!("{}x", a.token)).unwrap(), None);
        assert!(Role::Admin.allows(Role::Upload) && Role::Upload.allows(Role::Read));
        assert!(!Role::Read.allows(Role::Upload) && !Role::Upload.allows(Role::Admin));
        // Same size and second: make the change visible whatever the clock's resolution.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(revoke(&ws, &a.id).unwrap());
        assert!(!revoke(&ws, &a.id).unwrap());
        assert_eq!(v.verify(&a.token).unwrap(), None);
        assert!(revoke(&ws, "missing").is_err());
        assert!("root".parse::<Role>().is_err());
    }
}
