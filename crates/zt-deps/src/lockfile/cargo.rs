//! `Cargo.lock` (versions 1–4): `[[package]]` tables with `name`, `version`, `source`,
//! `checksum` (or v1 `[metadata]` checksum lines) and `dependencies` ("name", "name version"
//! or "name version (source)").

use std::path::Path;

use super::{NameIndex, hex_lower, is_full_commit, package, package_header_lines, parse_toml};
use crate::{Ecosystem, Error, Hash, Package, Source};

const FIX: &str = "regenerate it with `cargo generate-lockfile` (or `cargo update -w`)";

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let table = parse_toml(path, text, FIX)?;
    let lines = package_header_lines(text);
    let metadata = table.get("metadata").and_then(|m| m.as_table());
    let mut packages = Vec::new();
    let mut deps = Vec::new();
    let entries = match table.get("package") {
        None => return Ok(packages),
        Some(toml::Value::Array(a)) => a.as_slice(),
        Some(_) => {
            return Err(Error::parse(
                path,
                None,
                "field `package` must be an array of tables `[[package]]`",
                FIX,
            ));
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        let line = lines.get(i).copied();
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str());
        let name = field("name").ok_or_else(|| {
            Error::parse(path, line, "`[[package]]` without a string `name`", FIX)
        })?;
        let version = field("version").ok_or_else(|| {
            Error::parse(
                path,
                line,
                format!("package `{name}` has no string `version`"),
                FIX,
            )
        })?;
        let source_text = field("source");
        let source = match source_text {
            None => Source::Path {
                path: String::new(),
            },
            Some(s) => source_of(s),
        };
        let mut p = package(Ecosystem::CratesIo, name, version, source);
        p.line = line;
        let checksum = field("checksum").map(str::to_string).or_else(|| {
            let key = format!("checksum {name} {version} ({})", source_text.unwrap_or(""));
            metadata
                .and_then(|m| m.get(&key))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
        if let Some(c) = checksum {
            let value = hex_lower(&c).ok_or_else(|| {
                Error::parse(
                    path,
                    line,
                    format!("package `{name}` has a checksum that is not hex: `{c}`"),
                    FIX,
                )
            })?;
            p.hashes.push(Hash {
                algorithm: "sha256".into(),
                value,
            });
        }
        let mut d = Vec::new();
        if let Some(list) = entry.get("dependencies") {
            let list = list.as_array().ok_or_else(|| {
                Error::parse(
                    path,
                    line,
                    format!("package `{name}`: `dependencies` must be an array of strings"),
                    FIX,
                )
            })?;
            for dep in list {
                let dep = dep.as_str().ok_or_else(|| {
                    Error::parse(
                        path,
                        line,
                        format!("package `{name}`: `dependencies` must be an array of strings"),
                        FIX,
                    )
                })?;
                let mut parts = dep.split(' ');
                let dn = parts.next().unwrap_or_default().to_string();
                d.push((dn, parts.next().map(str::to_string)));
            }
        }
        deps.push(d);
        packages.push(p);
    }
    let index = NameIndex::new(&packages, str::to_string);
    for (p, d) in packages.iter_mut().zip(deps) {
        for (name, version) in d {
            // Excerpted lockfiles may name dependencies they do not list; an edge exists
            // only to a listed package.
            if let Some(purl) = index.resolve(&name, version.as_deref()) {
                p.dependencies.push(purl.to_string());
            }
        }
    }
    Ok(packages)
}

/// `registry+URL`, `sparse+URL`, `git+URL?rev=X#COMMIT`.
fn source_of(s: &str) -> Source {
    if let Some(rest) = s.strip_prefix("git+") {
        let (url, commit) = match rest.split_once('#') {
            Some((u, c)) => (u, is_full_commit(c).then(|| c.to_ascii_lowercase())),
            None => (rest, None),
        };
        let url = url.split_once('?').map_or(url, |(u, _)| u);
        Source::Git {
            url: url.to_string(),
            commit,
        }
    } else if let Some(url) = s
        .strip_prefix("registry+")
        .or_else(|| s.strip_prefix("sparse+"))
    {
        Source::Registry {
            url: Some(url.to_string()),
        }
    } else {
        Source::Url { url: s.to_string() }
    }
}
