//! Zip normalisation (zip, jar/war/apk, jmod, pyzip), byte-compatible with strip-nondeterminism
//! 1.13.1, which reads the archive with Perl's `Archive::Zip` 1.68 and writes it back with
//! `overwrite()`. This module re-implements exactly what that round trip emits:
//!
//! - Members come from the central directory (scanned up to the end-of-central-directory
//!   record, found as the last `PK\5\6` in the final 32 KiB); bytes before the first member and
//!   between members are dropped; the archive comment is kept.
//! - Members are sorted by name (Perl `cmp`, i.e. by code point; names flagged UTF-8 are
//!   decoded). Jars keep `META-INF/` and `META-INF/MANIFEST.MF` first, drop `javac.sh` and
//!   plexus compiler argument files, normalise `MANIFEST.MF` (no `Built-By`/`Bnd-LastModified`),
//!   javadoc pages and nested jars, and give `.clj` files the canonical time minus one second.
//! - Every member gets the canonical DOS time (never before 1980-01-01 12:01 UTC; computed in
//!   UTC). Unix-attribute members get mode 644, or 755 when owner-executable, with the file-type
//!   bits of a regular file or directory and no DOS attribute bits except the directory bit.
//! - Extra fields: extended timestamps (`UT`) hold the canonical time, the NTFS field's times
//!   are set, Info-ZIP Unix `ux` uid/gid are zeroed; others are kept. A malformed extra block
//!   is dropped, as the Perl code does.
//! - Headers are rebuilt as `Archive::Zip` writes them: the central directory's version, flags,
//!   method, CRC and sizes; data descriptors only where the flag asks for them; empty members
//!   stored; directories take version and flags from their local header.
//! - Signed jars (`META-INF/*.SF`), encrypted and zip64 archives are left alone with a warning.
//!
//! Known difference: a member whose contents change (a manifest with `Built-By`, a javadoc
//! page, a nested jar) and that is deflated is recompressed with miniz_oxide (flate2's Rust
//! backend) where the Perl tool uses C zlib; the decompressed bytes are the same, the
//! compressed stream may differ. Stored members are byte-identical. zip64 archives (which the
//! Perl tool rewrites) are skipped.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::assembled::{Assembled, range_in};
use super::{Change, Ctx, Malformed, ZIP_SAFE_EPOCH, javadoc, malformed};
use crate::time::gmtime;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_DD: u32 = 0x0807_4b50;
const SIG_Z64_EOCD: u32 = 0x0606_4b50;
const SIG_Z64_LOC: u32 = 0x0706_4b50;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
const FLAG_DD: u16 = 1 << 3;
const FLAG_UTF8: u16 = 0x800;
const FA_UNIX: u8 = 3;
/// `Archive::Zip::ChunkSize`: how far back from the end the EOCD is searched.
const CHUNK: usize = 32_768;

/// Zip or jar rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Plain zip handler.
    Zip,
    /// Jar handler (order, filters, manifest, javadoc, nested jars, `.clj`).
    Jar,
}

/// Why the Perl tool would have stopped: a read error dies (malformed input), a write error
/// makes `overwrite()` fail and leaves the file alone.
enum Fail {
    Read(String),
    Write(String),
}

type R<T> = Result<T, Fail>;

fn rerr<T>(s: impl Into<String>) -> R<T> {
    Err(Fail::Read(s.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    File,
    Directory,
    /// Contents replaced (`Archive::Zip::StringMember`).
    String,
}

#[derive(Debug, Clone)]
struct Member {
    made_by: u8,
    attr_format: u8,
    version_needed: u16,
    flag: u16,
    method: u16,
    desired_method: u16,
    desired_level: i32,
    time: u32,
    crc: u32,
    eocd_crc: u32,
    csize: u64,
    usize: u64,
    /// The Perl string: bytes, or code points when decoded from UTF-8.
    name: Vec<u32>,
    cd_extra: Vec<u8>,
    local_extra: Vec<u8>,
    comment: Vec<u8>,
    internal: u16,
    external: u32,
    lho: i64,
    possible_eocd_offset: i64,
    class: Class,
    contents: Vec<u8>,
}

fn u32le(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn bytes_to_str(b: &[u8]) -> Vec<u32> {
    b.iter().map(|&c| u32::from(c)).collect()
}

fn decode_utf8(b: &[u8]) -> Vec<u32> {
    String::from_utf8_lossy(b).chars().map(u32::from).collect()
}

fn str_eq(s: &[u32], lit: &str) -> bool {
    s.len() == lit.len() && s.iter().zip(lit.bytes()).all(|(&a, b)| a == u32::from(b))
}

fn str_ends_with(s: &[u32], lit: &str) -> bool {
    s.len() >= lit.len() && str_eq(&s[s.len() - lit.len()..], lit)
}

fn str_starts_with(s: &[u32], lit: &str) -> bool {
    s.len() >= lit.len() && str_eq(&s[..lit.len()], lit)
}

/// Perl's `/\.ext$/`: the suffix at the end or before a final newline.
fn perl_ends(s: &[u32], lit: &str) -> bool {
    str_ends_with(s, lit) || (s.last() == Some(&10) && str_ends_with(&s[..s.len() - 1], lit))
}

impl Member {
    fn is_directory(&self) -> bool {
        match self.class {
            Class::Directory => true,
            Class::String => false,
            Class::File => self.name.last() == Some(&u32::from(b'/')) && self.usize == 0,
        }
    }

    fn name_bytes(&self) -> Vec<u8> {
        if self.flag & FLAG_UTF8 != 0 {
            let s: String = self
                .name
                .iter()
                .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect();
            s.into_bytes()
        } else {
            // Code points above 255 only arise from UTF-8 decoding, which needs the flag.
            self.name.iter().map(|&c| c as u8).collect()
        }
    }

    fn set_desired_method(&mut self, new: u16) -> u16 {
        let old = self.desired_method;
        self.desired_method = new;
        if new == STORED {
            self.desired_level = 0;
            if self.usize == 0 {
                self.flag &= !FLAG_DD;
            }
        } else if old == STORED {
            self.desired_level = -1;
        }
        old
    }

    /// `bitFlag()` as the central directory writes it (compression-level bits added).
    fn cd_flag(&self) -> u16 {
        match self.desired_level {
            1 | 2 => self.flag | (2 << 1),
            8 | 9 => self.flag | (1 << 1),
            _ => self.flag,
        }
    }
}

struct Archive<'a> {
    data: &'a [u8],
    members: Vec<Member>,
    comment: Vec<u8>,
}

fn read_archive(data: &[u8]) -> R<Option<Archive<'_>>> {
    if data.len() < 22 {
        return rerr("file is too short");
    }
    let window = data.len().min(CHUNK);
    let tail = &data[data.len() - window..];
    let Some(rel) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return rerr("can't find EOCD signature");
    };
    let eocd = data.len() - window + rel;
    // zip64 end-of-central-directory locator right before the EOCD: not handled (see module docs).
    if eocd >= 20 && u32le(data, eocd - 20) == Some(SIG_Z64_LOC) {
        let loc = eocd - 20;
        if let Some(rec) = data
            .get(loc + 8..loc + 16)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
            && rec <= (loc as u64).saturating_sub(56)
            && u32le(data, rec as usize) == Some(SIG_Z64_EOCD)
        {
            return Ok(None);
        }
    }
    let Some(hdr) = data.get(eocd + 4..eocd + 22) else {
        return rerr("reading end of central directory");
    };
    let f16 = |i: usize| u16::from_le_bytes([hdr[i], hdr[i + 1]]);
    let f32 = |i: usize| u32::from_le_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
    let (cd_size, cd_offset, comment_len) = (f32(8), f32(12), usize::from(f16(16)));
    if f16(0) == 0xffff
        || f16(2) == 0xffff
        || f16(4) == 0xffff
        || f16(6) == 0xffff
        || cd_size == u32::MAX
        || cd_offset == u32::MAX
    {
        return rerr("unexpected zip64 marker values in EOCD");
    }
    let comment = match data.get(eocd + 22..eocd + 22 + comment_len) {
        Some(c) => c.to_vec(),
        None if comment_len == 0 => Vec::new(),
        None => return rerr("reading zipfile comment"),
    };
    let Some(cd_start) = eocd.checked_sub(cd_size as usize) else {
        return rerr("central directory starts before the file");
    };
    let eocd_offset = cd_start as i64 - i64::from(cd_offset);
    let mut members = Vec::new();
    let mut pos = cd_start;
    loop {
        let Some(sig) = u32le(data, pos) else {
            return rerr("reading header signature");
        };
        if ![
            SIG_CENTRAL,
            SIG_LOCAL,
            SIG_EOCD,
            SIG_DD,
            SIG_Z64_EOCD,
            SIG_Z64_LOC,
        ]
        .contains(&sig)
        {
            return rerr(format!("bad signature: 0x{sig:08x} at offset {pos}"));
        }
        pos += 4;
        if sig == SIG_EOCD {
            break;
        }
        let Some(h) = data.get(pos..pos + 42) else {
            return rerr("reading central dir header");
        };
        pos += 42;
        let g16 = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let g32 = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (nlen, xlen, clen) = (
            usize::from(g16(24)),
            usize::from(g16(26)),
            usize::from(g16(28)),
        );
        // A short file name read is reported but not returned by Archive::Zip.
        let name_raw = data
            .get(pos..(pos + nlen).min(data.len()))
            .unwrap_or_default()
            .to_vec();
        pos += nlen;
        let Some(cd_extra) = data.get(pos..pos + xlen) else {
            return rerr("reading central dir extra field");
        };
        pos += xlen;
        let Some(comment) = data.get(pos..pos + clen) else {
            return rerr("reading central dir file comment");
        };
        pos += clen;
        let method = g16(6);
        let mut m = Member {
            made_by: h[0],
            attr_format: h[1],
            version_needed: g16(2),
            flag: g16(4),
            method,
            desired_method: STORED,
            desired_level: 0,
            time: g32(8),
            crc: g32(12),
            eocd_crc: g32(12),
            csize: u64::from(g32(16)),
            usize: u64::from(g32(20)),
            name: bytes_to_str(&name_raw),
            cd_extra: cd_extra.to_vec(),
            local_extra: Vec::new(),
            comment: comment.to_vec(),
            internal: g16(32),
            external: g32(34),
            lho: i64::from(g32(38)),
            possible_eocd_offset: eocd_offset,
            class: Class::File,
            contents: Vec::new(),
        };
        if m.usize != m.csize && m.method == STORED {
            m.usize = m.csize;
        }
        m.set_desired_method(method);
        if m.is_directory() {
            let at = seek_local(&mut m, data)?;
            read_local_header(&mut m, data, at)?;
            m.class = Class::Directory;
        }
        if m.flag & FLAG_UTF8 != 0 && m.name.iter().all(|&c| c < 256) {
            let raw: Vec<u8> = m.name.iter().map(|&c| c as u8).collect();
            m.name = decode_utf8(&raw);
        }
        members.push(m);
    }
    Ok(Some(Archive {
        data,
        members,
        comment,
    }))
}

/// `_seekToLocalHeader`: the offset just after the local header signature.
fn seek_local(m: &mut Member, data: &[u8]) -> R<usize> {
    let sig_at = |at: i64| -> R<u32> {
        usize::try_from(at)
            .ok()
            .and_then(|a| u32le(data, a))
            .ok_or(Fail::Read("reading header signature".into()))
    };
    if sig_at(m.lho)? == SIG_LOCAL {
        return Ok(m.lho as usize + 4);
    }
    if m.possible_eocd_offset != 0 {
        let retry = m.lho + m.possible_eocd_offset;
        if sig_at(retry)? == SIG_LOCAL {
            m.lho = retry;
            m.possible_eocd_offset = 0;
            return Ok(retry as usize + 4);
        }
        return rerr("corrupt zip file");
    }
    rerr(format!("bad local header signature at offset {}", m.lho))
}

/// `_readDataDescriptor` at `pos`.
fn read_dd(m: &mut Member, data: &[u8], pos: usize) -> R<()> {
    let Some(sig) = u32le(data, pos) else {
        return rerr("reading data descriptor");
    };
    let (crc, c, u) = if sig == SIG_DD && sig != m.crc {
        match (
            u32le(data, pos + 4),
            u32le(data, pos + 8),
            u32le(data, pos + 12),
        ) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => return rerr("reading data descriptor"),
        }
    } else {
        match (u32le(data, pos + 4), u32le(data, pos + 8)) {
            (Some(b), Some(c)) => (sig, b, c),
            _ => return rerr("reading data descriptor"),
        }
    };
    m.crc = crc;
    m.csize = u64::from(c);
    m.usize = u64::from(u);
    Ok(())
}

/// `_readLocalFileHeader` (used when a member changes class): local values replace the
/// central directory's version, flags, method, time and name.
fn read_local_header(m: &mut Member, data: &[u8], at: usize) -> R<()> {
    let Some(h) = data.get(at..at + 26) else {
        return rerr("reading local file header");
    };
    let g16 = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    let g32 = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    m.version_needed = g16(0);
    m.flag = g16(2);
    m.method = g16(4);
    m.time = g32(6);
    let (crc, usize_) = (g32(10), u64::from(g32(18)));
    let (nlen, xlen) = (usize::from(g16(22)), usize::from(g16(24)));
    let mut pos = at + 26;
    if nlen > 0 {
        let Some(name) = data.get(pos..pos + nlen) else {
            return rerr("reading local file name");
        };
        m.name = perl_fix_name(name);
        pos += nlen;
    }
    if xlen > 0 {
        let Some(x) = data.get(pos..pos + xlen) else {
            return rerr("reading local extra field");
        };
        m.local_extra = x.to_vec();
        pos += xlen;
    }
    if m.flag & FLAG_DD != 0 {
        let dd = usize::try_from(m.csize)
            .ok()
            .and_then(|c| pos.checked_add(c))
            .ok_or(Fail::Read("seeking to extended local header".into()))?;
        read_dd(m, data, dd)?;
    } else if m.crc != crc || m.usize != usize_ {
        return rerr("CRC or size mismatch after reading data descriptor");
    }
    Ok(())
}

/// `fileName($name)`: backslashes become slashes and runs of slashes are squeezed.
fn perl_fix_name(name: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(name.len());
    let mut last_slash = false;
    for &b in name {
        if b == b'/' || b == b'\\' {
            if !last_slash {
                out.push(u32::from(b'/'));
            }
            last_slash = true;
        } else {
            out.push(u32::from(b));
            last_slash = false;
        }
    }
    out
}

/// `_skipLocalFileHeader` (every rewind of a member read from the file): loads the local extra
/// field and the data descriptor; returns the data offset.
fn skip_local_header(m: &mut Member, data: &[u8]) -> R<usize> {
    let at = seek_local(m, data)?;
    let Some(h) = data.get(at..at + 26) else {
        return rerr("reading local file header");
    };
    let flag = u16::from_le_bytes([h[2], h[3]]);
    let (nlen, xlen) = (
        usize::from(u16::from_le_bytes([h[22], h[23]])),
        usize::from(u16::from_le_bytes([h[24], h[25]])),
    );
    let mut pos = at + 26 + nlen;
    if xlen > 0 {
        let Some(x) = data.get(pos..pos + xlen) else {
            return rerr("reading local extra field");
        };
        m.local_extra = x.to_vec();
        pos += xlen;
    }
    let data_offset = pos;
    if flag & FLAG_DD != 0 {
        let (old_crc, old_usize) = (m.eocd_crc, m.usize);
        let dd = usize::try_from(m.csize)
            .ok()
            .and_then(|c| pos.checked_add(c))
            .ok_or(Fail::Read("seeking to extended local header".into()))?;
        read_dd(m, data, dd)?;
        if old_crc != m.crc || old_usize != m.usize {
            return rerr("CRC or size mismatch while skipping data descriptor");
        }
        if m.method == STORED {
            m.crc = 0;
        }
    }
    Ok(data_offset)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Handler {
    Copy,
    Deflate,
    Inflate,
}

/// `rewindData`: picks the chunk handler and returns (handler, raw bytes to read).
fn rewind<'d>(m: &mut Member, data: &'d [u8]) -> R<(Handler, std::borrow::Cow<'d, [u8]>)> {
    if m.usize == 0 {
        m.set_desired_method(STORED);
    }
    if m.method == STORED {
        m.crc = 0;
    }
    let handler = match (m.method, m.desired_method) {
        (STORED, DEFLATED) => Handler::Deflate,
        (DEFLATED, STORED) => Handler::Inflate,
        (a, b) if a == b => Handler::Copy,
        (a, b) => {
            return Err(Fail::Write(format!(
                "Unsupported compression combination: read {a}, write {b}"
            )));
        }
    };
    let remaining = if m.method == STORED { m.usize } else { m.csize };
    let remaining =
        usize::try_from(remaining).map_err(|_| Fail::Read("member too large".into()))?;
    let raw: std::borrow::Cow<'d, [u8]> = match m.class {
        Class::File => {
            let off = skip_local_header(m, data)?;
            // The handler and length were fixed before the descriptor was read, as in Perl.
            match data.get(off..off.saturating_add(remaining)) {
                Some(r) => std::borrow::Cow::Borrowed(r),
                None => return rerr("reading data"),
            }
        }
        Class::String => {
            std::borrow::Cow::Owned(m.contents.get(..remaining).unwrap_or(&m.contents).to_vec())
        }
        Class::Directory if remaining == 0 => std::borrow::Cow::Borrowed(&[][..]),
        Class::Directory => return Err(Fail::Write("directory member with data".into())),
    };
    Ok((handler, raw))
}

fn inflate(raw: &[u8]) -> R<Vec<u8>> {
    let mut d = Decompress::new(false);
    let mut out = Vec::with_capacity(raw.len() * 3 + 64);
    loop {
        let before_in = d.total_in();
        let before_out = d.total_out();
        if out.capacity() - out.len() < 32 * 1024 {
            out.reserve(64 * 1024);
        }
        let input = raw
            .get(usize::try_from(before_in).unwrap_or(usize::MAX)..)
            .unwrap_or_default();
        let st = d
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|e| Fail::Read(format!("inflate error: {e}")))?;
        if st == Status::StreamEnd
            || (d.total_in() == before_in
                && d.total_out() == before_out
                && out.capacity() > out.len())
        {
            return Ok(out);
        }
    }
}

fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::new(6), false);
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(raw.len() / 2 + 1024);
        }
        let consumed = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        match c.compress_vec(
            raw.get(consumed..).unwrap_or_default(),
            &mut out,
            FlushCompress::Finish,
        ) {
            Ok(Status::StreamEnd) => return out,
            Ok(_) => {}
            Err(_) => return out,
        }
    }
}

fn crc32(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b);
    h.finalize()
}

/// The member's uncompressed contents (`extractToFileNamed`), leaving its write state as the
/// Perl code leaves it.
fn extract(m: &mut Member, data: &[u8]) -> R<Vec<u8>> {
    let csize = m.csize;
    let old = m.set_desired_method(STORED);
    let r = (|| {
        let (handler, raw) = rewind(m, data)?;
        if m.usize == 0 {
            return Ok(Vec::new());
        }
        match handler {
            Handler::Copy => Ok(raw.into_owned()),
            Handler::Inflate => inflate(&raw),
            Handler::Deflate => rerr("cannot extract"),
        }
    })();
    m.set_desired_method(old);
    m.csize = csize;
    r.map_err(|e| match e {
        Fail::Write(s) => Fail::Read(s),
        r => r,
    })
}

/// `peek_member($member, 1024)`: the data from the first 1024 raw bytes.
fn peek(m: &mut Member, data: &[u8]) -> R<Vec<u8>> {
    let csize = m.csize;
    let old = m.set_desired_method(STORED);
    let r = (|| {
        let (handler, raw) = rewind(m, data)?;
        let first = &raw[..raw.len().min(1024)];
        match handler {
            Handler::Copy => Ok(first.to_vec()),
            Handler::Inflate => {
                let mut d = Decompress::new(false);
                let mut out = Vec::with_capacity(64 * 1024);
                let mut fed = 0usize;
                loop {
                    let before = (d.total_in(), d.total_out());
                    if out.capacity() - out.len() < 16 * 1024 {
                        out.reserve(64 * 1024);
                    }
                    let st = d
                        .decompress_vec(
                            &first[fed.min(first.len())..],
                            &mut out,
                            FlushDecompress::None,
                        )
                        .map_err(|_| Fail::Read("failed to read ZIP member".into()))?;
                    fed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
                    if st == Status::StreamEnd || (d.total_in(), d.total_out()) == before {
                        return Ok(out);
                    }
                }
            }
            Handler::Deflate => rerr("failed to read ZIP member"),
        }
    })();
    m.set_desired_method(old);
    m.csize = csize;
    r.map_err(|e| match e {
        Fail::Write(s) => Fail::Read(s),
        r => r,
    })
}

/// `contents($new)`: the member becomes a string member (re-reading its local header first).
fn replace_contents(m: &mut Member, data: &[u8], new: Vec<u8>) -> R<()> {
    if m.class == Class::File {
        let at = seek_local(m, data)?;
        read_local_header(m, data, at)?;
    }
    m.usize = new.len() as u64;
    m.csize = m.usize;
    m.method = STORED;
    m.contents = new;
    m.class = Class::String;
    Ok(())
}

/// `_mapPermissionsToUnix` for Unix-format members.
fn unix_mode(m: &Member) -> u32 {
    let mode = m.external >> 16;
    // Perl truthiness: an empty extra field and the one-byte string "0" are false.
    let extra_true = !(m.local_extra.is_empty() || m.local_extra == b"0");
    if mode != 0 || !extra_true {
        return mode;
    }
    let attribs = (u32::from(m.external & 1 == 0) << 1) | ((m.external & 0x10) >> 4);
    0o444 | (attribs << 6) | (attribs << 3) | attribs
}

fn set_unix_mode(m: &mut Member, perms: u32) {
    let mut perms = perms;
    if m.is_directory() {
        perms = (perms & !0o100000) | 0o040000;
    } else {
        perms = (perms & !0o040000) | 0o100000;
    }
    m.external = (perms << 16) | if perms & 0o040000 != 0 { 16 } else { 0 };
}

/// `_unixToDosTime` under `TZ=UTC`.
fn dos_time(t: i64) -> u32 {
    let tm = gmtime(t);
    let v = (i64::from(tm.second) >> 1)
        + (i64::from(tm.minute) << 5)
        + (i64::from(tm.hour) << 11)
        + (i64::from(tm.day) << 16)
        + (i64::from(tm.month) << 21)
        + ((tm.year - 1980) << 25);
    v as u32
}

/// `normalize_extra_fields`: `None` is Perl's `undef` (the field is dropped).
fn normalize_extra(canonical: i64, global: Option<i64>, field: &[u8]) -> Option<Vec<u8>> {
    let sub = |from: usize, len: usize| -> &[u8] {
        let from = from.min(field.len());
        &field[from..from.saturating_add(len).min(field.len())]
    };
    let mut result = Vec::with_capacity(field.len());
    let mut pos = 0usize;
    loop {
        let rest = field.get(pos..).unwrap_or_default();
        if rest.len() < 2 {
            break;
        }
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        // Perl's `unpack("vv")` on 2 or 3 bytes gives an id and an undefined length.
        let len_defined = rest.len() >= 4;
        let len = if len_defined {
            usize::from(u16::from_le_bytes([rest[2], rest[3]]))
        } else {
            0
        };
        if id == 0x5455 {
            result.extend_from_slice(sub(pos, 5));
            let mut i = 1;
            while i < len {
                result.extend_from_slice(&(canonical as u32).to_le_bytes());
                i += 4;
            }
        } else if id == 0x000a {
            result.extend_from_slice(sub(pos, 8));
            let mut i = 8usize;
            while i < len {
                let tag = sub(pos + i, 2);
                let size = sub(pos + i + 2, 2);
                let tag = if tag.len() == 2 {
                    u16::from_le_bytes([tag[0], tag[1]])
                } else {
                    0
                };
                let tagsize = if size.len() == 2 {
                    usize::from(u16::from_le_bytes([size[0], size[1]]))
                } else {
                    0
                };
                result.extend_from_slice(sub(pos + i, 4));
                if tag == 1 && tagsize == 24 {
                    let ts = (11_644_473_600 + global.unwrap_or(0)) * 10_000_000;
                    let lo = ts.rem_euclid(1 << 32) as u32;
                    let hi = ((ts as f64) / 4_294_967_296.0) as i64 as u32;
                    for _ in 0..3 {
                        result.extend_from_slice(&lo.to_le_bytes());
                        result.extend_from_slice(&hi.to_le_bytes());
                    }
                } else {
                    result.extend_from_slice(sub(pos + i, tagsize));
                }
                if tagsize == 0 {
                    // The Perl loop never advances here and hangs; zt stops.
                    break;
                }
                i += tagsize;
            }
        } else if id == 0x7875 {
            result.extend_from_slice(sub(pos, 4));
            if sub(pos + 4, 1) == [1] {
                let uid_len = sub(pos + 5, 1).first().copied().unwrap_or(0);
                let gid_len = sub(pos + 6 + usize::from(uid_len), 1)
                    .first()
                    .copied()
                    .unwrap_or(0);
                result.push(1);
                result.push(uid_len);
                result.extend(std::iter::repeat_n(0u8, usize::from(uid_len)));
                result.push(gid_len);
                result.extend(std::iter::repeat_n(0u8, usize::from(gid_len)));
            } else {
                result.extend_from_slice(sub(pos + 4, len));
            }
        } else {
            if !len_defined {
                return None; // unknown extra field length
            }
            if pos + len >= field.len() {
                return None; // invalid extra field length
            }
            result.extend_from_slice(sub(pos, len + 4));
        }
        pos += len + 4;
    }
    Some(result)
}

/// Perl `cmp` on the decoded names; jars put `META-INF/` and its manifest first.
fn compare(flavor: Flavor, a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    if flavor == Flavor::Jar && a != b {
        for first in ["META-INF/", "META-INF/MANIFEST.MF"] {
            if str_eq(a, first) {
                return std::cmp::Ordering::Less;
            }
            if str_eq(b, first) {
                return std::cmp::Ordering::Greater;
            }
        }
    }
    a.cmp(b)
}

fn is_signature_file(name: &[u32]) -> bool {
    let body = if name.last() == Some(&10) {
        &name[..name.len() - 1]
    } else {
        name
    };
    str_starts_with(body, "META-INF/")
        && str_ends_with(body, ".SF")
        && !body[9..body.len() - 3].contains(&10)
}

fn is_plexus_args(name: &[u32]) -> bool {
    let (pre, post) = (
        "org.codehaus.plexus.compiler.javac.JavacCompiler",
        "arguments",
    );
    let body = if name.last() == Some(&10) {
        &name[..name.len() - 1]
    } else {
        name
    };
    if !str_starts_with(body, pre)
        || !str_ends_with(body, post)
        || body.len() <= pre.len() + post.len()
    {
        return false;
    }
    body[pre.len()..body.len() - post.len()]
        .iter()
        .all(|&c| (u32::from(b'0')..=u32::from(b'9')).contains(&c))
}

/// The jar handler's `_jar_normalize_member`: returns the member's timestamp.
fn jar_member(m: &mut Member, data: &[u8], ts: i64, ctx: &mut Ctx<'_>) -> R<i64> {
    if m.is_directory() {
        return Ok(ts);
    }
    if perl_ends(&m.name, ".html") && javadoc::is_javadoc(&peek(m, data)?) {
        let contents = extract(m, data)?;
        if let Some(new) = javadoc::normalize(&contents, ctx.opts.timestamp) {
            replace_contents(m, data, new)?;
        }
    } else if str_eq(&m.name, "META-INF/MANIFEST.MF") {
        let contents = extract(m, data)?;
        if let Some(new) = normalize_manifest(&contents) {
            replace_contents(m, data, new)?;
        }
    } else if perl_ends(&m.name, ".clj") {
        return Ok(ts - 1);
    } else if perl_ends(&m.name, ".jar") {
        let contents = extract(m, data)?;
        let is_zip = matches!(
            super::zip_class(&contents),
            Some(super::ZipClass::Zip | super::ZipClass::Jar)
        );
        if !is_zip {
            let name: String = m
                .name
                .iter()
                .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect();
            ctx.warnings.push(format!("unknown file type of {name}"));
        } else {
            match normalize(&contents, Flavor::Jar, ctx) {
                Ok(Change::Rewritten(new)) => replace_contents(m, data, new)?,
                Ok(Change::Assembled(new)) => replace_contents(m, data, new.to_vec(&contents))?,
                Ok(Change::Skipped(w)) => ctx.warnings.push(w),
                Ok(Change::Unchanged) => {}
                Err(e) => return rerr(e.detail),
            }
        }
    }
    Ok(ts)
}

/// Drops `Bnd-LastModified:` and `Built-By:` lines; `None` when there are none.
fn normalize_manifest(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut modified = false;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"Bnd-LastModified:") || line.starts_with(b"Built-By:") {
            modified = true;
        } else {
            out.extend_from_slice(line);
        }
    }
    modified.then_some(out)
}

/// Normalises a zip archive held in memory.
pub(crate) fn normalize(
    data: &[u8],
    flavor: Flavor,
    ctx: &mut Ctx<'_>,
) -> Result<Change, Malformed> {
    match run(data, flavor, ctx) {
        Ok(c) => Ok(c),
        Err(Fail::Read(detail)) => Err(malformed("zip", detail)),
        Err(Fail::Write(detail)) => Ok(Change::Skipped(format!(
            "rewriting the archive failed ({detail})"
        ))),
    }
}

fn run(data: &[u8], flavor: Flavor, ctx: &mut Ctx<'_>) -> R<Change> {
    let Some(archive) = read_archive(data)? else {
        return Ok(Change::Skipped("ignoring zip64 file".into()));
    };
    let Archive {
        data,
        mut members,
        comment,
    } = archive;
    if flavor == Flavor::Jar && members.iter().any(|m| is_signature_file(&m.name)) {
        return Ok(Change::Skipped("ignoring signed JAR file".into()));
    }
    let canonical = ctx
        .opts
        .timestamp
        .filter(|&t| t >= ZIP_SAFE_EPOCH)
        .unwrap_or(ZIP_SAFE_EPOCH);
    if flavor == Flavor::Jar {
        members.retain(|m| {
            let drop = str_eq(&m.name, "javac.sh") || is_plexus_args(&m.name);
            if drop {
                let name: String = m
                    .name
                    .iter()
                    .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                    .collect();
                ctx.warnings.push(format!("removing {name}"));
            }
            !drop
        });
    }
    // Stable: members of the same name keep their relative order, as removeMember/addMember do.
    members.sort_by(|a, b| compare(flavor, &a.name, &b.name));
    for m in &mut members {
        if m.flag & 1 != 0 {
            return Ok(Change::Skipped("ignoring encrypted zip file".into()));
        }
        let ts = if flavor == Flavor::Jar {
            jar_member(m, data, canonical, ctx)?
        } else {
            canonical
        };
        m.time = dos_time(ts);
        if m.attr_format == FA_UNIX {
            let perms = if unix_mode(m) & 0o100 != 0 {
                0o755
            } else {
                0o644
            };
            set_unix_mode(m, perms);
        }
    }
    if members.len() > 0xffff {
        return Ok(Change::Skipped(
            "more than 65535 members would need zip64 records".into(),
        ));
    }
    write_archive(data, &mut members, &comment, canonical, ctx.opts.timestamp)
        .map(Change::Assembled)
}

fn write_archive(
    data: &[u8],
    members: &mut [Member],
    comment: &[u8],
    canonical: i64,
    global: Option<i64>,
) -> R<Assembled> {
    let mut out = Assembled::default();
    let mut offsets = Vec::with_capacity(members.len());
    let mut written = Vec::with_capacity(members.len());
    for m in members.iter_mut() {
        let start = out.len();
        if start > u32::MAX as usize {
            return Err(Fail::Write("archive would need zip64 offsets".into()));
        }
        offsets.push(start as u32);
        let fields_unknown = m.usize > 0;
        let (handler, raw) = rewind(m, data)?;
        let has_dd = m.flag & FLAG_DD != 0;
        let name = m.name_bytes();
        let extra = normalize_extra(canonical, global, &m.local_extra).unwrap_or_default();
        let (crc0, usize0) = if has_dd {
            (0, 0)
        } else {
            (m.crc, m.usize as u32)
        };
        out.extend_from_slice(&SIG_LOCAL.to_le_bytes());
        out.extend_from_slice(&m.version_needed.to_le_bytes());
        out.extend_from_slice(&m.flag.to_le_bytes());
        out.extend_from_slice(&m.desired_method.to_le_bytes());
        out.extend_from_slice(&m.time.to_le_bytes());
        out.extend_from_slice(&crc0.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&usize0.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(&name);
        out.extend_from_slice(&extra);
        let mut write_offset = 0u64;
        if m.usize > 0 {
            if m.method == STORED {
                m.crc = crc32(&raw);
            }
            let payload: std::borrow::Cow<'_, [u8]> = match handler {
                Handler::Copy => raw,
                Handler::Deflate => std::borrow::Cow::Owned(deflate(&raw)),
                Handler::Inflate => std::borrow::Cow::Owned(
                    inflate(&raw).map_err(|_| Fail::Write("inflate error".into()))?,
                ),
            };
            // Data copied as it is stays a range of the input: never copied in memory.
            match range_in(data, &payload) {
                Some(r) => out.push_input(r),
                None => out.extend_from_slice(&payload),
            }
            write_offset = payload.len() as u64;
        }
        if write_offset > u64::from(u32::MAX) {
            return Err(Fail::Write("compressed size too large".into()));
        }
        if has_dd {
            out.extend_from_slice(&SIG_DD.to_le_bytes());
            out.extend_from_slice(&m.crc.to_le_bytes());
            out.extend_from_slice(&(write_offset as u32).to_le_bytes());
            out.extend_from_slice(&(m.usize as u32).to_le_bytes());
        } else if fields_unknown {
            let mut fields = [0u8; 12];
            fields[..4].copy_from_slice(&m.crc.to_le_bytes());
            fields[4..8].copy_from_slice(&(write_offset as u32).to_le_bytes());
            fields[8..].copy_from_slice(&(m.usize as u32).to_le_bytes());
            if !out.patch(start + 14, &fields) {
                return Err(Fail::Write("local header split".into()));
            }
        }
        written.push(write_offset as u32);
    }
    let cd_start = out.len();
    for ((m, &offset), &csize) in members.iter().zip(&offsets).zip(&written) {
        let name = m.name_bytes();
        let extra = normalize_extra(canonical, global, &m.cd_extra).unwrap_or_default();
        out.extend_from_slice(&SIG_CENTRAL.to_le_bytes());
        out.push(m.made_by);
        out.push(m.attr_format);
        out.extend_from_slice(&m.version_needed.to_le_bytes());
        out.extend_from_slice(&m.cd_flag().to_le_bytes());
        out.extend_from_slice(&m.desired_method.to_le_bytes());
        out.extend_from_slice(&m.time.to_le_bytes());
        out.extend_from_slice(&m.crc.to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&(m.usize as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(&(m.comment.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&m.internal.to_le_bytes());
        out.extend_from_slice(&m.external.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&name);
        out.extend_from_slice(&extra);
        out.extend_from_slice(&m.comment);
    }
    let cd_size = out.len() - cd_start;
    if out.len() > u32::MAX as usize {
        return Err(Fail::Write("archive would need zip64 records".into()));
    }
    let n = members.len() as u16;
    out.extend_from_slice(&SIG_EOCD.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(cd_size as u32).to_le_bytes());
    out.extend_from_slice(&(cd_start as u32).to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    Ok(out)
}

/// jmod: the 4-byte header is kept, the rest normalised as a jar.
pub(crate) fn normalize_jmod(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    if data.len() < 4 {
        return Err(malformed("jmod", "file is shorter than its 4-byte header"));
    }
    Ok(match normalize(&data[4..], Flavor::Jar, ctx)? {
        Change::Assembled(rest) => Change::Assembled(rest.within(0..4, 4)),
        other => other,
    })
}

/// pyzip: the `#!` line is kept, the rest normalised as a zip.
pub(crate) fn normalize_pyzip(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    let split = data
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |p| p + 1);
    Ok(match normalize(&data[split..], Flavor::Zip, ctx)? {
        Change::Assembled(rest) => Change::Assembled(rest.within(0..split, split)),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_time_of_fixture_canonical_time() {
        // 2015-02-05 18:09:30 (2-second resolution, rounded down).
        let t = dos_time(1_423_159_771);
        assert_eq!(t >> 25, 35);
        assert_eq!((t >> 21) & 0xf, 2);
        assert_eq!((t >> 16) & 0x1f, 5);
        assert_eq!((t >> 11) & 0x1f, 18);
        assert_eq!((t >> 5) & 0x3f, 9);
        assert_eq!((t & 0x1f) * 2, 30);
    }

    #[test]
    fn extra_fields_normalised() {
        // UT with mtime+atime, ux with 4-byte ids, an unknown field kept.
        let mut f = vec![0x55, 0x54, 9, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8];
        f.extend_from_slice(&[0x75, 0x78, 11, 0, 1, 4, 0xe8, 3, 0, 0, 4, 0xe8, 3, 0, 0]);
        f.extend_from_slice(&[0xfe, 0xca, 2, 0, 9, 9]);
        let out = normalize_extra(0x0102_0304, None, &f).unwrap();
        let mut want = vec![0x55, 0x54, 9, 0, 3, 4, 3, 2, 1, 4, 3, 2, 1];
        want.extend_from_slice(&[0x75, 0x78, 11, 0, 1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
        want.extend_from_slice(&[0xfe, 0xca, 2, 0, 9, 9]);
        assert_eq!(out, want);
        // A field whose length runs past the end drops the whole block.
        assert_eq!(normalize_extra(1, None, &[0xfe, 0xca, 9, 0, 1]), None);
        // Three bytes left: Perl's unpack yields an id and no length.
        assert_eq!(normalize_extra(1, None, &[0xfe, 0xca, 1]), None);
        assert_eq!(
            normalize_extra(1, None, &[0x55, 0x54, 1]),
            Some(vec![0x55, 0x54, 1])
        );
        assert_eq!(normalize_extra(1, None, &[]), Some(vec![]));
    }

    #[test]
    fn jar_order_puts_manifest_first() {
        let s = |x: &str| bytes_to_str(x.as_bytes());
        let mut names = vec![
            s("A.class"),
            s("META-INF/MANIFEST.MF"),
            s("META-INF/"),
            s("META-INF/A"),
        ];
        names.sort_by(|a, b| compare(Flavor::Jar, a, b));
        assert_eq!(
            names,
            vec![
                s("META-INF/"),
                s("META-INF/MANIFEST.MF"),
                s("A.class"),
                s("META-INF/A")
            ]
        );
    }

    #[test]
    fn filters() {
        let s = |x: &str| bytes_to_str(x.as_bytes());
        assert!(is_signature_file(&s("META-INF/CERT.SF")));
        assert!(!is_signature_file(&s("META-INF/CERT.RSA")));
        assert!(is_plexus_args(&s(
            "org.codehaus.plexus.compiler.javac.JavacCompiler123arguments"
        )));
        assert!(!is_plexus_args(&s(
            "org.codehaus.plexus.compiler.javac.JavacCompilerarguments"
        )));
        assert_eq!(
            normalize_manifest(b"A: 1\r\nBuilt-By: me\r\nB: 2\r\n").unwrap(),
            b"A: 1\r\nB: 2\r\n"
        );
        assert!(normalize_manifest(b"A: 1\n").is_none());
    }
}
