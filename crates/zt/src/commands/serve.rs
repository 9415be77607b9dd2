//! `zt serve`: the HTTP API on loopback (or anywhere with TLS), until SIGTERM or Ctrl-C — the
//! evidence hub (`/api/v1/…`), the repository's log over HTTP (tiles, checkpoint, witness,
//! appends from this machine), deploy admission, readiness and metrics, and the secrets broker
//! when the repository has a secrets store; and `zt serve token create|list|revoke`, the
//! evidence API's tokens.

use zt_tlog::{NoteVerifier, WitnessSigner};

use crate::cli::{ServeArgs, ServeCommand, TokenCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: ServeArgs, printer: &Printer) -> Result<Status, CliError> {
    if let Some(ServeCommand::Token(cmd)) = args.command {
        return token(cmd, printer);
    }
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
    let mut ws = zt_core::Workspace::open(&args.repo)?;
    if let Some(url) = &args.store {
        let store = zt_core::StoreLocation::parse(url, ws.root())?;
        ws = ws.with_store(store);
    }
    let zt_dir = ws.layout().dir().to_path_buf();
    let store = ws.store().display();
    let mut trust_logs = Vec::new();
    for p in &args.trust_log {
        trust_logs.push(fs_err::read_to_string(p).map_err(zt_sign::Error::from)?);
    }
    let witness = match &args.witness_key {
        Some(key) => Some(witness(key, &args)?),
        None => None,
    };
    let service = zt_server::service::Service::open(zt_server::service::ServiceOptions {
        ws,
        witness,
        admission_exclude: args.admission_exclude.clone(),
        trust_logs,
        admission_images: zt_pipeline::image::Admission {
            resolve_tags: args.admission_resolve_tags,
            registry_evidence: args.admission_registry_evidence,
            registry: zt_pipeline::image::RegistryOptions {
                insecure: args.insecure_registry.clone(),
            },
        },
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
    if !secrets {
        printer.info(
            "no secrets store in this repository: the secrets broker is off (`zt secrets init` makes one)",
        );
    }
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
        printer.json(&serde_json::json!({ "listening": url, "store": store, "state": zt_dir }));
    } else {
        printer.out(&url);
    }
    printer.info(format!(
        "serving `{}` on {url} (evidence store {store}; evidence API, log, admission{}); SIGTERM or Ctrl-C stops it",
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

/// `zt serve token create|list|revoke`.
fn token(cmd: TokenCommand, printer: &Printer) -> Result<Status, CliError> {
    use zt_pipeline::api_tokens;
    match cmd {
        TokenCommand::Create { role, name, repo } => {
            let ws = zt_core::Workspace::open(&repo)?;
            let role: api_tokens::Role = role.parse()?;
            let created = api_tokens::create(&ws, role, &name)?;
            let index = api_tokens::record_on_host(
                &ws,
                "token-create",
                &format!("id={} role={}", created.id, role.name()),
            )?;
            if printer.json {
                printer.json(&serde_json::to_value(&created).unwrap_or_default());
            } else {
                printer.out(&created.token);
                printer.info(format!(
                    "created API token {} (role {}); it is shown only now, the server keeps its hash; recorded in the log at index {index}",
                    created.id,
                    role.name()
                ));
            }
        }
        TokenCommand::List { repo } => {
            let ws = zt_core::Workspace::open(&repo)?;
            let tokens = api_tokens::list(&ws)?;
            if printer.json {
                printer.json(&serde_json::to_value(&tokens).unwrap_or_default());
            } else {
                for t in &tokens {
                    let state = match t.revoked_at {
                        Some(at) => format!("revoked {}", zt_core::time::rfc3339(at)),
                        None => "active".to_owned(),
                    };
                    printer.out(format!(
                        "{}  {:<6}  {}  {}  {state}",
                        t.id,
                        t.role.name(),
                        zt_core::time::rfc3339(t.created_at),
                        t.name
                    ));
                }
            }
        }
        TokenCommand::Revoke { id, repo } => {
            let ws = zt_core::Workspace::open(&repo)?;
            let changed = api_tokens::revoke(&ws, &id)?;
            if changed {
                api_tokens::record_on_host(&ws, "token-revoke", &format!("id={id}"))?;
            }
            if printer.json {
                printer.json(&serde_json::json!({ "revoked": id, "changed": changed }));
            } else if changed {
                printer.out(format!("revoked {id}"));
            } else {
                printer.out(format!("{id} was already revoked"));
            }
        }
    }
    Ok(Status::Success)
}
