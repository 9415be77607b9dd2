//! `zt metrics` (zt_pipeline::metrics).

use crate::cli::MetricsArgs;
use crate::commands::{Status, workspace};
use crate::printer::Printer;
use crate::report::CliError;

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "no data".into())
}

pub(crate) fn run(args: MetricsArgs, printer: &Printer) -> Result<Status, CliError> {
    let ws = workspace(&args.dir, printer)?;
    let since = args
        .since
        .as_deref()
        .map(|s| crate::commands::watch::parse_since(s, ws.now()))
        .transpose()?
        .unwrap_or(i64::MIN);
    let m = zt_pipeline::metrics::metrics(&ws, since)?;
    if args.prometheus {
        printer.out(zt_watch::metrics::prometheus(&m).trim_end());
    } else if printer.json {
        printer.json(&serde_json::to_value(&m).unwrap_or_default());
    } else {
        printer.out(format!(
            "reproducibility      {} of {} rebuilt builds ({} builds)",
            pct(m.reproducibility_rate),
            m.rebuilt,
            m.builds
        ));
        printer.out(format!(
            "sandbox overhead     {} of the build commands' time",
            pct(m.sandbox_overhead)
        ));
        printer.out(format!(
            "policy pass rate     {} of {} decisions",
            pct(m.policy_pass_rate),
            m.decisions
        ));
        for (rule, n) in &m.top_deny_rules {
            printer.out(format!("  denied by {rule}: {n}"));
        }
        let secs = |v: Option<f64>| {
            v.map(|x| format!("{x:.0} ms"))
                .unwrap_or_else(|| "no data".into())
        };
        printer.out(format!(
            "drills               {} detected of {}; mean time to detect {}, to contain {}",
            pct(m.drill_detection_rate),
            m.drills,
            secs(m.mean_time_to_detect_ms),
            secs(m.mean_time_to_contain_ms)
        ));
        printer.out(format!("open criticals       {}", m.open_criticals.len()));
        for (id, p) in &m.open_criticals {
            printer.out(format!("  {id} in {p}"));
        }
        printer.out(format!(
            "waivers near expiry  {}",
            m.waivers_near_expiry.len()
        ));
        for (id, p, exp) in &m.waivers_near_expiry {
            printer.out(format!("  {id} on {p} expires {exp}"));
        }
    }
    Ok(Status::Success)
}
