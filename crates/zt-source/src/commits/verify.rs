//! The verification walk: which commits, from which trust root, judged how.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;

use gix::ObjectId;
use serde::Serialize;

use super::cache::{Cache, Verified};
use super::object::Commit;
use super::openpgp::{Check, KeyLife, PgpSignature};
use super::policy::{Key, POLICY_PATH, Policy, Signer};
use super::repo::Repo;
use super::sshsig::SshSignature;
use crate::Error;

/// What to verify and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A directory inside the repository.
    pub dir: PathBuf,
    /// `A..B` (the commits of B not in A), `B` (B and its history), or `None` for `HEAD`.
    pub range: Option<String>,
    /// The trust root commit (else `git config zt.trustRoot`, else the first commit with a policy).
    pub trust_root: Option<String>,
    /// The trusted time (Unix seconds) for commits zt has not seen before, e.g. the push time
    /// given by CI; `None`: now.
    pub push_time: Option<i64>,
    /// Check every commit again, ignoring the verified-commit cache (first-seen times are kept).
    pub no_cache: bool,
    /// The current time (Unix seconds).
    pub now: i64,
}

/// A commit's verdict. Everything but `Good` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Signed by a key the parent policy authorises for this commit at its trusted time.
    Good,
    /// No signature.
    Unsigned,
    /// The signature is malformed or does not verify over the commit.
    BadSignature,
    /// The signing key is not in the signer policy.
    UnknownKey,
    /// The key had expired (or was not yet valid) when the commit was first seen.
    ExpiredKey,
    /// The key was revoked before the commit was first seen.
    RevokedKey,
    /// The signer may not make this commit: paths outside theirs, or a key only the commit's
    /// own (changed) policy lists, or a parent without a policy.
    NotAuthorised,
}

impl Verdict {
    /// The kebab-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::Unsigned => "unsigned",
            Verdict::BadSignature => "bad-signature",
            Verdict::UnknownKey => "unknown-key",
            Verdict::ExpiredKey => "expired-key",
            Verdict::RevokedKey => "revoked-key",
            Verdict::NotAuthorised => "not-authorised",
        }
    }
}

/// Where the trust root came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustRootSource {
    /// `--trust-root`.
    Flag,
    /// `git config zt.trustRoot`.
    Config,
    /// Nothing configured: the first commit with a signer policy.
    FirstPolicy,
}

/// The result for one commit.
#[derive(Debug, Clone, Serialize)]
pub struct CommitResult {
    /// The commit id.
    pub commit: String,
    /// The first line of its message.
    pub summary: String,
    /// The author's e-mail.
    pub author: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
    /// The signer's name in the policy, when the key was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The signing key's fingerprint, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `ssh` or `openpgp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    /// The trusted time the key was judged at (RFC 3339).
    pub first_seen: String,
    /// The commit changes `.zt/signers.toml`.
    pub policy_changed: bool,
    /// The commit is the trust root.
    pub trust_root: bool,
}

/// A signing key zt had not seen before for an author.
#[derive(Debug, Clone, Serialize)]
pub struct NewKey {
    /// The author's e-mail.
    pub author: String,
    /// The key's fingerprint.
    pub key: String,
    /// The first commit signed with it.
    pub commit: String,
}

/// The outcome of a verification run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The repository root.
    pub repo: PathBuf,
    /// The range as given (or `HEAD`).
    pub range: String,
    /// The tip commit.
    pub tip: String,
    /// The sha256 of the tip commit object (`commit <len>\0…`).
    pub tip_sha256: String,
    /// The trust root.
    pub trust_root: String,
    /// Where it came from.
    pub trust_root_source: TrustRootSource,
    /// The commits checked in this run, parents before children.
    pub commits: Vec<CommitResult>,
    /// Commits skipped because they verified before (from the same trust root).
    pub cached: usize,
    /// Signing keys seen for the first time for their author.
    pub new_keys: Vec<NewKey>,
}

impl Report {
    /// Every commit verified good.
    pub fn ok(&self) -> bool {
        self.commits.iter().all(|c| c.verdict == Verdict::Good)
    }

    /// The commits that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CommitResult> {
        self.commits.iter().filter(|c| c.verdict != Verdict::Good)
    }
}

struct Judged {
    verdict: Verdict,
    reason: String,
    signer: Option<String>,
    key: Option<String>,
    format: Option<&'static str>,
}

impl Judged {
    fn fail(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            signer: None,
            key: None,
            format: None,
        }
    }
}

enum Sig {
    Ssh(SshSignature),
    Pgp(PgpSignature),
}

fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

type PolicyRef = Option<(ObjectId, Rc<Policy>)>;

struct Walker<'a> {
    repo: &'a Repo,
    policies: HashMap<ObjectId, Rc<Policy>>,
    trees: HashMap<ObjectId, ObjectId>,
    /// The policy each commit of this run hands on to its children: its own if it verified,
    /// else the one its first parent handed on (an unverified change never takes effect).
    trusted: HashMap<ObjectId, PolicyRef>,
}

impl Walker<'_> {
    fn tree_of(&mut self, commit: ObjectId) -> Result<ObjectId, Error> {
        if let Some(t) = self.trees.get(&commit) {
            return Ok(*t);
        }
        let t = self.repo.commit(commit)?.tree;
        self.trees.insert(commit, t);
        Ok(t)
    }

    /// The policy `commit` hands on to its children: the one recorded in this run, else (a
    /// commit verified before, or below the range) the one in its tree.
    fn trusted_policy(&mut self, commit: ObjectId) -> Result<PolicyRef, Error> {
        match self.trusted.get(&commit) {
            Some(p) => Ok(p.clone()),
            None => self.policy_in(commit),
        }
    }

    /// The policy in `commit`'s tree, with its blob id.
    fn policy_in(&mut self, commit: ObjectId) -> Result<PolicyRef, Error> {
        let tree = self.tree_of(commit)?;
        let Some(blob) = self.repo.blob_at(tree, POLICY_PATH)? else {
            return Ok(None);
        };
        if let Some(p) = self.policies.get(&blob) {
            return Ok(Some((blob, p.clone())));
        }
        let bytes = self.repo.blob(blob)?;
        let text = String::from_utf8_lossy(&bytes);
        let p = Rc::new(Policy::parse(
            &text,
            &format!("{}:{POLICY_PATH}", short(&commit)),
        )?);
        self.policies.insert(blob, p.clone());
        Ok(Some((blob, p)))
    }
}

fn find_ssh<'p>(policy: &'p Policy, sig: &SshSignature) -> Option<&'p Signer> {
    policy
        .signers
        .iter()
        .find(|s| matches!(&s.key, Key::Ssh(k) if sig.is_by(k)))
}

/// Judges the signature against one policy; `Ok(signer, key life)` or the failure.
fn match_signer<'p>(
    policy: &'p Policy,
    sig: &Sig,
    payload: &[u8],
) -> Result<(&'p Signer, Option<KeyLife>), Option<Judged>> {
    match sig {
        Sig::Ssh(s) => find_ssh(policy, s).map(|signer| (signer, None)).ok_or(None),
        Sig::Pgp(s) => {
            for signer in &policy.signers {
                let Key::Pgp(k) = &signer.key else { continue };
                match s.check(k, payload) {
                    Check::NotThisKey => {}
                    Check::Bad(reason) => {
                        return Err(Some(Judged::fail(Verdict::BadSignature, reason)));
                    }
                    Check::Good(life) => return Ok((signer, Some(life))),
                }
            }
            Err(None)
        }
    }
}

fn judge(
    w: &mut Walker<'_>,
    c: &Commit,
    is_root: bool,
    time: i64,
) -> Result<(Judged, bool), Error> {
    let own = w.policy_in(c.id)?;
    let mut parents: Vec<(ObjectId, PolicyRef)> = Vec::new();
    let mut changed = own.is_some() && c.parents.is_empty();
    for p in &c.parents {
        let in_tree = w.policy_in(*p)?.map(|x| x.0);
        changed |= in_tree != own.as_ref().map(|x| x.0);
        parents.push((*p, w.trusted_policy(*p)?));
    }
    let policy_changed = changed;
    let done = |j: Judged| Ok((j, policy_changed));

    let Some(raw_sig) = &c.signature else {
        return done(Judged::fail(Verdict::Unsigned, "the commit is not signed"));
    };
    let (sig, format) = if raw_sig.starts_with(b"-----BEGIN SSH SIGNATURE-----") {
        match SshSignature::parse(raw_sig) {
            Ok(s) => {
                if let Err(reason) = s.verify(&c.payload) {
                    return done(Judged::fail(Verdict::BadSignature, reason));
                }
                (Sig::Ssh(s), "ssh")
            }
            Err(reason) => return done(Judged::fail(Verdict::BadSignature, reason)),
        }
    } else if raw_sig.starts_with(b"-----BEGIN PGP SIGNATURE-----") {
        match PgpSignature::parse(raw_sig) {
            Ok(s) => (Sig::Pgp(s), "openpgp"),
            Err(reason) => return done(Judged::fail(Verdict::BadSignature, reason)),
        }
    } else {
        return done(Judged::fail(
            Verdict::BadSignature,
            "unsupported signature format (only SSH and OpenPGP signatures are verified)",
        ));
    };
    let presented_key = match &sig {
        Sig::Ssh(s) => s.key().fingerprint(),
        Sig::Pgp(s) => s.issuer(),
    };
    let with_key = |mut j: Judged| {
        j.key = Some(presented_key.clone());
        j.format = Some(format);
        j
    };

    // The policies that must authorise the commit: each parent's, or the root's own.
    let mut judges: Vec<(String, Rc<Policy>, Option<ObjectId>)> = Vec::new();
    if is_root {
        let Some((_, p)) = &own else {
            return done(with_key(Judged::fail(
                Verdict::NotAuthorised,
                format!("the trust root has no {POLICY_PATH}"),
            )));
        };
        judges.push(("the trust root's own policy".into(), p.clone(), None));
    } else {
        if c.parents.is_empty() {
            return done(with_key(Judged::fail(
                Verdict::NotAuthorised,
                "a root commit that is not the trust root: no parent policy can authorise it",
            )));
        }
        for (p, pp) in &parents {
            let Some((_, policy)) = pp else {
                return done(with_key(Judged::fail(
                    Verdict::NotAuthorised,
                    format!(
                        "parent {} has no verified {POLICY_PATH} to authorise this commit",
                        short(p)
                    ),
                )));
            };
            judges.push((
                format!("the verified policy of parent {}", short(p)),
                policy.clone(),
                Some(*p),
            ));
        }
    }

    let mut signer_name = None;
    for (label, policy, parent) in &judges {
        let (signer, life) = match match_signer(policy, &sig, &c.payload) {
            Ok(x) => x,
            Err(Some(j)) => return done(with_key(j)),
            Err(None) => {
                let in_own = own
                    .as_ref()
                    .is_some_and(|(_, p)| match_signer(p, &sig, &c.payload).is_ok());
                let j = if in_own && !is_root {
                    Judged::fail(
                        Verdict::NotAuthorised,
                        format!(
                            "key {presented_key} is listed by this commit's {POLICY_PATH} but not by {label}: a policy change must be signed by a key the old policy authorises"
                        ),
                    )
                } else {
                    Judged::fail(
                        Verdict::UnknownKey,
                        format!("key {presented_key} is not in {label}"),
                    )
                };
                return done(with_key(j));
            }
        };
        let at = zt_core::time::rfc3339;
        let fail = |v: Verdict, reason: String| {
            let mut j = with_key(Judged::fail(v, reason));
            j.signer = Some(signer.name.clone());
            j
        };
        if let Some(KeyLife { expires, revoked }) = life {
            if let Some(r) = revoked
                && r <= time
            {
                return done(fail(
                    Verdict::RevokedKey,
                    format!(
                        "{}'s OpenPGP key was revoked at {} (its own revocation signature); the commit was first seen at {}",
                        signer.name,
                        at(r),
                        at(time)
                    ),
                ));
            }
            if let Some(e) = expires
                && e <= time
            {
                return done(fail(
                    Verdict::ExpiredKey,
                    format!(
                        "{}'s OpenPGP key expired at {}; the commit was first seen at {}",
                        signer.name,
                        at(e),
                        at(time)
                    ),
                ));
            }
        }
        if let Some(r) = signer.revoked_at
            && r <= time
        {
            return done(fail(
                Verdict::RevokedKey,
                format!(
                    "{}'s key was revoked at {} by {label}; the commit was first seen at {} (its committer date {} is not trusted)",
                    signer.name,
                    at(r),
                    at(time),
                    at(c.committer.time)
                ),
            ));
        }
        if let Some(nb) = signer.not_before
            && time < nb
        {
            return done(fail(
                Verdict::ExpiredKey,
                format!(
                    "{}'s key is not valid before {} by {label}; the commit was first seen at {}",
                    signer.name,
                    at(nb),
                    at(time)
                ),
            ));
        }
        if let Some(na) = signer.not_after
            && time > na
        {
            return done(fail(
                Verdict::ExpiredKey,
                format!(
                    "{}'s key expired at {} by {label}; the commit was first seen at {} (its committer date {} is not trusted)",
                    signer.name,
                    at(na),
                    at(time),
                    at(c.committer.time)
                ),
            ));
        }
        if let Some(parent) = parent
            && signer.paths.is_some()
        {
            let old = w.tree_of(*parent)?;
            let changed = w.repo.changed_paths(Some(old), c.tree)?;
            if let Some(p) = signer.forbidden(&changed) {
                let globs = signer
                    .paths
                    .as_ref()
                    .map(|x| x.0.join(", "))
                    .unwrap_or_default();
                return done(fail(
                    Verdict::NotAuthorised,
                    format!(
                        "{} may touch only [{globs}] by {label}, and the commit changes `{p}`",
                        signer.name
                    ),
                ));
            }
        }
        signer_name = Some(signer.name.clone());
    }
    let name = signer_name.unwrap_or_default();
    let mut j = with_key(Judged::fail(
        Verdict::Good,
        if is_root {
            format!("trust root, signed by {name} ({format} {presented_key}) per its own policy")
        } else if judges.len() > 1 {
            format!(
                "signed by {name} ({format} {presented_key}), authorised by every parent's policy"
            )
        } else {
            format!("signed by {name} ({format} {presented_key})")
        },
    ));
    j.signer = Some(name);
    done(j)
}

fn parse_range(range: Option<&str>) -> (Option<String>, String) {
    match range {
        None => (None, "HEAD".into()),
        Some(r) => match r.split_once("..") {
            Some((a, b)) => (
                (!a.is_empty()).then(|| a.to_string()),
                if b.is_empty() {
                    "HEAD".into()
                } else {
                    b.to_string()
                },
            ),
            None => (None, r.to_string()),
        },
    }
}

/// Verifies the commits of `opts.range` and updates the cache (atomically, only on success).
pub fn verify(opts: &Options) -> Result<Report, Error> {
    let repo = Repo::discover(&opts.dir)?;
    let (base, tip_spec) = parse_range(opts.range.as_deref());
    let tip = repo.resolve(&tip_spec)?;
    let base = base.map(|b| repo.resolve(&b)).transpose()?;

    let (root, source) = if let Some(r) = &opts.trust_root {
        (repo.resolve(r)?, TrustRootSource::Flag)
    } else if let Some(r) = repo.config_string("zt.trustRoot") {
        (repo.resolve(r.trim())?, TrustRootSource::Config)
    } else {
        let all = repo.walk(tip, &HashSet::new())?;
        let mut found = None;
        for c in &all {
            if repo.blob_at(c.tree, POLICY_PATH)?.is_some() {
                found = Some(c.id);
                break;
            }
        }
        (
            found.ok_or_else(|| Error::NoSignerPolicy {
                tip: tip.to_string(),
            })?,
            TrustRootSource::FirstPolicy,
        )
    };
    // The whole chain from the trust root is judged (a commit's policy is trusted only through
    // verified ancestors); the range only chooses which commits are reported.
    let root_commit = repo.commit(root)?;
    if repo.blob_at(root_commit.tree, POLICY_PATH)?.is_none() {
        return Err(Error::TrustRootWithoutPolicy {
            root: root.to_string(),
        });
    }
    let before_root = repo.ancestors(&root_commit.parents)?;
    let todo = repo.walk(tip, &before_root)?;
    if !todo.iter().any(|c| c.id == root) {
        return Err(Error::TrustRoot {
            root: root.to_string(),
            tip: tip.to_string(),
        });
    }
    let in_range: HashSet<ObjectId> = match base {
        None => todo.iter().map(|c| c.id).collect(),
        Some(b) => {
            let mut hidden = before_root;
            hidden.extend(repo.ancestors(&[b])?);
            repo.walk(tip, &hidden)?.iter().map(|c| c.id).collect()
        }
    };

    let mut cache = Cache::load(&repo.root)?;
    let root_hex = root.to_string();
    let mut w = Walker {
        repo: &repo,
        policies: HashMap::new(),
        trees: todo.iter().map(|c| (c.id, c.tree)).collect(),
        trusted: HashMap::new(),
    };
    let seen_time = opts.push_time.unwrap_or(opts.now);
    let mut results = Vec::new();
    let mut cached = 0;
    let mut new_keys = Vec::new();
    for c in &todo {
        let id = c.id.to_string();
        let hit = cache
            .commits
            .get(&id)
            .and_then(|e| e.verified.as_ref())
            .is_some_and(|v| v.trust_root == root_hex);
        if hit && !opts.no_cache {
            let own = w.policy_in(c.id)?;
            w.trusted.insert(c.id, own);
            cached += usize::from(in_range.contains(&c.id));
            continue;
        }
        let time = cache.first_seen(&id, seen_time);
        let is_root = c.id == root;
        let (j, policy_changed) = judge(&mut w, c, is_root, time)?;
        let hands_on = if j.verdict == Verdict::Good {
            w.policy_in(c.id)?
        } else if is_root {
            None
        } else {
            match c.parents.first() {
                Some(p) => w.trusted_policy(*p)?,
                None => None,
            }
        };
        w.trusted.insert(c.id, hands_on);
        if !in_range.contains(&c.id) {
            if j.verdict == Verdict::Good
                && let Some(e) = cache.commits.get_mut(&id)
            {
                e.verified = Some(Verified {
                    trust_root: root_hex.clone(),
                    signer: j.signer.clone().unwrap_or_default(),
                    key: j.key.clone().unwrap_or_default(),
                });
            }
            continue;
        }
        if j.verdict == Verdict::Good {
            let key = j.key.clone().unwrap_or_default();
            if cache.note_key(&c.author.email, &key) {
                new_keys.push(NewKey {
                    author: c.author.email.clone(),
                    key: key.clone(),
                    commit: id.clone(),
                });
            }
            if let Some(e) = cache.commits.get_mut(&id) {
                e.verified = Some(Verified {
                    trust_root: root_hex.clone(),
                    signer: j.signer.clone().unwrap_or_default(),
                    key,
                });
            }
        }
        results.push(CommitResult {
            commit: id,
            summary: c.summary.clone(),
            author: c.author.email.clone(),
            verdict: j.verdict,
            reason: j.reason,
            signer: j.signer,
            key: j.key,
            format: j.format,
            first_seen: zt_core::time::rfc3339(time),
            policy_changed,
            trust_root: is_root,
        });
    }
    cache.save(&repo.root)?;
    let tip_commit = repo.commit(tip)?;
    Ok(Report {
        repo: repo.root.clone(),
        range: opts.range.clone().unwrap_or_else(|| "HEAD".into()),
        tip: tip.to_string(),
        tip_sha256: zt_core::Digest::sha256(&tip_commit.object_bytes()).hex(),
        trust_root: root_hex,
        trust_root_source: source,
        commits: results,
        cached,
        new_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None), (None, "HEAD".into()));
        assert_eq!(parse_range(Some("a..b")), (Some("a".into()), "b".into()));
        assert_eq!(parse_range(Some("a..")), (Some("a".into()), "HEAD".into()));
        assert_eq!(parse_range(Some("v1")), (None, "v1".into()));
    }
}
