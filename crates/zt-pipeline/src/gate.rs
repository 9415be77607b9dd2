//! The gate: gather an artifact's evidence, verify every piece offline, and judge the verified
//! statements with policy for a stage. `zt verify FILE --stage`, `zt build verify` and the
//! pipeline's last stage all come here.

use std::path::PathBuf;

use zt_core::Workspace;
use zt_core::config::Stage;
use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor};
use zt_policy::input::{Context, Evidence, LogProof, LogStatus, Rejected, Signer, Timestamp};
use zt_policy::{Decision, Policy, PolicyInput, PolicySet};
use zt_sign::verify::{Artifact, Identity, Request, verify};
use zt_sign::{PublicKey, bundle, transparency};

use crate::{Error, evidence, revoke};

/// An artifact judged at a stage.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// The artifact's digest.
    pub digest: Digest,
    /// The policy input that was evaluated (verified evidence and rejections).
    pub input: PolicyInput,
    /// Allow, or every deny with its fix.
    pub decision: Decision,
}

/// What is judged: a file (hashed here) or a digest alone (responders often have only that;
/// the evidence then comes from the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file in or below the workspace.
    File(PathBuf),
    /// An artifact known by its digest.
    Digest(Digest),
}

impl Target {
    /// `sha256:<hex>` is a digest; anything else a path.
    pub fn parse(arg: &str) -> Result<Self, Error> {
        if let Some(hex) = arg.strip_prefix("sha256:") {
            let digest =
                Digest::from_hex(DigestAlgorithm::Sha256, hex).map_err(|_| Error::Input {
                    what: format!("`{arg}` is not a SHA-256 digest"),
                    help: "give `sha256:` followed by 64 hex digits, or the artifact's path".into(),
                })?;
            return Ok(Target::Digest(digest));
        }
        let path = PathBuf::from(arg);
        if !path.is_file() {
            return Err(Error::Input {
                what: format!("`{arg}` is not a file"),
                help: "pass the artifact's path, or its digest as `sha256:<hex>` to judge from the ledger".into(),
            });
        }
        Ok(Target::File(fs_err::canonicalize(&path)?))
    }
}

/// Judges `target` for `stage` from the evidence about its digest: the bundles the
/// workspace's ledger holds about it (or, where the ledger has none, the bundle files under
/// `.zt/bundles` about it), plus `extra` bundle files.
///
/// Evidence follows the digest: bundles about other digests — earlier builds of the same
/// path, say — are history, neither counted nor rejected. A bundle that claims this digest and
/// fails verification is rejected.
pub fn judge(
    ws: &Workspace,
    target: &Target,
    stage: Stage,
    extra: &[PathBuf],
) -> Result<Judgement, Error> {
    let ledger = crate::ledger::open_existing(ws)?;
    let trusted = Trusted::of(ws)?;
    judge_in(ws, ledger.as_deref(), &trusted, target, stage, extra)
}

/// What evidence is verified against: the keys `zt.toml` trusts and the trusted root (logs).
#[derive(Debug, Clone)]
pub struct Trusted {
    /// The trusted keys with key material.
    pub keys: Vec<PublicKey>,
    /// The Sigstore trusted root JSON.
    pub root: String,
    /// For a long-running judge (the evidence hub): the decision context and compiled
    /// policies, made once instead of at every judgement.
    cache: Option<std::sync::Arc<Cache>>,
}

/// What a long-running judge keeps between judgements.
#[derive(Debug)]
struct Cache {
    repo: Option<String>,
    git_ref: Option<String>,
    /// Compiled policies, each used by one judgement at a time.
    policies: std::sync::Mutex<Vec<Policy>>,
    /// The SHA-256 of the trust bundles are verified against (the trusted root's JSON and the
    /// trusted keys' ids), part of every key of `verified`.
    trust: Digest,
    /// Bundles that verified, by (bundle id, trust, artifact digest): what verification
    /// establishes is a function of the bundle's bytes, the trust it is checked against and
    /// the artifact, so its signature and log proof are checked once. Revocation is judged
    /// again every time.
    verified: Memo,
    /// Decisions by the SHA-256 of the policy input's JSON (see [`judge_gathered`]), and
    /// whether evaluating it read the decision's time.
    decisions: std::sync::Mutex<std::collections::HashMap<Digest, (Decision, zt_policy::Clock)>>,
    /// The SHA-256 of commit objects (as git frames them) by commit id, from the repository.
    commits: std::sync::Mutex<std::collections::HashMap<String, Digest>>,
}

/// Verified bundles by (bundle id, trust digest, artifact digest).
type Memo =
    std::sync::Mutex<std::collections::HashMap<(Digest, Digest, Digest), std::sync::Arc<Verdict>>>;

/// A bundle that verified: which trusted key, what verification established, its JSON.
#[derive(Debug)]
struct Verdict {
    key_index: usize,
    verified: zt_sign::verify::Verified,
    json: serde_json::Value,
}

/// The most verified bundles a long-running judge remembers (then it starts over).
const MAX_VERIFIED: usize = 100_000;
/// The most decisions a long-running judge remembers (then it starts over).
const MAX_DECISIONS: usize = 10_000;

impl Trusted {
    /// The workspace's: [`trusted_keys`] and [`trusted_root`].
    pub fn of(ws: &Workspace) -> Result<Self, Error> {
        Ok(Self::new(trusted_keys(ws)?, trusted_root(ws)?))
    }

    /// These keys and this trusted root.
    pub fn new(keys: Vec<PublicKey>, root: String) -> Self {
        Self {
            keys,
            root,
            cache: None,
        }
    }

    /// The same trust for a long-running judge over `ws`: the context policy sees (repository,
    /// ref) is read once, and compiled policies are kept and reused. `zt.toml` and the
    /// policies are then read when this is made, not at every judgement.
    pub fn cached(mut self, ws: &Workspace) -> Self {
        let mut trust = self.root.clone();
        for key in &self.keys {
            trust.push('\n');
            trust.push_str(&key.key_id());
        }
        self.cache = Some(std::sync::Arc::new(Cache {
            trust: Digest::sha256(trust.as_bytes()),
            repo: crate::context::repository(ws.root()),
            git_ref: crate::context::git_ref(ws.root()),
            policies: std::sync::Mutex::new(Vec::new()),
            verified: std::sync::Mutex::new(std::collections::HashMap::new()),
            decisions: std::sync::Mutex::new(std::collections::HashMap::new()),
            commits: std::sync::Mutex::new(std::collections::HashMap::new()),
        }));
        self
    }
}

/// The keys `zt.toml` trusts that have key material (so signatures can be checked).
pub fn trusted_keys(ws: &Workspace) -> Result<Vec<PublicKey>, Error> {
    let config = ws.config().map_err(|e| Error::Policy(e.to_string()))?;
    let mut keys = Vec::new();
    for key in &config.trust.keys {
        if let Some(p) = &key.public_key {
            keys.push(PublicKey::load(&ws.root().join(p))?);
        }
    }
    Ok(keys)
}

/// The trusted root bundles are checked against: the public-good root plus the workspace's
/// own log (when it has one).
pub fn trusted_root(ws: &Workspace) -> Result<String, Error> {
    let mut root: serde_json::Value =
        serde_json::from_str(zt_sign::verify::PRODUCTION_TRUSTED_ROOT).unwrap_or_default();
    let log_dir = ws.layout().log();
    if log_dir.join("log.pub").exists() {
        zt_sign::rekor::merge_tlogs(&mut root, &transparency::trusted_root(&log_dir)?);
    }
    Ok(root.to_string())
}

/// As [`judge`], with the ledger already open (`None`: the workspace has none) and the trust
/// already read, as the evidence hub calls it for every decision (its trusted root also
/// names the CI runners' logs it accepts).
pub fn judge_in(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &Trusted,
    target: &Target,
    stage: Stage,
    extra: &[PathBuf],
) -> Result<Judgement, Error> {
    let gathered = gather(ws, ledger, trusted, target, extra)?;
    judge_gathered(ws, trusted, &gathered, stage)
}

/// An artifact's evidence, verified, before any stage is judged: what [`judge_gathered`]
/// gives policy, once for every stage a caller judges (a trace judges three).
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The artifact's digest.
    pub digest: Digest,
    /// Its name in the statement policy sees (the path, or the digest).
    pub name: String,
    /// The verified evidence, by predicate type then source.
    pub verified: Vec<Evidence>,
    /// The bundles that claim the digest and did not verify, by source.
    pub rejected: Vec<Rejected>,
    /// The commits the verified provenance names, each with the SHA-256 of its object as the
    /// repository gave it then (`None`: the repository did not have it), sorted: what the
    /// source verifications were looked up by.
    pub commits: Vec<(String, Option<Digest>)>,
}

/// Gathers and verifies the evidence about `target` (see [`judge`]): the ledger's bundles
/// about its digest (or the store's files where the ledger has none), `extra` files, and the
/// source verifications of the commits its verified provenance names.
pub fn gather(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &Trusted,
    target: &Target,
    extra: &[PathBuf],
) -> Result<Gathered, Error> {
    gather_only(ws, ledger, trusted, target, extra, None)
}

/// As [`gather`], verifying only the bundles whose statement has one of `only`'s predicate
/// types (all when `None`): a reader that shows some evidence (`zt trace` without
/// decisions) verifies what it shows and nothing else. The ledger's predicate-type column
/// only saves parsing the others; what is kept is judged by the verified statement.
pub fn gather_only(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &Trusted,
    target: &Target,
    extra: &[PathBuf],
    only: Option<&[&str]>,
) -> Result<Gathered, Error> {
    let (digest, name, file) = match target {
        Target::File(path) => {
            let digest = Digest::of_file(DigestAlgorithm::Sha256, path)?;
            let name = ws.relative(path).to_string_lossy().into_owned();
            (digest, name, Artifact::File(path.clone()))
        }
        Target::Digest(d) => (d.clone(), d.to_string(), Artifact::Digest(d.clone())),
    };

    let keys = &trusted.keys;
    let root = &trusted.root;

    let mut candidates = Vec::new();
    let mut files = Vec::new();
    if let Some(ledger) = ledger {
        for stored in ledger.find_bundles(&zt_store::BundleQuery::subject(&digest))? {
            if wanted(only, stored.index.predicate_type.as_deref()) {
                candidates.push(Candidate::stored(stored));
            }
        }
    }
    // The ledger is the index of the evidence store. Where it knows nothing about this digest
    // (no ledger, a new one, one that lost rows), the store's files are read instead, so that
    // evidence that exists is judged — and named when it fails — rather than silently absent.
    if candidates.is_empty() {
        files = evidence::about(ws, &digest)?;
    }
    files.extend(extra.iter().cloned());
    let candidates = with_files(candidates, files)?;

    let checker = Checker {
        signatures: Signatures {
            keys,
            root,
            digest_only: matches!(target, Target::Digest(_)),
            memo: trusted.cache.as_deref().map(|c| (&c.verified, &c.trust)),
            only,
        },
        ledger,
        now: ws.now(),
        revocations: revoke::Finder::new(ws, ledger, keys, root),
    };
    let mut verified = Vec::new();
    let mut rejected = Vec::new();
    let about_file: Vec<(Candidate, Artifact)> =
        candidates.into_iter().map(|c| (c, file.clone())).collect();
    checker.check_all(about_file, &mut verified, &mut rejected)?;
    // The source verifications of the commits the artifact's provenance was built from: their
    // subject is a commit, not the artifact, so they are found through the provenance.
    let (sources, commits) = source_candidates(ws, ledger, trusted, &verified)?;
    checker.check_all(sources, &mut verified, &mut rejected)?;

    // One order whatever the ledger's: by predicate type, then where the bundle came from.
    verified.sort_by(|a, b| {
        (&a.statement.predicate_type, &a.bundle).cmp(&(&b.statement.predicate_type, &b.bundle))
    });
    rejected.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(Gathered {
        digest,
        name,
        verified,
        rejected,
        commits,
    })
}

/// Judges gathered evidence at `stage`: the policy input (evidence, rejections, the decision
/// context) evaluated by the workspace's policies. A long-running judge ([`Trusted::cached`])
/// evaluates an input it has seen before only once: the input carries the decision time to the
/// second, so a remembered decision is the one evaluation would give — unless a policy reads
/// the clock or another impure built-in, and then nothing is remembered.
pub fn judge_gathered(
    ws: &Workspace,
    trusted: &Trusted,
    gathered: &Gathered,
    stage: Stage,
) -> Result<Judgement, Error> {
    Ok(judge_gathered_pure(ws, trusted, gathered, stage, ws.now())?.0)
}

/// For how long a judgement may be remembered, the gathered evidence, stage, repository and
/// ref unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// Not at all: a policy reads the clock or another impure built-in.
    Never,
    /// For its input's second: the evaluation may have read the decision's time.
    ThisSecond,
    /// At any time: the evaluation read nothing that could reach the decision's time
    /// ([`zt_policy::Clock::Unread`]), so evaluating at another second gives the same decision.
    AnyTime,
}

/// As [`judge_gathered`] at time `now` (Unix seconds), and for how long the decision may be
/// remembered ([`Holds`]).
pub(crate) fn judge_gathered_pure(
    ws: &Workspace,
    trusted: &Trusted,
    gathered: &Gathered,
    stage: Stage,
    now: i64,
) -> Result<(Judgement, Holds), Error> {
    let repo = ws.root();
    let input = PolicyInput {
        version: zt_policy::INPUT_VERSION,
        subject: ResourceDescriptor::subject(gathered.name.clone(), &gathered.digest),
        evidence: gathered.verified.clone(),
        rejected: gathered.rejected.clone(),
        context: Context {
            stage,
            time: Timestamp::from_unix(now),
            repo: match &trusted.cache {
                Some(c) => c.repo.clone(),
                None => crate::context::repository(repo),
            },
            git_ref: match &trusted.cache {
                Some(c) => c.git_ref.clone(),
                None => crate::context::git_ref(repo),
            },
        },
    };
    let json = input.to_json();
    let key = Digest::sha256(json.as_bytes());
    if let Some(c) = &trusted.cache
        && let Some((decision, clock)) = relock(&c.decisions).get(&key)
    {
        // Only the decisions of pure policies are remembered.
        return Ok((
            Judgement {
                digest: gathered.digest.clone(),
                input,
                decision: decision.clone(),
            },
            holds(true, *clock),
        ));
    }
    let pooled = trusted
        .cache
        .as_ref()
        .and_then(|c| relock(&c.policies).pop());
    let mut policy = match pooled {
        Some(p) => p,
        None => {
            let config = ws.config().map_err(|e| Error::Policy(e.to_string()))?;
            let set = PolicySet::from_config(&config.policy, repo, None)?;
            let data = zt_policy::policy_data(&config, repo)?;
            let mut policy = Policy::compile(&set, data)?;
            if trusted.cache.is_some() {
                // A long-running judge remembers decisions; one that never read the time
                // holds at every time.
                policy.track_clock();
            }
            policy
        }
    };
    let (decision, clock) = policy.evaluate_text_clocked(&json)?;
    let pure = policy.is_pure();
    // Back to the pool only after a clean evaluation.
    if let Some(c) = &trusted.cache {
        if policy.is_pure() {
            let mut decisions = relock(&c.decisions);
            if decisions.len() >= MAX_DECISIONS {
                decisions.clear();
            }
            decisions.insert(key, (decision.clone(), clock));
        }
        relock(&c.policies).push(policy);
    }
    Ok((
        Judgement {
            digest: gathered.digest.clone(),
            input,
            decision,
        },
        holds(pure, clock),
    ))
}

fn holds(pure: bool, clock: zt_policy::Clock) -> Holds {
    match (pure, clock) {
        (false, _) => Holds::Never,
        (true, zt_policy::Clock::MayHaveRead) => Holds::ThisSecond,
        (true, zt_policy::Clock::Unread) => Holds::AnyTime,
    }
}

fn relock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Judgement {
    /// The judgement as `zt verify --stage --json` prints it and `POST /api/v1/decide`
    /// answers: the artifact's name, digest, stage, allow, every deny with its rule id,
    /// message, fix and doc, the verified evidence and the rejected bundles.
    pub fn to_json(&self, name: &str, stage: Stage) -> serde_json::Value {
        serde_json::json!({
            "artifact": name,
            "digest": self.digest.to_string(),
            "stage": stage.name(),
            "allow": self.decision.allow,
            "deny": self.decision.deny.iter().map(|d| serde_json::json!({
                "id": d.id, "message": d.message, "remediation": d.remediation, "doc": d.doc,
            })).collect::<Vec<_>>(),
            "evidence": self.input.evidence.iter().map(|e| serde_json::json!({
                "predicate_type": e.statement.predicate_type, "signer": e.signer.key_id, "bundle": e.bundle,
            })).collect::<Vec<_>>(),
            "rejected": self.input.rejected.iter().map(|r| serde_json::json!({
                "source": r.source, "reason": r.reason,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A bundle to judge and where it came from (a file path, or `ledger:<id>`).
struct Candidate {
    source: String,
    bytes: Vec<u8>,
    /// When the ledger first recorded these bytes, when the candidate came from it.
    recorded_at: Option<i64>,
}

impl Candidate {
    fn stored(stored: zt_store::StoredBundle) -> Self {
        Self {
            source: format!("ledger:{}", stored.id),
            recorded_at: Some(stored.index.recorded_at),
            bytes: stored.json.into_bytes(),
        }
    }
}

/// `candidates` (from the ledger) and the bundle `files`, each set of identical bytes once:
/// under the file's name where there is one, the source a user recognises.
fn with_files(
    mut candidates: Vec<Candidate>,
    mut files: Vec<PathBuf>,
) -> Result<Vec<Candidate>, Error> {
    files.sort();
    files.dedup();
    for path in files {
        candidates.push(Candidate {
            bytes: fs_err::read(&path)?,
            source: path.to_string_lossy().into_owned(),
            recorded_at: None,
        });
    }
    candidates.sort_by_key(|c| c.source.starts_with("ledger:"));
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(Digest::sha256(&c.bytes)));
    Ok(candidates)
}

/// What a bundle is checked against: the trusted keys, the trusted root (logs), the ledger.
struct Checker<'a> {
    /// Signature and log-proof checks (no ledger: they run on several threads).
    signatures: Signatures<'a>,
    ledger: Option<&'a dyn zt_store::Ledger>,
    /// The workspace clock's time of the decision.
    now: i64,
    /// The keys' revocations, judged by the log (see [`revoke`]).
    revocations: revoke::Finder<'a>,
}

/// The part of checking a bundle that depends only on its bytes, the artifact and the trust:
/// parsing it and verifying its signature and log proof with one of the trusted keys.
struct Signatures<'a> {
    keys: &'a [PublicKey],
    root: &'a str,
    /// Judging a digest without the file: message signatures (which carry no statement, and
    /// whose Ed25519 form needs the artifact's bytes) are left out.
    digest_only: bool,
    /// A long-running judge's bundles that verified before, and the digest of its trust.
    memo: Option<(&'a Memo, &'a Digest)>,
    /// Verify only statements of these predicate types (see [`gather_only`]).
    only: Option<&'a [&'a str]>,
}

/// What [`Signatures::check`] found about one bundle.
enum Signed {
    /// It verified with a trusted key.
    Verified(std::sync::Arc<Verdict>),
    /// It did not (unreadable, or no trusted key verifies it).
    Rejected(Rejected),
    /// Not to be judged here (a message signature about a bare digest, or a predicate type
    /// the caller did not ask for).
    Skipped,
}

/// Whether a bundle of predicate type `t` is to be verified (see [`gather_only`]).
fn wanted(only: Option<&[&str]>, t: Option<&str>) -> bool {
    only.is_none_or(|only| t.is_some_and(|t| only.contains(&t)))
}

/// `f` of each item, in order, computed on up to as many threads as the machine has cores
/// (each thread takes the next item not yet taken). The bundles a judgement verifies are
/// independent, and verifying one (parsing, signature, log proof) costs far more than a
/// thread.
fn map_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, f(item)));
        }
        done
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            match h.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

impl Signatures<'_> {
    /// The verdict about `bytes` this judge already holds, if it holds one (a memo lookup,
    /// no verification).
    fn known(&self, bytes: &[u8], artifact: &Artifact) -> Option<Signed> {
        let (Some((m, trust)), Artifact::Digest(d)) = (self.memo, artifact) else {
            return None;
        };
        m.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(Digest::sha256(bytes), trust.clone(), d.clone()))
            .cloned()
            .map(Signed::Verified)
    }

    /// Parses `bytes` (a bundle from `source`) and verifies its signature and log proof about
    /// `artifact` with the trusted keys (or finds that it did before, for a long-running
    /// judge).
    fn check(&self, source: &str, bytes: &[u8], artifact: &Artifact) -> Signed {
        let memo_key = match (self.memo, artifact) {
            (Some((_, trust)), Artifact::Digest(d)) => {
                Some((Digest::sha256(bytes), trust.clone(), d.clone()))
            }
            _ => None,
        };
        let hit = match (self.memo, &memo_key) {
            (Some((m, _)), Some(k)) => m
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(k)
                .cloned(),
            _ => None,
        };
        if let Some(v) = hit {
            return Signed::Verified(v);
        }
        let parsed = match bundle::parse(bytes, source) {
            Ok(p) => p,
            Err(e) => {
                return Signed::Rejected(Rejected {
                    source: source.to_owned(),
                    predicate_type: None,
                    reason: e.to_string(),
                });
            }
        };
        let claimed = evidence::statement(&parsed.json).map(|s| s.predicate_type);
        if self.digest_only && parsed.json.get("messageSignature").is_some() {
            return Signed::Skipped;
        }
        if !wanted(self.only, claimed.as_deref()) {
            return Signed::Skipped;
        }
        let mut last_error = None;
        let mut ok = None;
        for (key_index, key) in self.keys.iter().enumerate() {
            match verify(&Request {
                artifact,
                bundle: &parsed,
                identity: &Identity::Key(key.clone()),
                trusted_root: Some(self.root),
                insecure_ignore_tlog: false,
                witness_policy: None,
            }) {
                Ok(v) => {
                    ok = Some((key_index, v));
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let Some((key_index, v)) = ok else {
            let reason = match last_error {
                Some(e) => e.to_string(),
                None => "no key in zt.toml's trust list could check it".into(),
            };
            return Signed::Rejected(Rejected {
                source: source.to_owned(),
                predicate_type: claimed,
                reason,
            });
        };
        let verdict = std::sync::Arc::new(Verdict {
            key_index,
            verified: v,
            json: parsed.json,
        });
        if let (Some((m, _)), Some(k)) = (self.memo, memo_key) {
            let mut m = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.len() >= MAX_VERIFIED {
                m.clear();
            }
            m.insert(k, verdict.clone());
        }
        Signed::Verified(verdict)
    }
}

impl Checker<'_> {
    /// Checks each bundle about its artifact ([`Checker::check`]): the signatures and log
    /// proofs of all of them at once, on every core; then, in order, the revocation of each
    /// one's key.
    fn check_all(
        &self,
        candidates: Vec<(Candidate, Artifact)>,
        verified: &mut Vec<Evidence>,
        rejected: &mut Vec<Rejected>,
    ) -> Result<(), Error> {
        let signatures = &self.signatures;
        let check =
            |(c, artifact): &(Candidate, Artifact)| signatures.check(&c.source, &c.bytes, artifact);
        // Verdicts a long-running judge (the hub) already holds are taken here, on this
        // thread; only real verifications go to other cores. The hub answers many requests
        // on every core and nearly all its checks are such hits, so a thread per request
        // would only add its cost (measured: the hub's traces 3,012/s → 1,633/s with threads
        // for every check).
        let mut signed: Vec<Option<Signed>> = candidates
            .iter()
            .map(|(c, artifact)| signatures.known(&c.bytes, artifact))
            .collect();
        let misses: Vec<usize> = (0..signed.len())
            .filter(|&i| signed.get(i).is_some_and(Option::is_none))
            .collect();
        let fresh = map_parallel(&misses, |&i| candidates.get(i).map(check));
        for (i, s) in misses.into_iter().zip(fresh) {
            if let Some(slot) = signed.get_mut(i) {
                *slot = s;
            }
        }
        for ((candidate, _), signed) in candidates.into_iter().zip(signed) {
            let signed = signed.ok_or_else(|| Error::Input {
                what: "a bundle was left unchecked".into(),
                help: "this is a bug in zt; report it with `zt --version`".into(),
            })?;
            self.check(candidate, signed, verified, rejected)?;
        }
        Ok(())
    }

    /// Files one bundle whose signature was checked ([`Signatures::check`]) as verified
    /// evidence or as rejected, its key's revocation judged by its verified log entry or
    /// signed time.
    fn check(
        &self,
        candidate: Candidate,
        signed: Signed,
        verified: &mut Vec<Evidence>,
        rejected: &mut Vec<Rejected>,
    ) -> Result<(), Error> {
        let Candidate {
            source,
            bytes,
            recorded_at: known_at,
        } = candidate;
        let bytes = bytes.as_slice();
        let verdict = match signed {
            Signed::Verified(v) => v,
            Signed::Rejected(r) => {
                rejected.push(r);
                return Ok(());
            }
            Signed::Skipped => return Ok(()),
        };
        let Some(key) = self.signatures.keys.get(verdict.key_index) else {
            return Err(Error::Policy(
                "a remembered verification names no key".into(),
            ));
        };
        // What is kept is judged by the verified statement (parsed once, by the verification).
        let claimed = verdict
            .verified
            .statement
            .as_ref()
            .map(|s| s.predicate_type.clone());
        if !wanted(self.signatures.only, claimed.as_deref()) {
            return Ok(());
        }
        // Taken, not copied, unless a long-running judge remembers it too.
        let owned;
        let shared;
        let (v, parsed_json) = match std::sync::Arc::try_unwrap(verdict) {
            Ok(Verdict { verified, json, .. }) => {
                owned = json;
                (verified, &owned)
            }
            Err(remembered) => {
                shared = remembered;
                (shared.verified.clone(), &shared.json)
            }
        };
        // Revocation is judged by the log (the verified entry's index against the revocation's
        // logged position) or a verified signed time, never by a ledger column.
        let signed_time = revoke::signed_time(&v.timestamps, v.integrated_time);
        if let Some(revoked) =
            self.revocations
                .judge(key, parsed_json, v.tlog_verified, signed_time)?
        {
            rejected.push(Rejected {
                source,
                predicate_type: claimed,
                reason: revoked.describe(),
            });
            return Ok(());
        }
        // Message signatures are checked (a broken one is rejected) but carry no statement for
        // policy to read.
        let Some(statement) = v.statement else {
            return Ok(());
        };
        let index = zt_core::bundle::log_entries(parsed_json)
            .first()
            .map(|e| e.index);
        // The time policy sees: when the ledger first recorded these bytes (informational;
        // no trust decision rests on it). Bundles the ledger has not seen are dated now.
        let time = match known_at {
            Some(t) => t,
            None => recorded_at(self.ledger, bytes)?.unwrap_or(self.now),
        };
        let key_id = key.key_id();
        verified.push(Evidence {
            statement,
            signer: Signer {
                key_id,
                algorithm: Some(key.algorithm().to_string()),
                identity: None,
            },
            log: LogProof {
                status: if v.tlog_verified {
                    LogStatus::Verified
                } else {
                    LogStatus::Missing
                },
                index,
                log_id: None,
            },
            time: Timestamp::from_unix(time),
            bundle: Some(source),
        });
        Ok(())
    }
}

/// The git commits that verified SLSA provenance names as what it built from
/// (`resolvedDependencies[].digest.gitCommit`), whoever signed it: policy decides which
/// provenance counts (`data.zt.lib.source_commits`).
fn provenance_commits(verified: &[Evidence]) -> std::collections::BTreeSet<String> {
    let mut commits = std::collections::BTreeSet::new();
    for e in verified {
        if e.statement.predicate_type != zt_core::predicate::SLSA_PROVENANCE_V1 {
            continue;
        }
        let deps = e
            .statement
            .predicate
            .as_ref()
            .and_then(|p| p.pointer("/buildDefinition/resolvedDependencies"))
            .and_then(serde_json::Value::as_array);
        for d in deps.into_iter().flatten() {
            if let Some(c) = d
                .pointer("/digest/gitCommit")
                .and_then(serde_json::Value::as_str)
                && c.len() >= 40
                && c.bytes().all(|b| b.is_ascii_hexdigit())
            {
                commits.insert(c.to_ascii_lowercase());
            }
        }
    }
    commits
}

/// The bundles about the commits the verified provenance names, each with what it is checked
/// against. Where the repository has the commit, that is the sha256 of the commit
/// object as git frames it (`commit <len>\0…`), so a statement naming the commit's id with
/// other content fails; otherwise the sha256 its own subject gives for the commit (the policy
/// still matches the commit id).
#[allow(clippy::type_complexity)] // (candidates, the commits looked up): one pass.
fn source_candidates(
    ws: &Workspace,
    ledger: Option<&dyn zt_store::Ledger>,
    trusted: &Trusted,
    verified: &[Evidence],
) -> Result<(Vec<(Candidate, Artifact)>, Vec<(String, Option<Digest>)>), Error> {
    let commits = provenance_commits(verified);
    let mut looked_up = Vec::new();
    if commits.is_empty() {
        return Ok((Vec::new(), looked_up));
    }
    let mut git = None;
    let mut out = Vec::new();
    for commit in commits {
        let object_sha256 = commit_object(ws, trusted, &mut git, &commit);
        looked_up.push((commit.clone(), object_sha256.clone()));
        let mut found: Vec<Candidate> = Vec::new();
        if let (Some(ledger), Some(sha)) = (ledger, &object_sha256) {
            for stored in ledger.find_bundles(&zt_store::BundleQuery::subject(sha))? {
                found.push(Candidate::stored(stored));
            }
        }
        let files = match ledger {
            Some(_) if object_sha256.is_some() => Vec::new(),
            _ => evidence::named(ws, &format!("git:{commit}"))?,
        };
        for c in with_files(found, files)? {
            let subject = match &object_sha256 {
                Some(sha) => Some(sha.clone()),
                None => claimed_commit_sha256(&c.bytes, &commit),
            };
            // A bundle whose statement gives no sha256 for the commit cannot be checked against
            // anything: it is left out, as bundles about other subjects are.
            if let Some(sha) = subject {
                out.push((c, Artifact::Digest(sha)));
            }
        }
    }
    Ok((out, looked_up))
}

/// The SHA-256 of `commit`'s object as git frames it, from the repository (`git`: opened on
/// first need, at most once per judgement), or `None` when the repository lacks it. A
/// long-running judge remembers what it found (a commit object never changes); a commit the
/// repository lacks is looked up again next time (a fetch may bring it).
fn commit_object(
    ws: &Workspace,
    trusted: &Trusted,
    git: &mut Option<Option<zt_source::commits::Repo>>,
    commit: &str,
) -> Option<Digest> {
    if let Some(known) = trusted
        .cache
        .as_ref()
        .and_then(|c| relock(&c.commits).get(commit).cloned())
    {
        return Some(known);
    }
    let g = git.get_or_insert_with(|| zt_source::commits::Repo::discover(ws.root()).ok());
    let sha = g.as_ref().and_then(|g| {
        let id = zt_source::commits::ObjectId::from_hex(commit.as_bytes()).ok()?;
        Some(Digest::sha256(&g.commit(id).ok()?.object_bytes()))
    });
    if let (Some(c), Some(found)) = (&trusted.cache, &sha) {
        let mut commits = relock(&c.commits);
        if commits.len() >= MAX_VERIFIED {
            commits.clear();
        }
        commits.insert(commit.to_owned(), found.clone());
    }
    sha
}

/// Whether the repository still gives each of `commits` the object SHA-256 it gave when they
/// were gathered ([`Gathered::commits`]): a commit that was missing and has since arrived
/// makes a remembered gathering stale.
pub(crate) fn same_commits(
    ws: &Workspace,
    trusted: &Trusted,
    commits: &[(String, Option<Digest>)],
) -> bool {
    let mut git = None;
    commits
        .iter()
        .all(|(commit, then)| commit_object(ws, trusted, &mut git, commit) == *then)
}

/// The sha256 a bundle's statement gives for `commit` in a subject `{gitCommit, sha256}`.
fn claimed_commit_sha256(bytes: &[u8], commit: &str) -> Option<Digest> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let statement = evidence::statement(&json)?;
    statement.subject.iter().find_map(|s| {
        (s.digest.get("gitCommit").map(String::as_str) == Some(commit))
            .then(|| s.digest.get("sha256"))
            .flatten()
            .and_then(|hex| Digest::from_hex(DigestAlgorithm::Sha256, hex).ok())
    })
}

/// When the ledger first recorded exactly these bundle bytes.
fn recorded_at(ledger: Option<&dyn zt_store::Ledger>, bytes: &[u8]) -> Result<Option<i64>, Error> {
    let Some(ledger) = ledger else {
        return Ok(None);
    };
    Ok(ledger
        .bundle(&zt_store::bundle_id(bytes))?
        .map(|b| b.index.recorded_at))
}

#[cfg(test)]
mod tests {
    use super::map_parallel;

    #[test]
    fn map_parallel_keeps_the_order_of_the_items() {
        let none: Vec<u64> = Vec::new();
        assert!(map_parallel(&none, |x| x * 2).is_empty());
        assert_eq!(map_parallel(&[7u64], |x| x * 2), vec![14]);
        let items: Vec<u64> = (0..257).collect();
        // Uneven work, so the threads finish out of order.
        let doubled = map_parallel(&items, |x| {
            if x % 3 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            x * 2
        });
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
