//! `zt build` pinned to the curated mirror (`[build] mirror = "local"`): the sandboxed build
//! has no network, and the real package managers in it install from the mirror's admitted
//! archives only — `cargo build --offline --locked` through a `local-registry` replacement,
//! `pip install` through `PIP_INDEX_URL=file://…`, `npm ci` from npm's own cache by integrity —
//! and the provenance records the mirror and the digest of its index. A package the mirror
//! lacks does not resolve.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{skip_outside_ci, text, zt};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The rustup toolchain directory that holds the `cargo` running this test.
fn toolchain() -> Option<PathBuf> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.join("bin/cargo").is_file().then_some(dir)
}

/// A crate depending on cfg-if 1.0.0, its lockfile, and cfg-if taken into its mirror.
fn cargo_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let crate_file = d.join("cfg-if-1.0.0.crate");
    fs_err::copy(data("registry/cfg-if-1.0.0.crate"), &crate_file).unwrap();
    let sum = zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, &crate_file).unwrap();
    fs_err::write(
        d.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncfg-if = \"=1.0.0\"\n",
    )
    .unwrap();
    fs_err::create_dir_all(d.join("src")).unwrap();
    fs_err::write(
        d.join("src/main.rs"),
        "cfg_if::cfg_if! {\n    if #[cfg(unix)] { fn os() -> &'static str { \"unix\" } } else { fn os() -> &'static str { \"other\" } }\n}\nfn main() { println!(\"{}\", os()); }\n",
    )
    .unwrap();
    fs_err::write(
        d.join("Cargo.lock"),
        format!(
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"cfg-if\",\n]\n\n[[package]]\nname = \"cfg-if\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
            sum.hex()
        ),
    )
    .unwrap();
    fs_err::write(d.join("zt.toml"), "[build]\nmirror = \"local\"\n").unwrap();
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "cfg-if@1.0.0",
            "--ecosystem",
            "crates.io",
            "--archive",
            "cfg-if-1.0.0.crate",
            "--lockfile",
            "Cargo.lock",
            "--allow-unknown-age",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    fs_err::remove_file(&crate_file).unwrap();
    dir
}

fn build(d: &Path, toolchain: &Path, script: &str) -> std::process::Output {
    zt(d)
        .args(["build", "--allow-dirty", "--input"])
        .arg(toolchain)
        .args(["--json", "--", "sh", "-c", script])
        .output()
        .unwrap()
}

/// The `resolvedDependencies` of the provenance a `zt build --json` run wrote.
fn resolved_dependencies(d: &Path, o: &std::process::Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let prov: serde_json::Value =
        serde_json::from_slice(&fs_err::read(d.join(v["provenance"].as_str().unwrap())).unwrap())
            .unwrap();
    prov["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap_or_else(|| panic!("{prov}"))
        .clone()
}

/// Every build log under `.zt/logs`, joined.
fn build_logs(d: &Path) -> String {
    fs_err::read_dir(d.join(".zt/logs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| fs_err::read_to_string(e.path()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn cargo_builds_offline_from_the_pinned_mirror_and_the_provenance_names_it() {
    let Some(tc) = toolchain() else {
        return skip_outside_ci("no rustup toolchain with cargo");
    };
    let dir = cargo_repo();
    let d = dir.path();
    let cargo = tc.join("bin/cargo");
    let bin = tc.join("bin");
    let script = format!(
        "export PATH={}:$PATH; {} build --offline --locked -q && mkdir -p out && cp target/debug/app out/app && ./out/app > out/said",
        bin.display(),
        cargo.display()
    );
    let o = build(d, &tc, &script);
    let log = build_logs(d);
    assert_eq!(o.status.code(), Some(0), "{:?}\nlog: {log}", text(&o));
    assert_eq!(
        fs_err::read_to_string(d.join("out/said")).unwrap(),
        "unix\n"
    );

    // The provenance's resolved dependencies name the mirror and its index digest.
    let deps = resolved_dependencies(d, &o);
    let mirror = deps
        .iter()
        .find(|x| x["name"] == "zt-mirror")
        .unwrap_or_else(|| panic!("{deps:?}"));
    assert_eq!(mirror["annotations"]["kind"], "package-mirror");
    assert_eq!(mirror["annotations"]["packages"]["crates.io"], 1);
    assert_eq!(mirror["digest"]["sha256"].as_str().unwrap().len(), 64);
    // And the admitted archive Cargo.lock pins, by package URL and the lockfile's checksum.
    let lock = fs_err::read_to_string(d.join("Cargo.lock")).unwrap();
    let used = deps
        .iter()
        .find(|x| x["uri"] == "pkg:cargo/cfg-if@1.0.0")
        .unwrap_or_else(|| panic!("{deps:?}"));
    assert_eq!(used["annotations"]["kind"], "mirror-package");
    assert_eq!(used["annotations"]["lockfile"], "Cargo.lock");
    assert!(lock.contains(used["digest"]["sha256"].as_str().unwrap()));
    assert!(mirror["uri"].as_str().unwrap().starts_with("file://"));

    // A crate the mirror lacks does not resolve: the build fails, nothing reaches crates.io.
    fs_err::write(
        d.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ncfg-if = \"=1.0.0\"\nadler2 = \"=2.0.1\"\n",
    )
    .unwrap();
    let script = format!(
        "export PATH={}:$PATH; {} build --offline -q",
        bin.display(),
        cargo.display()
    );
    let o = build(d, &tc, &script);
    assert_ne!(o.status.code(), Some(0), "{:?}", text(&o));
}

#[test]
fn pip_installs_offline_from_the_pinned_mirror() {
    let python = Path::new("/usr/bin/python3");
    let ok = Command::new(python)
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return skip_outside_ci("the base system's python3 has no pip (apt: python3-pip)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let whl = "iniconfig-2.0.0-py3-none-any.whl";
    fs_err::copy(data(&format!("registry/{whl}")), d.join(whl)).unwrap();
    let sum = zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, &d.join(whl)).unwrap();
    fs_err::write(
        d.join("requirements.txt"),
        format!("iniconfig==2.0.0 --hash=sha256:{}\n", sum.hex()),
    )
    .unwrap();
    fs_err::write(d.join("zt.toml"), "[build]\nmirror = \"local\"\n").unwrap();
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "iniconfig@2.0.0",
            "--ecosystem",
            "pypi",
            "--archive",
            whl,
            "--lockfile",
            "requirements.txt",
            "--allow-unknown-age",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    fs_err::remove_file(d.join(whl)).unwrap();
    let o = zt(d)
        .args(["build", "--allow-dirty", "--", "sh", "-c"])
        .arg("/usr/bin/python3 -m pip download --no-deps --require-hashes -r requirements.txt -d out -q --disable-pip-version-check")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(
        zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, &d.join("out").join(whl))
            .unwrap(),
        sum
    );
}

#[test]
fn go_builds_offline_from_the_pinned_mirror() {
    let have_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_go {
        return skip_outside_ci("go is not installed (apt: golang-go)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zip = d.join("v1.0.0.zip");
    fs_err::copy(
        data("provenance/go/github.com-fatih-camelcase@v1.0.0.zip"),
        &zip,
    )
    .unwrap();
    fs_err::write(
        d.join("go.mod"),
        "module example.com/app\n\ngo 1.19\n\nrequire github.com/fatih/camelcase v1.0.0\n",
    )
    .unwrap();
    fs_err::write(
        d.join("go.sum"),
        "github.com/fatih/camelcase v1.0.0 h1:hxNvNX/xYBp0ovncs8WyWZrOrpBNub/JfaMvbURyft8=\ngithub.com/fatih/camelcase v1.0.0/go.mod h1:yN2Sb0lFhZJUdVvtELVWefmrXpuZESvPmqwoZc+/fpc=\n",
    )
    .unwrap();
    fs_err::write(
        d.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/fatih/camelcase\"\n)\n\nfunc main() { fmt.Println(camelcase.Split(\"ZeroTrust\")) }\n",
    )
    .unwrap();
    fs_err::write(
        d.join("zt.toml"),
        "[build]\nmirror = \"local\"\n[deps.provenance]\ngo = \"require\"\n",
    )
    .unwrap();
    // Taken in with the checksum database's proof (the saved sum.golang.org documents).
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "github.com/fatih/camelcase@v1.0.0",
            "--ecosystem",
            "go",
            "--archive",
            "v1.0.0.zip",
            "--lockfile",
            "go.mod",
            "--allow-unknown-age",
            "--provenance",
        ])
        .arg(data("provenance/go/sum.golang.org"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    fs_err::remove_file(&zip).unwrap();
    let o = zt(d)
        .args(["build", "--allow-dirty", "--json", "--", "sh", "-c"])
        .arg("go build -o out/app . && ./out/app > out/said")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(
        fs_err::read_to_string(d.join("out/said")).unwrap(),
        "[Zero Trust]\n"
    );
    let deps = resolved_dependencies(d, &o);
    let mirror = deps.iter().find(|x| x["name"] == "zt-mirror").unwrap();
    assert_eq!(mirror["annotations"]["packages"]["Go"], 1, "{mirror}");
}

/// A package and its `package-lock.json` (v3, `resolved` and `integrity` as `npm install`
/// writes them) for is-number 7.0.0 and, when `with_missing`, is-odd 3.0.1 (not in the mirror).
fn npm_lockfile(d: &Path, sri: &str, with_missing: bool) {
    let (dep, entry) = if with_missing {
        (
            r#","is-odd":"3.0.1""#,
            r#","node_modules/is-odd":{"version":"3.0.1","resolved":"https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz","integrity":"sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNCVkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA=="}"#,
        )
    } else {
        ("", "")
    };
    fs_err::write(
        d.join("package.json"),
        format!(r#"{{"name":"app","version":"1.0.0","private":true,"dependencies":{{"is-number":"7.0.0"{dep}}}}}"#),
    )
    .unwrap();
    fs_err::write(
        d.join("package-lock.json"),
        format!(
            r#"{{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{{"":{{"name":"app","version":"1.0.0","dependencies":{{"is-number":"7.0.0"{dep}}}}},"node_modules/is-number":{{"version":"7.0.0","resolved":"https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz","integrity":"{sri}","engines":{{"node":">=0.12.0"}}}}{entry}}}}}"#
        ),
    )
    .unwrap();
}

#[test]
fn npm_ci_installs_offline_from_the_pinned_mirror() {
    let ok = Command::new("/usr/bin/npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return skip_outside_ci("the base system has no npm (apt: npm)");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tgz = "is-number-7.0.0.tgz";
    fs_err::copy(data(&format!("registry/{tgz}")), d.join(tgz)).unwrap();
    let sha512 = zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha512, &d.join(tgz)).unwrap();
    let sri = format!("sha512-{}", zt_core::b64::encode(sha512.bytes()));
    npm_lockfile(d, &sri, false);
    fs_err::write(d.join("zt.toml"), "[build]\nmirror = \"local\"\n").unwrap();
    let o = zt(d)
        .args([
            "deps",
            "intake",
            "is-number@7.0.0",
            "--ecosystem",
            "npm",
            "--archive",
            tgz,
            "--lockfile",
            "package-lock.json",
            "--allow-unknown-age",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    fs_err::remove_file(d.join(tgz)).unwrap();

    let script = "npm ci --ignore-scripts && mkdir -p out && node -e 'const n = require(\"is-number\"); console.log(n(5), n(\"x\"))' > out/said";
    let o = zt(d)
        .args(["build", "--allow-dirty", "--json", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(
        fs_err::read_to_string(d.join("out/said")).unwrap(),
        "true false\n"
    );
    let deps = resolved_dependencies(d, &o);
    let mirror = deps.iter().find(|x| x["name"] == "zt-mirror").unwrap();
    assert_eq!(mirror["annotations"]["packages"]["npm"], 1, "{mirror}");
    let used = deps
        .iter()
        .find(|x| x["uri"] == "pkg:npm/is-number@7.0.0")
        .unwrap_or_else(|| panic!("{deps:?}"));
    assert_eq!(used["annotations"]["lockfile"], "package-lock.json");
    assert!(
        mirror["annotations"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "npm_config_cache"),
        "{mirror}"
    );

    // A package the mirror lacks is not in the cache: npm, offline, fails with ENOTCACHED.
    npm_lockfile(d, &sri, true);
    let o = zt(d)
        .args([
            "build",
            "--allow-dirty",
            "--",
            "npm",
            "ci",
            "--ignore-scripts",
        ])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{:?}", text(&o));
    let log = build_logs(d);
    assert!(
        log.contains("ENOTCACHED") && log.contains("is-odd"),
        "{log}"
    );
}
