//! Bindings: which workload identities may read a secret, as conditions on the claims of
//! their OIDC token. A binding is a set of `claim=pattern` pairs that must all hold; a secret
//! with several bindings opens to a token that satisfies any one of them.
//!
//! Patterns are exact, or globs where `*` matches within one `/`-separated segment, `**`
//! across segments and `?` one character (`refs/heads/release/*`, `org/**`).
//!
//! Pull requests: a binding that does not name `event_name` never matches a token whose
//! `event_name` is `pull_request` or `pull_request_target`. A workflow run for a pull request
//! from a fork can carry the base branch's `ref` (`pull_request_target`), so a branch binding
//! must not open to it unless the operator said so explicitly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

/// The claims a binding may name: what GitHub Actions and GitLab CI put in their ID tokens.
pub const CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "sub",
    "repository",
    "ref",
    "environment",
    "workflow_ref",
    "job_workflow_ref",
    "event_name",
];

/// One binding: every claim must match its pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Binding(pub BTreeMap<String, String>);

impl Binding {
    /// Parses `claim=value[,claim=value…]`; unknown claim names are an error.
    pub fn parse(text: &str) -> Result<Binding, Error> {
        let mut map = BTreeMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(Error::BadBinding(text.to_string()));
            };
            let (k, v) = (k.trim(), v.trim());
            if !CLAIMS.contains(&k) {
                return Err(Error::UnknownClaim {
                    claim: k.to_string(),
                    binding: text.to_string(),
                });
            }
            if v.is_empty() || map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(Error::BadBinding(text.to_string()));
            }
        }
        if map.is_empty() {
            return Err(Error::BadBinding(text.to_string()));
        }
        Ok(Binding(map))
    }

    /// Checks a binding read back from the store (the same rules as [`Binding::parse`]).
    pub fn validate(&self) -> Result<(), Error> {
        for k in self.0.keys() {
            if !CLAIMS.contains(&k.as_str()) {
                return Err(Error::UnknownClaim {
                    claim: k.clone(),
                    binding: self.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Whether verified `claims` satisfy this binding.
    pub fn matches(&self, claims: &Map<String, Value>) -> bool {
        if !self.0.contains_key("event_name")
            && matches!(
                claims.get("event_name").and_then(Value::as_str),
                Some("pull_request" | "pull_request_target")
            )
        {
            return false;
        }
        self.0
            .iter()
            .all(|(claim, pattern)| match claims.get(claim) {
                Some(Value::String(s)) => glob(pattern, s),
                Some(Value::Array(items)) if claim == "aud" => items
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|s| glob(pattern, s)),
                _ => false,
            })
    }
}

impl std::fmt::Display for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// Glob match: `**` any run of characters, `*` any run without `/`, `?` one non-`/`
/// character, everything else literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => {
                let (deep, rest) = match rest.split_first() {
                    Some((b'*', r)) => (true, r),
                    _ => (false, rest),
                };
                for i in 0..=t.len() {
                    if go(rest, t.get(i..).unwrap_or_default()) {
                        return true;
                    }
                    if !deep && t.get(i) == Some(&b'/') {
                        return false;
                    }
                }
                false
            }
            Some((b'?', rest)) => match t.split_first() {
                Some((c, tr)) if *c != b'/' => go(rest, tr),
                _ => false,
            },
            Some((c, rest)) => match t.split_first() {
                Some((d, tr)) if d == c => go(rest, tr),
                _ => false,
            },
        }
    }
    // Patterns are short and written by the operator; the recursion is bounded by their
    // length in stars, and the claim value is capped by the token size limit.
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob("refs/heads/main", "refs/heads/main"));
        assert!(!glob("refs/heads/main", "refs/heads/main2"));
        assert!(glob("refs/heads/release/*", "refs/heads/release/1.0"));
        assert!(!glob("refs/heads/release/*", "refs/heads/release/1/x"));
        assert!(glob("refs/heads/**", "refs/heads/release/1/x"));
        assert!(glob("org/*", "org/app"));
        assert!(!glob("org/*", "org2/app"));
        assert!(glob("v?", "v1"));
        assert!(!glob("v?", "v/"));
    }

    #[test]
    fn unknown_claim_is_named() {
        let e = Binding::parse("repository=org/app,branch=main").unwrap_err();
        assert!(e.to_string().contains("unknown claim `branch`"), "{e}");
        assert!(Binding::parse("repository").is_err());
        assert!(Binding::parse("").is_err());
        assert!(Binding::parse("ref=a,ref=b").is_err());
    }

    #[test]
    fn all_claims_must_match() {
        let b = Binding::parse("repository=org/app,ref=refs/heads/main").unwrap();
        assert!(b.matches(&claims(
            serde_json::json!({"repository":"org/app","ref":"refs/heads/main"})
        )));
        assert!(!b.matches(&claims(
            serde_json::json!({"repository":"org/other","ref":"refs/heads/main"})
        )));
        assert!(!b.matches(&claims(serde_json::json!({"repository":"org/app"}))));
        assert!(!b.matches(&claims(serde_json::json!({"repository":"org/app","ref":1}))));
    }

    /// A `pull_request_target` run from a fork carries the base branch's ref; a branch
    /// binding must not open to it.
    #[test]
    fn pull_requests_need_an_explicit_event_binding() {
        let b = Binding::parse("repository=org/app,ref=refs/heads/main").unwrap();
        let pr = claims(
            serde_json::json!({"repository":"org/app","ref":"refs/heads/main","event_name":"pull_request_target"}),
        );
        assert!(!b.matches(&pr));
        let explicit =
            Binding::parse("repository=org/app,ref=refs/heads/main,event_name=pull_request_target")
                .unwrap();
        assert!(explicit.matches(&pr));
    }
}
