//! `zt source verify`: signed-commit verification against the repository's signer policy.

use zt_source::commits::{self, Options, TrustRootSource, Verdict};

use crate::cli::SourceVerifyArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

fn parse_time(s: &str) -> Result<i64, CliError> {
    zt_core::time::parse_instant(s, None).map_err(|e| {
        CliError::input(
            format!("`--push-time`: {e}"),
            "e.g. `--push-time 2026-11-25T12:00:00Z`",
        )
    })
}

pub(crate) fn run(args: SourceVerifyArgs, printer: &Printer) -> Result<Status, CliError> {
    let dir = std::env::current_dir().map_err(|e| {
        CliError::input(
            format!("cannot read the current directory: {e}"),
            "run zt from a directory that exists",
        )
    })?;
    let now = zt_core::time::now();
    let opts = Options {
        dir,
        range: args.range.clone(),
        trust_root: args.trust_root.clone(),
        push_time: args.push_time.as_deref().map(parse_time).transpose()?,
        no_cache: args.no_cache,
        now,
    };
    let report = commits::verify(&opts)?;
    if report.trust_root_source == TrustRootSource::FirstPolicy {
        printer.warn(format!(
            "no trust root configured: trusting history from {}, the first commit with `{}`; pin it with `git config zt.trustRoot {}` or `--trust-root`",
            report.trust_root,
            commits::POLICY_PATH,
            report.trust_root
        ));
    }
    let attested = if args.attest {
        let statement = commits::statement(&report, now);
        let (path, index) = zt_pipeline::evidence::attest(
            &zt_core::Workspace::open(&report.repo)?,
            "source-verification",
            &statement,
        )?;
        printer.info(format!(
            "signed statement `{}` (log index {index}) recorded in the ledger",
            path.display()
        ));
        Some((path, index))
    } else {
        None
    };
    let failed = report.failures().count();
    if printer.json {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("ok".into(), report.ok().into());
            if let Some((path, index)) = &attested {
                obj.insert(
                    "statement".into(),
                    serde_json::json!({"bundle": path, "log_index": index}),
                );
            }
        }
        printer.json(&v);
    } else {
        for c in &report.commits {
            let mark = if c.verdict == Verdict::Good {
                printer.ok_mark()
            } else {
                printer.fail_mark()
            };
            let id = c.commit.get(..12).unwrap_or(&c.commit);
            let mut notes = String::new();
            if c.trust_root {
                notes.push_str(" [trust root]");
            }
            if c.policy_changed {
                notes.push_str(" [changes the signer policy]");
            }
            printer.out(format!(
                "{mark} {id} {}: {}{notes}",
                c.verdict.as_str(),
                c.reason
            ));
        }
        for k in &report.new_keys {
            printer.out(format!(
                "new signing key for {}: {} (first used in {})",
                k.author,
                k.key,
                k.commit.get(..12).unwrap_or(&k.commit)
            ));
        }
    }
    printer.info(format!(
        "{} commit(s) checked from trust root {} ({} verified before, skipped): {} good, {failed} failed",
        report.commits.len(),
        report.trust_root.get(..12).unwrap_or(&report.trust_root),
        report.cached,
        report.commits.len() - failed,
    ));
    Ok(if report.ok() {
        Status::Success
    } else {
        Status::Failure
    })
}
