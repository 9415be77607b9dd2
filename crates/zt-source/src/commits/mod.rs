//! Signed-commit verification against the repository's own signer policy (`zt source verify`).
//!
//! Each commit's signature (SSH `sshsig` or OpenPGP, from its `gpgsig` or `gpgsig-sha256`
//! header) is verified in process over the payload git signs, then judged against the signer
//! policy `.zt/signers.toml` **as it is in the commit's parent(s)**: the key must be listed
//! there, valid at the commit's trusted time (when zt, or the CI push, first saw it — never the
//! committer date the signer controls), not revoked, and allowed the paths the commit touches.
//! A merge must satisfy every parent's policy. History is trusted from a trust root commit
//! (`--trust-root`, `git config zt.trustRoot`, or the first commit with a policy), which is
//! judged against its own policy.
//!
//! A commit that fails hands its parent's verified policy on to its children, so an
//! unauthorised policy change never takes effect and other failures do not spread. A range
//! `A..B` chooses which commits are reported; the chain from the trust root is always judged.
//!
//! Verdicts fail closed: anything but [`Verdict::Good`] fails, with a reason.

mod cache;
mod object;
mod openpgp;
mod policy;
mod repo;
mod sshsig;
mod statement;
mod verify;

pub use cache::{CACHE_PATH, Cache};
/// Git object ids, as `gix` names them.
pub use gix::ObjectId;
pub use object::{Commit, Person, split_signature};
pub use openpgp::{PgpKey, PgpSignature};
pub use policy::{Key, POLICY_PATH, Policy, Signer};
pub use repo::Repo;
pub use sshsig::{NAMESPACE as SSH_NAMESPACE, SshKey, SshSignature};
pub use statement::statement;
pub use verify::{CommitResult, NewKey, Options, Report, TrustRootSource, Verdict, verify};
