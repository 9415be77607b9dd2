//! `zt serve`: the HTTP API (for now the secrets broker) on loopback, until SIGTERM or Ctrl-C.

use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: ServeArgs, printer: &Printer) -> Result<Status, CliError> {
    // A listen address that can never be served is refused before anything is opened (the
    // broker's log lock, its key): a typo costs nothing.
    if !args.listen.ip().is_loopback() {
        return Err(zt_server::Error::PlainHttpNotLoopback { addr: args.listen }.into());
    }
    let zt_dir = zt_core::Workspace::new(&args.repo)
        .layout()
        .dir()
        .to_path_buf();
    let broker = zt_secrets::Broker::open(&zt_dir)?;
    // The credential the administration routes require (stores made before it existed).
    if let Some(path) = zt_secrets::operator::ensure(broker.dir())? {
        printer.info(format!(
            "created the operator token in `{}` (admin routes need it as `Authorization: Bearer`)",
            path.display()
        ));
    }
    let options = zt_server::ServeOptions {
        listen: args.listen,
        workers: None,
        blocking_threads: args
            .blocking_threads
            .unwrap_or_else(zt_server::default_blocking_threads),
        allowed_hosts: args.allow_host,
    };
    let server = zt_server::Server::bind(&options, zt_server::routes::router(Arc::new(broker)))?;
    let url = format!("http://{}", server.local_addr());
    if printer.json {
        printer.json(&serde_json::json!({ "listening": url, "store": zt_dir }));
    } else {
        printer.out(&url);
    }
    printer.info(format!(
        "serving the secrets broker of `{}` on {url}; SIGTERM or Ctrl-C stops it",
        zt_dir.display()
    ));
    server.run()?;
    printer.info("stopped");
    Ok(Status::Success)
}
