//! The input document regorus receives: read once with its predicates as regorus values
//! (`PolicyInput::<RegoPredicate>::read`, then `to_rego`, what `zt policy eval` does) it must be
//! exactly the document of the old route, the typed input printed back to JSON and parsed
//! again by regorus (`Value::from_json_str(&input.to_json())`), `--stage` applied on both; and
//! a bad input must be refused with the same error on both routes. Checked on the benchmark's
//! input (`bench/policy.sh`), on the inputs the other tests use, and on generated ones.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use regorus::Value as Rego;
use serde_json::{Value, json};
use zt_core::config::Stage;
use zt_policy::PolicyInput;
use zt_policy::input::RegoPredicate;

const DIGEST: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
const KEY: &str = "4cb3c0ffee4cb3c0ffee4cb3c0ffee4cb3c0ffee4cb3c0ffee4cb3c0ffeef139";

/// The old route: typed input with `serde_json` predicates, printed, parsed by regorus.
fn through_text(bytes: &[u8], stage: Option<Stage>) -> Result<Rego, String> {
    let mut input = PolicyInput::from_json(bytes, Some("input.json")).map_err(|e| e.to_string())?;
    if let Some(s) = stage {
        input.context.stage = s;
    }
    Rego::from_json_str(&input.to_json()).map_err(|e| e.to_string())
}

/// The one-pass route.
fn in_one_pass(bytes: &[u8], stage: Option<Stage>) -> Result<Rego, String> {
    let mut input =
        PolicyInput::<RegoPredicate>::read(bytes, Some("input.json")).map_err(|e| e.to_string())?;
    if let Some(s) = stage {
        input.context.stage = s;
    }
    Ok(input.to_rego())
}

/// Both routes give the same document (equal values, and equal as JSON text, so a number
/// held as an integer on one side and a float on the other would show), or the same error.
fn same_on_both_routes(bytes: &[u8], stage: Option<Stage>) -> Result<(), TestCaseError> {
    let old = through_text(bytes, stage);
    let new = in_one_pass(bytes, stage);
    match (&old, &new) {
        (Ok(o), Ok(n)) => {
            prop_assert_eq!(o, n);
            prop_assert_eq!(o.to_json_str().unwrap(), n.to_json_str().unwrap());
        }
        (Err(o), Err(n)) => prop_assert_eq!(o, n),
        _ => prop_assert!(false, "the routes disagree: {old:?} vs {new:?}"),
    }
    Ok(())
}

fn check(doc: &Value) {
    let bytes = doc.to_string();
    for stage in [None, Some(Stage::Ci), Some(Stage::Deploy)] {
        same_on_both_routes(bytes.as_bytes(), stage).unwrap();
    }
}

fn check_accepted(doc: &Value) {
    in_one_pass(doc.to_string().as_bytes(), None).unwrap();
    check(doc);
}

/// `bench/policy.sh`'s input, built the same way: 50 statements of six kinds about one
/// artifact.
fn bench_input() -> Value {
    const SEVERITIES: [&str; 3] = ["low", "medium", "high"];
    let ev = |i: usize, t: &str, p: Value| {
        json!({"statement": {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "dist/app.tar.gz", "digest": {"sha256": DIGEST}},
                        {"name": format!("dist/extra-{i}.txt"), "digest": {"sha256": format!("{i:064x}")}}],
            "predicateType": t, "predicate": p},
            "signer": {"key_id": KEY, "algorithm": "ed25519"},
            "log": {"status": "verified", "index": 1000 + i, "log_id": "zt.local/log"},
            "time": format!("2026-11-25T{:02}:00:00Z", i % 24), "bundle": format!("sha256:{i:064x}")})
    };
    let deps: Vec<Value> = (0..40)
        .map(|j| json!({"uri": format!("pkg:cargo/crate{j}@1.{j}.0"), "digest": {"sha256": format!("{j:064x}")}}))
        .collect();
    let evidence: Vec<Value> = (0..50)
        .map(|i| match i % 6 {
            0 => ev(i, "https://slsa.dev/provenance/v1", json!({"buildDefinition": {"buildType": "https://zt.dev/build/v1",
                "externalParameters": {"command": ["cargo", "build", "--release"]},
                "internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2},
                "resolvedDependencies": deps}, "runDetails": {"builder": {"id": "https://zt.dev/builder/local"},
                "metadata": {"invocationId": format!("build-{i}"), "startedOn": "2026-11-25T09:00:00Z"}}})),
            1 => ev(i, "https://in-toto.io/attestation/test-result/v0.1", json!({"result": "PASSED", "configuration": [],
                "passedTests": (0..300).map(|j| format!("suite{i}::test_{j}")).collect::<Vec<_>>(),
                "warnedTests": [], "failedTests": [], "coverage": 86.5})),
            2 => ev(i, "https://cyclonedx.org/bom", json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                "components": (0..60).map(|j| json!({"type": "library", "name": format!("crate{j}"),
                    "version": format!("1.{j}.0"), "purl": format!("pkg:cargo/crate{j}@1.{j}.0")})).collect::<Vec<_>>()})),
            3 => ev(i, "https://zt.dev/attestation/vuln-scan/v1", json!({"database": {"updated": "2026-11-24T00:00:00Z"},
                "findings": (0..25).map(|j| json!({"id": format!("GHSA-{j:04}"), "package": format!("pkg:cargo/crate{j}@1.{j}.0"),
                    "severity": SEVERITIES[j % 3]})).collect::<Vec<_>>()})),
            4 => ev(i, "https://zt.dev/attestation/dependency-intake/v1", json!({"pinned": true, "unpinned": [],
                "checked": deps.iter().map(|d| d["uri"].clone()).collect::<Vec<_>>()})),
            _ => ev(i, "https://zt.dev/attestation/reproducible/v1", json!({"reproducible": true, "rebuilds": 2})),
        })
        .collect();
    json!({"version": 1, "subject": {"name": "dist/app.tar.gz", "digest": {"sha256": DIGEST}},
        "evidence": evidence, "rejected": [],
        "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "bench", "ref": "refs/heads/main"}})
}

#[test]
fn the_bench_input_reaches_regorus_unchanged() {
    let doc = bench_input();
    assert!(doc.to_string().len() > 200_000, "the bench's 212 kB input");
    check_accepted(&doc);
}

fn ev(t: &str, p: Value) -> Value {
    json!({"statement": {"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": DIGEST}}], "predicateType": t, "predicate": p},
        "signer": {"key_id": KEY}, "log": {"status": "verified"}, "time": "2026-11-25T10:00:00Z"})
}

/// The inputs of `tests/it/library.rs`, `crates/zt/tests/e2e/policy.rs`, `src/input.rs` and the
/// example of `docs/policy-input.md`, and the optional fields in every state: absent, `null`
/// (dropped: the policies never see a null there), present.
#[test]
fn the_test_inputs_reach_regorus_unchanged() {
    // tests/it/library.rs: complete evidence, and none (its own evidence, as that test builds it).
    let complete = crate::library::complete();
    for evidence in [complete.clone(), vec![]] {
        check_accepted(
            &json!({"version": 1, "subject": {"name": "app", "digest": {"sha256": DIGEST}},
            "evidence": evidence, "context": {"stage": "publish", "time": "2026-11-25T12:00:00Z"}}),
        );
    }
    // crates/zt/tests/e2e/policy.rs's good input, with a rejection and another ref.
    check_accepted(
        &json!({"version": 1, "subject": {"name": "app.tar.gz", "digest": {"sha256": DIGEST}},
        "evidence": complete,
        "rejected": [{"source": "app.tar.gz.sigstore.json", "reason": "signature does not verify"}],
        "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "example", "ref": "refs/heads/wip"}}),
    );
    // docs/policy-input.md's example.
    let docs = json!({"version": 1,
        "subject": {"name": "dist/app.tar.gz", "digest": {"sha256": DIGEST}},
        "evidence": [{"statement": {"_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "dist/app.tar.gz", "digest": {"sha256": DIGEST}}],
                "predicateType": "https://slsa.dev/provenance/v1",
                "predicate": {"buildDefinition": {"internalParameters": {"hermetic": true}}}},
            "signer": {"key_id": KEY, "algorithm": "ed25519"},
            "log": {"status": "verified", "index": 12, "log_id": "zt.local/log"},
            "time": "2026-11-25T10:00:00Z", "bundle": "sha256:77e1"}],
        "rejected": [{"source": "dist/app.tar.gz.sbom.sigstore.json", "predicate_type": "https://cyclonedx.org/bom",
            "reason": "signature does not verify with key 4cb3…f139"}],
        "context": {"stage": "deploy", "time": "2026-11-25T12:00:00Z",
            "repo": "https://git.example/app", "ref": "refs/heads/main"}});
    check_accepted(&docs);
    // Every optional field null (dropped), and every descriptor field present.
    let mut nulls = docs.clone();
    nulls["evidence"][0]["signer"] = json!({"key_id": KEY, "algorithm": null, "identity": null});
    nulls["evidence"][0]["log"] = json!({"status": "missing", "index": null, "log_id": null});
    nulls["evidence"][0]["bundle"] = Value::Null;
    nulls["evidence"][0]["statement"]["predicate"] = Value::Null;
    nulls["rejected"][0]["predicate_type"] = Value::Null;
    nulls["context"]["repo"] = Value::Null;
    nulls["context"]["ref"] = Value::Null;
    nulls["subject"] = json!({"name": null, "uri": null, "digest": {"sha256": DIGEST}, "content": null,
        "downloadLocation": null, "mediaType": null, "annotations": null});
    check_accepted(&nulls);
    let mut full = docs.clone();
    full["evidence"][0]["signer"]["identity"] = json!("ci@example.com");
    full["evidence"][0]["statement"]["subject"] = json!([
        {"uri": "pkg:cargo/app@1.0.0", "digest": {"sha256": DIGEST, "gitCommit": "abc"}, "content": "aGk=",
         "downloadLocation": "https://example.com/app", "mediaType": "application/gzip",
         "annotations": {"n": 1, "f": -2.5, "big": 18_446_744_073_709_551_615_u64, "neg": i64::MIN, "a": [null, true, {"x": {}}]}}]);
    full["evidence"][0]["statement"]
        .as_object_mut()
        .unwrap()
        .remove("predicate");
    full.as_object_mut().unwrap().remove("rejected");
    check_accepted(&full);
    // Numbers and strings of every kind inside a predicate.
    let odd = json!({"i": 0, "neg": -1, "min": i64::MIN, "max": u64::MAX, "f": 0.1, "e": 1.5e300, "tiny": 5e-324,
        "negzero": -0.0, "int_float": 3.0, "s": "é\u{1F600}\"\\\n\t\u{0}", "": [[], {}, [[[]]]]});
    check_accepted(
        &json!({"version": 1, "subject": {"digest": {"sha256": DIGEST}},
        "evidence": [ev("t", odd)], "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z"}}),
    );
    // Raw text the JSON printer would not write: integers beyond u64 (floats), exponents,
    // escapes, whitespace around the document.
    let text = format!(
        r#" {{"version": 1, "subject": {{"digest": {{"sha256": "{DIGEST}"}}}}, "evidence": [{{"statement":
        {{"_type": "https://in-toto.io/Statement/v1", "subject": [{{"digest": {{"sha256": "{DIGEST}"}}}}],
        "predicateType": "t", "predicate": {{"huge": 100000000000000000000000, "e": 1E2, "m": -1e-2,
        "frac": 1.0000000000000000001, "esc": "\u00e9\ud83d\ude00\/", "dup": 1, "dup": 2}}}},
        "signer": {{"key_id": "k"}}, "log": {{"status": "verified"}}, "time": "2026-11-25T10:00:00+01:00"}}],
        "context": {{"stage": "ci", "time": "2026-11-25T12:00:00Z"}}}}
    "#
    );
    in_one_pass(text.as_bytes(), None).unwrap();
    for stage in [None, Some(Stage::Publish)] {
        same_on_both_routes(text.as_bytes(), stage).unwrap();
    }
}

/// Every refusal the input's own tests check, and a few more, reads the same on both routes.
#[test]
fn bad_inputs_are_refused_with_the_same_error() {
    let good = bench_input();
    let mut bad: Vec<Value> = Vec::new();
    let mut edit = |f: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        f(&mut d);
        bad.push(d);
    };
    edit(&|d| d["context"]["stage"] = json!("prod"));
    edit(&|d| d["evidence"][0]["signer"]["keyid"] = json!("x"));
    edit(&|d| d["evidence"][3]["time"] = json!("yesterday"));
    edit(&|d| d["evidence"][0]["log"]["status"] = json!("maybe"));
    edit(&|d| d["evidence"][7]["statement"]["subject"] = json!([]));
    edit(&|d| d["evidence"][7]["statement"]["subject"][0]["digest"]["sha256"] = json!("zz"));
    edit(&|d| d["evidence"][9]["statement"]["predicate"] = json!([1, 2]));
    edit(&|d| d["evidence"][9]["statement"]["predicate"] = json!("text"));
    edit(&|d| d["evidence"][9]["statement"]["_type"] = json!("https://in-toto.io/Statement/v0.1"));
    edit(&|d| d["evidence"][9]["statement"]["extra"] = json!(1));
    edit(&|d| d["evidence"][9]["signer"]["key_id"] = json!(""));
    edit(&|d| d["evidence"][9]["log"]["index"] = json!(-1));
    edit(&|d| d["evidence"][9]["log"]["index"] = json!(1.5));
    edit(&|d| {
        d.as_object_mut().unwrap().remove("context");
    });
    edit(&|d| d["rejected"] = json!([{"source": "x", "reason": " "}]));
    edit(&|d| d["subject"]["digest"] = json!({}));
    edit(&|d| d["version"] = json!(2));
    edit(&|d| {
        d["version"] = json!(2);
        d["novelty"] = json!(true);
    });
    edit(&|d| d["version"] = json!("1"));
    edit(&|d| d["evidence"] = json!({}));
    for d in &bad {
        let text = d.to_string();
        assert!(
            in_one_pass(text.as_bytes(), None).is_err(),
            "accepted {d:#}"
        );
        same_on_both_routes(text.as_bytes(), None).unwrap();
    }
    let text = good.to_string();
    for broken in [
        "".to_string(),
        "{\"version\": 1,".to_string(),
        format!("{text} x"),
        format!("{text}{text}"),
        text.replacen("86.5", "1e400", 1),
        text.replacen("\"PASSED\"", "\"\\ud800\"", 1),
        "[1]".to_string(),
        "null".to_string(),
    ] {
        assert!(in_one_pass(broken.as_bytes(), None).is_err());
        same_on_both_routes(broken.as_bytes(), None).unwrap();
    }
}

/// Any JSON value, as a predicate's leaves and branches can be.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        (-1000i32..1000, -20i32..20).prop_map(|(m, e)| Value::from(f64::from(m) * 10f64.powi(e))),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("[a-zA-Z_$:]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    proptest::collection::btree_map("\\PC{0,6}", json_value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// An optional string field: absent, null or present.
fn optional(doc: &mut Value, key: &str, choice: Option<Option<String>>) {
    match choice {
        None => {}
        Some(None) => doc[key] = Value::Null,
        Some(Some(s)) => doc[key] = Value::from(s),
    }
}

fn opt_string() -> impl Strategy<Value = Option<Option<String>>> {
    proptest::option::of(proptest::option::of("\\PC{0,10}"))
}

fn descriptor() -> impl Strategy<Value = Value> {
    (
        opt_string(),
        opt_string(),
        proptest::collection::btree_map("x[a-z0-9]{0,7}", "[0-9a-f]{1,8}", 0..3),
        opt_string(),
        proptest::option::of(json_object()),
    )
        .prop_map(|(name, uri, extra, media, annotations)| {
            let mut digest = serde_json::Map::new();
            digest.insert("sha256".into(), DIGEST.into());
            // Algorithms zt does not know: any non-empty value is accepted.
            for (k, v) in extra {
                digest.insert(k, v.into());
            }
            let mut d = json!({"digest": digest});
            optional(&mut d, "name", name);
            optional(&mut d, "uri", uri);
            optional(&mut d, "mediaType", media);
            if let Some(a) = annotations {
                d["annotations"] = a;
            }
            d
        })
}

fn evidence() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(descriptor(), 1..3),
        "[a-z:/.]{1,20}",
        proptest::option::of(proptest::option::of(json_object())),
        ("[0-9a-f]{1,64}", opt_string(), opt_string()),
        (
            any::<bool>(),
            proptest::option::of(proptest::option::of(any::<u64>())),
            opt_string(),
        ),
        (0i64..4_000_000_000, opt_string()),
    )
        .prop_map(|(subject, t, predicate, signer, log, (secs, bundle))| {
            let mut st = json!({"_type": "https://in-toto.io/Statement/v1", "subject": subject, "predicateType": t});
            match predicate {
                None => {}
                Some(None) => st["predicate"] = Value::Null,
                Some(Some(p)) => st["predicate"] = p,
            }
            let mut s = json!({"key_id": signer.0});
            optional(&mut s, "algorithm", signer.1);
            optional(&mut s, "identity", signer.2);
            let mut l = json!({"status": if log.0 { "verified" } else { "missing" }});
            match log.1 {
                None => {}
                Some(None) => l["index"] = Value::Null,
                Some(Some(i)) => l["index"] = i.into(),
            }
            optional(&mut l, "log_id", log.2);
            let time = zt_policy::input::Timestamp::from_unix(secs);
            let mut e = json!({"statement": st, "signer": s, "log": l, "time": time.as_str()});
            optional(&mut e, "bundle", bundle);
            e
        })
}

fn input_document() -> impl Strategy<Value = Value> {
    (
        descriptor(),
        proptest::option::of(proptest::collection::vec(evidence(), 0..4)),
        proptest::option::of(proptest::collection::vec(
            ("\\PC{0,10}", opt_string(), "[a-z]\\PC{0,10}"),
            0..3,
        )),
        (0usize..3, opt_string(), opt_string()),
    )
        .prop_map(|(subject, evidence, rejected, (stage, repo, git_ref))| {
            let mut ctx =
                json!({"stage": Stage::ALL[stage].name(), "time": "2026-11-25T12:00:00Z"});
            optional(&mut ctx, "repo", repo);
            optional(&mut ctx, "ref", git_ref);
            let mut d = json!({"version": 1, "subject": subject, "context": ctx});
            if let Some(e) = evidence {
                d["evidence"] = e.into();
            }
            if let Some(r) = rejected {
                d["rejected"] = r
                    .into_iter()
                    .map(|(source, t, reason)| {
                        let mut r = json!({"source": source, "reason": reason});
                        optional(&mut r, "predicate_type", t);
                        r
                    })
                    .collect();
            }
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Generated inputs: every optional field absent, null or present, arbitrary predicates
    /// and annotations, any stage given or not.
    #[test]
    fn generated_inputs_reach_regorus_unchanged(
        doc in input_document(),
        stage in proptest::option::of(0usize..3),
    ) {
        let text = doc.to_string();
        prop_assert!(in_one_pass(text.as_bytes(), None).is_ok(), "refused {doc:#}");
        same_on_both_routes(text.as_bytes(), stage.map(|s| Stage::ALL[s]))?;
    }

    /// Generated inputs with one value replaced by an arbitrary one, anywhere: accepted by
    /// both routes as the same document, or refused by both with the same error.
    #[test]
    fn edited_inputs_are_judged_alike(
        doc in input_document(),
        path in proptest::collection::vec(any::<prop::sample::Index>(), 1..6),
        replacement in json_value(),
    ) {
        // Walk down to the value to replace, as a JSON pointer.
        let mut pointer = String::new();
        let mut at = &doc;
        for index in &path {
            let next = match at {
                Value::Object(m) if !m.is_empty() => m.iter().nth(index.index(m.len())).map(|(k, v)| {
                    pointer.push('/');
                    pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    v
                }),
                Value::Array(a) if !a.is_empty() => {
                    let i = index.index(a.len());
                    pointer.push_str(&format!("/{i}"));
                    a.get(i)
                }
                _ => None,
            };
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        let mut doc = doc.clone();
        *doc.pointer_mut(&pointer).unwrap() = replacement;
        same_on_both_routes(doc.to_string().as_bytes(), None)?;
    }
}

/// The one input the routes read differently, on purpose: regorus reads serde's private
/// big-number object (`{"$serde_json::private::Number": "12"}`) as a number. Read once, a
/// predicate spelled so is a number, so not an object, and is refused as such (the old route
/// accepted it, and the policies saw a number); one whose text is not a number is refused as
/// an input error naming the field (the old route failed later, in `evaluating `input``).
/// Inside a predicate a valid one is the same number on both routes.
#[test]
fn serdes_big_number_object_is_read_as_regorus_reads_it() {
    let with = |p: Value| {
        let mut d = bench_input();
        d["evidence"][5]["statement"]["predicate"] = p;
        d.to_string()
    };
    let whole = with(json!({"$serde_json::private::Number": "12"}));
    assert!(through_text(whole.as_bytes(), None).is_ok());
    let e = in_one_pass(whole.as_bytes(), None).unwrap_err();
    assert!(
        e.contains("field `evidence[5].statement`") && e.contains("must be a JSON object"),
        "{e}"
    );

    let nested = with(json!({"n": {"$serde_json::private::Number": "12"}}));
    same_on_both_routes(nested.as_bytes(), None).unwrap();
    let doc = in_one_pass(nested.as_bytes(), None).unwrap();
    assert_eq!(
        doc["evidence"][5]["statement"]["predicate"]["n"],
        Rego::from(12u64)
    );

    let broken = with(json!({"n": {"$serde_json::private::Number": "zz"}}));
    assert!(through_text(broken.as_bytes(), None).is_err());
    let e = in_one_pass(broken.as_bytes(), None).unwrap_err();
    assert!(
        e.contains("field `evidence[5].statement.predicate.n`")
            && e.contains("failed to read big number"),
        "{e}"
    );
}
