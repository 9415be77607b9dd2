//! The curated mirror laid out as file registries that package managers install from without
//! a network: what `zt build` shows a sandboxed build when `zt.toml` pins the mirror
//! (`[build] mirror`). Only admitted archives are in it, so the build resolves against intake.
//!
//! | ecosystem | layout under the directory | how the package manager is pointed at it |
//! |---|---|---|
//! | Cargo | `cargo/`: a local registry (`index/` in the crates.io layout, `NAME-VERSION.crate`) | `.cargo/config.toml`: `[source.crates-io] replace-with` a `local-registry` ([`Pinned::cargo_config`]) |
//! | PyPI | `pypi/simple/` PEP 503 pages, `pypi/files/SHA256/FILE` | `PIP_INDEX_URL=file://…/pypi/simple/` |
//! | Go | `go/`: a `GOPROXY` tree (`MODULE/@v/list`, `.info`, `.mod`, `.zip`) | `GOPROXY=file://…/go`, `GOFLAGS=-mod=mod`, `GOTOOLCHAIN=local` |
//! | npm | `npm/_cacache/content-v2/sha512/…`: npm's own content-addressed cache, tarballs only | `npm_config_cache=…/npm`, `npm_config_offline=true` |
//!
//! npm has no file registry, but npm (pacote) takes a tarball from its cache by the lockfile's
//! `integrity` alone, before any request, whenever the lockfile entry also has `resolved`
//! (what `npm install` writes): so `npm ci` installs admitted tarballs, and a package the
//! mirror lacks fails with npm's `ENOTCACHED` (offline: there is nothing else to ask). The
//! cache holds no packuments, so a lockfile entry without `resolved` or `integrity`, or an
//! `npm install` that must resolve versions, fails the same way. The cache is shown
//! read-only; `npm_config_logs_max=0` keeps npm from writing its logs into it. A lockfile
//! whose integrity is SHA-1 only (npm 4 and older) does not resolve: zt admits by SHA-512.
//!
//! [`Pinned::index_digest`] is SHA-256 over the mirror's index (`PURL SHA256` lines, sorted):
//! the state the build resolved against, recorded in its provenance.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use zt_core::{Digest, DigestAlgorithm};

use crate::intake::mirror::Mirror;
use crate::registry::{
    Snapshot, cargo_index_file, cargo_index_path, simple_html, simple_root_html,
};
use crate::{Ecosystem, Error};

/// The mirror written out as file registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The directory written.
    pub dir: PathBuf,
    /// Environment variables that point pip and Go at it.
    pub env: Vec<(String, String)>,
    /// The `[source]` tables that point Cargo at it (for `.cargo/config.toml`).
    pub cargo_config: String,
    /// SHA-256 (hex) over the mirror index's `PURL SHA256` lines, sorted.
    pub index_digest: String,
    /// Admitted archives written, per ecosystem name.
    pub packages: std::collections::BTreeMap<String, usize>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(path, bytes)?;
    Ok(())
}

/// A Go module path or version as the proxy protocol escapes it (`!b` for `B`).
fn go_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where cacache keeps content with this digest: `content-v2/ALGO/HH/HH/REST` of its hex.
fn cacache_path(content: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    let (a, rest) = hex.split_at(2);
    let (b, rest) = rest.split_at(2);
    content
        .join(digest.algorithm().name())
        .join(a)
        .join(b)
        .join(rest)
}

/// Whether a path from the mirror index is safe to join under the directory.
fn safe_rel(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|e| !e.is_empty() && e != "." && e != "..")
}

/// Writes the mirror's admitted archives under `dir` (a new or empty directory) as file
/// registries.
pub fn materialize(mirror: &Mirror, dir: &Path) -> Result<Pinned, Error> {
    let index = mirror.index()?;
    let mut lines: Vec<String> = index
        .iter()
        .map(|(purl, e)| format!("{purl} {}\n", e.sha256))
        .collect();
    lines.sort();
    let index_digest = Digest::sha256(lines.concat().as_bytes()).hex();
    let snapshot = Snapshot::load(mirror, &Default::default())?;
    let mut packages = std::collections::BTreeMap::new();

    // Cargo: a local registry.
    let cargo = dir.join("cargo");
    fs_err::create_dir_all(cargo.join("index"))?;
    for (name, items) in &snapshot.cargo {
        let Some(rel) = cargo_index_path(name) else {
            continue;
        };
        write(
            &cargo.join("index").join(rel),
            cargo_index_file(items).as_bytes(),
        )?;
        for i in items {
            let crate_name = i.meta["name"].as_str().unwrap_or(name);
            if let Some((_, bytes)) = mirror.get(&i.entry.purl)? {
                write(
                    &cargo.join(format!("{crate_name}-{}.crate", i.version)),
                    &bytes,
                )?;
                *packages.entry("crates.io".to_owned()).or_insert(0) += 1;
            }
        }
    }

    // PyPI: PEP 503 pages over file URLs.
    let simple = dir.join("pypi/simple");
    let files_url = format!("file://{}", dir.join("pypi/files").display());
    let projects: Vec<&str> = snapshot.pypi.keys().map(String::as_str).collect();
    write(
        &simple.join("index.html"),
        simple_root_html(&projects).as_bytes(),
    )?;
    for (project, items) in &snapshot.pypi {
        write(
            &simple.join(project).join("index.html"),
            simple_html(project, items, &files_url).as_bytes(),
        )?;
        for i in items {
            if !safe_rel(&i.entry.file) {
                continue;
            }
            if let Some((_, bytes)) = mirror.get(&i.entry.purl)? {
                write(
                    &dir.join("pypi/files")
                        .join(&i.entry.sha256)
                        .join(&i.entry.file),
                    &bytes,
                )?;
                *packages.entry("PyPI".to_owned()).or_insert(0) += 1;
            }
        }
    }

    // npm: tarballs in npm's content-addressed cache (cacache), under their SHA-512: the
    // integrity every lockfile since npm 5 records. (zt takes no SHA-1-only integrity.)
    let cacache = dir.join("npm/_cacache/content-v2");
    for items in snapshot.npm.values() {
        for i in items {
            let Some((_, bytes)) = mirror.get(&i.entry.purl)? else {
                continue;
            };
            let sha512 = Digest::of_bytes(DigestAlgorithm::Sha512, &bytes);
            write(&cacache_path(&cacache, &sha512), &bytes)?;
            *packages.entry("npm".to_owned()).or_insert(0) += 1;
        }
    }

    // Go: a GOPROXY tree.
    let go = dir.join("go");
    fs_err::create_dir_all(&go)?;
    let mut versions: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for purl in index.keys() {
        let Some((Ecosystem::Go, module, version)) = crate::purl::parse(purl) else {
            continue;
        };
        let version = if version.starts_with('v') {
            version
        } else {
            format!("v{version}")
        };
        if !safe_rel(&module) || version.contains('/') {
            continue;
        }
        let Some((_, zip)) = mirror.get(purl)? else {
            continue;
        };
        let at = go.join(go_escape(&module)).join("@v");
        let v = go_escape(&version);
        let entries = crate::intake::archive::read(
            "module.zip",
            &zip,
            crate::intake::archive::Limits::default(),
        )
        .map_err(Error::Archive)?;
        let gomod_path = format!("{module}@{version}/go.mod");
        let gomod = entries
            .iter()
            .find(|e| e.path == gomod_path)
            .map(|e| e.data.clone())
            .unwrap_or_else(|| format!("module {module}\n").into_bytes());
        write(&at.join(format!("{v}.zip")), &zip)?;
        write(&at.join(format!("{v}.mod")), &gomod)?;
        write(
            &at.join(format!("{v}.info")),
            serde_json::json!({ "Version": version })
                .to_string()
                .as_bytes(),
        )?;
        versions.entry(module).or_default().push(version);
        *packages.entry("Go".to_owned()).or_insert(0) += 1;
    }
    for (module, list) in &versions {
        let mut text = String::new();
        for v in list {
            let _ = writeln!(text, "{v}");
        }
        write(&go.join(go_escape(module)).join("@v/list"), text.as_bytes())?;
    }

    let cargo_config = format!(
        "[source.crates-io]\nreplace-with = \"zt-mirror\"\n\n[source.zt-mirror]\nlocal-registry = \"{}\"\n",
        cargo.display()
    );
    let env = vec![
        (
            "PIP_INDEX_URL".to_owned(),
            format!("file://{}/", simple.display()),
        ),
        ("GOPROXY".to_owned(), format!("file://{}", go.display())),
        ("GOFLAGS".to_owned(), "-mod=mod".to_owned()),
        ("GOTOOLCHAIN".to_owned(), "local".to_owned()),
        (
            "npm_config_cache".to_owned(),
            dir.join("npm").display().to_string(),
        ),
        ("npm_config_offline".to_owned(), "true".to_owned()),
        ("npm_config_logs_max".to_owned(), "0".to_owned()),
        ("npm_config_update_notifier".to_owned(), "false".to_owned()),
        ("npm_config_audit".to_owned(), "false".to_owned()),
        ("npm_config_fund".to_owned(), "false".to_owned()),
    ];
    Ok(Pinned {
        dir: dir.to_path_buf(),
        env,
        cargo_config,
        index_digest,
        packages,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_paths_are_escaped_and_unsafe_names_skipped() {
        assert_eq!(
            go_escape("github.com/BurntSushi/toml"),
            "github.com/!burnt!sushi/toml"
        );
        assert!(safe_rel("a/b.whl"));
        for bad in ["", "/a", "a/../b", "a//b", "a\\b", "."] {
            assert!(!safe_rel(bad), "{bad:?}");
        }
    }

    #[test]
    fn npm_tarballs_sit_where_cacache_looks_them_up_by_integrity() {
        // cacache's content path of `sha512-3a81oZ…` (SHA-512 of "abc"): the hex split 2/2/rest.
        let d = Digest::of_bytes(DigestAlgorithm::Sha512, b"abc");
        let p = cacache_path(Path::new("c"), &d);
        assert_eq!(p, Path::new("c/sha512/dd/af").join(&d.hex()[4..]),);
        assert!(d.hex().starts_with("ddaf35a193617aba"));
    }
}
