//! `uv.lock`: `[[package]]` tables with `name`, `version`, `source` (`registry`, `git` with
//! `#COMMIT`, `url`, `path`/`directory`/`editable`/`virtual`), `sdist`/`wheels` hashes and
//! `dependencies` (`{ name = … }`). The project's own entries (`virtual`/`editable` source)
//! are not packages; their `optional-dependencies` and `dev-dependencies` tables give the
//! groups of the packages they list directly (unless also a main dependency).

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    NameIndex, hash_from_prefixed, is_full_commit, package, package_header_lines, parse_toml,
};
use crate::purl::pep503;
use crate::{Ecosystem, Error, Package, Source};

const FIX: &str = "regenerate it with `uv lock`";

fn names(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("name").and_then(|n| n.as_str()).map(pep503))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let table = parse_toml(path, text, FIX)?;
    let lines = package_header_lines(text);
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
    let mut main: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dev_names: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let line = lines.get(i).copied();
        let name = entry.get("name").and_then(|v| v.as_str()).ok_or_else(|| {
            Error::parse(path, line, "`[[package]]` without a string `name`", FIX)
        })?;
        let src = entry.get("source");
        let s = |k: &str| src.and_then(|t| t.get(k)).and_then(|v| v.as_str());
        if s("virtual").is_some() || s("editable").is_some() {
            main.extend(names(entry.get("dependencies")));
            for key in ["optional-dependencies", "dev-dependencies"] {
                for (g, list) in entry
                    .get(key)
                    .and_then(|t| t.as_table())
                    .into_iter()
                    .flatten()
                {
                    for n in names(Some(list)) {
                        groups.entry(n.clone()).or_default().push(g.clone());
                        if key == "dev-dependencies" || g == "dev" {
                            dev_names.push(n);
                        }
                    }
                }
            }
            continue;
        }
        let version = entry
            .get("version")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                Error::parse(
                    path,
                    line,
                    format!("package `{name}` has no string `version`"),
                    FIX,
                )
            })?;
        let source = if let Some(g) = s("git") {
            let (url, commit) = g.split_once('#').unwrap_or((g, ""));
            Source::Git {
                url: url.to_string(),
                commit: is_full_commit(commit).then(|| commit.to_ascii_lowercase()),
            }
        } else if let Some(u) = s("url") {
            Source::Url { url: u.to_string() }
        } else if let Some(p) = s("path").or_else(|| s("directory")) {
            Source::Path {
                path: p.to_string(),
            }
        } else {
            Source::Registry {
                url: s("registry").map(str::to_string),
            }
        };
        let mut p = package(Ecosystem::PyPI, name, version, source);
        p.line = line;
        let sdist = entry.get("sdist").into_iter();
        let wheels = entry
            .get("wheels")
            .and_then(|w| w.as_array())
            .into_iter()
            .flatten();
        for f in sdist.chain(wheels) {
            if let Some(h) = f
                .get("hash")
                .and_then(|h| h.as_str())
                .and_then(hash_from_prefixed)
            {
                p.hashes.push(h);
            }
        }
        deps.push(names(entry.get("dependencies")));
        packages.push(p);
    }
    for p in &mut packages {
        let n = pep503(&p.name);
        if !main.contains(&n)
            && let Some(g) = groups.get(&n)
        {
            p.groups = g.clone();
            p.dev = dev_names.contains(&n);
        }
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
