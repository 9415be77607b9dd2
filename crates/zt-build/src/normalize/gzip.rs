//! gzip (RFC 1952) header normalisation, as strip-nondeterminism's `gzip` handler: the stored
//! file name (FNAME) and header CRC (FHCRC) are dropped, a non-zero MTIME becomes the canonical
//! time (or 0 without one; with clamping only a later MTIME is replaced). The OS byte, XFL,
//! extra field, comment and the compressed stream are kept byte for byte; concatenated members
//! after the first are not touched (the Perl tool does not parse them either).

use super::{Change, Ctx, Malformed, malformed};

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

pub(crate) fn normalize(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    let Some(hdr) = data.get(..10) else {
        return Ok(Change::Unchanged);
    };
    if hdr[0] != 31 || hdr[1] != 139 {
        return Ok(Change::Unchanged);
    }
    let flg = hdr[3];
    let mut mtime = i32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    let new_flg = flg & !FNAME & !FHCRC;
    if mtime != 0 {
        match ctx.opts.timestamp {
            Some(t) => {
                if !ctx.opts.clamp || i64::from(mtime) > t {
                    mtime = t as i32; // Perl packs with `l<`: the low 32 bits
                }
            }
            None => mtime = 0,
        }
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&hdr[..3]);
    out.push(new_flg);
    out.extend_from_slice(&mtime.to_le_bytes());
    out.extend_from_slice(&hdr[8..10]);
    let mut pos = 10usize;
    let truncated = || malformed("gzip", "header is truncated");
    if flg & FEXTRA != 0 {
        let xlen = data.get(pos..pos + 2).ok_or_else(truncated)?;
        let xlen = usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        let field = data.get(pos..pos + 2 + xlen).ok_or_else(truncated)?;
        out.extend_from_slice(field);
        pos += 2 + xlen;
    }
    if flg & FNAME != 0 {
        let end = data
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == 0))
            .ok_or_else(truncated)?;
        pos += end + 1;
    }
    if flg & FCOMMENT != 0 {
        let end = data
            .get(pos..)
            .and_then(|r| r.iter().position(|&b| b == 0))
            .ok_or_else(truncated)?;
        out.extend_from_slice(&data[pos..pos + end + 1]);
        pos += end + 1;
    }
    if flg & FHCRC != 0 {
        data.get(pos..pos + 2).ok_or_else(truncated)?;
        pos += 2;
    }
    out.extend_from_slice(data.get(pos..).unwrap_or_default());
    Ok(Change::Rewritten(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Options;

    fn run(data: &[u8], opts: &Options) -> Vec<u8> {
        let mut ctx = Ctx {
            opts,
            warnings: vec![],
        };
        match normalize(data, &mut ctx).unwrap() {
            Change::Rewritten(v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn name_and_hcrc_dropped_mtime_set() {
        let mut g = vec![31, 139, 8, FNAME | FHCRC | FCOMMENT, 1, 2, 3, 4, 2, 3];
        g.extend_from_slice(b"name\0comment\0\xaa\xbbDATA");
        let out = run(
            &g,
            &Options {
                timestamp: Some(0x0a0b0c0d),
                ..Default::default()
            },
        );
        let mut want = vec![31, 139, 8, FCOMMENT, 0x0d, 0x0c, 0x0b, 0x0a, 2, 3];
        want.extend_from_slice(b"comment\0DATA");
        assert_eq!(out, want);
        // Without a timestamp the mtime is cleared; a zero mtime is never set.
        assert_eq!(&run(&g, &Options::default())[4..8], &[0, 0, 0, 0]);
        let zero = [31, 139, 8, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(
            run(
                &zero,
                &Options {
                    timestamp: Some(5),
                    ..Default::default()
                }
            ),
            zero
        );
    }

    #[test]
    fn clamp_keeps_older_mtime() {
        let g = [31, 139, 8, 0, 10, 0, 0, 0, 0, 3];
        let o = Options {
            timestamp: Some(20),
            clamp: true,
            ..Default::default()
        };
        assert_eq!(run(&g, &o)[4], 10);
        let o = Options {
            timestamp: Some(5),
            clamp: true,
            ..Default::default()
        };
        assert_eq!(run(&g, &o)[4], 5);
    }

    #[test]
    fn truncated_name_is_malformed() {
        let g = [31, 139, 8, FNAME, 1, 0, 0, 0, 0, 3, b'a'];
        let opts = Options::default();
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        assert!(normalize(&g, &mut ctx).is_err());
    }
}
