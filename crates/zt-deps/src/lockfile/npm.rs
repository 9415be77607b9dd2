//! `package-lock.json`: version 1 through the nested `dependencies` tree, versions 2 and 3
//! through the flat `packages` map (keys are `node_modules/…` install paths).

use std::path::Path;

use serde_json::{Map, Value};

use super::{hashes_from_sri, is_full_commit, package};
use crate::{Ecosystem, Error, Package, Source};

const FIX: &str = "regenerate it with `npm install --package-lock-only`";

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| Error::parse(path, Some(e.line()), format!("not valid JSON: {e}"), FIX))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::parse(path, Some(1), "the top level must be a JSON object", FIX))?;
    let mut packages = Vec::new();
    if let Some(map) = obj.get("packages") {
        let map = map
            .as_object()
            .ok_or_else(|| Error::parse(path, None, "field `packages` must be an object", FIX))?;
        read_v2(path, text, map, &mut packages)?;
    } else if let Some(map) = obj.get("dependencies") {
        let map = map.as_object().ok_or_else(|| {
            Error::parse(path, None, "field `dependencies` must be an object", FIX)
        })?;
        let mut requires = Vec::new();
        read_v1(path, text, map, "", &mut packages, &mut requires)?;
        // v1 `requires` name dependencies without their install location; an edge is kept
        // where the name is unambiguous in the lockfile.
        let index = super::NameIndex::new(&packages, str::to_string);
        for (p, names) in packages.iter_mut().zip(requires) {
            for n in names {
                if let Some(purl) = index.resolve(&n, None) {
                    p.dependencies.push(purl.to_string());
                }
            }
        }
    }
    Ok(packages)
}

/// The line of the first `"key":` in `text`.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let needle = format!("{}:", Value::String(key.to_string()));
    text.find(&needle).map(|o| super::line_of(text, o))
}

/// The package name of a v2 install path: after the last `node_modules/`, or the last
/// path component for a linked workspace folder.
fn name_of_path(key: &str) -> &str {
    match key.rfind("node_modules/") {
        Some(i) => key.get(i + "node_modules/".len()..).unwrap_or(key),
        None => key.rsplit('/').next().unwrap_or(key),
    }
}

fn groups(entry: &Map<String, Value>, p: &mut Package) {
    let flag = |k: &str| entry.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("dev") {
        p.groups.push("dev".into());
    }
    if flag("optional") {
        p.groups.push("optional".into());
    }
    if flag("devOptional") {
        p.groups.push("dev".into());
        p.groups.push("optional".into());
    }
    if flag("inBundle") || flag("bundled") {
        p.groups.push("bundled".into());
    }
    p.dev = flag("dev");
}

/// A git source from `resolved`/`version` text (`git+ssh://…#sha`, `github:u/r#sha`, …).
fn git_source(text: &str) -> Option<Source> {
    let is_git = text.starts_with("git")
        || text.starts_with("github:")
        || text.starts_with("gitlab:")
        || text.starts_with("bitbucket:");
    if !is_git {
        return None;
    }
    let (url, frag) = text.split_once('#').unwrap_or((text, ""));
    Some(Source::Git {
        url: url.to_string(),
        commit: is_full_commit(frag).then(|| frag.to_ascii_lowercase()),
    })
}

/// The `license` of a v2/v3 entry: an SPDX expression string, or the legacy
/// `{"type": "MIT"}` object.
fn license_of(entry: &Map<String, Value>) -> Option<String> {
    match entry.get("license")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Object(o) => o
            .get("type")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string()),
        _ => None,
    }
}

fn source_of(entry: &Map<String, Value>, version: &str) -> Source {
    let resolved = entry.get("resolved").and_then(Value::as_str).unwrap_or("");
    if let Some(s) = git_source(resolved).or_else(|| git_source(version)) {
        return s;
    }
    if let Some(p) = resolved
        .strip_prefix("file:")
        .or_else(|| version.strip_prefix("file:"))
    {
        return Source::Path {
            path: p.to_string(),
        };
    }
    if resolved.starts_with("http://") || resolved.starts_with("https://") {
        return Source::Registry {
            url: Some(resolved.to_string()),
        };
    }
    if entry.get("link").and_then(Value::as_bool) == Some(true) {
        return Source::Path {
            path: resolved.to_string(),
        };
    }
    Source::Registry { url: None }
}

fn read_v2(
    path: &Path,
    text: &str,
    map: &Map<String, Value>,
    out: &mut Vec<Package>,
) -> Result<(), Error> {
    let mut keyed = Vec::new();
    for (key, entry) in map {
        if key.is_empty() {
            continue;
        }
        let entry = entry.as_object().ok_or_else(|| {
            Error::parse(
                path,
                key_line(text, key),
                format!("`packages.{key}` must be an object"),
                FIX,
            )
        })?;
        if entry.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| name_of_path(key));
        let version = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let source = source_of(entry, version);
        let version = if git_source(version).is_some() || version.starts_with("file:") {
            ""
        } else {
            version
        };
        let mut p = package(Ecosystem::Npm, name, version, source);
        p.line = key_line(text, key);
        groups(entry, &mut p);
        if let Some(sri) = entry.get("integrity").and_then(Value::as_str) {
            p.hashes = hashes_from_sri(sri);
        }
        p.license = license_of(entry);
        keyed.push((key.clone(), entry, p));
    }
    // Edges: node resolution, nearest `node_modules/NAME` walking up the install path.
    let purl_at: std::collections::BTreeMap<&str, &str> = keyed
        .iter()
        .map(|(k, _, p)| (k.as_str(), p.purl.as_str()))
        .collect();
    let mut edges = Vec::new();
    for (key, entry, _) in &keyed {
        let mut d = Vec::new();
        for field in ["dependencies", "optionalDependencies", "peerDependencies"] {
            for dep in entry
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|m| m.keys())
            {
                let mut base = key.as_str();
                loop {
                    let candidate = if base.is_empty() {
                        format!("node_modules/{dep}")
                    } else {
                        format!("{base}/node_modules/{dep}")
                    };
                    if let Some(purl) = purl_at.get(candidate.as_str()) {
                        d.push((*purl).to_string());
                        break;
                    }
                    if base.is_empty() {
                        break;
                    }
                    base = match base.rfind("/node_modules/") {
                        Some(i) => base.get(..i).unwrap_or(""),
                        None => "",
                    };
                }
            }
        }
        edges.push(d);
    }
    for ((_, _, mut p), d) in keyed.into_iter().zip(edges) {
        p.dependencies = d;
        out.push(p);
    }
    Ok(())
}

fn read_v1(
    path: &Path,
    text: &str,
    map: &Map<String, Value>,
    parent: &str,
    out: &mut Vec<Package>,
    requires: &mut Vec<Vec<String>>,
) -> Result<(), Error> {
    for (key, entry) in map {
        let here = format!("{parent}/{key}");
        let entry = entry.as_object().ok_or_else(|| {
            Error::parse(
                path,
                key_line(text, key),
                format!("`dependencies{}` must be an object", here.replace('/', ".")),
                FIX,
            )
        })?;
        let raw = entry.get("version").and_then(Value::as_str).unwrap_or("");
        let (name, version) = match raw.strip_prefix("npm:").and_then(|a| a.rsplit_once('@')) {
            Some((n, v)) if !n.is_empty() => (n, v),
            _ => (key.as_str(), raw),
        };
        let source = source_of(entry, version);
        let version = if matches!(source, Source::Git { .. }) || version.starts_with("file:") {
            ""
        } else {
            version
        };
        let mut p = package(Ecosystem::Npm, name, version, source);
        p.line = key_line(text, key);
        groups(entry, &mut p);
        if let Some(sri) = entry.get("integrity").and_then(Value::as_str) {
            p.hashes = hashes_from_sri(sri);
        }
        let mut children = Vec::new();
        let mut child_requires = Vec::new();
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            read_v1(
                path,
                text,
                nested,
                &here,
                &mut children,
                &mut child_requires,
            )?;
        }
        out.push(p);
        requires.push(
            entry
                .get("requires")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        );
        out.extend(children);
        requires.extend(child_requires);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_in_v1_and_v2() {
        let v1 = r#"{"lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","requires":{"b":"^2"}},
            "b":{"version":"2.1.0","integrity":"sha512-AAAA"}}}"#;
        let got = parse(Path::new("package-lock.json"), v1).unwrap();
        assert_eq!(got[0].dependencies, ["pkg:npm/b@2.1.0"]);
        let v2 = r#"{"lockfileVersion":3,"packages":{"":{"name":"root"},
            "node_modules/a":{"version":"1.0.0","dependencies":{"b":"^2"}},
            "node_modules/a/node_modules/b":{"version":"2.0.0"},
            "node_modules/b":{"version":"3.0.0","dev":true}}}"#;
        let got = parse(Path::new("package-lock.json"), v2).unwrap();
        let a = got.iter().find(|p| p.name == "a").unwrap();
        assert_eq!(a.dependencies, ["pkg:npm/b@2.0.0"]);
        assert!(got.iter().any(|p| p.version == "3.0.0" && p.dev));
        assert_eq!(a.line, Some(2));
    }
}
