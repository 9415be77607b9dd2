//! `zt trace FILE|DIGEST`: where an artifact came from, from the local ledger
//! (`zt_pipeline::trace`) or a zt server (`--server`, `GET /api/v1/trace/{digest}`).

use std::path::Path;

use owo_colors::OwoColorize as _;
use zt_pipeline::gate::Target;
use zt_pipeline::trace::Trace;

use crate::cli::TraceArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: TraceArgs, printer: &Printer) -> Result<Status, CliError> {
    let target = Target::parse(&args.artifact)?;
    let digest = match &target {
        Target::Digest(d) => d.clone(),
        Target::File(p) => zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, p)?,
    };
    let trace: Trace = match &args.server {
        Some(url) => {
            let client = zt_server::Client::new(url)?;
            let value = client.trace(
                crate::commands::server_credential().as_deref(),
                &digest.to_string(),
            )?;
            serde_json::from_value(value).map_err(|e| zt_server::Error::BadReply {
                url: url.clone(),
                reason: e.to_string(),
            })?
        }
        None => {
            let ws = crate::commands::workspace(Path::new("."), printer)?;
            zt_pipeline::trace::trace(&ws, &digest, args.decisions)?
        }
    };
    if args.graph.is_some() {
        printer.out(trace.to_dot().trim_end());
    } else if printer.json {
        printer.json(&serde_json::to_value(&trace).unwrap_or_default());
    } else {
        print(&args.artifact, &trace, printer);
    }
    Ok(Status::Success)
}

fn print(name: &str, t: &Trace, printer: &Printer) {
    printer.out(format!("{} {}", name.bold(), t.digest));
    if t.builds.is_empty() {
        printer.out("  build       no verified provenance");
    }
    for b in &t.builds {
        printer.out(format!(
            "  build       {} by {} (signed by key {})",
            b.invocation.as_deref().unwrap_or("-"),
            b.builder.as_deref().unwrap_or("-"),
            b.signer
        ));
        if let Some(cmd) = &b.command {
            printer.out(format!("    command   {cmd}"));
        }
        if let Some(h) = b.sandbox.as_ref().and_then(|s| s.get("hermetic")) {
            printer.out(format!("    hermetic  {h}"));
        }
    }
    for c in &t.commits {
        printer.out(format!("  commit      {} {}", c.commit, c.verdict));
    }
    printer.out(format!("  deps        {}", t.dependencies.len()));
    for d in &t.dependencies {
        let intake = d
            .purl
            .as_deref()
            .and_then(|p| t.intake_for(p))
            .map(|i| format!(" (intake: {})", i.verdict))
            .unwrap_or_default();
        printer.info(format!(
            "    {} {} {}{intake}",
            d.name,
            d.version.as_deref().unwrap_or(""),
            d.purl.as_deref().unwrap_or("")
        ));
    }
    for s in &t.signers {
        printer.out(format!(
            "  signer      {} ({})",
            s.key_id,
            s.predicate_types.join(", ")
        ));
    }
    if t.decisions.is_empty() {
        printer.info("  decisions   not judged (`zt trace --decisions` judges every stage)");
    }
    for d in &t.decisions {
        let verdict = if d.allow {
            "allow".green().to_string()
        } else {
            "deny".red().to_string()
        };
        printer.out(format!("  {:<11} {verdict}", d.stage));
        for deny in &d.deny {
            printer.out(format!(
                "    {} {}: {}",
                "✗".red(),
                deny["id"].as_str().unwrap_or(""),
                deny["message"].as_str().unwrap_or("")
            ));
        }
    }
    for d in &t.deployments {
        printer.out(format!(
            "  deployment  {} {} {} at {}{}",
            if d.allowed {
                "admitted".green().to_string()
            } else {
                "refused".red().to_string()
            },
            d.operation,
            d.object,
            d.at,
            d.log_index
                .map(|i| format!(" (log index {i})"))
                .unwrap_or_default()
        ));
    }
    for r in &t.rejected {
        printer.out(format!("  rejected    {}: {}", r.source, r.reason));
    }
}
