use std::path::Path;

use zt_deps::sbom::{self, RootInfo};

use crate::cli::{CheckArgs, DepsArgs, DepsCommand, SbomArgs, SbomFormat};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn sbom(args: SbomArgs, printer: &Printer) -> Result<Status, CliError> {
    let inv = zt_deps::inventory(&args.dir)?;
    let name = match args.name {
        Some(n) => n,
        None => project_name(&args.dir),
    };
    let mut root = RootInfo::new(name, args.project_version);
    root.timestamp = source_date_epoch()?;
    if inv.lockfiles.is_empty() {
        printer.warn(format!(
            "no lockfile in `{}`: the SBOM holds the root component only",
            args.dir.display()
        ));
    }
    let doc = match args.format {
        SbomFormat::Cyclonedx => sbom::cyclonedx(&inv, &root),
        SbomFormat::Spdx => sbom::spdx(&inv, &root),
    };
    let bytes = sbom::to_bytes(&doc);
    if args.attest {
        let subjects = inv
            .lockfiles
            .iter()
            .map(|l| zt_core::ResourceDescriptor::subject(l.path.display().to_string(), &l.sha256))
            .collect();
        let predicate_type = match args.format {
            SbomFormat::Cyclonedx => zt_core::predicate::CYCLONEDX,
            SbomFormat::Spdx => zt_core::predicate::SPDX_23,
        };
        let statement = zt_core::Statement::new(subjects, predicate_type, doc.clone());
        let (path, index) = zt_pipeline::evidence::attest(&args.repo, "sbom", &statement)?;
        printer.info(format!(
            "signed statement `{}` (log index {index}) recorded in the ledger",
            path.display()
        ));
    }
    match &args.out {
        Some(out) => {
            zt_core::fsutil::write_atomic(out, &bytes).map_err(zt_deps::Error::Io)?;
            printer.info(format!(
                "wrote `{}`: {} packages from {} lockfile(s)",
                out.display(),
                inv.packages.len(),
                inv.lockfiles.len()
            ));
        }
        None => printer.out(String::from_utf8_lossy(&bytes).trim_end()),
    }
    Ok(Status::Success)
}

fn project_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into())
}

fn source_date_epoch() -> Result<Option<i64>, CliError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse().map(Some).map_err(|_| {
            CliError::input(
                format!("SOURCE_DATE_EPOCH=`{v}` is not a whole number of seconds"),
                "set `SOURCE_DATE_EPOCH` to Unix seconds (e.g. `git log -1 --format=%ct`) or unset it",
            )
        }),
        _ => Ok(None),
    }
}

pub(crate) fn run(args: DepsArgs, printer: &Printer) -> Result<Status, CliError> {
    match args.command {
        DepsCommand::Check(check) => run_check(check, printer),
    }
}

fn run_check(args: CheckArgs, printer: &Printer) -> Result<Status, CliError> {
    use std::collections::BTreeMap;
    use zt_deps::check::{self, Checks, licenses::LicensePolicy, typosquat::TopPackages};

    let mut inv = zt_deps::inventory(&args.dir)?;
    // licence policy from zt.toml
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| args.dir.join(zt_core::config::CONFIG_FILE));
    let policy = if config_path.is_file() || args.config.is_some() {
        let config = zt_core::config::Config::load(&config_path)?;
        match &config.deps.licenses {
            Some(l) => {
                let text = fs_err::read_to_string(&config_path).map_err(zt_deps::Error::Io)?;
                Some(LicensePolicy::new(l, &config_path, &text)?)
            }
            None => None,
        }
    } else {
        None
    };
    if let Some(path) = &args.licenses {
        let map = check::licenses::read_map(path)?;
        let n = check::licenses::apply_map(&mut inv, &map);
        printer.info(format!(
            "licences of {n} package(s) from `{}`",
            path.display()
        ));
    }
    // known malware, matched with zt-vuln's OSV rules
    let default_store = zt_vuln::store::Store::default_dir(&args.dir);
    let malware_path = args.malware.clone().or_else(|| {
        default_store
            .join("manifest.json")
            .is_file()
            .then_some(default_store)
    });
    let mut malware: Option<BTreeMap<String, Vec<check::MalwareHit>>> = None;
    if let Some(path) = &malware_path {
        let (db, bad) = zt_vuln::malicious::open(path)?;
        for e in &bad {
            printer.warn(format!("skipped: {e}"));
        }
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
    let top = match &args.top_packages {
        Some(dir) => {
            let mut ecos: Vec<zt_deps::Ecosystem> =
                inv.packages.iter().map(|p| p.ecosystem).collect();
            ecos.sort();
            ecos.dedup();
            Some(TopPackages::load_for(dir, Some(&ecos))?)
        }
        None => None,
    };
    let findings = check::run(
        &inv,
        &Checks {
            licenses: policy.as_ref(),
            top_packages: top.as_ref(),
            malware: malware.as_ref(),
            typosquat_level: match args.typosquat {
                crate::cli::Level::Deny => zt_core::config::FindingLevel::Deny,
                crate::cli::Level::Warn => zt_core::config::FindingLevel::Warn,
            },
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
    if printer.json {
        printer.json(&serde_json::json!({
            "lockfiles": inv.lockfiles.iter().map(|l| l.path.display().to_string()).collect::<Vec<_>>(),
            "packages": inv.packages.len(),
            "denied": denied,
            "findings": findings,
            "not_checked": not_checked,
        }));
    } else {
        for f in &findings {
            let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            let level = match f.level {
                zt_core::config::FindingLevel::Deny => "deny",
                zt_core::config::FindingLevel::Warn => "warn",
            };
            printer.out(format!(
                "{}{line}: {level} [{}] {}: {}",
                f.file.display(),
                f.problem.name(),
                f.purl,
                f.message
            ));
            printer.out(format!("    fix: {}", f.fix));
        }
        for n in &not_checked {
            printer.warn(format!("not checked: {n}"));
        }
        printer.info(format!(
            "{} finding(s) ({} deny) in {} packages from {} lockfile(s)",
            findings.len(),
            findings
                .iter()
                .filter(|f| f.level == zt_core::config::FindingLevel::Deny)
                .count(),
            inv.packages.len(),
            inv.lockfiles.len()
        ));
    }
    Ok(if denied {
        Status::Failure
    } else {
        Status::Success
    })
}
