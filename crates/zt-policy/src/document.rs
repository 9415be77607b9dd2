//! The input document as regorus's value, built from a checked [`PolicyInput`] whose
//! predicates were read as regorus values ([`RegoPredicate`]): the input is parsed once, and
//! the policies see exactly the document that parsing [`PolicyInput::to_json`]'s text would
//! give them (absent optional fields stay absent, an empty `digest` map is left out, the stage
//! is the one set on the typed input), without that text being printed and parsed again.
//!
//! Each struct is taken apart field by field with no `..`, so a field added to the input makes
//! this file fail to compile until it says how the field reaches the policies; the tests in
//! `tests/it/document.rs` compare the two routes on every input they know and on generated ones.

use std::collections::BTreeMap;

use regorus::Value;
use serde::{Deserialize, Serialize};
use zt_core::{ResourceDescriptor, Statement};

use crate::input::{Context, Evidence, LogProof, PolicyInput, Rejected, Signer};

/// A statement's predicate read straight into regorus's value, as the policies will see it
/// (regorus's own reading of JSON: the same numbers, strings, lists and objects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegoPredicate(Value);

impl zt_core::Predicate for RegoPredicate {
    fn is_object(&self) -> bool {
        matches!(self.0, Value::Object(_))
    }
}

impl PolicyInput<RegoPredicate> {
    /// The document as policies see it, as regorus's value: equal to
    /// `Value::from_json_str(&self.to_json())`, without the text. Predicates are shared, not
    /// copied.
    pub fn to_rego(&self) -> Value {
        let PolicyInput {
            version,
            subject,
            evidence,
            rejected,
            context,
        } = self;
        let mut doc = Object::default();
        doc.put("version", Value::from(*version));
        doc.put("subject", descriptor(subject));
        doc.put(
            "evidence",
            Value::from(evidence.iter().map(evidence_value).collect::<Vec<_>>()),
        );
        doc.put(
            "rejected",
            Value::from(rejected.iter().map(rejected_value).collect::<Vec<_>>()),
        );
        doc.put("context", context_value(context));
        doc.into_value()
    }
}

/// An object under construction; fields that serialisation skips are never put.
#[derive(Default)]
struct Object(BTreeMap<Value, Value>);

impl Object {
    fn put(&mut self, key: &str, value: Value) {
        self.0.insert(Value::from(key), value);
    }

    /// A string field that is left out when absent (`skip_serializing_if = "Option::is_none"`).
    fn put_some(&mut self, key: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.put(key, Value::from(v.as_str()));
        }
    }

    fn into_value(self) -> Value {
        Value::from(self.0)
    }
}

fn descriptor(d: &ResourceDescriptor) -> Value {
    let ResourceDescriptor {
        name,
        uri,
        digest,
        content,
        download_location,
        media_type,
        annotations,
    } = d;
    let mut o = Object::default();
    o.put_some("name", name.as_ref());
    o.put_some("uri", uri.as_ref());
    if !digest.is_empty() {
        let mut map = Object::default();
        for (algorithm, hex) in digest {
            map.put(algorithm, Value::from(hex.as_str()));
        }
        o.put("digest", map.into_value());
    }
    o.put_some("content", content.as_ref());
    o.put_some("downloadLocation", download_location.as_ref());
    o.put_some("mediaType", media_type.as_ref());
    if let Some(a) = annotations {
        // Free-form and rare: through serde, as regorus reads any JSON value.
        o.put(
            "annotations",
            Value::from(serde_json::Value::Object(a.clone())),
        );
    }
    o.into_value()
}

fn statement(s: &Statement<RegoPredicate>) -> Value {
    let Statement {
        type_,
        subject,
        predicate_type,
        predicate,
    } = s;
    let mut o = Object::default();
    o.put("_type", Value::from(type_.as_str()));
    o.put(
        "subject",
        Value::from(subject.iter().map(descriptor).collect::<Vec<_>>()),
    );
    o.put("predicateType", Value::from(predicate_type.as_str()));
    if let Some(p) = predicate {
        o.put("predicate", p.0.clone());
    }
    o.into_value()
}

fn evidence_value(e: &Evidence<RegoPredicate>) -> Value {
    let Evidence {
        statement: st,
        signer,
        log,
        time,
        bundle,
    } = e;
    let Signer {
        key_id,
        algorithm,
        identity,
    } = signer;
    let mut s = Object::default();
    s.put("key_id", Value::from(key_id.as_str()));
    s.put_some("algorithm", algorithm.as_ref());
    s.put_some("identity", identity.as_ref());
    let LogProof {
        status,
        index,
        log_id,
    } = log;
    let mut l = Object::default();
    l.put("status", Value::from(status.name()));
    if let Some(i) = index {
        l.put("index", Value::from(*i));
    }
    l.put_some("log_id", log_id.as_ref());
    let mut o = Object::default();
    o.put("statement", statement(st));
    o.put("signer", s.into_value());
    o.put("log", l.into_value());
    o.put("time", Value::from(time.as_str()));
    o.put_some("bundle", bundle.as_ref());
    o.into_value()
}

fn rejected_value(r: &Rejected) -> Value {
    let Rejected {
        source,
        predicate_type,
        reason,
    } = r;
    let mut o = Object::default();
    o.put("source", Value::from(source.as_str()));
    o.put_some("predicate_type", predicate_type.as_ref());
    o.put("reason", Value::from(reason.as_str()));
    o.into_value()
}

fn context_value(c: &Context) -> Value {
    let Context {
        stage,
        time,
        repo,
        git_ref,
    } = c;
    let mut o = Object::default();
    o.put("stage", Value::from(stage.name()));
    o.put("time", Value::from(time.as_str()));
    o.put_some("repo", repo.as_ref());
    o.put_some("ref", git_ref.as_ref());
    o.into_value()
}
