//! The stages, in order, and the report they add up to.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use zt_core::{Clock, Digest, ResourceDescriptor, Statement, Workspace, predicate};
use zt_sign::{FileKey, KeyType, Signer, bundle, transparency};

use crate::{Error, evidence, example};

/// What to run the pipeline on, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository; `None` runs on the bundled example in `workdir`.
    pub dir: Option<PathBuf>,
    /// Where the bundled example is written (default: a new folder under the system temp dir).
    pub workdir: Option<PathBuf>,
    /// How many builds to compare (2 = build twice).
    pub rebuild: usize,
    /// The build command (run in the sandbox).
    pub build: Vec<String>,
    /// The test command (run in the repository after the build; `{junit}` is replaced by the
    /// path where it must write its JUnit XML report).
    pub test: Vec<String>,
    /// The build's output directory, relative to the repository.
    pub out: PathBuf,
    /// The clock (`None`: the workspace's, i.e. `ZT_NOW` or the system clock).
    pub clock: Option<Clock>,
    /// Build even where the sandbox cannot be fully enforced (`zt build --allow-weak-sandbox`;
    /// recorded in the provenance, denied by `build.sandbox` unless the policy allows it).
    pub allow_weak_sandbox: bool,
    /// Directories shown read-only in the build and test sandboxes (toolchains outside the
    /// base system; `[build] toolchains`).
    pub inputs: Vec<PathBuf>,
    /// Build a tree with uncommitted changes (`zt init`'s first run, before its files are
    /// committed): the provenance says so and the build is not hermetic.
    pub allow_dirty: bool,
}

impl Options {
    /// The bundled example with its default commands.
    pub fn example() -> Self {
        Self {
            dir: None,
            workdir: None,
            rebuild: 2,
            build: vec!["make".into()],
            test: vec!["tests/run.sh".into(), "out/hello".into(), "{junit}".into()],
            out: PathBuf::from("out"),
            clock: None,
            allow_weak_sandbox: false,
            inputs: Vec::new(),
            allow_dirty: false,
        }
    }

    /// A repository's own settings: the `[build]` table of its `zt.toml` (see
    /// [`zt_core::config::BuildConfig`]), else the example's defaults (`make`, `make test
    /// JUNIT={junit}`, `out`). Toolchains are shown read-only and their `bin/` put first on
    /// `PATH` (the command runs through `env PATH=…`, which the provenance records).
    pub fn for_repo(dir: &std::path::Path, config: &zt_core::config::BuildConfig) -> Self {
        let mut opts = Self::example();
        opts.dir = Some(dir.to_path_buf());
        opts.test = vec!["make".into(), "test".into(), "JUNIT={junit}".into()];
        if !config.command.is_empty() {
            opts.build = config.command.clone();
        }
        if !config.test.is_empty() {
            opts.test = config.test.clone();
        }
        if let Some(out) = &config.out {
            opts.out = out.clone();
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        opts.inputs = config.toolchain_dirs(home.as_deref());
        opts.build = with_toolchains(&opts.inputs, std::mem::take(&mut opts.build));
        opts.test = with_toolchains(&opts.inputs, std::mem::take(&mut opts.test));
        opts
    }
}

/// `argv` run with the toolchains' `bin/` directories first on the sandbox's `PATH`.
fn with_toolchains(toolchains: &[PathBuf], argv: Vec<String>) -> Vec<String> {
    if toolchains.is_empty() || argv.is_empty() {
        return argv;
    }
    let base = zt_build::build::environment(0)
        .into_iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v)
        .unwrap_or_else(|| "/usr/bin:/bin".into());
    let mut path: Vec<String> = toolchains
        .iter()
        .map(|t| t.join("bin").to_string_lossy().into_owned())
        .collect();
    path.push(base);
    let mut wrapped = vec!["env".to_owned(), format!("PATH={}", path.join(":"))];
    wrapped.extend(argv);
    wrapped
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// It ran and everything held.
    Passed,
    /// It ran and found a problem (the pipeline denies).
    Failed,
    /// It could not run because an earlier stage failed.
    Skipped,
}

/// One stage's result.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The stage's name.
    pub name: &'static str,
    /// How it ended.
    pub status: StageStatus,
    /// One line saying what it found.
    pub summary: String,
    /// For a failure: what to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// The evidence files it produced.
    pub evidence: Vec<PathBuf>,
    /// How long it took, in milliseconds.
    pub millis: u128,
}

/// The pipeline's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The repository the pipeline ran on.
    pub dir: PathBuf,
    /// The built artifacts and their digests.
    pub artifacts: Vec<(PathBuf, Digest)>,
    /// Every stage, in order.
    pub stages: Vec<StageReport>,
    /// Time spent inside the build sandbox (every build and rebuild), in milliseconds: the
    /// build's own work, against which zt's overhead is measured.
    pub sandbox_millis: u128,
}

impl Report {
    /// Whether every stage passed.
    pub fn allowed(&self) -> bool {
        self.stages.iter().all(|s| s.status == StageStatus::Passed)
    }
}

/// Told about each stage as it starts and ends (the binary shows progress on stderr).
pub trait Progress {
    /// A stage begins.
    fn started(&self, stage: &str);
    /// A stage ended.
    fn finished(&self, stage: &StageReport);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn started(&self, _: &str) {}
    fn finished(&self, _: &StageReport) {}
}

struct Ctx<'a> {
    dir: PathBuf,
    ws: Workspace,
    /// The bundles the sign stage wrote, for the verify stage.
    signed: Vec<PathBuf>,
    opts: &'a Options,
    progress: &'a dyn Progress,
    stages: Vec<StageReport>,
    artifacts: Vec<(PathBuf, Digest)>,
    /// Unsigned statements waiting to be signed, with the kind used in bundle names.
    statements: Vec<(&'static str, Statement)>,
    failed: bool,
    sandbox: std::time::Duration,
}

impl Ctx<'_> {
    fn stage(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Self) -> Result<(StageStatus, String, Option<String>, Vec<PathBuf>), Error>,
    ) -> Result<(), Error> {
        if self.failed {
            let report = StageReport {
                name,
                status: StageStatus::Skipped,
                summary: "skipped: an earlier stage failed".into(),
                remediation: None,
                evidence: Vec::new(),
                millis: 0,
            };
            self.progress.finished(&report);
            self.stages.push(report);
            return Ok(());
        }
        self.progress.started(name);
        let start = Instant::now();
        let (status, summary, remediation, evidence) = f(self)?;
        let report = StageReport {
            name,
            status,
            summary,
            remediation,
            evidence,
            millis: start.elapsed().as_millis(),
        };
        self.failed |= status == StageStatus::Failed;
        self.progress.finished(&report);
        self.stages.push(report);
        Ok(())
    }

    fn subjects(&self) -> Vec<ResourceDescriptor> {
        self.artifacts
            .iter()
            .map(|(p, d)| ResourceDescriptor::subject(p.to_string_lossy(), d))
            .collect()
    }
}

/// Runs every stage in order. A failing stage is reported (and later stages skipped); only a
/// problem that stops the pipeline itself is an `Err`.
pub fn run(opts: &Options, progress: &dyn Progress) -> Result<Report, Error> {
    let dir = match &opts.dir {
        Some(d) => d.clone(),
        None => {
            let work = match &opts.workdir {
                Some(w) => w.clone(),
                None => std::env::temp_dir().join(format!("zt-example-{}", std::process::id())),
            };
            example::materialise(&work)?;
            work
        }
    };
    let dir = fs_err::canonicalize(&dir)?;
    if !dir.join(".git").exists() {
        return Err(Error::Repository {
            path: dir,
            reason: "is not a git work tree".into(),
        });
    }
    let mut ws = Workspace::open(&dir)?;
    if let Some(clock) = opts.clock {
        ws = ws.with_clock(clock);
    }
    let mut ctx = Ctx {
        dir,
        ws,
        signed: Vec::new(),
        sandbox: std::time::Duration::ZERO,
        opts,
        progress,
        stages: Vec::new(),
        artifacts: Vec::new(),
        statements: Vec::new(),
        failed: false,
    };
    ctx.stage("source", source_stage)?;
    ctx.stage("build", build_stage)?;
    ctx.stage("test", test_stage)?;
    ctx.stage("deps", deps_stage)?;
    ctx.stage("sbom", sbom_stage)?;
    ctx.stage("vuln", vuln_stage)?;
    ctx.stage("sign", sign_stage)?;
    ctx.stage("verify", verify_stage)?;
    ctx.stage("policy", policy_stage)?;
    let report = Report {
        dir: ctx.dir,
        artifacts: ctx.artifacts,
        stages: ctx.stages,
        sandbox_millis: ctx.sandbox.as_millis(),
    };
    // A denial goes to the `[[notify]]` routes: spooled only (the pipeline never waits for a
    // receiver); `zt watch` delivers it.
    if !report.allowed()
        && let Some(failed) = report
            .stages
            .iter()
            .find(|s| s.status == StageStatus::Failed)
    {
        let event = zt_watch::notify::Event {
            kind: "denial",
            summary: format!(
                "pipeline of {} denied at stage `{}`: {}",
                report.dir.display(),
                failed.name,
                failed.summary
            ),
            fix: failed.remediation.clone(),
            details: serde_json::to_value(&report.stages).unwrap_or_default(),
            at: ctx.ws.now(),
        };
        crate::watch::notify(&ctx.ws, &[event], std::time::Duration::ZERO)?;
    }
    Ok(report)
}

type StageResult = Result<(StageStatus, String, Option<String>, Vec<PathBuf>), Error>;

/// Secret scan of the whole tree with gitleaks' rules (and the repo's `.gitleaks.toml`).
fn source_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let scan = crate::source::scan(&crate::source::ScanRequest {
        inputs: crate::source::Inputs::Tree(vec![ctx.dir.clone()]),
        config: None,
        cwd: ctx.dir.clone(),
        options: zt_source::secrets::ScanOptions {
            gitignore: true,
            skip_zt_state: true,
            threads: 0,
        },
    })?;
    let (report, rules) = (scan.report, scan.rules);
    let commit = example::git(&ctx.dir, &["rev-parse", "HEAD"]).ok();
    let predicate = json!({
        "commit": commit,
        "secretScan": {
            "rules": rules,
            "filesScanned": report.scanned,
            "bytesScanned": report.bytes,
            "findings": report.findings.iter().map(|f| json!({
                "rule": f.rule_id, "file": f.file, "line": f.start_line,
            })).collect::<Vec<_>>(),
        },
    });
    // The statement is about the artifacts; they are known after the build, so keep the
    // predicate and attach it then.
    ctx.statements.push((
        "source",
        Statement::new(Vec::new(), predicate::ZT_SOURCE_V1, predicate),
    ));
    if report.findings.is_empty()
        && let Some(first) = report.unscanned.first()
    {
        // A file that could not be read was not shown to be free of secrets.
        return Ok((
            StageStatus::Failed,
            format!(
                "{} file(s) could not be scanned, first `{}`: {}",
                report.unscanned.len(),
                first.path,
                first.reason
            ),
            Some(
                "make every file in the tree readable, then run again; see `zt source scan`".into(),
            ),
            Vec::new(),
        ));
    }
    if report.findings.is_empty() {
        Ok((
            StageStatus::Passed,
            format!("no secrets in {} files ({rules} rules)", report.scanned),
            None,
            Vec::new(),
        ))
    } else {
        let first = &report.findings[0];
        Ok((
            StageStatus::Failed,
            format!(
                "{} secret(s) found, first: {} at {}:{}",
                report.findings.len(),
                first.rule_id,
                first.file,
                first.start_line
            ),
            Some("remove the secret from the tree (and rotate it), then run again; see `zt source scan`".into()),
            Vec::new(),
        ))
    }
}

/// Hermetic build in the sandbox, rebuilt with variations and compared bit for bit.
fn build_stage(ctx: &mut Ctx<'_>) -> StageResult {
    use zt_build::build::{Options as BuildOptions, build};
    use zt_build::repro::{self, Variation};
    use zt_build::sandbox::Exit;

    // `[build] mirror`: the packages come from the curated mirror only (as `zt build`).
    let (package_source, _pinned_dir) = match ctx.ws.config()?.build.mirror {
        Some(setting) => {
            let dir = tempfile::Builder::new().prefix("zt-mirror-").tempdir()?;
            let ps = crate::build::pin_mirror(&ctx.ws, &setting, dir.path())?;
            (Some(ps), Some(dir))
        }
        None => (None, None),
    };
    let opts = BuildOptions {
        tree: ctx.dir.clone(),
        out: ctx.opts.out.clone(),
        inputs: ctx.opts.inputs.clone(),
        rootfs: PathBuf::from("/"),
        allow_dirty: ctx.opts.allow_dirty,
        source_date_epoch: None,
        argv: ctx.opts.build.clone(),
        allow_weak_sandbox: ctx.opts.allow_weak_sandbox,
        package_source,
        ..Default::default()
    };
    // The build replaces the previous run's outputs whole (`zt_build::build` swaps them in).
    let outcome = build(&opts)?;
    ctx.sandbox += outcome.sandbox_elapsed;
    if outcome.exit != Exit::Code(0) || outcome.outputs.is_empty() {
        return Ok((
            StageStatus::Failed,
            format!(
                "the build failed ({:?}); log: {}",
                outcome.exit,
                outcome.log.display()
            ),
            Some(format!(
                "read the build log `{}`, fix the build and commit",
                outcome.log.display()
            )),
            vec![outcome.log],
        ));
    }
    ctx.artifacts = outcome
        .outputs
        .iter()
        .map(|o| (o.path.clone(), o.digest.clone()))
        .collect();
    let mut evidence = vec![outcome.log.clone()];
    let report = repro::repro(&opts, ctx.opts.rebuild.max(2), &Variation::ALL)?;
    ctx.sandbox += report.sandbox_elapsed;
    let repro_statement = repro::statement(&report);
    if let Some((mut provenance, path)) = outcome.provenance {
        repro::record_in_provenance(&mut provenance, &report);
        evidence.push(path);
        record_build(&ctx.ws, &ctx.artifacts, &provenance)?;
        ctx.statements.push(("provenance", provenance));
    }
    ctx.statements.push(("reproducible", repro_statement));
    let artifacts = ctx
        .artifacts
        .iter()
        .map(|(p, d)| format!("{} {}", p.display(), &d.hex()[..12]))
        .collect::<Vec<_>>()
        .join(", ");
    if report.reproducible {
        let applied: Vec<&str> = report.variations.iter().map(|v| v.name()).collect();
        Ok((
            StageStatus::Passed,
            format!(
                "built {artifacts}; {} builds identical under {} variations",
                report.builds,
                applied.len()
            ),
            None,
            evidence,
        ))
    } else {
        let causes: Vec<String> = report
            .culprits
            .iter()
            .map(|c| {
                c.variations
                    .iter()
                    .map(|v| v.name())
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        Ok((
            StageStatus::Failed,
            format!("not reproducible: outputs differ with {}", causes.join(", ")),
            Some("remove the non-determinism (see `zt build --rebuild 2 -- …` for the explanation) or normalise outputs with `zt normalize`".into()),
            evidence,
        ))
    }
}

/// Records the build in the ledger under its provenance invocation id, indexed by the digests it
/// produced, so "which build made this binary?" and a revoked key's blast radius are one lookup.
fn record_build(
    ws: &Workspace,
    artifacts: &[(PathBuf, Digest)],
    provenance: &zt_core::Statement,
) -> Result<(), Error> {
    let Some(predicate) = provenance.predicate.as_ref() else {
        return Ok(());
    };
    // With the `ztWatch` object `zt watch` baselines (crate::watch).
    let outputs: Vec<Digest> = artifacts.iter().map(|(_, d)| d.clone()).collect();
    crate::watch::record(ws, ws.root(), &outputs, predicate)
}

/// Runs the test command on the built artifacts; its JUnit report becomes evidence.
fn test_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let dir = ctx.ws.layout().tests();
    let junit = dir.join("junit.xml");
    let log = dir.join("test.log");
    fs_err::create_dir_all(&dir)?;
    // A report left by an earlier run must never stand in for this one's.
    for stale in [&junit, &log] {
        match fs_err::remove_file(stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    if ctx.opts.test.is_empty() {
        return Ok((
            StageStatus::Failed,
            "no test command".into(),
            Some("configure a test command".into()),
            Vec::new(),
        ));
    }
    // The tests are the repository's code, as hostile as its build: they run in the build
    // sandbox on a copy of the tree (no network, no `.zt`: no key, no secrets, no evidence),
    // and their report is read back out of it.
    let run = zt_build::build::test(
        &ctx.dir,
        &ctx.opts.test,
        &ctx.opts.inputs,
        &log,
        None,
        ctx.opts.allow_weak_sandbox,
    )?;
    let Some(report) = run.junit else {
        return Ok((
            StageStatus::Failed,
            "the tests wrote no JUnit report".into(),
            Some(format!(
                "make the test command write JUnit XML to the path given as `{{junit}}`; log: `{}`",
                log.display()
            )),
            vec![log],
        ));
    };
    zt_core::fsutil::write_atomic(&junit, &report)?;
    let xml = fs_err::read(&junit)?;
    let predicate = match zt_policy::evidence::junit::junit_to_test_result(&xml) {
        Ok(p) => p,
        Err(e) => {
            return Ok((
                StageStatus::Failed,
                format!("the JUnit report does not parse: {e}"),
                Some(format!(
                    "make the test command write valid JUnit XML; log: `{}`",
                    log.display()
                )),
                vec![junit, log],
            ));
        }
    };
    let passed = run.exit.success() && predicate["result"] == "PASSED";
    let mut summary = format!(
        "{} passed, {} failed",
        predicate["passedTests"].as_array().map_or(0, Vec::len),
        predicate["failedTests"].as_array().map_or(0, Vec::len)
    );
    if !run.exit.success() {
        let how = match run.exit {
            zt_build::sandbox::Exit::Code(c) => format!("exited with {c}"),
            zt_build::sandbox::Exit::Signal(s) => format!("was killed by signal {s}"),
            zt_build::sandbox::Exit::TimedOut => "timed out".to_owned(),
            zt_build::sandbox::Exit::Stalled => "stalled (every process asleep)".to_owned(),
            zt_build::sandbox::Exit::WriteLimit => "was killed at the write limit".to_owned(),
        };
        summary.push_str(&format!("; the test command {how}"));
    }
    ctx.statements.push((
        "test-result",
        Statement::new(Vec::new(), predicate::TEST_RESULT_V01, predicate),
    ));
    if passed {
        Ok((StageStatus::Passed, summary, None, vec![junit, log]))
    } else {
        Ok((
            StageStatus::Failed,
            summary,
            Some(format!("fix the failing tests; log: `{}`", log.display())),
            vec![junit, log],
        ))
    }
}

/// The artifacts as statement subjects (named as `--subject FILE` names them).
fn artifact_subjects(ctx: &Ctx<'_>) -> Vec<crate::subject::Subject> {
    ctx.artifacts
        .iter()
        .map(|(p, d)| crate::subject::Subject {
            name: p.to_string_lossy().into_owned(),
            digest: d.clone(),
        })
        .collect()
}

/// The dependency check `zt deps check` makes: every lockfile's dependencies pinned (exact
/// versions, hashes, commits), and the licence, malware and typosquat checks it can run.
fn deps_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let report = crate::deps::check(&crate::deps::CheckRequest::new(
        &ctx.dir,
        artifact_subjects(ctx),
    ))?;
    let summary = format!(
        "{} packages in {} lockfile(s), {} finding(s)",
        report.packages,
        report.lockfiles.len(),
        report.findings.len()
    );
    let first = report
        .findings
        .iter()
        .find(|f| f.level == zt_core::config::FindingLevel::Deny)
        .map(|f| (f.message.clone(), f.fix.clone()));
    ctx.statements.push(("deps", report.statement));
    match first {
        None => Ok((StageStatus::Passed, summary, None, Vec::new())),
        Some((message, fix)) => Ok((
            StageStatus::Failed,
            format!("{summary}, first: {message}"),
            Some(format!("{fix}; then run `zt deps check` again")),
            Vec::new(),
        )),
    }
}

/// The SBOM `zt sbom` makes (CycloneDX), about the artifacts.
fn sbom_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let report = crate::sbom::sbom(&crate::sbom::Request::cyclonedx(
        &ctx.dir,
        artifact_subjects(ctx),
    ))?;
    let path = ctx.dir.join(SBOM_FILE);
    zt_core::fsutil::write_atomic(&path, &report.bytes)?;
    ctx.statements.push(("sbom", report.statement));
    Ok((
        StageStatus::Passed,
        format!("CycloneDX 1.6 with {} dependencies", report.packages),
        None,
        vec![path],
    ))
}

/// Where the sbom stage writes the SBOM the vuln stage scans.
const SBOM_FILE: &str = ".zt/sbom/bom.cdx.json";

/// The scan `zt vuln scan` makes of the SBOM against the local OSV store, with the
/// repository's waivers (`zt-waivers.toml`) applied: an unwaived critical blocks.
fn vuln_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let store_dir = zt_vuln::store::Store::default_dir(&ctx.dir);
    let feed = ctx.dir.join("advisories");
    let now = ctx.ws.now();
    if feed.is_dir() {
        // The repository ships an advisory feed of its own (the example does): import it.
        zt_vuln::store::import(&store_dir, &[feed], now)?;
    }
    if !store_dir.join("manifest.json").exists() {
        return Ok((
            StageStatus::Failed,
            "no vulnerability database".into(),
            Some("import one with `zt vuln db import PATH` (OSV or RustSec advisories), then run again".into()),
            Vec::new(),
        ));
    }
    let waivers = crate::vuln::default_waivers(&ctx.dir);
    let request = crate::vuln::ScanRequest {
        sbom: ctx.dir.join(SBOM_FILE),
        store: store_dir,
        waivers: waivers.clone(),
        policy: zt_vuln::waiver::WaiverPolicy::DEFAULT,
        subjects: artifact_subjects(ctx),
    };
    let outcome = match crate::vuln::scan(&ctx.dir, &request, now) {
        Ok(o) => o,
        Err(Error::Vuln(e @ zt_vuln::Error::Waiver { .. })) => {
            return Ok((
                StageStatus::Failed,
                e.to_string(),
                Some(format!(
                    "fix the waiver (or record it again with `zt vuln waive`); {}",
                    zt_core::Diagnostic::help(&e).unwrap_or_default()
                )),
                waivers.into_iter().collect(),
            ));
        }
        Err(e) => return Err(e),
    };
    let critical = outcome.blocking(zt_vuln::cvss::Severity::Critical);
    let summary = format!(
        "{} components against {} advisories: {} findings, {critical} critical, {} waived{}",
        outcome.report.components,
        outcome.manifest.records,
        outcome.report.findings.len(),
        outcome.waived.len(),
        if outcome.check.expired.is_empty() {
            String::new()
        } else {
            format!(", {} expired waiver(s)", outcome.check.expired.len())
        }
    );
    ctx.statements.push(("vuln", outcome.statement));
    if critical == 0 {
        Ok((StageStatus::Passed, summary, None, Vec::new()))
    } else {
        Ok((
            StageStatus::Failed,
            summary,
            Some("upgrade the affected packages or record a waiver with `zt vuln waive ID --purl PURL …`, then run again".into()),
            Vec::new(),
        ))
    }
}

/// Every artifact judged at the `ci` stage with the policies, over the verified evidence.
fn policy_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let mut denies = Vec::new();
    let repository = crate::watch::repository(&ctx.dir);
    let commit = example::git(&ctx.dir, &["rev-parse", "HEAD"]).ok();
    for (path, _) in &ctx.artifacts {
        let judgement = crate::gate::judge(
            &ctx.ws,
            &crate::gate::Target::File(ctx.dir.join(path)),
            zt_core::config::Stage::Ci,
            &[],
        )?;
        // Kept for `zt metrics` (pass rate, top deny rules).
        crate::metrics::append(
            &ctx.ws,
            "decisions",
            &json!({
                "at": ctx.ws.now(),
                "stage": "ci",
                "digest": judgement.digest.to_string(),
                "allowed": judgement.decision.allow,
                "denies": judgement.decision.deny.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
                // What the dashboard's denials page shows: where, and each deny's reason and fix.
                "name": path.to_string_lossy(),
                "repository": repository,
                "commit": commit,
                "deny": judgement.decision.deny.iter().map(|d| json!({
                    "id": d.id, "message": d.message, "remediation": d.remediation,
                })).collect::<Vec<_>>(),
            }),
        )?;
        for d in judgement.decision.deny {
            denies.push((path.clone(), d));
        }
    }
    if denies.is_empty() {
        Ok((
            StageStatus::Passed,
            "allow at stage `ci`: every rule held".into(),
            None,
            Vec::new(),
        ))
    } else {
        let (path, first) = &denies[0];
        Ok((
            StageStatus::Failed,
            format!(
                "deny at stage `ci`: {} rule(s) failed, first {} on {}: {}",
                denies.len(),
                first.id,
                path.display(),
                first.message
            ),
            Some(first.remediation.clone()),
            Vec::new(),
        ))
    }
}

/// The pipeline's signing key: the first key `zt.toml` trusts whose private half is here
/// (`zt init` makes one), else `.zt/keys/pipeline` (created on first run).
pub fn pipeline_key(ws: &Workspace) -> Result<FileKey, Error> {
    let dir = ws.root();
    if let Ok(config) = ws.config() {
        for key in &config.trust.keys {
            let Some(public) = &key.public_key else {
                continue;
            };
            let private = dir.join(public.with_extension(""));
            if public.extension().is_some_and(|e| e == "pub") && private.is_file() {
                return Ok(FileKey::load(&private)?);
            }
        }
    }
    let path = ws.layout().pipeline_key();
    if path.exists() {
        return Ok(FileKey::load(&path)?);
    }
    let key = FileKey::generate(KeyType::P256);
    zt_sign::keys::write_key_pair(&key, &path)?;
    Ok(key)
}

/// Signs every artifact and attests every statement; every signature is logged.
fn sign_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let key = pipeline_key(&ctx.ws)?;
    crate::revoke::refuse_revoked(&ctx.ws, &key.public_key())?;
    let (log, _) = transparency::open_or_init(&ctx.ws.layout().log())?;
    let mut kinds = Vec::new();
    let mut bundles = Vec::new();
    for (path, _) in ctx.artifacts.clone() {
        bundles.push(bundle::sign_file(&key, &ctx.dir.join(&path))?);
        kinds.push("signature");
    }
    let subjects = ctx.subjects();
    for (kind, mut statement) in std::mem::take(&mut ctx.statements) {
        if statement.subject.is_empty() {
            statement.subject = subjects.clone();
        }
        bundles.push(bundle::attest(&key, &statement)?);
        kinds.push(kind);
    }
    // One batch in the log (one durable checkpoint for the run), then every bundle to the
    // evidence store and the ledger (by subject digest, predicate type, key id, log index).
    transparency::log_bundles(&log, &mut bundles, &key.public_key())?;
    let items: Vec<(&str, &serde_json::Value)> = kinds
        .iter()
        .copied()
        .zip(bundles.iter().map(|b| &b.json))
        .collect();
    let written = evidence::record_all(&ctx.ws, &items)?;
    ctx.signed = written.clone();
    Ok((
        StageStatus::Passed,
        format!(
            "{} bundles signed with key {}, logged (log size {}) and recorded in the ledger",
            written.len(),
            &key.public_key().key_id()[..12],
            log.size()?
        ),
        None,
        written,
    ))
}

/// Verifies every bundle this run signed, offline, against the repository's log (the policy
/// stage then judges all the evidence about each artifact's digest).
fn verify_stage(ctx: &mut Ctx<'_>) -> StageResult {
    let key = pipeline_key(&ctx.ws)?.public_key();
    let mut root: serde_json::Value =
        serde_json::from_str(zt_sign::verify::PRODUCTION_TRUSTED_ROOT).unwrap_or_default();
    let local = transparency::trusted_root(&ctx.ws.layout().log())?;
    zt_sign::rekor::merge_tlogs(&mut root, &local);
    let root = root.to_string();
    let mut checked = 0;
    for (path, digest) in &ctx.artifacts {
        let artifact = zt_sign::verify::Artifact::File(ctx.dir.join(path));
        for bundle_path in &ctx.signed {
            let about: Vec<Digest> = serde_json::from_slice(&fs_err::read(bundle_path)?)
                .map(|json| evidence::subjects(&json))
                .unwrap_or_default();
            if !about.contains(digest) {
                continue;
            }
            let bundle_path = bundle_path.clone();
            let bytes = fs_err::read(&bundle_path)?;
            let parsed = bundle::parse(&bytes, &bundle_path.to_string_lossy())?;
            let result = zt_sign::verify::verify(&zt_sign::verify::Request {
                artifact: &artifact,
                bundle: &parsed,
                identity: &zt_sign::verify::Identity::Key(key.clone()),
                trusted_root: Some(&root),
                insecure_ignore_tlog: false,
                witness_policy: None,
            });
            if let Err(e) = result {
                return Ok((
                    StageStatus::Failed,
                    format!("`{}` does not verify: {e}", bundle_path.display()),
                    Some("the evidence was changed after signing: rebuild and sign again".into()),
                    vec![bundle_path],
                ));
            }
            checked += 1;
        }
    }
    Ok((
        StageStatus::Passed,
        format!("{checked} bundles verified offline (signature, log inclusion, checkpoint)"),
        None,
        Vec::new(),
    ))
}
