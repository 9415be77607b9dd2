//! Baselines and alerts. Builds are taken in time order; each pipeline (repository + build
//! command) keeps a baseline of its last [`Detector::window`] builds, each repository the
//! committers, signers and commit keys it has seen. A build is compared with the baseline as
//! it stood *before* it, then added to it: an anomaly is reported once, at the build that
//! first showed it.
//!
//! What is unusual, and why:
//! - `duration`: the build took more than [`Detector::duration_ratio`] times the median of the
//!   window and more than [`Detector::duration_z`] robust deviations from it (median and
//!   median absolute deviation: one slow build in the window does not move the baseline),
//!   and at least [`MIN_DURATION_EXCESS_MS`] longer;
//! - `new-program`: a program path that no build of the window executed;
//! - `changed-program`: a known absolute path outside the build path (the toolchain, not the
//!   repository's own scripts, which change with commits) whose digest no build of the
//!   window executed;
//! - `network-attempt`: an address and port no build of the window tried (any attempt at all
//!   when the window never tried one);
//! - `write-outside-output`: a file written outside the output that no build of the window
//!   wrote;
//! - `new-signing-key`: the provenance was signed by a key that never signed this
//!   pipeline's provenance before;
//! - `new-committer`: a committer never seen in this repository;
//! - `unknown-commit-key`: a commit signed with a key never seen for its (known) author;
//! - `unsigned-commit`: an unsigned commit by an author whose earlier commits were signed.
//!
//! Nothing is reported until the pipeline (or repository) has [`Detector::min_history`]
//! builds: the first builds make the baseline.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::BuildFacts;

/// The kinds of alert, in the order reports list them.
pub const KINDS: &[&str] = &[
    "network-attempt",
    "unknown-commit-key",
    "unsigned-commit",
    "new-signing-key",
    "changed-program",
    "new-program",
    "write-outside-output",
    "new-committer",
    "duration",
];

/// One unusual thing about one build.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// One of [`KINDS`].
    pub kind: &'static str,
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    /// The pipeline (repository + command).
    pub pipeline: String,
    /// The build.
    pub build: String,
    /// When the build was recorded (Unix seconds).
    pub at: i64,
    /// The commit built, if known.
    pub commit: Option<String>,
    /// Why it is unusual, in words.
    pub why: String,
    /// The evidence: what was seen and what the baseline holds.
    pub evidence: Value,
}

impl Alert {
    /// The alert as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind,
            "severity": self.severity,
            "pipeline": self.pipeline,
            "build": self.build,
            "at": self.at,
            "commit": self.commit,
            "why": self.why,
            "evidence": self.evidence,
        })
    }
}

impl Alert {
    /// An alert read back from [`Alert::to_json`]'s JSON; `None` if it is not one (an unknown
    /// kind or severity, a missing field).
    pub fn from_json(v: &Value) -> Option<Alert> {
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let kind = KINDS.iter().copied().find(|k| Some(*k) == text("kind"))?;
        let severity = ["high", "medium", "low"]
            .into_iter()
            .find(|s| Some(*s) == text("severity"))?;
        Some(Alert {
            kind,
            severity,
            pipeline: text("pipeline")?.to_owned(),
            build: text("build")?.to_owned(),
            at: v.get("at")?.as_i64()?,
            commit: match v.get("commit")? {
                Value::Null => None,
                c => Some(c.as_str()?.to_owned()),
            },
            why: text("why")?.to_owned(),
            evidence: v.get("evidence")?.clone(),
        })
    }
}

/// The version of the baselines' stored form and of the judging rules: a stored state of
/// another version is made again from the builds (bump it with any change to what a window
/// keeps of a build, to [`State`], to [`crate::facts`] or to what is judged).
pub const STATE_VERSION: u32 = 2;

/// The least a build must take over its window's median for a `duration` alert: below a
/// second, wall time on a shared machine is the scheduler, the page cache and the recorder's
/// own hashing, not the build — a build of 10 ms that takes 30 ms once is not a finding
/// (and a short exfiltration shows as its connect or program, not as its time).
pub const MIN_DURATION_EXCESS_MS: f64 = 1000.0;

/// The detector's settings.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    /// How many past builds of a pipeline make its baseline.
    pub window: usize,
    /// How many builds a pipeline (or repository) needs before anything is reported.
    pub min_history: usize,
    /// A duration must be this many times the median…
    pub duration_ratio: f64,
    /// …and this many robust standard deviations (1.4826 × MAD) above it.
    pub duration_z: f64,
}

impl Detector {
    /// What a stored state was made with: [`STATE_VERSION`] and these settings. A state made
    /// with another is not this detector's.
    pub fn fingerprint(&self) -> String {
        format!(
            "v{STATE_VERSION} window={} min_history={} duration_ratio={} duration_z={}",
            self.window, self.min_history, self.duration_ratio, self.duration_z
        )
    }
}

impl Default for Detector {
    fn default() -> Self {
        Detector {
            window: 50,
            min_history: 10,
            duration_ratio: 1.5,
            duration_z: 6.0,
        }
    }
}

/// What one build of a pipeline's window did, as the window's counts take it: the distinct
/// programs (path, digest), endpoints and writes, and the duration. This, not the build, is
/// what a stored baseline keeps of each of its last [`Detector::window`] builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seen {
    #[serde(rename = "ms")]
    duration_ms: u64,
    #[serde(rename = "x", default)]
    executed: Vec<(String, String)>,
    #[serde(rename = "n", default)]
    endpoints: Vec<String>,
    #[serde(rename = "w", default)]
    writes: Vec<String>,
}

impl Seen {
    fn of(f: &BuildFacts) -> Self {
        Seen {
            duration_ms: f.duration_ms,
            executed: distinct(&f.executed)
                .into_iter()
                .map(|(p, d)| (p.to_owned(), d.to_owned()))
                .collect(),
            endpoints: f
                .network
                .iter()
                .map(|(e, _)| e)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .cloned()
                .collect(),
            writes: f
                .writes
                .iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .cloned()
                .collect(),
        }
    }
}

/// A pipeline's baseline: its last [`Detector::window`] builds, every key that ever signed
/// its provenance and how many builds it has had; the counts of the window are derived (kept
/// in step as builds come and go, made again when a stored baseline is read).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Baseline {
    window: VecDeque<Seen>,
    signers: BTreeSet<String>,
    seen: usize,
    /// Per program path, per digest: how many of the window's builds executed it (a path
    /// is here only while some build of the window executed it).
    #[serde(skip)]
    digests: HashMap<String, HashMap<String, usize>>,
    #[serde(skip)]
    endpoints: HashMap<String, usize>,
    #[serde(skip)]
    writes: HashMap<String, usize>,
}

/// One more (`up`) or one fewer build with `k`; a count that falls to 0 is removed. The key is
/// copied only when it is new.
fn bump(m: &mut HashMap<String, usize>, k: &str, up: bool) {
    match m.get_mut(k) {
        Some(n) if up => *n += 1,
        Some(n) => {
            *n -= 1;
            if *n == 0 {
                m.remove(k);
            }
        }
        None if up => {
            m.insert(k.to_owned(), 1);
        }
        None => {}
    }
}

impl Baseline {
    fn count(&mut self, s: &Seen, up: bool) {
        for (p, d) in &s.executed {
            match self.digests.get_mut(p.as_str()) {
                Some(m) => {
                    bump(m, d, up);
                    if m.is_empty() {
                        self.digests.remove(p.as_str());
                    }
                }
                None if up => {
                    self.digests
                        .insert(p.clone(), HashMap::from([(d.clone(), 1)]));
                }
                None => {}
            }
        }
        for e in &s.endpoints {
            bump(&mut self.endpoints, e, up);
        }
        for w in &s.writes {
            bump(&mut self.writes, w, up);
        }
    }

    fn add(&mut self, f: &BuildFacts, window: usize) {
        let s = Seen::of(f);
        self.count(&s, true);
        if let Some(k) = &f.signer_key {
            self.signers.insert(k.clone());
        }
        self.window.push_back(s);
        self.seen += 1;
        while self.window.len() > window {
            if let Some(old) = self.window.pop_front() {
                self.count(&old, false);
            }
        }
    }

    /// The counts of a baseline read back (they are not stored).
    fn recount(&mut self) {
        let window = std::mem::take(&mut self.window);
        for s in &window {
            self.count(s, true);
        }
        self.window = window;
    }
}

fn distinct(executed: &[(String, String)]) -> BTreeSet<(&str, &str)> {
    executed
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_str()))
        .collect()
}

/// Median and median absolute deviation.
pub fn median_mad(values: &[u64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    // Unstable sorts: under `total_cmp` equal values are the same bits, so the order they
    // give is the one a stable sort gives.
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_unstable_by(f64::total_cmp);
    let med = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_unstable_by(f64::total_cmp);
    (med, median_sorted(&dev))
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    match (v.get(n / 2), n.checked_sub(1).and_then(|i| v.get(i / 2))) {
        (Some(a), Some(b)) if n.is_multiple_of(2) => (a + b) / 2.0,
        (Some(a), _) => *a,
        _ => 0.0,
    }
}

/// A repository's baseline: how many builds, every committer, every key each author signed
/// with.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Repository {
    builds: usize,
    committers: BTreeSet<String>,
    author_keys: BTreeMap<String, BTreeSet<String>>,
}

/// The baselines after some builds: what the detector carries from one build to the next,
/// and what `zt watch` keeps between runs ([`State::pipeline_json`], [`State::load_pipeline`]
/// and the same per repository), so that a run reads only the builds recorded since the last.
/// Taking builds one at a time through [`Detector::step`] gives the alerts [`Detector::detect`]
/// gives over all of them, as long as each build comes after the ones before it in
/// [`order_key`] order.
#[derive(Debug, Default)]
pub struct State {
    pipelines: HashMap<String, Baseline>,
    repositories: HashMap<String, Repository>,
}

impl State {
    /// No builds yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pipelines it holds a baseline of.
    pub fn pipelines(&self) -> impl Iterator<Item = &str> {
        self.pipelines.keys().map(String::as_str)
    }

    /// The repositories it holds a baseline of.
    pub fn repositories(&self) -> impl Iterator<Item = &str> {
        self.repositories.keys().map(String::as_str)
    }

    /// A pipeline's baseline as JSON, if it has one.
    pub fn pipeline_json(&self, pipeline: &str) -> Option<String> {
        serde_json::to_string(self.pipelines.get(pipeline)?).ok()
    }

    /// A repository's baseline as JSON, if it has one.
    pub fn repository_json(&self, repository: &str) -> Option<String> {
        serde_json::to_string(self.repositories.get(repository)?).ok()
    }

    /// Takes a pipeline's baseline from [`State::pipeline_json`]'s text.
    pub fn load_pipeline(&mut self, pipeline: &str, json: &str) -> Result<(), crate::Error> {
        let mut b: Baseline = serde_json::from_str(json).map_err(|e| crate::Error::State {
            what: format!("pipeline `{pipeline}`"),
            reason: e.to_string(),
        })?;
        b.recount();
        self.pipelines.insert(pipeline.to_owned(), b);
        Ok(())
    }

    /// Takes a repository's baseline from [`State::repository_json`]'s text.
    pub fn load_repository(&mut self, repository: &str, json: &str) -> Result<(), crate::Error> {
        let r: Repository = serde_json::from_str(json).map_err(|e| crate::Error::State {
            what: format!("repository `{repository}`"),
            reason: e.to_string(),
        })?;
        self.repositories.insert(repository.to_owned(), r);
        Ok(())
    }
}

/// The order builds are judged in: time, then the place within the second, then id.
pub fn order_key(f: &BuildFacts) -> (i64, u64, &str) {
    (f.at, f.seq, f.id.as_str())
}

impl Detector {
    /// Every alert about the builds recorded at or after `since` (all of them when `None`);
    /// earlier builds only make the baselines. `builds` may come in any order.
    pub fn detect(&self, builds: &[BuildFacts], since: Option<i64>) -> Vec<Alert> {
        let mut order: Vec<&BuildFacts> = builds.iter().collect();
        order.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
        let mut state = State::new();
        let mut alerts = Vec::new();
        for f in order {
            let report = since.is_none_or(|s| f.at >= s);
            let found = self.step(&mut state, f);
            if report {
                alerts.extend(found);
            }
        }
        sort_alerts(&mut alerts);
        alerts
    }

    /// Judges one build against the baselines as they stand, then adds it to them: its alerts,
    /// in the order reports list one build's alerts. Builds must come in [`order_key`] order.
    pub fn step(&self, state: &mut State, f: &BuildFacts) -> Vec<Alert> {
        let mut alerts = Vec::new();
        if !state.pipelines.contains_key(&f.pipeline) {
            state
                .pipelines
                .insert(f.pipeline.clone(), Baseline::default());
        }
        let Some(base) = state.pipelines.get_mut(&f.pipeline) else {
            return alerts;
        };
        self.judge_build(f, base, &mut alerts);
        base.add(f, self.window);
        if !state.repositories.contains_key(&f.repository) {
            state
                .repositories
                .insert(f.repository.clone(), Repository::default());
        }
        let Some(repo) = state.repositories.get_mut(&f.repository) else {
            return alerts;
        };
        self.judge_source(f, repo, &mut alerts);
        repo.builds += 1;
        if let Some(c) = &f.committer {
            repo.committers.insert(c.clone());
        }
        if let (Some(a), Some(k)) = (&f.author, &f.commit_key) {
            repo.author_keys
                .entry(a.clone())
                .or_default()
                .insert(k.clone());
        }
        alerts
    }

    fn alert(
        f: &BuildFacts,
        kind: &'static str,
        severity: &'static str,
        why: String,
        evidence: Value,
    ) -> Alert {
        Alert {
            kind,
            severity,
            pipeline: f.pipeline.clone(),
            build: f.id.clone(),
            at: f.at,
            commit: f.commit.clone(),
            why,
            evidence,
        }
    }

    fn judge_build(&self, f: &BuildFacts, base: &Baseline, out: &mut Vec<Alert>) {
        let n = base.window.len();
        // A new signing key is judged against every key the pipeline ever had.
        if base.seen >= self.min_history
            && let Some(k) = &f.signer_key
            && !base.signers.contains(k)
        {
            out.push(Self::alert(
                f,
                "new-signing-key",
                "high",
                format!(
                    "the provenance is signed by key {k}, which never signed this pipeline's provenance in {} earlier builds",
                    base.seen
                ),
                json!({"key": k, "knownKeys": base.signers}),
            ));
        }
        if n < self.min_history {
            return;
        }
        let rarity = |count: usize| json!({"seenIn": count, "ofBuilds": n});
        let mut paths_flagged = BTreeSet::new();
        for (path, digest) in distinct(&f.executed) {
            // An exec of a path where nothing could be opened (the C library trying each
            // `PATH` entry in turn) ran nothing.
            if digest.is_empty() {
                continue;
            }
            match base.digests.get(path) {
                None => {
                    paths_flagged.insert(path);
                    out.push(Self::alert(
                        f,
                        "new-program",
                        "medium",
                        format!("executed `{path}`, which none of the last {n} builds of this pipeline executed"),
                        json!({"path": path, "digest": digest, "rarity": rarity(0)}),
                    ));
                }
                // A script of the repository's own (a relative path, or below the build
                // path) changes with the commits: only the toolchain's digests are baselined.
                Some(digests)
                    if path.starts_with('/')
                        && !path.starts_with("/build/")
                        && !digest.is_empty()
                        && !digests.contains_key(digest) =>
                {
                    let known: BTreeSet<&str> = digests.keys().map(String::as_str).collect();
                    out.push(Self::alert(
                        f,
                        "changed-program",
                        "high",
                        format!("executed `{path}` with digest {digest}, which none of the last {n} builds executed (known: {})", known.iter().copied().collect::<Vec<_>>().join(", ")),
                        json!({"path": path, "digest": digest, "knownDigests": known, "rarity": rarity(0)}),
                    ));
                }
                _ => {}
            }
        }
        let mut endpoints: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (e, p) in &f.network {
            endpoints.entry(e).or_default().insert(p);
        }
        for (endpoint, programs) in endpoints {
            let seen = base.endpoints.get(endpoint).copied().unwrap_or(0);
            if seen == 0 {
                out.push(Self::alert(
                    f,
                    "network-attempt",
                    "high",
                    format!(
                        "tried to connect to {endpoint} (from {}), which none of the last {n} builds of this pipeline tried{}",
                        programs.iter().copied().collect::<Vec<_>>().join(", "),
                        if base.endpoints.is_empty() { "; this pipeline never uses the network" } else { "" }
                    ),
                    json!({"endpoint": endpoint, "programs": programs, "rarity": rarity(seen), "outcome": "refused"}),
                ));
            }
        }
        let new_writes: Vec<&String> = f
            .writes
            .iter()
            .filter(|w| !base.writes.contains_key(*w))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !new_writes.is_empty() {
            out.push(Self::alert(
                f,
                "write-outside-output",
                "medium",
                format!(
                    "wrote {} outside its output, which none of the last {n} builds wrote",
                    new_writes
                        .iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                json!({"files": new_writes, "rarity": rarity(0)}),
            ));
        }
        let durations: Vec<u64> = base.window.iter().map(|s| s.duration_ms).collect();
        let (median, mad) = median_mad(&durations);
        let d = f.duration_ms as f64;
        // A floor on the deviation: a pipeline whose builds all took the same time (MAD 0)
        // is not alarmed by a millisecond.
        let sigma = (1.4826 * mad).max(median * 0.01).max(1.0);
        let z = (d - median) / sigma;
        if median > 0.0
            && d > self.duration_ratio * median
            && z > self.duration_z
            && d - median >= MIN_DURATION_EXCESS_MS
        {
            out.push(Self::alert(
                f,
                "duration",
                "low",
                format!(
                    "took {:.1}s, {:.1}× the median {:.1}s of the last {n} builds ({z:.1} robust deviations)",
                    d / 1000.0,
                    d / median,
                    median / 1000.0
                ),
                json!({"durationMs": f.duration_ms, "medianMs": median, "madMs": mad, "robustZ": z}),
            ));
        }
    }

    fn judge_source(&self, f: &BuildFacts, repo: &Repository, out: &mut Vec<Alert>) {
        if repo.builds < self.min_history {
            return;
        }
        if let Some(c) = &f.committer
            && !repo.committers.contains(c)
        {
            out.push(Self::alert(
                f,
                "new-committer",
                "medium",
                format!(
                    "committed by {c}, never seen in {} earlier builds of this repository",
                    repo.builds
                ),
                json!({"committer": c, "knownCommitters": repo.committers}),
            ));
        }
        if let (Some(a), Some(k)) = (&f.author, &f.commit_key)
            && let Some(keys) = repo.author_keys.get(a)
            && !keys.contains(k)
        {
            out.push(Self::alert(
                f,
                "unknown-commit-key",
                "high",
                format!("commit by {a} signed with key {k}, never seen for this author"),
                json!({"author": a, "key": k, "knownKeys": keys}),
            ));
        }
        if let (Some(a), Some(_), None) = (&f.author, &f.commit, &f.commit_key)
            && let Some(keys) = repo.author_keys.get(a)
        {
            out.push(Self::alert(
                f,
                "unsigned-commit",
                "high",
                format!("commit by {a} is not signed; this author's earlier commits were signed"),
                json!({"author": a, "knownKeys": keys}),
            ));
        }
    }
}

/// A kind's place in [`KINDS`] (the order reports list one build's alerts in).
pub fn rank(kind: &str) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len())
}

/// Sorts alerts as reports list them: by time, build, then kind; alerts equal in all three
/// keep their order.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| (a.at, &a.build, rank(a.kind)).cmp(&(b.at, &b.build, rank(b.kind))));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(i: usize, ms: u64) -> BuildFacts {
        BuildFacts {
            id: format!("b{i:03}"),
            pipeline: "r :: make".into(),
            repository: "r".into(),
            at: i as i64,
            seq: 0,
            duration_ms: ms,
            executed: vec![("/usr/bin/make".into(), "sha256:m".into())],
            network: Vec::new(),
            writes: Vec::new(),
            signer_key: Some("k".into()),
            commit: None,
            author: Some("a@x".into()),
            committer: Some("a@x".into()),
            commit_key: Some("ka".into()),
        }
    }

    #[test]
    fn median_and_mad_are_robust_to_one_outlier() {
        assert_eq!(median_mad(&[10, 11, 9, 10, 1000]), (10.0, 1.0));
        assert_eq!(median_mad(&[]), (0.0, 0.0));
        assert_eq!(median_mad(&[1, 3]), (2.0, 1.0));
    }

    #[test]
    fn short_builds_are_not_alarmed_by_their_scheduler_noise() {
        // 10–12 ms builds, then one of 40 ms: 3.6× the median and far beyond its deviation,
        // but 29 ms is no finding; 1.2 s is.
        let mut b: Vec<BuildFacts> = (0..12).map(|i| facts(i, 10 + i as u64 % 3)).collect();
        b[11].duration_ms = 40;
        assert!(Detector::default().detect(&b, None).is_empty());
        b[11].duration_ms = 1_300;
        let alerts = Detector::default().detect(&b, None);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "duration");
    }

    #[test]
    fn nothing_is_reported_while_the_baseline_is_made() {
        let mut b: Vec<BuildFacts> = (0..5).map(|i| facts(i, 1000)).collect();
        b[4].network
            .push(("203.0.113.7:443".into(), "/usr/bin/curl".into()));
        assert!(Detector::default().detect(&b, None).is_empty());
    }

    #[test]
    fn each_kind_is_reported_once_with_its_evidence() {
        let mut b: Vec<BuildFacts> = (0..30)
            .map(|i| facts(i, 1000 + (i as u64 % 7) * 10))
            .collect();
        b[20].duration_ms = 5000;
        b[21].executed.push(("/tmp/x".into(), "sha256:x".into()));
        b[22].executed[0].1 = "sha256:evil".into();
        b[23]
            .network
            .push(("203.0.113.7:443".into(), "/usr/bin/curl".into()));
        b[24].writes.push(".bashrc".into());
        b[25].signer_key = Some("k2".into());
        b[26].committer = Some("eve@x".into());
        b[27].commit_key = Some("kz".into());
        b[29].commit = Some("c29".into());
        b[29].commit_key = None;
        // Seen again: known now, not reported twice.
        b[28]
            .network
            .push(("203.0.113.7:443".into(), "/usr/bin/curl".into()));
        let alerts = Detector::default().detect(&b, None);
        let got: Vec<(&str, &str)> = alerts.iter().map(|a| (a.build.as_str(), a.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("b020", "duration"),
                ("b021", "new-program"),
                ("b022", "changed-program"),
                ("b023", "network-attempt"),
                ("b024", "write-outside-output"),
                ("b025", "new-signing-key"),
                ("b026", "new-committer"),
                ("b027", "unknown-commit-key"),
                ("b029", "unsigned-commit"),
            ]
        );
        assert_eq!(alerts[3].evidence["programs"][0], "/usr/bin/curl");
        assert!(
            alerts[0].why.contains("robust deviations"),
            "{}",
            alerts[0].why
        );
        // --since: only later builds are reported, earlier ones still make the baseline.
        let later = Detector::default().detect(&b, Some(24));
        assert_eq!(later.len(), 5);
    }
}
