//! CRAN (R `package_version`) ordering: non-negative integers separated by `.` or `-`,
//! compared numerically; with an equal prefix the longer version is greater.

use std::cmp::Ordering;

use super::num::{cmp_padded, is_digits};

fn parts(s: &str) -> Vec<String> {
    s.split(['.', '-'])
        .filter(|p| is_digits(p))
        .map(str::to_owned)
        .collect()
}

/// CRAN ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (parts(a), parts(b));
    cmp_padded(&x, &y).then_with(|| x.len().cmp(&y.len()))
}

/// An R package version is numbers separated by `.` or `-`.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.split(['.', '-']).all(is_digits) {
        Ok(())
    } else {
        Err("a CRAN version is non-negative integers separated by `.` or `-`")
    }
}
