//! What the watch knows about one build: the facts its baselines are made of, read from the
//! build record zt keeps in the ledger (the SLSA provenance predicate, whose
//! `internalParameters.behaviour` the sandbox filled, plus the `ztWatch` object the pipeline
//! adds: the signing key, the commit's author, committer and signing key).

use serde_json::Value;

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

    proptest::proptest! {
        /// A build record is read back from a ledger anyone with the file can edit: whatever
        /// it holds, reading it never panics.
        #[test]
        fn any_record_reads_without_panicking(v in json_value()) {
            let _ = BuildFacts::from_record("b", 0, &v);
            let _ = BuildFacts::from_record("b", 0, &json!({"buildDefinition": {"internalParameters": {"behaviour": v.clone()}}, "ztWatch": v}));
        }
    }
}
