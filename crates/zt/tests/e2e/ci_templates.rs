//! The CI integrations in `ci/`, run as written: the GitHub composite action's steps are read
//! from `ci/github/action.yml`, their `${{ inputs.* }}` filled in the way the runner fills
//! them (defaults unless the workflow gives a value), and each runs with `bash -eo pipefail`
//! in the environment a runner gives a step (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `RUNNER_TEMP`), on a real repository, with the real `zt` on PATH.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

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

/// Runs the composite action's steps in `workspace` with `with` as the workflow's `with:`
/// and `env` added to the runner's environment.
fn run_action(workspace: &Path, with: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
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
            .envs(env.iter().copied())
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
    let run = run_action(&repo, &[], &[]);
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
    let run = run_action(&repo, &[], &[]);
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
/// returns the exit status, the log and the job's declared JUnit report path. `with` are the
/// `include: inputs:`; `id_token(aud)` mints what the runner puts in each `id_tokens`
/// variable.
fn run_gitlab_job(
    repo: &Path,
    with: &[(&str, &str)],
    id_token: &dyn Fn(&str) -> String,
) -> (Option<i32>, String, PathBuf) {
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
    for (k, v) in with {
        assert!(inputs.contains_key(*k), "the component has no input `{k}`");
        inputs.insert((*k).to_owned(), (*v).to_owned());
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
    // The ID tokens the job asks for, as the runner gives them: one variable each.
    let mut tokens = Vec::new();
    for (name, spec) in job["id_tokens"].as_mapping().unwrap() {
        let aud = fill(spec["aud"].as_str().unwrap());
        tokens.push((name.as_str().unwrap().to_owned(), id_token(&aud)));
    }
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("bin");
    fs_err::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(zt_bin(), bin.join("zt")).unwrap();
    let out = Command::new("bash")
        .envs(tokens)
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
    let (code, log, junit) = run_gitlab_job(&repo, &[], &|_| "unused".to_owned());
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
    let (code, log, junit) = run_gitlab_job(&repo, &[], &|_| "unused".to_owned());
    assert_eq!(code, Some(1), "{log}");
    let xml = fs_err::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"failures="1""#), "{xml}");
    assert!(
        xml.contains(r#"name="test""#) && xml.contains("<failure") && xml.contains("fix: "),
        "{xml}"
    );
    assert!(xml.contains("<skipped"), "later stages are skipped: {xml}");
}

/// A `zt serve` for `runner` (the example after a run): it trusts the runner's pipeline key and
/// log, and lets CI jobs of `org/app` on `main` upload, authenticated by ID tokens of a test
/// issuer with the audience `zt`; reads are public. Returns the server and the issuer.
fn hub_for(dir: &Path, runner: &Path) -> (common::Serve, zt_test_support::issuer::Issuer) {
    use zt_test_support::issuer::Issuer;
    let server = dir.join("server");
    fs_err::create_dir_all(server.join(".zt/keys")).unwrap();
    fs_err::create_dir_all(server.join(".zt/secrets")).unwrap();
    fs_err::copy(runner.join("zt.toml"), server.join("zt.toml")).unwrap();
    fs_err::copy(
        runner.join(".zt/keys/pipeline.pub"),
        server.join(".zt/keys/pipeline.pub"),
    )
    .unwrap();
    let mut issuer = Issuer::new("", "ci-key");
    issuer.iss = Issuer::serve_jwks(issuer.jwks());
    fs_err::write(
        server.join(".zt/secrets/trust.toml"),
        format!(
            "reads = \"public\"\n\n[[issuer]]\nurl = \"{}\"\naudiences = [\"zt\"]\n\n\
             [[upload]]\nbind = \"repository=org/app,ref=refs/heads/main\"\npredicate_types = [\"*\"]\n",
            issuer.iss
        ),
    )
    .unwrap();
    let log = runner.join(".zt/log/log.pub");
    let serve = common::Serve::start(&server, &["--trust-log", log.to_str().unwrap()], &[]);
    (serve, issuer)
}

/// The job's ID token for `org/app` on `main`, with the audience `aud`.
fn job_token(issuer: &zt_test_support::issuer::Issuer, aud: &str) -> String {
    let mut claims = issuer.claims("org/app", "refs/heads/main", "job-1");
    claims["aud"] = aud.into();
    issuer.mint(&claims)
}

/// How many bundles the server holds (public reads).
fn evidence_count(url: &str) -> usize {
    let out = Command::new("curl")
        .args([
            "-sSf",
            "--max-time",
            "60",
            &format!("{url}/api/v1/evidence"),
        ])
        .output()
        .expect("curl must be installed (`.ci/run` installs it)");
    assert!(out.status.success(), "{:?}", text(&out));
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    page["items"].as_array().unwrap().len()
}

#[test]
fn the_github_action_uploads_the_evidence_with_the_jobs_oidc_token() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    let (server, issuer) = hub_for(dir.path(), &repo);
    // GitHub's token endpoint: the action must ask for the audience `zt` (the route's path).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://{}/token?api-version=2.0",
        listener.local_addr().unwrap()
    );
    zt_test_support::issuer::serve_on(
        listener,
        vec![(
            "/token?api-version=2.0&audience=zt".into(),
            serde_json::json!({ "value": job_token(&issuer, "zt") }).to_string(),
        )],
    );
    assert_eq!(evidence_count(&server.url), 0);
    let run = run_action(
        &repo,
        &[("server", &server.url)],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &endpoint),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runtime-token"),
        ],
    );
    assert!(
        run.statuses.iter().all(|(_, c)| *c == Some(0)),
        "{:?}\n{}",
        run.statuses,
        run.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&run.outputs["pipeline.report"]).unwrap())
            .unwrap();
    let uploads = report["uploads"].as_array().unwrap();
    assert!(!uploads.is_empty(), "{report}");
    assert_eq!(evidence_count(&server.url), uploads.len());
    assert!(run.stderr.contains("::add-mask::"), "the token is masked");

    // Without `permissions: id-token: write` (no request URL), the job stops with the fix.
    let run = run_action(&repo, &[("server", &server.url)], &[]);
    let last = run.statuses.last().unwrap();
    assert_eq!(last.1, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("id-token: write"), "{}", run.stderr);
}

#[test]
fn the_gitlab_component_uploads_the_evidence_with_its_id_token() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = example_repo(dir.path(), "repo");
    let (server, issuer) = hub_for(dir.path(), &repo);
    let (code, log, _) = run_gitlab_job(&repo, &[("server", &server.url)], &|aud| {
        job_token(&issuer, aud)
    });
    assert_eq!(code, Some(0), "{log}");
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(repo.join(".zt/ci/report.json")).unwrap())
            .unwrap();
    let uploads = report["uploads"].as_array().unwrap();
    assert!(!uploads.is_empty(), "{report}");
    assert_eq!(evidence_count(&server.url), uploads.len());
    // A token for another audience is refused by the server: the job fails, naming the
    // upload that was refused.
    let (code, log, _) = run_gitlab_job(&repo, &[("server", &server.url)], &|_| {
        job_token(&issuer, "someone-else")
    });
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("error: uploading"), "{log}");
}

#[test]
fn the_reusable_workflow_passes_every_input_to_the_action_and_may_request_id_tokens() {
    let read = |p: &str| -> serde_yaml::Value {
        serde_yaml::from_str(&fs_err::read_to_string(repo_root().join(p)).unwrap()).unwrap()
    };
    let workflow = read("ci/github/workflows/zt.yml");
    let action = read("ci/github/action.yml");
    assert_eq!(
        workflow["permissions"]["id-token"].as_str(),
        Some("write"),
        "the job must be allowed to request its OIDC token"
    );
    let call = &workflow["on"]["workflow_call"]["inputs"];
    let steps = workflow["jobs"]["zt"]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("zt"))
        .unwrap();
    assert!(step["uses"].as_str().unwrap().contains("/ci/github@"));
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if matches!(name, "directory" | "zt-source") {
            continue; // the workflow checks out and installs zt itself
        }
        assert_eq!(
            step["with"][name].as_str(),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "input `{name}` is not passed to the action"
        );
        assert_eq!(
            call[name]["default"].as_str(),
            spec["default"].as_str(),
            "input `{name}`: the workflow's default differs from the action's"
        );
    }
}
