//! End-to-end: `zt source scan` and `zt source install-hooks` run as the real binary, over
//! gitleaks' own `nogit` fixture and over temporary git repositories built with `git`.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zt() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zt"));
    c.env("NO_COLOR", "1");
    c
}

fn gitleaks_config_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/secrets/gitleaks/config"
    ))
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o: Output = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A token in GitHub's format, assembled at run time so no secret sits in this file.
fn github_token(seed: char) -> String {
    let body: String = "Zr8Qk2LmT5vX9yB3nC6wD1fH4jK7pS0aE2u"
        .chars()
        .chain([seed])
        .collect();
    format!("{}_{body}", "ghp")
}

fn aws_key(tail: &str) -> String {
    format!("{}{tail}", "AKIA")
}

#[test]
fn nogit_fixture_as_upstream_expects() {
    let dir = gitleaks_config_dir();
    let (code, out, _) = run(zt().current_dir(&dir).args([
        "source",
        "scan",
        "../testdata/repos/nogit",
        "--config",
        "../testdata/config/simple.toml",
        "--redact",
        "0",
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "../testdata/repos/nogit/main.go:20:15: aws-access-key AKIALALEMEL33243OLIA\n"
    );

    let (code, out, _) = run(zt().current_dir(&dir).args([
        "source",
        "scan",
        "../testdata/repos/nogit/main.go",
        "--config",
        "../testdata/config/simple.toml",
    ]));
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "../testdata/repos/nogit/main.go:20:15: aws-access-key AKIA...\n"
        )
    );

    // api.go holds the same key on line 20, but `.gitleaksignore` lists its fingerprint.
    let (code, out, _) = run(zt().current_dir(&dir).args([
        "source",
        "scan",
        "../testdata/repos/nogit/api.go",
        "--config",
        "../testdata/config/simple.toml",
    ]));
    assert_eq!((code, out.as_str()), (0, ""));

    let (code, out, _) = run(zt().current_dir(&dir).args([
        "--json",
        "source",
        "scan",
        "../testdata/repos/nogit/.env.prod",
        "--config",
        "../testdata/config/generic.toml",
    ]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(f["rule_id"], "generic-api-key");
    assert_eq!(f["start_line"], 4);
    assert_eq!(
        f["fingerprint"],
        "../testdata/repos/nogit/.env.prod:generic-api-key:4"
    );
    assert_eq!(f["secret"], "8ae3...", "80% redacted by default");
}

#[test]
fn sarif_output() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("a.env"),
        format!("GITHUB_TOKEN={}\n", github_token('x')),
    )
    .unwrap();
    let (code, out, _) = run(zt()
        .current_dir(dir.path())
        .args(["source", "scan", "--format", "sarif"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(
        run0["tool"]["driver"]["rules"].as_array().unwrap().len(),
        222
    );
    let r = &run0["results"][0];
    assert_eq!(r["ruleId"], "github-pat");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "a.env");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(loc["region"]["startColumn"], 14);
    assert!(
        !out.contains(&github_token('x')),
        "the secret never reaches the output"
    );
}

#[test]
fn bad_rule_file_names_the_rule_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("rules.toml"),
        "[[rules]]\nid = \"my-rule\"\nregex = '''key=(\\w+'''\n",
    )
    .unwrap();
    let (code, out, err) =
        run(zt()
            .current_dir(dir.path())
            .args(["source", "scan", "--config", "rules.toml"]));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.contains(
            "error: rule file `rules.toml`: my-rule: invalid regex `key=(\\w+`: unclosed group"
        ),
        "{err}"
    );
    assert!(err.contains("help: fix rule `my-rule`"), "{err}");

    // A repository's `.gitleaks.toml` is found in the scanned root and extends the default.
    fs_err::write(
        dir.path().join(".gitleaks.toml"),
        "[extend]\nuseDefault = true\n[[rules]]\nid = \"internal-token\"\nregex = '''itk_[0-9a-f]{16}'''\nkeywords = [\"itk_\"]\n",
    )
    .unwrap();
    fs_err::remove_file(dir.path().join("rules.toml")).unwrap();
    fs_err::write(
        dir.path().join("x.txt"),
        format!(
            "t = itk_0123456789abcdef\nGITHUB_TOKEN={}\n",
            github_token('y')
        ),
    )
    .unwrap();
    let (code, out, _) = run(zt().current_dir(dir.path()).args(["source", "scan"]));
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "x.txt:1:5: internal-token itk_...\nx.txt:2:14: github-pat ghp_Zr8Q...\n"
    );
}

#[test]
fn missing_path_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(zt()
        .current_dir(dir.path())
        .args(["source", "scan", "no/such/dir"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read `no/such/dir`"), "{err}");
}

#[test]
fn binary_files_are_skipped_and_clean_trees_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = b"\x7fELF\x02\x01\x01\x00".to_vec();
    bin.extend_from_slice(format!("GITHUB_TOKEN={}\n", github_token('z')).as_bytes());
    fs_err::write(dir.path().join("prog"), bin).unwrap();
    fs_err::write(dir.path().join("README.md"), "nothing to see\n").unwrap();
    let (code, out, err) = run(zt().current_dir(dir.path()).args(["source", "scan", "."]));
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(
        err.contains("scanned 1 input(s)") && err.contains("1 binary skipped"),
        "{err}"
    );
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let r = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn git_cmd(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(self.path())
            .env("HOME", self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com");
        c
    }
    fn git(&self, args: &[&str]) -> String {
        let o = self.git_cmd().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
    fn write(&self, name: &str, text: &str) {
        let p = self.path().join(name);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, text).unwrap();
    }
    fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }
    fn zt(&self, args: &[&str]) -> (i32, String, String) {
        run(zt()
            .current_dir(self.path())
            .env("HOME", self.path())
            .args(args))
    }
}

#[test]
fn staged_scans_the_index_not_the_work_tree() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    // Staged with a secret, then the work tree copy is cleaned but not staged: the commit would
    // still carry the secret.
    repo.write(
        "app/config.env",
        &format!("A=1\nGITHUB_TOKEN={}\n", github_token('a')),
    );
    repo.git(&["add", "app/config.env"]);
    repo.write("app/config.env", "A=1\n");
    // A secret only in the work tree, not staged: not part of the commit.
    repo.write(
        "notes.txt",
        &format!("GITHUB_TOKEN={}\n", github_token('b')),
    );
    let (code, out, err) = repo.zt(&["source", "scan", "--staged"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "app/config.env:2:14: github-pat ghp_Zr8Q...\n");
    // Nothing staged: clean.
    repo.git(&["reset", "-q"]);
    let (code, out, _) = repo.zt(&["source", "scan", "--staged"]);
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn range_scans_only_added_lines() {
    let repo = Repo::new();
    repo.write("old.txt", &format!("GITHUB_TOKEN={}\n", github_token('c')));
    let base = repo.commit("old secret");
    // Later commits: touch the old file without re-adding its secret, add a new one.
    repo.write(
        "old.txt",
        &format!("GITHUB_TOKEN={}\nmore\n", github_token('c')),
    );
    repo.commit("append");
    repo.write(
        "src/keys.py",
        &format!("x = 1\ny = 2\nkey = \"{}\"\n", aws_key("QYLPMN5HHHFPZAM2")),
    );
    let head = repo.commit("new secret");
    let (code, out, err) = repo.zt(&[
        "--json",
        "source",
        "scan",
        "--range",
        &format!("{base}..{head}"),
    ]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{out}");
    assert_eq!(f[0]["rule_id"], "aws-access-token");
    assert_eq!(f[0]["file"], "src/keys.py");
    assert_eq!(f[0]["start_line"], 3);
    assert_eq!(f[0]["commit"], head.as_str());
    // The base commit itself, as a one-revision range, has its secret.
    let (code, out, _) = repo.zt(&["source", "scan", "--range", &base]);
    assert_eq!(code, 1);
    assert!(out.starts_with("old.txt:1:14: github-pat"), "{out}");
    let (code, _, err) = repo.zt(&["source", "scan", "--range", "nosuchref..HEAD"]);
    assert_eq!(code, 2);
    assert!(err.contains("failed"), "{err}");
}

#[test]
fn history_scans_every_blob_once() {
    let repo = Repo::new();
    let leak = format!("GITHUB_TOKEN={}\n", github_token('d'));
    repo.write("a.env", &leak);
    let first = repo.commit("leak");
    // The same blob at a second path, in a second commit: scanned once, reported for the first.
    repo.write("copy.env", &leak);
    repo.commit("copy");
    // Removing the secret does not remove it from history.
    fs_err::remove_file(repo.path().join("a.env")).unwrap();
    fs_err::remove_file(repo.path().join("copy.env")).unwrap();
    repo.commit("remove");
    // A side branch with another secret.
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write(
        "side.txt",
        &format!("key = {}\n", aws_key("QYLPMN5HHHFPZAM3")),
    );
    let side = repo.commit("side");
    repo.git(&["checkout", "-q", "main"]);
    let (code, out, err) = repo.zt(&["--json", "source", "scan", "--history"]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f = v["findings"].as_array().unwrap();
    let got: Vec<(String, String, String)> = f
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a.env".to_string(), "github-pat".to_string(), first),
            ("side.txt".to_string(), "aws-access-token".to_string(), side),
        ]
    );
    assert_eq!(v["scanned"], 2, "two distinct blobs");
}

#[test]
fn not_a_git_repository_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(zt()
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .args(["source", "scan", "--staged"]));
    assert_eq!(code, 2);
    assert!(err.contains("is not a git repository"), "{err}");
}

#[test]
fn installed_hooks_block_a_commit_with_a_secret() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let (code, out, err) = repo.zt(&["source", "install-hooks", "--zt", env!("CARGO_BIN_EXE_zt")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("pre-commit") && out.contains("pre-push"),
        "{out}"
    );
    repo.write("leak.env", &format!("GITHUB_TOKEN={}\n", github_token('e')));
    repo.git(&["add", "leak.env"]);
    let o = repo
        .git_cmd()
        .args(["commit", "-q", "-m", "oops"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "the pre-commit hook refuses the commit"
    );
    // Git sends a hook's stdout to its own stderr.
    assert!(String::from_utf8_lossy(&o.stderr).contains("leak.env:1:14: github-pat"));
    // A clean commit goes through.
    repo.git(&["reset", "-q"]);
    fs_err::remove_file(repo.path().join("leak.env")).unwrap();
    repo.write("ok.txt", "fine\n");
    repo.commit("ok");

    // The pre-push hook refuses to push a commit that adds a secret.
    let remote = tempfile::tempdir().unwrap();
    repo.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    repo.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    repo.write("late.env", &format!("GITHUB_TOKEN={}\n", github_token('f')));
    repo.git(&["add", "late.env"]);
    let o = repo
        .git_cmd()
        .args(["commit", "-q", "--no-verify", "-m", "sneak"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = repo
        .git_cmd()
        .args(["push", "-q", "origin", "main"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "the pre-push hook refuses the push");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("late.env:1:14: github-pat"), "{said}");

    // A foreign hook is never replaced.
    let hook = repo.path().join(".git/hooks/pre-commit");
    fs_err::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let (code, _, err) = repo.zt(&["source", "install-hooks"]);
    assert_eq!(code, 2);
    assert!(err.contains("exists and was not written by zt"), "{err}");
    assert_eq!(
        fs_err::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
}
