//! What a regex needs in a text to match at all: the literals of its syntax tree (parsed
//! with `regex-syntax`, the parser of the `regex` crate, so the same tree the regex runs)
//! that every match contains, as alternatives of conjunctions — `(?i)mshta(\.exe)?\s+\S+`
//! needs `mshta` in any case (or `mſhta`: under `(?i)`, `s` also matches `ſ`, and `k` the
//! Kelvin sign), `\.exe\s+.*?\.dll` needs `.exe` and `.dll`.
//!
//! regex-syntax's own literal extractor gives the prefixes or suffixes of a match, which a
//! leading `.*?` (GuardDog writes `(?i).*?\.exe…`) makes useless; this walk also keeps the
//! literals inside a match. It is sound by construction: every step either keeps exactly
//! the set of strings a piece matches, or forgets a requirement (never adds one).

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::matcher::Word;

/// A class of at most this many characters is read as that many one-character literals.
const MAX_CLASS: u32 = 32;
/// The most strings a piece is tracked as exactly (`(a|b)(c|d)` is 4).
const MAX_EXACT: usize = 64;
/// The most alternatives a conjunction of requirements is expanded to.
const MAX_PRODUCT: usize = 256;
/// The most alternatives of an alternation.
const MAX_ALTERNATIVES: usize = 4096;

/// Alternatives (any one suffices), each a list of words that must all be in the text. An
/// empty list of alternatives never matches; `[[]]` needs nothing.
pub(crate) type Dnf = Vec<Vec<Word>>;

fn anything() -> Dnf {
    vec![Vec::new()]
}

fn needs_nothing(d: &Dnf) -> bool {
    d.iter().any(Vec::is_empty)
}

/// What one piece of a regex matches: `exact` is every string it can match, when that is a
/// small finite set (a word with `nocase` stands for its ASCII case variants); `need` what
/// every match contains.
struct Info {
    exact: Option<Vec<Word>>,
    need: Dnf,
}

/// The words a match of `re` (the text of a `regex::Regex`, which `regex-syntax` parses
/// with the same defaults) contains; `None` when the regex does not parse here.
pub(crate) fn needs(re: &str) -> Option<Dnf> {
    let hir = regex_syntax::parse(re).ok()?;
    Some(info(&hir).need)
}

/// A word worth looking for: three bytes or more, or any non-ASCII character (GuardDog's
/// `unicode` rule looks for single letters such as `ª`, two bytes).
fn useful(w: &Word) -> bool {
    w.text.len() >= 3 || !w.text.is_ascii()
}

/// The requirement of matching one of `words`.
fn of_exact(words: &[Word]) -> Dnf {
    if words.iter().all(useful) {
        words.iter().map(|w| vec![w.clone()]).collect()
    } else {
        anything()
    }
}

fn product(a: &[Word], b: &[Word]) -> Option<Vec<Word>> {
    if a.len().saturating_mul(b.len()) > MAX_EXACT {
        return None;
    }
    let mut out: Vec<Word> = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let nocase = x.nocase || y.nocase;
            let mut text = format!("{}{}", x.text, y.text);
            if nocase {
                text.make_ascii_lowercase();
            }
            let w = Word { text, nocase };
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    Some(out)
}

/// Both requirements: each alternative of one with each of the other; when that would be
/// too many, `a` alone (forgetting `b` only weakens the requirement).
pub(crate) fn and(a: Dnf, b: Dnf) -> Dnf {
    if needs_nothing(&a) {
        return b;
    }
    if needs_nothing(&b) || a.len().saturating_mul(b.len()) > MAX_PRODUCT {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            let mut both = x.clone();
            for w in y {
                if !both.contains(w) {
                    both.push(w.clone());
                }
            }
            out.push(both);
        }
    }
    out
}

/// Either requirement.
fn or(mut a: Dnf, b: Dnf) -> Dnf {
    if needs_nothing(&a) || needs_nothing(&b) || a.len() + b.len() > MAX_ALTERNATIVES {
        return anything();
    }
    a.extend(b);
    a
}

/// The characters of a class as words, when there are few: an ASCII letter present in
/// both cases is one `nocase` word.
fn class_words(class: &Class) -> Option<Vec<Word>> {
    let mut chars: Vec<char> = Vec::new();
    let mut count: u32 = 0;
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                count = count.saturating_add(u32::from(r.end()) - u32::from(r.start()) + 1);
                if count > MAX_CLASS {
                    return None;
                }
                chars.extend(r.start()..=r.end());
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                count = count.saturating_add(u32::from(r.end() - r.start()) + 1);
                // a non-ASCII byte is not a character of the (UTF-8) text
                if count > MAX_CLASS || !r.end().is_ascii() {
                    return None;
                }
                chars.extend((r.start()..=r.end()).map(char::from));
            }
        }
    }
    if chars.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for &c in &chars {
        let (lower, upper) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
        let both = c.is_ascii_alphabetic() && chars.contains(&lower) && chars.contains(&upper);
        let w = Word {
            text: if both { lower } else { c }.to_string(),
            nocase: both,
        };
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Some(out)
}

fn info(h: &Hir) -> Info {
    let empty = || Info {
        exact: Some(vec![Word {
            text: String::new(),
            nocase: false,
        }]),
        need: anything(),
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => empty(),
        HirKind::Literal(lit) => match std::str::from_utf8(&lit.0) {
            Ok(s) => {
                let words = vec![Word {
                    text: s.to_string(),
                    nocase: false,
                }];
                Info {
                    need: of_exact(&words),
                    exact: Some(words),
                }
            }
            Err(_) => Info {
                exact: None,
                need: anything(),
            },
        },
        HirKind::Class(c) => match class_words(c) {
            Some(words) => Info {
                need: of_exact(&words),
                exact: Some(words),
            },
            None => Info {
                exact: None,
                need: anything(),
            },
        },
        HirKind::Capture(c) => info(&c.sub),
        HirKind::Repetition(r) => {
            let sub = info(&r.sub);
            match (r.min, r.max) {
                (0, Some(1)) => Info {
                    exact: sub.exact.map(|mut e| {
                        let none = Word {
                            text: String::new(),
                            nocase: false,
                        };
                        if !e.contains(&none) {
                            e.push(none);
                        }
                        e
                    }),
                    need: anything(),
                },
                (0, _) => Info {
                    exact: None,
                    need: anything(),
                },
                (1, Some(1)) => sub,
                // once at least: what one match of the piece needs, and with `min` times,
                // the strings of that many in a row (`[ \t]{150,}`: 6 blanks, as many as
                // `MAX_EXACT` allows)
                (min, max) => {
                    let mut exact = None;
                    let mut need = sub.need;
                    if let Some(e) = sub.exact.filter(|_| min >= 2) {
                        let mut run = e.clone();
                        let mut k = 1;
                        while k < min {
                            match product(&run, &e) {
                                Some(p) => run = p,
                                None => break,
                            }
                            k += 1;
                        }
                        need = and(of_exact(&run), need);
                        if k == min && max == Some(min) {
                            exact = Some(run);
                        }
                    }
                    Info { exact, need }
                }
            }
        }
        HirKind::Alternation(subs) => {
            let infos: Vec<Info> = subs.iter().map(info).collect();
            let mut exact: Option<Vec<Word>> = Some(Vec::new());
            let mut need: Dnf = Vec::new();
            for i in infos {
                exact = match (exact, i.exact) {
                    (Some(mut all), Some(e)) => {
                        for w in e {
                            if !all.contains(&w) {
                                all.push(w);
                            }
                        }
                        (all.len() <= MAX_EXACT).then_some(all)
                    }
                    _ => None,
                };
                need = or(need, i.need);
            }
            Info { exact, need }
        }
        HirKind::Concat(subs) => {
            // runs of pieces with exact strings are joined (`\.` `exe` → `.exe`); a run
            // ends at a piece without them, or when the run would grow too large
            let mut run = empty().exact.unwrap_or_default();
            let mut all_exact = true;
            let mut need = anything();
            for s in subs.iter().map(info) {
                match s.exact {
                    Some(e) => match product(&run, &e) {
                        Some(p) => run = p,
                        None => {
                            all_exact = false;
                            need = and(need, of_exact(&run));
                            run = e;
                        }
                    },
                    None => {
                        all_exact = false;
                        need = and(need, of_exact(&run));
                        need = and(need, s.need);
                        run = empty().exact.unwrap_or_default();
                    }
                }
            }
            need = and(need, of_exact(&run));
            Info {
                exact: all_exact.then_some(run),
                need,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(re: &str) -> Vec<Vec<String>> {
        needs(re)
            .unwrap()
            .into_iter()
            .map(|alt| {
                alt.into_iter()
                    .map(|w| {
                        if w.nocase {
                            format!("i:{}", w.text)
                        } else {
                            w.text
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn guarddogs_regexes_give_their_literals() {
        assert_eq!(show("LD_PRELOAD"), [["LD_PRELOAD"]]);
        assert_eq!(
            show(r"(?i).*?\.exe\s+.*?\.dll"),
            [["i:.exe", "i:.dll"]],
            "inner literals, past a leading `.*?`"
        );
        // under (?i) `s` also matches `ſ` (U+017F) and `k` the Kelvin sign (U+212A)
        assert_eq!(show(r"(?i)mshta(.exe)?\s+\S+"), [["i:mshta"], ["i:mſhta"]]);
        assert_eq!(
            show(r"(?i).*?\.(dll|so)"),
            [["i:.dll"], ["i:.so"], ["i:.ſo"]]
        );
        assert_eq!(show(r"(?i).*?(\.exe|\/bin/.+)"), [["i:.exe"], ["i:/bin/"]]);
        assert_eq!(
            show("from pyarmor_runtime[_\\w]* import __pyarmor__"),
            [["from pyarmor_runtime", " import __pyarmor__"]]
        );
        assert_eq!(
            show("__armor_enter__|__armor_exit__"),
            [["__armor_enter__"], ["__armor_exit__"]]
        );
        // a class of a few characters: each one
        assert_eq!(show("([ªᵃₐ])"), [["ª"], ["ᵃ"], ["ₐ"]]);
    }

    #[test]
    fn what_cannot_be_told_needs_nothing() {
        for re in [
            r".*",
            r"\w+",
            r"a",
            r"ab",
            r"(abc)?",
            r"x*abc*",
            r"[a-z]{3}",
            r"(?:abc|.)",
        ] {
            assert!(needs_nothing(&needs(re).unwrap()), "{re}");
        }
        assert_eq!(show("x*abcd"), [["abcd"]]);
        assert_eq!(show("x{3}"), [["xxx"]]);
        assert_eq!(show("(?:ab){2}c"), [["ababc"]]);
        assert_eq!(show("a(?:xy){2,}"), [["xyxy"]]);
        assert_eq!(show("[ \t]{150,}").len(), 64, "6 blanks in a row");
    }

    /// Whether `text` holds what `need` asks (a `nocase` word in any ASCII case): what the
    /// pre-filter's automata tell.
    fn holds(need: &Dnf, text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        need.iter().any(|alt| {
            alt.iter().all(|w| {
                if w.nocase {
                    lower.contains(&w.text)
                } else {
                    text.contains(&w.text)
                }
            })
        })
    }

    /// Random regexes, each with a string it matches.
    fn regex_and_match() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            proptest::sample::select(
                &["ab", "exe", ".dll", "so", "k", "s", "mshta", "x", "ſ", "Kk"][..]
            )
            .prop_map(|l| (regex_syntax::escape(l), l.to_string())),
            proptest::sample::select(
                &[
                    ("[a-c]", "b"),
                    ("[ªᵃ]", "ª"),
                    (r"\s", " "),
                    (".", "z"),
                    (r"\d", "7"),
                    ("[sS]", "S"),
                    ("[kK]", "k")
                ][..]
            )
            .prop_map(|(r, m)| (r.to_string(), m.to_string())),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|((ra, sa), (rb, sb))| (format!("(?:{ra})(?:{rb})"), sa + &sb)),
                (inner.clone(), inner.clone(), any::<bool>()).prop_map(
                    |((ra, sa), (rb, sb), left)| {
                        (format!("(?:{ra}|{rb})"), if left { sa } else { sb })
                    }
                ),
                (inner.clone(), any::<bool>()).prop_map(|((r, m), some)| (
                    format!("(?:{r})?"),
                    if some { m } else { String::new() }
                )),
                (inner.clone(), any::<bool>()).prop_map(|((r, m), some)| (
                    format!("(?:{r})*?"),
                    if some { m.repeat(2) } else { String::new() }
                )),
                (inner.clone(), any::<bool>()).prop_map(|((r, m), twice)| (
                    format!("(?:{r})+"),
                    if twice { m.repeat(2) } else { m }
                )),
                inner.clone().prop_map(|(r, m)| (format!("({r})"), m)),
                (inner.clone(), any::<bool>()).prop_map(|((r, m), more)| (
                    format!("(?:{r}){{2,}}"),
                    if more { m.repeat(3) } else { m.repeat(2) }
                )),
                inner
                    .clone()
                    .prop_map(|(r, m)| (format!("(?:{r}){{3}}"), m.repeat(3))),
                // case-insensitive: the match in other cases, `s` as `ſ`, `k` as the Kelvin sign
                (inner.clone(), any::<u64>()).prop_map(|((r, m), bits)| {
                    let m = m
                        .chars()
                        .enumerate()
                        .map(|(i, c)| {
                            let bit = (bits >> (i % 32 * 2)) & 3;
                            match (c.to_ascii_lowercase(), bit) {
                                ('s', 3) => 'ſ',
                                ('k', 3) => '\u{212A}',
                                (_, 1 | 3) if c.is_ascii_lowercase() => c.to_ascii_uppercase(),
                                (_, 1 | 3) => c.to_ascii_lowercase(),
                                _ => c,
                            }
                        })
                        .collect();
                    (format!("(?i:{r})"), m)
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Whatever a regex needs is in every text it matches.
        #[test]
        fn a_text_that_matches_holds_what_the_regex_needs(
            (re, m) in regex_and_match(),
            before in "[a-zſK .]{0,6}",
            after in "[a-zſK .]{0,6}",
        ) {
            let text = format!("{before}{m}{after}");
            let regex = regex::Regex::new(&re).unwrap();
            proptest::prop_assert!(regex.is_match(&text), "{re} on {text:?}");
            let need = needs(&re).unwrap();
            proptest::prop_assert!(holds(&need, &text), "{re} on {text:?} needs {need:?}");
        }

        /// The same on texts not made to match: when the regex matches, its needs hold.
        #[test]
        fn any_text_that_matches_holds_what_the_regex_needs(
            (re, _) in regex_and_match(),
            text in "(ab|exe|\\.dll|so|ſ|K|mshta|MSHTA|Kk| |x|7)*",
        ) {
            let regex = regex::Regex::new(&re).unwrap();
            if regex.is_match(&text) {
                let need = needs(&re).unwrap();
                proptest::prop_assert!(holds(&need, &text), "{re} on {text:?} needs {need:?}");
            }
        }
    }
}
