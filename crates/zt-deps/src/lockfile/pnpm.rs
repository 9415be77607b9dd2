//! `pnpm-lock.yaml`, lockfile versions 5.x, 6.x and 9.x.
//!
//! The formats differ in how a package is keyed (its "dependency path"):
//!
//! - 5.x: `/name/1.0.0`, `/@scope/name/1.0.0`, peers as `_peer@1.0.0` suffix, non-registry
//!   packages under a host path (`github.com/owner/repo/<sha>`, `registry.npmjs.org/foo/1.0.0`);
//! - 6.x: `/name@1.0.0`, `/@scope/name@1.0.0`, peers in parentheses `(peer@1.0.0)`;
//! - 9.x: `name@1.0.0` in `packages` (metadata: `resolution`, `engines`, …) and the same key
//!   with peers, `name@1.0.0(peer@1.0.0)`, in `snapshots` (dependencies and `optional`).
//!
//! A `name`/`version` field in an entry wins over what the key says (git, tarball and `file:`
//! packages). Entries that yield no name or no version (`file:` without `name`, a host path
//! without a version) are not packages, as upstream pnpm tooling treats them.
//! `resolution` gives the source: `integrity` (registry, SRI hashes), `tarball` (a
//! `codeload.github.com/OWNER/REPO/tar.gz/SHA` tarball is git at that commit; other URLs are
//! URL sources, or registry ones when they carry an integrity), `type: git` with `repo` and
//! `commit`, `type: directory`. Dependency edges come from `dependencies` and
//! `optionalDependencies`; in 9.x from `snapshots`. Development-only packages are marked by
//! `dev: true` (5.x/6.x) or, in 9.x, computed: reachable only from importers'
//! `devDependencies`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::{hashes_from_sri, is_full_commit, package};
use crate::{Ecosystem, Error, Package, Source};

const FIX: &str = "regenerate it with `pnpm install --lockfile-only`";

/// One package entry before edges are resolved.
struct Entry {
    key: String,
    package: Package,
    /// (dependency name, reference) pairs.
    deps: Vec<(String, String)>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| {
        Error::parse(
            path,
            e.location().map(|l| l.line()),
            format!("not valid YAML: {e}"),
            FIX,
        )
    })?;
    let root = match doc {
        Value::Null => return Ok(Vec::new()),
        Value::Mapping(m) => m,
        _ => {
            return Err(Error::parse(
                path,
                Some(1),
                "the top level must be a mapping with `lockfileVersion` and `packages`",
                FIX,
            ));
        }
    };
    let major = lockfile_major(path, &root)?;
    let lines = key_lines(text, "packages");
    let mut entries = Vec::new();
    if let Some(pkgs) = root.get("packages") {
        let pkgs = match pkgs {
            Value::Null => Mapping::new(),
            Value::Mapping(m) => m.clone(),
            _ => {
                return Err(Error::parse(
                    path,
                    lines.get("").copied(),
                    "`packages` must be a mapping of dependency paths",
                    FIX,
                ));
            }
        };
        for (k, v) in &pkgs {
            let key = scalar(k)
                .ok_or_else(|| Error::parse(path, None, "a `packages` key is not a string", FIX))?;
            let line = lines.get(key.as_str()).copied();
            let body = match v {
                Value::Null => Mapping::new(),
                Value::Mapping(m) => m.clone(),
                _ => {
                    return Err(Error::parse(
                        path,
                        line,
                        format!("`packages.{key}` must be a mapping"),
                        FIX,
                    ));
                }
            };
            if let Some(e) = entry(path, &key, &body, major, line)? {
                entries.push(e);
            }
        }
    }
    if major >= 9 {
        snapshot_deps(path, &root, &mut entries)?;
    }
    let mut packages = resolve_edges(entries, major);
    if major >= 9 {
        mark_dev(&root, &mut packages, major);
    }
    Ok(packages)
}

/// The major lockfile version (`lockfileVersion: 5.3`, `'6.0'`, `'9.0'`); 5 when absent.
fn lockfile_major(path: &Path, root: &Mapping) -> Result<u64, Error> {
    let Some(v) = root.get("lockfileVersion") else {
        return Ok(5);
    };
    let text = scalar(v).unwrap_or_default();
    let major = text.split('.').next().unwrap_or("").trim();
    major.parse::<u64>().map_err(|_| {
        Error::parse(
            path,
            Some(1),
            format!("`lockfileVersion` `{text}` is not a version number"),
            FIX,
        )
    })
}

/// A YAML scalar as text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get_str<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn get_bool(m: &Mapping, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The 1-based line of each key directly under the top-level `section:` (indentation 2),
/// unquoted; the section's own line under `""`.
fn key_lines(text: &str, section: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    let mut inside = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            inside = line.strip_suffix(':').map(str::trim) == Some(section)
                || line.starts_with(&format!("{section}:"));
            if inside {
                out.insert(String::new(), i + 1);
            }
            continue;
        }
        if inside
            && indent == 2
            && let Some(k) = line.trim_start().strip_suffix(':').or_else(|| {
                // `key: {}` / `key: value` on one line
                line.trim_start().split_once(": ").map(|(k, _)| k)
            })
        {
            out.entry(unquote(k).to_string()).or_insert(i + 1);
        }
    }
    out
}

fn unquote(k: &str) -> &str {
    let k = k.trim();
    k.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| k.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .unwrap_or(k)
}

/// Drops a 6.x/9.x peer suffix `(…)` from a dependency path or version.
fn without_peers(s: &str) -> &str {
    match s.find('(') {
        Some(i) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Splits `name@version` where `name` may itself start with `@` (a scope).
fn split_at_version(s: &str) -> Option<(&str, &str)> {
    let start = usize::from(s.starts_with('@'));
    let i = s.get(start..)?.find('@')? + start;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Name and version from a dependency path, as far as the key tells them.
fn name_version_of_key(key: &str, major: u64) -> (String, String) {
    if key.starts_with("file:") {
        return (String::new(), String::new());
    }
    if major >= 9 {
        let k = without_peers(key);
        return match split_at_version(k) {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (k.to_string(), String::new()),
        };
    }
    // 5.x/6.x: `/…` is a registry path; anything else starts with a host to drop.
    let rest = match key.strip_prefix('/') {
        Some(r) => r,
        None => match key.split_once('/') {
            Some((_, r)) => r,
            None => return (String::new(), String::new()),
        },
    };
    let core = without_peers(rest);
    let parts: Vec<&str> = core.split('/').collect();
    let (name, tail): (String, &[&str]) = match parts.as_slice() {
        [scope, n, tail @ ..] if scope.starts_with('@') => (format!("{scope}/{n}"), tail),
        [n, tail @ ..] => ((*n).to_string(), tail),
        [] => return (String::new(), String::new()),
    };
    let (name, version) = match tail.first() {
        Some(v) => (name, (*v).to_string()),
        // 6.x: `name@version`
        None => match split_at_version(&name) {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (name.clone(), String::new()),
        },
    };
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return (String::new(), String::new());
    }
    // 5.x peer suffix: `1.0.0_peer@2.0.0`
    let version = version.split('_').next().unwrap_or("").to_string();
    (name, version)
}

/// The commit of a `https://codeload.github.com/OWNER/REPO/tar.gz/SHA` tarball, with the
/// repository URL.
pub(super) fn codeload_commit(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://codeload.github.com/")?;
    let mut it = rest.split('/');
    let (owner, repo, kind, sha) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if kind != "tar.gz" || it.next().is_some() || owner.is_empty() || repo.is_empty() {
        return None;
    }
    Some((
        format!("https://github.com/{owner}/{repo}"),
        sha.to_string(),
    ))
}

fn git(url: String, commit: &str) -> Source {
    Source::Git {
        url,
        commit: is_full_commit(commit).then(|| commit.to_ascii_lowercase()),
    }
}

/// The source and hashes of an entry from its `resolution`.
fn source_of(body: &Mapping) -> (Source, Vec<crate::Hash>) {
    let Some(Value::Mapping(res)) = body.get("resolution") else {
        return (Source::Registry { url: None }, Vec::new());
    };
    let hashes = get_str(res, "integrity")
        .map(hashes_from_sri)
        .unwrap_or_default();
    if let Some(commit) = get_str(res, "commit") {
        let repo = get_str(res, "repo").unwrap_or("").to_string();
        return (git(repo, commit), hashes);
    }
    if get_str(res, "type") == Some("directory") || res.contains_key("directory") {
        let dir = get_str(res, "directory").unwrap_or("").to_string();
        return (Source::Path { path: dir }, hashes);
    }
    if let Some(tarball) = get_str(res, "tarball") {
        if let Some((repo, sha)) = codeload_commit(tarball) {
            return (git(repo, &sha), hashes);
        }
        if let Some(p) = tarball.strip_prefix("file:") {
            return (
                Source::Path {
                    path: p.to_string(),
                },
                hashes,
            );
        }
        let url = tarball.to_string();
        return if hashes.is_empty() {
            (Source::Url { url }, hashes)
        } else {
            (Source::Registry { url: Some(url) }, hashes)
        };
    }
    (Source::Registry { url: None }, hashes)
}

/// `(name, reference)` pairs of the `dependencies` and `optionalDependencies` of a mapping.
fn dep_refs(body: &Mapping) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in ["dependencies", "optionalDependencies"] {
        if let Some(Value::Mapping(m)) = body.get(field) {
            for (k, v) in m {
                if let (Some(k), Some(v)) = (scalar(k), scalar(v)) {
                    out.push((k, v));
                }
            }
        }
    }
    out
}

fn entry(
    _path: &Path,
    key: &str,
    body: &Mapping,
    major: u64,
    line: Option<usize>,
) -> Result<Option<Entry>, Error> {
    let (mut name, mut version) = name_version_of_key(key, major);
    if let Some(n) = body.get("name").and_then(scalar) {
        name = n;
    }
    if let Some(v) = body.get("version").and_then(scalar) {
        version = v;
    }
    if name.is_empty() || version.is_empty() {
        return Ok(None);
    }
    let (source, hashes) = source_of(body);
    let mut p = package(Ecosystem::Npm, &name, &version, source);
    p.hashes = hashes;
    p.line = line;
    if get_bool(body, "dev") {
        p.dev = true;
        p.groups.push("dev".into());
    }
    if get_bool(body, "optional") {
        p.groups.push("optional".into());
    }
    Ok(Some(Entry {
        key: key.to_string(),
        package: p,
        deps: if major >= 9 {
            Vec::new()
        } else {
            dep_refs(body)
        },
    }))
}

/// 9.x: dependencies (and `optional`) live in `snapshots`, keyed with peer suffixes.
fn snapshot_deps(path: &Path, root: &Mapping, entries: &mut [Entry]) -> Result<(), Error> {
    let Some(snaps) = root.get("snapshots") else {
        return Ok(());
    };
    let snaps = match snaps {
        Value::Null => return Ok(()),
        Value::Mapping(m) => m,
        _ => {
            return Err(Error::parse(
                path,
                None,
                "`snapshots` must be a mapping",
                FIX,
            ));
        }
    };
    let by_key: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.key.clone(), i))
        .collect();
    for (k, v) in snaps {
        let Some(key) = scalar(k) else { continue };
        let Some(&i) = by_key.get(without_peers(&key)) else {
            continue;
        };
        let Some(e) = entries.get_mut(i) else {
            continue;
        };
        if let Value::Mapping(body) = v {
            e.deps.extend(dep_refs(body));
            if get_bool(body, "optional") && !e.package.groups.iter().any(|g| g == "optional") {
                e.package.groups.push("optional".into());
            }
        }
    }
    Ok(())
}

/// The candidate `packages` keys a dependency reference can name.
fn ref_keys(name: &str, reference: &str, major: u64) -> Vec<String> {
    let bare = without_peers(reference);
    let mut out = Vec::new();
    if major >= 9 {
        // `1.0.0(peer@1)` or an alias `other-name@1.0.0`
        if split_at_version(bare).is_some_and(|(n, _)| !n.is_empty()) {
            out.push(bare.to_string());
        }
        out.push(format!("{name}@{bare}"));
        return out;
    }
    if reference.starts_with('/') || !reference.starts_with(|c: char| c.is_ascii_digit()) {
        // a full dependency path (`/foo/1.0.0`, `github.com/o/r/sha`, `/foo@1.0.0(…)`)
        out.push(reference.to_string());
        out.push(without_peers(reference).to_string());
    }
    out.push(format!("/{name}/{reference}"));
    out.push(format!("/{name}@{reference}"));
    out.push(format!(
        "/{name}/{}",
        reference.split('_').next().unwrap_or("")
    ));
    out.push(format!("/{name}@{bare}"));
    out
}

fn resolve_edges(entries: Vec<Entry>, major: u64) -> Vec<Package> {
    let mut by_key: HashMap<String, String> = HashMap::new();
    for e in &entries {
        by_key.insert(e.key.clone(), e.package.purl.clone());
        by_key
            .entry(without_peers(&e.key).to_string())
            .or_insert_with(|| e.package.purl.clone());
    }
    entries
        .into_iter()
        .map(|mut e| {
            for (name, reference) in &e.deps {
                if let Some(purl) = ref_keys(name, reference, major)
                    .iter()
                    .find_map(|k| by_key.get(k))
                {
                    e.package.dependencies.push(purl.clone());
                }
            }
            e.package
        })
        .collect()
}

/// 9.x has no `dev` flags: a package is development-only when the importers reach it only
/// through `devDependencies`.
fn mark_dev(root: &Mapping, packages: &mut [Package], major: u64) {
    let Some(Value::Mapping(importers)) = root.get("importers") else {
        return;
    };
    let by_purl: BTreeMap<String, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.purl.clone(), i))
        .collect();
    let mut key_to_purl: HashMap<String, String> = HashMap::new();
    for p in packages.iter() {
        key_to_purl.insert(format!("{}@{}", p.name, p.version), p.purl.clone());
    }
    let roots = |field: &str| -> Vec<String> {
        let mut out = Vec::new();
        for (_, imp) in importers {
            let Value::Mapping(imp) = imp else { continue };
            let Some(Value::Mapping(deps)) = imp.get(field) else {
                continue;
            };
            for (k, v) in deps {
                let Some(name) = scalar(k) else { continue };
                let reference = match v {
                    Value::Mapping(m) => get_str(m, "version").map(str::to_string),
                    other => scalar(other),
                };
                let Some(reference) = reference else { continue };
                if let Some(purl) = ref_keys(&name, &reference, major)
                    .iter()
                    .find_map(|k| key_to_purl.get(k))
                {
                    out.push(purl.clone());
                }
            }
        }
        out
    };
    let reach = |starts: Vec<String>| -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = starts
            .iter()
            .filter_map(|p| by_purl.get(p).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            if let Some(p) = packages.get(i) {
                stack.extend(
                    p.dependencies
                        .iter()
                        .filter_map(|d| by_purl.get(d).copied()),
                );
            }
        }
        seen
    };
    let mut prod_roots = roots("dependencies");
    prod_roots.extend(roots("optionalDependencies"));
    let prod = reach(prod_roots);
    let dev = reach(roots("devDependencies"));
    for i in dev.difference(&prod) {
        if let Some(p) = packages.get_mut(*i) {
            p.dev = true;
            p.groups.push("dev".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_each_format() {
        let nv = |k: &str, m: u64| name_version_of_key(k, m);
        assert_eq!(nv("/foo/1.0.0", 5), ("foo".into(), "1.0.0".into()));
        assert_eq!(
            nv("/@a/b/1.0.0_c@2.0.0", 5),
            ("@a/b".into(), "1.0.0".into())
        );
        assert_eq!(
            nv("registry.npmjs.org/@foo/bar/1.1.0", 5),
            ("@foo/bar".into(), "1.1.0".into())
        );
        assert_eq!(
            nv("github.com/kevva/is-positive", 5),
            ("".into(), "".into())
        );
        assert_eq!(nv("/foo/bar", 5), ("".into(), "".into()));
        assert_eq!(
            nv("/react-dom@18.2.0(react@18.2.0)", 6),
            ("react-dom".into(), "18.2.0".into())
        );
        assert_eq!(
            nv("/@types/x@1.0.0(@types/react@18.0.0)", 6),
            ("@types/x".into(), "1.0.0".into())
        );
        assert_eq!(
            nv("@typescript-eslint/types@5.62.0", 9),
            ("@typescript-eslint/types".into(), "5.62.0".into())
        );
        assert_eq!(nv("file:../x", 9), ("".into(), "".into()));
    }

    #[test]
    fn v9_dev_and_edges() {
        let text = "lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      a:
        specifier: ^1
        version: 1.0.0
    devDependencies:
      d:
        specifier: ^1
        version: 1.0.0(a@1.0.0)
packages:
  a@1.0.0:
    resolution: {integrity: sha512-AAAA}
  b@2.0.0:
    resolution: {integrity: sha512-AAAA}
  d@1.0.0:
    resolution: {integrity: sha512-AAAA}
  c-real@3.0.0:
    resolution: {integrity: sha512-AAAA}
snapshots:
  a@1.0.0:
    dependencies:
      b: 2.0.0
  b@2.0.0: {}
  d@1.0.0(a@1.0.0):
    dependencies:
      a: 1.0.0
      c: c-real@3.0.0
  c-real@3.0.0: {}
";
        let got = parse(Path::new("pnpm-lock.yaml"), text).unwrap();
        let by = |n: &str| got.iter().find(|p| p.name == n).unwrap();
        assert_eq!(by("a").dependencies, ["pkg:npm/b@2.0.0"]);
        assert_eq!(
            by("d").dependencies,
            ["pkg:npm/a@1.0.0", "pkg:npm/c-real@3.0.0"]
        );
        assert!(!by("a").dev && !by("b").dev);
        assert!(by("d").dev && by("c-real").dev);
        assert_eq!(by("a").line, Some(13));
    }
}
