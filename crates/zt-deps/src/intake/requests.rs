//! Requests for new dependencies (`.zt/requests/<id>.json`): who wants which package, why,
//! and who will maintain it; and the approval by someone else. The binary signs each
//! request and each approval as an in-toto statement (predicate type
//! `https://zt.dev/attestation/dependency-request/v1`) and records it in the ledger.

use std::path::{Path, PathBuf};

use zt_core::Digest;

use crate::{Ecosystem, Error};

/// A request's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for approval.
    Pending,
    /// Approved by someone other than the requester.
    Approved,
}

/// The approval of a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    /// Who approved.
    pub approver: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One dependency request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// `REQ-` and 12 hex digits.
    pub id: String,
    /// OSV ecosystem name.
    pub ecosystem: String,
    /// The package name.
    pub package: String,
    /// A version, if the request is for one only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why the project needs it.
    pub justification: String,
    /// Who keeps it updated and how.
    pub maintenance_plan: String,
    /// Who asked.
    pub requester: String,
    /// When (RFC 3339).
    pub created: String,
    /// Pending or approved.
    pub status: Status,
    /// The approval, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
}

impl Request {
    /// Whether this approved request covers `name@version` in `ecosystem`.
    pub fn covers(&self, ecosystem: Ecosystem, name: &str, version: &str) -> bool {
        self.status == Status::Approved
            && self.ecosystem == ecosystem.name()
            && same_name(ecosystem, &self.package, name)
            && self.version.as_deref().is_none_or(|v| v == version)
    }
}

fn same_name(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    match ecosystem {
        Ecosystem::PyPI => crate::purl::pep503(a) == crate::purl::pep503(b),
        Ecosystem::CratesIo => a
            .replace('-', "_")
            .eq_ignore_ascii_case(&b.replace('-', "_")),
        _ => a == b,
    }
}

/// Why a request or approval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A required field is empty.
    #[error("`--{0}` is empty")]
    Empty(&'static str),
    /// No request with this id.
    #[error("no dependency request `{0}`")]
    Unknown(String),
    /// The requester tried to approve their own request.
    #[error("`{approver}` requested `{id}` and cannot approve it too")]
    SelfApproval {
        /// The request.
        id: String,
        /// The would-be approver.
        approver: String,
    },
    /// The request is already approved.
    #[error("`{id}` was already approved by `{by}`")]
    AlreadyApproved {
        /// The request.
        id: String,
        /// Its approver.
        by: String,
    },
}

/// The request store of a repository.
#[derive(Debug, Clone)]
pub struct Requests {
    dir: PathBuf,
}

impl Requests {
    /// `<repo>/.zt/requests`.
    pub fn in_repo(repo: &Path) -> Self {
        Self {
            dir: repo.join(".zt/requests"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Where request `id` is (or would be) stored.
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.path(id)
    }

    /// A new request (validated, not yet stored).
    #[allow(clippy::too_many_arguments)] // one field each, all named by the caller's flags
    pub fn new_request(
        ecosystem: Ecosystem,
        package: &str,
        version: Option<&str>,
        justification: &str,
        maintenance_plan: &str,
        requester: &str,
        now: &str,
    ) -> Result<Request, RequestError> {
        for (flag, v) in [
            ("justification", justification),
            ("maintenance-plan", maintenance_plan),
            ("requester", requester),
        ] {
            if v.trim().is_empty() {
                return Err(RequestError::Empty(flag));
            }
        }
        if package.trim().is_empty() {
            return Err(RequestError::Empty("package"));
        }
        let seed = format!(
            "{}\n{package}\n{requester}\n{now}\n{justification}",
            ecosystem.name()
        );
        let id = format!(
            "REQ-{}",
            Digest::sha256(seed.as_bytes())
                .hex()
                .get(..12)
                .unwrap_or_default()
        );
        Ok(Request {
            id,
            ecosystem: ecosystem.name().into(),
            package: package.into(),
            version: version.map(Into::into),
            justification: justification.trim().into(),
            maintenance_plan: maintenance_plan.trim().into(),
            requester: requester.trim().into(),
            created: now.into(),
            status: Status::Pending,
            approval: None,
        })
    }

    /// Stores a request (atomic, never overwriting another with the same id).
    pub fn save(&self, r: &Request) -> Result<PathBuf, Error> {
        let path = self.path(&r.id);
        let mut bytes = serde_json::to_vec_pretty(r).unwrap_or_default();
        bytes.push(b'\n');
        zt_core::fsutil::write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Loads one request.
    pub fn load(&self, id: &str) -> Result<Request, Error> {
        let path = self.path(id);
        if !id.starts_with("REQ-") || id.contains('/') || !path.is_file() {
            return Err(Error::Parse {
                file: path,
                line: None,
                message: RequestError::Unknown(id.into()).to_string(),
                fix: "list the requests with `zt deps requests`".into(),
            });
        }
        let bytes = fs_err::read(&path)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
            file: path,
            line: Some(e.line()),
            message: format!("not a dependency request: {e}"),
            fix: "restore the file from the ledger's signed request".into(),
        })
    }

    /// Every request, oldest first.
    pub fn list(&self) -> Result<Vec<Request>, Error> {
        let mut out = Vec::new();
        let rd = match fs_err::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for e in rd {
            let name = e?.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json") {
                out.push(self.load(id)?);
            }
        }
        out.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(out)
    }

    /// The approved request that covers `name@version`, if any.
    pub fn approved_for(
        &self,
        ecosystem: Ecosystem,
        name: &str,
        version: &str,
    ) -> Result<Option<Request>, Error> {
        Ok(self
            .list()?
            .into_iter()
            .find(|r| r.covers(ecosystem, name, version)))
    }
}

/// Approves `r` as `approver` (not stored): refused for the requester and for a request
/// already approved.
pub fn approve(mut r: Request, approver: &str, now: &str) -> Result<Request, RequestError> {
    if approver.trim().is_empty() {
        return Err(RequestError::Empty("approver"));
    }
    if let Some(a) = &r.approval {
        return Err(RequestError::AlreadyApproved {
            id: r.id.clone(),
            by: a.approver.clone(),
        });
    }
    if approver.trim().eq_ignore_ascii_case(r.requester.trim()) {
        return Err(RequestError::SelfApproval {
            id: r.id.clone(),
            approver: approver.into(),
        });
    }
    r.status = Status::Approved;
    r.approval = Some(Approval {
        approver: approver.trim().into(),
        at: now.into(),
    });
    Ok(r)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn request_approve_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let store = Requests::in_repo(dir.path());
        let r = Requests::new_request(
            Ecosystem::PyPI,
            "Requests",
            None,
            "HTTP client",
            "team-a updates monthly",
            "alice",
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        assert!(r.id.starts_with("REQ-") && r.id.len() == 16);
        store.save(&r).unwrap();
        assert!(
            store
                .approved_for(Ecosystem::PyPI, "requests", "2.0")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            approve(r.clone(), "Alice", "t").unwrap_err(),
            RequestError::SelfApproval {
                id: r.id.clone(),
                approver: "Alice".into()
            }
        );
        let ok = approve(r.clone(), "bob", "t").unwrap();
        store.save(&ok).unwrap();
        assert!(matches!(
            approve(ok, "carol", "t"),
            Err(RequestError::AlreadyApproved { .. })
        ));
        let found = store
            .approved_for(Ecosystem::PyPI, "requests", "2.0")
            .unwrap()
            .unwrap();
        assert_eq!(found.approval.unwrap().approver, "bob");
        assert!(
            store
                .approved_for(Ecosystem::Npm, "requests", "2.0")
                .unwrap()
                .is_none()
        );
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.load("REQ-../../x").is_err());
    }

    #[test]
    fn empty_fields_are_refused() {
        assert_eq!(
            Requests::new_request(Ecosystem::Npm, "x", None, " ", "plan", "a", "t").unwrap_err(),
            RequestError::Empty("justification")
        );
    }
}
