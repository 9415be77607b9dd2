//! A small Prometheus registry: counters and histograms by name and labels, rendered in the
//! text exposition format (version 0.0.4) at `GET /metrics`. One registry per process
//! ([`registry`]); every route increments it directly:
//!
//! ```
//! use zt_server::metrics::registry;
//! registry().inc("zt_decisions_total", &[("stage", "deploy"), ("verdict", "allow")]);
//! assert!(registry().render().contains(r#"zt_decisions_total{stage="deploy",verdict="allow"}"#));
//! ```
//!
//! Metric names used by zt's routes are described in [`HELP`]; a name without a description
//! is exposed as `untyped`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Latency buckets (seconds): 0.5 ms to 10 s.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The metrics zt's routes expose: name, type, help text.
pub const HELP: &[(&str, &str, &str)] = &[
    (
        "zt_http_requests_total",
        "counter",
        "HTTP requests answered, by route template, method and status code.",
    ),
    (
        "zt_http_request_duration_seconds",
        "histogram",
        "Time from request to response head, by route template.",
    ),
    (
        "zt_decisions_total",
        "counter",
        "Policy decisions made by the server, by stage and verdict (allow, deny).",
    ),
    (
        "zt_admission_reviews_total",
        "counter",
        "Kubernetes admission reviews answered, by outcome (allowed, denied, excluded, error).",
    ),
    (
        "zt_log_appends_total",
        "counter",
        "Entries appended to the transparency log through the server, by route.",
    ),
    (
        "zt_witness_requests_total",
        "counter",
        "tlog-witness add-checkpoint requests, by HTTP status.",
    ),
    (
        "zt_upload_rejects_total",
        "counter",
        "Uploads refused (bodies over the limit, malformed or unverifiable), by reason.",
    ),
    (
        "zt_log_size",
        "gauge",
        "Entries in the transparency log under its current checkpoint.",
    ),
    (
        "zt_ready",
        "gauge",
        "1 when the store and the log are usable (GET /readyz answers 200), else 0.",
    ),
];

#[derive(Debug, Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    counters: BTreeMap<String, BTreeMap<String, u64>>,
    gauges: BTreeMap<String, BTreeMap<String, f64>>,
    histograms: BTreeMap<String, BTreeMap<String, Histogram>>,
}

/// The process's metrics.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

/// The process-wide registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds 1 to the counter `name{labels}`.
    pub fn inc(&self, name: &str, labels: &[(&str, &str)]) {
        self.add(name, labels, 1);
    }

    /// Adds `n` to the counter `name{labels}`.
    pub fn add(&self, name: &str, labels: &[(&str, &str)], n: u64) {
        let key = label_set(labels);
        let mut inner = self.lock();
        let series = inner.counters.entry(name.to_owned()).or_default();
        let v = series.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }

    /// Sets the gauge `name{labels}`.
    pub fn set(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let key = label_set(labels);
        self.lock()
            .gauges
            .entry(name.to_owned())
            .or_default()
            .insert(key, value);
    }

    /// Records one observation (seconds) in the histogram `name{labels}`.
    pub fn observe(&self, name: &str, labels: &[(&str, &str)], seconds: f64) {
        let key = label_set(labels);
        let mut inner = self.lock();
        let h = inner
            .histograms
            .entry(name.to_owned())
            .or_default()
            .entry(key)
            .or_insert(Histogram {
                counts: [0; LATENCY_BUCKETS.len()],
                sum: 0.0,
                count: 0,
            });
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The value of the counter `name{labels}` (0 if never incremented).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let key = label_set(labels);
        self.lock()
            .counters
            .get(name)
            .and_then(|s| s.get(&key))
            .copied()
            .unwrap_or(0)
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        for (name, series) in &inner.counters {
            header(&mut out, name, "counter");
            for (labels, v) in series {
                let _ = writeln!(out, "{name}{} {v}", braces(labels));
            }
        }
        for (name, series) in &inner.gauges {
            header(&mut out, name, "gauge");
            for (labels, v) in series {
                let _ = writeln!(out, "{name}{} {}", braces(labels), number(*v));
            }
        }
        for (name, series) in &inner.histograms {
            header(&mut out, name, "histogram");
            for (labels, h) in series {
                for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {}",
                        braces(&join(labels, &format!("le=\"{le}\""))),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    braces(&join(labels, "le=\"+Inf\"")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", braces(labels), number(h.sum));
                let _ = writeln!(out, "{name}_count{} {}", braces(labels), h.count);
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str) {
    let help = HELP.iter().find(|(n, _, _)| *n == name);
    let (kind, help) = help.map_or((kind, "zt metric."), |(_, k, h)| (*k, *h));
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn join(labels: &str, extra: &str) -> String {
    if labels.is_empty() {
        extra.to_owned()
    } else {
        format!("{labels},{extra}")
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

/// `a="x",b="y"` with values escaped as the text format requires (`\\`, `\"`, `\n`).
fn label_set(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars().take(200) {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let r = Registry::default();
        r.inc(
            "zt_http_requests_total",
            &[("route", "/x"), ("status", "200")],
        );
        r.inc(
            "zt_http_requests_total",
            &[("route", "/x"), ("status", "200")],
        );
        r.inc("zt_upload_rejects_total", &[("reason", "a\"b\\c\nd")]);
        r.set("zt_log_size", &[], 42.0);
        r.observe(
            "zt_http_request_duration_seconds",
            &[("route", "/x")],
            0.003,
        );
        r.observe("zt_http_request_duration_seconds", &[("route", "/x")], 20.0);
        let text = r.render();
        assert!(
            text.contains("# TYPE zt_http_requests_total counter\n"),
            "{text}"
        );
        assert!(text.contains("zt_http_requests_total{route=\"/x\",status=\"200\"} 2\n"));
        assert!(text.contains(r#"zt_upload_rejects_total{reason="a\"b\\c\nd"} 1"#));
        assert!(text.contains("# TYPE zt_log_size gauge\nzt_log_size 42\n"));
        assert!(text.contains("# TYPE zt_http_request_duration_seconds histogram\n"));
        assert!(
            text.contains(
                "zt_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.0025\"} 0\n"
            )
        );
        assert!(
            text.contains("zt_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n")
        );
        assert!(
            text.contains("zt_http_request_duration_seconds_bucket{route=\"/x\",le=\"10\"} 1\n")
        );
        assert!(
            text.contains("zt_http_request_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 2\n")
        );
        assert!(text.contains("zt_http_request_duration_seconds_count{route=\"/x\"} 2\n"));
        assert_eq!(
            r.counter(
                "zt_http_requests_total",
                &[("route", "/x"), ("status", "200")]
            ),
            2
        );
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        }
    }
}
