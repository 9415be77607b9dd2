//! `zt watch`: the ledger's build records through zt-watch's detector; and what a build
//! record carries for it (the `ztWatch` object: repository, commit, author, committer,
//! commit-signing key, provenance signing key), added where builds are recorded.

use std::path::Path;

use serde_json::{Value, json};
use zt_core::{Digest, Workspace};
use zt_sign::Signer as _;
use zt_watch::{Alert, BuildFacts, Detector};

use crate::Error;

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Report builds recorded at or after this time (Unix seconds); earlier ones only make the
    /// baselines. `None`: report every build.
    pub since: Option<i64>,
}

/// The alerts and what they were judged over.
#[derive(Debug, Clone)]
pub struct Report {
    /// The alerts, by time.
    pub alerts: Vec<Alert>,
    /// How many build records were read.
    pub builds: usize,
    /// How many pipelines they belong to.
    pub pipelines: usize,
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "builds": self.builds,
            "pipelines": self.pipelines,
            "alerts": self.alerts.iter().map(Alert::to_json).collect::<Vec<_>>(),
        })
    }
}

/// Reads every build record of the workspace's ledger and runs the detector.
pub fn watch(ws: &Workspace, req: &Request) -> Result<Report, Error> {
    watch_with(ws, req, &Detector::default())
}

/// [`watch`] with the detector's settings given (drills use a shorter warm-up).
pub fn watch_with(ws: &Workspace, req: &Request, detector: &Detector) -> Result<Report, Error> {
    let facts = history(ws)?;
    let alerts = detector.detect(&facts, req.since);
    let pipelines = facts
        .iter()
        .map(|f| f.pipeline.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(Report {
        alerts,
        builds: facts.len(),
        pipelines,
    })
}

/// Every build record of the ledger, as facts (none when there is no ledger yet).
pub fn history(ws: &Workspace) -> Result<Vec<BuildFacts>, Error> {
    let Some(ledger) = crate::ledger::open_existing(ws)? else {
        return Ok(Vec::new());
    };
    Ok(ledger
        .builds_since(i64::MIN)?
        .iter()
        .map(|b| BuildFacts::from_record(&b.id, b.recorded_at, &b.record))
        .collect())
}

/// The `ztWatch` object of a build of `commit` in `tree`: the repository (its `origin` URL,
/// else its path), the commit's author and committer e-mails and the key that signed it
/// (SSH fingerprint, or OpenPGP issuer), and the key that signs the provenance.
pub fn context(ws: &Workspace, tree: &Path, commit: Option<&str>) -> Value {
    let repository = repository(tree);
    let signer_key = crate::run::pipeline_key(ws)
        .ok()
        .map(|k| k.public_key().key_id());
    // Orders builds recorded within the same second (`ZT_NOW` fixes the workspace clock).
    let recorded_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut v = json!({"repository": repository, "signerKey": signer_key, "commit": commit, "recordedNs": recorded_ns});
    if let Some(c) = commit.and_then(|c| parse_commit(tree, c)) {
        v["author"] = json!(c.author.email);
        v["committer"] = json!(c.committer.email);
        v["commitKey"] = json!(c.signature.as_deref().and_then(signature_key));
    }
    v
}

/// The repository of `tree` as build records name it: `git+<origin URL>`, else
/// `git+file://<path>`.
pub fn repository(tree: &Path) -> String {
    git(tree, &["config", "--get", "remote.origin.url"])
        .map(|u| format!("git+{u}"))
        .unwrap_or_else(|| format!("git+file://{}", tree.display()))
}

fn parse_commit(tree: &Path, commit: &str) -> Option<zt_source::commits::Commit> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["cat-file", "commit", commit])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let id = zt_source::commits::ObjectId::from_hex(commit.as_bytes()).ok()?;
    zt_source::commits::Commit::parse(id, out.stdout).ok()
}

/// The key that made a commit signature: an SSH signature's public key fingerprint
/// (`SHA256:…`), an OpenPGP signature's issuer. Who signed, not whether it verifies
/// (`zt source verify` judges that).
pub fn signature_key(sig: &[u8]) -> Option<String> {
    if sig.starts_with(b"-----BEGIN SSH SIGNATURE") {
        zt_source::commits::SshSignature::parse(sig)
            .ok()
            .map(|s| s.key().fingerprint())
    } else {
        zt_source::commits::PgpSignature::parse(sig)
            .ok()
            .map(|s| s.issuer())
    }
}

fn git(tree: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Records a build in the ledger under its provenance invocation id, with the `ztWatch`
/// object, indexed by the digests it produced.
pub fn record(
    ws: &Workspace,
    tree: &Path,
    outputs: &[Digest],
    predicate: &Value,
) -> Result<(), Error> {
    let Some(id) = predicate
        .pointer("/runDetails/metadata/invocationId")
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    let commit = predicate
        .pointer("/buildDefinition/externalParameters/source")
        .and_then(Value::as_str);
    let mut record = predicate.clone();
    record["ztWatch"] = context(ws, tree, commit);
    crate::ledger::open(ws)?.put_build(&zt_store::BuildRecord {
        id: id.to_owned(),
        outputs: outputs.to_vec(),
        recorded_at: ws.now(),
        record,
    })?;
    Ok(())
}

/// Spools `events` for the workspace's `[[notify]]` routes and delivers what is due, within
/// `budget` (zero: spool only, as the pipeline does: it never waits for a receiver).
pub fn notify(
    ws: &Workspace,
    events: &[zt_watch::notify::Event],
    budget: std::time::Duration,
) -> Result<Option<zt_watch::notify::Drained>, Error> {
    let config = ws.config()?;
    if config.notify.is_empty() {
        return Ok(None);
    }
    let routes = zt_watch::notify::routes(&config.notify)?;
    for e in events {
        zt_watch::notify::enqueue(ws.root(), &routes, e)?;
    }
    if budget.is_zero() {
        return Ok(None);
    }
    Ok(Some(zt_watch::notify::drain(
        ws.root(),
        &routes,
        ws.now(),
        budget,
    )?))
}

/// The notification of an alert.
pub fn alert_event(a: &Alert) -> zt_watch::notify::Event {
    zt_watch::notify::Event {
        kind: "alert",
        summary: format!("{} [{}] in {}: {}", a.kind, a.severity, a.pipeline, a.why),
        fix: Some(format!(
            "look at build {} (`zt watch --json`); if it is a compromise, `zt incident bad-commit COMMIT`",
            a.build
        )),
        details: a.to_json(),
        at: a.at,
    }
}
