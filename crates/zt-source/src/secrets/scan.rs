//! Scanning many inputs: files and directories, or blobs from git; in parallel, binary files
//! skipped, `.gitleaksignore` fingerprints honoured, findings sorted.
//!
//! A whole file is one fragment. (gitleaks reads files in 100 kB chunks cut at whitespace and
//! prefilters each chunk; for files over 100 kB zt can therefore find a match gitleaks misses
//! when the keyword sits in another chunk or the match straddles a cut, never the reverse.)
//! Files are read whole into a buffer each worker reuses; memory maps would need `unsafe`, which
//! this crate forbids.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::detect::{Detector, Finding, Fragment};

/// How to walk and scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Honour `.gitignore`, `.git/info/exclude` and `.ignore` files when walking directories.
    pub gitignore: bool,
    /// Leave out zt's own state directories (see [`is_zt_state_dir`]) when walking: the
    /// repository's private signing key, its secrets store and its evidence are zt's to guard,
    /// not findings in the source.
    pub skip_zt_state: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// Whether `dir` is a zt state directory: named `.zt` and beside a `zt.toml`, or holding what
/// only zt writes there (its keys, log, ledger or secrets store). A `.zt` folder that is none of
/// these is scanned like any other.
pub fn is_zt_state_dir(dir: &Path) -> bool {
    if dir.file_name().is_none_or(|n| n != ".zt") {
        return false;
    }
    let beside_config = dir.parent().is_some_and(|p| p.join("zt.toml").is_file());
    beside_config
        || ["ledger.db", "log", "keys", "secrets", "bundles"]
            .iter()
            .any(|n| dir.join(n).exists())
}

/// One unit of input from a git source.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Repository-relative path.
    pub path: String,
    /// Commit, if any.
    pub commit: Option<String>,
    /// Content.
    pub content: Vec<u8>,
    /// Line number of the first line of `content`.
    pub start_line: usize,
}

/// A file that could not be scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscanned {
    /// The path.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Findings, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// Inputs that could not be read.
    pub unscanned: Vec<Unscanned>,
    /// Inputs scanned.
    pub scanned: usize,
    /// Binary inputs skipped.
    pub binary_skipped: usize,
    /// Bytes scanned.
    pub bytes: u64,
}

/// A detector plus the fingerprints to ignore.
#[derive(Debug)]
pub struct Scanner {
    detector: Detector,
    ignored: BTreeSet<String>,
}

/// Binary content: a NUL byte in the first 8 KiB (git's test), or the magic number of an
/// executable, archive or compressed format (gitleaks skips `application/*` by magic number).
pub fn is_binary(data: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"\x7fELF",
        b"MZ\x90\x00",
        b"PK\x03\x04",
        b"PK\x05\x06",
        b"\x1f\x8b",
        b"BZh",
        b"\xfd7zXZ\x00",
        b"7z\xbc\xaf\x27\x1c",
        b"Rar!\x1a\x07",
        b"\x28\xb5\x2f\xfd",
        b"%PDF-",
        b"\x00asm",
        b"\xca\xfe\xba\xbe",
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"SQLite format 3\x00",
        b"!<arch>\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    ];
    if MAGIC.iter().any(|m| data.starts_with(m)) {
        return true;
    }
    if data.get(257..262) == Some(b"ustar") {
        return true;
    }
    memchr::memchr(0, data.get(..8000).unwrap_or(data)).is_some()
}

/// Runs `f` over `items` on `threads` threads, keeping order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut all: Vec<(usize, R)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// The largest read buffer a worker keeps for the next file.
const KEEP_BUFFER: usize = 16 << 20;

enum Outcome {
    Findings(Vec<Finding>, u64),
    Binary,
    Failed(String),
}

/// Go's `filepath.Join(root, rel)` for display: `.` as root adds nothing.
fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./")
        .map_or_else(|| s.to_string(), str::to_string)
}

impl Scanner {
    /// A scanner for a rule set.
    pub fn new(detector: Detector) -> Self {
        Self {
            detector,
            ignored: BTreeSet::new(),
        }
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Reads a `.gitleaksignore` file: one fingerprint per line (`file:rule:line` or
    /// `commit:file:rule:line`), `#` comments; backslashes in paths become slashes.
    pub fn add_ignore_file(&mut self, path: &Path) -> Result<(), crate::Error> {
        let text = fs_err::read_to_string(path).map_err(|source| crate::Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_ignore_text(&text);
        Ok(())
    }

    /// Adds `.gitleaksignore` entries from text.
    pub fn add_ignore_text(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts: Vec<String> = line.split(':').map(str::to_string).collect();
            match parts.len() {
                3 => parts[0] = parts[0].replace('\\', "/"),
                4 => parts[1] = parts[1].replace('\\', "/"),
                _ => {}
            }
            self.ignored.insert(parts.join(":"));
        }
    }

    fn keep(&self, f: &Finding) -> bool {
        let ignored = self.ignored.contains(&f.global_fingerprint())
            || (f.commit.is_some() && self.ignored.contains(&f.fingerprint()));
        !ignored
    }

    fn scan_bytes(
        &self,
        data: &[u8],
        path: &str,
        commit: Option<&str>,
        start_line: usize,
    ) -> Outcome {
        if is_binary(data) {
            return Outcome::Binary;
        }
        // Valid UTF-8 (nearly every text file) is borrowed; otherwise each invalid byte becomes
        // U+FFFD, which Go's regexp also reads it as.
        let text = match std::str::from_utf8(data) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(data),
        };
        let findings = self.detector.detect(&Fragment {
            raw: &text,
            path,
            commit,
            start_line,
        });
        Outcome::Findings(findings, data.len() as u64)
    }

    /// Lists the files under `roots` (files are taken as given; `.git` directories and symlinks
    /// are skipped; hidden files are scanned).
    pub fn collect_files(
        roots: &[PathBuf],
        opts: &ScanOptions,
    ) -> Result<Vec<PathBuf>, crate::Error> {
        let mut files = Vec::new();
        for root in roots {
            let meta = fs_err::symlink_metadata(root).map_err(|source| crate::Error::Read {
                path: root.clone(),
                source,
            })?;
            if meta.is_file() {
                files.push(root.clone());
                continue;
            }
            let mut walk = ignore::WalkBuilder::new(root);
            walk.standard_filters(false)
                .hidden(false)
                .follow_links(false)
                .git_ignore(opts.gitignore)
                .git_exclude(opts.gitignore)
                .ignore(opts.gitignore)
                .require_git(false)
                .filter_entry({
                    let skip_state = opts.skip_zt_state;
                    move |e| {
                        e.file_name() != ".git"
                            && !(skip_state
                                && e.file_type().is_some_and(|t| t.is_dir())
                                && is_zt_state_dir(e.path()))
                    }
                });
            for entry in walk.build() {
                let entry = entry.map_err(|e| crate::Error::Read {
                    path: root.clone(),
                    source: std::io::Error::other(e.to_string()),
                })?;
                if entry.file_type().is_some_and(|t| t.is_file()) {
                    files.push(entry.into_path());
                }
            }
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// Scans files (already listed, see [`Scanner::collect_files`]).
    pub fn scan_files(&self, files: &[PathBuf], opts: &ScanOptions) -> ScanReport {
        thread_local! {
            /// The worker's read buffer, reused from file to file: a fresh buffer per file was
            /// an allocation, and for large files fresh pages the kernel had to zero.
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let outcomes = parallel_map(files, opts.threads, |path| {
            let shown = display_path(path);
            BUF.with_borrow_mut(|buf| {
                buf.clear();
                // std's `File::read_to_end` sizes the read from the file's length (fs-err's
                // reads 8 kB at first); on failure `fs_err::read` runs again for its message,
                // which names the path.
                let read = fs_err::File::open(path)
                    .and_then(|mut f| std::io::Read::read_to_end(f.file_mut(), buf));
                let outcome = match read {
                    Ok(_) => self.scan_bytes(buf, &shown, None, 1),
                    Err(_) => match fs_err::read(path) {
                        Ok(data) => self.scan_bytes(&data, &shown, None, 1),
                        Err(e) => Outcome::Failed(e.to_string()),
                    },
                };
                // Keep a large file's buffer no longer than its scan.
                if buf.capacity() > KEEP_BUFFER {
                    *buf = Vec::new();
                }
                (shown, outcome)
            })
        });
        self.finish(outcomes)
    }

    /// Scans blobs from git.
    pub fn scan_blobs(&self, blobs: &[Blob], opts: &ScanOptions) -> ScanReport {
        let outcomes = parallel_map(blobs, opts.threads, |b| {
            (
                b.path.clone(),
                self.scan_bytes(&b.content, &b.path, b.commit.as_deref(), b.start_line),
            )
        });
        self.finish(outcomes)
    }

    fn finish(&self, outcomes: Vec<(String, Outcome)>) -> ScanReport {
        let mut report = ScanReport::default();
        for (path, o) in outcomes {
            match o {
                Outcome::Findings(fs, bytes) => {
                    report.scanned += 1;
                    report.bytes += bytes;
                    report
                        .findings
                        .extend(fs.into_iter().filter(|f| self.keep(f)));
                }
                Outcome::Binary => report.binary_skipped += 1,
                Outcome::Failed(reason) => report.unscanned.push(Unscanned { path, reason }),
            }
        }
        // A rule whose expression could not be compiled matched nothing: the inputs were not
        // shown to be free of what it looks for.
        for (rule, problem) in self.detector().config().compile_errors() {
            report.unscanned.push(Unscanned {
                path: format!("rule {rule}"),
                reason: problem,
            });
        }
        report.findings.sort_by(|a, b| {
            (&a.file, a.start_line, a.start_column, &a.rule_id, &a.commit).cmp(&(
                &b.file,
                b.start_line,
                b.start_column,
                &b.rule_id,
                &b.commit,
            ))
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"\x7fELF\x02\x01"));
        assert!(is_binary(b"abc\0def"));
        assert!(is_binary(b"PK\x03\x04rest"));
        assert!(!is_binary(b"plain text\nwith lines\n"));
        assert!(!is_binary("ünïcödé".as_bytes()));
    }

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        assert_eq!(
            parallel_map(&items, 4, |x| x * 2),
            items.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(parallel_map(&Vec::<u32>::new(), 4, |x| *x).is_empty());
    }

    #[test]
    fn ignore_entries_normalise_backslashes() {
        let mut s = Scanner::new(
            Detector::new(super::super::Config::from_toml("", Path::new(".")).unwrap()).unwrap(),
        );
        s.add_ignore_text("# c\n\na\\b.go:r:3\nabc:a\\b.go:r:4\n");
        assert!(s.ignored.contains("a/b.go:r:3"));
        assert!(s.ignored.contains("abc:a/b.go:r:4"));
    }
}
