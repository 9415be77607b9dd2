//! What the watch knows about one build: the facts its baselines are made of, read from the
//! build record zt keeps in the ledger (the SLSA provenance predicate, whose
//! `internalParameters.behaviour` the sandbox filled, plus the `ztWatch` object the pipeline
//! adds: the signing key, the commit's author, committer and signing key).

use serde_json::Value;

mod read;

/// One build, as the detector sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFacts {
    /// The build's id (the provenance invocation id).
    pub id: String,
    /// The pipeline: repository and build command (`<repo> :: <command>`).
    pub pipeline: String,
    /// The repository alone (committers and signers are baselined per repository).
    pub repository: String,
    /// When it was recorded (Unix seconds).
    pub at: i64,
    /// Its place among builds recorded in the same second (nanoseconds of the system clock
    /// when recorded; 0 when unknown).
    pub seq: u64,
    /// How long the command ran, in milliseconds.
    pub duration_ms: u64,
    /// The programs it executed: (path, digest).
    pub executed: Vec<(String, String)>,
    /// Its network attempts: (address:port, program).
    pub network: Vec<(String, String)>,
    /// Files it wrote outside its output.
    pub writes: Vec<String>,
    /// The key that signed its provenance.
    pub signer_key: Option<String>,
    /// The commit built.
    pub commit: Option<String>,
    /// The commit's author e-mail.
    pub author: Option<String>,
    /// The commit's committer e-mail.
    pub committer: Option<String>,
    /// The key that signed the commit (SSH fingerprint or OpenPGP issuer), if signed.
    pub commit_key: Option<String>,
}

impl BuildFacts {
    /// Reads the facts from a build record (`record` is the stored provenance predicate).
    /// Missing fields are empty, never an error: a record from before behaviour recording
    /// still has a duration of 0 and no programs, and adds nothing to the baselines'
    /// rarities.
    pub fn from_record(id: &str, at: i64, record: &Value) -> BuildFacts {
        let s = |p: &str| record.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let command = record
            .pointer("/buildDefinition/externalParameters/command")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let repository = s("/ztWatch/repository")
            .or_else(|| {
                record
                    .pointer("/buildDefinition/resolvedDependencies")
                    .and_then(Value::as_array)
                    .and_then(|deps| {
                        deps.iter().find_map(|d| {
                            let uri = d.get("uri")?.as_str()?;
                            (uri.starts_with("git+") || d.get("name")?.as_str()? == "source-tree")
                                .then(|| uri.to_owned())
                        })
                    })
            })
            .unwrap_or_default();
        let b = record.pointer("/buildDefinition/internalParameters/behaviour");
        let list = |k: &str| {
            b.and_then(|b| b.get(k))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let executed = list("executed")
            .iter()
            .filter_map(|e| {
                Some((
                    e.get("path")?.as_str()?.to_owned(),
                    e.get("digest")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            })
            .collect();
        let network = list("network")
            .iter()
            .filter_map(|c| {
                Some((
                    format!(
                        "{}:{}",
                        c.get("address")?.as_str()?,
                        c.get("port").and_then(Value::as_u64).unwrap_or(0)
                    ),
                    c.get("program")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            })
            .collect();
        let writes = list("writes")
            .iter()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect();
        BuildFacts {
            id: id.to_owned(),
            pipeline: format!("{repository} :: {command}"),
            repository,
            at,
            seq: record
                .pointer("/ztWatch/recordedNs")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            duration_ms: b
                .and_then(|b| b.get("durationMs"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            executed,
            network,
            writes,
            signer_key: s("/ztWatch/signerKey"),
            commit: s("/ztWatch/commit")
                .or_else(|| s("/buildDefinition/externalParameters/source")),
            author: s("/ztWatch/author"),
            committer: s("/ztWatch/committer"),
            commit_key: s("/ztWatch/commitKey"),
        }
    }
}

impl BuildFacts {
    /// [`BuildFacts::from_record`] of the record's JSON text, read without building the
    /// document: the same facts for any text, only the fields used kept (a record's bulk, and
    /// the allocations of a `Value` of it, are most of what reading every record costs). An
    /// error where `serde_json::from_str::<Value>` would give one.
    pub fn from_json(id: &str, at: i64, text: &str) -> Result<BuildFacts, serde_json::Error> {
        let r = read::record(text)?;
        let definition = r.build_definition.0;
        let external = definition.external.0;
        let behaviour = definition.internal.0.behaviour.0;
        let watch = r.zt_watch.0;
        let command = external
            .command
            .0
            .iter()
            .filter_map(|c| c.0.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        let repository = watch
            .repository
            .0
            .or_else(|| {
                definition.dependencies.0.into_iter().find_map(|d| {
                    let uri = d.0.uri.0?;
                    (uri.starts_with("git+") || d.0.name.0? == "source-tree").then_some(uri)
                })
            })
            .unwrap_or_default();
        let executed = behaviour
            .executed
            .0
            .into_iter()
            .filter_map(|e| Some((e.0.path.0?, e.0.digest.0.unwrap_or_default())))
            .collect();
        let network = behaviour
            .network
            .0
            .into_iter()
            .filter_map(|c| {
                let address = c.0.address.0?;
                Some((
                    format!("{address}:{}", c.0.port.0.unwrap_or(0)),
                    c.0.program.0.unwrap_or_default(),
                ))
            })
            .collect();
        let writes = behaviour.writes.0.into_iter().filter_map(|w| w.0).collect();
        Ok(BuildFacts {
            id: id.to_owned(),
            pipeline: format!("{repository} :: {command}"),
            repository,
            at,
            seq: watch.recorded_ns.0.unwrap_or(0),
            duration_ms: behaviour.duration_ms.0.unwrap_or(0),
            executed,
            network,
            writes,
            signer_key: watch.signer_key.0,
            commit: watch.commit.0.or(external.source.0),
            author: watch.author.0,
            committer: watch.committer.0,
            commit_key: watch.commit_key.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_come_from_the_provenance_and_the_watch_object() {
        let record = json!({
            "buildDefinition": {
                "externalParameters": {"command": ["make", "all"], "source": "abc"},
                "internalParameters": {"behaviour": {
                    "durationMs": 1200,
                    "executed": [{"path": "/usr/bin/make", "digest": "sha256:aa", "count": 1}],
                    "network": [{"family": "inet", "address": "203.0.113.7", "port": 443, "program": "/usr/bin/curl"}],
                    "writes": [".bashrc"],
                }},
                "resolvedDependencies": [{"uri": "git+file:///src/app", "digest": {"gitCommit": "abc"}}],
            },
            "ztWatch": {"signerKey": "k1", "author": "a@x", "committer": "c@x", "commitKey": "SHA256:x"},
        });
        let f = BuildFacts::from_record("b1", 7, &record);
        assert_eq!(f.pipeline, "git+file:///src/app :: make all");
        assert_eq!(f.duration_ms, 1200);
        assert_eq!(
            f.executed,
            vec![("/usr/bin/make".into(), "sha256:aa".into())]
        );
        assert_eq!(
            f.network,
            vec![("203.0.113.7:443".into(), "/usr/bin/curl".into())]
        );
        assert_eq!(f.writes, vec![".bashrc".to_string()]);
        assert_eq!(f.commit.as_deref(), Some("abc"));
        assert_eq!(f.commit_key.as_deref(), Some("SHA256:x"));
    }

    #[test]
    fn a_record_without_behaviour_gives_empty_facts_not_an_error() {
        let f = BuildFacts::from_record("b", 0, &json!({"unexpected": [1, 2]}));
        assert_eq!(f.duration_ms, 0);
        assert!(f.executed.is_empty());
        assert_eq!(f.pipeline, " :: ");
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z/:. ]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            let keys = prop_oneof![
                Just("buildDefinition".to_owned()),
                Just("internalParameters".to_owned()),
                Just("behaviour".to_owned()),
                Just("executed".to_owned()),
                Just("network".to_owned()),
                Just("path".to_owned()),
                Just("port".to_owned()),
                Just("ztWatch".to_owned()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A record shaped like zt's, each member present or not, of the expected type or any
    /// other value (so every way `from_record` can find a field absent is taken).
    fn record_like() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        fn text() -> BoxedStrategy<Value> {
            prop_oneof![
                3 => "[a-z+:/. -]{0,8}".prop_map(Value::String),
                1 => Just(json!("git+file:///src/app")),
                1 => Just(json!("source-tree")),
                1 => Just(json!("")),
                1 => json_value(),
            ]
            .boxed()
        }
        fn number() -> BoxedStrategy<Value> {
            prop_oneof![
                3 => any::<u64>().prop_map(|n| json!(n)),
                1 => any::<i64>().prop_map(|n| json!(n)),
                1 => any::<f64>().prop_map(|n| json!(n)),
                1 => Just(json!(0)),
                1 => json_value(),
            ]
            .boxed()
        }
        // An object of the members given (each perhaps absent), or any other value.
        fn object(members: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
            let (keys, values): (Vec<_>, Vec<_>) = members
                .into_iter()
                .map(|(k, v)| (k, proptest::option::of(v)))
                .unzip();
            prop_oneof![
                6 => values.prop_map(move |vs| {
                    Value::Object(
                        keys.iter()
                            .zip(vs)
                            .filter_map(|(k, v)| Some(((*k).to_owned(), v?)))
                            .collect(),
                    )
                }),
                1 => json_value(),
            ]
            .boxed()
        }
        fn list(item: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
            prop_oneof![
                6 => proptest::collection::vec(item, 0..4).prop_map(Value::Array),
                1 => json_value(),
            ]
            .boxed()
        }
        let behaviour = object(vec![
            ("durationMs", number()),
            ("recorded", json_value().boxed()),
            (
                "executed",
                list(object(vec![
                    ("path", text()),
                    ("digest", text()),
                    ("count", number()),
                ])),
            ),
            (
                "network",
                list(object(vec![
                    ("address", text()),
                    ("port", number()),
                    ("program", text()),
                ])),
            ),
            ("writes", list(text())),
        ]);
        let definition = object(vec![
            (
                "externalParameters",
                object(vec![("command", list(text())), ("source", text())]),
            ),
            ("internalParameters", object(vec![("behaviour", behaviour)])),
            (
                "resolvedDependencies",
                list(object(vec![("uri", text()), ("name", text())])),
            ),
        ]);
        let watch = object(vec![
            ("repository", text()),
            ("signerKey", text()),
            ("commit", text()),
            ("author", text()),
            ("committer", text()),
            ("commitKey", text()),
            ("recordedNs", number()),
        ]);
        object(vec![
            ("buildDefinition", definition),
            ("runDetails", json_value().boxed()),
            ("ztWatch", watch),
        ])
    }

    /// The facts read from the text equal those of the parsed document, and the text is
    /// refused exactly when the document would be.
    fn same_facts(text: &str) {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => assert_eq!(
                BuildFacts::from_json("b", 3, text).ok(),
                Some(BuildFacts::from_record("b", 3, &v)),
                "{text}"
            ),
            Err(_) => assert!(BuildFacts::from_json("b", 3, text).is_err(), "{text}"),
        }
    }

    #[test]
    fn a_key_given_twice_counts_with_its_last_value() {
        for text in [
            r#"{"ztWatch": {"author": "a"}, "ztWatch": {"committer": "c"}}"#,
            r#"{"ztWatch": {"author": "a", "author": 5}}"#,
            r#"{"ztWatch": {"author": 5, "author": "a"}}"#,
            r#"{"ztWatch": 1, "ztWatch": {"commitKey": "k"}}"#,
            r#"{"buildDefinition": {"internalParameters": {"behaviour": {"executed": [{"path": "/a", "path": "/b", "digest": "d"}], "executed": [{"path": "/c"}]}}}}"#,
            r#"{"zt\u0057atch": {"author": "\u0061\n"}}"#,
        ] {
            same_facts(text);
        }
        let f = BuildFacts::from_json("b", 0, r#"{"ztWatch": {"author": 5, "author": "a"}}"#);
        assert_eq!(f.unwrap().author.as_deref(), Some("a"));
    }

    /// What is not JSON is an error, as it was when the record was parsed whole, even in
    /// the members the watch does not read (a string with a lone surrogate, a number out of
    /// range, nesting past serde_json's limit).
    #[test]
    fn text_that_is_not_json_is_refused_as_before() {
        let deep = format!("{{\"runDetails\": {}{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            "",
            "{",
            "[1,]",
            "{} x",
            r#"{"runDetails": 1e400}"#,
            r#"{"runDetails": "\ud800"}"#,
            r#"{"runDetails": "a\u0001b\x"}"#,
            "{\"runDetails\": \"a\u{1}b\"}",
            r#"{"buildDefinition": tru}"#,
            r#"{"ztWatch": {"recordedNs": -0}}"#,
            r#"{"ztWatch": {"recordedNs": 18446744073709551616}}"#,
            r#"{"ztWatch": {"recordedNs": 12.0}}"#,
            deep.as_str(),
        ] {
            same_facts(text);
        }
    }

    proptest::proptest! {
        /// A build record is read back from a ledger anyone with the file can edit: whatever
        /// it holds, reading it never panics.
        #[test]
        fn any_record_reads_without_panicking(v in json_value()) {
            let _ = BuildFacts::from_record("b", 0, &v);
            let _ = BuildFacts::from_record("b", 0, &json!({"buildDefinition": {"internalParameters": {"behaviour": v.clone()}}, "ztWatch": v}));
        }

        /// Reading the text gives the facts of reading the parsed document, whatever the
        /// record holds.
        #[test]
        fn the_text_gives_the_facts_of_the_document(v in record_like()) {
            same_facts(&v.to_string());
            same_facts(&serde_json::to_string_pretty(&v).unwrap_or_default());
        }

        /// And text broken anywhere is refused as the document would be.
        #[test]
        fn broken_text_is_refused_as_the_document_would_be(
            v in record_like(),
            at in 0usize..400,
            insert in proptest::option::of(proptest::sample::select(vec!["", "\"", ",", "}", "]", "{", "[", "-", "1e999", "\\u", "\\ud800", "\u{1}", ":"])),
        ) {
            let text = v.to_string();
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let broken = match insert {
                Some(s) => format!("{}{s}{}", &text[..at], &text[at..]),
                None => {
                    let mut t = text.clone();
                    if at < t.len() {
                        t.remove(at);
                    }
                    t
                }
            };
            same_facts(&broken);
        }
    }
}
