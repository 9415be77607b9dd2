//! The build sandbox: one command run in fresh Linux namespaces (user, mount, pid, net, uts,
//! ipc), the way bubblewrap does it but in-process, assuming the command wants out:
//!
//! - the build runs as an unprivileged user: the caller's own id, or when zt runs as root
//!   [`ROOT_CALLER_BUILD_ID`] (the id maps are written by zt, the child only takes them);
//! - the new root is a read-only tmpfs holding read-only, nosuid, nodev binds of the base
//!   system's `/usr`, `/bin`, `/sbin`, `/lib*`, `/opt` (from the host or `--rootfs`) and of
//!   each `--input`; `/etc` is generated (passwd, group, hosts, resolv.conf, nsswitch.conf)
//!   plus the public parts of the base system's listed in [`ETC_SHOWN`]; `/root`,
//!   `/home`, `/var`, `/run`, the host's `/tmp` and everything else are absent;
//! - the writable copy of the source tree is bound (nosuid, nodev) at the build path (default
//!   `/build/src`); `/tmp` is a fresh tmpfs; `/dev` holds only null, zero, full, random and
//!   urandom (no tty); `/proc` belongs to the new pid namespace;
//! - the network namespace is new, so there is only a loopback interface, and it is down;
//! - the hostname is fixed, the environment is exactly the one given, the umask is set;
//! - the command starts a new session (no controlling terminal) with only descriptors 0, 1
//!   and 2 open;
//! - Landlock allows writing only below the build path, `/tmp` and `/dev`, denies TCP
//!   bind/connect and signals out of the sandbox, and is required (ABI [`LANDLOCK_MIN_ABI`] or later); seccomp
//!   refuses the mount API, namespace creation, io_uring, ptrace, modules, keyrings, bpf and
//!   kexec.
//!
//! One clone3(2) call creates the child in all six namespaces at once; zt writes its id maps,
//! the child builds the new root (read-only binds made read-only recursively with one
//! mount_setattr(2) each), pivots into it and execs the command as pid 1 of its pid namespace,
//! so killing it ends every process of the build. Landlock and the seccomp programs (compiled
//! before the clone) come last; just before exec the child sends what it observed
//! ([`Observed`]) to zt, which records it in the provenance.
//!
//! The process that calls [`run`] must be single-threaded (the `zt` binary is): the child is a
//! copy of it, as after fork(2).

// The sandbox alone uses `unsafe` (fork, dup2 and exec); each block says why it is sound.
#![allow(unsafe_code)]

mod digests;
mod fanotify;
mod filter;
mod mounts;
mod observe;
mod watch;

use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, umount2};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, chdir, execve, pivot_root, sethostname};
use zeroize::Zeroizing;

pub use filter::{LANDLOCK_MAX_ABI, LANDLOCK_MIN_ABI, LandlockState};
pub use mounts::{ETC_SHOWN, etc_generated};
pub use observe::Observed;
pub use watch::{
    Behaviour, Connect, Exec, FileRead, MAX_ARGS, MAX_COMMANDS, MAX_EVENTS, files_before,
    writes_outside,
};

use crate::Error;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The base system whose directories are exposed read-only (`/` or a `--rootfs`).
    pub rootfs: PathBuf,
    /// Host path of the writable copy of the source tree (`None`: an empty tmpfs).
    pub source_copy: Option<PathBuf>,
    /// Where the copy appears inside (absolute), and the working directory.
    pub build_path: PathBuf,
    /// Extra host paths exposed read-only at the same path inside.
    pub inputs: Vec<PathBuf>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// Hostname inside.
    pub hostname: String,
    /// umask inside.
    pub umask: u32,
    /// User and group id the build sees (mapped to the caller's).
    pub uid: u32,
    /// Group id the build sees.
    pub gid: u32,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Host directory the new root is mounted on, in the sandbox's own mount namespace only
    /// (any existing directory not above the source copy and the inputs; its contents stay
    /// untouched).
    pub scratch: PathBuf,
    /// Host file that receives the command's stdout and stderr.
    pub log: PathBuf,
    /// Wrap the command with `faketime` (a string understood by libfaketime's
    /// `FAKETIME`); the library is looked up in the base system.
    pub faketime: Option<String>,
    /// Kill the whole sandbox after this long.
    pub timeout: Option<Duration>,
    /// Kill the whole sandbox once none of its processes has run for this long — every one
    /// asleep and no CPU time used: a deadlock, such as libfaketime's at the start of a program
    /// whose allocator reads the clock while it initialises (rustc's jemalloc). Reported as
    /// [`Exit::Stalled`]. `None`: only [`Spec::timeout`] ends a build early.
    pub stall: Option<Duration>,
    /// Files placed, 0600, in a tmpfs at [`SECRETS_DIR`].
    pub secrets: Vec<SecretFile>,
    /// Run even where Landlock is missing or too old (`--allow-weak-sandbox`); recorded.
    pub allow_weak: bool,
    /// The working directory inside (absolute, at or below `build_path`); `None`: the build
    /// path.
    pub workdir: Option<PathBuf>,
    /// The command's address-space limit in bytes (`RLIMIT_AS`, inherited by everything it
    /// starts); `None`: unlimited.
    pub memory_limit: Option<u64>,
    /// Host files (inside the source copy or the inputs) whose opening by the build is
    /// recorded, each with the name it is reported under ([`Behaviour::reads`]): matched by
    /// device and inode, so a link or another path to the file counts too. Where zt holds
    /// `CAP_SYS_ADMIN`, fanotify inode marks on these files see their openings and no other
    /// open is stopped; otherwise every open stops for the supervisor, which resolves the
    /// path named ([`Behaviour::opens_watched_by`] says which). Empty: opens are not watched
    /// (builds), which keeps them off the supervisor's path.
    pub watch_files: Vec<(PathBuf, String)>,
    /// A name server for `/etc/resolv.conf` (and `dns` in `nsswitch.conf`'s `hosts`), so
    /// that a name lookup becomes a connect the supervisor records; `None`: no name server,
    /// lookups end in the files.
    pub resolver: Option<String>,
    /// The most the command may write: `/tmp` becomes a tmpfs of at most this many bytes
    /// (a write past it fails with `ENOSPC`), and the file system holding the source copy is
    /// watched while the command runs — once it holds more than this many bytes, or
    /// [`WRITE_LIMIT_FILES`] more files, than when the command started, everything in the
    /// sandbox is killed ([`Exit::WriteLimit`]). `None`: neither (a tmpfs takes up to half
    /// the memory by default): a hostile command could fill the memory through a tmpfs, or
    /// the disk.
    pub write_limit: Option<u64>,
    /// A cache of the digests of the programs executed, by device, inode, size, mtime and
    /// ctime (`.zt/cache/program-digests` of the repository, for builds, tests and install
    /// hooks): a program hashed by an earlier run and unchanged since is not read again (see
    /// `sandbox/digests.rs`). `None`: every program is hashed.
    pub program_digests: Option<PathBuf>,
}

/// Under [`Spec::write_limit`], the most files the command may add to the file system of its
/// source copy (each costs the kernel memory on a tmpfs, whatever its size).
pub const WRITE_LIMIT_FILES: u64 = 1_000_000;

/// Where secrets appear inside the sandbox.
pub const SECRETS_DIR: &str = "/run/secrets";

/// A secret made available to the build as `/run/secrets/<name>`. Its `Debug` shows the name
/// only; the value is wiped from memory when dropped.
#[derive(Clone)]
pub struct SecretFile {
    /// The file name (validated by [`valid_secret_name`]).
    pub name: String,
    /// The value.
    pub value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFile")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Whether `name` can be a secret's file name: 1 to 64 of `A-Z a-z 0-9 _ . -`, not starting
/// with a dot.
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Killed by zt at the deadline ([`Spec::timeout`]), with everything else in the sandbox.
    TimedOut,
    /// Killed by zt, with everything else in the sandbox, after every process in it had slept
    /// without using the CPU for [`Spec::stall`].
    Stalled,
    /// Killed by zt, with everything else in the sandbox, when the file system of the source
    /// copy had grown by more than [`Spec::write_limit`] while it ran.
    WriteLimit,
}

impl Exit {
    /// Whether the command succeeded.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

/// Looks `cmd` up in the PATH of `env`, inside `rootfs` (and the inputs); returns the path as
/// seen inside the sandbox.
pub fn resolve_command(
    cmd: &str,
    env: &[(String, String)],
    rootfs: &Path,
    inputs: &[PathBuf],
) -> Option<PathBuf> {
    let exists = |inside: &Path| -> bool {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        let visible = mounts::BASE_DIRS.iter().any(|d| rel.starts_with(d))
            || inputs.iter().any(|i| inside.starts_with(i));
        let host = if inputs.iter().any(|i| inside.starts_with(i)) {
            inside.to_path_buf()
        } else {
            rootfs.join(rel)
        };
        visible && host.is_file()
    };
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        return (p.is_absolute() && exists(&p) || !p.is_absolute()).then_some(p);
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("/usr/bin:/bin");
    path.split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| exists(p))
}

/// The user and group id, on the host, of a build started by root: an id of no account (in
/// the range systemd documents as unused, 1878982656–2147352575), so that the build's
/// processes and files belong to nobody who matters on the host. A build started by another
/// user runs as that user.
pub const ROOT_CALLER_BUILD_ID: u32 = 0x7000_0000;

/// Whether zt runs as root with [`ROOT_CALLER_BUILD_ID`] mapped in its user namespace (the
/// initial one maps every id): then the build runs as that id. Root of a user namespace
/// without it (`unshare -Ur`) is no root on the host, and the build runs as it.
pub fn root_caller() -> bool {
    let covers = |path: &str| {
        fs_err::read_to_string(path).is_ok_and(|map| {
            map.lines().any(|l| {
                let n: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                matches!(n.as_slice(), [inside, _, count]
                    if *inside <= u64::from(ROOT_CALLER_BUILD_ID)
                        && u64::from(ROOT_CALLER_BUILD_ID) < inside + count)
            })
        })
    };
    nix::unistd::geteuid().is_root() && covers("/proc/self/uid_map") && covers("/proc/self/gid_map")
}

/// Gives `dir` and everything below it (not following links) to the user the build runs as,
/// when zt runs as root (see [`ROOT_CALLER_BUILD_ID`]): the scratch directory holding the
/// new root's mount point and the source copy, which the build must be able to write. A
/// no-op for other callers, whose files the build already owns.
pub fn hand_over(dir: &Path) -> Result<(), Error> {
    if !root_caller() {
        return Ok(());
    }
    fn walk(p: &Path) -> Result<(), Error> {
        std::os::unix::fs::lchown(p, Some(ROOT_CALLER_BUILD_ID), Some(ROOT_CALLER_BUILD_ID))
            .map_err(|e| Error::io(p, e))?;
        let meta = fs_err::symlink_metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            for e in fs_err::read_dir(p).map_err(|e| Error::io(p, e))? {
                walk(&e.map_err(|e| Error::io(p, e))?.path())?;
            }
        }
        Ok(())
    }
    walk(dir)
}

/// Runs the command in the sandbox and waits for it (at most `spec.timeout`; at the deadline
/// the whole pid namespace is killed and [`Exit::TimedOut`] returned).
pub fn run(spec: &Spec) -> Result<Exit, Error> {
    run_with(spec, || ()).map(|(exit, _, _, _)| exit)
}

/// [`run`], calling `during` in this process while the command runs (after it was exec'd;
/// not called when the set-up failed), and returning what the sandbox enforced as the child
/// saw it and what the build did ([`Behaviour`]; its `writes` are left to the caller, who
/// knows the source copy). The deadline counts from the exec, `during` included.
pub fn run_with<T>(
    spec: &Spec,
    during: impl FnOnce() -> T,
) -> Result<(Exit, Option<T>, Observed, Behaviour), Error> {
    let setup_started = Instant::now();
    let log = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|e| Error::io(&spec.log, e))?;
    let log: OwnedFd = log.into_parts().0.into();
    // Child → parent: the report (or the set-up error); closed by the exec.
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
    // Parent → child: "the id maps are written".
    let (go_rd, go_wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    // Everything the child needs (strings, the seccomp program) is prepared before the clone.
    let mut prepared = Prepared::new(spec, uid.as_raw(), gid.as_raw())?;
    // The write limit counts from before the clone: the set-up writes nothing there.
    let written = match (spec.write_limit, &spec.source_copy) {
        (Some(bytes), Some(copy)) => {
            Some(
                WriteWatch::new(copy, bytes).ok_or_else(|| Error::SandboxSetup {
                    detail: format!(
                        "statvfs {}: the file system cannot be measured for the write limit",
                        copy.display()
                    ),
                })?,
            )
        }
        _ => None,
    };
    let mut pidfd: nix::libc::c_int = -1;
    let flags = nix::libc::CLONE_NEWUSER
        | nix::libc::CLONE_NEWNS
        | nix::libc::CLONE_NEWPID
        | nix::libc::CLONE_NEWNET
        | nix::libc::CLONE_NEWUTS
        | nix::libc::CLONE_NEWIPC
        | nix::libc::CLONE_PIDFD;
    let args = CloneArgs {
        flags: flags as u64,
        pidfd: &raw mut pidfd as u64,
        exit_signal: nix::libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM and without a stack behaves like fork(2): the child gets a
    // copy of the address space. The calling process is single-threaded (documented
    // requirement of `run`; the zt binary never starts threads), so the child may allocate and
    // run ordinary code until it execs or `_exit`s.
    let pid = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_clone3,
            &raw const args,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 {
        let e = nix::errno::Errno::last();
        return Err(Error::NamespacesUnavailable {
            detail: format!("clone3 (user, mount, pid, net, uts, ipc namespaces): {e}"),
        });
    }
    if pid == 0 {
        drop(rd);
        drop(go_wr);
        let mut w = std::fs::File::from(wr);
        let err = match child(spec, &prepared, &log, go_rd, &mut w) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let _ = w.write_all(format!("E{err}").as_bytes());
        // SAFETY: `_exit` ends the child without running the parent's destructors or atexit
        // handlers twice.
        unsafe { nix::libc::_exit(127) }
    }
    let child = Pid::from_raw(pid as i32);
    // SAFETY: the kernel wrote a fresh pidfd for the child (CLONE_PIDFD); nothing else owns it.
    let pidfd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd) };
    drop(wr);
    drop(go_rd);
    // The id maps are written from here, where zt holds its own privileges: a child can map
    // only its own id, and a build started by root must not run as root.
    let mapped = write_id_maps(
        child,
        &prepared.uid_map,
        &prepared.gid_map,
        !prepared.root_caller,
    );
    // On failure the pipe closes at once, and the child gives up.
    let go_wr = mapped.is_ok().then(|| {
        let mut go = std::fs::File::from(go_wr);
        let _ = go.write_all(b"1");
        go
    });
    // The report comes first, as one line; the pipe then closes when the command is exec'd
    // (O_CLOEXEC) or carries the set-up error. The child's exec waits on its seccomp
    // listener, so the listener is taken and served before the rest is read.
    let mut rd = std::io::BufReader::new(std::fs::File::from(rd));
    let mut msg = String::new();
    let _ = std::io::BufRead::read_line(&mut rd, &mut msg);
    let exec_started = Instant::now();
    let build_uid = if prepared.root_caller {
        ROOT_CALLER_BUILD_ID
    } else {
        uid.as_raw()
    };
    let mut supervisor = None;
    let mut unavailable = None;
    if let Some(v) = msg
        .strip_prefix('R')
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r.trim_end()).ok())
    {
        match v.get("listenerFd").and_then(serde_json::Value::as_i64) {
            Some(fd) => {
                let started = i32::try_from(fd)
                    .map_err(|_| format!("listener descriptor {fd}"))
                    .and_then(|fd| watch::take_listener(&pidfd, fd))
                    .and_then(|listener| {
                        watch::Supervisor::start(watch::Watching {
                            listener,
                            opens: prepared.open_watch.take(),
                            build_uid,
                            fixed_root: spec.uid != 0,
                            watched: prepared.watched.clone(),
                            program_digests: spec.program_digests.clone(),
                        })
                        .map_err(|e| format!("supervisor thread: {e}"))
                    });
                match started {
                    Ok(s) => supervisor = Some(s),
                    Err(detail) => {
                        // Nobody would answer the command's exec: end the sandbox.
                        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                        let _ = waitpid(child, None);
                        return Err(Error::SandboxSetup {
                            detail: format!("behaviour recording: {detail}"),
                        });
                    }
                }
            }
            None => {
                // Nobody will answer the watched files' openings: close their group now, or
                // an opening would wait for an answer that never comes (the run is recorded
                // as unwatched instead).
                drop(prepared.open_watch.take());
                unavailable = Some(
                    v.get("listenerError")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("no seccomp listener")
                        .to_owned(),
                );
            }
        }
    }
    let _ = rd.read_to_string(&mut msg);
    // Held open until now: the child checks it to know that zt is still alive once its
    // parent-death signal is armed.
    drop(go_wr);
    let (report, error) = match msg.split_once('\n') {
        Some((r, rest)) if r.starts_with('R') => (r.get(1..), rest.strip_prefix('E')),
        _ => (None, msg.strip_prefix('E').or(Some(msg.as_str()))),
    };
    let error = error.filter(|e| !e.is_empty());
    let observed = report
        .filter(|_| error.is_none())
        .and_then(|r| serde_json::from_str(r).ok())
        .and_then(|v| Observed::from_message(&v))
        .map(|mut o| {
            o.seccomp_digest = prepared.seccomp.digest.to_string();
            o.weak_allowed = spec.allow_weak;
            o
        });
    let deadline = spec.timeout.map(spec_deadline);
    let running = observed.is_some();
    let extra = running.then(during);
    let waited = if running {
        wait_ended(
            &pidfd,
            deadline,
            spec.stall.map(|after| (after, child)),
            written.as_ref(),
        )
    } else {
        Waited::Ended
    };
    let timed_out = waited != Waited::Ended;
    if timed_out {
        // The child is pid 1 of its pid namespace: killing it kills every process in it.
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    }
    // wait4 rather than waitpid: its rusage is the build's CPU time and peak memory.
    let mut raw_status: nix::libc::c_int = 0;
    // SAFETY: rusage is plain data, written by wait4.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes one int and one rusage, both ours and alive for the call.
        let r = unsafe {
            nix::libc::wait4(
                child.as_raw(),
                &raw mut raw_status,
                nix::libc::__WALL,
                &raw mut usage,
            )
        };
        if r >= 0 {
            break;
        }
        let e = nix::errno::Errno::last();
        if e != nix::errno::Errno::EINTR {
            return Err(sys("wait4", e));
        }
    }
    let status = WaitStatus::from_raw(child, raw_status).map_err(|e| sys("wait4", e))?;
    let ms =
        |t: nix::libc::timeval| (t.tv_sec.max(0) as u64) * 1000 + (t.tv_usec.max(0) as u64) / 1000;
    let mut behaviour = Behaviour {
        recorded: match (&supervisor, unavailable) {
            (Some(_), _) => Ok(()),
            (None, Some(why)) => Err(why),
            (None, None) => Err("the set-up did not finish".into()),
        },
        duration_ms: u64::try_from(exec_started.elapsed().as_millis()).unwrap_or(u64::MAX),
        setup_ms: u64::try_from(exec_started.duration_since(setup_started).as_millis())
            .unwrap_or(u64::MAX),
        user_cpu_ms: ms(usage.ru_utime),
        system_cpu_ms: ms(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss.max(0) as u64,
        ..Behaviour::default()
    };
    if let Some(s) = supervisor {
        let f = s.finish();
        behaviour.executed = f.executed;
        behaviour.network = f.network;
        behaviour.reads = f.reads;
        behaviour.opens_watched_by = f.opens_watched_by;
        behaviour.commands = f.commands;
        behaviour.dropped = f.dropped;
    }
    if let Err(detail) = mapped {
        return Err(Error::NamespacesUnavailable { detail });
    }
    let Some(observed) = observed else {
        let detail = error
            .unwrap_or("the set-up ended without a report")
            .to_owned();
        return Err(if detail.starts_with("landlock") {
            Error::WeakSandbox { detail }
        } else {
            Error::SandboxSetup { detail }
        });
    };
    match waited {
        Waited::Deadline => return Ok((Exit::TimedOut, extra, observed, behaviour)),
        Waited::Stalled => return Ok((Exit::Stalled, extra, observed, behaviour)),
        Waited::WriteLimit => return Ok((Exit::WriteLimit, extra, observed, behaviour)),
        Waited::Ended => {}
    }
    let exit = match status {
        WaitStatus::Exited(_, code) => Exit::Code(code),
        WaitStatus::Signaled(_, sig, _) => Exit::Signal(sig as i32),
        _ => Exit::Code(-1),
    };
    Ok((exit, extra, observed, behaviour))
}

/// Writes the child's `setgroups` (denied unless zt is root: only root may drop its groups),
/// `uid_map` and `gid_map`.
fn write_id_maps(
    child: Pid,
    uid_map: &str,
    gid_map: &str,
    deny_setgroups: bool,
) -> Result<(), String> {
    let proc = format!("/proc/{child}");
    if deny_setgroups {
        write_file(&format!("{proc}/setgroups"), "deny").map_err(|e| format!("setgroups: {e}"))?;
    }
    write_file(&format!("{proc}/uid_map"), uid_map).map_err(|e| format!("uid_map: {e}"))?;
    write_file(&format!("{proc}/gid_map"), gid_map).map_err(|e| format!("gid_map: {e}"))
}

fn spec_deadline(limit: Duration) -> Instant {
    Instant::now() + limit
}

/// How waiting for the sandbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waited {
    /// The process ended.
    Ended,
    /// The deadline passed first.
    Deadline,
    /// Every process in the sandbox slept, using no CPU, for the stall limit.
    Stalled,
    /// The file system of the source copy grew past the write limit.
    WriteLimit,
}

/// How often a sandbox watched for a stall is sampled.
const STALL_SAMPLE: Duration = Duration::from_millis(200);

/// How often the file system of the source copy is measured under [`Spec::write_limit`]: a
/// command writing to a tmpfs at a few GB/s passes the limit by at most this long's worth.
const WRITE_SAMPLE: Duration = Duration::from_millis(50);

/// What the file system holding the source copy held when the command started, and how much
/// more it may hold ([`Spec::write_limit`]).
#[derive(Debug)]
struct WriteWatch {
    dir: PathBuf,
    bytes: u64,
    files: u64,
    start: (u64, u64),
}

impl WriteWatch {
    /// Bytes and files in use on the file system holding `dir`, from statvfs(2). Other
    /// processes' writes to the same file system count too: the limit is for a command that
    /// fills it, not an exact account.
    fn used(dir: &Path) -> Option<(u64, u64)> {
        let s = nix::sys::statvfs::statvfs(dir).ok()?;
        let bytes = (s.blocks().saturating_sub(s.blocks_free())).saturating_mul(s.fragment_size());
        let files = s.files().saturating_sub(s.files_free());
        Some((bytes, files))
    }

    fn new(dir: &Path, bytes: u64) -> Option<WriteWatch> {
        Some(WriteWatch {
            dir: dir.to_path_buf(),
            bytes,
            files: WRITE_LIMIT_FILES,
            start: Self::used(dir)?,
        })
    }

    /// Whether the file system has grown past the limit since the start.
    fn over(&self) -> bool {
        Self::used(&self.dir).is_some_and(|(bytes, files)| {
            bytes.saturating_sub(self.start.0) > self.bytes
                || files.saturating_sub(self.start.1) > self.files
        })
    }
}

/// Waits until `fd` is readable (a pidfd: the process ended), `deadline` passes, — with
/// `stall` = (limit, the sandbox's pid 1) — no process of the sandbox has run for `limit`, or
/// — with `written` — the file system of the source copy has grown past the write limit.
fn wait_ended(
    fd: &OwnedFd,
    deadline: Option<Instant>,
    stall: Option<(Duration, Pid)>,
    written: Option<&WriteWatch>,
) -> Waited {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let namespace = stall.and_then(|(_, init)| {
        std::fs::read_link(format!("/proc/{init}/ns/pid"))
            .ok()
            .map(|link| (link.into_os_string(), init))
    });
    let mut last: Option<(u64, Instant)> = None;
    loop {
        // Polled at least once, even past the deadline: a build that ended in time is not
        // reported as killed.
        let now = Instant::now();
        let left = deadline.map(|d| d.saturating_duration_since(now));
        let mut wait = left.unwrap_or(Duration::MAX);
        if namespace.is_some() {
            wait = wait.min(STALL_SAMPLE);
        }
        if written.is_some() {
            wait = wait.min(WRITE_SAMPLE);
        }
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return Waited::Ended,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Waited::Ended,
            Ok(_) => {}
        }
        if left.is_some_and(|l| l.is_zero()) {
            return Waited::Deadline;
        }
        if written.is_some_and(WriteWatch::over) {
            return Waited::WriteLimit;
        }
        if let (Some((ns, init)), Some((limit, _))) = (&namespace, stall) {
            let now = Instant::now();
            match namespace_activity(ns, *init) {
                // Something runs (or waits on the disk), or the CPU time moved: not stalled.
                Activity { busy: true, .. } => last = None,
                Activity { ticks, .. } => match last {
                    Some((seen, since)) if seen == ticks => {
                        if now.duration_since(since) >= limit {
                            return Waited::Stalled;
                        }
                    }
                    _ => last = Some((ticks, now)),
                },
            }
        }
    }
}

/// What the processes of one pid namespace are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Activity {
    /// CPU time used by them and by the children they waited for, in clock ticks: it only
    /// grows while the namespace lives (an ended process's time moves to its parent's).
    ticks: u64,
    /// One of them is running, runnable or in uninterruptible sleep (disk).
    busy: bool,
}

/// Sums `/proc/PID/stat` over the processes whose pid namespace is `ns` (the link
/// `/proc/PID/ns/pid` reads). A process that ends while it is read is skipped; `init`'s
/// own line is read even if the namespace link cannot be (it is the sandbox's pid 1).
fn namespace_activity(ns: &std::ffi::OsStr, init: Pid) -> Activity {
    let mut activity = Activity {
        ticks: 0,
        busy: false,
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // Without /proc nothing can be judged stalled.
        return Activity {
            ticks: 0,
            busy: true,
        };
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let member = pid == init.as_raw()
            || std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                .is_ok_and(|link| link.as_os_str() == ns);
        if !member {
            continue;
        }
        let Ok(stat) = fs_err::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((state, ticks)) = parse_stat(&stat) {
            activity.busy |= matches!(state, 'R' | 'D');
            activity.ticks = activity.ticks.saturating_add(ticks);
        }
    }
    activity
}

/// The state and the CPU ticks (utime + stime + cutime + cstime) of a `/proc/PID/stat` line.
/// The command name (field 2) may hold spaces and parentheses: fields are counted from the
/// last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Fields 14–17 of the line (utime, stime, cutime, cstime) are 11–14 after the state (3).
    let mut ticks = 0u64;
    for f in fields.get(11..15)? {
        ticks = ticks.saturating_add(f.parse::<i64>().ok()?.max(0) as u64);
    }
    Some((state, ticks))
}

/// Puts the calling thread in the `SCHED_IDLE` class: it then runs only on a CPU that nothing
/// else wants. Best effort; a kernel that refuses leaves the thread as it was.
pub fn idle_priority() {
    // SAFETY: `sched_param` is plain integers; all-zero is a valid value (priority 0). musl's
    // has more members than glibc's, so it is not built field by field.
    let mut param: nix::libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = 0;
    // SAFETY: sched_setscheduler reads the one `sched_param` passed; pid 0 is this thread.
    let _ = unsafe { nix::libc::sched_setscheduler(0, nix::libc::SCHED_IDLE, &raw const param) };
}

/// This thread's kernel id (for [`normal_priority`]).
pub fn this_thread_id() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { nix::libc::gettid() }
}

/// Raises thread `tid` of this process (one that called [`idle_priority`]) back to the normal
/// scheduling class.
pub fn normal_priority(tid: i32) {
    if tid <= 0 {
        return;
    }
    // SAFETY: as in `idle_priority`: a zeroed `sched_param` is priority 0.
    let mut param: nix::libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = 0;
    // SAFETY: sched_setscheduler reads the one `sched_param` passed; `tid` is a thread of
    // this process that is still running (its owner has not joined it).
    let _ = unsafe { nix::libc::sched_setscheduler(tid, nix::libc::SCHED_OTHER, &raw const param) };
}

/// `struct clone_args` of clone3(2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

fn sys(what: &'static str, e: nix::Error) -> Error {
    Error::SandboxSetup {
        detail: format!("{what}: {e}"),
    }
}

/// Everything converted before the clone, so that the child does little but system calls.
struct Prepared {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    uid_map: String,
    gid_map: String,
    /// zt's own namespaces, to tell which the child's differ from.
    parent_ns: Vec<String>,
    /// The Landlock ABI of the kernel.
    landlock_abi: i32,
    /// See [`root_caller`].
    root_caller: bool,
    seccomp: filter::Seccomp,
    /// Device and inode of each watched file ([`Spec::watch_files`]) and its name.
    watched: std::collections::HashMap<(u64, u64), String>,
    /// Where zt may use fanotify, the inode marks that see the watched files opened (then
    /// the seccomp program does not stop opens); taken by the supervisor.
    open_watch: Option<fanotify::OpenWatch>,
}

impl Prepared {
    fn new(spec: &Spec, uid: u32, gid: u32) -> Result<Prepared, Error> {
        let cs = |s: &str| {
            CString::new(s).map_err(|_| Error::SandboxSetup {
                detail: format!("`{s}` contains a NUL byte"),
            })
        };
        // Fail closed before anything runs: without Landlock (or with too old an ABI) the
        // build does not start unless the caller consented.
        let landlock_abi = filter::landlock_kernel_abi();
        if landlock_abi < filter::LANDLOCK_MIN_ABI && !spec.allow_weak {
            return Err(Error::WeakSandbox {
                detail: if landlock_abi <= 0 {
                    "the kernel has no Landlock (not built in, or not in `lsm=` at boot): the build could write wherever the mounts allow and connect over TCP".into()
                } else {
                    format!(
                        "the kernel's Landlock ABI {landlock_abi} is older than {} (Linux 6.7): TCP would not be restricted",
                        filter::LANDLOCK_MIN_ABI
                    )
                },
            });
        }
        let root = root_caller();
        let cmd = spec.argv.first().ok_or(Error::MissingCommand {
            command: String::new(),
        })?;
        // A program in the writable copy (a build script zt compiled there) is named by its
        // path inside.
        let in_copy = spec.source_copy.as_ref().and_then(|copy| {
            let rel = Path::new(cmd).strip_prefix(&spec.build_path).ok()?;
            copy.join(rel).is_file().then(|| PathBuf::from(cmd))
        });
        let resolved = in_copy
            .or_else(|| resolve_command(cmd, &spec.env, &spec.rootfs, &spec.inputs))
            .ok_or_else(|| Error::MissingCommand {
                command: cmd.clone(),
            })?;
        let mut env = spec.env.clone();
        if let Some(ft) = &spec.faketime {
            let lib = faketime_library(&spec.rootfs).ok_or(Error::SandboxSetup {
                detail:
                    "libfaketime is not installed in the base system (apt-get install faketime)"
                        .into(),
            })?;
            env.push(("LD_PRELOAD".into(), lib));
            env.push(("FAKETIME".into(), ft.clone()));
            env.push(("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()));
        }
        let files: Vec<PathBuf> = spec.watch_files.iter().map(|(p, _)| p.clone()).collect();
        let open_watch = fanotify::OpenWatch::new(&files);
        Ok(Prepared {
            path: cs(&resolved.to_string_lossy())?,
            argv: spec.argv.iter().map(|a| cs(a)).collect::<Result<_, _>>()?,
            envp: env
                .iter()
                .map(|(k, v)| cs(&format!("{k}={v}")))
                .collect::<Result<_, _>>()?,
            uid_map: format!(
                "{} {} 1",
                spec.uid,
                if root { ROOT_CALLER_BUILD_ID } else { uid }
            ),
            gid_map: format!(
                "{} {} 1",
                spec.gid,
                if root { ROOT_CALLER_BUILD_ID } else { gid }
            ),
            root_caller: root,
            parent_ns: observe::namespace_ids(),
            landlock_abi,
            seccomp: filter::seccomp(!spec.watch_files.is_empty() && open_watch.is_none())
                .map_err(|detail| Error::SandboxSetup { detail })?,
            open_watch,
            watched: spec
                .watch_files
                .iter()
                .map(|(path, name)| {
                    let m = fs_err::metadata(path).map_err(|e| Error::io(path, e))?;
                    Ok(((m.dev(), m.ino()), name.clone()))
                })
                .collect::<Result<_, Error>>()?,
        })
    }
}

/// libfaketime's path inside the base system (as seen in the sandbox), if installed.
pub fn faketime_library(rootfs: &Path) -> Option<String> {
    [
        "usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    ]
    .iter()
    .find(|l| rootfs.join(l).is_file())
    .map(|l| format!("/{l}"))
}

fn write_file(path: &str, s: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(s.as_bytes())
}

enum Never {}

/// The child, pid 1 of the new pid namespace and root of the new user namespace: waits for
/// its id maps, takes the build's ids, builds the root, pivots, starts a new session, applies
/// Landlock and seccomp, leaves only 0, 1 and 2 open across exec, reports what it enforced on
/// `report`, execs the command.
fn child(
    spec: &Spec,
    p: &Prepared,
    log: &OwnedFd,
    go: OwnedFd,
    report: &mut std::fs::File,
) -> Result<Never, String> {
    let mut byte = [0u8; 1];
    let mut go = std::fs::File::from(go);
    match go.read(&mut byte) {
        Ok(1) => {}
        _ => return Err("uid_map: the id maps were not written".into()),
    }
    // Host paths are resolved with zt's own credentials, before they are dropped.
    let plan = mounts::plan(spec)?;
    // From here the child is the build's user (unprivileged on the host, with capabilities
    // in its own namespaces only): the files it creates, and the build's, are owned by it.
    if p.root_caller {
        nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
    }
    let (uid, gid) = (
        nix::unistd::Uid::from_raw(spec.uid),
        nix::unistd::Gid::from_raw(spec.gid),
    );
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
    // Changing ids cleared the dumpable flag; /proc/self/fd (the plan's descriptors) is ours.
    nix::sys::prctl::set_dumpable(true).map_err(|e| format!("prctl: {e}"))?;
    // The build dies with zt (armed after the id change, which clears it). zt holds the other
    // end of `go` until the build runs: a hang-up means zt died before the signal was armed.
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("prctl: {e}"))?;
    {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut fds = [PollFd::new(go.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
            return Err("zt ended before the build started".into());
        }
    }
    drop(go);
    sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;
    mounts::build_root(spec, &plan)?;
    drop(plan);
    chdir(spec.scratch.as_path()).map_err(|e| format!("chdir new root: {e}"))?;
    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then removes
    // it without needing a directory for it.
    pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach old root: {e}"))?;
    let workdir = spec.workdir.as_ref().unwrap_or(&spec.build_path);
    chdir(workdir).map_err(|e| format!("chdir {}: {e}", workdir.display()))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(spec.umask));
    // No controlling terminal: TIOCSTI and friends have nothing to push keystrokes into.
    nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
    let landlock = filter::landlock(&spec.build_path, p.landlock_abi, !spec.allow_weak)?;
    let devnull = fs_err::File::open("/dev/null").map_err(|e| format!("open /dev/null: {e}"))?;
    // SAFETY: dup2 on file descriptors this process owns; no Rust object owns 0, 1 or 2.
    unsafe {
        if nix::libc::dup2(devnull.as_raw_fd(), 0) < 0
            || nix::libc::dup2(log.as_raw_fd(), 1) < 0
            || nix::libc::dup2(log.as_raw_fd(), 2) < 0
        {
            return Err("dup2: cannot redirect the build's output".into());
        }
    }
    // Every descriptor above 2 (whatever zt's caller left open, without close-on-exec) is
    // closed by the exec; the report pipe stays usable until then.
    // SAFETY: close_range only changes descriptor flags of this process.
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            3u32,
            u32::MAX,
            nix::libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        return Err(format!("close_range: {}", nix::errno::Errno::last()));
    }
    if let Some(limit) = spec.memory_limit {
        let lim = nix::libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: setrlimit reads the one `rlimit` passed, alive for the call.
        if unsafe { nix::libc::setrlimit(nix::libc::RLIMIT_AS, &raw const lim) } != 0 {
            return Err(format!("setrlimit: {}", nix::errno::Errno::last()));
        }
    }
    for program in &p.seccomp.programs {
        seccompiler::apply_filter(program).map_err(|e| format!("seccomp: {e}"))?;
    }
    // Last: the notification program whose listener zt takes (through the pidfd) to record
    // what the build executes and where it tries to connect. Held open until the exec
    // (close-on-exec); a kernel that refuses a second listener in the process tree leaves
    // the build unrecorded, and the provenance says so.
    // Watching opens, the listener must come after everything that opens a file before the
    // exec (collecting what was enforced reads /proc): nobody would answer until the report
    // is read. The filter it adds is counted then.
    let (listener, mut observed) = if spec.watch_files.is_empty() {
        let listener = filter::install_notify(&p.seccomp.notify);
        (listener, observe::collect(&p.parent_ns, &landlock))
    } else {
        let mut observed = observe::collect(&p.parent_ns, &landlock);
        let listener = filter::install_notify(&p.seccomp.notify);
        if listener.is_ok()
            && let Some(n) = observed["seccompFilters"].as_u64()
        {
            observed["seccompFilters"] = serde_json::json!(n + 1);
        }
        (listener, observed)
    };
    match &listener {
        Ok(fd) => observed["listenerFd"] = serde_json::json!(fd.as_raw_fd()),
        Err(e) => observed["listenerError"] = serde_json::json!(e),
    }
    report
        .write_all(format!("R{observed}\n").as_bytes())
        .map_err(|e| format!("report: {e}"))?;
    let e = execve(&p.path, &p.argv, &p.envp)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Err(format!("exec {}: {e}", p.path.to_string_lossy()))
}

/// Runs `argv` in the bare sandbox — an empty build directory, the fixed environment, output
/// discarded — and returns how it ended and how long the sandbox took from the clone to the
/// command's end. For measuring the sandbox's own start-up (`zt sandbox-probe`).
pub fn probe(argv: &[String]) -> Result<(Exit, Duration), Error> {
    // Nothing on disk: the new root is mounted over `/tmp` (in the sandbox's mount namespace
    // only) and the build directory is a tmpfs.
    let spec = Spec {
        rootfs: PathBuf::from("/"),
        source_copy: None,
        build_path: PathBuf::from(crate::build::BUILD_PATH),
        inputs: Vec::new(),
        env: crate::build::environment(0),
        hostname: crate::build::HOSTNAME.to_owned(),
        umask: 0o022,
        uid: 0,
        gid: 0,
        argv: argv.to_vec(),
        scratch: PathBuf::from("/tmp"),
        log: PathBuf::from("/dev/null"),
        faketime: None,
        timeout: None,
        stall: None,
        secrets: Vec::new(),
        allow_weak: false,
        workdir: None,
        memory_limit: None,
        watch_files: Vec::new(),
        resolver: None,
        write_limit: None,
        program_digests: None,
    };
    let t = Instant::now();
    let exit = run(&spec)?;
    Ok((exit, t.elapsed()))
}

/// Exchanges the paths `a` and `b` atomically (`renameat2(2)` with `RENAME_EXCHANGE`), both
/// relative to the working directory. Called through `syscall(2)`: glibc and musl do not both
/// wrap it.
pub fn rename_exchange(a: &std::path::Path, b: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call; the kernel reads
    // nothing else.
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_renameat2,
            nix::libc::AT_FDCWD,
            a.as_ptr(),
            nix::libc::AT_FDCWD,
            b.as_ptr(),
            nix::libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_state_and_ticks() {
        // utime 7, stime 3, cutime 20, cstime 5.
        let line = "4242 (rustc) S 1 4242 4242 0 -1 4194560 1234 0 0 0 7 3 20 5 20 0 1 0 99 0 0";
        assert_eq!(parse_stat(line), Some(('S', 35)));
        // A command name with spaces and parentheses: fields count from the last `)`.
        let odd = "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0";
        assert_eq!(parse_stat(odd), Some(('R', 2)));
        assert_eq!(parse_stat("12 (short) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn cpu_used_in_a_namespace_moves_its_ticks() {
        let me = Pid::this();
        let ns = std::fs::read_link(format!("/proc/{me}/ns/pid")).unwrap();
        let before = namespace_activity(ns.as_os_str(), me);
        // Burn ~100 ms of CPU in this thread: a process's line sums all its threads.
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        let after = namespace_activity(ns.as_os_str(), me);
        assert!(after.ticks > before.ticks, "{before:?} {after:?}");
    }
}
