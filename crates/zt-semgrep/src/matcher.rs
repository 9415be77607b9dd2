//! Patterns, formulas and their evaluation over one file.

use std::collections::HashMap;

use regex::Regex;

use crate::Lang;
use crate::ast::{self, Ast, string_value};

const MV: &str = "ZTMV_";
const ELLIPSIS: &str = "ZTELLIPSIS";
const DOTS: &str = "ZTDOTS";
const DEEP: &str = "ZTDEEP";
/// Most ways one statement sequence is matched from one place.
const MAX_SOLUTIONS: usize = 64;

/// A regex of a rule, compiled at load or, for rules known to compile (zt's built-in ones,
/// every regex of which a test compiles), when first searched: with the word pre-filter
/// most of them never are in a package (GuardDog's `unicode` alone has 52 regexes of
/// non-ASCII letters, and compiling the built-in rules' regexes was a quarter of the CPU of
/// an intake of a one-file archive).
#[derive(Debug)]
pub(crate) struct Re {
    src: String,
    re: std::sync::OnceLock<Option<Regex>>,
}

impl Re {
    pub(crate) fn compiled(re: Regex) -> Re {
        Re {
            src: re.as_str().to_string(),
            re: std::sync::OnceLock::from(Some(re)),
        }
    }

    pub(crate) fn lazy(src: String) -> Re {
        Re {
            src,
            re: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.src
    }

    /// The regex; `None` if it does not compile (a lazy one: see [`Formula::compile`]).
    pub(crate) fn get(&self) -> Option<&Regex> {
        self.re.get_or_init(|| Regex::new(&self.src).ok()).as_ref()
    }

    fn is_match(&self, text: &str) -> bool {
        self.get().is_some_and(|re| re.is_match(text))
    }
}

/// A formula.
#[derive(Debug)]
pub(crate) enum Formula {
    Pattern(Pattern),
    Regex(Re),
    Either(Vec<Formula>),
    /// A `pattern-either` of `pattern-regex`es only, with the same regexes as one set: a
    /// single pass over the text tells which of them match at all (GuardDog's `unicode` and
    /// `npm-dll-hijacking` have 16 to 26 of them), and only those are searched for ranges.
    /// The set is compiled when first needed; if it does not compile, each regex is asked.
    RegexEither(std::sync::OnceLock<Option<regex::RegexSet>>, Vec<Re>),
    And(Vec<Clause>),
}

impl Formula {
    /// A `pattern-either` of `fs`: a [`Formula::RegexEither`] when all are regexes, else a
    /// [`Formula::Either`].
    pub(crate) fn either(fs: Vec<Formula>) -> Formula {
        if fs.len() > 1 && fs.iter().all(|f| matches!(f, Formula::Regex(_))) {
            let res = fs
                .into_iter()
                .filter_map(|f| match f {
                    Formula::Regex(re) => Some(re),
                    _ => None,
                })
                .collect();
            return Formula::RegexEither(std::sync::OnceLock::new(), res);
        }
        Formula::Either(fs)
    }

    /// Compiles every regex of the formula now; the first that does not compile is the
    /// error.
    pub(crate) fn compile(&self) -> Result<(), String> {
        let one = |re: &Re| match re.get() {
            Some(_) => Ok(()),
            None => Err(Regex::new(re.as_str()).err().map_or_else(
                || re.as_str().to_string(),
                |e| format!("regex `{}`: {e}", re.as_str()),
            )),
        };
        match self {
            Formula::Pattern(_) => Ok(()),
            Formula::Regex(re) => one(re),
            Formula::RegexEither(_, res) => res.iter().try_for_each(one),
            Formula::Either(fs) => fs.iter().try_for_each(Formula::compile),
            Formula::And(cs) => cs.iter().try_for_each(|c| match c {
                Clause::Pos(f)
                | Clause::Inside(f)
                | Clause::NotInside(f)
                | Clause::Not(f)
                | Clause::MvPattern(_, f) => f.compile(),
                Clause::NotRegex(re) | Clause::MvRegex(_, re) => one(re),
                Clause::Focus(_) => Ok(()),
            }),
        }
    }
}

/// One item of `patterns`.
#[derive(Debug)]
pub(crate) enum Clause {
    Pos(Formula),
    Inside(Formula),
    NotInside(Formula),
    Not(Formula),
    NotRegex(Re),
    MvRegex(String, Re),
    MvPattern(String, Formula),
    Focus(String),
}

/// A compiled pattern: its own small syntax tree.
#[derive(Debug)]
pub(crate) struct Pattern {
    src: String,
    ast: Ast,
    root: Root,
    /// By node: whether it is an ellipsis (`...`), and the metavariable it names, worked out
    /// once when the pattern is compiled: the matcher asks for each pattern node it tries
    /// against each node of the file (~5 % of a large JavaScript package's intake).
    ellipsis: Vec<bool>,
    metavars: Vec<Option<Box<str>>>,
}

#[derive(Debug)]
enum Root {
    /// One expression or statement.
    One(usize),
    /// A statement sequence (`a\n...\nb`).
    Seq(Vec<usize>),
}

/// Rewrites semgrep's pattern syntax into code the grammar parses: `$X` → `ZTMV_X`,
/// `$...X` and `...` → `ZTELLIPSIS`, `<... P ...>` → `ZTDEEP(P)`, `. ... .` → `.ZTDOTS.`.
/// Inside string literals only `$X` is rewritten (`"..."` stays: it matches any string).
fn rewrite(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let rest = text.get(i..).unwrap_or_default();
        let c = b.get(i).copied().unwrap_or(0);
        if let Some(q) = quote {
            if c == b'\\' {
                out.push_str(rest.get(..2).unwrap_or(rest));
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            quote = Some(c);
        } else if rest.starts_with("<...") {
            out.push_str(DEEP);
            out.push('(');
            i += 4;
            continue;
        } else if rest.starts_with("...>") {
            out.push(')');
            i += 4;
            continue;
        } else if let Some(after) = rest.strip_prefix('.')
            && let Some(r) = after.trim_start().strip_prefix("...")
            && r.trim_start().starts_with('.')
        {
            // `. ... .`
            out.push('.');
            out.push_str(DOTS);
            let consumed = rest.len() - r.trim_start().len() + 1;
            out.push('.');
            i += consumed;
            continue;
        } else if rest.starts_with("$...") {
            out.push_str(ELLIPSIS);
            i += 4;
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            continue;
        } else if rest.starts_with("...") {
            out.push_str(ELLIPSIS);
            i += 3;
            continue;
        }
        if c == b'$'
            && b.get(i + 1)
                .is_some_and(|c| c.is_ascii_uppercase() || *c == b'_')
        {
            out.push_str(MV);
            i += 1;
            continue;
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// `ZTELLIPSIS` inside `{ }` (outside strings) becomes `**ZTELLIPSIS`.
fn splat_in_braces(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 8);
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut rest = src;
    while let Some(c) = rest.chars().next() {
        if quote.is_none() && depth > 0 && rest.starts_with(ELLIPSIS) {
            out.push_str("**");
            out.push_str(ELLIPSIS);
            rest = rest.get(ELLIPSIS.len()..).unwrap_or_default();
            continue;
        }
        match (quote, c) {
            (Some(q), x) if x == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => depth += 1,
            (None, '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    out
}

impl Pattern {
    /// Whether this is a syntax pattern (all are; regexes are not patterns).
    pub(crate) fn compile(lang: Lang, text: &str) -> Result<Pattern, String> {
        let mut src = rewrite(text.trim());
        let decorator = lang == Lang::Python && src.starts_with('@');
        if decorator {
            // a decorator alone is no Python: give it a function, match the decorator
            src.push_str("\ndef ZTDECORATED():\n    pass\n");
        }
        let mut ast = ast::parse(lang, &src).ok_or("the grammar could not be loaded")?;
        if ast.has_error && lang == Lang::Json {
            // `"key": value` is a member of an object
            let wrapped = format!("{{{src}}}");
            if let Some(a) = ast::parse(lang, &wrapped)
                && !a.has_error
                && let Some(pair) = a.nodes.iter().position(|n| n.kind == "pair")
            {
                return Ok(Pattern::new(wrapped, a, Root::One(pair)));
            }
        }
        if ast.has_error && lang == Lang::Python {
            // `{..., "k": v}`: in a dict `...` is written as a splat the grammar accepts
            src = splat_in_braces(&src);
            ast = ast::parse(lang, &src).ok_or("the grammar could not be loaded")?;
        }
        if ast.has_error {
            return Err(format!("does not parse as {lang:?}"));
        }
        let top = ast.node(ast.root).children.clone();
        if decorator {
            let d = top
                .first()
                .and_then(|d| ast.node(*d).children.first().copied())
                .filter(|d| ast.node(*d).kind == "decorator")
                .ok_or("is not a decorator")?;
            return Ok(Pattern::new(src, ast, Root::One(d)));
        }
        let root = match top.as_slice() {
            [] => return Err("is empty".into()),
            [one] => {
                let mut r = *one;
                // an expression statement is its expression
                let n = ast.node(r);
                if n.kind == "expression_statement" && n.children.len() == 1 {
                    r = n.children.first().copied().unwrap_or(r);
                }
                Root::One(r)
            }
            many => Root::Seq(many.to_vec()),
        };
        Ok(Pattern::new(src, ast, root))
    }

    fn new(src: String, ast: Ast, root: Root) -> Pattern {
        let mut p = Pattern {
            src,
            ast,
            root,
            ellipsis: Vec::new(),
            metavars: Vec::new(),
        };
        let n = p.ast.nodes.len();
        p.ellipsis = (0..n).map(|i| p.ellipsis_at(i)).collect();
        p.metavars = (0..n).map(|i| p.metavar_at(i).map(Box::from)).collect();
        p
    }

    fn text(&self, i: usize) -> &str {
        self.ast.text(&self.src, i)
    }

    fn is_ellipsis(&self, i: usize) -> bool {
        self.ellipsis.get(i).copied().unwrap_or(false)
    }

    fn ellipsis_at(&self, i: usize) -> bool {
        let n = self.ast.node(i);
        if (n.kind == "expression_statement" && n.children.len() == 1)
            || (n.kind == "dictionary_splat" && n.children.len() == 2)
        {
            return n.children.last().is_some_and(|c| self.ellipsis_at(*c));
        }
        n.children.is_empty() && self.text(i) == ELLIPSIS
    }

    fn metavar(&self, i: usize) -> Option<&str> {
        self.metavars.get(i).and_then(|m| m.as_deref())
    }

    fn metavar_at(&self, i: usize) -> Option<&str> {
        let n = self.ast.node(i);
        if !n.children.is_empty() {
            return None;
        }
        let t = if n.string {
            string_value(self.text(i))
        } else {
            self.text(i)
        };
        let name = t.strip_prefix(MV)?;
        name.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
            .then_some(name)
    }

    /// `a.b.c` made only of plain names: the dotted text.
    fn dotted(&self, i: usize) -> Option<String> {
        let n = self.ast.node(i);
        match n.kind {
            "identifier" if self.metavar(i).is_none() && self.text(i) != ELLIPSIS => {
                Some(self.text(i).to_string())
            }
            "attribute" | "member_expression" => {
                let (o, a) = (n.children.first()?, n.children.last()?);
                let name = self.text(*a);
                if name.starts_with(MV) || name == DOTS {
                    return None;
                }
                Some(format!("{}.{name}", self.dotted(*o)?))
            }
            _ => None,
        }
    }
}

/// Metavariable bindings: name → (start, end) in the file.
type Env = Vec<(String, usize, usize)>;

/// Where a formula is evaluated: the whole file or a metavariable's range, with the
/// bindings already made outside (a `metavariable-pattern` sees its rule's bindings).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    range: Option<(usize, usize)>,
    env: Env,
}

impl Scope {
    pub(crate) fn file() -> Scope {
        Scope::default()
    }
}

/// A matched range with its bindings.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    pub(crate) start: usize,
    pub(crate) end: usize,
    env: Env,
}

/// One file, parsed, with what the matcher needs to know of it.
pub(crate) struct Ctx<'a> {
    ast: &'a Ast,
    src: &'a str,
    lang: Lang,
    by_kind: HashMap<&'static str, Vec<usize>>,
    /// Python import aliases: local name → dotted module path.
    imports: HashMap<String, String>,
    /// Constants: names assigned exactly once, from a string literal (→ that literal).
    consts: HashMap<&'a str, usize>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(ast: &'a Ast, src: &'a str, lang: Lang) -> Self {
        let mut by_kind: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, n) in ast.nodes.iter().enumerate() {
            by_kind.entry(n.kind).or_default().push(i);
        }
        let mut ctx = Ctx {
            ast,
            src,
            lang,
            by_kind,
            imports: HashMap::new(),
            consts: HashMap::new(),
        };
        if lang == Lang::Python {
            ctx.imports = ctx.python_imports();
        }
        ctx.consts = ctx.constants();
        ctx
    }

    /// Constant propagation, the simple case semgrep's rules rely on: `p = '/etc/passwd'`
    /// assigned once makes `read(p)` match `read("/etc/passwd")`.
    fn constants(&self) -> HashMap<&'a str, usize> {
        let mut seen: HashMap<&'a str, Option<usize>> = HashMap::new();
        for n in &self.ast.nodes {
            let (l, r) = match (n.kind, n.children.as_slice()) {
                (
                    "assignment"
                    | "augmented_assignment"
                    | "variable_declarator"
                    | "assignment_expression",
                    [l, .., r],
                ) if l != r => (*l, *r),
                _ => continue,
            };
            if self.ast.node(l).kind != "identifier" {
                continue;
            }
            let value = (self.ast.node(r).string && n.kind != "augmented_assignment").then_some(r);
            seen.entry(self.text(l))
                .and_modify(|v| *v = None)
                .or_insert(value);
        }
        seen.into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect()
    }

    fn text(&self, i: usize) -> &'a str {
        self.ast.text(self.src, i)
    }

    fn python_imports(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let nodes = |k: &str| self.by_kind.get(k).cloned().unwrap_or_default();
        for i in nodes("import_from_statement") {
            let n = self.ast.node(i);
            let Some(module) = n
                .children
                .iter()
                .find(|c| self.ast.node(**c).kind == "dotted_name")
            else {
                continue;
            };
            let module = self.text(*module).to_string();
            for c in n.children.iter().skip(1) {
                let cn = self.ast.node(*c);
                match cn.kind {
                    "dotted_name" if self.text(*c) != module => {
                        let name = self.text(*c);
                        out.insert(name.to_string(), format!("{module}.{name}"));
                    }
                    "aliased_import" => {
                        if let (Some(a), Some(b)) = (cn.children.first(), cn.children.last()) {
                            out.insert(
                                self.text(*b).to_string(),
                                format!("{module}.{}", self.text(*a)),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        for i in nodes("aliased_import") {
            let n = self.ast.node(i);
            if let (Some(a), Some(b)) = (n.children.first(), n.children.last())
                && !out.contains_key(self.text(*b))
            {
                out.insert(self.text(*b).to_string(), self.text(*a).to_string());
            }
        }
        out
    }

    /// The dotted name of a target expression, import aliases resolved.
    fn dotted(&self, i: usize) -> Option<String> {
        let n = self.ast.node(i);
        match n.kind {
            "identifier" => {
                let t = self.text(i);
                Some(
                    self.imports
                        .get(t)
                        .cloned()
                        .unwrap_or_else(|| t.to_string()),
                )
            }
            "attribute" | "member_expression" => {
                let (o, a) = (n.children.first()?, n.children.last()?);
                Some(format!("{}.{}", self.dotted(*o)?, self.text(*a)))
            }
            _ => None,
        }
    }

    fn bound<'e>(&self, env: &'e Env, name: &str) -> Option<&'e (String, usize, usize)> {
        env.iter().find(|(n, _, _)| n == name)
    }

    fn slice(&self, s: usize, e: usize) -> &'a str {
        self.src.get(s..e).unwrap_or_default().trim()
    }

    /// Binds or checks metavariable `name` against target node `t`.
    fn bind(&self, name: &str, t: usize, env: &mut Env) -> bool {
        let n = self.ast.node(t);
        match self.bound(env, name) {
            Some((_, s, e)) => self.slice(*s, *e) == self.slice(n.start, n.end),
            None => {
                env.push((name.to_string(), n.start, n.end));
                true
            }
        }
    }

    /// Whether pattern node `p` matches target node `t`.
    fn m(&self, pat: &Pattern, p: usize, t: usize, env: &mut Env) -> bool {
        let save = env.len();
        let ok = self.m_inner(pat, p, t, env);
        if !ok {
            env.truncate(save);
        }
        ok
    }

    fn m_inner(&self, pat: &Pattern, p: usize, t: usize, env: &mut Env) -> bool {
        if pat.is_ellipsis(p) {
            return true;
        }
        let pn = pat.ast.node(p);
        let tn = self.ast.node(t);
        // a string pattern against a constant: its one string value
        if pn.string
            && tn.kind == "identifier"
            && let Some(v) = self.consts.get(self.text(t))
        {
            return self.m(pat, p, *v, env);
        }
        if let Some(name) = pat.metavar(p) {
            if pn.string {
                // `"$X"` binds the string's content
                if !tn.string {
                    return false;
                }
                let text = self.text(t);
                let value = string_value(text);
                let off = value.as_ptr() as usize - text.as_ptr() as usize;
                let (s, e) = (tn.start + off, tn.start + off + value.len());
                return match self.bound(env, name) {
                    Some((_, bs, be)) => self.slice(*bs, *be) == self.slice(s, e),
                    None => {
                        env.push((name.to_string(), s, e));
                        true
                    }
                };
            }
            return self.bind(name, t, env);
        }
        // `<... P ...>`: P anywhere inside
        if matches!(pn.kind, "call" | "call_expression")
            && pn.children.first().is_some_and(|f| pat.text(*f) == DEEP)
        {
            let Some(inner) = pn
                .children
                .last()
                .and_then(|args| pat.ast.node(*args).children.first().copied())
            else {
                return false;
            };
            let mut stack = vec![t];
            while let Some(x) = stack.pop() {
                if self.m(pat, inner, x, env) {
                    return true;
                }
                stack.extend(self.ast.node(x).children.iter().copied());
            }
            return false;
        }
        if pn.string {
            if !tn.string {
                return false;
            }
            let v = string_value(pat.text(p));
            return v == ELLIPSIS || v == "..." || v == string_value(self.text(t));
        }
        if pn.kind == "expression_statement" && pn.children.len() == 1 && tn.kind != pn.kind {
            return pn.children.first().is_some_and(|c| self.m(pat, *c, t, env));
        }
        // `$X = e` also matches `const x = e` / `var x = e`
        if pn.kind == "assignment_expression" {
            if matches!(tn.kind, "lexical_declaration" | "variable_declaration") {
                return tn.children.iter().any(|d| {
                    self.ast.node(*d).kind == "variable_declarator" && self.m(pat, p, *d, env)
                });
            }
            if tn.kind == "variable_declarator" {
                return self.list(pat, &pn.children, &tn.children, env);
            }
        }
        // `a.b.c` against an import alias
        if self.lang == Lang::Python
            && matches!(pn.kind, "attribute" | "identifier")
            && matches!(tn.kind, "attribute" | "identifier")
            && !self.imports.is_empty()
            && let Some(pd) = pat.dotted(p)
            && pd.contains('.')
            && self.dotted(t).as_deref() == Some(pd.as_str())
        {
            return true;
        }
        // `$X. ... .f`: any member chain between `$X` and `.f`
        if matches!(pn.kind, "attribute" | "member_expression")
            && let (Some(po), Some(pa)) = (pn.children.first(), pn.children.last())
            && let on = pat.ast.node(*po)
            && matches!(on.kind, "attribute" | "member_expression")
            && on.children.last().is_some_and(|d| pat.text(*d) == DOTS)
        {
            let Some(base) = on.children.first().copied() else {
                return false;
            };
            if tn.kind != pn.kind {
                return false;
            }
            let (Some(to), Some(ta)) = (tn.children.first(), tn.children.last()) else {
                return false;
            };
            if !self.m(pat, *pa, *ta, env) {
                return false;
            }
            // the chain below `.f`, innermost first: `$X` binds the root object when it can
            let mut chain = vec![*to];
            let mut cur = *to;
            loop {
                let cn = self.ast.node(cur);
                match cn.children.first() {
                    Some(first)
                        if matches!(
                            cn.kind,
                            "attribute" | "member_expression" | "call" | "call_expression"
                        ) =>
                    {
                        cur = *first;
                        chain.push(cur);
                    }
                    _ => break,
                }
            }
            return chain.iter().rev().any(|c| self.m(pat, base, *c, env));
        }
        if pn.kind != tn.kind {
            return false;
        }
        // a JavaScript object pattern lists fields the target must have, in any order
        if pn.kind == "object" {
            let mut used = vec![false; tn.children.len()];
            return pn.children.iter().all(|pc| {
                if pat.is_ellipsis(*pc) {
                    return true;
                }
                let hit = tn.children.iter().enumerate().find_map(|(k, tc)| {
                    (!used.get(k).copied().unwrap_or(true) && self.m(pat, *pc, *tc, env))
                        .then_some(k)
                });
                match hit {
                    Some(k) => {
                        if let Some(u) = used.get_mut(k) {
                            *u = true;
                        }
                        true
                    }
                    None => false,
                }
            });
        }
        if pn.children.is_empty() {
            return tn.children.is_empty() && pat.text(p) == self.text(t);
        }
        self.list(pat, &pn.children, &tn.children, env)
    }

    /// Matches lists with `...` standing for any run of items.
    fn list(&self, pat: &Pattern, ps: &[usize], ts: &[usize], env: &mut Env) -> bool {
        let Some((p, prest)) = ps.split_first() else {
            return ts.is_empty();
        };
        if pat.is_ellipsis(*p) {
            if prest.is_empty() {
                return true;
            }
            return (0..=ts.len()).any(|k| {
                let save = env.len();
                let ok = self.list(pat, prest, ts.get(k..).unwrap_or_default(), env);
                if !ok {
                    env.truncate(save);
                }
                ok
            });
        }
        let Some((t, trest)) = ts.split_first() else {
            return false;
        };
        let save = env.len();
        if self.m(pat, *p, *t, env) && self.list(pat, prest, trest, env) {
            return true;
        }
        env.truncate(save);
        false
    }

    /// Every way a statement sequence matches from the start of `ts`: how many items each
    /// took (all the rest when it ends in `...`) and its bindings (at most [`MAX_SOLUTIONS`]).
    fn seq(
        &self,
        pat: &Pattern,
        ps: &[usize],
        ts: &[usize],
        env: &Env,
        out: &mut Vec<(usize, Env)>,
        taken: usize,
    ) {
        if out.len() >= MAX_SOLUTIONS {
            return;
        }
        let Some((p, prest)) = ps.split_first() else {
            out.push((taken, env.clone()));
            return;
        };
        if pat.is_ellipsis(*p) {
            if prest.is_empty() {
                out.push((taken + ts.len(), env.clone()));
                return;
            }
            for k in 0..=ts.len() {
                self.seq(
                    pat,
                    prest,
                    ts.get(k..).unwrap_or_default(),
                    env,
                    out,
                    taken + k,
                );
            }
            return;
        }
        let Some((t, trest)) = ts.split_first() else {
            return;
        };
        let mut e = env.clone();
        if self.m(pat, *p, *t, &mut e) {
            self.seq(pat, prest, trest, &e, out, taken + 1);
        }
    }

    /// The nodes a pattern root may match, within `range` (node starts grow with the
    /// arena index, so a range is found by binary search).
    fn candidates(&self, pat: &Pattern, p: usize, range: Option<(usize, usize)>) -> Vec<usize> {
        let pn = pat.ast.node(p);
        let mut lists: Vec<&[usize]> = Vec::new();
        if (pat.metavar(p).is_some() || pat.is_ellipsis(p)) && !pn.string
            || matches!(pn.kind, "call" | "call_expression")
                && pn.children.first().is_some_and(|f| pat.text(*f) == DEEP)
        {
            let (s, e) = range.unwrap_or((0, usize::MAX));
            let lo = self.ast.nodes.partition_point(|n| n.start < s);
            let hi = self.ast.nodes.partition_point(|n| n.start < e.max(s));
            return (lo..hi.max(lo)).collect();
        }
        if pn.string && (pat.metavar(p).is_some() || pat.is_ellipsis(p)) {
            lists.push(self.of_kind_ref("string"));
            lists.push(self.of_kind_ref("template_string"));
        } else {
            lists.push(self.of_kind_ref(pn.kind));
            match pn.kind {
                "assignment_expression" => lists.push(self.of_kind_ref("variable_declarator")),
                "attribute" if self.lang == Lang::Python && !self.imports.is_empty() => {
                    lists.push(self.of_kind_ref("identifier"));
                }
                // a string pattern also matches a constant's name
                "string" if !self.consts.is_empty() => lists.push(self.of_kind_ref("identifier")),
                _ => {}
            }
        }
        let mut v: Vec<usize> = Vec::new();
        for l in lists {
            v.extend_from_slice(self.slice_in(l, range));
        }
        v.sort_unstable();
        v
    }

    /// The part of a node list (in arena order) that starts within `range`.
    fn slice_in<'l>(&self, list: &'l [usize], range: Option<(usize, usize)>) -> &'l [usize] {
        let Some((s, e)) = range else {
            return list;
        };
        let lo = list.partition_point(|i| self.ast.node(*i).start < s);
        let hi = list.partition_point(|i| self.ast.node(*i).start < e);
        list.get(lo..hi.max(lo)).unwrap_or_default()
    }

    fn search(&self, pat: &Pattern, scope: &Scope) -> Vec<Range> {
        let inside = |n: &ast::Node| scope.range.is_none_or(|(s, e)| n.start >= s && n.end <= e);
        let mut out = Vec::new();
        match &pat.root {
            Root::One(p) => {
                for t in self.candidates(pat, *p, scope.range) {
                    let tn = self.ast.node(t);
                    if !inside(tn) {
                        continue;
                    }
                    let mut env = scope.env.clone();
                    if self.m(pat, *p, t, &mut env) {
                        out.push(Range {
                            start: tn.start,
                            end: tn.end,
                            env,
                        });
                    }
                }
            }
            Root::Seq(ps) => {
                for n in &self.ast.nodes {
                    if n.children.is_empty() || !inside(n) {
                        continue;
                    }
                    let leading = ps.first().is_some_and(|p| pat.is_ellipsis(*p));
                    let starts = if leading { 1 } else { n.children.len() };
                    for i in 0..starts {
                        let ts = n.children.get(i..).unwrap_or_default();
                        let mut found = Vec::new();
                        self.seq(pat, ps, ts, &scope.env, &mut found, 0);
                        for (k, env) in found {
                            if k > 0
                                && let (Some(first), Some(last)) = (ts.first(), ts.get(k - 1))
                            {
                                out.push(Range {
                                    start: self.ast.node(*first).start,
                                    end: self.ast.node(*last).end,
                                    env,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn regex(&self, re: &Re, scope: &Scope) -> Vec<Range> {
        let (s, e) = scope.range.unwrap_or((0, self.src.len()));
        let text = self.src.get(s..e).unwrap_or_default();
        let Some(re) = re.get() else {
            return Vec::new();
        };
        re.find_iter(text)
            .map(|m| Range {
                start: s + m.start(),
                end: s + m.end(),
                env: scope.env.clone(),
            })
            .collect()
    }

    fn compatible(&self, a: &Env, b: &Env) -> bool {
        a.iter().all(|(n, s, e)| {
            self.bound(b, n)
                .is_none_or(|(_, s2, e2)| self.slice(*s, *e) == self.slice(*s2, *e2))
        })
    }

    fn merged(a: &Env, b: &Env) -> Env {
        let mut out = a.clone();
        for x in b {
            if !out.iter().any(|(n, _, _)| *n == x.0) {
                out.push(x.clone());
            }
        }
        out
    }

    /// Evaluates a formula over the file (or within `scope`).
    pub(crate) fn eval(&self, f: &Formula, scope: &Scope) -> Vec<Range> {
        match f {
            Formula::Pattern(p) => self.search(p, scope),
            Formula::Regex(re) => self.regex(re, scope),
            Formula::Either(fs) => fs.iter().flat_map(|f| self.eval(f, scope)).collect(),
            Formula::RegexEither(set, res) => {
                let (s, e) = scope.range.unwrap_or((0, self.src.len()));
                let text = self.src.get(s..e).unwrap_or_default();
                match Self::set(set, res) {
                    Some(set) => set
                        .matches(text)
                        .into_iter()
                        .filter_map(|i| res.get(i))
                        .flat_map(|re| self.regex(re, scope))
                        .collect(),
                    None => res.iter().flat_map(|re| self.regex(re, scope)).collect(),
                }
            }
            Formula::And(clauses) => self.and(clauses, scope),
        }
    }

    /// The set of a [`Formula::RegexEither`], compiled on first use.
    fn set<'s>(
        set: &'s std::sync::OnceLock<Option<regex::RegexSet>>,
        res: &[Re],
    ) -> Option<&'s regex::RegexSet> {
        set.get_or_init(|| regex::RegexSet::new(res.iter().map(Re::as_str)).ok())
            .as_ref()
    }

    /// Whether the formula matches anywhere in `scope`: `!eval(f, scope).is_empty()`, but
    /// stopping at the first alternative that matches, and asking a regex only whether it
    /// matches (a `metavariable-pattern` needs no more, and runs once per candidate).
    fn exists(&self, f: &Formula, scope: &Scope) -> bool {
        let text = || {
            let (s, e) = scope.range.unwrap_or((0, self.src.len()));
            self.src.get(s..e).unwrap_or_default()
        };
        match f {
            Formula::Regex(re) => re.is_match(text()),
            Formula::RegexEither(set, res) => match Self::set(set, res) {
                Some(set) => set.is_match(text()),
                None => res.iter().any(|re| re.is_match(text())),
            },
            Formula::Either(fs) => fs.iter().any(|f| self.exists(f, scope)),
            Formula::Pattern(_) | Formula::And(_) => !self.eval(f, scope).is_empty(),
        }
    }

    fn and(&self, clauses: &[Clause], scope: &Scope) -> Vec<Range> {
        let positives: Vec<&Formula> = clauses
            .iter()
            .filter_map(|c| match c {
                Clause::Pos(f) => Some(f),
                _ => None,
            })
            .collect();
        let insides: Vec<&Formula> = clauses
            .iter()
            .filter_map(|c| match c {
                Clause::Inside(f) => Some(f),
                _ => None,
            })
            .collect();
        let (mut ranges, filters) = match (positives.split_first(), insides.split_last()) {
            (Some((first, rest)), _) => {
                let mut r = self.eval(first, scope);
                for f in rest {
                    if r.is_empty() {
                        break;
                    }
                    let other = self.eval(f, scope);
                    r = self.intersect(&r, &other);
                }
                (r, insides)
            }
            // only `pattern-inside`s: the innermost ranges
            (None, Some((last, others))) => (self.eval(last, scope), others.to_vec()),
            (None, None) => (Vec::new(), Vec::new()),
        };
        // nothing left to filter: the other clauses need not be evaluated
        if ranges.is_empty() {
            return ranges;
        }
        for f in filters {
            if ranges.is_empty() {
                return ranges;
            }
            let outer = self.eval(f, scope);
            ranges = ranges
                .into_iter()
                .filter_map(|r| {
                    outer
                        .iter()
                        .find(|o| {
                            o.start <= r.start && r.end <= o.end && self.compatible(&r.env, &o.env)
                        })
                        .map(|o| Range {
                            env: Self::merged(&r.env, &o.env),
                            ..r
                        })
                })
                .collect();
        }
        for c in clauses {
            if ranges.is_empty() {
                return ranges;
            }
            match c {
                Clause::NotInside(f) => {
                    let outer = self.eval(f, scope);
                    ranges.retain(|r| {
                        !outer.iter().any(|o| {
                            o.start <= r.start && r.end <= o.end && self.compatible(&r.env, &o.env)
                        })
                    });
                }
                Clause::Not(f) => {
                    let neg = self.eval(f, scope);
                    ranges.retain(|r| {
                        !neg.iter().any(|o| {
                            o.start == r.start && o.end == r.end && self.compatible(&r.env, &o.env)
                        })
                    });
                }
                Clause::NotRegex(re) => {
                    let neg = self.regex(re, scope);
                    ranges.retain(|r| !neg.iter().any(|o| o.start < r.end && r.start < o.end));
                }
                Clause::MvRegex(name, re) => {
                    ranges.retain(|r| {
                        self.bound(&r.env, name)
                            .is_some_and(|(_, s, e)| re.is_match(self.slice(*s, *e)))
                    });
                }
                Clause::MvPattern(name, f) => {
                    ranges.retain(|r| {
                        self.bound(&r.env, name).is_some_and(|(_, s, e)| {
                            let inner = Scope {
                                range: Some((*s, *e)),
                                env: r.env.clone(),
                            };
                            self.exists(f, &inner)
                        })
                    });
                }
                _ => {}
            }
        }
        for c in clauses {
            if let Clause::Focus(name) = c {
                ranges = ranges
                    .into_iter()
                    .filter_map(|r| {
                        let (_, s, e) = self.bound(&r.env, name)?.clone();
                        Some(Range {
                            start: s,
                            end: e,
                            env: r.env,
                        })
                    })
                    .collect();
            }
        }
        ranges
    }

    /// semgrep's intersection: the ranges of either side that lie within a range of the
    /// other, with compatible bindings.
    fn intersect(&self, a: &[Range], b: &[Range]) -> Vec<Range> {
        let within = |x: &Range, ys: &[Range]| {
            ys.iter()
                .find(|y| y.start <= x.start && x.end <= y.end && self.compatible(&x.env, &y.env))
                .map(|y| Range {
                    start: x.start,
                    end: x.end,
                    env: Self::merged(&x.env, &y.env),
                })
        };
        let mut out: Vec<Range> = a.iter().filter_map(|x| within(x, b)).collect();
        for y in b {
            if let Some(r) = within(y, a)
                && !out.iter().any(|o| o.start == r.start && o.end == r.end)
            {
                out.push(r);
            }
        }
        out
    }

    /// Taint mode: a sink range that holds a source, or a variable assigned (directly or
    /// through other variables) from one.
    pub(crate) fn taint(&self, sources: &[Formula], sinks: &[Formula]) -> Vec<Range> {
        let file = Scope::file();
        let src: Vec<Range> = sources.iter().flat_map(|f| self.eval(f, &file)).collect();
        if src.is_empty() {
            return Vec::new();
        }
        let sink: Vec<Range> = sinks.iter().flat_map(|f| self.eval(f, &file)).collect();
        if sink.is_empty() {
            return Vec::new();
        }
        // assignments in source order: (names assigned, value range, where)
        let mut assigns: Vec<(Vec<&str>, usize, usize)> = Vec::new();
        for n in &self.ast.nodes {
            let (lhs, rhs) = match (n.kind, n.children.as_slice()) {
                ("assignment" | "augmented_assignment", [l, .., r]) => (*l, *r),
                ("variable_declarator" | "assignment_expression", [l, .., r]) => (*l, *r),
                _ => continue,
            };
            let names = self.names(lhs);
            let rn = self.ast.node(rhs);
            assigns.push((names, rn.start, rn.end));
        }
        assigns.sort_by_key(|a| a.1);
        let contains_source = |s: usize, e: usize| {
            src.iter()
                .any(|r| (s <= r.start && r.end <= e) || (r.start <= s && e <= r.end))
        };
        // in source order: each assignment taints or clears its names from there on
        let mut history: HashMap<&str, Vec<(usize, bool)>> = HashMap::new();
        for (names, s, e) in &assigns {
            let t = contains_source(*s, *e) || self.mentions(*s, *e, &history);
            for n in names {
                history.entry(n).or_default().push((*e, t));
            }
        }
        // a source written `x\n...` covers the rest of its block: a sink inside it is reached
        let in_source = |s: usize, e: usize| src.iter().any(|r| r.start <= s && e <= r.end);
        sink.into_iter()
            .filter(|k| {
                contains_source(k.start, k.end)
                    || in_source(k.start, k.end)
                    || self.mentions(k.start, k.end, &history)
            })
            .collect()
    }

    fn names(&self, lhs: usize) -> Vec<&'a str> {
        let n = self.ast.node(lhs);
        if n.kind == "identifier" {
            return vec![self.text(lhs)];
        }
        if matches!(
            n.kind,
            "pattern_list" | "tuple_pattern" | "array_pattern" | "object_pattern"
        ) {
            return n
                .children
                .iter()
                .filter(|c| self.ast.node(**c).kind == "identifier")
                .map(|c| self.text(*c))
                .collect();
        }
        Vec::new()
    }

    /// Whether an identifier in `s..e` names a variable whose last assignment before it
    /// was tainted.
    fn mentions(&self, s: usize, e: usize, history: &HashMap<&str, Vec<(usize, bool)>>) -> bool {
        if !history.values().any(|h| h.iter().any(|(_, t)| *t)) {
            return false;
        }
        let ids = self.slice_in(self.of_kind_ref("identifier"), Some((s, e)));
        ids.iter().any(|i| {
            let n = self.ast.node(*i);
            n.end <= e
                && history.get(self.text(*i)).is_some_and(|h| {
                    h.iter()
                        .rev()
                        .find(|(at, _)| *at <= n.start)
                        .is_some_and(|(_, t)| *t)
                })
        })
    }

    fn of_kind_ref(&self, k: &str) -> &[usize] {
        self.by_kind.get(k).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Python's `fnmatch.fnmatch` on POSIX: `*` matches any run (slashes included), `?` one
/// character, `[…]` / `[!…]` a class; case-sensitive.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    // ASCII, the usual case, byte by byte (for ASCII the same as character by character);
    // a rule file's globs are tried against every file of a package, and collecting the
    // characters of both was 3 % of a large package's intake
    if pattern.is_ascii() && name.is_ascii() {
        return fnmatch_units(pattern.as_bytes(), name.as_bytes());
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fnmatch_units(&p, &n)
}

/// A character of [`fnmatch`]'s pattern and name: a byte of ASCII text, or a `char`.
trait Unit: Copy + PartialEq + PartialOrd + Default {
    fn of(b: u8) -> Self;
}

impl Unit for u8 {
    fn of(b: u8) -> Self {
        b
    }
}

impl Unit for char {
    fn of(b: u8) -> Self {
        char::from(b)
    }
}

fn fnmatch_units<U: Unit>(p: &[U], n: &[U]) -> bool {
    let (star_u, any, open) = (U::of(b'*'), U::of(b'?'), U::of(b'['));
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let c = n.get(ni).copied().unwrap_or_default();
        let step = match p.get(pi) {
            Some(x) if *x == star_u => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some(x) if *x == any => Some(pi + 1),
            Some(x) if *x == open => class(p, pi, c),
            Some(x) if *x == c => Some(pi + 1),
            _ => None,
        };
        match step {
            Some(next) => {
                pi = next;
                ni += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == star_u))
}

/// Matches `c` against the class starting at `p[at] == '['`: the index after it, or none.
fn class<U: Unit>(p: &[U], at: usize, c: U) -> Option<usize> {
    let (bang, close, dash) = (U::of(b'!'), U::of(b']'), U::of(b'-'));
    let mut i = at + 1;
    let negate = p.get(i) == Some(&bang);
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while let Some(&x) = p.get(i) {
        if x == close && !first {
            return (hit != negate).then_some(i + 1);
        }
        first = false;
        if p.get(i + 1) == Some(&dash) && p.get(i + 2).is_some_and(|e| *e != close) {
            let hi = p.get(i + 2).copied().unwrap_or(x);
            hit |= x <= c && c <= hi;
            i += 3;
        } else {
            hit |= x == c;
            i += 1;
        }
    }
    (c == U::of(b'[')).then_some(at + 1)
}

/// A word the pre-filter looks for in a file's text; `nocase`: in any ASCII case (`text`
/// is then lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) nocase: bool,
}

/// What a formula needs in a file's text to match at all: alternatives, each a list of
/// words that must all appear (`None`: cannot tell, always run).
pub(crate) type Needs = Option<Vec<Vec<Word>>>;

impl Pattern {
    /// The names and string values the pattern spells out: a file without all of them
    /// cannot match.
    fn words(&self) -> Vec<Word> {
        let mut out: Vec<Word> = Vec::new();
        for (i, n) in self.ast.nodes.iter().enumerate() {
            if !n.children.is_empty() {
                continue;
            }
            let t = if n.string {
                string_value(self.text(i))
            } else {
                self.text(i)
            };
            let ident = !n.string
                && matches!(
                    n.kind,
                    "identifier" | "property_identifier" | "shorthand_property_identifier"
                );
            if (ident || n.string)
                && t.len() >= 3
                && !t.contains("ZT")
                && t != "..."
                && !t.contains('\\')
                && !out.iter().any(|w| w.text == t)
                // the decorator pattern's stand-in function is not in the file
                && t != "pass"
            {
                out.push(Word {
                    text: t.to_string(),
                    nocase: false,
                });
            }
        }
        out
    }
}

impl Formula {
    /// What a match of the formula anywhere in a file (or in a part of it: a
    /// `metavariable-pattern` runs on the bound text, a slice of the file) needs in its
    /// text. A regex needs the literals every match of it contains (`crate::literals`).
    pub(crate) fn needs(&self) -> Needs {
        match self {
            Formula::Pattern(p) => Some(vec![p.words()]),
            Formula::Regex(re) => crate::literals::needs(re.as_str()),
            Formula::RegexEither(_, res) => {
                let mut alts = Vec::new();
                for re in res {
                    alts.extend(crate::literals::needs(re.as_str())?);
                }
                Some(alts)
            }
            Formula::Either(fs) => {
                let mut alts = Vec::new();
                for f in fs {
                    alts.extend(f.needs()?);
                }
                Some(alts)
            }
            // every positive clause, `pattern-inside`, `metavariable-pattern` and
            // `metavariable-regex` must match (the last two within the file's text)
            Formula::And(cs) => {
                let mut need: Option<Vec<Vec<Word>>> = None;
                for c in cs {
                    let n = match c {
                        Clause::Pos(f) | Clause::Inside(f) | Clause::MvPattern(_, f) => f.needs(),
                        Clause::MvRegex(_, re) => crate::literals::needs(re.as_str()),
                        _ => None,
                    };
                    if let Some(n) = n {
                        need = Some(match need {
                            None => n,
                            Some(prev) => crate::literals::and(prev, n),
                        });
                    }
                }
                need
            }
        }
    }
}

impl Formula {
    /// Whether the formula holds syntax patterns (else regexes alone, no syntax tree needed).
    pub(crate) fn has_patterns(&self) -> bool {
        match self {
            Formula::Pattern(_) => true,
            Formula::Regex(_) | Formula::RegexEither(..) => false,
            Formula::Either(fs) => fs.iter().any(Formula::has_patterns),
            Formula::And(cs) => cs.iter().any(|c| match c {
                Clause::Pos(f)
                | Clause::Inside(f)
                | Clause::NotInside(f)
                | Clause::Not(f)
                | Clause::MvPattern(_, f) => f.has_patterns(),
                _ => false,
            }),
        }
    }
}

#[cfg(test)]
mod fnmatch_tests {
    use proptest::prelude::*;

    proptest! {
        /// On ASCII text the byte-wise match is the character-wise one.
        #[test]
        fn fnmatch_on_bytes_is_fnmatch_on_characters(
            pattern in "[ab*?\\[\\]!\\-/.]{0,10}",
            name in "[ab\\[\\]!\\-/.]{0,10}",
        ) {
            let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
            prop_assert_eq!(
                super::fnmatch_units(pattern.as_bytes(), name.as_bytes()),
                super::fnmatch_units(&p, &n)
            );
        }
    }

    #[test]
    fn fnmatch_matches_as_pythons_does() {
        for (p, n, want) in [
            ("*.js", "package/a.js", true),
            ("*.js", "package/a.jsx", false),
            ("[!a]b", "cb", true),
            ("[!a]b", "ab", false),
            ("[a-c]?", "bz", true),
            ("[", "[", true),
            ("é*", "éa", true),
            ("?", "é", true),
            ("[é-ï]", "ë", true),
            ("[é-ï]", "è", false),
        ] {
            assert_eq!(super::fnmatch(p, n), want, "{p} {n}");
        }
    }
}
