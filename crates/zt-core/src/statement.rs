//! in-toto Statement v1: a typed claim (the predicate) about one or more subjects.
//!
//! Parsing is strict: an unknown `_type`, an empty subject list, a subject without a digest,
//! a digest value that is not hex for a known algorithm, or a missing `predicateType` is an error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Digest, DigestAlgorithm, Error};

/// The `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE_V1: &str = "https://in-toto.io/Statement/v1";

/// The DSSE payload type of in-toto statements.
pub const PAYLOAD_TYPE_INTOTO: &str = "application/vnd.in-toto+json";

/// An in-toto ResourceDescriptor: what a statement is about, or something it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDescriptor {
    /// A name for the resource, e.g. a file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI locating the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Algorithm → hex value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// The resource's contents, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where to download the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// The media type of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Free-form extra information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ResourceDescriptor {
    /// A subject naming a file and its digest.
    pub fn subject(name: impl Into<String>, digest: &Digest) -> Self {
        let mut map = BTreeMap::new();
        map.insert(digest.algorithm().name().to_string(), digest.hex());
        Self {
            name: Some(name.into()),
            digest: map,
            ..Self::default()
        }
    }

    /// The descriptor's digest for the given algorithm, if it has one that parses.
    pub fn digest_for(&self, algorithm: DigestAlgorithm) -> Option<Digest> {
        let value = self.digest.get(algorithm.name())?;
        Digest::from_hex(algorithm, value).ok()
    }

    /// Whether any digest in this descriptor equals `digest`.
    pub fn matches(&self, digest: &Digest) -> bool {
        self.digest_for(digest.algorithm()).as_ref() == Some(digest)
    }
}

/// What a statement's predicate is read as: a JSON tree of some kind. zt reads it as a
/// `serde_json::Value`; a consumer that hands predicates straight to another engine may read
/// them as that engine's value instead (zt-policy reads them as regorus values) and skip a
/// conversion.
pub trait Predicate {
    /// Whether the predicate is a JSON object (the only shape in-toto allows).
    fn is_object(&self) -> bool;
}

impl Predicate for serde_json::Value {
    fn is_object(&self) -> bool {
        serde_json::Value::is_object(self)
    }
}

/// An in-toto Statement v1, its predicate read as `P` (by default a `serde_json::Value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// The predicate is optional (`default`), which makes serde ask `P: Default` unless told.
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(deserialize = "P: Deserialize<'de>")
)]
pub struct Statement<P = serde_json::Value> {
    /// Always [`STATEMENT_TYPE_V1`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// What the statement is about; never empty, each with a digest.
    pub subject: Vec<ResourceDescriptor>,
    /// The URI naming the predicate's schema.
    pub predicate_type: String,
    /// The claim itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<P>,
}

impl Statement {
    /// A new statement about `subject` with the given predicate.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Self {
        Self {
            type_: STATEMENT_TYPE_V1.to_string(),
            subject,
            predicate_type: predicate_type.into(),
            predicate: Some(predicate),
        }
    }

    /// Parses and validates a statement from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let statement: Statement =
            serde_json::from_slice(bytes).map_err(|e| Error::InvalidStatement(e.to_string()))?;
        statement.validate()?;
        Ok(statement)
    }

    /// Serialises to canonical-enough JSON: keys sorted (serde_json's map is ordered), no
    /// whitespace, so equal statements give equal bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // A Statement holds only strings, maps and JSON values: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl<P: Predicate> Statement<P> {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), Error> {
        if self.type_ != STATEMENT_TYPE_V1 {
            return Err(Error::InvalidStatement(format!(
                "unknown `_type` `{}` (expected `{STATEMENT_TYPE_V1}`)",
                self.type_
            )));
        }
        if self.subject.is_empty() {
            return Err(Error::InvalidStatement("`subject` is empty".into()));
        }
        for (i, s) in self.subject.iter().enumerate() {
            if s.digest.is_empty() {
                return Err(Error::InvalidStatement(format!(
                    "subject {i}{} has no digest",
                    s.name
                        .as_deref()
                        .map(|n| format!(" (`{n}`)"))
                        .unwrap_or_default()
                )));
            }
            for (algo, value) in &s.digest {
                if let Some(a) = DigestAlgorithm::from_name(algo) {
                    Digest::from_hex(a, value).map_err(|e| {
                        Error::InvalidStatement(format!("subject {i}: {algo} digest: {e}"))
                    })?;
                } else if value.is_empty() {
                    return Err(Error::InvalidStatement(format!(
                        "subject {i}: empty `{algo}` digest"
                    )));
                }
            }
        }
        if self.predicate_type.is_empty() {
            return Err(Error::InvalidStatement("`predicateType` is empty".into()));
        }
        if let Some(p) = &self.predicate
            && !p.is_object()
        {
            return Err(Error::InvalidStatement(
                "`predicate` must be a JSON object".into(),
            ));
        }
        Ok(())
    }

    /// Whether any subject of this statement has `digest`.
    pub fn is_about(&self, digest: &Digest) -> bool {
        self.subject.iter().any(|s| s.matches(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHARED: &str = "../../../shared/testdata/sigstore/statement.json";

    #[test]
    fn reads_the_conformance_statement() {
        let bytes = fs_err::read(SHARED).unwrap();
        let s = Statement::from_json(&bytes).unwrap();
        assert_eq!(s.predicate_type, crate::predicate::SLSA_PROVENANCE_V1);
        let d: Digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
            .parse()
            .unwrap();
        assert!(s.is_about(&d));
    }

    #[test]
    fn strictness() {
        let ok = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}}],"predicateType":"x","predicate":{}}"#;
        Statement::from_json(ok.as_bytes()).unwrap();
        let cases = [
            ok.replace("Statement/v1", "Statement/v9"),
            ok.replace(r#""digest":{"sha256":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}"#, r#""digest":{}"#),
            ok.replace("a0cfc7", "zzzzzz"),
            ok.replace(r#""predicateType":"x","#, ""),
            ok.replace(r#""predicate":{}"#, r#""predicate":[]"#),
            ok.replace(r#""_type""#, r#""extra":1,"_type""#),
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}"#.to_string(),
        ];
        for c in cases {
            assert!(Statement::from_json(c.as_bytes()).is_err(), "accepted {c}");
        }
    }

    #[test]
    fn serialisation_is_deterministic() {
        let d = Digest::sha256(b"x");
        let s = Statement::new(
            vec![ResourceDescriptor::subject("x", &d)],
            "t",
            serde_json::json!({"b": 1, "a": 2}),
        );
        let bytes = s.to_json();
        assert_eq!(Statement::from_json(&bytes).unwrap().to_json(), bytes);
        assert!(
            String::from_utf8(bytes)
                .unwrap()
                .contains(r#"{"a":2,"b":1}"#)
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Statement::from_json(&bytes);
        }
    }
}
