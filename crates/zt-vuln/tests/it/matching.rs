//! The OSV evaluation over real records from `shared/testdata/osv/`.

// Test helpers outside `#[test]` functions: a failed read must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use zt_vuln::Ecosystem;
use zt_vuln::matching::{RangeResult, evaluate};
use zt_vuln::osv::{Event, parse_record};
use zt_vuln::rustsec::parse_advisory;

const OSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata/osv/");

fn read(rel: &str) -> String {
    fs_err::read_to_string(format!("{OSV}{rel}")).unwrap()
}

#[test]
fn pypa_ecosystem_range_versions_and_git() {
    let adv = parse_record(
        &read("pypa-advisory-db/vulns/accesscontrol/PYSEC-2021-335.yaml"),
        true,
        Path::new("x"),
    )
    .unwrap();
    let eco = Ecosystem::PyPI;
    let e = evaluate(&adv, &eco, "AccessControl", "4.2").unwrap();
    assert!(e.affected);
    let entry = &e.entries[0];
    assert_eq!(entry.listed.as_deref(), Some("4.2"));
    // range 0 is GIT: reported, not evaluated; range 1 decides
    assert!(matches!(
        entry.ranges[0].result,
        RangeResult::Unsupported { .. }
    ));
    assert_eq!(e.unsupported.len(), 1);
    assert_eq!(
        entry.ranges[1].result,
        RangeResult::Affected {
            by: Event::Introduced("4.0".into())
        }
    );
    let e = evaluate(&adv, &eco, "accesscontrol", "4.3").unwrap();
    assert!(!e.affected);
    assert_eq!(
        e.entries[0].ranges[1].result,
        RangeResult::NotAffected {
            by: Some(Event::Fixed("4.3".into()))
        }
    );
    // 5.1.1 is not listed but falls in [5.0, 5.2)
    let e = evaluate(&adv, &eco, "accesscontrol", "5.1.1").unwrap();
    assert!(e.affected && e.entries[0].listed.is_none());
    assert!(
        !evaluate(&adv, &eco, "accesscontrol", "6.0")
            .unwrap()
            .affected
    );
    // another package, another ecosystem: no entry at all
    assert!(
        evaluate(&adv, &eco, "zope", "4.2")
            .unwrap()
            .entries
            .is_empty()
    );
    assert!(
        evaluate(&adv, &Ecosystem::Npm, "accesscontrol", "4.2")
            .unwrap()
            .entries
            .is_empty()
    );
    // an invalid version is an error naming it
    assert!(evaluate(&adv, &eco, "accesscontrol", "4 2").is_err());
}

#[test]
fn malicious_versions_list() {
    let adv = parse_record(
        &read("malicious/pypi/0-8/MAL-2025-2925.json"),
        false,
        Path::new("x"),
    )
    .unwrap();
    assert!(
        evaluate(&adv, &Ecosystem::PyPI, "0-8", "0.0.0.1")
            .unwrap()
            .affected
    );
    assert!(
        evaluate(&adv, &Ecosystem::PyPI, "0_8", "0.0.0.1.0")
            .unwrap()
            .affected
    );
    assert!(
        !evaluate(&adv, &Ecosystem::PyPI, "0-8", "0.0.0.2")
            .unwrap()
            .affected
    );
}

fn rustsec_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in fs_err::read_dir(format!("{OSV}rustsec/crates")).unwrap() {
        for f in fs_err::read_dir(d.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

/// Every RustSec advisory, converted to OSV events, agrees with Cargo's own requirement
/// matching (`semver::VersionReq`) on release versions around every bound: affected iff the
/// version matches no `patched` and no `unaffected` requirement. Withdrawn ones never apply.
#[test]
fn rustsec_conversion_agrees_with_cargo_requirements() {
    let (mut advisories, mut checks, mut withdrawn) = (0, 0, 0);
    for file in rustsec_files() {
        let adv = parse_advisory(&fs_err::read_to_string(&file).unwrap(), &file).unwrap();
        advisories += 1;
        let db = adv.database_specific.as_ref().unwrap();
        let reqs: Vec<VersionReq> = ["patched", "unaffected"]
            .iter()
            .flat_map(|k| {
                db[*k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| VersionReq::parse(r.as_str().unwrap()).unwrap())
            })
            .collect();
        let mut samples = vec![
            Version::new(0, 0, 0),
            Version::new(0, 0, 1),
            Version::new(999, 0, 0),
        ];
        for r in &reqs {
            for c in &r.comparators {
                let (m, n, p) = (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
                for (a, b, d) in [
                    (m, n, p),
                    (m, n, p + 1),
                    (m, n + 1, 0),
                    (m + 1, 0, 0),
                    (m, n, p.saturating_sub(1)),
                    (m, n.saturating_sub(1), 99),
                ] {
                    samples.push(Version::new(a, b, d));
                }
            }
        }
        let name = &adv.affected[0].package.as_ref().unwrap().name;
        if adv.withdrawn.is_some() {
            withdrawn += 1;
        }
        for v in samples {
            let want = adv.withdrawn.is_none() && !reqs.iter().any(|r| r.matches(&v));
            let got = evaluate(&adv, &Ecosystem::CratesIo, name, &v.to_string()).unwrap();
            assert_eq!(
                got.affected, want,
                "{} {name} {v}: {:?}",
                adv.id, got.entries
            );
            checks += 1;
        }
    }
    assert_eq!(advisories, 1205);
    assert_eq!(withdrawn, 13);
    assert!(checks > 10_000, "{checks}");
}
