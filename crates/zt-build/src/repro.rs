//! Rebuild and compare: the same source built N times in the sandbox, the first as the control
//! and the others with every [`Variation`] applied (each round with different values), outputs
//! compared bit for bit. On a mismatch zt bisects the set of variations (halving it while a
//! half still reproduces the difference) to name the variations that cause each difference,
//! and explains the differences ([`crate::diff`]). The verdict is an in-toto statement with
//! predicate type [`zt_core::predicate::ZT_REPRODUCIBLE_V1`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;
use zt_core::{Digest, ResourceDescriptor, Statement, predicate};

use crate::Error;
use crate::build::{self, BUILD_PATH, HOSTNAME, Options, SourceState};
use crate::diff::{self, FileDiff};
use crate::sandbox::{self, Spec};

/// What may vary between two builds of the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variation {
    /// The path of the source copy inside the sandbox.
    BuildPath,
    /// The hostname.
    Hostname,
    /// The umask (022 → 002).
    Umask,
    /// `LC_ALL`/`LANG` (C.UTF-8 → fr_FR.UTF-8).
    Locale,
    /// `TZ` (UTC → UTC+14).
    Timezone,
    /// The order of the environment, plus one extra variable.
    EnvOrder,
    /// The user and group id the build runs as (0 → 1000).
    Uid,
    /// The order in which the source copy's files are created (hence directory order).
    FileOrder,
    /// The wall-clock time (libfaketime, years ahead).
    Time,
    /// The modification times of the source copy's files and directories.
    FileTime,
}

impl Variation {
    /// Every variation, in a fixed order.
    pub const ALL: [Variation; 10] = [
        Variation::BuildPath,
        Variation::Hostname,
        Variation::Umask,
        Variation::Locale,
        Variation::Timezone,
        Variation::EnvOrder,
        Variation::Uid,
        Variation::FileOrder,
        Variation::Time,
        Variation::FileTime,
    ];

    /// Its name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Variation::BuildPath => "build-path",
            Variation::Hostname => "hostname",
            Variation::Umask => "umask",
            Variation::Locale => "locale",
            Variation::Timezone => "timezone",
            Variation::EnvOrder => "environment",
            Variation::Uid => "uid",
            Variation::FileOrder => "file-order",
            Variation::Time => "time",
            Variation::FileTime => "file-time",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Variation> {
        Variation::ALL.into_iter().find(|v| v.name() == s)
    }
}

/// Which variations caused a difference, and in which files.
#[derive(Debug, Clone)]
pub struct Culprit {
    /// The variations that together reproduce the difference (one, unless they interact;
    /// empty when the build differs with no variation at all).
    pub variations: Vec<Variation>,
    /// The files that differ under them.
    pub files: Vec<PathBuf>,
}

/// The result of rebuild-and-compare.
#[derive(Debug, Clone)]
pub struct Report {
    /// Number of builds compared (not counting bisection builds).
    pub builds: usize,
    /// Variations applied.
    pub variations: Vec<Variation>,
    /// Variations not available here, with the reason.
    pub unavailable: Vec<(Variation, String)>,
    /// Variations that could not be applied to every build (e.g. libfaketime hung), with the
    /// reason; the builds concerned ran without them.
    pub limited: Vec<(Variation, String)>,
    /// Whether every build gave identical outputs.
    pub reproducible: bool,
    /// The differences of the first mismatching build, explained.
    pub differences: Vec<FileDiff>,
    /// What caused them.
    pub culprits: Vec<Culprit>,
    /// The control build's outputs (paths relative to the tree) and digests.
    pub outputs: Vec<(PathBuf, Digest)>,
    /// Builds run in total (including bisection).
    pub total_builds: usize,
    /// Time spent inside the sandbox, summed over every build (the build's own work, which zt's
    /// overhead is measured against).
    pub sandbox_elapsed: std::time::Duration,
}

struct Runner<'a> {
    opts: &'a Options,
    source: &'a SourceState,
    logs: PathBuf,
    id: String,
    count: usize,
    faketime: bool,
    secrets: Vec<sandbox::SecretFile>,
    /// The deadline of a build under libfaketime (a hang there is libfaketime's, not the
    /// build's).
    faketime_deadline: std::time::Duration,
    limited: Vec<(Variation, String)>,
    sandbox_elapsed: std::time::Duration,
}

type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// How long every process of a build under libfaketime may sleep, using no CPU, before the
/// build counts as libfaketime's deadlock ([`sandbox::Spec::stall`]). A build that really waits
/// that long without running (a `sleep` in a script) is run again with the real clock and the
/// time variation reported as not applied: slower, never wrong.
const FAKETIME_STALL: std::time::Duration = std::time::Duration::from_secs(3);

impl Runner<'_> {
    /// One sandboxed build with the given variations (values depend on `round`).
    fn build(&mut self, vary: &[Variation], round: usize) -> Result<Tree, Error> {
        self.count += 1;
        let on = |v: Variation| vary.contains(&v);
        let scratch = tempfile::Builder::new()
            .prefix("zt-repro-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let copy = scratch.path().join("src");
        let root = scratch.path().join("root");
        fs_err::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        build::copy_tree_ordered(
            &self.opts.tree,
            &copy,
            &[Path::new(".git"), Path::new(".zt"), &self.opts.out],
            on(Variation::FileOrder),
        )?;
        let mtime = if on(Variation::FileTime) {
            // 2001-09-09 plus a year and a month per round.
            1_000_000_000 + 34_300_800 * round as i64
        } else {
            self.source.source_date_epoch
        };
        build::set_mtimes(&copy, mtime)?;
        sandbox::hand_over(scratch.path())?;
        let mut env = build::environment(self.source.source_date_epoch);
        for (k, v) in &mut env {
            if on(Variation::Locale) && (k == "LC_ALL" || k == "LANG") {
                *v = "fr_FR.UTF-8".into();
            }
            if on(Variation::Timezone) && k == "TZ" {
                *v = "Etc/GMT-14".into();
            }
        }
        if on(Variation::EnvOrder) {
            env.reverse();
            env.push(("ZT_REPRO_EXTRA".into(), round.to_string()));
        }
        let log = self
            .logs
            .join(format!("repro-{}-{}.log", self.id, self.count));
        let spec = Spec {
            rootfs: self.opts.rootfs.clone(),
            source_copy: Some(copy.clone()),
            build_path: if on(Variation::BuildPath) {
                PathBuf::from(format!("/build/variation-{round}/src"))
            } else {
                PathBuf::from(BUILD_PATH)
            },
            inputs: self.opts.inputs.clone(),
            env,
            hostname: if on(Variation::Hostname) {
                format!("zt-variant-{round}")
            } else {
                HOSTNAME.to_owned()
            },
            umask: if on(Variation::Umask) { 0o002 } else { 0o022 },
            uid: if on(Variation::Uid) { 1000 } else { 0 },
            gid: if on(Variation::Uid) { 1000 } else { 0 },
            argv: self.opts.argv.clone(),
            scratch: root,
            log: log.clone(),
            faketime: (on(Variation::Time) && self.faketime).then(|| format!("+{}d", 397 * round)),
            timeout: self.opts.timeout,
            stall: None,
            secrets: self.secrets.clone(),
            allow_weak: self.opts.allow_weak_sandbox,
            workdir: None,
            memory_limit: None,
            watch_files: Vec::new(),
            resolver: None,
            write_limit: None,
            program_digests: Some(self.opts.tree.join(crate::build::PROGRAM_DIGESTS)),
        };
        let faked = spec.faketime.is_some();
        let mut spec = spec;
        if faked {
            spec.timeout = Some(
                self.opts
                    .timeout
                    .map_or(self.faketime_deadline, |t| t.min(self.faketime_deadline)),
            );
            // libfaketime 0.9.10 (Debian 12) deadlocks a program whose allocator reads the
            // clock while it initialises — rustc (jemalloc) does, at every start: its lazy
            // set-up looks up a symbol glibc no longer has, and the failed lookup allocates.
            // Such a build sleeps forever using no CPU: seen at once, not at the deadline
            // (which is at least 10 s, and four times the build).
            spec.stall = Some(FAKETIME_STALL);
        }
        let started = std::time::Instant::now();
        let mut exit = sandbox::run(&spec)?;
        self.sandbox_elapsed += started.elapsed();
        let hung = match exit {
            sandbox::Exit::TimedOut
                if self.opts.timeout.is_none_or(|t| t > self.faketime_deadline) =>
            {
                Some(format!(
                    "the build hung under libfaketime (killed after {:.1}s); this build ran with the real clock",
                    self.faketime_deadline.as_secs_f64()
                ))
            }
            sandbox::Exit::Stalled => Some(format!(
                "the build stalled under libfaketime (every process asleep, no CPU used for {:.0}s: libfaketime's start-up deadlock); this build ran with the real clock",
                FAKETIME_STALL.as_secs_f64()
            )),
            _ => None,
        };
        if let Some(why) = hung.filter(|_| faked) {
            // libfaketime deadlocks some programs: run this build again without it.
            self.limited.push((Variation::Time, why));
            self.faketime = false;
            self.count += 1;
            spec.faketime = None;
            spec.timeout = self.opts.timeout;
            spec.stall = None;
            fs_err::remove_dir_all(&copy).map_err(|e| Error::io(&copy, e))?;
            build::copy_tree_ordered(
                &self.opts.tree,
                &copy,
                &[Path::new(".git"), Path::new(".zt"), &self.opts.out],
                on(Variation::FileOrder),
            )?;
            build::set_mtimes(&copy, mtime)?;
            sandbox::hand_over(scratch.path())?;
            let started = std::time::Instant::now();
            exit = sandbox::run(&spec)?;
            self.sandbox_elapsed += started.elapsed();
        }
        if matches!(exit, sandbox::Exit::TimedOut | sandbox::Exit::Stalled) {
            return Err(Error::TimedOut {
                after: spec.timeout.unwrap_or_default(),
                log,
            });
        }
        if !exit.success() {
            return Err(Error::BuildFailed {
                log,
                exit: format!("{exit:?}"),
            });
        }
        // Paths relative to the tree, like the outputs of `zt build`, read through descriptors, never following a link the build left (an `out` that is
        // a link is refused; see crate::collect).
        let mut tree = Tree::new();
        crate::collect::walk(&copy, &self.opts.out, &mut |p, entry| {
            match entry {
                crate::collect::Entry::File(mut f, _) => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| Error::io(p, e))?;
                    tree.insert(p.to_path_buf(), bytes);
                }
                crate::collect::Entry::Symlink(t) => {
                    tree.insert(
                        p.to_path_buf(),
                        format!("symlink -> {}", t.display()).into_bytes(),
                    );
                }
                crate::collect::Entry::Dir(_) => {}
            }
            Ok(())
        })?;
        Ok(tree)
    }

    /// Files of `tree` that differ from the control.
    fn differing(control: &Tree, tree: &Tree) -> Vec<PathBuf> {
        diff::compare_trees(control, tree)
            .into_iter()
            .map(|d| d.path)
            .collect()
    }

    /// Bisects `set` (which reproduces a difference) down to the variations that cause it.
    fn bisect(
        &mut self,
        control: &Tree,
        set: &[Variation],
        files: Vec<PathBuf>,
        out: &mut Vec<Culprit>,
    ) -> Result<(), Error> {
        if set.len() == 1 {
            out.push(Culprit {
                variations: set.to_vec(),
                files,
            });
            return Ok(());
        }
        let (a, b) = set.split_at(set.len() / 2);
        let mut explained = std::collections::BTreeSet::new();
        for half in [a, b] {
            let t = self.build(half, 1)?;
            let d = Self::differing(control, &t);
            if !d.is_empty() {
                explained.extend(d.iter().cloned());
                self.bisect(control, half, d, out)?;
            }
        }
        let rest: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| !explained.contains(f))
            .collect();
        if !rest.is_empty() {
            // Only the combination of both halves changes these files.
            out.push(Culprit {
                variations: set.to_vec(),
                files: rest,
            });
        }
        Ok(())
    }
}

/// Checks once that libfaketime works here: `date +%Y` under it, in the sandbox, with a
/// deadline of five seconds, must print a year ahead of the real one. `Err` says why not.
fn probe_faketime(opts: &Options, logs: &Path, id: &str) -> Result<(), String> {
    if sandbox::faketime_library(&opts.rootfs).is_none() {
        return Err(
            "libfaketime is not installed in the base system (apt-get install faketime)".into(),
        );
    }
    let log = logs.join(format!("repro-{id}-faketime-probe.log"));
    let limit = std::time::Duration::from_secs(5);
    let spec = Spec {
        rootfs: opts.rootfs.clone(),
        source_copy: None,
        build_path: PathBuf::from(BUILD_PATH),
        inputs: Vec::new(),
        env: build::environment(0),
        hostname: HOSTNAME.to_owned(),
        umask: 0o022,
        uid: 0,
        gid: 0,
        argv: vec!["date".into(), "-u".into(), "+%Y".into()],
        scratch: PathBuf::from("/tmp"),
        log: log.clone(),
        faketime: Some("+800d".into()),
        timeout: Some(limit),
        stall: None,
        secrets: Vec::new(),
        allow_weak: opts.allow_weak_sandbox,
        workdir: None,
        memory_limit: None,
        watch_files: Vec::new(),
        resolver: None,
        write_limit: None,
        program_digests: None,
    };
    let exit = sandbox::run(&spec).map_err(|e| format!("probe: {e}"))?;
    let printed = fs_err::read_to_string(&log).unwrap_or_default();
    let _ = fs_err::remove_file(&log);
    let real = crate::time::gmtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
    .year;
    match exit {
        sandbox::Exit::TimedOut => Err(format!(
            "libfaketime hung: `date` under it did not finish within {}s",
            limit.as_secs()
        )),
        e if !e.success() => Err(format!("`date` under libfaketime failed ({e:?})")),
        _ => match printed.trim().parse::<i64>() {
            Ok(y) if y > real => Ok(()),
            _ => Err(format!(
                "libfaketime has no effect here (`date` printed `{}`)",
                printed.trim()
            )),
        },
    }
}

/// Builds `builds` times (at least 2) and compares; bisects and explains a mismatch.
pub fn repro(opts: &Options, builds: usize, variations: &[Variation]) -> Result<Report, Error> {
    let tree = fs_err::canonicalize(&opts.tree).map_err(|e| Error::io(&opts.tree, e))?;
    let opts = &Options {
        tree,
        ..opts.clone()
    };
    let source = build::source_state(opts)?;
    let logs = opts.tree.join(".zt/logs");
    fs_err::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let id = build::invocation_id();
    let secrets = build::read_secrets(opts, &format!("zt repro {id}"))?;
    let mut unavailable = Vec::new();
    let mut applied: Vec<Variation> = variations.to_vec();
    applied.sort();
    applied.dedup();
    let faketime = if applied.contains(&Variation::Time) {
        match probe_faketime(opts, &logs, &id) {
            Ok(()) => true,
            Err(why) => {
                applied.retain(|v| *v != Variation::Time);
                unavailable.push((Variation::Time, why));
                false
            }
        }
    } else {
        false
    };
    let mut runner = Runner {
        opts,
        source: &source,
        logs,
        id,
        count: 0,
        faketime,
        secrets,
        faketime_deadline: std::time::Duration::from_secs(60),
        limited: Vec::new(),
        sandbox_elapsed: std::time::Duration::ZERO,
    };
    let started = std::time::Instant::now();
    let control = runner.build(&[], 0)?;
    // A build under libfaketime that takes four times the control build (and at least ten
    // seconds) longer is taken as hung.
    runner.faketime_deadline = (started.elapsed() * 4).max(std::time::Duration::from_secs(10));
    let mut differences = Vec::new();
    let mut culprits = Vec::new();
    for round in 1..builds.max(2) {
        let t = runner.build(&applied, round)?;
        let d = diff::compare_trees(&control, &t);
        if !d.is_empty() {
            differences = d;
            break;
        }
    }
    if !differences.is_empty() {
        // Without any variation first: a build that differs from itself is nondeterministic.
        let again = runner.build(&[], 0)?;
        let noise = Runner::differing(&control, &again);
        if !noise.is_empty() {
            culprits.push(Culprit {
                variations: Vec::new(),
                files: noise,
            });
        } else {
            let files = differences.iter().map(|d| d.path.clone()).collect();
            runner.bisect(&control, &applied, files, &mut culprits)?;
        }
    }
    let outputs = control
        .iter()
        .map(|(p, b)| (p.clone(), Digest::sha256(b)))
        .collect();
    let mut limited = std::mem::take(&mut runner.limited);
    limited.dedup_by(|a, b| a.0 == b.0);
    Ok(Report {
        builds: builds.max(2),
        variations: applied,
        unavailable,
        limited,
        reproducible: differences.is_empty(),
        differences,
        culprits,
        outputs,
        total_builds: runner.count,
        sandbox_elapsed: runner.sandbox_elapsed,
    })
}

/// The reproducibility statement about the control build's outputs.
pub fn statement(report: &Report) -> Statement {
    let subjects = report
        .outputs
        .iter()
        .map(|(p, d)| ResourceDescriptor::subject(p.to_string_lossy(), d))
        .collect();
    let predicate = json!({
        "reproducible": report.reproducible,
        "rebuilds": report.builds,
        "builds": report.builds,

        "variations": report.variations.iter().map(|v| v.name()).collect::<Vec<_>>(),
        "limitedVariations": report.limited.iter().map(|(v, why)| json!({"variation": v.name(), "reason": why})).collect::<Vec<_>>(),
        "unavailableVariations": report.unavailable.iter().map(|(v, why)| json!({"variation": v.name(), "reason": why})).collect::<Vec<_>>(),
        "verdict": if report.reproducible { "reproducible" } else { "not-reproducible" },
        "differences": report.differences.iter().map(|d| json!({"path": d.path, "explanation": d.detail})).collect::<Vec<_>>(),
        "causes": report.culprits.iter().map(|c| json!({
            "variations": c.variations.iter().map(|v| v.name()).collect::<Vec<_>>(),
            "files": c.files,
        })).collect::<Vec<_>>(),
    });
    Statement::new(subjects, predicate::ZT_REPRODUCIBLE_V1, predicate)
}

/// Records a rebuild-and-compare verdict in the build's provenance
/// (`buildDefinition.internalParameters.reproducible` and `.rebuilds`), as `zt build
/// --rebuild N` and the pipeline's build stage both do before signing it. Provenance that is
/// not shaped as zt writes it is left unchanged.
pub fn record_in_provenance(provenance: &mut Statement, report: &Report) {
    let Some(internal) = provenance
        .predicate
        .as_mut()
        .and_then(|p| p.pointer_mut("/buildDefinition/internalParameters"))
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    internal.insert("reproducible".into(), json!(report.reproducible));
    internal.insert("rebuilds".into(), json!(report.builds));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn report(reproducible: bool, builds: usize) -> Report {
        Report {
            builds,
            variations: Variation::ALL.to_vec(),
            unavailable: Vec::new(),
            limited: Vec::new(),
            reproducible,
            differences: Vec::new(),
            culprits: Vec::new(),
            outputs: Vec::new(),
            total_builds: builds,
            sandbox_elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn the_verdict_lands_in_the_provenance_and_nowhere_else() {
        let mut p = Statement::new(
            Vec::new(),
            predicate::SLSA_PROVENANCE_V1,
            json!({"buildDefinition": {"buildType": "t", "internalParameters": {"hermetic": true}}}),
        );
        record_in_provenance(&mut p, &report(false, 3));
        assert_eq!(
            p.predicate.as_ref().unwrap()["buildDefinition"]["internalParameters"],
            json!({"hermetic": true, "reproducible": false, "rebuilds": 3})
        );
        // Provenance of another shape is not made up into zt's.
        let mut other = Statement::new(Vec::new(), predicate::SLSA_PROVENANCE_V1, json!("x"));
        record_in_provenance(&mut other, &report(true, 2));
        assert_eq!(other.predicate, Some(json!("x")));
    }
}
