//! The policy input document, version 1 (described for people in `docs/policy-input.md`):
//!
//! ```json
//! {"version": 1,
//!  "subject": {"name": "app.tar.gz", "digest": {"sha256": "…"}},
//!  "evidence": [{"statement": {in-toto Statement v1},
//!                "signer": {"key_id": "…"}, "log": {"status": "verified", "index": 3},
//!                "time": "2026-11-25T10:00:00Z", "bundle": "sha256:…"}],
//!  "rejected": [{"source": "…", "predicate_type": "…", "reason": "…"}],
//!  "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "…", "ref": "…"}}
//! ```
//!
//! Only evidence whose signature verified enters `evidence`; everything that failed goes to
//! `rejected` with the reason. Unknown fields are errors (outside statements' predicates).
//!
//! Predicates are read as `P`: `serde_json::Value` by default, or [`RegoPredicate`] when the
//! input goes straight to the policy engine ([`PolicyInput::read`], then
//! [`crate::Policy::evaluate_rego`]): the input is then parsed once, into the values the
//! policies see, rather than parsed, printed and parsed again.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zt_core::config::Stage;
use zt_core::{Predicate, ResourceDescriptor, Statement};

use crate::Error;
pub use crate::document::RegoPredicate;

/// The input version this zt writes and reads.
pub const INPUT_VERSION: u32 = 1;

/// The whole input document, its statements' predicates read as `P`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `default` fields would make serde ask `P: Default` unless told.
#[serde(deny_unknown_fields, bound(deserialize = "P: Deserialize<'de>"))]
pub struct PolicyInput<P = serde_json::Value> {
    /// Always [`INPUT_VERSION`].
    pub version: u32,
    /// The artifact being judged.
    pub subject: ResourceDescriptor,
    /// Verified statements about it (or about anything; rules check the subject).
    #[serde(default)]
    pub evidence: Vec<Evidence<P>>,
    /// Evidence that failed verification, with reasons.
    #[serde(default)]
    pub rejected: Vec<Rejected>,
    /// Where and when the decision is made.
    pub context: Context,
}

/// One verified statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `default` fields would make serde ask `P: Default` unless told.
#[serde(deny_unknown_fields, bound(deserialize = "P: Deserialize<'de>"))]
pub struct Evidence<P = serde_json::Value> {
    /// The in-toto Statement v1, as signed.
    pub statement: Statement<P>,
    /// Who signed it.
    pub signer: Signer,
    /// Its transparency-log proof.
    pub log: LogProof,
    /// When it was signed or logged (RFC 3339).
    pub time: Timestamp,
    /// Where it came from: a ledger id (`sha256:…`) or a bundle path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

/// The verified signer of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// Key id: hex SHA-256 of the signer's SPKI DER.
    pub key_id: String,
    /// The signature algorithm, e.g. `ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// A certificate identity (for keyless signing), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// The state of a statement's transparency-log proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogProof {
    /// `verified`: inclusion proof checked against a trusted checkpoint; `missing`: no log
    /// entry. (Failed proofs put the evidence in `rejected`.)
    pub status: LogStatus,
    /// The entry's index in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Which log (its origin line or key id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
}

/// See [`LogProof::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStatus {
    /// The inclusion proof verified.
    Verified,
    /// The statement was never logged.
    Missing,
}

impl LogStatus {
    /// The status as written in the input document.
    pub fn name(self) -> &'static str {
        match self {
            LogStatus::Verified => "verified",
            LogStatus::Missing => "missing",
        }
    }
}

/// Evidence that did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejected {
    /// Where it came from: a ledger id or a bundle path.
    pub source: String,
    /// Its claimed predicate type, if it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
    /// Why it was rejected (one line).
    pub reason: String,
}

/// Where and when the decision is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// `ci`, `publish` or `deploy`.
    pub stage: Stage,
    /// The time of the decision (RFC 3339); age checks are relative to it.
    pub time: Timestamp,
    /// The repository (a URL or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The git ref being built or deployed.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// An RFC 3339 date-time, checked when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    /// A timestamp for Unix seconds, in UTC.
    pub fn from_unix(secs: i64) -> Self {
        Self(crate::time::format_rfc3339(secs))
    }

    /// Parses RFC 3339 text.
    pub fn parse(s: &str) -> Option<Self> {
        crate::time::parse_rfc3339(s).map(|_| Self(s.to_string()))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        crate::time::parse_rfc3339(&self.0).unwrap_or_default()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{}` is not an RFC 3339 date-time like 2026-11-25T12:00:00Z",
                s.chars().take(40).collect::<String>()
            ))
        })
    }
}

impl PolicyInput {
    /// Reads and checks an input document. `source_name` (a path) only labels errors, which
    /// name the offending field as a path like `evidence[2].signer.key_id`.
    pub fn from_json(bytes: &[u8], source_name: Option<&str>) -> Result<Self, Error> {
        Self::read(bytes, source_name)
    }
}

impl<P: Predicate + DeserializeOwned> PolicyInput<P> {
    /// Like [`PolicyInput::from_json`], the predicates read as `P`: the same documents are
    /// accepted and refused, with the same errors.
    pub fn read(bytes: &[u8], source_name: Option<&str>) -> Result<Self, Error> {
        let name = source_name.map(str::to_string);
        // One typed pass straight from the bytes (no intermediate JSON tree: inputs can be
        // large), without tracking where it is: recording the path of every value costs as
        // much as the parse itself. Only when it fails do we parse again, tracking the path,
        // to name the offending field, and look closer, to tell broken JSON from a wrong
        // field and a newer version from both.
        if let Ok(input) = serde_json::from_slice::<Self>(bytes)
            && input.version == INPUT_VERSION
        {
            input.check(name)?;
            return Ok(input);
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed: Result<Self, _> = serde_path_to_error::deserialize(&mut de);
        let input = match parsed {
            Ok(input) => {
                // Trailing text after the document is broken JSON too.
                de.end().map_err(|e| Error::InputJson {
                    source_name: name.clone(),
                    message: e.to_string(),
                })?;
                input
            }
            Err(e) => {
                let field = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                    return Err(Error::InputJson {
                        source_name: name,
                        message: inner.to_string(),
                    });
                }
                #[derive(Deserialize)]
                struct VersionOnly {
                    version: Option<u64>,
                }
                if let Ok(VersionOnly { version: Some(n) }) = serde_json::from_slice(bytes)
                    && n != u64::from(INPUT_VERSION)
                {
                    return Err(Error::InputVersion {
                        found: u32::try_from(n).unwrap_or(u32::MAX),
                        supported: INPUT_VERSION,
                    });
                }
                return Err(Error::InputSchema {
                    source_name: name,
                    field: if field == "." {
                        "(document)".into()
                    } else {
                        field
                    },
                    message: inner.to_string(),
                });
            }
        };
        if input.version != INPUT_VERSION {
            return Err(Error::InputVersion {
                found: input.version,
                supported: INPUT_VERSION,
            });
        }
        input.check(name)?;
        Ok(input)
    }

    /// The rules serde cannot express.
    fn check(&self, source_name: Option<String>) -> Result<(), Error> {
        let schema = |field: String, message: String| Error::InputSchema {
            source_name: source_name.clone(),
            field,
            message,
        };
        if self.subject.digest.is_empty() {
            return Err(schema("subject.digest".into(), "is empty".into()));
        }
        for (i, e) in self.evidence.iter().enumerate() {
            e.statement
                .validate()
                .map_err(|err| schema(format!("evidence[{i}].statement"), err.to_string()))?;
            if e.signer.key_id.is_empty() {
                return Err(schema(
                    format!("evidence[{i}].signer.key_id"),
                    "is empty".into(),
                ));
            }
        }
        for (i, r) in self.rejected.iter().enumerate() {
            if r.reason.trim().is_empty() {
                return Err(schema(format!("rejected[{i}].reason"), "is empty".into()));
            }
        }
        Ok(())
    }
}

impl<P: Serialize> PolicyInput<P> {
    /// The document as JSON, as policies see it.
    pub fn to_value(&self) -> serde_json::Value {
        // Every field is a string, number, bool, map or list: serialising cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The document as JSON text, as policies see it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

    fn doc() -> serde_json::Value {
        serde_json::json!({
            "version": 1,
            "subject": {"name": "app", "digest": {"sha256": DIGEST}},
            "evidence": [{
                "statement": {"_type": "https://in-toto.io/Statement/v1",
                    "subject": [{"name": "app", "digest": {"sha256": DIGEST}}],
                    "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}},
                "signer": {"key_id": "ab"},
                "log": {"status": "verified", "index": 1},
                "time": "2026-11-25T10:00:00Z"
            }],
            "rejected": [{"source": "x.json", "reason": "bad signature"}],
            "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "r", "ref": "main"}
        })
    }

    fn parse(v: &serde_json::Value) -> Result<PolicyInput, Error> {
        PolicyInput::from_json(v.to_string().as_bytes(), Some("i.json"))
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::InputSchema { field, .. } => field,
            other => panic!("not a schema error: {other}"),
        }
    }

    #[test]
    fn round_trips() {
        let input = parse(&doc()).unwrap();
        assert_eq!(input.context.stage, Stage::Ci);
        assert_eq!(input.context.time.unix(), 1_795_608_000);
        assert_eq!(input.to_value(), doc());
    }

    #[test]
    fn errors_name_the_field() {
        let mut d = doc();
        d["context"]["stage"] = "prod".into();
        let e = parse(&d).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("field `context.stage`") && text.contains("unknown variant `prod`"),
            "{text}"
        );

        let mut d = doc();
        d["evidence"][0]["signer"]["keyid"] = "x".into();
        assert_eq!(field_of(parse(&d).unwrap_err()), "evidence[0].signer.keyid");

        let mut d = doc();
        d["evidence"][0]["time"] = "yesterday".into();
        assert_eq!(field_of(parse(&d).unwrap_err()), "evidence[0].time");

        let mut d = doc();
        d["evidence"][0]["log"]["status"] = "maybe".into();
        assert_eq!(field_of(parse(&d).unwrap_err()), "evidence[0].log.status");

        let mut d = doc();
        d["evidence"][0]["statement"]["subject"] = serde_json::json!([]);
        assert_eq!(field_of(parse(&d).unwrap_err()), "evidence[0].statement");

        let mut d = doc();
        d.as_object_mut().unwrap().remove("context");
        let e = parse(&d).unwrap_err();
        assert!(e.to_string().contains("missing field `context`"), "{e}");

        let mut d = doc();
        d["rejected"][0]["reason"] = " ".into();
        assert_eq!(field_of(parse(&d).unwrap_err()), "rejected[0].reason");

        let mut d = doc();
        d["subject"]["digest"] = serde_json::json!({});
        assert_eq!(field_of(parse(&d).unwrap_err()), "subject.digest");
    }

    /// The plain parse (no path tracking) must accept exactly what the tracking parse
    /// accepted: trailing whitespace yes, trailing text or a second document no, a newer
    /// version no, and each refusal reported as the tracking parse reports it.
    #[test]
    fn the_untracked_parse_accepts_what_the_tracking_parse_accepted() {
        let text = doc().to_string();
        assert_eq!(
            PolicyInput::from_json(format!("{text} \n\t").as_bytes(), None).unwrap(),
            parse(&doc()).unwrap()
        );
        for refused in [format!("{text}{text}"), format!("{text} null")] {
            let e = PolicyInput::from_json(refused.as_bytes(), None).unwrap_err();
            assert!(matches!(e, Error::InputJson { .. }), "{e}");
        }
        let mut d = doc();
        d["version"] = 2.into();
        assert!(matches!(
            parse(&d),
            Err(Error::InputVersion { found: 2, .. })
        ));
        let mut d = doc();
        d["evidence"][0]["signer"]["key_id"] = "".into();
        assert_eq!(
            field_of(parse(&d).unwrap_err()),
            "evidence[0].signer.key_id"
        );
    }

    #[test]
    fn version_and_syntax() {
        let mut d = doc();
        d["version"] = 2.into();
        assert!(matches!(
            parse(&d),
            Err(Error::InputVersion {
                found: 2,
                supported: 1
            })
        ));
        let e = PolicyInput::from_json(b"{\"version\": 1,", Some("i.json")).unwrap_err();
        assert!(matches!(e, Error::InputJson { .. }), "{e}");
        assert!(e.to_string().contains("`i.json`"));
        let trailing = format!("{} x", doc());
        let e = PolicyInput::from_json(trailing.as_bytes(), None).unwrap_err();
        assert!(matches!(e, Error::InputJson { .. }), "{e}");
        // A newer version is reported as such even when its fields are unknown to this zt.
        let mut d = doc();
        d["version"] = 2.into();
        d["novelty"] = true.into();
        assert!(matches!(
            parse(&d),
            Err(Error::InputVersion { found: 2, .. })
        ));
    }
}
