//! A test OIDC issuer: an ES256 key made in the test, tokens minted with any header and
//! claims, and its JWKS (and discovery document) served on 127.0.0.1 by a std thread.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

/// The audience the tests' tokens carry.
pub const AUDIENCE: &str = "zt-secrets-test";

/// An issuer with an ES256 key.
pub struct Issuer {
    /// The key id in the JWKS and the tokens' header.
    pub kid: String,
    /// The issuer URL put in tokens (`iss`).
    pub iss: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

impl Issuer {
    /// A fresh key; `iss` is the issuer URL put in tokens.
    pub fn new(iss: &str, kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        Self {
            kid: kid.to_owned(),
            iss: iss.to_owned(),
            key,
            rng,
        }
    }

    /// The issuer's JWKS document.
    pub fn jwks(&self) -> serde_json::Value {
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65);
        serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
        }]})
    }

    /// GitHub-Actions-like claims for `repository` on `git_ref`, valid for ten minutes, with
    /// a fresh `jti`.
    pub fn claims(&self, repository: &str, git_ref: &str, jti: &str) -> serde_json::Value {
        let t = now();
        serde_json::json!({
            "iss": self.iss, "aud": AUDIENCE,
            "sub": format!("repo:{repository}:ref:{git_ref}"),
            "repository": repository, "ref": git_ref,
            "workflow_ref": format!("{repository}/.github/workflows/ci.yml@{git_ref}"),
            "job_workflow_ref": format!("{repository}/.github/workflows/ci.yml@{git_ref}"),
            "event_name": "push",
            "jti": jti, "iat": t, "nbf": t - 5, "exp": t + 600,
        })
    }

    /// An ES256 token with the standard header.
    pub fn mint(&self, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        self.mint_with_header(&header, claims)
    }

    /// An ES256 signature over any header and claims.
    pub fn mint_with_header(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(header).unwrap()),
            B64.encode(serde_json::to_vec(claims).unwrap())
        );
        let sig = self.key.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }

    /// Serves `/.well-known/openid-configuration` and `/jwks` on 127.0.0.1 from a std thread;
    /// returns the base URL. The thread answers until the test process ends.
    pub fn serve_jwks(jwks: serde_json::Value) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let discovery = serde_json::json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
        serve_on(
            listener,
            vec![
                (
                    "/.well-known/openid-configuration".to_string(),
                    discovery.to_string(),
                ),
                ("/jwks".to_string(), jwks.to_string()),
            ],
        );
        base
    }
}

/// Serves `routes` (path → JSON body; anything else is 404) over HTTP/1.1 on `listener` from a
/// std thread, until the test process ends.
pub fn serve_on(listener: TcpListener, routes: Vec<(String, String)>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = match routes.iter().find(|(p, _)| p == path) {
                Some((_, b)) => ("200 OK", b.as_str()),
                None => ("404 Not Found", ""),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}
