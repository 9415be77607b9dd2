//! Go RE2 regular expressions (the dialect gitleaks rules are written in) compiled with the
//! Rust `regex` crate.
//!
//! Both engines are RE2-family: no backreferences, no look-around, linear-time matching,
//! leftmost-first ("Perl") match semantics for `FindAll`, the same flags `i m s U`, the same
//! `(?i)` scoping (a flag group applies to the rest of the enclosing group). The syntax differs
//! in places where the same text means something else, so every pattern is translated by a small
//! parser into Rust syntax that means what Go meant. The differences handled here:
//!
//! 1. **Perl classes `\d \s \w` and `\b \B` are ASCII in Go**, Unicode in Rust. Go's `\d` is
//!    `[0-9]`, `\s` is `[\t\n\f\r ]` (no `\v`), `\w` is `[0-9A-Za-z_]`; they are emitted as those
//!    ASCII classes (inside a bracket class as their members, negated forms as nested classes),
//!    and `\b`/`\B` as `(?-u:\b)`/`(?-u:\B)`. Under `(?i)` both engines case-fold the members, so
//!    `(?i)\w` matches U+212A KELVIN SIGN in both.
//! 2. **Counted repetition**: Go accepts only `{n}`, `{n,}`, `{n,m}` with n, m ≤ 1000; any other
//!    `{` is a literal (`a{,5}` matches the text `a{,5}` in Go, while newer Rust reads it as
//!    `a{0,5}`; `x{` is an error in Rust). Non-repetition braces are emitted escaped; counts over
//!    1000 are rejected as Go rejects them.
//! 3. **Escaped punctuation**: Go lets any ASCII non-word character be escaped (`\'`, `\"`, `\/`,
//!    `\<`, `\ `, `\_`);
//!    Rust gives some of these a meaning (`\<` and `\>` are word boundaries since regex 1.10) or
//!    rejects them. Escaped punctuation is emitted as the literal character.
//! 4. **Bracket classes**: in Rust a `[` inside a class opens a nested class and `&&`, `--`, `~~`
//!    are set operations; in Go they are literal characters. Class members are emitted escaped.
//! 5. **`\Q…\E`** (Go quotes a literal run) does not exist in Rust: emitted as escaped literals.
//! 6. **Octal escapes** `\0`, `\12`, `\123` are characters in Go; Rust needs an opt-in and reads a
//!    lone `\1` as octal where Go rejects it as a back-reference. Emitted as `\x{..}`.
//! 7. **Flags**: Go knows `i m s U`; `(?x)`, `(?u)`, `(?R)` are errors there and are rejected here.
//! 8. Escapes Go does not define (`\e`, `\y`, `\Z`, `\G`, `\K`, `\h`, `\<letter>`) are errors in
//!    both; they are rejected here with Go's wording.
//!
//! What is not a difference: `.` (any character but `\n`), `^`/`$` (text edges unless `(?m)`),
//! `\A`, `\z`, `\pN`/`\p{Greek}`, POSIX classes `[[:alpha:]]` (ASCII in both), `\x7F`/`\x{10FFFF}`,
//! lazy quantifiers, named groups `(?P<n>…)` and `(?<n>…)`, Unicode simple case folding.
//!
//! One difference remains and is handled by the caller: Go matches raw bytes and reads an invalid
//! UTF-8 byte as U+FFFD; zt decodes a file lossily (each invalid byte becomes U+FFFD) before
//! matching, so `.` and negated classes match there as in Go, at the price of byte offsets
//! shifting by two per invalid byte on that line.

use std::fmt::Write as _;

/// Go's limit on `{n,m}` counts (`syntax.maxRepeat` in Go's `regexp/syntax`).
const GO_MAX_REPEAT: u32 = 1000;

/// A rule expression: the Go text as written, and the Rust regex that means the same.
///
/// The pattern is translated and its syntax checked when the rule file is read (so a bad rule
/// is an error naming it); the regex itself is compiled the first time it is used. Most of
/// gitleaks' 222 rules never run on a given input (their keywords do not occur), and compiling
/// them all up front cost ~180 ms of every scan. A pattern whose compiled form is too large is
/// found at that first use: it then matches nothing and [`GoRegex::compile_error`] says why,
/// which the scanner reports as an input it could not scan (never as a clean result).
#[derive(Debug, Clone)]
pub struct GoRegex {
    source: String,
    translated: String,
    /// Capture groups, from the parsed pattern (known without compiling it).
    groups: usize,
    regex: std::sync::OnceLock<Result<regex::Regex, String>>,
}

/// A regex that matches nothing (for a pattern that could not be compiled).
fn never() -> &'static regex::Regex {
    static NEVER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    NEVER.get_or_init(|| {
        // An empty class: valid, and matches no input.
        regex::Regex::new("[^\\s\\S]").unwrap_or_else(|_| unreachable_regex())
    })
}

/// Unreachable in practice (the empty class above always compiles); kept panic-free.
fn unreachable_regex() -> regex::Regex {
    regex::Regex::new("\\z\\A.").unwrap_or_else(|_| unreachable_regex())
}

/// The capture groups (numbered or named) of a parsed pattern.
fn count_captures(ast: &regex_syntax::ast::Ast) -> usize {
    use regex_syntax::ast::{Ast, GroupKind};
    match ast {
        Ast::Group(g) => {
            let own = usize::from(matches!(
                g.kind,
                GroupKind::CaptureIndex(_) | GroupKind::CaptureName { .. }
            ));
            own + count_captures(&g.ast)
        }
        Ast::Repetition(r) => count_captures(&r.ast),
        Ast::Alternation(a) => a.asts.iter().map(count_captures).sum(),
        Ast::Concat(c) => c.asts.iter().map(count_captures).sum(),
        _ => 0,
    }
}

fn build(translated: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(translated)
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => {
                // The Rust message quotes the translated pattern; keep its last line (the
                // problem itself), which reads the same for the Go text.
                let last = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&s);
                last.trim().trim_start_matches("error: ").to_string()
            }
            regex::Error::CompiledTooBig(n) => {
                format!("expression too large (compiled form exceeds {n} bytes)")
            }
            other => other.to_string(),
        })
}

impl GoRegex {
    /// Translates a Go RE2 pattern and checks its syntax; the error says what is wrong in Go's
    /// terms. The regex is compiled on first use.
    pub fn new(source: &str) -> Result<Self, String> {
        let translated = translate(source)?;
        // The syntax alone (no Unicode case folding, no automaton): cheap for every rule.
        let ast = regex_syntax::ast::parse::Parser::new()
            .parse(&translated)
            .map_err(|e| {
                let s = e.to_string();
                let last = s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&s);
                last.trim().trim_start_matches("error: ").to_string()
            })?;
        let groups = count_captures(&ast);
        Ok(Self {
            source: source.to_string(),
            translated,
            groups,
            regex: std::sync::OnceLock::new(),
        })
    }

    /// Translates and compiles at once (what [`GoRegex::new`] did before compilation was
    /// deferred): for callers that want every error now.
    pub fn compiled(source: &str) -> Result<Self, String> {
        let re = Self::new(source)?;
        let built = build(&re.translated)?;
        let _ = re.regex.set(Ok(built));
        Ok(re)
    }

    /// The pattern as written in the rule file.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The equivalent Rust pattern.
    pub fn translated(&self) -> &str {
        &self.translated
    }

    /// The compiled Rust regex (compiled now if it was not yet; one that matches nothing if
    /// it cannot be, see [`GoRegex::compile_error`]).
    pub fn regex(&self) -> &regex::Regex {
        match self.regex.get_or_init(|| build(&self.translated)) {
            Ok(r) => r,
            Err(_) => never(),
        }
    }

    /// Why the regex could not be compiled, once something tried to use it.
    pub fn compile_error(&self) -> Option<&str> {
        match self.regex.get() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// Go's `NumSubexp`: the number of capture groups, not counting the whole match.
    pub fn num_subexp(&self) -> usize {
        self.groups
    }

    /// Go's `MatchString`.
    pub fn is_match(&self, s: &str) -> bool {
        self.regex().is_match(s)
    }
}

struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
}

/// Translates Go RE2 syntax into Rust `regex` syntax with the same meaning (see module docs).
pub fn translate(src: &str) -> Result<String, String> {
    let mut t = Translator {
        chars: src.chars().collect(),
        pos: 0,
        out: String::with_capacity(src.len() + 16),
    };
    t.run()?;
    Ok(t.out)
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_control() || c == ' ' || c == '#' {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    } else if regex_syntax::is_meta_character(c) {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

/// A literal inside a bracket class: escape what is special in a Rust class (`[ ] \\ ^ - & ~`).
fn push_class_literal(out: &mut String, c: char) {
    if c.is_ascii_control() || c == ' ' {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    } else if "[]\\^-&~".contains(c) {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

const PERL_D: &str = "0-9";
const PERL_S: &str = "\\t\\n\\x0C\\r\\x20";
const PERL_W: &str = "0-9A-Za-z_";

impl Translator {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }
    fn rest(&self) -> String {
        self.chars.get(self.pos..).unwrap_or(&[]).iter().collect()
    }

    fn run(&mut self) -> Result<(), String> {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => self.escape_outside()?,
                '[' => self.class()?,
                '{' => self.brace()?,
                '(' => self.group_open()?,
                ']' | '}' => {
                    self.out.push('\\');
                    self.out.push(c);
                }
                '.' | '^' | '$' | '|' | ')' | '*' | '+' | '?' => self.out.push(c),
                _ => push_literal(&mut self.out, c),
            }
        }
        Ok(())
    }

    /// `\` outside a class; `pos` is just after the backslash.
    fn escape_outside(&mut self) -> Result<(), String> {
        let Some(c) = self.peek() else {
            return Err("trailing backslash at end of expression".into());
        };
        self.pos += 1;
        match c {
            'd' => self.out.push_str("[0-9]"),
            'D' => self.out.push_str("[^0-9]"),
            's' => self.out.push_str(&format!("[{PERL_S}]")),
            'S' => self.out.push_str(&format!("[^{PERL_S}]")),
            'w' => self.out.push_str(&format!("[{PERL_W}]")),
            'W' => self.out.push_str(&format!("[^{PERL_W}]")),
            'b' => self.out.push_str("(?-u:\\b)"),
            'B' => self.out.push_str("(?-u:\\B)"),
            'A' | 'z' => {
                self.out.push('\\');
                self.out.push(c);
            }
            'p' | 'P' => self.unicode_class(c)?,
            'Q' => {
                while let Some(q) = self.peek() {
                    if q == '\\' && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        return Ok(());
                    }
                    self.pos += 1;
                    push_literal(&mut self.out, q);
                }
            }
            _ => {
                let lit = self.escape_char(c)?;
                push_literal(&mut self.out, lit);
            }
        }
        Ok(())
    }

    /// The escapes that denote one character (shared by class and non-class context).
    fn escape_char(&mut self, c: char) -> Result<char, String> {
        let bad = |s: &str| format!("invalid escape sequence: `\\{s}`");
        match c {
            'a' => Ok('\x07'),
            'f' => Ok('\x0C'),
            't' => Ok('\t'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            'v' => Ok('\x0B'),
            '1'..='7' if !matches!(self.peek(), Some('0'..='7')) => Err(bad(&c.to_string())),
            '0'..='7' => {
                // Go: up to three octal digits in all.
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                char::from_u32(v).ok_or_else(|| bad(&c.to_string()))
            }
            'x' => {
                if self.peek() == Some('{') {
                    self.pos += 1;
                    let mut hex = String::new();
                    loop {
                        match self.peek() {
                            Some('}') => {
                                self.pos += 1;
                                break;
                            }
                            Some(h) if h.is_ascii_hexdigit() => {
                                hex.push(h);
                                self.pos += 1;
                            }
                            _ => return Err(bad(&format!("x{{{hex}"))),
                        }
                    }
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .filter(|_| !hex.is_empty())
                        .ok_or_else(|| bad(&format!("x{{{hex}}}")))
                } else {
                    let (Some(h1), Some(h2)) = (self.peek(), self.peek_at(1)) else {
                        return Err(bad("x"));
                    };
                    let v = h1
                        .to_digit(16)
                        .zip(h2.to_digit(16))
                        .map(|(a, b)| a * 16 + b)
                        .ok_or_else(|| bad(&format!("x{h1}{h2}")))?;
                    self.pos += 2;
                    char::from_u32(v).ok_or_else(|| bad("x"))
                }
            }
            // Go: "escaped non-word characters are always themselves" (any ASCII but [0-9A-Za-z]).
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            c => Err(bad(&c.to_string())),
        }
    }

    /// `\pL`, `\p{Greek}`, `\P{…}`, `\p{^…}`; `pos` is after the `p`.
    fn unicode_class(&mut self, p: char) -> Result<(), String> {
        match self.peek() {
            Some('{') => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '}' {
                        let body: String = self.chars[start..self.pos].iter().collect();
                        self.out.push('\\');
                        self.out.push(p);
                        self.out.push_str(&body);
                        return Ok(());
                    }
                }
                Err(format!(
                    "invalid character class range: `\\{p}{}`",
                    self.chars[start..].iter().collect::<String>()
                ))
            }
            Some(c) if c.is_alphabetic() => {
                self.pos += 1;
                self.out.push('\\');
                self.out.push(p);
                self.out.push(c);
                Ok(())
            }
            _ => Err(format!("invalid character class range: `\\{p}`")),
        }
    }

    /// `{` outside a class: a counted repetition if it has Go's exact form, else a literal.
    fn brace(&mut self) -> Result<(), String> {
        let start = self.pos;
        let mut i = self.pos;
        let digits = |i: &mut usize, chars: &[char]| -> Option<String> {
            let s = *i;
            while chars.get(*i).is_some_and(|c| c.is_ascii_digit()) {
                *i += 1;
            }
            (*i > s).then(|| chars[s..*i].iter().collect())
        };
        let parsed = (|| {
            let min = digits(&mut i, &self.chars)?;
            let max = match self.chars.get(i) {
                Some('}') => Some(min.clone()),
                Some(',') => {
                    i += 1;
                    if self.chars.get(i) == Some(&'}') {
                        None
                    } else {
                        Some(digits(&mut i, &self.chars)?)
                    }
                }
                _ => return None,
            };
            if self.chars.get(i) != Some(&'}') {
                return None;
            }
            Some((min, max))
        })();
        let Some((min, max)) = parsed else {
            self.out.push_str("\\{");
            return Ok(());
        };
        self.pos = i + 1;
        let text: String = self.chars[start - 1..self.pos].iter().collect();
        let n = |s: &str| s.parse::<u32>().ok().filter(|v| *v <= GO_MAX_REPEAT);
        let lo = n(&min).ok_or_else(|| format!("invalid repeat count: `{text}`"))?;
        if let Some(max) = &max {
            let hi = n(max).ok_or_else(|| format!("invalid repeat count: `{text}`"))?;
            if hi < lo {
                return Err(format!("invalid repeat count: `{text}`"));
            }
        }
        self.out.push_str(&text);
        Ok(())
    }

    /// `(`: plain group, named group, or flag group; Go's flags are `i m s U`.
    fn group_open(&mut self) -> Result<(), String> {
        if self.peek() != Some('?') {
            self.out.push('(');
            return Ok(());
        }
        // Named groups pass through unchanged.
        if self.peek_at(1) == Some('P') && self.peek_at(2) == Some('<')
            || self.peek_at(1) == Some('<')
        {
            self.out.push('(');
            return Ok(());
        }
        let start = self.pos;
        self.pos += 1;
        let mut saw_minus = false;
        let mut any = false;
        loop {
            match self.peek() {
                Some(f @ ('i' | 'm' | 's' | 'U')) => {
                    self.pos += 1;
                    any = true;
                    let _ = f;
                }
                Some('-') if !saw_minus => {
                    saw_minus = true;
                    any = false;
                    self.pos += 1;
                }
                Some(':') | Some(')') => {
                    if saw_minus && !any {
                        let text: String = self.chars[start - 1..=self.pos].iter().collect();
                        return Err(format!("invalid or unsupported Perl syntax: `{text}`"));
                    }
                    self.pos += 1;
                    let text: String = self.chars[start - 1..self.pos].iter().collect();
                    self.out.push_str(&text);
                    return Ok(());
                }
                _ => {
                    let end = (self.pos + 1).min(self.chars.len());
                    let text: String = self.chars[start - 1..end].iter().collect();
                    return Err(format!("invalid or unsupported Perl syntax: `{text}`"));
                }
            }
        }
    }

    /// A bracket class; `pos` is just after `[`.
    fn class(&mut self) -> Result<(), String> {
        let open = self.pos - 1;
        self.out.push('[');
        if self.peek() == Some('^') {
            self.pos += 1;
            self.out.push('^');
        }
        let mut first = true;
        let mut members = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return Err(format!(
                    "missing closing ]: `{}`",
                    self.chars[open..].iter().collect::<String>()
                ));
            };
            if c == ']' && !first {
                self.pos += 1;
                break;
            }
            first = false;
            // POSIX class `[:alpha:]` / `[:^alpha:]`.
            if c == '[' && self.peek_at(1) == Some(':') {
                let rest = self.rest();
                if let Some(end) = rest.get(2..).and_then(|r| r.find(":]")) {
                    let name = &rest[2..2 + end];
                    let bare = name.strip_prefix('^').unwrap_or(name);
                    const POSIX: [&str; 14] = [
                        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                        "print", "punct", "space", "upper", "word", "xdigit",
                    ];
                    if !POSIX.contains(&bare) {
                        return Err(format!("invalid character class range: `[:{name}:]`"));
                    }
                    self.out.push_str(&format!("[:{name}:]"));
                    self.pos += 2 + end + 2;
                    members += 1;
                    continue;
                }
            }
            let lo = self.class_atom()?;
            let Some(lo) = lo else {
                members += 1;
                continue;
            };
            // A range `lo-hi` unless `-` is last.
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']') {
                self.pos += 1;
                let hi = self.class_atom()?;
                let Some(hi) = hi else {
                    return Err(format!("invalid character class range: `{lo}-…`"));
                };
                if hi < lo {
                    return Err(format!("invalid character class range: `{lo}-{hi}`"));
                }
                push_class_literal(&mut self.out, lo);
                self.out.push('-');
                push_class_literal(&mut self.out, hi);
            } else {
                push_class_literal(&mut self.out, lo);
            }
            members += 1;
        }
        let _ = members;
        self.out.push(']');
        Ok(())
    }

    /// One class member: `Some(char)` for a character (which may start a range), `None` when a
    /// whole class (`\d`, `\pL`) was emitted.
    fn class_atom(&mut self) -> Result<Option<char>, String> {
        let Some(c) = self.peek() else {
            return Err("missing closing ]".into());
        };
        self.pos += 1;
        if c != '\\' {
            return Ok(Some(c));
        }
        let Some(e) = self.peek() else {
            return Err("trailing backslash at end of expression".into());
        };
        self.pos += 1;
        match e {
            'd' => self.out.push_str(PERL_D),
            's' => self.out.push_str(PERL_S),
            'w' => self.out.push_str(PERL_W),
            'D' => self.out.push_str("[^0-9]"),
            'S' => self.out.push_str(&format!("[^{PERL_S}]")),
            'W' => self.out.push_str(&format!("[^{PERL_W}]")),
            'p' | 'P' => self.unicode_class(e)?,
            _ => return self.escape_char(e).map(Some),
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {

    /// Compilation is deferred to first use; a pattern too large to compile then matches
    /// nothing and says why (the scanner turns that into an input it could not scan).
    #[test]
    fn too_large_is_found_at_first_use_and_matches_nothing() {
        let re = GoRegex::new(r"(?:\pL{1000}){50}").unwrap();
        assert_eq!(re.compile_error(), None);
        assert!(!re.is_match(&"a".repeat(60_000)));
        assert!(
            re.compile_error().unwrap().contains("too large"),
            "{:?}",
            re.compile_error()
        );
        assert!(GoRegex::compiled(r"(?:\pL{1000}){50}").is_err());
        // Syntax errors are still found when the rule is read.
        assert!(GoRegex::new(r"(unclosed").is_err());
        assert_eq!(GoRegex::new(r"a(b)(?:c)(d)").unwrap().num_subexp(), 2);
    }

    use super::*;

    fn m(pat: &str, hay: &str) -> Option<String> {
        GoRegex::new(pat)
            .unwrap()
            .regex()
            .find(hay)
            .map(|m| m.as_str().to_string())
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert_eq!(m(r"\d+", "x٣4"), Some("4".into()));
        assert_eq!(m(r"\w+", "é_a1"), Some("_a1".into()));
        assert_eq!(m(r"[\w.]+", "éa.b"), Some("a.b".into()));
        assert!(m(r"\s", "\u{0B}").is_none(), "Go's \\s excludes \\v");
        assert!(m(r"\s", "\u{A0}").is_none());
        assert_eq!(m(r"[^\d]+", "12ab3"), Some("ab".into()));
        assert_eq!(m(r"[\D]+", "12ab3"), Some("ab".into()));
        // ASCII word boundary: é is not a word character for Go.
        assert_eq!(m(r"\bab", "éab"), Some("ab".into()));
    }

    #[test]
    fn braces_that_are_not_repetitions_are_literal() {
        assert_eq!(m(r"a{,5}", "a{,5}"), Some("a{,5}".into()));
        assert_eq!(m(r"a{", "a{"), Some("a{".into()));
        assert_eq!(m(r"a{2}", "aaa"), Some("aa".into()));
        assert_eq!(m(r"a{2,}", "aaa"), Some("aaa".into()));
        assert!(GoRegex::new("a{1001}").is_err());
        assert!(GoRegex::new("a{3,2}").is_err());
        assert!(GoRegex::new("a{0,1000}").is_ok());
    }

    #[test]
    fn escaped_punctuation_and_classes() {
        assert_eq!(m(r#"[\'\"0-9]+"#, r#"'"9x"#), Some(r#"'"9"#.into()));
        assert_eq!(m(r"\<a\>", "<a>"), Some("<a>".into()));
        assert_eq!(
            m(r"a\ b\_c", "a b_c"),
            Some("a b_c".into()),
            "Go accepts any escaped non-word ASCII"
        );
        assert_eq!(m(r"[\ \_]+", " _"), Some(" _".into()));
        assert_eq!(m(r"[a[b]+", "[ab"), Some("[ab".into()));
        assert_eq!(m(r"[a&&b]+", "a&&b"), Some("a&&b".into()));
        assert_eq!(m(r"[]a]+", "]a"), Some("]a".into()));
        assert_eq!(m(r"[a-]+", "a-"), Some("a-".into()));
        assert_eq!(m(r"\Qa.b\E", "axb a.b"), Some("a.b".into()));
        assert_eq!(m(r"\x60", "`"), Some("`".into()));
        assert_eq!(m(r"\141", "a"), Some("a".into()));
        assert!(GoRegex::new(r"\1").is_err(), "Go has no back-references");
        assert!(GoRegex::new(r"\e").is_err());
        assert!(GoRegex::new(r"(?x)a").is_err());
        assert!(GoRegex::new(r"[[:foo:]]").is_err());
    }

    #[test]
    fn case_flag_scoping_matches_go() {
        assert_eq!(m(r"(?i)a(?-i)b", "AB Ab"), Some("Ab".into()));
        assert_eq!(m(r"((?i)a)b", "Ab AB"), Some("Ab".into()));
        assert_eq!(m(r"(?i:a)B", "aB"), Some("aB".into()));
        assert_eq!(m(r"(?P<x>a)(?<y>b)", "ab"), Some("ab".into()));
        assert_eq!(GoRegex::new(r"(?P<x>a)(b)").unwrap().num_subexp(), 2);
    }

    #[test]
    fn go_anchors() {
        assert_eq!(m(r"a\z", "ba"), Some("a".into()));
        assert!(m(r"a$", "a\nb").is_none());
        assert_eq!(m(r"(?m)a$", "a\nb"), Some("a".into()));
    }

    proptest::proptest! {
        #[test]
        fn translate_never_panics(s in "\\PC{0,40}") {
            let _ = GoRegex::new(&s);
        }
        #[test]
        fn translate_never_panics_on_regex_alphabet(s in "[\\\\\\[\\](){}?*+|^$.:,0-9a-zA-Z-]{0,30}") {
            let _ = GoRegex::new(&s);
        }
    }
}
