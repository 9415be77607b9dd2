//! Reading the archive a registry served, in memory, without ever writing its members to disk:
//! `.tar`, `.tar.gz` / `.tgz` / `.crate` (npm and crates.io), `.gem` (a tar holding
//! `metadata.gz` and `data.tar.gz`), and `.zip` / `.whl` / `.jar`.
//!
//! Every member path is checked before anything looks at it: absolute paths, `..`
//! components, drive letters, backslashes and NUL bytes are refused, and so are links whose
//! target leaves the archive's root. Sizes are bounded ([`Limits`]): a member, the total
//! unpacked size, the number of members, and the expansion ratio of compressed data, so a
//! zip bomb or a gzip bomb stops at the limit instead of filling memory.

use std::io::Read;

/// Why an archive was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// The bytes are not a well-formed archive of the kind named.
    #[error("malformed {kind} archive: {message}")]
    Malformed {
        /// `tar`, `gzip`, `zip`, `gem`.
        kind: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A member path or link target would land outside the archive's root.
    #[error("member `{path}` escapes the archive root: {why}")]
    UnsafePath {
        /// The path as written in the archive.
        path: String,
        /// Absolute, `..`, link target, …
        why: &'static str,
    },
    /// A size limit was exceeded (zip or gzip bomb, or simply too large).
    #[error("{what} exceeds the limit of {limit} {unit}")]
    TooLarge {
        /// What grew too large.
        what: String,
        /// The limit.
        limit: u64,
        /// `bytes` or `members`.
        unit: &'static str,
    },
    /// The file name names no archive format zt reads.
    #[error(
        "`{0}` is not an archive zt reads (.tar, .tar.gz, .tgz, .crate, .gem, .zip, .whl, .jar)"
    )]
    UnknownFormat(String),
}

impl ArchiveError {
    /// A stable id for the decision record: `archive-unsafe-path`, `archive-too-large`,
    /// `archive-malformed`, `archive-unknown-format`.
    pub fn rule_id(&self) -> &'static str {
        match self {
            ArchiveError::Malformed { .. } => "archive-malformed",
            ArchiveError::UnsafePath { .. } => "archive-unsafe-path",
            ArchiveError::TooLarge { .. } => "archive-too-large",
            ArchiveError::UnknownFormat(_) => "archive-unknown-format",
        }
    }
}

/// Size limits for unpacking.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single member, unpacked.
    pub max_member: u64,
    /// Largest total of all members, unpacked (nested archives included).
    pub max_total: u64,
    /// Most members.
    pub max_members: usize,
    /// Largest unpacked/packed ratio of one compressed stream or member (above 1 MiB).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_member: 256 << 20,
            max_total: 1 << 30,
            max_members: 200_000,
            max_ratio: 1000,
        }
    }
}

/// The kind of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain tar.
    Tar,
    /// Gzip-compressed tar (`.tar.gz`, `.tgz`, `.crate`).
    TarGz,
    /// A RubyGems `.gem`.
    Gem,
    /// Zip (`.zip`, `.whl`, `.jar`, `.egg`).
    Zip,
}

impl Kind {
    /// The kind named by a file name.
    pub fn from_name(name: &str) -> Option<Kind> {
        let n = name.to_ascii_lowercase();
        if n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".crate") {
            Some(Kind::TarGz)
        } else if n.ends_with(".tar") {
            Some(Kind::Tar)
        } else if n.ends_with(".gem") {
            Some(Kind::Gem)
        } else if n.ends_with(".zip")
            || n.ends_with(".whl")
            || n.ends_with(".jar")
            || n.ends_with(".egg")
        {
            Some(Kind::Zip)
        } else {
            None
        }
    }
}

/// One regular file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its normalised relative path (`/`-separated, no `.` or `..`).
    pub path: String,
    /// Its content.
    pub data: Vec<u8>,
    /// Whether any execute bit is set.
    pub executable: bool,
}

struct Budget {
    limits: Limits,
    total: u64,
    members: usize,
}

impl Budget {
    fn add(&mut self, size: u64) -> Result<(), ArchiveError> {
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(ArchiveError::TooLarge {
                what: "the number of members".into(),
                limit: self.limits.max_members as u64,
                unit: "members",
            });
        }
        if size > self.limits.max_member {
            return Err(ArchiveError::TooLarge {
                what: "a member".into(),
                limit: self.limits.max_member,
                unit: "bytes",
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total {
            return Err(ArchiveError::TooLarge {
                what: "the unpacked size".into(),
                limit: self.limits.max_total,
                unit: "bytes",
            });
        }
        Ok(())
    }
}

/// Reads the archive `bytes` named `name` (the kind comes from the name; a `.gem`'s
/// `data.tar.gz` members appear under `data/`, its gemspec as `metadata`).
pub fn read(name: &str, bytes: &[u8], limits: Limits) -> Result<Vec<Entry>, ArchiveError> {
    let kind = Kind::from_name(name).ok_or_else(|| ArchiveError::UnknownFormat(name.into()))?;
    read_kind(kind, bytes, limits)
}

/// Reads an archive of a known kind.
pub fn read_kind(kind: Kind, bytes: &[u8], limits: Limits) -> Result<Vec<Entry>, ArchiveError> {
    let mut out = Vec::new();
    stream(
        kind,
        &mut &bytes[..],
        bytes.len() as u64,
        limits,
        &mut |e| {
            out.push(e);
            Ok(())
        },
    )?;
    Ok(out)
}

/// What receives each regular file of an archive, in archive order; an error stops the read.
pub type Visit<'v> = &'v mut dyn FnMut(Entry) -> Result<(), ArchiveError>;

/// Reads an archive of `packed` bytes from `reader`, handing each regular file to `visit` as
/// it is read. Tar, tar.gz and gem archives are read as a stream — only the member being
/// read is in memory besides what `visit` keeps — so memory stays at the largest member
/// kept however large the archive; a zip (its directory is at the end) is read into memory
/// first.
pub fn stream(
    kind: Kind,
    reader: &mut dyn std::io::BufRead,
    packed: u64,
    limits: Limits,
    visit: Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut budget = Budget {
        limits,
        total: 0,
        members: 0,
    };
    match kind {
        Kind::Tar => tar(reader, "", &mut budget, visit),
        Kind::TarGz => tar_gz(reader, packed, "", &mut budget, visit),
        Kind::Gem => gem(reader, &mut budget, visit),
        Kind::Zip => {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| malformed("zip", format!("cannot read: {e}")))?;
            let mut out = Vec::new();
            zip(&bytes, &mut budget, &mut out)?;
            out.into_iter().try_for_each(visit)
        }
    }
}

fn malformed(kind: &'static str, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Malformed {
        kind,
        message: message.into(),
    }
}

/// Normalises a member path; refuses anything that could leave the root.
pub fn safe_path(raw: &str) -> Result<Option<String>, ArchiveError> {
    let unsafe_path = |why| ArchiveError::UnsafePath {
        path: raw.into(),
        why,
    };
    if raw.contains('\0') {
        return Err(unsafe_path("NUL byte in the path"));
    }
    if raw.contains('\\') {
        return Err(unsafe_path("backslash in the path"));
    }
    if raw.starts_with('/') {
        return Err(unsafe_path("absolute path"));
    }
    let b = raw.as_bytes();
    if b.len() >= 2 && b.get(1) == Some(&b':') && b.first().is_some_and(u8::is_ascii_alphabetic) {
        return Err(unsafe_path("drive letter"));
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("`..` component")),
            p => parts.push(p),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Checks that a link at `path` pointing to `target` stays inside the root.
fn check_link(path: &str, target: &str) -> Result<(), ArchiveError> {
    let bad = |why| ArchiveError::UnsafePath {
        path: format!("{path} -> {target}"),
        why,
    };
    if target.starts_with('/') || target.contains('\\') || target.contains('\0') {
        return Err(bad("link target is absolute"));
    }
    let mut depth: Vec<&str> = path.split('/').collect();
    depth.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return Err(bad("link target leaves the root"));
                }
            }
            p => depth.push(p),
        }
    }
    Ok(())
}

fn inflate_bounded(
    reader: impl Read,
    packed: u64,
    budget: &Budget,
    kind: &'static str,
) -> Result<Vec<u8>, ArchiveError> {
    let ratio_cap = packed.saturating_mul(budget.limits.max_ratio).max(1 << 20);
    let cap = budget
        .limits
        .max_total
        .saturating_sub(budget.total)
        .min(ratio_cap);
    let mut out = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| malformed(kind, format!("cannot decompress: {e}")))?;
    if out.len() as u64 > cap {
        return Err(ArchiveError::TooLarge {
            what: format!("a {kind} stream ({packed} bytes packed)"),
            limit: cap,
            unit: "bytes",
        });
    }
    Ok(out)
}

fn gunzip(bytes: &[u8], budget: &Budget) -> Result<Vec<u8>, ArchiveError> {
    if bytes.get(..2) != Some(&[0x1f, 0x8b]) {
        return Err(malformed("gzip", "no gzip magic (1f 8b)"));
    }
    inflate_bounded(
        flate2::read::MultiGzDecoder::new(bytes),
        bytes.len() as u64,
        budget,
        "gzip",
    )
}

fn octal(field: &[u8]) -> Option<u64> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        // GNU base-256
        let mut v: u64 = u64::from(first & 0x7f);
        for &b in field.get(1..)? {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|&b| b != 0)
        .filter(|b| *b != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    let text = std::str::from_utf8(&s).ok()?;
    u64::from_str_radix(text, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&b| b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(rest.get(..sp).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        let Some(rec) = rest.get(sp + 1..len) else {
            break;
        };
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(eq) = rec.iter().position(|&b| b == b'=') {
            out.push((
                String::from_utf8_lossy(rec.get(..eq).unwrap_or_default()).into_owned(),
                String::from_utf8_lossy(rec.get(eq + 1..).unwrap_or_default()).into_owned(),
            ));
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    out
}

/// The most bytes of a tar metadata member (GNU long name/link, pax header) read.
const MAX_TAR_META: u64 = 1 << 20;

/// Reads until `buf` is full or the stream ends; the number of bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads `size` bytes of member data at `pos` into memory.
fn read_data(r: &mut dyn Read, size: u64, pos: u64) -> Result<Vec<u8>, ArchiveError> {
    let mut data = Vec::new();
    r.take(size).read_to_end(&mut data).map_err(|e| {
        malformed(
            "tar",
            format!("cannot read the member at offset {pos}: {e}"),
        )
    })?;
    if (data.len() as u64) < size {
        return Err(malformed(
            "tar",
            format!("member at offset {pos} runs past the end ({size} bytes)"),
        ));
    }
    Ok(data)
}

/// Skips `size` bytes of member data without keeping them.
fn skip_data(r: &mut dyn Read, size: u64, pos: u64) -> Result<(), ArchiveError> {
    let skipped = std::io::copy(&mut r.take(size), &mut std::io::sink()).map_err(|e| {
        malformed(
            "tar",
            format!("cannot read the member at offset {pos}: {e}"),
        )
    })?;
    if skipped < size {
        return Err(malformed(
            "tar",
            format!("member at offset {pos} runs past the end ({size} bytes)"),
        ));
    }
    Ok(())
}

/// Reads a tar stream member by member. Each header is checked — path, type, and its size
/// against the [`Budget`] — before a byte of its data is read, so a member declaring more
/// than the limits is refused without inflating it; data is read only for regular files.
fn tar(
    r: &mut dyn Read,
    prefix: &str,
    budget: &mut Budget,
    visit: Visit<'_>,
) -> Result<(), ArchiveError> {
    let mut pos = 0u64;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax_path: Option<String> = None;
    let mut pax_link: Option<String> = None;
    let mut pax_size: Option<u64> = None;
    loop {
        let mut block = [0u8; 512];
        let got = read_full(r, &mut block)
            .map_err(|e| malformed("tar", format!("cannot read at offset {pos}: {e}")))?;
        if got == 0 {
            return Ok(()); // no end-of-archive blocks: accepted, as GNU tar does
        }
        if got < 512 {
            return Err(malformed(
                "tar",
                format!("truncated header at offset {pos}"),
            ));
        }
        let h = &block[..];
        if h.iter().all(|&b| b == 0) {
            return Ok(());
        }
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
        let stored = octal(h.get(148..156).unwrap_or_default());
        if stored != Some(sum) {
            return Err(malformed(
                "tar",
                format!("bad header checksum at offset {pos}"),
            ));
        }
        let header_size = octal(h.get(124..136).unwrap_or_default())
            .ok_or_else(|| malformed("tar", format!("bad size field at offset {pos}")))?;
        let size = pax_size.take().unwrap_or(header_size);
        let typeflag = h.get(156).copied().unwrap_or(0);
        let padding = (512 - size % 512) % 512;
        let member_pos = pos;
        pos = pos
            .saturating_add(512)
            .saturating_add(size)
            .saturating_add(padding);
        let mut name = cstr(h.get(0..100).unwrap_or_default());
        let magic = h.get(257..262).unwrap_or_default();
        if magic == b"ustar" {
            let p = cstr(h.get(345..500).unwrap_or_default());
            if !p.is_empty() {
                name = format!("{p}/{name}");
            }
        }
        let meta = |r: &mut dyn Read| -> Result<Vec<u8>, ArchiveError> {
            if size > MAX_TAR_META {
                return Err(ArchiveError::TooLarge {
                    what: format!("a tar metadata member at offset {member_pos}"),
                    limit: MAX_TAR_META,
                    unit: "bytes",
                });
            }
            read_data(r, size, member_pos)
        };
        match typeflag {
            b'L' => {
                long_name = Some(cstr(&meta(r)?));
                skip_padding(r, padding)?;
                continue;
            }
            b'K' => {
                long_link = Some(cstr(&meta(r)?));
                skip_padding(r, padding)?;
                continue;
            }
            b'x' => {
                for (k, v) in pax_records(&meta(r)?) {
                    match k.as_str() {
                        "path" => pax_path = Some(v),
                        "linkpath" => pax_link = Some(v),
                        "size" => pax_size = v.parse().ok(),
                        _ => {}
                    }
                }
                skip_padding(r, padding)?;
                continue;
            }
            b'g' => {
                meta(r)?;
                skip_padding(r, padding)?;
                continue;
            }
            _ => {}
        }
        let name = pax_path.take().or(long_name.take()).unwrap_or(name);
        let link = pax_link
            .take()
            .or(long_link.take())
            .unwrap_or_else(|| cstr(h.get(157..257).unwrap_or_default()));
        let Some(path) = safe_path(&name)? else {
            skip_data(r, size, member_pos)?;
            skip_padding(r, padding)?;
            continue;
        };
        match typeflag {
            b'0' | 0 | b'7' => {
                // The limits first: a bomb's declared size is refused before it is inflated.
                budget.add(size)?;
                let mode = octal(h.get(100..108).unwrap_or_default()).unwrap_or(0);
                let data = read_data(r, size, member_pos)?;
                visit(Entry {
                    path: format!("{prefix}{path}"),
                    data,
                    executable: mode & 0o111 != 0,
                })?;
                skip_padding(r, padding)?;
                continue;
            }
            b'1' => {
                // hard link: its target is a path from the root
                safe_path(&link)?;
            }
            b'2' => check_link(&path, &link)?,
            b'5' => {}
            b'3' | b'4' | b'6' => {
                return Err(ArchiveError::UnsafePath {
                    path: name,
                    why: "device or FIFO member",
                });
            }
            _ => {}
        }
        skip_data(r, size, member_pos)?;
        skip_padding(r, padding)?;
    }
}

/// Skips a member's padding to the next 512-byte block; a stream ending inside it is
/// accepted (the next header read sees the end).
fn skip_padding(r: &mut dyn Read, padding: u64) -> Result<(), ArchiveError> {
    std::io::copy(&mut r.take(padding), &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| malformed("tar", format!("cannot read: {e}")))
}

/// A decompressing reader that stops with an error once more than `cap` bytes came out.
struct Capped<R> {
    inner: R,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.cap {
            return Err(std::io::Error::other("decompression limit reached"));
        }
        Ok(n)
    }
}

/// Reads a gzip-compressed tar as a stream: one member's data in memory at a time (what
/// `visit` keeps is its own), and the decompressed bytes bounded as [`inflate_bounded`]
/// bounds them (total, and `packed` × the ratio limit).
fn tar_gz(
    reader: &mut dyn std::io::BufRead,
    packed: u64,
    prefix: &str,
    budget: &mut Budget,
    visit: Visit<'_>,
) -> Result<(), ArchiveError> {
    let head = reader
        .fill_buf()
        .map_err(|e| malformed("gzip", format!("cannot read: {e}")))?;
    if head.get(..2) != Some(&[0x1f, 0x8b]) {
        return Err(malformed("gzip", "no gzip magic (1f 8b)"));
    }
    let ratio_cap = packed.saturating_mul(budget.limits.max_ratio).max(1 << 20);
    let cap = budget
        .limits
        .max_total
        .saturating_sub(budget.total)
        .min(ratio_cap);
    let mut reader = Capped {
        inner: flate2::bufread::MultiGzDecoder::new(reader),
        read: 0,
        cap,
    };
    let too_large = || ArchiveError::TooLarge {
        what: format!("a gzip stream ({packed} bytes packed)"),
        limit: cap,
        unit: "bytes",
    };
    let result = tar(&mut reader, prefix, budget, visit);
    if reader.read > cap {
        return Err(too_large());
    }
    result?;
    // The rest of the stream (after the end-of-archive blocks) is read too, within the same
    // bound, so that the gzip trailer's CRC and length are checked.
    let rest = std::io::copy(&mut reader, &mut std::io::sink());
    if reader.read > cap {
        return Err(too_large());
    }
    rest.map_err(|e| malformed("gzip", format!("cannot decompress: {e}")))?;
    Ok(())
}

fn gem(
    reader: &mut dyn std::io::BufRead,
    budget: &mut Budget,
    visit: Visit<'_>,
) -> Result<(), ArchiveError> {
    // The outer tar's members are small or compressed (`data.tar.gz`): kept while it is read.
    let mut outer = Vec::new();
    tar(reader, "", budget, &mut |e| {
        outer.push(e);
        Ok(())
    })?;
    let mut saw_data = false;
    for e in outer {
        match e.path.as_str() {
            "data.tar.gz" => {
                saw_data = true;
                tar_gz(
                    &mut &e.data[..],
                    e.data.len() as u64,
                    "data/",
                    budget,
                    visit,
                )?;
            }
            "metadata.gz" => {
                let raw = gunzip(&e.data, budget)?;
                budget.add(raw.len() as u64)?;
                visit(Entry {
                    path: "metadata".into(),
                    data: raw,
                    executable: false,
                })?;
            }
            _ => visit(e)?,
        }
    }
    if !saw_data {
        return Err(malformed("gem", "no data.tar.gz member"));
    }
    Ok(())
}

fn u16le(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn zip(bytes: &[u8], budget: &mut Budget, out: &mut Vec<Entry>) -> Result<(), ArchiveError> {
    let bad = |m: &str| malformed("zip", m.to_string());
    // end of central directory: the last signature within the final 64 KiB + 22 bytes
    let from = bytes.len().saturating_sub(65_557);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32le(bytes, i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end-of-central-directory record"))?;
    let count = u16le(bytes, eocd + 10).ok_or_else(|| bad("truncated end record"))?;
    let cd_offset = u32le(bytes, eocd + 16).ok_or_else(|| bad("truncated end record"))?;
    if count == 0xffff || cd_offset == 0xffff_ffff {
        return Err(bad("zip64 archives are not read"));
    }
    let mut p = cd_offset as usize;
    for _ in 0..count {
        if u32le(bytes, p) != Some(0x0201_4b50) {
            return Err(bad("bad central directory entry signature"));
        }
        let field = |off: usize| u16le(bytes, p + off).ok_or_else(|| bad("truncated entry"));
        let field32 = |off: usize| u32le(bytes, p + off).ok_or_else(|| bad("truncated entry"));
        let method = field(10)?;
        let packed = u64::from(field32(20)?);
        let size = u64::from(field32(24)?);
        let (nlen, xlen, clen) = (
            field(28)? as usize,
            field(30)? as usize,
            field(32)? as usize,
        );
        let external = field32(38)?;
        let local = field32(42)? as usize;
        let raw_name = bytes
            .get(p + 46..p + 46 + nlen)
            .ok_or_else(|| bad("truncated file name"))?;
        let name = String::from_utf8_lossy(raw_name).into_owned();
        p += 46 + nlen + xlen + clen;
        let Some(path) = safe_path(&name)? else {
            continue;
        };
        let unix_mode = external >> 16;
        let is_dir = name.ends_with('/') || unix_mode & 0o170_000 == 0o040_000;
        if is_dir {
            continue;
        }
        if u32le(bytes, local) != Some(0x0403_4b50) {
            return Err(bad("bad local header signature"));
        }
        let lnlen = u16le(bytes, local + 26).ok_or_else(|| bad("truncated local header"))?;
        let lxlen = u16le(bytes, local + 28).ok_or_else(|| bad("truncated local header"))?;
        let start = local + 30 + lnlen as usize + lxlen as usize;
        let raw = bytes
            .get(start..start.saturating_add(packed as usize))
            .ok_or_else(|| bad("member data runs past the end"))?;
        budget.add(size)?;
        let data = match method {
            0 if packed != size => {
                return Err(bad(&format!(
                    "stored member `{name}` is {packed} bytes but the directory says {size}"
                )));
            }
            0 => raw.to_vec(),
            8 => {
                let d = inflate_bounded(
                    flate2::read::DeflateDecoder::new(raw),
                    packed,
                    budget,
                    "zip",
                )?;
                if d.len() as u64 != size {
                    return Err(bad(&format!(
                        "`{name}` inflates to {} bytes, the directory says {size}",
                        d.len()
                    )));
                }
                d
            }
            m => return Err(bad(&format!("`{name}` uses compression method {m}"))),
        };
        if unix_mode & 0o170_000 == 0o120_000 {
            check_link(&path, &String::from_utf8_lossy(&data))?;
            continue;
        }
        out.push(Entry {
            path,
            data,
            executable: unix_mode & 0o111 != 0,
        });
    }
    Ok(())
}

/// Writes a tar archive (ustar, regular files only) — for tests and fixtures.
pub fn write_tar(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data, mode) in entries {
        let mut h = [0u8; 512];
        let n = name.as_bytes();
        let len = n.len().min(100);
        h[..len].copy_from_slice(&n[..len]);
        h[100..107].copy_from_slice(format!("{mode:07o}").as_bytes());
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Gzips bytes — for tests and fixtures.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // writing to a Vec cannot fail
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn zip_of(entries: &[(&str, &[u8], u32, bool)]) -> Vec<u8> {
        use std::io::Write as _;
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data, mode, deflate) in entries {
            let payload = if *deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.to_vec()
            };
            let method: u16 = if *deflate { 8 } else { 0 };
            let off = out.len() as u32;
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0]);
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 8]); // time, date, crc
            out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&payload);
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&[20, 3, 20, 0, 0, 0]);
            cd.extend_from_slice(&method.to_le_bytes());
            cd.extend_from_slice(&[0; 8]);
            cd.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(data.len() as u32).to_le_bytes());
            cd.extend_from_slice(&(name.len() as u16).to_le_bytes());
            cd.extend_from_slice(&[0; 8]); // extra, comment, disk, internal
            cd.extend_from_slice(&(mode << 16).to_le_bytes());
            cd.extend_from_slice(&off.to_le_bytes());
            cd.extend_from_slice(name.as_bytes());
        }
        let cd_off = out.len() as u32;
        out.extend_from_slice(&cd);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out
    }

    #[test]
    fn tar_gz_round_trip_and_exec_bit() {
        let tar = write_tar(&[("pkg/a.txt", b"hello", 0o644), ("pkg/run.sh", b"#!", 0o755)]);
        let e = read("x-1.0.tgz", &gzip(&tar), Limits::default()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].path, "pkg/a.txt");
        assert_eq!(e[0].data, b"hello");
        assert!(!e[0].executable);
        assert!(e[1].executable);
        let e = read("x.crate", &gzip(&tar), Limits::default()).unwrap();
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn traversal_and_absolute_paths_are_refused() {
        for bad in ["../evil", "a/../../evil", "/etc/passwd", "C:/x", "a\\b"] {
            let tar = write_tar(&[(bad, b"x", 0o644)]);
            let err = read("x.tar", &tar, Limits::default()).unwrap_err();
            assert_eq!(err.rule_id(), "archive-unsafe-path", "{bad}: {err}");
        }
        // inner `..` that stays inside is refused too: no `..` at all
        assert!(safe_path("a/b/../c").is_err());
        assert_eq!(safe_path("./a//b/").unwrap().as_deref(), Some("a/b"));
    }

    #[test]
    fn escaping_symlinks_are_refused() {
        assert!(check_link("pkg/link", "../../etc/passwd").is_err());
        assert!(check_link("pkg/link", "/etc/passwd").is_err());
        check_link("pkg/sub/link", "../file").unwrap();
        let z = zip_of(&[("pkg/l", b"../../x", 0o120_777, false)]);
        assert_eq!(
            read("a.zip", &z, Limits::default()).unwrap_err().rule_id(),
            "archive-unsafe-path"
        );
    }

    #[test]
    fn zip_stored_and_deflated() {
        let z = zip_of(&[
            ("a/x.py", b"print(1)", 0o100_644, false),
            ("a/y.bin", &[7u8; 5000], 0o100_755, true),
            ("a/dir/", b"", 0o040_755, false),
        ]);
        let e = read("pkg-1.0-py3-none-any.whl", &z, Limits::default()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].data.len(), 5000);
        assert!(e[1].executable);
    }

    #[test]
    fn zip_bomb_stops_at_the_ratio_limit() {
        let big = vec![0u8; 8 << 20];
        let z = zip_of(&[("bomb", &big, 0o100_644, true)]);
        let limits = Limits {
            max_ratio: 100,
            ..Limits::default()
        };
        assert_eq!(
            read("b.zip", &z, limits).unwrap_err().rule_id(),
            "archive-too-large"
        );
        let gz = gzip(&write_tar(&[("bomb", &big, 0o644)]));
        assert_eq!(
            read("b.tgz", &gz, limits).unwrap_err().rule_id(),
            "archive-too-large"
        );
        let small_total = Limits {
            max_total: 1 << 20,
            ..Limits::default()
        };
        assert!(read("b.tgz", &gz, small_total).is_err());
    }

    /// A tar header declaring `size` bytes, followed by only `data`.
    fn header_claiming(name: &str, size: u64, data: &[u8]) -> Vec<u8> {
        let mut t = write_tar(&[(name, data, 0o644)]);
        t[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        t[148..156].copy_from_slice(b"        ");
        let sum: u32 = t[..512].iter().map(|&b| u32::from(b)).sum();
        t[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        t
    }

    /// Regression (issue 16): a 1 MB `.tgz` whose member inflates to 1 GiB cost ~1 GiB of
    /// memory before it was refused: the whole tar was inflated first, then parsed. Now the
    /// member's header is read first and its declared size refused before any of its data is
    /// inflated — here the data is not even there, so only the header order can refuse it
    /// as too large (reading first would find it truncated).
    #[test]
    fn a_member_declared_too_large_is_refused_before_its_data() {
        let gz = gzip(&header_claiming(
            "package/zeros.bin",
            1 << 30,
            b"0123456789",
        ));
        let e = read("bomb.tgz", &gz, Limits::default()).unwrap_err();
        assert_eq!(e.rule_id(), "archive-too-large", "{e}");
        assert_eq!(
            e.to_string(),
            "a member exceeds the limit of 268435456 bytes"
        );
        // Within the member limit but past the unpacked total: the same, before reading.
        let limits = Limits {
            max_total: 1 << 20,
            ..Limits::default()
        };
        let gz = gzip(&header_claiming("package/zeros.bin", 2 << 20, b"x"));
        let e = read("bomb.tgz", &gz, limits).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the unpacked size exceeds the limit of 1048576 bytes"
        );
        // A header that tells the truth about a short stream is malformed, not a panic.
        let gz = gzip(&header_claiming("package/a", 4096, b"x"));
        assert_eq!(
            read("a.tgz", &gz, Limits::default()).unwrap_err().rule_id(),
            "archive-malformed"
        );
        // A corrupted gzip trailer after a complete tar is still caught.
        let mut gz = gzip(&write_tar(&[("package/a", b"hello", 0o644)]));
        let n = gz.len();
        gz[n - 5] ^= 0xff;
        assert!(read("a.tgz", &gz, Limits::default()).is_err());
    }

    #[test]
    fn gem_unpacks_data_and_metadata() {
        let data = gzip(&write_tar(&[("lib/x.rb", b"puts 1", 0o644)]));
        let meta = gzip(b"--- !ruby/object:Gem::Specification\nname: x\n");
        let gem = write_tar(&[("metadata.gz", &meta, 0o644), ("data.tar.gz", &data, 0o644)]);
        let e = read("x-1.0.gem", &gem, Limits::default()).unwrap();
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["metadata", "data/lib/x.rb"]);
    }

    #[test]
    fn corrupt_archives_are_malformed_not_panics() {
        let mut tar = write_tar(&[("a", b"x", 0o644)]);
        tar[0] = b'b'; // checksum now wrong
        assert_eq!(
            read("x.tar", &tar, Limits::default())
                .unwrap_err()
                .rule_id(),
            "archive-malformed"
        );
        assert!(read("x.tgz", b"not gzip", Limits::default()).is_err());
        assert!(read("x.zip", b"PK\x03\x04", Limits::default()).is_err());
        assert_eq!(
            read("x.rpm", b"", Limits::default()).unwrap_err().rule_id(),
            "archive-unknown-format"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            for name in ["a.tar", "a.tgz", "a.gem", "a.zip"] {
                let _ = read(name, &data, Limits::default());
            }
        }

        #[test]
        fn mutated_archives_never_panic(pos in 0usize..3072, byte in proptest::num::u8::ANY) {
            let mut tar = write_tar(&[("pkg/a.txt", b"hello world", 0o644), ("pkg/b", b"x", 0o755)]);
            if pos < tar.len() { tar[pos] = byte; }
            let _ = read("a.tar", &tar, Limits::default());
            let mut z = zip_of(&[("a", b"hello", 0o100_644, true), ("b", b"x", 0o100_644, false)]);
            let p = pos % z.len();
            z[p] = byte;
            let _ = read("a.zip", &z, Limits::default());
        }
    }
}
