//! Intake on demand (`[deps.on_demand]`): a registry request to `zt serve` for a crate the
//! mirror lacks takes it in from the upstream registry — but only a version someone approved
//! (`zt deps request` + `zt deps approve`), only through the whole of intake (checksum against
//! the upstream index entry, archive safety, malware heuristics, quarantine age, provenance
//! policy), and it is served only if admitted. Everything else stays refused with its reason.

use std::path::Path;

use zt_core::Workspace;
use zt_deps::Ecosystem;

use crate::Error;
use crate::intake::{IntakeRequest, intake};

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

/// Upstream documents larger than this are refused.
const MAX_UPSTREAM: u64 = 64 << 20;

fn get(agent: &ureq::Agent, url: &str) -> Result<Option<Vec<u8>>, Error> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Input {
        what: format!("the upstream registry could not be read ({url}: {e})"),
        help: "check `[deps.on_demand]` in `zt.toml` and that the server reaches the registry, or take the package in by hand with `zt deps intake`".into(),
    }
    };
    let mut reply = agent.get(url).call().map_err(|e| fail(&e))?;
    match reply.status().as_u16() {
        200 => {}
        404 | 410 => return Ok(None),
        s => return Err(fail(&format!("HTTP {s}"))),
    }
    let body = reply
        .body_mut()
        .with_config()
        .limit(MAX_UPSTREAM)
        .read_to_vec()
        .map_err(|e| fail(&e))?;
    Ok(Some(body))
}

/// Takes crate `name` in from the upstream sparse index `index` if a version of it was
/// approved: the newest approved, non-yanked version is downloaded (from the index's
/// `config.json` `dl` template, as Cargo expands it), written with its index line, and run
/// through [`intake`].
pub fn cargo(ws: &Workspace, index: &str, name: &str) -> Result<OnDemand, Error> {
    let Some(rel) = zt_deps::registry::cargo_index_path(name) else {
        return Ok(OnDemand::NotApproved);
    };
    let index = index.trim_end_matches('/');
    let agent = zt_sign::upstream::http_agent(std::time::Duration::from_secs(60));
    let Some(file) = get(&agent, &format!("{index}/{rel}"))? else {
        return Ok(OnDemand::NotApproved);
    };
    let text = String::from_utf8_lossy(&file).into_owned();
    let mut lines: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            (v["yanked"].as_bool() != Some(true) && v["name"].as_str()?.eq_ignore_ascii_case(name))
                .then(|| Some((v["vers"].as_str()?.to_owned(), l.to_owned())))?
        })
        .collect();
    lines.sort_by(|a, b| zt_deps::registry::compare_versions(&b.0, &a.0));
    let mut chosen = None;
    for (version, line) in lines {
        if crate::approvals::approved_for(ws.root(), Ecosystem::CratesIo, name, &version)?.is_some()
        {
            chosen = Some((version, line));
            break;
        }
    }
    let Some((version, line)) = chosen else {
        return Ok(OnDemand::NotApproved);
    };
    let config: serde_json::Value = get(&agent, &format!("{index}/config.json"))?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let dl = config["dl"]
        .as_str()
        .unwrap_or("https://static.crates.io/crates");
    let url = if [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ]
    .iter()
    .any(|m| dl.contains(m))
    {
        let prefix = rel.rsplit_once('/').map(|(p, _)| p).unwrap_or_default();
        dl.replace("{crate}", name)
            .replace("{version}", &version)
            .replace("{prefix}", prefix)
            .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
    } else {
        // Cargo's rule for a template without markers.
        format!("{dl}/{name}/{version}/download")
    };
    let Some(archive) = get(&agent, &url)? else {
        return Err(Error::Input {
            what: format!("the upstream index lists `{name}@{version}`, but {url} is not there"),
            help: "take the package in by hand with `zt deps intake`".into(),
        });
    };
    let tmp = tempfile::tempdir()?;
    let archive_path = tmp.path().join(format!("{name}-{version}.crate"));
    fs_err::write(&archive_path, &archive)?;
    let index_path = tmp.path().join(name);
    fs_err::write(&index_path, format!("{line}\n"))?;
    decide(
        ws,
        Ecosystem::CratesIo,
        name,
        &version,
        &archive_path,
        &index_path,
    )
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
