//! A seeded generator of build histories with injected anomalies, to measure the detector
//! (precision and recall) and its speed. The labels are returned apart from the builds: the
//! detector never sees them.
//!
//! Normal builds: each pipeline has a fixed set of programs plus optional ones (each run in
//! 30 % of builds), a duration with ±8 % noise and a 2 % chance of a 1.3× slow build, one
//! provenance signing key per repository, and 3–5 committers per repository, each signing
//! with one key of their own (the first builds of a repository go round its committers).

use crate::BuildFacts;

/// splitmix64: small, seeded, the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// Roughly normal (sum of uniforms), mean 0, deviation 1.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

/// An injected anomaly: the build and the kind of alert it should raise.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    /// The build's id.
    pub build: String,
    /// The alert kind (one of [`crate::KINDS`]).
    pub kind: &'static str,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The seed.
    pub seed: u64,
    /// How many builds in all.
    pub builds: usize,
    /// Over how many pipelines (two per repository).
    pub pipelines: usize,
    /// Chance that a build (past its pipeline's first 15) gets one injected anomaly.
    pub anomaly_rate: f64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 18,
            builds: 2000,
            pipelines: 20,
            anomaly_rate: 0.08,
        }
    }
}

const POOL: &[&str] = &[
    "/usr/bin/make",
    "/usr/bin/cc",
    "/usr/lib/gcc/x86_64-linux-gnu/14/cc1",
    "/usr/bin/as",
    "/usr/bin/ld",
    "/usr/bin/ar",
    "/usr/bin/python3",
    "/usr/bin/cargo",
    "/usr/bin/rustc",
    "/usr/bin/node",
    "/usr/bin/npm",
    "/usr/bin/go",
    "/usr/bin/javac",
    "/usr/bin/sed",
    "/usr/bin/install",
    "/usr/bin/strip",
];

const INJECTED: &[&str] = &[
    "duration",
    "new-program",
    "changed-program",
    "network-attempt",
    "write-outside-output",
    "new-signing-key",
    "new-committer",
    "unknown-commit-key",
];

struct Pipeline {
    repo: usize,
    command: String,
    programs: Vec<usize>,
    optional: Vec<usize>,
    base_ms: f64,
    built: usize,
}

/// Generates `spec.builds` builds (time-ordered, one a minute) and the labels of the
/// anomalies injected.
pub fn history(spec: &Spec) -> (Vec<BuildFacts>, Vec<Label>) {
    let mut rng = Rng::new(spec.seed);
    let repos = spec.pipelines.div_ceil(2).max(1);
    let committers: Vec<Vec<(String, String)>> = (0..repos)
        .map(|r| {
            let n = 3 + rng.below(3);
            (0..n)
                .map(|c| {
                    (
                        format!("dev{c}@repo{r}.example"),
                        format!("SHA256:r{r}c{c}"),
                    )
                })
                .collect()
        })
        .collect();
    let mut repo_builds = vec![0usize; repos];
    let mut pipelines: Vec<Pipeline> = (0..spec.pipelines)
        .map(|p| {
            let mut all: Vec<usize> = (0..POOL.len()).collect();
            for i in (1..all.len()).rev() {
                all.swap(i, rng.below(i + 1));
            }
            let k = 3 + rng.below(4);
            Pipeline {
                repo: p / 2,
                command: if p % 2 == 0 {
                    "make all".into()
                } else {
                    "make test".into()
                },
                programs: all.get(..k).unwrap_or_default().to_vec(),
                optional: all.get(k..k + 2).unwrap_or_default().to_vec(),
                base_ms: 20_000.0 + rng.unit() * 580_000.0,
                built: 0,
            }
        })
        .collect();
    let mut builds = Vec::with_capacity(spec.builds);
    let mut labels = Vec::new();
    for i in 0..spec.builds {
        let pi = rng.below(pipelines.len().max(1));
        let Some(p) = pipelines.get_mut(pi) else {
            break;
        };
        p.built += 1;
        let repo = p.repo;
        let people = committers.get(repo).cloned().unwrap_or_default();
        let rb = repo_builds.get(repo).copied().unwrap_or(0);
        let who = if rb < people.len() {
            rb
        } else {
            rng.below(people.len())
        };
        if let Some(n) = repo_builds.get_mut(repo) {
            *n += 1;
        }
        let (email, key) = people.get(who).cloned().unwrap_or_default();
        let noise = 1.0 + 0.08 * rng.normal();
        let slow = if rng.unit() < 0.02 { 1.3 } else { 1.0 };
        let mut executed: Vec<(String, String)> = p
            .programs
            .iter()
            .chain(p.optional.iter().filter(|_| rng.unit() < 0.3))
            .filter_map(|&j| POOL.get(j))
            .map(|path| (path.to_string(), format!("sha256:{:x}", fnv(path))))
            .collect();
        executed.sort();
        executed.dedup();
        let id = format!("build-{i:05}");
        let mut f = BuildFacts {
            id: id.clone(),
            pipeline: format!("git+https://git.example/repo{repo} :: {}", p.command),
            repository: format!("git+https://git.example/repo{repo}"),
            at: 1_700_000_000 + 60 * i as i64,
            seq: 0,
            duration_ms: (p.base_ms * noise.max(0.5) * slow) as u64,
            executed,
            network: Vec::new(),
            writes: Vec::new(),
            signer_key: Some(format!("pipeline-key-{repo}")),
            commit: Some(format!("{:040x}", rng.next_u64())),
            author: Some(email.clone()),
            committer: Some(email),
            commit_key: Some(key),
        };
        if p.built > 15 && rng.unit() < spec.anomaly_rate {
            let kind = INJECTED
                .get(rng.below(INJECTED.len()))
                .copied()
                .unwrap_or("duration");
            let tag = rng.next_u64();
            match kind {
                "duration" => {
                    f.duration_ms = (f.duration_ms as f64 * (3.0 + rng.unit() * 5.0)) as u64
                }
                "new-program" => f
                    .executed
                    .push((format!("/tmp/.x{tag:x}/payload"), format!("sha256:{tag:x}"))),
                "changed-program" => {
                    if let Some(e) = f.executed.first_mut() {
                        e.1 = format!("sha256:{tag:x}");
                    }
                }
                "network-attempt" => f.network.push((
                    format!("198.51.100.{}:{}", tag % 250, 1024 + tag % 60000),
                    f.executed.first().map(|e| e.0.clone()).unwrap_or_default(),
                )),
                "write-outside-output" => {
                    f.writes.push(format!(".git/hooks/post-checkout-{tag:x}"))
                }
                "new-signing-key" => f.signer_key = Some(format!("stolen-key-{tag:x}")),
                "new-committer" => {
                    let e = format!("mallory{tag:x}@evil.example");
                    f.committer = Some(e.clone());
                    f.author = Some(e);
                    f.commit_key = Some(format!("SHA256:m{tag:x}"));
                }
                _ => f.commit_key = Some(format!("SHA256:forged{tag:x}")),
            }
            labels.push(Label { build: id, kind });
        }
        builds.push(f);
    }
    (builds, labels)
}

/// `facts` as the build record zt stores (a provenance predicate with the sandbox's
/// `internalParameters.behaviour` and the pipeline's `ztWatch` object), so that a generated
/// history can be loaded into a real ledger and read back by [`BuildFacts::from_record`].
pub fn record(facts: &BuildFacts) -> serde_json::Value {
    let command: Vec<&str> = facts
        .pipeline
        .split_once(" :: ")
        .map(|(_, c)| c.split(' ').collect())
        .unwrap_or_default();
    serde_json::json!({
        "buildDefinition": {
            "buildType": "https://zt.dev/build/v1",
            "externalParameters": {"command": command, "source": facts.commit},
            "internalParameters": {"behaviour": {
                "recorded": true,
                "durationMs": facts.duration_ms,
                "executed": facts.executed.iter().map(|(p, d)| serde_json::json!({"path": p, "digest": d, "count": 1})).collect::<Vec<_>>(),
                "network": facts.network.iter().map(|(e, p)| {
                    let (a, port) = e.rsplit_once(':').unwrap_or((e.as_str(), "0"));
                    serde_json::json!({"family": "inet", "address": a, "port": port.parse::<u16>().unwrap_or(0), "program": p, "count": 1})
                }).collect::<Vec<_>>(),
                "writes": facts.writes,
            }},
        },
        "runDetails": {"metadata": {"invocationId": facts.id}},
        "ztWatch": {
            "repository": facts.repository,
            "signerKey": facts.signer_key,
            "commit": facts.commit,
            "author": facts.author,
            "committer": facts.committer,
            "commitKey": facts.commit_key,
        },
    })
}

/// A fixed, made-up digest per path (FNV-1a).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Precision and recall of `alerts` against `labels`: an alert counts as right when its
/// build and kind match a label.
pub fn score(alerts: &[crate::Alert], labels: &[Label]) -> (f64, f64, usize, usize, usize) {
    use std::collections::BTreeSet;
    let truth: BTreeSet<(&str, &str)> = labels.iter().map(|l| (l.build.as_str(), l.kind)).collect();
    let found: BTreeSet<(&str, &str)> = alerts.iter().map(|a| (a.build.as_str(), a.kind)).collect();
    let tp = found.intersection(&truth).count();
    let precision = if found.is_empty() {
        1.0
    } else {
        tp as f64 / found.len() as f64
    };
    let recall = if truth.is_empty() {
        1.0
    } else {
        tp as f64 / truth.len() as f64
    };
    (precision, recall, tp, found.len(), truth.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_seeded() {
        let a = history(&Spec::default());
        let b = history(&Spec::default());
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_eq!(a.0.len(), 2000);
        let other = history(&Spec {
            seed: 7,
            ..Spec::default()
        });
        assert_ne!(a.1, other.1);
    }

    #[test]
    fn a_generated_record_reads_back_as_the_same_facts() {
        let (builds, _) = history(&Spec::default());
        for f in builds.iter().take(300) {
            let back = BuildFacts::from_record(&f.id, f.at, &record(f));
            assert_eq!(&back, f);
        }
    }

    /// `zt watch` reads records from their text ([`BuildFacts::from_json`]): every record of
    /// the seeded history (the one `bench/watch.sh` loads) gives the facts it was made of.
    #[test]
    fn a_generated_record_reads_back_from_its_text() {
        let (builds, _) = history(&Spec::default());
        for f in &builds {
            let text = record(f).to_string();
            assert_eq!(&BuildFacts::from_json(&f.id, f.at, &text).unwrap(), f);
        }
    }

    #[test]
    fn every_kind_is_injected() {
        let (_, labels) = history(&Spec::default());
        for k in INJECTED {
            let n = labels.iter().filter(|l| l.kind == *k).count();
            assert!(n >= 5, "{k}: {n} injected");
        }
    }
}
