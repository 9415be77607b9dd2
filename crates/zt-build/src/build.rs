//! `zt build`: a hermetic build of a source tree. The tree must be a clean git work tree
//! (unless `allow_dirty`); a copy of it (without `.git`, `.zt` and the output directory) is
//! built in the [sandbox](crate::sandbox) with a fixed environment and every file's mtime set to
//! SOURCE_DATE_EPOCH; on success the output
//! directory is copied back into the real tree and an unsigned SLSA v1 provenance statement
//! about every output is written to `.zt/provenance/` (see [`crate::provenance`]). The log
//! stays in `.zt/logs/` either way; a failed build writes no provenance.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

pub use zeroize::Zeroizing;

use crate::Error;
use crate::sandbox::{self, Exit, SecretFile, Spec};

/// Where the source copy appears inside the sandbox.
pub const BUILD_PATH: &str = "/build/src";
/// The hostname inside the sandbox.
pub const HOSTNAME: &str = "zt-build";

/// Where a build's secrets come from. zt-build asks for each secret named with `--secret`
/// when the build starts; the value goes to the sandbox's `/run/secrets/<name>` and nowhere
/// else (the provenance records the name only).
pub trait SecretSource: std::fmt::Debug + Send + Sync {
    /// The value of the secret `name`, read for `purpose` (said to the secret store, e.g. for
    /// its audit log); `Err` says why it cannot be read.
    fn read(&self, name: &str, purpose: &str) -> Result<Zeroizing<Vec<u8>>, String>;
}

/// A [`SecretSource`] reading `NAME=@FILE` secrets from local files, and asking `fallback`
/// for the others.
#[derive(Debug, Default)]
pub struct FileSecrets<F> {
    /// Secret name → file holding its value.
    pub files: std::collections::BTreeMap<String, PathBuf>,
    /// The source of secrets given by name only.
    pub fallback: F,
}

impl<F: SecretSource> SecretSource for FileSecrets<F> {
    fn read(&self, name: &str, purpose: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        match self.files.get(name) {
            Some(path) => fs_err::read(path)
                .map(Zeroizing::new)
                .map_err(|e| format!("cannot read `{}`: {}", path.display(), e.kind())),
            None => self.fallback.read(name, purpose),
        }
    }
}

/// Reads every secret `opts` names from its source.
pub fn read_secrets(opts: &Options, purpose: &str) -> Result<Vec<SecretFile>, Error> {
    let mut out: Vec<SecretFile> = Vec::new();
    for name in &opts.secrets {
        if !sandbox::valid_secret_name(name) {
            return Err(Error::Secret {
                name: name.clone(),
                detail: "a secret name is 1 to 64 letters, digits, `_`, `.` or `-`, not starting with `.`".into(),
            });
        }
        if out.iter().any(|s| &s.name == name) {
            continue;
        }
        let source = opts.secret_source.as_ref().ok_or_else(|| Error::Secret {
            name: name.clone(),
            detail: "no secret source is configured".into(),
        })?;
        let value = source.read(name, purpose).map_err(|detail| Error::Secret {
            name: name.clone(),
            detail,
        })?;
        out.push(SecretFile {
            name: name.clone(),
            value,
        });
    }
    Ok(out)
}

/// The digests of the programs builds and tests executed, kept by file identity
/// ([`sandbox::Spec::program_digests`]), relative to the tree.
pub(crate) const PROGRAM_DIGESTS: &str = ".zt/cache/program-digests";

/// How to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source tree (its root).
    pub tree: PathBuf,
    /// The output directory, relative to the tree.
    pub out: PathBuf,
    /// Extra paths exposed read-only (toolchains outside the base system).
    pub inputs: Vec<PathBuf>,
    /// The base system (default `/`).
    pub rootfs: PathBuf,
    /// Build a tree with uncommitted changes.
    pub allow_dirty: bool,
    /// SOURCE_DATE_EPOCH (default: the commit time).
    pub source_date_epoch: Option<i64>,
    /// The command.
    pub argv: Vec<String>,
    /// Kill the build (every process of it) after this long.
    pub timeout: Option<Duration>,
    /// Secrets the build gets as `/run/secrets/<name>` (names; values from `secret_source`).
    pub secrets: Vec<String>,
    /// Where secret values come from.
    pub secret_source: Option<Arc<dyn SecretSource>>,
    /// Build even where the sandbox cannot be fully enforced (no Landlock, or too old an
    /// ABI); the provenance records the consent and what was enforced.
    pub allow_weak_sandbox: bool,
    /// The package source pinned for the build (the curated mirror as file registries).
    pub package_source: Option<PackageSource>,
}

/// A package source the build is pinned to: a host directory shown read-only at the same
/// path, the environment and the files that point the package managers at it, and how the
/// provenance records it.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSource {
    /// The host directory (read-only inside, at the same path).
    pub dir: PathBuf,
    /// Variables added to the build's environment.
    pub env: Vec<(String, String)>,
    /// Text appended to files of the build's copy of the tree (path relative to the tree),
    /// e.g. Cargo's `[source]` replacement in `.cargo/config.toml`.
    pub files: Vec<(PathBuf, String)>,
    /// The provenance's `resolvedDependencies` entries for it: the source itself first, then
    /// each package from it the build's lockfiles pin.
    pub records: Vec<serde_json::Value>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            tree: PathBuf::from("."),
            out: PathBuf::from("out"),
            inputs: Vec::new(),
            rootfs: PathBuf::from("/"),
            allow_dirty: false,
            source_date_epoch: None,
            argv: Vec::new(),
            timeout: None,
            secrets: Vec::new(),
            secret_source: None,
            allow_weak_sandbox: false,
            package_source: None,
        }
    }
}

/// The state of the source tree.
#[derive(Debug, Clone)]
pub struct SourceState {
    /// The HEAD commit, if the tree is a git work tree.
    pub commit: Option<String>,
    /// Whether the tree had uncommitted changes (built with `allow_dirty`).
    pub dirty: bool,
    /// SOURCE_DATE_EPOCH used.
    pub source_date_epoch: i64,
}

/// One output file.
#[derive(Debug, Clone)]
pub struct Output {
    /// Path relative to the tree.
    pub path: PathBuf,
    /// Its sha256.
    pub digest: zt_core::Digest,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The source tree (canonical path).
    pub tree: PathBuf,
    /// How the command ended.
    pub exit: Exit,
    /// The build log.
    pub log: PathBuf,
    /// The source state.
    pub source: SourceState,
    /// The outputs placed in the tree (empty when the build failed).
    pub outputs: Vec<Output>,
    /// Wall-clock time the sandboxed command took, set-up included (for reports only; never
    /// hashed).
    pub sandbox_elapsed: std::time::Duration,
    /// The invocation id (also in the log and provenance file names).
    pub invocation_id: String,
    /// The unsigned SLSA provenance and where it was written; `None` when the build failed.
    pub provenance: Option<(zt_core::Statement, PathBuf)>,
    /// What the sandbox enforced, as observed from inside just before the command ran.
    pub sandbox: sandbox::Observed,
    /// What the build did: programs executed, network attempts, writes outside the output,
    /// time, CPU, memory (see `sandbox::Behaviour`).
    pub behaviour: sandbox::Behaviour,
}

fn git(tree: &Path, args: &[&str]) -> Option<std::process::Child> {
    Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

fn git_output(child: Option<std::process::Child>) -> Option<String> {
    let out = child?.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Checks the tree: commit, cleanliness, SOURCE_DATE_EPOCH (two `git` processes, run at the
/// same time).
pub fn source_state(opts: &Options) -> Result<SourceState, Error> {
    let out_spec = format!(":!{}", opts.out.display());
    let head = git(&opts.tree, &["log", "-1", "--format=%H %ct"]);
    let status = git(
        &opts.tree,
        &["status", "--porcelain", "--", ".", ":!.zt", &out_spec],
    );
    let head = git_output(head);
    let status = git_output(status);
    let (commit, time) = match head.as_deref().and_then(|h| h.split_once(' ')) {
        Some((c, t)) => (Some(c.to_owned()), t.parse::<i64>().ok()),
        None => (None, None),
    };
    let (dirty, detail) = match (&commit, &status) {
        (None, _) => (true, "not a git work tree with a commit".to_owned()),
        (Some(_), None) => (true, "`git status` failed".to_owned()),
        (Some(_), Some(s)) if !s.is_empty() => (
            true,
            format!("{} changed or untracked path(s)", s.lines().count()),
        ),
        _ => (false, String::new()),
    };
    if dirty && !opts.allow_dirty {
        return Err(Error::DirtyTree {
            path: opts.tree.clone(),
            detail,
        });
    }
    let sde = opts.source_date_epoch.or(time).unwrap_or(0);
    Ok(SourceState {
        commit,
        dirty,
        source_date_epoch: sde,
    })
}

/// Points the build's copy of the tree and its environment at a pinned package source: its
/// directory joins the read-only inputs, its variables the environment, its file texts are
/// appended to the copy's files (created if absent).
fn pin_package_source(
    copy: &Path,
    ps: &PackageSource,
    inputs: &mut Vec<PathBuf>,
    env: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    inputs.push(ps.dir.clone());
    for (k, v) in &ps.env {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    for (rel, text) in &ps.files {
        let path = copy.join(rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut old = match fs_err::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        if !old.is_empty() && !old.ends_with('\n') {
            old.push('\n');
        }
        old.push_str(text);
        fs_err::write(&path, old).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// The environment every build gets, and nothing else.
pub fn environment(sde: i64) -> Vec<(String, String)> {
    [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        ),
        ("HOME", "/tmp".to_owned()),
        ("TMPDIR", "/tmp".to_owned()),
        ("TZ", "UTC".to_owned()),
        ("LC_ALL", "C.UTF-8".to_owned()),
        ("LANG", "C.UTF-8".to_owned()),
        ("SOURCE_DATE_EPOCH", sde.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Copies `from` into `to` (a new directory), skipping the top-level names in `skip`; files,
/// directories and symlinks with their permission bits, in sorted order.
pub fn copy_tree(from: &Path, to: &Path, skip: &[&Path]) -> Result<(), Error> {
    copy_tree_ordered(from, to, skip, false)
}

/// [`copy_tree`], creating entries in reverse name order when `reverse` (so that directory
/// listing order differs on file systems that list in creation order).
pub fn copy_tree_ordered(
    from: &Path,
    to: &Path,
    skip: &[&Path],
    reverse: bool,
) -> Result<(), Error> {
    fs_err::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let mut entries = sorted_entries(from)?;
    if reverse {
        entries.reverse();
    }
    for e in entries {
        let src = e.path();
        let rel = src.strip_prefix(from).unwrap_or(&src);
        if skip.contains(&rel) {
            continue;
        }
        let dst = to.join(e.file_name());
        let meta = fs_err::symlink_metadata(&src).map_err(|err| Error::io(&src, err))?;
        if meta.file_type().is_symlink() {
            let link = fs_err::read_link(&src).map_err(|err| Error::io(&src, err))?;
            std::os::unix::fs::symlink(link, &dst).map_err(|err| Error::io(&dst, err))?;
        } else if meta.is_dir() {
            copy_tree_ordered(&src, &dst, &[], reverse)?;
            fs_err::set_permissions(&dst, meta.permissions())
                .map_err(|err| Error::io(&dst, err))?;
        } else if meta.is_file() {
            fs_err::copy(&src, &dst).map_err(|err| Error::io(&dst, err))?;
        }
    }
    Ok(())
}

/// Sets the modification and access time of every file and directory below `dir` (not following links).
pub fn set_mtimes(dir: &Path, secs: i64) -> Result<(), Error> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    let times = std::fs::FileTimes::new().set_modified(t).set_accessed(t);
    let entries = fs_err::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        let ft = e.file_type().map_err(|err| Error::io(&p, err))?;
        if ft.is_dir() {
            set_mtimes(&p, secs)?;
        }
        if ft.is_dir() || ft.is_file() {
            fs_err::File::open(&p)
                .and_then(|f| f.file().set_times(times))
                .map_err(|err| Error::io(&p, err))?;
        }
    }
    fs_err::File::open(dir)
        .and_then(|f| f.file().set_times(times))
        .map_err(|err| Error::io(dir, err))
}

/// The entries of `dir`, sorted by name (the order every walk of a tree uses, so that digests
/// and copies do not depend on the file system's).
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<fs_err::DirEntry>, Error> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// Refuses an `--out` that is a symbolic link in the tree: the swap replaces what is at that
/// path, and a link there (a hostile commit's) must not make zt replace anything elsewhere.
pub fn refuse_unsafe_out(tree: &Path, out: &Path) -> Result<(), Error> {
    let mut at = tree.to_path_buf();
    for part in out.components() {
        at.push(part);
        if fs_err::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::OutputIsLink { path: at });
        }
    }
    Ok(())
}

/// Puts the directory `staged` at `dest`: exchanged with what is there in one `renameat2`
/// (`RENAME_EXCHANGE`), then the old contents removed; or renamed into place when there was
/// nothing. `staged` (absent when the build wrote no outputs) becomes an empty `dest`.
fn swap_into_place(staged: &Path, dest: &Path) -> Result<(), Error> {
    if !staged.exists() {
        fs_err::create_dir_all(staged).map_err(|e| Error::io(staged, e))?;
    }
    if let Some(parent) = dest.parent() {
        fs_err::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    if fs_err::symlink_metadata(dest).is_ok() {
        crate::sandbox::rename_exchange(staged, dest).map_err(|e| Error::io(dest, e))?;
        // `staged` now holds the previous outputs.
        let old = fs_err::symlink_metadata(staged).map_err(|e| Error::io(staged, e))?;
        if old.is_dir() {
            fs_err::remove_dir_all(staged).map_err(|e| Error::io(staged, e))?;
        } else {
            fs_err::remove_file(staged).map_err(|e| Error::io(staged, e))?;
        }
    } else {
        fs_err::rename(staged, dest).map_err(|e| Error::io(dest, e))?;
    }
    Ok(())
}

/// A fresh random invocation id (32 hex digits).
pub fn invocation_id() -> String {
    let mut b = [0u8; 16];
    let ok = fs_err::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if ok.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = t.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Copies the build's outputs from the source copy into `tree/out`, without following any
/// link the build left (see [`crate::collect`]): files and directories with their permission
/// bits masked to 0o777, relative links that stay inside `out` as links; a link leading out
/// is an error before anything is placed. Returns the files with their digests.
fn collect_outputs(copy: &Path, tree: &Path, out: &Path) -> Result<Vec<Output>, Error> {
    use std::os::unix::fs::PermissionsExt as _;
    // First pass: refuse links out before writing anything into the real tree.
    let exists = crate::collect::walk(copy, out, &mut |path, entry| match entry {
        crate::collect::Entry::Symlink(target) => crate::collect::check_link(out, path, &target),
        _ => Ok(()),
    })?;
    let mut outputs = Vec::new();
    if !exists {
        return Ok(outputs);
    }
    let mut dirs = Vec::new();
    let dest = tree.join(out);
    fs_err::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
    crate::collect::walk(copy, out, &mut |path, entry| {
        let to = tree.join(path);
        match entry {
            crate::collect::Entry::Dir(mode) => {
                fs_err::create_dir(&to).map_err(|e| Error::io(&to, e))?;
                // Set after the files are in: a read-only directory would refuse them.
                dirs.push((to, mode));
            }
            crate::collect::Entry::File(mut from, mode) => {
                let mut file = fs_err::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&to)
                    .map_err(|e| Error::io(&to, e))?;
                std::io::copy(&mut from, &mut file).map_err(|e| Error::io(&to, e))?;
                file.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(&to, e))?;
                drop(file);
                // Streamed: an output may be larger than memory.
                let reread = fs_err::File::open(&to).map_err(|e| Error::io(&to, e))?;
                let digest = zt_core::Digest::of_reader(zt_core::DigestAlgorithm::Sha256, reread)
                    .map_err(|e| Error::io(&to, e))?;
                outputs.push(Output {
                    path: path.to_path_buf(),
                    digest,
                });
            }
            crate::collect::Entry::Symlink(target) => {
                std::os::unix::fs::symlink(&target, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        Ok(())
    })?;
    for (dir, mode) in dirs.into_iter().rev() {
        fs_err::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(&dir, e))?;
    }
    Ok(outputs)
}

/// Runs a build: checks, copies, runs in the sandbox, and on success places the outputs.
pub fn build(opts: &Options) -> Result<Outcome, Error> {
    let tree = fs_err::canonicalize(&opts.tree).map_err(|e| Error::io(&opts.tree, e))?;
    let opts = &Options {
        tree,
        ..opts.clone()
    };
    refuse_unsafe_out(&opts.tree, &opts.out)?;
    let source = source_state(opts)?;
    let id = invocation_id();
    let secrets = read_secrets(opts, &format!("zt build {id}"))?;
    let logs = opts.tree.join(".zt/logs");
    fs_err::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let log = logs.join(format!("build-{id}.log"));
    let scratch = tempfile::Builder::new()
        .prefix("zt-build-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let copy = scratch.path().join("src");
    let root = scratch.path().join("root");
    fs_err::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    copy_tree(
        &opts.tree,
        &copy,
        &[Path::new(".git"), Path::new(".zt"), &opts.out],
    )?;
    let mut inputs = opts.inputs.clone();
    let mut env = environment(source.source_date_epoch);
    if let Some(ps) = &opts.package_source {
        pin_package_source(&copy, ps, &mut inputs, &mut env)?;
    }
    // The copy's files all carry SOURCE_DATE_EPOCH, not the time of the copy.
    set_mtimes(&copy, source.source_date_epoch)?;
    let before = sandbox::files_before(&copy);
    sandbox::hand_over(scratch.path())?;
    let spec = Spec {
        rootfs: opts.rootfs.clone(),
        source_copy: Some(copy.clone()),
        build_path: PathBuf::from(BUILD_PATH),
        inputs,
        env,
        hostname: HOSTNAME.to_owned(),
        umask: 0o022,
        uid: 0,
        gid: 0,
        argv: opts.argv.clone(),
        scratch: root,
        log: log.clone(),
        faketime: None,
        timeout: opts.timeout,
        stall: None,
        secrets,
        allow_weak: opts.allow_weak_sandbox,
        workdir: None,
        memory_limit: None,
        watch_files: Vec::new(),
        resolver: None,
        write_limit: None,
        program_digests: Some(opts.tree.join(PROGRAM_DIGESTS)),
    };
    let started = std::time::SystemTime::now();
    // The pinned inputs (toolchain and input digests, lockfiles, OS) are collected while the
    // build runs (the build cannot change them), on a thread of idle priority: it uses the
    // CPU time the build leaves idle, so that it does not slow the build down. If it has not
    // finished when the build has (a machine busy with other work starves an idle thread), it
    // is raised to normal priority and waited for: no thread may outlive the build. The next
    // sandbox (a rebuild, the faketime probe) is started with clone3, which copies the address
    // space as fork(2) does but without glibc's fork handlers, so a thread caught inside the
    // allocator at that moment would leave the child waiting forever on the allocator's lock
    // (seen: a CI run hung in the faketime probe's child, in `realloc`, while the previous
    // build's idle thread was still hashing on a loaded machine).
    let (exit, digests, observed, mut behaviour) = sandbox::run_with(&spec, || {
        let (tx, rx) = std::sync::mpsc::channel();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (opts, source) = (opts.clone(), source.clone());
        let spawned = std::thread::Builder::new()
            .name("zt-input-digests".into())
            .spawn(move || {
                let _ = tid_tx.send(sandbox::this_thread_id());
                sandbox::idle_priority();
                let _ = tx.send(crate::provenance::resolved_dependencies(&opts, &source));
            });
        let handle = spawned.ok()?;
        let tid = tid_rx.recv().ok()?;
        Some(InputDigests { rx, tid, handle })
    })?;
    let deps = digests.flatten().and_then(InputDigests::wait);
    let finished = std::time::SystemTime::now();
    drop(spec);
    behaviour.writes = sandbox::writes_outside(&copy, &opts.out, &before, source.source_date_epoch);
    // No stall limit is set for a build: only its timeout ends it early.
    if matches!(exit, Exit::TimedOut | Exit::Stalled) {
        return Err(Error::TimedOut {
            after: opts.timeout.unwrap_or_default(),
            log,
        });
    }
    // The outputs are collected into a staging directory in `.zt/tmp` (the same filesystem
    // as the tree) and swapped into `--out` in one rename: the previous build's outputs are
    // replaced whole, never mixed with these, and a failed build leaves them as they were.
    let outputs = if exit.success() {
        let staging = opts.tree.join(".zt/tmp").join(format!("out-{id}"));
        let _ = fs_err::remove_dir_all(&staging);
        fs_err::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        let collected = collect_outputs(&copy, &staging, &opts.out);
        let placed = collected.and_then(|outputs| {
            swap_into_place(&staging.join(&opts.out), &opts.tree.join(&opts.out))?;
            Ok(outputs)
        });
        let _ = fs_err::remove_dir_all(&staging);
        placed?
    } else {
        Vec::new()
    };
    let mut outcome = Outcome {
        tree: opts.tree.clone(),
        exit,
        log,
        source,
        outputs,
        sandbox_elapsed: finished.duration_since(started).unwrap_or_default(),
        invocation_id: id,
        provenance: None,
        sandbox: observed,
        behaviour,
    };
    if exit.success() {
        let deps = match deps {
            Some(deps) => deps?,
            None => crate::provenance::resolved_dependencies(opts, &outcome.source)?,
        };
        let run = crate::provenance::Run {
            invocation_id: outcome.invocation_id.clone(),
            started,
            finished,
            hermetic: !outcome.source.dirty && outcome.sandbox.enforced(),
            reproducible: None,
        };
        let statement = crate::provenance::statement(opts, &outcome, &run, deps);
        let path = crate::provenance::write(&opts.tree, &outcome.invocation_id, &statement)?;
        outcome.provenance = Some((statement, path));
    }
    Ok(outcome)
}

/// The thread collecting a build's pinned inputs at idle priority (see [`build`]).
struct InputDigests {
    rx: std::sync::mpsc::Receiver<Result<Vec<serde_json::Value>, Error>>,
    tid: i32,
    handle: std::thread::JoinHandle<()>,
}

impl InputDigests {
    /// Its result, once it has ended: at once if it is done, else after raising it to normal
    /// priority. `None` if it failed to deliver (the caller collects them itself).
    fn wait(self) -> Option<Result<Vec<serde_json::Value>, Error>> {
        let got = match self.rx.try_recv() {
            Ok(v) => Some(v),
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                sandbox::normal_priority(self.tid);
                self.rx.recv().ok()
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => None,
        };
        let _ = self.handle.join();
        got
    }
}

/// Where a sandboxed test run's JUnit report is written, relative to the source copy (the
/// `{junit}` of the test command).
pub const TEST_JUNIT: &str = ".zt-test-junit.xml";

/// What a sandboxed test run left: how it ended and its JUnit report, if it wrote one.
#[derive(Debug)]
pub struct TestRun {
    /// How the test command ended.
    pub exit: Exit,
    /// The report the command wrote to `{junit}`, read back out of the sandbox.
    pub junit: Option<Vec<u8>>,
}

/// Runs a repository's test command in the build sandbox, as hostile as a build: a copy of
/// the tree (the build's outputs included, `.git` and zt's `.zt` state left out: the tests
/// see no key, no secret store, no evidence) at the build path, no network, the base system
/// read-only, the same seccomp and Landlock rules. `{junit}` in `argv` becomes a path in
/// the copy; the report is read back after the run. Output goes to `log`. `inputs` are
/// shown read-only as for a build (toolchains outside the base system).
pub fn test(
    tree: &Path,
    argv: &[String],
    inputs: &[PathBuf],
    log: &Path,
    timeout: Option<Duration>,
    allow_weak_sandbox: bool,
) -> Result<TestRun, Error> {
    let tree = fs_err::canonicalize(tree).map_err(|e| Error::io(tree, e))?;
    let scratch = tempfile::Builder::new()
        .prefix("zt-test-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let copy = scratch.path().join("src");
    let root = scratch.path().join("root");
    fs_err::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    copy_tree(&tree, &copy, &[Path::new(".git"), Path::new(".zt")])?;
    sandbox::hand_over(scratch.path())?;
    let junit_inside = Path::new(BUILD_PATH).join(TEST_JUNIT);
    let argv = argv
        .iter()
        .map(|a| a.replace("{junit}", &junit_inside.to_string_lossy()))
        .collect();
    let spec = Spec {
        rootfs: PathBuf::from("/"),
        source_copy: Some(copy.clone()),
        build_path: PathBuf::from(BUILD_PATH),
        inputs: inputs.to_vec(),
        env: environment(0),
        hostname: HOSTNAME.to_owned(),
        umask: 0o022,
        uid: 0,
        gid: 0,
        argv,
        scratch: root,
        log: log.to_path_buf(),
        faketime: None,
        timeout,
        stall: None,
        secrets: Vec::new(),
        allow_weak: allow_weak_sandbox,
        workdir: None,
        memory_limit: None,
        watch_files: Vec::new(),
        resolver: None,
        write_limit: None,
        program_digests: Some(tree.join(PROGRAM_DIGESTS)),
    };
    let exit = sandbox::run(&spec)?;
    drop(spec);
    // Read without following a link the tests may have planted in its place.
    let report = copy.join(TEST_JUNIT);
    let junit = match fs_err::symlink_metadata(&report) {
        Ok(m) if m.is_file() => Some(fs_err::read(&report).map_err(|e| Error::io(&report, e))?),
        _ => None,
    };
    Ok(TestRun { exit, junit })
}
