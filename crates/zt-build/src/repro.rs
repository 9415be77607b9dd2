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
}

impl Variation {
    /// Every variation, in a fixed order.
    pub const ALL: [Variation; 9] = [
        Variation::BuildPath,
        Variation::Hostname,
        Variation::Umask,
        Variation::Locale,
        Variation::Timezone,
        Variation::EnvOrder,
        Variation::Uid,
        Variation::FileOrder,
        Variation::Time,
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
}

struct Runner<'a> {
    opts: &'a Options,
    source: &'a SourceState,
    logs: PathBuf,
    id: String,
    count: usize,
    faketime: bool,
}

type Tree = BTreeMap<PathBuf, Vec<u8>>;

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
            source_copy: copy.clone(),
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
        };
        let exit = sandbox::run(&spec)?;
        if !exit.success() {
            return Err(Error::BuildFailed {
                log,
                exit: format!("{exit:?}"),
            });
        }
        // Paths relative to the tree, like the outputs of `zt build`.
        let tree = diff::read_tree(&copy.join(&self.opts.out))?;
        Ok(tree
            .into_iter()
            .map(|(p, b)| (self.opts.out.join(p), b))
            .collect())
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
    let faketime = [
        "usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    ]
    .iter()
    .any(|l| opts.rootfs.join(l).is_file());
    let mut unavailable = Vec::new();
    let mut applied: Vec<Variation> = variations.to_vec();
    applied.sort();
    applied.dedup();
    if !faketime && applied.contains(&Variation::Time) {
        applied.retain(|v| *v != Variation::Time);
        unavailable.push((
            Variation::Time,
            "libfaketime is not installed in the base system (apt-get install faketime)".to_owned(),
        ));
    }
    let mut runner = Runner {
        opts,
        source: &source,
        logs,
        id: build::invocation_id(),
        count: 0,
        faketime,
    };
    let control = runner.build(&[], 0)?;
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
    Ok(Report {
        builds: builds.max(2),
        variations: applied,
        unavailable,
        reproducible: differences.is_empty(),
        differences,
        culprits,
        outputs,
        total_builds: runner.count,
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
