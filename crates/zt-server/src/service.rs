//! `zt serve` put together: the repository's log opened once and shared by every route (the
//! secrets broker's access log, the evidence API's upload records, the tile routes, the append
//! route, admission records), the evidence API over the workspace's store, the
//! secrets broker when the repository has one, the witness when configured, readiness checks
//! and metrics, the curated mirror as Cargo, npm and PyPI registries; and the record (`.zt/serve.addr`) that lets other zt commands on this machine
//! append through the server while it holds the log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use zt_core::Workspace;
use zt_sign::transparency::{self, ServerRecord};
use zt_tlog::{Checkpoint, Log, NoteVerifier, WitnessSigner};

use crate::Error;
use crate::routes::admission::Admission;
use crate::routes::ops::{Check, Ops};
use crate::routes::tlog::{LogRoutes, WitnessConfig};

/// A witness the server runs (`POST /add-checkpoint`).
#[derive(Debug)]
pub struct WitnessOptions {
    /// The witness's key and name.
    pub signer: WitnessSigner,
    /// The verifier keys of the logs it cosigns.
    pub logs: Vec<NoteVerifier>,
    /// Where it remembers the latest checkpoint cosigned per log (default `.zt/witness`).
    pub state: Option<PathBuf>,
}

/// What `zt serve` serves.
#[derive(Debug)]
pub struct ServiceOptions {
    /// The workspace (repository, `.zt` layout, ledger location, clock).
    pub ws: Workspace,
    /// Run a witness.
    pub witness: Option<WitnessOptions>,
    /// Namespaces deploy admission allows without checking (with a warning).
    pub admission_exclude: Vec<String>,
    /// Other transparency logs whose entries uploaded bundles may carry (their `log.pub`
    /// texts), e.g. CI runners' own logs.
    pub trust_logs: Vec<String>,
    /// What deploy admission does with images: resolve tags, read the registry's evidence.
    pub admission_images: zt_pipeline::image::Admission,
}

/// The assembled service: its router and what it holds.
#[derive(Debug)]
pub struct Service {
    /// Every route.
    pub router: Router,
    /// The repository's log, held open for as long as the service lives.
    pub log: Arc<Log>,
    /// Whether the secrets broker is served (the repository has a secrets store).
    pub secrets: bool,
    /// Where the operator token was just created, if it was (stores made before it existed).
    pub operator_token: Option<PathBuf>,
    append_token: String,
    record: PathBuf,
}

impl Service {
    /// Opens the log (creating it on first use), the broker if the repository has a secrets
    /// store, and builds the router.
    pub fn open(options: ServiceOptions) -> Result<Service, Error> {
        let ws = options.ws;
        let layout = ws.layout().clone();
        let log_dir = layout.log();
        let (log, _) = transparency::open_or_init_local(&log_dir)?;
        let log = Arc::new(log);
        let broker = match zt_secrets::Broker::open_with_log(layout.dir(), Some(log.clone())) {
            Ok(b) => Some(Arc::new(b)),
            Err(zt_secrets::Error::NotInitialized(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let operator_token = match &broker {
            Some(b) => zt_secrets::operator::ensure(b.dir())?,
            None => None,
        };
        let secrets = broker.is_some();
        let append_token = random_token()?;
        let witness = options.witness.map(|w| {
            WitnessConfig::new(
                w.signer,
                w.logs,
                w.state.unwrap_or_else(|| layout.dir().join("witness")),
            )
        });
        let routes = Arc::new(LogRoutes::new(log.clone(), Some(&append_token), witness));
        let admission = Arc::new(
            Admission::new(ws.clone(), options.admission_exclude, Some(log.clone()))
                .with_images(options.admission_images),
        );
        // The evidence API (`/api/v1`): uploads are verified with the repository's trust and
        // recorded in the same log; CI jobs' OIDC tokens are checked with the secrets
        // store's trust configuration when there is one.
        let secrets_dir = layout.dir().join(zt_secrets::SECRETS_DIR);
        let oidc = if secrets_dir.join(zt_secrets::trust::TRUST_FILE).exists() {
            Some(zt_secrets::trust::Trust::load(&secrets_dir)?)
        } else {
            None
        };
        let hub = zt_pipeline::hub::Hub::open(ws.clone(), log.clone(), &options.trust_logs)?;
        let evidence = Arc::new(crate::routes::evidence::Evidence::new(hub, oidc));
        let dashboard = Arc::new(crate::dashboard::Dashboard::new(
            evidence.clone(),
            log.clone(),
        ));
        dashboard.warm();
        let ops = Arc::new(
            Ops::new(
                vec![store_check(ws.clone()), log_check(log.clone())],
                vec![log_size_gauge(log.clone())],
            )
            .with_text(pipeline_metrics(ws.clone())),
        );
        let features = crate::routes::evidence::routes(evidence)
            .merge(crate::dashboard::routes(dashboard))
            .merge(crate::routes::tlog::routes(routes))
            .merge(crate::routes::admission::routes(admission))
            .merge(crate::routes::registry::routes(Arc::new(
                zt_pipeline::registry::Registry::open(&ws),
            )))
            .merge(crate::routes::ops::routes(ops));
        Ok(Service {
            router: crate::routes::service(broker, features),
            log,
            secrets,
            operator_token,
            append_token,
            record: layout.server_address(),
        })
    }

    /// Writes `.zt/serve.addr` (mode 0600) for the server bound at `addr`, so zt commands on
    /// this machine append through it. The returned guard removes the file when dropped (after
    /// the server stopped); a killed server leaves it behind, which clients detect (nothing
    /// accepts connections there) and ignore.
    pub fn publish(&self, addr: SocketAddr) -> Result<Published, Error> {
        let record = ServerRecord {
            url: format!("http://{addr}"),
            pid: std::process::id(),
            log: fs_err::canonicalize(self.log.dir())?,
            append_token: self.append_token.clone(),
        };
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        zt_core::fsutil::write_atomic_mode(&self.record, &text, Some(0o600))?;
        Ok(Published {
            path: self.record.clone(),
        })
    }
}

/// The server's record file; removed on drop.
#[derive(Debug)]
pub struct Published {
    path: PathBuf,
}

impl Published {
    /// The record file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(&self.path);
    }
}

fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut bytes)
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(format!("zta1.{}", hex::encode(bytes)))
}

/// Ready when the ledger answers: the embedded one opens (or does not exist yet), a
/// PostgreSQL one connects and reads its schema version.
fn store_check(ws: Workspace) -> Check {
    Check::new("store", move || {
        match zt_pipeline::ledger::open_existing(&ws) {
            Ok(Some(ledger)) => zt_store::Ledger::schema_version(ledger.as_ref())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Ready when the log's checkpoint on disk is the one this process last wrote and verifies.
fn log_check(log: Arc<Log>) -> Check {
    Check::new("log", move || {
        let on_disk = fs_err::read(log.dir().join("checkpoint")).map_err(|e| e.to_string())?;
        Checkpoint::open(&on_disk, log.verifier()).map_err(|e| e.to_string())?;
        if on_disk != log.published_checkpoint().as_bytes() {
            return Err("the checkpoint on disk is not the one this server wrote".into());
        }
        Ok(())
    })
}

fn log_size_gauge(log: Arc<Log>) -> crate::routes::ops::Gauge {
    (
        "zt_log_size".to_owned(),
        Box::new(move || Some(log.size() as f64)),
    )
}

/// The pipeline's own figures (reproducibility, sandbox overhead, policy pass rate, drills,
/// open criticals, waivers near expiry: `zt metrics`) over the last 30 days, from the ledger;
/// computed at most once a minute, however often Prometheus scrapes.
fn pipeline_metrics(ws: Workspace) -> crate::routes::ops::TextSource {
    const WINDOW: i64 = 30 * 86_400;
    const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
    let cache: std::sync::Mutex<Option<(std::time::Instant, String)>> = std::sync::Mutex::new(None);
    Box::new(move || {
        let mut cache = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, text)) = cache.as_ref()
            && at.elapsed() < FRESH
        {
            return Some(text.clone());
        }
        let text = zt_pipeline::metrics::prometheus(&ws, ws.now() - WINDOW).ok()?;
        *cache = Some((std::time::Instant::now(), text.clone()));
        Some(text)
    })
}
