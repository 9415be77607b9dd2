//! A blocking client for zt's server: the secrets routes (`zt secrets token|get|exec --server
//! URL`) and the evidence API (`zt sign|attest|verify|trace --server URL`).
//!
//! Plain `http://` is accepted only for a loopback host; anything else must be `https://`
//! (verified against the Web PKI roots). Refusals come back as [`Error::Refused`] carrying the
//! server's RFC 9457 status and reason code.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use ureq::Agent;
use ureq::http::Uri;

use crate::Error;
use crate::problem::Problem;
use crate::server::is_loopback_host;

/// The largest secret value the client accepts in a reply.
const MAX_SECRET_BYTES: u64 = 64 * 1024 * 1024;
/// The largest exchange reply the client accepts (a scoped token and its secret list).
const MAX_REPLY_BYTES: u64 = 1024 * 1024;

/// What an exchange returns: the scoped token, its id, its expiry (Unix seconds) and the
/// secrets it opens. `Debug` never shows the token.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IssuedToken {
    /// The scoped token, sent as `Authorization: Bearer …` to read secrets.
    pub token: String,
    /// The token's id (for revocation and the access log).
    pub id: String,
    /// When it expires, Unix seconds.
    pub expires_at: i64,
    /// The names of the secrets it opens.
    pub secrets: Vec<String>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("secrets", &self.secrets)
            .finish()
    }
}

/// A connection to a zt server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: Agent,
}

impl Client {
    /// A client for the server at `url` (e.g. `https://zt.example.com` or
    /// `http://127.0.0.1:8787`). Refuses plain `http://` to a host that is not loopback.
    pub fn new(url: &str) -> Result<Self, Error> {
        let base = check_server_url(url)?;
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("zt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self { base, agent })
    }

    /// The server's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET <base>/<path>`: the body of a 200 reply (at most `limit` bytes), `None` on 404.
    pub fn fetch(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let mut reply = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| request_error(&url, e))?;
        if reply.status().as_u16() == 404 {
            return Ok(None);
        }
        let body = read_body(&url, &mut reply, limit)?;
        check_status(reply.status().as_u16(), &body)?;
        Ok(Some(body))
    }

    /// Exchanges an OIDC ID token for a scoped token (`POST /v1/secrets/exchange`).
    pub fn exchange(&self, oidc_token: &[u8]) -> Result<IssuedToken, Error> {
        let url = format!("{}/v1/secrets/exchange", self.base);
        let mut reply = self
            .agent
            .post(&url)
            .header("content-type", "application/jwt")
            .send(oidc_token)
            .map_err(|e| request_error(&url, e))?;
        let body = read_body(&url, &mut reply, MAX_REPLY_BYTES)?;
        check_status(reply.status().as_u16(), &body)?;
        serde_json::from_slice(&body).map_err(|e| Error::BadReply {
            url,
            reason: e.to_string(),
        })
    }

    /// Reads one secret's value with a scoped token (`GET /v1/secrets/{name}`).
    pub fn read(&self, scoped_token: &str, name: &str) -> Result<Vec<u8>, Error> {
        let url = format!("{}/v1/secrets/{}", self.base, percent_encode(name));
        let mut reply = self
            .agent
            .get(&url)
            .header("authorization", &format!("Bearer {scoped_token}"))
            .call()
            .map_err(|e| request_error(&url, e))?;
        let body = read_body(&url, &mut reply, MAX_SECRET_BYTES)?;
        check_status(reply.status().as_u16(), &body)?;
        Ok(body)
    }

    /// Revokes a scoped token by id (`POST /v1/secrets/tokens/{id}/revoke`), as the operator
    /// (`operator_token`: `.zt/secrets/operator.token`); the server takes it only from a
    /// loopback peer.
    pub fn revoke(&self, operator_token: &str, id: &str) -> Result<(), Error> {
        let url = format!(
            "{}/v1/secrets/tokens/{}/revoke",
            self.base,
            percent_encode(id)
        );
        let mut reply = self
            .agent
            .post(&url)
            .header("authorization", &format!("Bearer {operator_token}"))
            .send_empty()
            .map_err(|e| request_error(&url, e))?;
        let body = read_body(&url, &mut reply, MAX_REPLY_BYTES)?;
        check_status(reply.status().as_u16(), &body)
    }

    /// Stores `value` as the next version of secret `name`, readable by workloads matching
    /// any of `bindings` (`claim=value[,claim=value…]` each), as the operator
    /// (`PUT /v1/secrets/{name}`; the server takes it only from a loopback peer). Returns the
    /// version.
    pub fn put_secret(
        &self,
        operator_token: &str,
        name: &str,
        value: &[u8],
        bindings: &[String],
    ) -> Result<u32, Error> {
        #[derive(Deserialize)]
        struct Stored {
            version: u32,
        }
        let url = format!("{}/v1/secrets/{}", self.base, percent_encode(name));
        let body = zeroize::Zeroizing::new(
            serde_json::to_vec(&serde_json::json!({
                "value": base64::engine::general_purpose::STANDARD.encode(value),
                "bindings": bindings,
            }))
            .map_err(|e| Error::BadReply {
                url: url.clone(),
                reason: e.to_string(),
            })?,
        );
        let mut reply = self
            .agent
            .put(&url)
            .header("authorization", &format!("Bearer {operator_token}"))
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(|e| request_error(&url, e))?;
        let reply_body = read_body(&url, &mut reply, MAX_REPLY_BYTES)?;
        check_status(reply.status().as_u16(), &reply_body)?;
        serde_json::from_slice::<Stored>(&reply_body)
            .map(|s| s.version)
            .map_err(|e| Error::BadReply {
                url,
                reason: e.to_string(),
            })
    }
}

/// The evidence API (`/api/v1/…`). `credential` is an API token or a CI job's OIDC ID token,
/// sent as `Authorization: Bearer`.
impl Client {
    /// Uploads a Sigstore bundle (`POST /api/v1/bundles`); returns the receipt.
    pub fn upload(
        &self,
        credential: Option<&str>,
        bundle: &[u8],
    ) -> Result<serde_json::Value, Error> {
        let url = format!("{}/api/v1/bundles", self.base);
        let mut req = self.agent.post(&url).header(
            "content-type",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
        );
        if let Some(c) = credential {
            req = req.header("authorization", &format!("Bearer {c}"));
        }
        let mut reply = req.send(bundle).map_err(|e| request_error(&url, e))?;
        evidence_reply(&url, &mut reply)
    }

    /// The judgement of `digest` at `stage` (`POST /api/v1/decide`).
    pub fn decide(
        &self,
        credential: Option<&str>,
        digest: &str,
        stage: &str,
    ) -> Result<serde_json::Value, Error> {
        let url = format!("{}/api/v1/decide", self.base);
        let body = serde_json::json!({ "digest": digest, "stage": stage }).to_string();
        let mut req = self
            .agent
            .post(&url)
            .header("content-type", "application/json");
        if let Some(c) = credential {
            req = req.header("authorization", &format!("Bearer {c}"));
        }
        let mut reply = req
            .send(body.as_bytes())
            .map_err(|e| request_error(&url, e))?;
        evidence_reply(&url, &mut reply)
    }

    /// The trace of `digest` (`GET /api/v1/trace/{digest}`).
    pub fn trace(
        &self,
        credential: Option<&str>,
        digest: &str,
    ) -> Result<serde_json::Value, Error> {
        let url = format!("{}/api/v1/trace/{}", self.base, percent_encode(digest));
        let mut req = self.agent.get(&url);
        if let Some(c) = credential {
            req = req.header("authorization", &format!("Bearer {c}"));
        }
        let mut reply = req.call().map_err(|e| request_error(&url, e))?;
        evidence_reply(&url, &mut reply)
    }
}

/// The JSON of a 2xx evidence reply, or [`Error::EvidenceRefused`] with the problem's reason
/// code, reason and fix (control characters removed, each at most 500 characters).
fn evidence_reply(
    url: &str,
    reply: &mut ureq::http::Response<ureq::Body>,
) -> Result<serde_json::Value, Error> {
    let body = read_body(url, reply, MAX_EVIDENCE_REPLY_BYTES)?;
    let status = reply.status().as_u16();
    if !(200..300).contains(&status) {
        let p = serde_json::from_slice::<Problem>(&body).ok();
        let clean = |s: Option<String>| -> String {
            s.unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(500)
                .collect()
        };
        let code = p
            .as_ref()
            .map(|p| p.detail.clone())
            .filter(|d| !d.is_empty() && d.len() <= 128 && d.bytes().all(is_reason_byte))
            .unwrap_or_else(|| "no_reason_given".to_owned());
        let explanation = p.and_then(|p| p.explanation);
        return Err(Error::EvidenceRefused {
            status,
            code,
            reason: clean(explanation.as_ref().map(|e| e.reason.clone())),
            fix: clean(explanation.map(|e| e.fix)),
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::BadReply {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

/// The largest evidence reply the client accepts (a page of bundles, a trace).
const MAX_EVIDENCE_REPLY_BYTES: u64 = 256 * 1024 * 1024;

fn request_error(url: &str, e: ureq::Error) -> Error {
    Error::Request {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

fn read_body(
    url: &str,
    reply: &mut ureq::http::Response<ureq::Body>,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    reply
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| request_error(url, e))
}

/// A non-2xx reply becomes [`Error::Refused`] with the problem's reason code (or the bare
/// status when the body is not a problem document, e.g. from a proxy).
fn check_status(status: u16, body: &[u8]) -> Result<(), Error> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let detail = serde_json::from_slice::<Problem>(body)
        .ok()
        .map(|p| p.detail)
        .filter(|d| !d.is_empty() && d.len() <= 128 && d.bytes().all(is_reason_byte))
        .unwrap_or_else(|| "no_reason_given".to_owned());
    Err(Error::Refused { status, detail })
}

/// Reason codes are short `snake_case` words; anything else from a server is not echoed.
fn is_reason_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' || b == b'.'
}

/// Checks a server URL and returns it without a trailing slash.
pub fn check_server_url(url: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::InvalidServerUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
    let host = uri.host().ok_or_else(|| bad("no host"))?;
    if uri.query().is_some() || url.contains('#') {
        return Err(bad("a query or fragment is not allowed"));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(bad("credentials in the URL are not allowed"));
    }
    match scheme {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => {
            return Err(Error::InsecureServerUrl {
                url: url.to_owned(),
            });
        }
        _ => return Err(bad("the scheme must be https:// (or http:// to loopback)")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for one path segment.
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert_eq!(
            check_server_url("https://zt.example.com/").unwrap(),
            "https://zt.example.com"
        );
        assert_eq!(
            check_server_url("http://127.0.0.1:8787").unwrap(),
            "http://127.0.0.1:8787"
        );
        check_server_url("http://localhost:1/base/").unwrap();
        check_server_url("http://[::1]:8787").unwrap();
        for url in [
            "http://zt.example.com",
            "http://10.0.0.1:8787",
            "http://0.0.0.0:8787",
            "http://127.0.0.1.example.com",
        ] {
            assert!(
                matches!(check_server_url(url), Err(Error::InsecureServerUrl { .. })),
                "{url}"
            );
        }
        for url in [
            "ftp://127.0.0.1",
            "127.0.0.1:8787",
            "https://a/b?c=d",
            "https://u:p@host",
            "",
        ] {
            assert!(
                matches!(check_server_url(url), Err(Error::InvalidServerUrl { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(percent_encode("db-password_1.x~"), "db-password_1.x~");
        assert_eq!(percent_encode("../a b/%"), "..%2Fa%20b%2F%25");
    }

    #[test]
    fn refusal_keeps_reason_codes_only() {
        let p = serde_json::to_vec(&Problem::new(403, "secret_not_in_token")).unwrap();
        assert!(matches!(
            check_status(403, &p),
            Err(Error::Refused { status: 403, ref detail }) if detail == "secret_not_in_token"
        ));
        // A body that is not a problem document (or carries free text) is not echoed.
        let junk = br#"{"status":500,"detail":"<b>value=hunter2</b>"}"#;
        assert!(matches!(
            check_status(500, junk),
            Err(Error::Refused { status: 500, ref detail }) if detail == "no_reason_given"
        ));
        assert!(check_status(200, b"").is_ok());
    }

    #[test]
    fn debug_redacts_the_token() {
        let t = IssuedToken {
            token: "eyJsecret".into(),
            id: "abc".into(),
            expires_at: 1,
            secrets: vec!["db".into()],
        };
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}
