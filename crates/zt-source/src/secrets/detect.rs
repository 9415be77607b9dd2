//! The detector: gitleaks' `Detect`/`detectRule` semantics on one fragment (a file, a blob, or
//! the added lines of one diff hunk).
//!
//! Per fragment: the global allowlists' commit/path checks; a keyword prefilter (one
//! Aho-Corasick pass over the fragment, case-insensitive as gitleaks lower-cases the fragment,
//! four interleaved walks of one DFA: see [`super::keywords`]);
//! every rule without keywords, and every rule one of whose keywords occurs, is evaluated; for
//! each regex match: trim `\n`, locate, honour `gitleaks:allow`, pick the secret group, check the
//! entropy, then the global and the rule's allowlists (regexTarget secret/match/line, OR/AND,
//! stopwords, paths, commits); finally generic rules yield to specific ones on the same line.
//!
//! **Windows.** gitleaks runs a triggered rule's regex over the whole fragment. zt does the same
//! unless it can prove that searching only near keyword hits gives the same matches: when the
//! fragment has none of U+212A, U+017F, U+0130 (see `detect`) and the rule's expression (a) never matches the empty string, (b) every
//! match must contain one of the rule's keywords (checked on the expression's syntax tree, ASCII
//! case-folded), and (c) a match is at most `L` bytes long, or spans at most `K` newlines (or
//! both). Then a match that contains a hit `h` starts no earlier than `h − L` and no earlier than
//! the start of the line `K` lines above `h`'s, and ends by `h + L` and by the end of the line `K`
//! lines below. When the expression is a sequence one run of whose pieces must contain a
//! keyword, the bounds are also taken per side of that hit (the pieces up to the run before,
//! the pieces from it after: see `sides`): `generic-api-key` reads no more than the keyword's
//! own line before it. When that run matches only keywords, hits after which the rest of the
//! expression does not match are no match's keyword and are dropped first (see `HitFilter`).
//! Hits whose windows overlap form a cluster; zt searches the cluster's span (from the current
//! position, with the whole fragment as context for `^`, `$`, `\b`, as `regex-automata` does
//! for a span). The next match of the whole-fragment search contains a hit at or after the
//! current position whose window holds it, so it starts inside the span; if it starts at or
//! before the cluster's last hit it also ends inside the span, and leftmost-first picks the same
//! match there; a match found later than that hit (or none) proves that no match starts up to
//! it, and the search moves past the cluster. The result equals `find_iter` over the whole
//! fragment (property tests check this), while the regex only sees the text around keyword hits.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use regex_syntax::hir::{Class, Hir, HirKind};

use super::config::{Allowlist, Condition, Config, RegexTarget, Required, Rule};
use super::gore::GoRegex;
use super::keywords::KeywordSearcher;

/// What gets scanned as one unit.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// The text.
    pub raw: &'a str,
    /// Its path (repository-relative for git sources).
    pub path: &'a str,
    /// The commit it comes from, for git sources.
    pub commit: Option<&'a str>,
    /// The line number of the first line of `raw` in the file (1 for whole files).
    pub start_line: usize,
}

/// A secret found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// The rule that matched.
    pub rule_id: String,
    /// The rule's description.
    pub description: String,
    /// The file.
    pub file: String,
    /// The commit, for git sources.
    pub commit: Option<String>,
    /// First line of the match (1-based; 0 for path-only rules).
    pub start_line: usize,
    /// Last line of the match.
    pub end_line: usize,
    /// Column of the match's first byte (1-based; gitleaks reports one more on every line but
    /// the first of a fragment, as it counts from the preceding newline).
    pub start_column: usize,
    /// Column of the match's last byte (1-based, inclusive).
    pub end_column: usize,
    /// The secret (never printed unredacted by the CLI).
    #[serde(skip)]
    pub secret: String,
    /// The whole match.
    #[serde(skip)]
    pub matched: String,
    /// Shannon entropy of the secret, as gitleaks computes it.
    pub entropy: f64,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// For a composite rule, the rule ids of the required findings next to this one.
    pub required: Vec<String>,
}

impl Finding {
    /// gitleaks' fingerprint: `file:rule:line`, prefixed with `commit:` for git sources.
    pub fn fingerprint(&self) -> String {
        match &self.commit {
            Some(c) => format!("{c}:{}:{}:{}", self.file, self.rule_id, self.start_line),
            None => self.global_fingerprint(),
        }
    }

    /// The fingerprint without the commit.
    pub fn global_fingerprint(&self) -> String {
        format!("{}:{}:{}", self.file, self.rule_id, self.start_line)
    }

    /// The secret with `percent` of it hidden: see [`redact`].
    pub fn redacted_secret(&self, percent: u8) -> String {
        redact(&self.secret, percent)
    }
}

/// The longest prefix of a secret [`redact`] ever shows (unless asked for 0 %).
pub const MAX_SHOWN_PREFIX: usize = 8;

/// Redacts a secret. gitleaks' `maskSecret` keeps the first `round_half_even(len × (100 −
/// percent) / 100)` bytes and appends `...` (100 % gives `REDACTED`); zt also never shows more
/// than [`MAX_SHOWN_PREFIX`] bytes nor anything past a line break, so that 20 % of a private key
/// is not 20 % of its key material. `percent = 0` shows the whole secret, as asked.
pub fn redact(secret: &str, percent: u8) -> String {
    let percent = percent.min(100);
    if percent >= 100 {
        return "REDACTED".into();
    }
    if percent == 0 {
        return secret.to_string();
    }
    if secret.is_empty() {
        return String::new();
    }
    let keep = (secret.len() as f64 * f64::from(100 - percent) / 100.0).round_ties_even() as usize;
    let line_end = secret.find(['\n', '\r']).unwrap_or(secret.len());
    let mut keep = keep.min(secret.len()).min(MAX_SHOWN_PREFIX).min(line_end);
    while !secret.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}...", &secret[..keep])
}

/// gitleaks' `shannonEntropy`: counts characters but divides by the length in **bytes**
/// (so non-ASCII text scores lower than its character distribution would give).
pub fn shannon_entropy(data: &str) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let inv = 1.0 / data.len() as f64;
    let mut entropy = 0.0;
    if data.is_ascii() {
        // Counts in an array, summed in the same (character) order as the map below.
        let mut counts = [0usize; 128];
        for &b in data.as_bytes() {
            if let Some(n) = counts.get_mut(usize::from(b)) {
                *n += 1;
            }
        }
        for &n in counts.iter().filter(|&&n| n > 0) {
            let f = n as f64 * inv;
            entropy -= f * f.log2();
        }
        return entropy;
    }
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    for c in data.chars() {
        *counts.entry(c).or_default() += 1;
    }
    for &n in counts.values() {
        let f = n as f64 * inv;
        entropy -= f * f.log2();
    }
    entropy
}

/// Go's `strings.ToLower` (simple case mapping) for the prefilter's slow path.
fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\u{130}' {
                'i'
            } else {
                let mut l = c.to_lowercase();
                match (l.next(), l.next()) {
                    (Some(one), None) => one,
                    _ => c,
                }
            }
        })
        .collect()
}

/// How far from a keyword hit a match can reach, and the expression for span searches.
struct Window {
    regex: regex_automata::meta::Regex,
    /// Maximum match length in bytes.
    max_len: Option<usize>,
    /// Maximum number of newlines in a match.
    max_newlines: Option<usize>,
    /// How far a match reaches before the start of the keyword hit it contains.
    before: Side,
    /// How far a match reaches after the end of the keyword hit it contains.
    after: Side,
    /// Which hits can be the keyword of a match, when that can be told from the hit alone.
    hits: Option<HitFilter>,
}

/// When the piece of the expression that must contain a keyword matches nothing but keywords,
/// a match's keyword is a hit `[s, e)` of one of those keywords, and the rest of the expression
/// matches anchored at `e`. A hit for which that fails is no match's keyword: it is dropped
/// before the windows are made. (`generic-api-key`: most of its hits, `key` in `fn key(` or
/// `api` in `use api::`, are followed by no `=`, `:` or `,` within the 20 bytes the rule
/// allows, and its windows shrink to the few lines that hold assignments.)
struct HitFilter {
    /// The (lower-case) strings the piece matches.
    keywords: Vec<String>,
    /// The pieces after it, searched anchored at a hit's end.
    rest: regex_automata::meta::Regex,
    /// The run of pieces `[a, b)` that matches only keywords.
    run: (usize, usize),
}

impl HitFilter {
    /// Whether the hit `[_, end)` of `keyword` can be a match's keyword.
    fn keeps(&self, raw: &str, keyword: &str, end: usize) -> bool {
        self.keywords.iter().any(|k| k == keyword)
            && self.rest.is_match(
                regex_automata::Input::new(raw)
                    .range(end..)
                    .anchored(regex_automata::Anchored::Yes),
            )
    }
}

/// A bound on one side of a keyword hit: every match contains a hit `[s, e)` with at most
/// `len` bytes and `newlines` newlines between its start and `s` (for [`Window::before`]), or
/// between `e` and its end (for [`Window::after`]). `None`: no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Side {
    len: Option<usize>,
    newlines: Option<usize>,
}

struct CompiledRule {
    rule: Rule,
    /// Indices into `Detector::keywords`.
    keyword_ids: Vec<usize>,
    /// Whether the rule may be considered for running near keyword hits only (ASCII keywords);
    /// the analysis and its regex are made the first time the rule runs (see [`Self::window`]).
    window_eligible: bool,
    /// When the regex may run near keyword hits only (see module docs), decided lazily.
    windowed: std::sync::OnceLock<Option<Window>>,
}

impl CompiledRule {
    /// The rule's window, if it may run near keyword hits only. Decided, and its regex built,
    /// on first use: most rules never run on a given input, and analysing all of them up front
    /// was most of a small scan's time.
    fn window(&self) -> Option<&Window> {
        if !self.window_eligible {
            return None;
        }
        self.windowed
            .get_or_init(|| {
                self.rule
                    .regex
                    .as_ref()
                    .and_then(|r| windowable(r, &self.rule.keywords))
            })
            .as_ref()
    }
}

/// A rule set ready to scan.
pub struct Detector {
    config: Config,
    rules: Vec<CompiledRule>,
    by_id: BTreeMap<String, usize>,
    keywords: Vec<String>,
    ascii_prefilter: Option<KeywordSearcher>,
    exact_prefilter: Option<AhoCorasick>,
    /// Every keyword is ASCII (so the ASCII case-insensitive prefilter can be exact).
    ascii_keywords: bool,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Newline offsets of a fragment, computed on first use.
struct Lines<'a> {
    raw: &'a str,
    newlines: OnceLock<Vec<usize>>,
}

impl Lines<'_> {
    fn get(&self) -> &[usize] {
        self.newlines
            .get_or_init(|| memchr_all(self.raw.as_bytes()))
    }
}

fn memchr_all(b: &[u8]) -> Vec<usize> {
    memchr::memchr_iter(b'\n', b).collect()
}

impl Detector {
    /// Prepares a rule set.
    pub fn new(config: Config) -> Result<Self, String> {
        let keywords: Vec<String> = config.keywords.iter().cloned().collect();
        let kw_index: BTreeMap<&str, usize> = keywords
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let ascii_prefilter = if keywords.is_empty() {
            None
        } else {
            // The overlapping search over every byte is the hot loop: see `keywords`.
            Some(KeywordSearcher::new(&keywords)?)
        };
        let exact_prefilter = if keywords.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&keywords).map_err(|e| e.to_string())?)
        };
        let mut rules = Vec::new();
        let mut by_id = BTreeMap::new();
        for rule in config.rules.values() {
            let keyword_ids: Vec<usize> = rule
                .keywords
                .iter()
                .filter_map(|k| kw_index.get(k.as_str()).copied())
                .collect();
            let window_eligible = !keyword_ids.is_empty()
                && rule.keywords.iter().all(|k| k.is_ascii() && !k.is_empty())
                && rule.regex.is_some();
            by_id.insert(rule.id.clone(), rules.len());
            rules.push(CompiledRule {
                rule: rule.clone(),
                keyword_ids,
                window_eligible,
                windowed: std::sync::OnceLock::new(),
            });
        }
        let ascii_keywords = keywords.iter().all(|k| k.is_ascii());
        Ok(Self {
            ascii_keywords,
            config,
            rules,
            by_id,
            keywords,
            ascii_prefilter,
            exact_prefilter,
        })
    }

    /// The same detector with every rule run on whole fragments, as gitleaks does: slower, and
    /// by construction equal in results (tests compare the two).
    pub fn without_windows(mut self) -> Self {
        for r in &mut self.rules {
            r.window_eligible = false;
        }
        self
    }

    /// The rule set.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many rules may run on keyword lines only (the rest run on whole fragments).
    pub fn windowed_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.window().is_some()).count()
    }

    /// Scans one fragment.
    pub fn detect(&self, frag: &Fragment<'_>) -> Vec<Finding> {
        // The rule file itself is never scanned (gitleaks compares the paths as given).
        if let Some(p) = &self.config.path
            && !frag.path.is_empty()
            && p.to_string_lossy().trim_start_matches("./") == frag.path.trim_start_matches("./")
        {
            return Vec::new();
        }
        if commit_or_path_allowed(frag, &self.config.allowlists) {
            return Vec::new();
        }
        // The fast path (ASCII case-insensitive prefilter with hit positions, windows) is exact
        // unless the fragment holds a character that Go lower-cases to ASCII (U+212A KELVIN SIGN,
        // U+0130) or that (?i) folds together with an ASCII letter (U+212A, U+017F LONG S).
        let ascii = self.ascii_keywords
            && (frag.raw.is_ascii()
                || !["\u{212A}", "\u{17F}", "\u{130}"]
                    .iter()
                    .any(|c| memchr::memmem::find(frag.raw.as_bytes(), c.as_bytes()).is_some()));
        let mut present = vec![false; self.keywords.len()];
        let mut hits: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.keywords.len()];
        if ascii {
            if let Some(ks) = &self.ascii_prefilter {
                ks.for_each_hit(frag.raw.as_bytes(), |k, start, end| {
                    if let (Some(p), Some(h)) = (present.get_mut(k), hits.get_mut(k)) {
                        *p = true;
                        h.push((start, end));
                    }
                });
            }
        } else if let Some(ac) = &self.exact_prefilter {
            let lowered = go_lower(frag.raw);
            for m in ac.find_overlapping_iter(&lowered) {
                if let Some(p) = present.get_mut(m.pattern().as_usize()) {
                    *p = true;
                }
            }
        }
        let lines = Lines {
            raw: frag.raw,
            newlines: OnceLock::new(),
        };
        let mut findings = Vec::new();
        for cr in &self.rules {
            if cr.keyword_ids.is_empty() {
                findings.extend(self.detect_rule(frag, &lines, &cr.rule, None, false));
                continue;
            }
            if !cr
                .keyword_ids
                .iter()
                .any(|&k| present.get(k).copied().unwrap_or(false))
            {
                continue;
            }
            if ascii && let Some(window) = cr.window() {
                let rule_hits = window_hits(
                    window,
                    frag.raw,
                    cr.keyword_ids.iter().filter_map(|&k| {
                        Some((self.keywords.get(k)?.as_str(), hits.get(k)?.as_slice()))
                    }),
                );
                // No hit left (the filter dropped them all): no match, and no line index needed.
                if rule_hits.is_empty() {
                    continue;
                }
                let spans = windowed_find_iter(window, frag.raw, lines.get(), &rule_hits);
                findings.extend(self.detect_rule(frag, &lines, &cr.rule, Some(&spans), false));
            } else {
                findings.extend(self.detect_rule(frag, &lines, &cr.rule, None, false));
            }
        }
        filter_generic(findings)
    }

    fn detect_rule(
        &self,
        frag: &Fragment<'_>,
        lines: &Lines<'_>,
        rule: &Rule,
        spans: Option<&[(usize, usize)]>,
        inherited: bool,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        if rule.skip_report && !inherited {
            return findings;
        }
        if commit_or_path_allowed(frag, &rule.allowlists) {
            return findings;
        }
        if let Some(path_re) = &rule.path {
            if rule.regex.is_none() {
                if path_re.is_match(frag.path) {
                    findings.push(Finding {
                        rule_id: rule.id.clone(),
                        description: rule.description.clone(),
                        file: frag.path.to_string(),
                        commit: frag.commit.map(str::to_string),
                        start_line: 0,
                        end_line: 0,
                        start_column: 0,
                        end_column: 0,
                        secret: String::new(),
                        matched: format!("file detected: {}", frag.path),
                        entropy: 0.0,
                        tags: rule.tags.clone(),
                        required: Vec::new(),
                    });
                }
                return findings;
            } else if !path_re.is_match(frag.path) {
                return findings;
            }
        }
        let Some(re) = &rule.regex else {
            return findings;
        };
        let raw = frag.raw;
        let spans: Vec<(usize, usize)> = match spans {
            None => re
                .regex()
                .find_iter(raw)
                .map(|m| (m.start(), m.end()))
                .collect(),
            Some(s) => s.to_vec(),
        };
        for (start, end) in spans {
            let Some(full) = raw.get(start..end) else {
                continue;
            };
            let secret = full.trim_matches('\n');
            // gitleaks keeps the start and moves the end (issue 1352).
            let end = start + secret.len();
            let nl = lines.get();
            let loc = locate(nl, raw, start, end);
            let line_text = raw.get(loc.line_span.0..loc.line_span.1).unwrap_or("");
            if line_text.contains("gitleaks:allow") {
                continue;
            }
            let mut finding = Finding {
                rule_id: rule.id.clone(),
                description: rule.description.clone(),
                file: frag.path.to_string(),
                commit: frag.commit.map(str::to_string),
                start_line: frag.start_line + loc.start_line,
                end_line: frag.start_line + loc.end_line,
                start_column: loc.start_column,
                end_column: loc.end_column,
                secret: secret.to_string(),
                matched: secret.to_string(),
                entropy: 0.0,
                tags: rule.tags.clone(),
                required: Vec::new(),
            };
            secret_group(re, rule.secret_group, &mut finding);
            let entropy = shannon_entropy(&finding.secret);
            finding.entropy = entropy;
            if rule.entropy != 0.0 && entropy <= rule.entropy {
                continue;
            }
            if finding_allowed(&finding, frag, line_text, &self.config.allowlists)
                || finding_allowed(&finding, frag, line_text, &rule.allowlists)
            {
                continue;
            }
            findings.push(finding);
        }
        if inherited || rule.required.is_empty() {
            return findings;
        }
        self.required_rules(frag, lines, rule, findings)
    }

    /// gitleaks' `processRequiredRules`: a composite rule's finding survives only with at least
    /// one finding of every required rule nearby.
    fn required_rules(
        &self,
        frag: &Fragment<'_>,
        lines: &Lines<'_>,
        rule: &Rule,
        primary: Vec<Finding>,
    ) -> Vec<Finding> {
        if primary.is_empty() {
            return primary;
        }
        let mut found: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
        for req in &rule.required {
            if let Some(&i) = self.by_id.get(&req.rule_id)
                && let Some(cr) = self.rules.get(i)
            {
                found.insert(
                    &req.rule_id,
                    self.detect_rule(frag, lines, &cr.rule, None, true),
                );
            }
        }
        let mut out = Vec::new();
        for mut p in primary {
            let mut aux: Vec<String> = Vec::new();
            for req in &rule.required {
                if let Some(fs) = found.get(req.rule_id.as_str()) {
                    for f in fs {
                        if within(&p, f, req) {
                            aux.push(f.rule_id.clone());
                        }
                    }
                }
            }
            if !aux.is_empty() && rule.required.iter().all(|r| aux.contains(&r.rule_id)) {
                aux.sort();
                aux.dedup();
                p.required = aux;
                out.push(p);
            }
        }
        out
    }
}

fn within(p: &Finding, r: &Finding, req: &Required) -> bool {
    if let Some(n) = req.within_lines
        && p.start_line.abs_diff(r.start_line) as u64 > n
    {
        return false;
    }
    if let Some(n) = req.within_columns
        && p.start_column.abs_diff(r.start_column) as u64 > n
    {
        return false;
    }
    true
}

/// gitleaks: if the expression has groups, the secret is group `secretGroup`, or else the first
/// non-empty group, of the expression matched again against the (trimmed) match.
fn secret_group(re: &GoRegex, group: usize, finding: &mut Finding) {
    if re.regex().captures_len() < 2 {
        return;
    }
    let Some(caps) = re.regex().captures(&finding.matched) else {
        return;
    };
    if group > 0 {
        if group < caps.len() {
            finding.secret = caps
                .get(group)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
        }
    } else if let Some(s) = caps
        .iter()
        .skip(1)
        .flatten()
        .map(|m| m.as_str())
        .find(|s| !s.is_empty())
    {
        finding.secret = s.to_string();
    }
}

struct Location {
    /// 0-based line offsets from the fragment's first line.
    start_line: usize,
    end_line: usize,
    start_column: usize,
    end_column: usize,
    /// gitleaks' `Line`: from the newline before the match (included) to the newline after.
    line_span: (usize, usize),
}

/// Line and column of `[start, end)`, and gitleaks' line span (see [`Location::line_span`]).
fn locate(nl: &[usize], raw: &str, start: usize, end: usize) -> Location {
    // Lines counted as gitleaks does: a match starting on a newline byte belongs to the next line.
    let start_line = nl.partition_point(|&i| i <= start);
    let last = if end > start { end - 1 } else { start };
    let end_line = nl.partition_point(|&i| i < last);
    let line_start = |l: usize| {
        if l == 0 {
            0
        } else {
            nl.get(l - 1).map_or(0, |&i| i + 1)
        }
    };
    let start_column = start.saturating_sub(line_start(start_line)) + 1;
    let end_column = last.saturating_sub(line_start(end_line)) + 1;
    // gitleaks' Line: raw[prevNewline .. nextNewline], where prevNewline is the index of the '\n'
    // itself (0 on the first line) and nextNewline is the first newline at or after the end.
    let span_start = if start_line == 0 {
        0
    } else {
        nl.get(start_line - 1).copied().unwrap_or(0)
    };
    let after = nl.partition_point(|&i| i < end);
    let span_end = match nl.get(after) {
        Some(&i) => i.max(end),
        None => {
            // Last line without a trailing newline: up to the next '\n' or '\r' (none) or the end.
            let tail = raw.as_bytes().get(end..).unwrap_or(&[]);
            end + tail
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .unwrap_or(tail.len())
        }
    };
    Location {
        start_line,
        end_line,
        start_column,
        end_column,
        line_span: (span_start, span_end.min(raw.len())),
    }
}

fn commit_or_path_allowed(frag: &Fragment<'_>, allowlists: &[Allowlist]) -> bool {
    if frag.path.is_empty() && frag.commit.is_none() {
        return false;
    }
    for a in allowlists {
        let commit_ok = a.commit_allowed(frag.commit);
        let path_ok = a.path_allowed(frag.path);
        let allowed = match a.condition {
            Condition::And => {
                // Regexes and stop words are checked per finding.
                if !a.regexes.is_empty() || !a.stopwords.is_empty() {
                    continue;
                }
                (a.commits.is_empty() || commit_ok) && (a.paths.is_empty() || path_ok)
            }
            Condition::Or => commit_ok || path_ok,
        };
        if allowed {
            return true;
        }
    }
    false
}

fn finding_allowed(f: &Finding, frag: &Fragment<'_>, line: &str, allowlists: &[Allowlist]) -> bool {
    for a in allowlists {
        let target = match a.regex_target {
            RegexTarget::Secret => f.secret.as_str(),
            RegexTarget::Match => f.matched.as_str(),
            RegexTarget::Line => line,
        };
        let regex_ok = a.regex_allowed(target);
        let stop_ok = a.contains_stopword(&f.secret);
        let allowed = match a.condition {
            Condition::And => {
                (a.commits.is_empty() || a.commit_allowed(frag.commit))
                    && (a.paths.is_empty() || a.path_allowed(frag.path))
                    && (a.regexes.is_empty() || regex_ok)
                    && (a.stopwords.is_empty() || stop_ok)
            }
            Condition::Or => regex_ok || stop_ok,
        };
        if allowed {
            return true;
        }
    }
    false
}

/// gitleaks' `filter`: a finding of a rule whose id contains "generic" is dropped when a
/// non-generic rule found a secret containing it on the same line of the same commit.
fn filter_generic(findings: Vec<Finding>) -> Vec<Finding> {
    let keep: Vec<bool> = findings
        .iter()
        .map(|f| {
            if !f.rule_id.to_lowercase().contains("generic") {
                return true;
            }
            !findings.iter().any(|g| {
                g.start_line == f.start_line
                    && g.commit == f.commit
                    && g.rule_id != f.rule_id
                    && g.secret.contains(&f.secret)
                    && !g.rule_id.to_lowercase().contains("generic")
            })
        })
        .collect();
    findings
        .into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

/// The hits a rule's windows are made from, sorted: those of its keywords (given with their
/// hits), less those its [`HitFilter`] shows to be no match's keyword.
fn window_hits<'k>(
    w: &Window,
    raw: &str,
    per_keyword: impl Iterator<Item = (&'k str, &'k [(usize, usize)])>,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (keyword, hits) in per_keyword {
        match &w.hits {
            Some(filter) => out.extend(
                hits.iter()
                    .filter(|&&(_, end)| filter.keeps(raw, keyword, end))
                    .copied(),
            ),
            None => out.extend_from_slice(hits),
        }
    }
    out.sort_unstable();
    out
}

/// `find_iter` over the whole of `raw`, computed from searches near keyword hits only (see the
/// module docs for why this is exact). `hits` are sorted by start; `nl` are the newline offsets.
fn windowed_find_iter(
    w: &Window,
    raw: &str,
    nl: &[usize],
    hits: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    let len = raw.len();
    // The earliest start and the latest end of a match containing the hit `[h, e)`. The start
    // depends on `h` alone, so it never decreases along `hits` (the clusters below rely on it).
    let reach = |h: usize, e: usize| -> (usize, usize) {
        let mut lo = 0;
        let mut hi = len;
        if let Some(l) = w.max_len {
            lo = lo.max(h.saturating_sub(l));
            hi = hi.min(h.saturating_add(l));
        }
        if let Some(l) = w.before.len {
            lo = lo.max(h.saturating_sub(l));
        }
        if let Some(l) = w.after.len {
            hi = hi.min(e.saturating_add(l));
        }
        // The start of the line `k` lines above the one holding `at`.
        let line_start = |at: usize, k: usize| {
            let first = nl.partition_point(|&i| i < at).saturating_sub(k);
            if first == 0 {
                0
            } else {
                nl.get(first - 1).map_or(0, |&i| i + 1)
            }
        };
        // Just past the end of the line `k` lines below the one holding `at`.
        let line_end = |at: usize, k: usize| {
            let line = nl.partition_point(|&i| i < at);
            nl.get(line + k).map_or(len, |&i| i + 1)
        };
        if let Some(k) = w.max_newlines {
            lo = lo.max(line_start(h, k));
            hi = hi.min(line_end(h, k));
        }
        if let Some(k) = w.before.newlines {
            lo = lo.max(line_start(h, k));
        }
        if let Some(k) = w.after.newlines {
            hi = hi.min(line_end(e, k));
        }
        (lo, hi.max(e).min(len))
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut i = 0usize;
    while i < hits.len() {
        while hits.get(i).is_some_and(|&(s, _)| s < pos) {
            i += 1;
        }
        let Some(&(first, first_end)) = hits.get(i) else {
            break;
        };
        let (lo, mut hi) = reach(first, first_end);
        let mut last = first;
        let mut j = i + 1;
        while let Some(&(next, next_end)) = hits.get(j) {
            let (nlo, nhi) = reach(next, next_end);
            if nlo > hi {
                break;
            }
            hi = hi.max(nhi);
            last = next;
            j += 1;
        }
        let mut lo = lo.max(pos);
        while !raw.is_char_boundary(lo) {
            lo -= 1;
        }
        while !raw.is_char_boundary(hi) {
            hi += 1;
        }
        let input = regex_automata::Input::new(raw).range(lo..hi);
        match w.regex.search(&input) {
            Some(m) if m.start() <= last => {
                out.push((m.start(), m.end()));
                pos = m.end().max(m.start() + 1);
            }
            _ => pos = last + 1,
        }
    }
    out
}

/// Whether a rule's expression may be searched near keyword hits only (see module docs).
fn windowable(re: &GoRegex, keywords: &[String]) -> Option<Window> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(re.translated())
        .ok()?;
    let props = hir.properties();
    if props.minimum_len().is_none_or(|n| n == 0) {
        return None;
    }
    let max_len = props.maximum_len();
    let max_newlines = max_newlines(&hir);
    if max_len.is_none() && max_newlines.is_none() {
        return None;
    }
    if !must_contain_keyword(&hir, keywords) {
        return None;
    }
    let (before, after, hits) = match pieces(&hir) {
        Some(xs) => {
            // The filter and the bounds per side must be about the same hit: the sides are
            // taken from the run of pieces that matches only keywords when there is one.
            let hits = keyword_run(&xs, keywords, true).and_then(|run| hit_filter(&xs, run));
            let run = match &hits {
                Some(f) => Some(f.run),
                None => keyword_run(&xs, keywords, false),
            };
            let (before, after) = run.map_or((Side::default(), Side::default()), |r| sides(&xs, r));
            (before, after, hits)
        }
        None => (Side::default(), Side::default(), None),
    };
    // The same lazy-DFA cache as `GoRegex` gives the `regex` crate: gitleaks' counted
    // repetitions (`{0,50}`, `{10,150}`) make many states, and a small cache thrashes.
    let regex = regex_automata::meta::Regex::builder()
        .configure(regex_automata::meta::Config::new().hybrid_cache_capacity(16 << 20))
        .build(re.translated())
        .ok()?;
    Some(Window {
        regex,
        max_len,
        max_newlines,
        before,
        after,
        hits,
    })
}

/// The expression as a sequence of pieces, nested sequences and capture groups flattened
/// (`\b(ey[a-zA-Z0-9]{17,}\.ey…)` is `\b`, `ey`, …); `None` for a single piece.
fn pieces(h: &Hir) -> Option<Vec<Hir>> {
    fn flatten(h: &Hir, out: &mut Vec<Hir>) {
        match h.kind() {
            HirKind::Capture(c) => flatten(&c.sub, out),
            HirKind::Concat(xs) => xs.iter().for_each(|x| flatten(x, out)),
            _ => out.push(h.clone()),
        }
    }
    let mut out = Vec::new();
    flatten(h, &mut out);
    (out.len() > 1).then_some(out)
}

/// The first run `[a, b)` of consecutive pieces (the shortest, ending first) every match of
/// which contains a keyword, or with `exact`, is a keyword. (Under `(?i)` a literal keyword is
/// a run of one-letter classes, so a single piece is not enough.)
fn keyword_run(xs: &[Hir], keywords: &[String], exact: bool) -> Option<(usize, usize)> {
    for b in 1..=xs.len() {
        for a in (b.saturating_sub(64)..b).rev() {
            let run = Hir::concat(xs.get(a..b)?.to_vec());
            let found = if exact {
                match finite_lower(&run) {
                    Some(set) => set.iter().all(|s| keywords.contains(s)),
                    // Longer runs spell no fewer strings.
                    None => break,
                }
            } else {
                must_contain_keyword(&run, keywords)
            };
            if found {
                return Some((a, b));
            }
        }
    }
    None
}

/// A [`HitFilter`] for the pieces `xs` whose run `run` matches only keywords, when pieces
/// follow it.
fn hit_filter(xs: &[Hir], run: (usize, usize)) -> Option<HitFilter> {
    let mut keywords = finite_lower(&Hir::concat(xs.get(run.0..run.1)?.to_vec()))?;
    keywords.sort();
    keywords.dedup();
    let rest = xs.get(run.1..).filter(|r| !r.is_empty())?;
    let rest = regex_automata::meta::Regex::builder()
        .configure(regex_automata::meta::Config::new().hybrid_cache_capacity(16 << 20))
        .build_from_hir(&Hir::concat(rest.to_vec()))
        .ok()?;
    Some(HitFilter {
        keywords,
        rest,
        run,
    })
}

/// Bounds per side of the keyword hit a match contains, the hit lying inside the part of the
/// match that the pieces `run` of `xs` match: what comes before it is at most the pieces up to
/// the end of the run, and what comes after it at most the pieces from the start of the run.
/// (`generic-api-key`, the rule that runs on most files, reads at most 160 bytes of the
/// keyword's line before it, and up to 9 lines after.)
fn sides(xs: &[Hir], run: (usize, usize)) -> (Side, Side) {
    let bound = |xs: &[Hir]| Side {
        len: xs.iter().try_fold(0usize, |acc, x| {
            acc.checked_add(x.properties().maximum_len()?)
        }),
        newlines: xs
            .iter()
            .try_fold(0usize, |acc, x| acc.checked_add(max_newlines(x)?)),
    };
    (
        bound(xs.get(..run.1).unwrap_or(&[])),
        bound(xs.get(run.0..).unwrap_or(&[])),
    )
}

/// The most newlines one match of `h` can contain (`None`: unbounded).
fn max_newlines(h: &Hir) -> Option<usize> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(l) => Some(l.0.iter().filter(|&&b| b == b'\n').count()),
        HirKind::Class(Class::Unicode(c)) => Some(usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        )),
        HirKind::Class(Class::Bytes(c)) => Some(usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        )),
        HirKind::Repetition(r) => {
            let sub = max_newlines(&r.sub)?;
            if sub == 0 {
                Some(0)
            } else {
                let max = usize::try_from(r.max?).ok()?;
                sub.checked_mul(max)
            }
        }
        HirKind::Capture(c) => max_newlines(&c.sub),
        HirKind::Concat(xs) => xs
            .iter()
            .try_fold(0usize, |acc, x| acc.checked_add(max_newlines(x)?)),
        HirKind::Alternation(xs) => xs
            .iter()
            .try_fold(0usize, |acc, x| Some(acc.max(max_newlines(x)?))),
    }
}

fn contains_keyword(s: &str, keywords: &[String]) -> bool {
    keywords.iter().any(|k| s.contains(k.as_str()))
}

/// Every match of `h`, lower-cased, contains one of `keywords` (conservative: false when unsure).
fn must_contain_keyword(h: &Hir, keywords: &[String]) -> bool {
    let all_contain =
        |set: &[String]| !set.is_empty() && set.iter().all(|s| contains_keyword(s, keywords));
    if let Some(set) = finite_lower(h) {
        return all_contain(&set);
    }
    match h.kind() {
        HirKind::Capture(c) => must_contain_keyword(&c.sub, keywords),
        HirKind::Repetition(r) => r.min >= 1 && must_contain_keyword(&r.sub, keywords),
        HirKind::Alternation(xs) => xs.iter().all(|x| must_contain_keyword(x, keywords)),
        HirKind::Concat(xs) => {
            if xs.iter().any(|x| must_contain_keyword(x, keywords)) {
                return true;
            }
            // Runs of consecutive pieces that spell finitely many strings.
            let mut run: Vec<String> = vec![String::new()];
            for x in xs {
                match finite_lower(x).and_then(|f| product(&run, &f)) {
                    Some(next) => run = next,
                    None => {
                        if all_contain(&run) {
                            return true;
                        }
                        run = finite_lower(x).unwrap_or_else(|| vec![String::new()]);
                    }
                }
            }
            all_contain(&run)
        }
        _ => false,
    }
}

/// The most strings [`finite_lower`] enumerates before giving up.
const FINITE_LIMIT: usize = 256;

fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len().saturating_mul(b.len()) > FINITE_LIMIT {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    )
}

/// The lower-cased strings `h` can match, when there are few of them.
fn finite_lower(h: &Hir) -> Option<Vec<String>> {
    match h.kind() {
        // A look-around adds no characters (and can only remove matches).
        HirKind::Empty | HirKind::Look(_) => Some(vec![String::new()]),
        HirKind::Literal(l) => std::str::from_utf8(&l.0)
            .ok()
            .map(|s| vec![s.to_ascii_lowercase()]),
        HirKind::Class(c) => {
            // The characters of the class, lower-cased. U+212A and U+017F (folded together with
            // `k` and `s` under `(?i)`) are left out: the fast path only runs on fragments
            // without them.
            let mut chars: Vec<char> = Vec::new();
            let mut add = |lo: u32, hi: u32| -> Option<()> {
                if hi.saturating_sub(lo) > 64 {
                    return None;
                }
                for cp in lo..=hi {
                    if cp == 0x212A || cp == 0x17F {
                        continue;
                    }
                    let ch = char::from_u32(cp)?;
                    let mut l = ch.to_lowercase();
                    let ch = match (l.next(), l.next()) {
                        (Some(one), None) => one,
                        _ => ch,
                    };
                    if !chars.contains(&ch) {
                        chars.push(ch);
                    }
                    if chars.len() > 4 {
                        return None;
                    }
                }
                Some(())
            };
            match c {
                Class::Unicode(u) => {
                    for r in u.ranges() {
                        add(r.start() as u32, r.end() as u32)?;
                    }
                }
                Class::Bytes(b) => {
                    for r in b.ranges() {
                        add(u32::from(r.start()), u32::from(r.end()))?;
                    }
                }
            }
            (!chars.is_empty()).then(|| chars.into_iter().map(String::from).collect())
        }
        HirKind::Capture(c) => finite_lower(&c.sub),
        HirKind::Concat(xs) => xs.iter().try_fold(vec![String::new()], |acc, x| {
            product(&acc, &finite_lower(x)?)
        }),
        HirKind::Alternation(xs) => {
            let mut out: Vec<String> = Vec::new();
            for x in xs {
                out.extend(finite_lower(x)?);
                if out.len() > FINITE_LIMIT {
                    return None;
                }
            }
            Some(out)
        }
        HirKind::Repetition(r) => {
            let max = r.max?;
            if max.saturating_sub(r.min) > 3 || max > 16 {
                return None;
            }
            let sub = finite_lower(&r.sub)?;
            let mut out: Vec<String> = Vec::new();
            let mut power = vec![String::new()];
            for k in 0..=max {
                if k >= r.min {
                    out.extend(power.iter().cloned());
                }
                if k < max {
                    power = product(&power, &sub)?;
                }
            }
            (out.len() <= FINITE_LIMIT).then_some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn detector(toml: &str) -> Detector {
        Detector::new(Config::from_toml(toml, Path::new(".")).unwrap()).unwrap()
    }

    fn scan(d: &Detector, path: &str, text: &str) -> Vec<Finding> {
        d.detect(&Fragment {
            raw: text,
            path,
            commit: None,
            start_line: 1,
        })
    }

    #[test]
    fn entropy_matches_gitleaks_formula() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-12);
        // gitleaks' figure for the nogit AWS key (float32 3.0841837).
        assert!((shannon_entropy("AKIALALEMEL33243OLIA") as f32 - 3.0841837).abs() < 1e-6);
        // Divides by bytes: "éé" is 4 bytes, one character twice → -(2/4)·log2(2/4) = 0.5.
        assert!((shannon_entropy("éé") - 0.5).abs() < 1e-12);
    }

    proptest::proptest! {
        /// The ASCII fast path of the entropy sums the same terms in the same order as the map.
        #[test]
        fn ascii_entropy_equals_the_map(data in "[ -~]{1,80}") {
            let mut counts: BTreeMap<char, usize> = BTreeMap::new();
            for c in data.chars() {
                *counts.entry(c).or_default() += 1;
            }
            let inv = 1.0 / data.len() as f64;
            let mut entropy = 0.0;
            for &n in counts.values() {
                let f = n as f64 * inv;
                entropy -= f * f.log2();
            }
            proptest::prop_assert_eq!(shannon_entropy(&data).to_bits(), entropy.to_bits());
        }
    }

    #[test]
    fn redaction_like_gitleaks() {
        assert_eq!(redact("AKIALALEMEL33243OLIA", 100), "REDACTED");
        assert_eq!(redact("AKIALALEMEL33243OLIA", 80), "AKIA...");
        assert_eq!(redact("AKIALALEMEL33243OLIA", 0), "AKIALALEMEL33243OLIA");
        assert_eq!(redact("abc", 50), "ab...");
        assert_eq!(redact("abcde", 50), "ab...");
        assert_eq!(redact("ééé", 50), "é...");
        assert_eq!(
            redact("-----BEGIN\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 20),
            "-----BEG..."
        );
        assert_eq!(redact("ab\ncdefghij", 20), "ab...");
    }

    #[test]
    fn location_is_one_based_and_true() {
        let nl = memchr_all(b"ab\ncdXYef\n");
        let loc = locate(&nl, "ab\ncdXYef\n", 5, 7);
        assert_eq!(
            (loc.start_line, loc.start_column, loc.end_column),
            (1, 3, 4)
        );
        assert_eq!(
            loc.line_span,
            (2, 9),
            "gitleaks' Line starts at the preceding newline"
        );
    }

    /// gitleaks' `location()` (detect/location.go at b58d3f1), line for line: the start and
    /// end lines (0-based within the fragment) of the match `[start, end)`.
    fn gitleaks_lines(raw: &str, start: usize, end: usize) -> (usize, usize) {
        let mut nl: Vec<usize> = memchr_all(raw.as_bytes());
        if nl.is_empty() {
            nl = vec![raw.len()];
        }
        let (mut prev, mut set, mut last_num) = (0usize, false, 0usize);
        let (mut start_line, mut end_line) = (0usize, 0usize);
        for (num, &i) in nl.iter().enumerate() {
            last_num = num;
            if prev <= start && start < i {
                set = true;
                start_line = num;
                end_line = num;
            }
            if prev < end && end <= i {
                end_line = num;
            }
            prev = i;
        }
        if !set {
            start_line = last_num + 1;
            end_line = last_num + 1;
        }
        (start_line, end_line)
    }

    #[test]
    fn start_lines_follow_gitleaks_location_rule() {
        // A match that starts on the newline ending a line (a rule whose expression may begin
        // with `\s`) is on the next line, as gitleaks counts it.
        let raw = "int x;\n\"-----BEGIN RSA PRIVATE KEY-----\\n\"\n";
        let at = raw.find('\n').unwrap();
        let nl = memchr_all(raw.as_bytes());
        let loc = locate(&nl, raw, at, at + 12);
        assert_eq!(
            (loc.start_line, loc.end_line),
            gitleaks_lines(raw, at, at + 12)
        );
        assert_eq!(loc.start_line, 1);
        // One past the newline: the same line.
        let loc = locate(&nl, raw, at + 1, at + 12);
        assert_eq!(loc.start_line, 1);
        // Empty lines, a match on the last line without a final newline, a fragment with no
        // newline at all.
        for (raw, start, end) in [
            ("a\n\n\nkey=1", 9, 12),
            ("a\n\n\nkey=1", 3, 5),
            ("key=1", 0, 5),
            ("\nkey", 0, 4),
        ] {
            let nl = memchr_all(raw.as_bytes());
            let loc = locate(&nl, raw, start, end);
            assert_eq!(
                (loc.start_line, loc.end_line),
                gitleaks_lines(raw, start, end),
                "{raw:?} {start}..{end}"
            );
        }
    }

    #[test]
    fn windowable_analysis() {
        let w = |re: &str, kws: &[&str]| {
            let kws: Vec<String> = kws.iter().map(|s| s.to_string()).collect();
            windowable(&GoRegex::new(re).unwrap(), &kws).is_some()
        };
        assert!(w(r"ghp_[0-9a-zA-Z]{36}", &["ghp_"]));
        assert!(w(r"(?i)\b(aws_[a-z]{3})\b", &["aws"]));
        assert!(w(
            r"(?:A3T[A-Z0-9]|AKIA|ASIA)[A-Z0-9]{16}",
            &["a3t", "akia", "asia"]
        ));
        assert!(
            !w(r"(?:A3T[A-Z0-9]|AKIA|XXXX)[A-Z0-9]{16}", &["a3t", "akia"]),
            "a branch without a keyword"
        );
        assert!(
            !w(r"[a-z]{1,9}\s+key", &["key"]),
            "unbounded length and newlines"
        );
        assert!(
            w(r"[a-z]{1,9}[ \t]+key", &["key"]),
            "unbounded length, no newline"
        );
        assert!(
            w(r"key\s{0,3}=[a-z]+", &["key"]),
            "unbounded length, at most 3 newlines"
        );
        assert!(
            w(r"^key\s{0,3}$", &["key"]),
            "anchors are fine: span searches see the context"
        );
        assert!(!w(r"(?:key)?x", &["key"]), "optional keyword");
        assert!(!w(r"[a-z]{5}", &["abcde"]));
        assert!(w(
            r"(?i)[\w.-]{0,5}?(?:passw(?:or)?d|(?-i:[Aa]pi|API))[ \t]{0,2}=",
            &["passwd", "password", "api"]
        ));
        assert!(!w(
            r"(?i)[\w.-]{0,5}?(?:passw(?:or)?d|(?-i:[Aa]pi|API))[ \t]{0,2}=",
            &["password", "api"]
        ));
    }

    #[test]
    fn bounds_per_side_of_the_keyword() {
        let sides_of = |re: &str, kws: &[&str]| {
            let kws: Vec<String> = kws.iter().map(|s| s.to_string()).collect();
            let w = windowable(&GoRegex::new(re).unwrap(), &kws).unwrap();
            (
                (w.before.len, w.before.newlines),
                (w.after.len, w.after.newlines),
            )
        };
        let generic = Config::default_rules().unwrap();
        let generic = generic
            .rules
            .values()
            .find(|r| r.id == "generic-api-key")
            .unwrap();
        let w = windowable(generic.regex.as_ref().unwrap(), &generic.keywords).unwrap();
        assert_eq!(
            (w.before, w.after),
            (
                Side {
                    len: Some(160),
                    newlines: Some(0)
                },
                Side {
                    len: None,
                    newlines: Some(9)
                }
            ),
            "`[\\w.-]{{0,50}}?` (3 bytes a character: `(?i)` folds `k` with U+212A) and the \
             longest keyword before, on one line; nine `\\s` after"
        );
        assert_eq!(
            sides_of(r"[a-z]{0,4}key\s{0,2}=[0-9]+", &["key"]),
            ((Some(7), Some(0)), (None, Some(2)))
        );
        assert_eq!(
            sides_of(r"(a\s?b)(key|api)[0-9]{3}", &["key", "api"]),
            ((Some(6), Some(1)), (Some(6), Some(0)))
        );
        assert_eq!(
            sides_of(r"(?:key|x)[0-9]{3}api", &["key", "api"]),
            ((Some(9), Some(0)), (Some(3), Some(0))),
            "the first piece that must hold a keyword is the last one"
        );
    }

    #[test]
    fn hits_that_cannot_be_a_keyword_of_a_match_are_dropped() {
        let config = Config::default_rules().unwrap();
        let generic = config
            .rules
            .values()
            .find(|r| r.id == "generic-api-key")
            .unwrap();
        let w = windowable(generic.regex.as_ref().unwrap(), &generic.keywords).unwrap();
        let filter = w.hits.as_ref().expect("generic-api-key has a hit filter");
        assert_eq!(
            filter.keywords,
            [
                "access",
                "api",
                "auth",
                "credential",
                "creds",
                "key",
                "passwd",
                "password",
                "secret",
                "token"
            ]
        );
        let raw = "fn key(&self) {}\nlet api_key = \"0123456789abcdef\";\nuse api::x;\n";
        let kept: Vec<&str> = [("key", 6), ("api", 24), ("key", 28), ("api", 58)]
            .into_iter()
            .filter(|&(k, end)| filter.keeps(raw, k, end))
            .map(|(k, end)| &raw[end - k.len()..end])
            .collect();
        assert_eq!(kept, ["api", "key"], "the two of the assignment");
        assert!(
            !filter.keeps(raw, "tokens", 28),
            "not a string the keyword piece matches"
        );
        // Capture groups are looked through: jwt's `\b(ey[a-zA-Z0-9]{17,}\.ey…)`.
        let jwt = config.rules.values().find(|r| r.id == "jwt").unwrap();
        let w = windowable(jwt.regex.as_ref().unwrap(), &jwt.keywords).unwrap();
        let filter = w.hits.as_ref().expect("jwt has a hit filter");
        assert_eq!(filter.keywords, ["ey"]);
        assert_eq!((w.before.len, w.before.newlines), (Some(2), Some(0)));
        let raw = "the key; eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlX2hlcmU";
        assert!(!filter.keeps(raw, "ey", 6), "`ey` of `key`");
        assert!(filter.keeps(raw, "ey", 11));
        // A keyword piece that is not only keywords: no filter.
        let kws = vec!["key".to_string()];
        let w = windowable(&GoRegex::new(r"(?:key|keys)=[0-9]{4}").unwrap(), &kws).unwrap();
        assert!(w.hits.is_none(), "`keys` is not a keyword");
        let w = windowable(&GoRegex::new(r"[a-z]{0,3}monkey=[0-9]{4}").unwrap(), &kws).unwrap();
        assert!(w.hits.is_none(), "the piece holds a keyword but is longer");
    }

    #[test]
    fn keyword_gates_the_rule_on_the_whole_fragment() {
        // The match does not contain the keyword, so the rule runs on the whole fragment when
        // the keyword is anywhere in it, and not at all otherwise: gitleaks' semantics.
        let d = detector("[[rules]]\nid='r'\nregex='''secret[0-9]{4}'''\nkeywords=['trigger']\n");
        assert!(d.rules[0].window().is_none());
        assert_eq!(scan(&d, "f", "secret1234\n").len(), 0);
        assert_eq!(scan(&d, "f", "secret1234\nTRIGGER\n").len(), 1);
    }

    #[test]
    fn windowed_equals_full_scan() {
        let toml = "[[rules]]\nid='gh'\nregex='''\\bghp_[0-9a-zA-Z]{8}\\b'''\nkeywords=['ghp_']\n";
        let d = detector(toml);
        assert!(d.rules[0].window().is_some());
        let text = "x ghp_abcdefgh y\nnothing\nGHP_ABCDEFGH\nzghp_12345678 ghp_12345678\n";
        let got: Vec<(usize, usize)> = scan(&d, "f", text)
            .iter()
            .map(|f| (f.start_line, f.start_column))
            .collect();
        assert_eq!(got, vec![(1, 3), (4, 15)]);
    }

    proptest::proptest! {
        /// zt's start line is gitleaks' for every span of every text. (Its columns are true
        /// columns, where gitleaks counts from the newline byte on lines after the first; and
        /// its end line is the true one, where gitleaks leaves a match that ends on a last line
        /// without a newline ending on its start line.)
        #[test]
        fn lines_equal_gitleaks_location(
            text in "[a-c\n]{0,39}[a-c]",
            a in 0usize..40,
            len in 1usize..40,
        ) {
            // A match is never empty and, as gitleaks trims its newlines while keeping its
            // start (issue 1352), ends on a byte that is not a newline.
            let start = a % text.len();
            let mut end = (start + len).min(text.len());
            while end > start + 1 && text.as_bytes()[end - 1] == b'\n' {
                end -= 1;
            }
            let nl = memchr_all(text.as_bytes());
            let loc = locate(&nl, &text, start, end);
            proptest::prop_assert_eq!(loc.start_line, gitleaks_lines(&text, start, end).0);
        }
    }

    proptest::proptest! {
        /// The span searches near keyword hits give exactly `find_iter` over the whole text.
        #[test]
        fn windowed_search_equals_full_search(
            text in "(key|KEY|api|=|:|\"|'| |\n|x|y|0|1|_|-|\\.|\t|é){0,160}",
            which in 0usize..10,
        ) {
            let patterns = [
                r"(?i)\bkey\b",
                r"(?i)(?:key|api)[ \t]{0,3}[=:]{1,2}\s{0,2}([x0-9_]{1,6})",
                r"(?i)[a-z_]{0,4}key[^\n]{0,5}$",
                r#"(?:^|\s)api[=:]['"]?[xy01]{2,4}\b"#,
                r"(?i)key(?:[=:]|\s){1,4}[xy]{1,3}(?:\s|$)",
                r"(?i)(?:x|y){0,2}(?:key|api)[^ ]{0,4}",
                r"(?i)[x_]{0,5}?(?:key|api)[ \t]{0,3}[\s'\x22]{0,2}[=:]\s{0,2}([x0-9_-]+|[y01]{2,})(?:\s|$)",
                r"(?i)\b(key[x0-9]+\.api[y_-]+)(?:['\x22\s]|$)",
                r"api[^\n]*",
                r"(?i)(?:key|apix)[=:][xy0-9]{1,4}",
            ];
            let pattern = patterns[which];
            let kws = vec!["key".to_string(), "api".to_string()];
            let go = GoRegex::new(pattern).unwrap();
            let window = windowable(&go, &kws).expect("windowable");
            let ac = aho_corasick::AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(&kws)
                .unwrap();
            let mut per_keyword: Vec<Vec<(usize, usize)>> = vec![Vec::new(); kws.len()];
            for m in ac.find_overlapping_iter(&text) {
                per_keyword[m.pattern().as_usize()].push((m.start(), m.end()));
            }
            // The hits as the detector filters them (all patterns but the last, whose keyword
            // piece also matches `apix`, which is not a keyword, have a filter).
            proptest::prop_assert_eq!(window.hits.is_some(), which != 9);
            let hits = window_hits(
                &window,
                &text,
                kws.iter().map(String::as_str).zip(per_keyword.iter().map(Vec::as_slice)),
            );
            let nl = memchr_all(text.as_bytes());
            let windowed = windowed_find_iter(&window, &text, &nl, &hits);
            let full: Vec<(usize, usize)> = go.regex().find_iter(&text).map(|m| (m.start(), m.end())).collect();
            proptest::prop_assert_eq!(windowed, full);
        }
    }

    #[test]
    fn span_search_sees_the_context() {
        let re = regex_automata::meta::Regex::new(r"(?-u:\b)key").unwrap();
        let hay = "monkey key";
        // The span starts inside "monkey": `\b` there looks at the 'n' before it.
        assert!(
            re.search(&regex_automata::Input::new(hay).range(3..6))
                .is_none()
        );
        let re = regex_automata::meta::Regex::new(r"^key").unwrap();
        assert!(
            re.search(&regex_automata::Input::new("a\nkey").range(2..5))
                .is_none()
        );
    }

    #[test]
    fn secret_group_and_entropy() {
        let d = detector(
            "[[rules]]\nid='t'\nregex='''token\\s*=\\s*\"([a-z0-9]+)\"'''\nentropy=2.0\nkeywords=['token']\n",
        );
        let f = scan(&d, "f", "token = \"a1b2c3d4\"\ntoken = \"aaaaaaaa\"\n");
        assert_eq!(f.len(), 1, "low-entropy secret skipped");
        assert_eq!(f[0].secret, "a1b2c3d4");
        assert_eq!(f[0].matched, "token = \"a1b2c3d4\"");
    }

    #[test]
    fn gitleaks_allow_comment() {
        let d = detector("[[rules]]\nid='a'\nregex='''AKIA[A-Z0-9]{16}'''\n");
        assert_eq!(
            scan(&d, "f", "k = AKIAABCDEFGHIJKLMNOP # gitleaks:allow\n").len(),
            0
        );
        assert_eq!(scan(&d, "f", "k = AKIAABCDEFGHIJKLMNOP\n").len(), 1);
    }

    #[test]
    fn allowlist_targets_and_conditions() {
        let base = "[[rules]]\nid='a'\nregex='''(AKIA[A-Z0-9]{16})'''\n";
        let text = "key = AKIAABCDEFGHIJKLEXMP\n";
        let d = detector(&format!(
            "{base}[[rules.allowlists]]\nregexes=['''EXMP$''']\n"
        ));
        assert!(scan(&d, "f", text).is_empty(), "secret target");
        let d = detector(&format!(
            "{base}[[rules.allowlists]]\nregexTarget='match'\nregexes=['''^AKIA''']\n"
        ));
        assert!(scan(&d, "f", text).is_empty(), "match target");
        let d = detector(&format!(
            "{base}[[rules.allowlists]]\nregexTarget='line'\nregexes=['''^key =''']\n"
        ));
        assert!(
            scan(&d, "f", text).is_empty(),
            "line target, first line has no leading newline"
        );
        assert_eq!(
            scan(&d, "f", &format!("x\n{text}")).len(),
            1,
            "gitleaks' Line includes the preceding newline"
        );
        let d = detector(&format!("{base}[[rules.allowlists]]\nstopwords=['exmp']\n"));
        assert!(scan(&d, "f", text).is_empty(), "stopword, case-insensitive");
        let d = detector(&format!(
            "{base}[[rules.allowlists]]\ncondition='AND'\npaths=['''\\.md$''']\nstopwords=['exmp']\n"
        ));
        assert_eq!(scan(&d, "f.go", text).len(), 1, "AND: path fails");
        assert!(scan(&d, "f.md", text).is_empty(), "AND: both hold");
        let d = detector(&format!(
            "{base}[[rules.allowlists]]\npaths=['''\\.md$''']\n"
        ));
        assert!(scan(&d, "x.md", text).is_empty());
        let d = detector(&format!("{base}[[allowlists]]\nregexes=['''LEXMP''']\n"));
        assert!(scan(&d, "f", text).is_empty(), "global allowlist");
    }

    #[test]
    fn commit_allowlist() {
        let d = detector(
            "[[rules]]\nid='a'\nregex='''AKIA[A-Z0-9]{16}'''\n[[rules.allowlists]]\ncommits=['ABC123']\n",
        );
        let text = "AKIAABCDEFGHIJKLMNOP";
        let f = |c| {
            d.detect(&Fragment {
                raw: text,
                path: "p",
                commit: Some(c),
                start_line: 1,
            })
        };
        assert!(f("abc123").is_empty());
        assert_eq!(f("def456").len(), 1);
    }

    #[test]
    fn path_only_rule() {
        let d = detector("[[rules]]\nid='p12'\npath='''\\.p12$'''\n");
        let f = scan(&d, "certs/a.p12", "");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].matched, "file detected: certs/a.p12");
        assert!(scan(&d, "certs/a.pem", "").is_empty());
    }

    #[test]
    fn generic_yields_to_specific() {
        let d = detector(
            "[[rules]]\nid='generic-api-key'\nregex='''key = ([A-Z0-9]+)'''\n[[rules]]\nid='aws'\nregex='''AKIA[A-Z0-9]{16}'''\n",
        );
        let f = scan(&d, "f", "key = AKIAABCDEFGHIJKLMNOP\n");
        assert_eq!(
            f.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
            vec!["aws"]
        );
    }

    #[test]
    fn non_ascii_fragments_use_the_exact_prefilter() {
        // U+212A KELVIN SIGN lower-cases to 'k' in Go: gitleaks' prefilter sees "key".
        let d = detector("[[rules]]\nid='r'\nregex='''val=[0-9]{4}'''\nkeywords=['key']\n");
        assert_eq!(scan(&d, "f", "\u{212A}EY val=1234").len(), 1);
        assert_eq!(scan(&d, "f", "é val=1234").len(), 0);
        // Non-ASCII text without those characters takes the windowed path, exactly.
        let d = detector("[[rules]]\nid='r'\nregex='''(?i)[aé]key=[0-9]{4}'''\nkeywords=['key']\n");
        assert!(d.rules[0].window().is_some());
        assert_eq!(scan(&d, "f", "é ékey=1234 akey=5678").len(), 2);
        let d =
            detector("[[rules]]\nid='r'\nregex='''(?i)[aé]key=[0-9]{4}'''\nkeywords=['akey']\n");
        assert!(d.rules[0].window().is_none(), "é breaks the keyword");
    }
}
