//! The dependency-check workflow: the one producer of dependency-check statements, behind
//! `zt deps check` and the deps stage of `zt pipeline run`. Pinning, the `zt.toml` licence
//! policy, known malware (OSV `MAL-` records matched with zt-vuln) and typosquats; the
//! statement (predicate type `https://zt.dev/attestation/dependency-intake/v1`, the type the
//! `zt.deps` policy reads) carries `pinned`, `unpinned` and every finding. Nothing here prints
//! or reads the clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use zt_core::config::FindingLevel;
use zt_core::{ResourceDescriptor, Statement, predicate};
use zt_deps::check::{self, Checks, Problem, licenses::LicensePolicy, typosquat::TopPackages};

use crate::Error;
use crate::subject::{self, Subject};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// The project directory whose lockfiles are read.
    pub dir: PathBuf,
    /// The configuration with `[deps.licenses]` (default: `DIR/zt.toml` when it exists).
    pub config: Option<PathBuf>,
    /// Licences for packages whose lockfile records none (a purl → SPDX map or an SBOM).
    pub licenses: Option<PathBuf>,
    /// Known-malicious records: a store or a folder of OSV files (default: the store
    /// `DIR/.zt/vuln` when it exists).
    pub malware: Option<PathBuf>,
    /// Popular-package lists for typosquat detection.
    pub top_packages: Option<PathBuf>,
    /// How a typosquat finding counts.
    pub typosquat: FindingLevel,
    /// The artifacts the statement is about; empty: the lockfiles.
    pub subjects: Vec<Subject>,
}

impl CheckRequest {
    /// The check `zt deps check DIR` makes with no options.
    pub fn new(dir: &Path, subjects: Vec<Subject>) -> Self {
        CheckRequest {
            dir: dir.to_path_buf(),
            config: None,
            licenses: None,
            malware: None,
            top_packages: None,
            typosquat: FindingLevel::Deny,
            subjects,
        }
    }
}

/// The check's result and its statement.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The lockfiles read.
    pub lockfiles: Vec<PathBuf>,
    /// Packages found in them.
    pub packages: usize,
    /// Every finding, in lockfile, line, package order.
    pub findings: Vec<check::Finding>,
    /// Whether a finding fails the check.
    pub denied: bool,
    /// Checks that could not run, and why.
    pub not_checked: Vec<String>,
    /// Notes for the user (licences taken from `--licenses`).
    pub notes: Vec<String>,
    /// Malware records that could not be read (the others were used).
    pub skipped: Vec<String>,
    /// The unsigned statement.
    pub statement: Statement,
}

impl CheckReport {
    /// The findings that break pinning.
    pub fn unpinned(&self) -> impl Iterator<Item = &check::Finding> {
        self.findings.iter().filter(|f| is_pinning(f.problem))
    }
}

fn is_pinning(p: Problem) -> bool {
    matches!(
        p,
        Problem::Floating | Problem::MissingHash | Problem::UnpinnedGit | Problem::UnverifiedUrl
    )
}

/// `path` relative to `dir` when it lies inside it, for names that do not depend on where
/// the check ran from.
fn rel(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Checks the dependencies of `req.dir`.
pub fn check(req: &CheckRequest) -> Result<CheckReport, Error> {
    let dir = &req.dir;
    let mut inv = zt_deps::inventory(dir)?;
    let mut notes = Vec::new();
    let mut skipped = Vec::new();
    let config_path = req
        .config
        .clone()
        .unwrap_or_else(|| dir.join(zt_core::config::CONFIG_FILE));
    let policy = if config_path.is_file() || req.config.is_some() {
        let config = zt_core::config::Config::load(&config_path)?;
        match &config.deps.licenses {
            Some(l) => {
                let text = fs_err::read_to_string(&config_path)?;
                Some(LicensePolicy::new(l, &config_path, &text)?)
            }
            None => None,
        }
    } else {
        None
    };
    if let Some(path) = &req.licenses {
        let map = check::licenses::read_map(path)?;
        let n = check::licenses::apply_map(&mut inv, &map);
        notes.push(format!(
            "licences of {n} package(s) from `{}`",
            path.display()
        ));
    }
    let default_store = zt_vuln::store::Store::default_dir(dir);
    let malware_path = req.malware.clone().or_else(|| {
        default_store
            .join("manifest.json")
            .is_file()
            .then_some(default_store)
    });
    let mut malware: Option<BTreeMap<String, Vec<check::MalwareHit>>> = None;
    if let Some(path) = &malware_path {
        let (db, bad) = zt_vuln::malicious::open(path)?;
        skipped.extend(bad.iter().map(ToString::to_string));
        let mut hits = BTreeMap::new();
        for p in &inv.packages {
            let found = db.lookup(&p.purl)?;
            if !found.is_empty() {
                hits.insert(
                    p.purl.clone(),
                    found
                        .into_iter()
                        .map(|m| check::MalwareHit {
                            id: m.id,
                            summary: m.summary,
                            decided_by: m.decided_by,
                        })
                        .collect(),
                );
            }
        }
        malware = Some(hits);
    }
    let top = match &req.top_packages {
        Some(d) => {
            let mut ecos: Vec<zt_deps::Ecosystem> =
                inv.packages.iter().map(|p| p.ecosystem).collect();
            ecos.sort();
            ecos.dedup();
            Some(TopPackages::load_for(d, Some(&ecos))?)
        }
        None => None,
    };
    let findings = check::run(
        &inv,
        &Checks {
            licenses: policy.as_ref(),
            top_packages: top.as_ref(),
            malware: malware.as_ref(),
            typosquat_level: req.typosquat,
        },
    );
    let denied = check::denied(&findings);
    let mut not_checked = Vec::new();
    if policy.is_none() {
        not_checked.push("licences (no `[deps.licenses]` in zt.toml)".to_string());
    }
    if malware.is_none() {
        not_checked.push(
            "known malware (no `--malware` store or OSV folder, no `.zt/vuln` store)".to_string(),
        );
    }
    match &top {
        None => not_checked.push("typosquats (no `--top-packages` lists)".to_string()),
        Some(t) => {
            let mut missing: Vec<&str> = inv
                .packages
                .iter()
                .map(|p| p.ecosystem)
                .filter(|e| !t.covers(*e))
                .map(|e| e.name())
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                not_checked.push(format!(
                    "typosquats in {} (no popular-package list)",
                    missing.join(", ")
                ));
            }
        }
    }
    let lockfiles: Vec<String> = inv.lockfiles.iter().map(|l| rel(dir, &l.path)).collect();
    let level = |l: FindingLevel| match l {
        FindingLevel::Deny => "deny",
        FindingLevel::Warn => "warn",
    };
    let unpinned: Vec<serde_json::Value> = findings
        .iter()
        .filter(|f| is_pinning(f.problem))
        .map(|f| json!({"name": f.purl, "reason": f.message, "file": rel(dir, &f.file), "line": f.line}))
        .collect();
    let predicate = json!({
        "lockfiles": lockfiles,
        "packages": inv.packages.len(),
        "pinned": unpinned.is_empty(),
        "unpinned": unpinned,
        "denied": denied,
        "findings": findings.iter().map(|f| json!({
            "rule": f.problem.name(),
            "level": level(f.level),
            "package": f.purl,
            "message": f.message,
            "file": rel(dir, &f.file),
            "line": f.line,
        })).collect::<Vec<_>>(),
        "not_checked": not_checked,
    });
    let subjects: Vec<ResourceDescriptor> = if req.subjects.is_empty() {
        inv.lockfiles
            .iter()
            .map(|l| ResourceDescriptor::subject(rel(dir, &l.path), &l.sha256))
            .collect()
    } else {
        subject::descriptors(&req.subjects)
    };
    let statement = Statement::new(subjects, predicate::ZT_INTAKE_V1, predicate);
    Ok(CheckReport {
        lockfiles: inv.lockfiles.iter().map(|l| l.path.clone()).collect(),
        packages: inv.packages.len(),
        findings,
        denied,
        not_checked,
        notes,
        skipped,
        statement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zt_core::Digest;

    #[test]
    fn the_statement_is_about_the_artifact_and_names_the_unpinned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let h = "ab".repeat(32);
        fs_err::write(
            p.join("requirements.txt"),
            format!("flask>=2.0 --hash=sha256:{h}\nrequests==2.31.0 --hash=sha256:{h}\n"),
        )
        .unwrap();
        let art = Subject {
            name: "out/app".into(),
            digest: Digest::sha256(b"app"),
        };
        let r = check(&CheckRequest::new(p, vec![art.clone()])).unwrap();
        assert!(r.denied);
        assert_eq!(r.unpinned().count(), 1);
        assert_eq!(r.statement.subject, vec![art.descriptor()]);
        let pred = r.statement.predicate.as_ref().unwrap();
        assert_eq!(pred["pinned"], false);
        assert_eq!(pred["unpinned"][0]["name"], "pkg:pypi/flask@2.0");
        assert_eq!(pred["unpinned"][0]["file"], "requirements.txt");
        assert_eq!(pred["lockfiles"], json!(["requirements.txt"]));
        // the same check from another working directory spelling gives the same statement
        let again = check(&CheckRequest::new(&p.join("."), vec![art])).unwrap();
        assert_eq!(again.statement.to_json(), r.statement.to_json());
    }
}
