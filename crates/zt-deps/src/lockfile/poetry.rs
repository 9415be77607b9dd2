//! `poetry.lock`: `[[package]]` tables with `name`, `version`, `optional`, `category`
//! (lock format 1) or `groups` (format 2), `source` (git with `resolved_reference`, url,
//! directory, file, legacy index), `files` hashes (or format 1 `[metadata.files]`) and
//! `[package.dependencies]`.

use std::path::Path;

use super::{
    NameIndex, hash_from_prefixed, is_full_commit, package, package_header_lines, parse_toml,
};
use crate::purl::pep503;
use crate::{Ecosystem, Error, Package, Source};

const FIX: &str = "regenerate it with `poetry lock`";

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let table = parse_toml(path, text, FIX)?;
    let lines = package_header_lines(text);
    let files_v1 = table
        .get("metadata")
        .and_then(|m| m.get("files"))
        .and_then(|f| f.as_table());
    let entries = match table.get("package") {
        None => return Ok(Vec::new()),
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
    let mut packages = Vec::new();
    let mut deps = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let line = lines.get(i).copied();
        let s = |k: &str| entry.get(k).and_then(|v| v.as_str());
        let name = s("name").ok_or_else(|| {
            Error::parse(path, line, "`[[package]]` without a string `name`", FIX)
        })?;
        let version = s("version").ok_or_else(|| {
            Error::parse(
                path,
                line,
                format!("package `{name}` has no string `version`"),
                FIX,
            )
        })?;
        let src = entry.get("source");
        let src_s = |k: &str| src.and_then(|t| t.get(k)).and_then(|v| v.as_str());
        let source = match src_s("type") {
            Some("git") => Source::Git {
                url: src_s("url").unwrap_or_default().to_string(),
                commit: src_s("resolved_reference")
                    .filter(|c| is_full_commit(c))
                    .map(str::to_ascii_lowercase),
            },
            Some("directory" | "file") => Source::Path {
                path: src_s("url").unwrap_or_default().to_string(),
            },
            Some("url") => Source::Url {
                url: src_s("url").unwrap_or_default().to_string(),
            },
            Some(_) => Source::Registry {
                url: src_s("url").map(str::to_string),
            },
            None => Source::Registry { url: None },
        };
        let mut p = package(Ecosystem::PyPI, name, version, source);
        p.line = line;
        let optional = entry
            .get("optional")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let groups: Vec<String> = entry
            .get("groups")
            .and_then(|g| g.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if optional {
            p.groups.push("optional".into());
        }
        match s("category") {
            Some("dev") => p.groups.push("dev".into()),
            // A package any production group needs is a production package.
            _ if groups.iter().any(|g| g == "main") => {}
            _ => p.groups.extend(groups.iter().cloned()),
        }
        p.dev = s("category") == Some("dev")
            || (!groups.is_empty() && !groups.iter().any(|g| g == "main"));
        let files = entry.get("files").and_then(|f| f.as_array()).or_else(|| {
            files_v1
                .and_then(|m| m.get(name))
                .and_then(|f| f.as_array())
        });
        for f in files.into_iter().flatten() {
            if let Some(h) = f
                .get("hash")
                .and_then(|h| h.as_str())
                .and_then(hash_from_prefixed)
            {
                p.hashes.push(h);
            }
        }
        let d: Vec<String> = entry
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|t| t.keys().map(|k| pep503(k)).collect())
            .unwrap_or_default();
        deps.push(d);
        packages.push(p);
    }
    let index = NameIndex::new(&packages, pep503);
    for (p, d) in packages.iter_mut().zip(deps) {
        for name in d {
            if let Some(purl) = index.resolve(&name, None) {
                p.dependencies.push(purl.to_string());
            }
        }
    }
    Ok(packages)
}
