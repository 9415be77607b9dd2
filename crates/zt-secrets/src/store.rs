//! Secrets at rest: one JSON file (`.zt/secrets/store.json`) holding every version of every
//! secret, each encrypted with AES-256-GCM under the master key, with a fresh random 96-bit
//! nonce per write and the secret's name, version and bindings bound as associated data (so a
//! ciphertext moved to another name or version, or bindings edited on disk, fail to decrypt).
//!
//! The master key is 32 random bytes, from a 0600 key file (`master.key`, 64 hex digits) or
//! wrapped by a PKCS#11 token (`master.key.p11`, see [`crate::wrap`]). Its key id (a digest of
//! the key) is written in the store, so a wrong key is told apart from a tampered ciphertext.
//!
//! Writes are whole-file and atomic (temp file, fsync, rename). Rotation writes the new key as
//! `<key file>.next`, re-encrypts every version into a new store file, then renames the new
//! key into place; a crash between the two renames is finished by the next [`MasterKey::load`],
//! which finds the store under the `.next` key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::Secret;
use crate::binding::Binding;
use crate::error::Error;

/// The store file, relative to the secrets directory.
pub const STORE_FILE: &str = "store.json";
/// The master key file, relative to the secrets directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// The PKCS#11-wrapped master key, relative to the secrets directory.
pub const WRAPPED_KEY_FILE: &str = "master.key.p11";

const FORMAT: &str = "zt-secrets-store/v1";
const MAX_NAME: usize = 128;

/// The 256-bit key every secret is encrypted under.
pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
    /// The file it came from.
    pub path: PathBuf,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Random bytes from the OS.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::Internal("the OS random source failed"))?;
    Ok(b)
}

/// Refuses a key file that others can read or write.
pub(crate) fn check_private(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = match fs_err::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingKey(path.to_path_buf()));
        }
        Err(e) => return Err(e.into()),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Reads a 0600 file holding 32 bytes as 64 hex digits.
pub(crate) fn read_hex_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, Error> {
    check_private(path)?;
    let text = Zeroizing::new(fs_err::read_to_string(path)?);
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), key.as_mut_slice()).map_err(|_| Error::BadKeyFile {
        path: path.to_path_buf(),
        message: "expected 64 hex digits".into(),
    })?;
    Ok(key)
}

/// Writes 32 bytes as hex to a new 0600 file (atomically).
pub(crate) fn write_hex_key(path: &Path, key: &[u8; 32]) -> Result<(), Error> {
    let text = Zeroizing::new(format!("{}\n", hex::encode(key)));
    zt_core::fsutil::write_atomic_mode(path, text.as_bytes(), Some(0o600))?;
    Ok(())
}

impl MasterKey {
    /// A fresh random key that will live at `path`.
    pub fn generate(path: PathBuf) -> Result<MasterKey, Error> {
        Ok(MasterKey::from_bytes(Zeroizing::new(random::<32>()?), path))
    }

    pub(crate) fn from_bytes(key: Zeroizing<[u8; 32]>, path: PathBuf) -> MasterKey {
        let mut h = Sha256::new();
        h.update(b"zt-secrets master key id\0");
        h.update(key.as_slice());
        let id = hex::encode(h.finalize().get(..8).unwrap_or_default());
        MasterKey { key, id, path }
    }

    /// The key's id: the first 8 bytes of a SHA-256 of the key, in hex.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// Loads the master key of the secrets directory `dir` (file or PKCS#11-wrapped), and
    /// finishes an interrupted rotation if the store was already re-encrypted under the
    /// `.next` key.
    pub fn load(dir: &Path, store_key_id: Option<&str>) -> Result<MasterKey, Error> {
        let file = dir.join(MASTER_KEY_FILE);
        let wrapped = dir.join(WRAPPED_KEY_FILE);
        let path = if !file.exists() && wrapped.exists() {
            wrapped
        } else {
            file
        };
        let next = next_path(&path);
        if let Some(expected) = store_key_id
            && next.exists()
        {
            let candidate = load_one(&next)?;
            if candidate.id == expected {
                fs_err::rename(&next, &path)?;
                zt_core::fsutil::sync_dir(dir)?;
                return Ok(MasterKey::from_bytes(candidate.key, path));
            }
        }
        let key = load_one(&path)?;
        if let Some(expected) = store_key_id
            && key.id != expected
        {
            return Err(Error::WrongKey {
                path,
                found: key.id,
                expected: expected.to_string(),
            });
        }
        Ok(key)
    }
}

/// Where the next key is written during a rotation.
pub(crate) fn next_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".next");
    PathBuf::from(s)
}

fn load_one(path: &Path) -> Result<MasterKey, Error> {
    if path.extension().is_some_and(|e| e == "p11") || path.to_string_lossy().ends_with(".p11.next")
    {
        return crate::wrap::unwrap(path);
    }
    Ok(MasterKey::from_bytes(
        read_hex_key(path)?,
        path.to_path_buf(),
    ))
}

/// Refuses names that could be read as paths or that are awkward in shells and URLs.
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(
            name.chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME)
                .collect(),
        ))
    }
}

/// One encrypted version of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// 1, 2, …
    pub version: u32,
    /// When it was written (Unix seconds).
    pub created_at: i64,
    /// Who may read it.
    pub bindings: Vec<Binding>,
    nonce: String,
    ciphertext: String,
}

/// Every version of one secret, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The versions.
    pub versions: Vec<Version>,
}

impl Entry {
    /// The newest version.
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }
}

/// The store file's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    format: String,
    /// The id of the master key every version is encrypted under.
    pub key_id: String,
    /// Secrets by name.
    pub secrets: BTreeMap<String, Entry>,
}

fn aad(name: &str, version: u32, bindings: &[Binding]) -> Vec<u8> {
    let digest = Sha256::digest(serde_json::to_vec(bindings).unwrap_or_default());
    let mut a = Vec::with_capacity(name.len() + 64);
    a.extend_from_slice(b"zt-secrets/v1\0");
    a.extend_from_slice(name.as_bytes());
    a.push(0);
    a.extend_from_slice(version.to_string().as_bytes());
    a.push(0);
    a.extend_from_slice(&digest);
    a
}

fn aead_key(key: &MasterKey) -> Result<LessSafeKey, Error> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.bytes())
            .map_err(|_| Error::Internal("AES-256-GCM key setup failed"))?,
    ))
}

impl Store {
    /// An empty store for `key`.
    pub fn new(key: &MasterKey) -> Store {
        Store {
            format: FORMAT.into(),
            key_id: key.id().to_string(),
            secrets: BTreeMap::new(),
        }
    }

    /// Reads the store file.
    pub fn load(path: &Path) -> Result<Store, Error> {
        let bytes = fs_err::read(path)?;
        let store: Store = serde_json::from_slice(&bytes).map_err(|e| Error::BadStore {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if store.format != FORMAT {
            return Err(Error::BadStore {
                path: path.to_path_buf(),
                message: format!("format `{}`, expected `{FORMAT}`", store.format),
            });
        }
        for (name, entry) in &store.secrets {
            check_name(name)?;
            for v in &entry.versions {
                for b in &v.bindings {
                    b.validate()?;
                }
            }
        }
        Ok(store)
    }

    /// Writes the store file atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|_| Error::Internal("serialising the store failed"))?;
        bytes.push(b'\n');
        zt_core::fsutil::write_atomic_mode(path, &bytes, Some(0o600))?;
        Ok(())
    }

    /// Encrypts `value` as the next version of `name`; returns the version number.
    pub fn put(
        &mut self,
        key: &MasterKey,
        name: &str,
        value: &[u8],
        bindings: Vec<Binding>,
        now: i64,
    ) -> Result<u32, Error> {
        check_name(name)?;
        let entry = self.secrets.entry(name.to_string()).or_default();
        let version = entry.latest().map_or(1, |v| v.version + 1);
        let sealed = seal(key, name, version, &bindings, value)?;
        entry.versions.push(Version {
            version,
            created_at: now,
            bindings,
            nonce: sealed.0,
            ciphertext: sealed.1,
        });
        Ok(version)
    }

    /// Decrypts a version of `name` (the newest when `version` is `None`).
    pub fn decrypt(
        &self,
        key: &MasterKey,
        name: &str,
        version: Option<u32>,
    ) -> Result<(u32, Secret), Error> {
        let entry = self
            .secrets
            .get(name)
            .ok_or_else(|| Error::NoSuchSecret(name.to_string()))?;
        let v = match version {
            None => entry.latest(),
            Some(n) => entry.versions.iter().find(|v| v.version == n),
        }
        .ok_or_else(|| Error::NoSuchSecret(name.to_string()))?;
        Ok((v.version, open(key, name, v)?))
    }

    /// Re-encrypts every version under `new` (fresh nonces); the caller saves.
    pub fn reencrypt(&mut self, old: &MasterKey, new: &MasterKey) -> Result<(), Error> {
        for (name, entry) in &mut self.secrets {
            for v in &mut entry.versions {
                let plain = open(old, name, v)?;
                let (nonce, ct) = seal(new, name, v.version, &v.bindings, plain.expose())?;
                v.nonce = nonce;
                v.ciphertext = ct;
            }
        }
        self.key_id = new.id().to_string();
        Ok(())
    }
}

fn seal(
    key: &MasterKey,
    name: &str,
    version: u32,
    bindings: &[Binding],
    value: &[u8],
) -> Result<(String, String), Error> {
    let nonce = random::<12>()?;
    let mut buf = Zeroizing::new(value.to_vec());
    aead_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(name, version, bindings)),
            &mut *buf,
        )
        .map_err(|_| Error::Internal("AES-256-GCM seal failed"))?;
    Ok((STANDARD.encode(nonce), STANDARD.encode(&*buf)))
}

fn open(key: &MasterKey, name: &str, v: &Version) -> Result<Secret, Error> {
    let tampered = || Error::Tampered {
        name: name.to_string(),
        version: v.version,
    };
    let nonce: [u8; 12] = STANDARD
        .decode(&v.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(tampered)?;
    let mut buf = Zeroizing::new(STANDARD.decode(&v.ciphertext).map_err(|_| tampered())?);
    let plain = aead_key(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(name, v.version, &v.bindings)),
            &mut buf,
        )
        .map_err(|_| tampered())?;
    Ok(Secret::new(plain.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::generate(PathBuf::from("k")).unwrap()
    }

    #[test]
    fn round_trip_with_versions() {
        let k = key();
        let mut s = Store::new(&k);
        let b = vec![Binding::parse("repository=org/app").unwrap()];
        assert_eq!(s.put(&k, "db", b"one", b.clone(), 1).unwrap(), 1);
        assert_eq!(s.put(&k, "db", b"two", b, 2).unwrap(), 2);
        assert_eq!(s.decrypt(&k, "db", None).unwrap().1.expose(), b"two");
        assert_eq!(s.decrypt(&k, "db", Some(1)).unwrap().1.expose(), b"one");
        let n1 = &s.secrets["db"].versions[0].nonce;
        let n2 = &s.secrets["db"].versions[1].nonce;
        assert_ne!(n1, n2);
    }

    #[test]
    fn edited_bindings_fail_to_decrypt() {
        let k = key();
        let mut s = Store::new(&k);
        s.put(
            &k,
            "db",
            b"v",
            vec![Binding::parse("repository=org/app").unwrap()],
            1,
        )
        .unwrap();
        s.secrets.get_mut("db").unwrap().versions[0].bindings =
            vec![Binding::parse("repository=evil/app").unwrap()];
        let e = s.decrypt(&k, "db", None).unwrap_err();
        assert!(
            matches!(e, Error::Tampered { ref name, version: 1 } if name == "db"),
            "{e}"
        );
    }

    #[test]
    fn rotation_reencrypts_every_version() {
        let (k1, k2) = (key(), key());
        let mut s = Store::new(&k1);
        s.put(&k1, "a", b"1", vec![], 1).unwrap();
        s.put(&k1, "a", b"2", vec![], 1).unwrap();
        s.reencrypt(&k1, &k2).unwrap();
        assert_eq!(s.key_id, k2.id());
        assert_eq!(s.decrypt(&k2, "a", Some(1)).unwrap().1.expose(), b"1");
        assert!(s.decrypt(&k1, "a", Some(2)).is_err());
    }

    #[test]
    fn names_with_path_characters_are_refused() {
        for bad in [
            "", "a/b", "..", "../x", "a..b", ".hidden", "a b", "a\\b", "ä",
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidName(_))),
                "{bad}"
            );
        }
        for good in ["db", "DB_PASSWORD", "deploy.key", "a-b"] {
            check_name(good).unwrap();
        }
    }
}
