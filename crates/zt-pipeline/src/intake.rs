//! Dependency intake as a workflow (`zt deps intake`): judge one downloaded package archive
//! against the lockfile's or index's checksum, its age, a signed approval and the malware
//! rules; sign and log the decision (evidence before anything acts on it); put an admitted
//! archive in the workspace's curated mirror; keep a decision record. The workspace supplies
//! the repository, its `zt.toml` thresholds, its key, log, ledger, mirror and clock, so the
//! CLI and the server take the same decision. Nothing here prints.

use std::path::PathBuf;

use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor, Statement, Workspace, predicate};
use zt_deps::Ecosystem;
use zt_deps::intake::{self, Candidate, Decision, Policy, Verdict, expect, mirror, provenance};

use crate::Error;

/// One archive to take in.
#[derive(Debug, Clone)]
pub struct IntakeRequest {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// The package name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The archive as the registry served it.
    pub archive: PathBuf,
    /// A lockfile whose checksum for this package the archive must match.
    pub lockfile: Option<PathBuf>,
    /// A registry index document (simple index, packument) with the expected checksum.
    pub index: Option<PathBuf>,
    /// Minimum age in hours (default: `zt.toml`'s `min_package_age_hours`).
    pub min_age_hours: Option<u64>,
    /// Admit a package whose publication time is unknown.
    pub allow_unknown_age: bool,
    /// The registry's provenance document for this version (npm attestations / SLSA bundle,
    /// PyPI PEP 740 provenance), verified offline against the public-good trusted root.
    pub provenance: Option<PathBuf>,
    /// Run the install-time code in the sandbox (`--dynamic`); `zt.toml`'s
    /// `[deps.malware] dynamic` turns it on per ecosystem as well.
    pub dynamic: bool,
}

/// Whether `[deps.malware] dynamic` names `eco`; an entry naming no ecosystem is an error.
pub(crate) fn dynamic_configured(entries: &[String], eco: Ecosystem) -> Result<bool, Error> {
    let mut on = false;
    for e in entries {
        let named = match e.to_ascii_lowercase().as_str() {
            "npm" => Ecosystem::Npm,
            "pypi" => Ecosystem::PyPI,
            "crates.io" | "cargo" => Ecosystem::CratesIo,
            "rubygems" | "gem" => Ecosystem::RubyGems,
            "go" | "golang" => Ecosystem::Go,
            _ => {
                return Err(Error::Input {
                    what: format!("`[deps.malware] dynamic` in `zt.toml` names `{e}`, which is no ecosystem"),
                    help: "list ecosystems as `npm`, `pypi`, `crates.io` or `rubygems`, then run `zt deps intake` again".into(),
                });
            }
        };
        on |= named == eco;
    }
    Ok(on)
}

/// The platforms `[deps.malware] platforms` names; an entry naming no platform is an error.
pub(crate) fn platforms_configured(
    entries: &[String],
) -> Result<Vec<intake::malware::Platform>, Error> {
    entries
        .iter()
        .map(|e| {
            intake::malware::Platform::from_name(e).ok_or_else(|| Error::Input {
                what: format!(
                    "`[deps.malware] platforms` in `zt.toml` names `{e}`, which is no platform"
                ),
                help: "list platforms as `linux`, `macos` or `windows` (or leave the list out for all three), then run `zt deps intake` again".into(),
            })
        })
        .collect()
}

/// What the intake decided and did.
#[derive(Debug)]
pub struct IntakeOutcome {
    /// The decision, as signed.
    pub decision: Decision,
    /// The signed decision's bundle.
    pub bundle: PathBuf,
    /// Its index in the transparency log.
    pub log_index: u64,
    /// Where the archive was mirrored (admitted only).
    pub mirrored: Option<PathBuf>,
    /// The decision record under `.zt/intake/decisions`.
    pub record: PathBuf,
}

impl IntakeOutcome {
    /// Whether the package was admitted.
    pub fn admitted(&self) -> bool {
        self.decision.verdict == Verdict::Admitted
    }
}

/// `[deps.provenance]` for the package, and what its provenance document (if given) proves.
/// A document for an ecosystem set to `off` is not read.
fn upstream_provenance(
    deps: &zt_core::config::DepsConfig,
    req: &IntakeRequest,
    archive_name: &str,
) -> Result<provenance::Provenance, Error> {
    use zt_core::config::ProvenanceRequirement;
    let config = deps.provenance.clone().unwrap_or_default();
    let package = zt_deps::purl::purl(req.ecosystem, &req.name, "");
    let requirement = config.requirement(req.ecosystem.purl_type());
    let expected_repository = config.expected_repository(&package).map(str::to_owned);
    let mut p = provenance::Provenance {
        requirement: Some(requirement),
        expected_repository,
        evidence: provenance::Evidence::None,
    };
    if req.ecosystem == Ecosystem::Go {
        if requirement != ProvenanceRequirement::Off {
            p.evidence = go_evidence(&config, req)?;
        }
        return Ok(p);
    }
    let Some(doc_path) = &req.provenance else {
        return Ok(p);
    };
    if !matches!(req.ecosystem, Ecosystem::Npm | Ecosystem::PyPI) {
        return Err(no_provenance(req.ecosystem, archive_name));
    }
    if requirement == ProvenanceRequirement::Off {
        return Ok(p);
    }
    let document = doc_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !doc_path.is_file() {
        return Err(Error::Input {
            what: format!("`{}` is not a file", doc_path.display()),
            help: "pass the registry's provenance document with `--provenance FILE`".into(),
        });
    }
    let verified = verify_upstream(
        req.ecosystem,
        &req.name,
        &req.version,
        &req.archive,
        doc_path,
        None,
    );
    p.evidence = match verified {
        Ok(u) => provenance::Evidence::Verified {
            document,
            repository: u.repository().to_owned(),
            facts: serde_json::to_value(&u).unwrap_or_default(),
        },
        Err(e) => provenance::Evidence::Failed {
            document,
            error: e.to_string(),
        },
    };
    Ok(p)
}

/// The Go checksum database's word on the module zip: from the saved documents `--provenance`
/// names (a directory or a lookup file in it, or a URL), else online from `go_sumdb` (default
/// `sum.golang.org`). A database that cannot be reached without a document given is no
/// evidence (what `require` then rejects), not a failed one.
fn go_evidence(
    config: &zt_core::config::ProvenanceConfig,
    req: &IntakeRequest,
) -> Result<provenance::Evidence, Error> {
    use zt_sign::upstream::SumdbSource;
    let (_, url) = sumdb_setting(config.go_sumdb.as_deref())?;
    let source = match &req.provenance {
        Some(arg) => SumdbSource::from_arg(arg),
        None => SumdbSource::Url(url),
    };
    let document = source.describe();
    match verify_go_module(
        &req.name,
        &req.version,
        &req.archive,
        &source,
        config.go_sumdb.as_deref(),
    ) {
        Ok(record) => {
            let mut facts = serde_json::to_value(&record).unwrap_or_default();
            facts["kind"] = "go-checksum-database".into();
            facts["source"] = document.clone().into();
            Ok(provenance::Evidence::Verified {
                document,
                repository: record.module.clone(),
                facts,
            })
        }
        Err(Error::Sign(zt_sign::Error::Log(zt_tlog::Error::Io(_))))
            if req.provenance.is_none() =>
        {
            Ok(provenance::Evidence::None)
        }
        Err(e @ Error::Input { .. }) => Err(e),
        Err(e) => Ok(provenance::Evidence::Failed {
            document,
            error: e.to_string(),
        }),
    }
}

fn sumdb_setting(setting: Option<&str>) -> Result<(zt_tlog::NoteVerifier, String), Error> {
    zt_sign::upstream::sumdb_setting(setting).map_err(|e| Error::Input {
        what: format!("`go_sumdb` in `[deps.provenance]` is not `<verifier key> [url]`: {e}"),
        help: "write it as `GOSUMDB` does, e.g. `sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8 https://sum.golang.org`, or remove it".into(),
    })
}

/// The `h1:` hash (dirhash Hash1) of a Go module zip, as `go mod download` computes it.
pub fn go_module_hash(archive: &std::path::Path) -> Result<String, Error> {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.to_ascii_lowercase().ends_with(".zip") {
        return Err(Error::Input {
            what: format!("`{}` is not a module zip (`.zip`)", archive.display()),
            help: "pass the zip the module proxy served (`$GOMODCACHE/cache/download/MODULE/@v/VERSION.zip`) with `--archive`".into(),
        });
    }
    let bytes = fs_err::read(archive)?;
    let entries = intake::archive::read(&name, &bytes, intake::archive::Limits::default())
        .map_err(|e| Error::Input {
            what: format!("`{}` does not read as a module zip: {e}", archive.display()),
            help: "pass the zip the module proxy served with `--archive`".into(),
        })?;
    Ok(format!("h1:{}", intake::expect::go_h1(&entries)))
}

/// Proves that the Go checksum database (`go_sumdb`, `<vkey> [url]`; default
/// `sum.golang.org`) logged the module zip `archive`'s `h1:` hash for `module@version`, from
/// `source` (`zt deps provenance --ecosystem go`, and intake of Go modules).
pub fn verify_go_module(
    module: &str,
    version: &str,
    archive: &std::path::Path,
    source: &zt_sign::upstream::SumdbSource,
    go_sumdb: Option<&str>,
) -> Result<zt_tlog::sumdb::SumdbRecord, Error> {
    if !archive.is_file() {
        return Err(Error::Input {
            what: format!("`{}` is not a file", archive.display()),
            help: "pass the module zip the proxy served with `--archive FILE`".into(),
        });
    }
    let (key, _) = sumdb_setting(go_sumdb)?;
    let hash = go_module_hash(archive)?;
    Ok(zt_sign::upstream::verify_go(
        &key, source, module, version, &hash,
    )?)
}

fn no_provenance(ecosystem: Ecosystem, archive_name: &str) -> Error {
    Error::Input {
        what: format!(
            "zt verifies no upstream provenance for {} packages (`{archive_name}`)",
            ecosystem.name()
        ),
        help: "drop `--provenance`: zt reads npm provenance and PyPI attestations".into(),
    }
}

/// Verifies the registry's provenance `document` for `name@version` against `archive`
/// (`zt deps provenance`, and intake's `--provenance`); `trusted_root` replaces the embedded
/// Sigstore public-good root.
pub fn verify_upstream(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    archive: &std::path::Path,
    document: &std::path::Path,
    trusted_root: Option<&str>,
) -> Result<zt_sign::upstream::Upstream, Error> {
    let archive_name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !archive.is_file() {
        return Err(Error::Input {
            what: format!("`{}` is not a file", archive.display()),
            help: "pass the archive the registry served with `--archive FILE`".into(),
        });
    }
    let doc = fs_err::read(document)?;
    Ok(match ecosystem {
        Ecosystem::Npm => {
            zt_sign::upstream::verify_npm(&doc, name, version, archive, trusted_root)?
        }
        Ecosystem::PyPI => zt_sign::upstream::verify_pypi(&doc, archive, trusted_root)?,
        other => return Err(no_provenance(other, &archive_name)),
    })
}

/// Takes in `req.archive` for the workspace.
pub fn intake(ws: &Workspace, req: &IntakeRequest) -> Result<IntakeOutcome, Error> {
    if !req.archive.is_file() {
        return Err(Error::Input {
            what: format!("`{}` is not a file", req.archive.display()),
            help: "pass the archive the registry served with `--archive FILE`".into(),
        });
    }
    let repo = ws.root();
    let (eco, name, version) = (req.ecosystem, req.name.as_str(), req.version.as_str());
    let archive_name = req
        .archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let config = ws.config()?;
    // `[deps.malware] rules`: rule folders beside zt's built-in rules.
    let rule_dirs: Vec<PathBuf> = config
        .deps
        .malware
        .as_ref()
        .map(|m| m.rules.iter().map(|d| repo.join(d)).collect())
        .unwrap_or_default();
    let rules = intake::malware::RuleSet::load(&rule_dirs)?;
    let thresholds = config.thresholds;
    let policy = Policy {
        rules: Some(std::sync::Arc::new(rules)),
        min_age_hours: req
            .min_age_hours
            .unwrap_or(thresholds.min_package_age_hours),
        allow_unknown_age: req.allow_unknown_age,
        provenance: upstream_provenance(&config.deps, req, &archive_name)?,
        accept: config
            .deps
            .malware
            .as_ref()
            .map(|m| m.accept.clone())
            .unwrap_or_default(),
        platforms: platforms_configured(
            config
                .deps
                .malware
                .as_ref()
                .map_or(&[][..], |m| &m.platforms),
        )?,
        ..Policy::default()
    };
    let mut expectations = Vec::new();
    let mut approval = None;
    if let Some(lock) = &req.lockfile {
        expectations.push(expect::from_lockfile(lock, eco, name, version)?);
        approval = Some(format!("in lockfile `{}`", lock.display()));
    }
    if let Some(index) = &req.index {
        expectations.push(expect::from_index(
            index,
            eco,
            name,
            version,
            &archive_name,
        )?);
    }
    // Only a signed approval by a listed approver's own key counts (not the request files).
    if approval.is_none()
        && let Some(a) = crate::approvals::approved_for(repo, eco, name, version)?
    {
        approval = Some(format!(
            "request {} approved by {} (key {})",
            a.request.id,
            a.approver,
            a.key_id.get(..12).unwrap_or_default()
        ));
    }
    let candidate = Candidate::new(eco, name, version, &req.archive);
    let mut decision = intake::decide(&candidate, &expectations, &policy, approval, ws.now())?;
    let malware_config = config.deps.malware.clone().unwrap_or_default();
    if req.dynamic || dynamic_configured(&malware_config.dynamic, eco)? {
        let defaults = crate::intake_dynamic::Limits::default();
        let limits = crate::intake_dynamic::Limits {
            time: malware_config
                .dynamic_timeout_seconds
                .map_or(defaults.time, std::time::Duration::from_secs),
            memory: malware_config
                .dynamic_memory_mib
                .map_or(defaults.memory, |m| m.saturating_mul(1 << 20)),
            disk: malware_config
                .dynamic_disk_mib
                .map_or(defaults.disk, |m| m.saturating_mul(1 << 20)),
        };
        // An archive that could not be read safely was rejected already: nothing to run.
        if !decision
            .reasons
            .iter()
            .any(|r| r.rule.starts_with("archive-"))
        {
            let (report, findings) = crate::intake_dynamic::run(
                &candidate,
                policy.limits,
                limits,
                &ws.layout().program_digests(),
            )?;
            intake::dynamic::apply(&mut decision, report, findings, &policy.accept);
        }
    }

    // Signed first: a decision is evidence before anything acts on it.
    let digest = Digest::from_hex(DigestAlgorithm::Sha256, &decision.sha256)?;
    let statement = Statement::new(
        vec![ResourceDescriptor::subject(
            decision.archive.clone(),
            &digest,
        )],
        predicate::ZT_INTAKE_V1,
        serde_json::to_value(&decision).unwrap_or_default(),
    );
    let (bundle, log_index) = crate::evidence::attest(ws, "intake", &statement)?;
    let mut mirrored = None;
    if decision.verdict == Verdict::Admitted {
        let bytes = fs_err::read(&req.archive)?;
        let entry = mirror::MirrorEntry {
            purl: decision.purl.clone(),
            ecosystem: eco.name().into(),
            sha256: decision.sha256.clone(),
            file: decision.archive.clone(),
            size: decision.size,
            admitted: decision.decided_at.clone(),
            decision: Some(bundle.display().to_string()),
        };
        mirrored = Some(mirror::Mirror::at(&ws.layout().mirror()).put(eco, &bytes, entry)?);
    }
    let record = intake::record(repo, &decision, Some(&bundle))?;
    Ok(IntakeOutcome {
        decision,
        bundle,
        log_index,
        mirrored,
        record,
    })
}
