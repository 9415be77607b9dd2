//! gitleaks' TOML rule format, read as-is, translated the way gitleaks' `config.Translate` does.
//!
//! Keys are matched case-insensitively (gitleaks reads the file with viper, which lower-cases
//! every key), unknown keys are ignored, and the error texts are gitleaks' own, so a rule file that
//! gitleaks rejects is rejected here with the same words. `[extend]` is followed at most
//! [`MAX_EXTEND_DEPTH`] levels deep (`useDefault` = the built-in rule set, or `path`), with
//! gitleaks' merge: an extending rule overrides the base rule's description, entropy, secretGroup,
//! regex and path when set, and appends its tags, keywords and allowlists.
//!
//! Differences from gitleaks, on purpose:
//! - Rules are validated once the whole `[extend]` chain is assembled (gitleaks intends this; its
//!   implementation counts depth in a global that is never reset, so a process that loads a second
//!   config, as its test `TestExtendedRuleKeywordsAreDowncase` does, skips validation). A new rule
//!   without `regex` and `path` is therefore always rejected here.
//! - `[[allowlists]] targetRules` of an extended (base) file are attached to the base's rules;
//!   gitleaks silently drops them below the top level.
//! - A relative `[extend] path` is resolved against a directory the caller chooses (the CLI uses
//!   the working directory, as gitleaks does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use toml::{Table, Value};

use super::gore::GoRegex;

/// gitleaks' default rule set (MIT, see `default/LICENSE-gitleaks.md`).
pub const DEFAULT_CONFIG: &str = include_str!("../../default/gitleaks.toml");

/// How many `[extend]` levels are followed (gitleaks' `maxExtendDepth`).
pub const MAX_EXTEND_DEPTH: u32 = 2;

/// A rule file problem, in gitleaks' words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The rule id the problem is about, when there is one.
    pub rule: Option<String>,
    /// The problem (gitleaks' error text).
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn err(rule: Option<&str>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        rule: rule.map(str::to_string),
        message: message.into(),
    }
}

/// When an allowlist applies: any check (`OR`, the default) or all of them (`AND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// One matching check allows the finding.
    Or,
    /// Every configured check must match.
    And,
}

/// What an allowlist's `regexes` are tested against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegexTarget {
    /// The secret (the default; `regexTarget = "secret"`).
    Secret,
    /// The whole regex match.
    Match,
    /// The line(s) the match is on.
    Line,
}

/// An allowlist (global or per rule).
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// Free text.
    pub description: String,
    /// OR / AND.
    pub condition: Condition,
    /// Commit ids, lower-cased and trimmed, deduplicated.
    pub commits: BTreeSet<String>,
    /// Path expressions.
    pub paths: Vec<GoRegex>,
    /// What `regexes` are tested against.
    pub regex_target: RegexTarget,
    /// Content expressions.
    pub regexes: Vec<GoRegex>,
    /// Lower-cased stop words, deduplicated.
    pub stopwords: Vec<String>,
    stopword_matcher: Option<AhoCorasick>,
}

impl Allowlist {
    /// gitleaks' `CommitAllowed`.
    pub fn commit_allowed(&self, commit: Option<&str>) -> bool {
        match commit {
            Some(c) if !c.is_empty() => self.commits.contains(&c.to_lowercase()),
            _ => false,
        }
    }

    /// gitleaks' `PathAllowed`.
    pub fn path_allowed(&self, path: &str) -> bool {
        !path.is_empty() && self.paths.iter().any(|p| p.is_match(path))
    }

    /// gitleaks' `RegexAllowed`.
    pub fn regex_allowed(&self, target: &str) -> bool {
        !target.is_empty() && self.regexes.iter().any(|r| r.is_match(target))
    }

    /// gitleaks' `ContainsStopWord`: does the lower-cased secret contain a stop word.
    pub fn contains_stopword(&self, secret: &str) -> bool {
        if secret.is_empty() {
            return false;
        }
        match &self.stopword_matcher {
            Some(ac) => ac.is_match(&secret.to_lowercase()),
            None => false,
        }
    }
}

/// A composite rule's requirement (`[[rules.required]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    /// The rule that must also match.
    pub rule_id: String,
    /// At most this many lines apart.
    pub within_lines: Option<u64>,
    /// At most this many columns apart.
    pub within_columns: Option<u64>,
}

/// One detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// Free text.
    pub description: String,
    /// Content expression.
    pub regex: Option<GoRegex>,
    /// Path expression.
    pub path: Option<GoRegex>,
    /// Which capture group is the secret (0 = first non-empty group, or the match).
    pub secret_group: usize,
    /// Minimum Shannon entropy of the secret (0 = no check).
    pub entropy: f64,
    /// Lower-cased keywords; the rule runs only on fragments containing one (none = always).
    pub keywords: Vec<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// The rule's allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Composite rule requirements.
    pub required: Vec<Required>,
    /// Only report as part of a composite rule.
    pub skip_report: bool,
}

impl Rule {
    /// gitleaks' `Rule.Validate`.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.id.trim().is_empty() {
            // Current gitleaks names every field it has: description, then regex, then path.
            let mut context = String::new();
            if !self.description.is_empty() {
                context.push_str(&format!(", description: {}", self.description));
            }
            if let Some(r) = &self.regex {
                context.push_str(&format!(", regex: {}", r.as_str()));
            }
            if let Some(p) = &self.path {
                context.push_str(&format!(", path: {}", p.as_str()));
            }
            return Err(err(None, format!("rule |id| is missing or empty{context}")));
        }
        if self.regex.is_none() && self.path.is_none() {
            return Err(err(
                Some(&self.id),
                format!(
                    "{}: both |regex| and |path| are empty, this rule will have no effect",
                    self.id
                ),
            ));
        }
        if let Some(r) = &self.regex
            && self.secret_group > r.num_subexp()
        {
            return Err(err(
                Some(&self.id),
                format!(
                    "{}: invalid regex secret group {}, max regex secret group {}",
                    self.id,
                    self.secret_group,
                    r.num_subexp()
                ),
            ));
        }
        Ok(())
    }
}

/// A translated rule set.
#[derive(Debug, Clone)]
pub struct Config {
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// Rules by id.
    pub rules: BTreeMap<String, Rule>,
    /// Every rule's keywords.
    pub keywords: BTreeSet<String>,
    /// Global allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Things worth telling the user that are not errors (a disabled rule that does not exist).
    pub warnings: Vec<String>,
    /// The file this config was read from, if any (never scanned, as in gitleaks).
    pub path: Option<PathBuf>,
}

impl Config {
    /// The built-in default rule set.
    pub fn default_rules() -> Result<Self, ConfigError> {
        Self::from_toml(DEFAULT_CONFIG, Path::new("."))
    }

    /// Reads a rule file; relative `[extend] path`s resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        translate(text, 0, base_dir)
    }

    /// Reads a rule file as if it had been reached through `depth` levels of `[extend]` (so
    /// its own `[extend]` is followed only while `depth < MAX_EXTEND_DEPTH`, and rules are
    /// validated only at depth 0, as gitleaks does).
    pub fn from_toml_at_depth(
        text: &str,
        base_dir: &Path,
        depth: u32,
    ) -> Result<Self, ConfigError> {
        translate(text, depth.min(MAX_EXTEND_DEPTH), base_dir)
    }

    /// The rules in id order.
    pub fn ordered_rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    /// The expressions (rule regexes, paths, allowlists) that were used and could not be
    /// compiled, with the rule (or `allowlist`) they belong to and why.
    pub fn compile_errors(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |who: &str, re: &GoRegex| {
            if let Some(e) = re.compile_error() {
                out.push((who.to_string(), format!("`{}`: {e}", re.as_str())));
            }
        };
        for a in &self.allowlists {
            a.paths
                .iter()
                .chain(&a.regexes)
                .for_each(|r| check("allowlist", r));
        }
        for rule in self.rules.values() {
            rule.regex
                .iter()
                .chain(&rule.path)
                .for_each(|r| check(&rule.id, r));
            for a in &rule.allowlists {
                a.paths
                    .iter()
                    .chain(&a.regexes)
                    .for_each(|r| check(&rule.id, r));
            }
        }
        out
    }
}

// ---- reading the TOML the way viper + mapstructure do: keys case-insensitive ----

fn get<'a>(t: &'a Table, key: &str) -> Option<&'a Value> {
    t.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn get_str(t: &Table, key: &str, ctx: &str) -> Result<String, ConfigError> {
    match get(t, key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        // mapstructure's weak typing turns scalars into strings.
        Some(Value::Integer(i)) => Ok(i.to_string()),
        Some(Value::Float(f)) => Ok(f.to_string()),
        Some(Value::Boolean(b)) => Ok(if *b { "1".into() } else { "0".into() }),
        Some(other) => Err(err(
            None,
            format!("{ctx}'{key}' expected a string, got {}", other.type_str()),
        )),
    }
}

fn get_strings(t: &Table, key: &str, ctx: &str) -> Result<Vec<String>, ConfigError> {
    match get(t, key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(err(
                    None,
                    format!(
                        "{ctx}'{key}' expected a list of strings, found {}",
                        other.type_str()
                    ),
                )),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(err(
            None,
            format!(
                "{ctx}'{key}' expected a list of strings, got {}",
                other.type_str()
            ),
        )),
    }
}

fn get_f64(t: &Table, key: &str, ctx: &str) -> Result<f64, ConfigError> {
    match get(t, key) {
        None => Ok(0.0),
        Some(Value::Float(f)) => Ok(*f),
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| err(None, format!("{ctx}'{key}' expected a number, got {s:?}"))),
        Some(other) => Err(err(
            None,
            format!("{ctx}'{key}' expected a number, got {}", other.type_str()),
        )),
    }
}

fn get_uint(t: &Table, key: &str, ctx: &str) -> Result<Option<u64>, ConfigError> {
    match get(t, key) {
        None => Ok(None),
        Some(Value::Integer(i)) if *i >= 0 => Ok(Some(*i as u64)),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
            err(
                None,
                format!("{ctx}'{key}' expected a non-negative integer, got {s:?}"),
            )
        }),
        Some(other) => Err(err(
            None,
            format!("{ctx}'{key}' expected a non-negative integer, got {other:?}"),
        )),
    }
}

fn get_bool(t: &Table, key: &str, ctx: &str) -> Result<bool, ConfigError> {
    match get(t, key) {
        None => Ok(false),
        Some(Value::Boolean(b)) => Ok(*b),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "1" | "TRUE" | "True" | "t" | "T" => Ok(true),
            "false" | "0" | "FALSE" | "False" | "f" | "F" | "" => Ok(false),
            _ => Err(err(
                None,
                format!("{ctx}'{key}' expected a boolean, got {s:?}"),
            )),
        },
        Some(Value::Integer(i)) => Ok(*i != 0),
        Some(other) => Err(err(
            None,
            format!("{ctx}'{key}' expected a boolean, got {}", other.type_str()),
        )),
    }
}

fn get_table<'a>(t: &'a Table, key: &str, ctx: &str) -> Result<Option<&'a Table>, ConfigError> {
    match get(t, key) {
        None => Ok(None),
        Some(Value::Table(t)) => Ok(Some(t)),
        Some(other) => Err(err(
            None,
            format!("{ctx}'{key}' expected a table, got {}", other.type_str()),
        )),
    }
}

fn get_tables<'a>(t: &'a Table, key: &str, ctx: &str) -> Result<Vec<&'a Table>, ConfigError> {
    match get(t, key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::Table(t) => Ok(t),
                other => Err(err(
                    None,
                    format!("{ctx}'{key}' expected tables, found {}", other.type_str()),
                )),
            })
            .collect(),
        Some(other) => Err(err(
            None,
            format!(
                "{ctx}'{key}' expected an array of tables, got {}",
                other.type_str()
            ),
        )),
    }
}

fn compile(pattern: &str, rule: Option<&str>, what: &str) -> Result<GoRegex, ConfigError> {
    GoRegex::new(pattern).map_err(|problem| {
        let who = rule.map(|r| format!("{r}: ")).unwrap_or_default();
        err(rule, format!("{who}invalid {what} `{pattern}`: {problem}"))
    })
}

/// gitleaks' `parseAllowlist` + `Allowlist.Validate`.
fn parse_allowlist(t: &Table, rule: Option<&str>) -> Result<Allowlist, ConfigError> {
    let ctx = "allowlist ";
    let condition_text = get_str(t, "condition", ctx)?;
    let condition = match condition_text.to_uppercase().as_str() {
        "AND" | "&&" => Condition::And,
        "" | "OR" | "||" => Condition::Or,
        _ => {
            return Err(err(
                rule,
                format!("unknown allowlist |condition| '{condition_text}' (expected 'and', 'or')"),
            ));
        }
    };
    let target_text = get_str(t, "regexTarget", ctx)?;
    let regex_target = match target_text.as_str() {
        "" | "secret" => RegexTarget::Secret,
        "match" => RegexTarget::Match,
        "line" => RegexTarget::Line,
        other => {
            return Err(err(
                rule,
                format!("unknown allowlist |regexTarget| '{other}' (expected 'match', 'line')"),
            ));
        }
    };
    let regexes = get_strings(t, "regexes", ctx)?
        .iter()
        .map(|p| compile(p, rule, "allowlist regex"))
        .collect::<Result<Vec<_>, _>>()?;
    let paths = get_strings(t, "paths", ctx)?
        .iter()
        .map(|p| compile(p, rule, "allowlist path"))
        .collect::<Result<Vec<_>, _>>()?;
    let commits_raw = get_strings(t, "commits", ctx)?;
    let stopwords_raw = get_strings(t, "stopwords", ctx)?;
    if commits_raw.is_empty() && paths.is_empty() && regexes.is_empty() && stopwords_raw.is_empty()
    {
        return Err(err(
            rule,
            "must contain at least one check for: commits, paths, regexes, or stopwords",
        ));
    }
    let commits: BTreeSet<String> = commits_raw
        .iter()
        .map(|c| c.trim().to_lowercase())
        .collect();
    let stopwords: Vec<String> = stopwords_raw
        .iter()
        .map(|s| s.to_lowercase())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let stopword_matcher = if stopwords.is_empty() {
        None
    } else {
        Some(AhoCorasick::new(&stopwords).map_err(|e| err(rule, format!("stopwords: {e}")))?)
    };
    Ok(Allowlist {
        description: get_str(t, "description", ctx)?,
        condition,
        commits,
        paths,
        regex_target,
        regexes,
        stopwords,
        stopword_matcher,
    })
}

fn translate(text: &str, depth: u32, base_dir: &Path) -> Result<Config, ConfigError> {
    let root: Table = text.parse::<Table>().map_err(|e| {
        let msg = e.to_string();
        err(None, format!("invalid TOML: {}", msg.trim()))
    })?;

    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    let mut keywords = BTreeSet::new();
    for rt in get_tables(&root, "rules", "")? {
        let id = get_str(rt, "id", "rule ")?;
        let ctx = if id.is_empty() {
            "rule: ".to_string()
        } else {
            format!("{id}: ")
        };
        let ctx = ctx.as_str();
        let rid = (!id.is_empty()).then_some(id.as_str());
        let path_text = get_str(rt, "path", ctx)?;
        let regex_text = get_str(rt, "regex", ctx)?;
        let path = (!path_text.is_empty())
            .then(|| compile(&path_text, rid, "path"))
            .transpose()?;
        let regex = (!regex_text.is_empty())
            .then(|| compile(&regex_text, rid, "regex"))
            .transpose()?;
        let kws: Vec<String> = get_strings(rt, "keywords", ctx)?
            .iter()
            .map(|k| k.to_lowercase())
            .collect();
        keywords.extend(kws.iter().cloned());
        let secret_group = get_uint(rt, "secretGroup", ctx)?.unwrap_or(0);
        let mut rule = Rule {
            id: id.clone(),
            description: get_str(rt, "description", ctx)?,
            regex,
            path,
            secret_group: usize::try_from(secret_group).unwrap_or(usize::MAX),
            entropy: get_f64(rt, "entropy", ctx)?,
            keywords: kws,
            tags: get_strings(rt, "tags", ctx)?,
            allowlists: Vec::new(),
            required: Vec::new(),
            skip_report: get_bool(rt, "skipReport", ctx)?,
        };
        let old = get_table(rt, "allowlist", ctx)?;
        let new = get_tables(rt, "allowlists", ctx)?;
        if old.is_some() && !new.is_empty() {
            return Err(err(
                rid,
                format!(
                    "{id}: [rules.allowlist] is deprecated, it cannot be used alongside [[rules.allowlist]]"
                ),
            ));
        }
        for a in new.into_iter().chain(old) {
            let al = parse_allowlist(a, rid)
                .map_err(|e| err(rid, format!("{id}: [[rules.allowlists]] {}", e.message)))?;
            rule.allowlists.push(al);
        }
        for r in get_tables(rt, "required", ctx)? {
            let rid2 = get_str(r, "id", ctx)?;
            if rid2.is_empty() {
                return Err(err(
                    rid,
                    format!("{id}: [[rules.required]] rule ID is empty"),
                ));
            }
            rule.required.push(Required {
                rule_id: rid2,
                within_lines: get_uint(r, "withinLines", ctx)?,
                within_columns: get_uint(r, "withinColumns", ctx)?,
            });
        }
        rules.insert(id, rule);
    }
    for r in rules.values() {
        for req in &r.required {
            if !rules.contains_key(&req.rule_id) {
                return Err(err(
                    Some(&r.id),
                    format!(
                        "{}: [[rules.required]] rule ID '{}' does not exist",
                        r.id, req.rule_id
                    ),
                ));
            }
        }
    }

    let mut config = Config {
        title: get_str(&root, "title", "")?,
        description: get_str(&root, "description", "")?,
        rules,
        keywords,
        allowlists: Vec::new(),
        warnings: Vec::new(),
        path: None,
    };

    let old = get_table(&root, "allowlist", "")?;
    let new = get_tables(&root, "allowlists", "")?;
    if old.is_some() && !new.is_empty() {
        return Err(err(
            None,
            "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]",
        ));
    }
    let mut targeted: Vec<(String, Allowlist)> = Vec::new();
    for a in new.into_iter().chain(old) {
        let al = parse_allowlist(a, None)
            .map_err(|e| err(None, format!("[[allowlists]] {}", e.message)))?;
        let targets = get_strings(a, "targetRules", "allowlist ")?;
        if targets.is_empty() {
            config.allowlists.push(al);
        } else {
            for t in targets {
                targeted.push((t, al.clone()));
            }
        }
    }

    if depth != MAX_EXTEND_DEPTH
        && let Some(ext) = get_table(&root, "extend", "")?
    {
        let path = get_str(ext, "path", "extend ")?;
        let use_default = get_bool(ext, "useDefault", "extend ")?;
        let disabled = get_strings(ext, "disabledRules", "extend ")?;
        if !path.is_empty() && use_default {
            return Err(err(
                None,
                "unable to load config due to extend.path and extend.useDefault being set",
            ));
        }
        if use_default {
            let base = translate(DEFAULT_CONFIG, depth + 1, base_dir).map_err(|e| {
                err(
                    e.rule.as_deref(),
                    format!("failed to load extended default config, err: {}", e.message),
                )
            })?;
            config.extend(base, &disabled, "default");
        } else if !path.is_empty() {
            let full = base_dir.join(&path);
            let base = fs_err::read_to_string(&full)
                .map_err(|e| err(None, format!("failed to load extended config, err: {e}")))
                .and_then(|text| translate(&text, depth + 1, base_dir))
                .map_err(|e| {
                    let msg = if e
                        .message
                        .starts_with("failed to load extended config, err: ")
                        && e.rule.is_none()
                    {
                        e.message.clone()
                    } else {
                        format!("failed to load extended config, err: {}", e.message)
                    };
                    err(e.rule.as_deref(), msg)
                })?;
            config.extend(base, &disabled, &path);
        }
    }

    if depth == 0 {
        for rule in config.rules.values() {
            rule.validate()?;
        }
    }
    for (id, al) in targeted {
        match config.rules.get_mut(&id) {
            Some(rule) => rule.allowlists.push(al),
            None if depth == 0 => {
                return Err(err(
                    None,
                    format!("[[allowlists]] target rule ID '{id}' does not exist"),
                ));
            }
            None => {}
        }
    }
    Ok(config)
}

impl Config {
    /// gitleaks' `Config.extend`: merge `base` under `self`.
    fn extend(&mut self, base: Config, disabled: &[String], name: &str) {
        for id in disabled {
            if !base.rules.contains_key(id) {
                self.warnings.push(format!(
                    "disabled rule `{id}` does not exist in the extended config `{name}`"
                ));
            }
        }
        for (id, mut base_rule) in base.rules {
            if disabled.contains(&id) {
                continue;
            }
            match self.rules.remove(&id) {
                None => {
                    self.keywords.extend(base_rule.keywords.iter().cloned());
                    self.rules.insert(id, base_rule);
                }
                Some(current) => {
                    if !current.description.is_empty() {
                        base_rule.description = current.description;
                    }
                    if current.entropy != 0.0 {
                        base_rule.entropy = current.entropy;
                    }
                    if current.secret_group != 0 {
                        base_rule.secret_group = current.secret_group;
                    }
                    if current.regex.is_some() {
                        base_rule.regex = current.regex;
                    }
                    if current.path.is_some() {
                        base_rule.path = current.path;
                    }
                    base_rule.tags.extend(current.tags);
                    base_rule.keywords.extend(current.keywords);
                    base_rule.allowlists.extend(current.allowlists);
                    base_rule.required.extend(current.required);
                    base_rule.skip_report |= current.skip_report;
                    self.keywords.extend(base_rule.keywords.iter().cloned());
                    self.rules.insert(id, base_rule);
                }
            }
        }
        self.allowlists.extend(base.allowlists);
        self.warnings.extend(base.warnings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_like_viper() {
        let c = Config::from_toml(
            "[[RULES]]\nID = 'x'\nRegex = '''a(b)'''\nSECRETGROUP = 1\nKeyWords = ['AbC']\n",
            Path::new("."),
        )
        .unwrap();
        let r = &c.rules["x"];
        assert_eq!(r.secret_group, 1);
        assert_eq!(r.keywords, vec!["abc"]);
    }

    #[test]
    fn bad_regex_names_the_rule() {
        let e = Config::from_toml("[[rules]]\nid = 'broken'\nregex = 'a(b'\n", Path::new("."))
            .unwrap_err();
        assert_eq!(e.rule.as_deref(), Some("broken"));
        assert!(
            e.message.starts_with("broken: invalid regex `a(b`: "),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_toml_is_an_error_with_a_position() {
        let e = Config::from_toml("[[rules]\nid=1", Path::new(".")).unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn condition_and_is_parsed() {
        let c = Config::from_toml(
            "[[rules]]\nid='r'\nregex='x'\n[[rules.allowlists]]\ncondition='&&'\nstopwords=['A']\n",
            Path::new("."),
        )
        .unwrap();
        let a = &c.rules["r"].allowlists[0];
        assert_eq!(a.condition, Condition::And);
        assert_eq!(a.stopwords, vec!["a"]);
        assert!(a.contains_stopword("xxAxx"));
    }

    #[test]
    fn unknown_condition_is_rejected() {
        let e = Config::from_toml(
            "[[allowlists]]\ncondition='xor'\nstopwords=['a']\n",
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "[[allowlists]] unknown allowlist |condition| 'xor' (expected 'and', 'or')"
        );
    }

    proptest::proptest! {
        #[test]
        fn loader_never_panics(s in "\\PC{0,200}") {
            let _ = Config::from_toml(&s, Path::new("/nonexistent"));
        }
        #[test]
        fn loader_never_panics_on_rule_shaped_input(
            id in "[a-z-]{0,8}", re in "[\\\\\\[\\](){}?*+|.a-z0-9,-]{0,20}", sg in 0u8..5, kw in "[A-Za-z]{0,5}",
        ) {
            let text = format!("[[rules]]\nid='{id}'\nregex='''{re}'''\nsecretGroup={sg}\nkeywords=['{kw}']\n");
            let _ = Config::from_toml(&text, Path::new("."));
        }
    }
}
