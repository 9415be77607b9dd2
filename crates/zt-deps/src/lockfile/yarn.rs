//! `yarn.lock`: classic yarn (v1, its own syntax: see [`super::yarn_v1`]) and berry (yarn 2+,
//! YAML with a `__metadata` entry).
//!
//! Each entry is keyed by the descriptors that resolved to it (`name@range, name@range2`).
//!
//! - v1: `version`, `resolved` (a registry URL whose `#fragment` is the tarball's SHA-1, a
//!   git URL whose fragment is the commit, a `codeload.github.com/…/tar.gz/SHA` tarball),
//!   `integrity` (SRI), `dependencies` / `optionalDependencies` (name → range, resolved to the
//!   entry whose descriptor is `name@range`). `file:`/`link:` descriptors are local paths.
//!   An alias `alias@npm:real@range` is the package `real`.
//! - berry: `version`, `resolution` (`name@npm:1.0.0`, `name@https://…git#commit=SHA`,
//!   `name@file:…`, `name@patch:…`, `name@workspace:…`), `checksum` (SHA-512 hex of yarn's
//!   cache archive, prefixed with the cache key `10c0/` since lockfile version 8; recorded as
//!   algorithm `yarn-cache-sha512`, because it hashes yarn's re-packed zip and not the registry
//!   tarball), `dependencies` (name → range, `npm:` protocol implied before version 8).
//!   The root workspace (`workspace:.`, the project itself) is left out; every other
//!   workspace is listed as a local package at its path (version `0.0.0-use.local`); a
//!   `patch:` entry whose package also appears unpatched is folded into that one.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::yarn_v1::{self, Node};
use super::{hashes_from_sri, is_full_commit, package, pnpm::codeload_commit};
use crate::{Ecosystem, Error, Hash, Package, Source};

/// `(dependency name, range)` pairs of one entry.
type DepRefs = Vec<(String, String)>;

const BERRY_FIX: &str = "regenerate it with `yarn install` (yarn 2 or later)";

/// Reads either flavour; berry files are the ones with a top-level `__metadata:` entry.
pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    if is_berry(text) {
        parse_berry(path, text)
    } else {
        parse_v1(path, text)
    }
}

fn is_berry(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("__metadata:")
            || l.starts_with("\"__metadata\":")
            || l.starts_with("'__metadata':")
    })
}

/// Splits a descriptor `name@range` (the name may start with `@`); no `@` means no range.
pub(super) fn split_descriptor(d: &str) -> (&str, &str) {
    let start = usize::from(d.starts_with('@'));
    match d.get(start..).and_then(|s| s.find('@')) {
        Some(i) => (
            d.get(..i + start).unwrap_or(d),
            d.get(i + start + 1..).unwrap_or(""),
        ),
        None => (d, ""),
    }
}

/// The real package name behind an alias range `npm:real@range` (or `npm:real`).
fn alias_target(range: &str) -> Option<&str> {
    let rest = range.strip_prefix("npm:")?;
    let (name, _) = split_descriptor(rest);
    // `npm:^1.0.0` is a plain range with the protocol spelled out, not an alias
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit() || "^~<>=*".contains(c)))
        .then_some(name)
}

/// A git source (with the commit when the text pins a full one) from a `resolved` /
/// `resolution` reference, or `None` when it is not git.
pub(super) fn git_source(reference: &str) -> Option<Source> {
    if let Some((repo, sha)) = codeload_commit(reference) {
        return Some(git(repo, &sha));
    }
    let (base, frag) = reference.split_once('#').unwrap_or((reference, ""));
    // berry: `#commit=SHA`, `#commit:SHA`, or `#branch=…&commit=…`
    let frag_commit = frag
        .split('&')
        .find_map(|kv| {
            kv.strip_prefix("commit=")
                .or_else(|| kv.strip_prefix("commit:"))
        })
        .unwrap_or(frag);
    let scheme_git = [
        "git+",
        "git://",
        "ssh://",
        "github:",
        "gitlab:",
        "bitbucket:",
    ]
    .iter()
    .any(|p| base.starts_with(p));
    let host = base
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let known_host = matches!(host, "github.com" | "gitlab.com" | "bitbucket.org");
    if scheme_git || (known_host && (base.ends_with(".git") || !frag.is_empty())) {
        return Some(git(base.to_string(), frag_commit));
    }
    if known_host && let Some((url, query)) = base.split_once('?') {
        // GitLab archive: `…/repository/archive.tar.gz?ref=SHA`
        if let Some(r) = query.split('&').find_map(|kv| kv.strip_prefix("ref=")) {
            return Some(git(url.to_string(), r));
        }
    }
    None
}

fn git(url: String, commit: &str) -> Source {
    Source::Git {
        url,
        commit: is_full_commit(commit).then(|| commit.to_ascii_lowercase()),
    }
}

fn parse_v1(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let entries = yarn_v1::parse_syntax(path, text)?;
    let mut packages = Vec::new();
    let mut descriptors: HashMap<String, usize> = HashMap::new();
    let mut deps: Vec<Vec<(String, String)>> = Vec::new();
    for e in &entries {
        if !matches!(e.value, Node::Map(_)) {
            return Err(Error::parse(
                path,
                Some(e.line),
                format!("`{}` must be an entry with `version`", e.keys.join(", ")),
                "regenerate it with `yarn install` (yarn 1.x)",
            ));
        }
        let first = e.keys.first().map(String::as_str).unwrap_or("");
        let (key_name, range) = split_descriptor(first);
        let name = alias_target(range).unwrap_or(key_name);
        let version = e
            .value
            .get("version")
            .and_then(Node::text)
            .unwrap_or_default();
        let resolved = e
            .value
            .get("resolved")
            .and_then(Node::text)
            .unwrap_or_default();
        let local = e.keys.iter().find_map(|k| {
            let (_, r) = split_descriptor(k);
            r.strip_prefix("file:").or_else(|| r.strip_prefix("link:"))
        });
        let mut hashes = e
            .value
            .get("integrity")
            .and_then(Node::text)
            .map(|s| hashes_from_sri(&s))
            .unwrap_or_default();
        let source = if let Some(g) = git_source(&resolved) {
            g
        } else if let Some(p) = resolved
            .strip_prefix("file:")
            .or_else(|| resolved.strip_prefix("link:"))
            .or(if resolved.is_empty() { local } else { None })
        {
            Source::Path {
                path: p.to_string(),
            }
        } else if resolved.is_empty() {
            Source::Registry { url: None }
        } else {
            let (url, frag) = resolved.split_once('#').unwrap_or((&resolved, ""));
            // yarn 1 writes the tarball's SHA-1 as the URL fragment
            if frag.len() == 40 && frag.bytes().all(|b| b.is_ascii_hexdigit()) {
                hashes.push(Hash {
                    algorithm: "sha1".into(),
                    value: frag.to_ascii_lowercase(),
                });
            }
            if url.contains("/-/") {
                Source::Registry {
                    url: Some(url.to_string()),
                }
            } else {
                Source::Url {
                    url: url.to_string(),
                }
            }
        };
        let mut p = package(Ecosystem::Npm, name, &version, source);
        p.hashes = hashes;
        p.line = Some(e.line);
        let index = packages.len();
        for k in &e.keys {
            descriptors.insert(k.clone(), index);
        }
        let mut d = Vec::new();
        for field in ["dependencies", "optionalDependencies"] {
            if let Some(Node::Map(list)) = e.value.get(field) {
                for dep in list {
                    if let (Some(n), Some(r)) = (dep.keys.first(), dep.value.text()) {
                        d.push((n.clone(), r));
                    }
                }
            }
        }
        deps.push(d);
        packages.push(p);
    }
    let purls: Vec<String> = packages.iter().map(|p| p.purl.clone()).collect();
    for (p, d) in packages.iter_mut().zip(deps) {
        for (n, r) in d {
            if let Some(purl) = descriptors
                .get(&format!("{n}@{r}"))
                .and_then(|i| purls.get(*i))
            {
                p.dependencies.push(purl.clone());
            }
        }
    }
    Ok(packages)
}

/// The 1-based line of every top-level key (unquoted) of a berry file.
fn berry_key_lines(text: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with([' ', '#']) || l.is_empty() {
            continue;
        }
        if let Some(k) = l.trim_end().strip_suffix(':') {
            let k = k
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(k);
            out.entry(k.to_string()).or_insert(i + 1);
        }
    }
    out
}

fn yaml_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_berry(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| {
        Error::parse(
            path,
            e.location().map(|l| l.line()),
            format!("not valid YAML: {e}"),
            BERRY_FIX,
        )
    })?;
    let root: Mapping = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Mapping(m) => m,
        _ => {
            return Err(Error::parse(
                path,
                Some(1),
                "the top level must be a mapping of descriptors",
                BERRY_FIX,
            ));
        }
    };
    let meta = root.get("__metadata");
    let cache_key = meta
        .and_then(|m| m.get("cacheKey"))
        .and_then(yaml_text)
        .unwrap_or_default();
    let lockfile_version: u64 = meta
        .and_then(|m| m.get("version"))
        .and_then(yaml_text)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let lines = berry_key_lines(text);
    let mut packages: Vec<Package> = Vec::new();
    let mut patched: Vec<Package> = Vec::new();
    let mut descriptors: HashMap<String, usize> = HashMap::new();
    let mut deps: Vec<Vec<(String, String)>> = Vec::new();
    let mut patched_descriptors: Vec<(Vec<String>, DepRefs)> = Vec::new();
    for (k, v) in &root {
        let Some(key) = yaml_text(k) else { continue };
        if key == "__metadata" {
            continue;
        }
        let line = lines.get(&key).copied();
        let bad = |what: &str| Error::parse(path, line, format!("`{key}`: {what}"), BERRY_FIX);
        let Value::Mapping(body) = v else {
            return Err(bad("must be a mapping with `version` and `resolution`"));
        };
        let resolution = body
            .get("resolution")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("`resolution` (a string) is required"))?;
        let (name, reference) = split_descriptor(resolution);
        if name.is_empty() || reference.is_empty() {
            return Err(bad(&format!(
                "`resolution` `{resolution}` is not `name@protocol:reference`"
            )));
        }
        // The root workspace (`workspace:.`) is the project itself; every other workspace is
        // a package of the project's own, listed as such (as osv-scalibr lists it), at its
        // path and with yarn's `0.0.0-use.local` version.
        let workspace = reference.strip_prefix("workspace:");
        if workspace.is_some_and(|w| w == "." || w.is_empty()) {
            continue;
        }
        let version = body.get("version").and_then(yaml_text).unwrap_or_default();
        let source = if let Some(w) = workspace {
            Source::Path {
                path: w.to_string(),
            }
        } else if let Some(r) = reference.strip_prefix("npm:") {
            let _ = r;
            Source::Registry { url: None }
        } else if let Some(g) = git_source(reference) {
            g
        } else if let Some(p) = ["file:", "portal:", "link:", "exec:"]
            .iter()
            .find_map(|p| reference.strip_prefix(p))
        {
            Source::Path {
                path: p.split("::").next().unwrap_or(p).to_string(),
            }
        } else if reference.starts_with("patch:") {
            Source::Registry { url: None }
        } else if reference.starts_with("http://") || reference.starts_with("https://") {
            Source::Url {
                url: reference.to_string(),
            }
        } else {
            Source::Registry { url: None }
        };
        let mut p = package(Ecosystem::Npm, name, &version, source);
        p.line = line;
        if let Some(c) = body.get("checksum").and_then(yaml_text) {
            // `10c0/HEX` since lockfile version 8; the bare hex before
            let hex = match c.split_once('/') {
                Some((prefix, hex)) if prefix == cache_key || lockfile_version >= 8 => hex,
                Some(_) => {
                    return Err(bad(&format!(
                        "`checksum` prefix does not match `__metadata.cacheKey` `{cache_key}`"
                    )));
                }
                None => c.as_str(),
            };
            match super::hex_lower(hex) {
                Some(value) if value.len() == 128 => p.hashes.push(Hash {
                    algorithm: "yarn-cache-sha512".into(),
                    value,
                }),
                _ => return Err(bad(&format!("`checksum` `{c}` is not a SHA-512 hex value"))),
            }
        }
        let descs: Vec<String> = key.split(',').map(|d| d.trim().to_string()).collect();
        let mut d = Vec::new();
        for field in ["dependencies", "optionalDependencies"] {
            if let Some(Value::Mapping(m)) = body.get(field) {
                for (dn, dr) in m {
                    if let (Some(dn), Some(dr)) = (yaml_text(dn), yaml_text(dr)) {
                        d.push((dn, dr));
                    }
                }
            }
        }
        if reference.starts_with("patch:") {
            patched.push(p);
            patched_descriptors.push((descs, d));
            continue;
        }
        let index = packages.len();
        for dsc in descs {
            descriptors.insert(dsc, index);
        }
        deps.push(d);
        packages.push(p);
    }
    // Patched packages: one with the same purl as an unpatched entry is that package.
    for (p, (descs, d)) in patched.into_iter().zip(patched_descriptors) {
        let index = match packages.iter().position(|q| q.purl == p.purl) {
            Some(i) => i,
            None => {
                packages.push(p);
                deps.push(d);
                packages.len() - 1
            }
        };
        for dsc in descs {
            descriptors.entry(dsc).or_insert(index);
        }
    }
    let purls: Vec<String> = packages.iter().map(|p| p.purl.clone()).collect();
    for (p, d) in packages.iter_mut().zip(deps) {
        for (n, r) in d {
            let found = descriptors
                .get(&format!("{n}@{r}"))
                .or_else(|| descriptors.get(&format!("{n}@npm:{r}")))
                .and_then(|i| purls.get(*i));
            if let Some(purl) = found
                && *purl != p.purl
            {
                p.dependencies.push(purl.clone());
            }
        }
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_and_aliases() {
        assert_eq!(split_descriptor("@a/b@^1"), ("@a/b", "^1"));
        assert_eq!(split_descriptor("a"), ("a", ""));
        assert_eq!(split_descriptor("a@npm:b@^1"), ("a", "npm:b@^1"));
        assert_eq!(alias_target("npm:b@^1"), Some("b"));
        assert_eq!(alias_target("npm:@s/b@^1"), Some("@s/b"));
        assert_eq!(alias_target("npm:^1.0.0"), None);
    }

    #[test]
    fn git_references() {
        let c = "0a2d2506c1fe299691fc5db53a2097db3bd615bc";
        for r in [
            format!("git+ssh://git@github.com:G-Rath/x#{c}"),
            format!("https://github.com/o/r#{c}"),
            format!("https://github.com/o/r.git#commit={c}"),
            format!("https://codeload.github.com/o/r/tar.gz/{c}"),
            format!("https://gitlab.com/o/r/repository/archive.tar.gz?ref={c}"),
        ] {
            match git_source(&r) {
                Some(Source::Git { commit, .. }) => assert_eq!(commit.as_deref(), Some(c), "{r}"),
                other => panic!("{r}: {other:?}"),
            }
        }
        assert!(matches!(
            git_source("https://github.com/o/r.git#v1.0"),
            Some(Source::Git { commit: None, .. })
        ));
        assert_eq!(
            git_source(
                "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#41ae2eeb65efa62268aebfea83ac7d79299b0887"
            ),
            None
        );
    }

    #[test]
    fn v1_edges_hashes_and_lines() {
        let text = "# yarn lockfile v1\n\n\na@^1.0.0, a@^1.1.0:\n  version \"1.2.0\"\n  resolved \"https://registry.yarnpkg.com/a/-/a-1.2.0.tgz#41ae2eeb65efa62268aebfea83ac7d79299b0887\"\n  dependencies:\n    b \"~2\"\n\nb@~2:\n  version \"2.0.1\"\n";
        let got = parse(Path::new("yarn.lock"), text).unwrap();
        assert_eq!(got[0].dependencies, ["pkg:npm/b@2.0.1"]);
        assert_eq!(got[0].hashes[0].algorithm, "sha1");
        assert_eq!(got[0].line, Some(4));
        assert_eq!(got[1].line, Some(10));
        assert!(matches!(got[1].source, Source::Registry { url: None }));
    }

    #[test]
    fn berry_checksum_prefix_and_patch() {
        let h = "a".repeat(128);
        let text = format!(
            "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"r@npm:^1\":\n  version: 1.0.0\n  resolution: \"r@npm:1.0.0\"\n  checksum: 10c0/{h}\n\n\"r@patch:r@npm%3A^1#~builtin<compat/r>\":\n  version: 1.0.0\n  resolution: \"r@patch:r@npm%3A1.0.0#~builtin<compat/r>::version=1.0.0&hash=07638b\"\n  checksum: 10c0/{h}\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n  dependencies:\n    r: \"patch:r@npm%3A^1#~builtin<compat/r>\"\n"
        );
        let got = parse(Path::new("yarn.lock"), &text).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].hashes[0].value, h);
        assert_eq!(got[0].hashes[0].algorithm, "yarn-cache-sha512");
        assert_eq!(got[0].line, Some(5));
        let bad = "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"r@npm:^1\":\n  version: 1.0.0\n  resolution: \"r@npm:1.0.0\"\n  checksum: 9/abc\n";
        let err = parse(Path::new("yarn.lock"), bad).unwrap_err();
        assert!(err.to_string().starts_with("yarn.lock:5:"), "{err}");
    }

    #[test]
    fn berry_workspaces_other_than_the_root_are_local_packages() {
        let h = "b".repeat(128);
        let text = format!(
            "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"lib@workspace:packages/lib\":\n  version: 0.0.0-use.local\n  resolution: \"lib@workspace:packages/lib\"\n  dependencies:\n    r: \"npm:^1\"\n  languageName: unknown\n  linkType: soft\n\n\"monorepo@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"monorepo@workspace:.\"\n  dependencies:\n    lib: \"workspace:packages/lib\"\n\n\"r@npm:^1\":\n  version: 1.0.0\n  resolution: \"r@npm:1.0.0\"\n  checksum: 10c0/{h}\n"
        );
        let got = parse(Path::new("yarn.lock"), &text).unwrap();
        let names: Vec<(&str, &str)> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(names, [("lib", "0.0.0-use.local"), ("r", "1.0.0")]);
        assert!(
            matches!(&got[0].source, Source::Path { path } if path == "packages/lib"),
            "{:?}",
            got[0].source
        );
        assert_eq!(got[0].dependencies, ["pkg:npm/r@1.0.0"]);
    }
}
