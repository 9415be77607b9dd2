//! Just enough of CycloneDX 1.x JSON and SPDX 2.3 JSON to list an SBOM's components with
//! their package URLs, names and versions (a full SBOM reader/writer lives elsewhere), and of
//! a `Cargo.lock` to scan it directly as `cargo audit` does (lockfiles belong to `zt-deps`;
//! this reads only `[[package]]` names, versions and sources).

use std::path::Path;

use serde_json::Value;

use crate::Error;

/// One component of an SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Where it sits in the document (`components[3]`, `packages[0]`).
    pub location: String,
    /// Its name.
    pub name: String,
    /// Its version, if given.
    pub version: Option<String>,
    /// Its package URL, if given.
    pub purl: Option<String>,
}

/// The SBOM formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX JSON (any 1.x).
    CycloneDx,
    /// SPDX 2.x JSON.
    Spdx,
    /// A Cargo lockfile.
    CargoLock,
}

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(serde::Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

/// Reads a `Cargo.lock`: every package from a registry becomes a `pkg:cargo` component
/// (path and git dependencies are listed without a purl: no advisory database covers them).
pub fn read_cargo_lock(text: &str, file: &Path) -> Result<Vec<Component>, Error> {
    let lock: Lock = toml::from_str(text).map_err(|e| Error::Sbom {
        file: file.to_owned(),
        field: "(lockfile)".into(),
        reason: e.message().to_owned(),
    })?;
    Ok(lock
        .package
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let registry = p
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
            Component {
                location: format!("package[{i}]"),
                purl: registry.then(|| format!("pkg:cargo/{}@{}", p.name, p.version)),
                name: p.name,
                version: Some(p.version),
            }
        })
        .collect())
}

/// Reads the components of a CycloneDX or SPDX JSON SBOM.
pub fn read_components(text: &str, file: &Path) -> Result<(Format, Vec<Component>), Error> {
    let bad = |field: &str, reason: String| Error::Sbom {
        file: file.to_owned(),
        field: field.to_owned(),
        reason,
    };
    if file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(".lock"))
    {
        return Ok((Format::CargoLock, read_cargo_lock(text, file)?));
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|e| bad("(document)", format!("not JSON: {e}")))?;
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let spec = doc.get("specVersion").and_then(Value::as_str).unwrap_or("");
        if !spec.starts_with("1.") {
            return Err(bad(
                "specVersion",
                format!("`{spec}` is not a CycloneDX 1.x version"),
            ));
        }
        let mut out = Vec::new();
        if let Some(c) = doc.get("metadata").and_then(|m| m.get("component")) {
            collect_cdx(c, "metadata.component".into(), &mut out, &bad)?;
        }
        match doc.get("components") {
            None => {}
            Some(Value::Array(list)) => {
                for (i, c) in list.iter().enumerate() {
                    collect_cdx(c, format!("components[{i}]"), &mut out, &bad)?;
                }
            }
            Some(_) => return Err(bad("components", "must be an array".into())),
        }
        return Ok((Format::CycloneDx, out));
    }
    if let Some(v) = doc.get("spdxVersion").and_then(Value::as_str) {
        if !v.starts_with("SPDX-2.") {
            return Err(bad("spdxVersion", format!("`{v}` is not SPDX 2.x")));
        }
        let mut out = Vec::new();
        let packages = match doc.get("packages") {
            None => return Ok((Format::Spdx, out)),
            Some(Value::Array(p)) => p,
            Some(_) => return Err(bad("packages", "must be an array".into())),
        };
        for (i, p) in packages.iter().enumerate() {
            let at = format!("packages[{i}]");
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("{at}.name"), "is missing".into()))?;
            let purl = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter().find(|r| {
                        r.get("referenceType").and_then(Value::as_str) == Some("purl")
                            && r.get("referenceCategory")
                                .and_then(Value::as_str)
                                .is_some_and(|c| c.replace('_', "-") == "PACKAGE-MANAGER")
                    })
                })
                .and_then(|r| r.get("referenceLocator"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.push(Component {
                location: at,
                name: name.to_owned(),
                version: p
                    .get("versionInfo")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                purl,
            });
        }
        return Ok((Format::Spdx, out));
    }
    Err(bad(
        "(document)",
        "neither a CycloneDX (`bomFormat`) nor an SPDX (`spdxVersion`) document".into(),
    ))
}

fn collect_cdx(
    c: &Value,
    at: String,
    out: &mut Vec<Component>,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<(), Error> {
    if !c.is_object() {
        return Err(bad(&at, "a component must be an object".into()));
    }
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(&format!("{at}.name"), "is missing".into()))?;
    out.push(Component {
        location: at.clone(),
        name: name.to_owned(),
        version: c.get("version").and_then(Value::as_str).map(str::to_owned),
        purl: c.get("purl").and_then(Value::as_str).map(str::to_owned),
    });
    if let Some(Value::Array(children)) = c.get("components") {
        for (i, child) in children.iter().enumerate() {
            collect_cdx(child, format!("{at}.components[{i}]"), out, bad)?;
        }
    }
    Ok(())
}
