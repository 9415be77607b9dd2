//! End to end: rebuild-and-compare on real builds.

// Test helpers abort the test on a failed setup step, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use common::zt;

use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn leaky_build_leaks_are_each_attributed_to_their_variation() {
    let t = tempfile::tempdir().unwrap();
    fs_err::write(t.path().join("README"), "leaky\n").unwrap();
    let script = "mkdir -p out; date -u +%Y-%m-%d > out/date; hostname > out/host; pwd > out/pwd; umask > out/umask; stat -c %Y README > out/mtime; echo same > out/same";
    let out = zt(t.path())
        .args(["--json", "repro", "--allow-dirty", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reproducible"], false);
    let mut causes: Vec<(String, String)> = v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let names: Vec<&str> = c["variations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            let names = names.join("+");
            c["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| (f.as_str().unwrap().to_owned(), names.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    causes.sort();
    let want: Vec<(String, String)> = [
        ("out/date", "time"),
        ("out/host", "hostname"),
        ("out/mtime", "file-time"),
        ("out/pwd", "build-path"),
        ("out/umask", "umask"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(causes, want);
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 5);
    let host = diffs.iter().find(|d| d["path"] == "out/host").unwrap();
    assert_eq!(
        host["explanation"],
        "--- a/out/host\n+++ b/out/host\n@@ -1,1 +1,1 @@\n-zt-build\n+zt-variant-1\n"
    );
    let statement: serde_json::Value =
        serde_json::from_slice(&fs_err::read(v["statement"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://zt.dev/attestation/reproducible/v1"
    );
    assert_eq!(statement["predicate"]["verdict"], "not-reproducible");
    assert_eq!(statement["predicate"]["builds"], 2);
    assert_eq!(
        statement["predicate"]["variations"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(statement["subject"].as_array().unwrap().len(), 6);
}

#[test]
fn c_project_with_make_and_gcc_is_reproducible() {
    if !have("gcc") || !have("make") {
        common::skip_outside_ci("gcc or make missing (apt-get install gcc make)");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    fs_err::write(
        t.path().join("hello.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n",
    )
    .unwrap();
    fs_err::write(
        t.path().join("util.c"),
        "int twice(int x) { return 2 * x; }\n",
    )
    .unwrap();
    fs_err::write(
        t.path().join("Makefile"),
        "out/hello: hello.o util.o\n\tmkdir -p out\n\t$(CC) -o $@ hello.o util.o\n\tar rcsD out/libutil.a util.o\n%.o: %.c\n\t$(CC) -O2 -c -o $@ $<\n",
    )
    .unwrap();
    let out = zt(t.path())
        .args([
            "--json",
            "build",
            "--allow-dirty",
            "--rebuild",
            "2",
            "--",
            "make",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["repro"]["reproducible"], true);
    let outputs: Vec<&str> = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, ["out/hello", "out/libutil.a"]);
    let prov: serde_json::Value =
        serde_json::from_slice(&fs_err::read(v["provenance"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        prov["predicate"]["buildDefinition"]["internalParameters"]["reproducible"],
        true
    );
    assert!(
        prov["predicate"]["buildDefinition"]["resolvedDependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "gcc")
    );
    // The built program runs.
    let run = Command::new(t.path().join("out/hello")).output().unwrap();
    assert_eq!(run.stdout, b"hello\n");
}

#[test]
fn rust_crate_built_offline_is_reproducible() {
    // The toolchain of the running cargo, exposed read-only with `--input`.
    let Some(sysroot) = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    else {
        common::skip_outside_ci("rustc missing (install a Rust toolchain)");
        return;
    };
    let t = tempfile::tempdir().unwrap();
    fs_err::create_dir(t.path().join("src")).unwrap();
    fs_err::write(
        t.path().join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"tiny\"\npath = \"src/main.rs\"\n",
    )
    .unwrap();
    fs_err::write(
        t.path().join("src/main.rs"),
        "fn main() { println!(\"{}\", env!(\"CARGO_PKG_NAME\")); }\n",
    )
    .unwrap();
    // The build path is remapped, as reproducible Rust builds do.
    let script = format!(
        "PATH={sysroot}/bin:$PATH RUSTFLAGS=\"--remap-path-prefix=$PWD=/src\" cargo build --offline --release -q && mkdir -p out && cp target/release/tiny out/"
    );
    let out = zt(t.path())
        .args([
            "--json",
            "build",
            "--allow-dirty",
            "--rebuild",
            "2",
            "--input",
            &sysroot,
            "--",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["repro"]["reproducible"], true);
    assert_eq!(v["repro"]["variations"].as_array().unwrap().len(), 10);
    assert_eq!(v["outputs"][0]["path"], "out/tiny");
    let run = Command::new(t.path().join("out/tiny")).output().unwrap();
    assert_eq!(run.stdout, b"tiny\n");
}

/// `zt repro` of `script` in a new tree, which must succeed and reproduce; returns the
/// statement and how long it took. `None` (skipped) where libfaketime is not installed.
fn repro_under_faketime(script: &str) -> Option<(serde_json::Value, std::time::Duration)> {
    if !Path::new("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1").is_file() {
        common::skip_outside_ci("libfaketime missing (apt-get install faketime)");
        return None;
    }
    let t = tempfile::tempdir().unwrap();
    fs_err::write(t.path().join("README"), "x\n").unwrap();
    let began = std::time::Instant::now();
    let out = zt(t.path())
        .args(["--json", "repro", "--allow-dirty", "--", "sh", "-c", script])
        .output()
        .unwrap();
    let took = began.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reproducible"], true);
    let statement: serde_json::Value =
        serde_json::from_slice(&fs_err::read(v["statement"].as_str().unwrap()).unwrap()).unwrap();
    Some((statement, took))
}

/// The statement's one limited variation (asserted to be the only one).
fn only_limited(statement: &serde_json::Value) -> &serde_json::Value {
    let limited = statement["predicate"]["limitedVariations"]
        .as_array()
        .unwrap();
    assert_eq!(limited.len(), 1, "{limited:?}");
    &limited[0]
}

#[test]
fn a_build_that_hangs_under_libfaketime_is_rerun_and_time_is_limited() {
    // Stands in for a program that deadlocks under libfaketime: it hangs whenever FAKETIME is
    // set (only in the build with the time variation).
    let script = "if [ -n \"$FAKETIME\" ]; then sleep 600; fi; mkdir -p out; echo same > out/a";
    let Some((statement, took)) = repro_under_faketime(script) else {
        return;
    };
    let limited = only_limited(&statement);
    assert_eq!(limited["variation"], "time");
    assert!(
        limited["reason"].as_str().unwrap().starts_with(
            "the build stalled under libfaketime (every process asleep, no CPU used for 3s"
        ),
        "{limited:?}"
    );
    assert!(
        statement["predicate"]["unavailableVariations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Seen as a stall within seconds, not at the deadline (at least 10 s).
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_build_that_spins_under_libfaketime_is_killed_at_the_deadline_and_rerun() {
    // Busy, not asleep, whenever FAKETIME is set: no stall, so the deadline ends it.
    let script =
        "if [ -n \"$FAKETIME\" ]; then while :; do :; done; fi; mkdir -p out; echo same > out/a";
    let Some((statement, _)) = repro_under_faketime(script) else {
        return;
    };
    let limited = only_limited(&statement);
    assert!(
        limited["reason"]
            .as_str()
            .unwrap()
            .starts_with("the build hung under libfaketime (killed after "),
        "{limited:?}"
    );
}
