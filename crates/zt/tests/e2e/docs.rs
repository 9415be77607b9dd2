//! `zt completions`, `zt man` and `zt --version`: generated from the CLI definition, so every
//! command that exists has its completion and its page.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{text, zt};

#[test]
fn completions_for_each_shell_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _zt"),
        ("zsh", "#compdef zt"),
        ("fish", "complete -c zt"),
    ] {
        let out = zt(dir.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}: {stdout}");
        for command in ["verify", "pipeline", "vuln", "secrets", "completions"] {
            assert!(stdout.contains(command), "{shell} lacks `{command}`");
        }
    }
    // bash parses what it is given.
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let script = dir.path().join("zt.bash");
        let out = zt(dir.path())
            .args(["completions", "bash"])
            .output()
            .unwrap();
        fs_err::write(&script, &out.stdout).unwrap();
        let check = std::process::Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .unwrap();
        assert!(check.status.success(), "{:?}", text(&check));
    }
    let out = zt(dir.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_for_zt_and_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path()).args(["man"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(".TH zt 1"), "{stdout}");
    let out = zt(dir.path())
        .args(["man", "vuln", "scan"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(".TH zt-vuln-scan 1"), "{stdout}");
    assert!(
        stdout.contains("fail\\-on"),
        "the page lists the flags: {stdout}"
    );

    let out = zt(dir.path())
        .args(["man", "vuln", "nope"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("`zt-vuln` has no command `nope`"),
        "{stderr}"
    );
    assert!(stderr.contains("scan"), "the choices are named: {stderr}");

    let out = zt(dir.path())
        .args(["man", "--out-dir", "man", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let pages: Vec<String> = fs_err::read_dir(dir.path().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(report["pages"], pages.len(), "{report}");
    for page in ["zt.1", "zt-verify.1", "zt-vuln-scan.1", "zt-man.1"] {
        assert!(pages.iter().any(|p| p == page), "{page} in {pages:?}");
    }
    assert!(
        !pages.iter().any(|p| p.contains("sandbox-probe")),
        "hidden commands get no page: {pages:?}"
    );
}

#[test]
fn the_version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = zt(dir.path()).arg("--version").output().unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    let line = stdout.trim();
    assert!(
        line.starts_with(&format!("zt {} (", env!("CARGO_PKG_VERSION"))) && line.ends_with(')'),
        "{line}"
    );
    let commit = line
        .rsplit_once('(')
        .map(|(_, c)| c.trim_end_matches(')'))
        .unwrap();
    assert!(
        commit == "unknown"
            || commit
                .trim_end_matches("-dirty")
                .rsplit('g')
                .next()
                .is_some_and(|h| h.len() >= 7 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "{line}"
    );
}
