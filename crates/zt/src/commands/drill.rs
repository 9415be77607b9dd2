//! `zt drill NAME|all` (zt_pipeline::drill).

use zt_pipeline::drill::{DRILLS, run};

use crate::cli::DrillArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run_drills(args: DrillArgs, printer: &Printer) -> Result<Status, CliError> {
    let names: Vec<&str> = if args.name == "all" {
        DRILLS.to_vec()
    } else {
        vec![args.name.as_str()]
    };
    let mut reports = Vec::new();
    for name in names {
        printer.info(format!("drill {name} …"));
        let r = run(name, args.keep)?;
        // Run inside a repository, the outcome counts in its `zt metrics`.
        if let Ok(ws) = zt_core::Workspace::discover(std::path::Path::new(".")) {
            let mut line = serde_json::to_value(&r).unwrap_or_default();
            line["at"] = serde_json::json!(ws.now());
            zt_pipeline::metrics::append(&ws, "drills", &line)?;
        }
        if !printer.json {
            printer.out(format!(
                "{} {}: {}",
                if r.detected {
                    printer.ok_mark()
                } else {
                    printer.fail_mark()
                },
                r.drill,
                r.planted
            ));
            if r.detected {
                printer.out(format!(
                    "  detected by {} in {} ms; contained in {} ms ({})",
                    r.detected_by.join(", "),
                    r.time_to_detect_ms,
                    r.time_to_contain_ms,
                    r.contained_by
                ));
                for e in &r.evidence {
                    printer.out(format!("  evidence: {e}"));
                }
            } else {
                printer.out("  NOT DETECTED");
            }
            if let Some(p) = &r.repository {
                printer.out(format!("  repository: `{}`", p.display()));
            }
        }
        reports.push(r);
    }
    let all = reports.iter().all(|r| r.detected);
    if printer.json {
        printer.json(&serde_json::json!({
            "allDetected": all,
            "drills": serde_json::to_value(&reports).unwrap_or_default(),
        }));
    }
    Ok(if all {
        Status::Success
    } else {
        Status::Failure
    })
}
