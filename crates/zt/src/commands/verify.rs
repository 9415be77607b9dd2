use zt_sign::verify::{Artifact, Identity};

use crate::cli::VerifyArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: VerifyArgs, printer: &Printer) -> Result<Status, CliError> {
    if let Some(stage) = &args.stage {
        return gate(&args, stage, printer);
    }
    if zt_pipeline::image::is_image(&args.artifact) {
        return image(&args, printer);
    }
    let artifact = Artifact::from_arg(&args.artifact)?;
    let [bundle_path] = args.bundle.as_slice() else {
        return Err(CliError::input(
            "`zt verify` checks one `--bundle` (or, with `--stage`, all the evidence)",
            "pass exactly one `--bundle FILE`, or `--stage ci|publish|deploy` to judge the artifact",
        ));
    };
    let identity = identity(&args)?;
    let ws = crate::commands::workspace(std::path::Path::new("."), printer)?;
    let verified = zt_pipeline::verify::bundle(
        &ws,
        &zt_pipeline::verify::BundleCheck {
            artifact: &artifact,
            bundle: bundle_path,
            identity: &identity,
            trusted_root: args.trusted_root.as_deref(),
            log_dir: args.log_dir.clone(),
            witness_policy: args.witness_policy.as_deref(),
            insecure_ignore_tlog: args.insecure_ignore_tlog,
        },
    )
    .map_err(|e| {
        CliError::from(e).context(format!("`{}` failed verification", bundle_path.display()))
    })?;

    if printer.json {
        let mut value = serde_json::to_value(&verified).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("ok".into(), true.into());
        }
        printer.json(&value);
    } else {
        printer.out(format!(
            "{} {} verified",
            printer.ok_mark(),
            verified.artifact
        ));
        let signer = match &verified.issuer {
            Some(issuer) => format!("{} ({issuer})", verified.signer),
            None => format!("key {}", verified.signer),
        };
        printer.info(format!("  signer     {signer}"));
        if let Some(p) = &verified.predicate_type {
            printer.info(format!("  statement  {p}"));
        }
        let log = if !verified.witnesses.is_empty() {
            &format!(
                "inclusion proof verified, cosigned by {}",
                verified.witnesses.join(", ")
            )
        } else if verified.tlog_verified {
            "inclusion proof verified"
        } else {
            "not checked (--insecure-ignore-tlog)"
        };
        printer.info(format!("  log        {log}"));
    }
    Ok(Status::Success)
}

fn identity(args: &VerifyArgs) -> Result<Identity, CliError> {
    Ok(
        match (
            &args.key,
            &args.certificate_identity,
            &args.certificate_oidc_issuer,
        ) {
            (Some(key), _, _) => Identity::Key(zt_sign::load_public_key(key)?),
            (None, Some(identity), Some(issuer)) => Identity::Certificate {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
            _ => {
                return Err(CliError::input(
                    "no expected signer given",
                    "pass `--key KEY.pub`, or `--certificate-identity` with `--certificate-oidc-issuer`",
                ));
            }
        },
    )
}

/// `zt verify IMAGE`: the image's referrers and cosign signatures and attestations.
fn image(args: &VerifyArgs, printer: &Printer) -> Result<Status, CliError> {
    if !args.bundle.is_empty() {
        return Err(CliError::input(
            "`--bundle` names a bundle file; an image's bundles are found in its registry",
            "drop `--bundle`: `zt verify IMAGE --key KEY.pub` finds the image's signatures itself",
        ));
    }
    let identity = identity(args)?;
    let ws = crate::commands::workspace(std::path::Path::new("."), printer)?;
    let verified = zt_pipeline::image::verify(
        &ws,
        &zt_pipeline::image::Check {
            image: &args.artifact,
            identity: &identity,
            trusted_root: args.trusted_root.as_deref(),
            log_dir: args.log_dir.clone(),
            witness_policy: args.witness_policy.as_deref(),
            insecure_ignore_tlog: args.insecure_ignore_tlog,
            registry: zt_pipeline::image::RegistryOptions {
                insecure: args.insecure_registry.clone(),
            },
        },
    )
    .map_err(|e| CliError::from(e).context(format!("`{}` failed verification", args.artifact)))?;
    for r in &verified.refused {
        printer.info(format!(
            "warning: ignored {} {}: {}",
            serde_json::to_value(r.form)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("-"),
            r.carrier,
            r.reason
        ));
    }
    if printer.json {
        let mut value = serde_json::to_value(&verified).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("ok".into(), true.into());
        }
        printer.json(&value);
        return Ok(Status::Success);
    }
    printer.out(format!("{} {} verified", printer.ok_mark(), verified.image));
    let form = |f: zt_pipeline::image::Form| match f {
        zt_pipeline::image::Form::Referrer => "referrer",
        zt_pipeline::image::Form::Cosign => "cosign",
    };
    for s in &verified.signatures {
        printer.info(format!(
            "  signature    {:<8} by {}{}",
            form(s.form),
            s.signer,
            if s.tlog_verified {
                ", logged"
            } else {
                ", not logged"
            }
        ));
    }
    for a in &verified.attestations {
        printer.info(format!(
            "  attestation  {:<8} {} by {}{}",
            form(a.form),
            a.predicate_type.as_deref().unwrap_or("-"),
            a.signer,
            if a.tlog_verified {
                ", logged"
            } else {
                ", not logged"
            }
        ));
    }
    let via = match verified.referrers_via {
        zt_oci::Via::ReferrersApi => "the registry's referrers API",
        zt_oci::Via::TagSchema => "the `sha256-<hex>` tag index (no referrers API)",
    };
    printer.info(format!("  referrers    listed through {via}"));
    Ok(Status::Success)
}

/// `zt verify FILE --stage S`: the artifact's evidence, verified and judged by policy.
fn gate(args: &VerifyArgs, stage: &str, printer: &Printer) -> Result<Status, CliError> {
    let stage: zt_core::config::Stage = stage.parse().map_err(|_| {
        CliError::input(
            format!("unknown stage `{stage}`"),
            "use `--stage ci`, `--stage publish` or `--stage deploy`",
        )
    })?;
    let target = zt_pipeline::gate::Target::parse(&args.artifact)?;
    if let Some(url) = &args.server {
        // The server judges from its own store: the runner needs no ledger or evidence.
        let digest = match &target {
            zt_pipeline::gate::Target::Digest(d) => d.clone(),
            zt_pipeline::gate::Target::File(p) => {
                zt_core::Digest::of_file(zt_core::DigestAlgorithm::Sha256, p)?
            }
        };
        let client = zt_server::Client::new(url)?;
        let mut judgement = client.decide(
            crate::commands::server_credential().as_deref(),
            &digest.to_string(),
            stage.name(),
        )?;
        judgement["artifact"] = args.artifact.clone().into();
        crate::commands::pipeline::print_judgement_json(&args.artifact, stage, &judgement, printer);
        return Ok(if judgement["allow"].as_bool() == Some(true) {
            Status::Success
        } else {
            Status::Failure
        });
    }
    let ws = crate::commands::workspace(std::path::Path::new("."), printer)?;
    let judgement = zt_pipeline::gate::judge(&ws, &target, stage, &args.bundle)?;
    crate::commands::pipeline::print_judgement(&args.artifact, stage, &judgement, printer);
    Ok(if judgement.decision.allow {
        Status::Success
    } else {
        Status::Failure
    })
}
