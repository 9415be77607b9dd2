//! Conformance: every lockfile fixture of `shared/testdata/lockfiles/` for the formats zt
//! reads, against its `expected.json` (package lists compared order-insensitively, as upstream).
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_deps::lockfile::{self, Format};

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/lockfiles"
);

fn dir(name: &str) -> PathBuf {
    Path::new(SHARED).join(name)
}

/// Runs every fixture of `folder` as `format`; returns (fixtures passed, packages matched).
fn run(folder: &str, format: Format) -> (usize, usize) {
    let expected: Value =
        serde_json::from_str(&fs_err::read_to_string(dir(folder).join("expected.json")).unwrap())
            .unwrap();
    let mut fixtures = 0;
    let mut matched = 0;
    for (file, want) in expected.as_object().unwrap() {
        let path = dir(folder).join(file);
        let got = zt_deps::read_lockfile_as(&path, format);
        if want["expect_error"].as_bool().unwrap() {
            let err = got
                .err()
                .unwrap_or_else(|| panic!("{folder}/{file}: expected an error"));
            assert!(
                err.to_string().contains(file.as_str()),
                "{err} names the file"
            );
            fixtures += 1;
            continue;
        }
        let (_, packages) = got.unwrap_or_else(|e| panic!("{folder}/{file}: {e}"));
        let mut got: Vec<Value> = packages
            .iter()
            .map(|p| {
                let mut v = serde_json::json!({"name": p.name, "version": p.version, "ecosystem": p.ecosystem.name()});
                if let zt_deps::Source::Git { commit: Some(c), .. } = &p.source {
                    v["commit"] = c.clone().into();
                }
                v
            })
            .collect();
        let mut want_list: Vec<Value> = want["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let mut v = serde_json::json!({"name": w["name"], "version": w["version"], "ecosystem": w["ecosystem"]});
                if let Some(c) = w.get("commit") {
                    v["commit"] = c.clone();
                }
                v
            })
            .collect();
        let key = |v: &Value| v.to_string();
        got.sort_by_key(key);
        want_list.sort_by_key(key);
        assert_eq!(got, want_list, "{folder}/{file}");
        assert_eq!(
            got.len() as u64,
            want["count"].as_u64().unwrap(),
            "{folder}/{file}"
        );
        // Groups and hashes where the expectation states them.
        for w in want["packages"].as_array().unwrap() {
            let p = packages
                .iter()
                .find(|p| {
                    p.name == w["name"].as_str().unwrap()
                        && p.version == w["version"].as_str().unwrap()
                })
                .unwrap();
            if let Some(groups) = w.get("dep_groups") {
                let mut g: Vec<String> = groups
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect();
                g.sort();
                assert_eq!(p.groups, g, "{folder}/{file}: groups of {}", p.name);
            }
            if folder == "requirements-txt" {
                let want_h: Vec<String> = w
                    .get("hashes")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default();
                let got_h: Vec<String> = p
                    .hashes
                    .iter()
                    .map(|h| {
                        if h.algorithm.is_empty() {
                            h.value.clone()
                        } else {
                            format!("{}:{}", h.algorithm, h.value)
                        }
                    })
                    .collect();
                let mut want_h = want_h;
                want_h.sort();
                want_h.dedup();
                assert_eq!(got_h, want_h, "{folder}/{file}: hashes of {}", p.name);
                assert_eq!(
                    p.requirement.as_deref(),
                    w["requirement"].as_str(),
                    "{folder}/{file}"
                );
            }
        }
        fixtures += 1;
        matched += got.len();
    }
    println!(
        "{folder}: {fixtures} of {} fixtures, {matched} packages",
        expected.as_object().unwrap().len()
    );
    assert_eq!(fixtures, expected.as_object().unwrap().len());
    (fixtures, matched)
}

#[test]
fn cargo_lock() {
    assert_eq!(run("cargo-lock", Format::CargoLock), (7, 12));
}

#[test]
fn package_lock_json() {
    assert_eq!(run("package-lock-json", Format::PackageLockJson), (20, 65));
}

#[test]
fn requirements_txt() {
    assert_eq!(run("requirements-txt", Format::RequirementsTxt), (8, 48));
}

#[test]
fn poetry_lock() {
    assert_eq!(run("poetry-lock", Format::PoetryLock), (8, 16));
}

#[test]
fn go_mod() {
    let expected: Value =
        serde_json::from_str(&fs_err::read_to_string(dir("go-mod").join("expected.json")).unwrap())
            .unwrap();
    assert_eq!(expected.as_object().unwrap().len(), 10);
    assert_eq!(run("go-mod", Format::GoMod), (10, 24));
}

#[test]
fn uv_lock() {
    assert_eq!(run("uv-lock", Format::UvLock), (6, 18));
}

#[test]
fn gemfile_lock() {
    assert_eq!(run("gemfile-lock", Format::GemfileLock), (9, 61));
}

#[test]
fn pnpm_lock_yaml() {
    // 19 fixtures: lockfile versions 5.3, 5.4, 6.0 and 9.0
    assert_eq!(run("pnpm-lock-yaml", Format::PnpmLock), (19, 49));
}

#[test]
fn yarn_lock() {
    // 18 fixtures: 11 classic (v1), 7 berry (metadata versions 5 and 8)
    assert_eq!(run("yarn-lock", Format::YarnLock), (18, 56));
}

#[test]
fn detection_by_name() {
    assert_eq!(
        Format::detect(Path::new("x/Cargo.lock")),
        Some(Format::CargoLock)
    );
    assert_eq!(
        Format::detect(Path::new("requirements-dev.txt")),
        Some(Format::RequirementsTxt)
    );
    assert_eq!(Format::detect(Path::new("README.md")), None);
    let _ = lockfile::parse;
}

#[test]
fn malformed_cargo_lock_names_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Cargo.lock");
    fs_err::write(&p, "version = 3\n\n[[package]]\nname = \"a\"\n").unwrap();
    let err = zt_deps::read_lockfile(&p).unwrap_err();
    assert!(
        err.to_string()
            .contains("Cargo.lock:3: package `a` has no string `version`"),
        "{err}"
    );
    fs_err::write(&p, "version = 3\n[[package]\n").unwrap();
    let err = zt_deps::read_lockfile(&p).unwrap_err();
    assert!(
        err.to_string().contains("Cargo.lock:2: not valid TOML"),
        "{err}"
    );
    use zt_core::Diagnostic as _;
    assert!(err.help().unwrap().contains("cargo generate-lockfile"));
}

proptest::proptest! {
    /// No reader panics on arbitrary text (errors are fine).
    #[test]
    fn readers_never_panic(text in "(?s).{0,400}") {
        let path = Path::new("/nonexistent/x");
        for format in [Format::CargoLock, Format::PackageLockJson, Format::RequirementsTxt, Format::PoetryLock, Format::GoMod, Format::UvLock, Format::GemfileLock, Format::PnpmLock, Format::YarnLock, Format::CycloneDx, Format::Spdx] {
            let _ = lockfile::parse(format, path, &text);
        }
    }

    /// Requirement lines built from parts come back with their name and `==` version.
    #[test]
    fn requirement_lines_round_trip(name in "[A-Za-z][A-Za-z0-9._-]{0,20}[A-Za-z0-9]", version in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}") {
        let text = format!("{name}=={version} --hash=sha256:{}\n", "ab".repeat(32));
        let got = lockfile::parse(Format::RequirementsTxt, Path::new("/nonexistent/r.txt"), &text).unwrap();
        proptest::prop_assert_eq!(got.len(), 1);
        proptest::prop_assert_eq!(&got[0].name, &name);
        proptest::prop_assert_eq!(&got[0].version, &version);
        proptest::prop_assert_eq!(got[0].hashes.len(), 1);
    }
}
