//! Openings of the watched files ([`super::Spec::watch_files`]) seen by fanotify inode marks,
//! where zt may use them with what the record needs (`CAP_SYS_ADMIN` in the initial user
//! namespace: the thread that opened each file).
//!
//! The seccomp watch of `open` (`filter::notify_program(true)`) stops *every* open of the
//! command until zt's supervisor has resolved the path it names and compared the file found
//! with the watched ones: two context switches and ~7 system calls per open, 20–30 % of a
//! Python build's time. An inode mark on each watched file costs nothing for any other file:
//! the kernel reports an opening of one of the marked files however it was named (a link,
//! `..`, a directory descriptor, `/proc/self/fd`, a hard link), after its own path walk — so
//! there is no time-of-check race between what zt resolved and what the kernel opened.
//!
//! The marks ask for `FAN_OPEN_PERM`: the opener waits in `open` until zt answers, so the
//! program it runs is read from `/proc` while it certainly lives — a child that forked without
//! exec, read a canary and exited at once is named as surely as a long-lived one. Only openings
//! of the watched files wait. [`OpenWatch::answer`] answers them on a thread of its own that
//! opens no file, so no other thread of zt — the supervisor, the hasher reading a program that
//! happens to be a watched file — can hold an opener, or itself, waiting; every opening is
//! allowed (the record is the point, not a denial), and closing the group allows any left. What
//! fanotify cannot give: the path as the build named it (the file itself is known).
//!
//! An unprivileged fanotify group gets no thread id for another process's events (nor
//! permission events), so without `CAP_SYS_ADMIN` the seccomp watch stays in use
//! ([`OpenWatch::new`] returns `None`).

use std::os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::watch::{Exe, exe_of};

use nix::libc;

/// A fanotify group with an inode mark on each watched file.
pub(crate) struct OpenWatch {
    fd: OwnedFd,
}

/// One opening of a watched file: the thread that opened it (`FAN_REPORT_TID`: a thread id
/// in zt's pid namespace), the file (device, inode), and the program the thread ran when it
/// opened it, read while it waited for zt's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) tid: i32,
    pub(crate) file: (u64, u64),
    pub(crate) program: Exe,
}

/// What one read of the queue gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Events {
    pub(crate) opened: Vec<Opened>,
    /// The kernel dropped events (`FAN_Q_OVERFLOW`; not expected with an unlimited queue), or
    /// more openings came than [`MAX_KEPT`] between two takes.
    pub(crate) overflowed: bool,
}

/// The most openings [`Answering`] keeps between two takes (the supervisor takes them every
/// 50 ms at most); later ones are counted as lost (`overflowed`), which is itself a finding.
const MAX_KEPT: usize = 65_536;

/// `sizeof(struct fanotify_event_metadata)`.
const METADATA_LEN: usize = 24;

impl OpenWatch {
    /// A group marking `files` for `FAN_OPEN_PERM`, or `None` where fanotify cannot report the
    /// opener (no `CAP_SYS_ADMIN`: `EPERM`; a kernel without fanotify or its permission
    /// events) or a file cannot be marked — the caller then watches opens with seccomp.
    pub(crate) fn new(files: &[PathBuf]) -> Option<OpenWatch> {
        if files.is_empty() {
            return None;
        }
        // FAN_REPORT_TID, FAN_UNLIMITED_QUEUE and FAN_CLASS_CONTENT (permission events) all
        // need CAP_SYS_ADMIN: an unprivileged group (which would report pid 0 for every other
        // process) is refused here.
        // SAFETY: fanotify_init takes two flag words and returns a new descriptor or -1.
        let raw = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_CONTENT
                    | libc::FAN_CLOEXEC
                    | libc::FAN_NONBLOCK
                    | libc::FAN_REPORT_TID
                    | libc::FAN_UNLIMITED_QUEUE,
                (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_LARGEFILE) as libc::c_uint,
            )
        };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is a descriptor fanotify_init just returned, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        for f in files {
            let path = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).ok()?;
            // SAFETY: `path` is a NUL-terminated string alive for the call; the mark is on
            // the inode the path names (followed if a link: zt made these files).
            let r = unsafe {
                libc::fanotify_mark(
                    fd.as_raw_fd(),
                    libc::FAN_MARK_ADD | libc::FAN_MARK_INODE,
                    libc::FAN_OPEN_PERM,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                )
            };
            if r != 0 {
                return None;
            }
        }
        Some(OpenWatch { fd })
    }

    /// Reads every event queued now (the group is non-blocking): for each, the file, the
    /// opener's program (it waits for the answer, so it lives), then the answer — allow —
    /// and the descriptor the event carried is closed. Openings by zt's own threads are
    /// answered and left out.
    pub(crate) fn drain(&self) -> Events {
        let mut out = Events::default();
        let mut buf = vec![0u8; 64 * METADATA_LEN];
        loop {
            // SAFETY: read(2) writes at most `buf.len()` bytes into `buf`, which is ours.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<libc::c_void>(),
                    buf.len(),
                )
            };
            if n < 0 {
                if nix::errno::Errno::last() == nix::errno::Errno::EINTR {
                    continue;
                }
                return out; // EAGAIN: the queue is empty
            }
            let n = usize::try_from(n).unwrap_or(0);
            if n == 0 {
                return out;
            }
            parse(buf.get(..n).unwrap_or_default(), &mut out, &mut |ev| {
                // SAFETY: the kernel opened `ev.fd` into this process for this event; nobody
                // else owns it. It is closed when `file` drops, after the answer.
                let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(ev.fd) });
                let id = file.metadata().ok().map(|m| (m.dev(), m.ino()));
                let own = u32::try_from(ev.tid)
                    .is_ok_and(|t| std::path::Path::new(&format!("/proc/self/task/{t}")).exists());
                let program = match u32::try_from(ev.tid) {
                    Ok(t) if !own => exe_of(t),
                    _ => Exe::default(),
                };
                if ev.mask & libc::FAN_OPEN_PERM != 0 {
                    self.allow(ev.fd);
                }
                drop(file);
                let file = id?;
                (!own).then_some(Opened {
                    tid: ev.tid,
                    file,
                    program,
                })
            });
        }
    }

    /// Answers the permission event of descriptor `fd`: the opening goes ahead.
    fn allow(&self, fd: i32) {
        let response = libc::fanotify_response {
            fd,
            response: libc::FAN_ALLOW,
        };
        // SAFETY: write(2) reads `size_of::<fanotify_response>()` bytes from `response`, a
        // live value of that type. A failed answer (the opener was killed meanwhile) leaves
        // nothing to do: the kernel allows pending openings when the group closes.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                std::ptr::from_ref(&response).cast::<libc::c_void>(),
                std::mem::size_of::<libc::fanotify_response>(),
            )
        };
    }

    /// Answers the openings on a thread of its own until [`Answering::finish`], keeping what
    /// they were for the supervisor to [`Answering::take`].
    pub(crate) fn answer(self) -> std::io::Result<Answering> {
        let (stop_rd, stop_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let seen = Arc::new(Mutex::new(Events::default()));
        let kept = seen.clone();
        let thread = std::thread::Builder::new()
            .name("zt-fanotify".into())
            .spawn(move || self.serve(&stop_rd, &kept))?;
        Ok(Answering {
            seen,
            stop: Some(stop_wr),
            thread: Some(thread),
        })
    }

    fn serve(self, stop: &OwnedFd, kept: &Mutex<Events>) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        loop {
            let mut fds = [
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
            self.keep(kept);
            if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                break;
            }
        }
        // The build has ended: whatever its last processes opened is queued now.
        self.keep(kept);
        // Dropping `self` closes the group; the kernel allows any opening still waiting.
    }

    fn keep(&self, kept: &Mutex<Events>) {
        let got = self.drain();
        if got.opened.is_empty() && !got.overflowed {
            return;
        }
        let mut k = kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        k.overflowed |= got.overflowed;
        for o in got.opened {
            if k.opened.len() >= MAX_KEPT {
                k.overflowed = true;
                break;
            }
            k.opened.push(o);
        }
    }
}

/// The thread answering a group's openings ([`OpenWatch::answer`]).
pub(crate) struct Answering {
    seen: Arc<Mutex<Events>>,
    stop: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Answering {
    /// The openings answered since the last take.
    pub(crate) fn take(&self) -> Events {
        std::mem::take(
            &mut *self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Stops the thread (after a last read of the queue) and returns what is left. A thread
    /// that panicked (not expected) is reported as lost openings.
    pub(crate) fn finish(mut self) -> Events {
        let joined = self.stop_thread();
        let mut left = self.take();
        left.overflowed |= !joined;
        left
    }

    /// Whether the thread ended normally.
    fn stop_thread(&mut self) -> bool {
        // Closing the pipe's write end wakes the thread's poll (POLLHUP).
        drop(self.stop.take());
        self.thread.take().is_none_or(|t| t.join().is_ok())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let _ = self.stop_thread();
    }
}

/// One record of the queue, as [`parse`] hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Raw {
    mask: u64,
    fd: i32,
    tid: i32,
}

/// The events in `buf` (whole `fanotify_event_metadata` records, as read(2) returns them):
/// each event that carries a descriptor is handed to `take` (which owns the descriptor from
/// then on, and answers the event) for the opening it records, if any.
fn parse(buf: &[u8], out: &mut Events, take: &mut dyn FnMut(Raw) -> Option<Opened>) {
    let u32_at = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_ne_bytes)
    };
    let mut at = 0;
    while let Some(rec) = buf.get(at..at + METADATA_LEN) {
        let len = u32_at(rec, 0).map_or(0, |l| l as usize);
        let vers = rec.get(4).copied().unwrap_or(0);
        if len < METADATA_LEN || vers != libc::FANOTIFY_METADATA_VERSION {
            // Not a record this code knows how to read: stop rather than misread the rest.
            out.overflowed = true;
            return;
        }
        let mask = rec
            .get(8..16)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(0, u64::from_ne_bytes);
        let fd = u32_at(rec, 16).map_or(-1, |v| v as i32);
        let tid = u32_at(rec, 20).map_or(0, |v| v as i32);
        if mask & libc::FAN_Q_OVERFLOW != 0 {
            out.overflowed = true;
        }
        if fd >= 0
            && let Some(o) = take(Raw { mask, fd, tid })
        {
            out.opened.push(o);
        }
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(mask: u64, fd: i32, tid: i32) -> Vec<u8> {
        let mut r = Vec::new();
        r.extend_from_slice(&(METADATA_LEN as u32).to_ne_bytes());
        r.push(libc::FANOTIFY_METADATA_VERSION);
        r.push(0);
        r.extend_from_slice(&(METADATA_LEN as u16).to_ne_bytes());
        r.extend_from_slice(&mask.to_ne_bytes());
        r.extend_from_slice(&fd.to_ne_bytes());
        r.extend_from_slice(&tid.to_ne_bytes());
        r
    }

    #[test]
    fn records_are_read_whole_and_their_descriptors_handed_over() {
        let mut buf = record(libc::FAN_OPEN_PERM, 7, 41);
        buf.extend(record(libc::FAN_Q_OVERFLOW, -1, 0));
        buf.extend(record(libc::FAN_OPEN_PERM, 9, 42));
        let mut out = Events::default();
        let mut given = Vec::new();
        parse(&buf, &mut out, &mut |raw| {
            given.push(raw);
            Some(Opened {
                tid: raw.tid,
                file: (1, raw.fd as u64),
                program: Exe::default(),
            })
        });
        assert_eq!(
            given,
            [
                Raw {
                    mask: libc::FAN_OPEN_PERM,
                    fd: 7,
                    tid: 41
                },
                Raw {
                    mask: libc::FAN_OPEN_PERM,
                    fd: 9,
                    tid: 42
                }
            ]
        );
        assert!(out.overflowed);
        assert_eq!(
            out.opened
                .iter()
                .map(|o| (o.tid, o.file))
                .collect::<Vec<_>>(),
            [(41, (1, 7)), (42, (1, 9))]
        );
        // A record of another version, or too short, ends the reading.
        let mut bad = record(libc::FAN_OPEN_PERM, 3, 1);
        bad[4] = 99;
        let mut out = Events::default();
        parse(&bad, &mut out, &mut |_| panic!("not handed over"));
        assert!(out.overflowed && out.opened.is_empty());
    }

    proptest::proptest! {
        /// Whatever a read returns, the records are walked without a panic or a loop, and
        /// only descriptors of whole records are handed over.
        #[test]
        fn any_bytes_are_read_without_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let mut out = Events::default();
            let mut handed = 0usize;
            parse(&b, &mut out, &mut |_| { handed += 1; None });
            proptest::prop_assert!(handed <= b.len() / METADATA_LEN);
        }
    }

    /// Whether this process holds `CAP_SYS_ADMIN` (bit 21 of `CapEff`): then fanotify must be
    /// usable, and a test that finds it refused fails instead of skipping.
    fn holds_cap_sys_admin() -> bool {
        fs_err::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << 21) != 0)
    }

    /// A group watching `canary`, or `None` where fanotify is refused: then zt must not hold
    /// `CAP_SYS_ADMIN` (the seccomp watch is used instead, tested end to end).
    fn watch_or_skip(canary: &std::path::Path) -> Option<OpenWatch> {
        let w = OpenWatch::new(std::slice::from_ref(&canary.to_path_buf()));
        assert!(
            w.is_some() || !holds_cap_sys_admin(),
            "fanotify refused though zt may use it"
        );
        w
    }

    /// Every opening of the marked file is seen however it is named, with the program of the
    /// thread that opened it — also a child that forked without exec and ended at once — and
    /// goes ahead; other files are not seen.
    #[test]
    fn a_marked_file_is_seen_opened_by_any_name_with_its_program_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("canary");
        let other = dir.path().join("other");
        fs_err::write(&canary, b"secret").unwrap();
        fs_err::write(&other, b"x").unwrap();
        std::os::unix::fs::symlink(&canary, dir.path().join("link")).unwrap();
        let Some(w) = watch_or_skip(&canary) else {
            return;
        };
        let answering = w.answer().unwrap();
        let id = {
            let m = std::fs::metadata(&canary).unwrap();
            (m.dev(), m.ino())
        };
        // `( … )` is a forked shell that opens the file itself and exits: no exec.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("cat other link >/dev/null; cat ./canary; (read x < ./canary; echo \"$x\")")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"secretsecret\n", "each opening went ahead");
        let got = answering.finish();
        assert!(!got.overflowed);
        assert_eq!(got.opened.len(), 3, "{got:?}");
        assert!(got.opened.iter().all(|o| o.file == id && o.tid > 0));
        let real = |p: &str| {
            std::fs::canonicalize(p)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        let which_cat = std::process::Command::new("sh")
            .args(["-c", "command -v cat"])
            .output()
            .unwrap()
            .stdout;
        let cat = real(String::from_utf8(which_cat).unwrap().trim());
        let programs: Vec<_> = got.opened.iter().map(|o| o.program.path.clone()).collect();
        assert_eq!(
            programs,
            [Some(cat.clone()), Some(cat), Some(real("/bin/sh"))],
            "the forked shell is named as surely as the programs"
        );
    }

    #[test]
    fn answering_ends_when_asked_with_nothing_seen() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("canary");
        fs_err::write(&canary, b"secret").unwrap();
        let Some(w) = watch_or_skip(&canary) else {
            return;
        };
        let answering = w.answer().unwrap();
        assert_eq!(answering.take(), Events::default());
        assert_eq!(answering.finish(), Events::default());
        // the group is closed: the file opens freely, unseen
        assert_eq!(fs_err::read(&canary).unwrap(), b"secret");
    }
}
