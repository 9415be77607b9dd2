//! Intake on demand (`[deps.on_demand]`): a registry request to `zt serve` for a package the
//! mirror lacks takes it in from the upstream registry — but only a version someone approved
//! (`zt deps request` + `zt deps approve`), only through the whole of intake (checksum against
//! the upstream index entry, archive safety, malware heuristics, quarantine age, provenance
//! policy), and it is served only if admitted. Everything else stays refused with its reason.
//!
//! The three ecosystems share one shape: read the upstream's document for the package
//! ([`upstream`] parses it, distrusting every field), pick the newest approved version, check
//! the archive's URL is on an origin the upstream vouches for, download it (bounded, with a
//! timeout), check its digest against the document **before** intake sees it, then run intake
//! with the document's entry as the index.
//!
//! | ecosystem | upstream document | archive | digest checked |
//! |---|---|---|---|
//! | crates.io | the sparse-index file | `config.json` `dl` | `cksum` (SHA-256) |
//! | npm | the full packument (`/NAME`) | `dist.tarball`, same origin as the registry | `dist.integrity` (SHA-512) |
//! | PyPI | the JSON API (`/pypi/NAME/json`) | one file: the pure-Python wheel, else the sdist | `digests.sha256` |

pub mod upstream;

use std::path::Path;
use std::time::Duration;

use zt_core::Workspace;
use zt_deps::Ecosystem;

use crate::Error;
use crate::intake::{IntakeRequest, intake};
use upstream::{Candidate, Offer};

/// What an on-demand intake came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDemand {
    /// No upstream is configured for the ecosystem.
    Off,
    /// No version upstream has an approved request: nothing was fetched.
    NotApproved,
    /// Intake decided: the version, and `admitted` / `held` / `rejected` with its reasons.
    Decided {
        /// The version taken in.
        version: String,
        /// `admitted`, `held` or `rejected`.
        verdict: String,
        /// Intake's reasons (`[rule] message`).
        reasons: Vec<String>,
    },
}

/// Upstream documents (index files, packuments, JSON API answers) larger than this are refused.
const MAX_DOCUMENT: u64 = 64 << 20;
/// Archives larger than this are refused.
const MAX_ARCHIVE: u64 = 256 << 20;
/// Time allowed for one document, and for one archive.
const DOCUMENT_TIMEOUT: Duration = Duration::from_secs(60);
const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(300);

const BY_HAND: &str = "check `[deps.on_demand]` in `zt.toml` and that the server reaches the registry, or take the package in by hand with `zt deps intake NAME@VERSION --ecosystem E --archive FILE --index DOC`";

/// GETs `url` (`None` for 404/410), reading at most `limit` bytes.
fn get(url: &str, limit: u64, timeout: Duration, accept: &str) -> Result<Option<Vec<u8>>, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::Input {
        what: format!("the upstream registry could not be read ({url}: {e})"),
        help: BY_HAND.into(),
    };
    let agent = zt_sign::upstream::http_agent(timeout);
    let mut reply = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(|e| fail(&e))?;
    match reply.status().as_u16() {
        200 => {}
        404 | 410 => return Ok(None),
        s => return Err(fail(&format!("HTTP {s}"))),
    }
    let body = reply
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| fail(&format!("{e} (at most {limit} bytes are read)")))?;
    Ok(Some(body))
}

fn document(url: &str, accept: &str) -> Result<Option<Vec<u8>>, Error> {
    get(url, MAX_DOCUMENT, DOCUMENT_TIMEOUT, accept)
}

/// Whether any approved request names `name` (the request files, unverified): without one,
/// nothing upstream is even asked for.
fn requested(ws: &Workspace, ecosystem: Ecosystem, name: &str) -> Result<bool, Error> {
    Ok(zt_deps::intake::requests::Requests::in_repo(ws.root())
        .list()?
        .iter()
        .any(|r| r.covers(ecosystem, name, r.version.as_deref().unwrap_or_default())))
}

/// The newest candidate with an approved request. A pre-release is taken only when a request
/// names that exact version (a request without a version approves releases, not betas).
fn approved(
    ws: &Workspace,
    ecosystem: Ecosystem,
    name: &str,
    mut candidates: Vec<Candidate>,
) -> Result<Option<String>, Error> {
    // The unsigned request files narrow the versions down; only a signed approval counts.
    let requests = zt_deps::intake::requests::Requests::in_repo(ws.root()).list()?;
    candidates.sort_by(|a, b| zt_deps::registry::compare_versions(&b.version, &a.version));
    for c in candidates {
        let named = |r: &zt_deps::intake::requests::Request| {
            r.version.as_deref() == Some(c.version.as_str())
        };
        if !requests
            .iter()
            .any(|r| r.covers(ecosystem, name, &c.version) && (!c.prerelease || named(r)))
        {
            continue;
        }
        if let Some(a) = crate::approvals::approved_for(ws.root(), ecosystem, name, &c.version)?
            && (!c.prerelease || named(&a.request))
        {
            return Ok(Some(c.version));
        }
    }
    Ok(None)
}

/// Downloads the offered archive from an origin in `origins`, checks its digest, and runs it
/// through intake with the offer's index document.
fn take(
    ws: &Workspace,
    ecosystem: Ecosystem,
    name: &str,
    offer: &Offer,
    origins: &[String],
) -> Result<OnDemand, Error> {
    upstream::check_origin(&offer.url, origins)?;
    let Some(archive) = get(
        &offer.url,
        MAX_ARCHIVE,
        ARCHIVE_TIMEOUT,
        "application/octet-stream",
    )?
    else {
        return Err(Error::Input {
            what: format!(
                "the upstream registry lists `{name}@{}`, but {} is not there",
                offer.version, offer.url
            ),
            help: BY_HAND.into(),
        });
    };
    offer.check(&archive)?;
    let tmp = tempfile::tempdir()?;
    let archive_path = tmp.path().join(&offer.file);
    fs_err::write(&archive_path, &archive)?;
    let index_path = tmp.path().join("upstream-index");
    fs_err::write(&index_path, &offer.index)?;
    decide(
        ws,
        ecosystem,
        name,
        &offer.version,
        &archive_path,
        &index_path,
    )
}

/// Takes crate `name` in from the upstream sparse index `index` if a version of it was
/// approved: the newest approved, non-yanked version is downloaded (from the index's
/// `config.json` `dl` template, as Cargo expands it), checked against its `cksum`, written
/// with its index line, and run through [`intake`].
pub fn cargo(ws: &Workspace, index: &str, name: &str) -> Result<OnDemand, Error> {
    let Some(rel) = zt_deps::registry::cargo_index_path(name) else {
        return Ok(OnDemand::NotApproved);
    };
    if !requested(ws, Ecosystem::CratesIo, name)? {
        return Ok(OnDemand::NotApproved);
    }
    let index = index.trim_end_matches('/');
    let Some(file) = document(&format!("{index}/{rel}"), "text/plain")? else {
        return Ok(OnDemand::NotApproved);
    };
    let lines = upstream::cargo_versions(&file, name);
    let candidates = lines.iter().map(|(c, _)| c.clone()).collect();
    let Some(version) = approved(ws, Ecosystem::CratesIo, name, candidates)? else {
        return Ok(OnDemand::NotApproved);
    };
    let Some((_, line)) = lines.iter().find(|(c, _)| c.version == version) else {
        return Ok(OnDemand::NotApproved);
    };
    let config: serde_json::Value = document(&format!("{index}/config.json"), "application/json")?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let dl = config["dl"]
        .as_str()
        .unwrap_or("https://static.crates.io/crates");
    let offer = upstream::cargo_offer(name, &rel, line, dl)?;
    // The registry's own `config.json` names where its crates are: that origin only.
    let origins: Vec<String> = upstream::origin(dl).into_iter().collect();
    take(ws, Ecosystem::CratesIo, name, &offer, &origins)
}

/// Takes npm package `name` in from the upstream registry `registry` if a version was
/// approved: the newest approved, non-deprecated version's `dist.tarball` (on the registry's
/// own origin) is downloaded, checked against its SHA-512 `dist.integrity`, and run through
/// [`intake`] with the packument's entry for that version.
pub fn npm(ws: &Workspace, registry: &str, name: &str) -> Result<OnDemand, Error> {
    if !upstream::npm_name_ok(name) || !requested(ws, Ecosystem::Npm, name)? {
        return Ok(OnDemand::NotApproved);
    }
    let registry = registry.trim_end_matches('/');
    // The full packument: the abbreviated one has no `time` (the quarantine age).
    let url = format!("{registry}/{}", name.replace('/', "%2f"));
    let origins: Vec<String> = upstream::origin(registry).into_iter().collect();
    from_listing(ws, Ecosystem::Npm, name, &url, &origins, |doc| {
        upstream::Packument::parse(doc, name, &url)
    })
}

/// Takes in the newest approved version the JSON document at `url` lists (see [`take`]).
fn from_listing<L: upstream::Listing>(
    ws: &Workspace,
    ecosystem: Ecosystem,
    name: &str,
    url: &str,
    origins: &[String],
    parse: impl FnOnce(&[u8]) -> Result<L, Error>,
) -> Result<OnDemand, Error> {
    let Some(doc) = document(url, "application/json")? else {
        return Ok(OnDemand::NotApproved);
    };
    let listing = parse(&doc)?;
    let Some(version) = approved(ws, ecosystem, name, listing.candidates())? else {
        return Ok(OnDemand::NotApproved);
    };
    take(ws, ecosystem, name, &listing.offer(&version)?, origins)
}

/// Takes PyPI project `name` in from the upstream `index` (its JSON API) if a version was
/// approved: of the newest approved version with files, the pure-Python wheel (else the
/// sdist) is downloaded from `index`'s origin or `files`, checked against its SHA-256, and
/// run through [`intake`] with the JSON API's entry for that file.
pub fn pypi(ws: &Workspace, index: &str, files: &str, name: &str) -> Result<OnDemand, Error> {
    if !upstream::pypi_name_ok(name) || !requested(ws, Ecosystem::PyPI, name)? {
        return Ok(OnDemand::NotApproved);
    }
    // Taken in under its PEP 503 name, as the mirror's simple index lists it.
    let name = &zt_deps::registry::pep503(name);
    let index = index.trim_end_matches('/');
    let url = format!("{index}/pypi/{name}/json");
    let origins: Vec<String> = [index, files]
        .iter()
        .filter_map(|u| upstream::origin(u))
        .collect();
    from_listing(ws, Ecosystem::PyPI, name, &url, &origins, |doc| {
        upstream::Project::parse(doc, name, &url)
    })
}

fn decide(
    ws: &Workspace,
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    archive: &Path,
    index: &Path,
) -> Result<OnDemand, Error> {
    // Install-time code runs in the build sandbox, which is started with clone3 and must not be
    // started from a process with other threads running (`zt serve`'s): a thread caught in the
    // allocator at that moment would leave the sandbox's child waiting forever. A package whose
    // ecosystem `[deps.malware] dynamic` names is therefore held here, not taken in without the
    // check it requires; `zt deps intake --dynamic` takes it in.
    let malware = ws.config()?.deps.malware.clone().unwrap_or_default();
    if crate::intake::dynamic_configured(&malware.dynamic, ecosystem)? {
        return Ok(OnDemand::Decided {
            version: version.into(),
            verdict: "held".into(),
            reasons: vec![format!(
                "[dynamic-required] `[deps.malware] dynamic` runs {}'s install-time code in the \
                 sandbox, which the server does not start on demand; take it in with `zt deps \
                 intake {name}@{version} --ecosystem {} --dynamic`",
                ecosystem.name(),
                ecosystem.name()
            )],
        });
    }
    let outcome = intake(
        ws,
        &IntakeRequest {
            ecosystem,
            name: name.into(),
            version: version.into(),
            archive: archive.into(),
            lockfile: None,
            index: Some(index.into()),
            min_age_hours: None,
            allow_unknown_age: false,
            provenance: None,
            dynamic: false,
        },
    )?;
    let d = &outcome.decision;
    Ok(OnDemand::Decided {
        version: version.into(),
        verdict: serde_json::to_value(d.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        reasons: d
            .reasons
            .iter()
            .map(|r| format!("[{}] {}", r.rule, r.message))
            .collect(),
    })
}
