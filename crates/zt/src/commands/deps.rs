use std::path::Path;

use crate::cli::{
    ApproveArgs, CheckArgs, DepsArgs, DepsCommand, EcosystemArg, IntakeArgs, ProvenanceArgs,
    RequestArgs, RequestsArgs, SbomArgs, SbomFormat,
};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn sbom(args: SbomArgs, printer: &Printer) -> Result<Status, CliError> {
    use zt_pipeline::sbom::{self, Format, Request};
    let arg = args.dir.to_string_lossy().into_owned();
    if zt_pipeline::image::is_image(&arg) {
        return image_sbom(arg, args, printer);
    }
    let subjects = zt_pipeline::subject::of_files(&args.repo, &args.subject)?;
    let report = sbom::sbom(&Request {
        dir: args.dir.clone(),
        format: match args.format {
            SbomFormat::Cyclonedx => Format::CycloneDx,
            SbomFormat::Spdx => Format::Spdx,
        },
        name: args.name,
        version: args.project_version,
        timestamp: source_date_epoch()?,
        subjects,
    })?;
    if report.lockfiles.is_empty() {
        printer.warn(format!(
            "no lockfile in `{}`: the SBOM holds the root component only",
            args.dir.display()
        ));
    }
    if args.attest {
        attest(printer, &args.repo, "sbom", &report.statement)?;
    }
    match &args.out {
        Some(out) => {
            zt_core::fsutil::write_atomic(out, &report.bytes).map_err(zt_deps::Error::Io)?;
            printer.info(format!(
                "wrote `{}`: {} packages from {} lockfile(s)",
                out.display(),
                report.packages,
                report.lockfiles.len()
            ));
        }
        None => printer.out(String::from_utf8_lossy(&report.bytes).trim_end()),
    }
    Ok(Status::Success)
}

/// `zt sbom IMAGE`: the SBOM read from an image's layers; with `--attest`, attached to the
/// image digest as a signed attestation (referrer and cosign `.att`).
fn image_sbom(image: String, args: SbomArgs, printer: &Printer) -> Result<Status, CliError> {
    use zt_pipeline::sbom::Format;
    let format = match args.format {
        SbomFormat::Cyclonedx => Format::CycloneDx,
        SbomFormat::Spdx => Format::Spdx,
    };
    if !args.subject.is_empty() {
        return Err(CliError::input(
            "`--subject` names files; an image's SBOM is about the image's digest",
            "drop `--subject`: `zt sbom IMAGE --attest --key KEY` attaches the SBOM to the image",
        ));
    }
    let signer = match (&args.key, args.attest) {
        (Some(k), true) => Some(zt_sign::load_signer(k)?),
        (None, true) => {
            return Err(CliError::input(
                "`--attest` on an image needs the key to sign with",
                "pass `--key KEY` (or set `ZT_KEY`), as for `zt attest IMAGE`",
            ));
        }
        _ => None,
    };
    let registry = zt_pipeline::image::RegistryOptions {
        insecure: args.insecure_registry.clone(),
    };
    printer.info(format!("reading the layers of `{image}`"));
    let report = zt_pipeline::image_sbom::sbom(&zt_pipeline::image_sbom::Request {
        image: image.clone(),
        format,
        platform: args.platform.clone(),
        timestamp: source_date_epoch()?,
        registry: registry.clone(),
    })?;
    for u in &report.unread {
        printer.warn(format!("not read: `{}`: {}", u.path, u.reason));
    }
    if report.sources.is_empty() {
        printer.warn(format!(
            "no package database or lockfile in `{image}`: the SBOM holds the image only"
        ));
    }
    let mut attached = None;
    if let Some(signer) = &signer {
        let ws = crate::commands::workspace(&args.repo, printer)?;
        let pinned = format!("{}@{}", report.name, report.digest);
        let predicate = zt_pipeline::image_sbom::predicate(&report, format);
        let signed = zt_pipeline::image::attest(
            &ws,
            &zt_pipeline::image::Request {
                signer: signer.as_ref(),
                image: pinned,
                log_dir: args.log_dir.clone().unwrap_or_else(|| ws.layout().log()),
                registry,
            },
            &predicate,
        )?;
        if let Some(origin) = &signed.created_log {
            printer.info(format!("created transparency log `{origin}`"));
        }
        printer.info(format!(
            "attached the SBOM to `{}`: referrer {} and cosign tag `{}`, log entries {:?}",
            signed.image, signed.referrer, signed.cosign_tag, signed.log_indexes
        ));
        attached = Some(signed);
    }
    if let Some(out) = &args.out {
        zt_core::fsutil::write_atomic(out, &report.bytes).map_err(zt_deps::Error::Io)?;
        printer.info(format!("wrote `{}`", out.display()));
    }
    if printer.json {
        printer.json(&serde_json::json!({
            "ok": true,
            "image": format!("{}@{}", report.name, report.digest),
            "digest": report.digest.to_string(),
            "index": report.index.as_ref().map(ToString::to_string),
            "layers": report.layers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "distro": report.distro,
            "sources": report.sources.iter().map(|(p, f)| serde_json::json!({"path": p, "format": f})).collect::<Vec<_>>(),
            "unread": report.unread,
            "packages": report.packages,
            "attached": attached,
            "sbom": if args.out.is_some() { serde_json::Value::Null } else { report.document.clone() },
        }));
    } else if args.out.is_none() {
        printer.out(String::from_utf8_lossy(&report.bytes).trim_end());
    }
    printer.info(format!(
        "{} packages from {} database(s) and lockfile(s) in {} layer(s) of {}@{}{}",
        report.packages,
        report.sources.len(),
        report.layers.len(),
        report.name,
        report.digest,
        report
            .distro
            .as_ref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    ));
    Ok(Status::Success)
}

/// Signs and records `statement` in `repo`'s ledger, and says so on stderr.
fn attest(
    printer: &Printer,
    repo: &Path,
    kind: &str,
    statement: &zt_core::Statement,
) -> Result<(), CliError> {
    if statement.subject.is_empty() {
        return Err(CliError::input(
            "nothing to attest: no `--subject` and no lockfile to make the statement about",
            "name the artifact with `--attest --subject FILE`",
        ));
    }
    let (path, index) =
        zt_pipeline::evidence::attest(&zt_core::Workspace::open(repo)?, kind, statement)?;
    printer.info(format!(
        "signed statement `{}` (log index {index}) recorded in the ledger",
        path.display()
    ));
    Ok(())
}

fn source_date_epoch() -> Result<Option<i64>, CliError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse().map(Some).map_err(|_| {
            CliError::input(
                format!("SOURCE_DATE_EPOCH=`{v}` is not a whole number of seconds"),
                "set `SOURCE_DATE_EPOCH` to Unix seconds (e.g. `git log -1 --format=%ct`) or unset it",
            )
        }),
        _ => Ok(None),
    }
}

pub(crate) fn run(args: DepsArgs, printer: &Printer) -> Result<Status, CliError> {
    match args.command {
        DepsCommand::Check(check) => run_check(check, printer),
        DepsCommand::Intake(a) => run_intake(a, printer),
        DepsCommand::Provenance(a) => run_provenance(a, printer),
        DepsCommand::Request(a) => run_request(a, printer),
        DepsCommand::Approve(a) => run_approve(a, printer),
        DepsCommand::Requests(a) => run_requests(a, printer),
    }
}

fn run_check(args: CheckArgs, printer: &Printer) -> Result<Status, CliError> {
    let subjects = zt_pipeline::subject::of_files(&args.repo, &args.subject)?;
    let report = zt_pipeline::deps::check(&zt_pipeline::deps::CheckRequest {
        dir: args.dir.clone(),
        config: args.config,
        licenses: args.licenses,
        malware: args.malware,
        top_packages: args.top_packages,
        typosquat: match args.typosquat {
            crate::cli::Level::Deny => zt_core::config::FindingLevel::Deny,
            crate::cli::Level::Warn => zt_core::config::FindingLevel::Warn,
        },
        subjects,
    })?;
    for e in &report.skipped {
        printer.warn(format!("skipped: {e}"));
    }
    for n in &report.notes {
        printer.info(n);
    }
    if args.attest {
        attest(printer, &args.repo, "deps", &report.statement)?;
    }
    let (findings, inv_lockfiles) = (&report.findings, &report.lockfiles);
    if args.sarif {
        let root = fs_err::canonicalize(&args.dir).unwrap_or(args.dir.clone());
        printer.json(&zt_deps::check::to_sarif(findings, &root));
    } else if printer.json {
        printer.json(&serde_json::json!({
            "lockfiles": inv_lockfiles.iter().map(|l| l.display().to_string()).collect::<Vec<_>>(),
            "packages": report.packages,
            "denied": report.denied,
            "findings": findings,
            "not_checked": report.not_checked,
        }));
    } else {
        for f in findings {
            let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            let level = match f.level {
                zt_core::config::FindingLevel::Deny => "deny",
                zt_core::config::FindingLevel::Warn => "warn",
            };
            printer.out(format!(
                "{}{line}: {level} [{}] {}: {}",
                f.file.display(),
                f.problem.name(),
                f.purl,
                f.message
            ));
            printer.out(format!("    fix: {}", f.fix));
        }
        for n in &report.not_checked {
            printer.warn(format!("not checked: {n}"));
        }
        printer.info(format!(
            "{} finding(s) ({} deny) in {} packages from {} lockfile(s)",
            findings.len(),
            findings
                .iter()
                .filter(|f| f.level == zt_core::config::FindingLevel::Deny)
                .count(),
            report.packages,
            inv_lockfiles.len()
        ));
    }
    Ok(if report.denied {
        Status::Failure
    } else {
        Status::Success
    })
}

fn ecosystem(e: EcosystemArg) -> zt_deps::Ecosystem {
    match e {
        EcosystemArg::CratesIo => zt_deps::Ecosystem::CratesIo,
        EcosystemArg::Npm => zt_deps::Ecosystem::Npm,
        EcosystemArg::Pypi => zt_deps::Ecosystem::PyPI,
        EcosystemArg::Rubygems => zt_deps::Ecosystem::RubyGems,
        EcosystemArg::Go => zt_deps::Ecosystem::Go,
    }
}

/// `NAME@VERSION`, where an npm scope's leading `@` is part of the name.
fn split_package(spec: &str) -> Result<(&str, &str), CliError> {
    match spec.rfind('@') {
        Some(at) if at > 0 && at + 1 < spec.len() => Ok((&spec[..at], &spec[at + 1..])),
        _ => Err(CliError::input(
            format!("`{spec}` is not `NAME@VERSION`"),
            "name the exact version, e.g. `zt deps intake serde@1.0.200 --ecosystem crates.io --archive serde-1.0.200.crate`",
        )),
    }
}

fn run_intake(args: IntakeArgs, printer: &Printer) -> Result<Status, CliError> {
    use zt_deps::intake;

    let (name, version) = split_package(&args.package)?;
    let ws = crate::commands::workspace(&args.repo, printer)?;
    let outcome = zt_pipeline::intake::intake(
        &ws,
        &zt_pipeline::intake::IntakeRequest {
            ecosystem: ecosystem(args.ecosystem),
            name: name.to_owned(),
            version: version.to_owned(),
            archive: args.archive.clone(),
            lockfile: args.lockfile.clone(),
            index: args.index.clone(),
            min_age_hours: args.min_age_hours,
            allow_unknown_age: args.allow_unknown_age,
            provenance: args.provenance.clone(),
            dynamic: args.dynamic,
        },
    )?;
    let admitted = outcome.admitted();
    let zt_pipeline::intake::IntakeOutcome {
        decision,
        bundle,
        log_index,
        mirrored,
        record,
    } = outcome;

    if printer.json {
        let mut v = serde_json::to_value(&decision).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("bundle".into(), bundle.display().to_string().into());
            obj.insert("log_index".into(), log_index.into());
            obj.insert("record".into(), record.display().to_string().into());
            obj.insert(
                "mirror".into(),
                mirrored.as_ref().map(|p| p.display().to_string()).into(),
            );
        }
        printer.json(&v);
    } else {
        let verdict = match decision.verdict {
            intake::Verdict::Admitted => "admitted",
            intake::Verdict::Held => "held",
            intake::Verdict::Rejected => "rejected",
        };
        printer.out(format!(
            "{} {verdict}: {} ({}, sha256 {})",
            if decision.verdict == intake::Verdict::Admitted {
                printer.ok_mark()
            } else {
                printer.fail_mark()
            },
            decision.purl,
            decision.archive,
            decision.sha256
        ));
        for c in &decision.checksums {
            let src = match c.source {
                intake::ChecksumSource::Lockfile => "lockfile",
                intake::ChecksumSource::Index => "index",
            };
            printer.out(format!(
                "  checksum ({src} `{}`): {} {}",
                c.file,
                c.algorithm.as_deref().unwrap_or("none"),
                if c.matched {
                    "matches"
                } else {
                    "does not match"
                }
            ));
        }
        printer.out(format!(
            "  age: {}{}",
            decision.age.status,
            decision
                .age
                .published
                .as_ref()
                .map(|p| format!(" (published {p}, minimum {} h)", decision.age.min_age_hours))
                .unwrap_or_default()
        ));
        if let Some(a) = &decision.approval {
            printer.out(format!("  wanted: {a}"));
        }
        if let Some(p) = &decision.provenance {
            let from = p
                .repository
                .as_deref()
                .map(|r| format!(" from `{r}`"))
                .unwrap_or_default();
            printer.out(format!(
                "  provenance ({}): {}{from}",
                p.requirement, p.status
            ));
        }
        for r in &decision.reasons {
            printer.out(format!(
                "  {} [{}] {}",
                if r.hold { "hold" } else { "deny" },
                r.rule,
                r.message
            ));
        }
        for f in decision
            .findings
            .iter()
            .filter(|f| f.severity == intake::malware::Severity::Warn)
        {
            printer.out(format!(
                "  warn [{}] {}{}: {}",
                f.rule,
                f.file,
                f.line.map(|l| format!(":{l}")).unwrap_or_default(),
                f.message
            ));
        }
        if let Some(m) = &mirrored {
            printer.info(format!("mirrored at `{}`", m.display()));
        }
        printer.info(format!(
            "signed decision `{}` (log index {log_index}), record `{}`",
            bundle.display(),
            record.display()
        ));
    }
    Ok(if admitted {
        Status::Success
    } else {
        Status::Failure
    })
}

fn run_provenance(args: ProvenanceArgs, printer: &Printer) -> Result<Status, CliError> {
    let (name, version) = split_package(&args.package)?;
    if matches!(args.ecosystem, EcosystemArg::Go) {
        return run_go_provenance(&args, name, version, printer);
    }
    let Some(document) = &args.document else {
        return Err(CliError::input(
            "no provenance document given".to_owned(),
            "pass the registry's attestation document with `--document FILE`",
        ));
    };
    let root = match &args.trusted_root {
        Some(p) => Some(fs_err::read_to_string(p).map_err(zt_pipeline::Error::from)?),
        None => None,
    };
    let u = zt_pipeline::intake::verify_upstream(
        ecosystem(args.ecosystem),
        name,
        version,
        &args.archive,
        document,
        root.as_deref(),
    )?;
    if printer.json {
        printer.json(&serde_json::to_value(&u).unwrap_or_default());
    } else {
        printer.out(format!(
            "{} {} provenance of {} verified: {} ({})",
            printer.ok_mark(),
            u.kind,
            u.subject,
            u.digest,
            u.predicate_type
        ));
        printer.out(format!("  signer: {} (issuer {})", u.identity, u.issuer));
        for (what, v) in [
            ("source repository", &u.source_repository),
            ("commit", &u.source_commit),
            ("ref", &u.source_ref),
            ("workflow", &u.workflow),
            ("runner", &u.runner),
            ("run", &u.run),
        ] {
            if let Some(v) = v {
                printer.out(format!("  {what}: {v}"));
            }
        }
    }
    Ok(Status::Success)
}

fn run_go_provenance(
    args: &ProvenanceArgs,
    module: &str,
    version: &str,
    printer: &Printer,
) -> Result<Status, CliError> {
    use zt_sign::upstream::SumdbSource;
    let source = match &args.document {
        Some(d) => SumdbSource::from_arg(d),
        None => {
            let (_, url) = zt_sign::upstream::sumdb_setting(args.go_sumdb.as_deref())
                .map_err(zt_pipeline::Error::from)?;
            SumdbSource::Url(url)
        }
    };
    let r = zt_pipeline::intake::verify_go_module(
        module,
        version,
        &args.archive,
        &source,
        args.go_sumdb.as_deref(),
    )?;
    if printer.json {
        let mut v = serde_json::to_value(&r).unwrap_or_default();
        v["kind"] = "go-checksum-database".into();
        v["source"] = source.describe().into();
        printer.json(&v);
    } else {
        printer.out(format!(
            "{} {module}@{version} {} logged by {}: record {} in the signed tree of size {} ({} proof hashes)",
            printer.ok_mark(),
            r.hash,
            r.database,
            r.record_id,
            r.tree_size,
            r.proof_hashes
        ));
        if let Some(h) = &r.go_mod_hash {
            printer.out(format!("  go.mod: {h}"));
        }
        printer.out(format!("  tree root: {}", r.tree_root));
        printer.out(format!("  from: {}", source.describe()));
    }
    Ok(Status::Success)
}

fn print_request(
    printer: &Printer,
    r: &zt_deps::intake::requests::Request,
    extra: serde_json::Value,
) {
    if printer.json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        printer.json(&v);
    }
}

fn run_request(args: RequestArgs, printer: &Printer) -> Result<Status, CliError> {
    use zt_deps::intake::requests::Requests;
    let requester = match args.requester {
        Some(r) => r,
        None => std::env::var("ZT_USER")
            .or_else(|_| std::env::var("USER"))
            .map_err(|_| {
                CliError::input(
                    "no requester: `--requester` not given and neither `ZT_USER` nor `USER` is set",
                    "name yourself with `--requester ID`",
                )
            })?,
    };
    let signer = args.key.as_deref().map(zt_sign::load_signer).transpose()?;
    let r = Requests::new_request(
        ecosystem(args.ecosystem),
        &args.package,
        args.package_version.as_deref(),
        &args.justification,
        &args.maintenance_plan,
        &requester,
        &zt_core::time::rfc3339(zt_core::time::now()),
    )
    .map_err(zt_deps::Error::from)?;
    let (bundle, index) = zt_pipeline::approvals::request(&args.repo, &r, signer.as_deref())?;
    let path = Requests::in_repo(&args.repo).path_of(&r.id);
    print_request(
        printer,
        &r,
        serde_json::json!({"bundle": bundle.display().to_string(), "log_index": index, "path": path.display().to_string()}),
    );
    if !printer.json {
        printer.out(format!(
            "{} {} {} requested by {} (pending approval)",
            r.id, r.ecosystem, r.package, r.requester
        ));
        printer.info(format!(
            "signed `{}` (log index {index}); an approver listed in `zt.toml` approves with `zt deps approve {} --key THEIR_KEY`",
            bundle.display(),
            r.id
        ));
    }
    Ok(Status::Success)
}

fn run_approve(args: ApproveArgs, printer: &Printer) -> Result<Status, CliError> {
    let signer = zt_sign::load_signer(&args.key)?;
    let (r, approver, bundle, index) = zt_pipeline::approvals::approve(
        &args.repo,
        &args.id,
        signer.as_ref(),
        args.approver.as_deref(),
        &zt_core::time::rfc3339(zt_core::time::now()),
    )?;
    print_request(
        printer,
        &r,
        serde_json::json!({"bundle": bundle.display().to_string(), "log_index": index, "approver_key": signer.public_key().key_id()}),
    );
    if !printer.json {
        printer.out(format!(
            "{} {} {} approved by {approver} (requested by {})",
            r.id, r.ecosystem, r.package, r.requester
        ));
        printer.info(format!(
            "signed with {}'s key {} (log index {index}): `{}`",
            approver,
            signer.public_key().key_id().get(..12).unwrap_or_default(),
            bundle.display()
        ));
    }
    Ok(Status::Success)
}

fn run_requests(args: RequestsArgs, printer: &Printer) -> Result<Status, CliError> {
    let list = zt_deps::intake::requests::Requests::in_repo(&args.repo).list()?;
    if printer.json {
        printer.json(&serde_json::json!({ "requests": list }));
        return Ok(Status::Success);
    }
    for r in &list {
        printer.out(format!(
            "{}  {:8}  {} {}{}  by {}{}",
            r.id,
            match r.status {
                zt_deps::intake::requests::Status::Pending => "pending",
                zt_deps::intake::requests::Status::Approved => "approved",
            },
            r.ecosystem,
            r.package,
            r.version
                .as_ref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default(),
            r.requester,
            r.approval
                .as_ref()
                .map(|a| format!(", approved by {}", a.approver))
                .unwrap_or_default()
        ));
    }
    if list.is_empty() {
        printer.info("no dependency requests");
    }
    Ok(Status::Success)
}
