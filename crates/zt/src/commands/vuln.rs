use zt_vuln::Ecosystem;
use zt_vuln::version::ordering_symbol;

use crate::cli::{VulnArgs, VulnCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: VulnArgs, printer: &Printer) -> Result<Status, CliError> {
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
    }
}
