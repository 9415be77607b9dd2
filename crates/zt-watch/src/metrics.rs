//! The seed's §16 figures, computed from records: reproducibility rate, the sandbox's own
//! share of build time, policy pass rate and the rules that deny most, mean time to detect
//! and to contain from drills, open critical vulnerabilities and waivers near expiry.
//! [`compute`] is pure (the caller gathers the inputs: zt-pipeline from the ledger and the
//! workspace); [`prometheus`] renders the figures in the Prometheus text format for a server's
//! `/metrics`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One policy decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// When (Unix seconds).
    pub at: i64,
    /// Whether it allowed.
    pub allowed: bool,
    /// The ids of the rules that denied.
    pub denies: Vec<String>,
}

/// One drill's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drill {
    /// When (Unix seconds).
    pub at: i64,
    /// Whether it was detected.
    pub detected: bool,
    /// Milliseconds to detect.
    pub detect_ms: u64,
    /// Milliseconds to contain.
    pub contain_ms: u64,
}

/// What the metrics count of one build (the ledger keeps these beside each build record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildFigures {
    /// When it was recorded (Unix seconds).
    pub at: i64,
    /// Whether its rebuild matched; `None`: not rebuilt.
    pub reproducible: Option<bool>,
    /// The sandbox's set-up time (ms), when behaviour was recorded.
    pub setup_ms: Option<u64>,
    /// The build command's run time (ms), when behaviour was recorded.
    pub duration_ms: Option<u64>,
}

/// What the figures are computed from.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The builds' figures.
    pub builds: Vec<BuildFigures>,
    /// Policy decisions.
    pub decisions: Vec<Decision>,
    /// Drills.
    pub drills: Vec<Drill>,
    /// Open critical findings: (advisory, package), unwaived, in the latest scan of each SBOM.
    pub open_criticals: Vec<(String, String)>,
    /// Waivers: (advisory id, package, expiry in Unix seconds).
    pub waivers: Vec<(String, String, i64)>,
    /// Only records at or after this time count.
    pub since: i64,
    /// Now (for waiver expiry).
    pub now: i64,
    /// A waiver expiring within this many seconds is "near expiry".
    pub near_expiry: i64,
}

/// The figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Builds counted.
    pub builds: usize,
    /// Builds rebuilt and compared.
    pub rebuilt: usize,
    /// Share of those found reproducible (`None`: none rebuilt).
    pub reproducibility_rate: Option<f64>,
    /// The sandbox's set-up time as a share of the builds' command time (`None`: no
    /// behaviour records).
    pub sandbox_overhead: Option<f64>,
    /// Decisions counted.
    pub decisions: usize,
    /// Share that allowed (`None`: none).
    pub policy_pass_rate: Option<f64>,
    /// The rules that denied most: (rule, count), most first, at most 5.
    pub top_deny_rules: Vec<(String, usize)>,
    /// Drills counted.
    pub drills: usize,
    /// Share detected.
    pub drill_detection_rate: Option<f64>,
    /// Mean time to detect, in milliseconds, over detected drills.
    pub mean_time_to_detect_ms: Option<f64>,
    /// Mean time to contain, in milliseconds, over detected drills.
    pub mean_time_to_contain_ms: Option<f64>,
    /// Open critical findings.
    pub open_criticals: Vec<(String, String)>,
    /// Waivers expiring within the window: (id, package, expiry RFC 3339).
    pub waivers_near_expiry: Vec<(String, String, String)>,
}

fn rate(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

fn mean(v: &[u64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64)
}

/// Computes the figures.
pub fn compute(i: &Inputs) -> Metrics {
    let builds: Vec<&BuildFigures> = i.builds.iter().filter(|b| b.at >= i.since).collect();
    let repro: Vec<bool> = builds.iter().filter_map(|b| b.reproducible).collect();
    let (mut setup, mut run) = (0u64, 0u64);
    for b in &builds {
        setup = setup.saturating_add(b.setup_ms.unwrap_or(0));
        run = run.saturating_add(b.duration_ms.unwrap_or(0));
    }
    let decisions: Vec<&Decision> = i.decisions.iter().filter(|d| d.at >= i.since).collect();
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &decisions {
        for r in &d.denies {
            *rules.entry(r).or_default() += 1;
        }
    }
    let mut top: Vec<(String, usize)> = rules.into_iter().map(|(r, n)| (r.to_owned(), n)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(5);
    let drills: Vec<&Drill> = i.drills.iter().filter(|d| d.at >= i.since).collect();
    let detected: Vec<&&Drill> = drills.iter().filter(|d| d.detected).collect();
    let mut near: Vec<(String, String, String)> = i
        .waivers
        .iter()
        .filter(|(_, _, exp)| *exp >= i.now && *exp - i.now <= i.near_expiry)
        .map(|(id, p, exp)| (id.clone(), p.clone(), zt_core::time::rfc3339(*exp)))
        .collect();
    near.sort_by(|a, b| a.2.cmp(&b.2));
    Metrics {
        builds: builds.len(),
        rebuilt: repro.len(),
        reproducibility_rate: rate(repro.iter().filter(|r| **r).count(), repro.len()),
        sandbox_overhead: (run > 0).then(|| setup as f64 / run as f64),
        decisions: decisions.len(),
        policy_pass_rate: rate(
            decisions.iter().filter(|d| d.allowed).count(),
            decisions.len(),
        ),
        top_deny_rules: top,
        drills: drills.len(),
        drill_detection_rate: rate(detected.len(), drills.len()),
        mean_time_to_detect_ms: mean(&detected.iter().map(|d| d.detect_ms).collect::<Vec<_>>()),
        mean_time_to_contain_ms: mean(&detected.iter().map(|d| d.contain_ms).collect::<Vec<_>>()),
        open_criticals: i.open_criticals.clone(),
        waivers_near_expiry: near,
    }
}

/// The figures in the Prometheus text exposition format (for a server's `/metrics`); figures
/// with no data are left out rather than reported as 0.
pub fn prometheus(m: &Metrics) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, v: Option<f64>| {
        if let Some(v) = v {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            ));
        }
    };
    gauge("zt_builds", "Build records counted.", Some(m.builds as f64));
    gauge(
        "zt_reproducibility_ratio",
        "Share of rebuilt builds found reproducible.",
        m.reproducibility_rate,
    );
    gauge(
        "zt_sandbox_overhead_ratio",
        "Sandbox set-up time over build command time.",
        m.sandbox_overhead,
    );
    gauge(
        "zt_policy_pass_ratio",
        "Share of policy decisions that allowed.",
        m.policy_pass_rate,
    );
    gauge(
        "zt_drill_detection_ratio",
        "Share of drills detected.",
        m.drill_detection_rate,
    );
    gauge(
        "zt_mean_time_to_detect_seconds",
        "Mean time to detect over detected drills.",
        m.mean_time_to_detect_ms.map(|x| x / 1000.0),
    );
    gauge(
        "zt_mean_time_to_contain_seconds",
        "Mean time to contain over detected drills.",
        m.mean_time_to_contain_ms.map(|x| x / 1000.0),
    );
    gauge(
        "zt_open_critical_vulnerabilities",
        "Open critical findings, unwaived.",
        Some(m.open_criticals.len() as f64),
    );
    gauge(
        "zt_waivers_near_expiry",
        "Waivers expiring soon.",
        Some(m.waivers_near_expiry.len() as f64),
    );
    if !m.top_deny_rules.is_empty() {
        out.push_str("# HELP zt_policy_denies_total Denies per rule.\n# TYPE zt_policy_denies_total counter\n");
        for (rule, n) in &m.top_deny_rules {
            let rule = rule.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("zt_policy_denies_total{{rule=\"{rule}\"}} {n}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_from_records() {
        let build = |at: i64, reproducible: Option<bool>, setup: u64, run: u64| BuildFigures {
            at,
            reproducible,
            setup_ms: Some(setup),
            duration_ms: Some(run),
        };
        let i = Inputs {
            builds: vec![
                build(10, Some(true), 4, 100),
                build(11, Some(false), 4, 100),
                build(12, None, 2, 200),
                build(1, Some(false), 100, 1), // before --since
            ],
            decisions: vec![
                Decision {
                    at: 10,
                    allowed: true,
                    denies: vec![],
                },
                Decision {
                    at: 11,
                    allowed: false,
                    denies: vec!["vuln.critical".into(), "provenance.missing".into()],
                },
                Decision {
                    at: 12,
                    allowed: false,
                    denies: vec!["vuln.critical".into()],
                },
            ],
            drills: vec![
                Drill {
                    at: 10,
                    detected: true,
                    detect_ms: 400,
                    contain_ms: 600,
                },
                Drill {
                    at: 10,
                    detected: true,
                    detect_ms: 200,
                    contain_ms: 200,
                },
                Drill {
                    at: 10,
                    detected: false,
                    detect_ms: 0,
                    contain_ms: 0,
                },
            ],
            open_criticals: vec![("CVE-1".into(), "pkg:npm/a@1".into())],
            waivers: vec![
                ("CVE-2".into(), "pkg:npm/b@1".into(), 100 + 86_400),
                ("CVE-3".into(), "pkg:npm/c@1".into(), 100 + 90 * 86_400),
                ("CVE-4".into(), "pkg:npm/d@1".into(), 50), // already expired
            ],
            since: 10,
            now: 100,
            near_expiry: 14 * 86_400,
        };
        let m = compute(&i);
        assert_eq!(m.builds, 3);
        assert_eq!(m.reproducibility_rate, Some(0.5));
        assert_eq!(m.sandbox_overhead, Some(10.0 / 400.0));
        assert_eq!(m.policy_pass_rate, Some(1.0 / 3.0));
        assert_eq!(m.top_deny_rules[0], ("vuln.critical".into(), 2));
        assert_eq!(m.mean_time_to_detect_ms, Some(300.0));
        assert_eq!(m.mean_time_to_contain_ms, Some(400.0));
        assert_eq!(m.waivers_near_expiry.len(), 1);
        let text = prometheus(&m);
        assert!(text.contains("zt_reproducibility_ratio 0.5\n"), "{text}");
        assert!(
            text.contains("zt_policy_denies_total{rule=\"vuln.critical\"} 2\n"),
            "{text}"
        );
        // No data: left out, not 0.
        let empty = prometheus(&compute(&Inputs::default()));
        assert!(!empty.contains("zt_reproducibility_ratio"), "{empty}");
        assert!(empty.contains("zt_builds 0\n"));
    }
}
