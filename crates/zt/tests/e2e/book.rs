//! The book (`docs/`, an mdBook whose source is the folder itself): the command reference in
//! `docs/commands/` is what `zt man --format markdown` generates from the CLI today, every page
//! is in `SUMMARY.md`, every internal link resolves, and every `zt …` command in a `sh`,
//! `bash` or `console` code block parses with the real CLI (its subcommands exist and each
//! `--flag` is one that `zt <command> --help` lists). mdBook itself is not needed to check it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{text, zt};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// Every Markdown file under `dir`, recursively, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The targets of the inline links `[text](target)` in `md`, outside code blocks and spans.
fn links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans: a `](x)` inside backticks is not a link.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            match after.find(')') {
                Some(j) => {
                    out.push(after[..j].trim().to_owned());
                    rest = &after[j..];
                }
                None => break,
            }
        }
    }
    out
}

#[test]
fn the_command_reference_is_generated_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("commands");
    let out = zt(dir.path())
        .args(["man", "--format", "markdown", "--out-dir"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let read = |d: &Path| -> BTreeMap<String, String> {
        markdown_files(d)
            .into_iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    fs_err::read_to_string(&p).unwrap(),
                )
            })
            .collect()
    };
    let want = read(&fresh);
    let have = read(&docs().join("commands"));
    let fix = "run `cargo run -p zt -- man --format markdown --out-dir docs/commands` and commit";
    assert_eq!(
        have.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "docs/commands/ lists other commands than the CLI has: {fix}"
    );
    for (name, text) in &want {
        assert_eq!(&have[name], text, "docs/commands/{name} is stale: {fix}");
    }
}

#[test]
fn every_page_is_in_the_summary_and_every_internal_link_resolves() {
    let root = docs();
    let summary = fs_err::read_to_string(root.join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<PathBuf> = links(&summary)
        .into_iter()
        .map(|l| fs_err::canonicalize(root.join(l)).unwrap())
        .collect();
    let mut problems = Vec::new();
    for page in markdown_files(&root) {
        let canonical = fs_err::canonicalize(&page).unwrap();
        if page.file_name().unwrap() != "SUMMARY.md" && !listed.contains(&canonical) {
            problems.push(format!("{} is not in SUMMARY.md", page.display()));
        }
        let md = fs_err::read_to_string(&page).unwrap();
        for link in links(&md) {
            if link.is_empty()
                || link.starts_with('#')
                || link.contains("://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            let path = link.split('#').next().unwrap();
            let target = page.parent().unwrap().join(path);
            if !target.exists() {
                problems.push(format!(
                    "{}: the link `{link}` leads nowhere",
                    page.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Shell words of `line` (single and double quotes, backslash escapes); a word starting with
/// `#` ends the line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '#') if !in_word => break,
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The `zt …` commands of a page's `sh`, `bash` and `console` code blocks: continuation
/// lines joined, `$ ` prompts dropped, split at `;`, `&&`, `||` and `|`.
fn commands(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<bool> = None;
    let mut pending = String::new();
    for line in md.lines() {
        let t = line.trim_start();
        if let Some(lang) = t.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(matches!(lang.trim(), "sh" | "bash" | "console" | "shell")),
            };
            continue;
        }
        if block != Some(true) {
            continue;
        }
        let t = t.strip_prefix("$ ").unwrap_or(t);
        if let Some(head) = t.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(t);
        let full = std::mem::take(&mut pending);
        // Comments first (a `|` or `;` in a comment is prose).
        let code = match full.find(" #") {
            Some(i) => &full[..i],
            None => full.as_str(),
        };
        for part in code.split(['|', ';', '&']) {
            let part = part.trim();
            if part.starts_with("zt ") {
                out.push(part.to_owned());
            }
        }
    }
    out
}

/// `zt PATH… --help`, cached: (its text, its subcommands).
fn help(
    cache: &mut BTreeMap<Vec<String>, Option<(String, Vec<String>)>>,
    path: &[String],
) -> Option<(String, Vec<String>)> {
    if let Some(h) = cache.get(path) {
        return h.clone();
    }
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path()).args(path).arg("--help").output().unwrap();
    let found = out.status.success().then(|| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut subs = Vec::new();
        let mut in_commands = false;
        for line in text.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
                continue;
            }
            if in_commands {
                if !line.starts_with("  ") {
                    in_commands = false;
                    continue;
                }
                let name = line.split_whitespace().next().unwrap_or("");
                // Continuation lines of a wrapped description are indented further.
                if line.starts_with("  ") && !line.starts_with("   ") && !name.is_empty() {
                    subs.push(name.trim_end_matches(',').to_owned());
                }
            }
        }
        (text, subs)
    });
    cache.insert(path.to_vec(), found.clone());
    found
}

#[test]
fn every_documented_command_parses_with_the_real_cli() {
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut pages = markdown_files(&docs());
    pages.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"));
    for page in pages {
        let md = fs_err::read_to_string(&page).unwrap();
        for command in commands(&md) {
            let words = words(&command);
            // Walk the words: subcommands descend (while no positional argument has been
            // seen), `--flags` must be listed by the command they are given to (a flag whose
            // help shows `--flag <VALUE>` takes the next word), `--` ends zt's arguments.
            let mut path: Vec<String> = Vec::new();
            let (mut text, mut subs) = help(&mut cache, &path).unwrap();
            let mut positional = false;
            let mut rest = words.iter().skip(1);
            while let Some(w) = rest.next() {
                // A synopsis's optional part, `[--flag VALUE]`, is checked as the flag.
                let w = w.trim_start_matches('[').trim_end_matches(']');
                if w == "--" {
                    positional = true;
                    break; // what follows is the build's own command line
                }
                if let Some(flag) = w.strip_prefix("--") {
                    let name = flag.split('=').next().unwrap();
                    if name.is_empty() || name.contains(['[', ']', '…', '.']) {
                        continue;
                    }
                    let listed = format!("--{name}");
                    let found = text
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                        .any(|t| t == listed);
                    if !found {
                        problems.push(format!(
                            "{}: `{command}`: `zt {}` has no `--{name}`",
                            page.display(),
                            path.join(" ")
                        ));
                    } else if !flag.contains('=') && text.contains(&format!("{listed} <")) {
                        rest.next();
                    }
                    continue;
                }
                if w.starts_with('-') {
                    continue; // a short flag
                }
                if !positional && subs.iter().any(|s| s == w) {
                    path.push(w.to_owned());
                    match help(&mut cache, &path) {
                        Some((t, s)) => (text, subs) = (t, s),
                        None => {
                            problems.push(format!(
                                "{}: `{command}`: `zt {} --help` fails",
                                page.display(),
                                path.join(" ")
                            ));
                            break;
                        }
                    }
                } else if !positional && !subs.is_empty() && text.contains("<COMMAND>") {
                    problems.push(format!(
                        "{}: `{command}`: `zt {}` has no command `{w}` ({})",
                        page.display(),
                        path.join(" "),
                        subs.join(", ")
                    ));
                    positional = true;
                } else {
                    positional = true;
                }
            }
            if path.is_empty() {
                problems.push(format!("{}: `{command}`: no such command", page.display()));
                continue;
            }
            let requires_command = text
                .lines()
                .find(|l| l.starts_with("Usage:"))
                .is_some_and(|l| l.contains("<COMMAND>"));
            if requires_command && !positional {
                // `zt vuln` alone: a group needs a subcommand.
                problems.push(format!(
                    "{}: `{command}`: `zt {}` needs a subcommand ({})",
                    page.display(),
                    path.join(" "),
                    subs.join(", ")
                ));
                continue;
            }
            checked += 1;
        }
    }
    assert!(
        checked > 50,
        "only {checked} commands found: is the extraction broken?"
    );
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
