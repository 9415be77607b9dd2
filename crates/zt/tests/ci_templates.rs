//! The CI integrations in `ci/`, run as written: the GitHub composite action's steps are read
//! from `ci/github/action.yml`, their `${{ inputs.* }}` filled in the way the runner fills
//! them (defaults unless the workflow gives a value), and each runs with `bash -eo pipefail`
//! in the environment a runner gives a step (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `RUNNER_TEMP`), on a real repository, with the real `zt` on PATH.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{example_repo, git, text, zt_bin};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a run of the action left: each step's exit status, the step outputs, the summary.
struct Run {
    statuses: Vec<(String, Option<i32>)>,
    outputs: BTreeMap<String, String>,
    summary: String,
    /// The job log: every step's stdout and stderr.
    stderr: String,
    /// The runner's temporary directory (the report and SARIF outputs live there).
    _temp: tempfile::TempDir,
}

/// Runs the composite action's steps in `workspace` with `with` as the workflow's `with:`.
fn run_action(workspace: &Path, with: &[(&str, &str)]) -> Run {
    let text_of = fs_err::read_to_string(repo_root().join("ci/github/action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&text_of).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    // The inputs: every default, then what the workflow gives.
    let mut inputs: BTreeMap<String, String> = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let default = spec["default"].as_str().unwrap_or("").to_owned();
        inputs.insert(name.as_str().unwrap().to_owned(), default);
    }
    for (k, v) in with {
        assert!(inputs.contains_key(*k), "the action has no input `{k}`");
        inputs.insert((*k).to_owned(), (*v).to_owned());
    }
    let temp = tempfile::tempdir().unwrap();
    let summary = temp.path().join("summary.md");
    let bin = temp.path().join("bin");
    fs_err::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(zt_bin(), bin.join("zt")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut statuses = Vec::new();
    let mut outputs = BTreeMap::new();
    let mut all_stderr = String::new();
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        let name = step["name"].as_str().unwrap().to_owned();
        assert_eq!(step["shell"].as_str(), Some("bash"), "{name}");
        assert!(
            step.get("if").is_none(),
            "{name}: add `if:` support to this harness"
        );
        let mut script = step["run"].as_str().unwrap().to_owned();
        for (k, v) in &inputs {
            script = script.replace(&format!("${{{{ inputs.{k} }}}}"), v);
        }
        assert!(
            !script.contains("${{"),
            "{name}: an expression this harness does not fill: {script}"
        );
        let output_file = temp.path().join(format!("output-{}", statuses.len()));
        fs_err::write(&output_file, "").unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(workspace)
            .env("PATH", &path)
            .env("HOME", temp.path())
            .env("NO_COLOR", "1")
            .env("RUNNER_TEMP", temp.path())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env_remove("ZT_NOW")
            .output()
            .unwrap();
        // Workflow commands (`::error::`) are read from stdout; both streams go to the log.
        let (stdout, stderr) = text(&out);
        all_stderr.push_str(&format!("--- {name}\n{stdout}{stderr}"));
        let id = step["id"].as_str().map(str::to_owned);
        for line in fs_err::read_to_string(&output_file).unwrap().lines() {
            if let (Some(id), Some((k, v))) = (&id, line.split_once('=')) {
                outputs.insert(format!("{id}.{k}"), v.to_owned());
            }
        }
        let code = out.status.code();
        statuses.push((name, code));
        if code != Some(0) {
            break; // a failed step stops the job
        }
    }
    Run {
        statuses,
        outputs,
        summary: fs_err::read_to_string(&summary).unwrap_or_default(),
        stderr: all_stderr,
        _temp: temp,
    }
}

#[test]
fn the_github_action_allows_a_good_commit_and_writes_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    let run = run_action(&repo, &[]);
    assert!(
        run.statuses.iter().all(|(_, c)| *c == Some(0)),
        "{:?}\n{}",
        run.statuses,
        run.stderr
    );
    assert_eq!(run.statuses.len(), 3, "every step ran");
    assert_eq!(
        run.outputs.get("pipeline.verdict").map(String::as_str),
        Some("allow")
    );
    assert!(run.summary.starts_with("## zt: allow"), "{}", run.summary);
    assert!(
        run.summary.contains("| build | passed |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("`out/hello` `sha256:"),
        "{}",
        run.summary
    );
    // The report and the SARIF the outputs name are there and parse.
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&run.outputs["pipeline.report"]).unwrap())
            .unwrap();
    assert_eq!(report["allow"], true);
    let sarif: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&run.outputs["scan.sarif"]).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn the_github_action_denies_a_failing_commit_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    // A commit whose test fails.
    let tests = fs_err::read_to_string(repo.join("Makefile")).unwrap();
    assert!(tests.contains("test"), "the example has a test target");
    fs_err::write(
        repo.join("Makefile"),
        tests.replacen("test:", "test:\n\texit 1\nold-test:", 1),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "break the tests"]);
    let run = run_action(&repo, &[]);
    let last = run.statuses.last().unwrap();
    assert_eq!(last.0, "zt pipeline", "{:?}\n{}", run.statuses, run.stderr);
    assert_eq!(last.1, Some(1), "{}", run.stderr);
    assert_eq!(
        run.outputs.get("pipeline.verdict").map(String::as_str),
        Some("deny")
    );
    assert!(run.summary.starts_with("## zt: deny"), "{}", run.summary);
    assert!(run.summary.contains("### How to fix"), "{}", run.summary);
    assert!(
        run.summary.contains("| test | **failed** |"),
        "{}",
        run.summary
    );
    assert!(
        run.stderr.contains("::error::zt denied this commit"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_github_action_says_how_to_get_zt_when_it_is_missing() {
    // No zt on PATH and no zt-source: the first step stops the job with the fix.
    let dir = tempfile::tempdir().unwrap();
    let action = fs_err::read_to_string(repo_root().join("ci/github/action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&action).unwrap();
    let setup = action["runs"]["steps"][0]["run"]
        .as_str()
        .unwrap()
        .replace("${{ inputs.zt-source }}", "");
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &setup])
        .current_dir(dir.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout.contains("::error::zt is not on PATH"), "{stdout}");
}

/// Runs the GitLab component's `zt` job in `repo` as a runner would (the `script` lines in
/// one shell that stops at the first failing line, inputs filled from the spec's defaults);
/// returns the exit status, the log and the job's declared JUnit report path.
fn run_gitlab_job(repo: &Path) -> (Option<i32>, String, PathBuf) {
    let text_of = fs_err::read_to_string(repo_root().join("ci/gitlab/templates/zt.yml")).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text_of)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "a component is a spec header and the jobs");
    let mut inputs = BTreeMap::new();
    for (name, spec) in docs[0]["spec"]["inputs"].as_mapping().unwrap() {
        inputs.insert(
            name.as_str().unwrap().to_owned(),
            spec["default"].as_str().unwrap_or("").to_owned(),
        );
    }
    let job = &docs[1]["zt"];
    let fill = |s: &str| {
        let mut s = s.to_owned();
        for (k, v) in &inputs {
            s = s.replace(&format!("$[[ inputs.{k} ]]"), v);
        }
        assert!(
            !s.contains("$[["),
            "an input this harness does not fill: {s}"
        );
        s
    };
    assert_eq!(fill(job["stage"].as_str().unwrap()), "test");
    let script: Vec<String> = job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| fill(l.as_str().unwrap()))
        .collect();
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("bin");
    fs_err::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(zt_bin(), bin.join("zt")).unwrap();
    let out = Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            &script.join("\n"),
        ])
        .current_dir(repo)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", temp.path())
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env("CI_PROJECT_DIR", repo)
        .env_remove("ZT_NOW")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    let junit = repo.join(fill(job["artifacts"]["reports"]["junit"].as_str().unwrap()));
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    (out.status.code(), format!("{stdout}{stderr}"), junit)
}

#[test]
fn the_gitlab_component_reports_each_stage_as_a_test() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    let (code, log, junit) = run_gitlab_job(&repo);
    assert_eq!(code, Some(0), "{log}");
    let xml = fs_err::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<testsuite name="zt""#), "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert!(xml.contains(r#"name="build""#), "{xml}");
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(repo.join(".zt/ci/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["allow"], true);

    // A commit whose tests fail: the job fails, and the report says which stage and its fix.
    let makefile = fs_err::read_to_string(repo.join("Makefile")).unwrap();
    fs_err::write(
        repo.join("Makefile"),
        makefile.replacen("test:", "test:\n\texit 1\nold-test:", 1),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "break the tests"]);
    let (code, log, junit) = run_gitlab_job(&repo);
    assert_eq!(code, Some(1), "{log}");
    let xml = fs_err::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"failures="1""#), "{xml}");
    assert!(
        xml.contains(r#"name="test""#) && xml.contains("<failure") && xml.contains("fix: "),
        "{xml}"
    );
    assert!(xml.contains("<skipped"), "later stages are skipped: {xml}");
}
