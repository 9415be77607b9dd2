//! Intake on demand (`[deps.on_demand] cargo`): the real `cargo fetch` asks `zt serve` for a
//! crate its mirror lacks; the server takes the approved version in from crates.io through
//! the whole of intake and serves it; an approved one intake holds (too new) is 403 with the
//! reason; a crate nobody approved stays a 404 naming the `zt deps request` to run, and
//! nothing of it is fetched.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Serve, skip_outside_ci, text, zt};

fn run(d: &Path, args: &[&str]) -> serde_json::Value {
    let o = zt(d).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {:?}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// GET over plain HTTP: status and body.
fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(url).call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn cargo_fetch_takes_an_approved_crate_in_from_crates_io_and_nothing_else() {
    if Command::new("cargo").arg("--version").output().is_err() {
        return skip_outside_ci("`cargo` is not installed");
    }
    let up = Command::new("curl")
        .args([
            "-sf",
            "-m",
            "10",
            "-o",
            "/dev/null",
            "https://index.crates.io/config.json",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !up {
        return skip_outside_ci("index.crates.io cannot be reached");
    }
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    fs_err::write(
        d.join("zt.toml"),
        "[thresholds]\nmin_package_age_hours = 35064\n\n[deps.on_demand]\ncargo = \"https://index.crates.io\"\n\n[[deps.approver]]\nname = \"bob\"\npublic_key = \"bob.pub\"\n",
    )
    .unwrap();
    run(d, &["key", "generate", "--out", "bob"]);
    let r = run(
        d,
        &[
            "deps",
            "request",
            "cfg-if",
            "--ecosystem",
            "crates.io",
            "--package-version",
            "1.0.4",
            "--justification",
            "conditional compilation",
            "--maintenance-plan",
            "rust-lang owns it",
            "--requester",
            "alice",
            "--json",
        ],
    );
    let id = r["id"].as_str().unwrap().to_owned();
    run(d, &["deps", "approve", &id, "--key", "bob"]);

    // adler 1.0.2 (published 2021) is approved too. cfg-if 1.0.4 (2025-10-15) is younger than
    // the four years this repository quarantines versions for: intake will hold it.
    let r = run(
        d,
        &[
            "deps",
            "request",
            "adler",
            "--ecosystem",
            "crates.io",
            "--package-version",
            "1.0.2",
            "--justification",
            "checksums",
            "--maintenance-plan",
            "pinned",
            "--requester",
            "alice",
            "--json",
        ],
    );
    let adler = r["id"].as_str().unwrap().to_owned();
    run(d, &["deps", "approve", &adler, "--key", "bob"]);

    let serve = Serve::start(d, &[], &[]);
    let u = serve.url.clone();

    // Nobody asked for adler2: 404, naming the request to make; nothing taken in.
    let (status, body) = get(&format!("{u}/cargo/ad/le/adler2"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("zt deps request adler2"), "{body}");
    assert!(
        !d.join(".zt/mirror/index.json").exists() || {
            let index = fs_err::read_to_string(d.join(".zt/mirror/index.json")).unwrap();
            !index.contains("adler2")
        }
    );

    // cfg-if: fetched, held by intake, 403 with the reason — and held again without a new
    // intake on the next request.
    for _ in 0..2 {
        let (status, body) = get(&format!("{u}/cargo/cf/g-/cfg-if"));
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("held") && body.contains("too-new"), "{body}");
    }

    // cargo asks for adler 1.0.2 (2021): taken in from crates.io on demand, then installed.
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let proj = w.join("app");
    common::cargo_project_on_mirror(&proj, "adler = \"=1.0.2\"", &format!("{u}/cargo/"));
    let o = Command::new("cargo")
        .arg("fetch")
        .current_dir(&proj)
        .env("CARGO_HOME", w.join("cargo-home"))
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_NET_OFFLINE", "false")
        .output()
        .unwrap();
    assert!(o.status.success(), "cargo fetch: {:?}", text(&o));
    let lock = fs_err::read_to_string(proj.join("Cargo.lock")).unwrap();
    // crates.io's checksum of adler 1.0.2
    assert!(
        lock.contains("f26201604c87b1e01bd3d98f8d5d9a8fcbb815e8cedb41ffccbeb4bf593a35fe"),
        "{lock}"
    );
    // The decision was signed and recorded like any intake.
    let index = fs_err::read_to_string(d.join(".zt/mirror/index.json")).unwrap();
    assert!(index.contains("pkg:cargo/adler@1.0.2"), "{index}");
    assert!(!index.contains("cfg-if"), "{index}");
    let decisions: Vec<String> = fs_err::read_dir(d.join(".zt/intake/decisions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        decisions
            .iter()
            .any(|f| f.contains("adler") && f.contains("admitted")),
        "{decisions:?}"
    );
}
