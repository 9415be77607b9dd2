//! The signing workflows behind `zt sign` and `zt attest` (and, through the server, uploads
//! made on a runner's behalf): a revoked key signs nothing; the predicate is made from a
//! report (JUnit, lcov/Cobertura) or given; every signature is logged; every bundle is written
//! and indexed in the workspace's ledger.

use std::path::{Path, PathBuf};

use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor, Statement, Workspace};
use zt_sign::Signer;
use zt_sign::bundle::{self, NewBundle};

use crate::Error;

/// What an attestation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// In-toto test-result v0.1 from a JUnit XML report.
    TestResults(PathBuf),
    /// zt's coverage predicate from an lcov tracefile or Cobertura XML.
    Coverage(PathBuf),
    /// Any predicate: its type URI and a JSON file holding it.
    Given {
        /// The predicate type URI.
        predicate_type: String,
        /// The JSON file.
        file: PathBuf,
    },
    /// A predicate zt made itself (an image's SBOM): its type URI, the kind used in the
    /// evidence store's file names, and the predicate.
    Document {
        /// The predicate type URI.
        predicate_type: String,
        /// The kind (`sbom`).
        kind: &'static str,
        /// The predicate.
        value: serde_json::Value,
    },
}

impl Predicate {
    /// The kind used in the evidence store's file names.
    pub fn kind(&self) -> &'static str {
        match self {
            Predicate::TestResults(_) => "test-result",
            Predicate::Coverage(_) => "coverage",
            Predicate::Given { .. } => "attestation",
            Predicate::Document { kind, .. } => kind,
        }
    }

    /// The predicate type and the predicate.
    pub fn read(&self) -> Result<(String, serde_json::Value), Error> {
        let report = |path: &Path| fs_err::read(path).map_err(Error::from);
        Ok(match self {
            Predicate::TestResults(path) => {
                let p = zt_policy::evidence::junit::junit_to_test_result(&report(path)?).map_err(
                    |source| Error::Report {
                        what: format!("`{}` is not a JUnit XML report zt can read", path.display()),
                        source,
                    },
                )?;
                (zt_core::predicate::TEST_RESULT_V01.to_string(), p)
            }
            Predicate::Coverage(path) => {
                let p = zt_policy::evidence::coverage::to_predicate(&report(path)?).map_err(
                    |source| Error::Report {
                        what: format!("`{}` is not a coverage report zt can read", path.display()),
                        source,
                    },
                )?;
                (zt_core::predicate::ZT_COVERAGE_V1.to_string(), p)
            }
            Predicate::Given {
                predicate_type,
                file,
            } => {
                let p = serde_json::from_slice(&report(file)?).map_err(|source| {
                    zt_core::Error::Json {
                        what: file.display().to_string(),
                        source,
                    }
                })?;
                (predicate_type.clone(), p)
            }
            Predicate::Document {
                predicate_type,
                value,
                ..
            } => (predicate_type.clone(), value.clone()),
        })
    }
}

/// A signature or an attestation to make.
pub struct Request<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// The artifact.
    pub file: PathBuf,
    /// The transparency log every signature is appended to (created on first use).
    pub log_dir: PathBuf,
    /// Where to write the bundle (`None`: the default for the command).
    pub bundle: Option<PathBuf>,
}

/// What was signed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Signed {
    /// The artifact.
    pub artifact: PathBuf,
    /// Its digest.
    pub digest: String,
    /// The bundle written.
    pub bundle: PathBuf,
    /// Its log entry's index.
    pub log_index: u64,
    /// The origin of the log, when this signature created it.
    #[serde(skip)]
    pub created_log: Option<String>,
    /// The log's directory.
    #[serde(skip)]
    pub log_dir: PathBuf,
}

/// `zt sign`: a message signature over the file's SHA-256, logged; the bundle goes to
/// `--bundle`, else beside the file (`FILE.sigstore.json`, as cosign names it).
pub fn sign(ws: &Workspace, req: &Request<'_>) -> Result<Signed, Error> {
    start(ws, req)?;
    let mut new = bundle::sign_file(req.signer, &req.file)?;
    let (index, created) = log(&mut new, req)?;
    let out = req
        .bundle
        .clone()
        .unwrap_or_else(|| with_suffix(&req.file, ".sigstore.json"));
    finish(ws, &new, index, created, out, req)
}

/// The statement `zt attest` makes about `file` (its name and SHA-256 as the subject).
pub fn statement(file: &Path, predicate: &Predicate) -> Result<Statement, Error> {
    let (predicate_type, predicate) = predicate.read()?;
    let digest = Digest::of_file(DigestAlgorithm::Sha256, file)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Statement::new(
        vec![ResourceDescriptor::subject(name, &digest)],
        predicate_type,
        predicate,
    ))
}

/// `zt attest`: an in-toto statement about the file in a DSSE envelope, logged; the bundle goes
/// to `--bundle`, else to the evidence store (never beside the artifact: where a build's outputs
/// are judged, a bundle there would be judged as one).
pub fn attest(ws: &Workspace, req: &Request<'_>, predicate: &Predicate) -> Result<Signed, Error> {
    start(ws, req)?;
    let statement = statement(&req.file, predicate)?;
    let mut new = bundle::attest(req.signer, &statement)?;
    let (index, created) = log(&mut new, req)?;
    let out = req
        .bundle
        .clone()
        .unwrap_or_else(|| crate::evidence::bundle_path(ws, predicate.kind(), &new.json));
    finish(ws, &new, index, created, out, req)
}

/// A revoked key signs nothing; the artifact must be a file.
fn start(ws: &Workspace, req: &Request<'_>) -> Result<(), Error> {
    crate::revoke::refuse_revoked(ws, &req.signer.public_key())?;
    if !req.file.is_file() {
        return Err(Error::Input {
            what: format!("`{}` is not a file", req.file.display()),
            help: "pass the path of the artifact to sign".into(),
        });
    }
    Ok(())
}

/// Appends the signature to the log (created on first use) and puts the entry and its proof
/// into the bundle.
fn log(new: &mut NewBundle, req: &Request<'_>) -> Result<(u64, Option<String>), Error> {
    let (log, created) = zt_sign::transparency::open_or_init(&req.log_dir)?;
    let index = zt_sign::transparency::log_bundle(&log, new, &req.signer.public_key())?;
    Ok((index, created.then(|| log.origin().to_string())))
}

fn finish(
    ws: &Workspace,
    new: &NewBundle,
    log_index: u64,
    created_log: Option<String>,
    out: PathBuf,
    req: &Request<'_>,
) -> Result<Signed, Error> {
    zt_core::fsutil::write_atomic(&out, &bundle::to_bytes(&new.json))?;
    // Every bundle zt makes is indexed in the workspace's ledger.
    crate::evidence::index(ws, &new.json)?;
    Ok(Signed {
        artifact: req.file.clone(),
        digest: new
            .subjects
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        bundle: out,
        log_index,
        created_log,
        log_dir: req.log_dir.clone(),
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
