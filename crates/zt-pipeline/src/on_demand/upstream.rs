//! What an upstream registry's documents say, read as hostile input: a document that is not
//! JSON, answers for another package, lists a version under another key, names an archive
//! on another origin, or carries no usable digest is an error naming the document and what
//! is wrong; the archive is checked against the document's digest before intake sees it.
//!
//! **Where archives may come from.** An archive is downloaded only from an origin (scheme,
//! host, port) the configuration vouches for: for npm the registry's own origin (the public
//! registry serves its tarballs itself); for PyPI the index's origin and `[deps.on_demand]
//! pypi_files` (default `https://files.pythonhosted.org`); for Cargo the origin of the
//! index's own `config.json` `dl`. A `dist.tarball` or file URL elsewhere is refused, not
//! followed: the digest would catch other bytes, but following it would let a document make
//! the server send requests to any address it can reach (an internal service, a metadata
//! endpoint).

use serde_json::{Value, json};
use zt_core::{Digest, DigestAlgorithm};

use crate::Error;

/// A version upstream lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// As upstream spells it.
    pub version: String,
    /// A pre-release (`1.0.0-beta.1`, `2.0rc1`): taken only when a request names it.
    pub prerelease: bool,
}

/// One archive to take in: where it is, what it must hash to, and the index document intake
/// checks it against (upstream's own entry for the version, nothing else of the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The version.
    pub version: String,
    /// The archive's URL.
    pub url: String,
    /// The file name it is taken in under (also the name the mirror serves).
    pub file: String,
    /// The digest upstream gives for it.
    pub digest: Digest,
    /// The index document for intake (`--index`).
    pub index: Vec<u8>,
}

impl Offer {
    /// Whether `archive` is what upstream's document says it is.
    pub fn check(&self, archive: &[u8]) -> Result<(), Error> {
        let got = Digest::of_bytes(self.digest.algorithm(), archive);
        if got.bytes() == self.digest.bytes() {
            return Ok(());
        }
        Err(Error::Input {
            what: format!(
                "{} does not match the upstream document: {} {} expected, {} downloaded; nothing was taken in",
                self.url,
                self.digest.algorithm().name(),
                self.digest.hex(),
                got.hex()
            ),
            help: "the registry or the connection served other bytes than the registry's own document names: report it, and take nothing of it in (`zt incident` if it was installed before)".into(),
        })
    }
}

fn hostile(url: &str, what: impl std::fmt::Display) -> Error {
    Error::Input {
        what: format!("the upstream document {url} cannot be used: {what}"),
        help: "check `[deps.on_demand]` in `zt.toml` points at the registry itself, or take the package in by hand with `zt deps intake NAME@VERSION --ecosystem E --archive FILE --index DOC`".into(),
    }
}

/// `scheme://host[:port]` of an `http`/`https` URL, lower-cased, default port dropped; `None`
/// for anything else (another scheme, credentials in the URL, no host).
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty() || authority.contains(['@', '\\', ' ']) {
        return None;
    }
    let host = authority.strip_suffix(default).unwrap_or(&authority);
    Some(format!("{scheme}://{host}"))
}

/// `rel` (an archive URL as a document gives it: absolute, `//host/…`, `/path` or relative —
/// PyPI mirrors answer `../../packages/…`) resolved against the document's URL `base`, dot
/// segments removed (RFC 3986 §5.2).
pub fn resolve(base: &str, rel: &str) -> Option<String> {
    let scheme_len = rel.find(':').filter(|&i| {
        rel.get(..i).is_some_and(|s| {
            s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
        })
    });
    if scheme_len.is_some() {
        return Some(rel.to_owned());
    }
    let (scheme, rest) = base.split_once("://")?;
    if let Some(net) = rel.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (rel_path, tail) = match rel.find(['?', '#']) {
        Some(i) => rel.split_at(i),
        None => (rel, ""),
    };
    let joined = if rel_path.starts_with('/') {
        rel_path.to_owned()
    } else {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{rel_path}")
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = joined.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    Some(format!("{scheme}://{authority}/{}{tail}", out.join("/")))
}

/// Refuses an archive URL outside `origins` (see the module documentation).
pub fn check_origin(url: &str, origins: &[String]) -> Result<(), Error> {
    if origin(url).is_some_and(|o| origins.contains(&o)) {
        return Ok(());
    }
    Err(Error::Input {
        what: format!(
            "the upstream document sends the download to {url}, which is not on {}: archives are downloaded only from the registry's own origins",
            if origins.is_empty() {
                "any configured origin".to_owned()
            } else {
                origins.join(" or ")
            }
        ),
        help: "if that registry really serves its PyPI files from another host, name it in `[deps.on_demand] pypi_files`; otherwise take the package in by hand with `zt deps intake NAME@VERSION --ecosystem E --archive FILE --index DOC`".into(),
    })
}

/// Characters a version may have to become part of a file name.
fn version_ok(v: &str, extra: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b) || extra.contains(&b))
}

/// A semver pre-release: `-` before any build metadata.
fn semver_pre(v: &str) -> bool {
    v.split('+').next().unwrap_or(v).contains('-')
}

/// Cargo: the index file's usable lines (the crate's, not yanked), with each line's text.
pub fn cargo_versions(file: &[u8], name: &str) -> Vec<(Candidate, String)> {
    String::from_utf8_lossy(file)
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            let vers = v["vers"].as_str()?;
            (v["yanked"].as_bool() != Some(true)
                && v["name"].as_str()?.eq_ignore_ascii_case(name)
                && version_ok(vers, &[]))
            .then(|| {
                (
                    Candidate {
                        version: vers.to_owned(),
                        prerelease: semver_pre(vers),
                    },
                    l.to_owned(),
                )
            })
        })
        .collect()
}

/// Cargo: the `.crate` of index line `line`, from the `dl` template as Cargo expands it.
pub fn cargo_offer(name: &str, rel: &str, line: &str, dl: &str) -> Result<Offer, Error> {
    let v: Value = serde_json::from_str(line).map_err(|e| hostile(dl, e))?;
    let version = v["vers"].as_str().unwrap_or_default().to_owned();
    let digest = v["cksum"]
        .as_str()
        .and_then(|h| Digest::from_hex(DigestAlgorithm::Sha256, h).ok())
        .ok_or_else(|| hostile(rel, format!("`{name}` {version} has no SHA-256 `cksum`")))?;
    let markers = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    let url = if markers.iter().any(|m| dl.contains(m)) {
        let prefix = rel.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
        dl.replace("{crate}", name)
            .replace("{version}", &version)
            .replace("{prefix}", prefix)
            .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
            .replace("{sha256-checksum}", &digest.hex())
    } else {
        // Cargo's rule for a template without markers.
        format!("{dl}/{name}/{version}/download")
    };
    Ok(Offer {
        file: format!("{name}-{version}.crate"),
        version,
        url,
        digest,
        index: format!("{line}\n").into_bytes(),
    })
}

/// An upstream document that lists versions and offers their archives.
pub trait Listing {
    /// The versions that could be taken in.
    fn candidates(&self) -> Vec<Candidate>;
    /// The archive of `version`.
    fn offer(&self, version: &str) -> Result<Offer, Error>;
}

/// npm: a package name the registry could have (`name`, `@scope/name`; URL-safe characters).
pub fn npm_name_ok(name: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.starts_with('_')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~".contains(&b))
    };
    name.len() <= 214
        && match name.strip_prefix('@') {
            Some(scoped) => scoped.split_once('/').is_some_and(|(s, n)| ok(s) && ok(n)),
            None => ok(name),
        }
}

/// npm: an upstream packument.
#[derive(Debug, Clone)]
pub struct Packument {
    name: String,
    url: String,
    doc: Value,
}

impl Packument {
    /// Parses the packument `url` answered for `name`.
    pub fn parse(bytes: &[u8], name: &str, url: &str) -> Result<Packument, Error> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| hostile(url, format!("not JSON: {e}")))?;
        if doc["name"].as_str() != Some(name) {
            return Err(hostile(
                url,
                format!(
                    "it is the packument of {}, not of `{name}`",
                    doc["name"]
                        .as_str()
                        .map_or("no package".to_owned(), |n| format!("`{n}`"))
                ),
            ));
        }
        if !doc["versions"].is_object() {
            return Err(hostile(url, "it has no `versions` object"));
        }
        Ok(Packument {
            name: name.into(),
            url: url.into(),
            doc,
        })
    }
}

impl Listing for Packument {
    /// Not deprecated, with a usable version string.
    fn candidates(&self) -> Vec<Candidate> {
        self.doc["versions"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(v, d)| {
                version_ok(v, &[])
                    && d.get("deprecated")
                        .is_none_or(|x| x.is_null() || *x == false || *x == "")
            })
            .map(|(v, _)| Candidate {
                version: v.clone(),
                prerelease: semver_pre(v),
            })
            .collect()
    }

    /// The tarball, with its SHA-512 `dist.integrity`.
    fn offer(&self, version: &str) -> Result<Offer, Error> {
        let at = |what: &str| hostile(&self.url, format!("`{}` {version}: {what}", self.name));
        let d = &self.doc["versions"][version];
        if d["version"].as_str() != Some(version) || d["name"].as_str() != Some(&self.name) {
            return Err(at("the version document is for another package or version"));
        }
        let url = d["dist"]["tarball"]
            .as_str()
            .and_then(|t| resolve(&self.url, t))
            .ok_or_else(|| at("no `dist.tarball`"))?;
        let sri = d["dist"]["integrity"].as_str().unwrap_or_default();
        let sha512 = sri
            .split_whitespace()
            .find_map(|one| one.strip_prefix("sha512-"))
            .ok_or_else(|| {
                at("no SHA-512 `dist.integrity` (a SHA-1 `shasum` alone is not trusted)")
            })?;
        let digest = zt_core::b64::decode(sha512)
            .and_then(|b| Digest::new(DigestAlgorithm::Sha512, b).ok())
            .ok_or_else(|| at("`dist.integrity` is not a SHA-512 in base64"))?;
        let base = self.name.rsplit('/').next().unwrap_or(&self.name);
        let index = json!({
            "name": self.name,
            "versions": { version: d },
            "time": { version: self.doc["time"][version] },
        });
        Ok(Offer {
            version: version.into(),
            url,
            file: format!("{base}-{version}.tgz"),
            digest,
            index: serde_json::to_vec_pretty(&index).unwrap_or_default(),
        })
    }
}

/// PyPI: a project name (PEP 508: letters, digits, `.`, `_`, `-`).
pub fn pypi_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A PEP 440 pre- or development release: a letter left once the local part and `post`
/// are taken away (`2.0rc1`, `1.0.dev3`, `3.0b2`; not `1.0.post1`).
fn pep440_pre(v: &str) -> bool {
    let public = v.split('+').next().unwrap_or(v).to_ascii_lowercase();
    public
        .replace("post", "")
        .bytes()
        .any(|b| b.is_ascii_alphabetic())
}

/// Which of a release's files is taken in: the mirror holds one file per version, and
/// `pip` installs a pure-Python wheel on every platform without running any of the
/// project's code; a project without one is taken in as its sdist (which `pip` builds,
/// running its build backend inside the build's sandbox). Platform wheels alone would serve
/// one platform and are left to `zt deps intake` by hand.
fn rank(f: &Value) -> Option<u8> {
    let name = f["filename"].as_str()?;
    if f["yanked"].as_bool() == Some(true)
        || name.len() > 255
        || name.starts_with('.')
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-!".contains(&b))
    {
        return None;
    }
    if let Some(stem) = name.strip_suffix(".whl") {
        let tags: Vec<&str> = stem.rsplitn(4, '-').collect();
        // python-abi-platform, last three dash-separated fields
        if let [platform, abi, python, ..] = tags.as_slice()
            && *platform == "any"
            && *abi == "none"
            && python.split('.').any(|p| p == "py3")
        {
            return Some(0);
        }
        return None;
    }
    (f["packagetype"].as_str() == Some("sdist")
        && (name.ends_with(".tar.gz") || name.ends_with(".zip")))
    .then_some(1)
}

/// PyPI: an upstream JSON API document (`/pypi/NAME/json`).
#[derive(Debug, Clone)]
pub struct Project {
    name: String,
    url: String,
    doc: Value,
}

impl Project {
    /// Parses the JSON API answer `url` gave for `name`.
    pub fn parse(bytes: &[u8], name: &str, url: &str) -> Result<Project, Error> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| hostile(url, format!("not JSON: {e}")))?;
        let norm = zt_deps::registry::pep503;
        match doc["info"]["name"].as_str() {
            Some(n) if norm(n) == norm(name) => {}
            other => {
                return Err(hostile(
                    url,
                    format!(
                        "it describes {}, not `{name}`",
                        other.map_or("no project".to_owned(), |n| format!("`{n}`"))
                    ),
                ));
            }
        }
        if !doc["releases"].is_object() {
            return Err(hostile(url, "it has no `releases` object"));
        }
        Ok(Project {
            name: name.into(),
            url: url.into(),
            doc,
        })
    }
}

impl Listing for Project {
    /// The versions with at least one file not yanked.
    fn candidates(&self) -> Vec<Candidate> {
        self.doc["releases"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(v, files)| {
                version_ok(v, b"!")
                    && files.as_array().is_some_and(|f| {
                        f.iter()
                            .any(|x| x["yanked"].as_bool() != Some(true) && x.is_object())
                    })
            })
            .map(|(v, _)| Candidate {
                version: v.clone(),
                prerelease: pep440_pre(v),
            })
            .collect()
    }

    /// The file to take in (see [`rank`]), with its SHA-256.
    fn offer(&self, version: &str) -> Result<Offer, Error> {
        let at = |what: &str| hostile(&self.url, format!("`{}` {version}: {what}", self.name));
        let files = self.doc["releases"][version]
            .as_array()
            .ok_or_else(|| at("no files"))?;
        let f = files
            .iter()
            .filter_map(|f| rank(f).map(|r| (r, f)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, f)| f)
            .ok_or_else(|| {
                at("no pure-Python wheel (`py3-none-any`) and no sdist: platform wheels are taken in by hand")
            })?;
        let file = f["filename"].as_str().unwrap_or_default();
        let url = f["url"]
            .as_str()
            .and_then(|u| resolve(&self.url, u))
            .ok_or_else(|| at("no `url`"))?;
        let digest = f["digests"]["sha256"]
            .as_str()
            .and_then(|h| Digest::from_hex(DigestAlgorithm::Sha256, h).ok())
            .ok_or_else(|| at("no SHA-256 in `digests`"))?;
        let index = json!({
            "info": { "name": self.doc["info"]["name"] },
            "releases": { version: [f] },
        });
        Ok(Offer {
            version: version.into(),
            url,
            file: file.into(),
            digest,
            index: serde_json::to_vec_pretty(&index).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sri(bytes: &[u8]) -> String {
        format!(
            "sha512-{}",
            zt_core::b64::encode(Digest::of_bytes(DigestAlgorithm::Sha512, bytes).bytes())
        )
    }

    fn packument(tarball: &str, integrity: &str) -> Value {
        json!({
            "name": "left-pad",
            "versions": {
                "1.2.0": {"name": "left-pad", "version": "1.2.0",
                          "dist": {"tarball": "https://registry.npmjs.org/left-pad/-/left-pad-1.2.0.tgz",
                                   "integrity": sri(b"old"), "shasum": "x"}},
                "1.3.0": {"name": "left-pad", "version": "1.3.0",
                          "dist": {"tarball": tarball, "integrity": integrity}},
                "2.0.0-beta.1": {"name": "left-pad", "version": "2.0.0-beta.1",
                          "dist": {"tarball": tarball, "integrity": integrity}},
                "1.4.0": {"name": "left-pad", "version": "1.4.0", "deprecated": "use String.padStart",
                          "dist": {"tarball": tarball, "integrity": integrity}}
            },
            "time": {"1.3.0": "2018-04-09T01:49:41.925Z"}
        })
    }

    const URL: &str = "https://registry.npmjs.org/left-pad";
    const TGZ: &str = "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz";

    #[test]
    fn a_packument_offers_its_tarball_with_the_sha512_it_names() {
        let doc = packument(TGZ, &format!("sha1-AAAA {}", sri(b"tarball")));
        let p = Packument::parse(doc.to_string().as_bytes(), "left-pad", URL).unwrap();
        let mut c = p.candidates();
        c.sort_by(|a, b| a.version.cmp(&b.version));
        // deprecated 1.4.0 is no candidate; the beta is one, marked as a pre-release
        assert_eq!(
            c.iter()
                .map(|c| (c.version.as_str(), c.prerelease))
                .collect::<Vec<_>>(),
            [("1.2.0", false), ("1.3.0", false), ("2.0.0-beta.1", true)]
        );
        let o = p.offer("1.3.0").unwrap();
        assert_eq!(o.file, "left-pad-1.3.0.tgz");
        assert_eq!(o.url, TGZ);
        o.check(b"tarball").unwrap();
        let e = o.check(b"tarball, tampered").unwrap_err().to_string();
        assert!(e.contains("does not match") && e.contains("sha512"), "{e}");
        // The index document is upstream's entry for that version, which intake reads.
        let index: Value = serde_json::from_slice(&o.index).unwrap();
        assert_eq!(index["time"]["1.3.0"], "2018-04-09T01:49:41.925Z");
        assert_eq!(index["versions"]["1.3.0"]["dist"]["tarball"], TGZ);
        assert!(index["versions"].get("1.2.0").is_none());
        check_origin(&o.url, &[origin(URL).unwrap()]).unwrap();
    }

    #[test]
    fn hostile_packuments_are_refused_with_the_reason() {
        let bad = |doc: &[u8]| {
            Packument::parse(doc, "left-pad", URL)
                .unwrap_err()
                .to_string()
        };
        assert!(bad(b"<html>").contains("not JSON"));
        assert!(bad(br#"{"name":"right-pad","versions":{}}"#).contains("`right-pad`"));
        assert!(bad(br#"{"name":"left-pad"}"#).contains("no `versions`"));

        let offer = |doc: Value, v: &str| {
            Packument::parse(doc.to_string().as_bytes(), "left-pad", URL)
                .unwrap()
                .offer(v)
        };
        // only a sha1 shasum
        let e = offer(packument(TGZ, "sha1-AAAA"), "1.3.0").unwrap_err();
        assert!(e.to_string().contains("no SHA-512"), "{e}");
        // not base64 / not 64 bytes
        let e = offer(packument(TGZ, "sha512-!!!"), "1.3.0").unwrap_err();
        assert!(e.to_string().contains("not a SHA-512"), "{e}");
        let e = offer(packument(TGZ, "sha512-AAAA"), "1.3.0").unwrap_err();
        assert!(e.to_string().contains("not a SHA-512"), "{e}");
        // a version document filed under another version
        let mut doc = packument(TGZ, &sri(b"t"));
        doc["versions"]["1.3.0"]["version"] = json!("1.2.0");
        let e = offer(doc, "1.3.0").unwrap_err();
        assert!(e.to_string().contains("another package or version"), "{e}");
        // a tarball on another host: offered, but refused before anything is fetched
        let o = offer(
            packument("http://169.254.169.254/latest/x.tgz", &sri(b"t")),
            "1.3.0",
        )
        .unwrap();
        let e = check_origin(&o.url, &[origin(URL).unwrap()]).unwrap_err();
        let d = zt_core::Diagnostic::help(&e).unwrap_or_default();
        assert!(e.to_string().contains("169.254.169.254"), "{e}");
        assert!(d.contains("zt deps intake"), "{d}");
        // versions that cannot be file names are no candidates
        let mut doc = packument(TGZ, &sri(b"t"));
        doc["versions"]["../../x"] = doc["versions"]["1.3.0"].clone();
        let p = Packument::parse(doc.to_string().as_bytes(), "left-pad", URL).unwrap();
        assert!(p.candidates().iter().all(|c| !c.version.contains('/')));
    }

    #[test]
    fn relative_urls_resolve_against_the_document() {
        let base = "https://pypi.org/pypi/iniconfig/json";
        let r = |rel: &str| resolve(base, rel).unwrap();
        assert_eq!(
            r("../../packages/packages/ef/a6/x.whl"),
            "https://pypi.org/packages/packages/ef/a6/x.whl"
        );
        assert_eq!(r("../../../../../x.whl"), "https://pypi.org/x.whl");
        assert_eq!(
            r("/a/./b/../x.whl#sha256=00"),
            "https://pypi.org/a/x.whl#sha256=00"
        );
        assert_eq!(r("x.whl"), "https://pypi.org/pypi/iniconfig/x.whl");
        assert_eq!(r("//files.example/x.whl"), "https://files.example/x.whl");
        assert_eq!(r("http://other/x.whl"), "http://other/x.whl");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin("https://Registry.npmjs.org:443/x").as_deref(),
            Some("https://registry.npmjs.org")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("https://user@registry.npmjs.org/x"), None);
        assert_eq!(origin("file:///etc/passwd"), None);
        let ok = [origin("https://registry.npmjs.org").unwrap()];
        assert!(check_origin("http://registry.npmjs.org/a.tgz", &ok).is_err());
        assert!(check_origin("https://registry.npmjs.org.evil.com/a.tgz", &ok).is_err());
        assert!(check_origin("https://registry.npmjs.org/a.tgz", &ok).is_ok());
    }

    fn project(files: Value) -> Value {
        json!({
            "info": {"name": "Six", "version": "1.17.0"},
            "releases": {
                "1.16.0": [],
                "1.17.0": files,
                "2.0rc1": [{"filename": "six-2.0rc1.tar.gz", "packagetype": "sdist"}],
                "1.0.post1": [{"filename": "six-1.0.post1.tar.gz", "packagetype": "sdist"}]
            }
        })
    }

    fn file(name: &str, kind: &str, body: &[u8]) -> Value {
        json!({
            "filename": name, "packagetype": kind,
            "url": format!("https://files.pythonhosted.org/packages/ab/cd/{name}"),
            "digests": {"sha256": Digest::sha256(body).hex()},
            "upload_time_iso_8601": "2024-12-04T17:35:26.475Z",
            "yanked": false
        })
    }

    const PYPI: &str = "https://pypi.org/pypi/six/json";

    #[test]
    fn a_release_offers_its_pure_wheel_else_its_sdist() {
        let doc = project(json!([
            file("six-1.17.0.tar.gz", "sdist", b"sdist"),
            file(
                "six-1.17.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                "bdist_wheel",
                b"plat"
            ),
            file("six-1.17.0-py2.py3-none-any.whl", "bdist_wheel", b"wheel"),
        ]));
        let p = Project::parse(doc.to_string().as_bytes(), "six", PYPI).unwrap();
        let mut c: Vec<_> = p
            .candidates()
            .into_iter()
            .map(|c| (c.version, c.prerelease))
            .collect();
        c.sort();
        assert_eq!(
            c,
            [
                ("1.0.post1".to_owned(), false),
                ("1.17.0".to_owned(), false),
                ("2.0rc1".to_owned(), true)
            ]
        );
        let o = p.offer("1.17.0").unwrap();
        assert_eq!(o.file, "six-1.17.0-py2.py3-none-any.whl");
        o.check(b"wheel").unwrap();
        let e = o.check(b"wheel, tampered").unwrap_err().to_string();
        assert!(
            e.contains("sha256") && e.contains("nothing was taken in"),
            "{e}"
        );
        let index: Value = serde_json::from_slice(&o.index).unwrap();
        assert_eq!(
            index["releases"]["1.17.0"][0]["filename"],
            "six-1.17.0-py2.py3-none-any.whl"
        );
        let files = [
            origin("https://pypi.org").unwrap(),
            origin("https://files.pythonhosted.org").unwrap(),
        ];
        check_origin(&o.url, &files).unwrap();

        // no pure wheel: the sdist
        let doc = project(json!([
            file("six-1.17.0.tar.gz", "sdist", b"sdist"),
            file(
                "six-1.17.0-cp312-cp312-win_amd64.whl",
                "bdist_wheel",
                b"plat"
            ),
        ]));
        let p = Project::parse(doc.to_string().as_bytes(), "six", PYPI).unwrap();
        assert_eq!(p.offer("1.17.0").unwrap().file, "six-1.17.0.tar.gz");
    }

    #[test]
    fn hostile_json_api_documents_are_refused_with_the_reason() {
        let bad = |doc: &[u8]| Project::parse(doc, "six", PYPI).unwrap_err().to_string();
        assert!(bad(b"{").contains("not JSON"));
        assert!(bad(br#"{"info":{"name":"seven"},"releases":{}}"#).contains("`seven`"));
        assert!(bad(br#"{"info":{"name":"six"}}"#).contains("no `releases`"));
        let offer = |files: Value| {
            Project::parse(project(files).to_string().as_bytes(), "six", PYPI)
                .unwrap()
                .offer("1.17.0")
        };
        // platform wheels only
        let e = offer(json!([file(
            "six-1.17.0-cp312-cp312-win_amd64.whl",
            "bdist_wheel",
            b"p"
        )]))
        .unwrap_err();
        assert!(e.to_string().contains("no pure-Python wheel"), "{e}");
        // a file name that is a path, a yanked file, a digest that is not SHA-256 hex
        assert!(offer(json!([file("../../six-1.17.0.tar.gz", "sdist", b"s")])).is_err());
        let mut yanked = file("six-1.17.0.tar.gz", "sdist", b"s");
        yanked["yanked"] = json!(true);
        assert!(offer(json!([yanked])).is_err());
        let mut short = file("six-1.17.0.tar.gz", "sdist", b"s");
        short["digests"]["sha256"] = json!("abcd");
        let e = offer(json!([short])).unwrap_err();
        assert!(e.to_string().contains("no SHA-256"), "{e}");
        // a file on a host that is neither the index nor its files host
        let mut elsewhere = file("six-1.17.0.tar.gz", "sdist", b"s");
        elsewhere["url"] = json!("https://evil.example/six-1.17.0.tar.gz");
        let o = offer(json!([elsewhere])).unwrap();
        let files = [
            origin("https://pypi.org").unwrap(),
            origin("https://files.pythonhosted.org").unwrap(),
        ];
        assert!(check_origin(&o.url, &files).is_err());
    }

    #[test]
    fn cargo_lines_and_offers() {
        let ck = Digest::sha256(b"crate").hex();
        let file = format!(
            "{{\"name\":\"adler\",\"vers\":\"1.0.2\",\"cksum\":\"{ck}\"}}\n{{\"name\":\"adler\",\"vers\":\"1.0.3\",\"cksum\":\"{ck}\",\"yanked\":true}}\nnot json\n"
        );
        let lines = cargo_versions(file.as_bytes(), "adler");
        assert_eq!(lines.len(), 1);
        let o = cargo_offer(
            "adler",
            "ad/le/adler",
            &lines[0].1,
            "https://static.crates.io/crates",
        )
        .unwrap();
        assert_eq!(
            o.url,
            "https://static.crates.io/crates/adler/1.0.2/download"
        );
        o.check(b"crate").unwrap();
        assert!(o.check(b"other").is_err());
        let e = cargo_offer(
            "adler",
            "ad/le/adler",
            r#"{"name":"adler","vers":"1.0.2"}"#,
            "https://x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("no SHA-256 `cksum`"), "{e}");
    }
}
