use std::path::Path;

use zt_core::config::{CONFIG_FILE, Config, ConfigError};
use zt_policy::{Decision, Policy, PolicyInput, PolicySet, policy_data};

use crate::cli::{PolicyArgs, PolicyCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: PolicyArgs, printer: &Printer) -> Result<Status, CliError> {
    match args.command {
        PolicyCommand::Eval {
            input,
            policy,
            stage,
        } => {
            let repo = Path::new(".");
            let config = Config::load(&repo.join(CONFIG_FILE))?;
            let bytes = fs_err::read(&input).map_err(zt_policy::Error::from)?;
            let mut doc = PolicyInput::from_json(&bytes, Some(&input.display().to_string()))?;
            if let Some(stage) = stage {
                doc.context.stage = stage.into();
            }
            let set = PolicySet::from_config(&config.policy, repo, policy.as_deref())?;
            let mut engine = Policy::compile(&set, policy_data(&config, repo)?)?;
            let decision = engine.evaluate(&doc)?;
            print_decision(&decision, &doc, printer);
            Ok(if decision.allow {
                Status::Success
            } else {
                Status::Failure
            })
        }
        PolicyCommand::Test { dir } => {
            let repo = Path::new(".");
            let config = match Config::load(&repo.join(CONFIG_FILE)) {
                Ok(c) => c,
                Err(ConfigError::Missing(_)) => Config::default(),
                Err(e) => return Err(e.into()),
            };
            // The repository's own folders only when it has a zt.toml that names them.
            let mut set = if config.policy.builtin {
                PolicySet::builtin()
            } else {
                PolicySet::empty()
            };
            if repo.join(CONFIG_FILE).is_file() {
                for d in &config.policy.dirs {
                    set.overlay_dir(&repo.join(d))?;
                }
            }
            if let Some(dir) = &dir {
                set.overlay_dir(dir)?;
            }
            let mut engine = Policy::compile(&set, policy_data(&config, repo)?)?;
            let outcomes = engine.run_tests();
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

fn print_decision(decision: &Decision, input: &PolicyInput, printer: &Printer) {
    if printer.json {
        printer.json(&serde_json::json!({
            "allow": decision.allow,
            "stage": input.context.stage.name(),
            "deny": decision.deny,
        }));
        return;
    }
    if decision.allow {
        printer.out(format!("allow (stage {})", input.context.stage));
        return;
    }
    for d in &decision.deny {
        printer.out(format!("{} {}: {}", printer.fail_mark(), d.id, d.message));
        printer.out(format!("     fix: {}", d.remediation));
        printer.out(format!("     doc: {}", d.doc));
    }
    printer.out(format!(
        "deny (stage {}): {} rule violation{}",
        input.context.stage,
        decision.deny.len(),
        if decision.deny.len() == 1 { "" } else { "s" }
    ));
}
