use clap::Args;

// `zt push SRC DST`
#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The image to copy: `oci-layout:DIR[:TAG|@sha256:…]` (what `zt build --image` writes)
    /// or `registry/repo[:tag|@sha256:…]`.
    pub(crate) source: String,
    /// Where to copy it: `registry/repo[:tag]` or `oci-layout:DIR[:TAG]` (created when absent).
    pub(crate) destination: String,
    /// A registry (`HOST:PORT`) to reach over plain HTTP although it is not on loopback.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
}
