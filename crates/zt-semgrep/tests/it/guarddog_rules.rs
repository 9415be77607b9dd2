//! GuardDog's own semgrep rules (`../shared/testdata/malware/guarddog-samples/rules/`, as
//! published) read as data and run over GuardDog's labelled samples: every Python and
//! JavaScript rule loads or is refused by name, and the loaded ones find the `ruleid:` lines
//! and flag no `ok:` line.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::PathBuf;

fn samples() -> PathBuf {
    zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), "malware/guarddog-samples")
}

/// Rules the matcher refuses at load time, and the construct it names.
const REFUSED: &[(&str, &str)] = &[
    ("npm-obfuscation", "metavariable-analysis"),
    // its `pattern: ("...")` applies to Go and Ruby too, which zt does not parse yet
    ("shady-links", "language `go`"),
];

#[test]
fn guarddog_rules_on_guarddog_samples() {
    let dir = samples();
    let index: serde_json::Value =
        serde_json::from_slice(&fs_err::read(dir.join("annotations.json")).unwrap()).unwrap();
    let (mut found, mut wanted, mut flagged, mut load_failures) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (name, sample) in index.as_object().unwrap() {
        let lang = sample["language"].as_str().unwrap();
        if lang != "python" && lang != "javascript" {
            continue;
        }
        let rule_file = dir
            .join("rules")
            .join(sample["rule_file"].as_str().unwrap());
        let yaml = fs_err::read_to_string(&rule_file).unwrap();
        let rules = match zt_semgrep::load_str(&yaml, &rule_file.display().to_string()) {
            Ok(r) => r,
            Err(e) => {
                let id = name.rsplit_once('.').unwrap().0;
                let known = REFUSED
                    .iter()
                    .any(|(r, c)| *r == id && e.to_string().contains(c));
                if !known {
                    failures.push(format!("{name}: refused: {e}"));
                    load_failures += 1;
                } else {
                    println!("{name}: refused as expected: {e}");
                }
                continue;
            }
        };
        let text = fs_err::read_to_string(dir.join("sourcecode").join(name)).unwrap();
        // as a package file the rule applies to (paths: include)
        let path = format!("pkg/{name}");
        let hits: BTreeSet<(String, usize)> = zt_semgrep::scan(&rules, &path, &text)
            .into_iter()
            .map(|h| (rules[h.rule].id.clone(), h.line))
            .collect();
        let (mut f, mut w) = (0, 0);
        for a in sample["annotations"].as_array().unwrap() {
            let line = a["target_line"].as_u64().unwrap() as usize;
            for rule in a["rules"].as_array().unwrap() {
                let key = (rule.as_str().unwrap().to_string(), line);
                match a["kind"].as_str().unwrap() {
                    "ruleid" => {
                        w += 1;
                        if hits.contains(&key) {
                            f += 1;
                        } else {
                            failures.push(format!("{name}:{line} missed: {}", a["target_text"]));
                        }
                    }
                    "ok" if hits.contains(&key) => {
                        flagged += 1;
                        failures.push(format!(
                            "{name}:{line} ok line flagged: {}",
                            a["target_text"]
                        ));
                    }
                    _ => {}
                }
            }
        }
        println!("{name}: {f}/{w}");
        found += f;
        wanted += w;
    }
    println!("recall {found}/{wanted}, ok lines flagged {flagged}");
    println!("{}", failures.join("\n"));
    assert_eq!(load_failures, 0, "rules refused");
    assert_eq!(flagged, 0, "ok lines flagged");
    assert!(
        found * 100 >= wanted * 90,
        "recall {found}/{wanted} below 90 %"
    );
}

/// Every rule file of the set loads, or is refused with an error naming the rule and the
/// construct zt does not support (Ruby and Go syntax patterns, `metavariable-comparison`,
/// `metavariable-analysis`).
#[test]
fn every_guarddog_rule_loads_or_is_refused_by_name() {
    let dir = samples().join("rules");
    let mut names: Vec<_> = fs_err::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    names.sort();
    let (mut loaded, mut refused) = (Vec::new(), Vec::new());
    for path in names {
        let id = path.file_stem().unwrap().to_string_lossy().into_owned();
        match zt_semgrep::load_str(&fs_err::read_to_string(&path).unwrap(), &id) {
            Ok(rules) => {
                assert_eq!(rules.len(), 1);
                assert_eq!(rules[0].id, id);
                loaded.push(id);
            }
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(&format!("rule `{id}`")), "{e}");
                let known = [
                    "language `ruby`",
                    "language `go`",
                    "`metavariable-analysis`",
                    "look-around",
                ]
                .iter()
                .any(|c| e.contains(c));
                assert!(known, "{e}");
                refused.push(id);
            }
        }
    }
    println!(
        "loaded {}: {loaded:?}\nrefused {}: {refused:?}",
        loaded.len(),
        refused.len()
    );
    assert!(loaded.len() >= 20, "{loaded:?}");
}
