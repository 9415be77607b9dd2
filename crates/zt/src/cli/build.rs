use std::path::PathBuf;

use clap::Args;

// `zt build [OPTIONS] -- CMD ARGS…`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct BuildArgs {
    // `zt build verify`: judge the current build's outputs offline.
    #[command(subcommand)]
    pub(crate) action: Option<BuildAction>,
    /// Where the build leaves its outputs, relative to the source tree; collected from the
    /// sandbox into the same path of the real tree (must not exist or be empty).
    #[arg(long, default_value = "out")]
    pub(crate) out: PathBuf,
    /// Extra paths (toolchains, vendored dependencies) exposed read-only in the sandbox.
    #[arg(long = "input", value_name = "PATH")]
    pub(crate) inputs: Vec<PathBuf>,
    /// The base system exposed read-only (default: the host's `/`).
    #[arg(long, default_value = "/")]
    pub(crate) rootfs: PathBuf,
    /// Build even if the tree has uncommitted changes or is not a git work tree.
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// Build even where the sandbox cannot be fully enforced (no Landlock, or an ABI older
    /// than 4): dangerous; the provenance records the consent and what was enforced, and the
    /// `build.sandbox` policy rule can deny such builds.
    #[arg(long)]
    pub(crate) allow_weak_sandbox: bool,
    /// SOURCE_DATE_EPOCH for the build (default: the commit time).
    #[arg(long)]
    pub(crate) source_date_epoch: Option<i64>,
    /// Build N times with variations (build path, hostname, umask, locale, timezone,
    /// environment, uid, file order, time) and compare the outputs bit for bit.
    #[arg(long, value_name = "N")]
    pub(crate) rebuild: Option<usize>,
    /// Only these variations (comma-separated names; default: all).
    #[arg(long, value_delimiter = ',')]
    pub(crate) vary: Vec<String>,
    /// Kill the build, with every process it started, after this long (`90s`, `10m`, `1h`,
    /// `500ms`; a bare number is seconds). A build killed so is an error (exit 2): its log
    /// is kept, no provenance is written.
    #[arg(long, value_name = "DURATION", value_parser = zt_core::time::parse_duration)]
    pub(crate) timeout: Option<std::time::Duration>,
    /// A secret the build reads as `/run/secrets/NAME` (mode 0600, on a tmpfs): `NAME=@FILE`
    /// takes the value from FILE, `NAME` alone from zt's secret store. The provenance records
    /// the name only, never the value.
    #[arg(long = "secret", value_name = "NAME[=@FILE]")]
    pub(crate) secrets: Vec<String>,
    /// The source tree (default: the current directory).
    #[arg(long, short = 'C', default_value = ".")]
    pub(crate) tree: PathBuf,
    /// Also assemble an OCI image layout at DIR (relative to the tree) from the outputs, as
    /// `[build.image]` in `zt.toml` describes it (without one: the whole output directory as
    /// one layer at `/`). Its manifest digest joins the provenance's subjects. A
    /// `[build.image]` table alone builds the image at its `layout` (default `image`).
    #[arg(long, value_name = "DIR")]
    pub(crate) image: Option<PathBuf>,
    /// A registry (`HOST:PORT`) to reach over plain HTTP for a `[build.image] base` image.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
    /// The build command and its arguments.
    #[arg(last = true, required = true)]
    pub(crate) command: Vec<String>,
}

// `zt build verify`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BuildAction {
    /// Judge the current build's outputs offline, over the local evidence, with the same
    /// policies CI uses: allow, or every deny with its fix.
    Verify {
        /// The stage to judge for: ci, publish or deploy.
        #[arg(long, default_value = "ci")]
        stage: String,
        /// The source tree.
        #[arg(long, short = 'C', default_value = ".")]
        tree: PathBuf,
        /// The output directory, relative to the tree.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Print every deny as SARIF 2.1.0 (for code scanning) instead: one rule per policy
        /// rule, one result per deny at the artifact, its fix in the message.
        #[arg(long)]
        sarif: bool,
    },
}

// `zt sandbox-probe -- CMD…` (hidden): runs CMD in the bare sandbox (no git, no copy, no
// provenance) and reports how long the sandbox took; for benchmarks. `--runs N` runs it N
// times in this one process: what a sandbox costs a zt that is already running (a build's
// step, an install hook), without zt's own start.
#[derive(Debug, Args)]
pub(crate) struct SandboxProbeArgs {
    /// How many times to run the command, one sandbox after the other.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) runs: u32,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub(crate) command: Vec<String>,
}
