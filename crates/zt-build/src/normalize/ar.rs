//! ar archive (static library) normalisation, as strip-nondeterminism's `ar` handler: every
//! member header gets mtime = canonical time (0 without one), uid = gid = 0, and mode 644 (755
//! when owner-executable); the symbol table `/` keeps its mode and the GNU long-name table `//`
//! is not touched. Member data is never changed. (The Perl tool enables this handler only with
//! `--normalizers=+ar`; zt always does.)

use super::{Change, Ctx, Malformed, malformed};

pub(crate) fn normalize(data: &[u8], ctx: &mut Ctx<'_>) -> Result<Change, Malformed> {
    if !data.starts_with(b"!<arch>\n") {
        return Ok(Change::Unchanged);
    }
    let mut out = data.to_vec();
    let mut pos = 8usize;
    let time = format!("{:<12}", ctx.opts.timestamp.unwrap_or(0));
    while pos < data.len() {
        let Some(hdr) = data.get(pos..pos + 60) else {
            return Err(malformed(
                "ar",
                format!("member header at offset {pos} is truncated"),
            ));
        };
        if &hdr[58..60] != b"`\n" {
            return Err(malformed(
                "ar",
                format!("member header at offset {pos} has a bad magic"),
            ));
        }
        let mode = parse_leading(&hdr[40..48], 8);
        let size = parse_leading(&hdr[48..58], 10);
        if size < 1 {
            return Err(malformed(
                "ar",
                format!("member header at offset {pos} has size {size}"),
            ));
        }
        if !hdr.starts_with(b"// ") {
            write_field(&mut out, pos + 16, time.as_bytes(), 12);
            write_field(&mut out, pos + 28, b"0     ", 6);
            write_field(&mut out, pos + 34, b"0     ", 6);
            if !hdr.starts_with(b"/ ") {
                let m = if mode & 0o100 != 0 {
                    "755     "
                } else {
                    "644     "
                };
                write_field(&mut out, pos + 40, m.as_bytes(), 8);
            }
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        pos = pos
            .saturating_add(60)
            .saturating_add(size)
            .saturating_add(size % 2);
    }
    Ok(Change::Rewritten(out))
}

/// Writes `bytes` at `at`, like Perl's `syswrite` on a `+<` handle: a field wider than its slot
/// (a timestamp beyond 12 digits) spills into the next field, as it does in the Perl tool.
fn write_field(out: &mut [u8], at: usize, bytes: &[u8], _width: usize) {
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = out.get_mut(at + i) {
            *slot = *b;
        }
    }
}

/// Perl's numeric conversion of a string: leading whitespace, then the longest prefix of digits
/// in `radix` (octal via `oct`, decimal via numeric context); anything else is 0.
fn parse_leading(field: &[u8], radix: u32) -> i64 {
    let s = field.iter().skip_while(|b| b.is_ascii_whitespace());
    let mut v: i64 = 0;
    for &b in s {
        match (b as char).to_digit(radix) {
            Some(d) => {
                v = v
                    .saturating_mul(i64::from(radix))
                    .saturating_add(i64::from(d))
            }
            None => break,
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Options;

    fn header(name: &str, mtime: &str, uid: &str, mode: &str, size: usize) -> Vec<u8> {
        format!("{name:<16}{mtime:<12}{uid:<6}{uid:<6}{mode:<8}{size:<10}`\n").into_bytes()
    }

    #[test]
    fn headers_normalised_data_kept() {
        let mut a = b"!<arch>\n".to_vec();
        a.extend(header("/", "1700000000", "0", "0", 4));
        a.extend_from_slice(b"SYMS");
        a.extend(header("x.o/", "1700000000", "1000", "100755", 3));
        a.extend_from_slice(b"abc\n");
        let opts = Options {
            timestamp: Some(1423159771),
            ..Default::default()
        };
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        let Change::Rewritten(out) = normalize(&a, &mut ctx).unwrap() else {
            panic!()
        };
        let mut want = b"!<arch>\n".to_vec();
        want.extend(header("/", "1423159771", "0", "0", 4));
        want.extend_from_slice(b"SYMS");
        want.extend(header("x.o/", "1423159771", "0", "755", 3));
        want.extend_from_slice(b"abc\n");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want)
        );
    }

    #[test]
    fn truncated_header_is_malformed() {
        let opts = Options::default();
        let mut ctx = Ctx {
            opts: &opts,
            warnings: vec![],
        };
        assert!(normalize(b"!<arch>\nshort", &mut ctx).is_err());
    }
}
