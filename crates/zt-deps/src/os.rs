//! Packages of an operating system, from its package manager's database inside an image:
//!
//! - Debian and Ubuntu: `var/lib/dpkg/status` (and the one-package-per-file
//!   `var/lib/dpkg/status.d/` of distroless images), RFC 822-style stanzas; a package counts
//!   when its `Status` says `installed` (as `dpkg-query -W -f '${db:Status-Abbrev}'` shows `ii`
//!   or `hi`). purl `pkg:deb/<ID>/<name>@<version>?arch=…&distro=<ID>-<VERSION_ID>`, with
//!   `upstream=<source>[@<source version>]` when the status names a source, as syft writes it.
//! - Alpine (and apk-based Wolfi): `lib/apk/db/installed`, `K:value` records; `P` name, `V`
//!   version, `A` arch, `o` origin (upstream), `L` licence. purl
//!   `pkg:apk/<ID>/<name>@<version>?arch=…&distro=<ID>-<VERSION_ID>`.
//!
//! `<ID>` and `<VERSION_ID>` come from the image's `etc/os-release` ([`Distro::parse`]).
//! RPM databases (Fedora, RHEL: `var/lib/rpm/rpmdb.sqlite` or Berkeley DB `Packages`) are
//! not read.

use std::collections::BTreeMap;
use std::path::Path;

use zt_core::purl::Purl;

use crate::{Ecosystem, Error, Package, Source};

/// The distribution an image says it is (`os-release`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distro {
    /// `ID` (`debian`, `ubuntu`, `alpine`); empty when unknown.
    pub id: String,
    /// `VERSION_ID` (`12`, `22.04`, `3.20.3`); may be empty (Debian testing).
    pub version_id: String,
    /// `PRETTY_NAME`, for reports.
    pub pretty_name: String,
}

impl Distro {
    /// Reads an `os-release` file (shell-style `KEY=value` lines, values maybe quoted).
    pub fn parse(text: &str) -> Distro {
        let mut d = Distro::default();
        for line in text.lines() {
            let Some((k, v)) = line.trim().split_once('=') else {
                continue;
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v)
                .replace("\\\"", "\"");
            match k {
                "ID" => d.id = v.to_ascii_lowercase(),
                "VERSION_ID" => d.version_id = v,
                "PRETTY_NAME" => d.pretty_name = v,
                _ => {}
            }
        }
        d
    }

    /// The `distro` qualifier: `ID-VERSION_ID`, or `ID` alone.
    fn qualifier(&self) -> String {
        match (self.id.as_str(), self.version_id.as_str()) {
            ("", _) => String::new(),
            (id, "") => id.to_string(),
            (id, v) => format!("{id}-{v}"),
        }
    }
}

fn os_purl(
    ty: &str,
    namespace: &str,
    name: &str,
    version: &str,
    qualifiers: BTreeMap<String, String>,
) -> String {
    match Purl::from_parts(
        ty,
        Some(namespace),
        name,
        (!version.is_empty()).then_some(version),
        qualifiers,
        None,
    ) {
        Ok(p) => p.to_string(),
        Err(_) => format!("pkg:{ty}/{namespace}/{}", crate::purl::encode(name)),
    }
}

fn os_package(purl: String, name: &str, version: &str, line: usize) -> Package {
    Package {
        purl,
        ecosystem: Ecosystem::Other,
        name: name.to_string(),
        version: version.to_string(),
        hashes: Vec::new(),
        source: Source::Registry { url: None },
        dependencies: Vec::new(),
        dev: false,
        groups: Vec::new(),
        lockfile: 0,
        line: Some(line),
        requirement: None,
        license: None,
    }
}

/// Stanzas of a Debian control file: (first line, fields). Continuation lines (starting
/// with a space or tab) are joined to their field with a newline.
fn stanzas(text: &str) -> Vec<(usize, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut start = 1;
    let mut last: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push((start, std::mem::take(&mut current)));
            }
            last = None;
            continue;
        }
        if current.is_empty() && last.is_none() {
            start = i + 1;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(k) = &last
                && let Some(v) = current.get_mut(k)
            {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_string();
            current.insert(k.clone(), v.trim().to_string());
            last = Some(k);
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// The packages a dpkg status file (or a `status.d/` file) records as installed.
pub fn dpkg(path: &Path, text: &str, distro: &Distro) -> Result<Vec<Package>, Error> {
    let namespace = if distro.id.is_empty() {
        "debian"
    } else {
        distro.id.as_str()
    };
    let mut out = Vec::new();
    for (line, fields) in stanzas(text) {
        let Some(name) = fields.get("Package").filter(|n| !n.is_empty()) else {
            return Err(Error::parse(
                path,
                Some(line),
                "a stanza has no `Package` field",
                "this is not a dpkg status database: rebuild the image from a trusted base",
            ));
        };
        // distroless `status.d/` files carry no Status: everything there is installed.
        if let Some(status) = fields.get("Status")
            && status.split_whitespace().last() != Some("installed")
        {
            continue;
        }
        let version = fields.get("Version").map(String::as_str).unwrap_or("");
        let mut q = BTreeMap::new();
        if let Some(arch) = fields.get("Architecture") {
            q.insert("arch".to_string(), arch.clone());
        }
        q.insert("distro".to_string(), distro.qualifier());
        if let Some(source) = fields.get("Source") {
            // `Source: name` or `Source: name (version)`.
            let (src, src_version) = match source.split_once('(') {
                Some((s, v)) => (s.trim(), v.trim_end_matches(')').trim()),
                None => (source.trim(), ""),
            };
            // As syft writes it: whenever the status names a source (dpkg writes `Source`
            // only when it differs from the package's name or version).
            if !src.is_empty() {
                let upstream = if src_version.is_empty() {
                    src.to_string()
                } else {
                    format!("{src}@{src_version}")
                };
                q.insert("upstream".to_string(), upstream);
            }
        }
        out.push(os_package(
            os_purl("deb", namespace, name, version, q),
            name,
            version,
            line,
        ));
    }
    Ok(out)
}

/// The packages of an apk `installed` database.
pub fn apk(path: &Path, text: &str, distro: &Distro) -> Result<Vec<Package>, Error> {
    let namespace = if distro.id.is_empty() {
        "alpine"
    } else {
        distro.id.as_str()
    };
    let mut out = Vec::new();
    let mut record: BTreeMap<char, String> = BTreeMap::new();
    let mut start = 1;
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..=lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        if line.trim().is_empty() {
            if !record.is_empty() {
                let rec = std::mem::take(&mut record);
                let Some(name) = rec.get(&'P').filter(|n| !n.is_empty()) else {
                    return Err(Error::parse(
                        path,
                        Some(start),
                        "a record has no `P:` (package name) line",
                        "this is not an apk database: rebuild the image from a trusted base",
                    ));
                };
                let version = rec.get(&'V').map(String::as_str).unwrap_or("");
                let mut q = BTreeMap::new();
                if let Some(a) = rec.get(&'A') {
                    q.insert("arch".to_string(), a.clone());
                }
                q.insert("distro".to_string(), distro.qualifier());
                if let Some(origin) = rec.get(&'o').filter(|o| *o != name) {
                    q.insert("upstream".to_string(), origin.clone());
                }
                let mut p = os_package(
                    os_purl("apk", namespace, name, version, q),
                    name,
                    version,
                    start,
                );
                p.license = rec.get(&'L').filter(|l| !l.is_empty()).cloned();
                out.push(p);
            }
            continue;
        }
        if record.is_empty() {
            start = i + 1;
        }
        let mut chars = line.chars();
        if let (Some(k), Some(':')) = (chars.next(), chars.next()) {
            // Repeated keys (file lists `F:`/`R:`) are not needed: the first one stays.
            record
                .entry(k)
                .or_insert_with(|| chars.as_str().to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

    #[test]
    fn dpkg_status_gives_installed_packages_with_syft_style_purls() {
        let status = "Package: libc6\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u7\nDescription: GNU C Library\n long text\n .\n more\n\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\nPackage: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.13-1~deb12u1)\nVersion: 3.0.14-1~deb12u2\n\nPackage: bash\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\nSource: bash (5.2.15-2)\n";
        let d = Distro::parse(DEBIAN);
        assert_eq!((d.id.as_str(), d.version_id.as_str()), ("debian", "12"));
        let p = dpkg(Path::new("var/lib/dpkg/status"), status, &d).unwrap();
        let purls: Vec<&str> = p.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc",
                "pkg:deb/debian/libssl3@3.0.14-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl%403.0.13-1~deb12u1",
                "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
            ]
        );
        assert_eq!(p[0].line, Some(1));
        assert!(dpkg(Path::new("s"), "Version: 1\n", &d).is_err());
    }

    #[test]
    fn apk_database_gives_packages_with_licences() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:1\nI:2\nT:the musl c library\nU:https://musl.libc.org/\nL:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\nC:Q1def=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\nL:Apache-2.0\no:openssl\n";
        let d = Distro::parse("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n");
        let p = apk(Path::new("lib/apk/db/installed"), db, &d).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].purl,
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );
        assert_eq!(
            p[1].purl,
            "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"
        );
        assert_eq!(p[1].license.as_deref(), Some("Apache-2.0"));
        assert_eq!(p[1].line, Some(14));
        assert!(apk(Path::new("x"), "V:1\n", &d).is_err());
    }

    /// A real apk database from syft's test data (tests/data/os/SOURCE.md): the purls are the
    /// ones syft's `packageURL` makes (type apk, namespace the os-release ID, arch, upstream
    /// when the origin differs, distro ID-VERSION_ID).
    #[test]
    fn a_real_alpine_database_reads_as_syft_reads_it() {
        let db = include_str!("../tests/data/os/alpine-installed");
        let d = Distro::parse("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\n");
        let p = apk(Path::new("lib/apk/db/installed"), db, &d).unwrap();
        let got: Vec<(&str, &str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "bash",
                    "5.2.21-r0",
                    "pkg:apk/alpine/bash@5.2.21-r0?arch=x86_64&distro=alpine-3.19.0"
                ),
                (
                    "busybox-binsh",
                    "1.36.1-r15",
                    "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.0&upstream=busybox"
                ),
                (
                    "musl",
                    "1.2.4_git20230717-r4",
                    "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.0"
                ),
                (
                    "readline",
                    "8.2.1-r2",
                    "pkg:apk/alpine/readline@8.2.1-r2?arch=x86_64&distro=alpine-3.19.0"
                ),
            ]
        );
        assert_eq!(p[0].license.as_deref(), Some("GPL-3.0-or-later"));
    }
}
