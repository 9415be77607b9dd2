use std::path::{Path, PathBuf};

use zt_core::{ResourceDescriptor, Statement};
use zt_sign::bundle::{self, NewBundle};

use crate::cli::{AttestArgs, SignArgs};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn sign(args: SignArgs, printer: &Printer) -> Result<Status, CliError> {
    let signer = zt_sign::load_signer(&args.key)?;
    refuse_revoked(signer.as_ref())?;
    require_file(&args.file)?;
    let mut new = bundle::sign_file(signer.as_ref(), &args.file)?;
    let index = log(&mut new, signer.as_ref(), &args.log_dir, printer)?;
    let out = args
        .bundle
        .unwrap_or_else(|| with_suffix(&args.file, ".sigstore.json"));
    let ws = crate::commands::workspace(Path::new("."), printer)?;
    write_bundle(&ws, &new, index, &out, &args.file, printer)
}

pub(crate) fn attest(args: AttestArgs, printer: &Printer) -> Result<Status, CliError> {
    let signer = zt_sign::load_signer(&args.key)?;
    refuse_revoked(signer.as_ref())?;
    require_file(&args.file)?;
    let (kind_name, predicate_type, predicate) = match (
        &args.kind,
        &args.from,
        &args.predicate_type,
        &args.predicate,
    ) {
        (Some(kind), Some(from), _, _) if kind == "test-results" => {
            let xml = fs_err::read(from).map_err(zt_core::Error::from)?;
            let predicate =
                zt_policy::evidence::junit::junit_to_test_result(&xml).map_err(|e| {
                    CliError::from(e).context(format!(
                        "`{}` is not a JUnit XML report zt can read",
                        from.display()
                    ))
                })?;
            (
                "test-result",
                zt_core::predicate::TEST_RESULT_V01.to_string(),
                predicate,
            )
        }
        (Some(kind), Some(from), _, _) if kind == "coverage" => {
            let report = fs_err::read(from).map_err(zt_core::Error::from)?;
            let predicate = zt_policy::evidence::coverage::to_predicate(&report).map_err(|e| {
                CliError::from(e).context(format!(
                    "`{}` is not a coverage report zt can read",
                    from.display()
                ))
            })?;
            (
                "coverage",
                zt_core::predicate::ZT_COVERAGE_V1.to_string(),
                predicate,
            )
        }
        (Some(kind), _, _, _) => {
            return Err(CliError::input(
                format!("unknown attestation type `{kind}`"),
                "use `--type test-results --from junit.xml`, `--type coverage --from lcov.info` (or Cobertura `coverage.xml`), or `--predicate-type URI --predicate FILE`",
            ));
        }
        (None, _, Some(t), Some(p)) => {
            let text = fs_err::read(p).map_err(zt_core::Error::from)?;
            let predicate: serde_json::Value =
                serde_json::from_slice(&text).map_err(|source| zt_core::Error::Json {
                    what: p.display().to_string(),
                    source,
                })?;
            ("attestation", t.clone(), predicate)
        }
        _ => {
            return Err(CliError::input(
                "no predicate given",
                "pass `--predicate-type URI --predicate FILE`, or `--type test-results --from junit.xml`",
            ));
        }
    };
    let digest = zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, &args.file)?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let statement = Statement::new(
        vec![ResourceDescriptor::subject(name, &digest)],
        predicate_type,
        predicate,
    );
    let mut new = bundle::attest(signer.as_ref(), &statement)?;
    let index = log(&mut new, signer.as_ref(), &args.log_dir, printer)?;
    // By default the bundle joins the evidence store, never the artifact's folder (where a
    // build's outputs are judged, a bundle beside them would be judged as one).
    let ws = crate::commands::workspace(Path::new("."), printer)?;
    let out = args
        .bundle
        .unwrap_or_else(|| zt_pipeline::evidence::bundle_path(&ws, kind_name, &new.json));
    write_bundle(&ws, &new, index, &out, &args.file, printer)
}

/// A revoked key signs nothing: the repository here (whose ledger `write_bundle` indexes into)
/// is searched for its revocation.
fn refuse_revoked(signer: &dyn zt_sign::Signer) -> Result<(), CliError> {
    let ws = zt_core::Workspace::discover(Path::new("."))?;
    Ok(zt_pipeline::revoke::refuse_revoked(
        &ws,
        &signer.public_key(),
    )?)
}

fn require_file(path: &Path) -> Result<(), CliError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(CliError::input(
            format!("`{}` is not a file", path.display()),
            "pass the path of the artifact to sign",
        ))
    }
}

/// Every signature is logged: appends it to the log (created on first use) and puts the entry
/// and its proof into the bundle.
fn log(
    new: &mut NewBundle,
    signer: &dyn zt_sign::Signer,
    dir: &Path,
    printer: &Printer,
) -> Result<u64, CliError> {
    let (log, created) = zt_sign::transparency::open_or_init(dir)?;
    if created {
        printer.info(format!(
            "created transparency log `{}` in `{}`",
            log.origin(),
            dir.display()
        ));
    }
    Ok(zt_sign::transparency::log_bundle(
        &log,
        new,
        &signer.public_key(),
    )?)
}

fn write_bundle(
    ws: &zt_core::Workspace,
    new: &NewBundle,
    log_index: u64,
    out: &Path,
    artifact: &Path,
    printer: &Printer,
) -> Result<Status, CliError> {
    zt_core::fsutil::write_atomic(out, &bundle::to_bytes(&new.json))
        .map_err(zt_core::Error::from)?;
    // Every bundle zt makes is indexed in the repository's ledger, beside its log.
    zt_pipeline::evidence::index(ws, &new.json)?;
    let subject = new
        .subjects
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    if printer.json {
        printer.json(&serde_json::json!({
            "artifact": artifact,
            "digest": subject,
            "bundle": out,
            "log_index": log_index,
        }));
    } else {
        printer.out(format!("{subject}  {}", out.display()));
        printer.info(format!(
            "signed `{}`, logged as entry {log_index}, bundle written to `{}`",
            artifact.display(),
            out.display()
        ));
    }
    Ok(Status::Success)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
