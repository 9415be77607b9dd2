use std::time::{SystemTime, UNIX_EPOCH};

use zt_vuln::Ecosystem;
use zt_vuln::store::{self, Store};
use zt_vuln::version::ordering_symbol;

use crate::cli::{DbCommand, VulnArgs, VulnCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

/// Seconds since the Unix epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn run(args: VulnArgs, printer: &Printer) -> Result<Status, CliError> {
    let store_dir = args.store;
    match args.command {
        VulnCommand::VersionCmp { ecosystem, a, b } => {
            let eco = Ecosystem::parse(&ecosystem);
            let order = eco.compare(&a, &b)?;
            let symbol = ordering_symbol(order);
            if printer.json {
                printer.json(&serde_json::json!({
                    "ecosystem": eco.name(), "a": a, "b": b, "order": symbol,
                }));
            } else {
                printer.out(symbol);
            }
            Ok(Status::Success)
        }
        VulnCommand::Cvss { vector } => {
            let s = zt_vuln::cvss::score(&vector)?;
            if printer.json {
                printer.json(&serde_json::json!({
                    "vector": vector, "version": s.version, "score": s.score, "severity": s.severity,
                }));
            } else {
                printer.out(format!("{:.1} {}", s.score, s.severity));
            }
            Ok(Status::Success)
        }
        VulnCommand::Db {
            command: DbCommand::Import { paths },
        } => {
            let report = store::import(&store_dir, &paths, now())?;
            for e in &report.skipped {
                printer.warn(format!("skipped: {e}"));
            }
            if printer.json {
                printer.json(&serde_json::to_value(&report).unwrap_or_default());
            } else {
                printer.out(format!(
                    "imported {} records: {} added, {} updated, {} unchanged, {} skipped; {} in `{}`",
                    report.files,
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.skipped.len(),
                    report.total,
                    store_dir.display()
                ));
            }
            Ok(Status::Success)
        }
        VulnCommand::Db {
            command: DbCommand::Status { max_age_days },
        } => {
            let store = Store::open(&store_dir)?;
            let m = store.manifest();
            let newest = m
                .newest_modified
                .as_deref()
                .and_then(zt_vuln::osv::parse_rfc3339_seconds);
            let age_days = newest.map(|t| (now() - t).max(0) / 86_400);
            let stale = matches!((age_days, max_age_days), (Some(a), Some(max)) if a.unsigned_abs() > max)
                || (newest.is_none() && max_age_days.is_some());
            if printer.json {
                printer.json(&serde_json::json!({
                    "store": store_dir,
                    "manifest": m,
                    "newest_age_days": age_days,
                    "max_age_days": max_age_days,
                    "stale": stale,
                }));
            } else {
                printer.out(format!(
                    "{} records ({} withdrawn) in `{}`",
                    m.records,
                    m.withdrawn,
                    store_dir.display()
                ));
                match (&m.newest_modified, age_days) {
                    (Some(t), Some(a)) => {
                        printer.out(format!("newest record modified {t} ({a} days ago)"))
                    }
                    _ => printer.out("no record carries a modification time"),
                }
                printer.out(format!(
                    "{:<12} {:>8} {:>9}",
                    "ecosystem", "records", "packages"
                ));
                for (name, e) in &m.ecosystems {
                    printer.out(format!("{name:<12} {:>8} {:>9}", e.records, e.packages));
                }
                let join = |map: &std::collections::BTreeMap<String, usize>| {
                    map.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                printer.out(format!("sources: {}", join(&m.sources)));
                printer.out(format!("kinds: {}", join(&m.kinds)));
            }
            if stale {
                let max = max_age_days.unwrap_or(0);
                return Err(CliError::rejected(
                    match age_days {
                        Some(a) => format!(
                            "the vulnerability database is {a} days old, over the maximum of {max} days"
                        ),
                        None => "the vulnerability database has no dated record".into(),
                    },
                    "import a fresh copy of the advisory databases with `zt vuln db import PATH`",
                ));
            }
            Ok(Status::Success)
        }
    }
}
