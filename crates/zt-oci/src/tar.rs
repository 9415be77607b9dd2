//! Image layers as tar archives: a reproducible writer (a directory becomes the same bytes on
//! every machine) and a streaming reader of untrusted layers.
//!
//! The writer emits POSIX ustar entries, sorted by path component by component (a directory
//! before its contents), with mtime = the given `SOURCE_DATE_EPOCH`, uid = gid = 0, empty
//! user and group names, no extended attributes, and modes normalised to what a build can
//! mean: directories `0755`, files `0755` when any execute bit is set else `0644`, symbolic
//! links `0777`. A path longer than ustar holds gets a pax `path` record (pax `linkpath` for a
//! long link target), itself with the same fixed fields. Hard links are written as regular
//! files; sockets, FIFOs and devices are refused. [`gzip`] compresses deterministically (no
//! name, mtime 0, OS byte 255, one fixed level of the one pinned deflate implementation).
//!
//! The reader understands ustar, pax (`x` records `path`, `linkpath`, `size`; `g` is skipped)
//! and GNU long names (`L`, `K`), never panics on malformed input, and keeps the data of only
//! the entries a caller asks for (up to a size limit each).

use std::io::{Read, Write};
use std::path::Path;

use crate::Error;

const BLOCK: usize = 512;

/// The kind of a tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (its data when kept).
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
    /// A hard link to this path of the same archive (or a lower layer).
    Hardlink(String),
    /// Anything else (device, FIFO).
    Other,
}

/// One entry read from a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its path, without a leading `./` or `/` and without a trailing `/`.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Its size in bytes (files).
    pub size: u64,
    /// Its data, when the caller asked to keep it.
    pub data: Option<Vec<u8>>,
}

/// A file or directory to put in a layer.
struct Item {
    /// Path in the archive (no leading `/`; directories without trailing `/`).
    path: String,
    source: Option<std::path::PathBuf>,
    kind: ItemKind,
}

enum ItemKind {
    Dir,
    File { executable: bool },
    Symlink(String),
}

/// The tar bytes of `dir`'s contents placed under `dest` (an absolute path in the image, `/`
/// for the root), reproducibly (see the module documentation). The directories of `dest`
/// itself come first.
pub fn from_dir(dir: &Path, dest: &str, mtime: i64) -> Result<Vec<u8>, Error> {
    let bad = |reason: String, fix: &str| Error::Build {
        reason,
        fix: fix.to_string(),
    };
    let meta = fs_err::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(bad(
            format!("`{}` is not a directory", dir.display()),
            "name a directory of the build's outputs as the layer's `from`",
        ));
    }
    let dest = clean_dest(dest).ok_or_else(|| {
        bad(
            format!("`{dest}` is not an absolute path inside the image"),
            "write the layer's `to` as an absolute path without `..`, e.g. \"/usr/local/bin\"",
        )
    })?;
    let mut items = Vec::new();
    let mut prefix = String::new();
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        items.push(Item {
            path: prefix.clone(),
            source: None,
            kind: ItemKind::Dir,
        });
    }
    let mut found = Vec::new();
    walk(dir, "", &mut found)?;
    for (rel, path, kind) in found {
        let full = if prefix.is_empty() {
            rel
        } else {
            format!("{prefix}/{rel}")
        };
        items.push(Item {
            path: full,
            source: Some(path),
            kind,
        });
    }
    items.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    let mut out = Vec::new();
    for item in &items {
        match &item.kind {
            ItemKind::Dir => write_entry(
                &mut out,
                &format!("{}/", item.path),
                b'5',
                0o755,
                0,
                "",
                mtime,
            ),
            ItemKind::Symlink(target) => {
                write_entry(&mut out, &item.path, b'2', 0o777, 0, target, mtime)
            }
            ItemKind::File { executable } => {
                let data = match &item.source {
                    Some(p) => fs_err::read(p)?,
                    None => Vec::new(),
                };
                let mode = if *executable { 0o755 } else { 0o644 };
                write_entry(
                    &mut out,
                    &item.path,
                    b'0',
                    mode,
                    data.len() as u64,
                    "",
                    mtime,
                );
                out.extend_from_slice(&data);
                pad(&mut out);
            }
        }
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    Ok(out)
}

/// `/a/b/` → `a/b`; `None` for a relative path or one with `.`/`..` components.
fn clean_dest(dest: &str) -> Option<String> {
    let rest = dest.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return None;
    }
    Some(parts.join("/"))
}

fn walk(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, std::path::PathBuf, ItemKind)>,
) -> Result<(), Error> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::Build {
                reason: format!("`{}` has a name that is not UTF-8", entry.path().display()),
                fix: "rename the file: image layers carry UTF-8 paths".into(),
            });
        };
        let child = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let path = entry.path();
        let meta = fs_err::symlink_metadata(&path)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            out.push((child.clone(), path.clone(), ItemKind::Dir));
            walk(&path, &child, out)?;
        } else if ft.is_symlink() {
            let target = fs_err::read_link(&path)?;
            let target = target
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Build {
                    reason: format!("`{}` links to a path that is not UTF-8", path.display()),
                    fix: "point the link at a UTF-8 path".into(),
                })?;
            out.push((child, path, ItemKind::Symlink(target)));
        } else if ft.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.push((child, path, ItemKind::File { executable }));
        } else {
            let what = if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "a device"
            };
            return Err(Error::Build {
                reason: format!("`{}` is {what}", path.display()),
                fix: "an image layer made by zt holds files, directories and links only: remove it from the output".into(),
            });
        }
    }
    Ok(())
}

fn put_str(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    if let (Some(dst), Some(src)) = (field.get_mut(..n), s.get(..n)) {
        dst.copy_from_slice(src);
    }
}

fn put_octal(field: &mut [u8], v: u64) {
    let width = field.len().saturating_sub(1);
    let s = format!("{v:0width$o}");
    put_str(field, s.as_bytes());
}

pub(crate) fn pad(out: &mut Vec<u8>) {
    let rem = out.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

/// One pax record: `"<len> key=value\n"`, the length counting itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len = format!("{len}{body}").len();
    }
    format!("{len}{body}")
}

pub(crate) fn header(
    name: &[u8],
    kind: u8,
    mode: u32,
    size: u64,
    link: &[u8],
    mtime: i64,
) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    put_str(&mut h[0..100], name);
    put_octal(&mut h[100..108], u64::from(mode));
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    put_octal(&mut h[124..136], size);
    put_octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0));
    h[156] = kind;
    put_str(&mut h[157..257], link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    put_octal(&mut h[329..337], 0);
    put_octal(&mut h[337..345], 0);
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    put_octal(&mut h[148..155], sum);
    h[155] = b' ';
    h
}

fn write_entry(
    out: &mut Vec<u8>,
    path: &str,
    kind: u8,
    mode: u32,
    size: u64,
    link: &str,
    mtime: i64,
) {
    let mut records = String::new();
    if path.len() > 100 {
        records.push_str(&pax_record("path", path));
    }
    if link.len() > 100 {
        records.push_str(&pax_record("linkpath", link));
    }
    if size >= 0o77777777777 {
        records.push_str(&pax_record("size", &size.to_string()));
    }
    if !records.is_empty() {
        let name = format!("PaxHeaders/{}", path.trim_end_matches('/'));
        let name = name.get(..100).unwrap_or(&name);
        out.extend_from_slice(&header(
            name.as_bytes(),
            b'x',
            0o644,
            records.len() as u64,
            b"",
            mtime,
        ));
        out.extend_from_slice(records.as_bytes());
        pad(out);
    }
    let size_field = if size >= 0o77777777777 { 0 } else { size };
    out.extend_from_slice(&header(
        path.as_bytes(),
        kind,
        mode,
        size_field,
        link.as_bytes(),
        mtime,
    ));
}

/// Gzip, deterministically: no file name, mtime 0, OS byte 255 ("unknown"), the default
/// level of flate2's Rust backend (pinned by Cargo.lock, so the same bytes everywhere).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// How a layer's bytes are compressed, from its magic bytes.
pub fn compression(head: &[u8]) -> &'static str {
    match head {
        [0x1f, 0x8b, ..] => "gzip",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd",
        _ => "none",
    }
}

/// Reads the entries of a layer (tar, or tar+gzip by its magic bytes), calling `each` for
/// every entry; the data of a file is kept when `keep(path)` says so and it is no larger
/// than `max_kept` bytes. `name` names the layer in errors.
pub fn read_layer(
    bytes: &[u8],
    name: &str,
    keep: &dyn Fn(&str) -> bool,
    max_kept: u64,
    each: &mut dyn FnMut(Entry),
) -> Result<(), Error> {
    match compression(bytes) {
        "gzip" => read_entries(
            flate2::read::GzDecoder::new(bytes),
            name,
            keep,
            max_kept,
            each,
        ),
        "zstd" => Err(Error::Layer {
            layer: name.to_string(),
            reason: "it is zstd-compressed, which zt does not read yet".into(),
        }),
        _ => read_entries(bytes, name, keep, max_kept, each),
    }
}

fn parse_num(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(f.first()? & 0x7f);
        for &b in f.get(1..)? {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    let mut any = false;
    for &b in f.iter().skip_while(|&&b| b == b' ') {
        if b == 0 || b == b' ' {
            break;
        }
        let d = (b as char).to_digit(8)?;
        v = v.checked_mul(8)?.checked_add(u64::from(d))?;
        any = true;
    }
    Some(if any { v } else { 0 })
}

fn cstr(f: &[u8]) -> String {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    String::from_utf8_lossy(f.get(..end).unwrap_or_default()).into_owned()
}

/// `./a/b/` → `a/b`.
fn normalise(path: &str) -> String {
    let mut p = path;
    loop {
        if let Some(r) = p.strip_prefix("./") {
            p = r;
        } else if let Some(r) = p.strip_prefix('/') {
            p = r;
        } else {
            break;
        }
    }
    p.trim_end_matches('/').to_string()
}

fn parse_pax(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(rest.get(..space).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        let Some(record) = rest.get(space + 1..len) else {
            break;
        };
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&b| b == b'=') {
            let key = String::from_utf8_lossy(record.get(..eq).unwrap_or_default()).into_owned();
            let value =
                String::from_utf8_lossy(record.get(eq + 1..).unwrap_or_default()).into_owned();
            out.push((key, value));
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    out
}

/// The largest pax or GNU long-name block zt reads.
const MAX_META: u64 = 1024 * 1024;

fn read_entries(
    mut r: impl Read,
    name: &str,
    keep: &dyn Fn(&str) -> bool,
    max_kept: u64,
    each: &mut dyn FnMut(Entry),
) -> Result<(), Error> {
    let bad = |reason: String| Error::Layer {
        layer: name.to_string(),
        reason,
    };
    let io = |e: std::io::Error| bad(format!("it cannot be read: {e}"));
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    let mut h = [0u8; BLOCK];
    loop {
        if !read_block(&mut r, &mut h).map_err(io)? {
            // An archive that ends without its zero blocks: what was read stands.
            return Ok(());
        }
        if h.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let stored =
            parse_num(&h[148..156]).ok_or_else(|| bad("a header has a bad checksum".into()))?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if sum != stored {
            return Err(bad(
                "a header's checksum does not match (not a tar archive?)".into(),
            ));
        }
        let kind = h[156];
        let size = match pax_size.take() {
            Some(s) => s,
            None => parse_num(&h[124..136]).ok_or_else(|| bad("a header has a bad size".into()))?,
        };
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        match kind {
            b'x' | b'g' | b'L' | b'K' => {
                if size > MAX_META {
                    return Err(bad(format!(
                        "a metadata entry of {size} bytes is too large"
                    )));
                }
                let mut data = vec![0u8; usize::try_from(padded).unwrap_or(0)];
                r.read_exact(&mut data).map_err(io)?;
                data.truncate(usize::try_from(size).unwrap_or(0));
                match kind {
                    b'x' => {
                        for (k, v) in parse_pax(&data) {
                            match k.as_str() {
                                "path" => long_name = Some(v),
                                "linkpath" => long_link = Some(v),
                                "size" => pax_size = v.parse().ok(),
                                _ => {}
                            }
                        }
                    }
                    b'L' => long_name = Some(cstr(&data)),
                    b'K' => long_link = Some(cstr(&data)),
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        let path = match long_name.take() {
            Some(p) => p,
            None => {
                let base = cstr(&h[0..100]);
                let prefix = if &h[257..262] == b"ustar" {
                    cstr(&h[345..500])
                } else {
                    String::new()
                };
                if prefix.is_empty() {
                    base
                } else {
                    format!("{prefix}/{base}")
                }
            }
        };
        let link = long_link.take().unwrap_or_else(|| cstr(&h[157..257]));
        let path = normalise(&path);
        let kind = match kind {
            b'0' | 0 | b'7' => Kind::File,
            b'5' => Kind::Dir,
            b'2' => Kind::Symlink(link),
            b'1' => Kind::Hardlink(normalise(&link)),
            _ => Kind::Other,
        };
        // A hard link or directory has no data whatever its size field says (pax allows it).
        let data_len = if matches!(kind, Kind::File | Kind::Other) {
            padded
        } else {
            0
        };
        let data = if kind == Kind::File && size <= max_kept && keep(&path) {
            let mut data = vec![0u8; usize::try_from(data_len).unwrap_or(0)];
            r.read_exact(&mut data).map_err(io)?;
            data.truncate(usize::try_from(size).unwrap_or(0));
            Some(data)
        } else {
            let skipped =
                std::io::copy(&mut (&mut r).take(data_len), &mut std::io::sink()).map_err(io)?;
            if skipped != data_len {
                return Err(bad(format!("`{path}` is cut short")));
            }
            None
        };
        each(Entry {
            path,
            kind,
            size,
            data,
        });
    }
}

/// Reads one block; `false` at a clean end of input.
fn read_block(r: &mut impl Read, h: &mut [u8; BLOCK]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < BLOCK {
        match r.read(&mut h[got..])? {
            0 if got == 0 => return Ok(false),
            0 => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a header is cut short",
                ));
            }
            n => got += n,
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn entries(bytes: &[u8]) -> Vec<Entry> {
        let mut out = Vec::new();
        read_layer(bytes, "t", &|_| true, 1 << 20, &mut |e| out.push(e)).unwrap();
        out
    }

    fn tree(root: &Path, umask_exec: u32) {
        fs_err::create_dir_all(root.join("bin")).unwrap();
        fs_err::create_dir_all(root.join("share/doc")).unwrap();
        fs_err::write(root.join("bin/app"), b"#!/bin/sh\necho hi\n").unwrap();
        fs_err::set_permissions(
            root.join("bin/app"),
            std::fs::Permissions::from_mode(umask_exec),
        )
        .unwrap();
        fs_err::write(root.join("share/doc/README"), b"read me").unwrap();
        let long = "d".repeat(120);
        fs_err::create_dir_all(root.join(&long)).unwrap();
        fs_err::write(root.join(&long).join("f"), b"long").unwrap();
        std::os::unix::fs::symlink("bin/app", root.join("app")).unwrap();
    }

    #[test]
    fn the_same_tree_gives_the_same_bytes_whatever_its_metadata() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        tree(a.path(), 0o755);
        // Another path, other permissions (umask 077), other mtimes.
        tree(b.path(), 0o700);
        let f = b.path().join("share/doc/README");
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(12345);
        fs_err::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(t)
            .unwrap();
        let ta = from_dir(a.path(), "/opt/app", 1_700_000_000).unwrap();
        let tb = from_dir(b.path(), "/opt/app/", 1_700_000_000).unwrap();
        assert_eq!(ta, tb);
        assert_eq!(gzip(&ta), gzip(&tb));
        let e = entries(&gzip(&ta));
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        let long = format!("opt/app/{}", "d".repeat(120));
        assert_eq!(
            paths,
            [
                "opt",
                "opt/app",
                "opt/app/app",
                "opt/app/bin",
                "opt/app/bin/app",
                &long,
                &format!("{long}/f"),
                "opt/app/share",
                "opt/app/share/doc",
                "opt/app/share/doc/README"
            ]
        );
        assert_eq!(e[2].kind, Kind::Symlink("bin/app".into()));
        assert_eq!(e[4].data.as_deref(), Some(&b"#!/bin/sh\necho hi\n"[..]));
        assert_eq!(e[6].data.as_deref(), Some(&b"long"[..]));
        // mode, owner and time are the fixed ones
        let h = &ta[..BLOCK];
        assert_eq!(parse_num(&h[136..148]), Some(1_700_000_000));
        assert_eq!(parse_num(&h[108..116]), Some(0));
        // a different epoch is different bytes
        assert_ne!(from_dir(a.path(), "/opt/app", 1).unwrap(), ta);
    }

    #[test]
    fn refuses_relative_or_escaping_destinations_and_special_files() {
        let a = tempfile::tempdir().unwrap();
        assert!(from_dir(a.path(), "opt", 0).is_err());
        assert!(from_dir(a.path(), "/opt/../etc", 0).is_err());
        std::os::unix::net::UnixListener::bind(a.path().join("sock")).unwrap();
        let e = from_dir(a.path(), "/", 0).unwrap_err();
        assert!(e.to_string().contains("socket"), "{e}");
    }

    #[test]
    fn reads_gnu_long_names_and_pax_paths_and_rejects_garbage() {
        // GNU long name written by hand: an `L` entry then the file.
        let name = format!("usr/{}", "x".repeat(150));
        let mut tar = Vec::new();
        let data = format!("{name}\0");
        tar.extend_from_slice(&header(
            b"././@LongLink",
            b'L',
            0o644,
            data.len() as u64,
            b"",
            0,
        ));
        tar.extend_from_slice(data.as_bytes());
        pad(&mut tar);
        tar.extend_from_slice(&header(b"usr/xxx", b'0', 0o644, 2, b"", 0));
        tar.extend_from_slice(b"ok");
        pad(&mut tar);
        tar.extend_from_slice(&[0u8; 1024]);
        let e = entries(&tar);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, name);
        assert_eq!(e[0].data.as_deref(), Some(&b"ok"[..]));
        let mut broken = tar.clone();
        broken[10] ^= 1;
        assert!(read_layer(&broken, "t", &|_| true, 10, &mut |_| {}).is_err());
        assert!(
            read_layer(
                &[0x28, 0xb5, 0x2f, 0xfd, 0],
                "t",
                &|_| true,
                10,
                &mut |_| {}
            )
            .unwrap_err()
            .to_string()
            .contains("zstd")
        );
    }

    proptest! {
        #[test]
        fn reading_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = read_layer(&bytes, "p", &|_| true, 1 << 16, &mut |_| {});
        }

        #[test]
        fn reading_a_mutated_archive_never_panics(pos in 0usize..2048, byte in any::<u8>()) {
            let a = tempfile::tempdir().unwrap();
            fs_err::write(a.path().join("f"), b"data").unwrap();
            let mut t = from_dir(a.path(), "/x", 0).unwrap();
            if let Some(b) = t.get_mut(pos) { *b = byte; }
            let _ = read_layer(&t, "p", &|_| true, 1 << 16, &mut |_| {});
        }
    }
}
