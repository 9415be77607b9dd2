use owo_colors::OwoColorize as _;
use zt_pipeline::{Options, Progress, StageReport, StageStatus};

use crate::cli::{PipelineArgs, PipelineCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

/// Shows each stage on stderr as it starts and ends.
struct Stderr<'a>(&'a Printer);

impl Progress for Stderr<'_> {
    fn started(&self, stage: &str) {
        self.0.info(format!("{} {stage} …", "▸".cyan()));
    }

    fn finished(&self, stage: &StageReport) {
        let mark = match stage.status {
            StageStatus::Passed => format!("{}", "✓".green().bold()),
            StageStatus::Failed => format!("{}", "✗".red().bold()),
            StageStatus::Skipped => format!("{}", "-".dimmed()),
        };
        self.0.info(format!(
            "{mark} {:<8} {} ({} ms)",
            stage.name, stage.summary, stage.millis
        ));
        if let Some(fix) = &stage.remediation {
            self.0
                .info(format!("           {}: {fix}", "fix".cyan().bold()));
        }
    }
}

pub(crate) fn run(args: PipelineArgs, printer: &Printer) -> Result<Status, CliError> {
    let PipelineCommand::Run {
        dir,
        workdir,
        rebuild,
        build,
        test,
        allow_weak_sandbox,
    } = args.command;
    let mut opts = Options::example();
    opts.allow_weak_sandbox = allow_weak_sandbox;
    opts.workdir = workdir;
    opts.rebuild = rebuild;
    if let Some(dir) = dir {
        opts.dir = Some(dir);
        opts.test = vec!["make".into(), "test".into(), "JUNIT={junit}".into()];
    }
    if let Some(b) = build {
        opts.build = b;
    }
    if let Some(t) = test {
        opts.test = t;
    }
    if let zt_core::Clock::Fixed(t) = zt_core::Clock::from_env()? {
        printer.warn(format!(
            "the clock is fixed at {} (ZT_NOW)",
            zt_core::time::rfc3339(t)
        ));
    }
    let progress = Stderr(printer);
    let report = zt_pipeline::run(&opts, &progress)?;
    let allowed = report.allowed();
    if printer.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("allow".into(), allowed.into());
        }
        printer.json(&value);
    } else {
        for (path, digest) in &report.artifacts {
            printer.out(format!("{digest}  {}", path.display()));
        }
        printer.info(format!("evidence: `{}`", report.dir.join(".zt").display()));
        if allowed {
            printer.info(format!("{}: every stage passed", "allow".green().bold()));
        } else {
            printer.info(format!(
                "{}: see the failed stage above and its fix",
                "deny".red().bold()
            ));
        }
    }
    Ok(if allowed {
        Status::Success
    } else {
        Status::Failure
    })
}

/// Prints a gate's judgement: allow, or every deny with its rule, reason and fix; and the
/// evidence that failed verification.
pub(crate) fn print_judgement(
    name: &str,
    stage: zt_core::config::Stage,
    judgement: &zt_pipeline::gate::Judgement,
    printer: &Printer,
) {
    print_judgement_json(name, stage, &judgement.to_json(name, stage), printer);
}

/// Prints a judgement in its JSON form ([`zt_pipeline::gate::Judgement::to_json`]), as a
/// local gate makes it or a zt server answers `POST /api/v1/decide`: the same output either
/// way.
pub(crate) fn print_judgement_json(
    name: &str,
    stage: zt_core::config::Stage,
    judgement: &serde_json::Value,
    printer: &Printer,
) {
    if printer.json {
        printer.json(judgement);
        return;
    }
    let count = |k: &str| judgement[k].as_array().map_or(0, Vec::len);
    let digest = judgement["digest"].as_str().unwrap_or_default();
    let what = if name == digest {
        digest.to_owned()
    } else {
        format!("{name} {digest}")
    };
    printer.info(format!(
        "{what} at stage `{stage}`: {} verified statement(s), {} rejected",
        count("evidence"),
        count("rejected")
    ));
    if judgement["allow"].as_bool() == Some(true) {
        printer.out(format!("{} {name} ({stage})", "allow".green().bold()));
        return;
    }
    printer.out(format!("{} {name} ({stage})", "deny".red().bold()));
    for d in judgement["deny"].as_array().into_iter().flatten() {
        let field = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
        printer.out(format!(
            "  {} {}: {}",
            "✗".red(),
            field("id").bold(),
            field("message")
        ));
        printer.out(format!("    {}: {}", "fix".cyan(), field("remediation")));
    }
}
