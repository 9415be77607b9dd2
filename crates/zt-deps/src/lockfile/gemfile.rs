//! `Gemfile.lock`: `GEM`, `GIT` and `PATH` sections, each with `remote:` (and for git
//! `revision:`) and a `specs:` list of `NAME (VERSION)` lines (4 spaces) followed by their
//! dependency lines (6 spaces). Lines that are not `NAME (VERSION)` are not packages; a
//! platform suffix (`VERSION-PLATFORM`) is dropped from the version.

use std::path::Path;

use super::{NameIndex, is_full_commit, package};
use crate::{Ecosystem, Error, Package, Source};

pub(super) fn parse(_path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let mut packages = Vec::new();
    let mut deps: Vec<Vec<String>> = Vec::new();
    let mut section = "";
    let mut remote = String::new();
    let mut revision = None;
    let mut in_specs = false;
    for (i, raw) in text.lines().enumerate() {
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if indent == 0 {
            section = line;
            remote.clear();
            revision = None;
            in_specs = false;
            continue;
        }
        if !matches!(section, "GEM" | "GIT" | "PATH") {
            continue;
        }
        if indent == 2 {
            in_specs = line == "specs:";
            if let Some(r) = line.strip_prefix("remote:") {
                remote = r.trim().to_string();
            } else if let Some(r) = line.strip_prefix("revision:") {
                revision = Some(r.trim().to_string());
            }
            continue;
        }
        if !in_specs {
            continue;
        }
        let Some((name, rest)) = line.split_once(" (") else {
            continue;
        };
        let Some(version) = rest.strip_suffix(')') else {
            continue;
        };
        // `VERSION-PLATFORM` (e.g. `1.13.3-x86_64-linux`): the platform is not part of the
        // version (Bundler splits at the first `-`).
        let version = version.split_once('-').map_or(version, |(v, _)| v);
        if indent == 4 {
            let source = match section {
                "GIT" => Source::Git {
                    url: remote.clone(),
                    commit: revision.clone().filter(|r| is_full_commit(r)),
                },
                "PATH" => Source::Path {
                    path: remote.clone(),
                },
                _ => Source::Registry {
                    url: (!remote.is_empty()).then(|| remote.clone()),
                },
            };
            let mut p = package(Ecosystem::RubyGems, name, version, source);
            p.line = Some(i + 1);
            packages.push(p);
            deps.push(Vec::new());
        } else if let Some(d) = deps.last_mut() {
            d.push(name.to_string());
        }
    }
    let index = NameIndex::new(&packages, str::to_string);
    for (p, d) in packages.iter_mut().zip(deps) {
        for name in d {
            if let Some(purl) = index.resolve(&name, None) {
                p.dependencies.push(purl.to_string());
            }
        }
    }
    Ok(packages)
}
