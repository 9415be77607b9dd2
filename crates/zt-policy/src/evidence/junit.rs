//! JUnit XML → in-toto test-result predicate
//! (<https://in-toto.io/attestation/test-result/v0.1>).
//!
//! Every test runner can write JUnit XML (pytest `--junitxml`, cargo-nextest, Maven Surefire,
//! Jest, Go's gotestsum…). Each `<testcase>` becomes a test name `classname::name` (or just
//! `name`) in one of three lists:
//! - `failedTests`: it has a `<failure>` or `<error>` child;
//! - `warnedTests`: it was `<skipped>`, or failed and then passed on retry (`<flakyFailure>`,
//!   `<flakyError>`, as nextest and Surefire write);
//! - `passedTests`: otherwise.
//!
//! `result` is `FAILED` if any test failed, else `WARNED` if any warned, else `PASSED`. A
//! report with no test case at all is an error: it is almost always a runner misconfiguration.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Value, json};

use crate::Error;

/// Extra fields of the predicate that JUnit does not carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestResultOptions {
    /// Where the run can be seen (a CI job URL).
    pub url: Option<String>,
    /// What configured the run (in-toto ResourceDescriptors as JSON, e.g. a config file).
    pub configuration: Vec<Value>,
    /// Line coverage in percent, when measured (a zt extension field, `coverage`).
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Warned,
    Failed,
}

/// Converts a JUnit XML report into an in-toto test-result v0.1 predicate.
pub fn junit_to_test_result(xml: &[u8]) -> Result<Value, Error> {
    junit_to_test_result_with(xml, &TestResultOptions::default())
}

/// [`junit_to_test_result`] with a URL, configuration and coverage to record.
pub fn junit_to_test_result_with(xml: &[u8], options: &TestResultOptions) -> Result<Value, Error> {
    let cases = parse_cases(xml)?;
    if cases.is_empty() {
        return Err(Error::Junit("the report has no <testcase>".into()));
    }
    let mut passed = Vec::new();
    let mut warned = Vec::new();
    let mut failed = Vec::new();
    for (name, outcome) in cases {
        match outcome {
            Outcome::Passed => passed.push(name),
            Outcome::Warned => warned.push(name),
            Outcome::Failed => failed.push(name),
        }
    }
    let result = if !failed.is_empty() {
        "FAILED"
    } else if !warned.is_empty() {
        "WARNED"
    } else {
        "PASSED"
    };
    let mut predicate = json!({
        "result": result,
        "configuration": options.configuration,
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    });
    if let Some(obj) = predicate.as_object_mut() {
        if let Some(url) = &options.url {
            obj.insert("url".into(), json!(url));
        }
        if let Some(c) = options.coverage {
            if !(0.0..=100.0).contains(&c) {
                return Err(Error::Junit(format!("coverage {c} is not a percentage")));
            }
            obj.insert("coverage".into(), json!(c));
        }
    }
    Ok(predicate)
}

/// Every test case, in document order, with its outcome.
fn parse_cases(xml: &[u8]) -> Result<Vec<(String, Outcome)>, Error> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut cases: Vec<(String, Outcome)> = Vec::new();
    // The test case being read (its index in `cases`) and the element depth inside it.
    let mut open_case: Option<(usize, usize)> = None;
    let mut saw_root = false;
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Error::Junit(format!("malformed XML at byte {pos}: {e}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let tag = e.local_name();
                let tag = tag.as_ref();
                if !saw_root {
                    if tag != b"testsuites" && tag != b"testsuite" {
                        return Err(Error::Junit(format!(
                            "the root element is <{}>, not <testsuites> or <testsuite>",
                            String::from_utf8_lossy(tag)
                        )));
                    }
                    saw_root = true;
                }
                match open_case {
                    None if tag == b"testcase" => {
                        cases.push((case_name(&reader, e)?, Outcome::Passed));
                        if !is_empty {
                            open_case = Some((cases.len() - 1, 0));
                        }
                    }
                    Some((i, depth)) => {
                        if depth == 0 {
                            let outcome = match tag {
                                b"failure" | b"error" => Some(Outcome::Failed),
                                b"skipped" | b"flakyFailure" | b"flakyError" => {
                                    Some(Outcome::Warned)
                                }
                                _ => None,
                            };
                            if let (Some(o), Some(case)) = (outcome, cases.get_mut(i)) {
                                // Failed beats warned beats passed.
                                case.1 = worst(case.1, o);
                            }
                        }
                        if !is_empty {
                            open_case = Some((i, depth + 1));
                        }
                    }
                    None => {}
                }
            }
            Event::End(_) => {
                if let Some((i, depth)) = open_case {
                    open_case = if depth == 0 {
                        None
                    } else {
                        Some((i, depth - 1))
                    };
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_root {
        return Err(Error::Junit("the document has no root element".into()));
    }
    Ok(cases)
}

fn worst(a: Outcome, b: Outcome) -> Outcome {
    use Outcome::*;
    match (a, b) {
        (Failed, _) | (_, Failed) => Failed,
        (Warned, _) | (_, Warned) => Warned,
        _ => Passed,
    }
}

fn case_name(reader: &Reader<&[u8]>, e: &BytesStart<'_>) -> Result<String, Error> {
    let mut name = None;
    let mut classname = None;
    for attr in e.attributes() {
        let attr = attr.map_err(|err| Error::Junit(format!("bad attribute: {err}")))?;
        let value = attr
            .decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, reader.decoder())
            .map_err(|err| Error::Junit(format!("bad attribute value: {err}")))?
            .into_owned();
        match attr.key.local_name().as_ref() {
            b"name" => name = Some(value),
            b"classname" => classname = Some(value),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| Error::Junit("a <testcase> has no `name`".into()))?;
    Ok(match classname.filter(|c| !c.is_empty()) {
        Some(c) => format!("{c}::{name}"),
        None => name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit");

    fn convert(file: &str) -> Value {
        junit_to_test_result(&fs_err::read(format!("{DATA}/{file}")).unwrap()).unwrap()
    }

    /// Real pytest 8 output (`pytest --junitxml`): a parametrised failure, a skip, a fixture
    /// error, a class-based test, escaped attributes.
    #[test]
    fn pytest_report() {
        let p = convert("pytest-fail.xml");
        assert_eq!(p["result"], "FAILED");
        assert_eq!(
            p["passedTests"],
            json!([
                "test_calc::test_add",
                "test_calc::test_add_param[1-1-2]",
                "test_calc::test_add_param[2-3-5]",
                "test_calc.TestGroup::test_in_class"
            ])
        );
        assert_eq!(p["warnedTests"], json!(["test_calc::test_skipped"]));
        assert_eq!(
            p["failedTests"],
            json!(["test_calc::test_add_param[2-2-5]", "test_calc::test_error"])
        );
        assert_eq!(p["configuration"], json!([]));
        let ok = convert("pytest-pass.xml");
        assert_eq!(ok["result"], "PASSED");
        assert_eq!(ok["passedTests"].as_array().unwrap().len(), 2);
    }

    /// Real cargo-nextest output with retries: a flaky test (failed, then passed) warns.
    #[test]
    fn nextest_report() {
        let p = convert("nextest-fail.xml");
        assert_eq!(p["result"], "FAILED");
        assert_eq!(p["passedTests"], json!(["ntproj::tests::adds"]));
        assert_eq!(p["warnedTests"], json!(["ntproj::tests::flaky"]));
        assert_eq!(p["failedTests"], json!(["ntproj::tests::adds_wrongly"]));
        let ok = convert("nextest-pass.xml");
        assert_eq!(ok["result"], "PASSED");
        assert_eq!(ok["passedTests"], json!(["ntproj::tests::adds"]));
    }

    #[test]
    fn options_are_recorded() {
        let xml = br#"<testsuite name="s"><testcase name="t"/></testsuite>"#;
        let opts = TestResultOptions {
            url: Some("https://ci.example/run/7".into()),
            configuration: vec![json!({"name": "pytest.ini", "digest": {"sha256": "00"}})],
            coverage: Some(87.5),
        };
        let p = junit_to_test_result_with(xml, &opts).unwrap();
        assert_eq!(p["url"], "https://ci.example/run/7");
        assert_eq!(p["coverage"], 87.5);
        assert_eq!(p["configuration"][0]["name"], "pytest.ini");
        assert_eq!(p["passedTests"], json!(["t"]));
        let bad = TestResultOptions {
            coverage: Some(101.0),
            ..TestResultOptions::default()
        };
        assert!(junit_to_test_result_with(xml, &bad).is_err());
    }

    #[test]
    fn nested_suites_and_children_of_failures() {
        let xml = br#"<?xml version="1.0"?>
<testsuites><testsuite name="a"><testsuite name="b">
  <testcase classname="c" name="one"><system-out>ok <failure/> text</system-out></testcase>
  <testcase classname="c" name="two"><error type="x"><nested/></error><skipped/></testcase>
</testsuite></testsuite></testsuites>"#;
        let p = junit_to_test_result(xml).unwrap();
        assert_eq!(p["passedTests"], json!(["c::one"]));
        assert_eq!(p["failedTests"], json!(["c::two"]));
        assert_eq!(p["result"], "FAILED");
    }

    #[test]
    fn bad_reports_are_errors() {
        for xml in [
            &b""[..],
            b"<html><body/></html>",
            b"<testsuites></testsuites>",
            b"<testsuite><testcase classname=\"x\"/></testsuite>",
            b"<testsuite><testcase name=\"a\"></testsuite>",
            b"<testsuite><testcase name=\"a&bogus;\"/></testsuite>",
        ] {
            assert!(
                junit_to_test_result(xml).is_err(),
                "{}",
                String::from_utf8_lossy(xml)
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = junit_to_test_result(&bytes);
        }

        #[test]
        fn never_panics_on_junit_like_text(s in "(<testsuites>|<testsuite>|<testcase name=\"[a-z&;<]{0,4}\"( classname=\"q\")?/?>|<failure/>|<skipped>|</testcase>|</testsuite>|[a-z]{0,3}){0,12}") {
            let _ = junit_to_test_result(s.as_bytes());
        }
    }
}
