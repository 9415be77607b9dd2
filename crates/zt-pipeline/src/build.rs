//! The build workflows behind `zt build`, `zt repro` and `zt build verify`: a sealed build,
//! optionally rebuilt with variations and compared (the verdict recorded in the provenance
//! and in a reproducibility statement), the provenance signed, logged and recorded; and the
//! judgement of every output of the build.

use std::path::{Path, PathBuf};

use zt_build::build::{Options, Outcome};
use zt_build::repro::{self, Variation};
use zt_build::sandbox::Exit;
use zt_core::Workspace;
use zt_core::config::Stage;

use crate::Error;
use crate::gate::{Judgement, Target};

/// A build to run.
#[derive(Debug, Clone)]
pub struct Request {
    /// The build (tree, command, outputs, inputs, secrets, sandbox strength).
    pub options: Options,
    /// Rebuild this many times with variations and compare (`None`: build once).
    pub rebuild: Option<usize>,
    /// The variations to apply when rebuilding.
    pub vary: Vec<Variation>,
}

/// A rebuild-and-compare verdict and where its (unsigned) statement was written.
#[derive(Debug, Clone)]
pub struct Repro {
    /// The verdict and its explanation.
    pub report: repro::Report,
    /// The reproducibility statement's file.
    pub statement: PathBuf,
}

/// A finished build.
#[derive(Debug)]
pub struct Built {
    /// What the build did: exit, log, source state, outputs, provenance.
    pub outcome: Outcome,
    /// The rebuild-and-compare verdict, when asked for and the build succeeded.
    pub repro: Option<Repro>,
    /// The signed provenance's bundle and log index (a build without outputs has none).
    pub signed: Option<(PathBuf, u64)>,
}

impl Built {
    /// Whether the build succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome.exit == Exit::Code(0)
    }

    /// Whether it succeeded and, when rebuilt, was reproducible.
    pub fn ok(&self) -> bool {
        self.succeeded() && self.repro.as_ref().is_none_or(|r| r.report.reproducible)
    }

    /// The exit in words (`exit status 0`, `signal 9`, `timed out`).
    pub fn exit_text(&self) -> String {
        match self.outcome.exit {
            Exit::Code(c) => format!("exit status {c}"),
            Exit::Signal(s) => format!("signal {s}"),
            Exit::TimedOut => "timed out".to_owned(),
        }
    }
}

/// `zt build`: builds in the sandbox; when asked, rebuilds and compares and records the
/// verdict in the provenance (and its own statement); signs the provenance with the
/// workspace's pipeline key, logs it and records it.
pub fn build(ws: &Workspace, req: &Request) -> Result<Built, Error> {
    let config = ws.config()?;
    let pinned_dir;
    let req = &match &config.build.mirror {
        Some(setting) => {
            pinned_dir = tempfile::Builder::new()
                .prefix("zt-mirror-")
                .tempdir()
                .map_err(|e| {
                    Error::Io(std::io::Error::other(format!(
                        "a temporary directory for the pinned mirror: {e}"
                    )))
                })?;
            let mut req = req.clone();
            req.options.package_source = Some(pin_mirror(ws, setting, pinned_dir.path())?);
            req
        }
        None => req.clone(),
    };
    let mut outcome = zt_build::build::build(&req.options)?;
    let mut repro = None;
    if outcome.exit.success()
        && let Some(n) = req.rebuild
    {
        let report = repro::repro(&req.options, n, &req.vary)?;
        let statement = write_statement(ws, &report)?;
        if let Some((provenance, path)) = &mut outcome.provenance {
            repro::record_in_provenance(provenance, &report);
            zt_core::fsutil::write_atomic(path, &provenance.to_json())?;
        }
        repro = Some(Repro { report, statement });
    }
    // (A build without outputs has nothing to attest to: in-toto needs a subject.)
    let mut signed = None;
    if let Some((provenance, _)) = &outcome.provenance
        && !provenance.subject.is_empty()
    {
        signed = Some(crate::evidence::attest(ws, "provenance", provenance)?);
        // The build record `zt watch` baselines (behaviour, commit, signer).
        if let Some(predicate) = &provenance.predicate {
            let outputs: Vec<zt_core::Digest> =
                outcome.outputs.iter().map(|o| o.digest.clone()).collect();
            crate::watch::record(ws, &outcome.tree, &outputs, predicate)?;
        }
    }
    Ok(Built {
        outcome,
        repro,
        signed,
    })
}

/// Writes the curated mirror named by `[build] mirror` (`local`: this repository's; else a
/// mirror directory) under `dir` as file registries, and says how the build uses and records it.
pub fn pin_mirror(
    ws: &Workspace,
    setting: &str,
    dir: &Path,
) -> Result<zt_build::build::PackageSource, Error> {
    let root = if setting == "local" {
        ws.layout().mirror()
    } else {
        ws.root().join(setting)
    };
    if !root.is_dir() {
        return Err(Error::Input {
            what: format!(
                "`[build] mirror` names `{setting}`, and `{}` is no mirror directory",
                root.display()
            ),
            help: "admit packages with `zt deps intake` first (`mirror = \"local\"` is this repository's mirror), or point `mirror` at another repository's mirror directory".into(),
        });
    }
    let pinned = zt_deps::pinned::materialize(&zt_deps::intake::mirror::Mirror::at(&root), dir)?;
    let record = serde_json::json!({
        "name": "zt-mirror",
        "uri": format!("file://{}", root.display()),
        "digest": { "sha256": pinned.index_digest },
        "annotations": {
            "kind": "package-mirror",
            "packages": pinned.packages,
            "env": pinned.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        },
    });
    Ok(zt_build::build::PackageSource {
        dir: pinned.dir.clone(),
        env: pinned.env,
        files: vec![(PathBuf::from(".cargo/config.toml"), pinned.cargo_config)],
        record,
    })
}

/// `zt repro`: rebuilds and compares only; the statement is written, not signed.
pub fn repro_only(ws: &Workspace, req: &Request) -> Result<Repro, Error> {
    let report = repro::repro(&req.options, req.rebuild.unwrap_or(2), &req.vary)?;
    let statement = write_statement(ws, &report)?;
    Ok(Repro { report, statement })
}

fn write_statement(ws: &Workspace, report: &repro::Report) -> Result<PathBuf, Error> {
    let statement = repro::statement(report);
    let path = ws.layout().provenance().join(format!(
        "repro-{}.intoto.json",
        zt_build::build::invocation_id()
    ));
    zt_core::fsutil::write_atomic(&path, &statement.to_json())?;
    Ok(path)
}

/// `zt build verify`: every regular file under `out` (links are not followed: a build may
/// leave links inside its outputs, and a link loop must not hang the judge), judged at
/// `stage`, with its name relative to the workspace.
pub fn verify(ws: &Workspace, out: &Path, stage: Stage) -> Result<Vec<(String, Judgement)>, Error> {
    let dir = ws.root().join(out);
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match fs_err::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => stack.push(p),
                Ok(m) if m.is_file() => files.push(p),
                _ => {}
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::Input {
            what: format!("`{}` holds no build outputs", dir.display()),
            help: "build first (`zt build --rebuild 2 -- …` or `zt pipeline run .`), then `zt build verify`".into(),
        });
    }
    let mut judged = Vec::with_capacity(files.len());
    for f in files {
        let name = ws.relative(&f).display().to_string();
        let judgement = crate::gate::judge(ws, &Target::File(f), stage, &[])?;
        judged.push((name, judgement));
    }
    Ok(judged)
}
