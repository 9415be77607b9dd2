//! The workspace every workflow runs in: the repository root, the `.zt` layout, the clock and
//! where the ledger lives. Resolved once (flags, `zt.toml`, environment) and passed to every
//! workflow, so no crate re-derives a `.zt/...` path, reads the wall clock or picks a ledger on
//! its own.
//!
//! ```
//! use zt_core::workspace::{Clock, StoreLocation, Workspace};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let ws = Workspace::new(dir.path()).with_clock(Clock::Fixed(1_700_000_000));
//! assert_eq!(ws.now(), 1_700_000_000);
//! assert!(ws.layout().bundles().ends_with(".zt/bundles"));
//! assert_eq!(ws.store(), &StoreLocation::Sqlite(dir.path().join(".zt/ledger.db")));
//! ```

use std::path::{Path, PathBuf};

use crate::config::{CONFIG_FILE, Config, ConfigError};

/// The name of zt's state directory in a repository.
pub const STATE_DIR: &str = ".zt";

/// The environment variable that points every command at a ledger (overrides `zt.toml`'s
/// `[store] url`): `postgres://…`, `sqlite:PATH` or a plain path.
pub const STORE_URL_ENV: &str = "ZT_STORE_URL";

/// The environment variable that fixes the clock (RFC 3339 or Unix seconds). Meant for tests
/// and for replaying a decision as of a past time; zt says so on stderr when it is set.
pub const CLOCK_ENV: &str = "ZT_NOW";

/// The `.zt` directory's layout: every path zt keeps state under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout of the state directory `dir` (normally `<repo>/.zt`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The state directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Signed bundles, one file each, named by kind and digest.
    pub fn bundles(&self) -> PathBuf {
        self.dir.join("bundles")
    }

    /// The transparency log (tiles, checkpoint, log key).
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// The embedded ledger.
    pub fn ledger(&self) -> PathBuf {
        self.dir.join("ledger.db")
    }

    /// Signing keys made by zt (`local` from `zt init`, `pipeline`).
    pub fn keys(&self) -> PathBuf {
        self.dir.join("keys")
    }

    /// The private key `zt init` makes (its public half is `local.pub`).
    pub fn local_key(&self) -> PathBuf {
        self.keys().join("local")
    }

    /// The key `pipeline run` makes when `zt.toml` trusts no key whose private half is here.
    pub fn pipeline_key(&self) -> PathBuf {
        self.keys().join("pipeline")
    }

    /// Unsigned provenance and reproducibility statements written by builds.
    pub fn provenance(&self) -> PathBuf {
        self.dir.join("provenance")
    }

    /// Build logs.
    pub fn build_logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The test stage's JUnit report and log.
    pub fn tests(&self) -> PathBuf {
        self.dir.join("tests")
    }

    /// SBOMs written by the pipeline.
    pub fn sbom(&self) -> PathBuf {
        self.dir.join("sbom")
    }

    /// The local OSV advisory store.
    pub fn vuln_db(&self) -> PathBuf {
        self.dir.join("vuln")
    }

    /// The curated dependency mirror.
    pub fn mirror(&self) -> PathBuf {
        self.dir.join("mirror")
    }

    /// The secrets store.
    pub fn secrets(&self) -> PathBuf {
        self.dir.join("secrets")
    }

    /// Digests of the programs sandboxed commands executed, by file identity (a cache: see
    /// `zt_build::sandbox::Spec::program_digests`).
    pub fn program_digests(&self) -> PathBuf {
        self.dir.join("cache").join("program-digests")
    }

    /// The address file of a running `zt serve` (so other commands can go through it).
    pub fn server_address(&self) -> PathBuf {
        self.dir.join("serve.addr")
    }
}

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A fixed instant (Unix seconds): tests, and replaying a decision as of a past time.
    Fixed(i64),
}

impl Clock {
    /// The current time in Unix seconds.
    pub fn now(self) -> i64 {
        match self {
            Clock::System => crate::time::now(),
            Clock::Fixed(t) => t,
        }
    }

    /// The clock `ZT_NOW` asks for, else the system clock. A value that does not parse is an
    /// error naming it, never silently the system time.
    pub fn from_env() -> Result<Clock, WorkspaceError> {
        match std::env::var(CLOCK_ENV) {
            Ok(v) if !v.trim().is_empty() => crate::time::parse_instant(v.trim(), None)
                .map(Clock::Fixed)
                .map_err(|reason| WorkspaceError::Clock { value: v, reason }),
            _ => Ok(Clock::System),
        }
    }
}

/// Which ledger the workspace uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded SQLite ledger at this path (the default: `.zt/ledger.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl StoreLocation {
    /// Parses a store URL: `postgres://…`/`postgresql://…`, `sqlite:PATH`, or a path (relative
    /// paths are taken from `root`).
    pub fn parse(url: &str, root: &Path) -> Result<StoreLocation, WorkspaceError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"));
        let path = match path {
            Some(p) => p,
            None if !url.contains("://") && !url.is_empty() => url,
            _ => {
                return Err(WorkspaceError::StoreUrl {
                    url: url.to_owned(),
                });
            }
        };
        Ok(StoreLocation::Sqlite(root.join(path)))
    }

    /// The location shown to users: a PostgreSQL URL without its password.
    pub fn display(&self) -> String {
        match self {
            StoreLocation::Sqlite(p) => p.display().to_string(),
            StoreLocation::Postgres(url) => redact_password(url),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A repository as zt sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
    layout: Layout,
    clock: Clock,
    store: StoreLocation,
}

impl Workspace {
    /// The workspace at `root` with the default layout (`root/.zt`), the system clock and the
    /// embedded ledger. Nothing is read or created.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let layout = Layout::new(root.join(STATE_DIR));
        let store = StoreLocation::Sqlite(layout.ledger());
        Self {
            root,
            layout,
            clock: Clock::System,
            store,
        }
    }

    /// The workspace at `root` as configured: the store from `ZT_STORE_URL`, else `zt.toml`'s
    /// `[store] url`, else the embedded ledger; the clock from `ZT_NOW`, else the system's.
    /// A missing `zt.toml` is fine (defaults); a broken one is an error.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, WorkspaceError> {
        let mut ws = Self::new(root);
        ws.clock = Clock::from_env()?;
        let from_env = std::env::var(STORE_URL_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty());
        let url = match from_env {
            Some(url) => Some(url),
            None => match Config::load(&ws.config_path()) {
                Ok(c) => c.store.url,
                Err(ConfigError::Missing(_)) => None,
                Err(e) => return Err(WorkspaceError::Config(Box::new(e))),
            },
        };
        if let Some(url) = url {
            ws.store = StoreLocation::parse(&url, &ws.root)?;
        }
        Ok(ws)
    }

    /// The workspace containing `start`: the nearest ancestor (or `start` itself) holding
    /// `zt.toml`, `.zt` or `.git`; `start` when none does.
    pub fn discover(start: &Path) -> Result<Self, WorkspaceError> {
        let start = fs_err::canonicalize(start).map_err(|e| WorkspaceError::Root {
            path: start.to_path_buf(),
            reason: e.to_string(),
        })?;
        let root = start
            .ancestors()
            .find(|d| {
                d.join(CONFIG_FILE).is_file()
                    || d.join(STATE_DIR).is_dir()
                    || d.join(".git").exists()
            })
            .unwrap_or(&start)
            .to_path_buf();
        Self::open(root)
    }

    /// The same workspace with another clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same workspace with another ledger.
    pub fn with_store(mut self, store: StoreLocation) -> Self {
        self.store = store;
        self
    }

    /// The same workspace with its state directory elsewhere (`--zt-dir`). The default ledger
    /// moves with it; a configured one stays.
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let default_store = self.store == StoreLocation::Sqlite(self.layout.ledger());
        self.layout = Layout::new(dir);
        if default_store {
            self.store = StoreLocation::Sqlite(self.layout.ledger());
        }
        self
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `.zt` layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The current time, from the workspace's clock (Unix seconds).
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Where the ledger is.
    pub fn store(&self) -> &StoreLocation {
        &self.store
    }

    /// `<root>/zt.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Reads `zt.toml`; a missing file gives the defaults.
    pub fn config(&self) -> Result<Config, ConfigError> {
        match Config::load(&self.config_path()) {
            Err(ConfigError::Missing(_)) => Ok(Config::default()),
            other => other,
        }
    }

    /// `path` relative to the root when it is below it (how artifacts are named in
    /// statements), else as given.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// Whether `path` is inside the workspace's state directory.
    pub fn is_state(&self, path: &Path) -> bool {
        path.starts_with(self.layout.dir())
    }
}

/// Why a workspace could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// The root does not exist or cannot be read.
    #[error("cannot use `{}` as the repository: {reason}", path.display())]
    Root {
        /// The path given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `ZT_NOW` does not parse.
    #[error("`ZT_NOW={value}` is not a time: {reason}")]
    Clock {
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// The store URL is neither PostgreSQL nor SQLite.
    #[error("store url `{url}` is not a ledger zt can open")]
    StoreUrl {
        /// The URL.
        url: String,
    },
    /// `zt.toml` is broken.
    #[error(transparent)]
    Config(Box<ConfigError>),
}

impl crate::Diagnostic for WorkspaceError {
    fn outcome(&self) -> crate::Outcome {
        crate::Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            WorkspaceError::Root { .. } => {
                "run zt inside a repository, or pass its path (`zt pipeline run DIR`)".into()
            }
            WorkspaceError::Clock { .. } => {
                "set `ZT_NOW` to an RFC 3339 time (`2026-01-31T12:00:00Z`) or Unix seconds, or unset it".into()
            }
            WorkspaceError::StoreUrl { .. } => {
                "use `postgres://user@host/db`, `sqlite:PATH` or a path in `[store] url` (zt.toml) or `ZT_STORE_URL`".into()
            }
            WorkspaceError::Config(e) => return e.help(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn store_urls() {
        let root = Path::new("/repo");
        assert_eq!(
            StoreLocation::parse("postgres://u@h/db", root).unwrap(),
            StoreLocation::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            StoreLocation::parse("sqlite:ledger.db", root).unwrap(),
            StoreLocation::Sqlite("/repo/ledger.db".into())
        );
        assert_eq!(
            StoreLocation::parse("/abs/l.db", root).unwrap(),
            StoreLocation::Sqlite("/abs/l.db".into())
        );
        assert!(StoreLocation::parse("mysql://x", root).is_err());
        assert!(StoreLocation::parse("", root).is_err());
        assert_eq!(
            StoreLocation::Postgres("postgres://u:secret@h/db".into()).display(),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn the_config_names_the_store() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(
            dir.path().join(CONFIG_FILE),
            "[store]\nurl = \"postgres://zt@127.0.0.1/test\"\n",
        )
        .unwrap();
        // ZT_STORE_URL is not set in unit tests.
        let ws = Workspace::open(dir.path()).unwrap();
        assert_eq!(
            ws.store(),
            &StoreLocation::Postgres("postgres://zt@127.0.0.1/test".into())
        );
    }

    #[test]
    fn a_moved_state_dir_takes_the_default_ledger_along() {
        let ws = Workspace::new("/r").with_state_dir("/elsewhere/.zt");
        assert_eq!(
            ws.store(),
            &StoreLocation::Sqlite("/elsewhere/.zt/ledger.db".into())
        );
        assert!(ws.is_state(Path::new("/elsewhere/.zt/keys/local")));
        assert!(!ws.is_state(Path::new("/r/src")));
    }
}
