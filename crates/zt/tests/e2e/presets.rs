//! `zt init --preset`: one small real project per ecosystem, its dependencies vendored, set
//! up by `zt init` (whose first run must build and test it in the sandbox), committed, and
//! taken through `zt pipeline run` to an allow — built offline, rebuilt and compared, tested,
//! signed, verified and judged.
//!
//! A test whose toolchain is absent is skipped outside CI; `.ci/run` installs every one.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git, skip_outside_ci, text, zt};

/// A git repository in a new temp dir holding `files`, committed.
fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    for (path, body) in files {
        let path = repo.join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, body).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "the project"]);
    (dir, repo)
}

/// A vulnerability database dated now (the policy denies one older than
/// `max_vuln_db_age_days`), imported into `repo`'s store: one OSV record about a package
/// none of the projects uses.
fn import_fresh_database(repo: &Path, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let now = zt_core::time::rfc3339(zt_test_support::issuer::now());
    fs_err::write(
        dir.path().join("ZT-TEST-0001.json"),
        serde_json::json!({
            "schema_version": "1.6.0",
            "id": "ZT-TEST-0001",
            "modified": now,
            "published": now,
            "summary": "a flaw in a package no test project uses",
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": "zt-test-unused", "purl": "pkg:pypi/zt-test-unused"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}],
            }],
        })
        .to_string(),
    )
    .unwrap();
    let out = zt_in(
        repo,
        env,
        &["vuln", "db", "import", dir.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

/// Whether `cmd --version`-like `args` run here.
fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `zt` in `repo` with `env` added.
fn zt_in(repo: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut c = zt(repo);
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(args).output().unwrap()
}

/// `zt init --preset PRESET` (its first run must build and test), commit, import a
/// vulnerability database, `zt pipeline run .`: must allow. Returns the run's report.
fn init_and_allow(repo: &Path, preset: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let out = zt_in(repo, env, &["init", "--preset", preset, "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let init: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(init["preset"], preset, "{stdout}");
    // The first run, on the uncommitted tree: the build (rebuilt and compared) and the tests
    // pass in the sandbox; no vulnerability database yet, so the first verdict is a deny
    // that says how to import one.
    let stage = |name: &str| {
        init["run"]["stages"]
            .as_array()
            .unwrap_or_else(|| panic!("no first run: {stdout}\n{stderr}"))
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap()
    };
    for name in ["source", "build", "test", "deps", "sbom"] {
        assert_eq!(
            stage(name)["status"],
            "passed",
            "{name}: {}\n{stderr}",
            stage(name)
        );
    }
    assert_eq!(stage("vuln")["status"], "failed", "{stderr}");
    assert!(
        stage("vuln")["remediation"]
            .as_str()
            .unwrap()
            .contains("zt vuln db import"),
        "{stderr}"
    );
    assert!(stderr.is_empty() || !stderr.contains("error"), "{stderr}");

    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "zt init"]);
    import_fresh_database(repo, env);
    let out = zt_in(repo, env, &["pipeline", "run", ".", "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["allow"], true, "{stderr}");
    assert!(
        !report["artifacts"].as_array().unwrap().is_empty(),
        "{stdout}"
    );
    report
}

/// The artifact paths of a run.
fn artifacts(report: &serde_json::Value) -> Vec<String> {
    report["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[0].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn rust_with_a_vendored_crate_builds_offline_and_allows() {
    if !have("cargo", &["--version"]) {
        return skip_outside_ci("cargo is not installed");
    }
    let (_dir, repo) = project(&[
        (
            "Cargo.toml",
            "[package]\nname = \"hello-zt\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\n[dependencies]\nadler2 = \"=2.0.1\"\n",
        ),
        (
            "src/main.rs",
            "fn main() {\n    println!(\"{:08x}\", adler2::adler32_slice(b\"zt\"));\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn empty_is_one() {\n        assert_eq!(adler2::adler32_slice(b\"\"), 1);\n    }\n}\n",
        ),
        (".gitignore", "/target\n"),
    ]);
    // The lockfile and `vendor/` from the local cargo cache (no network), as a team would
    // commit them; `zt init` writes the `.cargo/config.toml` that points cargo at them.
    for args in [
        &["generate-lockfile", "--offline"][..],
        &["vendor", "--offline", "--quiet"][..],
    ] {
        let out = Command::new("cargo")
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo {args:?}: {:?}", text(&out));
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "vendor"]);
    // rustup's toolchains, found through the real home (the test's HOME is its temp dir).
    let home = std::env::var("HOME").unwrap();
    let rustup = std::env::var("RUSTUP_HOME").unwrap_or(format!("{home}/.rustup"));
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or(format!("{home}/.cargo"));
    let env = [
        ("RUSTUP_HOME", rustup.as_str()),
        ("CARGO_HOME", cargo_home.as_str()),
    ];
    let report = init_and_allow(&repo, "rust", &env);
    assert!(
        fs_err::read_to_string(repo.join(".cargo/config.toml"))
            .unwrap()
            .contains("directory = \"vendor\"")
    );
    assert_eq!(artifacts(&report), ["out/hello-zt"]);
}

#[test]
fn go_builds_offline_and_allows() {
    if !have("go", &["version"]) {
        return skip_outside_ci("go is not installed (apt: golang-go)");
    }
    let (_dir, repo) = project(&[
        ("go.mod", "module example.com/hello\n\ngo 1.19\n"),
        (
            "main.go",
            "package main\n\nimport \"fmt\"\n\nfunc greet(name string) string { return \"hello \" + name }\n\nfunc main() { fmt.Println(greet(\"zt\")) }\n",
        ),
        (
            "main_test.go",
            "package main\n\nimport \"testing\"\n\nfunc TestGreet(t *testing.T) {\n\tif greet(\"zt\") != \"hello zt\" {\n\t\tt.Fatal(\"greet\")\n\t}\n}\n",
        ),
    ]);
    let report = init_and_allow(&repo, "go", &[]);
    assert_eq!(artifacts(&report), ["out/hello"]);
}

#[test]
fn python_builds_a_wheel_offline_and_allows() {
    if !have("/usr/bin/python3", &["-c", "import setuptools, wheel"]) {
        return skip_outside_ci(
            "the base system's python3 with setuptools and wheel is not installed (apt: python3-setuptools python3-wheel)",
        );
    }
    let (_dir, repo) = project(&[
        (
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"hello-zt\"\nversion = \"0.1.0\"\n",
        ),
        (
            "src/hello_zt/__init__.py",
            "def greet(name):\n    return \"hello \" + name\n",
        ),
        ("tests/__init__.py", ""),
        (
            "tests/test_greet.py",
            "import unittest\n\nimport hello_zt\n\n\nclass Greet(unittest.TestCase):\n    def test_greet(self):\n        self.assertEqual(hello_zt.greet(\"zt\"), \"hello zt\")\n",
        ),
    ]);
    let report = init_and_allow(&repo, "python", &[]);
    assert_eq!(artifacts(&report), ["out/hello_zt-0.1.0-py3-none-any.whl"]);
}

#[test]
fn node_packs_offline_and_allows() {
    if !have("npm", &["--version"]) {
        return skip_outside_ci("npm is not installed (apt: npm)");
    }
    let (_dir, repo) = project(&[
        (
            "package.json",
            "{\n  \"name\": \"hello-zt\",\n  \"version\": \"0.1.0\",\n  \"license\": \"MIT\",\n  \"main\": \"index.js\",\n  \"scripts\": { \"test\": \"node test.js\" }\n}\n",
        ),
        (
            "package-lock.json",
            "{\n  \"name\": \"hello-zt\",\n  \"version\": \"0.1.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n    \"\": {\n      \"name\": \"hello-zt\",\n      \"version\": \"0.1.0\",\n      \"license\": \"MIT\"\n    }\n  }\n}\n",
        ),
        ("index.js", "exports.greet = (n) => \"hello \" + n;\n"),
        (
            "test.js",
            "const assert = require(\"assert\");\nassert.strictEqual(require(\"./index\").greet(\"zt\"), \"hello zt\");\n",
        ),
    ]);
    let report = init_and_allow(&repo, "node", &[]);
    assert_eq!(artifacts(&report), ["out/hello-zt-0.1.0.tgz"]);
}

#[test]
fn java_without_a_build_tool_builds_a_jar_offline_and_allows() {
    if !have("javac", &["-version"]) {
        return skip_outside_ci("javac is not installed (apt: default-jdk-headless)");
    }
    let (_dir, repo) = project(&[
        (
            "src/main/java/zt/hello/Greeter.java",
            "package zt.hello;\n\npublic final class Greeter {\n    public static String greet(String name) {\n        return \"hello \" + name;\n    }\n}\n",
        ),
        (
            "src/test/java/zt/hello/GreeterTest.java",
            "package zt.hello;\n\npublic final class GreeterTest {\n    public static void main(String[] args) {\n        if (!Greeter.greet(\"zt\").equals(\"hello zt\")) {\n            throw new AssertionError(\"greet\");\n        }\n    }\n}\n",
        ),
    ]);
    let report = init_and_allow(&repo, "java", &[]);
    assert_eq!(artifacts(&report), ["out/app.jar"]);
}

#[test]
fn c_with_a_makefile_is_detected_and_allows() {
    if !have("make", &["--version"]) || !have("cc", &["--version"]) {
        return skip_outside_ci("make or cc is not installed");
    }
    let (_dir, repo) = project(&[
        (
            "Makefile",
            "out/hello: hello.c\n\tmkdir -p out\n\tcc -O2 -o $@ hello.c\n\ntest: out/hello\n\t./out/hello | grep -q 'hello zt'\n\n.PHONY: test\n",
        ),
        (
            "hello.c",
            "#include <stdio.h>\n\nint main(void) {\n    puts(\"hello zt\");\n    return 0;\n}\n",
        ),
    ]);
    // No --preset: detected from the Makefile.
    let out = zt(&repo).args(["init", "--no-run"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("preset `c`"), "{stdout}");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "zt init"]);
    import_fresh_database(&repo, &[]);
    let out = zt(&repo)
        .args(["pipeline", "run", ".", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(artifacts(&report), ["out/hello"]);
}

#[test]
fn an_unknown_preset_is_refused_with_the_list() {
    let (_dir, repo) = project(&[("README", "x\n")]);
    let out = zt(&repo)
        .args(["init", "--preset", "cobol"])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rust"), "{stderr}");
    assert!(!repo.join("zt.toml").exists());
}
