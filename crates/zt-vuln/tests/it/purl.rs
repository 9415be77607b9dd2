//! Conformance: the purl-spec test suites in `shared/testdata/purl/`.

// Test helpers outside `#[test]` functions: a failed read or a malformed fixture must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::Value;
use zt_vuln::purl::Purl;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/purl/"
);

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn quals(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn components(p: &Purl) -> Value {
    serde_json::json!({
        "type": p.ty, "namespace": p.namespace, "name": p.name, "version": p.version,
        "qualifiers": if p.qualifiers.is_empty() { Value::Null } else { serde_json::to_value(&p.qualifiers).unwrap() },
        "subpath": p.subpath,
    })
}

fn normalize_expected(v: &Value) -> Value {
    let mut v = v.clone();
    if v["qualifiers"].as_object().is_some_and(|o| o.is_empty()) {
        v["qualifiers"] = Value::Null;
    }
    v
}

/// Runs one test file; returns (passed, total, failures).
fn run_file(path: &str) -> (usize, usize, Vec<String>) {
    let doc: Value = serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    let tests = doc["tests"].as_array().unwrap();
    for t in tests {
        let fail = t["expected_failure"].as_bool().unwrap_or(false);
        let desc = t["description"].as_str().unwrap_or("");
        let ok = match t["test_type"].as_str().unwrap() {
            "parse" => {
                // required tests check strict ECMA-427 parsing; recommended ones the
                // normalisation of common problems (e.g. an uppercase qualifier key)
                let input = t["input"].as_str().unwrap();
                let got = if t["test_group"] == "required" {
                    Purl::parse_strict(input)
                } else {
                    input.parse()
                };
                match (&got, fail) {
                    (Err(_), true) => true,
                    (Ok(p), false) => components(p) == normalize_expected(&t["expected_output"]),
                    _ => false,
                }
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "parse {desc}: {} → {:?} (want {})",
                        t["input"],
                        got.map(|p| components(&p)),
                        t["expected_output"]
                    )
                })
            }
            "validate" => {
                let got = t["input"]
                    .as_str()
                    .unwrap()
                    .parse::<Purl>()
                    .map(|p| p.to_string());
                match (&got, fail) {
                    (Err(_), true) => true,
                    (Ok(p), false) => Some(p.as_str()) == s(&t["expected_output"]),
                    _ => false,
                }
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "validate {desc}: {} → {got:?} (want {})",
                        t["input"], t["expected_output"]
                    )
                })
            }
            "build" => {
                let i = &t["input"];
                let got = Purl::from_parts(
                    s(&i["type"]).unwrap_or(""),
                    s(&i["namespace"]),
                    s(&i["name"]).unwrap_or(""),
                    s(&i["version"]),
                    quals(&i["qualifiers"]),
                    s(&i["subpath"]),
                )
                .map(|p| p.to_string());
                match (&got, fail) {
                    (Err(_), true) => true,
                    (Ok(p), false) => Some(p.as_str()) == s(&t["expected_output"]),
                    _ => false,
                }
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "build {desc}: {i} → {got:?} (want {})",
                        t["expected_output"]
                    )
                })
            }
            other => Err(format!("unknown test type {other}")),
        };
        if let Err(e) = ok {
            failures.push(format!("{path}: {e}"));
        }
    }
    (tests.len() - failures.len(), tests.len(), failures)
}

#[test]
fn purl_spec_suite() {
    let mut files = vec![format!("{DIR}tests/spec/specification-test.json")];
    let mut types: Vec<_> = fs_err::read_dir(format!("{DIR}tests/types"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    types.sort();
    files.extend(types.iter().map(|p| p.display().to_string()));
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    for f in &files {
        let (p, t, fl) = run_file(f);
        passed += p;
        total += t;
        failures.extend(fl);
    }
    println!("purl-spec: {passed} of {total} passed");
    for f in &failures {
        println!("{f}");
    }
    assert_eq!(total, 586);
    // The suite contradicts itself once: required parse tests reject an uppercase qualifier
    // key for gem and rpm ("qualifier keys are not in lowercase") but accept one in this
    // maven case. zt follows the majority (strict) reading.
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].contains("maven pom reference") && failures[0].contains("repositorY_url"));
    assert_eq!(passed, 585);
}

#[test]
fn legacy_suite() {
    let doc: Value = serde_json::from_str(
        &fs_err::read_to_string(format!("{DIR}legacy/test-suite-data.json")).unwrap(),
    )
    .unwrap();
    let mut failures = Vec::new();
    // The legacy suite predates ECMA-427; where the current suite (above) contradicts it, the
    // current suite wins. Contradicted: `/` in qualifier values is percent-encoded now; a cpan
    // purl names a distribution (`URI-PackageURL` valid, `URI::PackageURL` invalid); a conan
    // namespace no longer requires a `channel` qualifier.
    let mut contradicted = 0;
    let cases = doc.as_array().unwrap();
    for c in cases {
        let input = c["purl"].as_str().unwrap();
        let got = input.parse::<Purl>();
        if c["is_invalid"].as_bool().unwrap_or(false) {
            if got.is_ok() {
                if input.starts_with("pkg:cpan/") || input.starts_with("pkg:conan/") {
                    contradicted += 1;
                } else {
                    failures.push(format!("accepted invalid {input}"));
                }
            }
            continue;
        }
        let want = c["canonical_purl"].as_str().unwrap();
        match got {
            Ok(p) if p.to_string() == want => {}
            Ok(p) if p.to_string().replace("%2F", "/") == want => contradicted += 1,
            Err(_) if input.starts_with("pkg:cpan/") && input.contains("::") => contradicted += 1,
            other => failures.push(format!(
                "{input} → {:?} (want {want})",
                other.map(|p| p.to_string())
            )),
        }
    }
    println!(
        "legacy: {} of {} agree, {contradicted} contradicted by the current suite",
        cases.len() - failures.len() - contradicted,
        cases.len()
    );
    assert_eq!(cases.len(), 59);
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(contradicted, 10);
}
