//! Time zones for regorus's `time.*` builtins (`time.clock([ns, "Europe/Paris"])`, …), read
//! from the system's time zone database at first use, as OPA does.
//!
//! regorus names a zone with `chrono_tz::Tz` (`"Europe/Paris".parse::<Tz>()`) and converts
//! instants through chrono's [`TimeZone`]. The crates.io `chrono-tz` compiles the whole IANA
//! database into the program: ~66,000 spans, each holding a `&'static str`, so ~1 MB of
//! `.data.rel.ro` that the dynamic loader must relocate — one copy-on-write page fault per
//! 4 KiB — at **every** start of the position-independent `zt` binary, whatever the command;
//! ~0.65 ms of each `zt` process on the 2-core machine (docs/performance.md), for a feature
//! a policy rarely uses. This crate takes its place (`[patch.crates-io]` in the workspace's
//! `Cargo.toml`) with the part of its API regorus uses, and OPA's semantics: OPA is written
//! in Go, whose `time.LoadLocation` reads the zone's compiled TZif file (RFC 8536) from the
//! system's database. Here the database is the directory in `TZDIR` when that is set, else
//! the first of [`ZONEINFO_DIRS`] that has the zone; transitions are applied as Go applies
//! them (the type before the first transition, then the POSIX `TZ` footer after the last).
//!
//! What changes for a policy: a zone the machine's database lacks (no `tzdata` installed, or
//! a zone newer than it) is an evaluation error that says so, where the crates.io crate
//! carried its own copy of the database; and the rules are the machine's, as they are for OPA
//! and for every other program on it. UTC, the empty name and `Local` never reach this crate
//! (regorus handles them).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod posix;
mod tzif;

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};

/// Where zones are looked for when `TZDIR` is not set: the directories Go's `time` package
/// reads, in its order.
pub const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/usr/lib/locale/TZ",
    "/etc/zoneinfo",
];

/// How many loaded zones a process keeps (a policy may name zones from its input).
const CACHED: usize = 1024;

/// Why a name is not a time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The name cannot name a file of the database (empty, absolute, `..`, …).
    #[error(
        "`{name}` is not a time zone name: {reason}\nhelp: name an IANA zone such as `Europe/Paris` (`ls /usr/share/zoneinfo` lists them)"
    )]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No directory searched has the zone.
    #[error(
        "unknown time zone `{name}`: no such file under {searched}\nhelp: check the name (`ls /usr/share/zoneinfo` lists them), install the system's time zone database (`apt-get install tzdata`), or point `TZDIR` at one"
    )]
    NotFound {
        /// The name given.
        name: String,
        /// The directories searched.
        searched: String,
    },
    /// The zone's file is not a TZif file zt can read.
    #[error(
        "time zone `{name}`: {path} is not a time zone file ({reason})\nhelp: reinstall the time zone database (`apt-get install --reinstall tzdata`) or point `TZDIR` at another"
    )]
    Invalid {
        /// The name given.
        name: String,
        /// The file read.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A time zone of the system's database.
#[derive(Clone)]
pub struct Tz(Arc<Named>);

struct Named {
    name: String,
    zone: tzif::Zone,
}

impl Tz {
    /// The zone's name, as given.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Loads `name` from the first of `dirs` that has it (no cache).
    pub fn load(name: &str, dirs: &[PathBuf]) -> Result<Self, ParseError> {
        let invalid = |reason| ParseError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        // Go's `LoadLocation` refuses the same names
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > 255 {
            return Err(invalid("it is longer than 255 bytes"));
        }
        if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
            return Err(invalid("it is a path, not a name"));
        }
        if name
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty())
        {
            return Err(invalid("it has an empty, `.` or `..` part"));
        }
        for dir in dirs {
            let path = dir.join(name);
            let bytes = match read(&path) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(reason) => {
                    return Err(ParseError::Invalid {
                        name: name.to_owned(),
                        path: path.display().to_string(),
                        reason,
                    });
                }
            };
            return Self::from_tzif(name, &bytes).map_err(|e| match e {
                ParseError::Invalid { name, reason, .. } => ParseError::Invalid {
                    name,
                    path: path.display().to_string(),
                    reason,
                },
                other => other,
            });
        }
        Err(ParseError::NotFound {
            name: name.to_owned(),
            searched: dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The zone `name` from the bytes of its TZif file (RFC 8536, any version).
    pub fn from_tzif(name: &str, bytes: &[u8]) -> Result<Self, ParseError> {
        let zone = tzif::parse(bytes).map_err(|reason| ParseError::Invalid {
            name: name.to_owned(),
            path: "the bytes given".to_owned(),
            reason,
        })?;
        Ok(Self(Arc::new(Named {
            name: name.to_owned(),
            zone,
        })))
    }

    fn offset_at(&self, t: i64) -> TzOffset {
        let (utoff, abbr, _) = self.0.zone.at(t);
        TzOffset {
            tz: self.clone(),
            // every offset is within a day (checked when the file and its footer are read)
            fixed: FixedOffset::east_opt(utoff).unwrap_or(chrono::Utc.fix()),
            abbr: abbr.clone(),
        }
    }
}

/// The directories searched: `TZDIR` alone when set, else [`ZONEINFO_DIRS`].
pub fn search_dirs() -> Vec<PathBuf> {
    match std::env::var_os("TZDIR") {
        Some(dir) if !dir.is_empty() => vec![PathBuf::from(dir)],
        _ => ZONEINFO_DIRS.iter().map(PathBuf::from).collect(),
    }
}

/// The file's bytes; `None` when there is no such file (or it is a directory).
fn read(path: &Path) -> Result<Option<Vec<u8>>, String> {
    // What the name reaches is looked at before it is opened: a policy's input can pick the
    // name, and opening a FIFO or a device would block or read without end.
    let meta = match fs_err::metadata(path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    if meta.is_dir() {
        return Ok(None);
    }
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let file = fs_err::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(tzif::MAX_LEN + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(Some(bytes))
}

impl FromStr for Tz {
    type Err = ParseError;

    /// The zone `name` from the system's database, loaded once per process.
    fn from_str(name: &str) -> Result<Self, ParseError> {
        static CACHE: OnceLock<Mutex<HashMap<String, Tz>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Mutex::default);
        if let Some(tz) = cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Ok(tz.clone());
        }
        let tz = Tz::load(name, &search_dirs())?;
        let mut cached = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.len() < CACHED {
            cached.insert(name.to_owned(), tz.clone());
        }
        Ok(tz)
    }
}

impl PartialEq for Tz {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.name == other.0.name && self.0.zone == other.0.zone)
    }
}

impl Eq for Tz {}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name)
    }
}

/// The offset of a [`Tz`] at some instant, with its abbreviation (`CET`, `EDT`, `+0530`).
#[derive(Clone, Debug)]
pub struct TzOffset {
    tz: Tz,
    fixed: FixedOffset,
    abbr: Arc<str>,
}

impl TzOffset {
    /// The abbreviation, e.g. `CEST`.
    pub fn abbreviation(&self) -> &str {
        &self.abbr
    }
}

impl PartialEq for TzOffset {
    fn eq(&self, other: &Self) -> bool {
        self.tz == other.tz && self.fixed == other.fixed && self.abbr == other.abbr
    }
}

impl Eq for TzOffset {}

impl Offset for TzOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.abbr)
    }
}

impl TimeZone for Tz {
    type Offset = TzOffset;

    fn from_offset(offset: &TzOffset) -> Self {
        offset.tz.clone()
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<TzOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<TzOffset> {
        // each offset the zone uses gives one candidate instant; it is the answer when the
        // zone has that offset then (none in a gap, two in a fold)
        let wall = local.and_utc().timestamp();
        let mut found: Vec<(i64, TzOffset)> = Vec::new();
        for off in self.0.zone.offsets() {
            let t = wall - i64::from(off);
            let at = self.offset_at(t);
            if at.fixed.local_minus_utc() == off && !found.iter().any(|(u, _)| *u == t) {
                found.push((t, at));
            }
        }
        found.sort_by_key(|(t, _)| *t);
        let mut it = found.into_iter().map(|(_, o)| o);
        match (it.next(), it.next_back()) {
            (None, _) => MappedLocalTime::None,
            (Some(one), None) => MappedLocalTime::Single(one),
            (Some(earliest), Some(latest)) => MappedLocalTime::Ambiguous(earliest, latest),
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> TzOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> TzOffset {
        self.offset_at(utc.and_utc().timestamp())
    }
}

#[cfg(test)]
mod tests;
