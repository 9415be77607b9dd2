//! Incident workflows (`zt incident …`): each finds what the compromise touched, contains it
//! where zt can (revoke the key, quarantine the package), re-decides every affected artifact
//! with the gate, lists the builds to redo, and writes a signed incident record to the log
//! and the evidence store (predicate [`INCIDENT_PREDICATE`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};
use zt_core::config::Stage;
use zt_core::statement::{ResourceDescriptor, Statement};
use zt_core::{Digest, Workspace};
use zt_store::BundleQuery;

use crate::Error;
use crate::gate::{Target, judge};

/// The predicate type of an incident record.
pub const INCIDENT_PREDICATE: &str = "https://zt.dev/attestation/incident/v1";

/// What happened.
#[derive(Debug, Clone)]
pub enum Incident {
    /// A signing key was compromised at `at` (Unix seconds).
    KeyCompromised {
        /// The key id (hex SHA-256 of its SPKI DER, or `sha256:<hex>`).
        key: String,
        /// Since when it must not be trusted.
        at: i64,
    },
    /// A package (its purl) is malicious.
    BadPackage {
        /// The package URL.
        purl: String,
    },
    /// A commit is malicious: it and every descendant.
    BadCommit {
        /// The commit id.
        commit: String,
    },
}

impl Incident {
    fn kind(&self) -> &'static str {
        match self {
            Incident::KeyCompromised { .. } => "key-compromised",
            Incident::BadPackage { .. } => "bad-package",
            Incident::BadCommit { .. } => "bad-commit",
        }
    }
}

/// An artifact decided again.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Redecided {
    /// The artifact's digest.
    pub digest: String,
    /// Whether the gate (at `deploy`) admits it now.
    pub allowed: bool,
    /// The rules that deny it now.
    pub denies: Vec<String>,
}

/// What an incident workflow did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// `key-compromised`, `bad-package` or `bad-commit`.
    pub incident: &'static str,
    /// The key id, purl or commit.
    pub subject: String,
    /// What was done, in order, in words.
    pub actions: Vec<String>,
    /// The evidence that shows the compromise's reach (bundles, SBOMs, commits).
    pub found: Vec<String>,
    /// Every affected artifact, decided again.
    pub redecided: Vec<Redecided>,
    /// The builds to redo (their ids).
    pub rebuild: Vec<String>,
    /// The incident record: its signed and logged bundle, or, when the pipeline key is itself
    /// the revoked key, the unsigned statement (`signed` false; sign it once a new key is in
    /// `zt.toml`).
    pub record: PathBuf,
    /// Its log index (signed records).
    pub log_index: Option<u64>,
    /// Whether the record is signed and logged.
    pub signed: bool,
}

/// Runs the workflow for `incident`.
pub fn respond(ws: &Workspace, incident: &Incident) -> Result<Report, Error> {
    let mut actions = Vec::new();
    let mut found = Vec::new();
    let mut artifacts: BTreeSet<Digest> = BTreeSet::new();
    let mut rebuild: BTreeSet<String> = BTreeSet::new();
    let subject = match incident {
        Incident::KeyCompromised { key, at } => {
            let radius =
                crate::revoke::revoke(ws, key, "compromised (zt incident)", *at, ws.now())?;
            actions.push(if radius.already_revoked {
                format!(
                    "key {} was already revoked from {}",
                    radius.key_id,
                    zt_core::time::rfc3339(radius.revoked_at)
                )
            } else {
                format!(
                    "revoked key {} from {}",
                    radius.key_id,
                    zt_core::time::rfc3339(radius.revoked_at)
                )
            });
            for b in &radius.bundles {
                found.push(format!(
                    "bundle {} ({}) {}",
                    b.id,
                    b.predicate_type.as_deref().unwrap_or("signature"),
                    if b.still_trusted {
                        "logged before the revocation: still trusted"
                    } else {
                        "now rejected"
                    }
                ));
                for s in &b.subjects {
                    if let Some(d) = parse_digest(s) {
                        artifacts.insert(d);
                    }
                }
            }
            rebuild.extend(radius.builds.iter().cloned());
            radius.key_id
        }
        Incident::BadPackage { purl } => {
            let mirror = zt_deps::intake::mirror::Mirror::in_repo(ws.root());
            match mirror.quarantine(purl, "malicious (zt incident)", &zt_core::time::rfc3339(ws.now()))? {
                true => actions.push(format!("quarantined {purl} in the mirror (`.zt/mirror/quarantine.json`); it is no longer served")),
                false => actions.push(format!("{purl} is not in the mirror: nothing to quarantine")),
            }
            let ledger = crate::ledger::open(ws)?;
            for pt in [zt_core::predicate::CYCLONEDX, zt_core::predicate::SPDX_23] {
                for stored in ledger.find_bundles(&BundleQuery::predicate_type(pt))? {
                    let Ok(json) = serde_json::from_str::<Value>(&stored.json) else {
                        continue;
                    };
                    let Some(st) = crate::evidence::statement(&json) else {
                        continue;
                    };
                    if !mentions(st.predicate.as_ref().unwrap_or(&Value::Null), purl) {
                        continue;
                    }
                    found.push(format!("SBOM bundle {} lists {purl}", stored.id));
                    for d in &stored.index.subjects {
                        artifacts.insert(d.clone());
                        for b in ledger.builds_producing(d)? {
                            rebuild.insert(b.id);
                        }
                    }
                }
            }
            purl.clone()
        }
        Incident::BadCommit { commit } => {
            let commits = descendants(ws, commit)?;
            actions.push(format!(
                "{} commit(s): {commit} and its descendants (git rev-list --ancestry-path)",
                commits.len()
            ));
            let ledger = crate::ledger::open(ws)?;
            for b in ledger.builds_since(i64::MIN)? {
                let built = b
                    .record
                    .pointer("/buildDefinition/externalParameters/source")
                    .and_then(Value::as_str);
                if let Some(c) = built
                    && commits.contains(c)
                {
                    found.push(format!("build {} of commit {c}", b.id));
                    artifacts.extend(b.outputs.iter().cloned());
                    rebuild.insert(b.id);
                }
            }
            commit.clone()
        }
    };
    let mut redecided = Vec::new();
    for d in &artifacts {
        let j = judge(ws, &Target::Digest(d.clone()), Stage::Deploy, &[])?;
        redecided.push(Redecided {
            digest: d.to_string(),
            allowed: j.decision.allow,
            denies: j.decision.deny.iter().map(|x| x.id.clone()).collect(),
        });
    }
    actions.push(format!(
        "re-decided {} artifact(s) at deploy: {} now denied",
        redecided.len(),
        redecided.iter().filter(|r| !r.allowed).count()
    ));
    let rebuild: Vec<String> = rebuild.into_iter().collect();
    let statement = Statement::new(
        vec![ResourceDescriptor::subject(
            format!("{}:{subject}", incident.kind()),
            &Digest::sha256(subject.as_bytes()),
        )],
        INCIDENT_PREDICATE,
        json!({
            "incident": incident.kind(),
            "subject": subject,
            "recordedAt": zt_core::time::rfc3339(ws.now()),
            "actions": actions,
            "found": found,
            "redecided": redecided,
            "rebuild": rebuild,
        }),
    );
    let (record, log_index, signed) = match crate::evidence::attest(ws, "incident", &statement) {
        Ok((path, index)) => (path, Some(index), true),
        // The compromised key was the pipeline key: it signs nothing more, this record
        // included. The statement is kept unsigned until a new key signs it.
        Err(Error::RevokedKey { .. }) => {
            let path = ws.layout().provenance().join(format!(
                "incident-{}-{}.intoto.json",
                incident.kind(),
                ws.now()
            ));
            zt_core::fsutil::write_atomic(&path, &statement.to_json())?;
            (path, None, false)
        }
        Err(e) => return Err(e),
    };
    Ok(Report {
        incident: incident.kind(),
        subject,
        actions,
        found,
        redecided,
        rebuild,
        record,
        log_index,
        signed,
    })
}

fn parse_digest(s: &str) -> Option<Digest> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    Digest::from_hex(zt_core::DigestAlgorithm::Sha256, hex).ok()
}

/// Whether an SBOM (CycloneDX or SPDX JSON) lists `purl` (anywhere: components, packages'
/// external references), ignoring a `?qualifiers`/`#subpath` difference.
fn mentions(v: &Value, purl: &str) -> bool {
    let base = |p: &str| p.split(['?', '#']).next().unwrap_or(p).to_owned();
    let want = base(purl);
    match v {
        Value::String(s) => base(s) == want,
        Value::Array(a) => a.iter().any(|x| mentions(x, purl)),
        Value::Object(o) => o.values().any(|x| mentions(x, purl)),
        _ => false,
    }
}

/// `commit` and every commit of the repository that descends from it.
fn descendants(ws: &Workspace, commit: &str) -> Result<BTreeSet<String>, Error> {
    let git = |args: &[&str]| -> Result<String, Error> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(ws.root())
            .args(args)
            .output()
            .map_err(|e| Error::Input {
                what: format!("cannot run git: {e}"),
                help: "install git and run `zt incident bad-commit COMMIT` in the repository"
                    .into(),
            })?;
        if !out.status.success() {
            return Err(Error::Input {
                what: format!(
                    "git {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                help: "give a commit of this repository: `zt incident bad-commit COMMIT`".into(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let full = git(&["rev-parse", "--verify", &format!("{commit}^{{commit}}")])?
        .trim()
        .to_owned();
    let mut set: BTreeSet<String> =
        git(&["rev-list", "--ancestry-path", &format!("^{full}"), "--all"])?
            .lines()
            .map(str::to_owned)
            .collect();
    set.insert(full);
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sbom_mentions_a_purl_whatever_its_qualifiers() {
        let sbom = json!({"components": [{"purl": "pkg:npm/left-pad@1.3.0?repository_url=x"}]});
        assert!(mentions(&sbom, "pkg:npm/left-pad@1.3.0"));
        assert!(!mentions(&sbom, "pkg:npm/left-pad@1.3.1"));
        assert!(!mentions(
            &json!({"name": "left-pad"}),
            "pkg:npm/left-pad@1.3.0"
        ));
    }
}
