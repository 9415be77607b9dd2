//! A small blocking OCI distribution client over ureq: resolve, fetch and push manifests and
//! blobs (every fetched digest verified), the OCI 1.1 referrers API with the tag-schema
//! fallback, and the registry token flow (anonymous Bearer tokens, or `docker login`
//! credentials sent to the token realm or as Basic auth). Plain HTTP is used for registries on
//! loopback and for those named `insecure`; every other registry is HTTPS only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ureq::Agent;
use ureq::http::{Method, Response};
use zt_core::Digest;

use crate::auth::{Challenge, Credential, DockerConfig};
use crate::manifest::{self, Descriptor, Manifest};
use crate::reference::Reference;
use crate::{Error, Fetched, Repository};

/// The largest blob the client reads into memory.
pub const MAX_BLOB_BYTES: u64 = 512 * 1024 * 1024;

/// How the client reaches registries.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries (`host:port`) reached over plain HTTP although they are not on loopback.
    pub insecure_registries: Vec<String>,
    /// `docker login` credentials.
    pub docker_config: DockerConfig,
}

/// A registry client; clones share connections and the token cache (tokens are cached per
/// repository).
#[derive(Debug, Clone)]
pub struct Client {
    agent: Agent,
    options: Arc<Options>,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

/// One repository of a registry, as a [`Repository`].
#[derive(Debug, Clone)]
pub struct RegistryRepo {
    client: Client,
    reference: Reference,
}

impl Client {
    /// A client with these options.
    pub fn new(options: Options) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("zt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            options: Arc::new(options),
            tokens: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The repository `reference` names.
    pub fn repo(&self, reference: &Reference) -> RegistryRepo {
        RegistryRepo {
            client: self.clone(),
            reference: reference.clone(),
        }
    }

    fn base(&self, r: &Reference) -> String {
        let plain = r.is_loopback() || self.options.insecure_registries.contains(&r.registry);
        let scheme = if plain { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", r.api_host(), r.repository)
    }

    /// Sends one request, answering a 401 challenge once (token or Basic auth) and caching the
    /// token. Returns the response whatever its status.
    fn send(
        &self,
        r: &Reference,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response<ureq::Body>, Error> {
        let key = format!("{}|{}", r.registry, r.repository);
        let mut auth = self.tokens.lock().ok().and_then(|t| t.get(&key).cloned());
        for attempt in 0..2 {
            let mut req = ureq::http::Request::builder()
                .method(method.clone())
                .uri(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(a) = &auth {
                req = req.header("authorization", a.as_str());
            }
            let reply = match body {
                Some(b) => {
                    let req = req.body(b.to_vec()).map_err(|e| request(url, e))?;
                    self.agent.run(req)
                }
                None => {
                    let req = req.body(()).map_err(|e| request(url, e))?;
                    self.agent.run(req)
                }
            }
            .map_err(|e| request(url, e))?;
            if reply.status().as_u16() != 401 || attempt == 1 {
                return Ok(reply);
            }
            let challenge = reply
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse);
            let cred = self.options.docker_config.get(&r.registry);
            auth = Some(match challenge {
                Some(Challenge::Basic) => match cred {
                    Some(c) => c.basic(),
                    None => return Err(unauthorized(r, "it asks for a user name and password")),
                },
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope,
                }) => {
                    let scope =
                        scope.unwrap_or_else(|| format!("repository:{}:pull", r.repository));
                    format!(
                        "Bearer {}",
                        self.token(r, &realm, service.as_deref(), &scope, cred)?
                    )
                }
                None => return Err(unauthorized(r, "it sent no challenge zt can answer")),
            });
            if let (Ok(mut t), Some(a)) = (self.tokens.lock(), &auth) {
                t.insert(key.clone(), a.clone());
            }
        }
        Err(unauthorized(r, "the credentials were refused"))
    }

    /// A token from the realm (anonymous, or with the docker login credentials).
    fn token(
        &self,
        r: &Reference,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        cred: Option<&Credential>,
    ) -> Result<String, Error> {
        let mut url = format!("{realm}?scope={}", encode(scope));
        if let Some(s) = service {
            url.push_str(&format!("&service={}", encode(s)));
        }
        let mut req = self.agent.get(&url);
        if let Some(c) = cred {
            req = req.header("authorization", &c.basic());
        }
        let mut reply = req.call().map_err(|e| request(&url, e))?;
        let status = reply.status().as_u16();
        let body = read(&url, &mut reply, 1024 * 1024)?;
        if status != 200 {
            return Err(unauthorized(
                r,
                &format!("its token service answered {status}"),
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        json.get("token")
            .or_else(|| json.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .ok_or_else(|| unauthorized(r, "its token service sent no token"))
    }

    fn get_manifest(&self, r: &Reference, target: &str) -> Result<Option<Fetched>, Error> {
        let url = format!("{}/manifests/{target}", self.base(r));
        let accept = manifest::ACCEPT.join(", ");
        let mut reply = self.send(r, Method::GET, &url, &[("accept", &accept)], None)?;
        let status = reply.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        let content_type = header(&reply, "content-type");
        let header_digest = header(&reply, "docker-content-digest");
        let body = read(&url, &mut reply, manifest::MAX_MANIFEST_BYTES)?;
        if status != 200 {
            return Err(status_error("GET", &url, status, &body));
        }
        let actual = Digest::sha256(&body);
        // The name fixes the content: a digest asked for, else the digest the registry claims.
        let expected = match crate::reference::parse_digest(target) {
            Ok(d) => Some(d),
            Err(_) => header_digest.and_then(|h| h.parse::<Digest>().ok()),
        };
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(Error::DigestMismatch {
                what: "manifest",
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        let parsed = Manifest::parse(&body, content_type.as_deref())?;
        Ok(Some(Fetched::new(parsed, body)))
    }
}

impl Repository for RegistryRepo {
    fn describe(&self) -> String {
        self.reference.name()
    }

    fn manifest(&self, target: &str) -> Result<Option<Fetched>, Error> {
        self.client.get_manifest(&self.reference, target)
    }

    fn blob(&self, digest: &Digest) -> Result<Vec<u8>, Error> {
        let c = &self.client;
        let url = format!("{}/blobs/{digest}", c.base(&self.reference));
        let mut reply = c.send(&self.reference, Method::GET, &url, &[], None)?;
        let status = reply.status().as_u16();
        if status == 404 {
            return Err(Error::NotFound {
                what: format!("blob {digest}"),
                url,
            });
        }
        let body = read(&url, &mut reply, MAX_BLOB_BYTES)?;
        if status != 200 {
            return Err(status_error("GET", &url, status, &body));
        }
        verify(&body, digest, "blob")?;
        Ok(body)
    }

    fn push_blob(&self, bytes: &[u8]) -> Result<Digest, Error> {
        let c = &self.client;
        let r = &self.reference;
        let digest = Digest::sha256(bytes);
        let base = c.base(r);
        let url = format!("{base}/blobs/{digest}");
        let head = c.send(r, Method::HEAD, &url, &[], None)?;
        if head.status().as_u16() == 200 {
            return Ok(digest);
        }
        let url = format!("{base}/blobs/uploads/");
        let mut reply = c.send(r, Method::POST, &url, &[], Some(&[]))?;
        let status = reply.status().as_u16();
        let location = header(&reply, "location");
        let body = read(&url, &mut reply, 1024 * 1024)?;
        if status != 202 {
            return Err(status_error("POST", &url, status, &body));
        }
        let location = location.ok_or_else(|| Error::Request {
            url: url.clone(),
            reason: "the upload reply has no Location".into(),
        })?;
        let mut put = absolute(&base, &location);
        put.push(if put.contains('?') { '&' } else { '?' });
        put.push_str(&format!("digest={}", encode(&digest.to_string())));
        let mut reply = c.send(
            r,
            Method::PUT,
            &put,
            &[("content-type", "application/octet-stream")],
            Some(bytes),
        )?;
        let status = reply.status().as_u16();
        let body = read(&put, &mut reply, 1024 * 1024)?;
        if status != 201 {
            return Err(status_error("PUT", &put, status, &body));
        }
        Ok(digest)
    }

    fn push_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<bool, Error> {
        let c = &self.client;
        let r = &self.reference;
        let digest = Digest::sha256(bytes);
        let target = tag
            .map(str::to_string)
            .unwrap_or_else(|| digest.to_string());
        let url = format!("{}/manifests/{target}", c.base(r));
        let mut reply = c.send(
            r,
            Method::PUT,
            &url,
            &[("content-type", media_type)],
            Some(bytes),
        )?;
        let status = reply.status().as_u16();
        let subject_ok = header(&reply, "oci-subject").is_some();
        let body = read(&url, &mut reply, 1024 * 1024)?;
        if status != 201 {
            return Err(status_error("PUT", &url, status, &body));
        }
        Ok(subject_ok)
    }

    fn delete_manifest(&self, digest: &Digest) -> Result<(), Error> {
        let c = &self.client;
        let url = format!("{}/manifests/{digest}", c.base(&self.reference));
        let mut reply = c.send(&self.reference, Method::DELETE, &url, &[], None)?;
        let status = reply.status().as_u16();
        let body = read(&url, &mut reply, 1024 * 1024)?;
        if status != 202 && status != 200 {
            return Err(status_error("DELETE", &url, status, &body));
        }
        Ok(())
    }

    fn referrers_api(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<Vec<Descriptor>>, Error> {
        let c = &self.client;
        let mut url = format!("{}/referrers/{subject}", c.base(&self.reference));
        if let Some(t) = artifact_type {
            url.push_str(&format!("?artifactType={}", encode(t)));
        }
        let mut reply = c.send(
            &self.reference,
            Method::GET,
            &url,
            &[("accept", manifest::OCI_INDEX)],
            None,
        )?;
        let status = reply.status().as_u16();
        let body = read(&url, &mut reply, manifest::MAX_MANIFEST_BYTES)?;
        // A registry without the API answers 404 (distribution 2.8) or 400/405.
        if status == 404 || status == 400 || status == 405 {
            return Ok(None);
        }
        if status != 200 {
            return Err(status_error("GET", &url, status, &body));
        }
        let index = Manifest::parse(&body, Some(manifest::OCI_INDEX))?;
        Ok(Some(index.manifests))
    }
}

fn verify(bytes: &[u8], digest: &Digest, what: &'static str) -> Result<(), Error> {
    let actual = Digest::of_bytes(digest.algorithm(), bytes);
    if &actual != digest {
        return Err(Error::DigestMismatch {
            what,
            expected: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// Checks that content hashes to the digest that named it.
pub fn verify_digest(bytes: &[u8], digest: &Digest, what: &'static str) -> Result<(), Error> {
    verify(bytes, digest, what)
}

fn header(reply: &Response<ureq::Body>, name: &str) -> Option<String> {
    reply
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn read(url: &str, reply: &mut Response<ureq::Body>, limit: u64) -> Result<Vec<u8>, Error> {
    reply
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| request(url, e))
}

fn request(url: &str, e: impl std::fmt::Display) -> Error {
    Error::Request {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

fn unauthorized(r: &Reference, reason: &str) -> Error {
    Error::Unauthorized {
        registry: r.registry.clone(),
        reason: reason.to_string(),
    }
}

/// The registry's error message (`{"errors":[{"code","message"}]}`), clipped and cleaned.
fn status_error(method: &'static str, url: &str, status: u16, body: &[u8]) -> Error {
    let detail = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|j| {
            let e = j.get("errors")?.get(0)?;
            Some(format!(
                "{} {}",
                e.get("code").and_then(|c| c.as_str()).unwrap_or_default(),
                e.get("message")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
            ))
        })
        .map(|d| d.chars().filter(|c| !c.is_control()).take(300).collect());
    Error::Status {
        method,
        url: url.to_string(),
        status,
        detail,
    }
}

/// A `Location` made absolute against the registry's `/v2/<name>` base.
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    // scheme://host
    let origin_end = base
        .find("://")
        .and_then(|i| {
            base.get(i + 3..)
                .and_then(|rest| rest.find('/'))
                .map(|j| i + 3 + j)
        })
        .unwrap_or(base.len());
    format!("{}{location}", base.get(..origin_end).unwrap_or(base))
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
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
    fn locations_are_made_absolute() {
        let base = "http://127.0.0.1:5000/v2/a/b";
        assert_eq!(
            absolute(base, "/v2/a/b/blobs/uploads/x?_state=1"),
            "http://127.0.0.1:5000/v2/a/b/blobs/uploads/x?_state=1"
        );
        assert_eq!(absolute(base, "https://s3/x"), "https://s3/x");
        assert_eq!(encode("sha256:ab/c d"), "sha256%3Aab%2Fc%20d");
    }

    #[test]
    fn remote_registries_are_https_only() {
        let c = Client::new(Options::default());
        let remote = Reference::parse("ghcr.io/a/b").unwrap();
        assert!(c.base(&remote).starts_with("https://ghcr.io/v2/a/b"));
        let local = Reference::parse("127.0.0.1:5000/a").unwrap();
        assert!(c.base(&local).starts_with("http://"));
        let c = Client::new(Options {
            insecure_registries: vec!["reg.lan:5000".into()],
            ..Options::default()
        });
        assert!(
            c.base(&Reference::parse("reg.lan:5000/a").unwrap())
                .starts_with("http://")
        );
        let hub = Reference::parse("alpine").unwrap();
        assert_eq!(
            c.base(&hub),
            "https://registry-1.docker.io/v2/library/alpine"
        );
    }
}
