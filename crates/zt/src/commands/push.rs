//! `zt push SRC DST`: an image copied between layouts and registries.

use crate::cli::PushArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: PushArgs, printer: &Printer) -> Result<Status, CliError> {
    let pushed = zt_pipeline::image::push(
        &args.source,
        &args.destination,
        &zt_pipeline::image::RegistryOptions {
            insecure: args.insecure_registry,
        },
    )?;
    if printer.json {
        let mut v = serde_json::to_value(&pushed).unwrap_or_default();
        v["ok"] = true.into();
        printer.json(&v);
    } else {
        printer.out(format!("{}  {}", pushed.digest, pushed.destination));
        printer.info(format!(
            "copied `{}` to `{}`{}",
            pushed.source,
            pushed.destination,
            pushed
                .tag
                .as_ref()
                .map(|t| format!(" (tag `{t}`)"))
                .unwrap_or_default()
        ));
    }
    Ok(Status::Success)
}
