//! The curated mirror served by `zt serve` as registries, installed from by the real clients:
//! `cargo fetch` through a sparse-registry source replacement, `npm install --registry`,
//! `pip install --index-url` in a venv. The packages are real (`tests/data/registry`:
//! cfg-if 1.0.0 from crates.io, is-number 7.0.0 from npm, iniconfig 2.0.0 from PyPI) and
//! enter the mirror through `zt deps intake`; a version intake held answers 403 with its
//! reason, a package never admitted 404 naming the `zt deps request` to run.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Serve, skip_outside_ci, text, zt};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn sha(alg: zt_core::DigestAlgorithm, path: &Path) -> zt_core::Digest {
    zt_core::Digest::of_file(alg, path).unwrap()
}

/// `zt deps intake` of one archive, which must be admitted (or held when `held`).
fn intake(d: &Path, spec: &str, eco: &str, file: &str, extra: &[&str], expect: &str) {
    let archive = d.join(file);
    fs_err::copy(data(&format!("registry/{file}")), &archive)
        .or_else(|_| fs_err::copy(data(&format!("provenance/npm/{file}")), &archive))
        .unwrap();
    let o = zt(d)
        .args(["deps", "intake", spec, "--ecosystem", eco, "--archive"])
        .arg(&archive)
        .args(extra)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(v["verdict"], expect, "{spec}: {:?}", text(&o));
}

/// A repository whose lockfiles pin the three packages, all three taken in, and sigstore
/// 3.1.0 held as too new (its packument says it was published just now).
fn mirror_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let crate_sum = sha(
        zt_core::DigestAlgorithm::Sha256,
        &data("registry/cfg-if-1.0.0.crate"),
    );
    fs_err::write(
        d.join("Cargo.lock"),
        format!(
            "version = 4\n\n[[package]]\nname = \"cfg-if\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
            crate_sum.hex()
        ),
    )
    .unwrap();
    let npm_sum = sha(
        zt_core::DigestAlgorithm::Sha512,
        &data("registry/is-number-7.0.0.tgz"),
    );
    let lock = serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/is-number": {
                "version": "7.0.0",
                "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
                "integrity": format!("sha512-{}", zt_core::b64::encode(npm_sum.bytes())),
            }
        }
    });
    fs_err::write(d.join("package-lock.json"), lock.to_string()).unwrap();
    let whl = sha(
        zt_core::DigestAlgorithm::Sha256,
        &data("registry/iniconfig-2.0.0-py3-none-any.whl"),
    );
    fs_err::write(
        d.join("requirements.txt"),
        format!("iniconfig==2.0.0 --hash=sha256:{}\n", whl.hex()),
    )
    .unwrap();
    let loose = ["--allow-unknown-age"];
    intake(
        d,
        "cfg-if@1.0.0",
        "crates.io",
        "cfg-if-1.0.0.crate",
        &["--lockfile", "Cargo.lock", loose[0]],
        "admitted",
    );
    intake(
        d,
        "is-number@7.0.0",
        "npm",
        "is-number-7.0.0.tgz",
        &["--lockfile", "package-lock.json", loose[0]],
        "admitted",
    );
    intake(
        d,
        "iniconfig@2.0.0",
        "pypi",
        "iniconfig-2.0.0-py3-none-any.whl",
        &["--lockfile", "requirements.txt", loose[0]],
        "admitted",
    );
    // sigstore 3.1.0: in the lockfile too, but its registry entry says it is an hour old.
    let tgz = data("provenance/npm/sigstore-3.1.0.tgz");
    let sri = format!(
        "sha512-{}",
        zt_core::b64::encode(sha(zt_core::DigestAlgorithm::Sha512, &tgz).bytes())
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let packument = serde_json::json!({
        "name": "sigstore",
        "versions": {"3.1.0": {"name": "sigstore", "version": "3.1.0", "dist": {"integrity": sri}}},
        "time": {"3.1.0": zt_core::time::rfc3339(now - 3600)},
    });
    fs_err::write(d.join("sigstore.json"), packument.to_string()).unwrap();
    let mut lock: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join("package-lock.json")).unwrap()).unwrap();
    lock["packages"]["node_modules/sigstore"] =
        serde_json::json!({"version": "3.1.0", "integrity": sri});
    fs_err::write(d.join("package-lock.json"), lock.to_string()).unwrap();
    intake(
        d,
        "sigstore@3.1.0",
        "npm",
        "sigstore-3.1.0.tgz",
        &[
            "--lockfile",
            "package-lock.json",
            "--index",
            "sigstore.json",
        ],
        "held",
    );
    dir
}

fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut c = Command::new("curl");
    c.args(["-sS", "-o", "-", "-w", "\n%{http_code} %{content_type}"]);
    if let Some(a) = accept {
        c.args(["-H", &format!("Accept: {a}")]);
    }
    let o = c.arg(url).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, tail) = out.rsplit_once('\n').unwrap();
    let (code, ct) = tail.split_once(' ').unwrap_or((tail, ""));
    (code.parse().unwrap(), ct.to_owned(), body.to_owned())
}

#[test]
fn the_mirror_serves_admitted_versions_only_with_hashes_and_refuses_the_rest() {
    let repo = mirror_repo();
    let serve = Serve::start(repo.path(), &[], &[]);
    let u = &serve.url;

    // Cargo sparse index.
    let (code, _, body) = get(&format!("{u}/cargo/config.json"), None);
    assert_eq!(code, 200);
    let cfg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        cfg["dl"],
        format!("{u}/cargo/crates/{{crate}}/{{version}}/download")
    );
    let (code, _, body) = get(&format!("{u}/cargo/cf/g-/cfg-if"), None);
    assert_eq!(code, 200, "{body}");
    let line: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(line["name"], "cfg-if");
    assert_eq!(line["vers"], "1.0.0");
    assert_eq!(
        line["cksum"],
        sha(
            zt_core::DigestAlgorithm::Sha256,
            &data("registry/cfg-if-1.0.0.crate")
        )
        .hex()
    );
    // npm: the packument, and its tarball's integrity.
    let (code, ct, body) = get(&format!("{u}/npm/is-number"), None);
    assert_eq!(code, 200);
    assert_eq!(ct, "application/json");
    let p: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(p["dist-tags"]["latest"], "7.0.0");
    assert_eq!(p["versions"].as_object().unwrap().len(), 1);
    let dist = &p["versions"]["7.0.0"]["dist"];
    assert_eq!(
        dist["tarball"],
        format!("{u}/npm/is-number/-/is-number-7.0.0.tgz")
    );
    assert!(dist["integrity"].as_str().unwrap().starts_with("sha512-"));
    // PyPI: PEP 503 HTML and PEP 691 JSON.
    let (code, ct, body) = get(&format!("{u}/pypi/simple/iniconfig/"), None);
    assert_eq!(code, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(
        body.contains("iniconfig-2.0.0-py3-none-any.whl#sha256="),
        "{body}"
    );
    let (code, ct, body) = get(
        &format!("{u}/pypi/simple/IniConfig/"),
        Some("application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(code, 200);
    assert_eq!(ct, "application/vnd.pypi.simple.v1+json");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["meta"]["api-version"], "1.1");
    assert_eq!(
        j["files"][0]["filename"],
        "iniconfig-2.0.0-py3-none-any.whl"
    );
    let (code, _, body) = get(&format!("{u}/pypi/simple/"), None);
    assert_eq!(code, 200);
    assert!(body.contains("iniconfig/"), "{body}");

    // Never admitted: 404 naming the request to make.
    let (code, ct, body) = get(&format!("{u}/npm/left-pad"), None);
    assert_eq!(code, 404);
    assert_eq!(ct, "application/problem+json");
    let prob: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(prob["detail"], "not_admitted");
    assert!(
        prob["fix"]
            .as_str()
            .unwrap()
            .contains("zt deps request left-pad --ecosystem npm"),
        "{prob}"
    );
    let (code, _, body) = get(&format!("{u}/cargo/crates/cfg-if/0.1.10/download"), None);
    assert_eq!(code, 404);
    assert!(
        body.contains("zt deps request cfg-if --ecosystem crates.io --package-version 0.1.10"),
        "{body}"
    );
    let (code, _, _) = get(&format!("{u}/pypi/simple/requests/"), None);
    assert_eq!(code, 404);
    // Held: 403 with intake's reason.
    let (code, _, body) = get(&format!("{u}/npm/sigstore"), None);
    assert_eq!(code, 403, "{body}");
    let prob: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(prob["detail"], "held");
    assert!(
        prob["reason"].as_str().unwrap().contains("too-new"),
        "{prob}"
    );
    // A path outside the sparse-index rules is no index file.
    let (code, _, _) = get(&format!("{u}/cargo/xx/yy/cfg-if"), None);
    assert_eq!(code, 404);
    serve.stop();
}

#[test]
fn real_clients_install_from_the_mirror() {
    for tool in ["npm", "cargo", "python3"] {
        if Command::new(tool).arg("--version").output().is_err() {
            skip_outside_ci(&format!("`{tool}` is not installed"));
            return;
        }
    }
    let repo = mirror_repo();
    let serve = Serve::start(repo.path(), &[], &[]);
    let u = serve.url.clone();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    // npm
    let app = common::npm_app(
        w,
        "npm-app",
        r#"{"is-number":"7.0.0"}"#,
        &format!("{u}/npm/"),
    );
    assert_eq!(common::npm_installed(&app, "is-number"), "7.0.0");
    // npm refuses what the mirror refuses.
    let o = common::npm_install(&app, &["left-pad@1.3.0"], &format!("{u}/npm/"), w);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("404"), "{:?}", text(&o));

    // pip in a venv
    let (python, o) = common::pip_install(w, &format!("{u}/pypi/simple/"), &["iniconfig==2.0.0"]);
    assert!(o.status.success(), "pip install: {:?}", text(&o));
    let o = Command::new(&python)
        .args(["-c", "import iniconfig; print(iniconfig.__file__)"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));

    // cargo fetch with crates-io replaced by the mirror
    let proj = w.join("cargo-app");
    common::cargo_project_on_mirror(&proj, "cfg-if = \"=1.0.0\"", &format!("{u}/cargo/"));
    let cargo_home = w.join("cargo-home");
    let o = Command::new("cargo")
        .arg("fetch")
        .current_dir(&proj)
        .env("CARGO_HOME", &cargo_home)
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_NET_OFFLINE", "false")
        .output()
        .unwrap();
    assert!(o.status.success(), "cargo fetch: {:?}", text(&o));
    let lock = fs_err::read_to_string(proj.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"cfg-if\""), "{lock}");
    assert!(
        lock.contains(
            &sha(
                zt_core::DigestAlgorithm::Sha256,
                &data("registry/cfg-if-1.0.0.crate")
            )
            .hex()
        ),
        "{lock}"
    );
    serve.stop();
}
