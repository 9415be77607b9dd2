//! The trust configuration (`.zt/secrets/trust.toml`): which OIDC issuers the broker accepts,
//! for which audiences, where their keys come from, and how long scoped tokens live.
//!
//! ```toml
//! token_lifetime = 600        # seconds; default 10 minutes
//! max_token_lifetime = 3600   # the cap token_lifetime may not exceed; never above 1 hour
//!
//! [[issuer]]
//! url = "https://token.actions.githubusercontent.com"
//! audiences = ["zt"]
//! # jwks = "github-jwks.json"   # a file (relative to .zt/secrets); otherwise OIDC discovery
//! refresh = 3600                # seconds between discovery refreshes (default 1 hour)
//! ```
//!
//!
//! `zt serve`'s evidence hub reads two more things here: which CI identities may upload
//! evidence about what, and whether its reads need a token.
//!
//! ```toml
//! reads = "public"              # or "token" (the default): reads need a `read` API token
//!
//! [[upload]]
//! bind = "repository=org/app,ref=refs/heads/main"   # claims, as for secrets
//! predicate_types = ["https://slsa.dev/provenance/v1", "https://zt.dev/**"]   # globs: `*` within a `/` segment, `**` across
//! ```
//!
//! Without `jwks`, the keys are fetched from the issuer's `/.well-known/openid-configuration`
//! (`https` only, except on a loopback address) and cached in `.zt/secrets/jwks-cache/`; when
//! the issuer cannot be reached the cache is used. A token whose `kid` is not in the cached set
//! triggers one refresh, at most once a minute, so a key rotation at the issuer is picked up.
//! Unknown keys in the file are errors that name the key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::Error;
use crate::jose::Jwks;

/// The trust config file, relative to the secrets directory.
pub const TRUST_FILE: &str = "trust.toml";
/// The default scoped-token lifetime (seconds).
pub const DEFAULT_LIFETIME: i64 = 600;
/// No scoped token lives longer than this (seconds), whatever the config says.
pub const HARD_MAX_LIFETIME: i64 = 3600;
const MIN_REFETCH_SECONDS: i64 = 60;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_DOCUMENT_BYTES: u64 = 512 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    token_lifetime: Option<i64>,
    max_token_lifetime: Option<i64>,
    #[serde(default)]
    issuer: Vec<IssuerFile>,
    reads: Option<String>,
    #[serde(default)]
    upload: Vec<UploadFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadFile {
    bind: String,
    predicate_types: Vec<String>,
}

/// Who may upload evidence to the hub: a CI identity whose verified ID token satisfies
/// `binding` may upload bundles whose predicate type matches one of `predicate_types`
/// (globs as in bindings; a message signature's type is `"signature"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRule {
    /// The claims the token must satisfy.
    pub binding: crate::Binding,
    /// The predicate types it may upload.
    pub predicate_types: Vec<String>,
}

impl UploadRule {
    /// Whether this rule lets `claims` upload a bundle of `predicate_type`.
    pub fn allows(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
        predicate_type: &str,
    ) -> bool {
        self.binding.matches(claims)
            && self
                .predicate_types
                .iter()
                .any(|p| p == "*" || crate::binding::glob(p, predicate_type))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerFile {
    url: String,
    audiences: Vec<String>,
    jwks: Option<PathBuf>,
    refresh: Option<i64>,
}

/// One trusted issuer.
#[derive(Debug)]
pub struct Issuer {
    /// The issuer URL, exactly as the tokens' `iss` claim says it.
    pub url: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
    /// A JWKS file, when keys are pinned rather than discovered.
    pub jwks_file: Option<PathBuf>,
    /// Seconds between discovery refreshes.
    pub refresh: i64,
    keys: RwLock<Option<Cached>>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each making
    /// their own.
    fetching: Mutex<()>,
    cache_path: PathBuf,
}

#[derive(Debug, Clone)]
struct Cached {
    jwks: Arc<Jwks>,
    fetched_at: i64,
}

/// The parsed trust config.
#[derive(Debug)]
pub struct Trust {
    /// Lifetime of issued scoped tokens (seconds).
    pub token_lifetime: i64,
    /// The issuers, by URL.
    pub issuers: HashMap<String, Issuer>,
    /// Whether the evidence hub answers reads without a token (`reads = "public"`).
    pub public_reads: bool,
    /// Who may upload evidence (`[[upload]]`).
    pub uploads: Vec<UploadRule>,
}

impl Trust {
    /// Reads `trust.toml` in the secrets directory `dir`, and loads pinned JWKS files (so a
    /// JWKS that does not parse is reported when the broker opens, not at the first token).
    pub fn load(dir: &Path) -> Result<Trust, Error> {
        let path = dir.join(TRUST_FILE);
        let cfg = |message: String| Error::Config {
            path: path.clone(),
            message,
        };
        let text = fs_err::read_to_string(&path)?;
        let file: File = toml::from_str(&text).map_err(|e| cfg(e.message().to_string()))?;
        let max = file.max_token_lifetime.unwrap_or(HARD_MAX_LIFETIME);
        if !(1..=HARD_MAX_LIFETIME).contains(&max) {
            return Err(cfg(format!(
                "`max_token_lifetime = {max}`: must be between 1 and {HARD_MAX_LIFETIME} seconds"
            )));
        }
        let lifetime = file.token_lifetime.unwrap_or(DEFAULT_LIFETIME.min(max));
        if !(1..=max).contains(&lifetime) {
            return Err(cfg(format!(
                "`token_lifetime = {lifetime}`: must be between 1 and `max_token_lifetime` ({max}) seconds"
            )));
        }
        let mut issuers = HashMap::new();
        for i in file.issuer {
            check_url(&i.url).map_err(|m| cfg(format!("issuer `{}`: {m}", i.url)))?;
            if i.audiences.is_empty() {
                return Err(cfg(format!("issuer `{}` lists no `audiences`", i.url)));
            }
            let refresh = i.refresh.unwrap_or(3600);
            if refresh < MIN_REFETCH_SECONDS {
                return Err(cfg(format!(
                    "issuer `{}`: `refresh = {refresh}` is below {MIN_REFETCH_SECONDS} seconds",
                    i.url
                )));
            }
            let digest = hex::encode(Sha256::digest(i.url.as_bytes()));
            let issuer = Issuer {
                cache_path: dir
                    .join("jwks-cache")
                    .join(format!("{}.json", digest.get(..16).unwrap_or(&digest))),
                jwks_file: i.jwks.map(|p| dir.join(p)),
                url: i.url.clone(),
                audiences: i.audiences,
                refresh,
                keys: RwLock::new(None),
                fetching: Mutex::new(()),
            };
            if let Some(file) = &issuer.jwks_file {
                let jwks = read_jwks(&issuer.url, file)?;
                issuer.set(jwks, 0);
            } else if issuer.cache_path.exists() {
                // A cache that no longer parses is ignored: the next token refetches.
                if let Ok(jwks) = read_jwks(&issuer.url, &issuer.cache_path) {
                    let at = fs_err::metadata(&issuer.cache_path)
                        .ok()
                        .and_then(|m| m.modified().ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs() as i64);
                    issuer.set(jwks, at);
                }
            }
            if issuers.insert(i.url.clone(), issuer).is_some() {
                return Err(cfg(format!("issuer `{}` is listed twice", i.url)));
            }
        }
        let public_reads = match file.reads.as_deref() {
            None | Some("token") => false,
            Some("public") => true,
            Some(other) => {
                return Err(cfg(format!(
                    "`reads = \"{other}\"`: must be \"public\" or \"token\""
                )));
            }
        };
        let mut uploads = Vec::new();
        for u in file.upload {
            let binding = crate::Binding::parse(&u.bind)
                .map_err(|e| cfg(format!("`[[upload]] bind = \"{}\"`: {e}", u.bind)))?;
            if u.predicate_types.is_empty() {
                return Err(cfg(format!(
                    "`[[upload]] bind = \"{}\"` lists no `predicate_types`",
                    u.bind
                )));
            }
            uploads.push(UploadRule {
                binding,
                predicate_types: u.predicate_types,
            });
        }
        Ok(Trust {
            token_lifetime: lifetime,
            issuers,
            public_reads,
            uploads,
        })
    }
}

/// An OIDC ID token whose signature, issuer, audience and times verified.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// Every claim.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Trust {
    /// Verifies an OIDC ID token against the trusted issuers (signature under the issuer's
    /// key named by `kid`, `exp`/`nbf`/`iat` at `now`, `aud`). No `jti` replay check: a CI
    /// job may present its token for several uploads while it lives.
    pub fn verify_id_token(&self, token: &[u8], now: i64) -> Result<VerifiedIdToken, Error> {
        let jws = crate::jose::Jws::parse(token)?;
        let text = |name: &str| {
            jws.claim_str(name).map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect::<String>()
            })
        };
        let iss = text("iss")
            .ok_or_else(|| Error::denied(crate::Denial::Malformed, "the token has no `iss`"))?;
        let issuer = self.issuers.get(iss.as_str()).ok_or_else(|| {
            Error::denied(
                crate::Denial::WrongIssuer,
                format!("issuer `{iss}` is not trusted"),
            )
        })?;
        let kid = jws
            .kid
            .as_deref()
            .ok_or_else(|| Error::denied(crate::Denial::UnknownKid, "the token has no `kid`"))?;
        let jwks = issuer.keys(Some(kid), now)?;
        let jwk = jwks.get(kid).ok_or_else(|| {
            Error::denied(
                crate::Denial::UnknownKid,
                format!("the token's key is not in the JWKS of `{iss}`"),
            )
        })?;
        jws.verify(jwk)?;
        jws.check_times(now)?;
        if !jws.audience_matches(&issuer.audiences) {
            return Err(Error::denied(
                crate::Denial::WrongAudience,
                format!("`aud` is not one of {}", issuer.audiences.join(", ")),
            ));
        }
        Ok(VerifiedIdToken {
            sub: text("sub").unwrap_or_default(),
            iss,
            claims: jws.claims.clone(),
        })
    }
}

fn read_jwks(issuer: &str, path: &Path) -> Result<Jwks, Error> {
    let bytes = fs_err::read(path)?;
    Jwks::parse(&bytes).map_err(|message| Error::Jwks {
        issuer: issuer.to_string(),
        source_name: path.display().to_string(),
        message,
    })
}

/// `https://`, or `http://` to a loopback address (tests, a local issuer).
fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Ok(());
        }
    }
    Err("must be an `https://` URL".into())
}

impl Issuer {
    fn set(&self, jwks: Jwks, at: i64) {
        if let Ok(mut k) = self.keys.write() {
            *k = Some(Cached {
                jwks: Arc::new(jwks),
                fetched_at: at,
            });
        }
    }

    fn cached(&self) -> Option<Cached> {
        self.keys.read().ok().and_then(|k| k.clone())
    }

    /// The issuer's keys, refreshed by discovery when stale or when `kid` is missing from
    /// them (at most once a minute). Pinned JWKS files are never refetched.
    pub fn keys(&self, kid: Option<&str>, now: i64) -> Result<Arc<Jwks>, Error> {
        if let Some(keys) = self.keys_without_fetch(kid, now) {
            return keys;
        }
        let _fetching = self
            .fetching
            .lock()
            .map_err(|_| Error::Internal("JWKS fetch lock poisoned"))?;
        // Another request may have refreshed the keys while this one waited.
        let cached = self.cached();
        self.refresh_now(cached, kid, now)
    }

    /// [`Issuer::keys`] when they are at hand (pinned, or cached and fresh): `None` when they
    /// would have to be fetched first, which blocks on the network. `zt serve` answers
    /// exchanges on its async workers when this is `Some`, and on its blocking pool otherwise.
    pub fn keys_without_fetch(
        &self,
        kid: Option<&str>,
        now: i64,
    ) -> Option<Result<Arc<Jwks>, Error>> {
        let cached = self.cached();
        if self.jwks_file.is_some() {
            return Some(
                cached
                    .map(|c| c.jwks)
                    .ok_or(Error::Internal("pinned JWKS not loaded")),
            );
        }
        if self.wants_refresh(cached.as_ref(), kid, now) {
            return None;
        }
        Some(
            cached
                .map(|c| c.jwks)
                .ok_or(Error::Internal("JWKS cache empty")),
        )
    }

    fn wants_refresh(&self, cached: Option<&Cached>, kid: Option<&str>, now: i64) -> bool {
        match cached {
            None => true,
            Some(c) => {
                let age = now.saturating_sub(c.fetched_at);
                age >= self.refresh
                    || (age >= MIN_REFETCH_SECONDS && kid.is_some_and(|k| c.jwks.get(k).is_none()))
            }
        }
    }

    fn refresh_now(
        &self,
        cached: Option<Cached>,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Arc<Jwks>, Error> {
        let wants_refresh = match &cached {
            None => true,
            Some(c) => {
                let age = now.saturating_sub(c.fetched_at);
                age >= self.refresh
                    || (age >= MIN_REFETCH_SECONDS && kid.is_some_and(|k| c.jwks.get(k).is_none()))
            }
        };
        if !wants_refresh {
            return cached
                .map(|c| c.jwks)
                .ok_or_else(|| Error::Internal("JWKS cache empty"));
        }
        match self.fetch() {
            Ok((jwks, raw)) => {
                if let Some(parent) = self.cache_path.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                zt_core::fsutil::write_atomic(&self.cache_path, &raw)?;
                let jwks = Arc::new(jwks);
                if let Ok(mut k) = self.keys.write() {
                    *k = Some(Cached {
                        jwks: jwks.clone(),
                        fetched_at: now,
                    });
                }
                Ok(jwks)
            }
            // Offline: the cache stands in, however old (the keys' own rotation is the limit).
            Err(e) => match cached {
                Some(c) => {
                    if let Ok(mut k) = self.keys.write() {
                        *k = Some(Cached {
                            jwks: c.jwks.clone(),
                            fetched_at: now
                                .saturating_sub(self.refresh)
                                .saturating_add(MIN_REFETCH_SECONDS),
                        });
                    }
                    Ok(c.jwks)
                }
                None => Err(e),
            },
        }
    }

    fn fetch(&self) -> Result<(Jwks, Vec<u8>), Error> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            self.url.trim_end_matches('/')
        );
        let err = |source: &str, message: String| Error::Jwks {
            issuer: self.url.clone(),
            source_name: source.to_string(),
            message,
        };
        let doc = get(&discovery).map_err(|m| err(&discovery, m))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&doc).map_err(|e| err(&discovery, format!("not JSON: {e}")))?;
        if doc.get("issuer").and_then(|v| v.as_str()) != Some(self.url.as_str()) {
            return Err(err(
                &discovery,
                "its `issuer` is not the configured URL".into(),
            ));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| err(&discovery, "no `jwks_uri`".into()))?;
        check_url(jwks_uri).map_err(|m| err(jwks_uri, m))?;
        let raw = get(jwks_uri).map_err(|m| err(jwks_uri, m))?;
        let jwks = Jwks::parse(&raw).map_err(|m| err(jwks_uri, m))?;
        Ok((jwks, raw))
    }
}

fn get(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .max_redirects(0)
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| e.to_string())?;
    resp.body_mut()
        .with_config()
        .limit(MAX_DOCUMENT_BYTES)
        .read_to_vec()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Trust, Error> {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join(TRUST_FILE), text).unwrap();
        Trust::load(dir.path())
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load("token_lifetime = 60\nlifetime = 5\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `lifetime`"), "{e}");
        let e =
            load("[[issuer]]\nurl = \"https://a\"\naudiences = [\"x\"]\nkeys = 1\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `keys`"), "{e}");
    }

    #[test]
    fn upload_bindings_and_read_policy() {
        let t = load("").unwrap();
        assert!(
            !t.public_reads && t.uploads.is_empty(),
            "reads need a token by default"
        );
        let t = load(
            "reads = \"public\"\n[[upload]]\nbind = \"repository=org/*\"\npredicate_types = [\"https://slsa.dev/**\", \"https://zt.dev/attestation/*/v1\"]\n",
        )
        .unwrap();
        assert!(t.public_reads);
        let claims = |repo: &str, event: &str| {
            serde_json::json!({"repository": repo, "event_name": event})
                .as_object()
                .unwrap()
                .clone()
        };
        let rule = &t.uploads[0];
        assert!(rule.allows(&claims("org/app", "push"), "https://slsa.dev/provenance/v1"));
        assert!(!rule.allows(&claims("org/app", "push"), "https://cyclonedx.org/bom"));
        // `*` stays within one `/` segment, `**` crosses them (the secrets bindings' globs).
        assert!(rule.allows(
            &claims("org/app", "push"),
            "https://zt.dev/attestation/source/v1"
        ));
        assert!(!rule.allows(
            &claims("org/app", "push"),
            "https://zt.dev/attestation/a/b/v1"
        ));
        assert!(!rule.allows(
            &claims("evil/app", "push"),
            "https://slsa.dev/provenance/v1"
        ));
        // As for secrets: a binding that does not name the event never opens to a pull request.
        assert!(!rule.allows(
            &claims("org/app", "pull_request"),
            "https://slsa.dev/provenance/v1"
        ));
        for bad in [
            "reads = \"everyone\"\n",
            "[[upload]]\nbind = \"repository=org/app\"\npredicate_types = []\n",
            "[[upload]]\nbind = \"colour=red\"\npredicate_types = [\"*\"]\n",
            "[[upload]]\nbind = \"repository=org/app\"\npredicate_types = [\"*\"]\nextra = 1\n",
        ] {
            assert!(load(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifetime_is_capped_at_one_hour() {
        assert_eq!(load("").unwrap().token_lifetime, 600);
        assert!(load("token_lifetime = 7200\n").is_err());
        assert!(load("max_token_lifetime = 7200\n").is_err());
        assert!(load("max_token_lifetime = 300\ntoken_lifetime = 301\n").is_err());
        assert_eq!(
            load("max_token_lifetime = 300\n").unwrap().token_lifetime,
            300
        );
    }

    #[test]
    fn issuers_must_use_https_except_on_loopback() {
        assert!(load("[[issuer]]\nurl = \"http://example.com\"\naudiences = [\"x\"]\n").is_err());
        load("[[issuer]]\nurl = \"http://127.0.0.1:8080\"\naudiences = [\"x\"]\n").unwrap();
    }

    #[test]
    fn a_jwks_file_that_does_not_parse_is_named() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("k.json"), "{\"keys\": 5}").unwrap();
        fs_err::write(
            dir.path().join(TRUST_FILE),
            "[[issuer]]\nurl = \"https://a\"\naudiences = [\"x\"]\njwks = \"k.json\"\n",
        )
        .unwrap();
        let e = Trust::load(dir.path()).unwrap_err();
        assert!(matches!(e, Error::Jwks { .. }), "{e}");
        assert!(e.to_string().contains("k.json"), "{e}");
    }
}
