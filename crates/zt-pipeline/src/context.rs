//! The decision's context that policy reads besides the evidence: which repository and which
//! git ref. CI systems say so in their environment; otherwise git does.

use std::path::Path;

/// The ref being judged: `ZT_REF`, else the CI system's (`GITHUB_REF`, GitLab's
/// `CI_COMMIT_TAG`/`CI_COMMIT_BRANCH`), else the branch git has checked out
/// (`refs/heads/…`), else a tag pointing at a detached HEAD (`refs/tags/…`).
pub fn git_ref(repo: &Path) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(r) = env("ZT_REF").or_else(|| env("GITHUB_REF")) {
        return Some(r);
    }
    if let Some(tag) = env("CI_COMMIT_TAG") {
        return Some(format!("refs/tags/{tag}"));
    }
    if let Some(branch) = env("CI_COMMIT_BRANCH") {
        return Some(format!("refs/heads/{branch}"));
    }
    if let Ok(r) = crate::example::git(repo, &["symbolic-ref", "-q", "HEAD"]) {
        return Some(r);
    }
    crate::example::git(repo, &["describe", "--tags", "--exact-match", "HEAD"])
        .ok()
        .map(|t| format!("refs/tags/{t}"))
}

/// The repository: `ZT_REPOSITORY`, else the CI system's (`GITHUB_REPOSITORY`,
/// `CI_PROJECT_PATH`), else git's `origin` URL, else the directory's name.
pub fn repository(repo: &Path) -> Option<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    env("ZT_REPOSITORY")
        .or_else(|| env("GITHUB_REPOSITORY"))
        .or_else(|| env("CI_PROJECT_PATH"))
        .or_else(|| crate::example::git(repo, &["config", "--get", "remote.origin.url"]).ok())
        .or_else(|| repo.file_name().map(|n| n.to_string_lossy().into_owned()))
}
