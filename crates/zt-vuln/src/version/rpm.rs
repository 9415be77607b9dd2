//! RPM (Red Hat) ordering: `[epoch:]version[-release]`, each part compared with
//! `rpmvercmp`: alphanumeric runs, separators ignored, `~` sorts before everything (even the
//! end), `^` after the end but before anything else.

use std::cmp::Ordering;

fn trimmed(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// `rpmvercmp(3)`.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match (a.is_empty(), b.is_empty()) {
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let (mut i, mut j) = (0, 0);
    loop {
        while a.get(i).is_some_and(|&c| trimmed(c)) {
            i += 1;
        }
        while b.get(j).is_some_and(|&c| trimmed(c)) {
            j += 1;
        }
        let (ta, tb) = (a.get(i) == Some(&b'~'), b.get(j) == Some(&b'~'));
        if ta && tb {
            i += 1;
            j += 1;
            continue;
        }
        if ta {
            return Ordering::Less;
        }
        if tb {
            return Ordering::Greater;
        }
        let (ca, cb) = (a.get(i) == Some(&b'^'), b.get(j) == Some(&b'^'));
        if ca && cb {
            i += 1;
            j += 1;
            continue;
        }
        if ca {
            return if j >= b.len() {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if cb {
            return if i >= a.len() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let digit = a.get(i).is_some_and(u8::is_ascii_digit);
        let run = |s: &[u8], mut k: usize| {
            let start = k;
            while s.get(k).is_some_and(|c| {
                if digit {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_alphabetic()
                }
            }) {
                k += 1;
            }
            (start, k)
        };
        let (sa, ea) = run(a, i);
        let (sb, eb) = run(b, j);
        i = ea;
        j = eb;
        let ra = a.get(sa..ea).unwrap_or_default();
        let rb = b.get(sb..eb).unwrap_or_default();
        if rb.is_empty() {
            return if digit {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let o = if digit {
            let za = ra.iter().skip_while(|c| **c == b'0').count();
            let zb = rb.iter().skip_while(|c| **c == b'0').count();
            za.cmp(&zb).then_with(|| {
                ra.get(ra.len() - za..)
                    .unwrap_or_default()
                    .cmp(rb.get(rb.len() - zb..).unwrap_or_default())
            })
        } else {
            ra.cmp(rb)
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    (a.len() - i.min(a.len())).cmp(&(b.len() - j.min(b.len())))
}

fn split(s: &str) -> (&str, &str, String) {
    let (epoch, vr) = match s.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e, r),
        _ => ("", s),
    };
    let (version, release) = match vr.split_once('-') {
        Some((v, r)) => (v, format!("-{r}")),
        None => (vr, String::new()),
    };
    (if epoch.is_empty() { "0" } else { epoch }, version, release)
}

/// Red Hat ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    rpmvercmp(ea, eb)
        .then_with(|| rpmvercmp(va, vb))
        .then_with(|| rpmvercmp(&ra, &rb))
}

/// RPM accepts any non-empty version.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an RPM version may not contain whitespace");
    }
    Ok(())
}
