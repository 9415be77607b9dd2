//! Pictures drawn on the server, as inline SVG: a small trend chart per figure ([`trend`])
//! and the provenance graph ([`Graph`]). Both read without JavaScript; the graph's nodes are
//! links, so a keyboard reaches each one. Text in them goes through [`escape`].

use std::fmt::Write as _;

use super::html::escape;

const TREND_W: f64 = 160.0;
const TREND_H: f64 = 40.0;

/// A trend chart of `values` (one per period, `None` where the period has no data), scaled
/// to `0..=max` (the largest value when `max` is `None`). `label` names it for assistive
/// technology; `fmt` writes a value for the points' tooltips.
pub fn trend(
    label: &str,
    values: &[Option<f64>],
    max: Option<f64>,
    fmt: impl Fn(f64) -> String,
) -> String {
    let top = max
        .or_else(|| values.iter().flatten().copied().reduce(f64::max))
        .filter(|m| *m > 0.0)
        .unwrap_or(1.0);
    let n = values.len().max(2) as f64;
    let x = |i: usize| 4.0 + (TREND_W - 8.0) * i as f64 / (n - 1.0);
    let y = |v: f64| TREND_H - 4.0 - (TREND_H - 8.0) * (v / top).clamp(0.0, 1.0);
    let described: Vec<String> = values
        .iter()
        .map(|v| v.map_or_else(|| "no data".to_owned(), &fmt))
        .collect();
    let mut out = format!(
        "<svg class=\"trend\" viewBox=\"0 0 {TREND_W} {TREND_H}\" width=\"{TREND_W}\" height=\"{TREND_H}\" \
         role=\"img\" aria-label=\"{}\"><line class=\"axis\" x1=\"0\" y1=\"{b}\" x2=\"{TREND_W}\" y2=\"{b}\"/>",
        escape(&format!(
            "{label}, oldest period first: {}",
            described.join(", ")
        )),
        b = TREND_H - 4.0,
    );
    // One polyline per run of periods with data.
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut String| {
        if run.len() > 1 {
            let _ = write!(out, "<polyline points=\"{}\"/>", run.join(" "));
        }
        run.clear();
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => run.push(format!("{:.1},{:.1}", x(i), y(*v))),
            None => flush(&mut run, &mut out),
        }
    }
    flush(&mut run, &mut out);
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{}</title></circle>",
                x(i),
                y(*v),
                escape(&fmt(*v))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// How a node looks: its column in the graph and its CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A git commit.
    Commit,
    /// A dependency.
    Dependency,
    /// A build.
    Build,
    /// The artifact.
    Artifact,
    /// A signature or attestation.
    Evidence,
    /// A policy decision.
    Decision,
    /// A deploy admission review.
    Deployment,
}

impl Kind {
    /// Left to right.
    pub const ALL: [Kind; 7] = [
        Kind::Commit,
        Kind::Dependency,
        Kind::Build,
        Kind::Artifact,
        Kind::Evidence,
        Kind::Decision,
        Kind::Deployment,
    ];

    fn column(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    fn class(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Dependency => "dependency",
            Kind::Build => "build",
            Kind::Artifact => "artifact",
            Kind::Evidence => "evidence",
            Kind::Decision => "decision",
            Kind::Deployment => "deployment",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Kind::Commit => "Commits",
            Kind::Dependency => "Dependencies",
            Kind::Build => "Builds",
            Kind::Artifact => "Artifact",
            Kind::Evidence => "Signatures and attestations",
            Kind::Decision => "Decisions",
            Kind::Deployment => "Deployments",
        }
    }
}

/// A node's verdict, shown by colour and by a word in its second line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Good (verified, allowed, reproducible).
    Good,
    /// Bad (failed, denied).
    Bad,
    /// Neither.
    Neutral,
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub struct Node {
    /// A unique id within the graph.
    pub id: String,
    /// Which column.
    pub kind: Kind,
    /// The first line.
    pub label: String,
    /// The second line.
    pub detail: String,
    /// Where its evidence JSON is.
    pub href: String,
    /// Its verdict.
    pub verdict: Verdict,
}

/// The provenance graph: nodes in columns, edges between them.
#[derive(Debug, Default)]
pub struct Graph {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The edges (node ids, from → to).
    pub edges: Vec<(String, String)>,
}

const NODE_W: f64 = 196.0;
const NODE_H: f64 = 42.0;
const COL_W: f64 = 236.0;
const ROW_H: f64 = 54.0;
const TOP: f64 = 34.0;

impl Graph {
    /// The graph as an `<svg>` titled `title`.
    pub fn to_svg(&self, title: &str) -> String {
        let mut rows = [0usize; Kind::ALL.len()];
        for n in &self.nodes {
            if let Some(r) = rows.get_mut(n.kind.column()) {
                *r += 1;
            }
        }
        let most = rows.iter().copied().max().unwrap_or(1).max(1);
        let width = 12.0 + COL_W * Kind::ALL.len() as f64;
        let height = TOP + ROW_H * most as f64 + 8.0;
        // Each node's position: columns centred vertically.
        let mut seen = [0usize; Kind::ALL.len()];
        let mut pos: Vec<(f64, f64)> = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            let c = n.kind.column();
            let in_col = rows.get(c).copied().unwrap_or(0);
            let row = seen.get(c).copied().unwrap_or(0);
            if let Some(s) = seen.get_mut(c) {
                *s += 1;
            }
            let offset = (most - in_col) as f64 * ROW_H / 2.0;
            pos.push((12.0 + COL_W * c as f64, TOP + offset + ROW_H * row as f64));
        }
        let at = |id: &str| {
            self.nodes
                .iter()
                .position(|n| n.id == id)
                .and_then(|i| pos.get(i).copied())
        };
        let mut out = format!(
            "<svg id=\"graph\" class=\"graph\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
             role=\"group\" aria-labelledby=\"graph-title\">\
             <title id=\"graph-title\">{}</title>\
             <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
             <path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs><g class=\"viewport\">",
            escape(title)
        );
        for k in Kind::ALL {
            if rows.get(k.column()).copied().unwrap_or(0) > 0 {
                let _ = write!(
                    out,
                    "<text class=\"heading\" x=\"{:.0}\" y=\"18\">{}</text>",
                    12.0 + COL_W * k.column() as f64,
                    k.heading()
                );
            }
        }
        for (from, to) in &self.edges {
            let (Some((x1, y1)), Some((x2, y2))) = (at(from), at(to)) else {
                continue;
            };
            let (sx, sy) = (x1 + NODE_W, y1 + NODE_H / 2.0);
            let (ex, ey) = (x2, y2 + NODE_H / 2.0);
            let mid = (sx + ex) / 2.0;
            let _ = write!(
                out,
                "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" marker-end=\"url(#arrow)\" \
                 d=\"M {sx:.1} {sy:.1} C {mid:.1} {sy:.1}, {mid:.1} {ey:.1}, {ex:.1} {ey:.1}\"/>",
                escape(from),
                escape(to)
            );
        }
        for (n, (x, y)) in self.nodes.iter().zip(&pos) {
            let verdict = match n.verdict {
                Verdict::Good => " good",
                Verdict::Bad => " bad",
                Verdict::Neutral => "",
            };
            let _ = write!(
                out,
                "<a class=\"node {kind}{verdict}\" href=\"{href}\" data-node=\"{id}\" aria-label=\"{aria}\">\
                 <title>{aria}</title>\
                 <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"6\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty1:.1}\" class=\"label\">{label}</text>\
                 <text x=\"{tx:.1}\" y=\"{ty2:.1}\" class=\"detail\">{detail}</text></a>",
                kind = n.kind.class(),
                href = escape(&n.href),
                id = escape(&n.id),
                aria = escape(&format!(
                    "{}: {} — {} (evidence JSON)",
                    n.kind.heading(),
                    n.label,
                    n.detail
                )),
                tx = x + 8.0,
                ty1 = y + 17.0,
                ty2 = y + 34.0,
                label = escape(&fit(&n.label, 28)),
                detail = escape(&fit(&n.detail, 32)),
            );
        }
        out.push_str("</g></svg>");
        out
    }
}

/// `s` cut to `n` characters with an ellipsis.
fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_trend_draws_runs_of_data_and_describes_every_period() {
        let svg = trend(
            "pass rate",
            &[Some(1.0), Some(0.5), None, Some(0.0)],
            Some(1.0),
            |v| format!("{v}"),
        );
        assert_eq!(svg.matches("<polyline").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert!(svg.contains("aria-label=\"pass rate, oldest period first: 1, 0.5, no data, 0\""));
    }

    #[test]
    fn graph_nodes_are_links_and_text_is_escaped() {
        let g = Graph {
            nodes: vec![
                Node {
                    id: "c".into(),
                    kind: Kind::Commit,
                    label: "commit <abc>".into(),
                    detail: "verified".into(),
                    href: "/api/v1/evidence?commit=abc&x=\"y\"".into(),
                    verdict: Verdict::Good,
                },
                Node {
                    id: "a".into(),
                    kind: Kind::Artifact,
                    label: "out/hello".into(),
                    detail: "sha256:00".into(),
                    href: "/api/v1/trace/sha256:00".into(),
                    verdict: Verdict::Neutral,
                },
            ],
            edges: vec![("c".into(), "a".into()), ("c".into(), "missing".into())],
        };
        let svg = g.to_svg("graph of <x>");
        assert!(svg.contains("commit &lt;abc&gt;"), "{svg}");
        assert!(svg.contains("href=\"/api/v1/evidence?commit=abc&amp;x=&quot;y&quot;\""));
        assert!(svg.contains("graph of &lt;x&gt;"));
        assert_eq!(svg.matches("class=\"edge\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("<a class=\"node").count(), 2);
        assert!(!svg.contains("<abc>"));
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
