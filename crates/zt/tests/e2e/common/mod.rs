//! Shared helpers for end-to-end tests: run the real `zt` binary in a temp dir with a clean
//! environment.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) use zt_test_support::{skip_outside_ci, softhsm, text};

/// The `zt` binary under test.
pub(crate) fn zt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zt"))
}

/// `../shared/testdata` relative to the repository root.
pub(crate) fn shared(rel: &str) -> PathBuf {
    zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), rel)
}

/// A `zt` command in `dir` with a clean environment (HOME inside the temp dir, no colour).
pub(crate) fn zt(dir: &Path) -> Command {
    zt_test_support::command(&zt_bin(), dir)
}

/// A source tree for a build: a temporary directory holding `input.txt` (not a git work tree).
pub(crate) fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("input.txt"), "source\n").unwrap();
    dir
}

/// `git ARGS` in `dir` with a fixed identity and no global configuration; asserts success and
/// returns stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {:?}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bundled example written to `dir/NAME` and taken through `zt pipeline run` once (which
/// must allow): the repository and the run's JSON report.
pub(crate) fn example_repo(dir: &Path, name: &str) -> (PathBuf, serde_json::Value) {
    let out = zt(dir)
        .args(["pipeline", "run", "--workdir", name, "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    (dir.join(name), serde_json::from_str(&stdout).unwrap())
}

/// Runs `zt ARGS` with no network at all (inside `unshare -n` / `unshare -rn`). Panics when
/// CI=true and no network namespace can be made: CI must prove offline operation.
pub(crate) fn zt_offline(dir: &Path, args: &[&str]) -> Output {
    let flag = if Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        Some("-n")
    } else if Command::new("unshare")
        .args(["-rn", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        Some("-rn")
    } else {
        None
    };
    match flag {
        Some(flag) => Command::new("unshare")
            .arg(flag)
            .arg(zt_bin())
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("run unshare"),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run offline tests inside a network namespace, but `unshare -n` failed"
            );
            eprintln!("note: `unshare -n` unavailable; running with the network present");
            zt(dir).args(args).output().expect("run zt")
        }
    }
}

/// A running `zt serve --listen 127.0.0.1:0 --repo REPO EXTRA…` (with `env` added): its URL,
/// the first line it prints; its stderr drained as it comes (a full pipe would block the
/// server). Killed and reaped on drop if the test did not stop it.
pub(crate) struct Serve {
    child: Option<std::process::Child>,
    pub(crate) url: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Told by the drain thread when it has read the pipe to its end.
    drained: std::sync::mpsc::Receiver<()>,
}

impl Serve {
    pub(crate) fn start(repo: &Path, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        use std::io::{BufRead as _, Read as _};
        use std::process::Stdio;
        let mut cmd = zt(repo);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--repo"])
            .arg(repo)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let (done, drained) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            let _ = done.send(());
        });
        // Owned first, so a failed check below still kills the server (Drop).
        let serve = Serve {
            child: Some(child),
            url,
            stderr,
            drained,
        };
        assert!(serve.url.starts_with("http"), "{:?}", serve.url);
        serve
    }

    /// `host:port`.
    pub(crate) fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// SIGTERM; the exit status and everything the server wrote on stderr.
    pub(crate) fn stop(mut self) -> Output {
        let mut child = self.child.take().unwrap();
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        // The drain thread reads to the end of the pipe, which closed with the process (bounded,
        // in case something the server started still holds it).
        let _ = self
            .drained
            .recv_timeout(std::time::Duration::from_secs(10));
        let stderr = self.stderr.lock().unwrap().clone().into_bytes();
        Output {
            status,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// SIGKILL: no chance to clean up.
    pub(crate) fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        let ok = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let _ = child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `script` with `sh -c` as a `zt build --allow-dirty EXTRA…` in `tree` (the build must
/// succeed); returns the command's output and what the script printed (kept in
/// `out/result`, which the build collects).
pub(crate) fn sandboxed(tree: &Path, extra: &[&str], script: &str) -> (Output, String) {
    let full = format!("mkdir -p out; {{ {script} ; }} > out/result 2>&1; true");
    let out = zt(tree)
        .args(["build", "--allow-dirty"])
        .args(extra)
        .args(["--", "sh", "-c", &full])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = fs_err::read_to_string(tree.join("out/result")).unwrap();
    (out, result)
}

/// A one-crate Cargo project at `proj` depending on `dependency` (a `[dependencies]` line),
/// with crates.io replaced by the sparse registry at `registry` (e.g. `zt serve`'s
/// `{url}/cargo/`), as a team points Cargo at its curated mirror.
pub(crate) fn cargo_project_on_mirror(proj: &Path, dependency: &str, registry: &str) {
    fs_err::create_dir_all(proj.join("src")).unwrap();
    fs_err::create_dir_all(proj.join(".cargo")).unwrap();
    fs_err::write(
        proj.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependency}\n"
        ),
    )
    .unwrap();
    fs_err::write(proj.join("src/lib.rs"), "").unwrap();
    fs_err::write(
        proj.join(".cargo/config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"zt-mirror\"\n\n[source.zt-mirror]\nregistry = \"sparse+{registry}\"\n"
        ),
    )
    .unwrap();
}

/// `npm install --no-audit --no-fund ARGS --registry REGISTRY` in `app`, with its home, cache
/// and user configuration under `w`.
pub(crate) fn npm_install(app: &Path, args: &[&str], registry: &str, w: &Path) -> Output {
    Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .args(args)
        .arg("--registry")
        .arg(registry)
        .arg("--cache")
        .arg(w.join("npm-cache"))
        .current_dir(app)
        .env("HOME", w)
        .env("npm_config_userconfig", w.join("npmrc"))
        .output()
        .unwrap()
}

/// A venv at `w/venv` (asserted), then `pip install --index-url INDEX ARGS` into it: the
/// venv's `python` and pip's output.
pub(crate) fn pip_install(w: &Path, index: &str, args: &[&str]) -> (PathBuf, Output) {
    let venv = w.join("venv");
    let o = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(o.status.success(), "venv: {:?}", text(&o));
    let python = venv.join("bin/python");
    let o = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            index,
        ])
        .args(args)
        .env("HOME", w)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    (python, o)
}

/// `w/NAME` with a `package.json` depending on `dependencies` (a JSON object), installed
/// from `registry` with [`npm_install`] (asserted): the app's folder.
pub(crate) fn npm_app(w: &Path, name: &str, dependencies: &str, registry: &str) -> PathBuf {
    let app = w.join(name);
    fs_err::create_dir_all(&app).unwrap();
    fs_err::write(
        app.join("package.json"),
        format!(
            r#"{{"name":"app","version":"1.0.0","private":true,"dependencies":{dependencies}}}"#
        ),
    )
    .unwrap();
    let o = npm_install(&app, &[], registry, w);
    assert!(o.status.success(), "npm install: {:?}", text(&o));
    app
}

/// The version of `package` npm installed in `app`.
pub(crate) fn npm_installed(app: &Path, package: &str) -> String {
    let p: serde_json::Value = serde_json::from_slice(
        &fs_err::read(app.join(format!("node_modules/{package}/package.json"))).unwrap(),
    )
    .unwrap();
    p["version"].as_str().unwrap_or_default().to_owned()
}
