//! Upstream provenance at intake (`zt deps intake --provenance FILE`), end to end with real
//! documents of real packages (see `tests/data/provenance/SOURCES.md`): npm's SLSA provenance
//! of `sigstore@3.1.0` and the PEP 740 provenance of `gcb_attestation_test-0.0.0.tar.gz`,
//! their real archives, and tampered copies; `[deps.provenance]` decides.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{text, zt};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/provenance")
        .join(rel)
}

fn run(dir: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let o = zt(dir).args(args).output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o, v)
}

/// A repository whose `package-lock.json` pins sigstore 3.1.0 with the tarball's integrity
/// (so it is wanted and its checksum known), and the tarball beside it.
fn npm_repo(zt_toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tgz = d.join("sigstore-3.1.0.tgz");
    fs_err::copy(data("npm/sigstore-3.1.0.tgz"), &tgz).unwrap();
    let sha512 = zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha512, &tgz).unwrap();
    let lock = serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"sigstore": "3.1.0"}},
            "node_modules/sigstore": {
                "version": "3.1.0",
                "resolved": "https://registry.npmjs.org/sigstore/-/sigstore-3.1.0.tgz",
                "integrity": format!("sha512-{}", zt_core::b64::encode(sha512.bytes())),
            }
        }
    });
    fs_err::write(d.join("package-lock.json"), lock.to_string()).unwrap();
    fs_err::write(d.join("zt.toml"), zt_toml).unwrap();
    (dir, tgz)
}

fn intake_npm(d: &Path, tgz: &Path, provenance: Option<&Path>) -> (Output, serde_json::Value) {
    let mut args = vec![
        "deps",
        "intake",
        "sigstore@3.1.0",
        "--ecosystem",
        "npm",
        "--archive",
        tgz.to_str().unwrap(),
        "--lockfile",
        "package-lock.json",
        "--allow-unknown-age",
        "--json",
    ];
    if let Some(p) = provenance {
        args.extend(["--provenance", p.to_str().unwrap()]);
    }
    run(d, &args)
}

const EXPECT_SIGSTORE_JS: &str = r#"
[deps.provenance]
npm = "require"
[[deps.provenance.package]]
package = "pkg:npm/sigstore"
repository = "https://github.com/sigstore/sigstore-js"
"#;

#[test]
fn npm_provenance_of_sigstore_is_verified_and_recorded_in_the_signed_decision() {
    let (dir, tgz) = npm_repo(EXPECT_SIGSTORE_JS);
    let d = dir.path();
    let (o, v) = intake_npm(d, &tgz, Some(&data("npm/sigstore-3.1.0.sigstore.json")));
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["verdict"], "admitted");
    let p = &v["provenance"];
    assert_eq!(p["status"], "verified");
    assert_eq!(p["requirement"], "require");
    assert_eq!(p["repository"], "https://github.com/sigstore/sigstore-js");
    let facts = &p["verified"];
    assert_eq!(facts["kind"], "npm-provenance");
    assert_eq!(facts["subject"], "pkg:npm/sigstore@3.1.0");
    assert_eq!(
        facts["digest"],
        "sha512:669cd60051c816ac85139e9d5ea817fc3903459773fab45c8e8224fd1414e085f4c220afd65f12ed9ad70c770273eb9a7feea8ef0de1da5de0e86606e5328df5"
    );
    assert_eq!(
        facts["source_commit"],
        "06cd267cbdc2eeaa04294995622db9f6ad2fa7cf"
    );
    assert_eq!(
        facts["workflow"],
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
    );
    // The signed statement and the decision record carry what was verified.
    let bundle: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(v["bundle"].as_str().unwrap())).unwrap())
            .unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    let st: serde_json::Value =
        serde_json::from_slice(&zt_core::b64::decode(payload).unwrap()).unwrap();
    assert_eq!(st["predicate"]["provenance"], *p);
    let record: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(v["record"].as_str().unwrap())).unwrap())
            .unwrap();
    assert_eq!(record["provenance"]["status"], "verified");

    // Human output names it.
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "sigstore@3.1.0",
            "--ecosystem",
            "npm",
            "--archive",
            tgz.to_str().unwrap(),
            "--lockfile",
            "package-lock.json",
            "--allow-unknown-age",
            "--provenance",
            data("npm/sigstore-3.1.0.sigstore.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        text(&o).0.contains(
            "provenance (require): verified from `https://github.com/sigstore/sigstore-js`"
        ),
        "{:?}",
        text(&o)
    );
}

#[test]
fn npm_without_required_provenance_is_rejected_and_never_mirrored() {
    let (dir, tgz) = npm_repo(EXPECT_SIGSTORE_JS);
    let d = dir.path();
    let (o, v) = intake_npm(d, &tgz, None);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "rejected");
    let r = &v["reasons"][0];
    assert_eq!(r["rule"], "provenance-missing");
    assert!(r["message"].as_str().unwrap().contains("--provenance FILE"));
    assert!(!d.join(".zt/mirror/index.json").exists());
}

/// The seed's "signature verification failed" case: a package that suddenly publishes from
/// another repository is held, with both repositories named.
#[test]
fn npm_published_from_another_repository_is_held() {
    let toml = EXPECT_SIGSTORE_JS.replace("sigstore/sigstore-js", "sigstore/sigstore-js-fork");
    let (dir, tgz) = npm_repo(&toml);
    let d = dir.path();
    let (o, v) = intake_npm(d, &tgz, Some(&data("npm/sigstore-3.1.0.sigstore.json")));
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "held");
    let r = &v["reasons"][0];
    assert_eq!(r["rule"], "provenance-source-changed");
    assert_eq!(r["hold"], true);
    let m = r["message"].as_str().unwrap();
    assert!(
        m.contains("https://github.com/sigstore/sigstore-js`"),
        "{m}"
    );
    assert!(m.contains("sigstore-js-fork"), "{m}");
    assert!(!d.join(".zt/mirror/index.json").exists());
}

#[test]
fn tampered_npm_provenance_is_rejected_with_the_failed_check() {
    let (dir, tgz) = npm_repo("[deps.provenance]\nnpm = \"prefer\"\n");
    let d = dir.path();
    // One character of the signature changed.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&fs_err::read(data("npm/sigstore-3.1.0.sigstore.json")).unwrap())
            .unwrap();
    let sig = doc["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .replacen("MEQCIFBj", "MEQCIFBk", 1);
    doc["dsseEnvelope"]["signatures"][0]["sig"] = sig.into();
    let bad = d.join("tampered.sigstore.json");
    fs_err::write(&bad, doc.to_string()).unwrap();
    let (o, v) = intake_npm(d, &tgz, Some(&bad));
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["verdict"], "rejected");
    assert_eq!(v["reasons"][0]["rule"], "provenance-invalid");
    assert_eq!(v["provenance"]["status"], "failed");
    assert!(
        v["provenance"]["error"]
            .as_str()
            .unwrap()
            .contains("check failed"),
        "{}",
        v["provenance"]
    );
    // Provenance of another tarball (the right document, a different archive).
    let other = d.join("sigstore-3.1.0-other.tgz");
    let mut bytes = fs_err::read(&tgz).unwrap();
    bytes.extend_from_slice(&[0; 512]);
    fs_err::write(&other, &bytes).unwrap();
    let (_, v) = run(
        d,
        &[
            "deps",
            "intake",
            "sigstore@3.1.0",
            "--ecosystem",
            "npm",
            "--archive",
            other.to_str().unwrap(),
            "--allow-unknown-age",
            "--provenance",
            data("npm/sigstore-3.1.0.sigstore.json").to_str().unwrap(),
            "--json",
        ],
    );
    let rules: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"provenance-invalid"), "{rules:?}");
}

#[test]
fn pypi_pep740_provenance_is_verified_against_its_trusted_publisher() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sdist = d.join("gcb_attestation_test-0.0.0.tar.gz");
    fs_err::copy(data("pypi/gcb_attestation_test-0.0.0.tar.gz"), &sdist).unwrap();
    fs_err::write(
        d.join("requirements.txt"),
        "gcb-attestation-test==0.0.0 \\\n    --hash=sha256:461317362419124b6012e855423a9078d6de8aed3e74fa78cc74d669b23dc6cf\n",
    )
    .unwrap();
    fs_err::write(
        d.join("zt.toml"),
        "[deps.provenance]\npypi = \"require\"\n[[deps.provenance.package]]\npackage = \"pkg:pypi/gcb-attestation-test\"\nrepository = \"919436158236-compute@developer.gserviceaccount.com\"\n",
    )
    .unwrap();
    let args = |prov: &Path| {
        vec![
            "deps".to_owned(),
            "intake".into(),
            "gcb-attestation-test@0.0.0".into(),
            "--ecosystem".into(),
            "pypi".into(),
            "--archive".into(),
            sdist.display().to_string(),
            "--lockfile".into(),
            "requirements.txt".into(),
            "--allow-unknown-age".into(),
            "--provenance".into(),
            prov.display().to_string(),
            "--json".into(),
        ]
    };
    let good = data("pypi/gcb_attestation_test-0.0.0.tar.gz.provenance");
    let o = zt(d).args(args(&good)).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(v["provenance"]["status"], "verified");
    assert_eq!(v["provenance"]["verified"]["kind"], "pypi-attestation");
    assert_eq!(v["provenance"]["verified"]["publisher"]["kind"], "Google");
    assert_eq!(
        v["provenance"]["verified"]["predicate_type"],
        "https://docs.pypi.org/attestations/publish/v1"
    );
    // The provenance object claims another Trusted Publisher than the certificate's.
    let mut doc: serde_json::Value = serde_json::from_slice(&fs_err::read(&good).unwrap()).unwrap();
    doc["attestation_bundles"][0]["publisher"]["email"] = "someone-else@example.com".into();
    let bad = d.join("bad.provenance");
    fs_err::write(&bad, doc.to_string()).unwrap();
    let o = zt(d).args(args(&bad)).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert_eq!(v["reasons"][0]["rule"], "provenance-invalid");
    assert!(
        v["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Trusted Publisher"),
        "{}",
        v["reasons"][0]
    );
}

#[test]
fn a_bad_provenance_table_names_the_key_and_provenance_for_cargo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs_err::write(d.join("zt.toml"), "[deps.provenance]\nnpm = \"always\"\n").unwrap();
    fs_err::write(d.join("x-1.0.0.crate"), b"x").unwrap();
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "x@1.0.0",
            "--ecosystem",
            "npm",
            "--archive",
            "x-1.0.0.crate",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("always"), "{:?}", text(&o));
    fs_err::write(d.join("zt.toml"), "").unwrap();
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "x@1.0.0",
            "--ecosystem",
            "crates.io",
            "--archive",
            "x-1.0.0.crate",
            "--provenance",
            "x-1.0.0.crate",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("help:"), "{:?}", text(&o));
}
