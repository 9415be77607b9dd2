//! Maven's `ComparableVersion` ordering: the version is split into tokens at `.`, `-` and
//! digit/letter transitions (a transition counts as `-`); trailing "null" tokens (`0`, ``,
//! `final`, `ga`) are trimmed before each hyphen; known qualifiers order
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp`, unknown
//! qualifiers after them alphabetically, and numbers after qualifiers.

use std::cmp::Ordering;

use super::num::{canonical_digits, cmp_digits, is_digits};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    /// `.`, `-`, or `` for the first token.
    prefix: char,
    value: String,
    /// A padding token standing for a missing one.
    null: bool,
}

const KEYWORDS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn keyword_rank(s: &str) -> usize {
    KEYWORDS
        .iter()
        .position(|k| *k == s)
        .unwrap_or(KEYWORDS.len())
}

impl Token {
    /// `.qualifier` < `-qualifier` < `-number` < `.number`.
    fn prefix_rank(&self) -> u8 {
        match (is_digits(&self.value), self.prefix) {
            (true, '-') => 2,
            (true, _) => 3,
            (false, '-') => 1,
            (false, _) => 0,
        }
    }

    fn less_than(&self, other: &Token) -> bool {
        if self.prefix != other.prefix {
            return self.prefix_rank() < other.prefix_rank();
        }
        let (a_num, b_num) = (is_digits(&self.value), is_digits(&other.value));
        if a_num && b_num {
            return cmp_digits(&self.value, &other.value) == Ordering::Less;
        }
        if a_num && !self.null {
            return false;
        }
        if b_num && !other.null {
            return true;
        }
        let (x, y) = (keyword_rank(&self.value), keyword_rank(&other.value));
        if x == KEYWORDS.len() && y == KEYWORDS.len() {
            return self.value < other.value;
        }
        x < y
    }

    fn null_like(other: &Token) -> Token {
        if other.prefix == '-' {
            Token {
                prefix: '-',
                value: String::new(),
                null: true,
            }
        } else {
            // `sp` is the one qualifier above the empty value
            let value = if other.value == "sp" {
                String::new()
            } else {
                "0".into()
            };
            Token {
                prefix: '.',
                value,
                null: true,
            }
        }
    }

    fn trimmable(&self) -> bool {
        matches!(self.value.as_str(), "0" | "" | "final" | "ga")
    }
}

fn tokenize(s: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut prefix = '\0';
    for (i, piece) in split_keep(s).into_iter().enumerate() {
        let (sep, raw) = piece;
        if i > 0 {
            prefix = sep;
        }
        // split at digit/non-digit transitions
        let mut runs: Vec<&str> = Vec::new();
        let mut start = 0;
        let bytes = raw.as_bytes();
        for j in 1..bytes.len() {
            let (p, c) = (bytes.get(j - 1).copied(), bytes.get(j).copied());
            if let (Some(p), Some(c)) = (p, c)
                && p.is_ascii_digit() != c.is_ascii_digit()
            {
                runs.push(raw.get(start..j).unwrap_or_default());
                start = j;
            }
        }
        runs.push(raw.get(start..).unwrap_or_default());
        let n = runs.len();
        for (k, run) in runs.into_iter().enumerate() {
            let p = if k > 0 { '-' } else { prefix };
            let mut v = run.to_lowercase();
            if v.is_empty() {
                v = "0".into();
            }
            if v == "cr" {
                v = "rc".into();
            }
            if matches!(v.as_str(), "ga" | "final" | "release") {
                v = String::new();
            }
            if k + 1 < n {
                match v.as_str() {
                    "a" => v = "alpha".into(),
                    "b" => v = "beta".into(),
                    "m" => v = "milestone".into(),
                    _ => {}
                }
            }
            if is_digits(&v) {
                v = canonical_digits(&v).to_owned();
            }
            tokens.push(Token {
                prefix: p,
                value: v,
                null: false,
            });
        }
    }
    // trim trailing nulls, then again before each hyphen, from the end
    let mut i = tokens.len().saturating_sub(1);
    while i > 0 {
        if tokens.get(i).is_some_and(Token::trimmable) {
            tokens.remove(i);
            i -= 1;
            continue;
        }
        loop {
            match tokens.get(i) {
                Some(t) if t.prefix != '-' => {
                    if i == 0 {
                        return tokens;
                    }
                    i -= 1;
                }
                _ => break,
            }
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    tokens
}

/// Splits at `.` and `-`, keeping which separator preceded each piece.
fn split_keep(s: &str) -> Vec<(char, &str)> {
    let mut out = Vec::new();
    let mut sep = '\0';
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '.' || c == '-' {
            out.push((sep, s.get(start..i).unwrap_or_default()));
            sep = c;
            start = i + 1;
        }
    }
    out.push((sep, s.get(start..).unwrap_or_default()));
    out
}

/// Maven ordering.
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (tokenize(a), tokenize(b));
    if x == y {
        return Ordering::Equal;
    }
    let n = x.len().max(y.len());
    for i in 0..n {
        let left = match (x.get(i), y.get(i)) {
            (Some(t), _) => t.clone(),
            (None, Some(o)) => Token::null_like(o),
            (None, None) => break,
        };
        let right = match (y.get(i), x.get(i)) {
            (Some(t), _) => t.clone(),
            (None, Some(o)) => Token::null_like(o),
            (None, None) => break,
        };
        if left.prefix == right.prefix && left.value == right.value {
            continue;
        }
        return if left.less_than(&right) {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    Ordering::Equal
}

/// Maven accepts any non-empty version without whitespace.
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a Maven version may not contain whitespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers() {
        assert_eq!(cmp("1.0-alpha-1", "1.0-beta-1"), Ordering::Less);
        assert_eq!(cmp("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0-sp"), Ordering::Less);
        assert_eq!(cmp("1ga", "1"), Ordering::Equal);
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
    }
}
