use std::path::PathBuf;

use clap::{Args, ValueEnum};

// `zt init`
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The repository root (default: the current directory).
    pub(crate) dir: Option<PathBuf>,
    /// The ecosystem whose offline build and tests `zt.toml`'s `[build]` table runs in the
    /// sandbox. Default: detected from Cargo.toml, package.json, pyproject.toml/setup.py/
    /// requirements.txt, go.mod, pom.xml/build.gradle or Makefile (none: `make`).
    #[arg(long, value_enum)]
    pub(crate) preset: Option<PresetArg>,
    /// Do not run the pipeline once after writing the files (it runs where a preset applies
    /// and the directory is a git work tree).
    #[arg(long)]
    pub(crate) no_run: bool,
}

/// An ecosystem preset.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PresetArg {
    /// Cargo: `cargo build --offline --locked` from `vendor/`.
    Rust,
    /// npm: `npm ci --offline` from `.npm-cache/`, `npm pack`.
    Node,
    /// pip: a wheel with no index and no build isolation.
    Python,
    /// Go: `go build -trimpath`, `-mod=vendor` with `vendor/`.
    Go,
    /// Maven or Gradle offline; neither: `javac` and `jar`.
    Java,
    /// make.
    C,
}

impl From<PresetArg> for zt_pipeline::preset::Preset {
    fn from(p: PresetArg) -> Self {
        use zt_pipeline::preset::Preset;
        match p {
            PresetArg::Rust => Preset::Rust,
            PresetArg::Node => Preset::Node,
            PresetArg::Python => Preset::Python,
            PresetArg::Go => Preset::Go,
            PresetArg::Java => Preset::Java,
            PresetArg::C => Preset::C,
        }
    }
}
