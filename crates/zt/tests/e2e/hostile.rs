//! End to end: the hostile-build table (issue 16). Each test is a build script that tries one
//! escape from inside `zt build` — run as root, as CI runs it — and asserts that the attempt
//! was refused AND that nothing reached the host. The scripts use `sh` and `perl` (whose
//! `syscall` reaches any system call), both present in the sandbox's base system.

// The system call numbers in the scripts are x86_64's.
#![cfg(target_arch = "x86_64")]
// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::{sandboxed, tree, zt};

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

/// A host directory the build can see through `--input` (readable by others: the build
/// runs as an unprivileged user) holding `name` with `contents`.
fn host_dir(name: &str, contents: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs_err::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    fs_err::write(d.path().join(name), contents).unwrap();
    d
}

/// Every file below `dir` (not following links) whose contents include `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(rd) = fs_err::read_dir(dir) else {
        return found;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        let meta = fs_err::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            found.extend(files_containing(&p, needle));
        } else if meta.is_file()
            && String::from_utf8_lossy(&fs_err::read(&p).unwrap()).contains(needle)
        {
            found.push(p.display().to_string());
        }
    }
    found
}

/// A perl one-liner printing `refused: ERRNO` when the system call returns -1, `ALLOWED`
/// otherwise (a child of a successful clone exits at once). String arguments go through
/// variables set in `vars` (perl passes them as pointers, and refuses constants).
fn perl_syscall(vars: &str, args: &str) -> String {
    format!(
        "perl -e '{vars} $r = syscall({args}); if ($r == 0) {{ exit 0 }} if ($r == -1) {{ print \"refused: $!\\n\" }} else {{ print \"ALLOWED\\n\" }}'"
    )
}

#[test]
fn row1_output_dir_symlinked_to_a_host_dir_is_refused_and_nothing_is_copied() {
    let victim = host_dir("local", "FAKE-PRIVATE-KEY-row1\n");
    let t = tree();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "sh", "-c"])
        .arg(format!("ln -s {} out", victim.path().display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the build made `out` a symbolic link to"),
        "{err}"
    );
    assert!(
        err.contains("zt does not follow links out of a build"),
        "{err}"
    );
    assert!(err.contains("help:"), "{err}");
    assert!(!t.path().join("out").exists());
    assert!(files_containing(t.path(), "FAKE-PRIVATE-KEY-row1").is_empty());
    assert!(!t.path().join(".zt/provenance").exists());
}

#[test]
fn row1_symlink_inside_the_output_leading_out_is_refused_and_nothing_is_copied() {
    let victim = host_dir("local", "FAKE-PRIVATE-KEY-row1b\n");
    let t = tree();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "sh", "-c"])
        .arg(format!(
            "mkdir -p out/sub && echo fine > out/a && ln -s {}/local out/sub/key",
            victim.path().display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`out/sub/key` a symbolic link"), "{err}");
    // Refused before anything was placed.
    assert!(!t.path().join("out/a").exists());
    assert!(files_containing(t.path(), "FAKE-PRIVATE-KEY-row1b").is_empty());
}

#[test]
fn row1_relative_symlink_inside_the_output_is_kept_as_a_link() {
    let t = tree();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "sh", "-c"])
        .arg("mkdir -p out && echo lib > out/libx.so.1 && ln -s libx.so.1 out/libx.so")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = t.path().join("out/libx.so");
    assert!(
        fs_err::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs_err::read_link(&link).unwrap(), Path::new("libx.so.1"));
}

#[test]
fn row2_setuid_setgid_and_sticky_bits_never_leave_the_build() {
    let t = tree();
    let (_, result) = sandboxed(
        t.path(),
        &[],
        "cp /bin/true out/su && chmod 4755 out/su && cp /bin/true out/sg && chmod 2755 out/sg \
         && mkdir out/d && chmod 1777 out/d && grep ' /build/src ' /proc/self/mountinfo",
    );
    // The source copy is mounted nosuid and nodev.
    assert!(result.contains("nosuid,nodev"), "{result}");
    for f in ["out/su", "out/sg", "out/d"] {
        let mode = fs_err::metadata(t.path().join(f)).unwrap().mode();
        assert_eq!(mode & 0o7000, 0, "{f} has mode {mode:o}");
    }
    assert_eq!(
        fs_err::metadata(t.path().join("out/su")).unwrap().mode() & 0o777,
        0o755
    );
}

#[test]
fn row3_new_mount_api_and_mount_setattr_are_refused_and_inputs_stay_unchanged() {
    let input = host_dir("data", "original\n");
    let t = tree();
    let dir = input.path().display().to_string();
    let script = [
        // mount_setattr(AT_FDCWD, DIR, AT_RECURSIVE, {attr_clr = MOUNT_ATTR_RDONLY}, 32)
        perl_syscall(
            &format!("my $p = \"{dir}\"; my $a = pack(\"QQQQ\", 0, 1, 0, 0);"),
            "442, -100, $p, 0x8000, $a, 32",
        ),
        // open_tree(AT_FDCWD, DIR, OPEN_TREE_CLONE)
        perl_syscall(&format!("my $p = \"{dir}\";"), "428, -100, $p, 1"),
        // fsopen("tmpfs", 0), fspick(AT_FDCWD, "/", 0)
        perl_syscall("my $t = \"tmpfs\";", "430, $t, 0"),
        perl_syscall("my $s = \"/\";", "433, -100, $s, 0"),
        // move_mount(AT_FDCWD, "/tmp", AT_FDCWD, DIR, 0)
        perl_syscall(
            &format!("my $f = \"/tmp\"; my $p = \"{dir}\";"),
            "429, -100, $f, -100, $p, 0",
        ),
        // the old API too
        perl_syscall(
            &format!("my $n = \"none\"; my $p = \"{dir}\";"),
            "165, $n, $p, $n, 0x20 | 0x1000, 0",
        ),
        format!("echo changed > {dir}/data; touch {dir}/new"),
    ]
    .join("; ");
    let (_, result) = sandboxed(t.path(), &["--input", &dir], &script);
    assert!(!result.contains("ALLOWED"), "{result}");
    assert_eq!(
        result.matches("refused: Operation not permitted").count(),
        6,
        "{result}"
    );
    assert_eq!(
        fs_err::read_to_string(input.path().join("data")).unwrap(),
        "original\n"
    );
    assert!(!input.path().join("new").exists());
}

#[test]
fn row4_provenance_records_the_landlock_that_was_enforced_not_a_literal() {
    let t = tree();
    let out = zt(t.path())
        .args(["--json", "build", "--allow-dirty", "--", "sh", "-c"])
        .arg("mkdir -p out && echo x > out/x")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&fs_err::read(report["provenance"].as_str().unwrap()).unwrap())
            .unwrap();
    let sandbox = &st["predicate"]["buildDefinition"]["internalParameters"]["sandbox"];
    // This machine has Landlock (the test suite needs ABI 4+): then it must be fully enforced.
    let abi = sandbox["landlock"]["abi"].as_i64().unwrap();
    assert!(abi >= 4, "{sandbox}");
    assert_eq!(sandbox["landlock"]["status"], "fully-enforced", "{sandbox}");
    assert_eq!(sandbox["enforced"], true, "{sandbox}");
    assert_eq!(sandbox["weaknesses"], serde_json::json!([]), "{sandbox}");
    assert_eq!(sandbox["seccomp"]["mode"], 2, "{sandbox}");
    // The deny program, the clone3 program and the behaviour-recording notification program.
    assert_eq!(sandbox["seccomp"]["filters"], 3, "{sandbox}");
    assert_eq!(
        sandbox["seccomp"]["digest"].as_str().unwrap().len(),
        "sha256:".len() + 64
    );
    assert_eq!(
        sandbox["namespaces"],
        serde_json::json!(["user", "mnt", "pid", "net", "uts", "ipc"])
    );
    assert_eq!(sandbox["network"]["interfaces"], serde_json::json!(["lo"]));
    let mounts = sandbox["mounts"].as_array().unwrap();
    let usr = mounts.iter().find(|m| m["path"] == "/usr").unwrap();
    assert!(
        usr["options"].as_array().unwrap().iter().any(|o| o == "ro"),
        "{usr}"
    );
    assert_eq!(
        st["predicate"]["buildDefinition"]["externalParameters"]["allowWeakSandbox"],
        false
    );
    // Dirty tree: not hermetic, whatever the sandbox did.
    assert_eq!(
        st["predicate"]["buildDefinition"]["internalParameters"]["hermetic"],
        false
    );
}

#[test]
fn row5_no_controlling_terminal_and_no_dev_tty() {
    let t = tree();
    let (_, result) = sandboxed(
        t.path(),
        &[],
        // The build is pid 1 and leads its own session; TIOCSTI is refused on any descriptor.
        &format!(
            "ls /dev; echo \"session $(cut -d' ' -f6 /proc/self/stat)\"; if ( : </dev/tty ); then echo TTY-OPEN; fi; {}",
            perl_syscall("my $c = \"x\";", "16, 0, 0x5412, $c")
        ),
    );
    assert!(!result.lines().any(|l| l == "tty"), "{result}");
    assert!(!result.contains("TTY-OPEN"), "{result}");
    assert!(result.contains("session 1\n"), "{result}");
    assert!(
        result.contains("refused: Operation not permitted"),
        "{result}"
    );
}

#[test]
fn row6_descriptors_left_open_by_the_caller_are_not_inherited() {
    let host = tempfile::tempdir().unwrap();
    let victim = host.path().join("victim.log");
    fs_err::write(&victim, "").unwrap();
    let t = tree();
    let script = "mkdir -p out; { ls /proc/self/fd; if echo LEAKED >&7; then echo WROTE; fi; } > out/result 2>&1; true";
    // sh opens fd 7 (no close-on-exec) and execs zt with it, as a careless caller would.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 7>>{} && exec {} build --allow-dirty -- sh -c '{}'",
            victim.display(),
            env!("CARGO_BIN_EXE_zt"),
            script
        ))
        .current_dir(t.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", t.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = fs_err::read_to_string(t.path().join("out/result")).unwrap();
    assert!(!result.contains("WROTE"), "{result}");
    assert!(!result.lines().any(|l| l == "7"), "{result}");
    assert_eq!(fs_err::read_to_string(&victim).unwrap(), "");
}

#[test]
fn row7_namespace_creation_clone3_and_io_uring_are_refused() {
    let t = tree();
    let script = [
        // clone(CLONE_NEWUSER | SIGCHLD, …), clone(CLONE_NEWNET | SIGCHLD, …)
        perl_syscall("", "56, 0x10000000 | 17, 0, 0, 0, 0"),
        perl_syscall("", "56, 0x40000000 | 17, 0, 0, 0, 0"),
        // unshare(CLONE_NEWUSER), setns(0, 0)
        perl_syscall("", "272, 0x10000000"),
        perl_syscall("", "308, 0, 0"),
        // io_uring_setup(8, params)
        perl_syscall("my $p = \"\\0\" x 120;", "425, 8, $p"),
        // clone3(args, 88): ENOSYS, so that the C library falls back to clone
        perl_syscall("my $a = \"\\0\" x 88;", "435, $a, 88"),
        // an ordinary fork still works
        "sh -c 'echo forked'".to_owned(),
    ]
    .join("; ");
    let (_, result) = sandboxed(t.path(), &[], &script);
    assert!(!result.contains("ALLOWED"), "{result}");
    assert_eq!(
        result.matches("refused: Operation not permitted").count(),
        5,
        "{result}"
    );
    assert!(
        result.contains("refused: Function not implemented"),
        "{result}"
    );
    assert!(result.contains("forked"), "{result}");
}

#[test]
fn row8_host_secrets_in_etc_are_absent_and_root_inside_is_nobody_outside() {
    // A root-only file the build can see (through an input) but must not read: the build's
    // uid 0 is not root on the host.
    let input = host_dir("private.key", "ROOT-ONLY-row8\n");
    fs_err::set_permissions(
        input.path().join("private.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let t = tree();
    let dir = input.path().display().to_string();
    let (_, result) = sandboxed(
        t.path(),
        &["--input", &dir],
        &format!(
            "id -u; tr -s ' ' < /proc/self/uid_map; cat /etc/shadow /etc/gshadow; ls /etc/ssl/private; cat {dir}/private.key; head -1 /etc/passwd; ls /etc/alternatives/cc"
        ),
    );
    assert!(!result.contains("ROOT-ONLY-row8"), "{result}");
    assert!(
        result.contains("/etc/shadow: No such file or directory"),
        "{result}"
    );
    assert!(result.contains("/etc/ssl/private"), "{result}");
    assert!(
        result.contains("private.key: Permission denied"),
        "{result}"
    );
    assert!(result.starts_with("0\n"), "{result}");
    assert!(result.contains("root:x:0:0:root:/tmp:/bin/sh"), "{result}");
    if nix_is_root() {
        assert!(result.contains("0 1879048192 1"), "{result}");
    }
    // The host's shadow file's first entry never shows.
    if let Ok(shadow) = fs_err::read_to_string("/etc/shadow")
        && let Some(first) = shadow.lines().next()
    {
        assert!(!result.contains(first), "{result}");
    }
}

fn nix_is_root() -> bool {
    fs_err::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

#[test]
fn row9_inputs_and_the_real_tree_cannot_be_written() {
    let input = host_dir("data", "original\n");
    let t = tree();
    let real = t.path().canonicalize().unwrap();
    let dir = input.path().display().to_string();
    let (_, result) = sandboxed(
        t.path(),
        &["--input", &dir],
        &format!(
            "for p in {dir}/data {dir}/new {r}/input.txt /etc/passwd /usr/zt; do if echo x >> \"$p\"; then echo \"WROTE $p\"; fi; done; chmod 777 {dir} && echo CHMOD",
            r = real.display()
        ),
    );
    assert!(!result.contains("WROTE"), "{result}");
    assert!(!result.contains("CHMOD"), "{result}");
    assert_eq!(
        fs_err::read_to_string(input.path().join("data")).unwrap(),
        "original\n"
    );
    assert_eq!(
        fs_err::read_to_string(real.join("input.txt")).unwrap(),
        "source\n"
    );
    assert!(!input.path().join("new").exists());
}

#[test]
fn gcc_and_make_build_through_the_alternatives_symlinks() {
    let t = tree();
    fs_err::write(
        t.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    fs_err::write(
        t.path().join("Makefile"),
        "out/hello: hello.c\n\tmkdir -p out\n\tcc -O2 -o $@ hello.c\n",
    )
    .unwrap();
    let out = zt(t.path())
        .args(["build", "--allow-dirty", "--", "make"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(t.path().join("out/hello")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hi\n");
}

#[test]
fn row10_the_build_dies_with_zt() {
    // A build that would outlive a killed zt (the CI job cancelled) keeps running as pid 1 of
    // its namespace unless its parent-death signal kills it.
    let t = tree();
    let token = format!("777.{}", std::process::id());
    let mut zt = zt(t.path())
        .args(["build", "--allow-dirty", "--", "sleep", &token])
        .spawn()
        .unwrap();
    let running = || {
        fs_err::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                fs_err::read(e.path().join("cmdline"))
                    .is_ok_and(|c| c == format!("sleep\0{token}\0").as_bytes())
            })
    };
    let started = std::time::Instant::now();
    while !running() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the build never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    zt.kill().unwrap();
    zt.wait().unwrap();
    let killed = std::time::Instant::now();
    while running() {
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(5),
            "the build outlived zt"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs `zt ARGS` in `dir` under a seccomp filter that makes `landlock_create_ruleset` fail
/// with ENOSYS, as on a kernel without Landlock (python3 installs the filter, then execs zt).
fn zt_without_landlock(dir: &Path, args: &[&str]) -> Output {
    const INSTALL: &str = r#"
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
ins = lambda code, jt, jf, k: struct.pack("HBBI", code, jt, jf, k)
# nr == 444 (landlock_create_ruleset, x86_64) ? ERRNO(ENOSYS) : ALLOW
prog = ins(0x20, 0, 0, 0) + ins(0x15, 0, 1, 444) + ins(0x06, 0, 0, 0x50000 | 38) + ins(0x06, 0, 0, 0x7fff0000)
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(4, ctypes.addressof(buf))
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(fprog)) == 0  # PR_SET_SECCOMP, filter
os.execv(sys.argv[1], sys.argv[1:])
"#;
    Command::new("python3")
        .args(["-c", INSTALL, env!("CARGO_BIN_EXE_zt")])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn row4_without_landlock_the_build_refuses_unless_weak_is_allowed_and_recorded() {
    let t = tree();
    let script = "mkdir -p out && echo ran > out/x";
    let out = zt_without_landlock(
        t.path(),
        &["build", "--allow-dirty", "--", "sh", "-c", script],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "error: the build sandbox cannot be fully enforced: the kernel has no Landlock"
        ),
        "{err}"
    );
    assert!(err.contains("--allow-weak-sandbox"), "{err}");
    // Refused before anything ran.
    assert!(!t.path().join("out").exists());
    assert!(!t.path().join(".zt/provenance").exists());
    // With consent it builds, and the provenance says what was (not) enforced.
    let out = zt_without_landlock(
        t.path(),
        &[
            "--json",
            "build",
            "--allow-dirty",
            "--allow-weak-sandbox",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&fs_err::read(report["provenance"].as_str().unwrap()).unwrap())
            .unwrap();
    let def = &st["predicate"]["buildDefinition"];
    let sandbox = &def["internalParameters"]["sandbox"];
    assert_eq!(def["externalParameters"]["allowWeakSandbox"], true);
    assert_eq!(sandbox["weakSandboxAllowed"], true);
    assert_eq!(sandbox["enforced"], false, "{sandbox}");
    assert_eq!(sandbox["landlock"]["status"], "not-enforced", "{sandbox}");
    assert_eq!(sandbox["landlock"]["abi"], 0, "{sandbox}");
    assert!(
        sandbox["weaknesses"][0]
            .as_str()
            .unwrap()
            .starts_with("landlock not-enforced"),
        "{sandbox}"
    );
    assert_eq!(def["internalParameters"]["hermetic"], false);
}

/// The tests are the repository's code: `zt pipeline run` runs them in the build sandbox on a
/// copy of the tree, so a hostile test sees no `.zt` (no key, no secrets, no evidence), writes
/// nothing into the repository or next to it, and still reports its results.
#[test]
fn tests_run_sandboxed_without_zt_state_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, _) = common::example_repo(dir.path(), "repo");
    let key = fs_err::read_to_string(repo.join(".zt/keys/pipeline")).unwrap();
    let run_sh = repo.join("tests/run.sh");
    let script = fs_err::read_to_string(&run_sh).unwrap().replacen(
        "set -u\n",
        "set -u\ncat .zt/keys/pipeline 2>/dev/null || echo NO-ZT-STATE\n\
         echo stolen > ../escaped.txt 2>/dev/null || echo NO-ESCAPE\n\
         echo planted > planted.txt\n",
        1,
    );
    fs_err::write(&run_sh, script).unwrap();
    common::git(&repo, &["commit", "-qam", "tests: hostile"]);
    let out = zt(dir.path())
        .args(["pipeline", "run", "repo", "--json"])
        .output()
        .unwrap();
    let (stdout, stderr) = common::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let log = fs_err::read_to_string(repo.join(".zt/tests/test.log")).unwrap();
    assert!(log.contains("NO-ZT-STATE"), "{log}");
    assert!(
        !log.contains(key.trim()),
        "the key reached the tests: {log}"
    );
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(
        !repo.join("planted.txt").exists(),
        "the tests wrote into the repository"
    );
    // Their report still came out.
    assert!(repo.join(".zt/tests/junit.xml").is_file());
}
