//! Upstream provenance: the Sigstore-signed documents registries publish about a package
//! version, verified offline against the public-good trusted root on the same path as
//! `zt verify` (certificate chain, SCT, transparency-log proof, signature), plus what makes
//! them provenance of *this* archive from *this* publisher:
//!
//! - **npm** ([`verify_npm`]): the registry's attestations document
//!   (`/-/npm/v1/attestations/NAME@VERSION`: `{"attestations":[{"predicateType", "bundle"}]}`)
//!   or the bare SLSA provenance bundle. The statement must be SLSA provenance whose subject is
//!   `pkg:npm/NAME@VERSION` with the tarball's SHA-512; the Fulcio certificate names the source
//!   repository, commit and workflow.
//! - **PyPI** ([`verify_pypi`]): a PEP 740 provenance object (`attestation_bundles` →
//!   `attestations`, with the Trusted Publisher of each bundle) or one bare attestation
//!   object. The statement must be PyPI's publish attestation (or SLSA provenance) whose
//!   subject is the distribution's file name with its SHA-256, and the certificate must match
//!   the Trusted Publisher (GitHub or GitLab repository and workflow, Google service account).
//!
//! - **Go** ([`verify_go`]): no signature by the publisher, but the checksum database's
//!   (`sum.golang.org`) signed tree note over a record that holds the module zip's `h1:` hash,
//!   with the record's inclusion proof computed from the database's tiles
//!   ([`zt_tlog::sumdb`]); from a saved copy of the documents ([`SumdbSource::Dir`]) or
//!   online ([`SumdbSource::Url`]).
//!
//! ```no_run
//! # fn main() -> Result<(), zt_sign::Error> {
//! let doc = std::fs::read("sigstore-3.1.0.sigstore.json")?;
//! let p = zt_sign::upstream::verify_npm(&doc, "sigstore", "3.1.0",
//!     std::path::Path::new("sigstore-3.1.0.tgz"), None)?;
//! println!("{:?}", p.source_repository);
//! # Ok(()) }
//! ```

use std::path::Path;

use serde_json::{Value, json};
use sigstore_verify::VerificationPolicy;
use zt_core::b64;

use zt_tlog::NoteVerifier;
use zt_tlog::sumdb::SumdbRecord;

use crate::Error;

/// SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// SLSA provenance v0.2 (older npm provenance).
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// PyPI's publish attestation (PEP 740).
pub const PYPI_PUBLISH_V1: &str = "https://docs.pypi.org/attestations/publish/v1";

/// What a verified upstream document established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Upstream {
    /// `npm-provenance` or `pypi-attestation`.
    pub kind: &'static str,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The statement subject that names the archive.
    pub subject: String,
    /// The digest that bound it to the archive (`sha512:…`, `sha256:…`).
    pub digest: String,
    /// The certificate's identity (SAN: workflow URI or e-mail).
    pub identity: String,
    /// The certificate's OIDC issuer.
    pub issuer: String,
    /// The source repository the certificate names (Fulcio `.1.12`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository: Option<String>,
    /// The source commit (Fulcio `.1.13`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// The source ref (Fulcio `.1.14`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// The build configuration (workflow) that ran (Fulcio `.1.18`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// `github-hosted` or `self-hosted` (Fulcio `.1.11`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// The CI run (Fulcio `.1.21`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The PyPI Trusted Publisher the document names, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Value>,
    /// The log's integrated time (Unix seconds), if the entry carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrated_time: Option<i64>,
}

impl Upstream {
    /// The repository the package was published from: the certificate's source repository,
    /// else its identity (a Google service account has no repository).
    pub fn repository(&self) -> &str {
        self.source_repository.as_deref().unwrap_or(&self.identity)
    }
}

fn malformed(name: &str, reason: impl Into<String>) -> Error {
    Error::MalformedBundle {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn refuse(reason: impl Into<String>) -> Error {
    Error::Verification {
        check: "provenance",
        reason: reason.into(),
    }
}

/// Verifies npm provenance for `name@version` against its tarball `archive`. `doc` is the
/// registry's attestations document or a bare bundle; `trusted_root` replaces the embedded
/// public-good root (tests).
pub fn verify_npm(
    doc: &[u8],
    name: &str,
    version: &str,
    archive: &Path,
    trusted_root: Option<&str>,
) -> Result<Upstream, Error> {
    let what = "the npm provenance document";
    let json: Value =
        serde_json::from_slice(doc).map_err(|e| malformed(what, format!("not JSON: {e}")))?;
    let bundle_json = match json.get("attestations").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .find(|a| {
                matches!(
                    a.get("predicateType").and_then(Value::as_str),
                    Some(SLSA_PROVENANCE_V1 | SLSA_PROVENANCE_V02)
                )
            })
            .and_then(|a| a.get("bundle"))
            .ok_or_else(|| {
                malformed(
                    what,
                    "it lists no SLSA provenance attestation (only npm's publish attestation?)",
                )
            })?
            .clone(),
        None => json,
    };
    let (statement, cert) = verify_bundle(&bundle_json, archive, what, trusted_root)?;
    let predicate_type = predicate_type(&statement)?;
    if !matches!(
        predicate_type.as_str(),
        SLSA_PROVENANCE_V1 | SLSA_PROVENANCE_V02
    ) {
        return Err(refuse(format!(
            "the statement's predicate type is `{predicate_type}`, not SLSA provenance"
        )));
    }
    let want = format!("pkg:npm/{}@{version}", name.replace('@', "%40"));
    let want_plain = format!("pkg:npm/{name}@{version}");
    let digest = file_digest(archive, "sha512")?;
    let subject = find_subject(&statement, "sha512", &digest).ok_or_else(|| {
        refuse(format!(
            "no subject of the statement has the tarball's SHA-512 ({digest})"
        ))
    })?;
    if subject != want && subject != want_plain {
        return Err(refuse(format!(
            "the statement is about `{subject}`, not `{want_plain}`"
        )));
    }
    Ok(upstream(
        "npm-provenance",
        predicate_type,
        subject,
        format!("sha512:{digest}"),
        &cert,
        None,
    ))
}

/// Verifies PEP 740 provenance for the distribution `archive` (its file name is the subject
/// the publish attestation must name). `doc` is a provenance object (`attestation_bundles`)
/// or one attestation object. Every attestation of the provenance must verify; at least one
/// must be about the archive.
pub fn verify_pypi(
    doc: &[u8],
    archive: &Path,
    trusted_root: Option<&str>,
) -> Result<Upstream, Error> {
    let what = "the PyPI provenance document";
    let json: Value =
        serde_json::from_slice(doc).map_err(|e| malformed(what, format!("not JSON: {e}")))?;
    let mut attestations: Vec<(Option<Value>, Value)> = Vec::new();
    match json.get("attestation_bundles").and_then(Value::as_array) {
        Some(bundles) => {
            for b in bundles {
                let publisher = b.get("publisher").cloned();
                for a in b
                    .get("attestations")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    attestations.push((publisher.clone(), a.clone()));
                }
            }
        }
        None if json.get("envelope").is_some() => attestations.push((None, json)),
        None => {
            return Err(malformed(
                what,
                "neither a provenance object (`attestation_bundles`) nor an attestation (`envelope`)",
            ));
        }
    }
    if attestations.is_empty() {
        return Err(malformed(what, "it holds no attestation"));
    }
    let file_name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = file_digest(archive, "sha256")?;
    let mut found = None;
    for (publisher, att) in attestations {
        let bundle = pep740_to_bundle(&att, what)?;
        let (statement, cert) = verify_bundle(&bundle, archive, what, trusted_root)?;
        let predicate_type = predicate_type(&statement)?;
        if !matches!(
            predicate_type.as_str(),
            PYPI_PUBLISH_V1 | SLSA_PROVENANCE_V1
        ) {
            return Err(refuse(format!(
                "an attestation's predicate type is `{predicate_type}`, neither PyPI's publish attestation nor SLSA provenance"
            )));
        }
        let subject = find_subject(&statement, "sha256", &digest).ok_or_else(|| {
            refuse(format!(
                "no subject of the attestation has the distribution's SHA-256 ({digest})"
            ))
        })?;
        if subject != file_name {
            return Err(refuse(format!(
                "the attestation is about `{subject}`, not `{file_name}`"
            )));
        }
        if let Some(p) = &publisher {
            check_publisher(p, &cert)?;
        }
        let u = upstream(
            "pypi-attestation",
            predicate_type,
            subject,
            format!("sha256:{digest}"),
            &cert,
            publisher,
        );
        if found.is_none() || u.predicate_type == PYPI_PUBLISH_V1 {
            found = Some(u);
        }
    }
    found.ok_or_else(|| refuse("no attestation is about the distribution"))
}

/// What the certificate of a verified bundle said.
struct Cert {
    identity: String,
    issuer: String,
    claims: sigstore_verify::crypto::x509::FulcioCiClaims,
    integrated_time: Option<i64>,
}

/// Verifies a bundle (JSON) over `archive` with the embedded root (or `trusted_root`),
/// any Fulcio identity (the caller checks which); returns its in-toto statement and the
/// certificate's claims.
fn verify_bundle(
    bundle_json: &Value,
    archive: &Path,
    what: &str,
    trusted_root: Option<&str>,
) -> Result<(Value, Cert), Error> {
    crate::provider::install();
    let text = serde_json::to_vec(bundle_json).unwrap_or_default();
    let parsed = crate::bundle::parse(&text, what)?;
    let env = parsed
        .json
        .get("dsseEnvelope")
        .ok_or_else(|| malformed(what, "the bundle carries no DSSE envelope (no statement)"))?;
    if env.get("payloadType").and_then(Value::as_str)
        != Some(zt_core::statement::PAYLOAD_TYPE_INTOTO)
    {
        return Err(malformed(
            what,
            "the envelope's payload is not an in-toto statement",
        ));
    }
    let payload = env
        .get("payload")
        .and_then(Value::as_str)
        .and_then(b64::decode)
        .ok_or_else(|| malformed(what, "the envelope's payload is not base64"))?;
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|e| malformed(what, format!("the statement is not JSON: {e}")))?;
    let root_json = trusted_root.unwrap_or(crate::verify::PRODUCTION_TRUSTED_ROOT);
    let prepared = crate::verify::prepared_root(root_json)?;
    crate::verify::check_proof_duplicates(&parsed.json, &prepared.json)?;
    let verifier = &prepared.verifier;
    let file = std::io::BufReader::with_capacity(1 << 16, fs_err::File::open(archive)?);
    let result = verifier
        .verify_reader(file, &parsed.bundle, &VerificationPolicy::any_identity())
        .map_err(crate::verify::map_error)?;
    if !result.certificate_verified() || !result.tlog_verified() {
        return Err(refuse(
            "the bundle's certificate or log proof was not verified",
        ));
    }
    let info = result
        .certificate()
        .ok_or_else(|| refuse("the bundle is not signed with a Fulcio certificate"))?;
    let identity = result
        .identity()
        .map(|s| s.as_str().to_owned())
        .ok_or_else(|| refuse("the certificate names no identity"))?;
    let issuer = result
        .issuer()
        .map(str::to_owned)
        .ok_or_else(|| refuse("the certificate names no OIDC issuer"))?;
    Ok((
        statement,
        Cert {
            identity,
            issuer,
            claims: info.ci_claims.clone(),
            integrated_time: result.integrated_time().map(|t| t.as_second()),
        },
    ))
}

fn predicate_type(statement: &Value) -> Result<String, Error> {
    if statement.get("_type").and_then(Value::as_str) != Some(zt_core::statement::STATEMENT_TYPE_V1)
    {
        return Err(refuse("the payload is not an in-toto Statement v1"));
    }
    statement
        .get("predicateType")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| refuse("the statement has no predicate type"))
}

/// The name of the subject whose `algorithm` digest is `hex`.
fn find_subject(statement: &Value, algorithm: &str, hex: &str) -> Option<String> {
    statement
        .get("subject")?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("digest")
                .and_then(|d| d.get(algorithm))
                .and_then(Value::as_str)
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
        .map(|s| {
            s.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
}

fn file_digest(archive: &Path, algorithm: &str) -> Result<String, Error> {
    let alg = zt_core::DigestAlgorithm::from_name(algorithm)
        .ok_or_else(|| Error::UnsupportedAlgorithm(algorithm.to_owned()))?;
    let file = std::io::BufReader::with_capacity(1 << 16, fs_err::File::open(archive)?);
    Ok(zt_core::Digest::of_reader(alg, file)?.hex())
}

fn upstream(
    kind: &'static str,
    predicate_type: String,
    subject: String,
    digest: String,
    cert: &Cert,
    publisher: Option<Value>,
) -> Upstream {
    let c = &cert.claims;
    Upstream {
        kind,
        predicate_type,
        subject,
        digest,
        identity: cert.identity.clone(),
        issuer: cert.issuer.clone(),
        source_repository: c.source_repository_uri.clone(),
        source_commit: c.source_repository_digest.clone(),
        source_ref: c.source_repository_ref.clone(),
        workflow: c.build_config_uri.clone(),
        runner: c.runner_environment.clone(),
        run: c.run_invocation_uri.clone(),
        publisher,
        integrated_time: cert.integrated_time,
    }
}

/// A PEP 740 attestation object as a Sigstore bundle v0.3 (what pypi-attestations does).
fn pep740_to_bundle(att: &Value, what: &str) -> Result<Value, Error> {
    let vm = att
        .get("verification_material")
        .ok_or_else(|| malformed(what, "an attestation has no `verification_material`"))?;
    let env = att
        .get("envelope")
        .ok_or_else(|| malformed(what, "an attestation has no `envelope`"))?;
    let field = |v: &Value, k: &str| -> Result<Value, Error> {
        v.get(k)
            .filter(|x| x.is_string())
            .cloned()
            .ok_or_else(|| malformed(what, format!("an attestation has no `{k}` string")))
    };
    let mut material = json!({
        "certificate": {"rawBytes": field(vm, "certificate")?},
        "tlogEntries": vm.get("transparency_entries").cloned().unwrap_or_else(|| json!([])),
    });
    if let Some(ts) = vm.get("timestamps").and_then(Value::as_array)
        && !ts.is_empty()
    {
        material["timestampVerificationData"] = json!({
            "rfc3161Timestamps": ts.iter().map(|t| json!({"signedTimestamp": t})).collect::<Vec<_>>()
        });
    }
    Ok(json!({
        "mediaType": crate::bundle::MEDIA_TYPE_V03,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": field(env, "statement")?,
            "payloadType": zt_core::statement::PAYLOAD_TYPE_INTOTO,
            "signatures": [{"sig": field(env, "signature")?}],
        },
    }))
}

/// The certificate must be the Trusted Publisher's (as pypi-attestations checks it).
fn check_publisher(publisher: &Value, cert: &Cert) -> Result<(), Error> {
    let s = |k: &str| publisher.get(k).and_then(Value::as_str).unwrap_or_default();
    let kind = s("kind");
    let mismatch = |what: String| {
        refuse(format!(
            "the certificate does not match the {kind} Trusted Publisher: {what}"
        ))
    };
    match kind {
        "GitHub" | "GitLab" => {
            let (host, issuer) = if kind == "GitHub" {
                ("github.com", "https://token.actions.githubusercontent.com")
            } else {
                ("gitlab.com", "https://gitlab.com")
            };
            if cert.issuer != issuer {
                return Err(mismatch(format!("issuer `{}`", cert.issuer)));
            }
            let repo = format!("https://{host}/{}", s("repository"));
            let got = cert.claims.source_repository_uri.as_deref().unwrap_or("");
            if !got.eq_ignore_ascii_case(&repo) {
                return Err(mismatch(format!(
                    "source repository `{got}`, expected `{repo}`"
                )));
            }
            let workflow = if kind == "GitHub" {
                s("workflow")
            } else {
                s("workflow_filepath")
            };
            let config = cert.claims.build_config_uri.as_deref().unwrap_or("");
            let path = config
                .split('@')
                .next()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let want = workflow.rsplit('/').next().unwrap_or_default();
            if want.is_empty() || path != want {
                return Err(mismatch(format!(
                    "workflow `{config}`, expected `{workflow}`"
                )));
            }
        }
        "Google" => {
            if cert.issuer != "https://accounts.google.com" {
                return Err(mismatch(format!("issuer `{}`", cert.issuer)));
            }
            if cert.identity != s("email") {
                return Err(mismatch(format!(
                    "identity `{}`, expected `{}`",
                    cert.identity,
                    s("email")
                )));
            }
        }
        other => {
            return Err(refuse(format!(
                "unknown Trusted Publisher kind `{other}` (zt knows GitHub, GitLab, Google)"
            )));
        }
    }
    Ok(())
}

/// Where the Go checksum database's documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SumdbSource {
    /// A directory laid out like the database (`lookup/…`, `tile/8/…`): the `go` command's
    /// cache of it, `$GOMODCACHE/cache/download/sumdb/sum.golang.org/`, works as is.
    Dir(std::path::PathBuf),
    /// The database's base URL (`https://sum.golang.org`), asked online.
    Url(String),
}

impl SumdbSource {
    /// A `--provenance` argument: an `http(s)://` URL, a database directory, or a lookup file
    /// inside one (its directory is the one above `lookup/`).
    pub fn from_arg(arg: &Path) -> SumdbSource {
        let text = arg.to_string_lossy();
        if text.starts_with("https://") || text.starts_with("http://") {
            return SumdbSource::Url(text.trim_end_matches('/').to_owned());
        }
        if arg.is_file() {
            let mut dir = arg.parent();
            while let Some(d) = dir {
                if d.file_name().is_some_and(|n| n == "lookup")
                    && let Some(top) = d.parent()
                {
                    return SumdbSource::Dir(top.to_path_buf());
                }
                dir = d.parent();
            }
        }
        SumdbSource::Dir(arg.to_path_buf())
    }

    /// How it is shown in records: the directory's name or the URL.
    pub fn describe(&self) -> String {
        match self {
            SumdbSource::Dir(d) => d.display().to_string(),
            SumdbSource::Url(u) => u.clone(),
        }
    }
}

/// An HTTPS client for upstream registries that trusts what the machine trusts, as `curl`
/// and `cargo` do: the PEM bundle `SSL_CERT_FILE` names, else the system's
/// (`/etc/ssl/certs/ca-certificates.crt`), else Mozilla's roots compiled in. Status codes are
/// answers, not errors.
pub fn http_agent(timeout: std::time::Duration) -> ureq::Agent {
    use ureq::tls::{PemItem, RootCerts, TlsConfig, parse_pem};
    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into());
    let certs: Vec<_> = fs_err::read(&bundle)
        .map(|pem| {
            parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout));
    if !certs.is_empty() {
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    config.build().into()
}

/// Documents larger than this are not read (a full tile is 8 KiB, a lookup a few hundred
/// bytes).
const MAX_SUMDB_DOCUMENT: u64 = 1 << 20;

/// Parses a `GOSUMDB`-style setting, `<vkey> [url]`: the verifier key and the URL (default:
/// `https://` and the key's name). `None` is `sum.golang.org`.
pub fn sumdb_setting(setting: Option<&str>) -> Result<(NoteVerifier, String), Error> {
    let setting = setting.unwrap_or(zt_tlog::sumdb::GO_SUMDB_KEY);
    let mut parts = setting.split_whitespace();
    let vkey = parts.next().unwrap_or_default();
    let key = NoteVerifier::parse(vkey).map_err(zt_tlog::Error::from)?;
    let url = parts
        .next()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("https://{}", key.name()));
    Ok((key, url))
}

/// Proves that the Go checksum database signed by `key` logged `hash` (the module zip's
/// `h1:`, computed by the caller) for `module@version`, from `source`: the lookup's tree note
/// signed by the key, the record's line for the zip equal to `hash`, and the record included
/// in that tree by a proof computed from the tiles (zt-tlog's verification).
pub fn verify_go(
    key: &NoteVerifier,
    source: &SumdbSource,
    module: &str,
    version: &str,
    hash: &str,
) -> Result<SumdbRecord, Error> {
    let record = match source {
        SumdbSource::Dir(dir) => {
            if !dir.is_dir() {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "`{}` is not a checksum database directory (one holding `lookup/` and `tile/`)",
                        dir.display()
                    ),
                )));
            }
            zt_tlog::sumdb::verify_module(
                key,
                module,
                version,
                hash,
                |p: &str| match fs_err::read(dir.join(p)) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.into()),
                },
            )?
        }
        SumdbSource::Url(base) => {
            let agent = http_agent(std::time::Duration::from_secs(30));
            zt_tlog::sumdb::verify_module(key, module, version, hash, |p: &str| {
                let url = format!("{base}/{p}");
                let offline = |e: &dyn std::fmt::Display| {
                    zt_tlog::Error::Io(std::io::Error::other(format!(
                        "the checksum database at {base} cannot be reached ({url}: {e})"
                    )))
                };
                let mut reply = agent.get(&url).call().map_err(|e| offline(&e))?;
                match reply.status().as_u16() {
                    200 => {}
                    404 | 410 => return Ok(None),
                    s => return Err(offline(&format!("HTTP {s}"))),
                }
                let body = reply
                    .body_mut()
                    .with_config()
                    .limit(MAX_SUMDB_DOCUMENT)
                    .read_to_vec()
                    .map_err(|e| offline(&e))?;
                Ok(Some(body))
            })?
        }
    };
    Ok(record)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::strategy::Strategy as _;

    fn data(rel: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../zt/tests/data/provenance")
            .join(rel)
    }

    /// The real npm provenance of `sigstore@3.1.0` (from sigstore-python's test assets)
    /// verifies against its real tarball and names sigstore-js's release workflow.
    #[test]
    fn npm_provenance_of_sigstore_3_1_0_verifies() {
        let doc = fs_err::read(data("npm/sigstore-3.1.0.sigstore.json")).unwrap();
        let tgz = data("npm/sigstore-3.1.0.tgz");
        let u = verify_npm(&doc, "sigstore", "3.1.0", &tgz, None).unwrap();
        assert_eq!(u.subject, "pkg:npm/sigstore@3.1.0");
        assert_eq!(
            u.source_repository.as_deref(),
            Some("https://github.com/sigstore/sigstore-js")
        );
        assert_eq!(u.issuer, "https://token.actions.githubusercontent.com");
        assert_eq!(
            u.identity,
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
        );
        assert_eq!(
            u.source_commit.as_deref(),
            Some("06cd267cbdc2eeaa04294995622db9f6ad2fa7cf")
        );
        // The same bundle inside the registry's attestations document.
        let bundle: Value = serde_json::from_slice(&doc).unwrap();
        let wrapped = json!({"attestations": [
            {"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", "bundle": {}},
            {"predicateType": SLSA_PROVENANCE_V1, "bundle": bundle},
        ]});
        let w = verify_npm(
            &serde_json::to_vec(&wrapped).unwrap(),
            "sigstore",
            "3.1.0",
            &tgz,
            None,
        )
        .unwrap();
        assert_eq!(w, u);
    }

    #[test]
    fn npm_provenance_refuses_another_tarball_version_or_a_tampered_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let doc = fs_err::read(data("npm/sigstore-3.1.0.sigstore.json")).unwrap();
        let tgz = data("npm/sigstore-3.1.0.tgz");
        // another archive
        let other = dir.path().join("sigstore-3.1.0.tgz");
        let mut bytes = fs_err::read(&tgz).unwrap();
        bytes.push(0);
        fs_err::write(&other, &bytes).unwrap();
        let e = verify_npm(&doc, "sigstore", "3.1.0", &other, None).unwrap_err();
        assert!(
            e.to_string().contains("artifact") || e.to_string().contains("SHA-512"),
            "{e}"
        );
        // another package name or version
        let e = verify_npm(&doc, "sigstore", "3.1.1", &tgz, None).unwrap_err();
        assert!(
            e.to_string().contains("not `pkg:npm/sigstore@3.1.1`"),
            "{e}"
        );
        // a tampered statement (one byte of the payload)
        let mut v: Value = serde_json::from_slice(&doc).unwrap();
        let payload = v["dsseEnvelope"]["payload"].as_str().unwrap();
        let mut stmt = b64::decode(payload).unwrap();
        let at = stmt.windows(6).position(|w| w == b"runner").unwrap();
        stmt[at] = b'R';
        v["dsseEnvelope"]["payload"] = b64::encode(&stmt).into();
        let e = verify_npm(
            &serde_json::to_vec(&v).unwrap(),
            "sigstore",
            "3.1.0",
            &tgz,
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Verification { .. }), "{e}");
        // a document without provenance
        let e = verify_npm(br#"{"attestations":[]}"#, "sigstore", "3.1.0", &tgz, None).unwrap_err();
        assert!(e.to_string().contains("no SLSA provenance"), "{e}");
    }

    proptest::proptest! {
        /// Provenance documents are untrusted input: any bytes, any JSON shape, give an error,
        /// never a panic (and never a verified result).
        #[test]
        fn arbitrary_documents_never_panic_or_verify(
            doc in proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..200),
                "\\{\"(attestations|attestation_bundles|envelope|mediaType)\": ?(\\[\\]|\\{\\}|\\[\\{\"bundle\":\\{\\},\"predicateType\":\"https://slsa.dev/provenance/v1\"\\}\\]|1|null)\\}"
                    .prop_map(String::into_bytes),
            ]
        ) {
            let tgz = data("npm/sigstore-3.1.0.tgz");
            proptest::prop_assert!(verify_npm(&doc, "sigstore", "3.1.0", &tgz, None).is_err());
            proptest::prop_assert!(verify_pypi(&doc, &tgz, None).is_err());
        }
    }

    /// The real PEP 740 provenance of `gcb_attestation_test-0.0.0.tar.gz` (pypi-attestations'
    /// test assets) verifies against the real sdist and its Google Trusted Publisher.
    #[test]
    fn pypi_provenance_of_gcb_attestation_test_verifies() {
        let doc = fs_err::read(data("pypi/gcb_attestation_test-0.0.0.tar.gz.provenance")).unwrap();
        let sdist = data("pypi/gcb_attestation_test-0.0.0.tar.gz");
        let u = verify_pypi(&doc, &sdist, None).unwrap();
        assert_eq!(u.predicate_type, PYPI_PUBLISH_V1);
        assert_eq!(u.subject, "gcb_attestation_test-0.0.0.tar.gz");
        assert_eq!(
            u.identity,
            "919436158236-compute@developer.gserviceaccount.com"
        );
        assert_eq!(u.issuer, "https://accounts.google.com");
        assert_eq!(u.repository(), u.identity);
    }

    #[test]
    fn pypi_provenance_refuses_another_publisher_or_distribution() {
        let dir = tempfile::tempdir().unwrap();
        let doc = fs_err::read(data("pypi/gcb_attestation_test-0.0.0.tar.gz.provenance")).unwrap();
        let sdist = data("pypi/gcb_attestation_test-0.0.0.tar.gz");
        // the Trusted Publisher swapped for another account
        let mut v: Value = serde_json::from_slice(&doc).unwrap();
        v["attestation_bundles"][0]["publisher"]["email"] = "evil@example.com".into();
        let e = verify_pypi(&serde_json::to_vec(&v).unwrap(), &sdist, None).unwrap_err();
        assert!(e.to_string().contains("Trusted Publisher"), "{e}");
        // ... or claimed as a GitHub repository
        v["attestation_bundles"][0]["publisher"] = json!({"kind": "GitHub", "repository": "pypa/sampleproject", "workflow": "release.yml"});
        let e = verify_pypi(&serde_json::to_vec(&v).unwrap(), &sdist, None).unwrap_err();
        assert!(e.to_string().contains("issuer"), "{e}");
        // another file under the same name
        let other = dir.path().join("gcb_attestation_test-0.0.0.tar.gz");
        fs_err::write(&other, b"not the sdist").unwrap();
        assert!(verify_pypi(&doc, &other, None).is_err());
        // a tampered signature
        let mut v: Value = serde_json::from_slice(&doc).unwrap();
        let sig = v["attestation_bundles"][0]["attestations"][0]["envelope"]["signature"]
            .as_str()
            .unwrap()
            .replace("MEUCIQDv", "MEUCIQDw");
        v["attestation_bundles"][0]["attestations"][0]["envelope"]["signature"] = sig.into();
        let e = verify_pypi(&serde_json::to_vec(&v).unwrap(), &sdist, None).unwrap_err();
        assert!(matches!(e, Error::Verification { .. }), "{e}");
    }
}
