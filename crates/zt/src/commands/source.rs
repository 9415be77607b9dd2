use std::path::{Path, PathBuf};

use zt_source::secrets::report::{finding_json, sarif};
use zt_source::secrets::{self, Detector, ScanOptions, ScanReport, Scanner, git};

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
    let opts = ScanOptions {
        gitignore: args.gitignore,
        skip_zt_state: !args.include_zt_state,
        threads: args.threads,
    };
    let git_mode = args.staged || args.range.is_some() || args.history;
    let (report, scanner) = if git_mode {
        let root = git::repo_root(&cwd)?;
        let scanner = scanner_for(args.config.as_deref(), &root, &cwd, printer)?;
        let blobs = if args.staged {
            git::staged(&root)?
        } else if let Some(range) = &args.range {
            git::added_lines(&root, range)?
        } else {
            git::history(&root)?
        };
        (scanner.scan_blobs(&blobs, &opts), scanner)
    } else {
        let roots = if args.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            args.paths.clone()
        };
        let first_dir = roots
            .iter()
            .find(|p| p.is_dir())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        let mut scanner = scanner_for(args.config.as_deref(), &first_dir, &cwd, printer)?;
        // `.gitleaksignore` beside what is scanned (a directory, or a file's directory) and in
        // the working directory, as gitleaks reads it.
        let mut ignore_dirs: Vec<PathBuf> = roots
            .iter()
            .filter_map(|p| {
                if p.is_dir() {
                    Some(p.clone())
                } else {
                    p.parent().map(Path::to_path_buf)
                }
            })
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p
                }
            })
            .collect();
        ignore_dirs.push(PathBuf::from("."));
        ignore_dirs.sort();
        ignore_dirs.dedup();
        for dir in ignore_dirs.iter().filter(|d| **d != first_dir) {
            let ignore = dir.join(".gitleaksignore");
            if ignore.is_file() {
                scanner.add_ignore_file(&ignore)?;
            }
        }
        let files = Scanner::collect_files(&roots, &opts)?;
        (scanner.scan_files(&files, &opts), scanner)
    };
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

fn scanner_for(
    config: Option<&Path>,
    root: &Path,
    cwd: &Path,
    printer: &Printer,
) -> Result<Scanner, CliError> {
    let config = secrets::load_config(config, root, cwd)?;
    for w in &config.warnings {
        printer.warn(w);
    }
    let detector = Detector::new(config).map_err(|e| {
        CliError::input(
            format!("cannot prepare the keyword prefilter: {e}"),
            "check the rules' keywords",
        )
    })?;
    let mut scanner = Scanner::new(detector);
    let ignore = root.join(".gitleaksignore");
    if ignore.is_file() {
        scanner.add_ignore_file(&ignore)?;
    }
    Ok(scanner)
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
