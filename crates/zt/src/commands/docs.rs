//! `zt completions` and `zt man`: generated from the CLI definition itself, so they never
//! drift from the commands that exist.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs, ManArgs, ShellArg};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn completions(args: CompletionsArgs, _printer: &Printer) -> Result<Status, CliError> {
    let mut cmd = Cli::command();
    let shell = match args.shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "zt", &mut out);
    write_stdout(&out)?;
    Ok(Status::Success)
}

pub(crate) fn man(args: ManArgs, printer: &Printer) -> Result<Status, CliError> {
    let mut root = Cli::command();
    root.build();
    if let Some(dir) = &args.out_dir {
        fs_err::create_dir_all(dir).map_err(|e| write_error(dir, &e))?;
        let mut written = 0usize;
        let mut stack = vec![(String::from("zt"), root)];
        while let Some((name, cmd)) = stack.pop() {
            if cmd.is_hide_set() {
                continue;
            }
            let path = dir.join(format!("{name}.1"));
            let page = render(&name, &cmd)?;
            fs_err::write(&path, page).map_err(|e| write_error(&path, &e))?;
            written += 1;
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    stack.push((format!("{name}-{}", sub.get_name()), sub.clone()));
                }
            }
        }
        if printer.json {
            printer.json(&serde_json::json!({ "dir": dir, "pages": written }));
        } else {
            printer.out(format!("wrote {written} man pages in `{}`", dir.display()));
        }
        return Ok(Status::Success);
    }
    let mut cmd = root;
    let mut name = String::from("zt");
    for word in &args.command {
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            let known: Vec<&str> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name())
                .collect();
            return Err(CliError::input(
                format!("`{name}` has no command `{word}`"),
                format!("pick one of: {} (e.g. `zt man verify`)", known.join(", ")),
            ));
        };
        name = format!("{name}-{}", sub.get_name());
        cmd = sub;
    }
    write_stdout(&render(&name, &cmd)?)?;
    Ok(Status::Success)
}

/// One man page; a subcommand's page is titled `zt-verify` as `man zt-verify` finds it.
fn render(name: &str, cmd: &clap::Command) -> Result<Vec<u8>, CliError> {
    let cmd = cmd.clone().name(name.to_owned());
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| {
        CliError::input(
            format!("cannot render `{name}`: {e}"),
            "report this as a bug",
        )
    })?;
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| CliError::input(format!("cannot write to stdout: {e}"), "check the pipe"))
}

fn write_error(path: &std::path::Path, e: &std::io::Error) -> CliError {
    CliError::input(
        format!("cannot write `{}`: {e}", path.display()),
        "pass a writable folder with `--out-dir DIR`",
    )
}
