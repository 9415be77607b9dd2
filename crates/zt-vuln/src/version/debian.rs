//! Debian (dpkg) version ordering, per deb-version(7): `[epoch:]upstream[-revision]`; each
//! part compared by alternating non-digit runs (letters before non-letters, `~` before
//! everything, even the end) and digit runs (numerically).

use std::cmp::Ordering;

use super::num::{cmp_digits, is_digits};

struct Deb<'a> {
    epoch: &'a str,
    upstream: &'a str,
    revision: &'a str,
}

fn split(s: &str) -> Deb<'_> {
    let s = s.trim();
    let (epoch, rest) = match s.split_once(':') {
        Some((e, r)) => (e, r),
        None => ("0", s),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, r),
        None => (rest, "0"),
    };
    Deb {
        epoch,
        upstream,
        revision,
    }
}

fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
pub(crate) fn cmp_part(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // non-digit prefix
        loop {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let (wa, wb) = (weight(ca), weight(cb));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        // digit run
        let si = i;
        while a.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let sj = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let da = std::str::from_utf8(a.get(si..i).unwrap_or_default()).unwrap_or("0");
        let db = std::str::from_utf8(b.get(sj..j).unwrap_or_default()).unwrap_or("0");
        let o = cmp_digits(
            if da.is_empty() { "0" } else { da },
            if db.is_empty() { "0" } else { db },
        );
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Debian ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (split(a), split(b));
    cmp_digits(x.epoch, y.epoch)
        .then_with(|| cmp_part(x.upstream, y.upstream))
        .then_with(|| cmp_part(x.revision, y.revision))
}

/// dpkg's syntax checks: numeric epoch, non-empty upstream starting with a digit, and only
/// the characters deb-version(7) allows.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("version string is empty");
    }
    if t.contains(char::is_whitespace) {
        return Err("version string has embedded spaces");
    }
    let d = split(t);
    if s.trim().contains(':') && !is_digits(d.epoch) {
        return Err("epoch in version is not a number");
    }
    if d.upstream.is_empty() {
        return Err("nothing after colon in version number");
    }
    if !d.upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("version number does not start with digit");
    }
    if !d
        .upstream
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-+~:".contains(c))
    {
        return Err("invalid character in version number");
    }
    if t.contains('-')
        && (d.revision.is_empty()
            || !d
                .revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err("invalid character in revision number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_sorts_before_end() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1:0.1", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert!(validate("a1.0").is_err());
        assert!(validate("x:1.0").is_err());
    }
}
