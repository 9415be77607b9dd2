//! The trace of a digest: "which build made this, from what, signed by whom, and is it
//! allowed?" — `zt trace FILE|DIGEST` and `GET /api/v1/trace/{digest}`.
//!
//! The trace reads only **verified** evidence: it gathers the digest's evidence with the gate
//! ([`crate::gate::gather_only`]) and reads the build, commits and dependencies from the
//! statements that verified, so a forged or revoked bundle never appears in a trace except
//! among `rejected`, with the reason. Without decisions (`zt trace` by default) it verifies
//! only what it shows ([`SHOWN`]: provenance, SBOMs, source verifications) and compiles no
//! policy; with them (`zt trace --decisions`, and the server's trace) it verifies every bundle
//! about the digest and judges them at every stage with one compiled policy.
//!
//! - `builds`: each SLSA provenance about the digest: builder, invocation id, build type,
//!   times, the command, and the sandbox record zt's builder writes (`internalParameters`).
//! - `commits`: the git commits the provenance names as resolved dependencies, each with the
//!   verdict of the verified source-verification statement about it (or none).
//! - `dependencies`: the components of the verified SBOMs about the digest (CycloneDX
//!   `components`, SPDX `packages`), and the provenance's non-git resolved dependencies.
//! - `signers`: each key that signed verified evidence (of what the trace verified), with
//!   what it signed.
//! - `decisions`: the judgement at `ci`, `publish` and `deploy`, every deny with its fix
//!   (empty unless asked for).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zt_core::config::Stage;
use zt_core::{Digest, Workspace, predicate};
use zt_policy::input::Evidence;

use crate::Error;
use crate::gate::{Judgement, Target};

/// The trace of one digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    /// The digest traced.
    pub digest: String,
    /// The builds that produced it.
    pub builds: Vec<Build>,
    /// The commits it was built from, each with its signature verdict.
    pub commits: Vec<Commit>,
    /// What went into it.
    pub dependencies: Vec<Dependency>,
    /// Who signed its evidence.
    pub signers: Vec<SignerSummary>,
    /// The judgement at each stage (empty when decisions were not asked for).
    pub decisions: Vec<Decision>,
    /// Bundles that claim the digest but did not verify, with why.
    pub rejected: Vec<RejectedBundle>,
    /// What dependency intake decided about the dependencies (by package URL), oldest first.
    #[serde(default)]
    pub intake: Vec<IntakeDecision>,
    /// Where the digest was to be deployed: the deploy admission reviews of it, newest first
    /// (at most [`MAX_DEPLOYMENTS`]).
    #[serde(default)]
    pub deployments: Vec<Deployment>,
}

/// The most deploy reviews a trace lists.
pub const MAX_DEPLOYMENTS: u32 = 20;

/// An intake decision about one of the dependencies, as the ledger recorded it. The ledger
/// holds only evidence that verified when it was recorded (signed by `zt deps intake`, or
/// uploaded and verified by the hub); `bundle` is its id, for the evidence itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IntakeDecision {
    /// The package URL the decision names.
    pub purl: String,
    /// `admitted`, `held` or `rejected`.
    pub verdict: String,
    /// The decision's bundle id.
    pub bundle: String,
    /// The package archive's digest the decision is about.
    pub subject: String,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
}

/// A deploy admission review of the digest (`zt serve`'s admission webhook).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deployment {
    /// When (RFC 3339).
    pub at: String,
    /// Whether the review admitted it.
    pub allowed: bool,
    /// `CREATE` or `UPDATE`.
    pub operation: String,
    /// The object: `Kind namespace/name`.
    pub object: String,
    /// The review's entry in the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

/// One build, from verified SLSA provenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Build {
    /// `runDetails.builder.id`.
    pub builder: Option<String>,
    /// `runDetails.metadata.invocationId`.
    pub invocation: Option<String>,
    /// `buildDefinition.buildType`.
    pub build_type: Option<String>,
    /// `runDetails.metadata.startedOn`.
    pub started_on: Option<String>,
    /// `runDetails.metadata.finishedOn`.
    pub finished_on: Option<String>,
    /// `buildDefinition.externalParameters.command`.
    pub command: Option<Value>,
    /// `buildDefinition.internalParameters` (zt's sandbox record: hermetic, sandbox,
    /// environment, reproducible).
    pub sandbox: Option<Value>,
    /// The key that signed the provenance.
    pub signer: String,
    /// Where the bundle came from.
    pub bundle: Option<String>,
}

/// A commit the build was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    /// The git commit id.
    pub commit: String,
    /// The repository URI the provenance names.
    pub uri: Option<String>,
    /// `verified`, `failed`, or `unverified` (no verified source-verification statement).
    pub verdict: String,
    /// The source verification's per-verdict counts, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Value>,
    /// The key that signed the source verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
}

/// A dependency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dependency {
    /// Its name.
    pub name: String,
    /// Its version, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its package URL or URI, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Where zt learned of it: `sbom` or `provenance`.
    pub source: String,
}

/// A signer and what it signed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignerSummary {
    /// The key id.
    pub key_id: String,
    /// The predicate types of the evidence it signed.
    pub predicate_types: Vec<String>,
}

/// The judgement at one stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// The stage.
    pub stage: String,
    /// Whether it is allowed.
    pub allow: bool,
    /// Every deny: rule id, message, fix.
    pub deny: Vec<Value>,
}

/// A bundle that did not verify.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RejectedBundle {
    /// Where it came from.
    pub source: String,
    /// Why it was rejected.
    pub reason: String,
}

/// The predicate types a trace shows without judging: the provenance (builds, commits,
/// dependencies), the SBOMs (dependencies) and the source verifications of the commits.
pub const SHOWN: &[&str] = &[
    predicate::SLSA_PROVENANCE_V1,
    predicate::CYCLONEDX,
    predicate::SPDX_23,
    predicate::ZT_SOURCE_VERIFICATION_V1,
];

/// The trace of `digest` from the workspace's ledger (and evidence store). With `decisions`,
/// every piece of evidence is verified and policy judges it at every stage; without, only the
/// evidence the trace shows ([`SHOWN`]) is verified, and no policy is compiled.
pub fn trace(ws: &Workspace, digest: &Digest, decisions: bool) -> Result<Trace, Error> {
    let ledger = crate::ledger::open_existing(ws)?;
    let trusted = crate::gate::Trusted::of(ws)?;
    if decisions {
        // One compiled policy and one read of the decision context for the three stages.
        trace_in(ws, ledger.as_deref(), &trusted.cached(ws), digest)
    } else {
        trace_shown(ws, ledger.as_deref(), &trusted, digest)
    }
}

/// The trace without decisions (see [`trace`]), with the ledger already open.
pub fn trace_shown(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &crate::gate::Trusted,
    digest: &Digest,
) -> Result<Trace, Error> {
    let target = Target::Digest(digest.clone());
    let gathered = crate::gate::gather_only(ws, ledger, trusted, &target, &[], Some(SHOWN))?;
    assemble(ledger, digest, &gathered, Vec::new())
}

/// As [`trace`] with decisions, with the ledger already open.
pub fn trace_in(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &crate::gate::Trusted,
    digest: &Digest,
) -> Result<Trace, Error> {
    let target = Target::Digest(digest.clone());
    // The evidence is gathered and verified once; policy judges it at every stage.
    let gathered = crate::gate::gather(ws, ledger, trusted, &target, &[])?;
    let mut judgements: Vec<(Stage, Judgement)> = Vec::new();
    for stage in Stage::ALL {
        judgements.push((
            stage,
            crate::gate::judge_gathered(ws, trusted, &gathered, stage)?,
        ));
    }
    let judged: Vec<(Stage, &Judgement)> = judgements.iter().map(|(s, j)| (*s, j)).collect();
    assemble(ledger, digest, &gathered, decisions(&judged))
}

/// The trace's decisions from the judgements at each stage.
pub(crate) fn decisions(judgements: &[(Stage, &Judgement)]) -> Vec<Decision> {
    judgements
        .iter()
        .map(|(stage, j)| Decision {
            stage: stage.name().to_owned(),
            allow: j.decision.allow,
            deny: j
                .decision
                .deny
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.id, "message": d.message, "remediation": d.remediation, "doc": d.doc,
                    })
                })
                .collect(),
        })
        .collect()
}

/// The trace of verified evidence (and the rejected bundles, and the ledger's intake
/// decisions and deployments).
pub(crate) fn assemble(
    ledger: Option<&dyn zt_store::Ledger>,
    digest: &Digest,
    gathered: &crate::gate::Gathered,
    decisions: Vec<Decision>,
) -> Result<Trace, Error> {
    let evidence = &gathered.verified;
    let hex = digest.hex();
    let about_digest = |e: &&Evidence| {
        e.statement
            .subject
            .iter()
            .any(|s| s.digest.get("sha256").map(String::as_str) == Some(hex.as_str()))
    };

    let mut builds = Vec::new();
    let mut commits: BTreeMap<String, Commit> = BTreeMap::new();
    let mut dependencies = Vec::new();
    for e in evidence.iter().filter(about_digest) {
        let p = e.statement.predicate.as_ref().unwrap_or(&Value::Null);
        let text = |ptr: &str| p.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
        match e.statement.predicate_type.as_str() {
            predicate::SLSA_PROVENANCE_V1 => {
                builds.push(Build {
                    builder: text("/runDetails/builder/id"),
                    invocation: text("/runDetails/metadata/invocationId"),
                    build_type: text("/buildDefinition/buildType"),
                    started_on: text("/runDetails/metadata/startedOn"),
                    finished_on: text("/runDetails/metadata/finishedOn"),
                    command: p
                        .pointer("/buildDefinition/externalParameters/command")
                        .cloned(),
                    sandbox: p.pointer("/buildDefinition/internalParameters").cloned(),
                    signer: e.signer.key_id.clone(),
                    bundle: e.bundle.clone(),
                });
                let deps = p
                    .pointer("/buildDefinition/resolvedDependencies")
                    .and_then(Value::as_array);
                for d in deps.into_iter().flatten() {
                    let uri = d.get("uri").and_then(Value::as_str).map(str::to_owned);
                    match d.pointer("/digest/gitCommit").and_then(Value::as_str) {
                        Some(c) => {
                            commits.entry(c.to_ascii_lowercase()).or_insert(Commit {
                                commit: c.to_ascii_lowercase(),
                                uri,
                                verdict: "unverified".into(),
                                verdicts: None,
                                verified_by: None,
                            });
                        }
                        None => dependencies.push(Dependency {
                            name: d
                                .get("name")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .or_else(|| uri.clone())
                                .unwrap_or_default(),
                            version: None,
                            purl: uri,
                            source: "provenance".into(),
                        }),
                    }
                }
            }
            predicate::CYCLONEDX => {
                for c in p
                    .get("components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    dependencies.push(Dependency {
                        name: c.get("name").and_then(Value::as_str).unwrap_or("").into(),
                        version: c.get("version").and_then(Value::as_str).map(str::to_owned),
                        purl: c.get("purl").and_then(Value::as_str).map(str::to_owned),
                        source: "sbom".into(),
                    });
                }
            }
            predicate::SPDX_23 => {
                for c in p
                    .get("packages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let purl = c
                        .get("externalRefs")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                        .and_then(|r| r.get("referenceLocator"))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    dependencies.push(Dependency {
                        name: c.get("name").and_then(Value::as_str).unwrap_or("").into(),
                        version: c
                            .get("versionInfo")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        purl,
                        source: "sbom".into(),
                    });
                }
            }
            _ => {}
        }
    }
    // The verdict of each commit: the verified source-verification statements about it.
    for e in evidence
        .iter()
        .filter(|e| e.statement.predicate_type == predicate::ZT_SOURCE_VERIFICATION_V1)
    {
        for s in &e.statement.subject {
            let Some(c) = s.digest.get("gitCommit") else {
                continue;
            };
            if let Some(commit) = commits.get_mut(&c.to_ascii_lowercase()) {
                let p = e.statement.predicate.as_ref();
                let ok = p
                    .and_then(|p| p.get("verified"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                // A failed verification wins over a passing one.
                if commit.verdict != "failed" {
                    commit.verdict = if ok { "verified" } else { "failed" }.into();
                    commit.verdicts = p.and_then(|p| p.get("verdicts")).cloned();
                    commit.verified_by = Some(e.signer.key_id.clone());
                }
            }
        }
    }
    dependencies.sort();
    dependencies.dedup();

    let mut signers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in evidence {
        let types = signers.entry(e.signer.key_id.clone()).or_default();
        if !types.contains(&e.statement.predicate_type) {
            types.push(e.statement.predicate_type.clone());
        }
    }
    let signers = signers
        .into_iter()
        .map(|(key_id, mut predicate_types)| {
            predicate_types.sort();
            SignerSummary {
                key_id,
                predicate_types,
            }
        })
        .collect();
    let rejected = gathered
        .rejected
        .iter()
        .map(|r| RejectedBundle {
            source: r.source.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    let (intake, deployments) = match ledger {
        Some(l) => {
            let (intake, reviews) =
                l.trace_reads(&intake_purls(&dependencies), digest, MAX_DEPLOYMENTS)?;
            (
                intake.into_iter().map(intake_decision).collect(),
                reviews
                    .into_iter()
                    .map(|d| Deployment {
                        at: zt_core::time::rfc3339(d.at),
                        allowed: d.allowed,
                        operation: d.operation,
                        object: if d.namespace.is_empty() {
                            format!("{} {}", d.kind, d.name)
                        } else {
                            format!("{} {}/{}", d.kind, d.namespace, d.name)
                        },
                        log_index: d.log_index,
                    })
                    .collect(),
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(Trace {
        digest: digest.to_string(),
        builds,
        commits: commits.into_values().collect(),
        dependencies,
        signers,
        decisions,
        rejected,
        intake,
        deployments,
    })
}

/// The package URLs of the dependencies that have one (what intake decisions are about).
fn intake_purls(dependencies: &[Dependency]) -> Vec<String> {
    dependencies
        .iter()
        .filter_map(|d| d.purl.as_deref())
        .filter(|p| p.starts_with("pkg:"))
        .map(str::to_owned)
        .collect()
}

fn intake_decision(r: zt_store::index::IntakeRecord) -> IntakeDecision {
    IntakeDecision {
        purl: r.purl,
        verdict: r.verdict,
        bundle: r.bundle_id.to_string(),
        subject: r.subject.to_string(),
        recorded_at: zt_core::time::rfc3339(r.recorded_at),
    }
}

impl Trace {
    /// The latest intake decision about a dependency's package URL (qualifiers and subpath
    /// aside), if any.
    pub fn intake_for(&self, purl: &str) -> Option<&IntakeDecision> {
        let key = zt_store::index::purl_key(purl);
        self.intake
            .iter()
            .rev()
            .find(|d| zt_store::index::purl_key(&d.purl) == key)
    }

    /// The trace as a Graphviz `dot` graph: commits → builds → the artifact, dependencies →
    /// the artifact, signers → what they signed.
    pub fn to_dot(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from("digraph trace {\n  rankdir=LR;\n");
        let artifact = q(&self.digest);
        out.push_str(&format!("  {artifact} [shape=box];\n"));
        for (i, b) in self.builds.iter().enumerate() {
            let node = q(&format!(
                "build {}",
                b.invocation.clone().unwrap_or_else(|| i.to_string())
            ));
            out.push_str(&format!("  {node} -> {artifact} [label=\"built\"];\n"));
            for c in &self.commits {
                out.push_str(&format!(
                    "  {} -> {node} [label={}];\n",
                    q(&format!("commit {}", c.commit)),
                    q(&c.verdict)
                ));
            }
            out.push_str(&format!(
                "  {} -> {node} [label=\"signed\"];\n",
                q(&format!("key {}", b.signer))
            ));
        }
        for d in &self.dependencies {
            let name = match &d.version {
                Some(v) => format!("{}@{v}", d.name),
                None => d.name.clone(),
            };
            out.push_str(&format!("  {} -> {artifact};\n", q(&name)));
        }
        for d in &self.decisions {
            out.push_str(&format!(
                "  {artifact} -> {} [label={}];\n",
                q(&format!(
                    "{}: {}",
                    d.stage,
                    if d.allow { "allow" } else { "deny" }
                )),
                q("decision")
            ));
        }
        out.push_str("}\n");
        out
    }
}
