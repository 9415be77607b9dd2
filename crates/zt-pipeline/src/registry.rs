//! The curated mirror served as package registries (`zt serve`: Cargo sparse index, npm,
//! PyPI simple index): a snapshot of the admitted packages, reloaded when the mirror's index
//! is replaced (checked with one `stat` per request), and the held versions with the reasons
//! intake gave. The documents themselves are built by [`zt_deps::registry`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use zt_core::Workspace;
pub use zt_deps::Ecosystem;
use zt_deps::intake::mirror::Mirror;
pub use zt_deps::registry::{self as documents, Item, Snapshot};

use crate::Error;

/// What identifies one version of the mirror's index file.
type Stamp = Option<(std::time::SystemTime, u64, u64)>;

/// The registries' view of one workspace's mirror.
#[derive(Debug)]
pub struct Registry {
    mirror: Mirror,
    index: PathBuf,
    decisions: PathBuf,
    state: Mutex<(Stamp, Arc<Snapshot>)>,
    /// The workspace and its upstream registries for intake on demand (`[deps.on_demand]`),
    /// one intake at a time.
    on_demand: Option<(Workspace, zt_core::config::OnDemandConfig)>,
    taking_in: Mutex<()>,
}

/// A version intake held (too new, provenance from another repository, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Its package URL.
    pub purl: String,
    /// Why, as intake said it.
    pub reasons: Vec<String>,
    /// When it was decided.
    pub decided_at: String,
}

fn stamp(path: &std::path::Path) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// The admitted versions of `name` in `ecosystem` (looked up by the name as the ecosystem
/// normalises it).
pub fn admitted<'a>(snap: &'a Snapshot, ecosystem: Ecosystem, name: &str) -> Option<&'a [Item]> {
    match ecosystem {
        Ecosystem::CratesIo => snap.cargo.get(&name.to_ascii_lowercase()),
        Ecosystem::Npm => snap.npm.get(name),
        Ecosystem::PyPI => snap.pypi.get(&zt_deps::registry::pep503(name)),
        _ => None,
    }
    .map(Vec::as_slice)
}

impl Registry {
    /// The registries of the workspace's mirror.
    pub fn open(ws: &Workspace) -> Registry {
        let root = ws.layout().mirror();
        Registry {
            index: root.join("index.json"),
            mirror: Mirror::at(&root),
            decisions: ws.root().join(".zt/intake/decisions"),
            state: Mutex::new((None, Arc::new(Snapshot::default()))),
            on_demand: ws
                .config()
                .ok()
                .and_then(|c| c.deps.on_demand)
                .map(|o| (ws.clone(), o)),
            taking_in: Mutex::new(()),
        }
    }

    /// The upstream `[deps.on_demand]` names for `ecosystem`, if any.
    fn upstream(&self, ecosystem: Ecosystem) -> Option<(&Workspace, &str)> {
        let (ws, o) = self.on_demand.as_ref()?;
        let url = match ecosystem {
            Ecosystem::CratesIo => o.cargo.as_deref(),
            Ecosystem::Npm => o.npm.as_deref(),
            Ecosystem::PyPI => o.pypi.as_deref(),
            _ => None,
        }?;
        Some((ws, url))
    }

    /// Whether a missing package of `ecosystem` is taken in from upstream when asked for.
    pub fn on_demand_enabled(&self, ecosystem: Ecosystem) -> bool {
        self.upstream(ecosystem).is_some()
    }

    /// Takes `name` in from upstream if an approved version exists (see
    /// [`crate::on_demand`]); one at a time, and not again once the mirror has it.
    pub fn take_in(
        &self,
        ecosystem: Ecosystem,
        name: &str,
    ) -> Result<crate::on_demand::OnDemand, Error> {
        let Some((ws, url)) = self.upstream(ecosystem) else {
            return Ok(crate::on_demand::OnDemand::Off);
        };
        let _one = self
            .taking_in
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(items) = admitted(&*self.snapshot()?, ecosystem, name) {
            return Ok(crate::on_demand::OnDemand::Decided {
                version: items.last().map(|i| i.version.clone()).unwrap_or_default(),
                verdict: "admitted".into(),
                reasons: Vec::new(),
            });
        }
        // A version intake held stays held (403 with its reasons) until someone acts on it;
        // asking again does not fetch and decide again.
        if self.held(ecosystem, name, None)?.is_some() {
            return Ok(crate::on_demand::OnDemand::NotApproved);
        }
        match ecosystem {
            Ecosystem::Npm => crate::on_demand::npm(ws, url, name),
            Ecosystem::PyPI => {
                let files = self
                    .on_demand
                    .as_ref()
                    .and_then(|(_, o)| o.pypi_files.as_deref())
                    .unwrap_or("https://files.pythonhosted.org");
                crate::on_demand::pypi(ws, url, files, name)
            }
            _ => crate::on_demand::cargo(ws, url, name),
        }
    }

    /// The admitted packages as of now (reloaded if the mirror's index changed).
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, Error> {
        let now = stamp(&self.index);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0.is_some() && state.0 == now {
            return Ok(state.1.clone());
        }
        let known = state.1.by_digest();
        let snap = Arc::new(Snapshot::load(&self.mirror, &known)?);
        *state = (now, snap.clone());
        Ok(snap)
    }

    /// The archive of an admitted item, re-hashed on read (`None` if it left the mirror).
    pub fn archive(&self, item: &Item) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.mirror.get(&item.entry.purl)?.map(|(_, bytes)| bytes))
    }

    /// The newest held decision for `name` (and `version`, if given) in `ecosystem`, if no
    /// later decision admitted it.
    pub fn held(
        &self,
        ecosystem: Ecosystem,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<Held>, Error> {
        let norm = |n: &str| match ecosystem {
            Ecosystem::PyPI => zt_deps::registry::pep503(n),
            Ecosystem::CratesIo => n.to_ascii_lowercase(),
            _ => n.to_owned(),
        };
        let want = norm(name);
        let rd = match fs_err::read_dir(&self.decisions) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut best: Option<Held> = None;
        for entry in rd {
            let path = entry?.path();
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if !file.is_some_and(|f| f.contains("-held-") && f.ends_with(".json")) {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&fs_err::read(&path)?) else {
                continue;
            };
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default();
            if s("verdict") != "held"
                || s("ecosystem") != ecosystem.name()
                || norm(s("name")) != want
                || version.is_some_and(|w| s("version") != w)
            {
                continue;
            }
            let decided_at = s("decided_at").to_owned();
            if best.as_ref().is_some_and(|b| b.decided_at >= decided_at) {
                continue;
            }
            let reasons = v
                .get("reasons")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    Some(format!(
                        "[{}] {}",
                        r.get("rule")?.as_str()?,
                        r.get("message")?.as_str()?
                    ))
                })
                .collect();
            best = Some(Held {
                purl: s("purl").to_owned(),
                reasons,
                decided_at,
            });
        }
        Ok(best)
    }
}
