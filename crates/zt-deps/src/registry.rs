//! The curated mirror as registries real package managers install from: the documents each
//! protocol serves, built from the admitted archives only.
//!
//! - **Cargo sparse index** ([`cargo_line`], [`cargo_index_path`]): one JSON line per
//!   version (`name`, `vers`, `deps`, `cksum`, `features`/`features2`, `links`,
//!   `rust_version`), read from the `.crate`'s normalised `Cargo.toml`.
//! - **npm** ([`packument`]): the packument lists the admitted versions only, each its
//!   `package.json` (read from the tarball) with `dist.tarball` and `dist.integrity`
//!   (SHA-512 SRI).
//! - **PyPI simple index** ([`simple_html`], [`simple_json`]): PEP 503 HTML and PEP 691 JSON
//!   (`application/vnd.pypi.simple.v1+json`, API 1.1), each file with its SHA-256.
//!
//! [`Snapshot::load`] reads the mirror once into the per-package lists a server answers
//! from.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use zt_core::{Digest, DigestAlgorithm};

use crate::intake::archive;
use crate::intake::mirror::{Mirror, MirrorEntry};
use crate::{Ecosystem, Error};

/// What the registry documents need from one admitted archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The mirror's entry.
    pub entry: MirrorEntry,
    /// The package name as its ecosystem spells it.
    pub name: String,
    /// The version.
    pub version: String,
    /// SHA-512 of the archive, base64 (npm's SRI).
    pub sha512_b64: String,
    /// Read from the archive: the Cargo index line without `cksum`, or npm's `package.json`.
    pub meta: Value,
}

/// Every admitted package, by ecosystem and normalised name.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Crates by lower-case name.
    pub cargo: BTreeMap<String, Vec<Item>>,
    /// npm packages by name (`@scope/name`).
    pub npm: BTreeMap<String, Vec<Item>>,
    /// PyPI projects by PEP 503 normalised name.
    pub pypi: BTreeMap<String, Vec<Item>>,
}

impl Snapshot {
    /// Reads the mirror's index and every indexed archive (re-hashed on read); `known` holds
    /// items of an earlier snapshot by SHA-256, which are reused without reading their archive.
    pub fn load(mirror: &Mirror, known: &BTreeMap<String, Item>) -> Result<Snapshot, Error> {
        let mut s = Snapshot::default();
        for (purl, entry) in mirror.index()? {
            let Some((eco, name, version)) = crate::purl::parse(&purl) else {
                continue;
            };
            let item = match known.get(&entry.sha256) {
                Some(i) if i.entry == entry => i.clone(),
                _ => {
                    let Some((entry, bytes)) = mirror.get(&purl)? else {
                        continue;
                    };
                    let meta = match eco {
                        Ecosystem::CratesIo => cargo_meta(&entry.file, &bytes)?,
                        Ecosystem::Npm => npm_meta(&entry.file, &bytes)?,
                        _ => Value::Null,
                    };
                    Item {
                        sha512_b64: zt_core::b64::encode(
                            Digest::of_bytes(DigestAlgorithm::Sha512, &bytes).bytes(),
                        ),
                        entry,
                        name: name.clone(),
                        version: version.clone(),
                        meta,
                    }
                }
            };
            let list = match eco {
                Ecosystem::CratesIo => s.cargo.entry(name.to_ascii_lowercase()),
                Ecosystem::Npm => s.npm.entry(name.clone()),
                Ecosystem::PyPI => s.pypi.entry(pep503(&name)),
                _ => continue,
            };
            list.or_default().push(item);
        }
        for list in s
            .cargo
            .values_mut()
            .chain(s.npm.values_mut())
            .chain(s.pypi.values_mut())
        {
            list.sort_by(|a, b| compare_versions(&a.version, &b.version));
        }
        Ok(s)
    }

    /// Every item, by SHA-256 (for the next [`Snapshot::load`]).
    pub fn by_digest(&self) -> BTreeMap<String, Item> {
        self.cargo
            .values()
            .chain(self.npm.values())
            .chain(self.pypi.values())
            .flatten()
            .map(|i| (i.entry.sha256.clone(), i.clone()))
            .collect()
    }
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The sparse-index path of a crate name (`1/a`, `2/ab`, `3/a/abc`, `se/rd/serde`), lower
/// case, or `None` for a name Cargo would not publish.
pub fn cargo_index_path(name: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    if n.is_empty()
        || n.len() > 64
        || !n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    })
}

/// Orders versions: numeric dot-separated parts compared as numbers, a pre-release (`-…`)
/// before its release, anything else as text.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (Vec<Result<u64, &str>>, Option<&str>) {
        let v = v.trim_start_matches('v');
        let v = v.split('+').next().unwrap_or(v);
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (v, None),
        };
        (
            core.split('.')
                .map(|p| p.parse::<u64>().map_err(|_| p))
                .collect(),
            pre,
        )
    }
    let (ca, pa) = split(a);
    let (cb, pb) = split(b);
    let ord = ca.iter().zip(&cb).find_map(|(x, y)| {
        let o = match (x, y) {
            (Ok(x), Ok(y)) => x.cmp(y),
            (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
            (Err(_), Ok(_)) => std::cmp::Ordering::Less,
            (Err(x), Err(y)) => x.cmp(y),
        };
        o.is_ne().then_some(o)
    });
    ord.unwrap_or_else(|| {
        ca.len().cmp(&cb.len()).then(match (pa, pb) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        })
    })
}

/// The one file `want(path)` picks from an archive, read as a stream.
fn member(file: &str, bytes: &[u8], want: &dyn Fn(&str) -> bool) -> Result<Option<Vec<u8>>, Error> {
    let kind = archive::Kind::from_name(file)
        .ok_or_else(|| archive::ArchiveError::UnknownFormat(file.into()))?;
    let mut found = None;
    let mut reader = std::io::BufReader::new(bytes);
    archive::stream(
        kind,
        &mut reader,
        bytes.len() as u64,
        archive::Limits::default(),
        &mut |e| {
            if found.is_none() && want(&e.path) {
                found = Some(e.data);
            }
            Ok(())
        },
    )?;
    Ok(found)
}

fn bad(file: &str, message: String) -> Error {
    Error::Parse {
        file: file.into(),
        line: None,
        message,
        fix: "the mirrored archive is not a package of its ecosystem: quarantine it with `zt incident bad-package`".into(),
    }
}

/// The Cargo index line (without `cksum`) of a `.crate`, from its `Cargo.toml`.
pub fn cargo_meta(file: &str, bytes: &[u8]) -> Result<Value, Error> {
    let manifest = member(file, bytes, &|p| {
        p.split_once('/')
            .is_some_and(|(_, rest)| rest == "Cargo.toml")
    })?
    .ok_or_else(|| bad(file, "the crate has no `Cargo.toml`".into()))?;
    let text =
        String::from_utf8(manifest).map_err(|_| bad(file, "`Cargo.toml` is not UTF-8".into()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| bad(file, format!("`Cargo.toml`: {e}")))?;
    cargo_line(&table)
        .ok_or_else(|| bad(file, "`Cargo.toml` has no package name and version".into()))
}

/// A Cargo index line (without `cksum`) from a normalised manifest.
pub fn cargo_line(manifest: &toml::Table) -> Option<Value> {
    let package = manifest.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?;
    let version = package.get("version")?.as_str()?;
    let mut deps = Vec::new();
    let mut add = |table: Option<&toml::Value>, kind: &str, target: Option<&str>| {
        let Some(table) = table.and_then(toml::Value::as_table) else {
            return;
        };
        for (dep, spec) in table {
            let mut d = json!({
                "name": dep, "req": "*", "features": [], "optional": false,
                "default_features": true, "target": target, "kind": kind,
            });
            match spec {
                toml::Value::String(req) => d["req"] = req.as_str().into(),
                toml::Value::Table(t) => {
                    if let Some(r) = t.get("version").and_then(toml::Value::as_str) {
                        d["req"] = r.into();
                    }
                    if let Some(f) = t.get("features").and_then(toml::Value::as_array) {
                        d["features"] = f.iter().filter_map(toml::Value::as_str).collect();
                    }
                    if let Some(o) = t.get("optional").and_then(toml::Value::as_bool) {
                        d["optional"] = o.into();
                    }
                    if let Some(df) = t
                        .get("default-features")
                        .or_else(|| t.get("default_features"))
                        .and_then(toml::Value::as_bool)
                    {
                        d["default_features"] = df.into();
                    }
                    if let Some(p) = t.get("package").and_then(toml::Value::as_str) {
                        d["package"] = p.into();
                    }
                }
                _ => continue,
            }
            deps.push(d);
        }
    };
    for (key, kind) in [
        ("dependencies", "normal"),
        ("dev-dependencies", "dev"),
        ("build-dependencies", "build"),
    ] {
        add(manifest.get(key), kind, None);
        let alt = key.replace('-', "_");
        if alt != key {
            add(manifest.get(&alt), kind, None);
        }
    }
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for (target, t) in targets {
            for (key, kind) in [
                ("dependencies", "normal"),
                ("dev-dependencies", "dev"),
                ("build-dependencies", "build"),
            ] {
                add(t.get(key), kind, Some(target));
            }
        }
    }
    // Features with the newer syntax (`dep:x`, `x?/f`) go in `features2` (index v2).
    let mut features = serde_json::Map::new();
    let mut features2 = serde_json::Map::new();
    if let Some(f) = manifest.get("features").and_then(toml::Value::as_table) {
        for (k, v) in f {
            let list: Vec<&str> = v
                .as_array()
                .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
                .unwrap_or_default();
            let new = list
                .iter()
                .any(|s| s.starts_with("dep:") || s.contains("?/"));
            if new {
                features2.insert(k.clone(), list.into());
            } else {
                features.insert(k.clone(), list.into());
            }
        }
    }
    let mut line = json!({
        "name": name, "vers": version, "deps": deps, "features": features, "yanked": false,
    });
    if !features2.is_empty() {
        line["features2"] = features2.into();
        line["v"] = 2.into();
    }
    if let Some(l) = package.get("links").and_then(toml::Value::as_str) {
        line["links"] = l.into();
    }
    if let Some(r) = package.get("rust-version").and_then(toml::Value::as_str) {
        line["rust_version"] = r.into();
    }
    Some(line)
}

/// The sparse index file of one crate: its admitted versions, one JSON line each.
pub fn cargo_index_file(items: &[Item]) -> String {
    let mut out = String::new();
    for i in items {
        let mut line = i.meta.clone();
        line["cksum"] = i.entry.sha256.clone().into();
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// npm's `package.json` of a tarball (the one at the top of its single directory).
pub fn npm_meta(file: &str, bytes: &[u8]) -> Result<Value, Error> {
    let pj = member(file, bytes, &|p| {
        p.split_once('/')
            .is_some_and(|(_, rest)| rest == "package.json")
    })?
    .ok_or_else(|| bad(file, "the tarball has no `package.json`".into()))?;
    let v: Value = serde_json::from_slice(&pj)
        .map_err(|e| bad(file, format!("`package.json` is not JSON: {e}")))?;
    let mut out = serde_json::Map::new();
    for key in [
        "name",
        "version",
        "description",
        "license",
        "main",
        "bin",
        "dependencies",
        "optionalDependencies",
        "peerDependencies",
        "peerDependenciesMeta",
        "bundleDependencies",
        "engines",
        "os",
        "cpu",
        "deprecated",
    ] {
        if let Some(x) = v.get(key) {
            out.insert(key.into(), x.clone());
        }
    }
    let hooks = ["preinstall", "install", "postinstall"];
    if v.get("scripts")
        .and_then(Value::as_object)
        .is_some_and(|s| hooks.iter().any(|h| s.contains_key(*h)))
    {
        out.insert("hasInstallScript".into(), true.into());
    }
    Ok(Value::Object(out))
}

/// The packument of one npm package: its admitted versions only, each with `dist.tarball`
/// under `base` (`http://host/npm`) and `dist.integrity`.
pub fn packument(name: &str, items: &[Item], base: &str) -> Value {
    let mut versions = serde_json::Map::new();
    let mut time = serde_json::Map::new();
    for i in items {
        let mut doc = i.meta.clone();
        if !doc.is_object() {
            doc = json!({});
        }
        doc["name"] = name.into();
        doc["version"] = i.version.clone().into();
        doc["_id"] = format!("{name}@{}", i.version).into();
        doc["dist"] = json!({
            "tarball": format!("{base}/{name}/-/{}", i.entry.file),
            "integrity": format!("sha512-{}", i.sha512_b64),
        });
        versions.insert(i.version.clone(), doc);
        time.insert(i.version.clone(), i.entry.admitted.clone().into());
    }
    // The highest release; a pre-release only when there is nothing else.
    let latest = items
        .iter()
        .map(|i| i.version.as_str())
        .max_by(|a, b| {
            let release = |v: &str| !v.contains('-');
            release(a).cmp(&release(b)).then(compare_versions(a, b))
        })
        .unwrap_or_default();
    json!({
        "_id": name, "name": name,
        "dist-tags": {"latest": latest},
        "versions": versions,
        "time": time,
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A file's URL under `files` (`http://host/pypi/files`): content-addressed.
fn file_url(files: &str, i: &Item) -> String {
    format!("{files}/{}/{}", i.entry.sha256, i.entry.file)
}

/// PEP 503 page of one project.
pub fn simple_html(project: &str, items: &[Item], files: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n<title>Links for {p}</title>\n</head>\n<body>\n<h1>Links for {p}</h1>\n",
        p = html_escape(project)
    );
    for i in items {
        out.push_str(&format!(
            "<a href=\"{}#sha256={}\">{}</a><br/>\n",
            html_escape(&file_url(files, i)),
            i.entry.sha256,
            html_escape(&i.entry.file)
        ));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// PEP 691 JSON of one project (API 1.1).
pub fn simple_json(project: &str, items: &[Item], files: &str) -> Value {
    let mut versions: Vec<&str> = items.iter().map(|i| i.version.as_str()).collect();
    versions.dedup();
    json!({
        "meta": {"api-version": "1.1"},
        "name": project,
        "versions": versions,
        "files": items.iter().map(|i| json!({
            "filename": i.entry.file,
            "url": file_url(files, i),
            "hashes": {"sha256": i.entry.sha256},
            "size": i.entry.size,
            "upload-time": i.entry.admitted,
        })).collect::<Vec<_>>(),
    })
}

/// PEP 503 root page: every project.
pub fn simple_root_html(projects: &[&str]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n<title>Simple index</title>\n</head>\n<body>\n",
    );
    for p in projects {
        let p = html_escape(p);
        out.push_str(&format!("<a href=\"{p}/\">{p}</a><br/>\n"));
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// PEP 691 root JSON.
pub fn simple_root_json(projects: &[&str]) -> Value {
    json!({
        "meta": {"api-version": "1.1"},
        "projects": projects.iter().map(|p| json!({"name": p})).collect::<Vec<_>>(),
    })
}

/// The SHA-512 of bytes as npm's SRI.
pub fn sri_sha512(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        zt_core::b64::encode(Digest::of_bytes(DigestAlgorithm::Sha512, bytes).bytes())
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn index_paths_follow_the_sparse_index_rules() {
        assert_eq!(cargo_index_path("a").unwrap(), "1/a");
        assert_eq!(cargo_index_path("ab").unwrap(), "2/ab");
        assert_eq!(cargo_index_path("abc").unwrap(), "3/a/abc");
        assert_eq!(cargo_index_path("Serde").unwrap(), "se/rd/serde");
        assert_eq!(cargo_index_path("cfg-if").unwrap(), "cf/g-/cfg-if");
        assert!(cargo_index_path("../x").is_none());
        assert!(cargo_index_path("").is_none());
    }

    proptest::proptest! {
        /// Names, versions and manifests come from archives anyone can publish: the readers
        /// never panic, and an index path only ever holds the name's own characters.
        #[test]
        fn readers_of_untrusted_names_versions_and_manifests_never_panic(
            name in ".{0,70}", a in "[0-9a-z.+-]{0,20}", b in "[0-9a-z.+-]{0,20}",
            manifest in "(\\[[a-z.-]{1,20}\\]\n|[a-z-]{1,10} = (\"[^\"\n]{0,10}\"|true|\\[\"[a-z:?/]{0,8}\"\\]|\\{ version = \"1\" \\})\n){0,12}",
        ) {
            if let Some(p) = cargo_index_path(&name) {
                proptest::prop_assert!(p.ends_with(&name.to_ascii_lowercase()));
                proptest::prop_assert!(!p.contains(".."));
            }
            let _ = pep503(&name);
            proptest::prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).reverse());
            if let Ok(t) = toml::from_str::<toml::Table>(&manifest) {
                let _ = cargo_line(&t);
            }
        }
    }

    #[test]
    fn pep503_normalises() {
        assert_eq!(pep503("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(pep503("gcb_attestation_test"), "gcb-attestation-test");
    }

    #[test]
    fn versions_order_numerically_with_prereleases_first() {
        let mut v = vec!["1.10.0", "1.2.0", "1.2.0-rc.1", "0.9"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(v, ["0.9", "1.2.0-rc.1", "1.2.0", "1.10.0"]);
    }

    #[test]
    fn a_normalised_manifest_becomes_an_index_line() {
        let m: toml::Table = toml::from_str(
            r#"
[package]
name = "cfg-if"
version = "1.0.0"
rust-version = "1.32"
[dependencies.core]
version = "1.0.0"
optional = true
package = "rustc-std-workspace-core"
[dev-dependencies]
x = "0.1"
[target.'cfg(unix)'.dependencies.libc]
version = "0.2"
default-features = false
features = ["std"]
[features]
rustc-dep-of-std = ["core"]
extra = ["dep:core"]
"#,
        )
        .unwrap();
        let l = cargo_line(&m).unwrap();
        assert_eq!(l["name"], "cfg-if");
        assert_eq!(l["rust_version"], "1.32");
        let deps = l["deps"].as_array().unwrap();
        assert_eq!(deps.len(), 3);
        let core = deps.iter().find(|d| d["name"] == "core").unwrap();
        assert_eq!(core["package"], "rustc-std-workspace-core");
        assert_eq!(core["optional"], true);
        let libc = deps.iter().find(|d| d["name"] == "libc").unwrap();
        assert_eq!(libc["target"], "cfg(unix)");
        assert_eq!(libc["default_features"], false);
        assert_eq!(
            deps.iter().find(|d| d["name"] == "x").unwrap()["kind"],
            "dev"
        );
        assert_eq!(l["features"]["rustc-dep-of-std"][0], "core");
        assert_eq!(l["features2"]["extra"][0], "dep:core");
        assert_eq!(l["v"], 2);
    }

    #[test]
    fn simple_pages_escape_and_carry_hashes() {
        let item = Item {
            entry: MirrorEntry {
                purl: "pkg:pypi/a@1.0".into(),
                ecosystem: "PyPI".into(),
                sha256: "ab".repeat(32),
                file: "a-1.0-py3-none-any.whl".into(),
                size: 3,
                admitted: "2026-01-01T00:00:00Z".into(),
                decision: None,
            },
            name: "a".into(),
            version: "1.0".into(),
            sha512_b64: String::new(),
            meta: Value::Null,
        };
        let html = simple_html("a<b", std::slice::from_ref(&item), "http://h/pypi/files");
        assert!(html.contains("Links for a&lt;b"));
        assert!(html.contains(&format!(
            "href=\"http://h/pypi/files/{0}/a-1.0-py3-none-any.whl#sha256={0}\"",
            "ab".repeat(32)
        )));
        let j = simple_json("a", &[item], "http://h/pypi/files");
        assert_eq!(j["meta"]["api-version"], "1.1");
        assert_eq!(j["files"][0]["hashes"]["sha256"], "ab".repeat(32));
        assert_eq!(j["versions"][0], "1.0");
    }
}
