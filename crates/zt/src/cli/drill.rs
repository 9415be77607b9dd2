use clap::Args;

// `zt drill NAME|all [--json]`
#[derive(Debug, Args)]
pub(crate) struct DrillArgs {
    /// The drill: tamper-dependency, leaked-key, unsigned-commit, malicious-build-script,
    /// exfiltrating-test, or `all`.
    pub(crate) name: String,
    /// Keep the scratch repository (its path is printed) to look at the evidence.
    #[arg(long)]
    pub(crate) keep: bool,
}
