//! Conformance: every case of every file in `shared/testdata/versions/` (both directions).
// Test helpers outside `#[test]` functions: a failed read or a malformed fixture must stop the
// test, and the per-ecosystem counts are printed.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

use std::cmp::Ordering;

use zt_vuln::Ecosystem;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/versions/"
);

/// Runs one fixture file against one ecosystem; returns the number of cases.
fn run(file: &str, eco: &str) -> usize {
    let eco = Ecosystem::parse(eco);
    assert!(eco.is_supported(), "{eco}");
    let text = fs_err::read_to_string(format!("{DIR}{file}")).unwrap();
    let mut cases = 0;
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with("# ") || line.starts_with("// ") {
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [a, op, b] = fields.as_slice() else {
            panic!("{file}:{}: malformed line {line:?}", n + 1)
        };
        let want = match *op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{file}:{}: bad operator", n + 1),
        };
        cases += 1;
        match (eco.compare(a, b), eco.compare(b, a)) {
            (Ok(x), Ok(y)) if x == want && y == want.reverse() => {}
            (x, y) => failures.push(format!(
                "{file}:{}: {line}: got {x:?} / reverse {y:?}",
                n + 1
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{eco}: {} of {cases} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("{file} as {eco}: {cases} of {cases} cases agree (both directions)");
    cases
}

#[test]
fn semver_fixture_for_every_semver_ecosystem() {
    for eco in ["crates.io", "npm", "Go", "Hex"] {
        assert_eq!(run("semver-versions.txt", eco), 58);
    }
}

#[test]
fn pypi() {
    assert_eq!(run("pypi-versions.txt", "PyPI"), 37);
}

#[test]
fn maven() {
    assert_eq!(run("maven-versions.txt", "Maven"), 102);
}

#[test]
fn rubygems() {
    assert_eq!(run("rubygems-versions.txt", "RubyGems"), 25);
}

#[test]
fn nuget() {
    assert_eq!(run("nuget-versions.txt", "NuGet"), 24);
}

#[test]
fn debian() {
    assert_eq!(run("debian-versions.txt", "Debian"), 30);
}

#[test]
fn alpine() {
    assert_eq!(run("alpine-versions.txt", "Alpine"), 778);
}

#[test]
fn packagist() {
    assert_eq!(run("packagist-versions.txt", "Packagist"), 95);
}

#[test]
fn cran() {
    assert_eq!(run("cran-versions.txt", "CRAN"), 21);
}

#[test]
fn redhat() {
    assert_eq!(run("redhat-versions.txt", "Red Hat"), 110);
}

#[test]
fn pub_dart() {
    assert_eq!(run("pub-versions.txt", "Pub"), 67);
}

#[test]
fn hackage() {
    assert_eq!(run("hackage-versions.txt", "Hackage"), 8);
}

#[test]
fn unsupported_ecosystem_is_an_error_not_a_comparison() {
    let eco = Ecosystem::parse("Bioconductor");
    assert!(!eco.is_supported());
    assert!(eco.compare("1.0", "1.0").is_err());
}

#[test]
fn invalid_versions_are_named() {
    let e = Ecosystem::parse("Debian")
        .compare("1.0", "abc")
        .unwrap_err();
    assert!(e.to_string().contains("`abc`"), "{e}");
    assert!(Ecosystem::parse("crates.io").validate("x1").is_err());
    assert!(Ecosystem::parse("PyPI").validate("1.0 2").is_err());
}
