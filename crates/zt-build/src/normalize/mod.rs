//! `zt normalize`: strip timestamps, owners and ordering from archives in place.
//!
//! Each format's normaliser is a port of the matching handler of Debian's
//! `strip-nondeterminism` 1.13.1 (which rewrites zips through Perl's `Archive::Zip` 1.68; see
//! [`zip`] for exactly which bytes that emits), so that, given the same options, the output is
//! byte-identical. The known differences are listed on each module. Tar is zt's own (the Perl
//! tool has none): see [`tar`].
//!
//! A file is chosen by its extension and checked by its magic bytes (the Perl tool asks
//! `file(1)`); `--type` forces a normaliser. Files no normaliser claims are left alone.
//! Rewrites are atomic: a temporary file beside the target, fsync, rename, with the original
//! mode, owner and group.

use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::Error;

pub mod ar;
mod assembled;
pub mod gzip;
pub mod javadoc;
pub mod png;
pub mod tar;
pub mod zip;

/// `Archive::Zip`'s earliest representable zip time (1980-01-01 12:01:00 UTC); strip-nondeterminism
/// never writes an earlier zip timestamp.
pub const ZIP_SAFE_EPOCH: i64 = 315_576_060;

/// How to normalise.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The canonical time (seconds since the epoch); `None` strips timestamps where a format
    /// allows it and uses the format's floor otherwise (like strip-nondeterminism without `-T`).
    pub timestamp: Option<i64>,
    /// Only replace timestamps later than [`Options::timestamp`] (gzip, png and tar honour it;
    /// strip-nondeterminism 1.13.1's zip and ar handlers ignore it, and so does zt).
    pub clamp: bool,
    /// Force a normaliser instead of choosing by name and content.
    pub kind: Option<Kind>,
}

/// The normalisers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Zip archives (`.zip`, `.whl`, `.epub`, …).
    Zip,
    /// Java archives (`.jar`, `.war`, `.apk`, …): zip plus jar rules.
    Jar,
    /// Java modules: a 4-byte `JM` header and a jar.
    Jmod,
    /// Python zip applications: a `#!` line and a zip.
    Pyzip,
    /// gzip streams.
    Gzip,
    /// ar archives and static libraries.
    Ar,
    /// PNG images.
    Png,
    /// HTML written by javadoc.
    Javadoc,
    /// tar archives (zt's own rules).
    Tar,
}

impl Kind {
    /// The name used by `--type` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Jar => "jar",
            Kind::Jmod => "jmod",
            Kind::Pyzip => "pyzip",
            Kind::Gzip => "gzip",
            Kind::Ar => "ar",
            Kind::Png => "png",
            Kind::Javadoc => "javadoc",
            Kind::Tar => "tar",
        }
    }

    /// Parses a `--type` name.
    pub fn from_name(name: &str) -> Result<Kind, Error> {
        Ok(match name {
            "zip" => Kind::Zip,
            "jar" => Kind::Jar,
            "jmod" => Kind::Jmod,
            "pyzip" => Kind::Pyzip,
            "gzip" => Kind::Gzip,
            "ar" => Kind::Ar,
            "png" => Kind::Png,
            "javadoc" => Kind::Javadoc,
            "tar" => Kind::Tar,
            _ => {
                return Err(Error::UnknownType {
                    name: name.to_owned(),
                });
            }
        })
    }
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file was rewritten.
    Normalized,
    /// The normaliser ran and the file was already normal.
    Unchanged,
    /// The normaliser declined (signed jar, encrypted or zip64 zip, bad png chunk …); the file
    /// is untouched. The reason is in the report's warnings.
    Skipped,
    /// No normaliser handles this file.
    NotRecognised,
}

/// The result of normalising one file.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file.
    pub path: PathBuf,
    /// The normaliser used, if any.
    pub kind: Option<Kind>,
    /// What happened.
    pub outcome: Outcome,
    /// Warnings the normaliser raised (the same situations strip-nondeterminism warns about).
    pub warnings: Vec<String>,
}

/// A normaliser's verdict on a byte string.
#[derive(Debug)]
pub(crate) enum Change {
    /// New contents.
    Rewritten(Vec<u8>),
    /// New contents, as new bytes and kept ranges of the input.
    Assembled(assembled::Assembled),
    /// The format's rules leave the bytes as they are (the handler returned false).
    Unchanged,
    /// The handler declined, with the reason.
    Skipped(String),
}

/// A format error with its detail; the caller adds the path.
#[derive(Debug)]
pub(crate) struct Malformed {
    pub(crate) format: &'static str,
    pub(crate) detail: String,
}

pub(crate) fn malformed(format: &'static str, detail: impl Into<String>) -> Malformed {
    Malformed {
        format,
        detail: detail.into(),
    }
}

/// Shared state of one normalisation: options and collected warnings.
pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) warnings: Vec<String>,
}

/// Chooses the normaliser for a file from its name and first bytes, as strip-nondeterminism's
/// `get_normalizer_for_file` does (with magic bytes standing in for `file(1)`).
pub fn detect(name: &str, head: &[u8]) -> Option<Kind> {
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let class = zip_class(head);
    match ext {
        "a" if head.starts_with(b"!<arch>\n") => return Some(Kind::Ar),
        "gz" | "dz" if head.starts_with(&[0x1f, 0x8b]) => return Some(Kind::Gzip),
        "jar" | "war" | "hpi" | "apk" | "sym"
            if matches!(class, Some(ZipClass::Zip | ZipClass::Jar)) =>
        {
            return Some(Kind::Jar);
        }
        "jmod" if head.len() >= 4 && head.starts_with(b"JM") => return Some(Kind::Jmod),
        "html" if javadoc::is_javadoc(head) => return Some(Kind::Javadoc),
        "png" if head.starts_with(png::MAGIC) => return Some(Kind::Png),
        "zip" | "pk3" | "epub" | "whl" | "xpi" | "htb" | "zhfst" | "par" | "codadef"
            if matches!(class, Some(ZipClass::Zip | ZipClass::Epub)) =>
        {
            return Some(Kind::Zip);
        }
        "tar" if tar::looks_like_tar(head) => return Some(Kind::Tar),
        _ => {}
    }
    if is_pyzip(head) {
        return Some(Kind::Pyzip);
    }
    None
}

/// How `file(1)` 5.44 names a zip, as far as strip-nondeterminism's choice depends on it: its
/// zip handler wants "Zip archive data" or "EPUB document", its jar handler "Java archive data"
/// or "Zip archive data". The classes follow file's magic for the first local header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZipClass {
    /// "Zip archive data".
    Zip,
    /// "Java archive data (JAR)": the first entry carries the `0xCAFE` extra. (file(1) has
    /// further JAR rules that look deeper into the archive; zt does not follow them, so a
    /// `.zip` that file(1) calls a JAR is normalised by zt and skipped by the Perl tool.)
    Jar,
    /// "Android package (APK)".
    Apk,
    /// "EPUB document": a stored `mimetype` first holding `application/epub+zip`.
    Epub,
    /// Other specialised zips (`mimetype` documents, Office Open XML).
    Other,
}

pub(crate) fn zip_class(head: &[u8]) -> Option<ZipClass> {
    if head.starts_with(b"PK\x05\x06") {
        return Some(ZipClass::Zip);
    }
    if !head.starts_with(b"PK\x03\x04") {
        return None;
    }
    let u16_at = |i: usize| {
        head.get(i..i + 2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let (Some(nlen), Some(xlen)) = (u16_at(26), u16_at(28)) else {
        return Some(ZipClass::Zip);
    };
    let name = head.get(30..30 + nlen).unwrap_or_default();
    if name == b"mimetype" && xlen == 0 {
        let body = head.get(38..).unwrap_or_default();
        return Some(if body.starts_with(b"application/epub+zip") {
            ZipClass::Epub
        } else {
            ZipClass::Other
        });
    }
    if [
        &b"[Content_Types].xml"[..],
        b"_rels/.rels",
        b"docProps",
        b"customXml",
    ]
    .iter()
    .any(|p| name.starts_with(p))
    {
        return Some(ZipClass::Other);
    }
    let second = {
        let csize = head
            .get(18..22)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let at = 30 + nlen + xlen + csize;
        let n2 = u16_at(at + 26).unwrap_or(0);
        if head.get(at..at + 4) == Some(b"PK\x03\x04") {
            head.get(at + 30..at + 30 + n2).unwrap_or_default()
        } else {
            &[][..]
        }
    };
    let apk_first = name == b"AndroidManifest.xml"
        || name == b"classes.dex"
        || name.starts_with(b"META-INF/com/android/build/gradle/");
    let apk_second = name == b"META-INF/MANIFEST.MF"
        && (second == b"resources.arsc"
            || second == b"classes.dex"
            || second.starts_with(b"lib/armeabi")
            || second.starts_with(b"res/drawable"));
    if apk_first || apk_second {
        return Some(ZipClass::Apk);
    }
    if u16_at(30 + nlen) == Some(0xcafe) {
        return Some(ZipClass::Jar);
    }
    Some(ZipClass::Zip)
}

/// A `#!` line naming python3, directly followed by a zip local header, within the first 32
/// bytes (strip-nondeterminism's `is_pyzip_file` after `file(1)` said "python3 script").
fn is_pyzip(head: &[u8]) -> bool {
    let head = &head[..head.len().min(32)];
    if !head.starts_with(b"#!") {
        return false;
    }
    match head.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            let line = &head[..nl];
            line.windows(7).any(|w| w == b"python3") && head[nl + 1..].starts_with(b"PK\x03\x04")
        }
        None => false,
    }
}

/// Normalises bytes with a given normaliser; `Ok(None)` when nothing changes.
pub(crate) fn normalize_bytes(
    kind: Kind,
    data: &[u8],
    ctx: &mut Ctx<'_>,
) -> Result<Change, Malformed> {
    match kind {
        Kind::Zip => zip::normalize(data, zip::Flavor::Zip, ctx),
        Kind::Jar => zip::normalize(data, zip::Flavor::Jar, ctx),
        Kind::Jmod => zip::normalize_jmod(data, ctx),
        Kind::Pyzip => zip::normalize_pyzip(data, ctx),
        Kind::Gzip => gzip::normalize(data, ctx),
        Kind::Ar => ar::normalize(data, ctx),
        Kind::Png => png::normalize(data, ctx),
        Kind::Javadoc => Ok(match javadoc::normalize(data, ctx.opts.timestamp) {
            Some(out) => Change::Rewritten(out),
            None => Change::Unchanged,
        }),
        Kind::Tar => tar::normalize(data, ctx),
    }
}

/// Normalises bytes held in memory (what [`normalize_file`] does to a file's contents):
/// `Ok(Some(new))` when they change, `Ok(None)` when they stay as they are or the format's
/// rules skip them; `Err` (a [`Error::Malformed`] naming `name`) for malformed input.
pub fn normalize_data(
    kind: Kind,
    name: &str,
    data: &[u8],
    opts: &Options,
) -> Result<Option<Vec<u8>>, Error> {
    let mut ctx = Ctx {
        opts,
        warnings: Vec::new(),
    };
    match normalize_bytes(kind, data, &mut ctx) {
        Ok(Change::Rewritten(out)) if out != data => Ok(Some(out)),
        Ok(Change::Assembled(out)) if !out.same_as(data) => Ok(Some(out.to_vec(data))),
        Ok(_) => Ok(None),
        Err(m) => Err(Error::Malformed {
            path: PathBuf::from(name),
            format: m.format,
            detail: m.detail,
        }),
    }
}

/// Normalises one file in place.
pub fn normalize_file(path: &Path, opts: &Options) -> Result<Report, Error> {
    let meta = match fs_err::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut report = Report {
        path: path.to_owned(),
        kind: None,
        outcome: Outcome::NotRecognised,
        warnings: Vec::new(),
    };
    if !meta.is_file() {
        return Ok(report);
    }
    let data = Input::open(path)?;
    let data: &[u8] = &data;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = match opts.kind.or_else(|| detect(&name, data)) {
        Some(k) => k,
        None => return Ok(report),
    };
    report.kind = Some(kind);
    let mut ctx = Ctx {
        opts,
        warnings: Vec::new(),
    };
    let change = normalize_bytes(kind, data, &mut ctx).map_err(|m| Error::Malformed {
        path: path.to_owned(),
        format: m.format,
        detail: m.detail,
    })?;
    report.warnings = ctx.warnings;
    report.outcome = match change {
        Change::Rewritten(out) if out != data => {
            replace_preserving(path, &out.into(), data, &meta)?;
            Outcome::Normalized
        }
        Change::Assembled(out) if !out.same_as(data) => {
            replace_preserving(path, &out, data, &meta)?;
            Outcome::Normalized
        }
        Change::Rewritten(_) | Change::Assembled(_) | Change::Unchanged => Outcome::Unchanged,
        Change::Skipped(reason) => {
            report.warnings.push(reason);
            Outcome::Skipped
        }
    };
    Ok(report)
}

/// A file's bytes: mapped when large (a zip of tens of megabytes is then never copied: its
/// members' data go from the mapping to the new file), read otherwise.
enum Input {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Input {
    /// Files from this size on are mapped.
    const MAP_FROM: u64 = 1 << 20;

    fn open(path: &Path) -> Result<Input, Error> {
        let file = fs_err::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len < Self::MAP_FROM {
            let mut data = Vec::with_capacity(len as usize);
            std::io::Read::read_to_end(&mut file.file(), &mut data)
                .map_err(|e| Error::io(path, e))?;
            return Ok(Input::Read(data));
        }
        Self::map(file.file()).map_err(|e| Error::io(path, e))
    }

    #[allow(unsafe_code)]
    fn map(file: &std::fs::File) -> std::io::Result<Input> {
        // SAFETY: the mapping is private and read-only, and zt never writes the file while it
        // is mapped (the result goes to a new file renamed over it). Another process that
        // changed the file meanwhile would change what zt reads, as with read(2); one that
        // truncated it would end zt with SIGBUS before the rename, leaving the file as that
        // process made it. ripgrep maps the files it searches under the same terms.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Input::Mapped(map))
    }
}

impl std::ops::Deref for Input {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

/// Replaces `path` atomically with `contents` (pieces of `input` and new bytes), keeping its
/// permission bits, owner and group.
fn replace_preserving(
    path: &Path,
    contents: &assembled::Assembled,
    input: &[u8],
    meta: &std::fs::Metadata,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".zt-normalize-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let tpath = tmp.path().to_owned();
    write_with_early_writeback(tmp.as_file(), contents, input).map_err(|e| Error::io(&tpath, e))?;
    let file = tmp.as_file();
    // Owner first: chown clears set-id bits, so the mode is set after it.
    if meta.uid() != file.metadata().map_err(|e| Error::io(&tpath, e))?.uid()
        || meta.gid()
            != fs_err::metadata(&tpath)
                .map_err(|e| Error::io(&tpath, e))?
                .gid()
    {
        std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()))
            .map_err(|e| Error::io(&tpath, e))?;
    }
    file.set_permissions(std::fs::Permissions::from_mode(
        meta.permissions().mode() & 0o7777,
    ))
    .map_err(|e| Error::io(&tpath, e))?;
    file.sync_all().map_err(|e| Error::io(&tpath, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    zt_core::fsutil::sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Writes `contents` and asks the kernel to start writing each 2 MiB to disk as soon as it is in
/// the page cache (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait): the disk
/// works while the rest is copied, and the fsync that follows has less left to wait for.
fn write_with_early_writeback(
    file: &std::fs::File,
    contents: &assembled::Assembled,
    input: &[u8],
) -> std::io::Result<()> {
    let mut started = 0usize;
    contents.write_to(input, file, 2 << 20, |done| {
        start_writeback(file, started as i64, (done - started) as i64);
        started = done;
    })
}

/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: starts writing the range to disk, without
/// waiting. Only a hint: where it fails, the fsync that follows still does the work.
#[allow(unsafe_code)]
fn start_writeback(file: &std::fs::File, offset: i64, len: i64) {
    // SAFETY: a plain system call on a descriptor `file` keeps open; no memory is passed.
    let _ = unsafe {
        nix::libc::sync_file_range(
            file.as_raw_fd(),
            offset,
            len,
            nix::libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_data_in_memory_is_idempotent_and_names_malformed_input() {
        use std::io::Write as _;
        let mut gz = flate2::GzBuilder::new()
            .mtime(1_700_000_000)
            .filename("a.txt")
            .write(Vec::new(), flate2::Compression::default());
        gz.write_all(b"hello\n").unwrap_or_default();
        let data = gz.finish().unwrap_or_default();
        let opts = Options {
            timestamp: Some(1_423_159_771),
            ..Options::default()
        };
        let out = normalize_data(Kind::Gzip, "a.gz", &data, &opts);
        let Ok(Some(out)) = out else {
            panic!("gzip with mtime and name not rewritten: {out:?}");
        };
        assert_ne!(out, data);
        assert!(matches!(
            normalize_data(Kind::Gzip, "a.gz", &out, &opts),
            Ok(None)
        ));
        let err = normalize_data(Kind::Zip, "bad.zip", b"PK\x03\x04 truncated", &opts);
        assert!(
            matches!(&err, Err(Error::Malformed { path, format: "zip", .. }) if path == Path::new("bad.zip")),
            "{err:?}"
        );
    }

    #[test]
    fn detection_by_name_and_magic() {
        assert_eq!(detect("x.jar", b"PK\x03\x04...."), Some(Kind::Jar));
        assert_eq!(detect("x.zip", b"PK\x05\x06...."), Some(Kind::Zip));
        assert_eq!(detect("x.zip", b"not a zip"), None);
        assert_eq!(detect("x.gz", &[0x1f, 0x8b, 8, 0]), Some(Kind::Gzip));
        assert_eq!(detect("libx.a", b"!<arch>\nfoo"), Some(Kind::Ar));
        assert_eq!(detect("x.jmod", b"JM\x01\x00PK"), Some(Kind::Jmod));
        assert_eq!(
            detect("tool", b"#!/usr/bin/python3\nPK\x03\x04"),
            Some(Kind::Pyzip)
        );
        assert_eq!(detect("tool", b"#!/bin/sh\nPK\x03\x04"), None);
        assert_eq!(detect("x.txt", b"PK\x03\x04"), None);
        // file(1) calls a zip whose first entry is AndroidManifest.xml an APK: no handler takes it.
        let mut apk = b"PK\x03\x04".to_vec();
        apk.extend_from_slice(&[0; 22]);
        apk.extend_from_slice(&[19, 0, 0, 0]);
        apk.extend_from_slice(b"AndroidManifest.xml");
        assert_eq!(detect("x.apk", &apk), None);
        assert_eq!(detect("x.zip", &apk), None);
    }

    fn run(kind: Kind, data: &[u8], ts: Option<i64>) -> Option<Vec<u8>> {
        let opts = Options {
            timestamp: ts,
            ..Options::default()
        };
        let mut ctx = Ctx {
            opts: &opts,
            warnings: Vec::new(),
        };
        match normalize_bytes(kind, data, &mut ctx) {
            Ok(Change::Rewritten(v)) => Some(v),
            _ => None,
        }
    }

    const KINDS: [(Kind, &[u8]); 8] = [
        (Kind::Zip, b"PK\x03\x04"),
        (Kind::Jar, b"PK\x03\x04"),
        (Kind::Jmod, b"JM\x01\x00PK\x03\x04"),
        (Kind::Gzip, b"\x1f\x8b\x08"),
        (Kind::Ar, b"!<arch>\n"),
        (Kind::Png, b"\x89PNG\r\n\x1a\n"),
        (Kind::Javadoc, b"<!-- Generated by javadoc "),
        (Kind::Tar, b""),
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Parsers of untrusted input never panic, whatever the bytes.
        #[test]
        fn never_panics(which in 0usize..8, body in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let (kind, magic) = KINDS[which];
            let mut data = magic.to_vec();
            data.extend_from_slice(&body);
            let _ = run(kind, &data, Some(1_423_159_771));
            let _ = run(kind, &data, None);
            // A zip end record pointing into the random bytes reaches the deeper parsers.
            let mut z = data.clone();
            z.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
            z.extend_from_slice(&(body.len().min(46) as u32).to_le_bytes());
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&[0, 0]);
            let _ = run(kind, &z, Some(1));
        }
    }
}
