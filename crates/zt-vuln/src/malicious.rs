//! Known-malicious packages: OSV records of kind `malicious` (the `MAL-` ids of
//! ossf/malicious-packages), matched against package URLs with the OSV rules — a version
//! listed in `versions[]` or inside a range; `introduced: "0"` without a fix means every
//! version. A package whose version is unknown matches any record that names it: a name
//! published as malware is reason enough to stop.
//!
//! Records come from the indexed store (`zt vuln db import`) or straight from OSV files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::matching::{RangeResult, evaluate_valid};
use crate::osv::{Advisory, AdvisoryKind, Event};
use crate::purl::Purl;
use crate::store::{Store, normalize_name};
use crate::{Ecosystem, Error};

/// One record that matches a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalwareMatch {
    /// The record id.
    pub id: String,
    /// Its summary.
    pub summary: Option<String>,
    /// What made it match.
    pub decided_by: String,
}

enum Records {
    Store(Box<Store>),
    Memory(HashMap<(String, String), Vec<Advisory>>),
}

/// Where malicious-package records are looked up.
pub struct MalwareDb {
    records: Records,
}

impl std::fmt::Debug for MalwareDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.records {
            Records::Store(_) => "MalwareDb(store)",
            Records::Memory(_) => "MalwareDb(files)",
        })
    }
}

fn is_malicious(adv: &Advisory) -> bool {
    adv.kind == AdvisoryKind::Malicious || adv.id.starts_with("MAL-")
}

impl MalwareDb {
    /// The malicious records of an imported store.
    pub fn from_store(store: Store) -> MalwareDb {
        MalwareDb {
            records: Records::Store(Box::new(store)),
        }
    }

    /// Reads OSV records (JSON/YAML) under `paths`; keeps the malicious ones. Bad records
    /// are returned, not fatal.
    pub fn load(paths: &[PathBuf]) -> Result<(MalwareDb, Vec<Error>), Error> {
        let mut files = Vec::new();
        for p in paths {
            if !p.exists() {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("`{}` does not exist", p.display()),
                )));
            }
            crate::store::walk(p, &mut files)?;
        }
        files.sort();
        let mut map: HashMap<(String, String), Vec<Advisory>> = HashMap::new();
        let mut bad = Vec::new();
        for f in files {
            let adv = match crate::store::read_record(&f) {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(e) => {
                    bad.push(e);
                    continue;
                }
            };
            if !is_malicious(&adv) {
                continue;
            }
            let mut keys: Vec<(String, String)> = adv
                .affected
                .iter()
                .filter_map(|a| a.package.as_ref())
                .map(|p| {
                    let eco = Ecosystem::parse(&p.ecosystem);
                    (eco.name().to_owned(), normalize_name(&eco, &p.name))
                })
                .collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                map.entry(k).or_default().push(adv.clone());
            }
        }
        Ok((
            MalwareDb {
                records: Records::Memory(map),
            },
            bad,
        ))
    }

    fn candidates(&self, eco: &Ecosystem, name: &str) -> Result<Vec<Advisory>, Error> {
        Ok(match &self.records {
            Records::Store(s) => s
                .query_shared(eco, name)?
                .into_iter()
                .filter(|a| is_malicious(a))
                .map(|a| Advisory::clone(&a))
                .collect(),
            Records::Memory(m) => m
                .get(&(eco.name().to_owned(), normalize_name(eco, name)))
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// The malicious records matching `purl` (its version, or any version when it has none).
    /// A purl that does not parse or has no OSV ecosystem matches nothing.
    pub fn lookup(&self, purl: &str) -> Result<Vec<MalwareMatch>, Error> {
        let Ok(p) = purl.parse::<Purl>() else {
            return Ok(Vec::new());
        };
        let Some(eco) = Ecosystem::of_purl(&p) else {
            return Ok(Vec::new());
        };
        let name = p.osv_name();
        let mut out = Vec::new();
        for adv in self.candidates(&eco, &name)? {
            if adv.withdrawn.is_some() {
                continue;
            }
            let version = p
                .version
                .as_deref()
                .filter(|v| !v.is_empty() && eco.validate(v).is_ok());
            let decided_by = match version {
                Some(v) => {
                    let ev = evaluate_valid(&adv, &eco, &name, v);
                    if !ev.affected {
                        continue;
                    }
                    describe(&ev)
                }
                None if every_version(&adv, &eco, &name) => {
                    "every version (introduced 0, never fixed)".to_owned()
                }
                None => "the name is published as malware; the version is unknown".to_owned(),
            };
            out.push(MalwareMatch {
                id: adv.id.clone(),
                summary: adv.summary.clone(),
                decided_by,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// Whether an entry for the package has a range from `0` with no fix, limit or last version.
fn every_version(adv: &Advisory, eco: &Ecosystem, name: &str) -> bool {
    let key = normalize_name(eco, name);
    adv.affected.iter().any(|a| {
        a.package.as_ref().is_some_and(|p| {
            let pe = Ecosystem::parse(&p.ecosystem);
            pe == *eco && normalize_name(&pe, &p.name) == key
        }) && a.ranges.iter().any(|r| {
            r.events
                .iter()
                .any(|e| matches!(e, Event::Introduced(v) if v == "0"))
                && !r.events.iter().any(|e| {
                    matches!(
                        e,
                        Event::Fixed(_) | Event::LastAffected(_) | Event::Limit(_)
                    )
                })
        })
    })
}

fn describe(ev: &crate::matching::Evaluation) -> String {
    for e in &ev.entries {
        if let Some(v) = &e.listed {
            return format!("affected[{}].versions lists {v}", e.index);
        }
        for r in &e.ranges {
            if let RangeResult::Affected { by } = &r.result {
                let from = match by {
                    Event::Introduced(v) if v == "0" => "every version from the first".to_owned(),
                    other => format!("{} {}", other.name(), other.version()),
                };
                return format!(
                    "affected[{}].ranges[{}] ({}): {from}",
                    e.index, r.index, r.kind
                );
            }
        }
    }
    String::new()
}

/// Reads a malware source: an imported store directory (with `manifest.json`) or a folder
/// of OSV files.
pub fn open(path: &Path) -> Result<(MalwareDb, Vec<Error>), Error> {
    if path.join("manifest.json").is_file() {
        return Ok((MalwareDb::from_store(Store::open(path)?), Vec::new()));
    }
    MalwareDb::load(&[path.to_path_buf()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/osv/malicious"
    );

    #[test]
    fn mal_records_by_version_list_and_range() {
        let (db, bad) = MalwareDb::load(&[PathBuf::from(SHARED)]).unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        // versions[] = ["1.0.0"] only
        let hit = db.lookup("pkg:pypi/3web-py@1.0.0").unwrap();
        assert_eq!(hit[0].id, "MAL-2024-9934");
        assert_eq!(hit[0].decided_by, "affected[0].versions lists 1.0.0");
        assert!(db.lookup("pkg:pypi/3web-py@2.0.0").unwrap().is_empty());
        // PEP 503: 3Web_Py is the same project
        assert_eq!(db.lookup("pkg:pypi/3Web_Py@1.0.0").unwrap().len(), 1);
        // introduced 0, no fix: every version
        let any = db.lookup("pkg:npm/--hiljson@7.7.7").unwrap();
        assert_eq!(any[0].id, "MAL-2022-2");
        assert!(any[0].decided_by.contains("every version"), "{any:?}");
        let go = db
            .lookup("pkg:golang/github.com/boltdb-go/bolt@v1.3.1")
            .unwrap();
        assert_eq!(go[0].id, "MAL-2025-2545");
        // no version: the name alone
        assert_eq!(db.lookup("pkg:gem/3scale-client").unwrap().len(), 1);
        assert!(db.lookup("pkg:npm/left-pad@1.3.0").unwrap().is_empty());
        assert!(db.lookup("not a purl").unwrap().is_empty());
    }
}
