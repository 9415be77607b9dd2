//! What the archive must hash to, and when the version was published: from a lockfile entry
//! (`--lockfile`) or a registry index entry (`--index`):
//!
//! | ecosystem | index document | checksum | publish time |
//! |---|---|---|---|
//! | crates.io | a sparse-index file (one JSON line per version) | `cksum` (SHA-256) | `pubtime` |
//! | npm | a packument (`/NAME`) or one version's document (`/NAME/VERSION`) | `dist.integrity` (SRI) | `time[VERSION]` |
//! | PyPI | the JSON API (`/pypi/NAME/json` or `/pypi/NAME/VERSION/json`) | `digests.sha256` of the file named like the archive | `upload_time_iso_8601` |
//! | RubyGems | `/api/v1/versions/NAME.json` (an array) or one version object | `sha` (SHA-256) | `created_at` |
//! | Go | a `go.sum` | `h1:` (the module zip's dirhash) | — |

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Ecosystem, Error, Hash};

/// Where the expected checksum comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumSource {
    /// A lockfile entry.
    Lockfile,
    /// A registry index entry.
    Index,
}

/// What one source says about the version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expectation {
    /// Lockfile or index.
    pub source: ChecksumSource,
    /// The file it was read from.
    pub file: PathBuf,
    /// The 1-based line of the entry, where known.
    pub line: Option<usize>,
    /// The hashes the archive must match (any one of them for a multi-file release).
    pub hashes: Vec<Hash>,
    /// When the version was published (Unix seconds), if the source says.
    pub published: Option<i64>,
    /// The registry marks the version yanked.
    pub yanked: bool,
}

fn bad(
    file: &Path,
    line: Option<usize>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Error {
    Error::Parse {
        file: file.into(),
        line,
        message: message.into(),
        fix: fix.into(),
    }
}

/// The entry for `name@version` in a lockfile.
pub fn from_lockfile(
    path: &Path,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
) -> Result<Expectation, Error> {
    let (_, packages) = crate::read_lockfile(path)?;
    let want = crate::purl::purl(ecosystem, name, version);
    let p = packages.iter().find(|p| p.purl == want).ok_or_else(|| {
        bad(
            path,
            None,
            format!("no entry for `{want}`"),
            "pass the lockfile that resolves this version, or `--index` with the registry's entry",
        )
    })?;
    Ok(Expectation {
        source: ChecksumSource::Lockfile,
        file: path.into(),
        line: p.line,
        hashes: p.hashes.clone(),
        published: None,
        yanked: false,
    })
}

/// The entry for `name@version` in a registry index document; `archive_name` picks the file
/// of a multi-file release (PyPI).
pub fn from_index(
    path: &Path,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    archive_name: &str,
) -> Result<Expectation, Error> {
    let text = fs_err::read_to_string(path)?;
    let mut e = Expectation {
        source: ChecksumSource::Index,
        file: path.into(),
        line: None,
        hashes: Vec::new(),
        published: None,
        yanked: false,
    };
    let missing = |what: &str| {
        bad(
            path,
            None,
            format!("no {what} for `{name}` {version}"),
            "pass the registry's index entry for this exact package and version",
        )
    };
    match ecosystem {
        Ecosystem::CratesIo => {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(line).map_err(|err| {
                    bad(
                        path,
                        Some(n + 1),
                        format!("not JSON: {err}"),
                        "a crates.io index file holds one JSON object per line",
                    )
                })?;
                if v["name"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(name))
                    && v["vers"].as_str() == Some(version)
                {
                    e.line = Some(n + 1);
                    let ck = v["cksum"].as_str().ok_or_else(|| missing("`cksum`"))?;
                    e.hashes.push(Hash {
                        algorithm: "sha256".into(),
                        value: ck.to_ascii_lowercase(),
                    });
                    e.published = v["pubtime"].as_str().and_then(parse_rfc3339);
                    e.yanked = v["yanked"].as_bool().unwrap_or(false);
                    return Ok(e);
                }
            }
            Err(missing("index line"))
        }
        Ecosystem::Npm => {
            let v = json(path, &text)?;
            let doc = if v.get("versions").is_some() {
                &v["versions"][version]
            } else {
                &v
            };
            if doc.is_null() || doc["version"].as_str().is_some_and(|s| s != version) {
                return Err(missing("version document"));
            }
            let sri = doc["dist"]["integrity"]
                .as_str()
                .ok_or_else(|| missing("`dist.integrity`"))?;
            e.hashes = crate::lockfile::hashes_from_sri(sri);
            e.published = v["time"][version].as_str().and_then(parse_rfc3339);
            e.yanked = doc
                .get("deprecated")
                .is_some_and(|d| !d.is_null() && d != false);
            Ok(e)
        }
        Ecosystem::PyPI => {
            let v = json(path, &text)?;
            let files: Vec<&Value> = match v["releases"][version].as_array() {
                Some(files) => files.iter().collect(),
                None if v["info"]["version"].as_str() == Some(version) => v["urls"]
                    .as_array()
                    .map(|a| a.iter().collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            if files.is_empty() {
                return Err(missing("release files"));
            }
            let chosen: Vec<&Value> = match files
                .iter()
                .find(|f| f["filename"].as_str() == Some(archive_name))
            {
                Some(f) => vec![*f],
                None => files,
            };
            for f in &chosen {
                if let Some(h) = f["digests"]["sha256"].as_str() {
                    e.hashes.push(Hash {
                        algorithm: "sha256".into(),
                        value: h.to_ascii_lowercase(),
                    });
                }
                e.yanked |= f["yanked"].as_bool().unwrap_or(false);
            }
            e.published = chosen
                .iter()
                .filter_map(|f| {
                    f["upload_time_iso_8601"]
                        .as_str()
                        .or(f["upload_time"].as_str())
                })
                .filter_map(parse_rfc3339)
                .min();
            Ok(e)
        }
        Ecosystem::RubyGems => {
            let v = json(path, &text)?;
            let entry = match v.as_array() {
                Some(list) => list.iter().find(|x| {
                    x["number"].as_str() == Some(version)
                        && x["platform"].as_str().is_none_or(|p| p == "ruby")
                }),
                None => (v["version"].as_str() == Some(version)).then_some(&v),
            }
            .ok_or_else(|| missing("version entry"))?;
            let sha = entry["sha"].as_str().ok_or_else(|| missing("`sha`"))?;
            e.hashes.push(Hash {
                algorithm: "sha256".into(),
                value: sha.to_ascii_lowercase(),
            });
            e.published = entry["created_at"]
                .as_str()
                .or(entry["version_created_at"].as_str())
                .and_then(parse_rfc3339);
            e.yanked = entry["yanked"].as_bool().unwrap_or(false);
            Ok(e)
        }
        Ecosystem::Go => {
            // a go.sum: `module version h1:HASH`
            for (n, line) in text.lines().enumerate() {
                let mut parts = line.split_whitespace();
                if let (Some(m), Some(v), Some(h)) = (parts.next(), parts.next(), parts.next())
                    && m == name
                    && v == version
                {
                    e.line = Some(n + 1);
                    e.hashes.push(Hash {
                        algorithm: "h1".into(),
                        value: h.strip_prefix("h1:").unwrap_or(h).into(),
                    });
                    return Ok(e);
                }
            }
            Err(missing("go.sum line"))
        }
        Ecosystem::Other => Err(missing("entry")),
    }
}

fn json(path: &Path, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| {
        bad(
            path,
            Some(e.line()),
            format!("not JSON: {e}"),
            "pass the registry's JSON document as it was served",
        )
    })
}

/// Parses an RFC 3339 / ISO 8601 UTC time (`2024-05-01T12:00:00Z`, fractions, offsets; no
/// zone means UTC, as PyPI writes its upload times) into Unix seconds, with zt-core's parser.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    zt_core::time::parse_rfc3339(s).or_else(|| zt_core::time::parse_rfc3339(&format!("{s}Z")))
}

/// The Go module hash (`h1:`, `golang.org/x/mod/sumdb/dirhash.Hash1`) of a module zip's files,
/// base64 without the prefix: SHA-256 over the lines `hex(sha256(file))  name\n`, one per
/// file **in file-name order** (Go's `sort.Strings` over the names, byte order; sorting the
/// lines instead would order them by content hash and give another hash).
pub fn go_h1(entries: &[super::archive::Entry]) -> String {
    let mut files: Vec<&super::archive::Entry> = entries.iter().collect();
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut summary = String::new();
    for e in files {
        summary.push_str(&zt_core::Digest::sha256(&e.data).hex());
        summary.push_str("  ");
        summary.push_str(&e.path);
        summary.push('\n');
    }
    zt_core::b64::encode(zt_core::Digest::sha256(summary.as_bytes()).bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Regression: the lines were sorted instead of the file names, so a module whose files'
    /// content hashes are not in name order got a hash the `go` command never logs.
    #[test]
    fn go_h1_orders_by_file_name_as_dirhash_does() {
        let entry = |path: &str, data: &[u8]| super::super::archive::Entry {
            path: path.into(),
            data: data.to_vec(),
            executable: false,
        };
        // sha256("b") = 3e23…, sha256("a") = ca97…: name order and line order differ.
        let files = [entry("m@v1/z.go", b"b"), entry("m@v1/a.go", b"a")];
        let summary = format!(
            "{}  m@v1/a.go\n{}  m@v1/z.go\n",
            zt_core::Digest::sha256(b"a").hex(),
            zt_core::Digest::sha256(b"b").hex()
        );
        assert_eq!(
            go_h1(&files),
            zt_core::b64::encode(zt_core::Digest::sha256(summary.as_bytes()).bytes())
        );
        let reversed: Vec<_> = files.iter().rev().cloned().collect();
        assert_eq!(go_h1(&files), go_h1(&reversed));
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.123456Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2023-13-01T00:00:00Z"), None);
    }

    #[test]
    fn index_documents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("se");
        fs_err::write(&p, "{\"name\":\"serde\",\"vers\":\"1.0.0\",\"cksum\":\"AB\",\"yanked\":false}\n{\"name\":\"serde\",\"vers\":\"1.0.1\",\"cksum\":\"cd\",\"pubtime\":\"2024-01-01T00:00:00Z\",\"yanked\":true}\n").unwrap();
        let e = from_index(&p, Ecosystem::CratesIo, "serde", "1.0.1", "x").unwrap();
        assert_eq!(
            (e.line, e.hashes[0].value.as_str(), e.yanked),
            (Some(2), "cd", true)
        );
        assert_eq!(e.published, Some(1_704_067_200));
        assert!(from_index(&p, Ecosystem::CratesIo, "serde", "9.9.9", "x").is_err());

        let p = dir.path().join("npm.json");
        fs_err::write(&p, r#"{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dist":{"integrity":"sha512-AAAA"}}},"time":{"1.0.0":"2020-01-01T00:00:00.000Z"}}"#).unwrap();
        let e = from_index(&p, Ecosystem::Npm, "x", "1.0.0", "x-1.0.0.tgz").unwrap();
        assert_eq!(e.hashes[0].algorithm, "sha512");
        assert_eq!(e.published, Some(1_577_836_800));

        let p = dir.path().join("pypi.json");
        fs_err::write(&p, r#"{"info":{"version":"2.0"},"urls":[{"filename":"x-2.0.tar.gz","digests":{"sha256":"AA"},"upload_time_iso_8601":"2020-01-01T00:00:00.000000Z"},{"filename":"x-2.0-py3-none-any.whl","digests":{"sha256":"bb"}}]}"#).unwrap();
        let e = from_index(&p, Ecosystem::PyPI, "x", "2.0", "x-2.0.tar.gz").unwrap();
        assert_eq!(e.hashes.len(), 1);
        assert_eq!(e.hashes[0].value, "aa");
        let e = from_index(&p, Ecosystem::PyPI, "x", "2.0", "renamed.tgz").unwrap();
        assert_eq!(e.hashes.len(), 2);

        let p = dir.path().join("gem.json");
        fs_err::write(&p, r#"[{"number":"1.2.3","platform":"ruby","sha":"EE","created_at":"2021-01-01T00:00:00.000Z"}]"#).unwrap();
        let e = from_index(&p, Ecosystem::RubyGems, "g", "1.2.3", "g-1.2.3.gem").unwrap();
        assert_eq!(e.hashes[0].value, "ee");
        fs_err::write(&p, "not json").unwrap();
        assert!(from_index(&p, Ecosystem::RubyGems, "g", "1.2.3", "g.gem").is_err());
    }
}
