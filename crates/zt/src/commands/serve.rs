//! `zt serve`: the HTTP API on loopback until SIGTERM or Ctrl-C — the evidence hub
//! (`/api/v1/…`) and, when the repository has a secrets store, the secrets broker; and
//! `zt serve token create|list|revoke`, the evidence API's tokens.

use std::sync::Arc;

use crate::cli::{ServeArgs, ServeCommand, TokenCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: ServeArgs, printer: &Printer) -> Result<Status, CliError> {
    if let Some(ServeCommand::Token(cmd)) = args.command {
        return token(cmd, printer);
    }
    // A listen address that can never be served is refused before anything is opened (the
    // log's lock, the broker's key): a typo costs nothing.
    if !args.listen.ip().is_loopback() {
        return Err(zt_server::Error::PlainHttpNotLoopback { addr: args.listen }.into());
    }
    let mut ws = zt_core::Workspace::open(&args.repo)?;
    if let Some(url) = &args.store {
        let store = zt_core::StoreLocation::parse(url, ws.root())?;
        ws = ws.with_store(store);
    }
    let zt_dir = ws.layout().dir().to_path_buf();
    // One opener holds a log: the hub and the broker append to the same one.
    let (log, _) = zt_sign::transparency::open_or_init(&ws.layout().log())?;
    let log = Arc::new(log);
    let secrets_dir = zt_dir.join(zt_secrets::SECRETS_DIR);
    let broker = if secrets_dir.join("store.json").exists() {
        let broker = zt_secrets::Broker::open_with_log(&zt_dir, log.clone())?;
        // The credential the administration routes require (stores made before it existed).
        if let Some(path) = zt_secrets::operator::ensure(broker.dir())? {
            printer.info(format!(
                "created the operator token in `{}` (admin routes need it as `Authorization: Bearer`)",
                path.display()
            ));
        }
        Some(Arc::new(broker))
    } else {
        printer.info(
            "no secrets store in this repository: the secrets broker is off (`zt secrets init` makes one)",
        );
        None
    };
    let trust = if secrets_dir.join(zt_secrets::trust::TRUST_FILE).exists() {
        Some(zt_secrets::trust::Trust::load(&secrets_dir)?)
    } else {
        None
    };
    let store = ws.store().display();
    let mut other_logs = Vec::new();
    for p in &args.trust_log {
        other_logs.push(fs_err::read_to_string(p).map_err(zt_sign::Error::from)?);
    }
    let hub = zt_pipeline::hub::Hub::open(ws, log, &other_logs)?;
    let evidence = Arc::new(zt_server::routes::evidence::Evidence::new(hub, trust));
    let options = zt_server::ServeOptions {
        listen: args.listen,
        workers: None,
        blocking_threads: args
            .blocking_threads
            .unwrap_or_else(zt_server::default_blocking_threads),
        allowed_hosts: args.allow_host,
    };
    let server = zt_server::Server::bind(
        &options,
        zt_server::routes::router_with(broker, Some(evidence)),
    )?;
    let url = format!("http://{}", server.local_addr());
    if printer.json {
        printer.json(&serde_json::json!({ "listening": url, "store": store, "state": zt_dir }));
    } else {
        printer.out(&url);
    }
    printer.info(format!(
        "serving `{}` (evidence store {store}) on {url}; SIGTERM or Ctrl-C stops it",
        zt_dir.display()
    ));
    server.run()?;
    printer.info("stopped");
    Ok(Status::Success)
}

/// `zt serve token create|list|revoke`.
fn token(cmd: TokenCommand, printer: &Printer) -> Result<Status, CliError> {
    use zt_pipeline::api_tokens;
    match cmd {
        TokenCommand::Create { role, name, repo } => {
            let ws = zt_core::Workspace::open(&repo)?;
            let role: api_tokens::Role = role.parse()?;
            let created = api_tokens::create(&ws, role, &name)?;
            if printer.json {
                printer.json(&serde_json::to_value(&created).unwrap_or_default());
            } else {
                printer.out(&created.token);
                printer.info(format!(
                    "created API token {} (role {}); it is shown only now, the server keeps its hash",
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
