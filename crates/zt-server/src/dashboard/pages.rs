//! Each page's main content, from the data the pipeline gives (no I/O here): the overview of
//! the figures, an artifact's provenance, search results, denials, alerts and incidents, the
//! log. Every value is escaped with [`escape`]; every link into the API carries its query
//! values through [`url_encode`].

use std::fmt::Write as _;

use zt_pipeline::dashboard::{ArtifactView, Hit, IncidentRecord};
use zt_pipeline::metrics::DecisionRecord;
use zt_watch::metrics::Metrics;

use super::html::{escape, millis, pct, short, time, url_encode};
use super::svg::{Graph, Kind, Node, Verdict, trend};

/// The periods the overview offers: the `since` value and its label.
pub(super) const PERIODS: &[(&str, &str)] = &[
    ("1d", "last 24 hours"),
    ("7d", "last 7 days"),
    ("30d", "last 30 days"),
    ("90d", "last 90 days"),
    ("365d", "last year"),
];

fn period_form(action: &str, since: &str, extra: &str) -> String {
    let mut options = String::new();
    let mut known = false;
    for (value, label) in PERIODS {
        let selected = if *value == since {
            known = true;
            " selected"
        } else {
            ""
        };
        let _ = write!(
            options,
            "<option value=\"{value}\"{selected}>{label}</option>"
        );
    }
    if !known {
        let _ = write!(
            options,
            "<option value=\"{v}\" selected>since {v}</option>",
            v = escape(since)
        );
    }
    format!(
        "<form class=\"filters\" action=\"{action}\" method=\"get\">{extra}\
         <label for=\"since\">Period</label> <select id=\"since\" name=\"since\">{options}</select> \
         <button type=\"submit\">Show</button></form>\n"
    )
}

/// One figure's card: heading, value (with `data-metric` for tests and scripts), a line of
/// context, its trend, and extra HTML.
fn card(id: &str, heading: &str, value: &str, context: &str, chart: &str, extra: &str) -> String {
    format!(
        "<section class=\"card\" aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{heading}</h2>\
         <p class=\"figure\" data-metric=\"{id}\">{value}</p><p class=\"context\">{context}</p>\
         {chart}{extra}</section>\n",
        heading = escape(heading),
        value = escape(value),
        context = escape(context),
    )
}

/// The overview: every figure over the period, each with its trend over `series`.
pub(super) fn overview(since: &str, from: i64, m: &Metrics, series: &[(i64, Metrics)]) -> String {
    let mut out = period_form("/", since, "");
    let _ = write!(
        out,
        "<p class=\"lede\">Figures from {} to now, the same numbers as \
         <code>zt metrics --since {}</code>; each chart shows {} equal periods, oldest first.</p>\n\
         <div class=\"cards\">\n",
        escape(&time(from.max(0))),
        escape(since),
        series.len()
    );
    let col = |f: &dyn Fn(&Metrics) -> Option<f64>| -> Vec<Option<f64>> {
        series.iter().map(|(_, m)| f(m)).collect()
    };
    let p = |v: f64| format!("{:.1} %", v * 100.0);
    out.push_str(&card(
        "reproducibilityRate",
        "Reproducibility",
        &pct(m.reproducibility_rate),
        &format!("of {} rebuilt builds ({} builds)", m.rebuilt, m.builds),
        &trend(
            "reproducibility rate",
            &col(&|m| m.reproducibility_rate),
            Some(1.0),
            p,
        ),
        "",
    ));
    out.push_str(&card(
        "sandboxOverhead",
        "Sandbox overhead",
        &pct(m.sandbox_overhead),
        "set-up time over the build commands' time",
        &trend("sandbox overhead", &col(&|m| m.sandbox_overhead), None, p),
        "",
    ));
    let mut rules = String::new();
    if !m.top_deny_rules.is_empty() {
        rules.push_str("<h3>Rules that deny most</h3><ol class=\"rules\">");
        for (rule, n) in &m.top_deny_rules {
            let _ = write!(
                rules,
                "<li><a href=\"/denials?rule={}\"><code>{}</code></a> <span data-rule-count=\"{}\">{n}</span></li>",
                url_encode(rule),
                escape(rule),
                escape(rule),
            );
        }
        rules.push_str("</ol>");
    }
    out.push_str(&card(
        "policyPassRate",
        "Policy pass rate",
        &pct(m.policy_pass_rate),
        &format!("of {} decisions", m.decisions),
        &trend(
            "policy pass rate",
            &col(&|m| m.policy_pass_rate),
            Some(1.0),
            p,
        ),
        &rules,
    ));
    let mut crit = String::new();
    if !m.open_criticals.is_empty() {
        crit.push_str("<ul>");
        for (id, package) in &m.open_criticals {
            let _ = write!(
                crit,
                "<li><code>{}</code> in {}</li>",
                escape(id),
                escape(package)
            );
        }
        crit.push_str("</ul>");
    }
    out.push_str(&card(
        "openCriticals",
        "Open critical vulnerabilities",
        &m.open_criticals.len().to_string(),
        "unwaived, in the latest scan of each SBOM",
        "",
        &crit,
    ));
    let mut waivers = String::new();
    if !m.waivers_near_expiry.is_empty() {
        waivers.push_str("<ul>");
        for (id, package, expires) in &m.waivers_near_expiry {
            let _ = write!(
                waivers,
                "<li><code>{}</code> on {} expires <time>{}</time></li>",
                escape(id),
                escape(package),
                escape(expires)
            );
        }
        waivers.push_str("</ul>");
    }
    out.push_str(&card(
        "waiversNearExpiry",
        "Waivers near expiry",
        &m.waivers_near_expiry.len().to_string(),
        "expiring within 14 days",
        "",
        &waivers,
    ));
    let ms = |v: f64| format!("{v:.0} ms");
    out.push_str(&card(
        "drillDetectionRate",
        "Drills",
        &pct(m.drill_detection_rate),
        &format!("of {} drills detected", m.drills),
        &trend(
            "drill detection rate",
            &col(&|m| m.drill_detection_rate),
            Some(1.0),
            p,
        ),
        &format!(
            "<dl class=\"pairs\"><dt>Mean time to detect</dt><dd data-metric=\"meanTimeToDetectMs\">{}</dd>\
             <dt>Mean time to contain</dt><dd data-metric=\"meanTimeToContainMs\">{}</dd></dl>{}{}",
            escape(&millis(m.mean_time_to_detect_ms)),
            escape(&millis(m.mean_time_to_contain_ms)),
            trend("mean time to detect", &col(&|m| m.mean_time_to_detect_ms), None, ms),
            trend("mean time to contain", &col(&|m| m.mean_time_to_contain_ms), None, ms),
        ),
    ));
    out.push_str(&card(
        "builds",
        "Builds",
        &m.builds.to_string(),
        "build records in the period",
        &trend(
            "builds",
            &series
                .iter()
                .map(|(_, m)| Some(m.builds as f64))
                .collect::<Vec<_>>(),
            None,
            |v| format!("{v:.0}"),
        ),
        "",
    ));
    out.push_str("</div>\n");
    out
}

fn api_evidence(digest: &str, predicate_type: Option<&str>) -> String {
    match predicate_type {
        Some(t) => format!(
            "/api/v1/evidence?subject={}&predicateType={}",
            url_encode(digest),
            url_encode(t)
        ),
        None => format!("/api/v1/evidence?subject={}", url_encode(digest)),
    }
}

/// A predicate type's short name for labels.
fn kind_name(predicate_type: Option<&str>) -> &str {
    match predicate_type {
        None => "signature",
        Some(t) => match t {
            zt_core::predicate::SLSA_PROVENANCE_V1 => "SLSA provenance",
            zt_core::predicate::CYCLONEDX => "CycloneDX SBOM",
            zt_core::predicate::SPDX_23 => "SPDX SBOM",
            zt_core::predicate::TEST_RESULT_V01 => "test results",
            zt_core::predicate::ZT_VULN_SCAN_V1 => "vulnerability scan",
            zt_core::predicate::ZT_SOURCE_V1 => "source scan",
            zt_core::predicate::ZT_SOURCE_VERIFICATION_V1 => "source verification",
            zt_core::predicate::ZT_INTAKE_V1 => "dependency intake",
            zt_core::predicate::ZT_REPRODUCIBLE_V1 => "reproducibility",
            zt_core::predicate::ZT_COVERAGE_V1 => "coverage",
            other => other.rsplit('/').find(|s| !s.is_empty()).unwrap_or(other),
        },
    }
}

/// The most deploy reviews drawn in the graph (the rest are listed below it).
const GRAPH_DEPLOYMENTS: usize = 6;

/// The most dependencies drawn in the graph (the rest are listed below it).
const GRAPH_DEPENDENCIES: usize = 8;

/// The provenance graph of an artifact.
pub(super) fn graph(v: &ArtifactView) -> Graph {
    let d = &v.digest;
    let trace_href = format!("/api/v1/trace/{}", url_encode(d));
    let mut g = Graph::default();
    let artifact = "artifact".to_owned();
    g.nodes.push(Node {
        id: artifact.clone(),
        kind: Kind::Artifact,
        label: v
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| "artifact".into()),
        detail: short(d, 19).to_owned(),
        href: trace_href.clone(),
        verdict: Verdict::Neutral,
    });
    let mut builds = Vec::new();
    for (i, b) in v.trace.builds.iter().enumerate() {
        let id = format!("build-{i}");
        let reproducible = b
            .sandbox
            .as_ref()
            .and_then(|s| s.get("reproducible"))
            .and_then(serde_json::Value::as_bool);
        let hermetic = b
            .sandbox
            .as_ref()
            .and_then(|s| s.get("hermetic"))
            .and_then(serde_json::Value::as_bool);
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Build,
            label: format!(
                "build {}",
                short(b.invocation.as_deref().unwrap_or("(no id)"), 12)
            ),
            detail: format!(
                "{}{}",
                match hermetic {
                    Some(true) => "hermetic",
                    Some(false) => "not hermetic",
                    None => "sandbox unknown",
                },
                match reproducible {
                    Some(true) => ", reproducible",
                    Some(false) => ", NOT reproducible",
                    None => "",
                }
            ),
            href: api_evidence(d, Some(zt_core::predicate::SLSA_PROVENANCE_V1)),
            verdict: match (hermetic, reproducible) {
                (Some(false), _) | (_, Some(false)) => Verdict::Bad,
                (Some(true), Some(true)) => Verdict::Good,
                _ => Verdict::Neutral,
            },
        });
        g.edges.push((id.clone(), artifact.clone()));
        builds.push(id);
    }
    // Without a build, commits and dependencies point at the artifact itself.
    let targets = if builds.is_empty() {
        vec![artifact.clone()]
    } else {
        builds
    };
    for c in &v.trace.commits {
        let id = format!("commit-{}", c.commit);
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Commit,
            label: format!("commit {}", short(&c.commit, 12)),
            detail: format!("signature {}", c.verdict),
            href: format!("/api/v1/evidence?commit={}", url_encode(&c.commit)),
            verdict: match c.verdict.as_str() {
                "verified" => Verdict::Good,
                "failed" => Verdict::Bad,
                _ => Verdict::Neutral,
            },
        });
        for t in &targets {
            g.edges.push((id.clone(), t.clone()));
        }
    }
    let deps = &v.trace.dependencies;
    for (i, dep) in deps.iter().take(GRAPH_DEPENDENCIES).enumerate() {
        let id = format!("dep-{i}");
        let predicate = if dep.source == "sbom" {
            zt_core::predicate::CYCLONEDX
        } else {
            zt_core::predicate::SLSA_PROVENANCE_V1
        };
        let intake = dep.purl.as_deref().and_then(|p| v.trace.intake_for(p));
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Dependency,
            label: match &dep.version {
                Some(ver) => format!("{}@{ver}", dep.name),
                None => dep.name.clone(),
            },
            // The intake decision about the package, when there is one: its verdict, and the
            // box links to the decision's evidence.
            detail: match intake {
                Some(i) => format!("intake: {}", i.verdict),
                None => format!("from the {}", dep.source),
            },
            href: match intake {
                Some(i) => api_evidence(&i.subject, Some(zt_core::predicate::ZT_INTAKE_V1)),
                None => api_evidence(d, Some(predicate)),
            },
            verdict: match intake.map(|i| i.verdict.as_str()) {
                Some("admitted") => Verdict::Good,
                Some(_) => Verdict::Bad,
                None => Verdict::Neutral,
            },
        });
        for t in &targets {
            g.edges.push((id.clone(), t.clone()));
        }
    }
    if deps.len() > GRAPH_DEPENDENCIES {
        g.nodes.push(Node {
            id: "dep-more".into(),
            kind: Kind::Dependency,
            label: format!("{} more", deps.len() - GRAPH_DEPENDENCIES),
            detail: "listed below the graph".into(),
            href: trace_href.clone(),
            verdict: Verdict::Neutral,
        });
    }
    // One box per kind of evidence (a digest built many times has many bundles of each):
    // how many, and the latest one's log entry. Every bundle is in the table below.
    let mut kinds: Vec<(Option<&str>, Vec<&zt_pipeline::dashboard::EvidenceNode>)> = Vec::new();
    for e in &v.evidence {
        let t = e.predicate_type.as_deref();
        match kinds.iter_mut().find(|(k, _)| *k == t) {
            Some((_, list)) => list.push(e),
            None => kinds.push((t, vec![e])),
        }
    }
    let mut evidence_ids = Vec::new();
    for (i, (t, list)) in kinds.iter().enumerate() {
        let id = format!("evidence-{i}");
        let latest = list.iter().max_by_key(|e| (e.recorded_at, e.log_index));
        let logged = list.iter().all(|e| e.log_index.is_some());
        let entry = match latest.map(|e| (e.log_index, &e.checkpoint)) {
            Some((Some(ix), Some((_, size)))) => format!("log index {ix}, tree size {size}"),
            Some((Some(ix), None)) => format!("log index {ix}"),
            _ => "not logged".into(),
        };
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Evidence,
            label: if list.len() > 1 {
                format!("{} ×{}", kind_name(*t), list.len())
            } else {
                kind_name(*t).to_owned()
            },
            detail: if list.len() > 1 {
                format!("last: {entry}")
            } else {
                entry
            },
            href: api_evidence(d, *t),
            verdict: if logged { Verdict::Good } else { Verdict::Bad },
        });
        g.edges.push((artifact.clone(), id.clone()));
        evidence_ids.push(id);
    }
    for dec in &v.trace.decisions {
        let id = format!("decision-{}", dec.stage);
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Decision,
            label: format!(
                "{}: {}",
                dec.stage,
                if dec.allow { "allow" } else { "deny" }
            ),
            detail: if dec.allow {
                "every rule held".into()
            } else {
                format!("{} rule(s) denied", dec.deny.len())
            },
            href: trace_href.clone(),
            verdict: if dec.allow {
                Verdict::Good
            } else {
                Verdict::Bad
            },
        });
        if evidence_ids.is_empty() {
            g.edges.push((artifact.clone(), id.clone()));
        }
        for e in &evidence_ids {
            g.edges.push((e.clone(), id.clone()));
        }
    }
    // Where it was to be deployed: the latest admission reviews, after the deploy decision.
    for (i, dep) in v
        .trace
        .deployments
        .iter()
        .take(GRAPH_DEPLOYMENTS)
        .enumerate()
    {
        let id = format!("deployment-{i}");
        g.nodes.push(Node {
            id: id.clone(),
            kind: Kind::Deployment,
            label: dep.object.clone(),
            detail: format!(
                "{} {}",
                if dep.allowed { "admitted" } else { "refused" },
                dep.at.get(..10).unwrap_or(&dep.at)
            ),
            // The review's evidence is in the trace's JSON (with its log index); the table
            // below links each review to the log page's proof checker.
            href: trace_href.clone(),
            verdict: if dep.allowed {
                Verdict::Good
            } else {
                Verdict::Bad
            },
        });
        let from = if v.trace.decisions.iter().any(|d| d.stage == "deploy") {
            "decision-deploy".to_owned()
        } else {
            artifact.clone()
        };
        g.edges.push((from, id));
    }
    g
}

fn deny_list(denies: &[serde_json::Value]) -> String {
    let mut out = String::new();
    for d in denies {
        let text = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
        let _ = write!(
            out,
            "<dl class=\"deny\"><dt>Rule</dt><dd><code>{}</code></dd><dt>Reason</dt><dd>{}</dd>\
             <dt>Fix</dt><dd class=\"fix\">{}</dd></dl>",
            escape(text("id")),
            escape(text("message")),
            escape(text("remediation"))
        );
    }
    out
}

/// An artifact's page: the graph, then the same facts as tables.
pub(super) fn artifact(v: &ArtifactView) -> String {
    let d = &v.digest;
    let mut out = format!(
        "<p class=\"lede\">Digest <code class=\"digest\">{}</code>{}</p>\n\
         <figure class=\"graph-box\"><div class=\"graph-scroll\" id=\"graph-scroll\">{}</div>\
         <figcaption>Provenance of this artifact: commit → dependencies → build → artifact → \
         signatures and attestations → decisions → deployments. Each box links to its evidence JSON.</figcaption></figure>\n",
        escape(d),
        if v.names.is_empty() {
            String::new()
        } else {
            format!(", named {}", escape(&v.names.join(", ")))
        },
        graph(v).to_svg(&format!(
            "Provenance graph of {}",
            v.names.first().map_or(d.as_str(), String::as_str)
        ))
    );
    out.push_str("<section aria-labelledby=\"h-commits\"><h2 id=\"h-commits\">Commits</h2>");
    if v.trace.commits.is_empty() {
        out.push_str("<p>No verified provenance names a commit.</p>");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">Commit</th><th scope=\"col\">Repository</th><th scope=\"col\">Signature</th></tr></thead><tbody>");
        for c in &v.trace.commits {
            let _ = write!(
                out,
                "<tr><td><a class=\"commit\" href=\"/search?q={}\"><code>{}</code></a></td><td>{}</td><td>{}</td></tr>",
                url_encode(&c.commit),
                escape(&c.commit),
                escape(c.uri.as_deref().unwrap_or("")),
                escape(&c.verdict)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str(
        "</section>\n<section aria-labelledby=\"h-builds\"><h2 id=\"h-builds\">Builds</h2>",
    );
    if v.trace.builds.is_empty() {
        out.push_str("<p>No verified provenance about this digest.</p>");
    } else {
        out.push_str("<table><thead><tr><th scope=\"col\">Invocation</th><th scope=\"col\">Builder</th><th scope=\"col\">Finished</th><th scope=\"col\">Sandbox</th></tr></thead><tbody>");
        for b in &v.trace.builds {
            let sandbox = b
                .sandbox
                .as_ref()
                .map(|s| {
                    ["hermetic", "reproducible", "sandbox"]
                        .iter()
                        .filter_map(|k| s.get(*k).map(|v| format!("{k}: {v}")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(b.invocation.as_deref().unwrap_or("")),
                escape(b.builder.as_deref().unwrap_or("")),
                escape(b.finished_on.as_deref().unwrap_or("")),
                escape(&sandbox)
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n<section aria-labelledby=\"h-evidence\"><h2 id=\"h-evidence\">Signatures and attestations</h2>");
    out.push_str("<table><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Signer key</th><th scope=\"col\">Log index</th><th scope=\"col\">Checkpoint</th><th scope=\"col\">Recorded</th></tr></thead><tbody>");
    for e in &v.evidence {
        let _ = write!(
            out,
            "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&api_evidence(d, e.predicate_type.as_deref())),
            escape(kind_name(e.predicate_type.as_deref())),
            escape(short(e.key_id.as_deref().unwrap_or(""), 16)),
            e.log_index.map_or_else(
                || "not logged".to_owned(),
                |i| format!("<a href=\"/log?index={i}\">{i}</a>")
            ),
            escape(
                &e.checkpoint
                    .as_ref()
                    .map(|(o, s)| format!("{o} at size {s}"))
                    .unwrap_or_default()
            ),
            escape(&time(e.recorded_at))
        );
    }
    out.push_str("</tbody></table></section>\n");
    out.push_str("<section aria-labelledby=\"h-deps\"><h2 id=\"h-deps\">Dependencies</h2>");
    if v.trace.dependencies.is_empty() {
        out.push_str("<p>No SBOM or provenance lists dependencies.</p>");
    } else {
        out.push_str("<ul class=\"deps\">");
        for dep in &v.trace.dependencies {
            let intake = dep
                .purl
                .as_deref()
                .and_then(|p| v.trace.intake_for(p))
                .map(|i| {
                    format!(
                        " — <a href=\"{}\">intake: {}</a> <small>({})</small>",
                        escape(&api_evidence(
                            &i.subject,
                            Some(zt_core::predicate::ZT_INTAKE_V1)
                        )),
                        escape(&i.verdict),
                        escape(&i.recorded_at)
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li>{}{} <small>({})</small>{intake}</li>",
                escape(&dep.name),
                dep.version
                    .as_ref()
                    .map(|v| format!("@{}", escape(v)))
                    .unwrap_or_default(),
                escape(dep.purl.as_deref().unwrap_or(&dep.source))
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n<section aria-labelledby=\"h-decisions\"><h2 id=\"h-decisions\">Decisions</h2>");
    for dec in &v.trace.decisions {
        let _ = write!(
            out,
            "<h3 class=\"{}\">{}: {}</h3>{}",
            if dec.allow { "allow" } else { "deny" },
            escape(&dec.stage),
            if dec.allow { "allow" } else { "deny" },
            deny_list(&dec.deny)
        );
    }
    if !v.trace.rejected.is_empty() {
        out.push_str("<h3>Rejected evidence</h3><ul>");
        for r in &v.trace.rejected {
            let _ = write!(out, "<li>{}: {}</li>", escape(&r.source), escape(&r.reason));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n<section aria-labelledby=\"h-deployments\"><h2 id=\"h-deployments\">Deployments</h2>");
    if v.trace.deployments.is_empty() {
        out.push_str("<p>No deploy admission review has named this digest.</p>");
    } else {
        out.push_str(
            "<table class=\"deployments\"><thead><tr><th scope=\"col\">object</th>\
             <th scope=\"col\">review</th><th scope=\"col\">when</th>\
             <th scope=\"col\">log entry</th></tr></thead><tbody>",
        );
        for dep in &v.trace.deployments {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{} {}</td><td>{}</td><td>{}</td></tr>",
                escape(&dep.object),
                if dep.allowed { "allow" } else { "deny" },
                escape(&dep.operation),
                if dep.allowed { "admitted" } else { "refused" },
                escape(&dep.at),
                dep.log_index
                    .map(|ix| format!("<a href=\"/log?index={ix}\">{ix}</a>"))
                    .unwrap_or_else(|| "not logged".into())
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>\n");
    out
}

/// The search form and its results.
pub(super) fn search(q: &str, since: &str, hits: Option<&[Hit]>) -> String {
    let mut out = format!(
        "<form class=\"filters\" action=\"/search\" method=\"get\">\
         <label for=\"sq\">Digest, file name, repository or commit</label> \
         <input id=\"sq\" name=\"q\" type=\"search\" value=\"{}\" required> \
         <input type=\"hidden\" name=\"since\" value=\"{}\"> <button type=\"submit\">Search</button></form>\n\
         <p class=\"lede\">A digest or a full commit id searches all of history; a name or \
         repository fragment searches the provenance recorded in the {}.</p>\n",
        escape(q),
        escape(since),
        escape(
            PERIODS
                .iter()
                .find(|(v, _)| *v == since)
                .map_or("chosen period", |(_, l)| l)
        )
    );
    let Some(hits) = hits else {
        return out;
    };
    if hits.is_empty() {
        let _ = write!(
            out,
            "<p role=\"status\">No artifact matches <q>{}</q>.</p>",
            escape(q)
        );
        return out;
    }
    let _ = write!(
        out,
        "<p role=\"status\">{} artifact(s) match.</p><table class=\"results\"><thead><tr>\
         <th scope=\"col\">Artifact</th><th scope=\"col\">Digest</th><th scope=\"col\">Matched</th>\
         <th scope=\"col\">Recorded</th></tr></thead><tbody>",
        hits.len()
    );
    for h in hits {
        let _ = write!(
            out,
            "<tr><td><a href=\"/artifacts/{}\">{}</a></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            url_encode(&h.digest),
            escape(h.name.as_deref().unwrap_or("(unnamed)")),
            escape(short(&h.digest, 23)),
            escape(h.matched),
            escape(&time(h.recorded_at))
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// The latest denials, filtered.
pub(super) fn denials(repo: &str, rule: &str, list: &[DecisionRecord]) -> String {
    let mut out = format!(
        "<form class=\"filters\" action=\"/denials\" method=\"get\">\
         <label for=\"repo\">Repository contains</label> <input id=\"repo\" name=\"repo\" value=\"{}\"> \
         <label for=\"rule\">Rule</label> <input id=\"rule\" name=\"rule\" value=\"{}\" placeholder=\"e.g. tests.coverage\"> \
         <button type=\"submit\">Filter</button></form>\n",
        escape(repo),
        escape(rule)
    );
    if list.is_empty() {
        out.push_str("<p role=\"status\">No denials match.</p>");
        return out;
    }
    let _ = writeln!(
        out,
        "<p role=\"status\">The latest {} denial(s), newest first.</p>",
        list.len()
    );
    for d in list {
        let _ = write!(
            out,
            "<article class=\"denial\"><h2><a href=\"/artifacts/{}\">{}</a> denied at <code>{}</code></h2>\
             <p class=\"meta\"><time>{}</time> · {} · commit <code>{}</code></p>",
            url_encode(&d.digest),
            escape(d.name.as_deref().unwrap_or(short(&d.digest, 19))),
            escape(&d.stage),
            escape(&time(d.at)),
            escape(d.repository.as_deref().unwrap_or("repository not recorded")),
            escape(short(d.commit.as_deref().unwrap_or("-"), 12)),
        );
        for x in &d.denies {
            let _ = write!(
                out,
                "<dl class=\"deny\"><dt>Rule</dt><dd><a href=\"/denials?rule={}\"><code>{}</code></a></dd>\
                 <dt>Reason</dt><dd>{}</dd><dt>Fix</dt><dd class=\"fix\">{}</dd></dl>",
                url_encode(&x.rule),
                escape(&x.rule),
                escape(
                    x.reason
                        .as_deref()
                        .unwrap_or("not recorded (an older record)")
                ),
                escape(
                    x.fix
                        .as_deref()
                        .unwrap_or("open the artifact for the current judgement and its fix")
                ),
            );
        }
        out.push_str("</article>\n");
    }
    out
}

/// Alerts from the watch and incident records.
/// What the alerts page has of the watch's report.
pub(super) enum WatchState {
    /// The report (over the whole history) and how old it is, in seconds.
    Ready(zt_pipeline::watch::Report, u64),
    /// Being computed for the first time since this many seconds.
    Pending(u64),
    /// The last computation failed.
    Failed(String),
}

impl WatchState {
    fn render_incidents(out: &mut String, incidents: &[IncidentRecord]) {
        out.push_str("</section>\n<section aria-labelledby=\"h-incidents\"><h2 id=\"h-incidents\">Incidents</h2>");
        if incidents.is_empty() {
            out.push_str("<p role=\"status\">No incident records.</p>");
        }
        for i in incidents {
            let status = if i.rebuild.is_empty() {
                "contained".to_owned()
            } else {
                format!("contained; {} build(s) to redo", i.rebuild.len())
            };
            let _ = write!(
                out,
                "<article class=\"incident\"><h3><code>{}</code> {}</h3>\
                 <p class=\"meta\"><time>{}</time> · {} · {} of {} re-decided artifact(s) denied{}</p><ol>",
                escape(&i.incident),
                escape(&i.subject),
                escape(&time(i.recorded_at)),
                escape(&status),
                i.denied,
                i.redecided,
                i.log_index
                    .map(|ix| format!(" · <a href=\"/log?index={ix}\">log entry {ix}</a>"))
                    .unwrap_or_default()
            );
            for a in &i.actions {
                let _ = write!(out, "<li>{}</li>", escape(a));
            }
            out.push_str("</ol></article>");
        }
        out.push_str("</section>\n");
    }
}

pub(super) fn alerts(since: &str, report: &WatchState, incidents: &[IncidentRecord]) -> String {
    let mut out = period_form("/alerts", since, "");
    out.push_str("<section aria-labelledby=\"h-alerts\"><h2 id=\"h-alerts\">Alerts</h2>");
    let (report, age) = match report {
        WatchState::Ready(r, age) => (r, *age),
        WatchState::Pending(started) => {
            let _ = write!(
                out,
                "<p class=\"lede\" role=\"status\">The server is reading the build history for \
                 <code>zt watch</code> (it began {started} s ago, when the server started); its \
                 alerts appear here once it has finished. Reload in a few seconds, or run \
                 <code>zt watch</code>.</p>"
            );
            WatchState::render_incidents(&mut out, incidents);
            return out;
        }
        WatchState::Failed(why) => {
            let _ = write!(
                out,
                "<p class=\"lede\" role=\"alert\">The alerts could not be computed: {}. Run \
                 <code>zt watch</code> on the server's repository to see the error whole.</p>",
                escape(why)
            );
            WatchState::render_incidents(&mut out, incidents);
            return out;
        }
    };
    let _ = write!(
        out,
        "<p class=\"lede\">What <code>zt watch</code> finds unusual in the builds of the period, \
         judged against each pipeline's own history ({} builds of {} pipelines read, {age} s ago).</p>",
        report.builds, report.pipelines
    );
    if report.alerts.is_empty() {
        out.push_str("<p role=\"status\">No alerts in the period.</p>");
    } else {
        out.push_str(
            "<table class=\"alerts\"><thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Kind</th>\
             <th scope=\"col\">Why</th><th scope=\"col\">Pipeline</th><th scope=\"col\">Commit</th>\
             <th scope=\"col\">When</th></tr></thead><tbody>",
        );
        for a in report.alerts.iter().rev() {
            let _ = write!(
                out,
                "<tr class=\"sev-{sev}\"><td>{sev}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(a.kind),
                escape(&a.why),
                escape(&a.pipeline),
                a.commit.as_deref().map_or_else(String::new, |c| format!(
                    "<a href=\"/search?q={}\"><code>{}</code></a>",
                    url_encode(c),
                    escape(short(c, 12))
                )),
                escape(&time(a.at)),
                sev = escape(a.severity),
            );
        }
        out.push_str("</tbody></table>");
    }
    WatchState::render_incidents(&mut out, incidents);
    out
}

/// The result of the proof checker.
#[derive(Debug)]
pub(super) struct ProofCheck {
    /// The entry's index.
    pub(super) index: u64,
    /// The tree size proved against.
    pub(super) size: u64,
    /// The leaf hash (hex) the proof was checked for.
    pub(super) leaf: String,
    /// Whether a pasted entry was given and matched the stored one.
    pub(super) entry_given: Option<bool>,
    /// The proof's hashes (hex).
    pub(super) proof: Vec<String>,
    /// `Ok` or why it failed.
    pub(super) verdict: Result<(), String>,
    /// The stored entry (text, cut).
    pub(super) entry: String,
}

/// The log page: the checkpoint, its signatures, and the proof checker.
#[allow(clippy::too_many_arguments)] // One call site; each argument is one part of the page.
pub(super) fn log(
    checkpoint_text: &str,
    origin: &str,
    size: u64,
    root_hex: &str,
    signatures: &[(String, String, bool)],
    index: &str,
    entry: &str,
    check: Option<&Result<ProofCheck, String>>,
) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"h-cp\"><h2 id=\"h-cp\">Checkpoint</h2>\
         <dl class=\"pairs\"><dt>Origin</dt><dd data-log=\"origin\">{}</dd><dt>Size</dt><dd data-log=\"size\">{size}</dd>\
         <dt>Root hash</dt><dd><code data-log=\"root\">{}</code></dd></dl>\
         <pre class=\"note\">{}</pre><p>Served as <a href=\"/checkpoint\">/checkpoint</a>; the log's \
         key is <a href=\"/log.pub\">/log.pub</a>. Check it yourself with \
         <code>zt log --log-url URL checkpoint</code>.</p></section>\n",
        escape(origin),
        escape(root_hex),
        escape(checkpoint_text)
    );
    out.push_str(
        "<section aria-labelledby=\"h-wit\"><h2 id=\"h-wit\">Signatures and witnesses</h2>\
         <table><thead><tr><th scope=\"col\">Key name</th><th scope=\"col\">Key id</th><th scope=\"col\">Role</th></tr></thead><tbody>",
    );
    for (name, id, own) in signatures {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(name),
            escape(id),
            if *own {
                "the log's own signature"
            } else {
                "witness cosignature"
            }
        );
    }
    out.push_str("</tbody></table>");
    if signatures.iter().all(|(_, _, own)| *own) {
        out.push_str(
            "<p>No witness has cosigned this checkpoint yet: witnesses cosign with \
             <code>zt log cosign</code> or a server's <code>POST /add-checkpoint</code>.</p>",
        );
    }
    out.push_str("</section>\n");
    let _ = write!(
        out,
        "<section aria-labelledby=\"h-proof\"><h2 id=\"h-proof\">Inclusion proof checker</h2>\
         <form class=\"proof\" action=\"/log\" method=\"get\">\
         <p><label for=\"index\">Entry index</label> <input id=\"index\" name=\"index\" inputmode=\"numeric\" \
         pattern=\"[0-9]+\" value=\"{}\" required></p>\
         <p><label for=\"entry\">Entry bytes (optional: paste the entry to check it is the one logged)</label><br>\
         <textarea id=\"entry\" name=\"entry\" rows=\"3\" cols=\"70\">{}</textarea></p>\
         <p><button type=\"submit\">Check inclusion</button></p></form>",
        escape(index),
        escape(entry)
    );
    match check {
        None => {}
        Some(Err(why)) => {
            let _ = write!(
                out,
                "<p class=\"result bad\" role=\"status\">{}</p>",
                escape(why)
            );
        }
        Some(Ok(c)) => {
            let verdict = match &c.verdict {
                Ok(()) => format!(
                    "Valid: entry {} is in the tree of size {} whose root is the checkpoint's.",
                    c.index, c.size
                ),
                Err(e) => format!("Invalid: {e}"),
            };
            let _ = write!(
                out,
                "<p class=\"result {}\" role=\"status\" id=\"proof-result\">{}</p>",
                if c.verdict.is_ok() { "good" } else { "bad" },
                escape(&verdict)
            );
            match c.entry_given {
                Some(true) => out.push_str(
                    "<p class=\"result good\">The entry you pasted is the one logged at this index.</p>",
                ),
                Some(false) => out.push_str(
                    "<p class=\"result bad\">The entry you pasted is NOT the one logged at this index: \
                     its leaf hash differs.</p>",
                ),
                None => {}
            }
            let _ = write!(
                out,
                "<dl class=\"pairs\"><dt>Leaf hash</dt><dd><code>{}</code></dd><dt>Proof ({} hashes)</dt><dd><ol class=\"hashes\">",
                escape(&c.leaf),
                c.proof.len()
            );
            for h in &c.proof {
                let _ = write!(out, "<li><code>{}</code></li>", escape(h));
            }
            let _ = write!(
                out,
                "</ol></dd></dl><h3>The entry</h3><pre class=\"entry\">{}</pre>\
                 <p>Check it independently: <code>zt log --log-url URL prove --index {}</code>.</p>",
                escape(&c.entry),
                c.index
            );
        }
    }
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_denial_shows_rule_reason_and_fix_escaped() {
        let d = DecisionRecord {
            at: 0,
            stage: "ci".into(),
            digest: "sha256:00".into(),
            name: Some("out/<b>".into()),
            repository: Some("git+file:///r".into()),
            commit: None,
            allowed: false,
            denies: vec![zt_pipeline::metrics::DenyRecord {
                rule: "tests.coverage".into(),
                reason: Some("coverage 10% < 80%".into()),
                fix: Some("record coverage with `zt attest`".into()),
            }],
        };
        let html = denials("", "tests.coverage", &[d]);
        assert!(html.contains("out/&lt;b&gt;"), "{html}");
        assert!(html.contains("<dd class=\"fix\">record coverage with `zt attest`</dd>"));
        assert!(html.contains("href=\"/denials?rule=tests.coverage\""));
        assert!(html.contains("value=\"tests.coverage\""));
    }

    /// A dependency intake has judged is drawn with the verdict and links to the decision's
    /// evidence (found by purl, qualifiers aside); one it has not judged says where it was
    /// listed; a refused deploy review is drawn after the deploy decision.
    #[test]
    fn dependencies_show_their_intake_and_reviews_follow_the_deploy_decision() {
        use zt_pipeline::trace::{Dependency, Deployment, IntakeDecision, Trace};
        let dep = |name: &str, purl: &str| Dependency {
            name: name.into(),
            version: None,
            purl: Some(purl.into()),
            source: "sbom".into(),
        };
        let intake = |purl: &str, verdict: &str, subject: &str, at: &str| IntakeDecision {
            purl: purl.into(),
            verdict: verdict.into(),
            bundle: "sha256:b".into(),
            subject: subject.into(),
            recorded_at: at.into(),
        };
        let view = ArtifactView {
            digest: "sha256:aa".into(),
            names: vec!["out/app".into()],
            evidence: Vec::new(),
            trace: Trace {
                digest: "sha256:aa".into(),
                builds: Vec::new(),
                commits: Vec::new(),
                dependencies: vec![
                    dep("left-pad", "pkg:npm/left-pad@1.3.0?arch=any"),
                    dep("evil", "pkg:npm/evil@6.6.6"),
                    dep("unknown", "pkg:npm/unknown@1"),
                ],
                signers: Vec::new(),
                decisions: vec![zt_pipeline::trace::Decision {
                    stage: "deploy".into(),
                    allow: false,
                    deny: Vec::new(),
                }],
                rejected: Vec::new(),
                intake: vec![
                    intake(
                        "pkg:npm/left-pad@1.3.0",
                        "held",
                        "sha256:01",
                        "2026-01-01T00:00:00Z",
                    ),
                    intake(
                        "pkg:npm/left-pad@1.3.0",
                        "admitted",
                        "sha256:02",
                        "2026-02-01T00:00:00Z",
                    ),
                    intake(
                        "pkg:npm/evil@6.6.6",
                        "rejected",
                        "sha256:03",
                        "2026-02-01T00:00:00Z",
                    ),
                ],
                deployments: vec![Deployment {
                    at: "2026-03-01T00:00:00Z".into(),
                    allowed: false,
                    operation: "CREATE".into(),
                    object: "Pod shop/app".into(),
                    log_index: Some(9),
                }],
            },
        };
        let g = graph(&view);
        let node = |id: &str| g.nodes.iter().find(|n| n.id == id).unwrap();
        let (pad, evil, unknown) = (node("dep-0"), node("dep-1"), node("dep-2"));
        assert_eq!(pad.detail, "intake: admitted");
        assert_eq!(pad.verdict, Verdict::Good);
        assert_eq!(
            pad.href,
            "/api/v1/evidence?subject=sha256%3A02&predicateType=https%3A%2F%2Fzt.dev%2Fattestation%2Fdependency-intake%2Fv1"
        );
        assert_eq!(evil.detail, "intake: rejected");
        assert_eq!(evil.verdict, Verdict::Bad);
        assert_eq!(unknown.detail, "from the sbom");
        assert_eq!(unknown.verdict, Verdict::Neutral);
        let review = node("deployment-0");
        assert_eq!(review.label, "Pod shop/app");
        assert_eq!(review.detail, "refused 2026-03-01");
        assert_eq!(review.verdict, Verdict::Bad);
        assert!(
            g.edges
                .contains(&("decision-deploy".to_owned(), "deployment-0".to_owned()))
        );
        let html = artifact(&view);
        assert!(html.contains("intake: admitted</a>"), "{html}");
        assert!(html.contains("<a href=\"/log?index=9\">9</a>"), "{html}");
    }

    /// Until the first report is computed the page says so (and still lists incidents); a
    /// failed computation shows its reason, escaped.
    #[test]
    fn the_alerts_page_says_when_the_report_is_pending_or_failed() {
        let html = alerts("30d", &WatchState::Pending(3), &[]);
        assert!(html.contains("it began 3 s ago"), "{html}");
        assert!(!html.contains("No alerts in the period"), "{html}");
        assert!(html.contains("No incident records."), "{html}");
        let html = alerts("30d", &WatchState::Failed("bad <ledger>".into()), &[]);
        assert!(
            html.contains("could not be computed: bad &lt;ledger&gt;"),
            "{html}"
        );
        let report = zt_pipeline::watch::Report {
            alerts: Vec::new(),
            builds: 7,
            pipelines: 2,
        };
        let html = alerts("30d", &WatchState::Ready(report, 12), &[]);
        assert!(
            html.contains("7 builds of 2 pipelines read, 12 s ago"),
            "{html}"
        );
        assert!(html.contains("No alerts in the period."), "{html}");
    }
}
