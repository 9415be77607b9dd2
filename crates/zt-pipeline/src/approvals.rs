//! Dependency requests and their approvals, signed by the people who make them.
//!
//! A request (`zt deps request`) is a signed, logged statement (predicate type
//! [`zt_core::predicate::ZT_DEPENDENCY_REQUEST_V1`], `{action: "request", request}`), signed by
//! the requester's key (`--key`) or the repository's pipeline key. An approval (`zt deps
//! approve ID --key KEY`) is the same statement with `action: "approve"`, signed by the
//! approver's own key. It counts only if
//!
//! - that key is listed under `[[deps.approver]]` in `zt.toml`,
//! - it is not the key that signed the request,
//! - it is not a repository key (the pipeline key, or a `zt.toml` key whose private half sits
//!   in the repository): anyone who can run zt in the repository holds those,
//! - it is not revoked (judged by the log, see [`crate::revoke`]), and
//! - the request it approves is the signed request, field for field.
//!
//! `.zt/requests/<id>.json` is a convenience copy for listings; intake reads approvals only
//! through [`approved_for`], which checks all of the above on the signed bundles.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor, Statement, Workspace};
use zt_deps::Ecosystem;
use zt_deps::intake::requests::{self, Request, Requests};
use zt_sign::verify::{Artifact, Identity, Request as VerifyRequest, verify};
use zt_sign::{PublicKey, Signer, bundle, transparency};
use zt_store::BundleQuery;

use crate::{Error, evidence, revoke};

/// A person who may approve, with their key (from `[[deps.approver]]`).
#[derive(Debug, Clone)]
pub struct ApproverKey {
    /// Their name.
    pub name: String,
    /// Their public key.
    pub key: PublicKey,
}

/// Why an approval does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The key is not listed under `[[deps.approver]]`.
    #[error("key {0} is not listed as an approver in `zt.toml` (`[[deps.approver]]`)")]
    NotAnApprover(String),
    /// The repository's own key signed it: anyone running zt here holds that key.
    #[error(
        "key {0} is the repository's key, which anyone running zt here can use; an approval must be signed by the approver's own key"
    )]
    RepositoryKey(String),
    /// The key that signed the request signed the approval too.
    #[error("key {0} signed the request, so it cannot approve it too")]
    RequesterKey(String),
    /// The approver's key is revoked.
    #[error("{0}")]
    Revoked(String),
    /// No signed request with this id verifies.
    #[error("no signed request `{0}` verifies in the evidence store")]
    UnsignedRequest(String),
    /// The approval names another request than the signed one.
    #[error("the approval's request differs from the signed request `{0}`")]
    Mismatch(String),
    /// The approval's bundle does not verify with any approver's key.
    #[error("the approval's signature or log proof does not verify with any approver's key")]
    Unverified,
}

/// The rule for who may approve: `approver` must be listed in `approvers`, and be neither the
/// requester's signing key nor a repository key. Returns the approver's entry.
pub fn check_key<'a>(
    approvers: &'a [ApproverKey],
    approver: &PublicKey,
    requester_key_id: &str,
    repository_key_ids: &[String],
) -> Result<&'a ApproverKey, Refusal> {
    let id = approver.key_id();
    if repository_key_ids.contains(&id) {
        return Err(Refusal::RepositoryKey(short(&id)));
    }
    if id == requester_key_id {
        return Err(Refusal::RequesterKey(short(&id)));
    }
    approvers
        .iter()
        .find(|a| a.key.key_id() == id)
        .ok_or_else(|| Refusal::NotAnApprover(short(&id)))
}

fn short(id: &str) -> String {
    id.get(..12).unwrap_or(id).to_string()
}

/// An approval that counts.
#[derive(Debug, Clone)]
pub struct VerifiedApproval {
    /// The approved request (as signed, with the approval).
    pub request: Request,
    /// The approver's name (from `zt.toml`).
    pub approver: String,
    /// The approver's key id.
    pub key_id: String,
    /// The approval's bundle.
    pub bundle: String,
}

/// What the repository says about approvals: its approvers, its own keys, the keys a request
/// may be signed by, and the trusted root.
struct Context<'a> {
    ws: Workspace,
    approvers: Vec<ApproverKey>,
    repository_keys: Vec<PublicKey>,
    trust_keys: Vec<PublicKey>,
    root: String,
    ledger: Option<crate::ledger::Handle>,
    _repo: std::marker::PhantomData<&'a Path>,
}

impl<'a> Context<'a> {
    fn load(repo: &'a Path) -> Result<Self, Error> {
        let ws = Workspace::open(repo)?;
        let config = ws.config().map_err(|e| Error::Policy(e.to_string()))?;
        let mut approvers = Vec::new();
        for a in &config.deps.approvers {
            approvers.push(ApproverKey {
                name: a.name.clone(),
                key: PublicKey::load(&repo.join(&a.public_key))?,
            });
        }
        let mut repository_keys = Vec::new();
        let mut trust_keys = Vec::new();
        for key in &config.trust.keys {
            let Some(public) = &key.public_key else {
                continue;
            };
            let Ok(k) = PublicKey::load(&repo.join(public)) else {
                continue;
            };
            // The key `pipeline_key` would sign with: its private half is in the repository.
            if public.extension().is_some_and(|e| e == "pub")
                && repo.join(public.with_extension("")).is_file()
            {
                repository_keys.push(k.clone());
            }
            trust_keys.push(k);
        }
        let pipeline = ws.layout().pipeline_key().with_extension("pub");
        if pipeline.is_file() {
            repository_keys.push(PublicKey::load(&pipeline)?);
        }
        let ledger = crate::ledger::open_existing(&ws)?;
        Ok(Self {
            root: revoke::trusted_root(&ws)?,
            ws,
            approvers,
            repository_keys,
            trust_keys,
            ledger,
            _repo: std::marker::PhantomData,
        })
    }

    fn repository_key_ids(&self) -> Vec<String> {
        self.repository_keys.iter().map(PublicKey::key_id).collect()
    }

    /// Every dependency-request statement in the ledger and the evidence store, each once.
    ///
    /// Of the store, only the files of the two kinds requests and approvals are stored under
    /// ([`REQUEST_KIND`], [`APPROVAL_KIND`]) are read, as revocations are read from their own
    /// kind's files: an intake then costs the same however much other evidence the store holds
    /// (reading every bundle made each intake slower than the one before). A request or approval
    /// stored under another name by hand is not read from the store (it still counts when the
    /// ledger indexes it); missing it can only hold a package back, never admit one.
    fn statements(&self) -> Result<Vec<(String, Vec<u8>, Statement)>, Error> {
        let mut found: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(ledger) = &self.ledger {
            for stored in ledger.find_bundles(&BundleQuery::predicate_type(
                zt_core::predicate::ZT_DEPENDENCY_REQUEST_V1,
            ))? {
                found.push((format!("ledger:{}", stored.id), stored.json.into_bytes()));
            }
        }
        let dir = self.ws.layout().bundles();
        if dir.is_dir() {
            let mut paths: Vec<PathBuf> = fs_err::read_dir(&dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.ends_with(".sigstore.json")
                            && [REQUEST_KIND, APPROVAL_KIND]
                                .iter()
                                .any(|k| n.strip_prefix(k).is_some_and(|r| r.starts_with('-')))
                    })
                })
                .collect();
            paths.sort();
            for p in paths {
                found.push((p.to_string_lossy().into_owned(), fs_err::read(&p)?));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (source, bytes) in found {
            if !seen.insert(Digest::sha256(&bytes)) {
                continue;
            }
            let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            if let Some(s) = evidence::statement(&json)
                && s.predicate_type == zt_core::predicate::ZT_DEPENDENCY_REQUEST_V1
            {
                out.push((source, bytes, s));
            }
        }
        Ok(out)
    }

    /// The key among `keys` that signed this bundle (signature and log proof verified).
    fn signer<'k>(
        &self,
        source: &str,
        bytes: &[u8],
        statement: &Statement,
        keys: impl IntoIterator<Item = &'k PublicKey>,
    ) -> Option<(&'k PublicKey, Value, zt_sign::verify::Verified)> {
        let parsed = bundle::parse(bytes, source).ok()?;
        let subject = statement
            .subject
            .first()?
            .digest_for(DigestAlgorithm::Sha256)?;
        let artifact = Artifact::Digest(subject);
        keys.into_iter().find_map(|k| {
            verify(&VerifyRequest {
                artifact: &artifact,
                bundle: &parsed,
                identity: &Identity::Key(k.clone()),
                trusted_root: Some(&self.root),
                insecure_ignore_tlog: false,
                witness_policy: None,
            })
            .ok()
            .filter(|v| v.tlog_verified)
            .map(|v| (k, parsed.json.clone(), v))
        })
    }

    /// The signed request `id` and the id of the key that signed it.
    fn signed_request(
        &self,
        statements: &[(String, Vec<u8>, Statement)],
        id: &str,
    ) -> Option<(Request, String)> {
        let keys: Vec<&PublicKey> = self
            .trust_keys
            .iter()
            .chain(&self.repository_keys)
            .chain(self.approvers.iter().map(|a| &a.key))
            .collect();
        statements.iter().find_map(|(source, bytes, s)| {
            let r = action(s, "request", id)?;
            let (k, _, _) = self.signer(source, bytes, s, keys.iter().copied())?;
            Some((r, k.key_id()))
        })
    }

    /// Checks one approval statement; `Ok` when it counts.
    fn check_approval(
        &self,
        statements: &[(String, Vec<u8>, Statement)],
        source: &str,
        bytes: &[u8],
        statement: &Statement,
        approved: &Request,
    ) -> Result<Result<VerifiedApproval, Refusal>, Error> {
        let Some((key, json, v)) = self.signer(
            source,
            bytes,
            statement,
            self.approvers
                .iter()
                .map(|a| &a.key)
                .chain(&self.repository_keys),
        ) else {
            return Ok(Err(Refusal::Unverified));
        };
        let Some((signed, requester_key)) = self.signed_request(statements, &approved.id) else {
            return Ok(Err(Refusal::UnsignedRequest(approved.id.clone())));
        };
        let entry = match check_key(
            &self.approvers,
            key,
            &requester_key,
            &self.repository_key_ids(),
        ) {
            Ok(e) => e,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let finder = revoke::Finder::new(
            &self.ws,
            self.ledger.as_deref(),
            &self.trust_keys,
            &self.root,
        );
        let signed_time = revoke::signed_time(&v.timestamps, v.integrated_time);
        if let Some(r) = finder.judge(key, &json, v.tlog_verified, signed_time)? {
            return Ok(Err(Refusal::Revoked(r.describe())));
        }
        let same = signed.id == approved.id
            && signed.ecosystem == approved.ecosystem
            && signed.package == approved.package
            && signed.version == approved.version
            && signed.requester == approved.requester
            && approved.status == requests::Status::Approved;
        if !same {
            return Ok(Err(Refusal::Mismatch(approved.id.clone())));
        }
        Ok(Ok(VerifiedApproval {
            request: approved.clone(),
            approver: entry.name.clone(),
            key_id: key.key_id(),
            bundle: source.to_string(),
        }))
    }
}

/// The kind (file name prefix in `.zt/bundles/`, see [`evidence::bundle_path`]) of a signed
/// request.
pub const REQUEST_KIND: &str = "dependency-request";
/// The kind of a signed approval.
pub const APPROVAL_KIND: &str = "dependency-approval";

/// The request in a statement `{action, request}` when its action is `want` and its id `id`
/// (any id when `id` is empty).
fn action(s: &Statement, want: &str, id: &str) -> Option<Request> {
    let p = s.predicate.as_ref()?;
    if p.get("action").and_then(Value::as_str) != Some(want) {
        return None;
    }
    let r: Request = serde_json::from_value(p.get("request")?.clone()).ok()?;
    (id.is_empty() || r.id == id).then_some(r)
}

/// Signs a request or approval statement (subject `dependency-request:<id>` with the record's
/// digest), logs it, stores and indexes it. `signer` `None` signs with the pipeline key.
fn sign(
    repo: &Path,
    kind: &str,
    act: &str,
    r: &Request,
    signer: Option<&dyn Signer>,
) -> Result<(PathBuf, u64), Error> {
    let body = serde_json::to_vec(r).unwrap_or_default();
    let statement = Statement::new(
        vec![ResourceDescriptor::subject(
            format!("dependency-request:{}", r.id),
            &Digest::sha256(&body),
        )],
        zt_core::predicate::ZT_DEPENDENCY_REQUEST_V1,
        serde_json::json!({"action": act, "request": r}),
    );
    let ws = Workspace::open(repo)?;
    let Some(signer) = signer else {
        return evidence::attest(&ws, kind, &statement);
    };
    revoke::refuse_revoked(&ws, &signer.public_key())?;
    let (log, _) = transparency::open_or_init(&ws.layout().log())?;
    let mut new = bundle::attest(signer, &statement)?;
    let index = transparency::log_bundle(&log, &mut new, &signer.public_key())?;
    Ok((evidence::record(&ws, kind, &new.json)?, index))
}

/// Signs and stores a new request with the requester's key (`None`: the pipeline key).
pub fn request(
    repo: &Path,
    r: &Request,
    signer: Option<&dyn Signer>,
) -> Result<(PathBuf, u64), Error> {
    let signed = sign(repo, REQUEST_KIND, "request", r, signer)?;
    Requests::in_repo(repo).save(r)?;
    Ok(signed)
}

/// Approves request `id` with the approver's own key: refused (with the reason) unless the key
/// is a listed approver's, not the requester's, not the repository's and not revoked.
/// `approver` names the approver when given (it must match `zt.toml`). Returns the approved
/// request, the approver's name, and the approval's bundle and log index.
pub fn approve(
    repo: &Path,
    id: &str,
    signer: &dyn Signer,
    approver: Option<&str>,
    now: &str,
) -> Result<(Request, String, PathBuf, u64), Error> {
    let refuse = |reason: String| Error::Approval {
        id: id.to_string(),
        reason,
    };
    // The id must name a stored request (a helpful error for typos).
    Requests::in_repo(repo).load(id)?;
    let ctx = Context::load(repo)?;
    let statements = ctx.statements()?;
    let Some((signed, requester_key)) = ctx.signed_request(&statements, id) else {
        return Err(refuse(Refusal::UnsignedRequest(id.into()).to_string()));
    };
    let key = signer.public_key();
    let entry = check_key(
        &ctx.approvers,
        &key,
        &requester_key,
        &ctx.repository_key_ids(),
    )
    .map_err(|r| refuse(r.to_string()))?;
    if let Some(name) = approver
        && name.trim() != entry.name
    {
        return Err(refuse(format!(
            "the key is approver `{}` in `zt.toml`, not `{name}`",
            entry.name
        )));
    }
    if let Some(a) = find(&ctx, &statements, id)? {
        return Err(
            zt_deps::Error::from(requests::RequestError::AlreadyApproved {
                id: id.into(),
                by: a.approver,
            })
            .into(),
        );
    }
    let name = entry.name.clone();
    let approved = requests::approve(signed, &name, now).map_err(zt_deps::Error::from)?;
    let (path, index) = sign(repo, APPROVAL_KIND, "approve", &approved, Some(signer))?;
    Requests::in_repo(repo).save(&approved)?;
    Ok((approved, name, path, index))
}

/// The approval of request `id` that counts, if any.
fn find(
    ctx: &Context<'_>,
    statements: &[(String, Vec<u8>, Statement)],
    id: &str,
) -> Result<Option<VerifiedApproval>, Error> {
    for (source, bytes, s) in statements {
        let Some(r) = action(s, "approve", id) else {
            continue;
        };
        if let Ok(a) = ctx.check_approval(statements, source, bytes, s, &r)? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// One approval statement and whether it counts (and why not).
pub type Audited = (Request, String, Result<VerifiedApproval, Refusal>);

/// Every approval statement in the repository (request, bundle) with whether it counts.
pub fn audit(repo: &Path) -> Result<Vec<Audited>, Error> {
    let ctx = Context::load(repo)?;
    let statements = ctx.statements()?;
    let mut out = Vec::new();
    for (source, bytes, s) in &statements {
        if let Some(r) = action(s, "approve", "") {
            let verdict = ctx.check_approval(&statements, source, bytes, s, &r)?;
            out.push((r, source.clone(), verdict));
        }
    }
    Ok(out)
}

/// The approval that counts for `name@version` in `ecosystem`, if any: what `zt deps intake`
/// accepts as "someone else approved this dependency".
pub fn approved_for(
    repo: &Path,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
) -> Result<Option<VerifiedApproval>, Error> {
    let ctx = Context::load(repo)?;
    let statements = ctx.statements()?;
    for (source, bytes, s) in &statements {
        let Some(r) = action(s, "approve", "") else {
            continue;
        };
        if !r.covers(ecosystem, name, version) {
            continue;
        }
        if let Ok(a) = ctx.check_approval(&statements, source, bytes, s, &r)? {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use zt_sign::{FileKey, KeyType};

    fn key() -> PublicKey {
        FileKey::generate(KeyType::Ed25519).public_key()
    }

    #[test]
    fn a_listed_key_that_is_neither_requester_nor_repository_approves() {
        let (bob, requester, repo) = (key(), key(), key());
        let approvers = [ApproverKey {
            name: "bob".into(),
            key: bob.clone(),
        }];
        let got = check_key(&approvers, &bob, &requester.key_id(), &[repo.key_id()]).unwrap();
        assert_eq!(got.name, "bob");
    }

    #[test]
    fn the_repository_key_cannot_approve_even_when_listed() {
        let (repo, requester) = (key(), key());
        let approvers = [ApproverKey {
            name: "ci".into(),
            key: repo.clone(),
        }];
        assert!(matches!(
            check_key(&approvers, &repo, &requester.key_id(), &[repo.key_id()]),
            Err(Refusal::RepositoryKey(_))
        ));
    }

    #[test]
    fn the_requesters_key_cannot_approve_even_when_listed() {
        let alice = key();
        let approvers = [ApproverKey {
            name: "alice".into(),
            key: alice.clone(),
        }];
        let refused = check_key(&approvers, &alice, &alice.key_id(), &[]).unwrap_err();
        assert!(matches!(refused, Refusal::RequesterKey(_)));
        assert!(refused.to_string().contains("signed the request"));
    }

    #[test]
    fn an_unlisted_key_cannot_approve() {
        let (bob, mallory, requester) = (key(), key(), key());
        let approvers = [ApproverKey {
            name: "bob".into(),
            key: bob,
        }];
        let refused = check_key(&approvers, &mallory, &requester.key_id(), &[]).unwrap_err();
        assert_eq!(refused, Refusal::NotAnApprover(short(&mallory.key_id())));
        assert!(check_key(&[], &mallory, &requester.key_id(), &[]).is_err());
    }
}
