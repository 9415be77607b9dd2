//! `zt deps intake --dynamic`: the package's install-time code run in `zt build`'s sandbox
//! (no network, a fake home of canary credentials, a time and an address-space limit), its
//! behaviour recorded by the sandbox's seccomp supervisor and judged by
//! `zt_deps::intake::dynamic`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zt_build::sandbox::{self, Behaviour, Exit, Spec};
use zt_deps::intake::dynamic::{
    self, Canaries, CanaryRead, Ended, Executed, Layout, NetAttempt, Observation, Report, Step,
    Tools, Write,
};
use zt_deps::intake::{Candidate, archive, malware};

use crate::Error;

/// The limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Each hook's wall-clock limit.
    pub time: Duration,
    /// Each hook's address-space limit (`RLIMIT_AS`), bytes.
    pub memory: u64,
    /// The most each hook may write, bytes: the size of the sandbox's `/tmp`, and how much
    /// the file system of the package's tree may grow while it runs before the hook is
    /// killed (the tree is on `/dev/shm`, i.e. in memory, where there is one).
    pub disk: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(120),
            memory: 4 << 30,
            disk: 2 << 30,
        }
    }
}

/// The name server written into the sandbox's `resolv.conf`: an address of TEST-NET-1
/// (RFC 5737), which routes nowhere, so that a name lookup shows as a connect to it.
pub const RESOLVER: &str = "192.0.2.53";

/// The mtime every file of the tree carries before the run, to tell what the hooks wrote.
const STAMP: i64 = 315_532_800;

/// The most bytes of a written file searched for canary values.
const MAX_LEAK_SCAN: u64 = 8 << 20;

/// The tools of the base system, found where the sandbox shows them (a Rust toolchain only
/// for a crate: asking `rustc` costs a process).
fn tools(ecosystem: zt_deps::Ecosystem) -> (Tools, Vec<PathBuf>) {
    let env = vec![("PATH".to_owned(), dynamic::plan_path().to_owned())];
    let root = Path::new("/");
    let find = |cmd: &str| {
        sandbox::resolve_command(cmd, &env, root, &[]).map(|p| p.to_string_lossy().into_owned())
    };
    let mut inputs = Vec::new();
    let node = find("node");
    // npm's own node-gyp, for a package whose install is `node-gyp rebuild`
    let node_gyp = find("npm")
        .and_then(|npm| fs_err::canonicalize(npm).ok())
        .and_then(|cli| {
            cli.ancestors()
                .find(|a| a.join("node_modules/node-gyp/bin/node-gyp.js").is_file())
                .map(Path::to_path_buf)
        })
        .and_then(|npm_root| {
            let js = npm_root.join("node_modules/node-gyp/bin/node-gyp.js");
            let bin = npm_root.join("node_modules/@npmcli/run-script/lib/node-gyp-bin");
            bin.is_dir().then(|| {
                (
                    js.to_string_lossy().into_owned(),
                    bin.to_string_lossy().into_owned(),
                )
            })
        });
    // A Rust toolchain outside the base system (rustup's) is shown read-only at its path.
    let rustc = (ecosystem == zt_deps::Ecosystem::CratesIo)
        .then(|| {
            std::process::Command::new(std::env::var_os("RUSTC").unwrap_or("rustc".into()))
                .args(["--print", "sysroot"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
                .filter(|s| s.join("bin/rustc").is_file())
                .map(|sysroot| {
                    if !["/usr", "/opt"].iter().any(|b| sysroot.starts_with(b)) {
                        inputs.push(sysroot.clone());
                    }
                    sysroot.join("bin/rustc").to_string_lossy().into_owned()
                })
        })
        .flatten();
    let tools = Tools {
        node,
        python: find("python3"),
        ruby: find("ruby"),
        rustc,
        node_gyp,
        node_headers: Path::new("/usr/include/node/node.h")
            .is_file()
            .then(|| "/usr".to_owned()),
    };
    (tools, inputs)
}

/// Where the temporary tree goes: `/dev/shm` when it is a tmpfs mounted without `noexec`
/// and `TMPDIR` is not set,
/// else the temporary directory. Thousands of files created and removed per intake on a
/// journalled file system make ext4's inode allocator skip every inode freed in the last
/// minutes (`recently_deleted`, reading the inode table for each): 5.5 s of kernel CPU for
/// core-js-pure (3,500 files) on this machine's `/tmp` after a few intakes, 0.1 s on tmpfs.
/// The tree is removed at the end of the run. A hook that makes the file system grow by more
/// than [`Limits::disk`] is killed ([`Exit::WriteLimit`]): on a tmpfs its files are memory,
/// so a hostile hook could otherwise fill half of the machine's. An explicit `TMPDIR` is
/// honoured.
fn tree_base() -> PathBuf {
    const SHM: &str = "/dev/shm";
    let tmpfs = || {
        fs_err::read_to_string("/proc/self/mountinfo").is_ok_and(|info| {
            info.lines().any(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                // mount point is field 5, its options field 6 (a hook may run what it
                // builds: not `noexec`); the type follows the " - " separator
                f.get(4) == Some(&SHM)
                    && f.get(5)
                        .is_some_and(|o| !o.split(',').any(|o| o == "noexec"))
                    && f.iter().position(|x| *x == "-").and_then(|i| f.get(i + 1)) == Some(&"tmpfs")
            })
        })
    };
    if std::env::var_os("TMPDIR").is_none() && tmpfs() {
        PathBuf::from(SHM)
    } else {
        std::env::temp_dir()
    }
}

/// Runs `c`'s install-time code and returns what it did, and the findings.
pub fn run(
    c: &Candidate,
    archive_limits: archive::Limits,
    limits: Limits,
    program_digests: &Path,
) -> Result<(Report, Vec<malware::Finding>), Error> {
    let tmp = tempfile::Builder::new()
        .prefix("zt-dynamic-")
        .tempdir_in(tree_base())
        .map_err(Error::Io)?;
    let scratch = tmp.path().join("root");
    let tree = tmp.path().join("home");
    fs_err::create_dir_all(&scratch)?;
    let layout = Layout::of(c);
    let pkg = Layout::host(&tree, &layout.package);
    fs_err::create_dir_all(&pkg)?;
    for o in &layout.outputs {
        fs_err::create_dir_all(Layout::host(&tree, o))?;
    }
    // The build user owns what it may write, when zt runs as root (see `sandbox::hand_over`).
    let owner = sandbox::root_caller()
        .then_some((sandbox::ROOT_CALLER_BUILD_ID, sandbox::ROOT_CALLER_BUILD_ID));
    let unpacked = dynamic::unpack(
        c,
        archive_limits,
        &pkg,
        dynamic::Finish {
            mtime: STAMP,
            owner,
        },
    )?;
    let home = Layout::host(&tree, Layout::HOME);
    let canaries = Canaries::new()?;
    canaries.write(&home)?;
    let (tools, inputs) = tools(c.ecosystem);
    let (hooks, nothing) = dynamic::plan(c, &pkg, &layout, &tools)?;
    let mut report = Report {
        canaries: canaries.files.iter().map(|f| f.path.to_owned()).collect(),
        canary_env: canaries.env.iter().map(|(k, _)| k.clone()).collect(),
        time_limit_s: limits.time.as_secs(),
        memory_limit: limits.memory,
        write_limit: limits.disk,
        nothing_to_run: nothing,
        hooks: Vec::new(),
    };
    if hooks.is_empty() {
        let findings = dynamic::judge(&report, Layout::HOME, &canaries);
        return Ok((report, findings));
    }
    let before = finish_rest(tmp.path(), &tree, &pkg, &unpacked, owner)?;
    let watch: Vec<(PathBuf, String)> = canaries
        .files
        .iter()
        .map(|f| (home.join(f.path), f.path.to_owned()))
        .collect();
    let mut reported = std::collections::BTreeSet::new();
    for (i, hook) in hooks.iter().enumerate() {
        let log = tmp.path().join(format!("log-{i}"));
        let spec = |step: &Step| Spec {
            rootfs: PathBuf::from("/"),
            source_copy: Some(tree.clone()),
            build_path: PathBuf::from(Layout::ROOT),
            inputs: inputs.clone(),
            env: environment(&canaries, &step.env),
            hostname: "builder".into(),
            umask: 0o022,
            uid: 1000,
            gid: 1000,
            argv: step.argv.clone(),
            scratch: scratch.clone(),
            log: log.clone(),
            faketime: None,
            timeout: Some(limits.time),
            stall: None,
            secrets: Vec::new(),
            allow_weak: false,
            workdir: Some(PathBuf::from(&step.workdir)),
            memory_limit: Some(limits.memory),
            watch_files: watch.clone(),
            resolver: Some(RESOLVER.into()),
            write_limit: Some(limits.disk),
            program_digests: Some(program_digests.to_path_buf()),
        };
        let mut obs = Observation {
            hook: hook.name.clone(),
            file: hook.file.clone(),
            command: hook.run.argv.clone(),
            ended: Ended::Exited { code: 0 },
            duration_ms: 0,
            setup_ms: 0,
            peak_rss_kib: 0,
            executed: Vec::new(),
            commands: Vec::new(),
            network: Vec::new(),
            canary_reads: Vec::new(),
            writes: Vec::new(),
            output_tail: String::new(),
            opens_watched_by: None,
            recorded: Ok(()),
        };
        if let Some(reason) = &hook.not_run {
            obs.ended = Ended::NotRun {
                reason: reason.clone(),
            };
            report.hooks.push(obs);
            continue;
        }
        if let Some(prepare) = &hook.prepare {
            let exit = sandbox::run(&spec(prepare))?;
            if !exit.success() {
                obs.ended = Ended::NotRun {
                    reason: format!(
                        "`{}` failed ({exit:?}; a build script with build-dependencies cannot be compiled without them): {}",
                        prepare.argv.first().map(String::as_str).unwrap_or_default(),
                        tail(&log, 400).lines().last().unwrap_or_default()
                    ),
                };
                report.hooks.push(obs);
                continue;
            }
            fs_err::write(&log, b"")?;
        }
        let (exit, _, _, behaviour) = sandbox::run_with(&spec(&hook.run), || ())?;
        obs.output_tail = tail(&log, 2000);
        obs.ended = match exit {
            Exit::Code(code)
                if code == dynamic::BACKEND_MISSING
                    && hook.name.starts_with("PEP 517")
                    && obs
                        .output_tail
                        .contains("cannot be imported in the sandbox") =>
            {
                Ended::NotRun {
                    reason: format!(
                        "{} (install the backend in the base system to run its hooks)",
                        last_line(&obs.output_tail)
                    ),
                }
            }
            Exit::Code(code) => Ended::Exited { code },
            Exit::Signal(signal) => Ended::Signal { signal },
            // No stall limit is set here: a hook that sleeps is watched until the time limit.
            Exit::TimedOut | Exit::Stalled => Ended::TimedOut {
                limit_s: limits.time.as_secs(),
            },
            Exit::WriteLimit => Ended::WriteLimit {
                limit_mib: limits.disk >> 20,
            },
        };
        observe(&mut obs, &behaviour, &hook.run);
        // What was written since the run began, not yet told of an earlier hook.
        for rel in sandbox::writes_outside(&tree, Path::new("\0"), &before, STAMP) {
            if !reported.insert(rel.clone()) {
                continue;
            }
            let inside = format!("{}/{rel}", Layout::ROOT);
            let in_package = std::iter::once(&layout.package)
                .chain(&layout.outputs)
                .any(|d| inside.starts_with(&format!("{d}/")));
            let host = tree.join(&rel);
            let leak = read_capped(&host).and_then(|b| canaries.find(&b, !in_package));
            obs.writes.push(Write {
                path: inside,
                in_package,
                leak,
            });
        }
        for e in &mut obs.executed {
            e.written = written(&e.path, &hook.run.workdir, &tree, &before);
        }
        report.hooks.push(obs);
    }
    let findings = dynamic::judge(&report, Layout::HOME, &canaries);
    // The evidence keeps what the hooks printed and ran, without the canary values.
    for h in &mut report.hooks {
        h.output_tail = canaries.redact(&h.output_tail);
        for c in &mut h.commands {
            for a in c.iter_mut() {
                *a = canaries.redact(a);
            }
        }
    }
    Ok((report, findings))
}

/// Stamps with [`STAMP`] and gives to `owner` everything in the temp dir `tmp` but the
/// package's directory `pkg`, which [`dynamic::unpack`] finished as it wrote it (the
/// directories above it, the home's canaries, the output directories, the scratch root);
/// returns every file of `tree` (relative path → size; `unpacked` is relative to `pkg`):
/// what `sandbox::writes_outside` compares against after each hook.
fn finish_rest(
    tmp: &Path,
    tree: &Path,
    pkg: &Path,
    unpacked: &std::collections::BTreeMap<String, u64>,
    owner: Option<(u32, u32)>,
) -> Result<std::collections::BTreeMap<String, u64>, Error> {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(STAMP as u64);
    let times = std::fs::FileTimes::new().set_modified(t).set_accessed(t);
    let mut before = std::collections::BTreeMap::new();
    let mut stack = vec![tmp.to_path_buf()];
    while let Some(p) = stack.pop() {
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::lchown(&p, Some(uid), Some(gid)).map_err(|e| {
                std::io::Error::new(e.kind(), format!("chown {}: {e}", p.display()))
            })?;
        }
        if p == pkg {
            continue;
        }
        let meta = fs_err::symlink_metadata(&p)?;
        if meta.is_dir() {
            for e in fs_err::read_dir(&p)? {
                stack.push(e?.path());
            }
        } else if let Ok(rel) = p.strip_prefix(tree) {
            before.insert(rel.to_string_lossy().into_owned(), meta.len());
        }
        if meta.is_dir() || meta.is_file() {
            fs_err::File::open(&p)?
                .file()
                .set_times(times)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("set times of {}: {e}", p.display()))
                })?;
        }
    }
    let prefix = pkg.strip_prefix(tree).unwrap_or(pkg);
    for (rel, size) in unpacked {
        before.insert(prefix.join(rel).to_string_lossy().into_owned(), *size);
    }
    Ok(before)
}

fn environment(canaries: &Canaries, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PATH", dynamic::plan_path()),
        ("HOME", Layout::HOME),
        ("USER", "build"),
        ("LOGNAME", "build"),
        ("SHELL", "/bin/sh"),
        ("TMPDIR", "/tmp"),
        ("TZ", "UTC"),
        ("LANG", "C.UTF-8"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(canaries.env.iter().cloned());
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

fn observe(obs: &mut Observation, b: &Behaviour, run: &Step) {
    obs.recorded = b.recorded.clone();
    obs.opens_watched_by = b.opens_watched_by.map(str::to_owned);
    obs.duration_ms = b.duration_ms;
    obs.setup_ms = b.setup_ms;
    obs.peak_rss_kib = b.peak_rss_kib;
    obs.commands = b.commands.clone();
    obs.executed = b
        .executed
        .iter()
        .map(|e| Executed {
            path: e.path.clone(),
            digest: e.digest.clone(),
            count: e.count,
            written: false,
        })
        .collect();
    // the hook's own command first
    if let Some(first) = run.argv.first()
        && let Some(i) = obs.executed.iter().position(|e| &e.path == first)
    {
        let e = obs.executed.remove(i);
        obs.executed.insert(0, e);
    }
    obs.network = b
        .network
        .iter()
        .map(|n| NetAttempt {
            family: n.family.clone(),
            address: n.address.clone(),
            port: n.port,
            program: n.program.clone(),
            count: n.count,
        })
        .collect();
    obs.canary_reads = b
        .reads
        .iter()
        .map(|r| CanaryRead {
            canary: r.file.clone(),
            path: r.path.clone(),
            program: r.program.clone(),
            count: r.count,
        })
        .collect();
}

/// Whether the program at `path` (as executed, relative to `workdir` when relative) was
/// written during the install: under `/tmp` (empty at the start), or in the tree and not
/// there before.
fn written(
    path: &str,
    workdir: &str,
    tree: &Path,
    before: &std::collections::BTreeMap<String, u64>,
) -> bool {
    let abs = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{workdir}/{path}")
    };
    let abs = normalise(&abs);
    if abs.starts_with("/tmp/") {
        return true;
    }
    match abs.strip_prefix(&format!("{}/", Layout::ROOT)) {
        Some(rel) => !before.contains_key(rel) && tree.join(rel).exists(),
        None => false,
    }
}

/// `a/./b/../c` → `a/c`, lexically.
fn normalise(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn read_capped(path: &Path) -> Option<Vec<u8>> {
    let m = fs_err::symlink_metadata(path).ok()?;
    if !m.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(fs_err::File::open(path).ok()?, MAX_LEAK_SCAN),
        &mut buf,
    )
    .ok()?;
    Some(buf)
}

fn tail(log: &Path, max: usize) -> String {
    let bytes = fs_err::read(log).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}
