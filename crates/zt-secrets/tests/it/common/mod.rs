//! A test OIDC issuer: RSA, P-256 and Ed25519 keys made at test time, a JWKS and an
//! openid-configuration served on 127.0.0.1 by a thread, and a repository with a secrets
//! store that trusts it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

pub fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// Signing keys of one party (the issuer, or the attacker).
pub struct Keys {
    pub rsa: RsaKeyPair,
    pub ec: EcdsaKeyPair,
    pub ed: Ed25519KeyPair,
}

fn rsa_pkcs8() -> Vec<u8> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    key.to_pkcs8_der().unwrap().as_bytes().to_vec()
}

impl Keys {
    pub fn new() -> Keys {
        let rng = SystemRandom::new();
        let ec = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        Keys {
            rsa: RsaKeyPair::from_pkcs8(&rsa_pkcs8()).unwrap(),
            ec: EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                ec.as_ref(),
                &rng,
            )
            .unwrap(),
            ed: Ed25519KeyPair::from_pkcs8(ed.as_ref()).unwrap(),
        }
    }

    /// The JWKS of these keys, with kids `<prefix>-rsa`, `<prefix>-ec`, `<prefix>-ed`.
    pub fn jwks(&self, prefix: &str) -> Value {
        let p = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(self.rsa.public());
        let ec = self.ec.public_key().as_ref();
        json!({"keys": [
            {"kty": "RSA", "kid": format!("{prefix}-rsa"), "use": "sig",
             "n": b64(&p.n),
             "e": b64(&p.e)},
            {"kty": "EC", "crv": "P-256", "kid": format!("{prefix}-ec"),
             "x": b64(&ec[1..33]), "y": b64(&ec[33..65])},
            {"kty": "OKP", "crv": "Ed25519", "kid": format!("{prefix}-ed"),
             "x": b64(self.ed.public_key().as_ref())},
        ]})
    }

    /// Signs `header.claims` with the key `header.alg` names (HS256 uses `hmac_key`).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(&serde_json::to_vec(header).unwrap()),
            b64(&serde_json::to_vec(claims).unwrap())
        );
        let rng = SystemRandom::new();
        let sig = match header["alg"].as_str().unwrap() {
            "RS256" | "PS256" => {
                let pad: &dyn signature::RsaEncoding = if header["alg"] == "RS256" {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut sig = vec![0; self.rsa.public().modulus_len()];
                self.rsa
                    .sign(pad, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            "ES256" => self
                .ec
                .sign(&rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            "EdDSA" => self.ed.sign(input.as_bytes()).as_ref().to_vec(),
            "none" => Vec::new(),
            other => panic!("test cannot sign {other}"),
        };
        format!("{input}.{}", b64(&sig))
    }
}

/// HS256 over `header.claims` with `secret` as the HMAC key.
pub fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// Serves `routes` (path → body) over HTTP/1.1 on 127.0.0.1 until the process ends.
pub fn serve(routes: Vec<(String, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    serve_on(listener, routes);
    url
}

/// The issuer's and an attacker's keys, made once per test binary (RSA keygen is slow).
pub fn keys() -> &'static (Keys, Keys) {
    static K: OnceLock<(Keys, Keys)> = OnceLock::new();
    K.get_or_init(|| (Keys::new(), Keys::new()))
}

/// A repository with a secrets store trusting a test issuer served on loopback.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub issuer: String,
    pub attacker_url: String,
    pub now: Arc<AtomicI64>,
}

pub const SECRET_VALUE: &[u8] = b"s3cr3t-value-4f9a1c";

impl Env {
    pub fn new() -> Env {
        let (good, bad) = keys();
        let url = serve_issuer(&good.jwks("k"));
        let attacker_url = serve(vec![("/jwks".into(), bad.jwks("evil").to_string())]);
        let dir = tempfile::tempdir().unwrap();
        let zt = dir.path().join(".zt");
        zt_secrets::init(&zt, &zt_secrets::InitOptions::default()).unwrap();
        fs_err::write(
            zt.join("secrets/trust.toml"),
            format!("[[issuer]]\nurl = \"{url}\"\naudiences = [\"zt\"]\n"),
        )
        .unwrap();
        zt_secrets::put(
            &zt,
            "db",
            SECRET_VALUE,
            vec![zt_secrets::Binding::parse("repository=org/app,ref=refs/heads/main").unwrap()],
        )
        .unwrap();
        zt_secrets::put(
            &zt,
            "other",
            b"other-value",
            vec![zt_secrets::Binding::parse("repository=org/other").unwrap()],
        )
        .unwrap();
        let now = Arc::new(AtomicI64::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        ));
        Env {
            dir,
            issuer: url,
            attacker_url,
            now,
        }
    }

    pub fn zt(&self) -> PathBuf {
        self.dir.path().join(".zt")
    }

    pub fn broker(&self) -> zt_secrets::Broker {
        let now = self.now.clone();
        zt_secrets::Broker::open(&self.zt())
            .unwrap()
            .with_clock(Arc::new(move || now.load(Ordering::SeqCst)))
    }

    pub fn time(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    /// Claims of a main-branch push in org/app, valid now.
    pub fn claims(&self) -> Value {
        static N: AtomicI64 = AtomicI64::new(0);
        let t = self.time();
        json!({
            "iss": self.issuer, "aud": "zt", "sub": "repo:org/app:ref:refs/heads/main",
            "repository": "org/app", "ref": "refs/heads/main", "event_name": "push",
            "workflow_ref": "org/app/.github/workflows/ci.yml@refs/heads/main",
            "jti": format!("jti-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)),
            "iat": t, "nbf": t, "exp": t + 300,
        })
    }

    pub fn token(&self, claims: &Value) -> String {
        keys().0.sign(
            &json!({"alg": "RS256", "kid": "k-rsa", "typ": "JWT"}),
            claims,
        )
    }
}

/// Serves the issuer's discovery document and JWKS; returns its URL.
fn serve_issuer(jwks: &Value) -> String {
    // The document must name the URL it is served from: bind, then build the routes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let routes = vec![
        (
            "/.well-known/openid-configuration".to_string(),
            json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string(),
        ),
        ("/jwks".to_string(), jwks.to_string()),
    ];
    serve_on(listener, routes);
    url
}

fn serve_on(listener: TcpListener, routes: Vec<(String, String)>) {
    zt_test_support::issuer::serve_on(listener, routes);
}
