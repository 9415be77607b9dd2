use zt_build::build::{Options, build};
use zt_build::sandbox::Exit;

use crate::cli::BuildArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: BuildArgs, printer: &Printer) -> Result<Status, CliError> {
    if args.out.is_absolute()
        || args
            .out
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(CliError::input(
            format!(
                "output directory `{}` is not inside the source tree",
                args.out.display()
            ),
            "give `--out` as a path relative to the tree, such as `out`",
        ));
    }
    let opts = Options {
        tree: args.tree,
        out: args.out,
        inputs: args.inputs,
        rootfs: args.rootfs,
        allow_dirty: args.allow_dirty,
        source_date_epoch: args.source_date_epoch,
        argv: args.command,
    };
    let outcome = build(&opts)?;
    let (ok, code) = match outcome.exit {
        Exit::Code(c) => (c == 0, format!("exit status {c}")),
        Exit::Signal(s) => (false, format!("signal {s}")),
    };
    if printer.json {
        printer.json(&serde_json::json!({
            "ok": ok,
            "exit": code,
            "log": outcome.log,
            "commit": outcome.source.commit,
            "dirty": outcome.source.dirty,
            "source_date_epoch": outcome.source.source_date_epoch,
            "invocation_id": outcome.invocation_id,
            "provenance": outcome.provenance.as_ref().map(|(_, p)| p),
            "outputs": outcome.outputs.iter().map(|o| serde_json::json!({"path": o.path, "digest": o.digest.to_string()})).collect::<Vec<_>>(),
        }));
    } else if ok {
        for o in &outcome.outputs {
            printer.out(format!("{} {}", o.digest, o.path.display()));
        }
        printer.info(format!("build succeeded; log: `{}`", outcome.log.display()));
        if let Some((_, path)) = &outcome.provenance {
            printer.info(format!("provenance (unsigned): `{}`", path.display()));
        }
    } else {
        printer.err(format!(
            "build failed ({code}); log: `{}`",
            outcome.log.display()
        ));
    }
    Ok(if ok { Status::Success } else { Status::Failure })
}
