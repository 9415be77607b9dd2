//! Reading the SBOM examples in `shared/testdata/sbom/`, and scanning an SBOM against a store
//! built from the real advisory databases.

// Test helpers outside `#[test]` functions: a failed read must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use zt_vuln::cvss::Severity;
use zt_vuln::sbom::{Format, read_components};
use zt_vuln::scan::{scan_file, to_sarif};
use zt_vuln::store::{Store, import};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/");

fn files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs_err::read_dir(format!("{SHARED}{dir}"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    v.sort();
    v
}

#[test]
fn reads_every_valid_cyclonedx_example() {
    let (mut n, mut comps, mut purls) = (0, 0, 0);
    for f in files("sbom/cyclonedx-1.6/test-resources", "valid-") {
        let (format, c) = read_components(&fs_err::read_to_string(&f).unwrap(), &f).unwrap();
        assert_eq!(format, Format::CycloneDx);
        n += 1;
        comps += c.len();
        purls += c.iter().filter(|c| c.purl.is_some()).count();
    }
    assert_eq!((n, comps, purls), (45, 59, 14));
}

#[test]
fn reads_every_spdx_example() {
    let (mut n, mut comps, mut purls) = (0, 0, 0);
    for f in files("sbom/spdx-2.3/examples", "") {
        let (format, c) = read_components(&fs_err::read_to_string(&f).unwrap(), &f).unwrap();
        assert_eq!(format, Format::Spdx);
        n += 1;
        comps += c.len();
        purls += c.iter().filter(|c| c.purl.is_some()).count();
    }
    assert_eq!((n, comps, purls), (11, 32, 14));
}

#[test]
fn reads_the_cargo_lock_fixtures() {
    let dir = format!("{SHARED}lockfiles/cargo-lock/");
    let expected: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(format!("{dir}expected.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for (file, want) in expected.as_object().unwrap() {
        let path = PathBuf::from(format!("{dir}{file}"));
        let got = read_components(&fs_err::read_to_string(&path).unwrap_or_default(), &path);
        match want["expect_error"]
            .as_bool()
            .unwrap()
            .then_some(())
            .map_or_else(|| want["packages"].as_array(), |()| None)
        {
            Some(pkgs) => {
                let (format, comps) = got.unwrap();
                assert_eq!(format, Format::CargoLock);
                let names: Vec<(String, String)> = comps
                    .iter()
                    .map(|c| (c.name.clone(), c.version.clone().unwrap()))
                    .collect();
                let want: Vec<(String, String)> = pkgs
                    .iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap().to_owned(),
                            p["version"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                assert_eq!(names, want, "{file}");
            }
            None => assert!(got.is_err(), "{file}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 7);
}

#[test]
fn rejects_what_is_not_an_sbom() {
    let p = Path::new("x.json");
    let e = read_components("{\"hello\": 1}", p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x.json") && e.contains("neither a CycloneDX"),
        "{e}"
    );
    let e = read_components(
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"version": "1"}]}"#,
        p,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("components[0].name"), "{e}");
}

const SBOM: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.5",
  "components": [
    {"type": "library", "name": "abi_stable", "version": "0.9.0", "purl": "pkg:cargo/abi_stable@0.9.0"},
    {"type": "library", "name": "abi_stable", "version": "0.9.1", "purl": "pkg:cargo/abi_stable@0.9.1"},
    {"type": "library", "name": "AccessControl", "version": "5.1", "purl": "pkg:pypi/AccessControl@5.1"},
    {"type": "library", "name": "0-8", "version": "0.0.0.1", "purl": "pkg:pypi/0-8@0.0.0.1"},
    {"type": "library", "name": "leftpad", "version": "1.0.0"},
    {"type": "library", "name": "x", "version": "1", "purl": "pkg:generic/x@1"}
  ]
}"#;

#[test]
fn scan_finds_triages_and_reports_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let dbs = [
        format!("{SHARED}osv/pypa-advisory-db/vulns"),
        format!("{SHARED}osv/rustsec/crates"),
        format!("{SHARED}osv/malicious"),
    ];
    import(&store_dir, &dbs.map(PathBuf::from), 0).unwrap();
    let sbom = dir.path().join("bom.json");
    fs_err::write(&sbom, SBOM).unwrap();
    let store = Store::open(&store_dir).unwrap();
    let report = scan_file(&store, &sbom).unwrap();
    assert_eq!(
        (report.components, report.scanned, report.unscanned.len()),
        (6, 4, 2)
    );
    let ids: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.version.as_str()))
        .collect();
    // abi_stable 0.9.1 is patched; 0.9.0 is affected (CVSS 3.1 7.5 → high)
    assert!(ids.contains(&("RUSTSEC-2020-0105", "0.9.0")), "{ids:?}");
    assert!(!ids.iter().any(|(_, v)| *v == "0.9.1"), "{ids:?}");
    let abi = report
        .findings
        .iter()
        .find(|f| f.id == "RUSTSEC-2020-0105")
        .unwrap();
    assert_eq!(
        (abi.severity, abi.score, abi.fixed.as_slice()),
        (Severity::High, Some(7.5), ["0.9.1".to_owned()].as_slice())
    );
    // malware is critical and sorts first
    assert_eq!(report.findings[0].id, "MAL-2025-2925");
    assert_eq!(report.findings[0].severity, Severity::Critical);
    assert!(ids.contains(&("PYSEC-2021-335", "5.1")), "{ids:?}");
    // the GIT range of PYSEC-2021-335 is reported as not evaluated
    assert!(
        report
            .unsupported_ranges
            .iter()
            .any(|u| u.contains("PYSEC-2021-335") && u.contains("GIT"))
    );
    assert_eq!(report.at_or_above(Severity::Critical), 1);
    let sarif = to_sarif(&report, "bom.json");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    assert_eq!(results[0]["level"], "error");
    assert!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "RUSTSEC-2020-0105")
    );
}
