//! The signer policy, `.zt/signers.toml` in the repository: who may sign commits, with which
//! key, touching which paths, during which window.
//!
//! ```toml
//! [[signer]]
//! name = "alice"
//! email = "alice@example.com"          # optional, informational
//! key = "ssh-ed25519 AAAAC3Nza… alice"  # an OpenSSH public key line, or an armored OpenPGP key
//! fingerprint = "SHA256:…"             # optional pin: must match the key
//! paths = ["src/**", "docs/**"]        # optional: globs the signer's commits may touch
//! not_before = 2026-01-01T00:00:00Z    # optional validity window (TOML date-time or RFC 3339 string)
//! not_after = 2027-01-01T00:00:00Z
//! revoked_at = 2026-06-01T00:00:00Z    # optional: commits first seen from then on are rejected
//! ```
//!
//! A commit is judged against the policy as it is in its parent(s), so changing this file
//! needs a signer the old file authorised (and whose `paths`, if any, cover `.zt/signers.toml`).

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use super::openpgp::PgpKey;
use super::sshsig::SshKey;
use crate::Error;

/// Where the policy lives in a commit's tree.
pub const POLICY_PATH: &str = ".zt/signers.toml";

/// A signer's public key.
#[derive(Debug, Clone)]
pub enum Key {
    /// An OpenSSH public key.
    Ssh(SshKey),
    /// An OpenPGP certificate.
    Pgp(Box<PgpKey>),
}

impl Key {
    /// The key's fingerprint (`SHA256:…` for SSH, hex for OpenPGP).
    pub fn fingerprint(&self) -> String {
        match self {
            Key::Ssh(k) => k.fingerprint(),
            Key::Pgp(k) => k.fingerprint(),
        }
    }
}

/// One entry of the policy.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Who.
    pub name: String,
    /// Their address, if given.
    pub email: Option<String>,
    /// Their key.
    pub key: Key,
    /// The globs their commits may touch (`None`: everything).
    pub paths: Option<(Vec<String>, GlobSet)>,
    /// Not valid before (Unix seconds).
    pub not_before: Option<i64>,
    /// Not valid after (Unix seconds).
    pub not_after: Option<i64>,
    /// Revoked from (Unix seconds).
    pub revoked_at: Option<i64>,
}

impl Signer {
    /// The first of `paths` this signer may not touch.
    pub fn forbidden<'a>(&self, paths: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
        let (_, set) = self.paths.as_ref()?;
        paths.into_iter().find(|p| !set.is_match(p.as_str()))
    }
}

/// A parsed signer policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The signers, in file order.
    pub signers: Vec<Signer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    version: Option<Spanned<i64>>,
    #[serde(default, rename = "signer")]
    signers: Vec<RawSigner>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigner {
    name: Spanned<String>,
    #[serde(default)]
    email: Option<String>,
    key: Spanned<String>,
    #[serde(default)]
    fingerprint: Option<Spanned<String>>,
    #[serde(default)]
    paths: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    not_before: Option<Spanned<toml::Value>>,
    #[serde(default)]
    not_after: Option<Spanned<toml::Value>>,
    #[serde(default)]
    revoked_at: Option<Spanned<toml::Value>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|b| *b == b'\n').count() + 1)
}

impl Policy {
    /// Parses a policy file; `file` names it in errors (e.g. `<commit>:.zt/signers.toml`).
    pub fn parse(text: &str, file: &str) -> Result<Self, Error> {
        let err = |offset: usize, message: String| Error::SignerPolicy {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        if let Some(v) = &raw.version
            && *v.get_ref() != 1
        {
            return Err(err(
                v.span().start,
                format!(
                    "unsupported version {}; this zt reads version 1",
                    v.get_ref()
                ),
            ));
        }
        let time = |v: &Option<Spanned<toml::Value>>, field: &str| -> Result<Option<i64>, Error> {
            let Some(v) = v else { return Ok(None) };
            let text = match v.get_ref() {
                toml::Value::Datetime(d) => d.to_string(),
                toml::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            zt_core::time::parse_rfc3339(&text).map(Some).ok_or_else(|| {
                err(
                    v.span().start,
                    format!("`{field}` is not an RFC 3339 date-time with a time zone (e.g. 2026-01-01T00:00:00Z)"),
                )
            })
        };
        let mut signers = Vec::with_capacity(raw.signers.len());
        for s in &raw.signers {
            if s.name.get_ref().trim().is_empty() {
                return Err(err(s.name.span().start, "`name` is empty".into()));
            }
            let text_key = s.key.get_ref().trim();
            let key = if text_key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                Key::Pgp(Box::new(
                    PgpKey::parse(text_key).map_err(|m| err(s.key.span().start, m))?,
                ))
            } else {
                Key::Ssh(SshKey::parse(text_key).map_err(|m| err(s.key.span().start, m))?)
            };
            if let Some(fp) = &s.fingerprint {
                let ok = match &key {
                    Key::Ssh(k) => k.fingerprint() == fp.get_ref().trim(),
                    Key::Pgp(k) => k.has_fingerprint(fp.get_ref()),
                };
                if !ok {
                    return Err(err(
                        fp.span().start,
                        format!(
                            "`fingerprint` does not match the key, whose fingerprint is {}",
                            key.fingerprint()
                        ),
                    ));
                }
            }
            let paths = match &s.paths {
                None => None,
                Some(p) => {
                    let mut b = GlobSetBuilder::new();
                    for g in p.get_ref() {
                        let glob = globset::GlobBuilder::new(g)
                            .literal_separator(true)
                            .build()
                            .map_err(|e| err(p.span().start, format!("bad glob `{g}`: {e}")))?;
                        b.add(glob);
                    }
                    let set = b
                        .build()
                        .map_err(|e| err(p.span().start, format!("bad globs: {e}")))?;
                    Some((p.get_ref().clone(), set))
                }
            };
            let not_before = time(&s.not_before, "not_before")?;
            let not_after = time(&s.not_after, "not_after")?;
            if let (Some(a), Some(b)) = (not_before, not_after)
                && a > b
            {
                return Err(err(
                    s.name.span().start,
                    "`not_before` is after `not_after`".into(),
                ));
            }
            signers.push(Signer {
                name: s.name.get_ref().trim().to_string(),
                email: s.email.clone(),
                key,
                paths,
                not_before,
                not_after,
                revoked_at: time(&s.revoked_at, "revoked_at")?,
            });
        }
        Ok(Self { signers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE/uNTxA0U+qA3eNa84HjbeL3B4TlkaMqx9lLZipDlFN test";

    #[test]
    fn parses_a_signer() {
        let text = format!(
            "version = 1\n[[signer]]\nname = \"alice\"\nkey = \"{KEY}\"\npaths = [\"src/**\", \".zt/signers.toml\"]\nnot_before = 2026-01-01T00:00:00Z\nrevoked_at = \"2026-06-01T00:00:00Z\"\n"
        );
        let p = Policy::parse(&text, "signers.toml").unwrap();
        let s = &p.signers[0];
        assert_eq!(s.name, "alice");
        assert_eq!(s.not_before, Some(1_767_225_600));
        assert_eq!(s.revoked_at, Some(1_780_272_000));
        let ok = ["src/a/b.rs".to_string(), ".zt/signers.toml".to_string()];
        assert_eq!(s.forbidden(&ok), None);
        let bad = ["README.md".to_string()];
        assert_eq!(s.forbidden(&bad), Some(&bad[0]));
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!(
            "[[signer]]\nname = \"alice\"\nkey = \"{KEY}\"\n\n[[signer]]\nname = \"bob\"\nkey = \"ssh-ed25519 AAAA\"\n"
        );
        match Policy::parse(&text, "f") {
            Err(Error::SignerPolicy { line, message, .. }) => {
                assert_eq!(line, 7, "{message}");
                assert!(message.contains("OpenSSH"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match Policy::parse("[[signer]]\nname = \"a\"\nkey = 3\n", "f") {
            Err(Error::SignerPolicy { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        match Policy::parse(
            &format!("[[signer]]\nname = \"a\"\nkey = \"{KEY}\"\nnot_after = \"tomorrow\"\n"),
            "f",
        ) {
            Err(Error::SignerPolicy { line, message, .. }) => {
                assert_eq!(line, 4);
                assert!(message.contains("not_after"));
            }
            other => panic!("{other:?}"),
        }
        match Policy::parse(
            &format!("[[signer]]\nname = \"a\"\nkey = \"{KEY}\"\nfingerprint = \"SHA256:x\"\n"),
            "f",
        ) {
            Err(Error::SignerPolicy { line, .. }) => assert_eq!(line, 4),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Policy::parse("[[signer]]\nname = \"a\"\nkey = \"k\"\nunknown = 1\n", "f"),
            Err(Error::SignerPolicy { line: 4, .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = Policy::parse(&text, "f");
        }

        #[test]
        fn never_panics_on_signer_shaped_input(name in "[a-z\"]{0,8}", key in "\\PC{0,40}", when in "\\PC{0,25}") {
            let text = format!("[[signer]]\nname = \"{name}\"\nkey = \"{key}\"\nnot_after = \"{when}\"\n");
            let _ = Policy::parse(&text, "f");
        }
    }
}
