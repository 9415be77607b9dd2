//! Helpers shared by the version orderings: arbitrary-length decimal numbers compared
//! without overflow (several ecosystems allow components beyond 64 bits).

use std::cmp::Ordering;

/// Compares two strings of ASCII digits as non-negative integers of any length.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `s` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// The number without leading zeros (`"0"` for zero).
pub(crate) fn canonical_digits(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0" } else { t }
}

/// Compares two lists of decimal numbers, the shorter one padded with zeros.
pub(crate) fn cmp_padded(a: &[String], b: &[String]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let o = cmp_digits(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_beyond_u64_compare_by_value() {
        assert_eq!(
            cmp_digits(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
        assert_eq!(cmp_digits("007", "7"), Ordering::Equal);
        assert_eq!(cmp_digits("10", "9"), Ordering::Greater);
        assert_eq!(
            cmp_padded(&["1".into()], &["1".into(), "0".into()]),
            Ordering::Equal
        );
    }
}
