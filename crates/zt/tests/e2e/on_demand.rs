//! Intake on demand (`[deps.on_demand]`): the real `cargo fetch`, `npm install --registry` and
//! `pip install --index-url` ask `zt serve` for a package its mirror lacks; the server takes
//! the approved version in from the real upstream (crates.io, registry.npmjs.org, pypi.org)
//! through the whole of intake and serves it; an approved one intake holds (too new) is 403
//! with the reason; a package nobody approved stays a 404 naming the `zt deps request` to run,
//! and nothing of it is fetched.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Serve, skip_outside_ci, text, zt};

fn run(d: &Path, args: &[&str]) -> serde_json::Value {
    let o = zt(d).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{args:?}: {:?}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// `zt deps request NAME --ecosystem ECO [--package-version V]`, approved by bob.
fn approve(d: &Path, name: &str, ecosystem: &str, version: Option<&str>) {
    let mut args = vec![
        "deps",
        "request",
        name,
        "--ecosystem",
        ecosystem,
        "--justification",
        "needed",
        "--maintenance-plan",
        "pinned",
        "--requester",
        "alice",
        "--json",
    ];
    if let Some(v) = version {
        args.extend(["--package-version", v]);
    }
    let r = run(d, &args);
    let id = r["id"].as_str().unwrap().to_owned();
    run(d, &["deps", "approve", &id, "--key", "bob"]);
}

/// A repository with bob as approver, quarantining versions younger than `min_age_hours`,
/// taking packages in on demand from `on_demand` (the `[deps.on_demand]` lines).
fn repo(min_age_hours: u32, on_demand: &str) -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let d = repo.path();
    fs_err::write(
        d.join("zt.toml"),
        format!("[thresholds]\nmin_package_age_hours = {min_age_hours}\n\n[deps.on_demand]\n{on_demand}\n\n[[deps.approver]]\nname = \"bob\"\npublic_key = \"bob.pub\"\n"),
    )
    .unwrap();
    run(d, &["key", "generate", "--out", "bob"]);
    repo
}

/// Whether `url` answers (else the test is skipped outside CI).
fn reachable(url: &str) -> bool {
    Command::new("curl")
        .args(["-sf", "-m", "10", "-o", "/dev/null", url])
        .status()
        .is_ok_and(|s| s.success())
}

/// The mirror's index, or nothing.
fn mirror_index(d: &Path) -> String {
    fs_err::read_to_string(d.join(".zt/mirror/index.json")).unwrap_or_default()
}

/// The file names of the recorded intake decisions.
fn decisions(d: &Path) -> Vec<String> {
    fs_err::read_dir(d.join(".zt/intake/decisions"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
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
    if !reachable("https://index.crates.io/config.json") {
        return skip_outside_ci("index.crates.io cannot be reached");
    }
    let repo = repo(35064, "cargo = \"https://index.crates.io\"");
    let d = repo.path();
    // adler 1.0.2 (published 2021) is approved. cfg-if 1.0.4 (2025-10-15) is younger than
    // the four years this repository quarantines versions for: intake will hold it.
    approve(d, "cfg-if", "crates.io", Some("1.0.4"));
    approve(d, "adler", "crates.io", Some("1.0.2"));

    let serve = Serve::start(d, &[], &[]);
    let u = serve.url.clone();

    // Nobody asked for adler2: 404, naming the request to make; nothing taken in.
    let (status, body) = get(&format!("{u}/cargo/ad/le/adler2"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("zt deps request adler2"), "{body}");
    assert!(!mirror_index(d).contains("adler2"));

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
    let index = mirror_index(d);
    assert!(index.contains("pkg:cargo/adler@1.0.2"), "{index}");
    assert!(!index.contains("cfg-if"), "{index}");
    let decisions = decisions(d);
    assert!(
        decisions
            .iter()
            .any(|f| f.contains("adler") && f.contains("admitted")),
        "{decisions:?}"
    );
}

#[test]
fn npm_install_takes_an_approved_package_in_from_the_npm_registry_and_nothing_else() {
    if Command::new("npm").arg("--version").output().is_err() {
        return skip_outside_ci("`npm` is not installed");
    }
    if !reachable("https://registry.npmjs.org/is-number") {
        return skip_outside_ci("registry.npmjs.org cannot be reached");
    }
    // Two years of quarantine: is-number 7.0.0 (its packument's time: 2024-02-27) is older.
    let repo = repo(17520, "npm = \"https://registry.npmjs.org\"");
    let d = repo.path();
    approve(d, "is-number", "npm", Some("7.0.0"));
    let serve = Serve::start(d, &[], &[]);
    let u = serve.url.clone();

    // Nobody asked for left-pad: 404 naming the request to make; nothing taken in.
    let (status, body) = get(&format!("{u}/npm/left-pad"));
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("zt deps request left-pad --ecosystem npm"),
        "{body}"
    );
    assert!(decisions(d).is_empty());

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let app = common::npm_app(w, "app", r#"{"is-number":"^7.0.0"}"#, &format!("{u}/npm/"));
    assert_eq!(common::npm_installed(&app, "is-number"), "7.0.0");
    // The lockfile holds the npm registry's own integrity for the tarball, and the packument
    // lists the admitted version only (6.0.0 is upstream, not approved).
    let lock = fs_err::read_to_string(app.join("package-lock.json")).unwrap();
    assert!(
        lock.contains("sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng=="),
        "{lock}"
    );
    let (status, body) = get(&format!("{u}/npm/is-number"));
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, ["7.0.0"]);
    assert!(mirror_index(d).contains("pkg:npm/is-number@7.0.0"));
    assert!(
        decisions(d)
            .iter()
            .any(|f| f.contains("is-number") && f.contains("admitted")),
        "{:?}",
        decisions(d)
    );
}

#[test]
fn pip_install_takes_an_approved_project_in_from_pypi_and_holds_a_new_one() {
    if Command::new("python3").arg("--version").output().is_err() {
        return skip_outside_ci("`python3` is not installed");
    }
    if !reachable("https://pypi.org/pypi/iniconfig/json") {
        return skip_outside_ci("pypi.org cannot be reached");
    }
    // Two years of quarantine: iniconfig 2.0.0 (2023-01-07) is older.
    let repo = repo(17520, "pypi = \"https://pypi.org\"");
    let d = repo.path();
    approve(d, "iniconfig", "pypi", Some("2.0.0"));
    // Any version of packaging: the newest release is taken, and it is younger than that.
    approve(d, "packaging", "pypi", None);
    let serve = Serve::start(d, &[], &[]);
    let u = serve.url.clone();

    // Nobody asked for six: 404 naming the request to make; nothing taken in.
    let (status, body) = get(&format!("{u}/pypi/simple/six/"));
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("zt deps request six --ecosystem pypi"),
        "{body}"
    );
    assert!(decisions(d).is_empty());

    // packaging: its newest release is fetched and held (too new), 403 with the reason.
    let (status, body) = get(&format!("{u}/pypi/simple/packaging/"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("held") && body.contains("too-new"), "{body}");

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (python, o) = common::pip_install(w, &format!("{u}/pypi/simple/"), &["iniconfig"]);
    assert!(o.status.success(), "pip install: {:?}", text(&o));
    let o = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('iniconfig'))",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&o).0.trim(), "2.0.0", "{:?}", text(&o));
    // The pure-Python wheel was taken in (not the sdist), with PyPI's SHA-256.
    let index = mirror_index(d);
    assert!(
        index.contains("iniconfig-2.0.0-py3-none-any.whl")
            && index.contains("b6a85871a79d2e3b22d2d1b94ac2824226a63c6b741c88f7ae975f18b6778374"),
        "{index}"
    );
    assert!(!index.contains("packaging"), "{index}");
}
