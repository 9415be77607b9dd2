//! `zt sign` and `zt attest`: arguments into a request for `zt_pipeline::attest`, its report
//! into output.

use std::path::Path;

use zt_pipeline::attest::{Predicate, Request, Signed};

use crate::cli::{AttestArgs, SignArgs};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn sign(args: SignArgs, printer: &Printer) -> Result<Status, CliError> {
    let signer = zt_sign::load_signer(&args.key)?;
    let ws = crate::commands::workspace(Path::new("."), printer)?;
    let signed = zt_pipeline::attest::sign(
        &ws,
        &Request {
            signer: signer.as_ref(),
            file: args.file,
            log_dir: args.log_dir.unwrap_or_else(|| ws.layout().log()),
            bundle: args.bundle,
        },
    )?;
    print(&signed, printer)
}

pub(crate) fn attest(args: AttestArgs, printer: &Printer) -> Result<Status, CliError> {
    let predicate = match (args.kind, args.from, args.predicate_type, args.predicate) {
        (Some(kind), Some(from), _, _) if kind == "test-results" => Predicate::TestResults(from),
        (Some(kind), Some(from), _, _) if kind == "coverage" => Predicate::Coverage(from),
        (Some(kind), _, _, _) => {
            return Err(CliError::input(
                format!("unknown attestation type `{kind}`"),
                "use `--type test-results --from junit.xml`, `--type coverage --from lcov.info` (or Cobertura `coverage.xml`), or `--predicate-type URI --predicate FILE`",
            ));
        }
        (None, _, Some(predicate_type), Some(file)) => Predicate::Given {
            predicate_type,
            file,
        },
        _ => {
            return Err(CliError::input(
                "no predicate given",
                "pass `--predicate-type URI --predicate FILE`, or `--type test-results --from junit.xml`",
            ));
        }
    };
    let signer = zt_sign::load_signer(&args.key)?;
    let ws = crate::commands::workspace(Path::new("."), printer)?;
    let signed = zt_pipeline::attest::attest(
        &ws,
        &Request {
            signer: signer.as_ref(),
            file: args.file,
            log_dir: args.log_dir.unwrap_or_else(|| ws.layout().log()),
            bundle: args.bundle,
        },
        &predicate,
    )?;
    print(&signed, printer)
}

fn print(signed: &Signed, printer: &Printer) -> Result<Status, CliError> {
    if let Some(origin) = &signed.created_log {
        printer.info(format!(
            "created transparency log `{origin}` in `{}`",
            signed.log_dir.display()
        ));
    }
    if printer.json {
        printer.json(&serde_json::to_value(signed).unwrap_or_default());
    } else {
        printer.out(format!("{}  {}", signed.digest, signed.bundle.display()));
        printer.info(format!(
            "signed `{}`, logged as entry {}, bundle written to `{}`",
            signed.artifact.display(),
            signed.log_index,
            signed.bundle.display()
        ));
    }
    Ok(Status::Success)
}
