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

/// Claim values longer than this never match (real ones are far shorter); it bounds the
/// matcher's work on attacker-chosen claims.
pub const MAX_CLAIM_LEN: usize = 1024;

/// Glob match: `**` any run of characters, `*` any run without `/`, `?` one non-`/`
/// character, everything else literal. Dynamic programming over (pattern, text) positions:
/// O(pattern × text), never exponential whatever the stars.
pub fn glob(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy)]
    enum Tok {
        Deep,
        Star,
        One,
        Lit(u8),
    }
    if text.len() > MAX_CLAIM_LEN {
        return false;
    }
    let p = pattern.as_bytes();
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while let Some(&c) = p.get(i) {
        match c {
            b'*' if p.get(i + 1) == Some(&b'*') => {
                toks.push(Tok::Deep);
                i += 2;
            }
            b'*' => {
                toks.push(Tok::Star);
                i += 1;
            }
            b'?' => {
                toks.push(Tok::One);
                i += 1;
            }
            c => {
                toks.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    let t = text.as_bytes();
    // row[j]: the tokens so far match t[..j].
    let mut row = vec![false; t.len() + 1];
    row[0] = true;
    for tok in toks {
        let mut next = vec![false; t.len() + 1];
        match tok {
            Tok::Deep | Tok::Star => {
                let mut reach = false;
                for j in 0..=t.len() {
                    if row[j] {
                        reach = true;
                    }
                    next[j] = reach;
                    if matches!(tok, Tok::Star) && t.get(j) == Some(&b'/') {
                        reach = false;
                    }
                }
            }
            Tok::One | Tok::Lit(_) => {
                for j in 0..t.len() {
                    let ok = match tok {
                        Tok::Lit(c) => t[j] == c,
                        _ => t[j] != b'/',
                    };
                    next[j + 1] = row[j] && ok;
                }
            }
        }
        row = next;
    }
    row[t.len()]
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

    /// Many stars against a long near-miss used to be exponential with naive backtracking.
    #[test]
    fn many_stars_are_not_exponential() {
        let text = "a".repeat(1000);
        assert!(!glob("*a*a*a*a*a*a*a*a*a*a*a*a*b", &text));
        assert!(glob("**a**a**a", &text));
        assert!(!glob("*", &"x".repeat(MAX_CLAIM_LEN + 1)));
    }

    proptest::proptest! {
        #[test]
        fn glob_without_wildcards_is_equality(a in "[a-z/]{0,12}", b in "[a-z/]{0,12}") {
            proptest::prop_assert_eq!(glob(&a, &b), a == b);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,64}") {
            let _ = Binding::parse(&s);
        }
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
