//! `zt init`: a repository's `zt.toml`, a local signing key and a `policies/` folder.

use std::path::PathBuf;

use crate::cli::InitArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: InitArgs, printer: &Printer) -> Result<Status, CliError> {
    let repo = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let done = zt_pipeline::init::init(&repo)?;
    if printer.json {
        printer.json(&serde_json::to_value(&done).unwrap_or_default());
        return Ok(Status::Success);
    }
    if done.clone {
        printer.out(format!(
            "`{}` was there and its private key was not (a clone): made this machine a key of its own",
            done.config.display()
        ));
        printer.out(format!(
            "wrote `{}` (private, 0600) and `{}`: ed25519 key {}",
            done.private_key
                .as_deref()
                .unwrap_or(&done.public_key)
                .display(),
            done.public_key.display(),
            done.key_id
        ));
        printer.out(format!(
            "added it to `{}` as a new [[trust.key]]: commit that change for review, or sign with a key the repository already trusts (`--key`)",
            done.config.display()
        ));
        return Ok(Status::Success);
    }
    printer.out(format!("wrote `{}`", done.config.display()));
    match &done.private_key {
        Some(private) => printer.out(format!(
            "wrote `{}` (private, 0600) and `{}`: ed25519 key {}",
            private.display(),
            done.public_key.display(),
            done.key_id
        )),
        None => printer.out(format!(
            "kept `{}`: key {}",
            done.public_key.display(),
            done.key_id
        )),
    }
    for p in &done.policies {
        printer.out(format!("wrote `{}`", p.display()));
    }
    printer.info("next: `zt policy test` checks the policies; `zt pipeline run` runs every stage");
    Ok(Status::Success)
}
