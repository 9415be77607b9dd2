use std::path::PathBuf;

use clap::Args;

// `zt normalize FILE…`
#[derive(Debug, Args)]
pub(crate) struct NormalizeArgs {
    /// Files to normalise in place (zip, jar, apk, jmod, python zipapp, gzip, ar, png, javadoc
    /// html, tar); others are left alone.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// The canonical time in seconds since the epoch (default: `SOURCE_DATE_EPOCH`; without
    /// either, timestamps are removed where the format allows and set to its floor otherwise).
    #[arg(
        long,
        short = 'T',
        env = "SOURCE_DATE_EPOCH",
        allow_negative_numbers = true
    )]
    pub(crate) timestamp: Option<i64>,
    /// Only replace timestamps later than `--timestamp`.
    #[arg(long)]
    pub(crate) clamp_timestamp: bool,
    /// Use this normaliser for every file instead of choosing by name and content
    /// (zip, jar, jmod, pyzip, gzip, ar, png, javadoc, tar).
    #[arg(long = "type", short = 't')]
    pub(crate) kind: Option<String>,
}
