use std::path::PathBuf;

use clap::{Args, Subcommand};

// `zt pipeline …`
#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    #[command(subcommand)]
    pub(crate) command: PipelineCommand,
}

// Pipeline commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PipelineCommand {
    /// Run every stage on a repository, in order: secret scan, hermetic build rebuilt and
    /// compared, tests, signing and logging of all evidence, offline verification. With no
    /// DIR, runs on the example project bundled in zt.
    Run {
        /// The repository (a git work tree). Default: the bundled example.
        dir: Option<PathBuf>,
        /// Where to write the bundled example (must be empty or absent).
        #[arg(long, conflicts_with = "dir")]
        workdir: Option<PathBuf>,
        /// How many builds to compare.
        #[arg(long, default_value_t = 2)]
        rebuild: usize,
        /// The build command, run in the sandbox [default: make].
        #[arg(long, num_args = 1.., value_delimiter = ' ')]
        build: Option<Vec<String>>,
        /// The test command; `{junit}` stands for the JUnit XML report path it must write.
        #[arg(long, num_args = 1.., value_delimiter = ' ')]
        test: Option<Vec<String>>,
        /// Build even where the sandbox cannot be fully enforced (no Landlock, or an ABI older
        /// than 4): dangerous; recorded in the provenance, denied by the `build.sandbox`
        /// policy rule unless `zt.toml` allows it.
        #[arg(long)]
        allow_weak_sandbox: bool,
        /// Also append a Markdown summary (the verdict, each stage with its result and fix,
        /// the artifacts' digests) to FILE, e.g. `--summary "$GITHUB_STEP_SUMMARY"`.
        #[arg(long, value_name = "FILE")]
        summary: Option<std::path::PathBuf>,
        /// Also write the stages as a JUnit XML report to FILE (one test case per stage, a
        /// failed stage's fix as its failure message), for CI systems that show test reports
        /// on a merge request.
        #[arg(long, value_name = "FILE")]
        junit: Option<std::path::PathBuf>,
        /// Upload every bundle the run signed to the zt server at URL (`zt serve`), whatever
        /// the verdict: `https://`, or `http://` to loopback. The credential is
        /// `ZT_SERVER_TOKEN` (an API token or the CI job's OIDC ID token).
        #[arg(long, env = "ZT_SERVER", value_name = "URL")]
        server: Option<String>,
    },
}
