//! Registry credentials and challenges: `docker login` credentials from
//! `~/.docker/config.json` (`auths`, the base64 `auth` field or `username`/`password`), and the
//! `WWW-Authenticate` challenges of the distribution token flow (Bearer) or Basic auth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::Error;

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}, <hidden>)", self.username)
    }
}

impl Credential {
    /// The `Authorization: Basic …` value.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            zt_core::b64::encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// The credentials `docker login` stored, by registry.
#[derive(Debug, Clone, Default)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credential>,
}

impl DockerConfig {
    /// Reads `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; a missing file is an
    /// empty config.
    pub fn load_default() -> Result<Self, Error> {
        let path = match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".docker/config.json"),
                None => return Ok(Self::default()),
            },
        };
        if !path.is_file() {
            return Ok(Self::default());
        }
        Self::parse(&fs_err::read(&path)?, &path)
    }

    /// Parses a docker `config.json`. Entries this client cannot use (credential helpers,
    /// empty entries) are skipped; a malformed `auth` is an error naming the registry.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let bad = |reason: String| Error::DockerConfig {
            path: path.to_path_buf(),
            reason,
        };
        let json: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let mut auths = BTreeMap::new();
        let Some(map) = json.get("auths").and_then(|a| a.as_object()) else {
            return Ok(Self { auths });
        };
        for (key, entry) in map {
            let text = |k: &str| entry.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            let cred = if !text("auth").is_empty() {
                let decoded = zt_core::b64::decode(text("auth"))
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| bad(format!("the `auth` of `{key}` is not base64 text")))?;
                let (u, p) = decoded
                    .split_once(':')
                    .ok_or_else(|| bad(format!("the `auth` of `{key}` is not `user:password`")))?;
                Credential {
                    username: u.to_string(),
                    password: p.to_string(),
                }
            } else if !text("username").is_empty() {
                Credential {
                    username: text("username").to_string(),
                    password: text("password").to_string(),
                }
            } else if !text("identitytoken").is_empty() {
                Credential {
                    username: "<token>".to_string(),
                    password: text("identitytoken").to_string(),
                }
            } else {
                continue;
            };
            auths.insert(registry_key(key), cred);
        }
        Ok(Self { auths })
    }

    /// The credential for `registry` (`docker.io` also matches Docker Hub's legacy key).
    pub fn get(&self, registry: &str) -> Option<&Credential> {
        self.auths.get(&registry_key(registry))
    }
}

/// The host part docker keys `auths` by: `https://index.docker.io/v1/` is `docker.io`.
fn registry_key(key: &str) -> String {
    let host = key
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => crate::reference::DOCKER_HUB.into(),
        _ => host,
    }
}

/// A `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Bearer realm=…,service=…,scope=…`: get a token from the realm.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The service parameter.
        service: Option<String>,
        /// The scope parameter.
        scope: Option<String>,
    },
    /// `Basic realm=…`: send the credentials directly.
    Basic,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value (untrusted; `None` when it is neither form).
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")
                .filter(|r| r.starts_with("https://") || r.starts_with("http://"))?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `k="v", k2=v2` (quoted values may hold commas).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        value.push(c);
                        escaped = false;
                    }
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((name.trim().to_string(), value.trim().to_string()));
        if out.len() > 32 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn docker_config_auths() {
        // `docker login` writes base64 `user:password` (built here, so that no test string
        // looks like a stored credential).
        let auth = zt_core::b64::encode("user:pass:with:colons");
        let json = format!(
            r#"{{"auths":{{
            "https://index.docker.io/v1/":{{"auth":"{auth}"}},
            "127.0.0.1:5000":{{"username":"u","password":"p"}},
            "ghcr.io":{{"auth":""}}}},
            "credsStore":"desktop"}}"#
        );
        let c = DockerConfig::parse(json.as_bytes(), Path::new("config.json")).unwrap();
        let hub = c.get("docker.io").unwrap();
        assert_eq!(hub.username, "user");
        assert_eq!(hub.password, "pass:with:colons");
        assert_eq!(c.get("127.0.0.1:5000").unwrap().basic(), "Basic dTpw");
        assert!(c.get("ghcr.io").is_none());
        assert!(!format!("{hub:?}").contains("pass"));
        let e = DockerConfig::parse(br#"{"auths":{"x.io":{"auth":"!!"}}}"#, Path::new("c"))
            .unwrap_err();
        assert!(e.to_string().contains("x.io"), "{e}");
    }

    #[test]
    fn bearer_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull,push".into()),
            }
        );
        assert_eq!(
            Challenge::parse("Basic realm=\"r\""),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Bearer realm=\"file:///etc\""), None);
        assert_eq!(Challenge::parse("Negotiate"), None);
    }

    proptest! {
        #[test]
        fn challenge_parse_never_panics(s in ".{0,400}") {
            let _ = Challenge::parse(&s);
        }
    }
}
