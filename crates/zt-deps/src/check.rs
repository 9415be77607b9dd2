//! Pinning checks over an [`Inventory`]: every dependency must resolve to one exact,
//! verifiable artifact.
//!
//! - **floating**: a requirement list (`requirements.txt`) entry that is not `==`/`===` an
//!   exact version (ranges, wildcards, bare names);
//! - **missing-hash**: a `requirements.txt` entry without `--hash` (pip's hash-checking mode
//!   needs one on every line), or a registry package without the checksum its lockfile
//!   format records (`Cargo.lock` `checksum`, `package-lock.json` `integrity`, `poetry.lock`
//!   / `uv.lock` file hashes);
//! - **unpinned-git**: a git dependency without a full commit id;
//! - **unverified-url**: a direct URL dependency without a content hash.

use crate::{Inventory, Source, lockfile::Format};

/// The kind of a pinning problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// A version range or no version at all.
    Floating,
    /// The format carries hashes but this entry has none.
    MissingHash,
    /// A git dependency not pinned to a full commit.
    UnpinnedGit,
    /// A URL dependency without a content hash.
    UnverifiedUrl,
}

/// One pinning problem, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The lockfile.
    pub file: std::path::PathBuf,
    /// Its 1-based line, where known.
    pub line: Option<usize>,
    /// The package's purl.
    pub purl: String,
    /// What is wrong.
    pub problem: Problem,
    /// One sentence for the user.
    pub message: String,
}

/// Whether a requirement specifier pins one exact version.
fn is_exact(requirement: &str) -> bool {
    let spec = requirement.split(';').next().unwrap_or("");
    let Some(i) = spec.find("==") else {
        return false;
    };
    let rest = spec.get(i..).unwrap_or("");
    let version = rest.trim_start_matches('=').trim();
    !version.is_empty() && !spec.contains(['*', ',', '<', '>', '~', '!'])
}

/// All pinning problems of the inventory, in lockfile then line order.
pub fn pinning(inv: &Inventory) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &inv.packages {
        let Some(lock) = inv.lockfiles.get(p.lockfile) else {
            continue;
        };
        let mut add = |problem: Problem, message: String| {
            out.push(Finding {
                file: lock.path.clone(),
                line: p.line,
                purl: p.purl.clone(),
                problem,
                message,
            });
        };
        if lock.format == Format::RequirementsTxt {
            let req = p.requirement.as_deref().unwrap_or("");
            if !is_exact(req) {
                add(
                    Problem::Floating,
                    format!(
                        "`{req}` does not pin an exact version; write `{}==VERSION`",
                        p.name
                    ),
                );
            }
            if p.hashes.is_empty() {
                add(
                    Problem::MissingHash,
                    format!(
                        "`{}` has no `--hash`; add `--hash=sha256:…` (e.g. with `pip-compile --generate-hashes`)",
                        p.name
                    ),
                );
            }
        }
        let carries_hashes = matches!(
            lock.format,
            Format::CargoLock
                | Format::PackageLockJson
                | Format::PoetryLock
                | Format::UvLock
                | Format::PnpmLock
                | Format::YarnLock
        );
        if carries_hashes && matches!(p.source, Source::Registry { .. }) && p.hashes.is_empty() {
            add(
                Problem::MissingHash,
                format!(
                    "`{}` {} has no checksum in the lockfile; regenerate it with `{}`'s package manager",
                    p.name,
                    p.version,
                    lock.format.file_name()
                ),
            );
        }
        match &p.source {
            Source::Git { url, commit: None } => add(
                Problem::UnpinnedGit,
                format!(
                    "`{}` comes from git `{url}` without a pinned commit; pin a full commit id",
                    p.name
                ),
            ),
            Source::Url { url } if p.hashes.is_empty() => add(
                Problem::UnverifiedUrl,
                format!(
                    "`{}` is downloaded from `{url}` without a content hash",
                    p.name
                ),
            ),
            _ => {}
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, &a.purl).cmp(&(&b.file, b.line, &b.purl)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_pins() {
        assert!(is_exact("foo==1.0"));
        assert!(is_exact("foo===1.0"));
        assert!(is_exact("foo [x] == 1.0 ; python_version < \"3\""));
        assert!(!is_exact("foo>=1.0"));
        assert!(!is_exact("foo==1.*"));
        assert!(!is_exact("foo"));
        assert!(!is_exact("foo>=1, ==1.2"));
    }
}
