use std::path::PathBuf;

use zt_pipeline::source::{Inputs, Scan, ScanRequest};
use zt_source::secrets::report::{finding_json, sarif};
use zt_source::secrets::{ScanOptions, ScanReport, Scanner};

use crate::cli::{ScanArgs, ScanFormat, SourceArgs, SourceCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: SourceArgs, printer: &Printer) -> Result<Status, CliError> {
    match args.command {
        SourceCommand::Scan(scan) => run_scan(scan, printer),
        SourceCommand::Verify(args) => super::verify_commits::run(args, printer),
        SourceCommand::InstallHooks { zt } => install_hooks(zt, printer),
    }
}

fn cwd() -> Result<PathBuf, CliError> {
    std::env::current_dir().map_err(|e| {
        CliError::input(
            format!("cannot read the current directory: {e}"),
            "run zt from a directory that exists",
        )
    })
}

fn run_scan(args: ScanArgs, printer: &Printer) -> Result<Status, CliError> {
    let cwd = cwd()?;
    let inputs = if args.staged {
        Inputs::Staged
    } else if let Some(range) = &args.range {
        Inputs::Range(range.clone())
    } else if args.history {
        Inputs::History
    } else {
        Inputs::Tree(args.paths.clone())
    };
    let req = ScanRequest {
        // Tree scans name files relative to the working directory, as given.
        cwd: if matches!(inputs, Inputs::Tree(_)) {
            PathBuf::from(".")
        } else {
            cwd
        },
        inputs,
        config: args.config.clone(),
        options: ScanOptions {
            gitignore: args.gitignore,
            skip_zt_state: !args.include_zt_state,
            threads: args.threads,
        },
    };
    let Scan {
        report,
        scanner,
        warnings,
        ..
    } = zt_pipeline::source::scan(&req)?;
    for w in &warnings {
        printer.warn(w);
    }
    print_report(&report, &scanner, &args, printer);
    if let Some(first) = report.unscanned.first() {
        return Err(zt_source::Error::Unscanned {
            count: report.unscanned.len(),
            first: first.path.clone(),
            reason: first.reason.clone(),
        }
        .into());
    }
    Ok(if report.findings.is_empty() {
        Status::Success
    } else {
        Status::Failure
    })
}

fn print_report(report: &ScanReport, scanner: &Scanner, args: &ScanArgs, printer: &Printer) {
    let format = if printer.json {
        ScanFormat::Json
    } else {
        args.format
    };
    match format {
        ScanFormat::Sarif => printer.json(&sarif(&report.findings, scanner.detector().config(), args.redact)),
        ScanFormat::Json => printer.json(&serde_json::json!({
            "findings": report.findings.iter().map(|f| finding_json(f, args.redact)).collect::<Vec<_>>(),
            "scanned": report.scanned,
            "bytes": report.bytes,
            "binary_skipped": report.binary_skipped,
            "unscanned": report.unscanned.iter().map(|u| serde_json::json!({"path": u.path, "reason": u.reason})).collect::<Vec<_>>(),
        })),
        ScanFormat::Human => {
            for f in &report.findings {
                let place = if f.start_line == 0 {
                    f.file.clone()
                } else {
                    format!("{}:{}:{}", f.file, f.start_line, f.start_column)
                };
                let commit = f.commit.as_deref().map(|c| format!(" commit {}", c.get(..12).unwrap_or(c))).unwrap_or_default();
                let secret = if f.start_line == 0 {
                    "(file)".to_string()
                } else {
                    f.redacted_secret(args.redact).escape_debug().to_string()
                };
                printer.out(format!("{place}: {} {secret}{commit}", f.rule_id));
            }
        }
    }
    let mb = report.bytes as f64 / 1e6;
    printer.info(format!(
        "scanned {} input(s), {mb:.1} MB, {} binary skipped: {} finding(s)",
        report.scanned,
        report.binary_skipped,
        report.findings.len()
    ));
}

fn install_hooks(zt: Option<PathBuf>, printer: &Printer) -> Result<Status, CliError> {
    let cwd = cwd()?;
    let zt = match zt {
        Some(p) => p,
        None => std::env::current_exe().map_err(|e| {
            CliError::input(
                format!("cannot locate the zt executable: {e}"),
                "pass `--zt PATH`",
            )
        })?,
    };
    let dir = zt_source::hooks::hooks_dir(&cwd)?;
    let installed = zt_source::hooks::install(&dir, &zt.to_string_lossy())?;
    if printer.json {
        printer.json(&serde_json::json!({ "written": installed.written }));
    } else {
        for p in &installed.written {
            printer.out(p.display());
        }
        printer.info("installed the pre-commit and pre-push secret scans");
    }
    Ok(Status::Success)
}
