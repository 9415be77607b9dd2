//! `zt deps check` rules over the shared data: typosquats against the popular-package lists
//! (GuardDog's own test cases), licence expressions against allow lists, and the combined
//! findings of an inventory.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use zt_core::config::{FindingLevel, LicenseException, LicensesConfig};
use zt_deps::Ecosystem;
use zt_deps::check::licenses::{LicensePolicy, Verdict};
use zt_deps::check::typosquat::{Rule, TopPackages};
use zt_deps::check::{self, Checks, MalwareHit, Problem};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

fn top() -> TopPackages {
    TopPackages::load(&Path::new(SHARED).join("malware/top-packages")).unwrap()
}

fn eco(name: &str) -> Ecosystem {
    match name {
        "pypi" | "pypi_extra" => Ecosystem::PyPI,
        "npm" => Ecosystem::Npm,
        "go" => Ecosystem::Go,
        other => panic!("{other}"),
    }
}

#[test]
fn guarddog_typosquat_cases() {
    let top = top();
    let cases: Value = serde_json::from_str(
        &fs_err::read_to_string(
            Path::new(SHARED).join("malware/top-packages/typosquatting-cases.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut positives = 0;
    for (list, items) in cases["positive"].as_object().unwrap() {
        for c in items.as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let got = top.check(eco(list), name);
            assert!(!got.is_empty(), "{list}: `{name}` must be flagged");
            if let Some(want) = c["expected_similar_to"].as_str() {
                assert!(
                    got.iter().any(|s| s.name == want),
                    "{list}: `{name}` must name `{want}`, got {got:?}"
                );
            }
            positives += 1;
        }
    }
    assert_eq!(positives, 19 + 6 + 5 + 1);
    let mut negatives = 0;
    for (list, items) in cases["negative"].as_object().unwrap() {
        for c in items.as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            let got = top.check(eco(list), name);
            assert!(
                got.is_empty(),
                "{list}: `{name}` must not be flagged: {got:?}"
            );
            negatives += 1;
        }
    }
    assert_eq!(negatives, 8);
}

#[test]
fn typosquat_specific_rules() {
    let top = top();
    let first = |e: Ecosystem, n: &str| top.check(e, n).into_iter().next().unwrap();
    let r = first(Ecosystem::PyPI, "reqeusts");
    assert_eq!((r.name.as_str(), r.rule), ("requests", Rule::AdjacentSwap));
    let d = first(Ecosystem::PyPI, "dateutil");
    assert_eq!(
        (d.name.as_str(), d.rule),
        ("python-dateutil", Rule::AffixConfusion)
    );
    let j = first(Ecosystem::Npm, "jsonstream");
    assert_eq!(
        (j.name.as_str(), j.rule),
        ("JSONStream", Rule::CaseOrSeparator)
    );
    let g = first(Ecosystem::Go, "gitlab.com/sirupsen/logrus");
    assert_eq!(g.rule, Rule::HostConfusion);
    assert_eq!(
        top.check(Ecosystem::PyPI, "pdfminer.sid").len(),
        1,
        "one finding: pdfminer.six"
    );
    // no list for crates.io: nothing is flagged there
    assert!(top.check(Ecosystem::CratesIo, "serdde").is_empty());
}

#[test]
fn popular_packages_themselves_are_never_flagged() {
    let top = top();
    for (file, e) in [
        ("top_pypi_packages.json", Ecosystem::PyPI),
        ("top_npm_packages.json", Ecosystem::Npm),
        ("top_go_packages.json", Ecosystem::Go),
        ("top_rubygems_packages.json", Ecosystem::RubyGems),
    ] {
        let doc: Value = serde_json::from_str(
            &fs_err::read_to_string(Path::new(SHARED).join("malware/top-packages").join(file))
                .unwrap(),
        )
        .unwrap();
        let names = doc["packages"].as_array().unwrap();
        assert!(names.len() > 900);
        // every third name, to keep the debug-build test quick; exact matches are found
        // before any fuzzy rule runs, so the sample stands for the rest
        for n in names.iter().step_by(3) {
            let n = n.as_str().unwrap();
            assert!(top.check(e, n).is_empty(), "{file}: `{n}` flagged");
        }
    }
}

fn policy(allow: &[&str], unknown: FindingLevel) -> LicensePolicy {
    let cfg = LicensesConfig {
        allow: allow.iter().map(|s| s.to_string()).collect(),
        unknown,
        exceptions: vec![LicenseException {
            package: "pkg:npm/acorn".into(),
            allow: vec!["BSD-2-Clause".into()],
            reason: "audited".into(),
        }],
    };
    LicensePolicy::new(&cfg, Path::new("zt.toml"), "").unwrap()
}

#[test]
fn licence_expressions() {
    let p = policy(&["MIT", "Apache-2.0", "BSD-3-Clause"], FindingLevel::Deny);
    let cases: &[(&str, Verdict)] = &[
        ("MIT", Verdict::Allowed),
        ("(MIT OR GPL-2.0-only)", Verdict::Allowed),
        (
            "GPL-2.0-only OR LGPL-2.1-only",
            Verdict::Denied(vec!["GPL-2.0-only".into(), "LGPL-2.1-only".into()]),
        ),
        ("MIT AND BSD-3-Clause", Verdict::Allowed),
        ("MIT AND (Apache-2.0 OR GPL-3.0-or-later)", Verdict::Allowed),
        (
            "MIT AND BSD-2-Clause",
            Verdict::Denied(vec!["BSD-2-Clause".into()]),
        ),
        ("Apache-2.0 WITH LLVM-exception", Verdict::Allowed),
        (
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            Verdict::Denied(vec!["GPL-2.0-or-later WITH Classpath-exception-2.0".into()]),
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(&p.evaluate("pkg:npm/x@1.0.0", Some(expr)), want, "{expr}");
    }
    // the per-package exception covers every version of acorn, and only acorn
    assert_eq!(
        p.evaluate("pkg:npm/acorn@8.7.0", Some("BSD-2-Clause")),
        Verdict::Allowed
    );
    assert!(matches!(
        p.evaluate("pkg:npm/acorn-jsx@5.3.2", Some("BSD-2-Clause")),
        Verdict::Denied(_)
    ));
    // an `or later` (`+`) requirement is met by an allowed later version
    let mpl = policy(&["MPL-2.0"], FindingLevel::Deny);
    assert_eq!(
        mpl.evaluate("pkg:npm/x@1", Some("MPL-1.1+")),
        Verdict::Allowed
    );
    assert!(matches!(
        mpl.evaluate("pkg:npm/x@1", Some("MPL-1.1")),
        Verdict::Denied(_)
    ));
}

#[test]
fn jslicense_valid_expressions_are_evaluated_not_unknown() {
    let doc: Value = serde_json::from_str(
        &fs_err::read_to_string(
            Path::new(SHARED)
                .join("spdx-licenses/expressions/jslicense-spdx-expression-parse.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let p = policy(&["MIT"], FindingLevel::Deny);
    let mut evaluated = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let e = case["expression"].as_str().unwrap();
        if case["valid"].as_bool() == Some(true)
            && !matches!(p.evaluate("pkg:npm/x@1", Some(e)), Verdict::Unknown(_))
        {
            evaluated.push(e);
        }
    }
    println!("{evaluated:?}");
    // Mixed-case operators (`aNd`) and `DocumentRef-x : LicenseRef-y` with spaces are
    // beyond the SPDX crate's parser and come out unknown (a finding), never allowed.
    for e in [
        " MIT",
        "MIT ",
        "MIT  AND    BSD-3-Clause",
        "LicenseRef-something",
        "MIT AND BSD-3-Clause AND CC-BY-4.0",
        "MIT AND BSD-3-Clause WITH GCC-exception-3.1 OR CC-BY-4.0 AND Apache-2.0",
        "GPL-2.0 WITH GCC-exception-2.0",
        "(MIT)",
    ] {
        assert!(evaluated.contains(&e), "`{e}` not evaluated: {evaluated:?}");
    }
    assert_eq!(p.evaluate("pkg:npm/x@1", Some("(MIT)")), Verdict::Allowed);
}

#[test]
fn combined_findings_on_a_pnpm_project() {
    let dir = tempfile::tempdir().unwrap();
    let lock = "lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      acorn:
        specifier: ^8
        version: 8.11.3
      expresss:
        specifier: ^4
        version: 4.18.2
      --hiljson:
        specifier: ^1
        version: 1.0.0
packages:
  acorn@8.11.3:
    resolution: {integrity: sha512-Y9rRfJG5jcKOE0CLisYbojUjIrIEE7AGMzA/Sm4BslANhbS+cDMpgBdcPT91oJ7OuJ9hYJBx59RjbhxVnrF8Xg==}
  expresss@4.18.2:
    resolution: {integrity: sha512-Y9rRfJG5jcKOE0CLisYbojUjIrIEE7AGMzA/Sm4BslANhbS+cDMpgBdcPT91oJ7OuJ9hYJBx59RjbhxVnrF8Xg==}
  '--hiljson@1.0.0':
    resolution: {tarball: https://example.com/hiljson-1.0.0.tgz}
snapshots:
  acorn@8.11.3: {}
  expresss@4.18.2: {}
  '--hiljson@1.0.0': {}
";
    fs_err::write(dir.path().join("pnpm-lock.yaml"), lock).unwrap();
    let mut inv = zt_deps::inventory(dir.path()).unwrap();
    assert_eq!(inv.packages.len(), 3);
    let map = BTreeMap::from([
        ("pkg:npm/acorn".to_string(), "MIT".to_string()),
        ("pkg:npm/expresss@4.18.2".to_string(), "MIT".to_string()),
    ]);
    assert_eq!(check::licenses::apply_map(&mut inv, &map), 2);
    let policy = policy(&["MIT"], FindingLevel::Warn);
    let top = top();
    let malware = BTreeMap::from([(
        "pkg:npm/--hiljson@1.0.0".to_string(),
        vec![MalwareHit {
            id: "MAL-2022-2".into(),
            summary: None,
            decided_by: "every version".into(),
        }],
    )]);
    let findings = check::run(
        &inv,
        &Checks {
            licenses: Some(&policy),
            top_packages: Some(&top),
            malware: Some(&malware),
            typosquat_level: FindingLevel::Deny,
        },
    );
    let got: Vec<(Option<usize>, &str, Problem, FindingLevel)> = findings
        .iter()
        .map(|f| (f.line, f.name.as_str(), f.problem, f.level))
        .collect();
    assert_eq!(
        got,
        [
            (Some(17), "expresss", Problem::Typosquat, FindingLevel::Deny),
            (
                Some(19),
                "--hiljson",
                Problem::UnverifiedUrl,
                FindingLevel::Deny
            ),
            (
                Some(19),
                "--hiljson",
                Problem::LicenseUnknown,
                FindingLevel::Warn
            ),
            (
                Some(19),
                "--hiljson",
                Problem::Malicious,
                FindingLevel::Deny
            ),
        ]
    );
    assert!(findings.iter().all(|f| !f.fix.is_empty()));
    assert!(check::denied(&findings));
}
