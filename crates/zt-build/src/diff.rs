//! Explaining why two build outputs differ: which files; inside tar, zip, gzip and ar archives
//! which members and which header fields; a unified diff for text; the differing byte ranges
//! (with ELF section names) for other binaries.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;

/// One differing file and what differs in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Path relative to the output directory.
    pub path: PathBuf,
    /// Human-readable explanation (several lines).
    pub detail: String,
}

/// All regular files under `dir`, relative, with their bytes; symbolic links as
/// `symlink -> TARGET` (never followed: `dir` is a build's output, see [`crate::collect`]).
/// A missing `dir` is an empty tree.
pub fn read_tree(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    crate::collect::walk(dir, Path::new("."), &mut |p, entry| {
        match entry {
            crate::collect::Entry::File(mut f, _) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| Error::io(p, e))?;
                out.insert(p.to_path_buf(), bytes);
            }
            crate::collect::Entry::Symlink(t) => {
                out.insert(
                    p.to_path_buf(),
                    format!("symlink -> {}", t.display()).into_bytes(),
                );
            }
            crate::collect::Entry::Dir(_) => {}
        }
        Ok(())
    })
    .or_else(|e| match &e {
        Error::Io { source, .. } if source.raw_os_error() == Some(nix::libc::ENOENT) => Ok(false),
        _ => Err(e),
    })?;
    Ok(out)
}

/// Compares two output trees; empty when identical.
pub fn compare_trees(
    a: &BTreeMap<PathBuf, Vec<u8>>,
    b: &BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<FileDiff> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&PathBuf> = a.keys().chain(b.keys()).collect();
    for name in names {
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => out.push(FileDiff {
                path: name.clone(),
                detail: explain(name, x, y),
            }),
            (Some(_), None) => out.push(FileDiff {
                path: name.clone(),
                detail: "only in the first build".into(),
            }),
            (None, Some(_)) => out.push(FileDiff {
                path: name.clone(),
                detail: "only in the second build".into(),
            }),
            (None, None) => {}
        }
    }
    out
}

/// Explains how two versions of one file differ.
pub fn explain(name: &Path, a: &[u8], b: &[u8]) -> String {
    if let (Some(x), Some(y)) = (tar_members(a), tar_members(b)) {
        return members_diff("tar", &x, &y);
    }
    if let (Some(x), Some(y)) = (zip_members(a), zip_members(b)) {
        return members_diff("zip", &x, &y);
    }
    if let (Some(x), Some(y)) = (ar_members(a), ar_members(b)) {
        return members_diff("ar", &x, &y);
    }
    if a.starts_with(&[0x1f, 0x8b]) && b.starts_with(&[0x1f, 0x8b]) {
        return gzip_diff(name, a, b);
    }
    if is_text(a) && is_text(b) {
        return unified_diff(name, a, b);
    }
    byte_ranges(a, b)
}

fn is_text(b: &[u8]) -> bool {
    !b.contains(&0) && std::str::from_utf8(b).is_ok()
}

/// A minimal unified diff (LCS over lines; large files fall back to the first differing lines).
pub fn unified_diff(name: &Path, a: &[u8], b: &[u8]) -> String {
    let (sa, sb) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (la, lb): (Vec<&str>, Vec<&str>) = (sa.lines().collect(), sb.lines().collect());
    let mut out = format!("--- a/{0}\n+++ b/{0}\n", name.display());
    if la.len() * lb.len() > 4_000_000 {
        for (i, (x, y)) in la
            .iter()
            .zip(&lb)
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .take(20)
        {
            let _ = writeln!(out, "@@ line {} @@\n-{x}\n+{y}", i + 1);
        }
        return out;
    }
    // LCS table from the end.
    let (n, m) = (la.len(), lb.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if la[i] == lb[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops: Vec<(char, &str, usize, usize)> = Vec::new();
    while i < n || j < m {
        if i < n && j < m && la[i] == lb[j] {
            ops.push((' ', la[i], i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || t[i + 1][j] >= t[i][j + 1]) {
            ops.push(('-', la[i], i, j));
            i += 1;
        } else {
            ops.push(('+', lb[j], i, j));
            j += 1;
        }
    }
    // Hunks with 3 lines of context.
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(3);
        let mut end = changed[k] + 3;
        while k + 1 < changed.len() && changed[k + 1] <= end + 3 {
            k += 1;
            end = changed[k] + 3;
        }
        let end = end.min(ops.len() - 1);
        let (a0, b0) = (ops[start].2, ops[start].3);
        let a_len = ops[start..=end].iter().filter(|o| o.0 != '+').count();
        let b_len = ops[start..=end].iter().filter(|o| o.0 != '-').count();
        let _ = writeln!(out, "@@ -{},{a_len} +{},{b_len} @@", a0 + 1, b0 + 1);
        for o in &ops[start..=end] {
            let _ = writeln!(out, "{}{}", o.0, o.1);
        }
        k += 1;
    }
    out
}

/// Differing byte ranges, with the ELF sections they fall in.
pub fn byte_ranges(a: &[u8], b: &[u8]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for i in 0..a.len().max(b.len()) {
        if a.get(i) != b.get(i) {
            match ranges.last_mut() {
                Some(r) if r.1 + 8 >= i => r.1 = i,
                _ => ranges.push((i, i)),
            }
        }
    }
    let sections = elf_sections(a);
    let mut out = format!(
        "binary: {} vs {} bytes, {} differing range(s)\n",
        a.len(),
        b.len(),
        ranges.len()
    );
    for (s, e) in ranges.iter().take(50) {
        let names: Vec<&str> = sections
            .iter()
            .filter(|(_, off, size)| *off <= *e && *s < off + size)
            .map(|(n, _, _)| n.as_str())
            .collect();
        let at = if names.is_empty() {
            String::new()
        } else {
            format!(" in {}", names.join(", "))
        };
        let _ = writeln!(out, "  0x{s:x}..0x{:x}{at}", e + 1);
    }
    out
}

/// (name, file offset, size) of the sections of a 64- or 32-bit little-endian ELF file.
pub fn elf_sections(d: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    if !d.starts_with(b"\x7fELF") || d.get(5) != Some(&1) {
        return out;
    }
    let is64 = d.get(4) == Some(&2);
    let rd = |off: usize, n: usize| -> Option<usize> {
        let b = d.get(off..off + n)?;
        Some(
            b.iter()
                .rev()
                .fold(0usize, |acc, &x| (acc << 8) | usize::from(x)),
        )
    };
    let (shoff, shentsize, shnum, shstrndx) = if is64 {
        (rd(0x28, 8), rd(0x3a, 2), rd(0x3c, 2), rd(0x3e, 2))
    } else {
        (rd(0x20, 4), rd(0x2e, 2), rd(0x30, 2), rd(0x32, 2))
    };
    let (Some(shoff), Some(es), Some(num), Some(strndx)) = (shoff, shentsize, shnum, shstrndx)
    else {
        return out;
    };
    let sec = |i: usize| -> Option<(usize, usize, usize, u32)> {
        let base = shoff.checked_add(i.checked_mul(es)?)?;
        if is64 {
            Some((
                rd(base, 4)?,
                rd(base + 0x18, 8)?,
                rd(base + 0x20, 8)?,
                rd(base + 4, 4)? as u32,
            ))
        } else {
            Some((
                rd(base, 4)?,
                rd(base + 0x10, 4)?,
                rd(base + 0x14, 4)?,
                rd(base + 4, 4)? as u32,
            ))
        }
    };
    let Some((_, str_off, str_size, _)) = sec(strndx) else {
        return out;
    };
    for i in 0..num.min(4096) {
        let Some((name, off, size, kind)) = sec(i) else {
            break;
        };
        if kind == 8 {
            continue; // SHT_NOBITS occupies no file bytes
        }
        let name = d
            .get(str_off + name..str_off + str_size)
            .map(|s| {
                String::from_utf8_lossy(&s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())])
                    .into_owned()
            })
            .unwrap_or_default();
        if size > 0 {
            out.push((name, off, size));
        }
    }
    out
}

/// Archive members as (name, header fields, data).
type Members = Vec<(String, Vec<(&'static str, String)>, Vec<u8>)>;

fn members_diff(kind: &str, a: &Members, b: &Members) -> String {
    let mut out = format!("{kind} archive:\n");
    let names_a: Vec<&str> = a.iter().map(|m| m.0.as_str()).collect();
    let names_b: Vec<&str> = b.iter().map(|m| m.0.as_str()).collect();
    if names_a != names_b {
        let mut sa = names_a.clone();
        let mut sb = names_b.clone();
        sa.sort_unstable();
        sb.sort_unstable();
        if sa == sb {
            let _ = writeln!(out, "  member order differs");
        } else {
            for n in names_a.iter().filter(|n| !names_b.contains(n)) {
                let _ = writeln!(out, "  member {n}: only in the first build");
            }
            for n in names_b.iter().filter(|n| !names_a.contains(n)) {
                let _ = writeln!(out, "  member {n}: only in the second build");
            }
        }
    }
    for (name, fa, da) in a {
        let Some((_, fb, db)) = b.iter().find(|m| &m.0 == name) else {
            continue;
        };
        for ((field, va), (_, vb)) in fa.iter().zip(fb) {
            if va != vb {
                let _ = writeln!(out, "  member {name}: header field {field}: {va} vs {vb}");
            }
        }
        if da != db {
            let inner = explain(Path::new(name), da, db);
            let _ = writeln!(out, "  member {name}: contents differ");
            for l in inner.lines().take(40) {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    out
}

fn octal(f: &[u8]) -> u64 {
    f.iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0, |v, &c| v * 8 + u64::from(c - b'0'))
}

fn cstr(f: &[u8]) -> String {
    String::from_utf8_lossy(&f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())]).into_owned()
}

fn tar_members(d: &[u8]) -> Option<Members> {
    let h = d.get(..512)?;
    if &h[257..262] != b"ustar" {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = d.get(pos..pos + 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = usize::try_from(octal(&h[124..136])).ok()?;
        let data = d.get(pos + 512..pos + 512 + size)?.to_vec();
        let fields = vec![
            ("mode", format!("{:o}", octal(&h[100..108]))),
            ("uid", octal(&h[108..116]).to_string()),
            ("gid", octal(&h[116..124]).to_string()),
            ("mtime", octal(&h[136..148]).to_string()),
            ("type", char::from(h[156]).to_string()),
            ("uname", cstr(&h[265..297])),
            ("gname", cstr(&h[297..329])),
        ];
        out.push((cstr(&h[..100]), fields, data));
        pos += 512 + size.div_ceil(512) * 512;
    }
    Some(out)
}

fn zip_members(d: &[u8]) -> Option<Members> {
    if !d.starts_with(b"PK\x03\x04") {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while d.get(pos..pos + 4) == Some(b"PK\x03\x04") {
        let h = d.get(pos..pos + 30)?;
        let u16le = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u32le = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        if u16le(6) & 8 != 0 {
            return None; // sizes in a data descriptor: not followed here
        }
        let (nlen, xlen, csize) = (
            usize::from(u16le(26)),
            usize::from(u16le(28)),
            u32le(18) as usize,
        );
        let name = String::from_utf8_lossy(d.get(pos + 30..pos + 30 + nlen)?).into_owned();
        let extra = d.get(pos + 30 + nlen..pos + 30 + nlen + xlen)?;
        let data_at = pos + 30 + nlen + xlen;
        let raw = d.get(data_at..data_at + csize)?;
        let data = if u16le(8) == 8 {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::DeflateDecoder::new(raw), &mut v).ok()?;
            v
        } else {
            raw.to_vec()
        };
        let fields = vec![
            ("dos time", format!("0x{:08x}", u32le(10))),
            ("method", u16le(8).to_string()),
            ("flags", format!("0x{:04x}", u16le(6))),
            (
                "extra fields",
                extra.iter().map(|b| format!("{b:02x}")).collect(),
            ),
        ];
        out.push((name, fields, data));
        pos = data_at + csize;
    }
    Some(out)
}

fn ar_members(d: &[u8]) -> Option<Members> {
    if !d.starts_with(b"!<arch>\n") {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 8;
    while let Some(h) = d.get(pos..pos + 60) {
        let text = |r: std::ops::Range<usize>| String::from_utf8_lossy(&h[r]).trim().to_owned();
        let size: usize = text(48..58).parse().ok()?;
        let data = d.get(pos + 60..pos + 60 + size)?.to_vec();
        let fields = vec![
            ("mtime", text(16..28)),
            ("uid", text(28..34)),
            ("gid", text(34..40)),
            ("mode", text(40..48)),
        ];
        out.push((text(0..16), fields, data));
        pos += 60 + size + size % 2;
    }
    Some(out)
}

fn gzip_diff(name: &Path, a: &[u8], b: &[u8]) -> String {
    let mut out = String::from("gzip:\n");
    let field = |d: &[u8]| {
        (
            d.get(4..8)
                .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]])),
            d.get(3).copied(),
            d.get(9).copied(),
        )
    };
    let (fa, fb) = (field(a), field(b));
    if fa.0 != fb.0 {
        let _ = writeln!(
            out,
            "  header field mtime: {:?} vs {:?}",
            fa.0.unwrap_or(0),
            fb.0.unwrap_or(0)
        );
    }
    if fa.1 != fb.1 {
        let _ = writeln!(
            out,
            "  header field flags: {:?} vs {:?} (stored name/comment/extra)",
            fa.1.unwrap_or(0),
            fb.1.unwrap_or(0)
        );
    }
    if fa.2 != fb.2 {
        let _ = writeln!(
            out,
            "  header field OS: {:?} vs {:?}",
            fa.2.unwrap_or(0),
            fb.2.unwrap_or(0)
        );
    }
    let inflate = |d: &[u8]| {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(d), &mut v)
            .ok()
            .map(|_| v)
    };
    match (inflate(a), inflate(b)) {
        (Some(x), Some(y)) if x == y => {
            let _ = writeln!(out, "  decompressed contents identical");
        }
        (Some(x), Some(y)) => {
            let inner = name.with_extension("");
            for l in explain(&inner, &x, &y).lines().take(60) {
                let _ = writeln!(out, "  {l}");
            }
        }
        _ => out.push_str(&byte_ranges(a, b)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_diff_and_byte_ranges() {
        let d = unified_diff(Path::new("f"), b"a\nb\nc\n", b"a\nB\nc\n");
        assert_eq!(d, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        // Differences closer than 8 bytes merge into one range; the extra byte is a range.
        let mut a = vec![0u8; 32];
        let mut b = a.clone();
        b[1] = 9;
        b[3] = 9;
        b.push(4);
        a[20] = 1;
        let r = byte_ranges(&a, &b);
        assert!(
            r.starts_with("binary: 32 vs 33 bytes, 3 differing range(s)"),
            "{r}"
        );
        assert!(r.contains("0x1..0x4\n"), "{r}");
        assert!(r.contains("0x14..0x15\n"), "{r}");
        assert!(r.contains("0x20..0x21\n"), "{r}");
    }

    #[test]
    fn ar_header_fields() {
        let mk = |t: &str| {
            let mut a = b"!<arch>\n".to_vec();
            a.extend(
                format!(
                    "{:<16}{t:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                    "x.o/", 0, 0, 644, 2
                )
                .into_bytes(),
            );
            a.extend_from_slice(b"ab");
            a
        };
        let e = explain(Path::new("l.a"), &mk("1"), &mk("2"));
        assert!(e.contains("member x.o/: header field mtime: 1 vs 2"), "{e}");
    }
}
