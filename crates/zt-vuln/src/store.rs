//! The local advisory store under `.zt/vuln/`: every record once in `records.jsonl`, an index
//! per ecosystem (normalised package name → record positions) and an id/alias index, all in
//! one generation directory named by `manifest.json`. A query reads the manifest, the one
//! ecosystem index it needs and the records that index points at — never the whole database.
//! An import writes a complete new generation, then swaps the manifest atomically, so a crash
//! leaves the previous store intact.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::osv::{Advisory, parse_rfc3339_seconds};
use crate::{Ecosystem, Error};

/// The store format version.
const FORMAT: u32 = 1;

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Store format version.
    pub format: u32,
    /// The directory holding the current generation.
    pub generation: String,
    /// When the last import finished (seconds since the Unix epoch).
    pub imported_at: i64,
    /// Number of records.
    pub records: usize,
    /// The newest `modified` of any record (RFC 3339).
    pub newest_modified: Option<String>,
    /// Per ecosystem: record and package counts, and the index file.
    pub ecosystems: BTreeMap<String, EcosystemEntry>,
    /// Record counts per source (`osv`, `rustsec`).
    pub sources: BTreeMap<String, usize>,
    /// Record counts per kind (`vulnerability`, `malicious`, `unmaintained`, …).
    pub kinds: BTreeMap<String, usize>,
    /// Withdrawn records (kept, never matched).
    pub withdrawn: usize,
}

impl Manifest {
    /// The time of the advisory data itself (seconds since the Unix epoch): the newest
    /// `modified` of any record, never later than the import (a record dated in the future
    /// does not make the database look fresh). `None` when no record carries a usable time:
    /// such a database has no age and counts as stale.
    ///
    /// This, not [`Manifest::imported_at`], is the database's age: re-importing an old copy
    /// today does not make it new.
    pub fn data_time(&self) -> Option<i64> {
        self.newest_modified
            .as_deref()
            .and_then(parse_rfc3339_seconds)
            .map(|t| t.min(self.imported_at))
    }

    /// Whole days between [`Manifest::data_time`] and `now` (0 for data newer than `now`).
    pub fn age_days(&self, now: i64) -> Option<u64> {
        self.data_time()
            .map(|t| u64::try_from(now.saturating_sub(t).max(0) / 86_400).unwrap_or(0))
    }

    /// Whether the data is older than `max_days` at `now`: more than `max_days × 86 400`
    /// seconds old, or undated. The same rule as the built-in policy `vuln.stale-database`
    /// (fresh iff `now − updated ≤ max_days` days), so `zt vuln db status --max-age-days N`
    /// and a gate with `max_vuln_db_age_days = N` agree on every database.
    pub fn is_stale(&self, now: i64, max_days: u64) -> bool {
        let max = i64::try_from(max_days)
            .unwrap_or(i64::MAX)
            .saturating_mul(86_400);
        match self.data_time() {
            Some(t) => now.saturating_sub(t) > max,
            None => true,
        }
    }
}

/// One ecosystem in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EcosystemEntry {
    /// Records that affect a package of this ecosystem.
    pub records: usize,
    /// Distinct packages.
    pub packages: usize,
    /// The index file inside the generation directory.
    pub index: String,
}

/// Where a record sits in `records.jsonl`.
type Span = (u64, u32);

/// One ecosystem's index: normalised package name → record spans.
type Index = Arc<HashMap<String, Vec<Span>>>;

/// An opened store: the manifest, with indexes and records read on demand.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    records: Mutex<Option<fs_err::File>>,
    indexes: Mutex<HashMap<String, Index>>,
    /// Records already read and parsed, by byte offset: a scan asks for the same package
    /// (and so the same records) once per component.
    parsed: Mutex<HashMap<u64, Arc<Advisory>>>,
}

/// The normalised form of a package name used as the index key: PyPI per PEP 503
/// (lowercase, runs of `-`, `_`, `.` → `-`); crates.io lowercase with `_` → `-` (crates.io
/// treats them as the same name); NuGet, Packagist, Pub, Debian, Alpine lowercase; others
/// as written.
pub fn normalize_name(eco: &Ecosystem, name: &str) -> String {
    match eco {
        Ecosystem::PyPI => zt_core::purl::pep503(name),
        Ecosystem::CratesIo => name.trim().to_ascii_lowercase().replace('_', "-"),
        Ecosystem::NuGet
        | Ecosystem::Packagist
        | Ecosystem::Pub
        | Ecosystem::Debian
        | Ecosystem::Ubuntu
        | Ecosystem::Alpine => name.trim().to_lowercase(),
        _ => name.trim().to_owned(),
    }
}

/// The index key of an ecosystem: its OSV name without a release suffix.
pub fn ecosystem_key(osv_ecosystem: &str) -> String {
    Ecosystem::parse(osv_ecosystem).name().to_owned()
}

fn slug(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl Store {
    /// The default store directory under a project root.
    pub fn default_dir(root: &Path) -> PathBuf {
        root.join(".zt").join("vuln")
    }

    /// Opens the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, Error> {
        let path = dir.join("manifest.json");
        if !path.exists() {
            return Err(Error::Store {
                path,
                reason: "no vulnerability database here yet".into(),
            });
        }
        let text = fs_err::read_to_string(&path)?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::Store {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if manifest.format != FORMAT {
            return Err(Error::Store {
                path,
                reason: format!("format {} is not {FORMAT}", manifest.format),
            });
        }
        Ok(Store {
            dir: dir.to_owned(),
            manifest,
            records: Mutex::new(None),
            indexes: Mutex::new(HashMap::new()),
            parsed: Mutex::new(HashMap::new()),
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn generation(&self) -> PathBuf {
        self.dir.join(&self.manifest.generation)
    }

    fn index(&self, key: &str) -> Result<Option<Index>, Error> {
        let Some(entry) = self.manifest.ecosystems.get(key) else {
            return Ok(None);
        };
        let mut cache = self.indexes.lock().map_err(|_| self.poisoned())?;
        if let Some(ix) = cache.get(key) {
            return Ok(Some(ix.clone()));
        }
        let path = self.generation().join(&entry.index);
        let text = fs_err::read_to_string(&path)?;
        let ix: HashMap<String, Vec<Span>> =
            serde_json::from_str(&text).map_err(|e| Error::Store {
                path,
                reason: e.to_string(),
            })?;
        let ix = Arc::new(ix);
        cache.insert(key.to_owned(), ix.clone());
        Ok(Some(ix))
    }

    fn poisoned(&self) -> Error {
        Error::Store {
            path: self.dir.clone(),
            reason: "a reader panicked".into(),
        }
    }

    fn read_span_shared(&self, span: Span) -> Result<Arc<Advisory>, Error> {
        if let Some(a) = self
            .parsed
            .lock()
            .map_err(|_| self.poisoned())?
            .get(&span.0)
        {
            return Ok(a.clone());
        }
        let adv = Arc::new(self.read_span(span)?);
        self.parsed
            .lock()
            .map_err(|_| self.poisoned())?
            .insert(span.0, adv.clone());
        Ok(adv)
    }

    fn read_span(&self, (offset, len): Span) -> Result<Advisory, Error> {
        let path = self.generation().join("records.jsonl");
        let mut guard = self.records.lock().map_err(|_| self.poisoned())?;
        if guard.is_none() {
            *guard = Some(fs_err::File::open(&path)?);
        }
        let Some(file) = guard.as_ref() else {
            return Err(self.poisoned());
        };
        let mut buf = vec![0u8; len as usize];
        file.file()
            .read_exact_at(&mut buf, offset)
            .map_err(|e| Error::Store {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        serde_json::from_slice(&buf).map_err(|e| Error::Store {
            path,
            reason: format!("record at byte {offset}: {e}"),
        })
    }

    /// Every record that names package `name` of ecosystem `eco` (withdrawn ones included;
    /// the matcher decides).
    pub fn query(&self, eco: &Ecosystem, name: &str) -> Result<Vec<Advisory>, Error> {
        Ok(self
            .query_shared(eco, name)?
            .iter()
            .map(|a| Advisory::clone(a))
            .collect())
    }

    /// [`Store::query`] without copies: each record is read and parsed once per opened
    /// store and shared afterwards.
    pub fn query_shared(&self, eco: &Ecosystem, name: &str) -> Result<Vec<Arc<Advisory>>, Error> {
        let Some(ix) = self.index(eco.name())? else {
            return Ok(Vec::new());
        };
        let Some(spans) = ix.get(&normalize_name(eco, name)) else {
            return Ok(Vec::new());
        };
        spans.iter().map(|s| self.read_span_shared(*s)).collect()
    }

    /// The package names of one ecosystem (normalised), sorted.
    pub fn package_names(&self, eco: &Ecosystem) -> Result<Vec<String>, Error> {
        let Some(ix) = self.index(eco.name())? else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = ix.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    /// The record with this id, or whose aliases include it.
    pub fn get(&self, id: &str) -> Result<Advisory, Error> {
        let path = self.generation().join("ids.json");
        let text = fs_err::read_to_string(&path)?;
        let ids: HashMap<String, Span> = serde_json::from_str(&text).map_err(|e| Error::Store {
            path,
            reason: e.to_string(),
        })?;
        let span = ids
            .get(id)
            .or_else(|| ids.get(&id.to_ascii_uppercase()))
            .ok_or_else(|| Error::UnknownAdvisory(id.to_owned()))?;
        self.read_span(*span)
    }

    /// Every record in the store (for re-imports).
    fn all(&self) -> Result<Vec<Advisory>, Error> {
        let path = self.generation().join("records.jsonl");
        let text = fs_err::read_to_string(&path)?;
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| Error::Store {
                    path: path.clone(),
                    reason: format!("line {}: {e}", i + 1),
                })
            })
            .collect()
    }
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Record files read.
    pub files: usize,
    /// Records new to the store.
    pub added: usize,
    /// Records that replaced an older version of themselves.
    pub updated: usize,
    /// Records already present with the same or a newer `modified`.
    pub unchanged: usize,
    /// Records in the store afterwards.
    pub total: usize,
    /// Bad records, each reported and skipped.
    #[serde(serialize_with = "ser_errors")]
    pub skipped: Vec<Error>,
}

fn ser_errors<S: serde::Serializer>(v: &[Error], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}

/// Imports every OSV JSON (`*.json`), OSV YAML (`*.yaml`, `*.yml`) and RustSec (`*.md` with
/// a TOML front matter) record under `paths` into the store at `dir`. A record replaces the
/// stored one with the same id unless the stored one is newer (`modified`).
pub fn import(dir: &Path, paths: &[PathBuf], now: i64) -> Result<ImportReport, Error> {
    let mut report = ImportReport::default();
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("`{}` does not exist", p.display()),
            )));
        }
        walk(p, &mut files)?;
    }
    files.sort();
    let mut records: BTreeMap<String, Advisory> = BTreeMap::new();
    if dir.join("manifest.json").exists() {
        for adv in Store::open(dir)?.all()? {
            records.insert(adv.id.clone(), adv);
        }
    }
    for file in files {
        let parsed = match read_record(&file) {
            Ok(Some(adv)) => adv,
            Ok(None) => continue,
            Err(e) => {
                report.skipped.push(e);
                continue;
            }
        };
        report.files += 1;
        match records.get(&parsed.id) {
            None => {
                report.added += 1;
                records.insert(parsed.id.clone(), parsed);
            }
            Some(old) => {
                let (o, n) = (
                    parse_rfc3339_seconds(&old.modified),
                    parse_rfc3339_seconds(&parsed.modified),
                );
                if n > o || (n == o && *old != parsed) {
                    report.updated += 1;
                    records.insert(parsed.id.clone(), parsed);
                } else {
                    report.unchanged += 1;
                }
            }
        }
    }
    report.total = records.len();
    write_generation(dir, &records, now)?;
    Ok(report)
}

pub(crate) fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    if p.is_dir() {
        for entry in fs_err::read_dir(p)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            walk(&entry.path(), out)?;
        }
    } else {
        out.push(p.to_owned());
    }
    Ok(())
}

/// Reads one file as a record; `Ok(None)` for files that are not records (other
/// extensions, Markdown without a TOML front matter such as a README).
pub(crate) fn read_record(file: &Path) -> Result<Option<Advisory>, Error> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "json" => crate::osv::parse_record(&fs_err::read_to_string(file)?, false, file).map(Some),
        "yaml" | "yml" => {
            crate::osv::parse_record(&fs_err::read_to_string(file)?, true, file).map(Some)
        }
        "md" => {
            let text = fs_err::read_to_string(file)?;
            if !text.trim_start_matches('\u{feff}').starts_with("```toml") {
                return Ok(None);
            }
            crate::rustsec::parse_advisory(&text, file).map(Some)
        }
        _ => Ok(None),
    }
}

fn write_generation(
    dir: &Path,
    records: &BTreeMap<String, Advisory>,
    now: i64,
) -> Result<(), Error> {
    fs_err::create_dir_all(dir)?;
    let old = Store::open(dir).ok().map(|s| s.manifest.generation);
    let gen_name = format!("gen-{now}-{}", std::process::id());
    let gdir = dir.join(&gen_name);
    if gdir.exists() {
        fs_err::remove_dir_all(&gdir)?;
    }
    fs_err::create_dir_all(&gdir)?;
    let mut jsonl: Vec<u8> = Vec::new();
    let mut ids: BTreeMap<String, Span> = BTreeMap::new();
    let mut by_eco: BTreeMap<String, BTreeMap<String, Vec<Span>>> = BTreeMap::new();
    let mut eco_records: BTreeMap<String, usize> = BTreeMap::new();
    let mut manifest = Manifest {
        format: FORMAT,
        generation: gen_name.clone(),
        imported_at: now,
        records: records.len(),
        newest_modified: None,
        ecosystems: BTreeMap::new(),
        sources: BTreeMap::new(),
        kinds: BTreeMap::new(),
        withdrawn: 0,
    };
    let mut newest: Option<(i64, String)> = None;
    for adv in records.values() {
        let line = serde_json::to_vec(adv).map_err(|e| Error::Store {
            path: gdir.clone(),
            reason: e.to_string(),
        })?;
        let span: Span = (
            jsonl.len() as u64,
            u32::try_from(line.len()).unwrap_or(u32::MAX),
        );
        jsonl.extend_from_slice(&line);
        jsonl.push(b'\n');
        for alias in &adv.aliases {
            ids.entry(alias.clone()).or_insert(span);
        }
        ids.insert(adv.id.clone(), span);
        let mut ecos_of_record = std::collections::BTreeSet::new();
        for a in &adv.affected {
            let Some(pkg) = &a.package else { continue };
            let eco = Ecosystem::parse(&pkg.ecosystem);
            let key = eco.name().to_owned();
            let spans = by_eco
                .entry(key.clone())
                .or_default()
                .entry(normalize_name(&eco, &pkg.name))
                .or_default();
            if !spans.contains(&span) {
                spans.push(span);
            }
            ecos_of_record.insert(key);
        }
        for key in ecos_of_record {
            *eco_records.entry(key).or_default() += 1;
        }
        *manifest.sources.entry(adv.source.clone()).or_default() += 1;
        *manifest
            .kinds
            .entry(adv.kind.name().to_owned())
            .or_default() += 1;
        if adv.withdrawn.is_some() {
            manifest.withdrawn += 1;
        }
        if let Some(t) = parse_rfc3339_seconds(&adv.modified)
            && newest.as_ref().is_none_or(|(n, _)| t > *n)
        {
            newest = Some((t, adv.modified.clone()));
        }
    }
    manifest.newest_modified = newest.map(|(_, s)| s);
    write_file(&gdir.join("records.jsonl"), &jsonl)?;
    write_file(&gdir.join("ids.json"), &to_json(&ids, &gdir)?)?;
    for (key, ix) in &by_eco {
        let file = format!("eco-{}.json", slug(key));
        write_file(&gdir.join(&file), &to_json(ix, &gdir)?)?;
        manifest.ecosystems.insert(
            key.clone(),
            EcosystemEntry {
                records: eco_records.get(key).copied().unwrap_or(0),
                packages: ix.len(),
                index: file,
            },
        );
    }
    zt_core::fsutil::sync_dir(&gdir)?;
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Store {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    zt_core::fsutil::write_atomic(&dir.join("manifest.json"), &text)?;
    if let Some(old) = old.filter(|o| *o != gen_name) {
        // the new manifest is durable: the old generation is garbage now
        let _ = fs_err::remove_dir_all(dir.join(old));
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T, gdir: &Path) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(v).map_err(|e| Error::Store {
        path: gdir.to_owned(),
        reason: e.to_string(),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = fs_err::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_per_ecosystem() {
        assert_eq!(
            normalize_name(&Ecosystem::PyPI, "Zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(
            normalize_name(&Ecosystem::CratesIo, "Abi_Stable"),
            "abi-stable"
        );
        assert_eq!(
            normalize_name(&Ecosystem::Npm, "@Scope/Name"),
            "@Scope/Name"
        );
        assert_eq!(ecosystem_key("Debian:12"), "Debian");
    }

    fn manifest(imported_at: i64, newest: Option<&str>) -> Manifest {
        Manifest {
            format: FORMAT,
            generation: "gen".into(),
            imported_at,
            records: 1,
            newest_modified: newest.map(str::to_owned),
            ecosystems: BTreeMap::new(),
            sources: BTreeMap::new(),
            kinds: BTreeMap::new(),
            withdrawn: 0,
        }
    }

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_796_515_200; // 2026-12-06T00:00:00Z

    /// Issue 15: a 108-day-old database re-imported today passed the policy's staleness rule
    /// (which read the import time) while `zt vuln db status` called it stale.
    #[test]
    fn an_old_database_reimported_today_is_stale() {
        let old = crate::osv::parse_rfc3339_seconds("2026-08-20T00:00:00Z").unwrap();
        assert_eq!((NOW - old) / DAY, 108);
        let m = manifest(NOW, Some("2026-08-20T00:00:00Z"));
        assert_eq!(m.data_time(), Some(old));
        assert_eq!(m.age_days(NOW), Some(108));
        assert!(m.is_stale(NOW, 7));
        assert!(m.is_stale(NOW, 107));
        assert!(!m.is_stale(NOW, 108));
    }

    /// The boundary is the policy's: fresh while `now - updated <= max days`, to the second.
    #[test]
    fn staleness_is_exact_to_the_second_like_the_policy() {
        let m = manifest(NOW, Some("2026-12-06T00:00:00Z"));
        assert!(!m.is_stale(NOW + 7 * DAY, 7));
        assert!(m.is_stale(NOW + 7 * DAY + 1, 7));
        // whole days shown, but half a day over is stale
        assert_eq!(m.age_days(NOW + 7 * DAY + DAY / 2), Some(7));
        assert!(m.is_stale(NOW + 7 * DAY + DAY / 2, 7));
    }

    #[test]
    fn future_dated_records_and_undated_databases() {
        // a record claiming to be from next year is no newer than the import
        let m = manifest(NOW, Some("2027-12-01T00:00:00Z"));
        assert_eq!(m.data_time(), Some(NOW));
        assert!(m.is_stale(NOW + 8 * DAY, 7));
        let m = manifest(NOW, None);
        assert_eq!(m.data_time(), None);
        assert_eq!(m.age_days(NOW), None);
        assert!(m.is_stale(NOW, 36_500));
    }
}
