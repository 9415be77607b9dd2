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
//! The process that calls [`run`] must be single-threaded (the `zt` binary is): the sandbox is
//! set up in a forked child.

// The sandbox alone uses `unsafe` (fork, dup2 and exec); each block says why it is sound.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{Read as _, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, chdir, execve, fork, pivot_root, sethostname};

use crate::Error;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The base system whose directories are exposed read-only (`/` or a `--rootfs`).
    pub rootfs: PathBuf,
    /// Host path of the writable copy of the source tree.
    pub source_copy: PathBuf,
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
    /// Host directory for scratch mounts (must be empty, on a filesystem that allows mounts).
    pub scratch: PathBuf,
    /// Host file that receives the command's stdout and stderr.
    pub log: PathBuf,
    /// Wrap the command with `faketime` (a string understood by libfaketime's
    /// `FAKETIME`); the library is looked up in the base system.
    pub faketime: Option<String>,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
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

/// Runs the command in the sandbox and waits for it.
pub fn run(spec: &Spec) -> Result<Exit, Error> {
    let log = fs_err::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)
        .map_err(|e| Error::io(&spec.log, e))?;
    let log: OwnedFd = log.into_parts().0.into();
    let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    // Everything the child needs is prepared before the fork.
    let prepared = Prepared::new(spec)?;
    // SAFETY: the calling process is single-threaded (documented requirement of `run`; the
    // zt binary never starts threads), so the child may allocate and run ordinary code.
    match unsafe { fork() }.map_err(|e| sys("fork", e))? {
        ForkResult::Child => {
            drop(rd);
            let code = match child(spec, &prepared, uid.as_raw(), gid.as_raw(), &log, &wr) {
                Ok(code) => code,
                Err(msg) => {
                    let mut w = std::fs::File::from(wr);
                    let _ = w.write_all(msg.as_bytes());
                    127
                }
            };
            // SAFETY: `_exit` ends the forked child without running the parent's destructors
            // or atexit handlers twice.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            let mut msg = String::new();
            let _ = std::fs::File::from(rd).read_to_string(&mut msg);
            let status = waitpid(child, None).map_err(|e| sys("waitpid", e))?;
            if !msg.is_empty() {
                return Err(
                    if msg.starts_with("unshare")
                        || msg.starts_with("uid_map")
                        || msg.starts_with("setgroups")
                    {
                        Error::NamespacesUnavailable { detail: msg }
                    } else {
                        Error::SandboxSetup { detail: msg }
                    },
                );
            }
            Ok(match status {
                WaitStatus::Exited(_, code) => Exit::Code(code),
                WaitStatus::Signaled(_, sig, _) => Exit::Signal(sig as i32),
                _ => Exit::Code(-1),
            })
        }
    }
}

fn sys(what: &'static str, e: nix::Error) -> Error {
    Error::SandboxSetup {
        detail: format!("{what}: {e}"),
    }
}

/// Strings converted before the fork.
struct Prepared {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl Prepared {
    fn new(spec: &Spec) -> Result<Prepared, Error> {
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
            let lib = [
                "usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                "usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
            ]
            .iter()
            .find(|l| spec.rootfs.join(l).is_file())
            .ok_or(Error::SandboxSetup {
                detail:
                    "libfaketime is not installed in the base system (apt-get install faketime)"
                        .into(),
            })?;
            env.push(("LD_PRELOAD".into(), format!("/{lib}")));
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
        })
    }
}

/// The first child: enters the new namespaces and forks the build, which becomes pid 1 of the
/// new pid namespace; this process waits for it and passes its status on.
fn child(
    spec: &Spec,
    p: &Prepared,
    uid: u32,
    gid: u32,
    log: &OwnedFd,
    wr: &OwnedFd,
) -> Result<i32, String> {
    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC;
    unshare(flags).map_err(|e| format!("unshare: {e}"))?;
    write_file("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
    write_file("/proc/self/uid_map", &format!("{} {uid} 1", spec.uid))
        .map_err(|e| format!("uid_map: {e}"))?;
    write_file("/proc/self/gid_map", &format!("{} {gid} 1", spec.gid))
        .map_err(|e| format!("uid_map (gid): {e}"))?;
    sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;
    // SAFETY: still single-threaded (we are the forked child of a single-threaded process).
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let err = match grandchild(spec, p, log) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let mut w = std::fs::File::from(wr.try_clone().map_err(|e| format!("dup: {e}"))?);
            let _ = w.write_all(err.as_bytes());
            // SAFETY: see `run`.
            unsafe { nix::libc::_exit(127) }
        }
        ForkResult::Parent { child } => Ok(wait_exit(child)),
    }
}

fn wait_exit(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 127,
        }
    }
}

fn write_file(path: &str, s: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(s.as_bytes())
}

enum Never {}

fn bind(src: &Path, dst: &Path, readonly: bool) -> Result<(), String> {
    mount(
        Some(src),
        dst,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| format!("bind {} → {}: {e}", src.display(), dst.display()))?;
    if readonly {
        let flags = MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV;
        mount(None::<&str>, dst, None::<&str>, flags, None::<&str>)
            .map_err(|e| format!("read-only remount {}: {e}", dst.display()))?;
    }
    Ok(())
}

fn mkdirs(p: &Path) -> Result<(), String> {
    fs_err::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))
}

fn inside(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

/// Pid 1 of the new pid namespace: builds the root, drops privileges, execs the command.
fn grandchild(spec: &Spec, p: &Prepared, log: &OwnedFd) -> Result<Never, String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("make / private: {e}"))?;
    let root = spec.scratch.as_path();
    mount(
        Some("tmpfs"),
        root,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755"),
    )
    .map_err(|e| format!("tmpfs root: {e}"))?;
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
            mkdirs(&target)?;
            bind(&host, &target, true)?;
        }
    }
    // /tmp first, so that inputs below /tmp are bound on top of the new tmpfs.
    let tmp = root.join("tmp");
    mkdirs(&tmp)?;
    mount(
        Some("tmpfs"),
        &tmp,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )
    .map_err(|e| format!("tmpfs /tmp: {e}"))?;
    for input in &spec.inputs {
        let target = inside(root, input);
        if target.exists()
            && std::fs::symlink_metadata(&target).is_ok()
            && input.starts_with("/usr")
        {
            continue; // already visible through a base bind
        }
        if input.is_dir() {
            mkdirs(&target)?;
        } else {
            mkdirs(target.parent().unwrap_or(root))?;
            fs_err::File::create(&target)
                .map_err(|e| format!("create {}: {e}", target.display()))?;
        }
        bind(input, &target, true)?;
    }
    let build = inside(root, &spec.build_path);
    mkdirs(&build)?;
    bind(&spec.source_copy, &build, false)?;
    let dev = root.join("dev");
    mkdirs(&dev)?;
    mount(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=0755"),
    )
    .map_err(|e| format!("tmpfs /dev: {e}"))?;
    for d in DEVICES {
        let target = dev.join(d);
        fs_err::File::create(&target).map_err(|e| format!("create {}: {e}", target.display()))?;
        bind(&Path::new("/dev").join(d), &target, false)?;
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
    // procfs of the new pid namespace; mounted while the old root (with its fully visible
    // /proc) is still attached, as the kernel requires inside a user namespace.
    let proc_dir = root.join("proc");
    mkdirs(&proc_dir)?;
    mount(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| format!("mount /proc: {e}"))?;
    let old = root.join(".oldroot");
    mkdirs(&old)?;
    chdir(root).map_err(|e| format!("chdir new root: {e}"))?;
    pivot_root(".", ".oldroot").map_err(|e| format!("pivot_root: {e}"))?;
    chdir("/").map_err(|e| format!("chdir /: {e}"))?;
    umount2("/.oldroot", MntFlags::MNT_DETACH).map_err(|e| format!("detach old root: {e}"))?;
    std::fs::remove_dir("/.oldroot").map_err(|e| format!("rmdir old root: {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .map_err(|e| format!("read-only root: {e}"))?;
    chdir(&spec.build_path).map_err(|e| format!("chdir {}: {e}", spec.build_path.display()))?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(spec.umask));
    landlock_restrict(&spec.build_path)?;
    seccomp_restrict()?;
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

fn seccomp_restrict() -> Result<(), String> {
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
    let prog: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("seccomp: {e}"))?;
    seccompiler::apply_filter(&prog).map_err(|e| format!("seccomp: {e}"))
}
