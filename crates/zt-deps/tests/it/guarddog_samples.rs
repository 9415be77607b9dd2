//! The source rules against GuardDog's labelled rule samples
//! (`../shared/testdata/malware/guarddog-samples/`, see its MANIFEST.md): every `ruleid:`
//! line must be reported by the rule it names, no `ok:` line may be reported by it.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use zt_deps::intake::malware::{Lang, scan_source, scan_text};

/// GuardDog's labelled samples in `../shared/testdata`.
fn samples() -> PathBuf {
    zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), "malware/guarddog-samples")
}

/// `ok:` targets the rules report on purpose, each with the reason.
const KNOWN_FALSE_POSITIVES: &[(&str, usize, &str)] = &[];

#[test]
fn guarddog_samples_recall_and_precision() {
    let index: serde_json::Value =
        serde_json::from_slice(&fs_err::read(samples().join("annotations.json")).unwrap()).unwrap();
    let (mut found, mut wanted, mut false_pos, mut ok_total) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for (name, sample) in index.as_object().unwrap() {
        let lang = match sample["language"].as_str().unwrap() {
            "python" => Lang::Python,
            "javascript" => Lang::JavaScript,
            "ruby" => Lang::Ruby,
            "go" => Lang::Go,
            other => panic!("{name}: language {other}"),
        };
        let text = fs_err::read_to_string(samples().join("sourcecode").join(name)).unwrap();
        let findings = scan_source(name, &text, lang);
        let hits: BTreeSet<(&str, usize)> = findings
            .iter()
            .map(|f| (f.rule.as_str(), f.line.unwrap()))
            .collect();
        let mut sample_found = 0;
        let mut sample_wanted = 0;
        for a in sample["annotations"].as_array().unwrap() {
            let line = a["target_line"].as_u64().unwrap() as usize;
            for rule in a["rules"].as_array().unwrap() {
                let rule = rule.as_str().unwrap();
                let hit = hits.contains(&(rule, line));
                match a["kind"].as_str().unwrap() {
                    "ruleid" => {
                        sample_wanted += 1;
                        if hit {
                            sample_found += 1;
                        } else {
                            failures.push(format!(
                                "{name}:{line}: `{rule}` missed: {}",
                                a["target_text"]
                            ));
                        }
                    }
                    "ok" => {
                        ok_total += 1;
                        if hit {
                            false_pos += 1;
                            if !KNOWN_FALSE_POSITIVES
                                .iter()
                                .any(|(n, l, _)| *n == name && *l == line)
                            {
                                failures.push(format!(
                                    "{name}:{line}: `{rule}` flagged an ok line: {}",
                                    a["target_text"]
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        println!("{name}: {sample_found}/{sample_wanted} ruleid lines found");
        found += sample_found;
        wanted += sample_wanted;
    }
    // the YARA rule's upstream test: every sample named `<rule>.*` matches it
    let yara = "suspicious_passwd_access_linux.test";
    let text = fs_err::read_to_string(samples().join("sourcecode").join(yara)).unwrap();
    wanted += 1;
    if scan_text(yara, &text)
        .iter()
        .any(|f| f.rule == "suspicious_passwd_access_linux")
    {
        found += 1;
    } else {
        failures.push(format!("{yara}: `suspicious_passwd_access_linux` missed"));
    }
    let precision = found as f64 / (found + false_pos) as f64;
    println!(
        "recall {found}/{wanted}; ok lines flagged {false_pos}/{ok_total}; precision {precision:.3}"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(wanted, 236, "the sample set changed");
}
