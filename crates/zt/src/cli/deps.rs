use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `zt sbom`
#[derive(Debug, Args)]
pub(crate) struct SbomArgs {
    /// The project directory whose lockfiles are read.
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The SBOM format.
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub(crate) format: SbomFormat,
    /// Write the SBOM here (atomically) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// The project name of the root component (default: the directory's name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The project version of the root component.
    #[arg(long = "project-version", default_value = "")]
    pub(crate) project_version: String,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// `zt deps …`
#[derive(Debug, Args)]
pub(crate) struct DepsArgs {
    #[command(subcommand)]
    pub(crate) command: DepsCommand,
}

/// Dependency commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DepsCommand {
    /// Check that every dependency is pinned: no floating ranges, hashes where the format
    /// carries them, git dependencies at a full commit. Exit 1 on findings.
    Check {
        /// The project directory whose lockfiles are read.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}
