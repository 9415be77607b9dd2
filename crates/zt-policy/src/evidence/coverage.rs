//! Coverage reports → zt's coverage predicate (`https://zt.dev/attestation/coverage/v1`).
//!
//! Two formats cover nearly every toolchain:
//! - **lcov** tracefiles (`genhtml`'s input: gcov/lcov, cargo-llvm-cov `--lcov`, c8/nyc/istanbul,
//!   Go via gcov2lcov, coverage.py `lcov`): per source file (`SF:`) the counts `LF`/`LH`
//!   (lines found/hit) and `BRF`/`BRH` (branches), else counted from `DA:`/`BRDA:` lines;
//! - **Cobertura** XML (coverage.py `xml`, JaCoCo converters, gcovr `--cobertura`,
//!   cargo-tarpaulin, .NET coverlet): the root `<coverage>`'s `lines-covered`/`lines-valid`
//!   (`branches-covered`/`branches-valid`), else its `line-rate`.
//!
//! The predicate:
//! ```json
//! {"format": "lcov", "coverage": 87.5,
//!  "lines": {"covered": 35, "total": 40}, "branches": {"covered": 3, "total": 4}, "files": 2}
//! ```
//! `coverage` is line coverage in percent (what `thresholds.min_coverage` is compared with).

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::Error;

/// The coverage report formats zt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An lcov tracefile.
    Lcov,
    /// Cobertura XML.
    Cobertura,
}

/// Covered and total counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    covered: u64,
    total: u64,
}

impl Counts {
    fn json(self) -> Value {
        json!({"covered": self.covered, "total": self.total})
    }
}

/// Reads a coverage report (the format is recognised from its content) into a coverage
/// predicate.
pub fn to_predicate(bytes: &[u8]) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::Coverage("the report is not UTF-8 text".into()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('<') {
        cobertura(trimmed)
    } else {
        lcov(trimmed)
    }
}

fn percent(c: Counts) -> f64 {
    if c.total == 0 {
        return 0.0;
    }
    // Two decimals, computed exactly enough for a threshold comparison.
    ((c.covered as f64) * 10_000.0 / (c.total as f64)).round() / 100.0
}

fn predicate(format: &str, lines: Counts, branches: Option<Counts>, files: u64) -> Value {
    let mut p = json!({
        "format": format,
        "coverage": percent(lines),
        "lines": lines.json(),
        "files": files,
    });
    if let (Some(b), Some(obj)) = (branches, p.as_object_mut()) {
        obj.insert("branches".into(), b.json());
    }
    p
}

fn number(field: &str, value: &str, line: usize) -> Result<u64, Error> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::Coverage(format!("line {line}: `{field}:{value}` is not a count")))
}

/// An lcov tracefile: records from `SF:` to `end_of_record`.
fn lcov(text: &str) -> Result<Value, Error> {
    let mut lines = Counts::default();
    let mut branches = Counts::default();
    let mut any_branch = false;
    let mut files = 0u64;
    // Per record: the summary lines if present, else what DA/BRDA lines add up to.
    let mut in_record = false;
    let (mut lf, mut lh, mut brf, mut brh) = (None, None, None, None);
    let mut da = Counts::default();
    let mut brda = Counts::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        match key {
            "SF" => {
                if in_record {
                    return Err(Error::Coverage(format!(
                        "line {n}: `SF:` before the previous record's `end_of_record`"
                    )));
                }
                in_record = true;
                files += 1;
                (lf, lh, brf, brh) = (None, None, None, None);
                da = Counts::default();
                brda = Counts::default();
            }
            "end_of_record" => {
                if !in_record {
                    return Err(Error::Coverage(format!(
                        "line {n}: `end_of_record` without a `SF:` record"
                    )));
                }
                in_record = false;
                let l = Counts {
                    total: lf.unwrap_or(da.total),
                    covered: lh.unwrap_or(da.covered),
                };
                if l.covered > l.total {
                    return Err(Error::Coverage(format!(
                        "line {n}: a record says {} of {} lines were hit",
                        l.covered, l.total
                    )));
                }
                lines.covered = lines.covered.saturating_add(l.covered);
                lines.total = lines.total.saturating_add(l.total);
                let b = Counts {
                    total: brf.unwrap_or(brda.total),
                    covered: brh.unwrap_or(brda.covered),
                };
                if b.total > 0 {
                    any_branch = true;
                    branches.covered = branches.covered.saturating_add(b.covered.min(b.total));
                    branches.total = branches.total.saturating_add(b.total);
                }
            }
            // TN: (test name) and comments may stand between records.
            "TN" if !in_record => {}
            _ if !in_record && key.starts_with('#') => {}
            _ if !in_record => {
                return Err(Error::Coverage(format!(
                    "line {n}: `{key}` outside a `SF:` record; is this an lcov tracefile?"
                )));
            }
            "LF" => lf = Some(number(key, value, n)?),
            "LH" => lh = Some(number(key, value, n)?),
            "BRF" => brf = Some(number(key, value, n)?),
            "BRH" => brh = Some(number(key, value, n)?),
            "DA" => {
                // DA:<line>,<hits>[,<checksum>]
                let mut parts = value.split(',');
                let hits = parts.nth(1).ok_or_else(|| {
                    Error::Coverage(format!("line {n}: `DA:{value}` has no hit count"))
                })?;
                da.total += 1;
                // Hit counts may be written as large or negative numbers by some tools: any
                // non-zero count is a hit.
                if hits.trim().trim_start_matches('-') != "0" {
                    da.covered += 1;
                }
            }
            "BRDA" => {
                // BRDA:<line>,<block>,<branch>,<taken|->
                let taken = value.rsplit(',').next().unwrap_or("-").trim();
                brda.total += 1;
                if taken != "-" && taken != "0" {
                    brda.covered += 1;
                }
            }
            _ => {}
        }
    }
    if in_record {
        return Err(Error::Coverage(
            "the last record has no `end_of_record`: the file is cut short".into(),
        ));
    }
    if files == 0 {
        return Err(Error::Coverage(
            "no `SF:` record: neither an lcov tracefile nor Cobertura XML".into(),
        ));
    }
    Ok(predicate(
        "lcov",
        lines,
        any_branch.then_some(branches),
        files,
    ))
}

/// Cobertura XML: the root `<coverage>` element's attributes.
fn cobertura(text: &str) -> Result<Value, Error> {
    let mut reader = Reader::from_str(text);
    let mut files = 0u64;
    let mut root: Option<(Option<Counts>, Option<Counts>, Option<f64>)> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            Error::Coverage(format!(
                "malformed XML at byte {}: {e}",
                reader.buffer_position()
            ))
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                if root.is_none() {
                    if name.as_ref() != b"coverage" {
                        return Err(Error::Coverage(format!(
                            "the root element is <{}>, not Cobertura's <coverage>",
                            String::from_utf8_lossy(name.as_ref())
                        )));
                    }
                    let mut attr = std::collections::BTreeMap::new();
                    for a in e.attributes() {
                        let a = a.map_err(|e| Error::Coverage(format!("bad attribute: {e}")))?;
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| Error::Coverage(format!("bad attribute: {e}")))?;
                        attr.insert(a.key.as_ref().to_vec(), v.into_owned());
                    }
                    let count = |k: &[u8]| -> Result<Option<u64>, Error> {
                        attr.get(k)
                            .map(|v| {
                                v.trim().parse::<u64>().map_err(|_| {
                                    Error::Coverage(format!(
                                        "`{}=\"{v}\"` is not a count",
                                        String::from_utf8_lossy(k)
                                    ))
                                })
                            })
                            .transpose()
                    };
                    let pair = |c: &[u8], t: &[u8]| -> Result<Option<Counts>, Error> {
                        Ok(match (count(c)?, count(t)?) {
                            (Some(covered), Some(total)) if covered <= total => {
                                Some(Counts { covered, total })
                            }
                            (Some(covered), Some(total)) => {
                                return Err(Error::Coverage(format!(
                                    "{covered} of {total} covered is impossible"
                                )));
                            }
                            _ => None,
                        })
                    };
                    let lines = pair(b"lines-covered", b"lines-valid")?;
                    let branches = pair(b"branches-covered", b"branches-valid")?;
                    let rate = match attr.get(b"line-rate".as_slice()) {
                        Some(v) => Some(
                            v.trim()
                                .parse::<f64>()
                                .ok()
                                .filter(|r| (0.0..=1.0).contains(r))
                                .ok_or_else(|| {
                                    Error::Coverage(format!(
                                        "`line-rate=\"{v}\"` is not a rate between 0 and 1"
                                    ))
                                })?,
                        ),
                        None => None,
                    };
                    root = Some((lines, branches, rate));
                } else if name.as_ref() == b"class" {
                    files += 1;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let Some((lines, branches, rate)) = root else {
        return Err(Error::Coverage("the document has no root element".into()));
    };
    match (lines, rate) {
        (Some(l), _) => Ok(predicate("cobertura", l, branches, files)),
        (None, Some(rate)) => {
            let mut p = predicate("cobertura", Counts::default(), branches, files);
            p["coverage"] = json!((rate * 10_000.0).round() / 100.0);
            if let Some(obj) = p.as_object_mut() {
                obj.remove("lines");
            }
            Ok(p)
        }
        (None, None) => Err(Error::Coverage(
            "<coverage> has neither `lines-covered`/`lines-valid` nor `line-rate`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lcov_summaries_and_raw_lines() {
        let text = "TN:\nSF:src/a.c\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nBRDA:1,0,0,1\nBRDA:1,0,1,-\nBRF:2\nBRH:1\nend_of_record\nSF:src/b.c\nDA:1,5\nDA:2,3\nDA:3,0\nend_of_record\n";
        let p = to_predicate(text.as_bytes()).unwrap();
        assert_eq!(p["format"], "lcov");
        assert_eq!(p["lines"], json!({"covered": 3, "total": 5}));
        assert_eq!(p["coverage"], json!(60.0));
        assert_eq!(p["branches"], json!({"covered": 1, "total": 2}));
        assert_eq!(p["files"], json!(2));
    }

    #[test]
    fn cobertura_counts_and_rate() {
        let xml = r#"<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage version="7.4" timestamp="1" lines-valid="200" lines-covered="175" line-rate="0.875" branches-covered="0" branches-valid="0" branch-rate="0" complexity="0">
  <packages><package name="p"><classes><class name="a.py" filename="a.py"/></classes></package></packages>
</coverage>"#;
        let p = to_predicate(xml.as_bytes()).unwrap();
        assert_eq!(p["coverage"], json!(87.5));
        assert_eq!(p["lines"], json!({"covered": 175, "total": 200}));
        assert_eq!(p["files"], json!(1));
        let only_rate = r#"<coverage line-rate="0.5"></coverage>"#;
        assert_eq!(
            to_predicate(only_rate.as_bytes()).unwrap()["coverage"],
            json!(50.0)
        );
    }

    #[test]
    fn impossible_or_foreign_reports_are_refused() {
        for bad in [
            "",
            "just text",
            "SF:a\nLF:2\nLH:3\nend_of_record\n",
            "SF:a\nDA:1,1\n",
            "<junit/>",
            r#"<coverage line-rate="1.5"/>"#,
            r#"<coverage lines-covered="9" lines-valid="3"/>"#,
            "<coverage>",
        ] {
            assert!(to_predicate(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = to_predicate(&bytes);
        }
    }
}
