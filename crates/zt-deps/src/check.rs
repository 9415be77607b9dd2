//! `zt deps check` over an [`Inventory`]: pinning, licences, known malware, typosquats.
//!
//! Pinning — every dependency must resolve to one exact, verifiable artifact:
//!
//! - **floating**: a requirement list (`requirements.txt`) entry that is not `==`/`===` an
//!   exact version (ranges, wildcards, bare names);
//! - **missing-hash**: a `requirements.txt` entry without `--hash` (pip's hash-checking mode
//!   needs one on every line), or a registry package without the checksum its lockfile
//!   format records (`Cargo.lock` `checksum`, `package-lock.json` / `pnpm-lock.yaml` /
//!   yarn `integrity`, yarn berry `checksum`, `poetry.lock` / `uv.lock` file hashes);
//! - **unpinned-git**: a git dependency without a full commit id;
//! - **unverified-url**: a direct URL dependency without a content hash;
//! - **unpinned-manifest**: a manifest (`package.json`, `pyproject.toml`, `Cargo.toml`, …)
//!   that declares dependencies and has no lockfile (see [`manifests`]).
//!
//! With [`Checks`] also:
//!
//! - **license-denied** / **license-unknown**: the licence policy of `zt.toml` (see
//!   [`licenses`]); unknown licences count as the policy says;
//! - **malicious**: the package matches a known-malicious package record (OSV `MAL-`),
//!   matched by the caller with the OSV rules and handed in as [`MalwareHit`]s;
//! - **typosquat**: the name is one slip from a popular package's (see [`typosquat`]).
//!
//! Every finding names the package, the lockfile and line, the rule, and the fix.

use std::collections::BTreeMap;

use zt_core::config::FindingLevel;

pub mod licenses;
pub mod manifests;
pub mod typosquat;

use crate::{Inventory, Source, lockfile::Format};

/// The rule a finding breaks.
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
    /// A manifest that declares dependencies and has no lockfile.
    UnpinnedManifest,
    /// The licence expression is not satisfied by the allow list.
    LicenseDenied,
    /// The licence is not known.
    LicenseUnknown,
    /// A known-malicious package.
    Malicious,
    /// The name imitates a popular package's.
    Typosquat,
}

impl Problem {
    /// The rule's name as printed and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Problem::Floating => "floating",
            Problem::MissingHash => "missing-hash",
            Problem::UnpinnedGit => "unpinned-git",
            Problem::UnverifiedUrl => "unverified-url",
            Problem::UnpinnedManifest => "unpinned-manifest",
            Problem::LicenseDenied => "license-denied",
            Problem::LicenseUnknown => "license-unknown",
            Problem::Malicious => "malicious",
            Problem::Typosquat => "typosquat",
        }
    }
}

impl Problem {
    /// Every rule, in SARIF rule order.
    pub const ALL: [Problem; 9] = [
        Problem::Floating,
        Problem::MissingHash,
        Problem::UnpinnedGit,
        Problem::UnverifiedUrl,
        Problem::UnpinnedManifest,
        Problem::LicenseDenied,
        Problem::LicenseUnknown,
        Problem::Malicious,
        Problem::Typosquat,
    ];

    /// What the rule means, in one sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Problem::Floating => "A dependency is not pinned to one exact version",
            Problem::MissingHash => "A locked dependency carries no content hash",
            Problem::UnpinnedGit => "A git dependency is not pinned to a full commit",
            Problem::UnverifiedUrl => "A URL dependency has no content hash",
            Problem::UnpinnedManifest => "A manifest declares dependencies and has no lockfile",
            Problem::LicenseDenied => "A dependency's licence is not on the allow list",
            Problem::LicenseUnknown => "A dependency's licence is not known",
            Problem::Malicious => "A dependency is a known-malicious package",
            Problem::Typosquat => "A dependency's name imitates a popular package's",
        }
    }
}

/// The findings as SARIF 2.1.0 (code scanning): one rule per problem, one result per finding
/// at its lockfile and line (paths relative to `root` when below it), its fix in the message.
pub fn to_sarif(findings: &[Finding], root: &std::path::Path) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<serde_json::Value> = Problem::ALL
        .iter()
        .map(|p| {
            json!({
                "id": p.name(),
                "name": p.name(),
                "shortDescription": {"text": p.describe()},
                "helpUri": "https://zt.dev/docs/deps",
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            // Relative to the repository, without `./`: as code scanning resolves paths.
            let uri = f
                .file
                .strip_prefix(root)
                .unwrap_or(&f.file)
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect::<std::path::PathBuf>()
                .to_string_lossy()
                .into_owned();
            let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri}}});
            if let Some(line) = f.line {
                location["physicalLocation"]["region"] = json!({"startLine": line});
            }
            json!({
                "ruleId": f.problem.name(),
                "ruleIndex": Problem::ALL.iter().position(|p| *p == f.problem),
                "level": match f.level {
                    zt_core::config::FindingLevel::Deny => "error",
                    zt_core::config::FindingLevel::Warn => "warning",
                },
                "message": {"text": format!("{}: {}. Fix: {}", f.purl, f.message, f.fix)},
                "locations": [location],
                "partialFingerprints": {"ztPackageRule": format!("{}/{}", f.purl, f.problem.name())},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "zt deps check", "informationUri": "https://zt.dev/docs/deps", "rules": rules}},
            "results": results,
        }],
    })
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The lockfile.
    pub file: std::path::PathBuf,
    /// Its 1-based line, where known.
    pub line: Option<usize>,
    /// The package's purl.
    pub purl: String,
    /// The package's name.
    pub name: String,
    /// Its version (empty when not pinned).
    pub version: String,
    /// The rule it breaks.
    pub problem: Problem,
    /// Whether it fails the check (`deny`) or is only reported (`warn`).
    pub level: FindingLevel,
    /// One sentence for the user: what is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// A known-malicious package record that matches a package (found by the caller, e.g. with
/// `zt-vuln`'s OSV matching).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MalwareHit {
    /// The record id (`MAL-2024-1234`).
    pub id: String,
    /// The record's summary.
    pub summary: Option<String>,
    /// Why it matches (`versions[] lists 1.0.0`, `every version`).
    pub decided_by: String,
}

/// The checks beyond pinning and their data; `None` skips a check.
#[derive(Debug, Default, Clone, Copy)]
pub struct Checks<'a> {
    /// The licence policy.
    pub licenses: Option<&'a licenses::LicensePolicy>,
    /// Popular-package lists for typosquat detection.
    pub top_packages: Option<&'a typosquat::TopPackages>,
    /// Known-malicious matches by package purl.
    pub malware: Option<&'a BTreeMap<String, Vec<MalwareHit>>>,
    /// How typosquat findings count (default: deny).
    pub typosquat_level: FindingLevel,
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

fn finding(
    inv: &Inventory,
    p: &crate::Package,
    problem: Problem,
    level: FindingLevel,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        file: inv
            .lockfiles
            .get(p.lockfile)
            .map(|l| l.path.clone())
            .unwrap_or_default(),
        line: p.line,
        purl: p.purl.clone(),
        name: p.name.clone(),
        version: p.version.clone(),
        problem,
        level,
        message,
        fix,
    }
}

/// Every finding of the inventory — pinning and the given [`Checks`] — in lockfile, line,
/// package order.
pub fn run(inv: &Inventory, checks: &Checks<'_>) -> Vec<Finding> {
    let mut out = pinning(inv);
    for p in &inv.packages {
        if let Some(policy) = checks.licenses {
            match policy.evaluate(&p.purl, p.license.as_deref()) {
                licenses::Verdict::Allowed => {}
                licenses::Verdict::Denied(failed) => out.push(finding(
                    inv,
                    p,
                    Problem::LicenseDenied,
                    FindingLevel::Deny,
                    format!(
                        "`{}` {} is licensed `{}`; not allowed: {}",
                        p.name,
                        p.version,
                        p.license.as_deref().unwrap_or(""),
                        failed.join(", ")
                    ),
                    format!(
                        "replace the package, or allow the licence in `[deps.licenses]` (for this package only: a `[[deps.licenses.exception]]` with `package = \"{}\"` and a reason)",
                        licenses::purl_without_version(&p.purl)
                    ),
                )),
                licenses::Verdict::Unknown(why) => out.push(finding(
                    inv,
                    p,
                    Problem::LicenseUnknown,
                    policy.unknown,
                    format!("the licence of `{}` {} is unknown: {why}", p.name, p.version),
                    "give the licence with `--licenses FILE` (a purl → SPDX map, or an SBOM that records licences), or set `unknown = \"warn\"` in `[deps.licenses]`".into(),
                )),
            }
        }
        if let Some(hits) = checks.malware.and_then(|m| m.get(&p.purl)) {
            for h in hits {
                out.push(finding(
                    inv,
                    p,
                    Problem::Malicious,
                    FindingLevel::Deny,
                    format!(
                        "`{}` {} is known malware: {} ({}){}",
                        p.name,
                        p.version,
                        h.id,
                        h.decided_by,
                        h.summary
                            .as_deref()
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default()
                    ),
                    format!(
                        "remove `{}` from the project, regenerate the lockfile, and treat machines that installed it as compromised (rotate their credentials)",
                        p.name
                    ),
                ));
            }
        }
        if let Some(top) = checks.top_packages {
            let similar = top.check(p.ecosystem, &p.name);
            if let Some(first) = similar.first() {
                let all: Vec<String> = similar
                    .iter()
                    .take(5)
                    .map(|s| format!("`{}` ({})", s.name, s.rule.name()))
                    .collect();
                out.push(finding(
                    inv,
                    p,
                    Problem::Typosquat,
                    checks.typosquat_level,
                    format!(
                        "`{}` looks like a typosquat of the popular {}",
                        p.name,
                        all.join(", ")
                    ),
                    format!(
                        "if you meant `{}`, depend on it instead; otherwise check who publishes `{}` and from which repository before keeping it",
                        first.name, p.name
                    ),
                ));
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.file, a.line, &a.purl, a.problem).cmp(&(&b.file, b.line, &b.purl, b.problem))
    });
    out
}

/// Whether any finding fails the check.
pub fn denied(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == FindingLevel::Deny)
}

/// All pinning problems of the inventory, in lockfile then line order.
pub fn pinning(inv: &Inventory) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &inv.packages {
        let Some(lock) = inv.lockfiles.get(p.lockfile) else {
            continue;
        };
        let mut add = |problem: Problem, message: String, fix: String| {
            out.push(finding(inv, p, problem, FindingLevel::Deny, message, fix));
        };
        if lock.format == Format::RequirementsTxt {
            let req = p.requirement.as_deref().unwrap_or("");
            if !is_exact(req) {
                add(
                    Problem::Floating,
                    format!("`{req}` does not pin an exact version"),
                    format!(
                        "write `{}==VERSION` (e.g. with `pip-compile --generate-hashes`)",
                        p.name
                    ),
                );
            }
            if p.hashes.is_empty() {
                add(
                    Problem::MissingHash,
                    format!("`{}` has no `--hash`", p.name),
                    "add `--hash=sha256:…` (e.g. with `pip-compile --generate-hashes`)".into(),
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
                format!("`{}` {} has no checksum in the lockfile", p.name, p.version),
                format!(
                    "regenerate `{}` with its package manager so that it records the checksum",
                    lock.format.file_name()
                ),
            );
        }
        match &p.source {
            Source::Git { url, commit: None } => add(
                Problem::UnpinnedGit,
                format!(
                    "`{}` comes from git `{url}` without a pinned commit",
                    p.name
                ),
                "pin a full commit id (`#<40-hex sha>`) and regenerate the lockfile".into(),
            ),
            Source::Url { url } if p.hashes.is_empty() => add(
                Problem::UnverifiedUrl,
                format!(
                    "`{}` is downloaded from `{url}` without a content hash",
                    p.name
                ),
                "depend on a registry release, or record the archive's hash (`integrity`)".into(),
            ),
            _ => {}
        }
    }
    for m in &inv.unlocked {
        out.push(Finding {
            file: m.path.clone(),
            line: None,
            purl: m
                .project
                .as_deref()
                .map(|n| crate::purl::purl(m.ecosystem, n, ""))
                .unwrap_or_default(),
            name: m.project.clone().unwrap_or_default(),
            version: String::new(),
            problem: Problem::UnpinnedManifest,
            level: FindingLevel::Deny,
            message: m.message(),
            fix: m.fix.to_owned(),
        });
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
