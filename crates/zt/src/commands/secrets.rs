use std::io::{Read as _, Write as _};
use std::path::Path;

use serde_json::json;
use zt_secrets::{AccessQuery, Binding, Broker};

use crate::cli::{SecretsArgs, SecretsCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: SecretsArgs, printer: &Printer) -> Result<Status, CliError> {
    let zt_dir = args.zt_dir()?;
    let zt = zt_dir.as_path();
    match args.command {
        SecretsCommand::Init { pkcs11 } => {
            let r = zt_secrets::init(zt, &zt_secrets::InitOptions { pkcs11 })?;
            if printer.json {
                printer.json(&json!(r));
            } else {
                printer.out(format!(
                    "created `{}` (master key {})",
                    r.dir.display(),
                    r.key_id
                ));
                printer.info(format!(
                    "next: list your CI's OIDC issuer in `{}`, then `zt secrets put NAME --bind …`",
                    r.trust.display()
                ));
            }
            Ok(Status::Success)
        }
        SecretsCommand::Put {
            name,
            from_file,
            bind,
            server,
        } => {
            // Name and bindings first: a bad one is reported before stdin is read.
            zt_secrets::store::check_name(&name)?;
            let bindings = bind
                .iter()
                .map(|b| Binding::parse(b))
                .collect::<Result<Vec<_>, _>>()?;
            let value = zeroize::Zeroizing::new(match &from_file {
                Some(f) => fs_err::read(f).map_err(|e| {
                    CliError::input(
                        format!("cannot read `{}`: {e}", f.display()),
                        "check the path passed to `--from-file`",
                    )
                })?,
                None => {
                    let mut v = Vec::new();
                    std::io::stdin().read_to_end(&mut v).map_err(|e| {
                        CliError::input(
                            format!("cannot read stdin: {e}"),
                            "pipe the value in or use `--from-file`",
                        )
                    })?;
                    v
                }
            });
            if value.is_empty() {
                return Err(CliError::input(
                    format!("the value of `{name}` is empty"),
                    "pipe the value on stdin or pass `--from-file FILE`",
                ));
            }
            let version = match server.or_else(|| running_server(zt)) {
                Some(url) => {
                    if value.len() > zt_server::routes::secrets::MAX_PUT_VALUE_BYTES {
                        return Err(CliError::input(
                            format!(
                                "the value of `{name}` is {} bytes; the server stores at most {} (1 MiB)",
                                value.len(),
                                zt_server::routes::secrets::MAX_PUT_VALUE_BYTES
                            ),
                            "store a smaller value, e.g. a key that opens the large file, or stop `zt serve` and run `zt secrets put` without `--server`",
                        ));
                    }
                    zt_server::Client::new(&url)?.put_secret(
                        &operator_token(zt)?,
                        &name,
                        &value,
                        &bind,
                    )?
                }
                None => zt_secrets::put(zt, &name, &value, bindings)?,
            };
            if printer.json {
                printer.json(&json!({"name": name, "version": version}));
            } else {
                printer.out(format!("stored `{name}` version {version}"));
            }
            Ok(Status::Success)
        }
        SecretsCommand::Token { oidc_token, server } => {
            let raw = read_token_input(&oidc_token)?;
            let issued = match server {
                Some(url) => {
                    let t = zt_server::Client::new(&url)?.exchange(&raw)?;
                    zt_secrets::Issued {
                        token: t.token,
                        id: t.id,
                        expires_at: t.expires_at,
                        secrets: t.secrets,
                    }
                }
                None => Broker::open(zt)?.exchange(&raw)?,
            };
            if printer.json {
                printer.json(&json!(issued));
            } else {
                printer.out(&issued.token);
                printer.info(format!(
                    "token {} opens {} until {}",
                    issued.id,
                    issued.secrets.join(", "),
                    zt_core::time::rfc3339(issued.expires_at)
                ));
            }
            Ok(Status::Success)
        }
        SecretsCommand::Get {
            name,
            token,
            server,
        } => {
            let secret = match server {
                Some(url) => {
                    zt_secrets::Secret::from(zt_server::Client::new(&url)?.read(&token, &name)?)
                }
                None => Broker::open(zt)?.read(&token, &name)?,
            };
            // The value the caller asked for, as is, on stdout only.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(secret.expose());
            let _ = out.flush();
            Ok(Status::Success)
        }
        SecretsCommand::Exec {
            token,
            env,
            file,
            command,
            server,
        } => exec(zt, server.as_deref(), &token, &env, &file, command),
        SecretsCommand::RevokeToken { id, server } => {
            match server.or_else(|| running_server(zt)) {
                Some(url) => zt_server::Client::new(&url)?.revoke(&operator_token(zt)?, &id)?,
                None => Broker::open(zt)?.revoke_token(&id)?,
            }
            if printer.json {
                printer.json(&json!({"revoked": id}));
            } else {
                printer.out(format!("revoked token {id}"));
            }
            Ok(Status::Success)
        }
        SecretsCommand::Audit {
            secret,
            repository,
            since,
        } => audit(zt, secret, repository, since, printer),
        SecretsCommand::Rotate => {
            let r = zt_secrets::rotate(zt)?;
            if printer.json {
                printer.json(&json!(r));
            } else {
                printer.out(format!(
                    "master key {} -> {}: {} versions re-encrypted",
                    r.old_key_id, r.new_key_id, r.versions
                ));
            }
            Ok(Status::Success)
        }
        SecretsCommand::List => {
            let list = zt_secrets::list(zt)?;
            if printer.json {
                printer.json(&json!(list));
            } else {
                for s in list {
                    printer.out(format!(
                        "{}  v{}  {}  {}",
                        s.name,
                        s.version,
                        zt_core::time::rfc3339(s.updated_at),
                        if s.bindings.is_empty() {
                            "(operator only)".into()
                        } else {
                            s.bindings.join(" | ")
                        }
                    ));
                }
            }
            Ok(Status::Success)
        }
    }
}

fn read_token_input(path: &Path) -> Result<Vec<u8>, CliError> {
    // Read at most one byte over the limit: the broker refuses (and logs) oversized tokens.
    let limit = zt_secrets::MAX_OIDC_TOKEN_BYTES as u64 + 1;
    let mut buf = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut buf)
    } else {
        fs_err::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    result.map_err(|e| {
        CliError::input(
            format!("cannot read the OIDC token from `{}`: {e}", path.display()),
            "pass the file holding the job's ID token, or `-` to read it from stdin",
        )
    })?;
    Ok(buf)
}

fn pairs(list: &[String], flag: &str) -> Result<Vec<(String, String)>, CliError> {
    list.iter()
        .map(|p| match p.split_once('=') {
            Some((var, secret)) if zt_secrets::exec::check_env_name(var) && !secret.is_empty() => {
                Ok((var.to_string(), secret.to_string()))
            }
            _ => Err(CliError::input(
                format!("`{flag} {p}` is not `VAR=SECRET`"),
                format!("write `{flag} DB_PASSWORD=db` (VAR is an environment variable name)"),
            )),
        })
        .collect()
}

/// Where `exec` reads secrets: the local store, or a zt server over HTTP (`--server`).
enum Source {
    Local(Box<Broker>),
    Server(zt_server::Client),
}

fn exec(
    zt: &Path,
    server: Option<&str>,
    token: &str,
    env: &[String],
    file: &[String],
    command: Vec<std::ffi::OsString>,
) -> Result<Status, CliError> {
    let (env, file) = (pairs(env, "--env")?, pairs(file, "--file")?);
    // The values come from the zt server over HTTP, or from the local store.
    let source = match server {
        Some(url) => Source::Server(zt_server::Client::new(url)?),
        None => Source::Local(Box::new(Broker::open(zt)?)),
    };
    let read = |list: Vec<(String, String)>| -> Result<Vec<_>, CliError> {
        list.into_iter()
            .map(|(var, name)| {
                let secret = match &source {
                    Source::Local(broker) => broker.read(token, &name)?,
                    Source::Server(client) => zt_secrets::Secret::from(client.read(token, &name)?),
                };
                Ok((var, secret))
            })
            .collect()
    };
    let spec = zt_secrets::exec::ExecSpec {
        env: read(env)?,
        files: read(file)?,
        program: command.first().cloned().unwrap_or_default(),
        args: command.get(1..).unwrap_or_default().to_vec(),
        token: token.to_string(),
    };
    // The broker holds the access log open; close it before zt becomes the command.
    drop(source);
    // Returns only if the command could not be started (zt replaces itself with it).
    Err(zt_secrets::exec::run(spec).into())
}

fn parse_since(s: &str) -> Result<i64, CliError> {
    zt_core::time::parse_instant(s, Some(zt_core::time::now())).map_err(|e| {
        CliError::input(
            format!("`--since`: {e}"),
            "e.g. `--since 2026-11-25T00:00:00Z` or `--since 12h`",
        )
    })
}

fn audit(
    zt: &Path,
    secret: Option<String>,
    repository: Option<String>,
    since: Option<String>,
    printer: &Printer,
) -> Result<Status, CliError> {
    let query = AccessQuery {
        secret,
        repository,
        since: since.as_deref().map(parse_since).transpose()?,
    };
    let report = zt_secrets::audit(zt, &query)?;
    if printer.json {
        printer.json(&json!(report));
    } else {
        for r in &report.records {
            printer.out(format!(
                "{:>5}  {}  {:<13} {:<5} {:<16} {:<12} {}{}",
                r.seq,
                zt_core::time::rfc3339(r.at),
                r.action,
                r.decision,
                r.reason,
                r.secret.as_deref().unwrap_or("-"),
                r.who,
                r.repository
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            ));
        }
        for p in &report.problems {
            printer.err(format!("{} {p}", printer.fail_mark()));
        }
        printer.info(format!(
            "{} records checked against the log (checkpoint size {}); {} problems",
            report.checked,
            report.checkpoint_size,
            report.problems.len()
        ));
    }
    Ok(if report.problems.is_empty() {
        Status::Success
    } else {
        Status::Failure
    })
}

/// The operator token for `--server` administration: `ZT_OPERATOR_TOKEN`, else the file
/// `zt secrets init` (or the first `zt serve`) wrote beside the store.
fn operator_token(zt: &Path) -> Result<zeroize::Zeroizing<String>, CliError> {
    if let Some(t) = std::env::var_os("ZT_OPERATOR_TOKEN") {
        return Ok(zeroize::Zeroizing::new(
            t.to_string_lossy().trim().to_owned(),
        ));
    }
    let path = zt
        .join(zt_secrets::SECRETS_DIR)
        .join(zt_secrets::operator::TOKEN_FILE);
    match fs_err::read_to_string(&path) {
        Ok(t) => Ok(zeroize::Zeroizing::new(t.trim().to_owned())),
        Err(e) => Err(CliError::input(
            format!(
                "no operator token: `ZT_OPERATOR_TOKEN` is not set and `{}` cannot be read ({})",
                path.display(),
                e.kind()
            ),
            "set `ZT_OPERATOR_TOKEN` to the token `zt secrets init` wrote to `.zt/secrets/operator.token` on the server's machine",
        )),
    }
}

/// The URL of the `zt serve` that holds this repository's log, when one runs on this machine
/// (its `.zt/serve.addr`, checked to answer: a killed server leaves the file behind). A
/// command that changes the store goes through it, as appending commands do, instead of
/// waiting for the log the server holds.
fn running_server(zt: &Path) -> Option<String> {
    // Without a store here the server runs no broker: the local command says what to do.
    if !zt.join(zt_secrets::SECRETS_DIR).is_dir() {
        return None;
    }
    zt_sign::transparency::ServerRecord::running_for(&zt.join("log")).map(|record| record.url)
}
