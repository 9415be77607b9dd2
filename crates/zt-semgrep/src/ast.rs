//! A tree-sitter syntax tree flattened into an arena the matcher walks: comments and
//! punctuation dropped, parentheses around expressions made transparent, string literals
//! kept as leaves, depth bounded (hostile input cannot overflow the stack).

use crate::Lang;

/// Deeper nodes are cut (their subtree is dropped): the matcher recurses over the tree.
pub(crate) const MAX_DEPTH: usize = 400;

/// One node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// tree-sitter's kind (`call`, `identifier`, `+`, …).
    pub(crate) kind: &'static str,
    /// Byte range in the source.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Children (after filtering).
    pub(crate) children: Vec<usize>,
    /// A string literal (matched by value, never descended).
    pub(crate) string: bool,
}

/// A parsed file or pattern.
#[derive(Debug)]
pub(crate) struct Ast {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: usize,
    /// Whether tree-sitter reported a syntax error anywhere.
    pub(crate) has_error: bool,
}

fn punctuation(kind: &str) -> bool {
    matches!(
        kind,
        "(" | ")" | "[" | "]" | "{" | "}" | "," | ";" | ":" | "." | "\"" | "'" | "`"
    )
}

fn is_string(lang: Lang, kind: &str) -> bool {
    match lang {
        Lang::Python => kind == "string",
        Lang::JavaScript | Lang::TypeScript | Lang::Json => {
            matches!(kind, "string" | "template_string")
        }
        Lang::Ruby | Lang::Go => false,
    }
}

/// The kind names of a grammar, by kind id: `Node::kind` asks tree-sitter for a C string and
/// checks it as UTF-8 on every call, which the tree's flattening made several times a node
/// (6 % of a JavaScript package's scan); an id is a field read.
struct Kinds(Vec<&'static str>);

impl Kinds {
    fn of(grammar: &tree_sitter::Language) -> Kinds {
        Kinds(
            (0..u16::try_from(grammar.node_kind_count()).unwrap_or(u16::MAX))
                .map(|id| grammar.node_kind_for_id(id).unwrap_or_default())
                .collect(),
        )
    }

    /// The kind of `n`: the table's, or tree-sitter's for an id outside it (`ERROR` is
    /// `u16::MAX`).
    fn kind(&self, n: tree_sitter::Node<'_>) -> &'static str {
        match self.0.get(usize::from(n.kind_id())) {
            Some(k) if !k.is_empty() => k,
            _ => n.kind(),
        }
    }

    /// The table of `lang`'s grammar (`grammar`, from [`Lang::grammar`]), made once per
    /// process: one table per grammar, so a language given a grammar of its own needs a cell
    /// of its own here (the match says which languages share one).
    fn for_lang(lang: Lang, grammar: &tree_sitter::Language) -> &'static Kinds {
        use std::sync::OnceLock;
        static PYTHON: OnceLock<Kinds> = OnceLock::new();
        static JAVASCRIPT: OnceLock<Kinds> = OnceLock::new();
        static RUBY: OnceLock<Kinds> = OnceLock::new();
        static GO: OnceLock<Kinds> = OnceLock::new();
        let cell = match lang {
            Lang::Python => &PYTHON,
            // TypeScript and JSON are parsed with the JavaScript grammar
            Lang::JavaScript | Lang::TypeScript | Lang::Json => &JAVASCRIPT,
            Lang::Ruby => &RUBY,
            Lang::Go => &GO,
        };
        cell.get_or_init(|| Kinds::of(grammar))
    }
}

/// No syntax tree (regex rules only): one node for the whole text.
pub(crate) fn text_only(text: &str) -> Ast {
    Ast {
        nodes: vec![Node {
            kind: "document",
            start: 0,
            end: text.len(),
            children: Vec::new(),
            string: false,
        }],
        root: 0,
        has_error: false,
    }
}

/// Parses `text` as `lang`.
pub(crate) fn parse(lang: Lang, text: &str) -> Option<Ast> {
    let Some(grammar) = lang.grammar() else {
        return Some(text_only(text));
    };
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar).ok()?;
    if lang == Lang::Json {
        // `(` JSON `)` is a JavaScript expression; offsets are shifted back afterwards
        let wrapped = format!("({text}\n)");
        let tree = parser.parse(&wrapped, None)?;
        let root = tree.root_node();
        let mut ast = Ast {
            nodes: Vec::new(),
            root: 0,
            has_error: root.has_error(),
        };
        ast.root = build(&mut ast, lang, Kinds::for_lang(lang, &grammar), root);
        for n in &mut ast.nodes {
            n.start = n.start.saturating_sub(1).min(text.len());
            n.end = n.end.saturating_sub(1).min(text.len());
        }
        return Some(ast);
    }
    let tree = parser.parse(text, None)?;
    let root = tree.root_node();
    let mut ast = Ast {
        nodes: Vec::new(),
        root: 0,
        has_error: root.has_error(),
    };
    ast.root = build(&mut ast, lang, Kinds::for_lang(lang, &grammar), root);
    Some(ast)
}

/// Flattens `root` iteratively (explicit stack): returns its index.
fn build(ast: &mut Ast, lang: Lang, kinds: &Kinds, root: tree_sitter::Node<'_>) -> usize {
    // (tree-sitter node, parent index in the arena, depth)
    let mut stack: Vec<(tree_sitter::Node<'_>, Option<usize>, usize)> = vec![(root, None, 0)];
    let mut first = None;
    while let Some((n, parent, depth)) = stack.pop() {
        // transparent wrappers: `(x)` is `x`
        let mut n = n;
        let mut kind = kinds.kind(n);
        while kind == "parenthesized_expression" && n.named_child_count() == 1 {
            match n.named_child(0) {
                Some(c) => {
                    n = c;
                    kind = kinds.kind(n);
                }
                None => break,
            }
        }
        let string = is_string(lang, kind);
        let idx = ast.nodes.len();
        ast.nodes.push(Node {
            kind,
            start: n.start_byte(),
            end: n.end_byte(),
            children: Vec::new(),
            string,
        });
        if let Some(p) = parent
            && let Some(pn) = ast.nodes.get_mut(p)
        {
            pn.children.push(idx);
        }
        if first.is_none() {
            first = Some(idx);
        }
        if string || depth >= MAX_DEPTH {
            continue;
        }
        let mut cursor = n.walk();
        let kids: Vec<tree_sitter::Node<'_>> = n
            .children(&mut cursor)
            .filter(|c| {
                let kind = kinds.kind(*c);
                !(kind == "comment" || (!c.is_named() && punctuation(kind)))
            })
            .collect();
        // pushed in reverse so that children are numbered in order
        for c in kids.into_iter().rev() {
            stack.push((c, Some(idx), depth + 1));
        }
    }
    // children were pushed in reverse and popped in order: but a parent's children list is
    // filled as each child is created, which is in source order
    first.unwrap_or(0)
}

impl Ast {
    pub(crate) fn node(&self, i: usize) -> &Node {
        // indices come from this arena
        &self.nodes[i]
    }

    pub(crate) fn text<'t>(&self, src: &'t str, i: usize) -> &'t str {
        let n = self.node(i);
        src.get(n.start..n.end).unwrap_or_default()
    }
}

/// The value of a string literal: prefix letters and quotes stripped.
pub(crate) fn string_value(text: &str) -> &str {
    let t = text.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    for q in ["\"\"\"", "'''", "\"", "'", "`"] {
        if let Some(inner) = t.strip_prefix(q).and_then(|t| t.strip_suffix(q))
            && t.len() >= 2 * q.len()
        {
            return inner;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every node's kind from the id table is tree-sitter's own name for it: over GuardDog's
    /// Python and JavaScript samples, and text with syntax errors (`ERROR` nodes, missing
    /// nodes).
    #[test]
    fn the_kind_table_names_every_node_as_tree_sitter_does() {
        let dir = zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), "malware/guarddog-samples")
            .join("sourcecode");
        let mut texts: Vec<(Lang, String)> = vec![
            (
                Lang::JavaScript,
                "let x = (a[b])(c; }} `t${1}` /re/g\n".into(),
            ),
            (
                Lang::Python,
                "def f(:\n  return [x for in y] ''' open\n".into(),
            ),
        ];
        for e in fs_err::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let lang = match path.extension().and_then(|x| x.to_str()) {
                Some("py") => Lang::Python,
                Some("js") => Lang::JavaScript,
                _ => continue,
            };
            texts.push((lang, fs_err::read_to_string(&path).unwrap()));
        }
        let mut checked = 0;
        for (lang, text) in &texts {
            let grammar = lang.grammar().unwrap();
            let kinds = Kinds::for_lang(*lang, &grammar);
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar).unwrap();
            let tree = parser.parse(text, None).unwrap();
            let mut stack = vec![tree.root_node()];
            while let Some(n) = stack.pop() {
                assert_eq!(kinds.kind(n), n.kind(), "{lang:?} node {n:?}");
                checked += 1;
                let mut cursor = n.walk();
                stack.extend(n.children(&mut cursor));
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
