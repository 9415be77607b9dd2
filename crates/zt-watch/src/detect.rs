//! Baselines and alerts. Builds are taken in time order; each pipeline (repository + build
//! command) keeps a baseline of its last [`Detector::window`] builds, each repository the
//! committers, signers and commit keys it has seen. A build is compared with the baseline as
//! it stood *before* it, then added to it: an anomaly is reported once, at the build that
//! first showed it.
//!
//! What is unusual, and why:
//! - `duration`: the build took more than [`Detector::duration_ratio`] times the median of the
//!   window and more than [`Detector::duration_z`] robust deviations from it (median and
//!   median absolute deviation: one slow build in the window does not move the baseline);
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

/// Counts of what the builds in a window did, kept in step with the window.
#[derive(Default)]
struct Baseline<'a> {
    builds: VecDeque<&'a BuildFacts>,
    durations: VecDeque<u64>,
    paths: HashMap<String, usize>,
    digests: HashMap<(String, String), usize>,
    endpoints: HashMap<String, usize>,
    writes: HashMap<String, usize>,
    signers: BTreeSet<String>,
    seen: usize,
}

fn bump(m: &mut HashMap<String, usize>, k: &str, up: bool) {
    if up {
        *m.entry(k.to_owned()).or_default() += 1;
    } else if let Some(n) = m.get_mut(k) {
        *n -= 1;
        if *n == 0 {
            m.remove(k);
        }
    }
}

impl<'a> Baseline<'a> {
    fn count(&mut self, f: &BuildFacts, up: bool) {
        for (p, d) in distinct(&f.executed) {
            bump(&mut self.paths, p, up);
            let k = (p.to_owned(), d.to_owned());
            if up {
                *self.digests.entry(k).or_default() += 1;
            } else if let Some(n) = self.digests.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.digests.remove(&k);
                }
            }
        }
        for e in f.network.iter().map(|(e, _)| e).collect::<BTreeSet<_>>() {
            bump(&mut self.endpoints, e, up);
        }
        for w in f.writes.iter().collect::<BTreeSet<_>>() {
            bump(&mut self.writes, w, up);
        }
    }

    fn add(&mut self, f: &'a BuildFacts, window: usize) {
        self.count(f, true);
        self.durations.push_back(f.duration_ms);
        if let Some(k) = &f.signer_key {
            self.signers.insert(k.clone());
        }
        self.builds.push_back(f);
        self.seen += 1;
        while self.builds.len() > window {
            if let Some(old) = self.builds.pop_front() {
                self.count(old, false);
            }
            self.durations.pop_front();
        }
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
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let med = median_sorted(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
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

#[derive(Default)]
struct Repository {
    builds: usize,
    committers: BTreeSet<String>,
    author_keys: BTreeMap<String, BTreeSet<String>>,
}

impl Detector {
    /// Every alert about the builds recorded at or after `since` (all of them when `None`);
    /// earlier builds only make the baselines. `builds` may come in any order.
    pub fn detect(&self, builds: &[BuildFacts], since: Option<i64>) -> Vec<Alert> {
        let mut order: Vec<&BuildFacts> = builds.iter().collect();
        order.sort_by(|a, b| (a.at, a.seq, &a.id).cmp(&(b.at, b.seq, &b.id)));
        let mut pipelines: HashMap<&str, Baseline<'_>> = HashMap::new();
        let mut repos: HashMap<String, Repository> = HashMap::new();
        let mut alerts = Vec::new();
        for f in order {
            let report = since.is_none_or(|s| f.at >= s);
            let base = pipelines.entry(f.pipeline.as_str()).or_default();
            let repo = repos.entry(f.repository.clone()).or_default();
            if report {
                self.judge_build(f, base, &mut alerts);
                self.judge_source(f, repo, &mut alerts);
            }
            base.add(f, self.window);
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
        }
        alerts.sort_by(|a, b| (a.at, &a.build, rank(a.kind)).cmp(&(b.at, &b.build, rank(b.kind))));
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
        let n = base.builds.len();
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
            match base.paths.get(path) {
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
                Some(_)
                    if path.starts_with('/')
                        && !path.starts_with("/build/")
                        && !digest.is_empty()
                        && !base
                            .digests
                            .contains_key(&(path.to_owned(), digest.to_owned())) =>
                {
                    let known: BTreeSet<&str> = base
                        .digests
                        .keys()
                        .filter(|(p, _)| p == path)
                        .map(|(_, d)| d.as_str())
                        .collect();
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
        let durations: Vec<u64> = base.durations.iter().copied().collect();
        let (median, mad) = median_mad(&durations);
        let d = f.duration_ms as f64;
        // A floor on the deviation: a pipeline whose builds all took the same time (MAD 0)
        // is not alarmed by a millisecond.
        let sigma = (1.4826 * mad).max(median * 0.01).max(1.0);
        let z = (d - median) / sigma;
        if median > 0.0 && d > self.duration_ratio * median && z > self.duration_z {
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

fn rank(kind: &str) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len())
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
