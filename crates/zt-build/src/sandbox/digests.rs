//! A cache of the digests of programs a sandboxed command executed, by the identity of the
//! file ([`super::Spec::program_digests`]).
//!
//! Every build and install hook records the SHA-256 of each program it executes. The same
//! few programs run every time — `node` (a 99 MB executable: ~60 ms of SHA-256 on this
//! project's machine, which a 30 ms npm hook then waits for), `python3`, `sh`, `cc1` — so the
//! digest of a file that has not changed is kept, keyed by what changes whenever its content
//! can: device, inode, size, modification time and **change time** (ns). The change time is
//! set by the kernel on every write, `truncate`, `utimes` or rename; no unprivileged call sets
//! it to a chosen value, so a file rewritten in place, or another file put in its place, gets
//! a new key.
//!
//! Only files whose change time is at least [`SETTLED`] older than the run's start are kept: a
//! file being written as it is hashed (or by the command itself, e.g. a program the hook wrote
//! and ran) is not, and a file system with coarse timestamps cannot give a later write the
//! same key. The cache is a hint: a missing, unreadable or damaged file is an empty cache, and
//! a line that does not parse is skipped. It lives in the repository's `.zt/cache/`, which no
//! sandboxed command can reach.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long before the run's start a file must last have changed for its digest to be kept.
pub(crate) const SETTLED: Duration = Duration::from_secs(2);

/// The most digests kept (the newest).
const MAX_ENTRIES: usize = 2048;

/// Device, inode, size, mtime (s, ns), ctime (s, ns).
type Key = (u64, u64, u64, i64, i64, i64, i64);

fn key(m: &Metadata) -> Key {
    (
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    )
}

/// The cache as read at the start of a run, and what the run adds.
pub(crate) struct DigestCache {
    path: PathBuf,
    started: SystemTime,
    known: HashMap<Key, String>,
    added: Vec<(Key, String)>,
}

impl DigestCache {
    /// Reads the cache at `path` (nothing there: empty).
    pub(crate) fn load(path: &Path) -> DigestCache {
        DigestCache {
            path: path.to_path_buf(),
            started: SystemTime::now(),
            known: read(path).into_iter().collect(),
            added: Vec::new(),
        }
    }

    /// The digest of the file `m` describes, if it was hashed before as it is now.
    pub(crate) fn get(&self, m: &Metadata) -> Option<&String> {
        self.known.get(&key(m))
    }

    /// Keeps `digest` for the file `m` describes, if that file had settled before the run
    /// began.
    pub(crate) fn insert(&mut self, m: &Metadata, digest: &str) {
        let changed = SystemTime::UNIX_EPOCH
            + Duration::new(
                u64::try_from(m.ctime()).unwrap_or(0),
                u32::try_from(m.ctime_nsec()).unwrap_or(0),
            );
        let settled = self
            .started
            .checked_sub(SETTLED)
            .is_some_and(|before| changed <= before);
        let k = key(m);
        if settled && m.ctime() > 0 && !self.known.contains_key(&k) {
            self.known.insert(k, digest.to_owned());
            self.added.push((k, digest.to_owned()));
        }
    }

    /// Writes what this run added, merged with what is in the file now (another process may
    /// have written it meanwhile), keeping the newest [`MAX_ENTRIES`]: a new file, renamed
    /// over the old (`zt_core::fsutil::write_atomic`). Best effort: a cache that cannot be
    /// written is only slower next time.
    pub(crate) fn save(self) {
        if self.added.is_empty() {
            return;
        }
        let mut entries = read(&self.path);
        entries.retain(|(k, _)| !self.added.iter().any(|(a, _)| a == k));
        entries.extend(self.added);
        let skip = entries.len().saturating_sub(MAX_ENTRIES);
        let mut text = String::new();
        for (k, d) in entries.iter().skip(skip) {
            text.push_str(&format!(
                "{} {} {} {} {} {} {} {d}\n",
                k.0, k.1, k.2, k.3, k.4, k.5, k.6
            ));
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        let _ = fs_err::create_dir_all(dir);
        // What a run killed in the middle of its own save left behind.
        zt_core::fsutil::sweep_stale_temps(dir, Duration::from_secs(600));
        let _ = zt_core::fsutil::write_atomic(&self.path, text.as_bytes());
    }
}

/// The entries of the cache file at `path`, oldest first; lines that do not parse are
/// skipped.
fn read(path: &Path) -> Vec<(Key, String)> {
    let Ok(text) = fs_err::read_to_string(path) else {
        return Vec::new();
    };
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<(Key, String)> {
    let mut f = line.split(' ');
    let mut n = || f.next();
    let (dev, ino, size) = (n()?.parse().ok()?, n()?.parse().ok()?, n()?.parse().ok()?);
    let (ms, mn, cs, cn) = (
        n()?.parse().ok()?,
        n()?.parse().ok()?,
        n()?.parse().ok()?,
        n()?.parse().ok()?,
    );
    let digest = n()?;
    let hex = digest.strip_prefix("sha256:")?;
    let valid = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !valid || n().is_some() {
        return None;
    }
    Some(((dev, ino, size, ms, mn, cs, cn), digest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    /// Sets the file's times 10 s back (its ctime cannot be set; the cache's start is moved
    /// instead).
    fn settled(cache: &mut DigestCache) {
        cache.started += Duration::from_secs(10);
    }

    #[test]
    fn a_settled_file_is_found_again_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("cache/program-digests");
        let prog = dir.path().join("prog");
        fs_err::write(&prog, b"#!/bin/sh\n").unwrap();
        let m = fs_err::metadata(&prog).unwrap();
        let mut c = DigestCache::load(&store);
        c.insert(&m, D1);
        assert!(c.get(&m).is_none(), "a file changed just now is not kept");
        settled(&mut c);
        c.insert(&m, D1);
        assert_eq!(c.get(&m).map(String::as_str), Some(D1));
        c.save();
        let c = DigestCache::load(&store);
        assert_eq!(c.get(&m).map(String::as_str), Some(D1));
        // rewritten with the same size and its mtime set back: the ctime moved
        std::thread::sleep(Duration::from_millis(20));
        fs_err::write(&prog, b"#!/bin/ls\n").unwrap();
        let f = fs_err::File::options().write(true).open(&prog).unwrap();
        f.file().set_modified(m.modified().unwrap()).unwrap();
        let m2 = fs_err::metadata(&prog).unwrap();
        assert_eq!(m2.mtime_nsec(), m.mtime_nsec());
        assert!(c.get(&m2).is_none());
    }

    #[test]
    fn damaged_lines_are_skipped_and_saves_merge() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("program-digests");
        fs_err::write(
            &store,
            format!(
                "1 2 3 4 5 6 7 {D1}\nnot a line\n1 2 3 4 5 6 8 sha256:XYZ\n1 2 3 4 5 6 9 {D2} extra\n\n"
            ),
        )
        .unwrap();
        assert_eq!(read(&store), vec![((1, 2, 3, 4, 5, 6, 7), D1.to_owned())]);
        // two runs add one each: both are kept
        let prog = dir.path().join("a");
        fs_err::write(&prog, b"a").unwrap();
        let other = dir.path().join("b");
        fs_err::write(&other, b"b").unwrap();
        let (ma, mb) = (
            fs_err::metadata(&prog).unwrap(),
            fs_err::metadata(&other).unwrap(),
        );
        let mut one = DigestCache::load(&store);
        let mut two = DigestCache::load(&store);
        settled(&mut one);
        settled(&mut two);
        one.insert(&ma, D1);
        two.insert(&mb, D2);
        one.save();
        two.save();
        let c = DigestCache::load(&store);
        assert_eq!(c.get(&ma).map(String::as_str), Some(D1));
        assert_eq!(c.get(&mb).map(String::as_str), Some(D2));
        assert_eq!(read(&store).len(), 3);
        // a missing or unreadable cache is empty
        assert!(DigestCache::load(&dir.path().join("none")).known.is_empty());
    }

    #[test]
    fn a_save_sweeps_what_a_killed_save_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("program-digests");
        let stale = dir.path().join(".zt-tmp-killed");
        let fresh = dir.path().join(".zt-tmp-another-writer");
        fs_err::write(&stale, b"half").unwrap();
        fs_err::write(&fresh, b"half").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        fs_err::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .file()
            .set_modified(old)
            .unwrap();
        let prog = dir.path().join("p");
        fs_err::write(&prog, b"p").unwrap();
        let mut c = DigestCache::load(&store);
        settled(&mut c);
        c.insert(&fs_err::metadata(&prog).unwrap(), D1);
        c.save();
        assert!(!stale.exists(), "a temporary file an hour old is swept");
        assert!(
            fresh.exists(),
            "another process's write in progress is kept"
        );
        assert_eq!(read(&store).len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn any_line_parses_or_is_skipped(s in "\\PC{0,200}") {
            let _ = parse_line(&s);
        }
    }
}
