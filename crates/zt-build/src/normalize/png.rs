//! PNG normalisation, as strip-nondeterminism's `png` handler: a `tIME` chunk is set to the
//! canonical time (dropped without one; clamped to the older of the two with clamping), and a
//! `tEXt` chunk whose keyword is `date:…` or `Creation Time` gets the canonical time as
//! `YYYY-MM-DDTHH:MM:SS-00:00` (dropped without one). The handler's pattern `[tiz]EXt` matches
//! `tEXt` only (`iTXt` and `zTXt` are spelled differently), so those chunks stay as they are in
//! both tools. Everything after `IEND` is copied through. A chunk whose length runs past the
//! end of the file leaves the whole file unchanged, with a warning.

use super::{Change, Ctx, Malformed, malformed};
use crate::time::{gmtime, timegm};

/// The PNG signature.
pub const MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

fn time_chunk(out: &mut Vec<u8>, t: i64) {
    let tm = gmtime(t);
    let mut d = (tm.year as u16).to_be_bytes().to_vec();
    d.extend_from_slice(&[
        tm.month as u8,
        tm.day as u8,
        tm.hour as u8,
        tm.minute as u8,
        tm.second as u8,
    ]);
    chunk(out, b"tIME", &d);
}

/// The keyword of a tEXt chunk whose timestamp strip-nondeterminism replaces:
/// `^(date:[^\0]+|Creation Time)\0`.
fn date_keyword(data: &[u8]) -> Option<&[u8]> {
    let nul = data.iter().position(|&b| b == 0)?;
    let kw = &data[..nul];
    if (kw.starts_with(b"date:") && kw.len() > 5) || kw == b"Creation Time" {
        Some(kw)
    } else {
        None
    }
}

fn parse_time(data: &[u8]) -> Result<i64, Malformed> {
    let bad = || malformed("png", "tIME chunk holds an invalid date");
    if data.len() < 7 {
        return Err(bad());
    }
    let year = i64::from(u16::from_be_bytes([data[0], data[1]]));
    let (mon, day, hour, min, sec) = (data[2], data[3], data[4], data[5], data[6]);
    if !(1..=12).contains(&mon) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(timegm(
        year,
        mon.into(),
        day.into(),
        hour.into(),
        min.into(),
        sec.into(),
    ))
}

pub(crate) fn normalize(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    if !data.starts_with(MAGIC) {
        return Err(malformed(
            "png",
            "the file does not start with the PNG signature",
        ));
    }
    let canonical = ctx.opts.timestamp;
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(MAGIC);
    let mut modified = false;
    let mut pos = MAGIC.len();
    let mut at_iend = false;
    while let Some(header) = data.get(pos..pos + 8) {
        pos += 8;
        let len = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ])) + 4;
        let kind = &header[4..8];
        let body_end = usize::try_from(len).ok().and_then(|l| pos.checked_add(l));
        let Some(body) = body_end.and_then(|end| data.get(pos..end)) else {
            ctx.warnings.push(format!(
                "invalid length in '{}' header",
                String::from_utf8_lossy(kind)
            ));
            return Ok(Change::Unchanged);
        };
        pos += body.len();
        if len < 4096 {
            let payload = &body[..body.len() - 4];
            if kind == b"tIME" {
                modified = true;
                if let Some(t) = canonical {
                    let t = if ctx.opts.clamp {
                        t.min(parse_time(payload)?)
                    } else {
                        t
                    };
                    time_chunk(&mut out, t);
                }
                continue;
            }
            if matches!(kind[0], b't' | b'i' | b'z')
                && &kind[1..] == b"EXt"
                && let Some(kw) = date_keyword(payload)
            {
                {
                    if let Some(t) = canonical {
                        let tm = gmtime(t);
                        let mut text = kw.to_vec();
                        text.push(0);
                        text.extend_from_slice(
                            format!(
                                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}-00:00",
                                tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second
                            )
                            .as_bytes(),
                        );
                        chunk(&mut out, b"tEXt", &text);
                    }
                    modified = true;
                    continue;
                }
            }
        }
        out.extend_from_slice(header);
        out.extend_from_slice(body);
        if kind == b"IEND" {
            at_iend = true;
            break;
        }
    }
    // Everything after IEND is copied through. Without IEND the loop ends on a partial chunk
    // header (fewer than 8 bytes), which the Perl loop's `read` consumes and does not write back.
    if at_iend && pos < data.len() {
        let garbage = &data[pos..];
        out.extend_from_slice(garbage);
        ctx.warnings.push(format!(
            "{} bytes of garbage after IEND chunk",
            garbage.len()
        ));
    }
    Ok(if modified {
        Change::Rewritten(out)
    } else {
        Change::Unchanged
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Options;

    fn png(chunks: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        for (k, d) in chunks {
            chunk(&mut v, k, d);
        }
        v
    }

    #[test]
    fn time_and_text_dates_replaced() {
        let input = png(&[
            (b"IHDR", &[0; 13]),
            (b"tIME", &[0x07, 0xe0, 1, 2, 3, 4, 5]),
            (b"tEXt", b"date:create\x002016-01-02T03:04:05+00:00"),
            (b"tEXt", b"Comment\x00hello"),
            (b"iTXt", b"date:modify\x00\x00\x00\x00\x002016"),
            (b"IEND", b""),
        ]);
        let opts = Options {
            timestamp: Some(1423159771),
            ..Default::default()
        };
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(out) = normalize(&input, &mut ctx).unwrap() else {
            panic!()
        };
        let want = png(&[
            (b"IHDR", &[0; 13]),
            (b"tIME", &[0x07, 0xdf, 2, 5, 18, 9, 31]),
            (b"tEXt", b"date:create\x002015-02-05T18:09:31-00:00"),
            (b"tEXt", b"Comment\x00hello"),
            (b"iTXt", b"date:modify\x00\x00\x00\x00\x002016"),
            (b"IEND", b""),
        ]);
        assert_eq!(out, want);
        // No canonical time: the chunks are dropped.
        let opts = Options::default();
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(out) = normalize(&input, &mut ctx).unwrap() else {
            panic!()
        };
        assert_eq!(
            out,
            png(&[
                (b"IHDR", &[0; 13]),
                (b"tEXt", b"Comment\x00hello"),
                (b"iTXt", b"date:modify\x00\x00\x00\x00\x002016"),
                (b"IEND", b"")
            ])
        );
    }

    #[test]
    fn clamp_keeps_older_time() {
        let input = png(&[(b"tIME", &[0x07, 0xd0, 1, 1, 0, 0, 0]), (b"IEND", b"")]);
        let opts = Options {
            timestamp: Some(1423159771),
            clamp: true,
            ..Default::default()
        };
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(out) = normalize(&input, &mut ctx).unwrap() else {
            panic!()
        };
        assert_eq!(out, input);
    }
}
