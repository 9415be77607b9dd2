use std::path::Path;

use zt_deps::sbom::{self, RootInfo};

use crate::cli::{DepsArgs, DepsCommand, SbomArgs, SbomFormat};
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
        DepsCommand::Check { dir } => {
            let inv = zt_deps::inventory(&dir)?;
            let findings = zt_deps::check::pinning(&inv);
            if printer.json {
                printer.json(&serde_json::json!({
                    "lockfiles": inv.lockfiles.iter().map(|l| l.path.display().to_string()).collect::<Vec<_>>(),
                    "packages": inv.packages.len(),
                    "findings": findings,
                }));
            } else {
                for f in &findings {
                    let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
                    printer.out(format!("{}{line}: {}", f.file.display(), f.message));
                }
                printer.info(format!(
                    "{} finding(s) in {} packages from {} lockfile(s)",
                    findings.len(),
                    inv.packages.len(),
                    inv.lockfiles.len()
                ));
            }
            Ok(if findings.is_empty() {
                Status::Success
            } else {
                Status::Failure
            })
        }
    }
}
