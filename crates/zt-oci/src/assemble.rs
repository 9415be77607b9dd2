//! Building an image without a daemon: layers made reproducibly from directories (see
//! [`crate::tar`]), stacked on a base image (or on nothing), with an OCI image config, written
//! as an OCI image layout. The same directories, recipe and `SOURCE_DATE_EPOCH` give the same
//! manifest digest on every machine: that digest is what provenance names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use zt_core::Digest;

use crate::layout::{Layout, REF_NAME};
use crate::manifest::{self, Descriptor, Manifest};
use crate::{Error, Repository};

/// Docker's layer media types, the same bytes as the OCI ones.
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// An uncompressed OCI layer.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// One layer: a directory's contents placed at an absolute path of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSource {
    /// The directory.
    pub dir: PathBuf,
    /// Where its contents go (`/` for the root).
    pub dest: String,
}

/// The runtime config of the image (the OCI image config's `config` object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunConfig {
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `Env` entries `KEY=VALUE`: replace the base's value of the same key, else appended.
    pub env: Vec<String>,
    /// `WorkingDir`.
    pub workdir: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Labels`, merged over the base's.
    pub labels: BTreeMap<String, String>,
}

/// What to build.
pub struct Recipe<'a> {
    /// The base image: its store and the tag or digest (`None`: start from nothing).
    pub base: Option<(&'a dyn Repository, String)>,
    /// The layers, bottom first.
    pub layers: Vec<LayerSource>,
    /// The runtime config.
    pub config: RunConfig,
    /// Every time in the image (file mtimes, `created`): `SOURCE_DATE_EPOCH`.
    pub epoch: i64,
    /// The platform: `os` (default `linux`) …
    pub os: String,
    /// … and `architecture` (GOARCH spelling: `amd64`, `arm64`).
    pub architecture: String,
    /// The tag written in the layout's `index.json`.
    pub tag: String,
    /// What made each layer (its `created_by` in the history).
    pub created_by: String,
}

/// An image built.
#[derive(Debug, Clone)]
pub struct Built {
    /// The manifest's descriptor: its digest is the image's.
    pub manifest: Descriptor,
    /// The config's descriptor.
    pub config: Descriptor,
    /// Every layer, bottom first (the base's, then the new ones).
    pub layers: Vec<Descriptor>,
    /// The layers zt made: their uncompressed digests (`diff_ids`).
    pub diff_ids: Vec<Digest>,
    /// The layout written.
    pub layout: PathBuf,
}

/// The GOARCH name of the machine zt runs on.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn build_error(reason: String, fix: &str) -> Error {
    Error::Build {
        reason,
        fix: fix.to_string(),
    }
}

/// The base image's manifest (an index resolved to the entry for `os`/`architecture`) and
/// config.
fn base_image(
    repo: &dyn Repository,
    target: &str,
    os: &str,
    arch: &str,
) -> Result<(Manifest, Value), Error> {
    let mut fetched = crate::resolve(repo, target)?;
    if fetched.manifest.is_index() {
        let entry = fetched
            .manifest
            .manifests
            .iter()
            .find(|d| {
                d.platform.as_ref().is_some_and(|p| {
                    p.get("os").and_then(Value::as_str) == Some(os)
                        && p.get("architecture").and_then(Value::as_str) == Some(arch)
                })
            })
            .ok_or_else(|| {
                build_error(
                    format!("the base image `{target}` has no {os}/{arch} image"),
                    "pick a base built for this platform, or set `architecture` in `[build.image]`",
                )
            })?;
        fetched = crate::resolve(repo, &entry.digest.to_string())?;
        if fetched.manifest.is_index() {
            return Err(build_error(
                format!("the base image `{target}` nests an index in an index"),
                "name the platform's image manifest by digest as the base",
            ));
        }
    }
    let config_desc =
        fetched.manifest.config.clone().ok_or_else(|| {
            build_error("the base image has no config".into(), "pick another base")
        })?;
    let config: Value = serde_json::from_slice(&repo.blob(&config_desc.digest)?).map_err(|e| {
        build_error(
            format!("the base image's config is not JSON: {e}"),
            "pick another base",
        )
    })?;
    if !config.is_object() {
        return Err(build_error(
            "the base image's config is not a JSON object".into(),
            "pick another base",
        ));
    }
    Ok((fetched.manifest, config))
}

/// Builds the image and writes it as an OCI image layout at `out` (replacing what was
/// there, atomically: the layout is made beside it and renamed into place).
pub fn build(recipe: &Recipe<'_>, out: &Path) -> Result<Built, Error> {
    let created = zt_core::time::rfc3339(recipe.epoch);
    let parent = out.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".zt-image-")
        .tempdir_in(parent)?;
    let layout = Layout::open_or_create(staging.path())?;

    let (mut layers, mut config) = match &recipe.base {
        Some((repo, target)) => {
            let (m, config) = base_image(*repo, target, &recipe.os, &recipe.architecture)?;
            let mut layers = Vec::with_capacity(m.layers.len());
            for l in &m.layers {
                let bytes = repo.blob(&l.digest)?;
                layout.push_blob(&bytes)?;
                let mut l = l.clone();
                l.media_type = match l.media_type.as_str() {
                    DOCKER_LAYER_GZIP => manifest::OCI_LAYER_GZIP.to_string(),
                    DOCKER_LAYER => OCI_LAYER.to_string(),
                    t => t.to_string(),
                };
                layers.push(l);
            }
            (layers, config)
        }
        None => (
            Vec::new(),
            json!({"rootfs": {"type": "layers", "diff_ids": []}}),
        ),
    };
    let mut diff_ids = Vec::with_capacity(recipe.layers.len());
    let mut history = config
        .get("history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for source in &recipe.layers {
        let tar = crate::tar::from_dir(&source.dir, &source.dest, recipe.epoch)?;
        let diff_id = Digest::sha256(&tar);
        let gz = crate::tar::gzip(&tar);
        layout.push_blob(&gz)?;
        layers.push(Descriptor::of(manifest::OCI_LAYER_GZIP, &gz));
        history.push(json!({
            "created": created,
            "created_by": format!("{} {}", recipe.created_by, source.dest),
        }));
        diff_ids.push(diff_id);
    }

    // The config: the base's, with the platform, rootfs, history and runtime config updated.
    let obj = config.as_object_mut().ok_or_else(|| {
        build_error(
            "the base config is not an object".into(),
            "pick another base",
        )
    })?;
    obj.insert("created".into(), created.clone().into());
    obj.insert("os".into(), recipe.os.clone().into());
    obj.insert("architecture".into(), recipe.architecture.clone().into());
    let mut all_diff_ids: Vec<Value> = obj
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    all_diff_ids.extend(diff_ids.iter().map(|d| Value::from(d.to_string())));
    if all_diff_ids.len() != layers.len() {
        return Err(build_error(
            format!(
                "the base image lists {} layers but {} diff_ids",
                layers.len() - diff_ids.len(),
                all_diff_ids.len() - diff_ids.len()
            ),
            "pick another base: its config does not describe its layers",
        ));
    }
    obj.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": all_diff_ids}),
    );
    obj.insert("history".into(), history.into());
    let run = obj
        .entry("config")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            build_error(
                "the base config's `config` is not an object".into(),
                "pick another base",
            )
        })?;
    let c = &recipe.config;
    if !c.entrypoint.is_empty() {
        run.insert("Entrypoint".into(), c.entrypoint.clone().into());
        // As Docker does: a new entrypoint drops the base's command.
        if c.cmd.is_empty() {
            run.remove("Cmd");
        }
    }
    if !c.cmd.is_empty() {
        run.insert("Cmd".into(), c.cmd.clone().into());
    }
    if !c.env.is_empty() {
        let mut env: Vec<String> = run
            .get("Env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for e in &c.env {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            match env
                .iter_mut()
                .find(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) == key)
            {
                Some(slot) => *slot = e.clone(),
                None => env.push(e.clone()),
            }
        }
        run.insert("Env".into(), env.into());
    }
    if let Some(w) = &c.workdir {
        run.insert("WorkingDir".into(), w.clone().into());
    }
    if let Some(u) = &c.user {
        run.insert("User".into(), u.clone().into());
    }
    if !c.labels.is_empty() {
        let labels = run.entry("Labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        if let Some(l) = labels.as_object_mut() {
            for (k, v) in &c.labels {
                l.insert(k.clone(), v.clone().into());
            }
        }
    }
    // serde_json's map is ordered by key: the same config gives the same bytes.
    let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
    layout.push_blob(&config_bytes)?;
    let config_desc = Descriptor::of(manifest::OCI_CONFIG, &config_bytes);
    let mut m = Manifest::image(config_desc.clone(), layers.clone());
    if !c.labels.is_empty() {
        m.annotations = c.labels.clone();
    }
    let bytes = m.to_bytes();
    layout.push_manifest(&bytes, manifest::OCI_MANIFEST, Some(&recipe.tag))?;
    let mut descriptor = Descriptor::of(manifest::OCI_MANIFEST, &bytes);
    descriptor = descriptor.annotate(REF_NAME, recipe.tag.clone());

    // Into place: the old layout (if any) goes, the new one is renamed over it.
    let staged = staging.keep();
    if out.exists() {
        let old = parent.join(format!(
            ".zt-image-old-{}",
            Digest::sha256(out.to_string_lossy().as_bytes()).hex()
        ));
        let _ = fs_err::remove_dir_all(&old);
        fs_err::rename(out, &old)?;
        fs_err::rename(&staged, out)?;
        fs_err::remove_dir_all(&old)?;
    } else {
        fs_err::rename(&staged, out)?;
    }
    Ok(Built {
        manifest: descriptor,
        config: config_desc,
        layers,
        diff_ids,
        layout: out.to_path_buf(),
    })
}

/// Copies the image `target` of `from` (its manifest, config and layers; an index with every
/// image it lists) into `to`, tagged `tag` there (or by digest alone). Returns the manifest's
/// descriptor. Every blob is checked against its digest on the way.
pub fn copy(
    from: &dyn Repository,
    target: &str,
    to: &dyn Repository,
    tag: Option<&str>,
) -> Result<Descriptor, Error> {
    let fetched = crate::resolve(from, target)?;
    copy_manifest(from, &fetched, to, tag, 0)?;
    Ok(fetched.descriptor)
}

fn copy_manifest(
    from: &dyn Repository,
    fetched: &crate::Fetched,
    to: &dyn Repository,
    tag: Option<&str>,
    depth: usize,
) -> Result<(), Error> {
    if depth > 4 {
        return Err(Error::Manifest {
            reason: "indexes nest more than 4 deep".into(),
        });
    }
    let m = &fetched.manifest;
    for d in m.config.iter().chain(m.layers.iter()) {
        let bytes = from.blob(&d.digest)?;
        to.push_blob(&bytes)?;
    }
    for d in &m.manifests {
        let child = crate::resolve(from, &d.digest.to_string())?;
        copy_manifest(from, &child, to, None, depth + 1)?;
    }
    to.push_manifest(&fetched.bytes, m.media_type(), tag)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe<'a>(
        layers: Vec<LayerSource>,
        base: Option<(&'a dyn Repository, String)>,
    ) -> Recipe<'a> {
        Recipe {
            base,
            layers,
            config: RunConfig {
                entrypoint: vec!["/app/hello".into()],
                env: vec!["PATH=/app".into(), "MODE=prod".into()],
                labels: [(
                    "org.opencontainers.image.source".to_string(),
                    "https://example.org/x".to_string(),
                )]
                .into_iter()
                .collect(),
                ..RunConfig::default()
            },
            epoch: 1_700_000_000,
            os: "linux".into(),
            architecture: "amd64".into(),
            tag: "latest".into(),
            created_by: "zt build: layer at".into(),
        }
    }

    #[test]
    fn the_same_recipe_gives_the_same_digest_and_a_base_is_stacked_under() {
        let a = tempfile::tempdir().unwrap();
        let src = a.path().join("out");
        fs_err::create_dir_all(src.join("bin")).unwrap();
        fs_err::write(src.join("bin/hello"), b"hello").unwrap();
        let layers = vec![LayerSource {
            dir: src.clone(),
            dest: "/app".into(),
        }];
        let one = build(&recipe(layers.clone(), None), &a.path().join("img1")).unwrap();
        let two = build(&recipe(layers.clone(), None), &a.path().join("img2")).unwrap();
        assert_eq!(one.manifest.digest, two.manifest.digest);
        // Rebuilding over an existing layout replaces it.
        let again = build(&recipe(layers.clone(), None), &a.path().join("img1")).unwrap();
        assert_eq!(again.manifest.digest, one.manifest.digest);
        let l = Layout::open(&a.path().join("img1")).unwrap();
        assert_eq!(l.index().unwrap().manifests.len(), 1);
        let got = crate::resolve(&l, "latest").unwrap();
        assert_eq!(got.descriptor.digest, one.manifest.digest);
        let config: Value = serde_json::from_slice(&l.blob(&one.config.digest).unwrap()).unwrap();
        assert_eq!(config["created"], "2023-11-14T22:13:20Z");
        assert_eq!(config["config"]["Entrypoint"], json!(["/app/hello"]));
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!([one.diff_ids[0].to_string()])
        );
        // The diff_id is the digest of the uncompressed layer.
        let gz = l.blob(&one.layers[0].digest).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut tar).unwrap();
        assert_eq!(Digest::sha256(&tar), one.diff_ids[0]);

        // On a base: its layers first, its env kept unless overridden, diff_ids appended.
        let base = Layout::open(&a.path().join("img2")).unwrap();
        let mut on_base = recipe(
            vec![LayerSource {
                dir: src.clone(),
                dest: "/more".into(),
            }],
            Some((&base as &dyn Repository, "latest".into())),
        );
        on_base.config.env = vec!["MODE=debug".into()];
        let stacked = build(&on_base, &a.path().join("img3")).unwrap();
        assert_eq!(stacked.layers.len(), 2);
        assert_eq!(stacked.layers[0], one.layers[0]);
        let l3 = Layout::open(&a.path().join("img3")).unwrap();
        let c3: Value = serde_json::from_slice(&l3.blob(&stacked.config.digest).unwrap()).unwrap();
        assert_eq!(c3["config"]["Env"], json!(["PATH=/app", "MODE=debug"]));
        assert_eq!(c3["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(c3["history"].as_array().unwrap().len(), 2);

        // A changed file is a changed digest.
        fs_err::write(src.join("bin/hello"), b"hellO").unwrap();
        let three = build(&recipe(layers, None), &a.path().join("img4")).unwrap();
        assert_ne!(three.manifest.digest, one.manifest.digest);

        // Copy to another layout: same digest, readable.
        let dst = Layout::open_or_create(&a.path().join("copy")).unwrap();
        let d = copy(&l3, "latest", &dst, Some("v1")).unwrap();
        assert_eq!(d.digest, stacked.manifest.digest);
        assert_eq!(
            crate::resolve(&dst, "v1").unwrap().descriptor.digest,
            d.digest
        );
    }
}
