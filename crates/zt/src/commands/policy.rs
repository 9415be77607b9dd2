use std::path::Path;

use zt_core::config::Stage;
use zt_policy::Decision;

use crate::cli::{PolicyArgs, PolicyCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: PolicyArgs, printer: &Printer) -> Result<Status, CliError> {
    // The repository containing the current directory: its zt.toml and policy folders.
    let ws = crate::commands::workspace(Path::new("."), printer)?;
    match args.command {
        PolicyCommand::Eval {
            input,
            policy,
            stage,
        } => {
            let judged = zt_pipeline::policy::eval(
                &ws,
                &zt_pipeline::policy::EvalRequest {
                    input,
                    policy,
                    stage: stage.map(Into::into),
                },
            )?;
            print_decision(&judged.decision, judged.input.context.stage, printer);
            Ok(if judged.decision.allow {
                Status::Success
            } else {
                Status::Failure
            })
        }
        PolicyCommand::Test { dir } => {
            let outcomes = zt_pipeline::policy::test(&ws, dir.as_deref())?;
            let passed = outcomes.iter().filter(|o| o.passed).count();
            let failed = outcomes.len() - passed;
            if printer.json {
                let tests: Vec<_> = outcomes
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "package": o.case.package,
                            "name": o.case.name,
                            "file": o.case.file,
                            "passed": o.passed,
                            "failure": o.failure,
                        })
                    })
                    .collect();
                printer.json(&serde_json::json!({
                    "passed": passed,
                    "failed": failed,
                    "tests": tests,
                }));
            } else {
                for o in &outcomes {
                    let mark = if o.passed {
                        printer.ok_mark()
                    } else {
                        printer.fail_mark()
                    };
                    printer.out(format!("{mark} data.{}.{}", o.case.package, o.case.name));
                    if let Some(why) = &o.failure {
                        printer.out(format!("     {why} ({})", o.case.file));
                    }
                }
                printer.out(format!("{passed} passed, {failed} failed"));
            }
            Ok(if failed == 0 {
                Status::Success
            } else {
                Status::Failure
            })
        }
    }
}

fn print_decision(decision: &Decision, stage: Stage, printer: &Printer) {
    if printer.json {
        printer.json(&serde_json::json!({
            "allow": decision.allow,
            "stage": stage.name(),
            "deny": decision.deny,
        }));
        return;
    }
    if decision.allow {
        printer.out(format!("allow (stage {stage})"));
        return;
    }
    for d in &decision.deny {
        printer.out(format!("{} {}: {}", printer.fail_mark(), d.id, d.message));
        printer.out(format!("     fix: {}", d.remediation));
        printer.out(format!("     doc: {}", d.doc));
    }
    printer.out(format!(
        "deny (stage {}): {} rule violation{}",
        stage,
        decision.deny.len(),
        if decision.deny.len() == 1 { "" } else { "s" }
    ));
}
