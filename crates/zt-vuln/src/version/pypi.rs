//! PEP 440 ordering for PyPI, with the pre-PEP 440 ("legacy", setuptools) fallback that pip
//! used for strings that are not valid PEP 440 versions; legacy versions sort before all
//! PEP 440 versions.

use std::cmp::Ordering;

use super::num::{cmp_digits, is_digits};

/// A parsed PyPI version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PyVersion {
    Pep440(Pep440),
    Legacy(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Pep440 {
    epoch: String,
    release: Vec<String>,
    /// (phase a|b|rc, number)
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Vec<String>,
}

/// A cursor over the lowercased version string.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn digits(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i > start).then(|| {
            String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or_default()).into_owned()
        })
    }
    fn sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Consumes the first of `words` found here (longest listed first).
    fn word(&mut self, words: &[&str]) -> Option<String> {
        let rest = self.s.get(self.i..).unwrap_or_default();
        for w in words {
            if rest.starts_with(w.as_bytes()) {
                self.i += w.len();
                return Some((*w).to_owned());
            }
        }
        None
    }
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
}

/// Parses the canonical PEP 440 grammar (Appendix B's regular expression, case-insensitive,
/// surrounding whitespace and a leading `v` allowed).
fn parse_pep440(s: &str) -> Option<Pep440> {
    let lower = s.trim().to_ascii_lowercase();
    let mut c = Cursor {
        s: lower.as_bytes(),
        i: 0,
    };
    if c.peek() == Some(b'v') {
        c.i += 1;
    }
    let mut v = Pep440 {
        epoch: "0".into(),
        ..Pep440::default()
    };
    let first = c.digits()?;
    if c.peek() == Some(b'!') {
        c.i += 1;
        v.epoch = first;
        v.release.push(c.digits()?);
    } else {
        v.release.push(first);
    }
    loop {
        let save = c.i;
        if c.peek() == Some(b'.') {
            c.i += 1;
            if let Some(d) = c.digits() {
                v.release.push(d);
                continue;
            }
        }
        c.i = save;
        break;
    }
    // pre-release
    let save = c.i;
    c.sep();
    if let Some(w) = c.word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"]) {
        let phase = match w.as_str() {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            _ => 2,
        };
        let save_n = c.i;
        c.sep();
        let n = match c.digits() {
            Some(n) => n,
            None => {
                c.i = save_n;
                "0".into()
            }
        };
        v.pre = Some((phase, n));
    } else {
        c.i = save;
    }
    // post-release: `-N` or [sep](post|rev|r)[sep][N]
    let save = c.i;
    if c.peek() == Some(b'-') {
        c.i += 1;
        if let Some(n) = c.digits() {
            v.post = Some(n);
        } else {
            c.i = save;
        }
    }
    if v.post.is_none() {
        c.sep();
        if c.word(&["post", "rev", "r"]).is_some() {
            let save_n = c.i;
            c.sep();
            let n = match c.digits() {
                Some(n) => n,
                None => {
                    c.i = save_n;
                    "0".into()
                }
            };
            v.post = Some(n);
        } else {
            c.i = save;
        }
    }
    // dev-release
    let save = c.i;
    c.sep();
    if c.word(&["dev"]).is_some() {
        let save_n = c.i;
        c.sep();
        let n = match c.digits() {
            Some(n) => n,
            None => {
                c.i = save_n;
                "0".into()
            }
        };
        v.dev = Some(n);
    } else {
        c.i = save;
    }
    // local version label
    if c.peek() == Some(b'+') {
        c.i += 1;
        let rest = std::str::from_utf8(c.s.get(c.i..).unwrap_or_default()).ok()?;
        let parts: Vec<String> = rest.split(['.', '_', '-']).map(str::to_owned).collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return None;
        }
        v.local = parts;
        c.i = c.s.len();
    }
    c.at_end().then_some(v)
}

/// setuptools' legacy key: runs of digits (zero-padded), runs of letters (prefixed `*`), and
/// `-` become parts; `pre`/`preview`/`rc` → `c`, `dev` → `@`, with the trailing-zero and
/// `final-` trimming of `pkg_resources.parse_version`.
fn parse_legacy(s: &str) -> Vec<String> {
    let lower = s.to_ascii_lowercase();
    let mut raw: Vec<String> = Vec::new();
    let b = lower.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(&c) = b.get(i) else { break };
        if c.is_ascii_digit() || c.is_ascii_lowercase() {
            let digit = c.is_ascii_digit();
            let start = i;
            while b.get(i).is_some_and(|x| {
                if digit {
                    x.is_ascii_digit()
                } else {
                    x.is_ascii_lowercase()
                }
            }) {
                i += 1;
            }
            raw.push(lower.get(start..i).unwrap_or_default().to_owned());
        } else {
            if c == b'-' {
                raw.push("-".into());
            }
            i += 1;
        }
    }
    raw.push("final".into());
    let mut parts: Vec<String> = Vec::new();
    for part in raw {
        let part = match part.as_str() {
            "pre" | "preview" | "rc" => "c".to_owned(),
            "-" => "final-".to_owned(),
            "dev" => "@".to_owned(),
            p => p.to_owned(),
        };
        let part = if part.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{part:0>8}")
        } else {
            format!("*{part}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

fn parse(s: &str) -> PyVersion {
    match parse_pep440(s) {
        Some(v) => PyVersion::Pep440(v),
        None => PyVersion::Legacy(parse_legacy(s)),
    }
}

/// Whether `s` can be used as a PyPI version at all (PEP 440, or a legacy version string).
pub(crate) fn validate(s: &str) -> Result<(), &'static str> {
    if s.trim().is_empty() || s.trim().chars().any(char::is_whitespace) {
        return Err("a version must be non-empty and contain no whitespace");
    }
    if !s.is_ascii() {
        return Err("a version may contain only ASCII characters");
    }
    Ok(())
}

/// Whether `s` is a valid PEP 440 version (not merely a legacy one).
pub fn is_pep440(s: &str) -> bool {
    parse_pep440(s).is_some()
}

fn cmp_opt_last<T: Ord>(a: Option<T>, b: Option<T>, none_last: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if none_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => {
            if none_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// A number as an orderable key.
#[derive(PartialEq, Eq)]
struct Num<'a>(&'a str);
impl PartialOrd for Num<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Num<'_> {
    fn cmp(&self, o: &Self) -> Ordering {
        cmp_digits(self.0, o.0)
    }
}

fn cmp_pep440(a: &Pep440, b: &Pep440) -> Ordering {
    cmp_digits(&a.epoch, &b.epoch)
        .then_with(|| super::num::cmp_padded(&a.release, &b.release))
        .then_with(|| {
            // `1.0.dev0` sorts before `1.0a0`: a dev release without pre/post acts as the
            // lowest pre-release.
            let dev_only = |v: &Pep440| v.pre.is_none() && v.post.is_none() && v.dev.is_some();
            match (dev_only(a), dev_only(b)) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => cmp_opt_last(
                    a.pre.as_ref().map(|(p, n)| (*p, Num(n))),
                    b.pre.as_ref().map(|(p, n)| (*p, Num(n))),
                    true,
                ),
            }
        })
        .then_with(|| {
            cmp_opt_last(
                a.post.as_deref().map(Num),
                b.post.as_deref().map(Num),
                false,
            )
        })
        .then_with(|| cmp_opt_last(a.dev.as_deref().map(Num), b.dev.as_deref().map(Num), true))
        .then_with(|| {
            // local labels: numeric segments above alphanumeric ones, a longer label above
            // its prefix
            let n = a.local.len().min(b.local.len());
            for i in 0..n {
                let (x, y) = (
                    a.local.get(i).map_or("", String::as_str),
                    b.local.get(i).map_or("", String::as_str),
                );
                let o = match (is_digits(x), is_digits(y)) {
                    (true, true) => cmp_digits(x, y),
                    (false, false) => x.cmp(y),
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.local.len().cmp(&b.local.len())
        })
}

/// Versions parsed so far on this thread, so that each distinct string is parsed once: a
/// scan compares the same record and component versions many times. Bounded: cleared when
/// it grows past [`CACHE_MAX`] entries.
const CACHE_MAX: usize = 200_000;

/// FNV-1a: the cache's keys are short version strings from trusted places (records,
/// the SBOM being scanned); a keyed hash buys nothing here and costs more than the lookup.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Cache =
    std::collections::HashMap<Box<str>, std::rc::Rc<PyVersion>, std::hash::BuildHasherDefault<Fnv>>;

thread_local! {
    static PARSED: std::cell::RefCell<Cache> = std::cell::RefCell::new(Cache::default());
}

fn parsed(s: &str) -> std::rc::Rc<PyVersion> {
    PARSED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(v) = cache.get(s) {
            return v.clone();
        }
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        let v = std::rc::Rc::new(parse(s));
        cache.insert(s.into(), v.clone());
        v
    })
}

/// PEP 440 ordering (legacy versions below all PEP 440 versions).
pub(crate) fn cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (pa, pb) = (parsed(a), parsed(b));
    match (&*pa, &*pb) {
        (PyVersion::Pep440(x), PyVersion::Pep440(y)) => cmp_pep440(x, y),
        (PyVersion::Legacy(_), PyVersion::Pep440(_)) => Ordering::Less,
        (PyVersion::Pep440(_), PyVersion::Legacy(_)) => Ordering::Greater,
        (PyVersion::Legacy(x), PyVersion::Legacy(y)) => x.concat().cmp(&y.concat()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep440_forms() {
        assert!(is_pep440("1!2.0.post3.dev4+abc.5"));
        assert!(is_pep440("1.0-1"));
        assert!(is_pep440("v1.0RC1"));
        assert!(!is_pep440("1.0-doduo"));
        assert_eq!(cmp("1.0.dev0", "1.0a0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.post1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0c1", "1.0rc1"), Ordering::Equal);
    }
}
