use std::path::PathBuf;
use std::sync::Arc;

use zt_build::build::{FileSecrets, Options, SecretSource};
use zt_build::repro::{self, Variation};

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
        // `[build] mirror` in zt.toml is applied by the build workflow.
        package_source: None,
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

/// `zt sandbox-probe [--runs N] -- CMD…`
pub(crate) fn sandbox_probe(
    args: crate::cli::SandboxProbeArgs,
    printer: &Printer,
) -> Result<Status, CliError> {
    let mut took = Vec::with_capacity(args.runs as usize);
    let mut exit = None;
    for _ in 0..args.runs {
        let (e, t) = zt_build::sandbox::probe(&args.command)?;
        took.push(t.as_secs_f64());
        let failed = !e.success();
        exit = Some(e);
        if failed {
            break;
        }
    }
    let Some(exit) = exit else {
        return Ok(Status::Failure);
    };
    let mut sorted = took.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = took.iter().sum::<f64>() / took.len() as f64;
    let median = sorted[sorted.len() / 2];
    let min = sorted[0];
    if printer.json {
        printer.json(&serde_json::json!({
            "ok": exit.success(),
            "exit": format!("{exit:?}"),
            "runs": took.len(),
            "sandbox_seconds": took[took.len() - 1],
            "mean_seconds": mean,
            "median_seconds": median,
            "min_seconds": min,
        }));
    } else if took.len() == 1 {
        printer.out(format!("{exit:?} in {:.3} ms", mean * 1000.0));
    } else {
        printer.out(format!(
            "{exit:?}; {} runs: mean {:.3} ms, median {:.3} ms, min {:.3} ms",
            took.len(),
            mean * 1000.0,
            median * 1000.0,
            min * 1000.0
        ));
    }
    Ok(if exit.success() {
        Status::Success
    } else {
        Status::Failure
    })
}

pub(crate) fn run(args: BuildArgs, printer: &Printer) -> Result<Status, CliError> {
    if let Some(crate::cli::BuildAction::Verify {
        stage,
        tree,
        out,
        sarif,
    }) = &args.action
    {
        return verify(stage, tree, out, *sarif, printer);
    }
    let (options, vary) = options(&args)?;
    let ws = crate::commands::workspace(&options.tree, printer)?;
    let recipe = ws.config()?.build.image;
    let image =
        (args.image.is_some() || recipe.is_some()).then(|| zt_pipeline::build::ImageRequest {
            recipe: recipe.unwrap_or_default(),
            layout: args.image.clone(),
            registry: zt_pipeline::image::RegistryOptions {
                insecure: args.insecure_registry.clone(),
            },
        });
    let built = zt_pipeline::build::build(
        &ws,
        &zt_pipeline::build::Request {
            options,
            rebuild: args.rebuild,
            vary,
            image,
        },
    )?;
    let outcome = &built.outcome;
    let code = built.exit_text();
    if printer.json {
        printer.json(&serde_json::json!({
            "bundle": built.signed.as_ref().map(|(p, _)| p),
            "log_index": built.signed.as_ref().map(|(_, i)| i),
            "ok": built.ok(),
            "exit": code,
            "log": outcome.log,
            "commit": outcome.source.commit,
            "dirty": outcome.source.dirty,
            "source_date_epoch": outcome.source.source_date_epoch,
            "invocation_id": outcome.invocation_id,
            "sandbox_seconds": outcome.sandbox_elapsed.as_secs_f64(),
            "provenance": outcome.provenance.as_ref().map(|(_, p)| p),
            "outputs": outcome.outputs.iter().map(|o| serde_json::json!({"path": o.path, "digest": o.digest.to_string()})).collect::<Vec<_>>(),
            "repro": built.repro.as_ref().map(|r| report_json(&r.report, r.statement.clone())),
            "image": built.image,
        }));
    } else if built.succeeded() {
        if let Some(r) = &built.repro {
            print_report(&r.report, printer);
        }
        for o in &outcome.outputs {
            printer.out(format!("{} {}", o.digest, o.path.display()));
        }
        if let Some(image) = &built.image {
            printer.out(format!("{} {}", image.digest, image.name));
            printer.info(format!(
                "image `{}` ({} layers) written to the OCI layout `{}` (tag `{}`)",
                image.digest,
                image.layers.len(),
                image.layout.display(),
                image.tag
            ));
        }
        printer.info(format!("build succeeded; log: `{}`", outcome.log.display()));
        if let Some((_, path)) = &outcome.provenance {
            printer.info(format!("provenance: `{}`", path.display()));
        }
        if let Some((bundle, index)) = &built.signed {
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
    Ok(if built.ok() {
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
    sarif: bool,
    printer: &Printer,
) -> Result<Status, CliError> {
    let stage: zt_core::config::Stage = stage.parse().map_err(|_| {
        CliError::input(
            format!("unknown stage `{stage}`"),
            "use `--stage ci`, `--stage publish` or `--stage deploy`",
        )
    })?;
    let ws = crate::commands::workspace(tree, printer)?;
    let mut allowed = true;
    let judgements = zt_pipeline::build::verify(&ws, out, stage)?;
    if sarif {
        allowed = judgements.iter().all(|(_, j)| j.decision.allow);
        printer.json(&denies_sarif(&judgements, stage));
    } else {
        for (name, judgement) in judgements {
            allowed &= judgement.decision.allow;
            crate::commands::pipeline::print_judgement(&name, stage, &judgement, printer);
        }
    }
    Ok(if allowed {
        Status::Success
    } else {
        Status::Failure
    })
}

/// Policy denies as SARIF 2.1.0: one rule per policy rule id that denied, one result per
/// deny located at the artifact (its path in the tree), the message and its fix.
fn denies_sarif(
    judgements: &[(String, zt_pipeline::gate::Judgement)],
    stage: zt_core::config::Stage,
) -> serde_json::Value {
    use serde_json::json;
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut results = Vec::new();
    for (name, judgement) in judgements {
        for d in &judgement.decision.deny {
            let index = match rules.iter().position(|(id, _)| *id == d.id) {
                Some(i) => i,
                None => {
                    rules.push((d.id.clone(), d.doc.clone()));
                    rules.len() - 1
                }
            };
            results.push(json!({
                "ruleId": d.id,
                "ruleIndex": index,
                "level": "error",
                "message": {"text": format!("{} (stage `{stage}`). Fix: {}", d.message, d.remediation)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": name}}}],
                "partialFingerprints": {"ztArtifactRule": format!("{name}/{}", d.id)},
                "properties": {"digest": judgement.digest.to_string(), "stage": stage.name()},
            }));
        }
    }
    let rules: Vec<serde_json::Value> = rules
        .into_iter()
        .map(|(id, doc)| {
            let mut rule = json!({"id": id, "name": id});
            if !doc.is_empty() {
                rule["helpUri"] = doc.into();
            }
            rule
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "zt policy", "informationUri": "https://zt.dev/docs/policies", "rules": rules}},
            "results": results,
        }],
    })
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
    if args.image.is_some() {
        return Err(CliError::input(
            "`zt repro` compares the outputs only; it builds no image",
            "build the image with `zt build --rebuild 2 --image DIR -- …`: the same outputs give the same image",
        ));
    }
    let (options, vary) = options(&args)?;
    let ws = crate::commands::workspace(&options.tree, printer)?;
    let zt_pipeline::build::Repro { report, statement } = zt_pipeline::build::repro_only(
        &ws,
        &zt_pipeline::build::Request {
            options,
            rebuild: args.rebuild,
            vary,
            image: None,
        },
    )?;
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
