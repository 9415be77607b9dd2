//! Reading what to scan from git: the index (`--staged`), the lines added in a range
//! (`--range`), every blob in history once (`--history`).
//!
//! This calls git's plumbing (`diff --cached`, `ls-files --stage`, `log -p -U0`, `log --raw`,
//! `cat-file --batch`) rather than linking `gix`: reading blobs and diffs with gix needs its
//! object database, pack, diff and revision-walk features, which add several minutes of build on
//! the two-core CI machine for no gain in what is read; every output parsed here is git's stable,
//! NUL-separated machine format.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::scan::Blob;
use crate::Error;

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "core.quotepath=off", "-c", "diff.noprefix=false"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Git {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// The top of the work tree containing `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git {
            args: "rev-parse --show-toplevel".into(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::NotGit {
            path: dir.to_path_buf(),
        });
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']),
    ))
}

/// Reads blobs by id with one `git cat-file --batch` process.
pub fn read_blobs(repo: &Path, oids: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let fail = |message: String| Error::Git {
        args: "cat-file --batch".into(),
        message,
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut stdin = child.stdin.take().ok_or_else(|| fail("no stdin".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("no stdout".into()))?;
    let request: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut reader = BufReader::new(stdout);
    let mut blobs = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|e| fail(e.to_string()))?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields.as_slice() {
            [_, "blob", size] => {
                let size: usize = size
                    .parse()
                    .map_err(|_| fail(format!("bad header {header:?}")))?;
                let mut buf = vec![0u8; size];
                reader
                    .read_exact(&mut buf)
                    .map_err(|e| fail(e.to_string()))?;
                let mut nl = [0u8; 1];
                reader
                    .read_exact(&mut nl)
                    .map_err(|e| fail(e.to_string()))?;
                blobs.push(buf);
            }
            _ => return Err(fail(format!("object {oid}: {}", header.trim()))),
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(blobs)
}

/// The index blobs of the paths staged for the next commit (added, copied, modified, renamed,
/// type-changed), i.e. what will be committed, not the work tree.
pub fn staged(repo: &Path) -> Result<Vec<Blob>, Error> {
    let changed = git(
        repo,
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=ACMRT",
        ],
    )?;
    let changed: BTreeSet<&[u8]> = changed
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let index = git(repo, &["ls-files", "--stage", "-z"])?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    for entry in index.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        // "<mode> <oid> <stage>\t<path>"
        let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (meta, path) = (&entry[..tab], &entry[tab + 1..]);
        if !changed.contains(path) {
            continue;
        }
        let meta = String::from_utf8_lossy(meta);
        let mut it = meta.split(' ');
        let (Some(mode), Some(oid)) = (it.next(), it.next()) else {
            continue;
        };
        if mode.starts_with("100") {
            wanted.push((String::from_utf8_lossy(path).into_owned(), oid.to_string()));
        }
    }
    let oids: Vec<String> = wanted.iter().map(|(_, o)| o.clone()).collect();
    let contents = read_blobs(repo, &oids)?;
    Ok(wanted
        .into_iter()
        .zip(contents)
        .map(|((path, _), content)| Blob {
            path,
            commit: None,
            content,
            start_line: 1,
        })
        .collect())
}

/// One fragment per diff hunk: the lines added by each commit of `range` (`A..B`, or one
/// revision for everything reachable from it), with the line number where they start.
/// Merge commits contribute nothing (as with `git log -p`): their changes are in their parents.
pub fn added_lines(repo: &Path, range: &str) -> Result<Vec<Blob>, Error> {
    if range.starts_with('-') {
        return Err(Error::Git {
            args: format!("log {range}"),
            message: "a range must not start with `-`".into(),
        });
    }
    let out = git(
        repo,
        &[
            "log",
            "-p",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--format=%x01%H",
            range,
            "--",
        ],
    )?;
    Ok(parse_patch(&out))
}

/// Unquotes a C-style quoted path from git (`"a\tb"`).
fn unquote(p: &[u8]) -> Vec<u8> {
    let Some(inner) = p.strip_prefix(b"\"").and_then(|s| s.strip_suffix(b"\"")) else {
        return p.to_vec();
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        match inner.get(i + 1) {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'r') => out.push(b'\r'),
            Some(b'a') => out.push(7),
            Some(b'b') => out.push(8),
            Some(b'f') => out.push(12),
            Some(b'v') => out.push(11),
            Some(d @ b'0'..=b'3') => {
                let oct = inner.get(i + 1..i + 4).unwrap_or(&[]);
                if oct.len() == 3 && oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                    out.push(
                        oct.iter()
                            .fold(0u8, |a, b| a.wrapping_mul(8).wrapping_add(b - b'0')),
                    );
                    i += 4;
                    continue;
                }
                out.push(*d);
            }
            Some(&other) => out.push(other),
            None => {}
        }
        i += 2;
    }
    out
}

/// Parses `git log -p -U0 --format=%x01%H` output into hunks of added lines.
pub fn parse_patch(out: &[u8]) -> Vec<Blob> {
    let mut blobs = Vec::new();
    let mut commit: Option<String> = None;
    let mut path: Option<String> = None;
    let mut current: Option<Blob> = None;
    let flush = |current: &mut Option<Blob>, blobs: &mut Vec<Blob>| {
        if let Some(b) = current.take()
            && !b.content.is_empty()
        {
            blobs.push(b);
        }
    };
    let mut in_header = false;
    for line in out.split(|&b| b == b'\n') {
        if let Some(sha) = line.strip_prefix(b"\x01") {
            flush(&mut current, &mut blobs);
            commit = Some(String::from_utf8_lossy(sha).trim().to_string());
            path = None;
            in_header = false;
        } else if line.starts_with(b"diff --git ") {
            flush(&mut current, &mut blobs);
            path = None;
            in_header = true;
        } else if in_header && line.starts_with(b"+++ ") {
            let p = &line[4..];
            path = if p == b"/dev/null" {
                None
            } else {
                let p = unquote(p);
                let p = p.strip_prefix(b"b/").map_or(p.clone(), <[u8]>::to_vec);
                Some(String::from_utf8_lossy(&p).into_owned())
            };
        } else if line.starts_with(b"@@ ") {
            flush(&mut current, &mut blobs);
            in_header = false;
            // "@@ -a[,b] +c[,d] @@"
            let text = String::from_utf8_lossy(line);
            let start = text
                .split(' ')
                .find_map(|t| t.strip_prefix('+'))
                .and_then(|t| t.split(',').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1);
            if let Some(p) = &path {
                current = Some(Blob {
                    path: p.clone(),
                    commit: commit.clone(),
                    content: Vec::new(),
                    start_line: start.max(1),
                });
            }
        } else if !in_header
            && let Some(added) = line.strip_prefix(b"+")
            && let Some(b) = current.as_mut()
        {
            b.content.extend_from_slice(added);
            b.content.push(b'\n');
        }
    }
    flush(&mut current, &mut blobs);
    blobs
}

/// Every blob reachable from any ref, once, attributed to the first commit (oldest first, in
/// topological order) that introduced it at a path.
pub fn history(repo: &Path) -> Result<Vec<Blob>, Error> {
    let out = git(
        repo,
        &[
            "log",
            "--all",
            "--reverse",
            "--topo-order",
            "--format=%x01%H",
            "--raw",
            "--no-abbrev",
            "-m",
            "--root",
            "--no-renames",
            "-z",
        ],
    )?;
    let mut first: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut commit = String::new();
    let mut tokens = out.split(|&b| b == 0);
    while let Some(tok) = tokens.next() {
        let tok = tok.strip_prefix(b"\n").unwrap_or(tok);
        if let Some(sha) = tok.strip_prefix(b"\x01") {
            commit = String::from_utf8_lossy(sha).trim().to_string();
        } else if let Some(meta) = tok.strip_prefix(b":") {
            let Some(path) = tokens.next() else { break };
            // ":<old mode> <new mode> <old oid> <new oid> <status>"
            let meta = String::from_utf8_lossy(meta);
            let f: Vec<&str> = meta.split(' ').collect();
            let (Some(mode), Some(oid), Some(status)) = (f.get(1), f.get(3), f.get(4)) else {
                continue;
            };
            if status.starts_with('D') || !mode.starts_with("100") || oid.bytes().all(|b| b == b'0')
            {
                continue;
            }
            if !first.contains_key(*oid) {
                order.push(oid.to_string());
                first.insert(
                    oid.to_string(),
                    (String::from_utf8_lossy(path).into_owned(), commit.clone()),
                );
            }
        }
    }
    let contents = read_blobs(repo, &order)?;
    Ok(order
        .iter()
        .zip(contents)
        .filter_map(|(oid, content)| {
            first.get(oid).map(|(path, commit)| Blob {
                path: path.clone(),
                commit: Some(commit.clone()),
                content,
                start_line: 1,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_hunks_carry_their_start_line() {
        let patch = b"\x01abc123\n\ndiff --git a/x.txt b/x.txt\nindex 1..2 100644\n--- a/x.txt\n+++ b/x.txt\n@@ -3,0 +4,2 @@ ctx\n+line four\n+line five\n@@ -9 +11 @@\n-old\n+new\n\\ No newline at end of file\ndiff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        let b = parse_patch(patch);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].path, "x.txt");
        assert_eq!(b[0].commit.as_deref(), Some("abc123"));
        assert_eq!(b[0].start_line, 4);
        assert_eq!(b[0].content, b"line four\nline five\n");
        assert_eq!(b[1].start_line, 11);
        assert_eq!(b[1].content, b"new\n");
    }

    #[test]
    fn quoted_paths() {
        assert_eq!(unquote(b"\"a\\tb\\\"c\\303\\251\""), b"a\tb\"c\xc3\xa9");
        assert_eq!(unquote(b"plain"), b"plain");
    }
}
