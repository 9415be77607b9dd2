//! SBOM writers: CycloneDX 1.6 JSON ([`cyclonedx`]) and SPDX 2.3 JSON ([`spdx`]).
//!
//! Output is deterministic: components are sorted by purl (one per purl; duplicates across
//! lockfiles are merged), the CycloneDX serial number and the SPDX document namespace are
//! derived from a SHA-256 over the inputs (lockfile digests, root and artifacts), and the
//! timestamp is [`RootInfo::timestamp`] (set it from `SOURCE_DATE_EPOCH`): CycloneDX omits
//! it when unset, SPDX (where `created` is required) then writes `1970-01-01T00:00:00Z`.
//! Serialise with [`to_bytes`] for the canonical bytes.
//!
//! The root component is the project; it depends on every package no other package of the
//! inventory depends on (for formats without a graph — requirements.txt, go.mod — that is
//! every package). Artifacts passed in [`RootInfo::artifacts`] appear as file components
//! (CycloneDX: nested under the root; SPDX: packages `GENERATED_FROM` the root) with their
//! SHA-256.

use std::collections::{BTreeMap, BTreeSet};

mod read;
pub use read::{from_value, read};

use serde_json::{Value, json};
use zt_core::{Digest, DigestAlgorithm};

use crate::{Inventory, Package, Source};

/// The project an SBOM describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootInfo {
    /// Project name.
    pub name: String,
    /// Project version (may be empty).
    pub version: String,
    /// Built artifacts: (file name, SHA-256 digest).
    pub artifacts: Vec<(String, Digest)>,
    /// Creation time, seconds since the Unix epoch (`SOURCE_DATE_EPOCH`); `None` omits it
    /// where the format allows.
    pub timestamp: Option<i64>,
}

impl RootInfo {
    /// A root with no artifacts and no timestamp.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        RootInfo {
            name: name.into(),
            version: version.into(),
            artifacts: Vec::new(),
            timestamp: None,
        }
    }

    fn purl(&self) -> String {
        crate::purl::generic(&self.name, &self.version)
    }
}

/// The canonical bytes of an SBOM document: pretty JSON (keys in insertion order as built
/// here), newline-terminated.
pub fn to_bytes(doc: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(doc).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Packages merged by purl, in purl order.
fn merged(inv: &Inventory) -> Vec<Package> {
    let mut by_purl: BTreeMap<&str, Package> = BTreeMap::new();
    for p in &inv.packages {
        match by_purl.get_mut(p.purl.as_str()) {
            None => {
                by_purl.insert(&p.purl, p.clone());
            }
            Some(m) => {
                m.hashes.extend(p.hashes.iter().cloned());
                m.hashes.sort();
                m.hashes.dedup();
                m.dependencies.extend(p.dependencies.iter().cloned());
                m.dependencies.sort();
                m.dependencies.dedup();
                m.dev &= p.dev;
            }
        }
    }
    let known: BTreeSet<String> = by_purl.keys().map(|k| k.to_string()).collect();
    by_purl
        .into_values()
        .map(|mut p| {
            p.dependencies.retain(|d| known.contains(d) && *d != p.purl);
            p
        })
        .collect()
}

/// Packages no other package depends on.
fn tops(packages: &[Package]) -> Vec<&Package> {
    let depended: BTreeSet<&str> = packages
        .iter()
        .flat_map(|p| p.dependencies.iter().map(String::as_str))
        .collect();
    packages
        .iter()
        .filter(|p| !depended.contains(p.purl.as_str()))
        .collect()
}

/// SHA-256 over the inputs, for the serial number / namespace.
fn input_digest(inv: &Inventory, root: &RootInfo, format: &str) -> Digest {
    let mut h = zt_core::digest::Hasher::new(DigestAlgorithm::Sha256);
    let mut field = |s: &str| {
        h.update(&(s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(format);
    field(&root.name);
    field(&root.version);
    for (n, d) in &root.artifacts {
        field(n);
        field(&d.to_string());
    }
    for l in &inv.lockfiles {
        field(&l.sha256.to_string());
    }
    for p in &inv.packages {
        field(&p.purl);
    }
    h.finish()
}

/// RFC 3339 UTC from Unix seconds (zt-core's one formatter).
pub use zt_core::time::rfc3339;

/// Hashes usable as SBOM checksums: (algorithm, hex) for SHA-1/256/384/512 of the right length.
fn checksums(p: &Package) -> Vec<(&'static str, String)> {
    p.hashes
        .iter()
        .filter_map(|h| {
            let (name, len) = match h.algorithm.as_str() {
                "sha1" => ("SHA-1", 40),
                "sha256" => ("SHA-256", 64),
                "sha384" => ("SHA-384", 96),
                "sha512" => ("SHA-512", 128),
                _ => return None,
            };
            (h.value.len() == len && h.value.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| (name, h.value.to_ascii_lowercase()))
        })
        .collect()
}

fn download_location(p: &Package) -> Option<String> {
    match &p.source {
        Source::Registry { url } => url.clone(),
        Source::Git { url, commit } => Some(match commit {
            Some(c) => format!("git+{}@{c}", url.trim_start_matches("git+")),
            None => format!("git+{}", url.trim_start_matches("git+")),
        }),
        Source::Url { url } => Some(url.clone()),
        Source::Path { .. } => None,
    }
}

/// A CycloneDX 1.6 JSON BOM of the inventory.
pub fn cyclonedx(inv: &Inventory, root: &RootInfo) -> Value {
    let packages = merged(inv);
    let digest = input_digest(inv, root, "cyclonedx-1.6");
    let root_ref = root.purl();
    let mut root_component = json!({
        "type": "application",
        "bom-ref": root_ref,
        "name": root.name,
    });
    if !root.version.is_empty() {
        root_component["version"] = root.version.clone().into();
    }
    root_component["purl"] = root_ref.clone().into();
    if !root.artifacts.is_empty() {
        let mut arts: Vec<&(String, Digest)> = root.artifacts.iter().collect();
        arts.sort_by(|a, b| a.0.cmp(&b.0));
        root_component["components"] = arts
            .iter()
            .map(|(name, d)| {
                json!({
                    "type": "file",
                    "bom-ref": format!("artifact:{name}@{d}"),
                    "name": name,
                    "hashes": [{"alg": cdx_alg(d.algorithm()), "content": d.hex()}],
                })
            })
            .collect();
    }
    let mut metadata = serde_json::Map::new();
    if let Some(t) = root.timestamp {
        metadata.insert("timestamp".into(), rfc3339(t).into());
    }
    metadata.insert(
        "tools".into(),
        json!({"components": [{"type": "application", "name": "zt", "version": env!("CARGO_PKG_VERSION")}]}),
    );
    metadata.insert("component".into(), root_component);
    let components: Vec<Value> = packages
        .iter()
        .map(|p| {
            let mut c = serde_json::Map::new();
            c.insert("type".into(), "library".into());
            c.insert("bom-ref".into(), p.purl.clone().into());
            c.insert("name".into(), p.name.clone().into());
            if !p.version.is_empty() {
                c.insert("version".into(), p.version.clone().into());
            }
            if p.dev {
                c.insert("scope".into(), "excluded".into());
            }
            let sums = checksums(p);
            if !sums.is_empty() {
                c.insert(
                    "hashes".into(),
                    sums.iter()
                        .map(|(a, v)| json!({"alg": a, "content": v}))
                        .collect(),
                );
            }
            if let Some(l) = &p.license {
                let entry = match spdx_expression(l) {
                    Some(e) => json!({"expression": e}),
                    None => json!({"license": {"name": l}}),
                };
                c.insert("licenses".into(), json!([entry]));
            }
            c.insert("purl".into(), p.purl.clone().into());
            if let Source::Git { url, .. } = &p.source {
                c.insert(
                    "externalReferences".into(),
                    json!([{"type": "vcs", "url": url}]),
                );
            }
            let mut props = vec![json!({"name": "zt:ecosystem", "value": p.ecosystem.name()})];
            if let Some(l) = inv.lockfiles.get(p.lockfile) {
                props.push(json!({"name": "zt:lockfile", "value": l.format.file_name()}));
            }
            c.insert("properties".into(), props.into());
            Value::Object(c)
        })
        .collect();
    let mut dependencies = vec![json!({
        "ref": root_ref,
        "dependsOn": tops(&packages).iter().map(|p| p.purl.clone()).collect::<Vec<_>>(),
    })];
    dependencies.extend(
        packages
            .iter()
            .map(|p| json!({"ref": p.purl, "dependsOn": p.dependencies})),
    );
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_from(&digest)),
        "version": 1,
        "metadata": Value::Object(metadata),
        "components": components,
        "dependencies": dependencies,
    })
}

/// A declared licence as a canonical SPDX expression, when it is one (strictly, or in the
/// lax form the SPDX crate can canonicalise: `MIT/Apache-2.0`, lower-case operators).
fn spdx_expression(text: &str) -> Option<String> {
    if spdx::Expression::parse(text).is_ok() {
        return Some(text.to_string());
    }
    spdx::Expression::canonicalize(text)
        .ok()
        .flatten()
        .filter(|c| spdx::Expression::parse(c).is_ok())
}

fn cdx_alg(a: DigestAlgorithm) -> &'static str {
    match a {
        DigestAlgorithm::Sha256 => "SHA-256",
        _ => "SHA-512",
    }
}

/// A name-based UUID (version 5 layout) from the first 16 bytes of a digest.
fn uuid_from(d: &Digest) -> String {
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(d.bytes()) {
        *dst = *src;
    }
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h.get(0..8).unwrap_or_default(),
        h.get(8..12).unwrap_or_default(),
        h.get(12..16).unwrap_or_default(),
        h.get(16..20).unwrap_or_default(),
        h.get(20..32).unwrap_or_default()
    )
}

/// An SPDX identifier fragment: letters, digits, `.` and `-` only.
fn spdx_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// An SPDX 2.3 JSON document of the inventory.
pub fn spdx(inv: &Inventory, root: &RootInfo) -> Value {
    let packages = merged(inv);
    let digest = input_digest(inv, root, "spdx-2.3");
    let root_id = format!("SPDXRef-Root-{}", spdx_safe(&root.name));
    let ids: BTreeMap<&str, String> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                p.purl.as_str(),
                format!("SPDXRef-Package-{:04}-{}", i + 1, spdx_safe(&p.name)),
            )
        })
        .collect();
    let mut root_pkg = json!({
        "SPDXID": root_id,
        "name": root.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": root.purl()}],
        "primaryPackagePurpose": "APPLICATION",
    });
    if !root.version.is_empty() {
        root_pkg["versionInfo"] = root.version.clone().into();
    }
    let mut spdx_packages = vec![root_pkg];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    let mut arts: Vec<&(String, Digest)> = root.artifacts.iter().collect();
    arts.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (name, d)) in arts.iter().enumerate() {
        let id = format!("SPDXRef-Artifact-{}-{}", i + 1, spdx_safe(name));
        spdx_packages.push(json!({
            "SPDXID": id,
            "name": name,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "checksums": [{"algorithm": cdx_alg(d.algorithm()).replace('-', ""), "checksumValue": d.hex()}],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "FILE",
        }));
        relationships.push(json!({"spdxElementId": id, "relationshipType": "GENERATED_FROM", "relatedSpdxElement": root_id}));
    }
    for p in &packages {
        let id = ids.get(p.purl.as_str()).cloned().unwrap_or_default();
        let mut o = serde_json::Map::new();
        o.insert("SPDXID".into(), id.clone().into());
        o.insert("name".into(), p.name.clone().into());
        if !p.version.is_empty() {
            o.insert("versionInfo".into(), p.version.clone().into());
        }
        o.insert(
            "downloadLocation".into(),
            download_location(p)
                .unwrap_or_else(|| "NOASSERTION".into())
                .into(),
        );
        o.insert("filesAnalyzed".into(), false.into());
        let sums = checksums(p);
        if !sums.is_empty() {
            o.insert(
                "checksums".into(),
                sums.iter()
                    .map(|(a, v)| json!({"algorithm": a.replace('-', ""), "checksumValue": v}))
                    .collect(),
            );
        }
        o.insert("licenseConcluded".into(), "NOASSERTION".into());
        o.insert(
            "licenseDeclared".into(),
            p.license
                .as_deref()
                .and_then(spdx_expression)
                .unwrap_or_else(|| "NOASSERTION".into())
                .into(),
        );
        o.insert("copyrightText".into(), "NOASSERTION".into());
        o.insert(
            "externalRefs".into(),
            json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}]),
        );
        o.insert("primaryPackagePurpose".into(), "LIBRARY".into());
        spdx_packages.push(Value::Object(o));
        for d in &p.dependencies {
            if let Some(did) = ids.get(d.as_str()) {
                relationships.push(json!({"spdxElementId": id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": did}));
            }
        }
    }
    for p in tops(&packages) {
        let id = ids.get(p.purl.as_str()).cloned().unwrap_or_default();
        relationships.push(if p.dev {
            json!({"spdxElementId": id, "relationshipType": "DEV_DEPENDENCY_OF", "relatedSpdxElement": root_id})
        } else {
            json!({"spdxElementId": root_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id})
        });
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": if root.version.is_empty() { root.name.clone() } else { format!("{}-{}", root.name, root.version) },
        "documentNamespace": format!("https://spdx.org/spdxdocs/zt/{}-{}", spdx_safe(&root.name), digest.hex()),
        "creationInfo": {
            "created": rfc3339(root.timestamp.unwrap_or(0)),
            "creators": [format!("Tool: zt-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": spdx_packages,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_points() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn uuid_has_version_5_layout() {
        let u = uuid_from(&Digest::sha256(b"x"));
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'5');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }
}
