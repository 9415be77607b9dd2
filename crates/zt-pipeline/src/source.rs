//! The secret-scan workflow behind `zt source scan` and the pipeline's source stage: which
//! rules (the repository's `.gitleaks.toml`, else gitleaks' built-in rules), which
//! `.gitleaksignore` files, which inputs (a tree, the staged blobs, a commit range, the whole
//! history), scanned in parallel.

use std::path::{Path, PathBuf};

use zt_source::secrets::{self, Detector, ScanOptions, ScanReport, Scanner, git};

use crate::Error;

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inputs {
    /// Files and directories in the work tree (walked).
    Tree(Vec<PathBuf>),
    /// The blobs staged for the next commit.
    Staged,
    /// The lines added by the commits of a range (`A..B`, or one revision).
    Range(String),
    /// Every blob in the history of every ref, once.
    History,
}

/// A secret scan.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// The inputs.
    pub inputs: Inputs,
    /// A gitleaks rule file instead of the repository's or the built-in rules.
    pub config: Option<PathBuf>,
    /// The directory relative paths are read from (the command's working directory).
    pub cwd: PathBuf,
    /// How to walk and how many threads.
    pub options: ScanOptions,
}

/// A finished scan.
pub struct Scan {
    /// Findings and counts.
    pub report: ScanReport,
    /// The scanner (its rules, for SARIF).
    pub scanner: Scanner,
    /// Warnings about the rules (unsupported gitleaks features, …).
    pub warnings: Vec<String>,
    /// How many rules were applied.
    pub rules: usize,
}

/// Runs a scan. Inputs that could not be read are in `report.unscanned`: the caller decides
/// (the CLI fails on them; a finding-free report with unscanned inputs is not "clean").
pub fn scan(req: &ScanRequest) -> Result<Scan, Error> {
    match &req.inputs {
        Inputs::Tree(paths) => {
            let roots = if paths.is_empty() {
                vec![req.cwd.clone()]
            } else {
                paths.clone()
            };
            let first_dir = roots
                .iter()
                .find(|p| p.is_dir())
                .cloned()
                .unwrap_or_else(|| req.cwd.clone());
            let (mut scanner, warnings, rules) =
                scanner_for(req.config.as_deref(), &first_dir, &req.cwd)?;
            // `.gitleaksignore` beside what is scanned (a directory, or a file's directory) and
            // in the working directory, as gitleaks reads it.
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
            ignore_dirs.push(req.cwd.clone());
            ignore_dirs.sort();
            ignore_dirs.dedup();
            for dir in ignore_dirs.iter().filter(|d| **d != first_dir) {
                let ignore = dir.join(".gitleaksignore");
                if ignore.is_file() {
                    scanner.add_ignore_file(&ignore)?;
                }
            }
            let files = Scanner::collect_files(&roots, &req.options)?;
            let report = scanner.scan_files(&files, &req.options);
            Ok(Scan {
                report,
                scanner,
                warnings,
                rules,
            })
        }
        inputs => {
            let root = git::repo_root(&req.cwd)?;
            let (scanner, warnings, rules) = scanner_for(req.config.as_deref(), &root, &req.cwd)?;
            let blobs = match inputs {
                Inputs::Staged => git::staged(&root)?,
                Inputs::Range(range) => git::added_lines(&root, range)?,
                _ => git::history(&root)?,
            };
            let report = scanner.scan_blobs(&blobs, &req.options);
            Ok(Scan {
                report,
                scanner,
                warnings,
                rules,
            })
        }
    }
}

fn scanner_for(
    config: Option<&Path>,
    root: &Path,
    cwd: &Path,
) -> Result<(Scanner, Vec<String>, usize), Error> {
    let config = secrets::load_config(config, root, cwd)?;
    let warnings = config.warnings.clone();
    let rules = config.ordered_rules().count();
    let detector = Detector::new(config).map_err(|e| Error::Input {
        what: format!("cannot prepare the secret rules' keyword prefilter: {e}"),
        help: "check the rules' `keywords` in the gitleaks configuration (`--config` or `.gitleaks.toml`)".into(),
    })?;
    let mut scanner = Scanner::new(detector);
    let ignore = root.join(".gitleaksignore");
    if ignore.is_file() {
        scanner.add_ignore_file(&ignore)?;
    }
    Ok((scanner, warnings, rules))
}
