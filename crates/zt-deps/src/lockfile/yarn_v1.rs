//! The syntax of classic (v1) `yarn.lock` files, as yarn's own `lockfile/parse.js` reads it:
//!
//! - `#` comments to the end of the line;
//! - indentation in steps of two spaces (an odd count is an error) opens a nested object
//!   after a `key:` line;
//! - a key is a quoted string (JSON escapes) or an unquoted run starting with a letter,
//!   `/`, `.` or `-` and ending at `:`, a space, a comma or the end of the line; several
//!   keys may share one value, separated by commas;
//! - a value follows its key after a space (`version "1.0.0"`) or a colon: a string, a
//!   number (digits), `true` or `false`.
//!
//! The result is a tree of [`Node`]s that keeps each key's line for messages.

use std::path::Path;

use crate::Error;

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A string (quoted or not).
    Str(String),
    /// A number (digits only, as yarn tokenises them).
    Num(u64),
    /// `true` / `false`.
    Bool(bool),
    /// A nested object: entries in file order.
    Map(Vec<MapEntry>),
}

/// One `keys: value` entry of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// The keys sharing this value (`a@^1, a@^1.2:` has two).
    pub keys: Vec<String>,
    /// The value.
    pub value: Node,
    /// The 1-based line of the keys.
    pub line: usize,
}

impl Node {
    /// The value as text (numbers and booleans as written).
    pub fn text(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Num(n) => Some(n.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Map(_) => None,
        }
    }

    /// The value of the first entry with key `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|e| e.keys.iter().any(|k| k == key))
                .map(|e| &e.value),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Newline,
    Indent(usize),
    Str(String),
    Num(u64),
    Bool(bool),
    Colon,
    Comma,
    Eof,
}

struct Lexer<'a> {
    path: &'a Path,
    toks: Vec<(Tok, usize)>,
}

const FIX: &str = "regenerate it with `yarn install` (yarn 1.x)";

fn tokenize(path: &Path, text: &str) -> Result<Vec<(Tok, usize)>, Error> {
    let lex = Lexer {
        path,
        toks: Vec::new(),
    };
    lex.run(text)
}

impl Lexer<'_> {
    fn err(&self, line: usize, message: String) -> Error {
        Error::parse(self.path, Some(line), message, FIX)
    }

    fn run(mut self, text: &str) -> Result<Vec<(Tok, usize)>, Error> {
        let b = text.as_bytes();
        let mut i = 0;
        let mut line = 1;
        let mut last_newline = true;
        while i < b.len() {
            let c = b.get(i).copied().unwrap_or(0);
            let at_newline = last_newline;
            last_newline = false;
            match c {
                b'\n' | b'\r' => {
                    i += 1;
                    if c == b'\r' && b.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    self.toks.push((Tok::Newline, line));
                    line += 1;
                    last_newline = true;
                }
                b'#' => {
                    while i < b.len() && !matches!(b.get(i), Some(b'\n' | b'\r')) {
                        i += 1;
                    }
                }
                b' ' => {
                    if at_newline {
                        let start = i;
                        while b.get(i) == Some(&b' ') {
                            i += 1;
                        }
                        let n = i - start;
                        if n % 2 != 0 {
                            return Err(self.err(
                                line,
                                format!("indentation of {n} spaces: yarn.lock indents by two"),
                            ));
                        }
                        self.toks.push((Tok::Indent(n / 2), line));
                    } else {
                        i += 1;
                    }
                }
                b'\t' => {
                    return Err(self.err(line, "a tab: yarn.lock indents with spaces".into()));
                }
                b'"' => {
                    let start = i;
                    i += 1;
                    loop {
                        match b.get(i) {
                            None | Some(b'\n' | b'\r') => {
                                return Err(self.err(line, "unterminated string".into()));
                            }
                            Some(b'\\') => i += 2,
                            Some(b'"') => break,
                            Some(_) => i += 1,
                        }
                    }
                    i += 1;
                    let raw = text.get(start..i).unwrap_or("");
                    let s: String = serde_json::from_str(raw).map_err(|e| {
                        self.err(
                            line,
                            format!("string {raw} is not a valid quoted string: {e}"),
                        )
                    })?;
                    self.toks.push((Tok::Str(s), line));
                }
                b'0'..=b'9' => {
                    let start = i;
                    while b.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    let digits = text.get(start..i).unwrap_or("");
                    let n = digits
                        .parse::<u64>()
                        .map_err(|_| self.err(line, format!("number `{digits}` is too large")))?;
                    self.toks.push((Tok::Num(n), line));
                }
                b':' => {
                    i += 1;
                    self.toks.push((Tok::Colon, line));
                }
                b',' => {
                    i += 1;
                    self.toks.push((Tok::Comma, line));
                }
                c if c.is_ascii_alphabetic() || matches!(c, b'/' | b'.' | b'-') => {
                    let start = i;
                    while let Some(&c) = b.get(i) {
                        if matches!(c, b':' | b' ' | b'\n' | b'\r' | b',') {
                            break;
                        }
                        i += 1;
                    }
                    let word = text.get(start..i).unwrap_or("");
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        w => Tok::Str(w.to_string()),
                    };
                    self.toks.push((tok, line));
                }
                _ => {
                    let ch = text.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                    return Err(self.err(line, format!("unexpected character `{ch}`")));
                }
            }
        }
        self.toks.push((Tok::Eof, line));
        Ok(self.toks)
    }
}

struct Parser<'a> {
    path: &'a Path,
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser<'_> {
    fn tok(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(1, |(_, l)| *l)
    }

    fn next(&mut self) {
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::parse(self.path, Some(self.line()), message, FIX)
    }

    /// yarn's `parse(indent)`: the entries of one object at `indent`.
    fn object(&mut self, indent: usize, depth: usize) -> Result<Vec<MapEntry>, Error> {
        if depth > 64 {
            return Err(self.err("nested more than 64 levels deep"));
        }
        let mut out = Vec::new();
        loop {
            match self.tok().clone() {
                Tok::Newline => {
                    self.next();
                    if indent == 0 {
                        continue;
                    }
                    match self.tok() {
                        Tok::Indent(n) if *n == indent => self.next(),
                        _ => break,
                    }
                }
                Tok::Indent(n) => {
                    if n == indent {
                        self.next();
                    } else {
                        // an indented line at the top level, or deeper than its object
                        if indent == 0 || n > indent {
                            return Err(
                                self.err(format!("unexpected indentation of {} spaces", n * 2))
                            );
                        }
                        break;
                    }
                }
                Tok::Eof => break,
                Tok::Str(key) => {
                    let line = self.line();
                    let mut keys = vec![key];
                    self.next();
                    while *self.tok() == Tok::Comma {
                        self.next();
                        match self.tok().clone() {
                            Tok::Str(k) => keys.push(k),
                            _ => return Err(self.err("a key must follow `,`")),
                        }
                        self.next();
                    }
                    let colon = *self.tok() == Tok::Colon;
                    if colon {
                        self.next();
                    }
                    let value = match self.tok().clone() {
                        Tok::Str(s) => Some(Node::Str(s)),
                        Tok::Num(n) => Some(Node::Num(n)),
                        Tok::Bool(b) => Some(Node::Bool(b)),
                        _ => None,
                    };
                    match value {
                        Some(v) => {
                            self.next();
                            out.push(MapEntry {
                                keys,
                                value: v,
                                line,
                            });
                        }
                        None if colon => {
                            let nested = self.object(indent + 1, depth + 1)?;
                            out.push(MapEntry {
                                keys,
                                value: Node::Map(nested),
                                line,
                            });
                            if indent > 0 && !matches!(self.tok(), Tok::Indent(_)) {
                                break;
                            }
                        }
                        None => {
                            return Err(self.err(format!(
                                "`{}` has no value: write `key \"value\"` or `key:` and an indented object",
                                keys.join(", ")
                            )));
                        }
                    }
                }
                other => {
                    return Err(self.err(format!(
                        "expected a key, found {}",
                        match other {
                            Tok::Colon => "`:`".to_string(),
                            Tok::Comma => "`,`".to_string(),
                            Tok::Num(n) =>
                                format!("the number {n} (quote keys that start with a digit)"),
                            Tok::Bool(b) => format!("`{b}`"),
                            _ => "something else".to_string(),
                        }
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// Parses classic `yarn.lock` text into its top-level object.
pub fn parse_syntax(path: &Path, text: &str) -> Result<Vec<MapEntry>, Error> {
    let toks = tokenize(path, text)?;
    let mut p = Parser { path, toks, pos: 0 };
    let entries = p.object(0, 0)?;
    if *p.tok() != Tok::Eof {
        return Err(p.err("unexpected text after the last entry"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_multiple_keys_and_quotes() {
        let text = "# yarn lockfile v1\n\n\n\"@a/b@^1\", c@2:\n  version \"1.0.0\"\n  \"resolved\" \"https://x/y.tgz#ab\"\n  dependencies:\n    d \"^3\"\n    e 4\n  optional true\nf@1:\n  version \"2\"\n";
        let got = parse_syntax(Path::new("yarn.lock"), text).unwrap();
        assert_eq!(got.len(), 2);
        let first = &got[0];
        assert_eq!(first.keys, ["@a/b@^1", "c@2"]);
        assert_eq!(first.line, 4);
        assert_eq!(first.value.get("version"), Some(&Node::Str("1.0.0".into())));
        let deps = first.value.get("dependencies").unwrap();
        assert_eq!(deps.get("d"), Some(&Node::Str("^3".into())));
        assert_eq!(deps.get("e"), Some(&Node::Num(4)));
        assert_eq!(first.value.get("optional"), Some(&Node::Bool(true)));
        assert_eq!(got[1].keys, ["f@1"]);
        assert_eq!(got[1].line, 11);
    }

    #[test]
    fn errors_name_the_line() {
        let bad = [
            ("a@1:\n   version \"1\"\n", 2),
            ("a@1:\n  version \"1\n", 2),
            ("a@1:\n  version\n", 2),
            ("a@1:\n  version \"1\"\n    x \"2\"\n", 3),
            ("  a \"1\"\n", 1),
            ("a@1 {\n", 1),
        ];
        for (text, line) in bad {
            let err = parse_syntax(Path::new("yarn.lock"), text).unwrap_err();
            let s = err.to_string();
            assert!(
                s.starts_with(&format!("yarn.lock:{line}:")),
                "{text:?}: {s}"
            );
        }
    }
}
