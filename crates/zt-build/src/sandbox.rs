//! The build sandbox: one command run in fresh Linux namespaces (user, mount, pid, net, uts,
//! ipc), the way bubblewrap does it but in-process:
//!
//! - the new root is a read-only tmpfs holding read-only binds of the base system's `/usr`,
//!   `/bin`, `/sbin`, `/lib*`, `/etc`, `/opt` (from the host or `--rootfs`) and of each
//!   `--input`; `/root`, `/home`, `/var`, `/run`, the host's `/tmp` and everything else are
//!   absent;
//! - the writable copy of the source tree is bound at the build path (default `/build/src`);
//!   `/tmp` is a fresh tmpfs; `/dev` holds only null, zero, full, random, urandom and tty;
//!   `/proc` belongs to the new pid namespace;
//! - the network namespace is new, so there is only a loopback interface, and it is down;
//! - the hostname is fixed, the environment is exactly the one given, the umask is set;
//! - Landlock (where the kernel has it) allows writing only below the build path, `/tmp` and
//!   `/dev`, and denies TCP bind/connect; a seccomp filter refuses mount, namespace, ptrace,
//!   module, keyring, bpf and kexec system calls with `EPERM`.
//!
//! One clone3(2) call creates the child in all six namespaces at once; the child maps its own
//! ids, builds the new root (read-only binds made read-only recursively with one
//! mount_setattr(2) each), pivots into it and execs the command as pid 1 of its pid namespace,
//! so killing it ends every process of the build. Landlock and the seccomp program (compiled
//! before the clone) come last.
//!
//! The process that calls [`run`] must be single-threaded (the `zt` binary is): the child is a
//! copy of it, as after fork(2).

// The sandbox alone uses `unsafe` (fork, dup2 and exec); each block says why it is sound.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{Pid, chdir, execve, pivot_root, sethostname};
use zeroize::Zeroizing;

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
    /// Files placed, 0600, in a tmpfs at [`SECRETS_DIR`].
    pub secrets: Vec<SecretFile>,
}

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
}

impl Exit {
    /// Whether the command succeeded.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

/// The directories of the base system exposed in the sandbox.
const BASE_DIRS: &[&str] = &[
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt",
];
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

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
        let visible = BASE_DIRS.iter().any(|d| rel.starts_with(d))
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

/// Runs the command in the sandbox and waits for it (at most `spec.timeout`; at the deadline
/// the whole pid namespace is killed and [`Exit::TimedOut`] returned).
pub fn run(spec: &Spec) -> Result<Exit, Error> {
    run_with(spec, || ()).map(|(exit, _)| exit)
}

/// [`run`], calling `during` in this process while the command runs (after it was exec'd;
/// not called when the set-up failed). The deadline counts from the exec, `during` included.
pub fn run_with<T>(spec: &Spec, during: impl FnOnce() -> T) -> Result<(Exit, Option<T>), Error> {
    let log = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|e| Error::io(&spec.log, e))?;
    let log: OwnedFd = log.into_parts().0.into();
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    // Everything the child needs (strings, the seccomp program) is prepared before the clone.
    let prepared = Prepared::new(spec, uid.as_raw(), gid.as_raw())?;
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
        let err = match child(spec, &prepared, &log) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        let mut w = std::fs::File::from(wr);
        let _ = w.write_all(err.as_bytes());
        // SAFETY: `_exit` ends the child without running the parent's destructors or atexit
        // handlers twice.
        unsafe { nix::libc::_exit(127) }
    }
    let child = Pid::from_raw(pid as i32);
    // SAFETY: the kernel wrote a fresh pidfd for the child (CLONE_PIDFD); nothing else owns it.
    let pidfd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd) };
    drop(wr);
    // The pipe closes when the command is exec'd (O_CLOEXEC) or carries the set-up error.
    let mut msg = String::new();
    let _ = std::fs::File::from(rd).read_to_string(&mut msg);
    let deadline = spec.timeout.map(spec_deadline);
    let extra = msg.is_empty().then(during);
    let timed_out = match deadline {
        Some(deadline) if msg.is_empty() => !wait_readable(&pidfd, deadline),
        _ => false,
    };
    if timed_out {
        // The child is pid 1 of its pid namespace: killing it kills every process in it.
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    }
    let status = loop {
        match waitpid(child, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(|e| sys("waitpid", e))?,
        }
    };
    if !msg.is_empty() {
        return Err(
            if msg.starts_with("setgroups") || msg.starts_with("uid_map") {
                Error::NamespacesUnavailable { detail: msg }
            } else {
                Error::SandboxSetup { detail: msg }
            },
        );
    }
    if timed_out {
        return Ok((Exit::TimedOut, extra));
    }
    let exit = match status {
        WaitStatus::Exited(_, code) => Exit::Code(code),
        WaitStatus::Signaled(_, sig, _) => Exit::Signal(sig as i32),
        _ => Exit::Code(-1),
    };
    Ok((exit, extra))
}

fn spec_deadline(limit: Duration) -> Instant {
    Instant::now() + limit
}

/// Waits until `fd` is readable (a pidfd: the process ended) or `deadline` passes; true when
/// readable.
fn wait_readable(fd: &OwnedFd, deadline: Instant) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    loop {
        // Polled at least once, even past the deadline: a build that ended in time is not
        // reported as killed.
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) if n > 0 => return true,
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) if !left.is_zero() => continue,
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
}

/// Puts the calling thread in the `SCHED_IDLE` class: it then runs only on a CPU that nothing
/// else wants. Best effort; a kernel that refuses leaves the thread as it was.
pub fn idle_priority() {
    let param = nix::libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads the one `sched_param` passed; pid 0 is this thread.
    let _ = unsafe { nix::libc::sched_setscheduler(0, nix::libc::SCHED_IDLE, &raw const param) };
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
    seccomp: seccompiler::BpfProgram,
}

impl Prepared {
    fn new(spec: &Spec, uid: u32, gid: u32) -> Result<Prepared, Error> {
        let cs = |s: &str| {
            CString::new(s).map_err(|_| Error::SandboxSetup {
                detail: format!("`{s}` contains a NUL byte"),
            })
        };
        let cmd = spec.argv.first().ok_or(Error::MissingCommand {
            command: String::new(),
        })?;
        let resolved =
            resolve_command(cmd, &spec.env, &spec.rootfs, &spec.inputs).ok_or_else(|| {
                Error::MissingCommand {
                    command: cmd.clone(),
                }
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
        Ok(Prepared {
            path: cs(&resolved.to_string_lossy())?,
            argv: spec.argv.iter().map(|a| cs(a)).collect::<Result<_, _>>()?,
            envp: env
                .iter()
                .map(|(k, v)| cs(&format!("{k}={v}")))
                .collect::<Result<_, _>>()?,
            uid_map: format!("{} {uid} 1", spec.uid),
            gid_map: format!("{} {gid} 1", spec.gid),
            seccomp: seccomp_program().map_err(|detail| Error::SandboxSetup { detail })?,
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

fn bind(src: &Path, dst: &Path) -> Result<(), String> {
    mount(
        Some(src),
        dst,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| format!("bind {} → {}: {e}", src.display(), dst.display()))
}

/// Makes the mount at `dst` and every mount below it read-only, nosuid and nodev (one
/// mount_setattr(2) call; per-mount remounts where the kernel lacks it).
fn read_only(dst: &Path, recursive: bool) -> Result<(), String> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NOSUID: u64 = 0x2;
    const MOUNT_ATTR_NODEV: u64 = 0x4;
    let c = CString::new(dst.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{}: NUL in path", dst.display()))?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive {
        nix::libc::AT_RECURSIVE as u32
    } else {
        0
    };
    // SAFETY: mount_setattr reads `attr` (of the size passed) and the NUL-terminated path.
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_mount_setattr,
            nix::libc::AT_FDCWD,
            c.as_ptr(),
            flags,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = nix::errno::Errno::last();
    if e != nix::errno::Errno::ENOSYS {
        return Err(format!("read-only {}: {e}", dst.display()));
    }
    let flags = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    mount(None::<&str>, dst, None::<&str>, flags, None::<&str>)
        .map_err(|e| format!("read-only remount {}: {e}", dst.display()))
}

fn mkdirs(p: &Path) -> Result<(), String> {
    fs_err::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))
}

fn inside(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

fn tmpfs(dst: &Path, flags: MsFlags, data: &str) -> Result<(), String> {
    mount(Some("tmpfs"), dst, Some("tmpfs"), flags, Some(data))
        .map_err(|e| format!("tmpfs {}: {e}", dst.display()))
}

/// The child, pid 1 of the new pid namespace and root of the new user namespace: maps its
/// ids, builds the root, drops privileges, execs the command.
fn child(spec: &Spec, p: &Prepared, log: &OwnedFd) -> Result<Never, String> {
    write_file("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    write_file("/proc/self/uid_map", &p.uid_map).map_err(|e| format!("uid_map: {e}"))?;
    write_file("/proc/self/gid_map", &p.gid_map).map_err(|e| format!("uid_map (gid): {e}"))?;
    sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;
    let root = spec.scratch.as_path();
    // The scratch directory is private to this namespace from here on: nothing mounted below it
    // propagates to the host (the namespace's copies of the host mounts are slaves at most).
    tmpfs(root, MsFlags::MS_NOSUID | MsFlags::MS_NODEV, "mode=0755")?;
    mount(
        None::<&str>,
        root,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make the new root private: {e}"))?;
    let mut read_only_binds = Vec::new();
    for d in BASE_DIRS {
        let host = spec.rootfs.join(d);
        let Ok(meta) = std::fs::symlink_metadata(&host) else {
            continue;
        };
        let target = root.join(d);
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&host)
                .map_err(|e| format!("readlink {}: {e}", host.display()))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(|e| format!("symlink {}: {e}", target.display()))?;
        } else if meta.is_dir() {
            std::fs::create_dir(&target).map_err(|e| format!("mkdir {}: {e}", target.display()))?;
            bind(&host, &target)?;
            read_only_binds.push(target);
        }
    }
    // /tmp first, so that inputs below /tmp are bound on top of the new tmpfs.
    let tmp = root.join("tmp");
    std::fs::create_dir(&tmp).map_err(|e| format!("mkdir {}: {e}", tmp.display()))?;
    tmpfs(&tmp, MsFlags::MS_NOSUID | MsFlags::MS_NODEV, "mode=1777")?;
    for input in &spec.inputs {
        let target = inside(root, input);
        if input.starts_with("/usr") && std::fs::symlink_metadata(&target).is_ok() {
            continue; // already visible through a base bind
        }
        if input.is_dir() {
            mkdirs(&target)?;
        } else {
            mkdirs(target.parent().unwrap_or(root))?;
            fs_err::File::create(&target)
                .map_err(|e| format!("create {}: {e}", target.display()))?;
        }
        bind(input, &target)?;
        read_only_binds.push(target);
    }
    for target in &read_only_binds {
        read_only(target, true)?;
    }
    let build = inside(root, &spec.build_path);
    mkdirs(&build)?;
    match &spec.source_copy {
        Some(copy) => bind(copy, &build)?,
        None => tmpfs(&build, MsFlags::MS_NOSUID | MsFlags::MS_NODEV, "mode=0755")?,
    }
    let dev = root.join("dev");
    std::fs::create_dir(&dev).map_err(|e| format!("mkdir {}: {e}", dev.display()))?;
    tmpfs(&dev, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, "mode=0755")?;
    for d in DEVICES {
        let target = dev.join(d);
        fs_err::File::create(&target).map_err(|e| format!("create {}: {e}", target.display()))?;
        bind(&Path::new("/dev").join(d), &target)?;
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(to, dev.join(name))
            .map_err(|e| format!("symlink /dev/{name}: {e}"))?;
    }
    if !spec.secrets.is_empty() {
        secrets(root, &spec.secrets)?;
    }
    // procfs of the new pid namespace; mounted while the old root (with its fully visible
    // /proc) is still attached, as the kernel requires inside a user namespace.
    let proc_dir = root.join("proc");
    std::fs::create_dir(&proc_dir).map_err(|e| format!("mkdir {}: {e}", proc_dir.display()))?;
    mount(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mount /proc: {e}"))?;
    // The new root's own tmpfs becomes read-only (not the mounts on it).
    read_only(root, false)?;
    chdir(root).map_err(|e| format!("chdir new root: {e}"))?;
    // pivot_root(".", ".") stacks the old root under the new one; detaching "." then removes
    // it without needing a directory for it.
    pivot_root(".", ".").map_err(|e| format!("pivot_root: {e}"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach old root: {e}"))?;
    chdir(&spec.build_path).map_err(|e| format!("chdir {}: {e}", spec.build_path.display()))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(spec.umask));
    landlock_restrict(&spec.build_path)?;
    seccompiler::apply_filter(&p.seccomp).map_err(|e| format!("seccomp: {e}"))?;
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
    let e = execve(&p.path, &p.argv, &p.envp)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Err(format!("exec {}: {e}", p.path.to_string_lossy()))
}

/// `/run/secrets`: a small tmpfs holding one 0600 file per secret, then made read-only.
fn secrets(root: &Path, secrets: &[SecretFile]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = root.join(SECRETS_DIR.trim_start_matches('/'));
    mkdirs(&dir)?;
    tmpfs(
        &dir,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        "mode=0700,size=4m",
    )?;
    for s in secrets {
        let path = dir.join(&s.name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("create secret file {}: {e}", path.display()))?;
        f.write_all(&s.value)
            .map_err(|e| format!("write secret file {}: {e}", path.display()))?;
    }
    read_only(&dir, false)
}

fn landlock_restrict(build: &Path) -> Result<(), String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
        path_beneath_rules,
    };
    let abi = ABI::V5;
    let run = || -> Result<(), landlock::RulesetError> {
        Ruleset::default()
            .handle_access(AccessFs::from_all(abi))?
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
            .create()?
            .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))?
            .add_rules(path_beneath_rules(
                [build, Path::new("/tmp"), Path::new("/dev")],
                AccessFs::from_all(abi),
            ))?
            .restrict_self()?;
        Ok(())
    };
    run().map_err(|e| format!("landlock: {e}"))
}

fn seccomp_program() -> Result<seccompiler::BpfProgram, String> {
    use nix::libc;
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
    let denied: &[i64] = &[
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_reboot,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_open_by_handle_at,
        libc::SYS_userfaultfd,
    ];
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        denied.iter().map(|&s| (s, Vec::new())).collect();
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("seccomp: {e}"))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("seccomp: {e}"))
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
        secrets: Vec::new(),
    };
    let t = Instant::now();
    let exit = run(&spec)?;
    Ok((exit, t.elapsed()))
}
