//! `zt watch`: alerts over the ledger's build records (zt_pipeline::watch).

use crate::cli::WatchArgs;
use crate::commands::{Status, workspace};
use crate::printer::Printer;
use crate::report::CliError;

/// How long a command may spend delivering notifications.
pub(crate) const NOTIFY_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) fn parse_since(s: &str, now: i64) -> Result<i64, CliError> {
    zt_core::time::parse_instant(s, Some(now)).map_err(|e| {
        CliError::input(
            format!("`--since`: {e}"),
            "e.g. `--since 2026-11-25T00:00:00Z` or `--since 7d`",
        )
    })
}

pub(crate) fn run(args: WatchArgs, printer: &Printer) -> Result<Status, CliError> {
    let ws = workspace(&args.dir, printer)?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, ws.now()))
        .transpose()?;
    let report = zt_pipeline::watch::watch(&ws, &zt_pipeline::watch::Request { since })?;
    // Alerts go to the `[[notify]]` routes (each once), delivered within a few seconds; what
    // is not delivered stays in the spool for the next run.
    let events: Vec<_> = report
        .alerts
        .iter()
        .map(zt_pipeline::watch::alert_event)
        .collect();
    if let Some(d) = zt_pipeline::watch::notify(&ws, &events, NOTIFY_BUDGET)?
        && (d.delivered > 0 || d.pending > 0 || d.dead > 0)
    {
        printer.info(format!(
            "notifications: {} delivered, {} pending, {} given up",
            d.delivered, d.pending, d.dead
        ));
    }
    if args.sarif {
        printer.json(&zt_watch::sarif::sarif(&report.alerts));
    } else if printer.json {
        printer.json(&report.to_json());
    } else {
        for a in &report.alerts {
            printer.out(format!(
                "{} [{}] {} build {} ({})",
                a.kind,
                a.severity,
                a.pipeline,
                a.build,
                zt_core::time::rfc3339(a.at)
            ));
            printer.out(format!("  why: {}", a.why));
            printer.out(format!("  evidence: {}", a.evidence));
        }
        printer.info(format!(
            "{} alert(s) over {} build(s) of {} pipeline(s)",
            report.alerts.len(),
            report.builds,
            report.pipelines
        ));
    }
    Ok(if args.fail_on_alert && !report.alerts.is_empty() {
        Status::Failure
    } else {
        Status::Success
    })
}

/// `zt vuln watch`: each new critical finding goes to the `[[notify]]` routes of the
/// repository's `zt.toml` (spooled once, delivered within [`NOTIFY_BUDGET`]).
pub(crate) fn notify_new_criticals(
    repo: &std::path::Path,
    report: &zt_vuln::watch::WatchReport,
    printer: &Printer,
) -> Result<(), CliError> {
    let Ok(ws) = zt_core::Workspace::discover(repo) else {
        return Ok(());
    };
    let events: Vec<zt_watch::notify::Event> = report
        .new
        .iter()
        .filter(|n| n.finding.severity.name().eq_ignore_ascii_case("critical"))
        .map(|n| zt_watch::notify::Event {
            kind: "vulnerability",
            summary: format!(
                "new critical {} in {}@{} (SBOM {})",
                n.finding.id,
                n.finding.name,
                n.finding.version,
                n.sbom.get(..12).unwrap_or(&n.sbom)
            ),
            fix: Some(format!(
                "upgrade {} past the fixed version, or record why it does not apply with `zt vuln waive`",
                n.finding.name
            )),
            details: serde_json::to_value(n).unwrap_or_default(),
            at: ws.now(),
        })
        .collect();
    if let Some(d) = zt_pipeline::watch::notify(&ws, &events, NOTIFY_BUDGET)?
        && d.delivered + d.pending + d.dead > 0
    {
        printer.info(format!(
            "notifications: {} delivered, {} pending, {} given up",
            d.delivered, d.pending, d.dead
        ));
    }
    Ok(())
}
