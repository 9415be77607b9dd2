//! The built-in policy library, through the public API: its own Rego tests, the decision on
//! a complete and an empty input, determinism, and how broken policies are reported.
// Helpers below are test code called from `#[test]`s: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use zt_core::config::Config;
use zt_policy::{Error, Policy, PolicyInput, PolicySet, PolicySource, library, policy_data};

const DIGEST: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
const KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn config() -> Config {
    Config::parse(
        &format!("[[trust.key]]\nid = \"{KEY}\"\npredicate_types = [\"*\"]\n"),
        "zt.toml".as_ref(),
    )
    .unwrap()
}

fn builtin() -> Policy {
    Policy::compile(
        &PolicySet::builtin(),
        policy_data(&config(), ".".as_ref()).unwrap(),
    )
    .unwrap()
}

fn ev(t: &str, p: Value) -> Value {
    json!({"statement": {"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": DIGEST}}], "predicateType": t, "predicate": p},
        "signer": {"key_id": KEY}, "log": {"status": "verified"}, "time": "2026-11-25T10:00:00Z"})
}

fn input(evidence: Vec<Value>) -> PolicyInput {
    let doc = json!({"version": 1, "subject": {"name": "app", "digest": {"sha256": DIGEST}},
        "evidence": evidence, "context": {"stage": "publish", "time": "2026-11-25T12:00:00Z"}});
    PolicyInput::from_json(doc.to_string().as_bytes(), None).unwrap()
}

pub(crate) fn complete() -> Vec<Value> {
    vec![
        ev(
            "https://slsa.dev/provenance/v1",
            json!({"buildDefinition": {"internalParameters": {"hermetic": true}}}),
        ),
        ev(
            "https://zt.dev/attestation/reproducible/v1",
            json!({"reproducible": true, "rebuilds": 3}),
        ),
        ev(
            "https://in-toto.io/attestation/test-result/v0.1",
            json!({"result": "PASSED", "passedTests": [], "warnedTests": [], "failedTests": [], "coverage": 80.0}),
        ),
        ev(
            "https://zt.dev/attestation/dependency-intake/v1",
            json!({"pinned": true}),
        ),
        ev("https://cyclonedx.org/bom", json!({})),
        ev(
            "https://zt.dev/attestation/vuln-scan/v1",
            json!({"database": {"updated": "2026-11-20T00:00:00Z"}, "findings": []}),
        ),
    ]
}

/// 44 Rego tests ship with the library; every one passes.
#[test]
fn builtin_library_tests_pass() {
    let mut p = builtin();
    let outcomes = p.run_tests();
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(outcomes.len(), 44);
    // Every deny-producing package has a test package that makes it deny.
    for rule in p.deny_rules() {
        let pkg = rule.trim_start_matches("data.").trim_end_matches(".deny");
        assert!(
            p.tests().iter().any(|t| t.package == format!("{pkg}_test")),
            "no tests for {pkg}"
        );
    }
    assert_eq!(
        p.deny_rules(),
        [
            "build",
            "deps",
            "provenance",
            "sbom",
            "signature",
            "source",
            "tests",
            "vuln"
        ]
        .map(|s| format!("data.zt.{s}.deny"))
    );
}

#[test]
fn complete_evidence_is_allowed() {
    let d = builtin().evaluate(&input(complete())).unwrap();
    assert!(d.allow, "{:#?}", d.deny);
    assert!(d.deny.is_empty());
}

#[test]
fn no_evidence_fails_closed_with_commands_to_run() {
    let d = builtin().evaluate(&input(vec![])).unwrap();
    assert!(!d.allow);
    let got: Vec<(&str, &str)> = d
        .deny
        .iter()
        .map(|x| (x.id.as_str(), x.remediation.as_str()))
        .collect();
    let ids: Vec<&str> = got.iter().map(|g| g.0).collect();
    assert_eq!(
        ids,
        vec![
            "deps.missing",
            "provenance.missing",
            "sbom.missing",
            "signature.unsigned",
            "tests.missing",
            "vuln.missing"
        ]
    );
    for (id, cmd) in [
        ("deps.missing", "`zt deps check --attest --subject FILE`"),
        (
            "provenance.missing",
            "`zt build --rebuild 2 -- <your build command>`",
        ),
        ("sbom.missing", "`zt sbom --attest --subject FILE`"),
        (
            "tests.missing",
            "`zt attest --type test-results --from junit.xml`",
        ),
        (
            "vuln.missing",
            "`zt vuln scan SBOM --attest --subject FILE`",
        ),
    ] {
        assert!(
            got.iter().any(|(i, r)| *i == id && r.contains(cmd)),
            "{id}: {got:?}"
        );
    }
    assert!(
        d.deny
            .iter()
            .all(|x| x.doc.starts_with("docs/policies.md#"))
    );
}

#[test]
fn decisions_are_deterministic_and_sorted() {
    let mut ev = complete();
    ev[5] = ev_vuln_two_criticals();
    let mut p = builtin();
    let a = p.evaluate(&input(ev.clone())).unwrap();
    let b = p.evaluate(&input(ev)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.deny.len(), 2);
    assert!(
        a.deny[0].message.contains("CVE-2024-0001") && a.deny[1].message.contains("CVE-2024-0002")
    );
}

fn ev_vuln_two_criticals() -> Value {
    ev(
        "https://zt.dev/attestation/vuln-scan/v1",
        json!({"database": {"updated": "2026-11-20T00:00:00Z"}, "findings": [
        {"id": "CVE-2024-0002", "package": "b", "severity": "critical"},
        {"id": "CVE-2024-0001", "package": "a", "severity": "Critical"}]}),
    )
}

#[test]
fn untrusted_stage_turns_evidence_away() {
    let cfg = Config::parse(
        &format!("[[trust.key]]\nid = \"{KEY}\"\npredicate_types = [\"*\"]\nstages = [\"ci\"]\n"),
        "zt.toml".as_ref(),
    )
    .unwrap();
    let mut p = Policy::compile(
        &PolicySet::builtin(),
        policy_data(&cfg, ".".as_ref()).unwrap(),
    )
    .unwrap();
    let d = p.evaluate(&input(complete())).unwrap();
    assert!(d.deny.iter().any(|x| x.id == "signature.unsigned"));
    assert_eq!(
        d.deny
            .iter()
            .filter(|x| x.id == "signature.untrusted")
            .count(),
        6
    );
}

fn with_extra(name: &str, text: &str) -> PolicySet {
    let mut set = PolicySet::builtin();
    set.insert(PolicySource {
        name: name.into(),
        origin: library::Origin::File(name.into()),
        text: text.into(),
    });
    set
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let set = with_extra(
        "policies/bad.rego",
        "package zt.bad\n\ndeny contains d if {\n\td := {\"id\": }\n}\n",
    );
    let e = Policy::compile(&set, json!({})).unwrap_err();
    match &e {
        Error::RegoSyntax {
            file, line, column, ..
        } => {
            assert_eq!(file, "policies/bad.rego");
            assert_eq!(*line, 4);
            assert!(*column > 1);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_denies_are_errors_not_allows() {
    let set = with_extra(
        "x.rego",
        "package zt.x\n\ndeny contains \"just a string\" if true\n",
    );
    let mut p = Policy::compile(&set, policy_data(&config(), ".".as_ref()).unwrap()).unwrap();
    let e = p.evaluate(&input(complete())).unwrap_err();
    assert!(
        matches!(e, Error::MalformedDeny { ref rule, .. } if rule == "data.zt.x.deny"),
        "{e}"
    );
}

#[test]
fn overriding_a_builtin_file_replaces_its_rules() {
    // A repository that relaxes vuln.rego (criticals still deny, a missing scan does not)
    // replaces the file and its tests.
    let relaxed = "package zt.vuln\n\nimport data.zt.lib\n\ndeny contains d if {\n\tsome e in lib.evidence(lib.VULN_SCAN)\n\tsome f in e.statement.predicate.findings\n\tf.severity == \"critical\"\n\td := lib.violation(\"vuln.critical\", f.id, \"upgrade\")\n}\n";
    let mut set = with_extra("vuln.rego", relaxed);
    set.insert(PolicySource {
        name: "vuln_test.rego".into(),
        origin: library::Origin::File("vuln_test.rego".into()),
        text: "package zt.vuln_test\n".into(),
    });
    let mut p = Policy::compile(&set, policy_data(&config(), ".".as_ref()).unwrap()).unwrap();
    let mut ev = complete();
    ev.pop();
    let d = p.evaluate(&input(ev)).unwrap();
    assert!(d.allow, "{:#?}", d.deny);
    // The library's own test notices the relaxation: nothing else fails.
    let failed: Vec<String> = p
        .run_tests()
        .into_iter()
        .filter(|o| !o.passed)
        .map(|o| o.case.name)
        .collect();
    assert_eq!(
        failed,
        vec!["test_empty_evidence_fails_closed_on_every_rule"]
    );
    assert_eq!(p.tests().len(), 44 - 4);
}
