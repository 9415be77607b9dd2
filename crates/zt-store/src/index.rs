//! Reading a Sigstore bundle's index keys (subjects, predicate type, key id, log index) so
//! that callers need not assemble a [`BundleIndex`] by hand.
//!
//! This reads the bundle; it does not verify it. Verification is zt-sign's job and happens
//! before a bundle is stored.

use zt_core::config::Stage;
use zt_core::{Digest, DigestAlgorithm, b64};

use crate::{BundleIndex, Error};

/// Extracts the index of a Sigstore bundle (v0.1 – v0.3 JSON):
/// - a DSSE envelope's in-toto statement gives the subjects and predicate type;
/// - a message signature gives the signed digest as the only subject, and no predicate type;
/// - `verificationMaterial.publicKey.hint` gives the key id (a base64 SHA-256 becomes hex;
///   other hints are kept as written); certificate-signed bundles have no key id here;
/// - the first `tlogEntries[].logIndex` gives the log index.
pub fn from_sigstore_bundle(
    bundle_json: &[u8],
    stage: Option<Stage>,
    recorded_at: i64,
) -> Result<BundleIndex, Error> {
    let bundle: serde_json::Value = serde_json::from_slice(bundle_json)
        .map_err(|e| Error::InvalidBundle(format!("not JSON: {e}")))?;
    let bad = |m: &str| Error::InvalidBundle(m.to_string());

    let algorithms = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];
    let predicate_type =
        match zt_core::bundle::content(&bundle).map_err(|e| Error::InvalidBundle(e.to_string()))? {
            zt_core::bundle::Content::Dsse(statement) => Some(statement.predicate_type),
            zt_core::bundle::Content::MessageSignature(_) => None,
        };
    let subjects = zt_core::bundle::subjects_of(&bundle, &algorithms);
    if subjects.is_empty() {
        return Err(bad("the statement has no sha256 or sha512 subject digest"));
    }

    let material = bundle.get("verificationMaterial");
    let key_id = material
        .and_then(|m| m.get("publicKey"))
        .and_then(|k| k.get("hint"))
        .and_then(|h| h.as_str())
        .map(|hint| match b64::decode(hint) {
            Some(bytes) if bytes.len() == 32 => hex_lower(&bytes),
            _ => hint.to_string(),
        });
    let log_index = match material
        .and_then(|m| m.get("tlogEntries"))
        .and_then(|t| t.as_array())
        .and_then(|t| t.first())
        .and_then(|e| e.get("logIndex"))
    {
        None => None,
        // The protobuf JSON mapping writes int64 as a string; accept a number too.
        Some(v) => Some(
            v.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .or_else(|| v.as_u64())
                .filter(|i| *i <= i64::MAX as u64)
                .ok_or_else(|| bad("`tlogEntries[0].logIndex` is not a non-negative integer"))?,
        ),
    };
    Ok(BundleIndex {
        subjects,
        predicate_type,
        key_id,
        log_index,
        stage,
        recorded_at,
    })
}

/// The git commits (lowercase hex ids) a bundle's statement names: subjects with a
/// `gitCommit` digest (source verification) and SLSA provenance's resolved dependencies with
/// one (what the build was made from). Sorted, without duplicates; empty for a message
/// signature or a bundle that does not parse.
pub fn commits_of(bundle: &serde_json::Value) -> Vec<String> {
    let Some(statement) = zt_core::bundle::statement(bundle) else {
        return Vec::new();
    };
    let is_commit =
        |c: &str| (40..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit());
    let mut out: Vec<String> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.get("gitCommit"))
        .map(String::as_str)
        .chain(
            statement
                .predicate
                .as_ref()
                .and_then(|p| p.pointer("/buildDefinition/resolvedDependencies"))
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| d.pointer("/digest/gitCommit"))
                .filter_map(serde_json::Value::as_str),
        )
        .filter(|c| is_commit(c))
        .map(str::to_ascii_lowercase)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a vulnerability scan (`https://zt.dev/attestation/vuln-scan/v1`) found, as the ledger
/// indexes it: the SBOM it scanned (the predicate's `sbom`, its name in the repository) and
/// every finding. "The open criticals" are the unwaived critical findings of the latest scan
/// of each SBOM; with this index that is one join over the latest scans instead of reading
/// every scan bundle ever recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The scanned SBOM's name.
    pub sbom: String,
    /// Its findings.
    pub findings: Vec<ScanFinding>,
}

/// One finding of a [`Scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanFinding {
    /// The advisory id (`GHSA-…`, `CVE-…`).
    pub advisory: String,
    /// The package (a purl).
    pub package: String,
    /// The severity, lowercase (`critical`, `high`, …).
    pub severity: String,
    /// Whether a waiver covered it when the scan ran.
    pub waived: bool,
}

/// The scan a bundle's statement records, when it is a vulnerability scan; `None` for any
/// other bundle. A finding's `waived` is true unless it is `false` or null (older scans wrote
/// the waiver's reason there).
pub fn scan_of(bundle: &serde_json::Value) -> Option<Scan> {
    let statement = zt_core::bundle::statement(bundle)?;
    if statement.predicate_type != zt_core::predicate::ZT_VULN_SCAN_V1 {
        return None;
    }
    let p = statement.predicate.as_ref()?;
    let sbom = match p.get("sbom") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| v.to_string(), str::to_owned),
        None => String::new(),
    };
    let text = |f: &serde_json::Value, k: &str| {
        f.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let findings = p
        .get("findings")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| ScanFinding {
            advisory: text(f, "id"),
            package: text(f, "package"),
            severity: text(f, "severity").to_ascii_lowercase(),
            waived: f
                .get("waived")
                .is_some_and(|w| !w.is_null() && w != &serde_json::Value::Bool(false)),
        })
        .collect();
    Some(Scan { sbom, findings })
}

/// The figures of a build that the metrics count, read from zt's build record (the SLSA
/// provenance predicate: `buildDefinition.internalParameters`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildFigures {
    /// When the build was recorded (Unix seconds).
    pub recorded_at: i64,
    /// Whether the rebuild matched; `None` when it was not rebuilt.
    pub reproducible: Option<bool>,
    /// The sandbox's set-up time (ms), when behaviour was recorded.
    pub setup_ms: Option<i64>,
    /// The build command's run time (ms), when behaviour was recorded.
    pub duration_ms: Option<i64>,
}

/// [`BuildFigures`] of a build record (`recorded_at` left 0).
pub fn build_figures(record: &serde_json::Value) -> BuildFigures {
    let internal = record.pointer("/buildDefinition/internalParameters");
    let behaviour = internal
        .and_then(|i| i.get("behaviour"))
        .filter(|b| b.get("recorded").and_then(serde_json::Value::as_bool) == Some(true));
    let ms = |k: &str| {
        behaviour.map(|b| {
            b.get(k)
                .and_then(serde_json::Value::as_u64)
                .map_or(0, |v| v.min(i64::MAX as u64) as i64)
        })
    };
    BuildFigures {
        recorded_at: 0,
        reproducible: internal
            .and_then(|i| i.get("reproducible"))
            .and_then(serde_json::Value::as_bool),
        setup_ms: ms("setupMs"),
        duration_ms: ms("durationMs"),
    }
}

/// What a dependency intake decision (`https://zt.dev/attestation/dependency-intake/v1`)
/// decided, as the ledger indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The package's purl as the decision names it.
    pub purl: String,
    /// `admitted`, `held` or `rejected`.
    pub verdict: String,
}

/// An intake decision read back from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeRecord {
    /// The package's purl as the decision names it.
    pub purl: String,
    /// `admitted`, `held` or `rejected`.
    pub verdict: String,
    /// The decision's bundle.
    pub bundle_id: Digest,
    /// The package archive's digest (the statement's subject).
    pub subject: Digest,
    /// When it was recorded (Unix seconds).
    pub recorded_at: i64,
}

/// The intake decision a bundle's statement records, when it is one; `None` otherwise.
pub fn intake_of(bundle: &serde_json::Value) -> Option<Intake> {
    let statement = zt_core::bundle::statement(bundle)?;
    if statement.predicate_type != zt_core::predicate::ZT_INTAKE_V1 {
        return None;
    }
    let p = statement.predicate.as_ref()?;
    let text = |k: &str| p.get(k).and_then(serde_json::Value::as_str);
    Some(Intake {
        purl: text("purl").filter(|p| !p.is_empty())?.to_owned(),
        verdict: text("verdict").unwrap_or("").to_ascii_lowercase(),
    })
}

/// A purl as the ledger compares it: without its qualifiers (`?…`) and subpath (`#…`), so
/// that an SBOM's `pkg:npm/a@1?arch=x` finds the intake decision about `pkg:npm/a@1`.
pub fn purl_key(purl: &str) -> &str {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    &purl[..end]
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(case: &str) -> Vec<u8> {
        fs_err::read(zt_test_support::shared(
            env!("CARGO_MANIFEST_DIR"),
            &format!("sigstore/conformance/{case}/bundle.sigstore.json"),
        ))
        .unwrap()
    }

    #[test]
    fn dsse_bundle_gives_statement_subjects_and_type() {
        let idx = from_sigstore_bundle(&read("happy-path-intoto-in-dsse-v3"), None, 5).unwrap();
        assert_eq!(
            idx.predicate_type.as_deref(),
            Some("https://slsa.dev/provenance/v1")
        );
        assert_eq!(idx.log_index, Some(155_690_850));
        assert_eq!(idx.key_id, None);
        assert_eq!(
            idx.subjects,
            vec![
                "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
                    .parse::<zt_core::Digest>()
                    .unwrap()
            ]
        );
    }

    #[test]
    fn message_signature_bundle_with_key_hint() {
        let idx =
            from_sigstore_bundle(&read("managed-key-happy-path"), Some(Stage::Ci), 5).unwrap();
        assert_eq!(idx.predicate_type, None);
        assert_eq!(idx.log_index, Some(771_488_337));
        // hint TLMsSDfG3ajPsWge+z/vX5T/zluXnmvbkTkwLIV68Tk= as hex.
        assert_eq!(
            idx.key_id.as_deref(),
            Some("4cb32c4837c6dda8cfb1681efb3fef5f94ffce5b979e6bdb9139302c857af139")
        );
        assert_eq!(idx.subjects.len(), 1);
        assert_eq!(idx.subjects[0].algorithm(), DigestAlgorithm::Sha256);
    }

    /// Every conformance bundle that is well-formed JSON yields an index, except the one with
    /// a negative log index; the malformed one is refused.
    #[test]
    fn every_conformance_bundle() {
        let mut ok = 0;
        let mut refused = Vec::new();
        let conformance =
            zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), "sigstore/conformance");
        let mut dirs: Vec<_> = fs_err::read_dir(conformance)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("bundle.sigstore.json").is_file())
            .collect();
        dirs.sort();
        for d in &dirs {
            let bytes = fs_err::read(d.join("bundle.sigstore.json")).unwrap();
            match from_sigstore_bundle(&bytes, None, 0) {
                Ok(idx) => {
                    assert!(!idx.subjects.is_empty());
                    ok += 1;
                }
                Err(_) => refused.push(d.file_name().unwrap().to_string_lossy().into_owned()),
            }
        }
        assert_eq!(dirs.len(), 50);
        assert_eq!(
            refused,
            vec![
                "bundle-malformed-json_fail",
                "bundle-negative-log-index_fail"
            ]
        );
        assert_eq!(ok, 48);
    }

    #[test]
    fn commits_from_subjects_and_provenance() {
        let c1 = "a".repeat(40);
        let c2 = "B".repeat(40);
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"gitCommit": c1, "sha256": "00".repeat(32)}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"resolvedDependencies": [
                {"uri": "git+https://x", "digest": {"gitCommit": c2}},
                {"uri": "bad", "digest": {"gitCommit": "not-hex"}},
                {"uri": "dup", "digest": {"gitCommit": c1}}
            ]}}
        });
        let bundle = serde_json::json!({"dsseEnvelope": {
            "payload": zt_core::b64::encode(statement.to_string().as_bytes()),
            "payloadType": "application/vnd.in-toto+json", "signatures": []}});
        assert_eq!(commits_of(&bundle), vec![c1, "b".repeat(40)]);
        assert!(commits_of(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn garbage_is_refused_not_panicked() {
        for text in [
            "",
            "[]",
            "{}",
            r#"{"dsseEnvelope":{}}"#,
            r#"{"dsseEnvelope":{"payload":"!!"}}"#,
            r#"{"messageSignature":{"messageDigest":{"algorithm":"MD5","digest":"AA=="}}}"#,
            r#"{"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AA=="}}}"#,
        ] {
            assert!(
                from_sigstore_bundle(text.as_bytes(), None, 0).is_err(),
                "{text}"
            );
        }
    }
}
