//! zt as CI runs it: `zt pipeline run .` on every commit of one repository, through one `.zt`.
//! Each commit's verdict and its reason are asserted; evidence about earlier builds of the same
//! path is history, never a reason to deny a later one.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{example_repo, git, text, zt};

/// The outcome of one pipeline run: exit code, JSON report, stderr.
struct Run {
    code: Option<i32>,
    report: serde_json::Value,
    stderr: String,
}

impl Run {
    fn stage(&self, name: &str) -> &serde_json::Value {
        self.report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no stage {name}: {}", self.report))
    }

    fn digest(&self) -> String {
        self.report["artifacts"][0][1].as_str().unwrap().to_string()
    }

    fn allowed(&self) -> bool {
        self.code == Some(0) && self.report["allow"] == true
    }

    fn explain(&self) -> String {
        format!("{}\n{}", self.report, self.stderr)
    }
}

fn pipeline(repo: &Path, envs: &[(&str, &str)]) -> Run {
    let mut cmd = zt(repo);
    cmd.args(["pipeline", "run", ".", "--json"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"));
    Run {
        code: out.status.code(),
        report,
        stderr,
    }
}

fn commit(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", message]);
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs_err::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs_err::write(path, text.replace(from, to)).unwrap();
}

/// The UTC date `days` from today, `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("+{days} days"), "+%F"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn judge(repo: &Path, what: &str, stage: &str) -> (Option<i32>, String) {
    let out = zt(repo)
        .args(["verify", what, "--stage", stage])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.code(), format!("{stdout}{stderr}"))
}

#[test]
fn every_commit_through_one_zt_dir_gets_the_verdict_it_deserves() {
    let dir = tempfile::tempdir().unwrap();
    // Commit 1: the example as it comes.
    let (repo, first) = example_repo(dir.path(), "repo");
    let first_digest = first["artifacts"][0][1].as_str().unwrap().to_string();

    // Commit 2: a code change, its test updated with it. The previous build's evidence (same
    // path, another digest) is history: allow.
    edit(&repo.join("src/hello.c"), "\"hello, %s\"", "\"Hello, %s\"");
    edit(
        &repo.join("tests/run.sh"),
        "\"hello, world\"",
        "\"Hello, world\"",
    );
    edit(&repo.join("tests/run.sh"), "\"hello, zt\"", "\"Hello, zt\"");
    commit(&repo, "Capitalise the greeting");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());
    assert_ne!(run.digest(), first_digest);
    assert_eq!(run.stage("test")["summary"], "3 passed, 0 failed");
    let second_digest = run.digest();
    // The same policies, offline, on this build's outputs.
    let out = zt(&repo).args(["build", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // A responder with only the digest gets the same judgement from the ledger, and the first
    // build is still judged by its own evidence.
    for d in [&second_digest, &first_digest] {
        let (code, said) = judge(&repo, d, "deploy");
        assert_eq!(code, Some(0), "{d}: {said}");
        assert!(said.starts_with("allow"), "{said}");
    }

    // Commit 3: a change that breaks two tests. Denied at the test stage, with the real counts
    // (not a previous run's report).
    edit(
        &repo.join("src/hello.c"),
        "\"Hello, %s\"",
        "\"Goodbye, %s\"",
    );
    commit(&repo, "Say goodbye");
    let run = pipeline(&repo, &[]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert_eq!(run.stage("test")["status"], "failed");
    let summary = run.stage("test")["summary"].as_str().unwrap();
    assert!(summary.starts_with("1 passed, 2 failed"), "{summary}");
    assert_eq!(run.stage("policy")["status"], "skipped");

    // Commit 4: the fix. Allowed again.
    edit(
        &repo.join("src/hello.c"),
        "\"Goodbye, %s\"",
        "\"Hello, %s\"",
    );
    commit(&repo, "Fix the greeting");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());
    assert_eq!(
        run.digest(),
        second_digest,
        "the same source builds the same bytes"
    );

    // Commit 5: a credential committed. Denied at the source stage, naming the rule.
    let key = ["AKIA", "QYLPMN5HHHFPZAM2"].concat();
    fs_err::write(
        repo.join("src/config.h"),
        format!("#define AWS_KEY \"{key}\"\n"),
    )
    .unwrap();
    commit(&repo, "Add the deploy credential");
    let run = pipeline(&repo, &[]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let source = run.stage("source");
    assert_eq!(source["status"], "failed");
    assert!(
        source["summary"]
            .as_str()
            .unwrap()
            .contains("aws-access-token"),
        "{source}"
    );
    assert!(source["remediation"].as_str().unwrap().contains("rotate"));

    // Commit 6: the credential removed (and rotated). Allowed.
    fs_err::remove_file(repo.join("src/config.h")).unwrap();
    commit(&repo, "Remove the credential");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());

    // Commit 7: a known-vulnerable dependency (pinned, with its hash): the example's advisory
    // feed rates example-greeter < 0.9.0 critical. Denied at the vuln stage.
    fs_err::write(
        repo.join("requirements.txt"),
        format!("example-greeter==0.8.0 --hash=sha256:{}\n", "ab".repeat(32)),
    )
    .unwrap();
    commit(&repo, "Depend on example-greeter 0.8.0");
    let run = pipeline(&repo, &[]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    let vuln = run.stage("vuln");
    assert_eq!(vuln["status"], "failed", "{vuln}");
    assert!(
        vuln["summary"].as_str().unwrap().contains("1 critical"),
        "{vuln}"
    );
    assert!(
        vuln["remediation"]
            .as_str()
            .unwrap()
            .contains("zt vuln waive"),
        "{vuln}"
    );

    // Commit 8: the finding waived, with an owner, an approver and an expiry three days out.
    let expires = day(3);
    let out = zt(&repo)
        .args([
            "vuln",
            "waive",
            "ZT-EXAMPLE-2026-0001",
            "--purl",
            "pkg:pypi/example-greeter@0.8.0",
            "--justification",
            "vulnerable_code_not_in_execute_path",
            "--statement",
            "the greeter's formatting path is never called",
            "--owner",
            "alice",
            "--approver",
            "bob",
            "--expires",
            &expires,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    commit(&repo, "Waive ZT-EXAMPLE-2026-0001 until it is upgraded");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());
    assert!(
        run.stage("vuln")["summary"]
            .as_str()
            .unwrap()
            .contains("1 waived"),
        "{}",
        run.explain()
    );
    // The same commit four days later: the waiver has expired, the finding blocks again.
    let later = format!("{}T12:00:00Z", day(4));
    let run = pipeline(&repo, &[("ZT_NOW", later.as_str())]);
    assert_eq!(run.code, Some(1), "{}", run.explain());
    assert_eq!(run.stage("vuln")["status"], "failed", "{}", run.explain());

    // Commit 9: upgraded past the fix; the waiver goes with it.
    fs_err::write(
        repo.join("requirements.txt"),
        format!("example-greeter==0.9.0 --hash=sha256:{}\n", "cd".repeat(32)),
    )
    .unwrap();
    fs_err::remove_file(repo.join("zt-waivers.toml")).unwrap();
    commit(&repo, "Upgrade example-greeter to 0.9.0");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());

    // Commit 10: a release bump.
    edit(&repo.join("src/hello.c"), "hello 1.0.0", "hello 1.1.0");
    edit(&repo.join("tests/run.sh"), "hello 1.0.0", "hello 1.1.0");
    commit(&repo, "Release 1.1.0");
    let run = pipeline(&repo, &[]);
    assert!(run.allowed(), "{}", run.explain());
    let release = run.digest();
    assert_ne!(release, second_digest);

    // The same commit run twice (a CI retry): allowed both times, same artifact.
    let again = pipeline(&repo, &[]);
    assert!(again.allowed(), "{}", again.explain());
    assert_eq!(again.digest(), release);
    let (code, said) = judge(&repo, &release, "deploy");
    assert_eq!(code, Some(0), "{said}");

    // zt's own state was never scanned as source (its private key is under `.zt/keys`).
    let out = zt(&repo).args(["source", "scan", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

#[test]
fn a_digest_with_no_evidence_is_denied_and_a_bad_digest_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    let unknown = format!("sha256:{}", "ab".repeat(32));
    let (code, said) = judge(&repo, &unknown, "ci");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("provenance.missing"), "{said}");
    let (code, said) = judge(&repo, "sha256:xyz", "ci");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("help:"), "{said}");
}
