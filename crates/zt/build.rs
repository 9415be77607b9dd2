//! Build-time settings of the `zt` binary.
//!
//! **Link:** `zt` is a position-independent executable (ASLR stays on) with about 68,000
//! relative relocations, mostly pointers in read-only data. Packed as RELR (`-z
//! pack-relative-relocs`, glibc ≥ 2.36, binutils ≥ 2.38) they take 27 KB instead of 1.6 MB,
//! which the loader would otherwise read on every start: `zt --version` goes from 2.8 ms to
//! 2.4 ms. Every zt command pays the start-up, `zt build -- true` included (bench/build.sh
//! sandbox).
//!
//! **Version:** `zt --version` names the commit zt is built from (`ZT_COMMIT`): `git
//! describe`'s abbreviated hash, `-dirty` when the tree has changes; `unknown` outside a git
//! checkout (a crates.io tarball, a vendored copy). `ZT_COMMIT` set in the environment wins
//! (release builds from an exported tree).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }

    println!("cargo:rerun-if-env-changed=ZT_COMMIT");
    let commit = std::env::var("ZT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ZT_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    // A new commit or checkout changes HEAD or the ref it points at. In a linked worktree
    // (`git worktree add`) HEAD is in the worktree's git dir but the branches are in the
    // common one: watch both (regression: a worktree's binary named its first build's commit
    // after every later commit).
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    println!("cargo:rerun-if-changed={git_dir}/HEAD");
    let common = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .unwrap_or_else(|| git_dir.clone());
    for dir in [&git_dir, &common] {
        println!("cargo:rerun-if-changed={dir}/refs/heads");
        println!("cargo:rerun-if-changed={dir}/packed-refs");
    }
    git(&["describe", "--always", "--dirty", "--abbrev=12"])
}
