//! The OSV data model (<https://ossf.github.io/osv-schema/>), the part zt reads: ids and
//! aliases, timestamps, withdrawal, severity, and `affected[]` with its ranges and versions.
//! Records are read from JSON or YAML and checked field by field, so that a bad record is
//! reported with the field at fault.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Error};

/// One advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The record's id (`GHSA-…`, `PYSEC-…`, `RUSTSEC-…`, `MAL-…`).
    pub id: String,
    /// When the record last changed (RFC 3339).
    pub modified: String,
    /// When the record was first published (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When the record was withdrawn: a withdrawn advisory never applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids of related but different vulnerabilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// A one-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The full description (kept out of the store's index, read only to show a record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity vectors of the whole record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// The affected packages.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Source-specific data (GHSA's `severity` lives here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
    /// What kind of advisory this is (zt's field; derived on import, not read from OSV).
    #[serde(default, rename = "x_zt_kind")]
    pub kind: AdvisoryKind,
    /// Where the record came from (zt's field: `osv` or `rustsec`).
    #[serde(
        default,
        rename = "x_zt_source",
        skip_serializing_if = "String::is_empty"
    )]
    pub source: String,
}

/// What kind of advisory a record is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    /// A vulnerability.
    #[default]
    Vulnerability,
    /// A package published as malware (`MAL-` records).
    Malicious,
    /// RustSec informational: the crate is unmaintained.
    Unmaintained,
    /// RustSec informational: the crate is unsound.
    Unsound,
    /// RustSec informational: a notice.
    Notice,
}

impl AdvisoryKind {
    /// Whether this is informational rather than a vulnerability or malware.
    pub fn is_informational(self) -> bool {
        matches!(
            self,
            AdvisoryKind::Unmaintained | AdvisoryKind::Unsound | AdvisoryKind::Notice
        )
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            AdvisoryKind::Vulnerability => "vulnerability",
            AdvisoryKind::Malicious => "malicious",
            AdvisoryKind::Unmaintained => "unmaintained",
            AdvisoryKind::Unsound => "unsound",
            AdvisoryKind::Notice => "notice",
        }
    }
}

/// A severity entry: `{type: CVSS_V3, score: "CVSS:3.1/…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityEntry {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (or rating).
    pub score: String,
}

/// One affected package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Version ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Severity for this package only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityEntry>,
    /// Ecosystem-specific data (RustSec's affected functions live here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Source-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// A package as OSV names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// The OSV ecosystem (`PyPI`, `crates.io`, `Debian:12`).
    pub ecosystem: String,
    /// The package name as the ecosystem writes it.
    pub name: String,
    /// Its package URL, when the record gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A version range: events in the ordering named by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: RangeKind,
    /// The repository, for `GIT` ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events.
    pub events: Vec<Event>,
}

/// A range's ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// SemVer 2.0.0 ordering.
    #[serde(rename = "SEMVER")]
    Semver,
    /// The package ecosystem's own ordering.
    #[serde(rename = "ECOSYSTEM")]
    Ecosystem,
    /// Commit hashes in a git repository (cannot be evaluated offline from versions).
    #[serde(rename = "GIT")]
    Git,
}

/// One range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "EventRepr", into = "EventRepr")]
pub enum Event {
    /// Versions from here on are affected (inclusive; `0` means from the start).
    Introduced(String),
    /// Versions from here on are not affected (exclusive end).
    Fixed(String),
    /// The last affected version (inclusive end).
    LastAffected(String),
    /// An upper limit on the range (exclusive).
    Limit(String),
}

/// An event as OSV writes it: an object with exactly one of four keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
}

impl TryFrom<EventRepr> for Event {
    type Error = String;
    fn try_from(r: EventRepr) -> Result<Self, Self::Error> {
        match (r.introduced, r.fixed, r.last_affected, r.limit) {
            (Some(v), None, None, None) => Ok(Event::Introduced(v)),
            (None, Some(v), None, None) => Ok(Event::Fixed(v)),
            (None, None, Some(v), None) => Ok(Event::LastAffected(v)),
            (None, None, None, Some(v)) => Ok(Event::Limit(v)),
            _ => Err(
                "an event must have exactly one of `introduced`, `fixed`, `last_affected`, `limit`"
                    .into(),
            ),
        }
    }
}

impl From<Event> for EventRepr {
    fn from(e: Event) -> Self {
        let mut r = EventRepr::default();
        match e {
            Event::Introduced(v) => r.introduced = Some(v),
            Event::Fixed(v) => r.fixed = Some(v),
            Event::LastAffected(v) => r.last_affected = Some(v),
            Event::Limit(v) => r.limit = Some(v),
        }
        r
    }
}

impl Event {
    /// The event's version.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    /// The event's OSV name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Introduced(_) => "introduced",
            Event::Fixed(_) => "fixed",
            Event::LastAffected(_) => "last_affected",
            Event::Limit(_) => "limit",
        }
    }
}

/// Reads one OSV record from JSON or YAML text (`yaml` chooses), checking it.
pub fn parse_record(text: &str, yaml: bool, file: &Path) -> Result<Advisory, Error> {
    let bad = |field: String, reason: String| Error::Record {
        file: file.to_owned(),
        field,
        reason,
    };
    let field_error = |path: String, message: String| {
        // serde_yaml puts the path in front of its message too
        let message = message
            .strip_prefix(&format!("{path}: "))
            .map(str::to_owned)
            .unwrap_or(message);
        let path = if path == "." {
            "(record)".to_owned()
        } else {
            path
        };
        bad(path, message)
    };
    let mut adv: Advisory = if yaml {
        let de = serde_yaml::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| field_error(e.path().to_string(), e.inner().to_string()))?
    } else {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de)
            .map_err(|e| field_error(e.path().to_string(), e.inner().to_string()))?
    };
    adv.kind = if adv.id.starts_with("MAL-") {
        AdvisoryKind::Malicious
    } else {
        AdvisoryKind::Vulnerability
    };
    adv.source = "osv".into();
    validate(&adv).map_err(|(field, reason)| bad(field, reason))?;
    Ok(adv)
}

/// Checks what the matcher relies on: an id, RFC 3339 timestamps, a package per affected
/// entry, ranges that start with `introduced`, and versions valid in their ecosystem.
pub fn validate(adv: &Advisory) -> Result<(), (String, String)> {
    if adv.id.trim().is_empty() {
        return Err(("id".into(), "is empty".into()));
    }
    for (field, value) in [
        ("modified", Some(&adv.modified)),
        ("published", adv.published.as_ref()),
        ("withdrawn", adv.withdrawn.as_ref()),
    ] {
        if let Some(v) = value
            && !looks_like_rfc3339(v)
        {
            return Err((field.into(), format!("`{v}` is not an RFC 3339 timestamp")));
        }
    }
    for (i, a) in adv.affected.iter().enumerate() {
        // An entry without a package is valid OSV (e.g. GIT ranges of a repository): it can
        // never match a package URL, but its ranges are still checked.
        if let Some(pkg) = &a.package
            && (pkg.name.trim().is_empty() || pkg.ecosystem.trim().is_empty())
        {
            return Err((
                format!("affected[{i}].package"),
                "needs an ecosystem and a name".into(),
            ));
        }
        let eco = a
            .package
            .as_ref()
            .map_or(Ecosystem::Other(String::new()), |p| {
                Ecosystem::parse(&p.ecosystem)
            });
        for (j, r) in a.ranges.iter().enumerate() {
            let at = format!("affected[{i}].ranges[{j}]");
            if r.events.is_empty() {
                return Err((format!("{at}.events"), "is empty".into()));
            }
            if !r.events.iter().any(|e| matches!(e, Event::Introduced(_))) {
                return Err((format!("{at}.events"), "has no `introduced` event".into()));
            }
            if r.kind == RangeKind::Git {
                if r.repo.as_deref().is_none_or(str::is_empty) {
                    return Err((format!("{at}.repo"), "a GIT range needs a repo".into()));
                }
                continue;
            }
            for (k, e) in r.events.iter().enumerate() {
                let v = e.version();
                if matches!(e, Event::Introduced(_)) && v == "0" {
                    continue;
                }
                let check = if r.kind == RangeKind::Semver {
                    Ecosystem::CratesIo.validate(v)
                } else if eco.is_supported() {
                    eco.validate(v)
                } else {
                    Ok(())
                };
                if let Err(err) = check {
                    return Err((format!("{at}.events[{k}].{}", e.name()), err.to_string()));
                }
            }
        }
        if eco.is_supported() {
            for (k, v) in a.versions.iter().enumerate() {
                if let Err(err) = eco.validate(v) {
                    return Err((format!("affected[{i}].versions[{k}]"), err.to_string()));
                }
            }
        }
    }
    Ok(())
}

/// A cheap shape check for `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn looks_like_rfc3339(s: &str) -> bool {
    parse_rfc3339_seconds(s).is_some()
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (offsets applied): zt-core's parser.
pub fn parse_rfc3339_seconds(s: &str) -> Option<i64> {
    zt_core::time::parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_seconds("2021-09-26T23:32:08.989778Z"),
            Some(1_632_699_128)
        );
        assert_eq!(parse_rfc3339_seconds("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339_seconds("2021-09-26"), None);
        assert_eq!(parse_rfc3339_seconds("2021-13-26T00:00:00Z"), None);
    }
}
