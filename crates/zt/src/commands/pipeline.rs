use owo_colors::OwoColorize as _;
use zt_pipeline::{Options, Progress, StageReport, StageStatus};

use crate::cli::{PipelineArgs, PipelineCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

/// Shows each stage on stderr as it starts and ends.
pub(crate) struct Stderr<'a>(pub(crate) &'a Printer);

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
        summary,
        junit,
        server,
    } = args.command;
    let mut opts = match dir {
        // A repository: its `zt.toml` `[build]` table, else the defaults.
        Some(dir) => Options::for_repo(&dir, &build_config(&dir)?),
        None => Options::example(),
    };
    opts.allow_weak_sandbox = allow_weak_sandbox;
    opts.workdir = workdir;
    opts.rebuild = rebuild;
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
    let uploads = match &server {
        Some(url) => upload(url, &report, printer)?,
        None => Vec::new(),
    };
    if let Some(path) = &summary {
        append_summary(path, &markdown_summary(&report))?;
        printer.info(format!("summary appended to `{}`", path.display()));
    }
    if let Some(path) = &junit {
        zt_core::fsutil::write_atomic(path, junit_report(&report).as_bytes()).map_err(|e| {
            CliError::input(
                format!("cannot write `{}`: {e}", path.display()),
                "pass a writable path with `--junit FILE`",
            )
        })?;
    }
    if printer.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("allow".into(), allowed.into());
            if server.is_some() {
                obj.insert("uploads".into(), uploads.into());
            }
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

/// Uploads every bundle the sign stage wrote to the zt server at `url`; the receipts.
fn upload(
    url: &str,
    report: &zt_pipeline::Report,
    printer: &Printer,
) -> Result<Vec<serde_json::Value>, CliError> {
    let client = zt_server::Client::new(url)?;
    let credential = crate::commands::server_credential();
    let mut receipts = Vec::new();
    let signed = report
        .stages
        .iter()
        .filter(|s| s.name == "sign" && s.status == StageStatus::Passed)
        .flat_map(|s| s.evidence.iter());
    for bundle in signed {
        let bytes = fs_err::read(bundle).map_err(zt_sign::Error::from)?;
        let receipt = client
            .upload(credential.as_deref(), &bytes)
            .map_err(|e| CliError::from(e).context(format!("uploading `{}`", bundle.display())))?;
        receipts.push(receipt);
    }
    printer.info(format!(
        "uploaded {} bundle(s) to {url}{}",
        receipts.len(),
        if receipts.is_empty() {
            " (the run signed nothing: an earlier stage failed)"
        } else {
            ""
        }
    ));
    Ok(receipts)
}

/// The `[build]` table of `DIR/zt.toml` (none there: the defaults).
pub(crate) fn build_config(
    dir: &std::path::Path,
) -> Result<zt_core::config::BuildConfig, CliError> {
    let path = dir.join(zt_core::config::CONFIG_FILE);
    if !path.exists() {
        return Ok(Default::default());
    }
    Ok(zt_core::config::Config::load(&path)?.build)
}

/// The run as Markdown for a CI job's summary page: the verdict, a table of the stages, every
/// failed stage's fix, the artifacts and their digests.
pub(crate) fn markdown_summary(report: &zt_pipeline::Report) -> String {
    // A table cell holds one line with no `|`; backticks would open code spans.
    let cell = |s: &str| {
        s.replace(['\n', '\r'], " ")
            .replace('|', "\\|")
            .replace('`', "'")
    };
    let mut md = String::new();
    md.push_str(if report.allowed() {
        "## zt: allow\n\nEvery stage passed.\n\n"
    } else {
        "## zt: deny\n\nA stage failed: its fix is below.\n\n"
    });
    md.push_str("| stage | result | what it found | time |\n|---|---|---|---|\n");
    for s in &report.stages {
        let result = match s.status {
            StageStatus::Passed => "passed",
            StageStatus::Failed => "**failed**",
            StageStatus::Skipped => "skipped",
        };
        md.push_str(&format!(
            "| {} | {result} | {} | {} ms |\n",
            s.name,
            cell(&s.summary),
            s.millis
        ));
    }
    let fixes: Vec<_> = report
        .stages
        .iter()
        .filter(|s| s.status == StageStatus::Failed)
        .collect();
    if !fixes.is_empty() {
        md.push_str("\n### How to fix\n\n");
        for s in fixes {
            md.push_str(&format!(
                "- **{}**: {}\n",
                s.name,
                cell(s.remediation.as_deref().unwrap_or(&s.summary))
            ));
        }
    }
    if !report.artifacts.is_empty() {
        md.push_str("\n### Artifacts\n\n");
        for (path, digest) in &report.artifacts {
            md.push_str(&format!(
                "- `{}` `{digest}`\n",
                cell(&path.display().to_string())
            ));
        }
    }
    md.push('\n');
    md
}

/// The stages as JUnit XML: a `<testsuite name="zt">` with one `<testcase>` per stage; a failed
/// stage is a `<failure>` whose message is its fix, a skipped one `<skipped>`.
pub(crate) fn junit_report(report: &zt_pipeline::Report) -> String {
    let esc = |s: &str| {
        s.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect::<String>()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = report
        .stages
        .iter()
        .filter(|s| s.status == StageStatus::Failed)
        .count();
    let skipped = report
        .stages
        .iter()
        .filter(|s| s.status == StageStatus::Skipped)
        .count();
    let total: u128 = report.stages.iter().map(|s| s.millis).sum();
    let secs = |ms: u128| format!("{}.{:03}", ms / 1000, ms % 1000);
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"zt\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">\n",
        report.stages.len(),
        secs(total)
    );
    for s in &report.stages {
        x.push_str(&format!(
            "    <testcase classname=\"zt.pipeline\" name=\"{}\" time=\"{}\">",
            esc(s.name),
            secs(s.millis)
        ));
        match s.status {
            StageStatus::Passed => {}
            StageStatus::Skipped => {
                x.push_str(&format!("<skipped message=\"{}\"/>", esc(&s.summary)));
            }
            StageStatus::Failed => {
                let fix = s.remediation.as_deref().unwrap_or("");
                x.push_str(&format!(
                    "<failure message=\"{}\" type=\"zt.deny\">{}\nfix: {}</failure>",
                    esc(&s.summary),
                    esc(&s.summary),
                    esc(fix)
                ));
            }
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// Appends to a summary file (GitHub's `$GITHUB_STEP_SUMMARY` is appended to by every step).
fn append_summary(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            CliError::input(
                format!("cannot append the summary to `{}`: {e}", path.display()),
                "pass a writable file with `--summary FILE`",
            )
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
