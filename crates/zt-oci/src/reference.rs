//! Image references as docker and cosign read them: `[oci://]host[:port]/repo[:tag][@sha256:hex]`,
//! with Docker Hub defaults (`alpine` → `docker.io/library/alpine:latest`).

use std::fmt;

use zt_core::Digest;

use crate::Error;

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API answers.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry host, with its port if any (`docker.io` for Docker Hub).
    pub registry: String,
    /// The repository path (`library/alpine`).
    pub repository: String,
    /// The tag, if one was given.
    pub tag: Option<String>,
    /// The manifest digest, if one was given.
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference. Untrusted input: never panics, refuses anything docker would refuse.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Reference {
            reference: input.chars().take(256).collect(),
            reason: reason.to_string(),
        };
        let text = input.strip_prefix("oci://").unwrap_or(input);
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.len() > 1024 {
            return Err(bad("it is longer than 1024 characters"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((name, d)) => {
                let digest = parse_digest(d).map_err(|r| bad(&r))?;
                (name, Some(digest))
            }
            None => (text, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest.get(last_slash..).and_then(|t| t.rfind(':')) {
            Some(i) => {
                let at = last_slash + i;
                (
                    rest.get(..at).unwrap_or_default(),
                    Some(rest.get(at + 1..).unwrap_or_default().to_string()),
                )
            }
            None => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(bad(
                "its tag must be 1 to 128 of `A-Za-z0-9_.-`, not starting with `.` or `-`",
            ));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        if !valid_registry(&registry) {
            return Err(bad(
                "its registry must be a host name or address with an optional port",
            ));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.len() > 255 || !repository.split('/').all(valid_component) {
            return Err(bad(
                "its repository must be lowercase path components of `a-z0-9` joined by `.`, `_`, `__` or `-`",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Whether `input` names an image rather than a file: `oci://…`, a `@sha256:` digest, or a
    /// first path component that is a registry host (`host.tld/…`, `host:port/…`, `localhost/…`).
    pub fn looks_like_image(input: &str) -> bool {
        if input.starts_with("oci://") || input.contains("@sha256:") {
            return true;
        }
        match input.split_once('/') {
            Some((first, rest)) => {
                !rest.is_empty()
                    && (first == "localhost"
                        || (first.contains('.') && !first.starts_with('.'))
                        || first.contains(':'))
                    && Reference::parse(input).is_ok()
            }
            None => false,
        }
    }

    /// The host the registry API answers on (Docker Hub's API host for `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The tag or digest to ask the registry for (`latest` when neither was given).
    pub fn target(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The repository's full name without tag or digest (`registry/repository`): the in-toto
    /// subject name zt gives an image, as cosign's `docker-reference` names it.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository at `tag` (no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// Whether the registry lives on this machine (plain HTTP is allowed there).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `sha256:<64 lowercase hex>`: the only digest form zt accepts from a registry.
pub fn parse_digest(text: &str) -> Result<Digest, String> {
    let hex = text
        .strip_prefix("sha256:")
        .ok_or_else(|| "its digest must be `sha256:<64 hex>`".to_string())?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("its digest must be `sha256:` and 64 lowercase hex digits".into());
    }
    text.parse::<Digest>().map_err(|e| e.to_string())
}

fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
        _ => return false,
    }
    t.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !b.first().is_some_and(alnum) || !b.last().is_some_and(alnum) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let Some(x) = b.get(i) else { break };
        if alnum(x) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or `-+`, always followed by an alphanumeric.
        let start = i;
        while b.get(i).is_some_and(|x| !alnum(x)) {
            i += 1;
        }
        let sep = c.get(start..i).unwrap_or_default();
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return false,
        }
    } else {
        match r.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
        && !host.starts_with('-')
        && !host.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_defaults() {
        let r = Reference::parse("alpine").unwrap();
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/alpine");
        assert_eq!(r.target(), "latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        let r = Reference::parse("index.docker.io/user/app:1.2").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "user/app")
        );
        assert_eq!(r.tag.as_deref(), Some("1.2"));
    }

    #[test]
    fn registry_port_tag_and_digest() {
        let r = Reference::parse(&format!("oci://127.0.0.1:5000/a/b:v1@{D}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "a/b");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().unwrap().to_string(), D);
        assert_eq!(r.target(), D);
        assert!(r.is_loopback());
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/a/b:v1@{D}"));
        let r = Reference::parse("localhost:5000/x").unwrap();
        assert!(r.is_loopback() && r.tag.is_none());
        assert!(!Reference::parse("ghcr.io/x/y").unwrap().is_loopback());
        let r = Reference::parse("[::1]:5000/x:t").unwrap();
        assert_eq!(r.registry, "[::1]:5000");
        assert!(r.is_loopback());
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for bad in [
            "",
            "UPPER/case",
            "ghcr.io/x/y:",
            "ghcr.io/x/y:-bad",
            "ghcr.io/x/y@sha256:abc",
            "ghcr.io/x/y@md5:0123",
            "ghcr.io//y",
            "ghcr.io/x/y/",
            "ghcr.io/x..y",
            "host:port/x",
            "oci://",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn images_are_told_from_files() {
        assert!(Reference::looks_like_image("oci://x"));
        assert!(Reference::looks_like_image(&format!("alpine@{D}")));
        assert!(Reference::looks_like_image("127.0.0.1:5000/a:b"));
        assert!(Reference::looks_like_image("ghcr.io/a/b"));
        assert!(!Reference::looks_like_image("out/hello"));
        assert!(!Reference::looks_like_image("./out/hello.tar"));
        assert!(!Reference::looks_like_image("hello.txt"));
        assert!(!Reference::looks_like_image("../dist/app"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = Reference::parse(&s);
            let _ = Reference::looks_like_image(&s);
        }

        #[test]
        fn display_round_trips(
            host in "[a-z]{1,10}\\.[a-z]{2,5}(:[0-9]{1,5})?",
            repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,3}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            hex in proptest::option::of("[0-9a-f]{64}"),
        ) {
            let mut s = format!("{host}/{repo}");
            if let Some(t) = &tag { s.push(':'); s.push_str(t); }
            if let Some(h) = &hex { s.push_str("@sha256:"); s.push_str(h); }
            let r = Reference::parse(&s).unwrap();
            prop_assert_eq!(r.to_string(), s.clone());
            prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }
    }
}
