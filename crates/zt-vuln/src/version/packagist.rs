//! Packagist ordering, PHP's `version_compare`: `-`, `_`, `+` become `.`, a `.` is inserted at
//! every digit/non-digit boundary, then parts compare numerically or by the special-word
//! order `dev < alpha = a < beta = b < RC = rc < # (number) < pl = p`; any other word ranks
//! below `dev`.

use std::cmp::Ordering;

use super::num::{cmp_digits, is_digits};

fn canonical(s: &str) -> Vec<String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let s = s.strip_prefix('V').unwrap_or(s);
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
        if let Some(p) = prev {
            let boundary = (p != '.' && c != '.') && (p.is_ascii_digit() != c.is_ascii_digit());
            if boundary {
                out.push('.');
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out.split('.').map(str::to_owned).collect()
}

/// PHP's `compare_special_version_forms`: a word's rank by prefix; unknown words rank below
/// `dev`.
fn special(s: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(w, _)| s.starts_with(w))
        .map_or(-1, |(_, r)| *r)
}

fn cmp_parts(a: &[String], b: &[String]) -> Ordering {
    let hash = ["#".to_owned()];
    for (x, y) in a.iter().zip(b.iter()) {
        let o = match (is_digits(x), is_digits(y)) {
            (true, true) => cmp_digits(x, y),
            (false, false) => special(x).cmp(&special(y)),
            (true, false) => special("#").cmp(&special(y)),
            (false, true) => special(x).cmp(&special("#")),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater => {
            let rest = a.get(b.len()..).unwrap_or_default();
            if rest.first().is_some_and(|n| is_digits(n)) {
                Ordering::Greater
            } else {
                cmp_parts(rest, &hash)
            }
        }
        Ordering::Less => {
            let rest = b.get(a.len()..).unwrap_or_default();
            if rest.first().is_some_and(|n| is_digits(n)) {
                Ordering::Less
            } else {
                cmp_parts(&hash, rest)
            }
        }
        Ordering::Equal => Ordering::Equal,
    }
}

/// Packagist ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    cmp_parts(&canonical(a), &canonical(b))
}

/// Composer accepts any non-empty version string without whitespace.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a Packagist version may not contain whitespace");
    }
    Ok(())
}
