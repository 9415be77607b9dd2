use std::path::PathBuf;
use std::sync::Arc;

use zt_build::build::{FileSecrets, Options, SecretSource, build};
use zt_build::repro::{self, Variation};
use zt_build::sandbox::Exit;

use crate::cli::BuildArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

fn options(args: &BuildArgs) -> Result<(Options, Vec<Variation>), CliError> {
    if args.out.is_absolute()
        || args
            .out
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(CliError::input(
            format!(
                "output directory `{}` is not inside the source tree",
                args.out.display()
            ),
            "give `--out` as a path relative to the tree, such as `out`",
        ));
    }
    let mut vary = Vec::new();
    for name in &args.vary {
        vary.push(Variation::from_name(name).ok_or_else(|| {
            let all: Vec<&str> = Variation::ALL.iter().map(|v| v.name()).collect();
            CliError::input(
                format!("unknown variation `{name}`"),
                format!("use some of `{}`", all.join(",")),
            )
        })?);
    }
    if vary.is_empty() {
        vary = Variation::ALL.to_vec();
    }
    let mut names = Vec::new();
    let mut files = std::collections::BTreeMap::new();
    for s in &args.secrets {
        let (name, file) = match s.split_once('=') {
            Some((name, file)) => {
                let Some(path) = file.strip_prefix('@') else {
                    return Err(CliError::input(
                        format!("`--secret {name}=…` gives a value on the command line"),
                        "never put a secret's value in arguments: use `--secret NAME=@FILE` or `--secret NAME` (zt secrets)",
                    ));
                };
                (name, Some(std::path::PathBuf::from(path)))
            }
            None => (s.as_str(), None),
        };
        if !zt_build::sandbox::valid_secret_name(name) {
            return Err(CliError::input(
                format!("`{name}` is not a valid secret name"),
                "use 1 to 64 letters, digits, `_`, `.` or `-`, not starting with `.`",
            ));
        }
        if let Some(path) = file {
            files.insert(name.to_owned(), path);
        }
        names.push(name.to_owned());
    }
    let secret_source: Option<Arc<dyn SecretSource>> = (!names.is_empty()).then(|| {
        Arc::new(FileSecrets {
            files,
            fallback: ZtSecrets {
                zt_dir: args.tree.join(".zt"),
            },
        }) as Arc<dyn SecretSource>
    });
    let opts = Options {
        tree: args.tree.clone(),
        out: args.out.clone(),
        inputs: args.inputs.clone(),
        rootfs: args.rootfs.clone(),
        allow_dirty: args.allow_dirty,
        source_date_epoch: args.source_date_epoch,
        argv: args.command.clone(),
        timeout: args.timeout,
        secrets: names,
        secret_source,
        allow_weak_sandbox: args.allow_weak_sandbox,
    };
    Ok((opts, vary))
}

/// Secrets named without `=@FILE` come from zt's secret store (`<tree>/.zt/secrets`), read as
/// the operator: every read is an access record in the audited log, with the build as purpose.
#[derive(Debug)]
struct ZtSecrets {
    zt_dir: PathBuf,
}

impl SecretSource for ZtSecrets {
    fn read(
        &self,
        name: &str,
        purpose: &str,
    ) -> Result<zt_build::build::Zeroizing<Vec<u8>>, String> {
        zt_secrets::read_as_operator(&self.zt_dir, name, purpose)
            .map(|secret| zt_build::build::Zeroizing::new(secret.expose().to_vec()))
            .map_err(|e| match zt_core::Diagnostic::help(&e) {
                Some(help) => format!("{e} ({help})"),
                None => e.to_string(),
            })
    }
}

/// `zt sandbox-probe -- CMD…`
pub(crate) fn sandbox_probe(
    args: crate::cli::SandboxProbeArgs,
    printer: &Printer,
) -> Result<Status, CliError> {
    let (exit, took) = zt_build::sandbox::probe(&args.command)?;
    if printer.json {
        printer.json(&serde_json::json!({
            "ok": exit.success(),
            "exit": format!("{exit:?}"),
            "sandbox_seconds": took.as_secs_f64(),
        }));
    } else {
        printer.out(format!("{exit:?} in {:.3} ms", took.as_secs_f64() * 1000.0));
    }
    Ok(if exit.success() {
        Status::Success
    } else {
        Status::Failure
    })
}

pub(crate) fn run(args: BuildArgs, printer: &Printer) -> Result<Status, CliError> {
    if let Some(crate::cli::BuildAction::Verify { stage, tree, out }) = &args.action {
        return verify(stage, tree, out, printer);
    }
    let (opts, vary) = options(&args)?;
    let mut outcome = build(&opts)?;
    let (ok, code) = match outcome.exit {
        Exit::Code(c) => (c == 0, format!("exit status {c}")),
        Exit::Signal(s) => (false, format!("signal {s}")),
        Exit::TimedOut => (false, "timed out".to_owned()),
    };
    let mut repro_json = serde_json::Value::Null;
    let mut reproducible = true;
    if ok && let Some(n) = args.rebuild {
        let report = repro::repro(&opts, n, &vary)?;
        reproducible = report.reproducible;
        repro_json = report_json(&report, write_statement(&opts, &report)?);
        if let Some((statement, path)) = &mut outcome.provenance {
            repro::record_in_provenance(statement, &report);
            zt_core::fsutil::write_atomic(path, &statement.to_json())
                .map_err(zt_build::Error::from_io(path))?;
        }
        if !printer.json {
            print_report(&report, printer);
        }
    }
    // The provenance is signed with the repository's pipeline key, logged and indexed like
    // all evidence.
    let mut signed = None;
    // (A build without outputs has nothing to attest to: in-toto needs a subject.)
    if let Some((statement, _)) = &outcome.provenance
        && !statement.subject.is_empty()
    {
        let ws = crate::commands::workspace(&outcome.tree, printer)?;
        signed = Some(zt_pipeline::evidence::attest(&ws, "provenance", statement)?);
    }
    if printer.json {
        printer.json(&serde_json::json!({
            "bundle": signed.as_ref().map(|(p, _)| p),
            "log_index": signed.as_ref().map(|(_, i)| i),
            "ok": ok && reproducible,
            "exit": code,
            "log": outcome.log,
            "commit": outcome.source.commit,
            "dirty": outcome.source.dirty,
            "source_date_epoch": outcome.source.source_date_epoch,
            "invocation_id": outcome.invocation_id,
            "sandbox_seconds": outcome.sandbox_elapsed.as_secs_f64(),
            "provenance": outcome.provenance.as_ref().map(|(_, p)| p),
            "outputs": outcome.outputs.iter().map(|o| serde_json::json!({"path": o.path, "digest": o.digest.to_string()})).collect::<Vec<_>>(),
            "repro": repro_json,
        }));
    } else if ok {
        for o in &outcome.outputs {
            printer.out(format!("{} {}", o.digest, o.path.display()));
        }
        printer.info(format!("build succeeded; log: `{}`", outcome.log.display()));
        if let Some((_, path)) = &outcome.provenance {
            printer.info(format!("provenance: `{}`", path.display()));
        }
        if let Some((bundle, index)) = &signed {
            printer.info(format!(
                "provenance signed and logged (log index {index}): `{}`",
                bundle.display()
            ));
        }
    } else {
        printer.err(format!(
            "build failed ({code}); log: `{}`",
            outcome.log.display()
        ));
    }
    Ok(if ok && reproducible {
        Status::Success
    } else {
        Status::Failure
    })
}

/// `zt build verify`: every output of the current build, judged offline with CI's policies.
fn verify(
    stage: &str,
    tree: &std::path::Path,
    out: &std::path::Path,
    printer: &Printer,
) -> Result<Status, CliError> {
    let stage: zt_core::config::Stage = stage.parse().map_err(|_| {
        CliError::input(
            format!("unknown stage `{stage}`"),
            "use `--stage ci`, `--stage publish` or `--stage deploy`",
        )
    })?;
    let ws = crate::commands::workspace(tree, printer)?;
    let repo = ws.root().to_path_buf();
    let dir = repo.join(out);
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(CliError::input(
            format!("`{}` holds no build outputs", dir.display()),
            "build first (`zt build --rebuild 2 -- …` or `zt pipeline run .`), then `zt build verify`",
        ));
    }
    let mut allowed = true;
    for f in &files {
        let name = f.strip_prefix(&repo).unwrap_or(f).display().to_string();
        let judgement =
            zt_pipeline::gate::judge(&ws, &zt_pipeline::gate::Target::File(f.clone()), stage, &[])?;
        allowed &= judgement.decision.allow;
        crate::commands::pipeline::print_judgement(&name, stage, &judgement, printer);
    }
    Ok(if allowed {
        Status::Success
    } else {
        Status::Failure
    })
}

fn write_statement(opts: &Options, report: &repro::Report) -> Result<std::path::PathBuf, CliError> {
    let statement = repro::statement(report);
    let dir = opts.tree.join(".zt/provenance");
    let path = dir.join(format!(
        "repro-{}.intoto.json",
        zt_build::build::invocation_id()
    ));
    zt_core::fsutil::write_atomic(&path, &statement.to_json())
        .map_err(zt_build::Error::from_io(&path))?;
    Ok(path)
}

fn report_json(report: &repro::Report, statement: std::path::PathBuf) -> serde_json::Value {
    serde_json::json!({
        "reproducible": report.reproducible,
        "builds": report.builds,
        "total_builds": report.total_builds,
        "variations": report.variations.iter().map(|v| v.name()).collect::<Vec<_>>(),
        "unavailable": report.unavailable.iter().map(|(v, why)| serde_json::json!({"variation": v.name(), "reason": why})).collect::<Vec<_>>(),
        "limited": report.limited.iter().map(|(v, why)| serde_json::json!({"variation": v.name(), "reason": why})).collect::<Vec<_>>(),
        "differences": report.differences.iter().map(|d| serde_json::json!({"path": d.path, "explanation": d.detail})).collect::<Vec<_>>(),
        "causes": report.culprits.iter().map(|c| serde_json::json!({"variations": c.variations.iter().map(|v| v.name()).collect::<Vec<_>>(), "files": c.files})).collect::<Vec<_>>(),
        "statement": statement,
    })
}

fn print_report(report: &repro::Report, printer: &Printer) {
    let vars: Vec<&str> = report.variations.iter().map(|v| v.name()).collect();
    for (v, why) in &report.unavailable {
        printer.warn(format!("variation {} not applied: {why}", v.name()));
    }
    for (v, why) in &report.limited {
        printer.warn(format!("variation {} limited: {why}", v.name()));
    }
    if report.reproducible {
        printer.out(format!(
            "reproducible: {} builds identical with variations {}",
            report.builds,
            vars.join(",")
        ));
        return;
    }
    printer.out(format!(
        "not reproducible: outputs differ with variations {}",
        vars.join(",")
    ));
    for c in &report.culprits {
        let names: Vec<&str> = c.variations.iter().map(|v| v.name()).collect();
        let cause = if names.is_empty() {
            "nondeterministic (differs with no variation)".to_owned()
        } else {
            names.join("+")
        };
        for f in &c.files {
            printer.out(format!("cause {cause}: {}", f.display()));
        }
    }
    for d in &report.differences {
        printer.out(format!("difference in {}:", d.path.display()));
        for l in d.detail.lines() {
            printer.out(format!("  {l}"));
        }
    }
}

pub(crate) fn repro(args: BuildArgs, printer: &Printer) -> Result<Status, CliError> {
    let (opts, vary) = options(&args)?;
    let report = repro::repro(&opts, args.rebuild.unwrap_or(2), &vary)?;
    let tree = fs_err::canonicalize(&opts.tree).map_err(zt_build::Error::from_io(&opts.tree))?;
    let statement = write_statement(&Options { tree, ..opts }, &report)?;
    if printer.json {
        let mut v = report_json(&report, statement);
        v["ok"] = serde_json::json!(report.reproducible);
        printer.json(&v);
    } else {
        print_report(&report, printer);
        printer.info(format!(
            "reproducibility statement (unsigned): `{}`",
            statement.display()
        ));
    }
    Ok(if report.reproducible {
        Status::Success
    } else {
        Status::Failure
    })
}
