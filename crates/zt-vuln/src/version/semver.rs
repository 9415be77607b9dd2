//! The SemVer family as OSV uses it (crates.io, npm, Go, Hex, and with small differences NuGet,
//! Pub and Hackage): numeric components of any length, an optional leading `v`, then a
//! pre-release/build tail compared per SemVer 2.0.0 §11.
//!
//! Parsing is lenient like OSV's: numeric components run until the first character that is
//! neither a digit nor a `.`; everything from there on is the tail. Components beyond the
//! ecosystem's count (3 for SemVer, 4 for NuGet) are appended to the tail.

use std::cmp::Ordering;

use super::num::{canonical_digits, cmp_digits, cmp_padded, is_digits};

/// A parsed SemVer-like version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SemverLike {
    /// Numeric components (decimal strings, any length).
    pub(crate) components: Vec<String>,
    /// Everything after the numeric components (`-pre`, `+build`, …).
    pub(crate) tail: String,
}

/// Splits `s` into numeric components and a tail; `max` limits the component count
/// (`None`: unlimited), extra components move to the tail as `.N`.
pub(crate) fn parse_like(s: &str, max: Option<usize>) -> SemverLike {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut components = Vec::new();
    let mut current = String::new();
    let mut tail = String::new();
    let mut in_tail = false;
    for c in s.chars() {
        if in_tail {
            tail.push(c);
        } else if c.is_ascii_digit() {
            current.push(c);
        } else {
            if !current.is_empty() {
                components.push(std::mem::take(&mut current));
            }
            if c != '.' {
                in_tail = true;
                tail.push(c);
            }
        }
    }
    if !in_tail && !current.is_empty() {
        components.push(current);
    }
    if let Some(max) = max
        && components.len() > max
    {
        for extra in components.split_off(max) {
            tail.push('.');
            tail.push_str(canonical_digits(&extra));
        }
    }
    SemverLike { components, tail }
}

/// Checks the shape every SemVer-family version must have: a digit first (after an optional
/// `v`), and only visible ASCII.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    let body = s.strip_prefix('v').unwrap_or(s);
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a version must start with a number (after an optional `v`)");
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a version may contain only visible ASCII characters");
    }
    Ok(())
}

/// Compares two pre-release tails (build metadata after `+` ignored; a leading `-` dropped):
/// no pre-release sorts after any pre-release; identifiers compare per SemVer §11.4.
pub(crate) fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    let a = a.split('+').next().unwrap_or("");
    let b = b.split('+').next().unwrap_or("");
    let a = a.strip_prefix('-').unwrap_or(a);
    let b = b.strip_prefix('-').unwrap_or(b);
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    cmp_identifiers(a.split('.'), b.split('.'))
}

/// SemVer §11.4: numeric identifiers numerically and below alphanumeric ones, alphanumeric
/// ones in ASCII order, a longer list above its prefix.
pub(crate) fn cmp_identifiers<'a>(
    mut a: impl Iterator<Item = &'a str>,
    mut b: impl Iterator<Item = &'a str>,
) -> Ordering {
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (is_digits(x), is_digits(y)) {
                    (true, true) => cmp_digits(x, y),
                    (false, false) => x.cmp(y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// SemVer 2.0.0 ordering (crates.io, npm, Go, Hex).
pub(crate) fn cmp_semver(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_like(a, Some(3)), parse_like(b, Some(3)));
    cmp_padded(&x.components, &y.components).then_with(|| cmp_prerelease(&x.tail, &y.tail))
}

/// NuGet: up to four numeric components, pre-release labels compared case-insensitively.
pub(crate) fn cmp_nuget(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_like(a, Some(4)), parse_like(b, Some(4)));
    cmp_padded(&x.components, &y.components)
        .then_with(|| cmp_prerelease(&x.tail.to_ascii_lowercase(), &y.tail.to_ascii_lowercase()))
}

/// Pub (Dart): SemVer, except that build metadata also orders (after the pre-release), its
/// identifiers compared like pre-release identifiers.
pub(crate) fn cmp_pub(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_like(a, Some(3)), parse_like(b, Some(3)));
    cmp_padded(&x.components, &y.components)
        .then_with(|| cmp_prerelease(&x.tail, &y.tail))
        .then_with(|| {
            let bx = x.tail.split_once('+').map(|(_, b)| b);
            let by = y.tail.split_once('+').map(|(_, b)| b);
            match (bx, by) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(p), Some(q)) => cmp_identifiers(p.split('.'), q.split('.')),
            }
        })
}

/// Hackage (PVP): any number of numeric components; a longer version with an equal prefix
/// sorts after (`1.0.0 > 1.0`).
pub(crate) fn cmp_hackage(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse_like(a, None), parse_like(b, None));
    cmp_padded(&x.components, &y.components)
        .then_with(|| x.components.len().cmp(&y.components.len()))
}

/// Hackage versions are dot-separated numbers only.
pub(crate) fn validate_hackage(s: &str) -> Result<(), &'static str> {
    if s.split('.').all(is_digits) {
        Ok(())
    } else {
        Err("a Hackage version is numbers separated by dots")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_components_join_the_tail() {
        let v = parse_like("1.2.3.4.05", Some(3));
        assert_eq!(v.components, ["1", "2", "3"]);
        assert_eq!(v.tail, ".4.5");
    }

    #[test]
    fn prerelease_rules() {
        assert_eq!(cmp_semver("1.0.0-alpha", "1.0.0-alpha.1"), Ordering::Less);
        assert_eq!(
            cmp_semver("1.0.0-beta.11", "1.0.0-beta.2"),
            Ordering::Greater
        );
        assert_eq!(cmp_semver("1.0.0+a", "v1.0.0+b"), Ordering::Equal);
        assert_eq!(cmp_pub("1.2.3+10", "1.2.3+9"), Ordering::Greater);
        assert_eq!(cmp_hackage("1.0.0", "1.0"), Ordering::Greater);
    }
}
