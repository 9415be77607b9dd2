//! The attack table of issue 9: each row mints its own token against a test issuer whose
//! JWKS is served on 127.0.0.1, and must be refused with its specific reason AND leave a
//! denial in the access log (verified against the transparency log).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::atomic::Ordering;

use common::{Env, SECRET_VALUE, b64, hs256, keys};
use serde_json::{Value, json};
use zt_secrets::{AccessQuery, Broker};

/// Asserts the exchange is refused with `reason`, and that the refusal is the newest access
/// record, logged and provable.
fn refused(broker: &Broker, token: &[u8], reason: &str) {
    let err = broker
        .exchange(token)
        .expect_err("the token must be refused");
    assert_eq!(err.reason(), reason, "{err}");
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let last = report.records.last().expect("a denial record");
    assert_eq!(
        (
            last.action.as_str(),
            last.decision.as_str(),
            last.reason.as_str()
        ),
        ("exchange", "deny", reason),
        "{last:?}"
    );
}

fn refused_read(broker: &Broker, token: &str, secret: &str, reason: &str) {
    let err = broker
        .read(token, secret)
        .expect_err("the read must be refused");
    assert_eq!(err.reason(), reason, "{err}");
    let report = broker.audit(&AccessQuery::default()).unwrap();
    let last = report.records.last().unwrap();
    assert_eq!(
        (
            last.action.as_str(),
            last.decision.as_str(),
            last.reason.as_str()
        ),
        ("read", "deny", reason),
        "{last:?}"
    );
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn rs256(kid: &str) -> Value {
    json!({"alg": "RS256", "kid": kid, "typ": "JWT"})
}

#[test]
fn happy_path_every_algorithm() {
    let env = Env::new();
    let broker = env.broker();
    let (good, _) = keys();
    for header in [
        rs256("k-rsa"),
        json!({"alg": "PS256", "kid": "k-rsa"}),
        json!({"alg": "ES256", "kid": "k-ec"}),
        json!({"alg": "EdDSA", "kid": "k-ed"}),
    ] {
        let token = good.sign(&header, &env.claims());
        let issued = broker
            .exchange(token.as_bytes())
            .unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(issued.secrets, ["db"]);
        assert_eq!(issued.expires_at, env.time() + 600);
        assert_eq!(
            broker.read(&issued.token, "db").unwrap().expose(),
            SECRET_VALUE
        );
    }
    let report = broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let actions: Vec<_> = report
        .records
        .iter()
        .map(|r| (r.action.as_str(), r.decision.as_str()))
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == ("exchange", "allow"))
            .count(),
        4
    );
    assert_eq!(
        actions.iter().filter(|a| **a == ("read", "allow")).count(),
        4
    );
    let read = report
        .records
        .iter()
        .rev()
        .find(|r| r.action == "read")
        .unwrap();
    assert_eq!(
        read.who,
        format!("{} repo:org/app:ref:refs/heads/main", env.issuer)
    );
    assert_eq!(read.repository.as_deref(), Some("org/app"));
}

/// Nothing under `.zt` — log tiles, ledger, store, journal — holds the value in the clear.
#[test]
fn the_value_is_never_written_in_the_clear() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    broker.read(&issued.token, "db").unwrap();
    let _ = broker.read(&issued.token, "other");
    drop(broker);
    let mut files = 0;
    let mut stack = vec![env.zt()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                let bytes = fs_err::read(&p).unwrap();
                assert!(
                    !bytes.windows(SECRET_VALUE.len()).any(|w| w == SECRET_VALUE),
                    "{} holds the secret value",
                    p.display()
                );
            }
        }
    }
    assert!(files > 5, "only {files} files checked");
}

#[test]
fn alg_none() {
    let env = Env::new();
    let t = keys()
        .0
        .sign(&json!({"alg": "none", "kid": "k-rsa"}), &env.claims());
    refused(&env.broker(), t.as_bytes(), "alg_none");
}

/// HS256 signed with the issuer's public key (its JWK, as published) as the HMAC secret.
#[test]
fn hs256_with_the_public_key_as_secret() {
    let env = Env::new();
    let jwk = keys().0.jwks("k")["keys"][0].to_string();
    let t = hs256(
        &json!({"alg": "HS256", "kid": "k-rsa"}),
        &env.claims(),
        jwk.as_bytes(),
    );
    refused(&env.broker(), t.as_bytes(), "key_confusion");
}

/// An RS256 header naming the issuer's EC key: the key type does not fit the algorithm.
#[test]
fn algorithm_that_does_not_fit_the_key() {
    let env = Env::new();
    let t = keys()
        .0
        .sign(&json!({"alg": "RS256", "kid": "k-ec"}), &env.claims());
    refused(&env.broker(), t.as_bytes(), "key_confusion");
}

#[test]
fn valid_signature_by_an_unknown_key() {
    let env = Env::new();
    let t = keys().1.sign(&rs256("k-rsa"), &env.claims());
    refused(&env.broker(), t.as_bytes(), "bad_signature");
}

#[test]
fn kid_not_in_the_jwks() {
    let env = Env::new();
    let t = keys().1.sign(&rs256("evil-rsa"), &env.claims());
    refused(&env.broker(), t.as_bytes(), "unknown_kid");
}

#[test]
fn no_kid() {
    let env = Env::new();
    let t = keys().0.sign(&json!({"alg": "RS256"}), &env.claims());
    refused(&env.broker(), t.as_bytes(), "unknown_kid");
}

/// `jku`, `x5u` and an embedded `jwk` pointing at the attacker's key are ignored: the kid is
/// looked up in the issuer's JWKS only.
#[test]
fn jku_x5u_and_embedded_jwk_are_ignored() {
    let env = Env::new();
    let broker = env.broker();
    let evil = keys().1.jwks("evil");
    let evil_jwk = evil["keys"][0].clone();
    let jku = format!("{}/jwks", env.attacker_url);
    for (extra, value) in [("jku", json!(jku)), ("x5u", json!(jku)), ("jwk", evil_jwk)] {
        for (kid, reason) in [("evil-rsa", "unknown_kid"), ("k-rsa", "bad_signature")] {
            let mut header = rs256(kid);
            header[extra] = value.clone();
            let t = keys().1.sign(&header, &env.claims());
            refused(&broker, t.as_bytes(), reason);
        }
    }
}

#[test]
fn expired() {
    let env = Env::new();
    let t0 = env.time();
    let c = with(
        with(
            with(env.claims(), "exp", json!(t0 - 3600)),
            "iat",
            json!(t0 - 4000),
        ),
        "nbf",
        json!(t0 - 4000),
    );
    refused(&env.broker(), env.token(&c).as_bytes(), "expired");
}

#[test]
fn nbf_in_the_future() {
    let env = Env::new();
    let c = with(env.claims(), "nbf", json!(env.time() + 3600));
    refused(&env.broker(), env.token(&c).as_bytes(), "not_yet_valid");
}

#[test]
fn wrong_issuer() {
    let env = Env::new();
    let c = with(env.claims(), "iss", json!(env.attacker_url));
    refused(&env.broker(), env.token(&c).as_bytes(), "wrong_issuer");
}

#[test]
fn wrong_audience() {
    let env = Env::new();
    let c = with(env.claims(), "aud", json!(["sigstore", "other"]));
    refused(&env.broker(), env.token(&c).as_bytes(), "wrong_audience");
}

#[test]
fn other_repository() {
    let env = Env::new();
    let c = with(env.claims(), "repository", json!("org/evil"));
    refused(&env.broker(), env.token(&c).as_bytes(), "binding_mismatch");
}

#[test]
fn other_branch() {
    let env = Env::new();
    let c = with(env.claims(), "ref", json!("refs/heads/feature"));
    refused(&env.broker(), env.token(&c).as_bytes(), "binding_mismatch");
}

/// A pull request from a fork: as `pull_request` (ref `refs/pull/N/merge`) and as
/// `pull_request_target`, which runs with the base branch's ref.
#[test]
fn pull_request_from_a_fork() {
    let env = Env::new();
    let broker = env.broker();
    let pr = with(
        with(env.claims(), "event_name", json!("pull_request")),
        "ref",
        json!("refs/pull/7/merge"),
    );
    refused(&broker, env.token(&pr).as_bytes(), "binding_mismatch");
    let target = with(env.claims(), "event_name", json!("pull_request_target"));
    assert_eq!(target["ref"], "refs/heads/main");
    refused(&broker, env.token(&target).as_bytes(), "binding_mismatch");
}

#[test]
fn replayed_jti() {
    let env = Env::new();
    let broker = env.broker();
    let t = env.token(&env.claims());
    broker.exchange(t.as_bytes()).unwrap();
    refused(&broker, t.as_bytes(), "replayed_jti");
    // Also across a restart of the broker.
    drop(broker);
    refused(&env.broker(), t.as_bytes(), "replayed_jti");
}

#[test]
fn token_over_16_kib() {
    let env = Env::new();
    let c = with(
        env.claims(),
        "padding",
        json!("x".repeat(zt_secrets::MAX_OIDC_TOKEN_BYTES)),
    );
    let t = env.token(&c);
    assert!(t.len() > zt_secrets::MAX_OIDC_TOKEN_BYTES);
    refused(&env.broker(), t.as_bytes(), "too_large");
}

#[test]
fn malformed_base64() {
    let env = Env::new();
    let broker = env.broker();
    let t = env.token(&env.claims());
    let (h, rest) = t.split_once('.').unwrap();
    refused(&broker, format!("{h}=.{rest}").as_bytes(), "malformed");
    refused(
        &broker,
        format!("{}+.{rest}", &h[..h.len() - 1]).as_bytes(),
        "malformed",
    );
    refused(&broker, b"not a jwt", "malformed");
}

#[test]
fn malformed_json() {
    let env = Env::new();
    let broker = env.broker();
    let t = env.token(&env.claims());
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    parts[1] = b64(b"{\"iss\": \"x\",");
    refused(&broker, parts.join(".").as_bytes(), "malformed");
    parts[0] = b64(b"[\"RS256\"]");
    refused(&broker, parts.join(".").as_bytes(), "malformed");
}

#[test]
fn scoped_token_after_expiry() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    env.now.fetch_add(601, Ordering::SeqCst);
    refused_read(&broker, &issued.token, "db", "token_expired");
}

#[test]
fn scoped_token_after_revocation() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    broker.read(&issued.token, "db").unwrap();
    broker.revoke_token(&issued.id).unwrap();
    refused_read(&broker, &issued.token, "db", "token_revoked");
    drop(broker);
    refused_read(&env.broker(), &issued.token, "db", "token_revoked");
}

#[test]
fn scoped_token_for_a_secret_it_does_not_list() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    refused_read(&broker, &issued.token, "other", "not_listed");
}

/// A scoped token whose payload was edited to list another secret fails the broker's
/// signature.
#[test]
fn edited_scoped_token() {
    let env = Env::new();
    let broker = env.broker();
    let issued = broker
        .exchange(env.token(&env.claims()).as_bytes())
        .unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&zt_secrets::jose::b64(parts[1]).unwrap()).unwrap();
    payload["secrets"] = json!(["db", "other"]);
    let forged = format!(
        "zts1.{}.{}",
        b64(&serde_json::to_vec(&payload).unwrap()),
        parts[2]
    );
    refused_read(&broker, &forged, "other", "bad_token");
}
