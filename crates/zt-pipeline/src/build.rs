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
    /// The container image to assemble from the outputs (`[build.image]`, `--image`).
    pub image: Option<ImageRequest>,
}

/// An image to assemble from a build's outputs.
#[derive(Debug, Clone, Default)]
pub struct ImageRequest {
    /// The recipe (`[build.image]`; its defaults when the table is absent).
    pub recipe: zt_core::config::ImageConfig,
    /// Where the layout goes (overrides `recipe.layout`), relative to the tree or absolute.
    pub layout: Option<PathBuf>,
    /// How registries are reached (for a base image in a registry).
    pub registry: crate::image::RegistryOptions,
}

/// An image a build assembled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BuiltImage {
    /// Its name in the provenance subject.
    pub name: String,
    /// The manifest digest (a provenance subject).
    pub digest: zt_core::Digest,
    /// The layout written.
    pub layout: PathBuf,
    /// The tag in the layout.
    pub tag: String,
    /// Its layers' digests, bottom first.
    pub layers: Vec<zt_core::Digest>,
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
    /// The image assembled from the outputs, when asked for.
    pub image: Option<BuiltImage>,
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
            Exit::Stalled => "stalled (every process asleep, no CPU used)".to_owned(),
            Exit::WriteLimit => "killed at the write limit".to_owned(),
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
    let mut image = None;
    if outcome.exit.success()
        && let Some(want) = &req.image
    {
        let built = assemble(&outcome, &req.options, want)?;
        if let Some((provenance, path)) = &mut outcome.provenance {
            provenance
                .subject
                .push(zt_core::ResourceDescriptor::subject(
                    built.name.clone(),
                    &built.digest,
                ));
            zt_core::fsutil::write_atomic(path, &provenance.to_json())?;
        }
        image = Some(built);
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
        image,
    })
}

/// Assembles the image from the build's outputs: every layer from a directory of the output,
/// every time `SOURCE_DATE_EPOCH`, written as an OCI layout.
fn assemble(
    outcome: &zt_build::build::Outcome,
    options: &Options,
    want: &ImageRequest,
) -> Result<BuiltImage, Error> {
    let recipe = &want.recipe;
    let tree = &outcome.tree;
    let layout_rel = want
        .layout
        .clone()
        .or_else(|| recipe.layout.clone())
        .unwrap_or_else(|| PathBuf::from("image"));
    let layout = tree.join(&layout_rel);
    let layers: Vec<zt_core::config::ImageLayer> = if recipe.layers.is_empty() {
        vec![zt_core::config::ImageLayer {
            from: options.out.clone(),
            to: "/".into(),
        }]
    } else {
        recipe.layers.clone()
    };
    let mut sources = Vec::with_capacity(layers.len());
    for l in &layers {
        if !l.from.starts_with(&options.out)
            || l.from
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Error::Input {
                what: format!(
                    "the image layer `{}` is not inside the build's output `{}`",
                    l.from.display(),
                    options.out.display()
                ),
                help: format!(
                    "make the build write it under `{}` and name that directory in `[[build.image.layers]] from`",
                    options.out.display()
                ),
            });
        }
        let dir = tree.join(&l.from);
        if !dir.is_dir() {
            return Err(Error::Input {
                what: format!(
                    "the build left no directory `{}` for the image",
                    l.from.display()
                ),
                help: "make the build create it, or fix `[[build.image.layers]] from` in `zt.toml`"
                    .into(),
            });
        }
        sources.push(zt_oci::assemble::LayerSource {
            dir,
            dest: l.to.clone(),
        });
    }
    let base = match &recipe.base {
        Some(b) => {
            // A layout path is relative to the tree, like every path in `zt.toml`.
            let arg = match b.strip_prefix("oci-layout:") {
                Some(rest) if !rest.starts_with('/') => {
                    format!("oci-layout:{}", tree.join(rest).display())
                }
                _ => b.clone(),
            };
            Some(crate::image::open(&arg, &want.registry)?)
        }
        None => None,
    };
    let tag = recipe.tag.clone().unwrap_or_else(|| "latest".into());
    let built = zt_oci::assemble::build(
        &zt_oci::assemble::Recipe {
            base: base.as_ref().map(|b| (b.repo(), b.target.clone())),
            layers: sources,
            config: zt_oci::assemble::RunConfig {
                entrypoint: recipe.entrypoint.clone(),
                cmd: recipe.cmd.clone(),
                env: recipe.env.clone(),
                workdir: recipe.workdir.clone(),
                user: recipe.user.clone(),
                labels: recipe.labels.clone(),
            },
            epoch: outcome.source.source_date_epoch,
            os: "linux".into(),
            architecture: recipe
                .architecture
                .clone()
                .unwrap_or_else(|| zt_oci::assemble::host_architecture().to_string()),
            tag: tag.clone(),
            created_by: "zt build: layer at".into(),
        },
        &layout,
    )?;
    Ok(BuiltImage {
        name: recipe
            .name
            .clone()
            .unwrap_or_else(|| format!("oci-layout:{}", layout_rel.display())),
        digest: built.manifest.digest,
        layout,
        tag,
        layers: built.layers.into_iter().map(|d| d.digest).collect(),
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
    let mirror = zt_deps::intake::mirror::Mirror::at(&root);
    let pinned = zt_deps::pinned::materialize(&mirror, dir)?;
    let mut record = serde_json::json!({
        "name": "zt-mirror",
        "uri": format!("file://{}", root.display()),
        "digest": { "sha256": pinned.index_digest },
        "annotations": {
            "kind": "package-mirror",
            "packages": pinned.packages,
            "env": pinned.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        },
    });
    let mut records = Vec::new();
    match mirror_packages_pinned(ws.root(), &mirror.index()?) {
        Ok(used) => records = used,
        Err(e) => {
            // The package manager will judge the lockfile; the provenance says why it names
            // no packages.
            record["annotations"]["lockfileError"] = serde_json::json!(e.to_string());
        }
    }
    records.insert(0, record);
    Ok(zt_build::build::PackageSource {
        dir: pinned.dir.clone(),
        env: pinned.env,
        files: vec![(PathBuf::from(".cargo/config.toml"), pinned.cargo_config)],
        records,
    })
}

/// The mirror's admitted archives that the tree's lockfiles pin, as `resolvedDependencies`
/// entries (`uri` the package URL, `digest` the admitted archive's SHA-256): what the package
/// managers, held to those lockfiles and with the mirror as their only source, can install.
/// A lockfile entry matches an admitted archive by package URL (qualifiers aside) and, where
/// it records a SHA-256 (Cargo's `checksum`, pip's `--hash`), by that digest too: a lockfile
/// pinning other bytes under the same name names no mirror entry.
fn mirror_packages_pinned(
    tree: &Path,
    index: &std::collections::BTreeMap<String, zt_deps::intake::mirror::MirrorEntry>,
) -> Result<Vec<serde_json::Value>, zt_deps::Error> {
    let inventory = zt_deps::inventory(tree)?;
    let mut by_purl: std::collections::BTreeMap<&str, Vec<&zt_deps::intake::mirror::MirrorEntry>> =
        Default::default();
    for (purl, entry) in index {
        by_purl
            .entry(strip_qualifiers(purl))
            .or_default()
            .push(entry);
    }
    let mut out = std::collections::BTreeMap::new();
    for p in &inventory.packages {
        let Some(entries) = by_purl.get(strip_qualifiers(&p.purl)) else {
            continue;
        };
        let sha256: Vec<&str> = p
            .hashes
            .iter()
            .filter(|h| h.algorithm == "sha256")
            .map(|h| h.value.as_str())
            .collect();
        let lockfile = inventory
            .lockfiles
            .get(p.lockfile)
            .map(|l| {
                l.path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        for e in entries {
            if !sha256.is_empty() && !sha256.contains(&e.sha256.as_str()) {
                continue;
            }
            out.entry((e.purl.clone(), e.sha256.clone())).or_insert_with(|| {
                serde_json::json!({
                    "uri": e.purl,
                    "digest": { "sha256": e.sha256 },
                    "annotations": { "kind": "mirror-package", "file": e.file, "lockfile": lockfile },
                })
            });
        }
    }
    Ok(out.into_values().collect())
}

/// A package URL without its `?qualifiers` and `#subpath`.
fn strip_qualifiers(purl: &str) -> &str {
    purl.split(['?', '#']).next().unwrap_or(purl)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use zt_deps::intake::mirror::MirrorEntry;

    fn entry(purl: &str, sha256: &str) -> MirrorEntry {
        MirrorEntry {
            purl: purl.into(),
            ecosystem: "crates.io".into(),
            sha256: sha256.into(),
            file: "x.crate".into(),
            size: 1,
            admitted: "2026-01-01T00:00:00Z".into(),
            decision: None,
        }
    }

    #[test]
    fn mirror_packages_are_named_by_purl_and_the_lockfiles_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        fs_err::write(
            dir.path().join("Cargo.lock"),
            format!("version = 4\n\n[[package]]\nname = \"cfg-if\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{a}\"\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{a}\"\n"),
        )
        .unwrap();
        let mut index = std::collections::BTreeMap::new();
        // cfg-if: the bytes the lockfile pins; libc: other bytes under the same name; adler2:
        // admitted, not in the lockfile.
        for (purl, sum) in [
            ("pkg:cargo/cfg-if@1.0.0", &a),
            ("pkg:cargo/libc@0.2.1", &b),
            ("pkg:cargo/adler2@2.0.1", &a),
        ] {
            index.insert(purl.to_owned(), entry(purl, sum));
        }
        let used = mirror_packages_pinned(dir.path(), &index).unwrap();
        assert_eq!(used.len(), 1, "{used:?}");
        assert_eq!(used[0]["uri"], "pkg:cargo/cfg-if@1.0.0");
        assert_eq!(used[0]["digest"]["sha256"], a.as_str());
        assert_eq!(used[0]["annotations"]["lockfile"], "Cargo.lock");
        assert_eq!(
            strip_qualifiers("pkg:pypi/x@1?file=x.whl#sub"),
            "pkg:pypi/x@1"
        );
    }
}
