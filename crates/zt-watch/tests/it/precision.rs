//! The detector on a generated history: 2,000 builds over 20 pipelines with injected
//! anomalies of every kind. The detector never sees the labels; precision and recall are
//! printed and must both be at least 0.9.

use zt_watch::generate::{Spec, history, score};
use zt_watch::{Detector, KINDS};

#[test]
fn precision_and_recall_on_a_seeded_history_are_at_least_0_9() {
    for seed in [18u64, 1, 2] {
        let (builds, labels) = history(&Spec {
            seed,
            ..Spec::default()
        });
        let alerts = Detector::default().detect(&builds, None);
        let (precision, recall, tp, found, truth) = score(&alerts, &labels);
        println!(
            "seed {seed}: {} builds, {truth} injected, {found} alerts, {tp} right: precision {precision:.3}, recall {recall:.3}",
            builds.len()
        );
        for k in KINDS {
            let l: Vec<_> = labels.iter().filter(|l| l.kind == *k).cloned().collect();
            let a: Vec<_> = alerts.iter().filter(|a| a.kind == *k).cloned().collect();
            let (p, r, _, n, t) = score(&a, &l);
            println!("  {k:22} injected {t:3} alerts {n:3} precision {p:.3} recall {r:.3}");
        }
        assert!(precision >= 0.9, "precision {precision}");
        assert!(recall >= 0.9, "recall {recall}");
    }
}

#[test]
fn an_injection_free_history_raises_few_alerts() {
    let (builds, labels) = history(&Spec {
        anomaly_rate: 0.0,
        ..Spec::default()
    });
    assert!(labels.is_empty());
    let alerts = Detector::default().detect(&builds, None);
    println!(
        "clean history: {} alerts over {} builds",
        alerts.len(),
        builds.len()
    );
    assert!(alerts.len() <= 5, "{:#?}", alerts);
}
