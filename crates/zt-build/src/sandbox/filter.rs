//! The two filters applied last, just before exec: Landlock (what the build may write, TCP,
//! signals and abstract sockets outside its domain) and seccomp (the system calls that could
//! undo the sandbox).
//!
//! Landlock is required at [`LANDLOCK_MIN_ABI`] or later (the first ABI that handles TCP as
//! well as the file system); the ruleset uses everything up to [`LANDLOCK_MAX_ABI`] that the
//! kernel has, and must be fully enforced at that level. A kernel without it makes the build
//! refuse to run unless the caller consented to a weak sandbox.
//!
//! seccomp is two programs: one returning `EPERM` for the mount API (old and new), namespace
//! creation (`unshare`, `setns`, `clone` with a namespace flag), io_uring, ptrace-like access,
//! keyrings, bpf, modules and kexec, and `ioctl(TIOCSTI/TIOCLINUX)`; one returning `ENOSYS`
//! for `clone3` (its flags sit in memory a filter cannot read), so that the C library falls
//! back to `clone`, whose flags the first program checks. Their digest is recorded.

use std::collections::BTreeMap;
use std::path::Path;

use nix::libc;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The oldest Landlock ABI zt accepts without `--allow-weak-sandbox`: 4 (Linux 6.7), the
/// first to restrict TCP bind and connect besides file system access.
pub const LANDLOCK_MIN_ABI: i32 = 4;
/// The newest Landlock ABI zt asks for: 6 (Linux 6.12) adds signal and abstract unix socket
/// scoping.
pub const LANDLOCK_MAX_ABI: i32 = 6;

/// `open_tree_attr(2)` (Linux 6.15): the number is the same on every architecture (the
/// unified system call table), and not yet in the `libc` crate.
const SYS_OPEN_TREE_ATTR: i64 = 467;

/// The clone(2) flags that create a namespace.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWCGROUP as u64,
    0x80, // CLONE_NEWTIME (Linux 5.6; shares its bit with CSIGNAL's range, only in clone)
];

/// System calls refused with `EPERM` whatever their arguments.
const DENIED: &[i64] = &[
    // the mount API, old and new
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    SYS_OPEN_TREE_ATTR,
    // namespaces
    libc::SYS_unshare,
    libc::SYS_setns,
    // io_uring (its own way to every system call above)
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    // other processes' memory and descriptors
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    // the kernel itself
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

/// The seccomp programs, in the order they are installed, and the sha256 of their
/// instructions (the notification program's included) (each `code` u16, `jt` u8, `jf` u8, `k` u32, little-endian, program after
/// program).
pub(crate) struct Seccomp {
    pub(crate) programs: Vec<BpfProgram>,
    /// The behaviour-recording program ([`notify_program`]), installed last with a listener.
    pub(crate) notify: BpfProgram,
    pub(crate) digest: zt_core::Digest,
}

fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, String> {
    SeccompCondition::new(arg, len, op, value).map_err(|e| format!("seccomp: {e}"))
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    errno: i32,
    arch: TargetArch,
) -> Result<BpfProgram, String> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("seccomp: {e}"))
}

/// Compiles both programs (in the parent, before the clone), and the notification program
/// ([`notify_program`], watching opens too when `opens`).
pub(crate) fn seccomp(opens: bool) -> Result<Seccomp, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("seccomp: {e}"))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&s| (s, Vec::new())).collect();
    // clone(flags, …): flags is the first argument on every architecture zt builds for. One
    // rule per flag: rules are or'ed.
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            SeccompRule::new(vec![cond(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?])
            .map_err(|e| format!("seccomp: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    rules.insert(libc::SYS_clone, clone_rules);
    // ioctl's request is an int in the kernel: compare the low 32 bits only, as bubblewrap
    // does, so that high bits set by the caller do not slip past.
    let ioctl_rules = [libc::TIOCSTI, libc::TIOCLINUX]
        .iter()
        .map(|&req| {
            SeccompRule::new(vec![cond(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::from(req as u32),
            )?])
            .map_err(|e| format!("seccomp: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    rules.insert(libc::SYS_ioctl, ioctl_rules);
    let deny = compile(rules, libc::EPERM, arch)?;
    let clone3 = compile(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        libc::ENOSYS,
        arch,
    )?;
    let programs = vec![deny, clone3];
    let notify = notify_program(opens);
    let mut bytes = Vec::new();
    for insn in programs.iter().flatten().chain(notify.iter()) {
        bytes.extend_from_slice(&insn.code.to_le_bytes());
        bytes.push(insn.jt);
        bytes.push(insn.jf);
        bytes.extend_from_slice(&insn.k.to_le_bytes());
    }
    Ok(Seccomp {
        digest: zt_core::Digest::sha256(&bytes),
        programs,
        notify,
    })
}

/// The third seccomp program, installed with its own listener
/// (`SECCOMP_FILTER_FLAG_NEW_LISTENER`): `SECCOMP_RET_USER_NOTIF` for `execve`, `execveat` and
/// `connect` (and their x32 numbers on x86-64), `ALLOW` for everything else. It refuses
/// nothing: zt's supervisor answers every notification with
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`, so the call then runs exactly as it would have without
/// this program (the two programs above and Landlock still apply: the kernel takes the most
/// restrictive action of all filters, and `EPERM`/`ENOSYS` outrank a notification). It only
/// lets zt see the call (see `sandbox::watch`). With `opens`, `open`, `openat`, `openat2` and
/// `creat` notify too (install-time code run by `zt deps intake --dynamic`, whose reads of
/// canary credentials are recorded); a build's program leaves them out, since every file a
/// compiler opens would cross to zt and back.
pub(crate) fn notify_program(opens: bool) -> BpfProgram {
    use seccompiler::sock_filter;
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    #[cfg(target_arch = "x86_64")]
    const ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    #[cfg(target_arch = "x86_64")]
    const X32: &[u32] = &[0x4000_0000 + 520, 0x4000_0000 + 545, 0x4000_0000 + 42];
    #[cfg(not(target_arch = "x86_64"))]
    const X32: &[u32] = &[];
    #[cfg(target_arch = "x86_64")]
    const OPENS: &[(i64, Option<u32>)] = &[
        (libc::SYS_open, Some(1)),
        (libc::SYS_openat, Some(2)),
        (libc::SYS_openat2, None),
        (libc::SYS_creat, None),
    ];
    #[cfg(not(target_arch = "x86_64"))]
    const OPENS: &[(i64, Option<u32>)] = &[(libc::SYS_openat, Some(2)), (libc::SYS_openat2, None)];
    let watched: Vec<u32> = [libc::SYS_execve, libc::SYS_execveat, libc::SYS_connect]
        .iter()
        .map(|&n| n as u32)
        .chain(X32.iter().copied())
        .collect();
    // Opens, each with the argument that holds its flags (`None`: no flags to look at —
    // creat's are fixed, openat2's are behind a pointer). An open with `O_DIRECTORY` reads no
    // file (on anything else it fails with ENOTDIR), and a file then opened relative to the
    // directory is an open of its own, so those are let through without a round trip to zt:
    // a Python start or a setuptools build lists its path entries that way (13 % of the
    // opens of a setuptools build).
    let mut opened: Vec<(u32, Option<u32>)> = Vec::new();
    if opens {
        for &(nr, flags) in OPENS {
            opened.push((nr as u32, flags));
            // x32 numbers of the same calls (the x32 bit set; x32 shares these numbers)
            #[cfg(target_arch = "x86_64")]
            opened.push((0x4000_0000 + nr as u32, flags));
        }
    }
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    // 0: load arch; 1: another arch → ALLOW; 2: load nr; then one test per watched call (a
    // match jumps to NOTIF) and per open (to NOTIF, or to its flags test); ALLOW; NOTIF; then
    // per open with flags: load them, O_DIRECTORY → ALLOW, else NOTIF (BPF jumps only forwards).
    const FLAGS_TEST: usize = 4;
    let allow = 3 + watched.len() + opened.len();
    let notif = allow + 1;
    // A jump from the instruction at `from` to the one at `to` (counted from the next one).
    let offset = |from: usize, to: usize| u8::try_from(to - from - 1).unwrap_or(u8::MAX);
    let mut p = vec![
        ins(LD_W_ABS, 0, 0, 4),
        ins(JEQ_K, 0, offset(1, allow), ARCH),
        ins(LD_W_ABS, 0, 0, 0),
    ];
    for nr in &watched {
        let at = p.len();
        p.push(ins(JEQ_K, offset(at, notif), 0, *nr));
    }
    let mut flag_args = Vec::new();
    for (nr, flags) in &opened {
        let at = p.len();
        let target = match flags {
            None => notif,
            Some(arg) => {
                flag_args.push(*arg);
                notif + 1 + FLAGS_TEST * (flag_args.len() - 1)
            }
        };
        p.push(ins(JEQ_K, offset(at, target), 0, *nr));
    }
    p.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
    p.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
    for arg in flag_args {
        // seccomp_data: nr, arch (4 bytes each), instruction pointer (8), then args[6] of 8
        // bytes; the low half of an argument comes first on a little-endian machine.
        p.push(ins(LD_W_ABS, 0, 0, 16 + 8 * arg));
        p.push(ins(JSET_K, 0, 1, libc::O_DIRECTORY as u32));
        p.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_ALLOW));
        p.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
    }
    p
}

/// Installs [`notify_program`] on the calling thread (no-new-privs is already set) and returns
/// the listener, or why the kernel refused (`EBUSY`: zt itself runs under a filter with a
/// listener, which a kernel allows only once per process tree).
pub(crate) fn install_notify(program: &BpfProgram) -> Result<std::os::fd::OwnedFd, String> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut().cast(),
    };
    // SAFETY: seccomp(SET_MODE_FILTER, NEW_LISTENER, &prog) reads `prog` and the `len`
    // instructions it points to, which `program` owns for the duration of the call; it
    // returns a new descriptor (close-on-exec) or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &raw const prog,
        )
    };
    if fd < 0 {
        return Err(format!("seccomp listener: {}", nix::errno::Errno::last()));
    }
    // SAFETY: the kernel returned a fresh descriptor that nothing else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// The Landlock ABI of the running kernel (0 or less: none; `-errno` when it is not built in
/// or not enabled at boot).
pub(crate) fn landlock_kernel_abi() -> i32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: landlock_create_ruleset with a null attribute pointer, size 0 and the VERSION
    // flag only returns the ABI version; it reads and writes no memory of ours.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v < 0 {
        -nix::errno::Errno::last_raw()
    } else {
        i32::try_from(v).unwrap_or(i32::MAX)
    }
}

/// What Landlock enforced, as the child saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandlockState {
    /// The kernel's ABI (0 or less: none).
    pub kernel_abi: i32,
    /// The ABI level of the ruleset applied (0: none applied).
    pub abi: i32,
    /// `fully-enforced`, `partially-enforced` or `not-enforced`.
    pub status: &'static str,
}

impl LandlockState {
    /// Whether everything zt asks of Landlock was enforced.
    pub fn enforced(&self) -> bool {
        self.abi >= LANDLOCK_MIN_ABI && self.status == "fully-enforced"
    }
}

/// Applies Landlock to the calling process: read everywhere, write below `build`, `/tmp` and
/// `/dev` only; no TCP bind or connect; no signals or abstract sockets outside the sandbox.
/// `required`: anything short of full enforcement at the kernel's level (capped at
/// [`LANDLOCK_MAX_ABI`], at least [`LANDLOCK_MIN_ABI`]) is an error.
pub(crate) fn landlock(
    build: &Path,
    kernel_abi: i32,
    required: bool,
) -> Result<LandlockState, String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
        RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
    };
    let level = kernel_abi.clamp(0, LANDLOCK_MAX_ABI);
    if level < LANDLOCK_MIN_ABI && required {
        return Err(if kernel_abi <= 0 {
            "landlock: the kernel has no Landlock (not built in, or not in `lsm=` at boot)".into()
        } else {
            format!(
                "landlock: the kernel's ABI {kernel_abi} is older than {LANDLOCK_MIN_ABI} (Linux 6.7): TCP would not be restricted"
            )
        });
    }
    if level <= 0 {
        return Ok(LandlockState {
            kernel_abi,
            abi: 0,
            status: "not-enforced",
        });
    }
    let abi = ABI::from(level);
    let compat = if required {
        CompatLevel::HardRequirement
    } else {
        CompatLevel::BestEffort
    };
    let run = || -> Result<landlock::RestrictionStatus, landlock::RulesetError> {
        let mut ruleset = Ruleset::default()
            .set_compatibility(compat)
            .handle_access(AccessFs::from_all(abi))?;
        if level >= 4 {
            ruleset = ruleset.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
        }
        if level >= 6 {
            ruleset = ruleset.scope(Scope::Signal | Scope::AbstractUnixSocket)?;
        }
        ruleset
            .create()?
            .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))?
            .add_rules(path_beneath_rules(
                [build, Path::new("/tmp"), Path::new("/dev")],
                AccessFs::from_all(abi),
            ))?
            .restrict_self()
    };
    let status = run().map_err(|e| format!("landlock: {e}"))?;
    let status = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully-enforced",
        RulesetStatus::PartiallyEnforced => "partially-enforced",
        RulesetStatus::NotEnforced => "not-enforced",
    };
    let state = LandlockState {
        kernel_abi,
        abi: level,
        status,
    };
    if required && !state.enforced() {
        return Err(format!("landlock: the ruleset was {status}"));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_digest_is_stable_and_covers_both_programs() {
        let a = seccomp(false).unwrap();
        let b = seccomp(false).unwrap();
        assert_ne!(a.digest, seccomp(true).unwrap().digest);
        assert_eq!(a.programs.len(), 2);
        assert_eq!(a.digest, b.digest);
        let n: usize = a.programs.iter().map(Vec::len).sum();
        assert!(
            n > DENIED.len(),
            "every denied call has a test in the program"
        );
    }

    /// Runs a classic BPF program of the instructions `notify_program` uses over one
    /// `seccomp_data` (nr, arch, args; little-endian) and returns its action.
    fn run(p: &BpfProgram, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::new();
        data.extend_from_slice(&nr.to_le_bytes());
        data.extend_from_slice(&arch.to_le_bytes());
        data.extend_from_slice(&0u64.to_le_bytes());
        for a in args {
            data.extend_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = &p[pc];
            pc += 1;
            match i.code {
                0x20 => {
                    let k = i.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                0x15 => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                0x45 => pc += usize::from(if acc & i.k != 0 { i.jt } else { i.jf }),
                0x06 => return i.k,
                c => panic!("instruction {c:#x} at {}", pc - 1),
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_notification_program_watches_what_it_says() {
        const ARCH: u32 = 0xc000_003e;
        let (allow, notif) = (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_USER_NOTIF);
        let dir = libc::O_DIRECTORY as u64;
        let rd = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let with = |flags_at: usize, flags: u64| {
            let mut a = [0u64; 6];
            a[flags_at] = flags;
            a
        };
        let build = notify_program(false);
        let intake = notify_program(true);
        for p in [&build, &intake] {
            // each call and its x32 number
            for (nr, x32) in [
                (libc::SYS_execve, 520),
                (libc::SYS_execveat, 545),
                (libc::SYS_connect, libc::SYS_connect),
            ] {
                assert_eq!(run(p, nr as u32, ARCH, [0; 6]), notif, "{nr}");
                assert_eq!(
                    run(p, 0x4000_0000 + x32 as u32, ARCH, [0; 6]),
                    notif,
                    "x32 {nr}"
                );
            }
            assert_eq!(run(p, libc::SYS_read as u32, ARCH, [0; 6]), allow);
            // another architecture's numbers are not this one's: left to the other programs
            assert_eq!(run(p, libc::SYS_execve as u32, 0x4000_0003, [0; 6]), allow);
        }
        // a build's program lets opens through; the intake's stops each, unless O_DIRECTORY
        for (nr, at) in [(libc::SYS_open, 1), (libc::SYS_openat, 2)] {
            for x32 in [0, 0x4000_0000] {
                let nr = x32 + nr as u32;
                assert_eq!(run(&build, nr, ARCH, with(at, rd)), allow);
                assert_eq!(run(&intake, nr, ARCH, with(at, rd)), notif, "{nr:#x}");
                assert_eq!(run(&intake, nr, ARCH, with(at, rd | dir)), allow, "{nr:#x}");
                // the flag in another argument, or in the high half, does not count
                assert_eq!(run(&intake, nr, ARCH, with(at + 1, dir)), notif, "{nr:#x}");
                assert_eq!(
                    run(&intake, nr, ARCH, with(at, dir << 32)),
                    notif,
                    "{nr:#x}"
                );
            }
        }
        for nr in [libc::SYS_openat2, libc::SYS_creat] {
            assert_eq!(run(&build, nr as u32, ARCH, [dir; 6]), allow);
            assert_eq!(run(&intake, nr as u32, ARCH, [dir; 6]), notif, "{nr}");
        }
    }

    #[test]
    fn landlock_too_old_is_refused_unless_weak_is_allowed() {
        let e = landlock(Path::new("/build/src"), 3, true).unwrap_err();
        assert!(e.contains("older than 4"), "{e}");
        let e = landlock(Path::new("/build/src"), -95, true).unwrap_err();
        assert!(e.contains("no Landlock"), "{e}");
        // Weak allowed and no Landlock: nothing applied, said so.
        let s = landlock(Path::new("/build/src"), -95, false).unwrap();
        assert_eq!((s.abi, s.status, s.enforced()), (0, "not-enforced", false));
    }
}
