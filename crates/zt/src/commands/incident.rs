//! `zt incident …` (zt_pipeline::incident).

use zt_pipeline::incident::{Incident, respond};

use crate::cli::{IncidentArgs, IncidentCommand};
use crate::commands::{Status, workspace};
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: IncidentArgs, printer: &Printer) -> Result<Status, CliError> {
    let ws = workspace(&args.dir, printer)?;
    let incident = match args.command {
        IncidentCommand::KeyCompromised { key, at } => Incident::KeyCompromised {
            key,
            at: match at {
                Some(t) => zt_core::time::parse_instant(&t, None).map_err(|e| {
                    CliError::input(format!("`--at`: {e}"), "e.g. `--at 2026-11-25T00:00:00Z`")
                })?,
                None => ws.now(),
            },
        },
        IncidentCommand::BadPackage { purl } => Incident::BadPackage { purl },
        IncidentCommand::BadCommit { commit } => Incident::BadCommit { commit },
    };
    let report = respond(&ws, &incident)?;
    let event = zt_watch::notify::Event {
        kind: "incident",
        summary: format!(
            "{} {}: {} artifact(s) re-decided, {} build(s) to redo",
            report.incident,
            report.subject,
            report.redecided.len(),
            report.rebuild.len()
        ),
        fix: Some(format!("rebuild: {}", report.rebuild.join(", "))),
        details: serde_json::to_value(&report).unwrap_or_default(),
        at: ws.now(),
    };
    zt_pipeline::watch::notify(&ws, &[event], crate::commands::watch::NOTIFY_BUDGET)?;
    if !report.signed {
        printer.warn(format!(
            "the pipeline key is the revoked key: the incident record `{}` is not signed; make a new key with `zt key generate --out KEY`, trust it in `zt.toml`, then `zt attest` the record",
            report.record.display()
        ));
    }
    if printer.json {
        printer.json(&serde_json::to_value(&report).unwrap_or_default());
        return Ok(Status::Success);
    }
    printer.out(format!("incident {}: {}", report.incident, report.subject));
    for a in &report.actions {
        printer.out(format!("  did: {a}"));
    }
    for f in &report.found {
        printer.out(format!("  found: {f}"));
    }
    for r in &report.redecided {
        printer.out(format!(
            "  {} {}{}",
            r.digest,
            if r.allowed {
                "still admitted"
            } else {
                "now denied"
            },
            if r.denies.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.denies.join(", "))
            }
        ));
    }
    for b in &report.rebuild {
        printer.out(format!("  rebuild: {b}"));
    }
    if let Some(i) = report.log_index {
        printer.out(format!(
            "  record: `{}` (signed, log index {i})",
            report.record.display()
        ));
    }
    Ok(Status::Success)
}
