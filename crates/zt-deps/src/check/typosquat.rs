//! Typosquat detection: is a dependency's name one slip away from a popular package's?
//!
//! Per ecosystem, a name is compared with the popular names in its normalised form (PyPI:
//! PEP 503; Go and RubyGems: lower case; npm: as written, since npm names are
//! case-sensitive). A popular name itself is never flagged. The rules, in order:
//!
//! - **case-or-separator**: the same letters once case and the separators `-`, `_`, `.` are
//!   ignored (`jsonstream` for npm's `JSONStream`, `requestsoauthlib`);
//! - **edit-distance** / **adjacent-swap**: one character inserted, deleted or replaced, or
//!   two neighbours swapped (Damerau–Levenshtein distance 1, optimal string alignment) —
//!   only for names of four characters or more, where one slip is still a different word;
//! - **affix-confusion**: the same name once the ecosystem's affix words are dropped — `py`
//!   / `python` for PyPI (`python-mongo` for `pymongo`, `pythonkafka` for `kafka-python`), `go` /
//!   `golang` for Go (`go-jwt` for `golang-jwt`); for PyPI also one slip away after dropping
//!   them (`openvc` for `opencv-python`), for cores of five characters or more;
//! - **host-confusion** (Go): the same module path on another code host
//!   (`gitlab.com/sirupsen/logrus` for `github.com/sirupsen/logrus`).
//!
//! The distance-1 search does not compare against every popular name: each popular name's
//! one-character deletions are indexed once ("symmetric delete"); a query looks up its own
//! deletions, and the few candidates are confirmed with an exact distance check. A check is
//! O(length) lookups, independent of the list size.

use std::collections::HashMap;
use std::path::Path;

use crate::{Ecosystem, Error};

/// How a name resembles a popular one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Differs only in case or separators.
    CaseOrSeparator,
    /// One character inserted, deleted or replaced.
    EditDistance,
    /// Two neighbouring characters swapped.
    AdjacentSwap,
    /// `py`/`python` (PyPI) or `go`/`golang` (Go) added, dropped or moved.
    AffixConfusion,
    /// The same Go module path on another host.
    HostConfusion,
}

impl Rule {
    /// The rule's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Rule::CaseOrSeparator => "case-or-separator",
            Rule::EditDistance => "edit-distance",
            Rule::AdjacentSwap => "adjacent-swap",
            Rule::AffixConfusion => "affix-confusion",
            Rule::HostConfusion => "host-confusion",
        }
    }
}

/// A popular package a name resembles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Similar {
    /// The popular package's name, as listed.
    pub name: String,
    /// Its popularity rank in the list (0 = most popular).
    pub rank: usize,
    /// How the names relate.
    pub rule: Rule,
}

/// Minimum normalised length for the distance-1 rules.
const MIN_LEN: usize = 4;
/// Minimum core length for distance 1 after dropping affixes.
const MIN_CORE_LEN: usize = 5;

/// One ecosystem's popular names with their indexes.
#[derive(Debug, Default)]
struct TopList {
    names: Vec<String>,
    /// normalised name → rank
    exact: HashMap<String, usize>,
    /// case- and separator-free form → ranks
    loose: HashMap<String, Vec<usize>>,
    /// one-deletion variants (and the name itself) of normalised names → ranks
    deletions: HashMap<String, Vec<usize>>,
    /// affix-free core → ranks (PyPI, Go)
    cores: HashMap<String, Vec<usize>>,
    /// one-deletion variants of cores → ranks (PyPI)
    core_deletions: HashMap<String, Vec<usize>>,
    /// Go: module path without its host → ranks
    paths: HashMap<String, Vec<usize>>,
}

/// Popular-package lists per ecosystem, indexed for typosquat checks.
#[derive(Debug, Default)]
pub struct TopPackages {
    lists: HashMap<Ecosystem, TopList>,
}

fn normalize(eco: Ecosystem, name: &str) -> String {
    match eco {
        Ecosystem::PyPI => crate::purl::pep503(name),
        Ecosystem::Npm => name.to_string(),
        _ => name.to_lowercase(),
    }
}

fn loose(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The name itself and every string one character shorter.
fn deletions(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len() + 1);
    out.push(s.to_string());
    for i in 0..chars.len() {
        let v: String = chars
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, c)| *c)
            .collect();
        out.push(v);
    }
    out.sort();
    out.dedup();
    out
}

/// Optimal-string-alignment distance exactly 1: which kind of slip, if any.
fn one_slip(a: &str, b: &str) -> Option<Rule> {
    if a == b {
        return None;
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() == b.len() {
        let diff: Vec<usize> = (0..a.len()).filter(|&i| a.get(i) != b.get(i)).collect();
        return match diff.as_slice() {
            [_] => Some(Rule::EditDistance),
            [i, j] if *j == i + 1 && a.get(*i) == b.get(*j) && a.get(*j) == b.get(*i) => {
                Some(Rule::AdjacentSwap)
            }
            _ => None,
        };
    }
    let (short, long) = if a.len() < b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() != short.len() + 1 {
        return None;
    }
    let i = short
        .iter()
        .zip(long.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(short.len());
    (short.get(i..) == long.get(i + 1..)).then_some(Rule::EditDistance)
}

/// The affix words of an ecosystem, longest first.
fn affixes(eco: Ecosystem) -> &'static [&'static str] {
    match eco {
        Ecosystem::PyPI => &["python", "py"],
        Ecosystem::Go => &["golang", "go"],
        _ => &[],
    }
}

/// The name without its ecosystem's affix words: each `-`-separated term loses a leading
/// or trailing affix, terms that are only an affix are dropped, separators are dropped.
/// For Go only the path after the host is reduced. `None` when no affix was found.
fn core(eco: Ecosystem, norm: &str) -> Option<String> {
    let words = affixes(eco);
    if words.is_empty() {
        return None;
    }
    let (host, path) = match eco {
        Ecosystem::Go => match norm.split_once('/') {
            Some((h, p)) => (format!("{h}/"), p),
            None => (String::new(), norm),
        },
        _ => (String::new(), norm),
    };
    let mut found = false;
    let mut out = host;
    for (si, segment) in path.split('/').enumerate() {
        if si > 0 {
            out.push('/');
        }
        for term in segment.split(['-', '_', '.']) {
            let mut t = term;
            for w in words {
                if let Some(rest) = t.strip_prefix(w) {
                    t = rest;
                    found = true;
                    break;
                }
            }
            for w in words {
                if let Some(rest) = t.strip_suffix(w) {
                    t = rest;
                    found = true;
                    break;
                }
            }
            out.push_str(t);
        }
    }
    found.then_some(out)
}

impl TopList {
    fn new(eco: Ecosystem, names: Vec<String>) -> TopList {
        let mut list = TopList::default();
        for (rank, name) in names.iter().enumerate() {
            let n = normalize(eco, name);
            if list.exact.contains_key(&n) {
                continue;
            }
            list.exact.insert(n.clone(), rank);
            list.loose.entry(loose(&n)).or_default().push(rank);
            if n.chars().count() >= MIN_LEN {
                for d in deletions(&n) {
                    list.deletions.entry(d).or_default().push(rank);
                }
            }
            if let Some(c) = core(eco, &n) {
                if c.chars().count() >= MIN_CORE_LEN && eco == Ecosystem::PyPI {
                    for d in deletions(&c) {
                        list.core_deletions.entry(d).or_default().push(rank);
                    }
                }
                list.cores.entry(c).or_default().push(rank);
            } else if eco == Ecosystem::PyPI && n.chars().count() >= MIN_CORE_LEN {
                // a name without affixes is its own core
                list.cores.entry(n.clone()).or_default().push(rank);
            }
            if eco == Ecosystem::Go
                && let Some((_, path)) = n.split_once('/')
                && path.contains('/')
            {
                list.paths.entry(path.to_string()).or_default().push(rank);
            }
        }
        list.names = names;
        list
    }

    fn check(&self, eco: Ecosystem, name: &str) -> Vec<Similar> {
        let n = normalize(eco, name);
        if self.exact.contains_key(&n) {
            return Vec::new();
        }
        let mut hits: HashMap<usize, Rule> = HashMap::new();
        let mut add = |rank: usize, rule: Rule| {
            hits.entry(rank).or_insert(rule);
        };
        for &r in self.loose.get(&loose(&n)).into_iter().flatten() {
            add(r, Rule::CaseOrSeparator);
        }
        if n.chars().count() >= MIN_LEN {
            let mut seen = Vec::new();
            for d in deletions(&n) {
                for &r in self.deletions.get(&d).into_iter().flatten() {
                    if seen.contains(&r) {
                        continue;
                    }
                    seen.push(r);
                    let top = self.names.get(r).map(|t| normalize(eco, t));
                    if let Some(rule) = top.and_then(|t| one_slip(&n, &t)) {
                        add(r, rule);
                    }
                }
            }
        }
        let own_core = core(eco, &n);
        let query_core = own_core.clone().unwrap_or_else(|| n.clone());
        for &r in self.cores.get(&query_core).into_iter().flatten() {
            let top = self.names.get(r).map(|t| normalize(eco, t));
            // two names without affixes are not an affix confusion
            if own_core.is_some() || top.as_deref().and_then(|t| core(eco, t)).is_some() {
                add(r, Rule::AffixConfusion);
            }
        }
        if eco == Ecosystem::PyPI && query_core.chars().count() >= MIN_CORE_LEN {
            for d in deletions(&query_core) {
                for &r in self.core_deletions.get(&d).into_iter().flatten() {
                    let top_core = self
                        .names
                        .get(r)
                        .and_then(|t| core(eco, &normalize(eco, t)));
                    if top_core.is_some_and(|c| one_slip(&query_core, &c).is_some()) {
                        add(r, Rule::AffixConfusion);
                    }
                }
            }
        }
        if eco == Ecosystem::Go
            && let Some((_, path)) = n.split_once('/')
        {
            for &r in self.paths.get(path).into_iter().flatten() {
                add(r, Rule::HostConfusion);
            }
        }
        let mut out: Vec<Similar> = hits
            .into_iter()
            .filter_map(|(rank, rule)| {
                Some(Similar {
                    name: self.names.get(rank)?.clone(),
                    rank,
                    rule,
                })
            })
            .collect();
        out.sort_by_key(|s| s.rank);
        out
    }
}

impl TopPackages {
    /// An index of `names` (most popular first) for `eco`, added to the others.
    pub fn add(&mut self, eco: Ecosystem, names: Vec<String>) {
        self.lists.insert(eco, TopList::new(eco, names));
    }

    /// Reads the lists in `dir`: `top_pypi_packages.json`, `top_npm_packages.json`,
    /// `top_go_packages.json`, `top_rubygems_packages.json` (each `{"packages": [names, most
    /// popular first]}`), whichever are present; at least one must be.
    pub fn load(dir: &Path) -> Result<TopPackages, Error> {
        Self::load_for(dir, None)
    }

    /// [`TopPackages::load`], indexing only the lists of `only` (when given) — the
    /// ecosystems an inventory holds. The folder must still hold at least one list.
    pub fn load_for(dir: &Path, only: Option<&[Ecosystem]>) -> Result<TopPackages, Error> {
        let mut top = TopPackages::default();
        let mut present = 0;
        for (file, eco) in [
            ("top_pypi_packages.json", Ecosystem::PyPI),
            ("top_npm_packages.json", Ecosystem::Npm),
            ("top_go_packages.json", Ecosystem::Go),
            ("top_rubygems_packages.json", Ecosystem::RubyGems),
        ] {
            let path = dir.join(file);
            if !path.is_file() {
                continue;
            }
            present += 1;
            if only.is_some_and(|o| !o.contains(&eco)) {
                continue;
            }
            let text = fs_err::read_to_string(&path)?;
            let fix = "a list is `{\"packages\": [\"name\", …]}`, most popular first";
            let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                Error::parse(&path, Some(e.line()), format!("not valid JSON: {e}"), fix)
            })?;
            let list = doc
                .get("packages")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| {
                    Error::parse(&path, None, "field `packages` (an array) is missing", fix)
                })?;
            let mut names = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let s = v.as_str().ok_or_else(|| {
                    Error::parse(&path, None, format!("`packages[{i}]` is not a string"), fix)
                })?;
                names.push(s.to_string());
            }
            top.add(eco, names);
        }
        if present == 0 {
            return Err(Error::parse(
                dir,
                None,
                "holds no `top_<ecosystem>_packages.json` list",
                "point `--top-packages` at a folder with `top_pypi_packages.json`, `top_npm_packages.json`, `top_go_packages.json` or `top_rubygems_packages.json`",
            ));
        }
        Ok(top)
    }

    /// Whether there is a list for `eco` (loaded).
    pub fn covers(&self, eco: Ecosystem) -> bool {
        self.lists.contains_key(&eco)
    }

    /// Whether `dir` holds a list for `eco` (whether or not it was loaded).
    pub fn list_file(dir: &Path, eco: Ecosystem) -> Option<std::path::PathBuf> {
        let name = match eco {
            Ecosystem::PyPI => "top_pypi_packages.json",
            Ecosystem::Npm => "top_npm_packages.json",
            Ecosystem::Go => "top_go_packages.json",
            Ecosystem::RubyGems => "top_rubygems_packages.json",
            _ => return None,
        };
        Some(dir.join(name)).filter(|p| p.is_file())
    }

    /// The popular packages `name` resembles, most popular first; empty when it is one of
    /// them, resembles none, or there is no list for `eco`.
    pub fn check(&self, eco: Ecosystem, name: &str) -> Vec<Similar> {
        self.lists
            .get(&eco)
            .map(|l| l.check(eco, name))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(eco: Ecosystem, names: &[&str]) -> TopPackages {
        let mut t = TopPackages::default();
        t.add(eco, names.iter().map(|s| s.to_string()).collect());
        t
    }

    #[test]
    fn slips() {
        assert_eq!(one_slip("requests", "reqeusts"), Some(Rule::AdjacentSwap));
        assert_eq!(one_slip("express", "expresss"), Some(Rule::EditDistance));
        assert_eq!(one_slip("sshpk", "shpk"), Some(Rule::EditDistance));
        assert_eq!(one_slip("numpy", "mumpy"), Some(Rule::EditDistance));
        assert_eq!(one_slip("abc", "cab"), None);
        assert_eq!(one_slip("abcd", "badc"), None);
        assert_eq!(one_slip("same", "same"), None);
    }

    #[test]
    fn cores() {
        assert_eq!(
            core(Ecosystem::PyPI, "python-nmap").as_deref(),
            Some("nmap")
        );
        assert_eq!(
            core(Ecosystem::PyPI, "nmap-python").as_deref(),
            Some("nmap")
        );
        assert_eq!(
            core(Ecosystem::PyPI, "pythonkafka").as_deref(),
            Some("kafka")
        );
        assert_eq!(core(Ecosystem::PyPI, "requests"), None);
        assert_eq!(
            core(Ecosystem::Go, "github.com/gin-golangnic/gin").as_deref(),
            Some("github.com/ginnic/gin")
        );
    }

    #[test]
    fn rules_and_non_hits() {
        let py = list(
            Ecosystem::PyPI,
            &[
                "requests",
                "python-dateutil",
                "pymongo",
                "opencv-python",
                "pip",
            ],
        );
        let hit = |n: &str| py.check(Ecosystem::PyPI, n);
        assert_eq!(hit("reqeusts")[0].rule, Rule::AdjacentSwap);
        assert_eq!(hit("dateutil")[0].name, "python-dateutil");
        assert_eq!(hit("dateutil")[0].rule, Rule::AffixConfusion);
        assert_eq!(hit("python-mongo")[0].name, "pymongo");
        assert_eq!(hit("openvc")[0].name, "opencv-python");
        assert!(hit("Requests").is_empty());
        assert!(hit("python_dateutil").is_empty());
        assert!(hit("pip").is_empty());
        assert!(
            hit("pop").is_empty(),
            "three letters: too short to call a slip"
        );
        let npm = list(Ecosystem::Npm, &["JSONStream", "lodash.pick"]);
        assert_eq!(
            npm.check(Ecosystem::Npm, "jsonstream")[0].rule,
            Rule::CaseOrSeparator
        );
        assert!(npm.check(Ecosystem::Npm, "lodash.pick").is_empty());
        let go = list(Ecosystem::Go, &["github.com/sirupsen/logrus"]);
        assert_eq!(
            go.check(Ecosystem::Go, "gitlab.com/sirupsen/logrus")[0].rule,
            Rule::HostConfusion
        );
        assert!(py.check(Ecosystem::Npm, "reqeusts").is_empty());
    }
}
