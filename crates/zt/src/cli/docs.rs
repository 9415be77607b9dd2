use std::path::PathBuf;

use clap::{Args, ValueEnum};

// `zt completions SHELL`
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: ShellArg,
}

/// A shell with completions.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ShellArg {
    /// bash (source it, or put it in `/usr/share/bash-completion/completions/zt`).
    Bash,
    /// zsh (put it on `$fpath` as `_zt`).
    Zsh,
    /// fish (put it in `~/.config/fish/completions/zt.fish`).
    Fish,
}

// `zt man [COMMAND…] [--out-dir DIR]`
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, as typed after `zt` (e.g. `verify`, `vuln scan`);
    /// none: the page of `zt` itself.
    pub(crate) command: Vec<String>,
    /// Write every page (`zt.1`, `zt-verify.1`, `zt-vuln-scan.1`, …) into this folder instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub(crate) out_dir: Option<PathBuf>,
    /// The pages' format: roff for `man`, or Markdown for the book (`docs/commands/`,
    /// `zt man --format markdown --out-dir docs/commands`).
    #[arg(long, value_enum, default_value_t = ManFormat::Roff)]
    pub(crate) format: ManFormat,
}

/// The format of `zt man`'s pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ManFormat {
    /// roff (`man zt-verify`).
    Roff,
    /// Markdown (one page per command, linked to its subcommands; the book's reference).
    Markdown,
}
