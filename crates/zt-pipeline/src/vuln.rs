//! The vulnerability workflows: the one producer of vulnerability-scan statements, behind
//! `zt vuln scan` and the vuln stage of `zt pipeline run`, and `zt vuln waive`, which writes
//! the waiver file both read. Nothing here prints; the clock is the `now` argument.

use std::path::{Path, PathBuf};

use zt_core::{Digest, Statement, predicate};
use zt_vuln::cvss::Severity;
use zt_vuln::scan::{Finding, ScanReport};
use zt_vuln::store::{Manifest, Store};
use zt_vuln::waiver::{self, LoadedWaiver, Waiver, WaiverCheck, WaiverPolicy};

use crate::Error;
use crate::subject::{self, Subject};

/// The repository's waiver file ([`waiver::DEFAULT_FILE`] at its root), if there is one.
pub fn default_waivers(repo: &Path) -> Option<PathBuf> {
    let path = repo.join(waiver::DEFAULT_FILE);
    path.is_file().then_some(path)
}

/// What to scan.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The SBOM (CycloneDX or SPDX JSON, or a `Cargo.lock`).
    pub sbom: PathBuf,
    /// The advisory store.
    pub store: PathBuf,
    /// The waiver file to apply (`None`: no waivers).
    pub waivers: Option<PathBuf>,
    /// The waiver policy (longest expiry, warning window).
    pub policy: WaiverPolicy,
    /// The artifacts the statement is about; empty: the SBOM file itself.
    pub subjects: Vec<Subject>,
}

/// A scan with waivers applied, and its statement.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The findings left after waivers (counts recomputed), and what could not be scanned.
    pub report: ScanReport,
    /// The waived findings.
    pub waived: Vec<Finding>,
    /// The waivers read (empty without a waiver file).
    pub waivers: Vec<LoadedWaiver>,
    /// How the waivers applied: expired, unused, expiring soon.
    pub check: WaiverCheck,
    /// The database's manifest (its age: [`Manifest::data_time`]).
    pub manifest: Manifest,
    /// The unsigned `https://zt.dev/attestation/vuln-scan/v1` statement.
    pub statement: Statement,
}

impl ScanOutcome {
    /// Unwaived findings at or above `threshold`.
    pub fn blocking(&self, threshold: Severity) -> usize {
        self.report.at_or_above(threshold)
    }
}

/// Scans `req.sbom` against the store, applies the waivers at `now` and makes the statement.
/// The SBOM is named in the predicate relative to `repo` (as the pipeline names it).
pub fn scan(repo: &Path, req: &ScanRequest, now: i64) -> Result<ScanOutcome, Error> {
    let store = Store::open(&req.store)?;
    let report = zt_vuln::scan::scan_file(&store, &req.sbom)?;
    let waivers = match &req.waivers {
        Some(path) => {
            let text = fs_err::read_to_string(path)?;
            waiver::load(&text, path, req.policy, now)?
        }
        None => Vec::new(),
    };
    let waiver::Waived {
        report,
        waived,
        check,
    } = waiver::waive(report, &waivers, req.policy, now);
    let sbom_digest = Digest::of_file(zt_core::DigestAlgorithm::Sha256, &req.sbom)?;
    let sbom_name = subject::name_in(repo, &req.sbom);
    let manifest = store.manifest().clone();
    let predicate = zt_vuln::scan::predicate(&report, &waived, &sbom_name, &sbom_digest, &manifest);
    let subjects = if req.subjects.is_empty() {
        vec![zt_core::ResourceDescriptor::subject(
            sbom_name,
            &sbom_digest,
        )]
    } else {
        subject::descriptors(&req.subjects)
    };
    let statement = Statement::new(subjects, predicate::ZT_VULN_SCAN_V1, predicate);
    Ok(ScanOutcome {
        report,
        waived,
        waivers,
        check,
        manifest,
        statement,
    })
}

/// A waiver to record.
#[derive(Debug, Clone)]
pub struct WaiveRequest {
    /// The waiver file (default: [`default_waivers`]' path); created when missing.
    pub file: PathBuf,
    /// The waiver.
    pub waiver: Waiver,
    /// The policy it must meet (the same `zt vuln scan` applies).
    pub policy: WaiverPolicy,
}

/// The waiver as recorded.
#[derive(Debug, Clone)]
pub struct WaiveReport {
    /// The file written.
    pub file: PathBuf,
    /// The waiver's index in it (`waiver[N]`).
    pub index: usize,
    /// When it stops applying (seconds since the Unix epoch).
    pub expires_at: i64,
}

/// Appends `req.waiver` to the waiver file, checked with the rules `--waivers` applies
/// ([`waiver::append`]), and replaces the file atomically.
pub fn waive(req: &WaiveRequest, now: i64) -> Result<WaiveReport, Error> {
    let existing = if req.file.exists() {
        fs_err::read_to_string(&req.file)?
    } else {
        String::new()
    };
    let text = waiver::append(&existing, &req.waiver, &req.file, req.policy, now)?;
    let loaded = waiver::load(&text, &req.file, req.policy, now)?;
    let last = loaded.last().ok_or_else(|| Error::Input {
        what: format!("`{}` holds no waiver after writing", req.file.display()),
        help: "report this as a bug; check the file with `zt vuln scan SBOM --waivers FILE`".into(),
    })?;
    zt_core::fsutil::write_atomic(&req.file, text.as_bytes())?;
    Ok(WaiveReport {
        file: req.file.clone(),
        index: last.index,
        expires_at: last.expires_at,
    })
}
