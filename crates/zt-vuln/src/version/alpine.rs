//! Alpine (apk) version ordering:
//! `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`. Suffixes order
//! `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`. A version whose tail does
//! not fit the grammar is "invalid" for apk and sorts before valid ones with an equal prefix;
//! two invalid versions compare as strings.

use std::cmp::Ordering;

use super::num::cmp_digits;

#[derive(Debug, Default)]
struct Apk<'a> {
    original: &'a str,
    invalid: bool,
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    suffixes: Vec<(usize, &'a str)>,
    build: &'a str,
    remainder: &'a str,
}

const SUFFIXES: [&str; 10] = [
    "alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p",
];
const NO_SUFFIX: usize = 4;

fn digits_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

fn parse(s: &str) -> Apk<'_> {
    let mut v = Apk {
        original: s,
        build: "0",
        ..Apk::default()
    };
    // numbers: (\d+\.?)*
    let mut rest = s;
    loop {
        let n = digits_len(rest);
        if n == 0 {
            break;
        }
        v.numbers.push(rest.get(..n).unwrap_or_default());
        rest = rest.get(n..).unwrap_or_default();
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => break,
        }
    }
    // letter
    if let Some(&c) = rest.as_bytes().first()
        && c.is_ascii_lowercase()
    {
        v.letter = Some(c);
        rest = rest.get(1..).unwrap_or_default();
    }
    // suffixes: every `_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*` counts; the ones at the
    // front are consumed
    let mut consuming = true;
    let mut scan = rest;
    while let Some(pos) = scan.find('_') {
        let after = scan.get(pos + 1..).unwrap_or_default();
        let found = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]
            .iter()
            .find(|w| after.starts_with(**w));
        match found {
            Some(w) => {
                let after_w = after.get(w.len()..).unwrap_or_default();
                let n = digits_len(after_w);
                let num = after_w.get(..n).unwrap_or_default();
                let weight = SUFFIXES.iter().position(|s| s == w).unwrap_or(NO_SUFFIX);
                v.suffixes
                    .push((weight, if num.is_empty() { "0" } else { num }));
                let end = pos + 1 + w.len() + n;
                if consuming && pos == 0 {
                    rest = scan.get(end..).unwrap_or_default();
                } else {
                    consuming = false;
                }
                scan = scan.get(end..).unwrap_or_default();
            }
            None => {
                if pos == 0 {
                    consuming = false;
                }
                scan = after;
            }
        }
    }
    // hash
    if let Some(h) = rest.strip_prefix('~') {
        let n = h
            .bytes()
            .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            .count();
        if n > 0 {
            rest = h.get(n..).unwrap_or_default();
        }
    }
    // build
    if !rest.is_empty() {
        match rest.strip_prefix("-r") {
            Some(r) => {
                let n = digits_len(r);
                v.build = if n == 0 {
                    "0"
                } else {
                    r.get(..n).unwrap_or_default()
                };
                rest = r.get(n..).unwrap_or_default();
            }
            None => v.invalid = true,
        }
    }
    v.remainder = rest;
    v
}

fn cmp_number(i: usize, a: &str, b: &str) -> Ordering {
    // after the first component, a leading zero means a fractional (string) comparison
    if i != 0 && (a.starts_with('0') || b.starts_with('0')) {
        return a.cmp(b);
    }
    cmp_digits(a, b)
}

/// Alpine ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse(a), parse(b));
    if x.invalid && y.invalid {
        return x.original.cmp(y.original);
    }
    for i in 0..x.numbers.len().max(y.numbers.len()) {
        let p = x.numbers.get(i).copied().unwrap_or("0");
        let q = y.numbers.get(i).copied().unwrap_or("0");
        // padding is the number 0 at index 0-like comparison (numeric)
        let idx = if x.numbers.get(i).is_none() || y.numbers.get(i).is_none() {
            0
        } else {
            i
        };
        let o = cmp_number(idx, p, q);
        if o != Ordering::Equal {
            return o;
        }
    }
    let o = match (x.letter, y.letter) {
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (p, q) => p.cmp(&q),
    };
    if o != Ordering::Equal {
        return o;
    }
    for i in 0..x.suffixes.len().max(y.suffixes.len()) {
        let (wp, np) = x.suffixes.get(i).copied().unwrap_or((NO_SUFFIX, "0"));
        let (wq, nq) = y.suffixes.get(i).copied().unwrap_or((NO_SUFFIX, "0"));
        let o = wp.cmp(&wq).then_with(|| cmp_digits(np, nq));
        if o != Ordering::Equal {
            return o;
        }
    }
    let o = cmp_digits(x.build, y.build);
    if o != Ordering::Equal {
        return o;
    }
    match (x.remainder.is_empty(), y.remainder.is_empty()) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// apk accepts any non-empty version without whitespace (an ill-formed tail orders low).
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an Alpine version may not contain whitespace");
    }
    Ok(())
}
