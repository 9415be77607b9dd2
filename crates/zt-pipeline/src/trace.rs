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
    let shown = shown(digest, gathered);
    let (intake, deployments) = ledger_reads(ledger, digest, &shown.purls)?;
    Ok(Trace {
        digest: digest.to_string(),
        builds: shown.builds,
        commits: shown.commits,
        dependencies: shown.dependencies,
        signers: shown.signers,
        decisions,
        rejected: shown.rejected,
        intake,
        deployments,
    })
}

/// What a trace shows that is a function of the gathered evidence alone (no ledger read, no
/// judgement): the evidence hub keeps it, serialized, with the gathering ([`Parts`]).
pub(crate) struct Shown {
    builds: Vec<Build>,
    commits: Vec<Commit>,
    dependencies: Vec<Dependency>,
    signers: Vec<SignerSummary>,
    rejected: Vec<RejectedBundle>,
    /// The dependencies' package URLs, for the intake decisions.
    purls: Vec<String>,
}

/// A trace's JSON around its decisions and ledger reads, as [`Trace`] serializes: `head` is
/// `{"digest":…,"builds":…,"commits":…,"dependencies":…,"signers":…,"decisions":[`,
/// `tail` is `],"rejected":…,"intake":`; the decisions, the intake decisions and
/// `,"deployments":…}` go between and after ([`Parts::write`]).
pub(crate) struct Parts {
    head: Vec<u8>,
    tail: Vec<u8>,
    purls: Vec<String>,
}

impl Parts {
    /// The parts of `digest`'s trace from `gathered`.
    pub(crate) fn of(digest: &Digest, gathered: &crate::gate::Gathered) -> Result<Self, Error> {
        let s = shown(digest, gathered);
        let mut head = Vec::with_capacity(4096);
        head.extend_from_slice(b"{\"digest\":");
        put(&mut head, &digest.to_string())?;
        head.extend_from_slice(b",\"builds\":");
        put(&mut head, &s.builds)?;
        head.extend_from_slice(b",\"commits\":");
        put(&mut head, &s.commits)?;
        head.extend_from_slice(b",\"dependencies\":");
        put(&mut head, &s.dependencies)?;
        head.extend_from_slice(b",\"signers\":");
        put(&mut head, &s.signers)?;
        head.extend_from_slice(b",\"decisions\":[");
        let mut tail = Vec::with_capacity(256);
        tail.extend_from_slice(b"],\"rejected\":");
        put(&mut tail, &s.rejected)?;
        tail.extend_from_slice(b",\"intake\":");
        Ok(Self {
            head,
            tail,
            purls: s.purls,
        })
    }

    /// The package URLs whose intake decisions the trace shows ([`reads`]).
    pub(crate) fn purls(&self) -> &[String] {
        &self.purls
    }

    /// The trace's JSON, byte for byte what serializing [`assemble`]'s [`Trace`] gives:
    /// these parts, `decisions` (each a serialized [`Decision`]) and the ledger's reads
    /// ([`reads`] of this digest and [`Parts::purls`]).
    pub(crate) fn write(&self, reads: &Reads, decisions: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let (intake, deployments) = reads;
        let mut out = Vec::with_capacity(
            self.head.len()
                + self.tail.len()
                + decisions.iter().map(|d| d.len() + 1).sum::<usize>()
                + 256,
        );
        out.extend_from_slice(&self.head);
        for (i, d) in decisions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(d);
        }
        out.extend_from_slice(&self.tail);
        put(&mut out, &intake)?;
        out.extend_from_slice(b",\"deployments\":");
        put(&mut out, &deployments)?;
        out.push(b'}');
        Ok(out)
    }
}

/// `value`'s JSON (serde_json's compact form, as `Trace` is sent) appended to `out`.
fn put(out: &mut Vec<u8>, value: &impl Serialize) -> Result<(), Error> {
    serde_json::to_writer(out, value).map_err(std::io::Error::from)?;
    Ok(())
}

/// What a trace reads from the ledger besides the evidence.
pub(crate) type Reads = (Vec<IntakeDecision>, Vec<Deployment>);

/// The intake decisions about `purls` and the deploy reviews of `digest`, from the ledger.
pub(crate) fn reads(
    ledger: Option<&dyn zt_store::Ledger>,
    digest: &Digest,
    purls: &[String],
) -> Result<Reads, Error> {
    ledger_reads(ledger, digest, purls)
}

fn ledger_reads(
    ledger: Option<&dyn zt_store::Ledger>,
    digest: &Digest,
    purls: &[String],
) -> Result<Reads, Error> {
    let Some(l) = ledger else {
        return Ok((Vec::new(), Vec::new()));
    };
    let (intake, reviews) = l.trace_reads(purls, digest, MAX_DEPLOYMENTS)?;
    Ok((
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
    ))
}

/// The parts of the trace of `digest` that come from the gathered evidence alone.
fn shown(digest: &Digest, gathered: &crate::gate::Gathered) -> Shown {
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
    Shown {
        purls: intake_purls(&dependencies),
        builds,
        commits: commits.into_values().collect(),
        dependencies,
        signers,
        rejected,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evidence(statement: Value, key: &str, bundle: &str) -> Evidence {
        serde_json::from_value(json!({
            "statement": statement,
            "signer": {"key_id": key, "algorithm": "ed25519"},
            "log": {"status": "verified", "index": 3},
            "time": "2026-12-01T10:00:00Z",
            "bundle": bundle,
        }))
        .unwrap()
    }

    /// A gathering with every part a trace shows: a build (command, sandbox record, a commit
    /// and a non-git dependency), an SBOM whose names need escaping, the commit's source
    /// verification, a rejected bundle.
    fn gathered(digest: &Digest) -> crate::gate::Gathered {
        let hex = digest.hex();
        let commit = "a".repeat(40);
        let subject = json!([{"name": "out/app", "digest": {"sha256": hex}}]);
        let provenance = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subject,
            "predicateType": predicate::SLSA_PROVENANCE_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://zt.dev/build/v1",
                    "externalParameters": {"command": ["sh", "-c", "make \"all\""]},
                    "internalParameters": {"hermetic": true, "sandbox": {"network": "none"}},
                    "resolvedDependencies": [
                        {"uri": "git+https://example.com/app", "digest": {"gitCommit": commit}},
                        {"uri": "https://example.com/toolchain.tar.gz", "digest": {"sha256": "00"}},
                    ],
                },
                "runDetails": {"builder": {"id": "https://zt.dev/builder"}, "metadata": {"invocationId": "run-1"}},
            },
        });
        let sbom = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subject,
            "predicateType": predicate::CYCLONEDX,
            "predicate": {"components": [
                {"name": "z\u{e9}ta \"quoted\"", "version": "1.0", "purl": "pkg:cargo/zeta@1.0"},
                {"name": "alpha", "version": "2.0", "purl": "pkg:npm/alpha@2.0"},
            ]},
        });
        let source = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "commit", "digest": {"gitCommit": commit, "sha256": "11"}}],
            "predicateType": predicate::ZT_SOURCE_VERIFICATION_V1,
            "predicate": {"verified": true, "verdicts": {"good": 1}},
        });
        crate::gate::Gathered {
            digest: digest.clone(),
            name: digest.to_string(),
            verified: vec![
                evidence(provenance, "k1", "ledger:sha256:01"),
                evidence(sbom, "k2", "ledger:sha256:02"),
                evidence(source, "k1", "ledger:sha256:03"),
            ],
            rejected: vec![zt_policy::input::Rejected {
                source: "ledger:sha256:04".into(),
                predicate_type: None,
                reason: "signature does not verify\twith any key".into(),
            }],
            commits: Vec::new(),
        }
    }

    fn decisions() -> Vec<Decision> {
        vec![
            Decision {
                stage: "ci".into(),
                allow: true,
                deny: Vec::new(),
            },
            Decision {
                stage: "deploy".into(),
                allow: false,
                deny: vec![
                    json!({"id": "vuln.missing", "message": "no scan", "remediation": "run `zt vuln scan`", "doc": "d"}),
                ],
            },
        ]
    }

    /// The hub sends a trace as its kept parts with the decisions and the ledger's reads
    /// spliced in; the bytes must be exactly what serializing the assembled trace gives, or
    /// a client parsing one and the other would see different traces.
    #[test]
    fn kept_parts_write_the_bytes_the_assembled_trace_serializes_to() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::new(dir.path());
        let mut ledger = crate::ledger::open(&ws).unwrap();
        let digest = Digest::sha256(b"artifact");
        ledger
            .put_deployments(&[zt_store::Deployment {
                digest: digest.clone(),
                at: 1_765_000_000,
                allowed: false,
                operation: "CREATE".into(),
                kind: "Pod".into(),
                namespace: "prod".into(),
                name: "app".into(),
                log_index: Some(7),
            }])
            .unwrap();
        let gathered = gathered(&digest);
        let parts = Parts::of(&digest, &gathered).unwrap();
        for (ledger, decisions) in [
            (Some(&*ledger), decisions()),
            (Some(&*ledger), Vec::new()),
            (None, decisions()),
        ] {
            let whole = assemble(ledger, &digest, &gathered, decisions.clone()).unwrap();
            assert!(ledger.is_none() || !whole.deployments.is_empty());
            assert!(!whole.dependencies.is_empty() && !whole.builds.is_empty());
            let each: Vec<Vec<u8>> = decisions
                .iter()
                .map(|d| serde_json::to_vec(d).unwrap())
                .collect();
            let each: Vec<&[u8]> = each.iter().map(Vec::as_slice).collect();
            let read = reads(ledger, &digest, parts.purls()).unwrap();
            let written = parts.write(&read, &each).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&whole).unwrap()
            );
        }
    }
}
