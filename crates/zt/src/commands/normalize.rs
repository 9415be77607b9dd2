use zt_build::normalize::{Kind, Options, Outcome, normalize_file};

use crate::cli::NormalizeArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: NormalizeArgs, printer: &Printer) -> Result<Status, CliError> {
    let kind = args.kind.as_deref().map(Kind::from_name).transpose()?;
    let opts = Options {
        timestamp: args.timestamp,
        clamp: args.clamp_timestamp,
        kind,
    };
    let mut results = Vec::new();
    for file in &args.files {
        let report = normalize_file(file, &opts)?;
        let outcome = match report.outcome {
            Outcome::Normalized => "normalized",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::NotRecognised => "not-recognised",
        };
        let kind = report.kind.map(Kind::name);
        if printer.json {
            results.push(serde_json::json!({
                "path": file,
                "type": kind,
                "outcome": outcome,
                "warnings": report.warnings,
            }));
        } else {
            for w in &report.warnings {
                printer.warn(format!("{}: {w}", file.display()));
            }
            printer.out(format!(
                "{outcome} {} {}",
                kind.unwrap_or("-"),
                file.display()
            ));
        }
    }
    if printer.json {
        printer.json(&serde_json::json!({ "ok": true, "files": results }));
    }
    Ok(Status::Success)
}
