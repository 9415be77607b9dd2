//! `zt serve`: the HTTP API on loopback, until SIGTERM or Ctrl-C — the repository's log over
//! HTTP (tiles, checkpoint, witness, appends from this machine), deploy admission, readiness
//! and metrics, and the secrets broker when the repository has a secrets store.

use zt_tlog::{NoteVerifier, WitnessSigner};

use crate::cli::ServeArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: ServeArgs, printer: &Printer) -> Result<Status, CliError> {
    // A listen address that can never be served is refused before anything is opened (the
    // log's lock, its key): a typo costs nothing.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(zt_server::server::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() {
        return Err(zt_server::Error::PlainHttpNotLoopback { addr: args.listen }.into());
    }
    if let Some(files) = &tls {
        zt_server::server::tls_config(files)?;
    }
    let ws = zt_core::Workspace::open(&args.repo)?;
    let zt_dir = ws.layout().dir().to_path_buf();
    let witness = match &args.witness_key {
        Some(key) => Some(witness(key, &args)?),
        None => None,
    };
    let service = zt_server::service::Service::open(zt_server::service::ServiceOptions {
        ws,
        witness,
        admission_exclude: args.admission_exclude.clone(),
    })?;
    let options = zt_server::ServeOptions {
        listen: args.listen,
        workers: None,
        blocking_threads: args
            .blocking_threads
            .unwrap_or_else(zt_server::default_blocking_threads),
        allowed_hosts: args.allow_host,
        tls,
    };
    let secrets = service.secrets;
    if let Some(path) = &service.operator_token {
        printer.info(format!(
            "created the operator token in `{}` (admin routes need it as `Authorization: Bearer`)",
            path.display()
        ));
    }
    let server = zt_server::Server::bind(&options, service.router.clone())?;
    let url = server.url();
    // Written once the socket is bound; removed after the last in-flight request finished.
    // Only for plain HTTP on loopback: that is what the appending commands speak.
    let published = if url.starts_with("http://") {
        Some(service.publish(server.local_addr())?)
    } else {
        None
    };
    if printer.json {
        printer.json(&serde_json::json!({ "listening": url, "store": zt_dir }));
    } else {
        printer.out(&url);
    }
    printer.info(format!(
        "serving `{}` on {url} (log, admission{}); SIGTERM or Ctrl-C stops it",
        zt_dir.display(),
        if secrets { ", secrets broker" } else { "" }
    ));
    server.run()?;
    drop(published);
    drop(service);
    printer.info("stopped");
    Ok(Status::Success)
}

fn witness(
    key: &std::path::Path,
    args: &ServeArgs,
) -> Result<zt_server::service::WitnessOptions, CliError> {
    let key = match zt_sign::FileKey::load(key)? {
        zt_sign::FileKey::Ed25519(k) => k,
        _ => {
            return Err(CliError::input(
                format!("`{}` is not an Ed25519 key", key.display()),
                "witnesses cosign with Ed25519: make one with `zt key generate --type ed25519`",
            ));
        }
    };
    let name = args.witness_name.clone().unwrap_or_default();
    let signer = WitnessSigner::new(&name, key).map_err(zt_tlog::Error::from)?;
    let mut logs = Vec::new();
    for v in &args.witness_log {
        let text = match NoteVerifier::parse(v) {
            Ok(k) => {
                logs.push(k);
                continue;
            }
            Err(_) => fs_err::read_to_string(v).map_err(zt_tlog::Error::from)?,
        };
        logs.push(NoteVerifier::parse(text.trim()).map_err(zt_tlog::Error::from)?);
    }
    Ok(zt_server::service::WitnessOptions {
        signer,
        logs,
        state: None,
    })
}
