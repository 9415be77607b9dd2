//! Every fix text names a command that exists: the `help:` lines of the error enums, the
//! remediations of the policy library and the templates `zt init` writes, checked against the
//! real command line. A fix that names `zt vuln waive` or `--coverage` when zt has neither
//! sends a user at a dead end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};

/// Source files whose string literals and comments hold fix texts.
fn sources() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                // Test code may name commands that must fail.
                if !matches!(name.as_str(), "tests" | "target" | "fuzz" | "testdata") {
                    stack.push(path);
                }
            } else if name.ends_with(".rego")
                || name.ends_with(".rs")
                || path.components().any(|c| c.as_os_str() == "templates")
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every backtick span that starts with `zt `, with where it was found.
fn mentions(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // Odd-numbered pieces between backticks are the quoted spans.
        for (i, inside) in line.split('`').enumerate() {
            if i % 2 == 1
                && let Some(rest) = inside.strip_prefix("zt ")
            {
                found.push((n + 1, rest.to_string()));
            }
        }
    }
    found
}

/// Checks one mention against the command tree; returns what is wrong.
fn check(root: &clap::Command, words: &str) -> Result<(), String> {
    let mut cmd = root;
    let mut globals: Vec<clap::Arg> = root.get_arguments().cloned().collect();
    let tokens: Vec<&str> = words.split_whitespace().collect();
    let mut i = 0;
    // Subcommands first; `a|b` names alternatives (each must exist; the first is followed).
    while let Some(t) = tokens.get(i) {
        let t = t.trim_end_matches([',', ';', ')']);
        let find = |name: &str| {
            cmd.get_subcommands()
                .find(|s| s.get_name() == name || s.get_all_aliases().any(|a| a == name))
        };
        let alternatives: Vec<&str> = t.split('|').collect();
        if alternatives.len() > 1
            && find(alternatives[0]).is_some()
            && let Some(missing) = alternatives.iter().find(|a| find(a).is_none())
        {
            return Err(format!(
                "`{}` has no subcommand `{missing}`",
                cmd.get_name()
            ));
        }
        match find(alternatives[0]) {
            Some(sub) => {
                globals.extend(cmd.get_arguments().filter(|a| a.is_global_set()).cloned());
                cmd = sub;
                i += 1;
            }
            None => break,
        }
    }
    if cmd.has_subcommands()
        && cmd.get_subcommands().count() > 0
        && !cmd.is_subcommand_required_set()
    {
        // A command that also runs by itself (e.g. `zt build -- …`) is fine.
    } else if cmd.has_subcommands() && tokens.get(i).is_some_and(|t| !t.starts_with('-')) {
        let t = tokens[i];
        if t.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            return Err(format!("`{}` has no subcommand `{t}`", cmd.get_name()));
        }
    }
    for t in &tokens[i..] {
        if *t == "--" {
            break;
        }
        let Some(flag) = t.strip_prefix("--") else {
            continue;
        };
        let flag = flag.split('=').next().unwrap_or(flag);
        let flag = flag.trim_end_matches([',', ';', ')', '.']);
        if flag.is_empty() {
            continue;
        }
        let known = cmd.get_arguments().chain(globals.iter()).any(|a| {
            a.get_long() == Some(flag) || a.get_all_aliases().is_some_and(|al| al.contains(&flag))
        }) || matches!(flag, "help" | "version");
        if !known {
            return Err(format!("`{}` has no flag `--{flag}`", cmd.get_name()));
        }
    }
    Ok(())
}

#[test]
fn every_fix_text_names_a_command_and_flags_that_exist() {
    let mut root = super::whole_tree();
    root.build();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for path in sources() {
        if path.ends_with("fix_texts.rs") {
            continue;
        }
        let text = fs_err::read_to_string(&path).unwrap();
        // Unit-test modules hold inputs, not fix texts: stop at them.
        let text = match text.find("#[cfg(test)]") {
            Some(i) if path.extension().is_some_and(|e| e == "rs") => &text[..i],
            _ => &text[..],
        };
        for (line, words) in mentions(text) {
            checked += 1;
            if let Err(why) = check(&root, &words) {
                wrong.push(format!("{}:{line}: `zt {words}`: {why}", path.display()));
            }
        }
    }
    assert!(
        checked > 100,
        "found only {checked} mentions: the scan is broken"
    );
    assert!(
        wrong.is_empty(),
        "fix texts naming what does not exist:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_catches_what_does_not_exist() {
    let mut root = super::whole_tree();
    root.build();
    assert!(check(&root, "vuln frobnicate CVE-1").is_err());
    assert!(check(&root, "vuln waive CVE-1 --purl P --expires 2027-01-01").is_ok());
    assert!(check(&root, "attest --coverage 80").is_err());
    assert!(check(&root, "log verify").is_err());
    assert!(check(&root, "attest FILE --type coverage --from lcov.info").is_ok());
    assert!(check(&root, "build --rebuild 2 -- make").is_ok());
    assert!(check(&root, "verify FILE --stage deploy --json").is_ok());
}
