//! RubyGems' `Gem::Version` ordering: segments split at `.` and at digit/letter boundaries;
//! trailing zero segments dropped (separately for the release and the pre-release part);
//! numbers compare numerically and above strings; a string segment makes a pre-release.

use std::cmp::Ordering;

use super::num::{cmp_digits, is_digits};

fn segments(s: &str) -> Vec<String> {
    let mut canon = String::new();
    let mut check = false;
    let mut prev_digit = true;
    for c in s.chars() {
        if c == '.' {
            check = false;
            canon.push('.');
            continue;
        }
        let d = c.is_ascii_digit();
        if check && prev_digit != d {
            canon.push('.');
        }
        canon.push(c);
        prev_digit = d;
        check = true;
    }
    let mut numbers: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    for seg in canon.split('.') {
        if rest.is_empty() && is_digits(seg) {
            numbers.push(seg.to_owned());
        } else {
            rest.push(seg.to_owned());
        }
    }
    fn trim_zeros(v: &mut Vec<String>) {
        while v.last().is_some_and(|s| s == "0") {
            v.pop();
        }
    }
    trim_zeros(&mut numbers);
    trim_zeros(&mut rest);
    numbers.extend(rest);
    numbers
}

/// RubyGems ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (segments(a), segments(b));
    for i in 0..x.len().max(y.len()) {
        let p = x.get(i).map_or("0", String::as_str);
        let q = y.get(i).map_or("0", String::as_str);
        let o = match (is_digits(p), is_digits(q)) {
            (true, true) => cmp_digits(p, q),
            (false, false) => p.cmp(q),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A gem version starts with a number and uses letters, digits, `.` and `-`.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    let s = s.trim();
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a gem version must start with a number");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err("a gem version may contain only letters, digits, `.` and `-`");
    }
    Ok(())
}
