use zt_vuln::Ecosystem;
use zt_vuln::store::{self, Store};
use zt_vuln::version::ordering_symbol;
use zt_vuln::waiver::{self, WaiverPolicy};

use crate::cli::{DbCommand, JustificationArg, VulnArgs, VulnCommand, WaiveArgs};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

use zt_core::time::{now, rfc3339};

pub(crate) fn run(args: VulnArgs, printer: &Printer) -> Result<Status, CliError> {
    // The store is the workspace's unless named: the repository of `--repo` where the command
    // has one, else the one containing the current directory.
    let repo = match &args.command {
        VulnCommand::Scan { repo, .. } | VulnCommand::Watch { repo, .. } => repo.clone(),
        VulnCommand::Waive(w) => w.repo.clone(),
        _ => std::path::PathBuf::from("."),
    };
    let store_dir = match args.store {
        Some(dir) => dir,
        None => zt_core::Workspace::discover(&repo)?.layout().vuln_db(),
    };
    match args.command {
        VulnCommand::VersionCmp { ecosystem, a, b } => {
            let eco = Ecosystem::parse(&ecosystem);
            let order = eco.compare(&a, &b)?;
            let symbol = ordering_symbol(order);
            if printer.json {
                printer.json(&serde_json::json!({
                    "ecosystem": eco.name(), "a": a, "b": b, "order": symbol,
                }));
            } else {
                printer.out(symbol);
            }
            Ok(Status::Success)
        }
        VulnCommand::Cvss { vector } => {
            let s = zt_vuln::cvss::score(&vector)?;
            if printer.json {
                printer.json(&serde_json::json!({
                    "vector": vector, "version": s.version, "score": s.score, "severity": s.severity,
                }));
            } else {
                printer.out(format!("{:.1} {}", s.score, s.severity));
            }
            Ok(Status::Success)
        }
        VulnCommand::Explain { id, purl } => explain(&store_dir, &id, &purl, printer),
        VulnCommand::Watch {
            repo,
            state,
            fail_on,
        } => {
            let store = Store::open(&store_dir)?;
            let ws = crate::commands::workspace(&repo, printer)?;
            let ledger = zt_pipeline::ledger::open_existing(&ws)?.ok_or_else(|| {
                CliError::input(
                    format!(
                        "no ledger at `{}`: nothing has been recorded yet",
                        ws.layout().ledger().display()
                    ),
                    "record SBOMs first with `zt pipeline run` or `zt sbom --attest`",
                )
            })?;
            let (sboms, problems) = zt_vuln::watch::recorded_sboms(&*ledger)?;
            for p in &problems {
                printer.warn(format!("skipped: {p}"));
            }
            let state = state.unwrap_or_else(|| store_dir.join("watch.json"));
            let report = zt_vuln::watch::watch(&store, &sboms, &state, now())?;
            crate::commands::watch::notify_new_criticals(&repo, &report, printer)?;
            if printer.json {
                printer.json(&serde_json::to_value(&report).unwrap_or_default());
            } else {
                for n in &report.new {
                    let f = &n.finding;
                    printer.out(format!(
                        "NEW {:<8} {} {}@{} in SBOM {} ({})",
                        f.severity.name().to_uppercase(),
                        f.id,
                        f.name,
                        f.version,
                        n.sbom.get(..12).unwrap_or(&n.sbom),
                        if n.subjects.is_empty() {
                            "no subject".to_owned()
                        } else {
                            n.subjects.join(", ")
                        }
                    ));
                }
                for r in &report.resolved {
                    printer.info(format!("resolved: {r}"));
                }
                printer.out(format!(
                    "{} new finding(s) in {} SBOM(s) ({} seen for the first time); {} finding(s) in all, {} resolved",
                    report.new.len(),
                    report.sboms,
                    report.first_seen.len(),
                    report.total,
                    report.resolved.len()
                ));
            }
            let blocking = report
                .new
                .iter()
                .filter(|n| n.finding.severity >= fail_on)
                .count();
            if blocking > 0 {
                printer.err(format!(
                    "{blocking} new findings at or above {fail_on} severity (`--fail-on {}`)",
                    fail_on.name().to_lowercase()
                ));
                return Ok(Status::Failure);
            }
            Ok(Status::Success)
        }
        VulnCommand::Waive(args) => waive(args, printer),
        VulnCommand::Vex {
            waivers,
            author,
            timestamp,
            max_waiver_days,
        } => {
            let policy = WaiverPolicy {
                max_days: max_waiver_days,
                warn_days: 0,
            };
            let text = fs_err::read_to_string(&waivers).map_err(zt_vuln::Error::from)?;
            let loaded = waiver::load(&text, &waivers, policy, now())?;
            let timestamp = timestamp.unwrap_or_else(|| rfc3339(now()));
            printer.json(&waiver::to_openvex(&loaded, &author, &timestamp));
            Ok(Status::Success)
        }
        VulnCommand::Scan {
            sbom,
            fail_on,
            waivers,
            max_waiver_days,
            waiver_warn_days,
            sarif,
            attest,
            subject,
            repo,
            json,
        } => {
            let subjects = zt_pipeline::subject::of_files(&repo, &subject)?;
            let outcome = zt_pipeline::vuln::scan(
                &repo,
                &zt_pipeline::vuln::ScanRequest {
                    sbom: sbom.clone(),
                    store: store_dir.clone(),
                    waivers: waivers.or_else(|| zt_pipeline::vuln::default_waivers(&repo)),
                    policy: WaiverPolicy {
                        max_days: max_waiver_days,
                        warn_days: waiver_warn_days,
                    },
                    subjects,
                },
                now(),
            )?;
            let zt_pipeline::vuln::ScanOutcome {
                report,
                waived,
                waivers: loaded,
                check,
                statement,
                ..
            } = outcome;
            let show = |ix: usize| {
                loaded
                    .iter()
                    .find(|w| w.index == ix)
                    .map_or(String::new(), |w| {
                        format!("waiver[{ix}] ({} on {})", w.waiver.id, w.waiver.purl)
                    })
            };
            for ix in &check.expiring_soon {
                printer.warn(format!(
                    "{} expires within {waiver_warn_days} days",
                    show(*ix)
                ));
            }
            for u in &report.unsupported_ranges {
                printer.warn(format!("not evaluated: {u}"));
            }
            for u in &report.unscanned {
                printer.warn(format!(
                    "not scanned: {} ({}): {}",
                    u.name, u.location, u.reason
                ));
            }
            if attest {
                let (path, index) = zt_pipeline::evidence::attest(
                    &zt_core::Workspace::open(&repo)?,
                    "vuln-scan",
                    &statement,
                )?;
                printer.info(format!(
                    "signed statement `{}` (log index {index}) recorded in the ledger",
                    path.display()
                ));
            }
            if sarif {
                printer.json(&zt_vuln::scan::to_sarif(
                    &report,
                    &sbom.display().to_string(),
                ));
            } else if printer.json || json {
                printer.json(&serde_json::json!({
                    "fail_on": fail_on, "report": report, "waived": waived, "waivers": check,
                }));
            } else {
                for f in &waived {
                    printer.out(format!(
                        "WAIVED   {} {}@{} ({})",
                        f.id, f.name, f.version, f.severity
                    ));
                }
                for f in &report.findings {
                    let fix = if f.fixed.is_empty() {
                        "no fix known".to_owned()
                    } else {
                        format!("fixed in {}", f.fixed.join(", "))
                    };
                    let score = f.score.map(|s| format!(" {s:.1}")).unwrap_or_default();
                    printer.out(format!(
                        "{:<8}{score} {} {}@{} {}: {}; {fix}",
                        f.severity.name().to_uppercase(),
                        f.id,
                        f.name,
                        f.version,
                        f.kind.name(),
                        f.summary.as_deref().unwrap_or("-"),
                    ));
                }
                let counts: Vec<String> = report
                    .counts
                    .iter()
                    .rev()
                    .map(|(s, n)| format!("{n} {}", s.name().to_lowercase()))
                    .collect();
                printer.out(format!(
                    "{} findings ({}) in {} of {} components; {} not scanned; {} waived",
                    report.findings.len(),
                    if counts.is_empty() {
                        "none".to_owned()
                    } else {
                        counts.join(", ")
                    },
                    report.scanned,
                    report.components,
                    report.unscanned.len(),
                    waived.len(),
                ));
            }
            let mut failed = false;
            for ix in &check.expired {
                printer.err(format!(
                    "{} has expired: renew it with a new approval or fix the finding",
                    show(*ix)
                ));
                failed = true;
            }
            for ix in &check.unused {
                printer.err(format!("{} matches no finding: remove it", show(*ix)));
                failed = true;
            }
            let blocking = report.at_or_above(fail_on);
            if blocking > 0 {
                printer.err(format!(
                    "{blocking} findings at or above {fail_on} severity (`--fail-on {}`)",
                    fail_on.name().to_lowercase()
                ));
                failed = true;
            }
            Ok(if failed {
                Status::Failure
            } else {
                Status::Success
            })
        }
        VulnCommand::Db {
            command: DbCommand::Import { paths },
        } => {
            let report = store::import(&store_dir, &paths, now())?;
            for e in &report.skipped {
                printer.warn(format!("skipped: {e}"));
            }
            if printer.json {
                printer.json(&serde_json::to_value(&report).unwrap_or_default());
            } else {
                printer.out(format!(
                    "imported {} records: {} added, {} updated, {} unchanged, {} skipped; {} in `{}`",
                    report.files,
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.skipped.len(),
                    report.total,
                    store_dir.display()
                ));
            }
            Ok(Status::Success)
        }
        VulnCommand::Db {
            command: DbCommand::Status { max_age_days },
        } => {
            let store = Store::open(&store_dir)?;
            let m = store.manifest();
            let now = now();
            // The same rule as the `vuln.stale-database` policy: the age of the advisory data
            // (newest `modified`), not of the import, to the second.
            let age_days = m.age_days(now);
            let stale = max_age_days.is_some_and(|max| m.is_stale(now, max));
            if printer.json {
                printer.json(&serde_json::json!({
                    "store": store_dir,
                    "manifest": m,
                    "newest_age_days": age_days,
                    "updated": m.data_time().map(rfc3339),
                    "max_age_days": max_age_days,
                    "stale": stale,
                }));
            } else {
                printer.out(format!(
                    "{} records ({} withdrawn) in `{}`",
                    m.records,
                    m.withdrawn,
                    store_dir.display()
                ));
                match (m.data_time(), age_days) {
                    (Some(t), Some(a)) => printer.out(format!(
                        "newest record modified {} ({a} days ago); imported {}",
                        rfc3339(t),
                        rfc3339(m.imported_at)
                    )),
                    _ => printer.out("no record carries a modification time"),
                }
                printer.out(format!(
                    "{:<12} {:>8} {:>9}",
                    "ecosystem", "records", "packages"
                ));
                for (name, e) in &m.ecosystems {
                    printer.out(format!("{name:<12} {:>8} {:>9}", e.records, e.packages));
                }
                let join = |map: &std::collections::BTreeMap<String, usize>| {
                    map.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                printer.out(format!("sources: {}", join(&m.sources)));
                printer.out(format!("kinds: {}", join(&m.kinds)));
            }
            if stale {
                let max = max_age_days.unwrap_or(0);
                return Err(CliError::rejected(
                    match age_days {
                        Some(a) => format!(
                            "the vulnerability database is {} days old, over the maximum of {max} days",
                            if a > max {
                                a.to_string()
                            } else {
                                format!("more than {max}")
                            }
                        ),
                        None => "the vulnerability database has no dated record".into(),
                    },
                    "import a fresh copy of the advisory databases with `zt vuln db import PATH`",
                ));
            }
            Ok(Status::Success)
        }
    }
}

fn waive(args: WaiveArgs, printer: &Printer) -> Result<Status, CliError> {
    use zt_vuln::waiver::{Justification, VersionRange, Waiver};
    let justification = match args.justification {
        JustificationArg::ComponentNotPresent => Justification::ComponentNotPresent,
        JustificationArg::VulnerableCodeNotPresent => Justification::VulnerableCodeNotPresent,
        JustificationArg::VulnerableCodeNotInExecutePath => {
            Justification::VulnerableCodeNotInExecutePath
        }
        JustificationArg::VulnerableCodeCannotBeControlledByAdversary => {
            Justification::VulnerableCodeCannotBeControlledByAdversary
        }
        JustificationArg::InlineMitigationsAlreadyExist => {
            Justification::InlineMitigationsAlreadyExist
        }
    };
    let file = args
        .waivers
        .unwrap_or_else(|| args.repo.join(waiver::DEFAULT_FILE));
    let report = zt_pipeline::vuln::waive(
        &zt_pipeline::vuln::WaiveRequest {
            file,
            waiver: Waiver {
                id: args.id,
                purl: args.purl,
                versions: args.introduced.map(|introduced| VersionRange {
                    introduced,
                    fixed: args.fixed,
                    last_affected: args.last_affected,
                }),
                justification,
                statement: args.statement,
                compensating_controls: args.compensating_controls,
                owner: args.owner,
                approver: args.approver,
                expires: args.expires,
            },
            policy: WaiverPolicy {
                max_days: args.max_waiver_days,
                warn_days: 0,
            },
        },
        now(),
    )?;
    if printer.json {
        printer.json(&serde_json::json!({
            "file": report.file,
            "index": report.index,
            "expires_at": rfc3339(report.expires_at),
        }));
    } else {
        printer.out(format!(
            "recorded waiver[{}] in `{}`, in force until {}",
            report.index,
            report.file.display(),
            rfc3339(report.expires_at)
        ));
        printer.info(
            "commit the file; `zt vuln scan` and `zt pipeline run` apply it until it expires",
        );
    }
    Ok(Status::Success)
}

fn explain(
    store_dir: &std::path::Path,
    id: &str,
    purl: &str,
    printer: &Printer,
) -> Result<Status, CliError> {
    use zt_vuln::matching::RangeResult;
    let purl: zt_vuln::purl::Purl = purl.parse()?;
    let Some(eco) = Ecosystem::of_purl(&purl) else {
        return Err(CliError::input(
            format!("purl type `{}` has no OSV ecosystem zt can order", purl.ty),
            "use a purl of type cargo, npm, golang, hex, pypi, maven, gem, nuget, deb, apk, composer, pub, hackage, cran or rpm",
        ));
    };
    let Some(version) = purl.version.clone() else {
        return Err(CliError::input(
            format!("`{purl}` has no version"),
            "add the version: `pkg:TYPE/NAME@VERSION`",
        ));
    };
    let store = Store::open(store_dir)?;
    let adv = store.get(id)?;
    let name = purl.osv_name();
    let ev = zt_vuln::matching::evaluate(&adv, &eco, &name, &version)?;
    if printer.json {
        printer.json(&serde_json::json!({ "purl": purl.to_string(), "ecosystem": eco.name(), "name": name, "version": version, "kind": adv.kind, "evaluation": ev }));
        return Ok(Status::Success);
    }
    let alias = if adv.id == id {
        String::new()
    } else {
        format!(" (alias {id})")
    };
    printer.out(format!(
        "{}{alias} [{}] against {eco} {name} {version}",
        adv.id,
        adv.kind.name()
    ));
    if let Some(w) = &adv.withdrawn {
        printer.out(format!("  withdrawn {w}: the advisory does not apply"));
    }
    if ev.entries.is_empty() {
        printer.out(format!(
            "  no affected[] entry names {eco} package `{name}`"
        ));
    }
    let reqs = |key: &str| -> Vec<String> {
        adv.database_specific
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    if adv.source == "rustsec" {
        printer.out(format!(
            "  RustSec requirements: patched [{}], unaffected [{}]; affected iff matching none (as the SEMVER events below)",
            reqs("patched").join(", "),
            reqs("unaffected").join(", ")
        ));
    }
    for e in &ev.entries {
        printer.out(format!("  affected[{}] {}", e.index, e.package));
        if let Some(v) = &e.listed {
            printer.out(format!("    versions[] lists {v}: affected"));
        }
        for r in &e.ranges {
            let events: Vec<String> = r
                .sorted_events
                .iter()
                .map(|x| format!("{} {}", x.name(), x.version()))
                .collect();
            printer.out(format!(
                "    range[{}] {}: {}",
                r.index,
                r.kind,
                events.join(", ")
            ));
            let why = match &r.result {
                RangeResult::Affected { by } => format!(
                    "AFFECTED: {version} is at or above {} {} and no later fixed/last_affected applies",
                    by.name(),
                    by.version()
                ),
                RangeResult::NotAffected { by: Some(by) } if by.name() == "last_affected" => {
                    format!(
                        "not affected: {version} is above last_affected {}",
                        by.version()
                    )
                }
                RangeResult::NotAffected { by: Some(by) } => format!(
                    "not affected: {version} is at or above {} {}",
                    by.name(),
                    by.version()
                ),
                RangeResult::NotAffected { by: None } => {
                    format!("not affected: {version} is below the first introduced event")
                }
                RangeResult::BeyondLimit { limit } => {
                    format!("not affected: {version} is at or above limit {limit}")
                }
                RangeResult::Unsupported { reason } => format!("NOT EVALUATED: {reason}"),
            };
            printer.out(format!("      → {why}"));
        }
    }
    printer.out(format!(
        "verdict: {}",
        if ev.affected {
            "AFFECTED"
        } else {
            "not affected"
        }
    ));
    Ok(Status::Success)
}
