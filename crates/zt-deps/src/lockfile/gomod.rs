//! `go.mod`: `module`, `go`, `toolchain`, `require` and `replace` directives (single-line and
//! block form). The Go toolchain appears as the pseudo-package `stdlib` (version from
//! `toolchain`, else `go`). For modules declaring `go` < 1.17, whose `go.mod` does not list
//! indirect dependencies, the sibling `.sum` file (same stem) adds them; `go.sum` `h1:`
//! hashes are attached where present.

use std::collections::BTreeMap;
use std::path::Path;

use super::package;
use crate::{Ecosystem, Error, Hash, Package, Source};

const FIX: &str =
    "check the directive against https://go.dev/ref/mod#go-mod-file, or run `go mod tidy`";

struct Require {
    path: String,
    version: String,
    line: usize,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let mut requires = Vec::new();
    let mut replaces: Vec<(String, Option<String>, String, String)> = Vec::new();
    let mut go_version = None;
    let mut toolchain = None;
    let mut block: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (verb, rest) = match &block {
            Some(b) if line == ")" => {
                let _ = b;
                block = None;
                continue;
            }
            Some(b) => (b.clone(), line.to_string()),
            None => {
                let (v, r) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let r = r.trim();
                if r == "(" {
                    block = Some(v.to_string());
                    continue;
                }
                (v.to_string(), r.to_string())
            }
        };
        let words: Vec<&str> = rest
            .split_whitespace()
            .map(|w| w.trim_matches('"'))
            .collect();
        let bad = |what: &str| {
            Error::parse(
                path,
                Some(line_no),
                format!("malformed `{verb}` directive: {what}"),
                FIX,
            )
        };
        match verb.as_str() {
            "module" | "exclude" | "retract" | "godebug" | "tool" | "ignore" => {}
            "go" => go_version = words.first().map(|s| s.to_string()),
            "toolchain" => {
                toolchain = words
                    .first()
                    .map(|s| s.trim_start_matches("go").to_string())
            }
            "require" => match words.as_slice() {
                [p, v, ..] => requires.push(Require {
                    path: p.to_string(),
                    version: v.to_string(),
                    line: line_no,
                }),
                _ => return Err(bad("expected `MODULE VERSION`")),
            },
            "replace" => {
                let arrow = words
                    .iter()
                    .position(|w| *w == "=>")
                    .ok_or_else(|| bad("expected `OLD [VERSION] => NEW [VERSION]`"))?;
                let (old, new) = words.split_at(arrow);
                let new = new.get(1..).unwrap_or(&[]);
                let (Some(old_path), Some(new_path)) = (old.first(), new.first()) else {
                    return Err(bad("expected `OLD [VERSION] => NEW [VERSION]`"));
                };
                replaces.push((
                    old_path.to_string(),
                    old.get(1).map(|s| s.to_string()),
                    new_path.to_string(),
                    new.get(1).map(|s| s.to_string()).unwrap_or_default(),
                ));
            }
            _ => {
                return Err(Error::parse(
                    path,
                    Some(line_no),
                    format!("unknown directive `{verb}`: this is not a go.mod file"),
                    FIX,
                ));
            }
        }
    }
    if block.is_some() {
        return Err(Error::parse(
            path,
            Some(text.lines().count()),
            "a `(` block is not closed",
            FIX,
        ));
    }
    let sums = read_sum(path);
    let legacy = go_version
        .as_deref()
        .is_some_and(|v| minor_of(v).is_some_and(|m| m < 17));
    if legacy {
        let listed: Vec<String> = requires.iter().map(|r| r.path.clone()).collect();
        for (module, version) in sums.keys() {
            if !listed.contains(module)
                && !requires
                    .iter()
                    .any(|r| &r.path == module && &r.version == version)
            {
                requires.push(Require {
                    path: module.clone(),
                    version: version.clone(),
                    line: 0,
                });
            }
        }
    }
    let mut out = Vec::new();
    for r in requires {
        let mut name = r.path.clone();
        let mut version = r.version.clone();
        let mut source = Source::Registry { url: None };
        let rep = replaces
            .iter()
            .find(|(o, ov, _, _)| *o == r.path && ov.as_deref() == Some(r.version.as_str()))
            .or_else(|| {
                replaces
                    .iter()
                    .find(|(o, ov, _, _)| *o == r.path && ov.is_none())
            });
        if let Some((_, _, new, new_version)) = rep {
            name = new.clone();
            version = new_version.clone();
            if new.starts_with("./") || new.starts_with("../") || new.starts_with('/') {
                source = Source::Path { path: new.clone() };
                version = String::new();
            }
        }
        let hashes: Vec<Hash> = sums
            .get(&(name.clone(), version.clone()))
            .map(|h| {
                vec![Hash {
                    algorithm: "h1".into(),
                    value: h.clone(),
                }]
            })
            .unwrap_or_default();
        let mut p = package(
            Ecosystem::Go,
            &name,
            version.trim_start_matches('v'),
            source,
        );
        p.hashes = hashes;
        p.line = (r.line > 0).then_some(r.line);
        out.push(p);
    }
    if let Some(v) = toolchain.or(go_version) {
        let mut p = package(Ecosystem::Go, "stdlib", &v, Source::Registry { url: None });
        p.line = None;
        out.push(p);
    }
    Ok(out)
}

fn minor_of(v: &str) -> Option<u32> {
    let mut parts = v.split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    (major == 1).then_some(minor)
}

/// `(module, version) → h1 hash` from the sibling `.sum` file (`go.mod` → `go.sum`,
/// `x.mod` → `x.sum`); `/go.mod` lines are skipped. A missing file gives an empty map.
fn read_sum(path: &Path) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let Ok(text) = fs_err::read_to_string(path.with_extension("sum")) else {
        return out;
    };
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let (Some(m), Some(v), Some(h)) = (w.next(), w.next(), w.next()) else {
            continue;
        };
        if v.ends_with("/go.mod") {
            continue;
        }
        let h = h.strip_prefix("h1:").unwrap_or(h);
        out.insert((m.to_string(), v.to_string()), h.to_string());
    }
    out
}
