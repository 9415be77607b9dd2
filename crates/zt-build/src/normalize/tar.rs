//! tar normalisation — zt's own rules, since strip-nondeterminism has no tar handler. The
//! result is what `tar --sort=name --mtime=@T --owner=0 --group=0 --numeric-owner
//! --pax-option=delete=atime,delete=ctime` would have written for the same files:
//!
//! - entries are sorted by path, compared component by component (so a directory's contents
//!   follow it, as GNU tar's `--sort=name` walk gives); pax global headers (`g`) stay first in
//!   their original order; an entry keeps its GNU long-name/long-link and pax headers with it;
//! - every header gets mtime = T (with clamping only later times are lowered; without a
//!   timestamp, 0), uid = gid = 0 and empty user and group names; GNU `atime`/`ctime` header
//!   fields are zeroed; the checksum is recomputed; modes, types, link targets, device numbers
//!   and file data are kept;
//! - pax extended headers lose their `atime`, `ctime`, `uid`, `gid`, `uname` and `gname`
//!   records and have `mtime` set to T; a process id in a `PaxHeaders.<pid>` name is removed;
//! - the end-of-archive zero blocks pad the archive to its original length (at least two
//!   blocks), so the record size of the writer is kept.

use super::{Change, Ctx, Malformed, malformed};

const BLOCK: usize = 512;

/// A ustar/GNU magic, or a v7 header whose checksum holds.
pub(crate) fn looks_like_tar(head: &[u8]) -> bool {
    match head.get(..BLOCK) {
        Some(h) => &h[257..262] == b"ustar" || (h.iter().any(|&b| b != 0) && checksum_ok(h)),
        None => false,
    }
}

fn checksum(h: &[u8]) -> u64 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum()
}

fn checksum_ok(h: &[u8]) -> bool {
    parse_num(&h[148..156]) == Some(checksum(h))
}

/// An octal numeric field (NUL/space terminated) or GNU base-256.
fn parse_num(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(f[0] & 0x7f);
        for &b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s: Vec<u8> = f
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect();
    if s.is_empty() {
        return Some(0);
    }
    let mut v: u64 = 0;
    for b in s {
        let d = (b as char).to_digit(8)?;
        v = v.checked_mul(8)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

fn put_octal(f: &mut [u8], v: u64) {
    let width = f.len() - 1;
    let s = format!("{v:0width$o}");
    if s.len() <= width {
        f[..width].copy_from_slice(s.as_bytes());
        f[width] = 0;
    } else {
        // GNU base-256 for values that do not fit.
        let bytes = v.to_be_bytes();
        f.fill(0);
        let n = f.len();
        let take = bytes.len().min(n);
        f[n - take..].copy_from_slice(&bytes[8 - take..]);
        f[0] |= 0x80;
    }
}

struct Entry {
    /// Header blocks (extension headers first) with their data, already normalised.
    bytes: Vec<u8>,
    /// The path used for sorting.
    path: Vec<u8>,
}

fn cstr(f: &[u8]) -> &[u8] {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    &f[..end]
}

fn new_time(old: u64, ctx: &Ctx<'_>) -> u64 {
    match ctx.opts.timestamp {
        Some(t) => {
            let t = u64::try_from(t).unwrap_or(0);
            if ctx.opts.clamp { old.min(t) } else { t }
        }
        None => 0,
    }
}

fn normalize_header(h: &mut [u8], ctx: &Ctx<'_>) -> Result<(), Malformed> {
    let mtime = parse_num(&h[136..148]).ok_or_else(|| malformed("tar", "bad mtime field"))?;
    put_octal(&mut h[136..148], new_time(mtime, ctx));
    put_octal(&mut h[108..116], 0);
    put_octal(&mut h[116..124], 0);
    if &h[257..262] == b"ustar" {
        h[265..297].fill(0);
        h[297..329].fill(0);
    }
    if &h[257..265] == b"ustar  \0" {
        // Old GNU format: atime and ctime live at 345 and 357.
        h[345..369].fill(0);
    }
    if h[156] == b'x' || h[156] == b'g' {
        strip_pid(&mut h[0..100]);
    }
    h[148..156].fill(b' ');
    let sum = checksum(h);
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(&s.as_bytes()[..8]);
    Ok(())
}

/// `PaxHeaders.<digits>` → `PaxHeaders`.
fn strip_pid(name: &mut [u8]) {
    let key = b"PaxHeaders.";
    let Some(p) = name.windows(key.len()).position(|w| w == key) else {
        return;
    };
    let start = p + key.len() - 1;
    let digits = name[start + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return;
    }
    let len = name.len();
    name.copy_within(start + 1 + digits..len, start);
    name[len - 1 - digits..].fill(0);
}

/// Rewritten pax records with the `path` and `size` values they hold.
type PaxRecords = (Vec<u8>, Option<Vec<u8>>, Option<u64>);

/// Rewrites pax records; returns the new records and the `path`/`size` values found.
fn normalize_pax(data: &[u8], ctx: &Ctx<'_>) -> Result<PaxRecords, Malformed> {
    let mut out = Vec::with_capacity(data.len());
    let (mut path, mut size) = (None, None);
    let mut pos = 0;
    while pos < data.len() {
        if data[pos] == 0 {
            break;
        }
        let sp = data[pos..]
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| malformed("tar", "pax record without a length"))?;
        let len: usize = std::str::from_utf8(&data[pos..pos + sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| malformed("tar", "pax record with a bad length"))?;
        let rec = data
            .get(pos..pos + len)
            .filter(|r| r.len() > sp + 1 && r.ends_with(b"\n"))
            .ok_or_else(|| malformed("tar", "pax record runs past its header"))?;
        let body = &rec[sp + 1..rec.len() - 1];
        let eq = body
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| malformed("tar", "pax record without `=`"))?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        pos += len;
        match key {
            b"atime" | b"ctime" | b"uid" | b"gid" | b"uname" | b"gname" => continue,
            b"mtime" => {
                let old = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.split('.').next()?.parse::<u64>().ok())
                    .unwrap_or(0);
                push_record(
                    &mut out,
                    b"mtime",
                    new_time(old, ctx).to_string().as_bytes(),
                );
                continue;
            }
            b"path" => path = Some(value.to_vec()),
            b"size" => size = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()),
            _ => {}
        }
        out.extend_from_slice(rec);
    }
    Ok((out, path, size))
}

fn push_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let base = key.len() + value.len() + 3; // space, '=', newline
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn padded(n: usize) -> usize {
    n.div_ceil(BLOCK) * BLOCK
}

fn compare_paths(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let comps = |p: &[u8]| -> Vec<Vec<u8>> {
        let p = p.strip_prefix(b"./").unwrap_or(p);
        p.split(|&c| c == b'/')
            .filter(|c| !c.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    comps(a).cmp(&comps(b))
}

pub(crate) fn normalize(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    let mut globals = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let (mut long_name, mut pax_path, mut pax_size): (
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<u64>,
    ) = (None, None, None);
    let mut pos = 0;
    loop {
        let Some(h) = data.get(pos..pos + BLOCK) else {
            if pos >= data.len() {
                break;
            }
            return Err(malformed(
                "tar",
                format!("header at offset {pos} is truncated"),
            ));
        };
        if h.iter().all(|&b| b == 0) {
            break;
        }
        if !checksum_ok(h) {
            return Err(malformed(
                "tar",
                format!("header at offset {pos} has a bad checksum"),
            ));
        }
        let mut h = h.to_vec();
        let kind = h[156];
        let size = parse_num(&h[124..136])
            .ok_or_else(|| malformed("tar", format!("header at offset {pos} has a bad size")))?;
        let size = match (kind, pax_size) {
            (b'x' | b'g' | b'L' | b'K', _) => size,
            (_, Some(s)) => s,
            _ => size,
        };
        let size = usize::try_from(size).map_err(|_| malformed("tar", "entry too large"))?;
        let body = data
            .get(pos + BLOCK..pos + BLOCK + size)
            .ok_or_else(|| malformed("tar", format!("entry at offset {pos} runs past the end")))?;
        let next = pos + BLOCK + padded(size);
        let mut body = body.to_vec();
        match kind {
            b'x' | b'g' => {
                let (records, path, psize) = normalize_pax(&body, ctx)?;
                body = records;
                put_octal(&mut h[124..136], body.len() as u64);
                if kind == b'x' {
                    pax_path = path;
                    pax_size = psize;
                }
            }
            b'L' => long_name = Some(cstr(&body).to_vec()),
            _ => {}
        }
        normalize_header(&mut h, ctx)?;
        let target = if kind == b'g' {
            &mut globals
        } else {
            &mut pending
        };
        target.extend_from_slice(&h);
        target.extend_from_slice(&body);
        target.resize(padded(target.len()), 0);
        if !matches!(kind, b'x' | b'g' | b'L' | b'K') {
            let path = pax_path.take().or(long_name.take()).unwrap_or_else(|| {
                let name = cstr(&h[0..100]);
                let prefix = if &h[257..263] == b"ustar\0" {
                    cstr(&h[345..500])
                } else {
                    &[]
                };
                if prefix.is_empty() {
                    name.to_vec()
                } else {
                    [prefix, b"/", name].concat()
                }
            });
            pax_size = None;
            entries.push(Entry {
                bytes: std::mem::take(&mut pending),
                path,
            });
        }
        pos = next;
    }
    if !pending.is_empty() {
        return Err(malformed(
            "tar",
            "extension header without an entry at the end",
        ));
    }
    entries.sort_by(|a, b| compare_paths(&a.path, &b.path));
    let mut out = globals;
    for e in entries {
        out.extend_from_slice(&e.bytes);
    }
    let end = (out.len() + 2 * BLOCK).max(padded(data.len()));
    out.resize(end, 0);
    Ok(Change::Rewritten(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Options;

    fn header(name: &str, kind: u8, size: usize, mtime: u64, uid: u64) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len()].copy_from_slice(name.as_bytes());
        put_octal(&mut h[100..108], 0o644);
        put_octal(&mut h[108..116], uid);
        put_octal(&mut h[116..124], uid);
        put_octal(&mut h[124..136], size as u64);
        put_octal(&mut h[136..148], mtime);
        h[156] = kind;
        h[257..265].copy_from_slice(b"ustar\x0000");
        h[265..269].copy_from_slice(b"user");
        h[148..156].fill(b' ');
        let s = format!("{:06o}\0 ", checksum(&h));
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    fn tar(entries: &[(&str, u8, &[u8])], mtime: u64) -> Vec<u8> {
        let mut v = Vec::new();
        for (name, kind, data) in entries {
            v.extend(header(name, *kind, data.len(), mtime, 1000));
            v.extend_from_slice(data);
            v.resize(padded(v.len()), 0);
        }
        v.resize(v.len() + 2 * BLOCK, 0);
        v
    }

    #[test]
    fn sorted_and_normalised_and_idempotent() {
        let input = tar(
            &[
                ("b", b'0', b"bee"),
                ("a-c", b'0', b""),
                ("a/", b'5', b""),
                ("a/z", b'0', b"zed"),
            ],
            1_700_000_000,
        );
        let opts = Options {
            timestamp: Some(1_423_159_771),
            ..Default::default()
        };
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(out) = normalize(&input, &mut ctx).unwrap() else {
            panic!()
        };
        let names: Vec<&[u8]> = (0..4)
            .map(|i| cstr(&out[i * 1024..i * 1024 + 100]))
            .collect::<Vec<_>>();
        // Order of a walk: a/, a/z, a-c, b — but with the zero-size entries taking one block.
        let mut found = Vec::new();
        let mut pos = 0;
        while out[pos] != 0 {
            let size = parse_num(&out[pos + 124..pos + 136]).unwrap() as usize;
            found.push(String::from_utf8(cstr(&out[pos..pos + 100]).to_vec()).unwrap());
            assert_eq!(parse_num(&out[pos + 136..pos + 148]), Some(1_423_159_771));
            assert_eq!(parse_num(&out[pos + 108..pos + 116]), Some(0));
            assert!(cstr(&out[pos + 265..pos + 297]).is_empty());
            assert!(checksum_ok(&out[pos..pos + BLOCK]));
            pos += BLOCK + padded(size);
        }
        let _ = names;
        assert_eq!(found, ["a/", "a/z", "a-c", "b"]);
        assert_eq!(out.len(), input.len());
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(again) = normalize(&out, &mut ctx).unwrap() else {
            panic!()
        };
        assert_eq!(again, out);
    }

    #[test]
    fn pax_records_rewritten() {
        let mut recs = Vec::new();
        push_record(&mut recs, b"mtime", b"1700000000.5");
        push_record(&mut recs, b"atime", b"1700000001");
        push_record(&mut recs, b"path", b"long/name");
        let opts = Options {
            timestamp: Some(7),
            ..Default::default()
        };
        let ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let (out, path, _) = normalize_pax(&recs, &ctx).unwrap();
        assert_eq!(path.as_deref(), Some(&b"long/name"[..]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "11 mtime=7\n18 path=long/name\n"
        );
        let mut name = *b"./PaxHeaders.4242/file\0\0\0";
        strip_pid(&mut name);
        assert_eq!(cstr(&name), b"./PaxHeaders/file");
    }

    #[test]
    fn bad_checksum_is_malformed() {
        let mut t = tar(&[("a", b'0', b"x")], 1);
        t[0] = b'b';
        let opts = Options::default();
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        assert!(normalize(&t, &mut ctx).is_err());
    }
}
