//! Conformance: every rule file of gitleaks' `testdata/config/` (50 files) behaves as
//! `shared/testdata/secrets/MANIFEST.md` says: valid ones load with exactly the listed rules,
//! invalid ones are rejected with gitleaks' own error text.
//!
//! Relative `[extend] path`s in the fixtures are written for gitleaks' tests, which run in
//! `gitleaks/config/`; they are resolved against that directory here.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use zt_source::secrets::config::{Condition, Config, ConfigError, RegexTarget};

fn gitleaks_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/secrets/gitleaks"
    ))
    .to_path_buf()
}

fn base_dir() -> PathBuf {
    gitleaks_dir().join("config")
}

fn load_at(name: &str, depth: u32) -> Result<Config, ConfigError> {
    let path = gitleaks_dir()
        .join("testdata/config")
        .join(format!("{name}.toml"));
    let text = fs_err::read_to_string(&path).unwrap();
    Config::from_toml_at_depth(&text, &base_dir(), depth)
}

fn load(name: &str) -> Result<Config, ConfigError> {
    load_at(name, 0)
}

fn ids(c: &Config) -> Vec<&str> {
    c.rules.keys().map(String::as_str).collect()
}

fn ok(name: &str, rules: &[&str], title: &str) -> Config {
    let c = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(ids(&c), rules, "{name}: rules");
    assert_eq!(c.title, title, "{name}: title");
    c
}

fn rejected(name: &str, message: &str) {
    match load(name) {
        Ok(_) => panic!("{name}: loaded, expected `{message}`"),
        Err(e) => assert_eq!(e.message, message, "{name}"),
    }
}

const AWS_SECRET: &str = r#"(?i)aws_(.{0,20})?=?.[\'\"0-9a-zA-Z\/+]{40}"#;
const AWS_ACCESS: &str = "(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}";

#[test]
fn translate_cases() {
    let c = ok("generic", &["generic-api-key"], "gitleaks config");
    let r = &c.rules["generic-api-key"];
    assert_eq!(r.entropy, 3.5);
    assert_eq!(
        r.keywords,
        [
            "key", "api", "token", "secret", "client", "passwd", "password", "auth", "access"
        ]
    );
    assert!(r.tags.is_empty());

    let c = ok("valid/rule_path_only", &["python-files-only"], "");
    let r = &c.rules["python-files-only"];
    assert!(r.regex.is_none());
    assert_eq!(r.path.as_ref().unwrap().as_str(), ".py");

    let c = ok(
        "valid/rule_regex_escaped_character_group",
        &["pypi-upload-token"],
        "",
    );
    assert_eq!(
        c.rules["pypi-upload-token"]
            .regex
            .as_ref()
            .unwrap()
            .as_str(),
        r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9\-_]{50,1000}"
    );

    let c = ok("valid/rule_entropy_group", &["discord-api-key"], "");
    let r = &c.rules["discord-api-key"];
    assert_eq!((r.secret_group, r.entropy), (3, 3.5));

    rejected(
        "invalid/rule_missing_id",
        r#"rule |id| is missing or empty, description: Discord API key, regex: (?i)(discord[a-z0-9_ .\-,]{0,25})(=|>|:=|\|\|:|<=|=>|:).{0,5}['\"]([a-h0-9]{64})['\"]"#,
    );
    rejected(
        "invalid/rule_no_regex_or_path",
        "discord-api-key: both |regex| and |path| are empty, this rule will have no effect",
    );
    rejected(
        "invalid/rule_bad_entropy_group",
        "discord-api-key: invalid regex secret group 5, max regex secret group 3",
    );
}

#[test]
fn allowlist_cases() {
    let c = ok("valid/allowlist_global_old_compat", &[], "");
    assert_eq!(c.allowlists.len(), 1);
    assert_eq!(
        c.allowlists[0].stopwords,
        ["0989c462-69c9-49fa-b7d2-30dc5c576a97"]
    );

    let c = ok("valid/allowlist_global_multiple", &["test"], "");
    assert_eq!(c.allowlists.len(), 2);
    assert_eq!(c.allowlists[0].regexes[0].as_str(), "^changeit$");
    assert_eq!(c.allowlists[1].condition, Condition::And);
    assert_eq!(c.allowlists[1].paths[0].as_str(), "^node_modules/.*");
    assert_eq!(c.allowlists[1].stopwords, ["mock"]);

    let c = ok(
        "valid/allowlist_global_target_rules",
        &["github-app-token", "github-oauth", "github-pat"],
        "",
    );
    assert_eq!(
        c.allowlists.len(),
        1,
        "the targeted allowlist is not global"
    );
    assert_eq!(c.allowlists[0].regexes[0].as_str(), ".*fake.*");
    for id in ["github-app-token", "github-pat"] {
        let al = &c.rules[id].allowlists;
        assert_eq!(al.len(), 1, "{id}");
        assert_eq!(
            al[0].paths[0].as_str(),
            r"(?:^|/)@octokit/auth-token/README\.md$"
        );
    }
    assert!(c.rules["github-oauth"].allowlists.is_empty());

    let c = ok("valid/allowlist_global_regex", &[], "");
    assert_eq!(c.allowlists[0].condition, Condition::Or);
    assert_eq!(c.allowlists[0].regexes[0].as_str(), "AKIALALEM.L33243OLIA");

    rejected(
        "invalid/allowlist_global_empty",
        "[[allowlists]] must contain at least one check for: commits, paths, regexes, or stopwords",
    );
    rejected(
        "invalid/allowlist_global_old_and_new",
        "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]",
    );
    rejected(
        "invalid/allowlist_global_target_rule_id",
        "[[allowlists]] target rule ID 'github-pat' does not exist",
    );
    rejected(
        "invalid/allowlist_global_regextarget",
        "[[allowlists]] unknown allowlist |regexTarget| 'mtach' (expected 'match', 'line')",
    );

    let c = ok("valid/allowlist_rule_old_compat", &["example"], "");
    assert_eq!(c.rules["example"].allowlists[0].regexes[0].as_str(), "123");

    let c = ok(
        "valid/allowlist_rule_regex",
        &["aws-access-key"],
        "simple config with allowlist for aws",
    );
    let r = &c.rules["aws-access-key"];
    assert_eq!(r.regex.as_ref().unwrap().as_str(), AWS_ACCESS);
    assert_eq!(r.tags, ["key", "AWS"]);
    assert_eq!(r.allowlists[0].regexes[0].as_str(), "AKIALALEMEL33243OLIA");

    let c = ok(
        "valid/allowlist_rule_commit",
        &["aws-access-key"],
        "simple config with allowlist for a specific commit",
    );
    let commits: Vec<&str> = c.rules["aws-access-key"].allowlists[0]
        .commits
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(commits, ["allowthiscommit"]);

    let c = ok(
        "valid/allowlist_rule_path",
        &["aws-access-key"],
        "simple config with allowlist for .go files",
    );
    assert_eq!(
        c.rules["aws-access-key"].allowlists[0].paths[0].as_str(),
        ".go"
    );

    rejected(
        "invalid/allowlist_rule_empty",
        "example: [[rules.allowlists]] must contain at least one check for: commits, paths, regexes, or stopwords",
    );
    rejected(
        "invalid/allowlist_rule_old_and_new",
        "example: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlist]]",
    );
    rejected(
        "invalid/allowlist_rule_regextarget",
        "example: [[rules.allowlists]] unknown allowlist |regexTarget| 'mtach' (expected 'match', 'line')",
    );
}

#[test]
fn extend_cases() {
    let c = ok(
        "valid/extend",
        &["aws-access-key", "aws-secret-key", "aws-secret-key-again"],
        "",
    );
    assert_eq!(
        c.rules["aws-secret-key-again"]
            .regex
            .as_ref()
            .unwrap()
            .as_str(),
        AWS_SECRET
    );
    assert_eq!(c.rules["aws-access-key"].description, "AWS Access Key");

    let c = ok(
        "valid/extend_disabled",
        &["aws-secret-key", "pypi-upload-token"],
        "gitleaks extend disable",
    );
    assert!(
        c.warnings.is_empty(),
        "custom-rule1 exists in the base: {:?}",
        c.warnings
    );

    let c = ok(
        "valid/extend_rule_no_regexpath",
        &["aws-secret-key-again-again"],
        "",
    );
    let r = &c.rules["aws-secret-key-again-again"];
    assert_eq!(r.regex.as_ref().unwrap().as_str(), AWS_SECRET);
    assert_eq!(r.description, "AWS Secret Key");
    assert_eq!(r.allowlists.len(), 1);
    assert_eq!(
        r.allowlists[0].description,
        "False positive. Keys used for colors match the rule, and should be excluded."
    );
    assert_eq!(r.allowlists[0].paths[0].as_str(), "something.py");

    let aws = |name: &str, title: &str| {
        let c = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.title, title, "{name}");
        c.rules["aws-access-key"].clone()
    };
    let r = aws(
        "valid/extend_rule_override_description",
        "override a built-in rule's description",
    );
    assert_eq!(r.description, "Puppy Doggy");
    assert_eq!(r.regex.as_ref().unwrap().as_str(), AWS_ACCESS);
    let r = aws(
        "valid/extend_rule_override_path",
        "override a built-in rule's path",
    );
    assert_eq!(r.path.as_ref().unwrap().as_str(), "(?:puppy)");
    assert_eq!(r.regex.as_ref().unwrap().as_str(), AWS_ACCESS);
    let r = aws(
        "valid/extend_rule_override_regex",
        "override a built-in rule's regex",
    );
    assert_eq!(r.regex.as_ref().unwrap().as_str(), "(?:a)");
    let r = aws(
        "valid/extend_rule_override_secret_group",
        "override a built-in rule's secretGroup",
    );
    assert_eq!(
        (r.regex.as_ref().unwrap().as_str(), r.secret_group),
        ("(a)(a)", 2)
    );
    let r = aws(
        "valid/extend_rule_override_entropy",
        "override a built-in rule's entropy",
    );
    assert_eq!(r.entropy, 999.0);
    let r = aws(
        "valid/extend_rule_override_keywords",
        "override a built-in rule's keywords",
    );
    assert_eq!(r.keywords, ["puppy"]);
    let r = aws(
        "valid/extend_rule_override_tags",
        "override a built-in rule's tags",
    );
    assert_eq!(r.tags, ["key", "AWS", "puppy"]);
    assert_eq!(r.description, "AWS Access Key");

    for (name, cond) in [
        ("valid/extend_rule_allowlist_or", Condition::Or),
        ("valid/extend_rule_allowlist_and", Condition::And),
    ] {
        let c = ok(name, &["aws-secret-key-again-again"], "gitleaks extended 3");
        let al = &c.rules["aws-secret-key-again-again"].allowlists;
        assert_eq!(
            al.len(),
            2,
            "{name}: base allowlist first, then the extending one"
        );
        assert_eq!(
            (al[0].condition, al[0].stopwords.as_slice()),
            (Condition::Or, &["fake".to_string()][..])
        );
        assert_eq!(al[1].condition, cond, "{name}");
        assert_eq!(al[1].regex_target, RegexTarget::Line);
        assert_eq!(al[1].regexes[0].as_str(), "foo.+bar");
        assert_eq!(al[1].paths[0].as_str(), r"ignore\.xaml");
        assert_eq!(al[1].stopwords, ["example"]);
        assert_eq!(al[1].commits.iter().collect::<Vec<_>>(), ["abcdefg1"]);
    }

    rejected(
        "invalid/extend_invalid_ruleid",
        "rule |id| is missing or empty",
    );

    // TestExtendedRuleKeywordsAreDowncase: keywords are lower-cased into the config's set.
    let c = load("valid/extend_base_rule_including_keywords_with_attribute").unwrap();
    assert!(c.keywords.contains("aws"));
    assert_eq!(
        c.rules["aws-secret-key-again-again"].description,
        "A new description"
    );

    // Deliberate difference: `valid/extend_rule_new.toml` adds a rule with only `id` and
    // `keywords`. gitleaks' own validation rejects such a rule ("both |regex| and |path| are
    // empty"); upstream's test only loads it because a global depth counter left over from the
    // previous test case skips validation. zt validates every assembled config, so it rejects
    // the file, naming the rule; the keyword itself is lower-cased as upstream expects.
    let e = load("valid/extend_rule_new").unwrap_err();
    assert_eq!(
        e.message,
        "aws-rule-that-is-not-in-base: both |regex| and |path| are empty, this rule will have no effect"
    );
    let c = load_at("valid/extend_rule_new", 1).unwrap();
    assert!(c.keywords.contains("cms"));
}

#[test]
fn fixtures_not_in_config_test() {
    let c = load("simple").unwrap();
    assert_eq!(c.rules.len(), 36, "37 [[rules]], two share the id `google`");
    assert_eq!(
        c.rules["google"].description, "Google (GCP) Service Account",
        "the later one wins"
    );
    for name in [
        "generic_with_py_path",
        "composite",
        "encoded",
        "archives",
        "valid/allowlist_rule_extend_default",
    ] {
        load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let c = load("valid/allowlist_rule_extend_default").unwrap();
    assert_eq!(c.rules.len(), 222, "extends the built-in default rules");
    let generic = &c.rules["generic-api-key"];
    assert_eq!(
        generic.allowlists.last().unwrap().paths[0].as_str(),
        r"^path/to/your/problematic/file\.js$"
    );
    let c = load("composite").unwrap();
    assert_eq!(c.rules["primary-rule"].required[0].rule_id, "username-rule");
    assert!(c.rules["username-rule"].skip_report);

    // Bases, loaded as they are reached: one level below their referencing fixture.
    for (name, depth) in [
        ("valid/extend_base_1", 1),
        ("valid/extend_base_2", 2),
        ("valid/extend_base_3", 1),
        ("valid/extend_disabled_base", 1),
        ("valid/extend_rule_allowlist_base", 1),
        ("valid/extend_rule_keywords_base", 1),
    ] {
        load_at(name, depth).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // `extend_base_2.toml` extends a file that does not exist; reached from `extend.toml`
    // that level is never read (depth limit), loaded directly it is.
    let e = load("valid/extend_base_2").unwrap_err();
    assert!(
        e.message
            .starts_with("failed to load extended config, err: "),
        "{}",
        e.message
    );

    let e = load("invalid/extend_invalid_base").unwrap_err();
    assert!(
        e.message
            .starts_with("failed to load extended config, err: "),
        "{}",
        e.message
    );
    assert!(e.message.contains("does_not_exist.toml"), "{}", e.message);
}

/// Every one of the 50 fixtures is covered by one of the tests above.
#[test]
fn all_fifty_fixtures_are_covered() {
    let root = gitleaks_dir().join("testdata/config");
    let mut found = BTreeSet::new();
    for sub in ["", "valid", "invalid"] {
        for e in fs_err::read_dir(root.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let rel = p.strip_prefix(&root).unwrap().with_extension("");
                found.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    assert_eq!(found.len(), 50);
    let this = include_str!("gitleaks_config.rs");
    let missing: Vec<&String> = found
        .iter()
        .filter(|f| !this.contains(&format!("\"{f}\"")))
        .collect();
    assert!(missing.is_empty(), "fixtures without a test: {missing:?}");
}
