use std::path::PathBuf;

use clap::Args;

// `zt sign`
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The artifact to sign: a file, or an image (`oci://REF`, `REGISTRY/REPO[:TAG][@sha256:…]`,
    /// `oci-layout:DIR[:TAG]`), whose manifest digest is signed and whose signature is pushed
    /// beside it (an OCI 1.1 referrer and cosign's `sha256-<hex>.sig` tag).
    pub(crate) file: PathBuf,
    /// The signing key: a PKCS#8 PEM file or a `pkcs11:` URI (RFC 7512).
    #[arg(long, env = "ZT_KEY")]
    pub(crate) key: String,
    /// Where to write the Sigstore bundle [default: FILE.sigstore.json].
    #[arg(long)]
    pub(crate) bundle: Option<PathBuf>,
    /// The transparency log every signature is appended to (created on first use) [default:
    /// the repository's `.zt/log`, found from the current directory].
    #[arg(long)]
    pub(crate) log_dir: Option<PathBuf>,
    /// Upload the bundle to the zt server at URL (`zt serve`) once it is written:
    /// `https://`, or `http://` to loopback. The credential is `ZT_SERVER_TOKEN` (an API token
    /// or the CI job's OIDC ID token).
    #[arg(long, env = "ZT_SERVER", value_name = "URL")]
    pub(crate) server: Option<String>,
    /// Reach this registry (`HOST:PORT`) over plain HTTP (registries on loopback always are;
    /// every other registry is HTTPS only). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
}

// `zt attest`
#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The artifact the attestation is about (its digest becomes the statement's subject): a
    /// file or an image (as for `zt sign`; stored as a referrer and on cosign's `.att` tag).
    pub(crate) file: PathBuf,
    /// The predicate type URI, e.g. `https://slsa.dev/provenance/v1`.
    #[arg(long, required_unless_present = "kind", requires = "predicate")]
    pub(crate) predicate_type: Option<String>,
    /// A JSON file holding the predicate object.
    #[arg(long, requires = "predicate_type")]
    pub(crate) predicate: Option<PathBuf>,
    /// Make the predicate from a report instead: `test-results` reads JUnit XML, `coverage`
    /// an lcov tracefile or Cobertura XML (`--from`).
    #[arg(long = "type", value_name = "KIND", conflicts_with_all = ["predicate_type", "predicate"], requires = "from")]
    pub(crate) kind: Option<String>,
    /// The report to make the predicate from (with `--type`).
    #[arg(long)]
    pub(crate) from: Option<PathBuf>,
    /// The signing key: a PKCS#8 PEM file or a `pkcs11:` URI (RFC 7512).
    #[arg(long, env = "ZT_KEY")]
    pub(crate) key: String,
    /// Where to write the Sigstore bundle [default: the evidence store, `.zt/bundles/`].
    #[arg(long)]
    pub(crate) bundle: Option<PathBuf>,
    /// The transparency log every signature is appended to (created on first use) [default:
    /// the repository's `.zt/log`, found from the current directory].
    #[arg(long)]
    pub(crate) log_dir: Option<PathBuf>,
    /// Upload the bundle to the zt server at URL (`zt serve`) once it is written:
    /// `https://`, or `http://` to loopback. The credential is `ZT_SERVER_TOKEN` (an API token
    /// or the CI job's OIDC ID token).
    #[arg(long, env = "ZT_SERVER", value_name = "URL")]
    pub(crate) server: Option<String>,
    /// Reach this registry (`HOST:PORT`) over plain HTTP (registries on loopback always are;
    /// every other registry is HTTPS only). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
}

// `zt verify`
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The artifact: a file path, `sha256:<hex>` when only the digest is known, or an image
    /// (`oci://REF`, `REGISTRY/REPO[:TAG][@sha256:…]`, `oci-layout:DIR[:TAG]`) whose referrers
    /// and cosign signatures and attestations are verified.
    pub(crate) artifact: String,
    /// The Sigstore bundle (v0.1 to v0.3). With `--stage`, extra bundles to consider besides
    /// the repository's evidence (repeatable).
    #[arg(long)]
    pub(crate) bundle: Vec<PathBuf>,
    /// Judge the artifact for this stage (ci, publish, deploy): gather its evidence, verify
    /// every piece against the keys `zt.toml` trusts, and evaluate the policies.
    #[arg(long)]
    pub(crate) stage: Option<String>,
    /// Expect a signature by this public key (SPKI PEM) or `pkcs11:` URI.
    #[arg(long, conflicts_with_all = ["certificate_identity", "certificate_oidc_issuer"])]
    pub(crate) key: Option<String>,
    /// Expect a Fulcio certificate issued to this identity (e-mail or URI SAN).
    #[arg(long, requires = "certificate_oidc_issuer")]
    pub(crate) certificate_identity: Option<String>,
    /// The OIDC issuer the certificate must name.
    #[arg(long, requires = "certificate_identity")]
    pub(crate) certificate_oidc_issuer: Option<String>,
    /// A Sigstore `trusted_root.json` to use instead of the embedded public-good root and
    /// the local log.
    #[arg(long)]
    pub(crate) trusted_root: Option<PathBuf>,
    /// zt's transparency log whose key is trusted besides the public-good root (if it exists)
    /// [default: the repository's `.zt/log`, found from the current directory].
    #[arg(long)]
    pub(crate) log_dir: Option<PathBuf>,
    /// A witness trust policy (`log <vkey>`, `witness <vkey>`…, `quorum <k>`): the bundle's
    /// checkpoint must carry at least k valid witness cosignatures.
    #[arg(long)]
    pub(crate) witness_policy: Option<PathBuf>,
    /// Accept a bundle that carries no transparency-log proof (dangerous: nothing shows the
    /// signature was ever made public).
    #[arg(long)]
    pub(crate) insecure_ignore_tlog: bool,
    /// Reach this registry (`HOST:PORT`) over plain HTTP (registries on loopback always are;
    /// every other registry is HTTPS only). Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) insecure_registry: Vec<String>,
    /// Ask the zt server at URL (`zt serve`) for the judgement instead of judging locally
    /// (with `--stage`): the runner needs no ledger. The credential is `ZT_SERVER_TOKEN`.
    #[arg(
        long,
        env = "ZT_SERVER",
        value_name = "URL",
        requires = "stage",
        conflicts_with = "bundle"
    )]
    pub(crate) server: Option<String>,
}

// `zt trace`
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The artifact: a file path, or `sha256:<hex>`.
    pub(crate) artifact: String,
    /// Print the trace as a graph instead (`dot`: Graphviz).
    #[arg(long, value_name = "FORMAT", value_parser = ["dot"])]
    pub(crate) graph: Option<String>,
    /// Also judge the artifact with policy at every stage (`ci`, `publish`, `deploy`), which
    /// verifies every bundle about it; without, only the evidence shown (provenance, SBOMs,
    /// source verifications) is verified. A zt server's trace always has the decisions.
    #[arg(long)]
    pub(crate) decisions: bool,
    /// Ask the zt server at URL (`zt serve`) instead of the local ledger. The credential is
    /// `ZT_SERVER_TOKEN`.
    #[arg(long, env = "ZT_SERVER", value_name = "URL")]
    pub(crate) server: Option<String>,
}
