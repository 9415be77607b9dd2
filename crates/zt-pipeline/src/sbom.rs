//! The SBOM workflow: the one producer of SBOM statements, behind `zt sbom` and the sbom
//! stage of `zt pipeline run`. It reads the project's lockfiles, writes the document
//! (CycloneDX 1.6 or SPDX 2.3, deterministic) and the in-toto statement whose predicate is that
//! document. Nothing here prints or reads the clock.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_core::{ResourceDescriptor, Statement, predicate};
use zt_deps::sbom::{self, RootInfo};

use crate::Error;
use crate::subject::{self, Subject};

/// The SBOM formats zt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.6 JSON (predicate type `https://cyclonedx.org/bom`).
    CycloneDx,
    /// SPDX 2.3 JSON (predicate type `https://spdx.dev/Document/v2.3`).
    Spdx,
}

impl Format {
    /// The predicate type of a statement carrying this document.
    pub fn predicate_type(self) -> &'static str {
        match self {
            Format::CycloneDx => predicate::CYCLONEDX,
            Format::Spdx => predicate::SPDX_23,
        }
    }
}

/// What to describe.
#[derive(Debug, Clone)]
pub struct Request {
    /// The project directory whose lockfiles are read.
    pub dir: PathBuf,
    /// The document format.
    pub format: Format,
    /// The root component's name (default: the directory's name).
    pub name: Option<String>,
    /// The root component's version (may be empty).
    pub version: String,
    /// The document's creation time (`SOURCE_DATE_EPOCH`); `None` omits it where the format
    /// allows.
    pub timestamp: Option<i64>,
    /// The artifacts the SBOM describes: they appear in the document as file components and
    /// are the statement's subjects. Empty: the statement is about the lockfiles.
    pub subjects: Vec<Subject>,
}

impl Request {
    /// A CycloneDX SBOM of `dir` about `subjects`, with the defaults `zt sbom` has.
    pub fn cyclonedx(dir: &Path, subjects: Vec<Subject>) -> Self {
        Request {
            dir: dir.to_path_buf(),
            format: Format::CycloneDx,
            name: None,
            version: String::new(),
            timestamp: None,
            subjects,
        }
    }
}

/// The SBOM and its statement.
#[derive(Debug, Clone)]
pub struct Report {
    /// The lockfiles read (paths as found under the project directory).
    pub lockfiles: Vec<PathBuf>,
    /// Packages found in them.
    pub packages: usize,
    /// The document.
    pub document: Value,
    /// The document's canonical bytes (what `zt sbom` prints or writes).
    pub bytes: Vec<u8>,
    /// The unsigned statement: subjects the artifacts (else the lockfiles), predicate the
    /// document.
    pub statement: Statement,
}

/// The project's name as the SBOM's root: the directory's own name.
pub fn project_name(dir: &Path) -> String {
    fs_err::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into())
}

/// Makes the SBOM of `req.dir`.
pub fn sbom(req: &Request) -> Result<Report, Error> {
    let inventory = zt_deps::inventory(&req.dir).map_err(|e| Error::Repository {
        path: req.dir.clone(),
        reason: format!("has a lockfile zt cannot read: {e}"),
    })?;
    let name = req.name.clone().unwrap_or_else(|| project_name(&req.dir));
    let mut root = RootInfo::new(name, req.version.clone());
    root.timestamp = req.timestamp;
    root.artifacts = req
        .subjects
        .iter()
        .map(|s| (s.name.clone(), s.digest.clone()))
        .collect();
    let document = match req.format {
        Format::CycloneDx => sbom::cyclonedx(&inventory, &root),
        Format::Spdx => sbom::spdx(&inventory, &root),
    };
    let bytes = sbom::to_bytes(&document);
    let subjects: Vec<ResourceDescriptor> = if req.subjects.is_empty() {
        inventory
            .lockfiles
            .iter()
            .map(|l| ResourceDescriptor::subject(l.path.display().to_string(), &l.sha256))
            .collect()
    } else {
        subject::descriptors(&req.subjects)
    };
    let statement = Statement::new(subjects, req.format.predicate_type(), document.clone());
    Ok(Report {
        lockfiles: inventory.lockfiles.iter().map(|l| l.path.clone()).collect(),
        packages: inventory.packages.len(),
        document,
        bytes,
        statement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zt_core::Digest;

    #[test]
    fn the_artifacts_are_the_subjects_and_components() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("proj");
        fs_err::create_dir_all(&p).unwrap();
        fs_err::write(p.join("requirements.txt"), "flask==2.0.0\n").unwrap();
        let art = Subject {
            name: "out/app".into(),
            digest: Digest::sha256(b"app"),
        };
        let r = sbom(&Request::cyclonedx(&p, vec![art.clone()])).unwrap();
        assert_eq!(r.packages, 1);
        assert_eq!(r.statement.subject, vec![art.descriptor()]);
        assert_eq!(r.statement.predicate_type, predicate::CYCLONEDX);
        let text = String::from_utf8(r.bytes.clone()).unwrap();
        assert!(text.contains(&Digest::sha256(b"app").hex()), "{text}");
        assert!(text.contains("\"proj\""), "{text}");
        // no subject: the statement is about the lockfile, as before
        let r2 = sbom(&Request::cyclonedx(&p, vec![])).unwrap();
        assert!(
            r2.statement.subject[0]
                .name
                .as_deref()
                .unwrap_or("")
                .ends_with("requirements.txt")
        );
        // deterministic
        assert_eq!(
            sbom(&Request::cyclonedx(&p, vec![art])).unwrap().bytes,
            r.bytes
        );
    }
}
