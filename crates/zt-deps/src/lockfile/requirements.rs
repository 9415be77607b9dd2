//! pip requirement files: one requirement per logical line (`\` continues a line, `#` after
//! whitespace starts a comment), per-requirement `--hash=ALGO:VALUE` options, `-r FILE` /
//! `--requirement FILE` includes (relative to the including file; cycles end), other options
//! and URL/path requirements skipped.
//!
//! The version recorded follows the OSV scanners' convention: the text after the first
//! operator of a single-clause specifier (`==`, `===`, `>=`, `<=`, `~=`, `<`, `>`) unless it
//! holds a wildcard; `!=` and multi-clause specifiers give no version. Whether a requirement
//! is *pinned* (`==`/`===` to an exact version) is judged by [`crate::check`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::package;
use crate::{Ecosystem, Error, Hash, Package, Source};

pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<Package>, Error> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    read(path, text, &mut seen, &mut out)?;
    Ok(out)
}

fn read(
    path: &Path,
    text: &str,
    seen: &mut BTreeSet<PathBuf>,
    out: &mut Vec<Package>,
) -> Result<(), Error> {
    seen.insert(path.to_path_buf());
    for (line_no, logical) in logical_lines(text) {
        let line = logical.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("-r")
            .or_else(|| line.strip_prefix("--requirement"))
        {
            let file = rest.trim_start_matches('=').trim();
            let included = path.parent().unwrap_or(Path::new(".")).join(file);
            if seen.contains(&included) {
                continue;
            }
            let inner = fs_err::read_to_string(&included).map_err(|e| {
                Error::parse(
                    path,
                    Some(line_no),
                    format!("cannot read the included file `{file}`: {e}"),
                    "fix the `-r` path or remove the line",
                )
            })?;
            read(&included, &inner, seen, out)?;
            continue;
        }
        if line.starts_with('-') {
            continue; // -c, -e, --index-url and other global options
        }
        if let Some(p) = requirement(line) {
            let mut p = p;
            p.line = Some(line_no);
            out.push(p);
        }
    }
    Ok(())
}

/// Logical lines with their first physical line number: continuations joined, comments cut.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        let mut line = raw.to_string();
        if line.trim_start().starts_with('#') {
            line.clear();
        } else if let Some(pos) = line.find(" #").or_else(|| line.find("\t#")) {
            line.truncate(pos);
        }
        if let Some(body) = line.strip_suffix('\\') {
            current.push_str(body);
            continue;
        }
        current.push_str(&line);
        out.push((start, std::mem::take(&mut current)));
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// One requirement line (options included) as a package, or `None` for URL/path lines and
/// requirements without a usable name or version.
fn requirement(line: &str) -> Option<Package> {
    // Split off per-requirement options: ` --opt` / ` -C`; text after the options is dropped.
    let (req, options) = match line.find(" -") {
        Some(i) => (line.get(..i)?, line.get(i..)?),
        None => (line, ""),
    };
    let req = req.trim();
    let mut hashes = Vec::new();
    for t in options.split_whitespace() {
        if let Some(v) = t.strip_prefix("--hash=") {
            if v.is_empty() {
                continue;
            }
            hashes.push(match v.split_once(':') {
                Some((a, h)) => Hash {
                    algorithm: a.to_ascii_lowercase(),
                    value: super::hex_lower(h).unwrap_or_else(|| h.to_string()),
                },
                None => Hash {
                    algorithm: String::new(),
                    value: v.to_string(),
                },
            });
        } else if !t.starts_with('-') {
            break;
        }
    }
    if req.contains("://")
        || req.starts_with('.')
        || req.starts_with('/')
        || req.contains(" @ ")
        || req.contains('@')
    {
        return None;
    }
    let name_end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    let name = req.get(..name_end)?;
    if name.is_empty() {
        return None;
    }
    let spec_text = req.get(name_end..)?.trim_start();
    let spec_text = spec_text
        .strip_prefix('[')
        .and_then(|s| s.split_once(']'))
        .map_or(spec_text, |(_, rest)| rest);
    let spec = spec_text.split(';').next().unwrap_or("").trim();
    let version = version_of(spec)?;
    let mut p = package(
        Ecosystem::PyPI,
        name,
        &version,
        Source::Registry { url: None },
    );
    p.hashes = hashes;
    p.requirement = Some(req.to_string());
    Some(p)
}

/// The version a specifier names, `Some("")` for none (unpinned), `None` for a malformed `==`
/// with no version (skipped, as pip would reject it). A version made of an environment
/// variable (`==${VERSION}`, which pip expands at install time) names nothing zt can resolve:
/// unpinned.
fn version_of(spec: &str) -> Option<String> {
    if spec.is_empty() || spec.contains(',') || spec.starts_with("!=") {
        return Some(String::new());
    }
    for op in ["===", "==", ">=", "<=", "~=", "<", ">"] {
        if let Some(v) = spec.strip_prefix(op) {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            if v.contains('*') || v.contains("${") {
                return Some(String::new());
            }
            return Some(v.to_string());
        }
    }
    Some(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_variable_is_no_version() {
        let text = "requests==${MY_VARIABLE_1}\nidna==3.7\nurllib3>=${FLOOR}\n";
        let got = parse(Path::new("requirements.txt"), text).unwrap();
        let pins: Vec<(&str, &str)> = got
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(pins, [("requests", ""), ("idna", "3.7"), ("urllib3", "")]);
        assert_eq!(
            got[0].requirement.as_deref(),
            Some("requests==${MY_VARIABLE_1}"),
            "the requirement is kept as written, for the report"
        );
    }
}
