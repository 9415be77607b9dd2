//! `zt init`: a repository's `zt.toml`, a local signing key and a `policies/` folder.

use std::path::PathBuf;

use crate::cli::InitArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: InitArgs, printer: &Printer) -> Result<Status, CliError> {
    let repo = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let done = zt_pipeline::init::init_with(&repo, args.preset.map(Into::into))?;
    // The first verdict: the pipeline once, as `zt pipeline run` will run it.
    // Only where a preset says how to build (given or detected), and on a git work tree (the
    // pipeline builds commits).
    let first = if args.no_run || done.clone || done.preset.is_none() {
        None
    } else if !repo.join(".git").exists() {
        printer.info(format!(
            "not running the pipeline: `{}` is not a git work tree (`git init`, commit, then `zt pipeline run .`)",
            repo.display()
        ));
        None
    } else {
        Some(first_run(&repo, printer))
    };
    if printer.json {
        let mut value = serde_json::to_value(&done).unwrap_or_default();
        if let (Some(obj), Some(first)) = (value.as_object_mut(), first) {
            let run = match first {
                Ok(report) => {
                    let mut r = serde_json::to_value(&report).unwrap_or_default();
                    if let Some(o) = r.as_object_mut() {
                        o.insert("allow".into(), report.allowed().into());
                    }
                    r
                }
                Err(e) => serde_json::json!({ "error": e }),
            };
            obj.insert("run".into(), run);
        }
        printer.json(&value);
        return Ok(Status::Success);
    }
    if done.clone {
        printer.out(format!(
            "`{}` was there and its private key was not (a clone): made this machine a key of its own",
            done.config.display()
        ));
        printer.out(format!(
            "wrote `{}` (private, 0600) and `{}`: ed25519 key {}",
            done.private_key
                .as_deref()
                .unwrap_or(&done.public_key)
                .display(),
            done.public_key.display(),
            done.key_id
        ));
        printer.out(format!(
            "added it to `{}` as a new [[trust.key]]: commit that change for review, or sign with a key the repository already trusts (`--key`)",
            done.config.display()
        ));
        return Ok(Status::Success);
    }
    printer.out(format!("wrote `{}`", done.config.display()));
    match &done.private_key {
        Some(private) => printer.out(format!(
            "wrote `{}` (private, 0600) and `{}`: ed25519 key {}",
            private.display(),
            done.public_key.display(),
            done.key_id
        )),
        None => printer.out(format!(
            "kept `{}`: key {}",
            done.public_key.display(),
            done.key_id
        )),
    }
    for p in &done.policies {
        printer.out(format!("wrote `{}`", p.display()));
    }
    for p in &done.files {
        printer.out(format!("wrote `{}`", p.display()));
    }
    if let Some(preset) = done.preset {
        printer.out(format!(
            "preset `{preset}`: `[build]` in `{}` builds and tests offline in the sandbox",
            done.config.display()
        ));
    }
    for step in &done.next {
        printer.info(format!("to do: {step}"));
    }
    match first {
        None => {}
        Some(Ok(report)) if report.allowed() => {
            printer.info("first verdict: allow (every stage passed)");
        }
        Some(Ok(report)) => {
            if let Some(failed) = report
                .stages
                .iter()
                .find(|s| s.status == zt_pipeline::StageStatus::Failed)
            {
                printer.info(format!(
                    "first verdict: deny at stage `{}`: {}",
                    failed.name, failed.summary
                ));
                if let Some(fix) = &failed.remediation {
                    printer.info(format!("fix: {fix}"));
                }
            }
        }
        Some(Err(e)) => printer.warn(format!("the first run stopped: {e}")),
    }
    printer.info(
        "next: commit what zt init wrote (`git add -A && git commit`), import a vulnerability database (`zt vuln db import PATH`), then `zt pipeline run .`",
    );
    Ok(Status::Success)
}

/// The pipeline run once on the repository as it is now: zt init's files are not committed
/// yet, so the build is allowed a dirty tree (and says so in its provenance).
fn first_run(repo: &std::path::Path, printer: &Printer) -> Result<zt_pipeline::Report, String> {
    let config = super::pipeline::build_config(repo).map_err(|e| e.message)?;
    let mut opts = zt_pipeline::Options::for_repo(repo, &config);
    opts.allow_dirty = true;
    printer.info("running the pipeline once on the uncommitted tree (`--no-run` skips this) …");
    zt_pipeline::run(&opts, &super::pipeline::Stderr(printer)).map_err(|e| {
        let help = zt_core::Diagnostic::help(&e).unwrap_or_default();
        if help.is_empty() {
            e.to_string()
        } else {
            format!("{e} (help: {help})")
        }
    })
}
