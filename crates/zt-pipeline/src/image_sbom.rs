//! `zt sbom IMAGE`: the SBOM of a container image, read from its layers.
//!
//! The image's layers are applied in order (with the OCI whiteouts, see
//! [`zt_oci::rootfs`]); from the filesystem they make, zt reads the operating system's
//! package database (dpkg `status` and `status.d/`, apk `installed`; see [`zt_deps::os`]),
//! with the distribution from `etc/os-release`, and every language lockfile zt reads
//! elsewhere (`Cargo.lock`, `package-lock.json`, `requirements*.txt`, `go.mod`, …), wherever
//! it lies. The document is written by the same CycloneDX/SPDX writers as `zt sbom DIR`; the
//! statement's subject is the image manifest whose layers were read (for an index: the
//! entry for the platform asked for, by default the machine's). Everything read is
//! untrusted: paths that leave the image are skipped, a lockfile that does not parse is
//! reported and left out, a lockfile that includes a file outside the image is not read.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_core::{Digest, ResourceDescriptor, Statement};
use zt_deps::lockfile::Format as LockFormat;
use zt_deps::os::Distro;
use zt_deps::sbom::{self, RootInfo};
use zt_deps::{Inventory, Lockfile};
use zt_oci::rootfs::{Node, Rootfs};

use crate::Error;
use crate::image::RegistryOptions;
use crate::sbom::Format;

/// The largest file zt keeps from a layer to read (a package database or a lockfile).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// What to describe.
#[derive(Debug, Clone)]
pub struct Request {
    /// The image argument (as `zt verify IMAGE` takes it).
    pub image: String,
    /// The document format.
    pub format: Format,
    /// The platform to read from an index (`os/arch`, default: `linux/<this machine>`).
    pub platform: Option<String>,
    /// The document's creation time (`SOURCE_DATE_EPOCH`).
    pub timestamp: Option<i64>,
    /// How registries are reached.
    pub registry: RegistryOptions,
}

/// A file found in the image that zt could not use.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unread {
    /// Its path in the image.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The SBOM of an image.
#[derive(Debug, Clone)]
pub struct Report {
    /// The image (name as statements give it).
    pub name: String,
    /// The manifest whose layers were read (the subject).
    pub digest: Digest,
    /// The index the argument named, when it named one.
    pub index: Option<Digest>,
    /// The layers read, bottom first.
    pub layers: Vec<Digest>,
    /// The distribution (`os-release`'s `PRETTY_NAME`, else `ID VERSION_ID`).
    pub distro: Option<String>,
    /// The databases and lockfiles read (paths in the image).
    pub sources: Vec<(String, LockFormat)>,
    /// Files skipped or unreadable, with the reason.
    pub unread: Vec<Unread>,
    /// Packages found.
    pub packages: usize,
    /// The document.
    pub document: Value,
    /// The document's canonical bytes.
    pub bytes: Vec<u8>,
    /// The unsigned statement about the manifest digest.
    pub statement: Statement,
}

/// Where a path of the image is one zt reads.
fn kind_of(path: &str) -> Option<LockFormat> {
    if path == "var/lib/dpkg/status"
        || (path.starts_with("var/lib/dpkg/status.d/")
            && !path.ends_with(".md5sums")
            && path.matches('/').count() == 4)
    {
        return Some(LockFormat::DpkgStatus);
    }
    if path == "lib/apk/db/installed" {
        return Some(LockFormat::ApkInstalled);
    }
    LockFormat::detect(Path::new(path))
}

/// The files worth keeping from the layers: databases, lockfiles, what lockfiles read
/// beside them (`go.sum`), and `os-release`.
fn keep(path: &str) -> bool {
    kind_of(path).is_some()
        || matches!(path, "etc/os-release" | "usr/lib/os-release")
        || path.ends_with("/go.sum")
        || path == "go.sum"
        || (path.ends_with(".txt") && path.contains("requirements"))
}

fn platform_of(d: &zt_oci::Descriptor) -> Option<String> {
    let p = d.platform.as_ref()?;
    let os = p.get("os")?.as_str()?;
    let arch = p.get("architecture")?.as_str()?;
    Some(match p.get("variant").and_then(Value::as_str) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    })
}

/// Makes the SBOM of an image.
pub fn sbom(req: &Request) -> Result<Report, Error> {
    let image = crate::image::open(&req.image, &req.registry)?;
    let repo = image.repo();
    let mut fetched = image.resolve()?;
    let mut index = None;
    if fetched.manifest.is_index() {
        let want = req
            .platform
            .clone()
            .unwrap_or_else(|| format!("linux/{}", zt_oci::assemble::host_architecture()));
        let available: Vec<String> = fetched
            .manifest
            .manifests
            .iter()
            .filter_map(platform_of)
            .collect();
        let entry = fetched
            .manifest
            .manifests
            .iter()
            .find(|d| {
                platform_of(d).is_some_and(|p| p == want || p.starts_with(&format!("{want}/")))
            })
            .ok_or_else(|| Error::Input {
                what: format!(
                    "`{}` is an index without a {want} image (it has: {})",
                    req.image,
                    if available.is_empty() {
                        "none named".to_string()
                    } else {
                        available.join(", ")
                    }
                ),
                help: "pick one with `zt sbom IMAGE --platform OS/ARCH`".into(),
            })?
            .digest
            .clone();
        index = Some(fetched.descriptor.digest.clone());
        fetched = zt_oci::resolve(repo, &entry.to_string())?;
        if fetched.manifest.is_index() {
            return Err(Error::Input {
                what: format!("`{}` nests an index in an index", req.image),
                help: "name the platform's image manifest by digest: `zt sbom REPO@sha256:…`"
                    .into(),
            });
        }
    }
    let digest = fetched.descriptor.digest.clone();

    let mut fs = Rootfs::new();
    let mut layers = Vec::with_capacity(fetched.manifest.layers.len());
    for layer in &fetched.manifest.layers {
        let t = layer.media_type.as_str();
        if !(t.contains(".tar") || t.contains("rootfs.diff")) {
            return Err(Error::Input {
                what: format!("layer {} has media type `{t}`, not a filesystem layer", layer.digest),
                help: "`zt sbom IMAGE` reads container images; for other artifacts use `zt sbom DIR` on their sources".into(),
            });
        }
        let bytes = repo.blob(&layer.digest)?;
        fs.apply(&bytes, &layer.digest.to_string(), &keep, MAX_FILE)?;
        layers.push(layer.digest.clone());
    }
    let mut unread: Vec<Unread> = fs
        .skipped
        .iter()
        .map(|p| Unread {
            path: p.clone(),
            reason: "its path leaves the image (`..`)".into(),
        })
        .collect();

    let distro = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| fs.read(p))
        .map(|b| Distro::parse(&String::from_utf8_lossy(b)))
        .unwrap_or_default();

    // The files to read, materialised under a temporary root so that readers which follow
    // includes (`-r`, `go.sum`) stay inside what the image holds.
    let scratch = tempfile::tempdir()?;
    for (path, node) in fs.iter() {
        if let Node::File(Some(data)) = node
            && keep(path)
        {
            let dest = scratch.path().join(path);
            if let Some(parent) = dest.parent() {
                fs_err::create_dir_all(parent)?;
            }
            fs_err::write(&dest, data)?;
        }
    }
    let mut inventory = Inventory::default();
    let mut sources = Vec::new();
    for (path, node) in fs.iter() {
        let Some(format) = kind_of(path) else {
            continue;
        };
        let Node::File(Some(data)) = node else {
            if let Node::File(None) = node {
                unread.push(Unread {
                    path: format!("/{path}"),
                    reason: format!("larger than {MAX_FILE} bytes"),
                });
            }
            continue;
        };
        let shown = format!("/{path}");
        if format == LockFormat::RequirementsTxt
            && let Some(reason) = include_outside(&String::from_utf8_lossy(data))
        {
            unread.push(Unread {
                path: shown,
                reason,
            });
            continue;
        }
        let file = scratch.path().join(path);
        let text = String::from_utf8_lossy(data);
        let parsed = match format {
            LockFormat::DpkgStatus => zt_deps::os::dpkg(Path::new(&shown), &text, &distro),
            LockFormat::ApkInstalled => zt_deps::os::apk(Path::new(&shown), &text, &distro),
            _ => zt_deps::read_lockfile_as(&file, format).map(|(_, p)| p),
        };
        match parsed {
            Ok(packages) => {
                inventory.add(
                    Lockfile {
                        path: PathBuf::from(&shown),
                        format,
                        sha256: Digest::sha256(data),
                    },
                    packages,
                );
                sources.push((shown, format));
            }
            Err(e) => unread.push(Unread {
                path: shown,
                reason: e
                    .to_string()
                    .replace(&scratch.path().display().to_string(), ""),
            }),
        }
    }

    let mut root = RootInfo::new(image.name.clone(), String::new());
    root.timestamp = req.timestamp;
    root.artifacts = vec![(image.name.clone(), digest.clone())];
    let document = match req.format {
        Format::CycloneDx => sbom::cyclonedx(&inventory, &root),
        Format::Spdx => sbom::spdx(&inventory, &root),
    };
    let bytes = sbom::to_bytes(&document);
    let statement = Statement::new(
        vec![ResourceDescriptor::subject(image.name.clone(), &digest)],
        req.format.predicate_type(),
        document.clone(),
    );
    let distro_name = match (distro.pretty_name.as_str(), distro.id.as_str()) {
        ("", "") => None,
        ("", id) => Some(format!("{id} {}", distro.version_id).trim().to_string()),
        (pretty, _) => Some(pretty.to_string()),
    };
    Ok(Report {
        name: image.name.clone(),
        digest,
        index,
        layers,
        distro: distro_name,
        sources,
        unread,
        packages: inventory.packages.len(),
        document,
        bytes,
        statement,
    })
}

/// Why a requirements file must not be read: it includes (`-r`, `-c`) a file by an absolute
/// path or through `..`, which would leave the image.
fn include_outside(text: &str) -> Option<String> {
    for line in text.lines() {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            let target = match w {
                "-r" | "--requirement" | "-c" | "--constraint" => words.next(),
                _ => ["-r", "--requirement=", "-c", "--constraint="]
                    .iter()
                    .find_map(|p| w.strip_prefix(p).filter(|t| !t.is_empty())),
            };
            if let Some(t) = target
                && (t.starts_with('/') || t.split('/').any(|c| c == ".."))
            {
                return Some(format!(
                    "it includes `{t}`, outside the image's directory tree: not read"
                ));
            }
        }
    }
    None
}

/// The predicate to attach: the document, as `zt attest IMAGE` takes a predicate.
pub fn predicate(report: &Report, format: Format) -> crate::attest::Predicate {
    crate::attest::Predicate::Document {
        predicate_type: format.predicate_type().to_string(),
        kind: "sbom",
        value: report.document.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_and_lockfiles_are_recognised_by_path() {
        assert_eq!(kind_of("var/lib/dpkg/status"), Some(LockFormat::DpkgStatus));
        assert_eq!(
            kind_of("var/lib/dpkg/status.d/base"),
            Some(LockFormat::DpkgStatus)
        );
        assert_eq!(kind_of("var/lib/dpkg/status.d/base.md5sums"), None);
        assert_eq!(kind_of("var/lib/dpkg/status-old"), None);
        assert_eq!(
            kind_of("lib/apk/db/installed"),
            Some(LockFormat::ApkInstalled)
        );
        assert_eq!(kind_of("app/Cargo.lock"), Some(LockFormat::CargoLock));
        assert_eq!(
            kind_of("srv/requirements-dev.txt"),
            Some(LockFormat::RequirementsTxt)
        );
        assert!(keep("etc/os-release") && keep("app/go.sum") && !keep("usr/bin/ls"));
    }

    /// An Alpine image made of syft's real apk database (zt-deps/tests/data/os), its
    /// os-release behind a link, a lockfile a second layer deletes, and a hostile
    /// requirements file: read through `oci-layout:`.
    #[test]
    fn an_alpine_image_layout_gives_apk_purls_and_honours_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        fs_err::create_dir_all(base.join("lib/apk/db")).unwrap();
        fs_err::create_dir_all(base.join("usr/lib")).unwrap();
        fs_err::create_dir_all(base.join("etc")).unwrap();
        fs_err::create_dir_all(base.join("app")).unwrap();
        fs_err::write(
            base.join("lib/apk/db/installed"),
            include_str!("../../zt-deps/tests/data/os/alpine-installed"),
        )
        .unwrap();
        fs_err::write(
            base.join("usr/lib/os-release"),
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        )
        .unwrap();
        std::os::unix::fs::symlink("../usr/lib/os-release", base.join("etc/os-release")).unwrap();
        fs_err::write(base.join("app/requirements.txt"), "flask==2.0.0\n").unwrap();
        fs_err::write(base.join("app/requirements-evil.txt"), "-r /etc/passwd\n").unwrap();
        let top = dir.path().join("top");
        fs_err::create_dir_all(top.join("app")).unwrap();
        fs_err::write(top.join("app/.wh.requirements.txt"), "").unwrap();
        let recipe = zt_oci::assemble::Recipe {
            base: None,
            layers: vec![
                zt_oci::assemble::LayerSource {
                    dir: base,
                    dest: "/".into(),
                },
                zt_oci::assemble::LayerSource {
                    dir: top,
                    dest: "/".into(),
                },
            ],
            config: zt_oci::assemble::RunConfig::default(),
            epoch: 0,
            os: "linux".into(),
            architecture: "amd64".into(),
            tag: "latest".into(),
            created_by: "test".into(),
        };
        let built = zt_oci::assemble::build(&recipe, &dir.path().join("img")).unwrap();
        let r = sbom(&Request {
            image: format!("oci-layout:{}", dir.path().join("img").display()),
            format: Format::CycloneDx,
            platform: None,
            timestamp: None,
            registry: RegistryOptions::default(),
        })
        .unwrap();
        assert_eq!(r.digest, built.manifest.digest);
        assert_eq!(r.distro.as_deref(), Some("Alpine Linux v3.19"));
        assert_eq!(r.packages, 4);
        let purls: Vec<&str> = r.document["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purl"].as_str().unwrap())
            .collect();
        assert!(purls.contains(
            &"pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.0&upstream=busybox"
        ), "{purls:?}");
        assert!(
            !purls.iter().any(|p| p.starts_with("pkg:pypi/")),
            "{purls:?}"
        );
        assert_eq!(r.unread.len(), 1, "{:?}", r.unread);
        assert_eq!(r.unread[0].path, "/app/requirements-evil.txt");
        assert_eq!(
            r.statement.subject[0].digest.get("sha256"),
            Some(&built.manifest.digest.hex())
        );
    }

    #[test]
    fn a_requirements_file_that_includes_outside_the_image_is_not_read() {
        assert!(include_outside("-r /etc/passwd\n").is_some());
        assert!(include_outside("flask==1\n--requirement=../../x.txt\n").is_some());
        assert!(include_outside("-c ../c.txt").is_some());
        assert!(include_outside("-r base.txt\nflask==2.0\n").is_none());
    }
}
