//! The upstream-provenance check of intake: what the verified provenance document (npm SLSA
//! provenance, PyPI PEP 740 attestation) says, judged against `[deps.provenance]`:
//!
//! | requirement | no document | document fails to verify | verified, other repository |
//! |---|---|---|---|
//! | `require` | rejected (`provenance-missing`) | rejected (`provenance-invalid`) | held (`provenance-source-changed`) |
//! | `prefer` | admitted; held if the package has an expected repository | rejected | held |
//! | `off` | not checked | not checked | not checked |
//!
//! A package that suddenly publishes from another repository (or stops publishing
//! provenance while its expected repository is configured) is held for a person to look at,
//! the seed's "signature verification failed" case. Verification itself (certificates, log
//! proofs, the subject digest) is the caller's (zt-sign's); this module only decides.

use zt_core::config::ProvenanceRequirement;

use super::Reason;

/// What the caller found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Evidence {
    /// No provenance document was given.
    #[default]
    None,
    /// A document verified: the repository it names, and every fact it established.
    Verified {
        /// The document's file name.
        document: String,
        /// The source repository (or signer identity) the certificate names.
        repository: String,
        /// What verification established (kind, subject, digest, identity, issuer, commit,
        /// workflow, …), recorded as is.
        facts: serde_json::Value,
    },
    /// A document was given but does not verify.
    Failed {
        /// The document's file name.
        document: String,
        /// Why.
        error: String,
    },
}

/// The provenance part of an intake policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `[deps.provenance]` for the package's ecosystem.
    pub requirement: Option<ProvenanceRequirement>,
    /// The repository `[[deps.provenance.package]]` expects, if any.
    pub expected_repository: Option<String>,
    /// What was verified.
    pub evidence: Evidence,
}

/// The recorded outcome (part of the signed decision).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProvenanceCheck {
    /// `verified`, `failed`, `missing`.
    pub status: &'static str,
    /// `require` or `prefer`.
    pub requirement: &'static str,
    /// The document checked, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The repository the configuration expects, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_repository: Option<String>,
    /// The repository the provenance names, if verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// What verification established, if verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<serde_json::Value>,
    /// Why verification failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Compares repository URLs loosely: scheme, `www.`, a trailing `/` or `.git` and case do
/// not matter (`github.com/Org/Repo` = `https://github.com/org/repo.git`).
pub fn same_repository(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("git+").unwrap_or(&s);
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        let s = s.strip_prefix("www.").unwrap_or(s);
        let s = s.trim_end_matches('/');
        s.strip_suffix(".git").unwrap_or(s).to_owned()
    }
    norm(a) == norm(b)
}

/// Judges the evidence; returns what to record (nothing when provenance was neither asked
/// for nor given) and the reason it rejects or holds, if any.
pub fn judge(p: &Provenance, package: &str) -> (Option<ProvenanceCheck>, Option<Reason>) {
    let requirement = p.requirement.unwrap_or_default();
    let req_name = match requirement {
        ProvenanceRequirement::Off => return (None, None),
        ProvenanceRequirement::Require => "require",
        ProvenanceRequirement::Prefer => "prefer",
    };
    let mut check = ProvenanceCheck {
        status: "missing",
        requirement: req_name,
        document: None,
        expected_repository: p.expected_repository.clone(),
        repository: None,
        verified: None,
        error: None,
    };
    let reason = |rule: &str, hold: bool, message: String| Reason {
        rule: rule.into(),
        hold,
        message,
    };
    match &p.evidence {
        Evidence::None => {
            if requirement == ProvenanceRequirement::Require {
                let r = reason(
                    "provenance-missing",
                    false,
                    format!(
                        "`[deps.provenance]` requires upstream provenance and none was given for `{package}`: pass the registry's attestation document with `--provenance FILE`"
                    ),
                );
                (Some(check), Some(r))
            } else if let Some(want) = &p.expected_repository {
                let r = reason(
                    "provenance-missing",
                    true,
                    format!(
                        "`{package}` is expected to publish from `{want}` with provenance, and this version comes without: pass its attestation with `--provenance FILE`, or have someone check why it stopped"
                    ),
                );
                (Some(check), Some(r))
            } else {
                (None, None)
            }
        }
        Evidence::Failed { document, error } => {
            check.status = "failed";
            check.document = Some(document.clone());
            check.error = Some(error.clone());
            let r = reason(
                "provenance-invalid",
                false,
                format!("the provenance `{document}` does not verify: {error}"),
            );
            (Some(check), Some(r))
        }
        Evidence::Verified {
            document,
            repository,
            facts,
        } => {
            check.status = "verified";
            check.document = Some(document.clone());
            check.repository = Some(repository.clone());
            check.verified = Some(facts.clone());
            let r = p
                .expected_repository
                .as_ref()
                .filter(|want| !same_repository(want, repository))
                .map(|want| {
                    reason(
                        "provenance-source-changed",
                        true,
                        format!(
                            "`{package}` was published from `{repository}`, but `[[deps.provenance.package]]` expects `{want}`: a maintainer must confirm the move before `zt.toml` is changed"
                        ),
                    )
                });
            (Some(check), r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(repo: &str) -> Evidence {
        Evidence::Verified {
            document: "p.json".into(),
            repository: repo.into(),
            facts: serde_json::json!({"kind": "npm-provenance"}),
        }
    }

    #[test]
    fn same_repository_ignores_scheme_case_and_suffixes() {
        assert!(same_repository(
            "https://github.com/sigstore/sigstore-js",
            "github.com/Sigstore/sigstore-js.git/"
        ));
        assert!(same_repository(
            "git+https://github.com/a/b",
            "https://www.github.com/a/b"
        ));
        assert!(!same_repository(
            "https://github.com/a/b",
            "https://github.com/a/bb"
        ));
        assert!(!same_repository(
            "https://github.com/a/b",
            "https://gitlab.com/a/b"
        ));
    }

    #[test]
    fn a_package_that_publishes_from_another_repository_is_held() {
        let p = Provenance {
            requirement: Some(ProvenanceRequirement::Prefer),
            expected_repository: Some("https://github.com/sigstore/sigstore-js".into()),
            evidence: verified("https://github.com/evil/sigstore-js"),
        };
        let (check, reason) = judge(&p, "pkg:npm/sigstore");
        let reason = reason.unwrap_or_else(|| unreachable!());
        assert!(reason.hold);
        assert_eq!(reason.rule, "provenance-source-changed");
        assert!(reason.message.contains("evil"), "{}", reason.message);
        assert_eq!(check.map(|c| c.status), Some("verified"));
        // the expected repository passes
        let ok = Provenance {
            evidence: verified("https://github.com/sigstore/sigstore-js"),
            ..p
        };
        assert_eq!(judge(&ok, "pkg:npm/sigstore").1, None);
    }

    #[test]
    fn require_rejects_missing_and_invalid_prefer_admits_missing_off_checks_nothing() {
        let mut p = Provenance {
            requirement: Some(ProvenanceRequirement::Require),
            ..Provenance::default()
        };
        let (_, r) = judge(&p, "pkg:npm/x");
        assert!(
            r.as_ref()
                .is_some_and(|r| !r.hold && r.rule == "provenance-missing")
        );
        p.requirement = Some(ProvenanceRequirement::Prefer);
        assert_eq!(judge(&p, "pkg:npm/x"), (None, None));
        p.expected_repository = Some("https://github.com/a/x".into());
        let (_, r) = judge(&p, "pkg:npm/x");
        assert!(r.is_some_and(|r| r.hold && r.rule == "provenance-missing"));
        p.evidence = Evidence::Failed {
            document: "p.json".into(),
            error: "signature check failed".into(),
        };
        let (c, r) = judge(&p, "pkg:npm/x");
        assert!(r.is_some_and(|r| !r.hold && r.rule == "provenance-invalid"));
        assert_eq!(c.map(|c| c.status), Some("failed"));
        p.requirement = Some(ProvenanceRequirement::Off);
        assert_eq!(judge(&p, "pkg:npm/x"), (None, None));
    }
}
