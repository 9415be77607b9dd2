//! The baselines kept between runs: the seeded history taken in chunks — each chunk's builds
//! in the order they arrived, the touched baselines read back from their stored JSON, the
//! alerts stored as JSON — gives exactly the alerts of one pass over the whole history.
// Helpers are test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use zt_watch::detect::{order_key, sort_alerts};
use zt_watch::generate::{Spec, history};
use zt_watch::{Alert, BuildFacts, Detector, State};

/// What a ledger keeps between runs: baselines by (kind, name) and alerts as JSON.
#[derive(Default)]
struct Stored {
    states: BTreeMap<(&'static str, String), String>,
    alerts: Vec<String>,
}

impl Stored {
    /// One run over `chunk` (builds in the order they were recorded), reading only the
    /// baselines the chunk touches.
    fn run(&mut self, detector: &Detector, chunk: &[BuildFacts]) {
        let mut state = State::new();
        for f in chunk {
            if let Some(s) = self.states.get(&("pipeline", f.pipeline.clone())) {
                state.load_pipeline(&f.pipeline, s).unwrap();
            }
            if let Some(s) = self.states.get(&("repository", f.repository.clone())) {
                state.load_repository(&f.repository, s).unwrap();
            }
        }
        let mut order: Vec<&BuildFacts> = chunk.iter().collect();
        order.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
        for f in order {
            for a in detector.step(&mut state, f) {
                self.alerts.push(a.to_json().to_string());
            }
        }
        let pipelines: Vec<String> = state.pipelines().map(str::to_owned).collect();
        for p in pipelines {
            let json = state.pipeline_json(&p).unwrap();
            self.states.insert(("pipeline", p), json);
        }
        let repositories: Vec<String> = state.repositories().map(str::to_owned).collect();
        for r in repositories {
            let json = state.repository_json(&r).unwrap();
            self.states.insert(("repository", r), json);
        }
    }

    fn alerts(&self) -> Vec<Alert> {
        let mut all: Vec<Alert> = self
            .alerts
            .iter()
            .map(|t| Alert::from_json(&serde_json::from_str(t).unwrap()).unwrap())
            .collect();
        sort_alerts(&mut all);
        all
    }
}

fn chunked(builds: &[BuildFacts], cuts: &[usize], detector: &Detector) -> Vec<Alert> {
    let mut stored = Stored::default();
    let mut start = 0;
    for &end in cuts.iter().chain([builds.len()].iter()) {
        // Within a chunk, recorded in another order than their times (they are sorted).
        let mut chunk = builds[start..end].to_vec();
        chunk.reverse();
        stored.run(detector, &chunk);
        start = end;
    }
    stored.alerts()
}

#[test]
fn chunks_of_the_seeded_history_give_the_alerts_of_one_pass() {
    for seed in [18u64, 1, 2] {
        let (builds, _) = history(&Spec {
            seed,
            ..Spec::default()
        });
        let detector = Detector::default();
        let whole = detector.detect(&builds, None);
        assert!(whole.len() > 100, "{} alerts", whole.len());
        for cuts in [
            vec![],
            vec![1, 2, 3, 500, 501, 1999],
            vec![7, 60, 333, 1000, 1400],
            (1..builds.len()).collect::<Vec<_>>(),
        ] {
            let got = chunked(&builds, &cuts, &detector);
            assert_eq!(got.len(), whole.len(), "seed {seed}, {} cuts", cuts.len());
            for (g, w) in got.iter().zip(&whole) {
                assert_eq!(g, w, "seed {seed}, {} cuts", cuts.len());
                assert_eq!(g.to_json().to_string(), w.to_json().to_string());
            }
        }
    }
}

#[test]
fn a_baseline_that_does_not_read_is_an_error_not_a_panic() {
    let mut state = State::new();
    assert!(state.load_pipeline("p", "{\"window\": 3}").is_err());
    assert!(state.load_repository("r", "[").is_err());
    assert!(state.pipelines().next().is_none());
}
