//! The secrets routes over real HTTP on 127.0.0.1 (an ephemeral port), against the real
//! broker in a temp `.zt`, with a test OIDC issuer whose JWKS the test serves on 127.0.0.1
//! (the broker finds it by OIDC discovery). Every refusal must carry its reason code and be
//! recorded as a denial in the broker's access log; the secret value must appear in no reply
//! but the read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zt_test_support::issuer;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use issuer::{AUDIENCE, Issuer, now};
use zt_secrets::{AccessQuery, Binding, Broker};
use zt_server::{Client, Problem, ServeOptions, Server};

const VALUE: &[u8] = b"s3cr3t-value-7f1c2d9e";
const REPO: &str = "org/app";
const MAIN: &str = "refs/heads/main";

struct Harness {
    _dir: tempfile::TempDir,
    url: String,
    issuer: Issuer,
    broker: Arc<Broker>,
    /// Seconds added to the broker's clock.
    skew: Arc<AtomicI64>,
    agent: ureq::Agent,
    /// The bound address, `127.0.0.1:PORT`.
    addr: std::net::SocketAddr,
    /// The operator token `zt_secrets::init` created.
    operator: String,
}

impl Harness {
    fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let zt = dir.path().join(".zt");
        zt_secrets::init(&zt, &zt_secrets::InitOptions::default()).unwrap();
        let mut issuer = Issuer::new("", "test-key-1");
        issuer.iss = Issuer::serve_jwks(issuer.jwks());
        fs_err::write(
            zt.join("secrets/trust.toml"),
            format!(
                "[[issuer]]\nurl = \"{}\"\naudiences = [\"{AUDIENCE}\"]\n",
                issuer.iss
            ),
        )
        .unwrap();
        let main_only = Binding::parse(&format!("repository={REPO},ref={MAIN}")).unwrap();
        zt_secrets::put(&zt, "db_password", VALUE, vec![main_only.clone()]).unwrap();
        zt_secrets::put(&zt, "exchange", b"named-exchange", vec![main_only]).unwrap();
        let other = Binding::parse("repository=org/other").unwrap();
        zt_secrets::put(&zt, "other_secret", b"not-for-app", vec![other]).unwrap();

        let skew = Arc::new(AtomicI64::new(0));
        let s = skew.clone();
        let broker = Arc::new(
            Broker::open(&zt)
                .unwrap()
                .with_clock(Arc::new(move || now() + s.load(Ordering::SeqCst))),
        );
        let options = ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            workers: Some(2),
            blocking_threads: 8,
            allowed_hosts: vec!["zt.example.com".to_owned()],
            tls: None,
        };
        let server = Server::bind(&options, zt_server::routes::router(broker.clone())).unwrap();
        let addr = server.local_addr();
        let url = format!("http://{addr}");
        let operator = fs_err::read_to_string(zt.join("secrets/operator.token"))
            .unwrap()
            .trim()
            .to_owned();
        // The server lives as long as the test process.
        std::thread::spawn(move || server.run_until(std::future::pending()).unwrap());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Harness {
            _dir: dir,
            url,
            issuer,
            broker,
            skew,
            agent,
            addr,
            operator,
        }
    }

    /// Sends a raw HTTP/1.1 request (any `Host`, any headers): (status, content type, body).
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
        use std::io::{Read as _, Write as _};
        let mut conn = std::net::TcpStream::connect(self.addr).unwrap();
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        conn.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let ct = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        (status, ct, raw[split + 4..].to_vec())
    }

    /// This server's own `Host` value.
    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn token(&self, jti: &str) -> String {
        self.issuer.mint(&self.issuer.claims(REPO, MAIN, jti))
    }

    /// POSTs `body` to the exchange route: (status, content type, body).
    fn post_exchange(&self, body: &[u8]) -> (u16, String, Vec<u8>) {
        let mut r = self
            .agent
            .post(&format!("{}/v1/secrets/exchange", self.url))
            .send(body)
            .unwrap();
        reply(&mut r)
    }

    fn get_secret(&self, name: &str, bearer: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut req = self.agent.get(&format!("{}/v1/secrets/{name}", self.url));
        if let Some(b) = bearer {
            req = req.header("authorization", &format!("Bearer {b}"));
        }
        reply(&mut req.call().unwrap())
    }

    /// The access log's records (verified against the log by the broker's audit).
    fn denials(&self) -> Vec<(String, String)> {
        let report = self.broker.audit(&AccessQuery::default()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        report
            .records
            .into_iter()
            .filter(|e| e.decision == "deny")
            .map(|e| (e.action, e.reason))
            .collect()
    }

    fn assert_logged_denial(&self, action: &str, reason: &str) {
        let d = self.denials();
        assert!(
            d.iter().any(|(a, r)| a == action && r == reason),
            "no `{action}` denial `{reason}` in the access log: {d:?}"
        );
    }
}

fn reply(r: &mut ureq::http::Response<ureq::Body>) -> (u16, String, Vec<u8>) {
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), ct, r.body_mut().read_to_vec().unwrap())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Asserts an RFC 9457 refusal with this status and reason, and no secret value in it.
fn assert_problem(got: &(u16, String, Vec<u8>), status: u16, reason: &str) {
    let (s, ct, body) = got;
    let text = String::from_utf8_lossy(body);
    assert_eq!(*s, status, "{text}");
    assert_eq!(ct, "application/problem+json", "{text}");
    let p: Problem = serde_json::from_slice(body).unwrap();
    assert_eq!((p.status, p.detail.as_str()), (status, reason), "{text}");
    assert!(
        !contains(body, VALUE),
        "the secret value leaked into a refusal"
    );
}

#[test]
fn exchange_then_read_over_http() {
    let h = Harness::start();
    let client = Client::new(&h.url).unwrap();
    let issued = client.exchange(h.token("happy-1").as_bytes()).unwrap();
    assert_eq!(issued.secrets, ["db_password", "exchange"]);
    assert!(issued.expires_at > now() && issued.expires_at <= now() + 600 + 5);
    assert!(!contains(issued.token.as_bytes(), VALUE));
    assert_eq!(client.read(&issued.token, "db_password").unwrap(), VALUE);
    // A secret named like a route is still readable.
    assert_eq!(
        client.read(&issued.token, "exchange").unwrap(),
        b"named-exchange"
    );

    // The JSON body form, with the raw reply checked: JSON, no-store, no value.
    let body = serde_json::to_vec(&serde_json::json!({"token": h.token("happy-2")})).unwrap();
    let mut r = h
        .agent
        .post(&format!("{}/v1/secrets/exchange", h.url))
        .header("content-type", "application/json")
        .send(&body[..])
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (status, ct, body) = reply(&mut r);
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert!(!contains(&body, VALUE));
    let token = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, ct, value) = h.get_secret("db_password", Some(&token));
    assert_eq!((status, ct.as_str()), (200, "application/octet-stream"));
    assert_eq!(value, VALUE);

    // Health and unknown routes.
    let (status, _, body) = reply(&mut h.agent.get(&format!("{}/healthz", h.url)).call().unwrap());
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    let got = reply(
        &mut h
            .agent
            .get(&format!("{}/v2/nothing", h.url))
            .call()
            .unwrap(),
    );
    assert_problem(&got, 404, "no_such_route");
}

#[test]
fn attacks_on_the_exchange_are_refused_with_a_reason_and_logged() {
    let h = Harness::start();
    let i = &h.issuer;
    let expired = {
        let mut c = i.claims(REPO, MAIN, "exp-1");
        c["iat"] = (now() - 3600).into();
        c["nbf"] = (now() - 3600).into();
        c["exp"] = (now() - 1800).into();
        i.mint(&c)
    };
    let wrong_aud = {
        let mut c = i.claims(REPO, MAIN, "aud-1");
        c["aud"] = "someone-else".into();
        i.mint(&c)
    };
    let alg_none = {
        let b64 = |v: serde_json::Value| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            b64(serde_json::json!({"alg": "none", "kid": i.kid})),
            b64(i.claims(REPO, MAIN, "none-1"))
        )
    };
    let unknown_kid = i.mint_with_header(
        &serde_json::json!({"alg": "ES256", "kid": "not-in-jwks"}),
        &i.claims(REPO, MAIN, "kid-1"),
    );
    let fork = i.mint(&i.claims("attacker/app", MAIN, "fork-1"));
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("expired", expired, 401, "expired"),
        ("wrong audience", wrong_aud, 401, "wrong_audience"),
        ("alg none", alg_none, 401, "alg_none"),
        ("unknown kid", unknown_kid, 401, "unknown_kid"),
        ("other repository", fork, 403, "binding_mismatch"),
        ("malformed", "not.a-jwt".into(), 400, "malformed"),
    ];
    for (name, token, status, reason) in &cases {
        let got = h.post_exchange(token.as_bytes());
        assert_eq!(
            got.0,
            *status,
            "{name}: {}",
            String::from_utf8_lossy(&got.2)
        );
        assert_problem(&got, *status, reason);
        h.assert_logged_denial("exchange", reason);
    }

    // Each OIDC token is exchangeable once.
    let token = h.token("replay-1");
    assert_eq!(h.post_exchange(token.as_bytes()).0, 200);
    assert_problem(&h.post_exchange(token.as_bytes()), 401, "replayed_jti");
    h.assert_logged_denial("exchange", "replayed_jti");
}

#[test]
fn oversize_body_is_refused_413_and_logged() {
    let h = Harness::start();
    let body = vec![b'a'; 20 * 1024];
    assert_problem(&h.post_exchange(&body), 413, "too_large");
    h.assert_logged_denial("exchange", "too_large");
    // Wrapped in JSON, a token over 16 KiB is refused the same way.
    let big =
        serde_json::to_vec(&serde_json::json!({"token": "a".repeat(16 * 1024 + 10)})).unwrap();
    assert_problem(&h.post_exchange(&big), 413, "too_large");
}

#[test]
fn scoped_token_misuse_is_refused_and_logged() {
    let h = Harness::start();
    let client = Client::new(&h.url).unwrap();
    let issued = client.exchange(h.token("scoped-1").as_bytes()).unwrap();

    // A secret the token does not list.
    assert_problem(
        &h.get_secret("other_secret", Some(&issued.token)),
        403,
        "not_listed",
    );
    h.assert_logged_denial("read", "not_listed");
    // No bearer, a forged bearer, a path-character name.
    assert_problem(&h.get_secret("db_password", None), 401, "bad_token");
    let mut forged = issued.token.clone();
    forged.push('x');
    assert_problem(
        &h.get_secret("db_password", Some(&forged)),
        401,
        "bad_token",
    );
    assert_problem(
        &h.get_secret("..%2Fstore.json", Some(&issued.token)),
        400,
        "invalid_name",
    );
    // The client surfaces refusals as `Refused` with the reason code.
    match client.read(&issued.token, "other_secret") {
        Err(zt_server::Error::Refused { status, detail }) => {
            assert_eq!((status, detail.as_str()), (403, "not_listed"));
        }
        other => panic!("{other:?}"),
    }

    // Revocation: the operator token, from loopback only, never on behalf of a forwarded
    // client.
    let revoke = |forwarded: bool, operator: Option<&str>| {
        let mut req = h
            .agent
            .post(&format!("{}/v1/secrets/tokens/{}/revoke", h.url, issued.id));
        if forwarded {
            req = req.header("x-forwarded-for", "203.0.113.9");
        }
        if let Some(t) = operator {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        reply(&mut req.send_empty().unwrap())
    };
    assert_problem(&revoke(true, Some(&h.operator)), 403, "admin_loopback_only");
    assert_eq!(h.get_secret("db_password", Some(&issued.token)).0, 200);
    assert_eq!(revoke(false, Some(&h.operator)).0, 200);
    assert_problem(
        &h.get_secret("db_password", Some(&issued.token)),
        401,
        "token_revoked",
    );
    h.assert_logged_denial("read", "token_revoked");

    // After expiry (the broker's clock moves past the 10-minute lifetime).
    let fresh = client.exchange(h.token("scoped-2").as_bytes()).unwrap();
    h.skew.store(601, Ordering::SeqCst);
    assert_problem(
        &h.get_secret("db_password", Some(&fresh.token)),
        401,
        "token_expired",
    );
    h.assert_logged_denial("read", "token_expired");
}

/// Regression (issue 16): the revoke route needed no credential from loopback, so any local
/// process — or a web page through the browser — could revoke tokens.
#[test]
fn revocation_needs_the_operator_token_even_from_loopback() {
    let h = Harness::start();
    let client = Client::new(&h.url).unwrap();
    let issued = client.exchange(h.token("op-1").as_bytes()).unwrap();
    let path = format!("/v1/secrets/tokens/{}/revoke", issued.id);
    let host = h.host();
    // The scoped token itself, a forged operator token, none: all refused.
    let scoped = format!("Bearer {}", issued.token);
    let forged = format!("Bearer {}x", h.operator);
    for (auth, reason) in [
        (None, "operator_required"),
        (Some(scoped.as_str()), "bad_operator_token"),
        (Some(forged.as_str()), "bad_operator_token"),
        (Some("Basic b3A6b3A="), "operator_required"),
    ] {
        let mut headers = vec![("Host", host.as_str())];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        assert_problem(&h.raw("POST", &path, &headers), 401, reason);
        h.assert_logged_denial("revoke", reason);
    }
    assert_eq!(h.get_secret("db_password", Some(&issued.token)).0, 200);
    // The operator token: revoked.
    let bearer = format!("Bearer {}", h.operator);
    let got = h.raw(
        "POST",
        &path,
        &[("Host", &host), ("Authorization", &bearer)],
    );
    assert_eq!(got.0, 200, "{}", String::from_utf8_lossy(&got.2));
    assert_problem(
        &h.get_secret("db_password", Some(&issued.token)),
        401,
        "token_revoked",
    );
}

/// A secret added while the server runs (the server holds the repository's log, so the
/// store can only change through it): the operator token from loopback, every refusal recorded,
/// the new version readable at once by an exchange, and a bad request refused with its reason
/// without changing the store.
#[test]
fn the_operator_puts_secrets_through_the_server() {
    use base64::Engine as _;
    let h = Harness::start();
    let client = Client::new(&h.url).unwrap();
    let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
    let put = |name: &str, auth: Option<&str>, forwarded: bool, body: &str| {
        let mut req = h.agent.put(&format!("{}/v1/secrets/{name}", h.url));
        if let Some(t) = auth {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        if forwarded {
            req = req.header("forwarded", "for=203.0.113.9");
        }
        reply(&mut req.send(body.as_bytes()).unwrap())
    };
    let bound = format!("repository={REPO},ref={MAIN}");
    let good =
        serde_json::json!({"value": b64(b"new-api-key-91c3"), "bindings": [bound]}).to_string();

    // Refused before anything is stored, each refusal of the token recorded.
    assert_problem(
        &put("api_key", None, false, &good),
        401,
        "operator_required",
    );
    h.assert_logged_denial("put", "operator_required");
    let forged = format!("{}x", h.operator);
    assert_problem(
        &put("api_key", Some(&forged), false, &good),
        401,
        "bad_operator_token",
    );
    h.assert_logged_denial("put", "bad_operator_token");
    // A malformed body without the token says nothing about the body.
    assert_problem(&put("api_key", None, false, "{"), 401, "operator_required");
    assert_problem(
        &put("api_key", Some(&h.operator), true, &good),
        403,
        "admin_loopback_only",
    );
    for (body, status, reason) in [
        ("{".to_owned(), 400, "malformed_body"),
        (serde_json::json!({"value": "not base64!"}).to_string(), 400, "malformed_body"),
        (serde_json::json!({"value": b64(b"x"), "extra": 1}).to_string(), 400, "malformed_body"),
        (serde_json::json!({"value": ""}).to_string(), 400, "empty_value"),
        (serde_json::json!({"value": b64(b"x"), "bindings": ["colour=blue"]}).to_string(), 400, "unknown_claim"),
        (serde_json::json!({"value": b64(&vec![7u8; zt_server::routes::secrets::MAX_PUT_VALUE_BYTES + 1])}).to_string(), 413, "too_large"),
    ] {
        assert_problem(&put("api_key", Some(&h.operator), false, &body), status, reason);
    }
    assert_problem(
        &put("bad/name", Some(&h.operator), false, &good),
        404,
        "no_such_route",
    );
    assert_problem(
        &put(".hidden", Some(&h.operator), false, &good),
        400,
        "invalid_name",
    );
    let scoped = client.exchange(h.token("put-0").as_bytes()).unwrap();
    assert!(
        !scoped.secrets.contains(&"api_key".to_owned()),
        "{:?}",
        scoped.secrets
    );

    // Stored: version 1 of a new secret, version 2 of an existing one; an exchange made
    // after the put opens both, with the new values.
    let got = put("api_key", Some(&h.operator), false, &good);
    assert_eq!(got.0, 200, "{}", String::from_utf8_lossy(&got.2));
    let v: serde_json::Value = serde_json::from_slice(&got.2).unwrap();
    assert_eq!(v, serde_json::json!({"name": "api_key", "version": 1}));
    assert_eq!(
        client
            .put_secret(
                &h.operator,
                "db_password",
                b"rotated-db-pw",
                std::slice::from_ref(&bound)
            )
            .unwrap(),
        2
    );
    assert_eq!(
        client
            .put_secret(&h.operator, "exchange", b"named-exchange-2", &[bound])
            .unwrap(),
        2
    );
    let issued = client.exchange(h.token("put-1").as_bytes()).unwrap();
    assert_eq!(
        client.read(&issued.token, "api_key").unwrap(),
        b"new-api-key-91c3"
    );
    assert_eq!(
        client.read(&issued.token, "db_password").unwrap(),
        b"rotated-db-pw"
    );
    assert_eq!(
        client.read(&issued.token, "exchange").unwrap(),
        b"named-exchange-2"
    );
    match client.put_secret("zto1.wrong", "api_key", b"x", &[]) {
        Err(zt_server::Error::Refused { status, detail }) => {
            assert_eq!((status, detail.as_str()), (401, "bad_operator_token"));
        }
        other => panic!("{other:?}"),
    }
    // Revocation through the client, with the operator token.
    client.revoke(&h.operator, &issued.id).unwrap();
    assert_problem(
        &h.get_secret("api_key", Some(&issued.token)),
        401,
        "token_revoked",
    );

    // The access log holds each put, never a value.
    let report = h.broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let puts: Vec<(String, Option<String>, String)> = report
        .records
        .iter()
        .filter(|r| r.action == "put" && r.decision == "allow" && r.who == "http:operator")
        .map(|r| (r.reason.clone(), r.secret.clone(), r.who.clone()))
        .collect();
    assert_eq!(puts.len(), 3, "{puts:?}");
    for r in &report.records {
        let entry = serde_json::to_string(r).unwrap();
        for secret in [
            "new-api-key-91c3",
            "rotated-db-pw",
            "bmV3LWFwaS1rZXktOTFjMw",
        ] {
            assert!(!entry.contains(secret), "{entry}");
        }
    }
}

/// Regression (issue 16): `zt serve` ignored `Host`, so a page whose DNS name was rebound to
/// 127.0.0.1 reached every route; and a browser's cross-site request was served.
#[test]
fn foreign_host_and_cross_site_origin_are_refused_on_every_route() {
    let h = Harness::start();
    let client = Client::new(&h.url).unwrap();
    let issued = client.exchange(h.token("host-1").as_bytes()).unwrap();
    let own = h.host();
    let rebound = format!("evil.example:{}", h.addr.port());
    let other_port = format!("127.0.0.1:{}", h.addr.port().wrapping_add(1));
    let bearer = format!("Bearer {}", issued.token);
    let operator = format!("Bearer {}", h.operator);
    let revoke = format!("/v1/secrets/tokens/{}/revoke", issued.id);
    let routes: [(&str, &str, &str); 6] = [
        ("GET", "/healthz", ""),
        ("GET", "/v1/secrets/db_password", &bearer),
        ("POST", "/v1/secrets/exchange", ""),
        ("POST", &revoke, &operator),
        ("PUT", "/v1/secrets/db_password", &operator),
        ("GET", "/no/such/route", ""),
    ];
    for (method, path, auth) in routes {
        let with = |extra: &[(&'static str, &str)]| {
            let mut headers: Vec<(&str, &str)> = extra.to_vec();
            if !auth.is_empty() {
                headers.push(("Authorization", auth));
            }
            h.raw(method, path, &headers)
        };
        assert_problem(&with(&[("Host", &rebound)]), 421, "wrong_host");
        assert_problem(&with(&[("Host", &other_port)]), 421, "wrong_host");
        assert_problem(
            &with(&[("Host", "zt.example.com.evil.example")]),
            421,
            "wrong_host",
        );
        assert_problem(&with(&[]), 400, "missing_host");
        for (name, value) in [
            ("Origin", "https://evil.example"),
            ("Origin", "null"),
            ("Origin", "http://127.0.0.1:1"),
            ("Sec-Fetch-Site", "cross-site"),
        ] {
            assert_problem(&with(&[("Host", &own), (name, value)]), 403, "cross_origin");
        }
    }
    // Nothing reached the broker: the token still works and was never revoked.
    assert_eq!(h.get_secret("db_password", Some(&issued.token)).0, 200);
    // The server's own names pass: its address, a same-origin `Origin`, an allowed proxy name.
    let own_origin = format!("http://{own}");
    for headers in [
        vec![("Host", own.as_str())],
        vec![("Host", own.as_str()), ("Origin", own_origin.as_str())],
        vec![("Host", "zt.example.com")],
        vec![
            ("Host", "zt.example.com"),
            ("Origin", "https://zt.example.com"),
        ],
    ] {
        let got = h.raw("GET", "/healthz", &headers);
        assert_eq!(got.0, 200, "{headers:?}");
    }
}

/// The server's async path (`start_exchange`, `start_read`, durability awaited on the access
/// log's thread) and the blocking one the CLI uses (`Broker::exchange`, `Broker::read`) write
/// one access log at the same time: every exchange and read of either is recorded exactly
/// once, in one gap-free sequence the audit proves against the transparency log.
#[test]
fn http_and_direct_callers_share_one_access_log_without_loss() {
    let h = Arc::new(Harness::start());
    // The first exchange fetches the issuer's keys (the blocking path); the rest are async.
    let first = Client::new(&h.url)
        .unwrap()
        .exchange(h.token("warm-up").as_bytes())
        .unwrap();
    let workers: Vec<_> = (0..6)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                let client = Client::new(&h.url).unwrap();
                (0..15)
                    .map(|i| {
                        let token = h.token(&format!("shared-{t}-{i}"));
                        let (scoped, id) = if t % 2 == 0 {
                            let i = client.exchange(token.as_bytes()).unwrap();
                            (i.token, i.id)
                        } else {
                            let i = h.broker.exchange(token.as_bytes()).unwrap();
                            (i.token, i.id)
                        };
                        let value = if i % 2 == 0 {
                            client.read(&scoped, "db_password").unwrap()
                        } else {
                            h.broker
                                .read(&scoped, "db_password")
                                .unwrap()
                                .expose()
                                .to_vec()
                        };
                        assert_eq!(value, VALUE);
                        id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut read: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    read.sort();
    let mut exchanged = read.clone();
    exchanged.push(first.id);
    exchanged.sort();
    let report = h.broker.audit(&AccessQuery::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let of = |action: &str| {
        let mut v: Vec<String> = report
            .records
            .iter()
            .filter(|e| e.action == action && e.decision == "allow")
            .map(|e| e.token_id.clone().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        of("exchange"),
        exchanged,
        "each exchange recorded exactly once"
    );
    assert_eq!(of("read"), read, "each read recorded exactly once");
    let seqs: Vec<u64> = report.records.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
}
