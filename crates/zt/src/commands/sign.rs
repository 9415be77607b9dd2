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
    let arg = args.file.to_string_lossy().into_owned();
    if zt_pipeline::image::is_image(&arg) {
        no_server_for_images(args.server.as_deref())?;
        let signed = zt_pipeline::image::sign(
            &ws,
            &image_request(
                signer.as_ref(),
                arg,
                args.log_dir,
                args.insecure_registry,
                &ws,
            ),
        )?;
        return print_image(&signed, printer);
    }
    let signed = zt_pipeline::attest::sign(
        &ws,
        &Request {
            signer: signer.as_ref(),
            file: args.file,
            log_dir: args.log_dir.unwrap_or_else(|| ws.layout().log()),
            bundle: args.bundle,
        },
    )?;
    print(&signed, args.server.as_deref(), printer)
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
    let arg = args.file.to_string_lossy().into_owned();
    if zt_pipeline::image::is_image(&arg) {
        no_server_for_images(args.server.as_deref())?;
        let signed = zt_pipeline::image::attest(
            &ws,
            &image_request(
                signer.as_ref(),
                arg,
                args.log_dir,
                args.insecure_registry,
                &ws,
            ),
            &predicate,
        )?;
        return print_image(&signed, printer);
    }
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
    print(&signed, args.server.as_deref(), printer)
}

fn image_request<'a>(
    signer: &'a dyn zt_sign::Signer,
    image: String,
    log_dir: Option<std::path::PathBuf>,
    insecure: Vec<String>,
    ws: &zt_core::Workspace,
) -> zt_pipeline::image::Request<'a> {
    zt_pipeline::image::Request {
        signer,
        image,
        log_dir: log_dir.unwrap_or_else(|| ws.layout().log()),
        registry: zt_pipeline::image::RegistryOptions { insecure },
    }
}

fn no_server_for_images(server: Option<&str>) -> Result<(), CliError> {
    match server {
        Some(_) => Err(CliError::input(
            "`--server` uploads file bundles; an image's signatures live in its registry",
            "drop `--server` (or unset `ZT_SERVER`) when signing an image; `zt verify IMAGE` finds them there",
        )),
        None => Ok(()),
    }
}

fn print_image(
    signed: &zt_pipeline::image::SignedImage,
    printer: &Printer,
) -> Result<Status, CliError> {
    if let Some(origin) = &signed.created_log {
        printer.info(format!("created transparency log `{origin}`"));
    }
    if let Some(tag) = &signed.resolved_tag {
        printer.info(format!(
            "warning: tag `{tag}` resolved to {}; sign by digest to be sure of what you sign",
            signed.digest
        ));
    }
    if printer.json {
        printer.json(&serde_json::to_value(signed).unwrap_or_default());
    } else {
        printer.out(format!("{}  {}", signed.digest, signed.image));
        let what = match &signed.predicate_type {
            Some(p) => format!("attested `{p}` about"),
            None => "signed".to_string(),
        };
        printer.info(format!(
            "{what} `{}`: referrer {} and cosign tag `{}`, log entries {:?}",
            signed.image, signed.referrer, signed.cosign_tag, signed.log_indexes
        ));
    }
    Ok(Status::Success)
}

fn print(signed: &Signed, server: Option<&str>, printer: &Printer) -> Result<Status, CliError> {
    // The bundle goes to the server before anything is printed: a runner that keeps no state
    // fails here, not later, when the hub refuses it.
    let receipt = match server {
        Some(url) => {
            let bytes = fs_err::read(&signed.bundle).map_err(zt_sign::Error::from)?;
            let client = zt_server::Client::new(url)?;
            let receipt = client.upload(crate::commands::server_credential().as_deref(), &bytes)?;
            printer.info(format!(
                "uploaded to {url}: {} (log entry {})",
                receipt["id"].as_str().unwrap_or("-"),
                receipt["log_index"]
            ));
            Some(receipt)
        }
        None => None,
    };
    if let Some(origin) = &signed.created_log {
        printer.info(format!(
            "created transparency log `{origin}` in `{}`",
            signed.log_dir.display()
        ));
    }
    if printer.json {
        let mut value = serde_json::to_value(signed).unwrap_or_default();
        if let (Some(obj), Some(r)) = (value.as_object_mut(), receipt) {
            obj.insert("upload".into(), r);
        }
        printer.json(&value);
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
