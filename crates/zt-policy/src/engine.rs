//! Compiling a [`PolicySet`] on regorus and evaluating it: every `deny` rule of every package
//! under `zt.` is evaluated and the denies are collected, checked and sorted. `test_` rules
//! run like `opa test`.

use std::collections::BTreeSet;

use regorus::Value;
use serde::Serialize;

use crate::Error;
use crate::error::from_regorus_load;
use crate::input::{PolicyInput, RegoPredicate};
use crate::library::PolicySet;

/// One reason to refuse an artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Deny {
    /// The rule's id, e.g. `provenance.missing`.
    pub id: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it (names the zt command that produces the missing evidence).
    pub remediation: String,
    /// Where the rule is documented.
    pub doc: String,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether nothing denied.
    pub allow: bool,
    /// Every deny, sorted by id, then message; duplicates removed.
    pub deny: Vec<Deny>,
}

/// A `test_` rule found in the policy.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestCase {
    /// Its package, e.g. `zt.vuln_test`.
    pub package: String,
    /// The rule name, e.g. `test_missing_scan_denies`.
    pub name: String,
    /// The file that declares it.
    pub file: String,
}

/// How one test went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// The test.
    pub case: TestCase,
    /// Whether it evaluated to `true`.
    pub passed: bool,
    /// Why not, when it failed.
    pub failure: Option<String>,
}

/// A compiled policy, ready to evaluate inputs.
pub struct Policy {
    engine: regorus::Engine,
    deny_rules: Vec<String>,
    tests: Vec<TestCase>,
    pure: bool,
    /// Per file (its label), the lines that may read `input.context.time`
    /// ([`crate::clock`]); `None` until [`Policy::track_clock`] found them for every file.
    clock_lines: Option<Vec<(String, BTreeSet<u32>)>>,
    /// Whether evaluations record which lines they evaluated ([`Policy::track_clock`]).
    tracking: bool,
}

/// Whether an evaluation read the decision's time (`input.context.time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// It evaluated no expression that could read it: the decision is the same at any other
    /// time, the rest of the input equal.
    Unread,
    /// It may have read it (or this was not tracked): the decision holds for the input's
    /// time only.
    MayHaveRead,
}

/// Built-ins whose result is not a function of the input and data: the clock, randomness,
/// the network, the runtime's environment. A policy that calls one may decide differently on
/// the same input.
const IMPURE_BUILTINS: &[&str] = &[
    "time.now_ns",
    "rand.intn",
    "uuid.rfc4122",
    "http.send",
    "opa.runtime",
    "net.lookup_ip_addr",
];

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("deny_rules", &self.deny_rules)
            .field("tests", &self.tests.len())
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Parses every file of `set` (a syntax error names file, line and column) and loads
    /// `data` (normally [`crate::policy_data`]).
    pub fn compile(set: &PolicySet, data: serde_json::Value) -> Result<Self, Error> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        // A built-in that fails (a malformed timestamp) makes its expression undefined, so the
        // rule that needed it does not hold: rules are written to deny in that case.
        engine.set_strict_builtin_errors(false);
        for source in set.sources() {
            let label = source.label();
            engine
                .add_policy(label.clone(), source.text.clone())
                .map_err(|e| from_regorus_load(&label, &e))?;
        }
        engine
            .add_data(Value::from(data))
            .map_err(|e| Error::Rego {
                file: "data".into(),
                message: e.to_string(),
            })?;

        let packages = engine
            .get_policy_package_components()
            .map_err(|e| Error::Rego {
                file: "(policy)".into(),
                message: e.to_string(),
            })?;
        let mut deny_rules = BTreeSet::new();
        let mut tests = BTreeSet::new();
        for pkg in packages {
            if pkg.components.first().map(String::as_str) != Some("zt") {
                continue;
            }
            let package = pkg.components.join(".");
            let declares_deny = engine
                .has_declared_rule_rooted_at(&pkg.source_file, "deny")
                .map_err(|e| from_regorus_load(&pkg.source_file, &e))?;
            if declares_deny {
                deny_rules.insert(format!("data.{package}.deny"));
            }
            if let Some(source) = set.sources().iter().find(|s| s.label() == pkg.source_file) {
                for name in test_rule_names(&source.text) {
                    tests.insert(TestCase {
                        package: package.clone(),
                        name,
                        file: pkg.source_file.clone(),
                    });
                }
            }
        }
        let pure = !set
            .sources()
            .iter()
            .any(|s| IMPURE_BUILTINS.iter().any(|b| s.text.contains(b)));
        Ok(Self {
            engine,
            deny_rules: deny_rules.into_iter().collect(),
            tests: tests.into_iter().collect(),
            pure,
            clock_lines: None,
            tracking: false,
        })
    }

    /// The `deny` rules that are evaluated, e.g. `data.zt.vuln.deny`, sorted.
    pub fn deny_rules(&self) -> &[String] {
        &self.deny_rules
    }

    /// Whether the decision is a function of the input alone: no policy file names a built-in
    /// that reads the clock, randomness or the network (checked on the text, so a mention in
    /// a comment counts too — erring towards "impure"). Callers may then remember decisions by
    /// input.
    pub fn is_pure(&self) -> bool {
        self.pure
    }

    /// From now on, record which lines each evaluation evaluates, so that
    /// [`Policy::evaluate_text_clocked`] can tell whether it read the decision's time (regorus's
    /// coverage: a little more work per evaluation, for a judge that remembers decisions).
    /// The files' lines are found here, not in [`Policy::compile`]: a one-off evaluation
    /// never asks.
    pub fn track_clock(&mut self) {
        let Ok(files) = self.engine.get_policies() else {
            return;
        };
        // Each file as compiled, under the label it was added with (its coverage path).
        let lines: Option<Vec<_>> = files
            .iter()
            .map(|f| {
                crate::clock::clock_lines(f.get_contents())
                    .map(|lines| (f.get_path().clone(), lines))
            })
            .collect();
        if let Some(lines) = lines {
            self.clock_lines = Some(lines);
            self.engine.set_enable_coverage(true);
            self.tracking = true;
        }
    }

    /// Like [`Policy::evaluate_text`], and whether the evaluation read the decision's time
    /// (always [`Clock::MayHaveRead`] unless [`Policy::track_clock`] was called and every
    /// file could be read for it; see [`crate::clock`]).
    pub fn evaluate_text_clocked(&mut self, input_json: &str) -> Result<(Decision, Clock), Error> {
        if !self.tracking {
            return Ok((self.evaluate_text(input_json)?, Clock::MayHaveRead));
        }
        self.engine.clear_coverage_data();
        let decision = self.evaluate_text(input_json)?;
        Ok((decision, self.clock_read()))
    }

    /// Whether the evaluations since coverage was last cleared evaluated a line that may read
    /// `input.context.time`. A line counts as not evaluated only when regorus's report lists
    /// it as not covered; a line the report does not classify is taken as read.
    fn clock_read(&self) -> Clock {
        let Some(files) = &self.clock_lines else {
            return Clock::MayHaveRead;
        };
        let Ok(report) = self.engine.get_coverage_report() else {
            return Clock::MayHaveRead;
        };
        for (label, lines) in files {
            if lines.is_empty() {
                continue;
            }
            // A file absent from the report had no expression evaluated at all.
            let Some(file) = report.files.iter().find(|f| f.path == *label) else {
                continue;
            };
            if lines
                .iter()
                .any(|l| file.covered.contains(l) || !file.not_covered.contains(l))
            {
                return Clock::MayHaveRead;
            }
        }
        Clock::Unread
    }

    /// Evaluates every deny rule on `input`.
    pub fn evaluate(&mut self, input: &PolicyInput) -> Result<Decision, Error> {
        self.evaluate_text(&input.to_json())
    }

    /// Like [`Policy::evaluate`], for an input read with its predicates as regorus values
    /// ([`PolicyInput::read`]): the document goes to regorus as it is, not as text to parse
    /// again.
    pub fn evaluate_rego(&mut self, input: &PolicyInput<RegoPredicate>) -> Result<Decision, Error> {
        self.engine.set_input(input.to_rego());
        self.evaluate_loaded()
    }

    /// Like [`Policy::evaluate`], for the input's JSON text ([`PolicyInput::to_json`]).
    pub fn evaluate_text(&mut self, input_json: &str) -> Result<Decision, Error> {
        // JSON text into regorus's own parser: faster than converting a serde_json tree.
        self.engine
            .set_input_json(input_json)
            .map_err(|e| Error::Eval {
                rule: "input".into(),
                message: e.to_string(),
            })?;
        self.evaluate_loaded()
    }

    fn evaluate_loaded(&mut self) -> Result<Decision, Error> {
        let mut denies = BTreeSet::new();
        for rule in &self.deny_rules {
            let value = self
                .engine
                .eval_rule(rule.clone())
                .map_err(|e| Error::Eval {
                    rule: rule.clone(),
                    message: e.to_string().trim().replace('\n', " "),
                })?;
            collect_denies(rule, &value, &mut denies)?;
        }
        let deny: Vec<Deny> = denies.into_iter().collect();
        Ok(Decision {
            allow: deny.is_empty(),
            deny,
        })
    }

    /// The `test_` rules found, sorted by package then name.
    pub fn tests(&self) -> &[TestCase] {
        &self.tests
    }

    /// Runs every test: a test passes when its rule evaluates to `true`.
    pub fn run_tests(&mut self) -> Vec<TestOutcome> {
        let cases = self.tests.clone();
        cases
            .into_iter()
            .map(|case| {
                self.engine.set_input(Value::new_object());
                let rule = format!("data.{}.{}", case.package, case.name);
                let failure = match self.engine.eval_rule(rule) {
                    Ok(Value::Bool(true)) => None,
                    Ok(Value::Undefined) => Some("undefined: a condition did not hold".to_string()),
                    Ok(other) => Some(format!(
                        "evaluated to {} instead of true",
                        other.to_json_str().unwrap_or_default()
                    )),
                    Err(e) => Some(e.to_string().trim().replace('\n', " ")),
                };
                TestOutcome {
                    case,
                    passed: failure.is_none(),
                    failure,
                }
            })
            .collect()
    }
}

fn collect_denies(rule: &str, value: &Value, out: &mut BTreeSet<Deny>) -> Result<(), Error> {
    let items: Vec<&Value> = match value {
        Value::Undefined => return Ok(()),
        Value::Set(s) => s.iter().collect(),
        Value::Array(a) => a.iter().collect(),
        other => {
            return Err(Error::MalformedDeny {
                rule: rule.to_string(),
                value: other.to_json_str().unwrap_or_default(),
            });
        }
    };
    for item in items {
        out.insert(deny_of(rule, item)?);
    }
    Ok(())
}

fn deny_of(rule: &str, v: &Value) -> Result<Deny, Error> {
    let malformed = || Error::MalformedDeny {
        rule: rule.to_string(),
        value: v.to_json_str().unwrap_or_default(),
    };
    let field = |name: &str| -> Result<String, Error> {
        match v {
            Value::Object(map) => match map.get(&Value::from(name)) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.to_string()),
                _ => Err(malformed()),
            },
            _ => Err(malformed()),
        }
    };
    Ok(Deny {
        id: field("id")?,
        message: field("message")?,
        remediation: field("remediation")?,
        doc: field("doc")?,
    })
}

/// Names of `test_…` rules declared at the start of a line (`test_x if {`, `test_x {`,
/// `test_x := …`), as `opa test` finds them; functions (`test_x(a)`) are not tests.
fn test_rule_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("test_") else {
            continue;
        };
        let ident_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let after = rest.get(ident_len..).unwrap_or_default().trim_start();
        if after.starts_with('(') || after.starts_with('[') || after.starts_with('.') {
            continue;
        }
        if let Some(ident) = rest.get(..ident_len) {
            names.push(format!("test_{ident}"));
        }
    }
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_test_rules() {
        let text = "package p\ntest_a if {\n true\n}\ntest_b := true\n  test_c if true\ntest_f(x) if x\ntest_a if { false }\n";
        assert_eq!(test_rule_names(text), vec!["test_a", "test_b", "test_a"]);
    }

    /// regorus's time builtins with a named zone go through crates/chrono-tz (the system's
    /// tz database): the wall clock of a known instant, and a zone that does not exist.
    #[test]
    fn time_builtins_read_zones_from_the_system_database() {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy(
                "tz.rego".into(),
                "package tz\n\
                 ns := 1720094400000000000\n\
                 ny := time.clock([ns, \"America/New_York\"])\n\
                 paris := time.date([ns, \"Europe/Paris\"])\n\
                 utc := time.clock([ns, \"UTC\"])\n\
                 mars := time.clock([ns, \"Mars/Olympus_Mons\"])\n"
                    .into(),
            )
            .unwrap();
        let eval = |engine: &mut regorus::Engine, q: &str| {
            engine
                .eval_rule(format!("data.tz.{q}"))
                .map(|v| v.to_json_str().unwrap())
        };
        // 2024-07-04T12:00:00Z: 08:00 EDT in New York, the same date in Paris
        assert_eq!(
            eval(&mut engine, "ny")
                .unwrap()
                .replace(char::is_whitespace, ""),
            "[8,0,0]"
        );
        assert_eq!(
            eval(&mut engine, "paris")
                .unwrap()
                .replace(char::is_whitespace, ""),
            "[2024,7,4]"
        );
        assert_eq!(
            eval(&mut engine, "utc")
                .unwrap()
                .replace(char::is_whitespace, ""),
            "[12,0,0]"
        );
        let err = eval(&mut engine, "mars").unwrap_err().to_string();
        assert!(
            err.contains("unknown time zone `Mars/Olympus_Mons`"),
            "{err}"
        );
    }

    fn input_at(stage: &str, time: &str) -> String {
        serde_json::json!({
            "version": 1,
            "subject": {"name": "app", "digest": {"sha256": "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}},
            "evidence": [],
            "context": {"stage": stage, "time": time},
        })
        .to_string()
    }

    /// A rule that reads the time only at `deploy`, on a line of its own.
    fn deploy_deadline() -> PolicySet {
        let mut set = PolicySet::empty();
        set.insert(crate::library::PolicySource {
            name: "deadline.rego".into(),
            origin: crate::library::Origin::Builtin,
            text: "package zt.deadline\n\n# input.context.time in a comment is no reference\ndeny contains d if {\n\tinput.context.stage == \"deploy\"\n\tinput.context.time >= \"2026-12-01T00:00:00Z\"\n\td := {\"id\": \"late\", \"message\": \"too late\", \"remediation\": \"none\", \"doc\": \"none\"}\n}\n".into(),
        });
        set
    }

    #[test]
    fn an_evaluation_that_never_reached_the_time_says_so() {
        let mut policy = Policy::compile(&deploy_deadline(), serde_json::json!({})).unwrap();
        // Untracked: nothing is claimed.
        let (_, clock) = policy
            .evaluate_text_clocked(&input_at("ci", "2026-11-01T00:00:00Z"))
            .unwrap();
        assert_eq!(clock, Clock::MayHaveRead);
        policy.track_clock();
        for (stage, time, allow, clock) in [
            ("ci", "2026-11-01T00:00:00Z", true, Clock::Unread),
            ("ci", "2026-12-02T00:00:00Z", true, Clock::Unread),
            ("deploy", "2026-11-01T00:00:00Z", true, Clock::MayHaveRead),
            ("deploy", "2026-12-02T00:00:00Z", false, Clock::MayHaveRead),
            // Coverage is per evaluation: the deploy evaluations above leave no mark here.
            ("ci", "2026-12-02T00:00:00Z", true, Clock::Unread),
        ] {
            let (decision, read) = policy
                .evaluate_text_clocked(&input_at(stage, time))
                .unwrap();
            assert_eq!((decision.allow, read), (allow, clock), "{stage} {time}");
        }
    }

    #[test]
    fn the_builtin_library_reads_the_time_only_to_judge_a_scan() {
        let mut policy = Policy::compile(&PolicySet::builtin(), serde_json::json!({})).unwrap();
        policy.track_clock();
        // No evidence: no scan, so the database's age (the library's only use of the time) is
        // never asked.
        let (decision, read) = policy
            .evaluate_text_clocked(&input_at("deploy", "2026-11-01T00:00:00Z"))
            .unwrap();
        assert!(!decision.allow);
        assert_eq!(read, Clock::Unread);
    }

    #[test]
    fn a_file_importing_input_is_never_taken_as_time_free() {
        let mut set = PolicySet::empty();
        set.insert(crate::library::PolicySource {
            name: "alias.rego".into(),
            origin: crate::library::Origin::Builtin,
            text: "package zt.alias\n\nimport input.context as ctx\n\ndeny contains d if {\n\tctx.time >= \"2026-12-01T00:00:00Z\"\n\td := {\"id\": \"late\", \"message\": \"too late\", \"remediation\": \"none\", \"doc\": \"none\"}\n}\n".into(),
        });
        let mut policy = Policy::compile(&set, serde_json::json!({})).unwrap();
        policy.track_clock();
        let (decision, read) = policy
            .evaluate_text_clocked(&input_at("ci", "2026-12-02T00:00:00Z"))
            .unwrap();
        assert!(!decision.allow);
        assert_eq!(read, Clock::MayHaveRead);
    }

    #[test]
    fn a_policy_reading_the_clock_is_not_pure() {
        let builtin = Policy::compile(&PolicySet::builtin(), serde_json::json!({})).unwrap();
        assert!(
            builtin.is_pure(),
            "the built-in library is a function of its input"
        );
        let mut set = PolicySet::builtin();
        set.insert(crate::library::PolicySource {
            name: "clock.rego".into(),
            origin: crate::library::Origin::Builtin,
            text: "package zt.clock\ndeny contains {\"id\": \"late\", \"message\": \"late\", \"remediation\": \"none\", \"doc\": \"none\"} if time.now_ns() > 0\n".into(),
        });
        let mut clock = Policy::compile(&set, serde_json::json!({})).unwrap();
        assert!(!clock.is_pure());
        let decision = clock.evaluate_text("{}").unwrap();
        assert!(!decision.allow, "{decision:?}");
    }
}
