//! Reading CycloneDX (1.x JSON) and SPDX (2.x JSON) documents back into an [`Inventory`].
//!
//! Structural checks, by hand (no JSON Schema engine in the library): required fields and
//! their types, enumerations (component types, scopes, hash algorithms and their hex lengths,
//! licence choices), the serial-number and timestamp syntax, unique `bom-ref`s and
//! dependency references that resolve. Licence ids are not checked against the SPDX list.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::{Ecosystem, Error, Hash, Inventory, Lockfile, Package, Source, lockfile::Format};

const CDX_FIX: &str =
    "make the document follow the CycloneDX JSON schema (https://cyclonedx.org/docs/1.6/json/)";
const SPDX_FIX: &str =
    "make the document follow the SPDX 2.3 JSON schema (https://spdx.github.io/spdx-spec/v2.3/)";

/// Reads a CycloneDX or SPDX JSON SBOM file into an inventory (its one "lockfile" entry
/// records the SBOM's path and SHA-256).
pub fn read(path: &Path) -> Result<Inventory, Error> {
    let bytes = fs_err::read(path)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::parse(
            path,
            Some(e.line()),
            format!("not valid JSON: {e}"),
            "check that the file is complete, valid JSON",
        )
    })?;
    let packages = from_value(path, &doc)?;
    let mut inv = Inventory::default();
    let format = if doc.get("spdxVersion").is_some() {
        Format::Spdx
    } else {
        Format::CycloneDx
    };
    inv.add(
        Lockfile {
            path: path.into(),
            format,
            sha256: zt_core::Digest::sha256(&bytes),
        },
        packages,
    );
    Ok(inv)
}

/// The packages of a parsed SBOM document (`path` names it in errors).
pub fn from_value(path: &Path, doc: &Value) -> Result<Vec<Package>, Error> {
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::parse(path, None, "the top level must be an object", CDX_FIX))?;
    if obj.contains_key("spdxVersion") {
        spdx(path, obj)
    } else {
        cyclonedx(path, obj)
    }
}

fn bad(path: &Path, field: &str, what: &str, fix: &str) -> Error {
    Error::parse(path, None, format!("field `{field}`: {what}"), fix)
}

const COMPONENT_TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

fn hash_len(alg: &str) -> Option<Option<usize>> {
    Some(match alg {
        "MD5" => Some(32),
        "SHA-1" => Some(40),
        "SHA-256" | "SHA3-256" | "BLAKE2b-256" => Some(64),
        "SHA-384" | "SHA3-384" | "BLAKE2b-384" => Some(96),
        "SHA-512" | "SHA3-512" | "BLAKE2b-512" => Some(128),
        "BLAKE3" | "Streebog-256" | "Streebog-512" => None,
        _ => return None,
    })
}

fn is_uuid_urn(s: &str) -> bool {
    let Some(u) = s.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = u.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && u.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19))
    {
        return false;
    }
    let mut rest = s.get(19..).unwrap_or("");
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = f.get(n..).unwrap_or("");
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes().first(), Some(b'+' | b'-'))
            && rest.as_bytes().get(3) == Some(&b':'))
}

/// The licence a CycloneDX `licenses` array declares: its expression, or its licences'
/// ids (names for non-SPDX ones) joined with `AND` (every listed licence applies).
fn cdx_license(v: Option<&Value>) -> Option<String> {
    let a = v?.as_array()?;
    let mut parts = Vec::new();
    for entry in a {
        if let Some(e) = entry.get("expression").and_then(Value::as_str) {
            return Some(e.to_string());
        }
        let l = entry.get("license")?;
        let text = l
            .get("id")
            .or_else(|| l.get("name"))
            .and_then(Value::as_str)?;
        parts.push(if parts.is_empty() && a.len() == 1 {
            text.to_string()
        } else {
            format!("({text})")
        });
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

fn check_licenses(path: &Path, field: &str, v: &Value) -> Result<(), Error> {
    let a = v
        .as_array()
        .ok_or_else(|| bad(path, field, "must be an array", CDX_FIX))?;
    let expressions = a.iter().filter(|x| x.get("expression").is_some()).count();
    if expressions > 0 && a.len() != 1 {
        return Err(bad(
            path,
            field,
            "a licence expression must stand alone",
            CDX_FIX,
        ));
    }
    for (i, entry) in a.iter().enumerate() {
        let o = entry
            .as_object()
            .ok_or_else(|| bad(path, field, "entries must be objects", CDX_FIX))?;
        match (o.get("license"), o.get("expression")) {
            (Some(l), None) if o.len() == 1 => {
                let has = |k: &str| l.get(k).is_some_and(Value::is_string);
                if has("id") == has("name") {
                    return Err(bad(
                        path,
                        &format!("{field}[{i}].license"),
                        "needs exactly one of `id` and `name`",
                        CDX_FIX,
                    ));
                }
                if let Some(t) = l.get("text")
                    && let Some(enc) = t.get("encoding")
                    && enc != "base64"
                {
                    return Err(bad(
                        path,
                        &format!("{field}[{i}].license.text.encoding"),
                        "must be `base64`",
                        CDX_FIX,
                    ));
                }
            }
            (None, Some(e)) if e.is_string() => {}
            _ => {
                return Err(bad(
                    path,
                    &format!("{field}[{i}]"),
                    "must be `{license}` or `{expression}`",
                    CDX_FIX,
                ));
            }
        }
    }
    Ok(())
}

fn cdx_component(
    path: &Path,
    field: &str,
    c: &Value,
    refs: &mut BTreeSet<String>,
    out: &mut Vec<Package>,
) -> Result<(), Error> {
    let o = c
        .as_object()
        .ok_or_else(|| bad(path, field, "must be an object", CDX_FIX))?;
    let ty = o
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, field, "`type` is required", CDX_FIX))?;
    if !COMPONENT_TYPES.contains(&ty) {
        return Err(bad(
            path,
            &format!("{field}.type"),
            &format!("`{ty}` is not a component type"),
            CDX_FIX,
        ));
    }
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, field, "`name` (a string) is required", CDX_FIX))?;
    if let Some(r) = o.get("bom-ref") {
        let r = r.as_str().filter(|r| !r.is_empty()).ok_or_else(|| {
            bad(
                path,
                &format!("{field}.bom-ref"),
                "must be a non-empty string",
                CDX_FIX,
            )
        })?;
        if !refs.insert(r.to_string()) {
            return Err(bad(
                path,
                &format!("{field}.bom-ref"),
                &format!("`{r}` is not unique"),
                CDX_FIX,
            ));
        }
    }
    if let Some(s) = o.get("scope")
        && !matches!(s.as_str(), Some("required" | "optional" | "excluded"))
    {
        return Err(bad(
            path,
            &format!("{field}.scope"),
            "must be `required`, `optional` or `excluded`",
            CDX_FIX,
        ));
    }
    let mut hashes = Vec::new();
    for (i, h) in o
        .get("hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let f = format!("{field}.hashes[{i}]");
        let alg = h.get("alg").and_then(Value::as_str).unwrap_or("");
        let content = h
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(path, &f, "`content` is required", CDX_FIX))?;
        let len = hash_len(alg).ok_or_else(|| {
            bad(
                path,
                &f,
                &format!("`{alg}` is not a hash algorithm"),
                CDX_FIX,
            )
        })?;
        let hex_ok = content.bytes().all(|b| b.is_ascii_hexdigit());
        if len.is_some_and(|n| n != content.len()) || !hex_ok {
            return Err(bad(
                path,
                &f,
                &format!("`{content}` is not a {alg} hex value"),
                CDX_FIX,
            ));
        }
        hashes.push(Hash {
            algorithm: alg.to_ascii_lowercase().replace('-', ""),
            value: content.to_ascii_lowercase(),
        });
    }
    if let Some(l) = o.get("licenses") {
        check_licenses(path, &format!("{field}.licenses"), l)?;
    }
    if let Some(props) = o.get("properties") {
        check_properties(path, &format!("{field}.properties"), props)?;
    }
    let purl = o.get("purl").and_then(Value::as_str).unwrap_or("");
    let version = o.get("version").and_then(Value::as_str).unwrap_or("");
    let ecosystem = crate::purl::parse(purl).map_or(Ecosystem::Other, |(e, _, _)| e);
    let mut p = crate::lockfile::package(ecosystem, name, version, Source::Registry { url: None });
    p.purl = if purl.is_empty() {
        o.get("bom-ref")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string()
    } else {
        purl.to_string()
    };
    p.hashes = hashes;
    p.license = cdx_license(o.get("licenses"));
    p.dev = o.get("scope").and_then(Value::as_str) == Some("excluded");
    if let Some(vcs) = o
        .get("externalReferences")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|r| r.get("type").and_then(Value::as_str) == Some("vcs"))
        })
        && let Some(url) = vcs.get("url").and_then(Value::as_str)
    {
        p.source = Source::Git {
            url: url.to_string(),
            commit: None,
        };
    }
    out.push(p);
    for (i, sub) in o
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        cdx_component(path, &format!("{field}.components[{i}]"), sub, refs, out)?;
    }
    Ok(())
}

fn check_properties(path: &Path, field: &str, v: &Value) -> Result<(), Error> {
    for (i, p) in v
        .as_array()
        .ok_or_else(|| bad(path, field, "must be an array", CDX_FIX))?
        .iter()
        .enumerate()
    {
        let ok = p.get("name").is_some_and(Value::is_string)
            && p.get("value").is_none_or(Value::is_string);
        if !ok {
            return Err(bad(
                path,
                &format!("{field}[{i}]"),
                "needs a string `name` and an optional string `value`",
                CDX_FIX,
            ));
        }
    }
    Ok(())
}

fn cyclonedx(path: &Path, obj: &Map<String, Value>) -> Result<Vec<Package>, Error> {
    if obj.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(bad(path, "bomFormat", "must be `CycloneDX`", CDX_FIX));
    }
    if !obj.get("specVersion").is_some_and(Value::is_string) {
        return Err(bad(
            path,
            "specVersion",
            "a string such as `1.6` is required",
            CDX_FIX,
        ));
    }
    if let Some(s) = obj.get("serialNumber")
        && !s.as_str().is_some_and(is_uuid_urn)
    {
        return Err(bad(
            path,
            "serialNumber",
            "must be `urn:uuid:` and a lower-case RFC 4122 UUID",
            CDX_FIX,
        ));
    }
    let mut refs = BTreeSet::new();
    let mut out = Vec::new();
    if let Some(m) = obj.get("metadata") {
        if let Some(t) = m.get("timestamp")
            && !t.as_str().is_some_and(is_date_time)
        {
            return Err(bad(
                path,
                "metadata.timestamp",
                "must be an RFC 3339 date-time",
                CDX_FIX,
            ));
        }
        if let Some(l) = m.get("licenses") {
            check_licenses(path, "metadata.licenses", l)?;
        }
        if let Some(c) = m.get("component") {
            let mut root = Vec::new();
            cdx_component(path, "metadata.component", c, &mut refs, &mut root)?;
        }
    }
    let first = out.len();
    for (i, c) in obj
        .get("components")
        .map(|c| {
            c.as_array()
                .ok_or_else(|| bad(path, "components", "must be an array", CDX_FIX))
        })
        .transpose()?
        .into_iter()
        .flatten()
        .enumerate()
    {
        cdx_component(path, &format!("components[{i}]"), c, &mut refs, &mut out)?;
    }
    for (i, s) in obj
        .get("services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(r) = s.get("bom-ref").and_then(Value::as_str) {
            refs.insert(r.to_string());
        }
        if let Some(l) = s.get("licenses") {
            check_licenses(path, &format!("services[{i}].licenses"), l)?;
        }
    }
    let mut edges: Vec<(String, Vec<String>)> = Vec::new();
    for (i, d) in obj
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let f = format!("dependencies[{i}]");
        let r = d
            .get("ref")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(path, &f, "`ref` (a string) is required", CDX_FIX))?;
        let mut on = Vec::new();
        for x in d
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            on.push(
                x.as_str()
                    .ok_or_else(|| {
                        bad(
                            path,
                            &format!("{f}.dependsOn"),
                            "entries must be strings",
                            CDX_FIX,
                        )
                    })?
                    .to_string(),
            );
        }
        edges.push((r.to_string(), on));
    }
    let purl_of = |r: &str| {
        out.iter()
            .find(|p: &&Package| p.purl == r)
            .map(|p| p.purl.clone())
    };
    let resolved: Vec<(String, Vec<String>)> = edges
        .iter()
        .map(|(r, on)| (r.clone(), on.iter().filter_map(|x| purl_of(x)).collect()))
        .collect();
    for p in out.iter_mut().skip(first) {
        if let Some((_, on)) = resolved.iter().find(|(r, _)| *r == p.purl) {
            p.dependencies = on.clone();
        }
    }
    if let Some(props) = obj.get("properties") {
        check_properties(path, "properties", props)?;
    }
    Ok(out)
}

fn spdx(path: &Path, obj: &Map<String, Value>) -> Result<Vec<Package>, Error> {
    let s = |k: &str| obj.get(k).and_then(Value::as_str);
    if !s("spdxVersion").is_some_and(|v| v.starts_with("SPDX-2.")) {
        return Err(bad(path, "spdxVersion", "must be `SPDX-2.x`", SPDX_FIX));
    }
    if s("SPDXID") != Some("SPDXRef-DOCUMENT") {
        return Err(bad(path, "SPDXID", "must be `SPDXRef-DOCUMENT`", SPDX_FIX));
    }
    for k in ["name", "dataLicense", "documentNamespace"] {
        if s(k).is_none() {
            return Err(bad(path, k, "a string is required", SPDX_FIX));
        }
    }
    let ci = obj
        .get("creationInfo")
        .ok_or_else(|| bad(path, "creationInfo", "is required", SPDX_FIX))?;
    if !ci
        .get("created")
        .and_then(Value::as_str)
        .is_some_and(is_date_time)
    {
        return Err(bad(
            path,
            "creationInfo.created",
            "an RFC 3339 date-time is required",
            SPDX_FIX,
        ));
    }
    if ci
        .get("creators")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty())
    {
        return Err(bad(
            path,
            "creationInfo.creators",
            "at least one creator is required",
            SPDX_FIX,
        ));
    }
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for (i, p) in obj
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let f = format!("packages[{i}]");
        let g = |k: &str| p.get(k).and_then(Value::as_str);
        let id = g("SPDXID")
            .filter(|x| x.starts_with("SPDXRef-"))
            .ok_or_else(|| bad(path, &f, "`SPDXID` (`SPDXRef-…`) is required", SPDX_FIX))?;
        let name = g("name").ok_or_else(|| bad(path, &f, "`name` is required", SPDX_FIX))?;
        let download = g("downloadLocation")
            .ok_or_else(|| bad(path, &f, "`downloadLocation` is required", SPDX_FIX))?;
        let purl = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .and_then(|r| r.get("referenceLocator").and_then(Value::as_str));
        let version = g("versionInfo").unwrap_or("");
        let ecosystem = purl
            .and_then(crate::purl::parse)
            .map_or(Ecosystem::Other, |(e, _, _)| e);
        let source = match download {
            "NOASSERTION" | "NONE" => Source::Registry { url: None },
            d if d.starts_with("git+") => Source::Git {
                url: d.to_string(),
                commit: None,
            },
            d => Source::Url { url: d.to_string() },
        };
        let mut pkg = crate::lockfile::package(ecosystem, name, version, source);
        pkg.purl = purl.map_or_else(|| id.to_string(), str::to_string);
        pkg.license = ["licenseConcluded", "licenseDeclared"]
            .iter()
            .filter_map(|k| g(k))
            .find(|l| !matches!(*l, "NOASSERTION" | "NONE" | ""))
            .map(str::to_string);
        for c in p
            .get("checksums")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(a), Some(v)) = (
                c.get("algorithm").and_then(Value::as_str),
                c.get("checksumValue").and_then(Value::as_str),
            ) {
                pkg.hashes.push(Hash {
                    algorithm: a.to_ascii_lowercase().replace('-', ""),
                    value: v.to_ascii_lowercase(),
                });
            }
        }
        ids.push(id.to_string());
        out.push(pkg);
    }
    for r in obj
        .get("relationships")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let g = |k: &str| r.get(k).and_then(Value::as_str);
        let (Some(a), Some(t), Some(b)) = (
            g("spdxElementId"),
            g("relationshipType"),
            g("relatedSpdxElement"),
        ) else {
            return Err(bad(
                path,
                "relationships",
                "each needs `spdxElementId`, `relationshipType`, `relatedSpdxElement`",
                SPDX_FIX,
            ));
        };
        let (from, to) = match t {
            "DEPENDS_ON" => (a, b),
            "DEPENDENCY_OF" | "DEV_DEPENDENCY_OF" => (b, a),
            _ => continue,
        };
        let (Some(fi), Some(ti)) = (
            ids.iter().position(|x| x == from),
            ids.iter().position(|x| x == to),
        ) else {
            continue;
        };
        let to_purl = out.get(ti).map(|p| p.purl.clone()).unwrap_or_default();
        if t == "DEV_DEPENDENCY_OF"
            && let Some(p) = out.get_mut(ti)
        {
            p.dev = true;
        }
        if let Some(p) = out.get_mut(fi) {
            p.dependencies.push(to_purl);
        }
    }
    Ok(out)
}
