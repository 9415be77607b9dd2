//! Bad input: a clear error naming the input and the fix, and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use common::Env;
use zt_core::Diagnostic as _;
use zt_secrets::{Binding, Error};

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.ends_with("lock") {
                out.insert(p.clone(), fs_err::read(&p).unwrap());
            }
        }
    }
    out
}

fn key_path(env: &Env) -> PathBuf {
    env.zt().join("secrets/master.key")
}

#[test]
fn missing_master_key() {
    let env = Env::new();
    fs_err::remove_file(key_path(&env)).unwrap();
    let before = snapshot(&env.zt());
    let err = zt_secrets::Broker::open(&env.zt()).unwrap_err();
    assert!(matches!(err, Error::MissingKey(_)), "{err}");
    assert!(err.to_string().contains("master.key"), "{err}");
    let err = zt_secrets::put(&env.zt(), "x", b"v", vec![]).unwrap_err();
    assert!(matches!(err, Error::MissingKey(_)), "{err}");
    assert!(err.help().unwrap().contains("backup"));
    assert_eq!(snapshot(&env.zt()), before);
}

#[test]
fn master_key_readable_by_others() {
    let env = Env::new();
    fs_err::set_permissions(key_path(&env), std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(&env.zt());
    let err = zt_secrets::put(&env.zt(), "x", b"v", vec![]).unwrap_err();
    assert!(
        matches!(err, Error::KeyPermissions { mode: 0o644, .. }),
        "{err}"
    );
    assert!(
        err.help().unwrap().contains("chmod 600"),
        "{:?}",
        err.help()
    );
    assert_eq!(snapshot(&env.zt()), before);
}

#[test]
fn unreadable_master_key() {
    let env = Env::new();
    fs_err::write(key_path(&env), "not hex\n").unwrap();
    fs_err::set_permissions(key_path(&env), std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = snapshot(&env.zt());
    let err = zt_secrets::Broker::open(&env.zt()).unwrap_err();
    assert!(matches!(err, Error::BadKeyFile { .. }), "{err}");
    assert!(err.to_string().contains("master.key"), "{err}");
    assert_eq!(snapshot(&env.zt()), before);
}

#[test]
fn wrong_master_key() {
    let env = Env::new();
    fs_err::write(key_path(&env), format!("{}\n", "ab".repeat(32))).unwrap();
    fs_err::set_permissions(key_path(&env), std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = snapshot(&env.zt());
    let err = zt_secrets::read_as_operator(&env.zt(), "db", "test").unwrap_err();
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("is not the key the store was encrypted with"),
        "{err}"
    );
    assert_eq!(snapshot(&env.zt()), before);
}

#[test]
fn jwks_that_does_not_parse() {
    let env = Env::new();
    let secrets = env.zt().join("secrets");
    fs_err::write(
        secrets.join("bad.json"),
        "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"a\"}]}",
    )
    .unwrap();
    fs_err::write(
        secrets.join("trust.toml"),
        "[[issuer]]\nurl = \"https://issuer.example\"\naudiences = [\"zt\"]\njwks = \"bad.json\"\n",
    )
    .unwrap();
    let before = snapshot(&env.zt());
    let err = zt_secrets::Broker::open(&env.zt()).unwrap_err();
    assert!(matches!(err, Error::Jwks { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("bad.json") && msg.contains("has no `n`"),
        "{msg}"
    );
    assert_eq!(snapshot(&env.zt()), before);
}

#[test]
fn unknown_key_in_trust_config() {
    let env = Env::new();
    fs_err::write(
        env.zt().join("secrets/trust.toml"),
        "token_lifetime = 60\nttl = 5\n",
    )
    .unwrap();
    let err = zt_secrets::Broker::open(&env.zt()).unwrap_err();
    assert!(err.to_string().contains("unknown field `ttl`"), "{err}");
}

#[test]
fn binding_with_an_unknown_claim() {
    let err = Binding::parse("repository=org/app,branch=main").unwrap_err();
    assert!(
        matches!(err, Error::UnknownClaim { ref claim, .. } if claim == "branch"),
        "{err}"
    );
    assert!(err.help().unwrap().contains("job_workflow_ref"));
}

#[test]
fn secret_names_with_path_characters() {
    let env = Env::new();
    let before = snapshot(&env.zt());
    for name in ["../escape", "a/b", "..", "/etc/passwd", ".hidden"] {
        let err = zt_secrets::put(&env.zt(), name, b"v", vec![]).unwrap_err();
        assert!(matches!(err, Error::InvalidName(_)), "{name}: {err}");
        assert!(err.to_string().contains("no `/`, no `..`"), "{err}");
    }
    assert_eq!(snapshot(&env.zt()), before);
}
