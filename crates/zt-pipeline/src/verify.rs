//! `zt verify FILE --bundle B` as a workflow: one Sigstore bundle checked offline against the
//! artifact, the expected signer and the trusted root — the public-good root, joined by the
//! workspace's own log when it has one, unless a root is given — and the witnesses a
//! cosignature policy asks for. A bundle that verifies joins the workspace's ledger when the
//! workspace has one, so a later `zt verify --stage` counts it. Nothing here prints.

use std::path::{Path, PathBuf};

use zt_core::Workspace;
use zt_sign::verify::{Artifact, Identity, Request, Verified};

use crate::Error;

/// One bundle to check.
#[derive(Debug)]
pub struct BundleCheck<'a> {
    /// The artifact: a file, or only its digest.
    pub artifact: &'a Artifact,
    /// The bundle file.
    pub bundle: &'a Path,
    /// The signer the bundle must name.
    pub identity: &'a Identity,
    /// A `trusted_root.json` to use instead of the public-good root (+ the workspace's log).
    pub trusted_root: Option<&'a Path>,
    /// The transparency log whose key joins the public-good root (default: the workspace's).
    pub log_dir: Option<PathBuf>,
    /// A witness cosignature policy the log's checkpoint must satisfy.
    pub witness_policy: Option<&'a Path>,
    /// Skip the transparency-log checks (never for evidence that gates anything).
    pub insecure_ignore_tlog: bool,
}

/// Verifies `check.bundle`; on success the bundle is indexed in the workspace's ledger if
/// one exists (a verification never creates a ledger).
pub fn bundle(ws: &Workspace, check: &BundleCheck<'_>) -> Result<Verified, Error> {
    let bundle_bytes = fs_err::read(check.bundle).map_err(zt_sign::Error::from)?;
    let parsed = zt_sign::bundle::parse(&bundle_bytes, &check.bundle.display().to_string())?;
    let trusted_root = trusted_root(ws, check.trusted_root, check.log_dir.clone())?;
    let witness_policy = witness_policy(check.witness_policy)?;
    let verified = zt_sign::verify::verify(&Request {
        artifact: check.artifact,
        bundle: &parsed,
        identity: check.identity,
        trusted_root: trusted_root.as_deref(),
        insecure_ignore_tlog: check.insecure_ignore_tlog,
        witness_policy: witness_policy.as_ref(),
    })?;
    if crate::ledger::open_existing(ws)?.is_some() {
        crate::evidence::index(ws, &parsed.json)?;
    }
    Ok(verified)
}

/// The trusted root a verification uses: the file given, else the public-good root joined by
/// the workspace's own log (`log_dir`, default `.zt/log`) when it has one, else `None` (the
/// embedded public-good root).
pub fn trusted_root(
    ws: &Workspace,
    given: Option<&Path>,
    log_dir: Option<PathBuf>,
) -> Result<Option<String>, Error> {
    let log_dir = log_dir.unwrap_or_else(|| ws.layout().log());
    Ok(match given {
        Some(p) => Some(fs_err::read_to_string(p).map_err(zt_sign::Error::from)?),
        None if log_dir.join("log.pub").exists() => {
            // The public-good root plus this repository's own log.
            let mut root: serde_json::Value =
                serde_json::from_str(zt_sign::verify::PRODUCTION_TRUSTED_ROOT).unwrap_or_default();
            let local = zt_sign::transparency::trusted_root(&log_dir)?;
            zt_sign::rekor::merge_tlogs(&mut root, &local);
            Some(root.to_string())
        }
        None => None,
    })
}

/// Reads a witness cosignature policy file.
pub fn witness_policy(path: Option<&Path>) -> Result<Option<zt_tlog::TrustPolicy>, Error> {
    let Some(p) = path else { return Ok(None) };
    let text = fs_err::read_to_string(p).map_err(zt_sign::Error::from)?;
    zt_tlog::TrustPolicy::parse(&text)
        .map(Some)
        .map_err(|source| Error::WitnessPolicy {
            path: p.to_path_buf(),
            source,
        })
}
