//! Conformance: every vector in `shared/testdata/cvss/` (exact score and severity; every
//! invalid vector rejected).

// Test helpers outside `#[test]` functions: a failed read or a malformed fixture must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/cvss/"
);

fn run(file: &str) -> usize {
    let text = fs_err::read_to_string(format!("{DIR}{file}")).unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(' ').collect();
        let [vector, score, severity] = f.as_slice() else {
            panic!("malformed line {line:?}")
        };
        let want: f64 = score.parse().unwrap();
        n += 1;
        match zt_vuln::cvss::score(vector) {
            Ok(s) if s.score == want && s.severity.name() == *severity => {}
            other => failures.push(format!("{line}: got {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} of {n} failed:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    n
}

#[test]
fn v3_0_every_vector() {
    assert_eq!(run("v3.0.txt"), 2100);
}

#[test]
fn v3_1_every_vector() {
    assert_eq!(run("v3.1.txt"), 2074);
}

#[test]
fn v4_0_every_vector() {
    assert_eq!(run("v4.0.txt"), 1357);
}

#[test]
fn invalid_vectors_are_rejected() {
    let text = fs_err::read_to_string(format!("{DIR}invalid.txt")).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let vector = line.split(' ').next().unwrap();
        n += 1;
        assert!(zt_vuln::cvss::score(vector).is_err(), "accepted {line}");
    }
    assert!(zt_vuln::cvss::score("").is_err());
    assert_eq!(n, 12);
}
