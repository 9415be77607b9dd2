//! End to end: `zt build` runs commands in the sandbox. The escape table: each attempt must stay
//! refused (the build itself succeeds and records what it saw in `out/result`).

// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{sandboxed, tree, zt};

use std::path::Path;
use std::process::Command;

#[test]
fn build_collects_outputs_with_digests() {
    let t = tree();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--source-date-epoch", "1700000000", "--", "sh", "-c"])
        .arg("mkdir -p out/sub && cp input.txt out/a && echo \"$SOURCE_DATE_EPOCH $TZ $LC_ALL $(umask) $(hostname) $PWD\" > out/sub/env")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // sha256 of "source\n".
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("sha256:b8bb034f9b63bd0254fbc7c157cae746c75853f4643d6cea844dc48ddb57f522 out/a"),
        "{stdout}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("sha256:") && l.ends_with(" out/sub/env")),
        "{stdout}"
    );
    assert_eq!(lines.next(), None);
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/a")).unwrap(),
        "source\n"
    );
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/sub/env")).unwrap(),
        "1700000000 UTC C.UTF-8 0022 zt-build /build/src\n"
    );
    assert_eq!(
        fs_err::read_dir(t.path().join(".zt/logs")).unwrap().count(),
        1
    );
}

#[test]
fn failing_build_keeps_log_and_places_nothing() {
    let t = tree();
    let out = zt(t.path())
        .args([
            "build",
            "--allow-dirty",
            "--",
            "sh",
            "-c",
            "mkdir -p out; echo partial > out/x; echo oops; exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("build failed (exit status 3)"), "{err}");
    assert!(!t.path().join("out").exists());
    assert!(
        !t.path().join(".zt/provenance").exists(),
        "a failed build wrote provenance"
    );
    let log = fs_err::read_dir(t.path().join(".zt/logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(fs_err::read_to_string(log).unwrap(), "oops\n");
}

#[test]
fn bad_input_exits_2() {
    let t = tree();
    // Missing command.
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "no-such-tool-zt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("command `no-such-tool-zt` not found in the sandbox")
    );
    // A previous build's outputs are replaced whole (regression: a non-empty `out` was
    // refused, so every rebuild needed `rm -rf out` first).
    fs_err::create_dir(t.path().join("out")).unwrap();
    fs_err::write(t.path().join("out/old"), "x").unwrap();
    let out = zt(t.path())
        .args([
            "build",
            "--allow-dirty",
            "--",
            "sh",
            "-c",
            "mkdir -p out && echo new > out/new",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert!(!t.path().join("out/old").exists());
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/new")).unwrap(),
        "new\n"
    );
    // A failed build leaves the previous outputs as they were.
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "false"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(t.path().join("out/new").is_file());
    // An `out` that is a link in the tree is refused: the swap never goes through a link.
    fs_err::remove_dir_all(t.path().join("out")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), t.path().join("out")).unwrap();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symbolic link"));
    fs_err::remove_file(t.path().join("out")).unwrap();
    // Not a git work tree, and a dirty one.
    let out = zt(t.path())
        .args(["build", "--out", "dist", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not clean: not a git work tree"));
    let g = |args: &[&str]| {
        let st = Command::new("git")
            .current_dir(t.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    g(&["init", "-q"]);
    g(&["add", "input.txt"]);
    g(&["commit", "-q", "-m", "c"]);
    fs_err::write(t.path().join("input.txt"), "changed\n").unwrap();
    let out = zt(t.path())
        .args(["build", "--out", "dist", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // ` M input.txt` (`.zt/` and the output directory are ignored).
    assert!(
        err.contains("is not clean: 1 changed or untracked path(s)"),
        "{err}"
    );
    assert!(err.contains("--allow-dirty"));
}

#[test]
fn escape_connect_to_host_loopback_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = tree();
    let (_, result) = sandboxed(
        t.path(),
        &[],
        &format!(
            "if bash -c 'echo x > /dev/tcp/127.0.0.1/{port}'; then echo CONNECTED; else echo refused; fi"
        ),
    );
    assert!(result.ends_with("refused\n"), "{result}");
    assert!(
        listener.accept().is_err(),
        "the host listener saw a connection"
    );
}

#[test]
fn escape_name_resolution_is_refused() {
    let t = tree();
    let (_, result) = sandboxed(
        t.path(),
        &[],
        "if getent ahosts deb.debian.org; then echo RESOLVED; else echo refused; fi",
    );
    assert_eq!(result.lines().last(), Some("refused"), "{result}");
}

#[test]
fn escape_writing_outside_source_copy_is_refused() {
    let t = tree();
    let real = t.path().canonicalize().unwrap();
    let script = format!(
        "for p in /etc/zt-escape /usr/zt-escape /zt-escape /build/zt-escape /proc/zt-escape {}/escaped; do if touch \"$p\" 2>/dev/null; then echo \"WROTE $p\"; else echo \"refused $p\"; fi; done",
        real.display()
    );
    let (_, result) = sandboxed(t.path(), &[], &script);
    assert!(!result.contains("WROTE"), "{result}");
    assert_eq!(
        result.lines().filter(|l| l.starts_with("refused")).count(),
        6,
        "{result}"
    );
    assert!(!Path::new("/etc/zt-escape").exists());
    assert!(!real.join("escaped").exists());
}

#[test]
fn escape_reading_secrets_is_refused() {
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("id_ed25519");
    fs_err::write(&secret, "TOP-SECRET-KEY\n").unwrap();
    let t = tree();
    let script = format!(
        "cat {} /root/.ssh/id_ed25519 /root/.ssh/id_rsa; env",
        secret.display()
    );
    let full = format!("mkdir -p out; {{ {script} ; }} > out/result 2>&1; true");
    let out = zt(t.path())
        .env("ZT_TEST_SECRET_TOKEN", "hunter2-secret")
        .args(["build", "--allow-dirty", "--", "sh", "-c", &full])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let result = fs_err::read_to_string(t.path().join("out/result")).unwrap();
    assert!(!result.contains("TOP-SECRET-KEY"), "{result}");
    assert!(!result.contains("hunter2-secret"), "{result}");
    assert!(result.contains("No such file or directory"), "{result}");
}

#[test]
fn escape_signalling_a_host_process_is_refused() {
    let mut victim = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = victim.id();
    let t = tree();
    let (_, result) = sandboxed(
        t.path(),
        &[],
        &format!("if kill -TERM {pid}; then echo KILLED; else echo refused; fi"),
    );
    assert!(result.ends_with("refused\n"), "{result}");
    assert!(
        victim.try_wait().unwrap().is_none(),
        "the host process was signalled"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@e")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@e")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn clean_build_writes_slsa_provenance_about_every_output() {
    let t = tree();
    fs_err::write(t.path().join("Cargo.lock"), "# lock\n").unwrap();
    git(t.path(), &["init", "-q"]);
    git(t.path(), &["add", "."]);
    git(t.path(), &["commit", "-q", "-m", "c"]);
    let head = git(t.path(), &["rev-parse", "HEAD"]);
    let out = zt(t.path())
        .args([
            "--json",
            "build",
            "--",
            "sh",
            "-c",
            "mkdir -p out && cp input.txt out/a && echo $SOURCE_DATE_EPOCH > out/b",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/b")).unwrap(),
        "1700000000\n",
        "commit time"
    );
    let path = report["provenance"].as_str().unwrap();
    assert!(path.ends_with(&format!(
        "build-{}.intoto.json",
        report["invocation_id"].as_str().unwrap()
    )));
    let st: serde_json::Value = serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://slsa.dev/provenance/v1");
    let subjects: Vec<(&str, &str)> = st["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["digest"]["sha256"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(subjects.len(), 2);
    assert_eq!(subjects[0].0, "out/a");
    assert_eq!(
        format!("sha256:{}", subjects[0].1),
        report["outputs"][0]["digest"].as_str().unwrap()
    );
    let p = &st["predicate"];
    assert_eq!(
        p["buildDefinition"]["buildType"],
        "https://zt.dev/build/sandbox/v1"
    );
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["command"][0],
        "sh"
    );
    assert_eq!(p["buildDefinition"]["internalParameters"]["hermetic"], true);
    assert_eq!(
        p["buildDefinition"]["internalParameters"]["environment"]["TZ"],
        "UTC"
    );
    let deps = p["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    assert_eq!(deps[0]["digest"]["gitCommit"], head.as_str());
    let lock = deps.iter().find(|d| d["uri"] == "file:Cargo.lock").unwrap();
    assert_eq!(
        lock["digest"]["sha256"],
        "718475cd179c5fce5f3cbaf68fb45b15017015ebeec359c040cf704e3f1c86b6"
    );
    let sh = deps.iter().find(|d| d["name"] == "sh").unwrap();
    assert_eq!(sh["annotations"]["kind"], "toolchain");
    assert_eq!(sh["digest"]["sha256"].as_str().unwrap().len(), 64);
    assert!(deps.iter().any(|d| d["name"] == "kernel"));
    assert!(
        p["runDetails"]["builder"]["id"]
            .as_str()
            .unwrap()
            .starts_with("https://zt.dev/builder/zt-build@")
    );
    assert_eq!(
        p["runDetails"]["metadata"]["invocationId"],
        report["invocation_id"]
    );
    assert!(
        p["runDetails"]["metadata"]["startedOn"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn namespaces_unavailable_is_a_clear_error() {
    // Inside a user namespace whose limit of nested user namespaces is 0, zt cannot create
    // its own: it must say so and exit 2.
    let t = tree();
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {} build --allow-dirty -- true",
        env!("CARGO_BIN_EXE_zt")
    );
    let out = Command::new("unshare")
        .args(["-Ur", "sh", "-c", &script])
        .current_dir(t.path())
        .output()
        .unwrap();
    if String::from_utf8_lossy(&out.stderr).contains("unshare failed")
        || String::from_utf8_lossy(&out.stderr).starts_with("unshare:")
    {
        common::skip_outside_ci("cannot create a user namespace (sysctl user.max_user_namespaces)");
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: Linux namespaces are not available: clone3"),
        "{err}"
    );
    assert!(
        err.contains("help: enable unprivileged user namespaces"),
        "{err}"
    );
    assert!(!t.path().join(".zt/provenance").exists());
}

#[test]
fn inputs_are_visible_read_only_and_pinned_in_provenance() {
    let toolchain = tempfile::tempdir().unwrap();
    let tool = toolchain.path().join("gen.sh");
    fs_err::write(&tool, "#!/bin/sh\necho generated > out/gen.txt\nif touch \"$0.written\" 2>/dev/null; then echo WROTE >> out/gen.txt; fi\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut fs_err::metadata(&tool).unwrap().permissions(),
        0o755,
    );
    fs_err::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let t = tree();
    let input = toolchain.path().to_str().unwrap();
    let out = zt(t.path())
        .args([
            "--json",
            "build",
            "--allow-dirty",
            "--input",
            input,
            "--",
            "sh",
            "-c",
        ])
        .arg(format!("mkdir -p out && {}", tool.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/gen.txt")).unwrap(),
        "generated\n",
        "the input must be read-only"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&fs_err::read(report["provenance"].as_str().unwrap()).unwrap())
            .unwrap();
    let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    let pinned = deps
        .iter()
        .find(|d| d["uri"] == format!("file://{input}"))
        .expect("input pinned");
    assert_eq!(pinned["annotations"]["kind"], "input");
    // A dirty tree is pinned by its digest and the build is not called hermetic.
    assert_eq!(deps[0]["name"], "source-tree");
    assert_eq!(
        st["predicate"]["buildDefinition"]["internalParameters"]["hermetic"],
        false
    );
}

#[test]
fn timeout_kills_the_whole_sandbox_and_writes_no_provenance() {
    let t = tree();
    // The build leaves a background child that would outlive its parent, then hangs.
    let marker = t.path().join("late");
    let script = format!(
        "mkdir -p out; echo started; (sleep 3; touch {}) & sleep 4093",
        marker.display()
    );
    let began = std::time::Instant::now();
    let out = zt(t.path())
        .args([
            "build",
            "--allow-dirty",
            "--timeout",
            "1s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    assert!(began.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: the build did not finish within 1s and was killed; log: `"),
        "{err}"
    );
    assert!(err.contains("help: read the log"), "{err}");
    assert!(!t.path().join(".zt/provenance").exists());
    assert!(!t.path().join("out").exists());
    let log = fs_err::read_dir(t.path().join(".zt/logs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(fs_err::read_to_string(log).unwrap(), "started\n");
    // The background child died with the sandbox (it could not have written the host path
    // anyway, but it must not be alive to try).
    let ps = Command::new("sh")
        .args(["-c", "ps -eo args | grep -c '[s]leep 4093' || true"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ps.stdout).trim(), "0");
    // A bad duration is a usage error.
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--timeout", "soon", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn secret_is_a_0600_file_on_tmpfs_and_recorded_by_name_only() {
    let t = tempfile::tempdir().unwrap();
    fs_err::write(t.path().join("input.txt"), "source\n").unwrap();
    let holder = tempfile::tempdir().unwrap();
    let value = "zt-test-secret-9f2c1e7a";
    let file = holder.path().join("token");
    fs_err::write(&file, value).unwrap();
    let digest = zt_core::Digest::sha256(value.as_bytes()).hex();
    let script = "mkdir -p out; stat -c '%a %s' /run/secrets/API_TOKEN > out/stat; \
        if grep -q '^zt-test-secret-' /run/secrets/API_TOKEN; then echo readable > out/read; fi; \
        if echo x > /run/secrets/API_TOKEN 2>/dev/null; then echo WRITABLE > out/write; fi; \
        grep -c tmpfs /proc/self/mountinfo > /dev/null; \
        awk '$5 == \"/run/secrets\" {print $9}' /proc/self/mountinfo > out/fs";
    let out = zt(t.path())
        .args([
            "--json",
            "build",
            "--allow-dirty",
            "--secret",
            &format!("API_TOKEN=@{}", file.display()),
            "--",
            "sh",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stat = fs_err::read_to_string(t.path().join("out/stat")).unwrap();
    assert_eq!(stat.trim(), format!("600 {}", value.len()));
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/read")).unwrap(),
        "readable\n"
    );
    assert!(!t.path().join("out/write").exists());
    assert_eq!(
        fs_err::read_to_string(t.path().join("out/fs")).unwrap(),
        "tmpfs\n"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let prov: serde_json::Value =
        serde_json::from_slice(&fs_err::read(v["provenance"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        prov["predicate"]["buildDefinition"]["externalParameters"]["secrets"],
        serde_json::json!(["API_TOKEN"])
    );
    assert!(v["bundle"].as_str().is_some(), "provenance not signed: {v}");
    // Neither the value nor its digest anywhere: stdout, stderr, logs, provenance, bundles,
    // ledger, outputs.
    let mut seen = vec![out.stdout.clone(), out.stderr.clone()];
    let mut stack = vec![t.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                seen.push(fs_err::read(&p).unwrap());
            }
        }
    }
    for bytes in &seen {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(value), "secret value leaked");
        assert!(!text.contains(&digest), "secret digest leaked");
    }
}

#[test]
fn secret_bad_input_exits_2() {
    let t = tree();
    for (arg, want) in [
        (
            "TOKEN",
            "secret `TOKEN` is not available: no secrets store in",
        ),
        (
            "TOKEN=@/nonexistent/zt-secret",
            "secret `TOKEN` is not available: cannot read `/nonexistent/zt-secret`",
        ),
        ("TOKEN=hunter2", "gives a value on the command line"),
        ("../x=@/etc/hostname", "is not a valid secret name"),
    ] {
        let out = zt(t.path())
            .args(["build", "--allow-dirty", "--secret", arg, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{arg}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("help: "), "{err}");
        assert!(!t.path().join(".zt/provenance").exists());
    }
}

/// Regression: `zt build verify` walked the outputs following links, so a build that left
/// `out/loop -> .` (a link that stays inside `out`, which collection keeps) made it recurse
/// forever. Links are not followed; the regular files are judged.
#[test]
fn build_verify_does_not_follow_a_link_loop_in_the_outputs() {
    let t = tree();
    let out = zt(t.path())
        .args([
            "build",
            "--allow-dirty",
            "--",
            "sh",
            "-c",
            "mkdir -p out && echo x > out/f && ln -s . out/loop",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        fs_err::symlink_metadata(t.path().join("out/loop"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let out = zt(t.path())
        .args(["build", "verify", "--json"])
        .output()
        .unwrap();
    // Judged (denied here: no zt.toml trusts anything), and it ended.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{stdout}");
    assert!(!stdout.contains("out/loop"), "{stdout}");
}

#[test]
fn many_sandboxes_in_one_process_leak_nothing_and_stop_at_a_failure() {
    // `sandbox-probe --runs N` starts N sandboxes one after the other in one zt, as a build
    // with several hooks does: each must end whole (no descriptor, thread or child left
    // behind: 300 runs would exhaust a leak of even a few descriptors a run under a low
    // limit), and the first failing run ends the loop.
    let t = tree();
    let out = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 128 && exec \"$0\" sandbox-probe --runs 300 --json -- /bin/true",
        ])
        .arg(env!("CARGO_BIN_EXE_zt"))
        .current_dir(t.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["runs"], 300, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    let (min, median, mean) = (
        v["min_seconds"].as_f64().unwrap(),
        v["median_seconds"].as_f64().unwrap(),
        v["mean_seconds"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= median && min <= mean, "{v}");

    let out = zt(t.path())
        .args(["sandbox-probe", "--runs", "5", "--json", "--", "/bin/false"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["runs"], 1, "{v}");
    assert_eq!(v["ok"], false, "{v}");
}
