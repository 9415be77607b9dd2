//! Semgrep rules read as data: the part of semgrep's rule language that GuardDog's
//! source-code rules use, matched over tree-sitter syntax trees of Python and JavaScript /
//! TypeScript files.
//!
//! Supported: `pattern`, `patterns`, `pattern-either`, `pattern-inside`, `pattern-not`,
//! `pattern-not-inside`, `pattern-regex`, `pattern-not-regex`, `metavariable-regex`,
//! `metavariable-pattern`, `focus-metavariable`, `paths` (`include` / `exclude`), and
//! `mode: taint` (`pattern-sources`, `pattern-sinks`; values flow through assignments). In
//! patterns: `$X` metavariables, `$...X`, `...` (arguments, statements, expressions,
//! strings `"..."`), deep expressions `<... P ...>`, member chains `$X. ... .f()`, and
//! Python import aliases (`from base64 import b64decode` makes `b64decode(x)` match
//! `base64.b64decode(...)`).
//!
//! Anything else a rule uses (another language, `metavariable-comparison`,
//! `metavariable-analysis`, taint sanitizers, a pattern that does not parse) is an
//! [`Error`] at load time naming the rule and the construct: never a silent skip.
//!
//! ```
//! let rules = zt_semgrep::load_str(r#"
//! rules:
//!   - id: exec-decoded
//!     languages: [python]
//!     message: runs decoded code
//!     severity: WARNING
//!     pattern: exec(base64.b64decode(...))
//! "#, "example.yml").unwrap();
//! let hits = zt_semgrep::scan(&rules, "pkg/x.py", "import base64\nexec(base64.b64decode(p))\n");
//! assert_eq!(hits[0].line, 2);
//! ```
#![forbid(unsafe_code)]

mod ast;
mod literals;
mod matcher;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use matcher::fnmatch;
use matcher::{Ctx, Formula, Pattern};
use regex::Regex;
use serde_yaml::Value;

/// A rule file that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not YAML, or not a semgrep rule file.
    #[error("{file}: {message}")]
    Malformed {
        /// The rule file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A rule uses something zt's matcher does not support.
    #[error("{file}: rule `{rule}` uses {construct}, which zt's semgrep matcher does not support")]
    Unsupported {
        /// The rule file.
        file: String,
        /// The rule id.
        rule: String,
        /// The construct (`metavariable-comparison`, `language ruby`, …).
        construct: String,
    },
    /// A pattern or regex of a rule does not compile.
    #[error("{file}: rule `{rule}`: {message}")]
    BadPattern {
        /// The rule file.
        file: String,
        /// The rule id.
        rule: String,
        /// What is wrong.
        message: String,
    },
}

/// A language the matcher parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Python.
    Python,
    /// JavaScript.
    JavaScript,
    /// TypeScript (parsed with the JavaScript grammar: no TypeScript grammar is linked).
    TypeScript,
    /// JSON (parsed as a JavaScript expression).
    Json,
    /// Ruby: text only (no grammar linked yet), for `pattern-regex` rules.
    Ruby,
    /// Go: text only (no grammar linked yet), for `pattern-regex` rules.
    Go,
}

impl Lang {
    /// The language of a file by its name, as semgrep chooses its targets (semgrep's
    /// `lang.json`): `.py` `.pyi`; `.js` `.cjs` `.jsx` `.mjs` but not `.min.js`; `.ts` `.tsx`
    /// but not `.d.ts`; `.json` `.ipynb`; `.rb`; `.go`. A rule runs only on the files of its
    /// `languages`: a `javascript` rule does not read TypeScript.
    pub fn of_path(path: &str) -> Option<Lang> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        match ext {
            "py" | "pyi" => Some(Lang::Python),
            "js" if name.ends_with(".min.js") => None,
            "js" | "cjs" | "jsx" | "mjs" => Some(Lang::JavaScript),
            "ts" if name.ends_with(".d.ts") => None,
            "ts" | "tsx" => Some(Lang::TypeScript),
            "json" | "ipynb" => Some(Lang::Json),
            "rb" => Some(Lang::Ruby),
            "go" => Some(Lang::Go),
            _ => None,
        }
    }

    fn grammar(self) -> Option<tree_sitter::Language> {
        match self {
            Lang::Python => Some(tree_sitter_python::LANGUAGE.into()),
            // JSON is parsed as a JavaScript expression
            Lang::JavaScript | Lang::TypeScript | Lang::Json => {
                Some(tree_sitter_javascript::LANGUAGE.into())
            }
            Lang::Ruby | Lang::Go => None,
        }
    }

    /// Every language, in [`Lang::index`] order.
    pub const ALL: [Lang; 6] = [
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Json,
        Lang::Ruby,
        Lang::Go,
    ];

    /// The language's position in [`Lang::ALL`] (for tables indexed by language).
    pub fn index(self) -> usize {
        Lang::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// semgrep's name of the language.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Json => "json",
            Lang::Ruby => "ruby",
            Lang::Go => "go",
        }
    }

    fn from_name(name: &str) -> Option<Lang> {
        match name {
            "python" | "py" | "python3" => Some(Lang::Python),
            "javascript" | "js" => Some(Lang::JavaScript),
            "typescript" | "ts" => Some(Lang::TypeScript),
            "json" => Some(Lang::Json),
            "ruby" => Some(Lang::Ruby),
            "go" | "golang" => Some(Lang::Go),
            _ => None,
        }
    }
}

/// How a rule decides.
#[derive(Debug)]
enum Mode {
    Search(Formula),
    Taint {
        sources: Vec<Formula>,
        sinks: Vec<Formula>,
    },
}

impl Mode {
    fn has_patterns(&self) -> bool {
        match self {
            Mode::Search(f) => f.has_patterns(),
            Mode::Taint { sources, sinks } => {
                sources.iter().chain(sinks).any(Formula::has_patterns)
            }
        }
    }

    fn needs(&self) -> matcher::Needs {
        match self {
            Mode::Search(f) => f.needs(),
            // a source and a sink must match: what one of the sources needs and what one
            // of the sinks needs (either alone when the other cannot tell)
            Mode::Taint { sources, sinks } => {
                let any = |fs: &[Formula]| -> matcher::Needs {
                    let mut alts = Vec::new();
                    for f in fs {
                        alts.extend(f.needs()?);
                    }
                    Some(alts)
                };
                match (any(sources), any(sinks)) {
                    (Some(a), Some(b)) => Some(literals::and(a, b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }
}

/// One loaded rule.
#[derive(Debug)]
pub struct Rule {
    /// Its id.
    pub id: String,
    /// Its message.
    pub message: String,
    /// `INFO`, `WARNING`, `ERROR`.
    pub severity: String,
    /// `metadata.description`, if any.
    pub description: Option<String>,
    /// `metadata.zt-severity` (`deny` / `warn`), zt's own setting for its built-in rules.
    pub zt_severity: Option<String>,
    /// The file it was read from.
    pub file: String,
    languages: Vec<Lang>,
    include: Vec<String>,
    exclude: Vec<String>,
    /// The rule compiled for each of its languages.
    modes: Vec<(Lang, Mode)>,
}

impl Rule {
    /// Compiles every regex of the rule now (those of [`load_str_lazy`] are compiled when
    /// first searched, and one that does not compile would match nothing).
    pub fn compile(&self) -> Result<(), Error> {
        for (_, mode) in &self.modes {
            let formulas: Vec<&Formula> = match mode {
                Mode::Search(f) => vec![f],
                Mode::Taint { sources, sinks } => sources.iter().chain(sinks).collect(),
            };
            for f in formulas {
                f.compile().map_err(|message| Error::BadPattern {
                    file: self.file.clone(),
                    rule: self.id.clone(),
                    message,
                })?;
            }
        }
        Ok(())
    }

    /// The languages whose files the rule runs on (`languages:`).
    pub fn languages(&self) -> &[Lang] {
        &self.languages
    }

    /// Whether the rule runs on the file at `path` (its language and `paths`).
    pub fn applies(&self, path: &str) -> bool {
        let Some(lang) = Lang::of_path(path) else {
            return false;
        };
        self.languages.contains(&lang)
            && (self.include.is_empty() || self.include.iter().any(|g| path_glob(g, path)))
            && !self.exclude.iter().any(|g| path_glob(g, path))
    }
}

/// semgrep's `paths` globs: a glob without `/` matches the file name or any folder name;
/// `**/` and a leading `*/` match any folders.
fn path_glob(glob: &str, path: &str) -> bool {
    let g = glob.trim_start_matches("./").replace("**/", "*");
    if !g.contains('/') {
        return path.split('/').any(|part| fnmatch(&g, part));
    }
    fnmatch(&g, path) || fnmatch(&format!("*/{g}"), path)
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the rule in the slice given to [`scan`].
    pub rule: usize,
    /// 1-based line of the start of the match.
    pub line: usize,
    /// Byte range of the match.
    pub start: usize,
    /// End of the match.
    pub end: usize,
}

/// Loads every rule of a semgrep rule file (`rules: [...]`); `file` names it in errors.
pub fn load_str(yaml: &str, file: &str) -> Result<Vec<Rule>, Error> {
    load(yaml, file, false)
}

/// [`load_str`] for rule files whose regexes are known to compile (zt's built-in rules:
/// [`Rule::compile`] in a test): a regex is only parsed at load (a syntax error is still
/// an error) and compiled when first searched. Most are never searched in a package: the
/// pre-filter skips the rules whose words are not in a file.
pub fn load_str_lazy(yaml: &str, file: &str) -> Result<Vec<Rule>, Error> {
    load(yaml, file, true)
}

fn load(yaml: &str, file: &str, lazy: bool) -> Result<Vec<Rule>, Error> {
    let malformed = |message: String| Error::Malformed {
        file: file.into(),
        message,
    };
    let doc: Value = serde_yaml::from_str(yaml).map_err(|e| malformed(e.to_string()))?;
    let rules = doc
        .get("rules")
        .and_then(Value::as_sequence)
        .ok_or_else(|| malformed("no `rules:` list".into()))?;
    rules.iter().map(|r| load_rule(r, file, lazy)).collect()
}

fn as_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn load_rule(r: &Value, file: &str, lazy: bool) -> Result<Rule, Error> {
    let id = r
        .get("id")
        .and_then(as_str)
        .ok_or_else(|| Error::Malformed {
            file: file.into(),
            message: "a rule has no `id`".into(),
        })?;
    let unsupported = |construct: String| Error::Unsupported {
        file: file.into(),
        rule: id.clone(),
        construct,
    };
    let Some(map) = r.as_mapping() else {
        return Err(unsupported("a rule that is not a mapping".into()));
    };
    const KNOWN: &[&str] = &[
        "id",
        "message",
        "severity",
        "languages",
        "metadata",
        "paths",
        "mode",
        "pattern",
        "patterns",
        "pattern-either",
        "pattern-regex",
        "pattern-sources",
        "pattern-sinks",
    ];
    for k in map.keys() {
        let k = as_str(k).unwrap_or_default();
        if !KNOWN.contains(&k.as_str()) {
            return Err(unsupported(format!("`{k}`")));
        }
    }
    let mut languages = Vec::new();
    for l in r
        .get("languages")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = as_str(l).unwrap_or_default();
        match Lang::from_name(&name) {
            Some(lang) => languages.push(lang),
            None => return Err(unsupported(format!("language `{name}`"))),
        }
    }
    if languages.is_empty() {
        return Err(unsupported("no `languages`".into()));
    }
    let textual = languages.iter().copied().find(|l| l.grammar().is_none());
    let globs = |key: &str| -> Vec<String> {
        r.get("paths")
            .and_then(|p| p.get(key))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(as_str)
            .collect()
    };
    // patterns are compiled once per language (each has its own syntax tree kinds)
    let mut modes = Vec::new();
    for &lang in &languages {
        let ctx = LoadCtx {
            file,
            rule: &id,
            lang,
            lazy,
            textual,
        };
        let mode = match r.get("mode").and_then(as_str).as_deref() {
            None | Some("search") => Mode::Search(ctx.formula_of(map)?.ok_or_else(|| {
                unsupported("no `pattern`, `patterns`, `pattern-either` or `pattern-regex`".into())
            })?),
            Some("taint") => {
                let list = |key: &str| -> Result<Vec<Formula>, Error> {
                    r.get(key)
                        .and_then(Value::as_sequence)
                        .into_iter()
                        .flatten()
                        .map(|v| ctx.formula(v))
                        .collect()
                };
                Mode::Taint {
                    sources: list("pattern-sources")?,
                    sinks: list("pattern-sinks")?,
                }
            }
            Some(other) => return Err(unsupported(format!("`mode: {other}`"))),
        };
        modes.push((lang, mode));
    }
    let meta = |k: &str| r.get("metadata").and_then(|m| m.get(k)).and_then(as_str);
    Ok(Rule {
        message: r.get("message").and_then(as_str).unwrap_or_default(),
        severity: r
            .get("severity")
            .and_then(as_str)
            .unwrap_or_else(|| "WARNING".into()),
        description: meta("description"),
        zt_severity: meta("zt-severity"),
        file: file.into(),
        languages,
        include: globs("include"),
        exclude: globs("exclude"),
        modes,
        id,
    })
}

struct LoadCtx<'a> {
    file: &'a str,
    rule: &'a str,
    lang: Lang,
    /// Regexes are compiled when first searched ([`load_str_lazy`]).
    lazy: bool,
    /// A language of the rule that zt reads as text only, if any.
    textual: Option<Lang>,
}

impl LoadCtx<'_> {
    fn unsupported(&self, construct: impl Into<String>) -> Error {
        Error::Unsupported {
            file: self.file.into(),
            rule: self.rule.into(),
            construct: construct.into(),
        }
    }

    fn bad(&self, message: impl Into<String>) -> Error {
        Error::BadPattern {
            file: self.file.into(),
            rule: self.rule.into(),
            message: message.into(),
        }
    }

    /// A `pattern-regex`: semgrep compiles these multi-line (`^` and `$` match at lines).
    fn text_regex(&self, re: &str) -> Result<matcher::Re, Error> {
        self.regex(&format!("(?m){re}"))
    }

    fn regex(&self, re: &str) -> Result<matcher::Re, Error> {
        for look in ["(?!", "(?=", "(?<!", "(?<="] {
            if re.contains(look) {
                return Err(self.unsupported(format!(
                    "a look-around `{look}…)` in regex `{re}` (Rust's regex engine has none)"
                )));
            }
        }
        if self.lazy {
            // still a syntax error at load time
            let src = pcre(re);
            regex_syntax::parse(&src).map_err(|e| self.bad(format!("regex `{re}`: {e}")))?;
            return Ok(matcher::Re::lazy(src));
        }
        Regex::new(&pcre(re))
            .map(matcher::Re::compiled)
            .map_err(|e| self.bad(format!("regex `{re}`: {e}")))
    }

    fn pattern(&self, text: &str) -> Result<Pattern, Error> {
        if let Some(l) = self.textual {
            return Err(self.unsupported(format!(
                "syntax patterns in language `{}` (zt parses Python and JavaScript/TypeScript; other languages take `pattern-regex` rules only)",
                l.name()
            )));
        }
        Pattern::compile(self.lang, text)
            .map_err(|m| self.bad(format!("pattern `{}`: {m}", text.trim())))
    }

    /// The formula of a mapping holding one of the formula keys (others are errors).
    fn formula_of(&self, m: &serde_yaml::Mapping) -> Result<Option<Formula>, Error> {
        for (k, v) in m {
            let key = as_str(k).unwrap_or_default();
            let f = match key.as_str() {
                // in a taint spec, `pattern-inside: f(...)` makes the whole range a source or
                // sink: the same range as `pattern`
                "pattern" | "pattern-inside" => {
                    Formula::Pattern(self.pattern(&as_str(v).unwrap_or_default())?)
                }
                "pattern-regex" => Formula::Regex(self.text_regex(&as_str(v).unwrap_or_default())?),
                "pattern-either" => Formula::either(
                    v.as_sequence()
                        .into_iter()
                        .flatten()
                        .map(|x| self.formula(x))
                        .collect::<Result<_, _>>()?,
                ),
                "patterns" => {
                    let mut clauses = Vec::new();
                    for x in v.as_sequence().into_iter().flatten() {
                        clauses.push(self.clause(x)?);
                    }
                    Formula::And(clauses)
                }
                _ => continue,
            };
            return Ok(Some(f));
        }
        Ok(None)
    }

    fn formula(&self, v: &Value) -> Result<Formula, Error> {
        let m = v
            .as_mapping()
            .ok_or_else(|| self.unsupported("a formula that is not a mapping"))?;
        for k in m.keys() {
            let key = as_str(k).unwrap_or_default();
            if !matches!(
                key.as_str(),
                "pattern" | "pattern-inside" | "pattern-regex" | "pattern-either" | "patterns"
            ) {
                return Err(self.unsupported(format!("`{key}` here")));
            }
        }
        self.formula_of(m)?
            .ok_or_else(|| self.unsupported("an empty formula"))
    }

    fn clause(&self, v: &Value) -> Result<matcher::Clause, Error> {
        use matcher::Clause;
        let m = v
            .as_mapping()
            .ok_or_else(|| self.unsupported("a `patterns` item that is not a mapping"))?;
        let (k, val) = m
            .iter()
            .next()
            .ok_or_else(|| self.unsupported("an empty `patterns` item"))?;
        let key = as_str(k).unwrap_or_default();
        let text = || as_str(val).unwrap_or_default();
        let mv = |field: &str| -> Result<String, Error> {
            val.get(field)
                .and_then(as_str)
                .map(|s| {
                    if field == "metavariable" {
                        s.trim().trim_start_matches('$').to_string()
                    } else {
                        s
                    }
                })
                .ok_or_else(|| self.unsupported(format!("`{key}` without `{field}`")))
        };
        Ok(match key.as_str() {
            "pattern" | "pattern-regex" | "pattern-either" | "patterns" => {
                Clause::Pos(self.formula(v)?)
            }
            "pattern-inside" => Clause::Inside(Formula::Pattern(self.pattern(&text())?)),
            "pattern-not-inside" => Clause::NotInside(Formula::Pattern(self.pattern(&text())?)),
            "pattern-not" => Clause::Not(Formula::Pattern(self.pattern(&text())?)),
            "pattern-not-regex" => Clause::NotRegex(self.text_regex(&text())?),
            "metavariable-regex" => {
                let re = mv("regex")?;
                Clause::MvRegex(mv("metavariable")?, self.regex(&format!("^(?:{re})"))?)
            }
            "metavariable-pattern" => {
                let inner = val.as_mapping().ok_or_else(|| {
                    self.unsupported("`metavariable-pattern` that is not a mapping")
                })?;
                for k in inner.keys() {
                    let k = as_str(k).unwrap_or_default();
                    if !matches!(
                        k.as_str(),
                        "metavariable"
                            | "pattern"
                            | "patterns"
                            | "pattern-either"
                            | "pattern-regex"
                    ) {
                        return Err(self.unsupported(format!("`metavariable-pattern` with `{k}`")));
                    }
                }
                let f = self
                    .formula_of(inner)?
                    .ok_or_else(|| self.unsupported("`metavariable-pattern` without a pattern"))?;
                Clause::MvPattern(mv("metavariable")?, f)
            }
            "focus-metavariable" => {
                Clause::Focus(text().trim().trim_start_matches('$').to_string())
            }
            other => return Err(self.unsupported(format!("`{other}`"))),
        })
    }
}

/// semgrep's regexes are PCRE: the few PCRE spellings Rust's `regex` reads otherwise are
/// rewritten (`\h` → horizontal space; a `{` that starts no `{n}`, `{n,}`, `{n,m}`
/// quantifier is a literal brace).
fn pcre(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let chars: Vec<char> = re.chars().collect();
    let mut in_class = false;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let next = chars.get(i + 1).copied();
                match next {
                    Some('h') if in_class => out.push_str(" \\t"),
                    Some('h') => out.push_str("[ \\t]"),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push_str("\\\\"),
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let rest: String = chars.get(i + 1..).unwrap_or_default().iter().collect();
                let quantifier = rest.split_once('}').is_some_and(|(q, _)| {
                    let mut parts = q.splitn(2, ',');
                    let a = parts.next().unwrap_or_default();
                    !a.is_empty()
                        && a.bytes().all(|b| b.is_ascii_digit())
                        && parts
                            .next()
                            .is_none_or(|b| b.bytes().all(|b| b.is_ascii_digit()))
                });
                if !quantifier {
                    out.push_str("\\{");
                    i += 1;
                    continue;
                }
            }
            '}' if !in_class => {
                // a `}` closing a literal `{` is literal too
                let opened = out.rfind("\\{").map(|p| p + 2);
                let closed = out.rfind('}');
                if opened.is_some_and(|o| closed.is_none_or(|c| c < o)) {
                    out.push_str("\\}");
                    i += 1;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Files larger than this are not parsed (semgrep's own default `--max-target-bytes`).
pub const MAX_TARGET_BYTES: usize = 1_000_000;

/// Runs `rules` over one file at `path` with content `text`; hits sorted by line. A file
/// over [`MAX_TARGET_BYTES`] gets no hits, as with semgrep (callers report it). To scan
/// many files with the same rules, a [`Scanner`] prepares the word pre-filter once.
pub fn scan(rules: &[Rule], path: &str, text: &str) -> Vec<Hit> {
    let Some(lang) = Lang::of_path(path) else {
        return Vec::new();
    };
    scan_with(rules, Some(&Filter::new(rules, lang)), path, text)
}

/// [`scan`] without the word pre-filter: every rule that applies to the file runs over its
/// syntax tree. The same hits, slower: it exists so that tests can show that the
/// pre-filter never drops a match.
pub fn scan_unfiltered(rules: &[Rule], path: &str, text: &str) -> Vec<Hit> {
    scan_with(rules, None, path, text)
}

/// Rules ready to scan many files: the word pre-filter of each language (what each rule
/// needs in a file's text, and the automata that find those words) is made once, on the
/// first file of that language.
#[derive(Debug)]
pub struct Scanner {
    rules: Vec<Rule>,
    filters: [OnceLock<Filter>; Lang::ALL.len()],
}

impl Scanner {
    /// A scanner of `rules` (hits name a rule by its index in `rules`).
    pub fn new(rules: Vec<Rule>) -> Scanner {
        Scanner {
            rules,
            filters: Default::default(),
        }
    }

    /// The rules, in the order hits name them.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// [`scan`] with these rules.
    pub fn scan(&self, path: &str, text: &str) -> Vec<Hit> {
        match Lang::of_path(path) {
            Some(lang) => self.with_filter(lang, |f| scan_with(&self.rules, Some(f), path, text)),
            None => Vec::new(),
        }
    }

    /// The rules (indices) that run on the file at `path`: those that apply to it and whose
    /// words the pre-filter finds in `text`. The file is parsed only if one of them needs
    /// its syntax tree.
    pub fn candidates(&self, path: &str, text: &str) -> Vec<usize> {
        let Some(lang) = Lang::of_path(path) else {
            return Vec::new();
        };
        self.with_filter(lang, |f| {
            let present = f.present(text);
            (0..self.rules.len())
                .filter(|i| {
                    self.rules.get(*i).is_some_and(|r| r.applies(path)) && f.keeps(*i, &present)
                })
                .collect()
        })
    }

    fn with_filter<T>(&self, lang: Lang, run: impl FnOnce(&Filter) -> T) -> T {
        match self.filters.get(lang.index()) {
            Some(f) => run(f.get_or_init(|| Filter::new(&self.rules, lang))),
            None => run(&Filter::new(&self.rules, lang)),
        }
    }
}

/// The word pre-filter of one language: like semgrep, a rule runs on a file only when the
/// file holds the words the rule needs (the names and strings its patterns spell out, the
/// literals its regexes must match), and a file is parsed only when some rule runs.
#[derive(Debug)]
struct Filter {
    /// Per rule: `None`, always runs; else alternatives, each the words (indices into the
    /// automata's patterns) that must all be present.
    needs: Vec<Option<Vec<Vec<usize>>>>,
    /// The words matched as written, and their indices.
    exact: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    /// The words matched in any ASCII case.
    nocase: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    words: usize,
}

impl Filter {
    fn new(rules: &[Rule], lang: Lang) -> Filter {
        let mut words: Vec<matcher::Word> = Vec::new();
        let mut index = |w: matcher::Word| match words.iter().position(|x| *x == w) {
            Some(i) => i,
            None => {
                words.push(w);
                words.len() - 1
            }
        };
        let needs: Vec<Option<Vec<Vec<usize>>>> = rules
            .iter()
            .map(|rule| {
                let need = rule
                    .modes
                    .iter()
                    .find(|(l, _)| *l == lang)
                    .and_then(|(_, m)| m.needs())?;
                Some(
                    need.into_iter()
                        .map(|alt| alt.into_iter().map(&mut index).collect())
                        .collect(),
                )
            })
            .collect();
        let automaton = |nocase: bool| {
            let (ids, texts): (Vec<usize>, Vec<&str>) = words
                .iter()
                .enumerate()
                .filter(|(_, w)| w.nocase == nocase)
                .map(|(i, w)| (i, w.text.as_str()))
                .unzip();
            if ids.is_empty() {
                return None;
            }
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(nocase)
                .build(texts)
                .ok()
                .map(|ac| (ac, ids))
        };
        let exact = automaton(false);
        let nocase = automaton(true);
        // a set of words too large for an automaton: every word counts as present
        let failed = words.iter().any(|w| {
            if w.nocase {
                nocase.is_none()
            } else {
                exact.is_none()
            }
        });
        Filter {
            needs: if failed {
                vec![None; rules.len()]
            } else {
                needs
            },
            exact,
            nocase,
            words: words.len(),
        }
    }

    /// Which words are in `text`.
    fn present(&self, text: &str) -> Vec<bool> {
        let mut present = vec![false; self.words];
        for (ac, ids) in self.exact.iter().chain(&self.nocase) {
            for m in ac.find_overlapping_iter(text) {
                if let Some(&i) = ids.get(m.pattern().as_usize())
                    && let Some(p) = present.get_mut(i)
                {
                    *p = true;
                }
            }
        }
        present
    }

    fn keeps(&self, rule: usize, present: &[bool]) -> bool {
        match self.needs.get(rule) {
            Some(Some(alts)) => alts
                .iter()
                .any(|alt| alt.iter().all(|w| present.get(*w).copied().unwrap_or(true))),
            _ => true,
        }
    }
}

fn scan_with(rules: &[Rule], filter: Option<&Filter>, path: &str, text: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    if text.len() > MAX_TARGET_BYTES {
        return out;
    }
    let Some(lang) = Lang::of_path(path) else {
        return out;
    };
    let wanted: Vec<(usize, &Rule)> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.applies(path))
        .collect();
    if wanted.is_empty() {
        return out;
    }
    // like semgrep, skip the parse when no rule can match: each needs its words in the text
    let wanted: Vec<(usize, &Rule)> = match filter {
        None => wanted,
        Some(f) => {
            let present = f.present(text);
            wanted
                .into_iter()
                .filter(|(i, _)| f.keeps(*i, &present))
                .collect()
        }
    };
    if wanted.is_empty() {
        return out;
    }
    // regex-only rules need no syntax tree
    let syntax = wanted
        .iter()
        .any(|(_, r)| r.modes.iter().any(|(l, m)| *l == lang && m.has_patterns()));
    let tree = if syntax {
        ast::parse(lang, text)
    } else {
        Some(ast::text_only(text))
    };
    let Some(tree) = tree else {
        return out;
    };
    let ctx = Ctx::new(&tree, text, lang);
    // line starts, made on the first hit: a line is then a binary search, not a count of the
    // newlines before each of a rule's (possibly thousands of) ranges
    let mut newlines: Option<Vec<usize>> = None;
    for (i, rule) in wanted {
        let Some((_, mode)) = rule.modes.iter().find(|(l, _)| *l == lang) else {
            continue;
        };
        let ranges = match mode {
            Mode::Search(f) => ctx.eval(f, &matcher::Scope::file()),
            Mode::Taint { sources, sinks } => ctx.taint(sources, sinks),
        };
        let mut lines = std::collections::BTreeSet::new();
        for r in ranges {
            let nl =
                newlines.get_or_insert_with(|| text.match_indices('\n').map(|(p, _)| p).collect());
            // the newlines before `r.start`, + 1: what `line_of` counts
            let line = if r.start > text.len() {
                1
            } else {
                nl.partition_point(|p| *p < r.start) + 1
            };
            debug_assert_eq!(line, line_of(text, r.start));
            if lines.insert(line) {
                out.push(Hit {
                    rule: i,
                    line,
                    start: r.start,
                    end: r.end,
                });
            }
        }
    }
    out.sort_by_key(|h| (h.line, h.rule));
    out
}

fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()
        .get(..at)
        .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
        + 1
}

/// Rule ids and the files they came from, for reports.
pub fn ids(rules: &[Rule]) -> HashMap<&str, &str> {
    rules
        .iter()
        .map(|r| (r.id.as_str(), r.file.as_str()))
        .collect()
}

#[cfg(test)]
mod tests;
