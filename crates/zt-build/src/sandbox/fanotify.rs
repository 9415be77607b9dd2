//! Openings of the watched files ([`super::Spec::watch_files`]) seen by fanotify inode marks,
//! where zt may use them with what the record needs (`CAP_SYS_ADMIN` in the initial user
//! namespace: the thread that opened each file).
//!
//! The seccomp watch of `open` (`filter::notify_program(true)`) stops *every* open of the
//! command until zt's supervisor has resolved the path it names and compared the file found
//! with the watched ones: two context switches and ~7 system calls per open, 20–30 % of a
//! Python build's time. An inode mark on each watched file costs nothing for any other file:
//! the kernel queues an event when one of the marked files is opened, however it was named (a
//! link, `..`, a directory descriptor, `/proc/self/fd`, a hard link), without stopping the
//! opener, and after the kernel's own path walk — so there is no time-of-check race between
//! what zt resolved and what the kernel opened. What it cannot give: the path as the build
//! named it (the file itself is known), and, for a thread that has exited before zt reads its
//! event, the program it ran from `/proc` (the exec record is used then).
//!
//! An unprivileged fanotify group gets no thread id for another process's events, so without
//! `CAP_SYS_ADMIN` the seccomp watch stays in use ([`OpenWatch::new`] returns `None`).

use std::os::fd::{AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use nix::libc;

/// A fanotify group with an inode mark on each watched file.
pub(crate) struct OpenWatch {
    fd: OwnedFd,
}

/// One opening of a watched file: the thread that opened it (`FAN_REPORT_TID`: a thread id
/// in zt's pid namespace) and the file (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) tid: i32,
    pub(crate) file: (u64, u64),
}

/// What one read of the queue gave.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Events {
    pub(crate) opened: Vec<Opened>,
    /// The kernel dropped events (`FAN_Q_OVERFLOW`; not expected with an unlimited queue).
    pub(crate) overflowed: bool,
}

/// `sizeof(struct fanotify_event_metadata)`.
const METADATA_LEN: usize = 24;

impl OpenWatch {
    /// A group marking `files` for `FAN_OPEN`, or `None` where fanotify cannot report the
    /// opener (no `CAP_SYS_ADMIN`: `EPERM`; a kernel without fanotify) or a file cannot be
    /// marked — the caller then watches opens with seccomp, as before.
    pub(crate) fn new(files: &[PathBuf]) -> Option<OpenWatch> {
        if files.is_empty() {
            return None;
        }
        // FAN_REPORT_TID and FAN_UNLIMITED_QUEUE both need CAP_SYS_ADMIN: an unprivileged
        // group (which would report pid 0 for every other process) is refused here.
        // SAFETY: fanotify_init takes two flag words and returns a new descriptor or -1.
        let raw = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_NOTIF
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
                    libc::FAN_OPEN,
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

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd as _;
        self.fd.as_fd()
    }

    /// Reads every event queued now (the group is non-blocking), closing the descriptor each
    /// one carries.
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
            parse(buf.get(..n).unwrap_or_default(), &mut out, &mut |fd| {
                // SAFETY: the kernel opened `fd` into this process for this event; nobody
                // else owns it. It is closed when `file` drops.
                let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
                file.metadata().ok().map(|m| (m.dev(), m.ino()))
            });
        }
    }
}

/// The events in `buf` (whole `fanotify_event_metadata` records, as read(2) returns them):
/// each event's descriptor is handed to `identify` (which owns it from then on) for the file's
/// device and inode.
fn parse(buf: &[u8], out: &mut Events, identify: &mut dyn FnMut(i32) -> Option<(u64, u64)>) {
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
            && let Some(file) = identify(fd)
        {
            out.opened.push(Opened { tid, file });
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
        let mut buf = record(libc::FAN_OPEN, 7, 41);
        buf.extend(record(libc::FAN_Q_OVERFLOW, -1, 0));
        buf.extend(record(libc::FAN_OPEN, 9, 42));
        let mut out = Events::default();
        let mut given = Vec::new();
        parse(&buf, &mut out, &mut |fd| {
            given.push(fd);
            Some((1, fd as u64))
        });
        assert_eq!(given, [7, 9]);
        assert!(out.overflowed);
        assert_eq!(
            out.opened,
            [
                Opened {
                    tid: 41,
                    file: (1, 7)
                },
                Opened {
                    tid: 42,
                    file: (1, 9)
                }
            ]
        );
        // A record of another version, or too short, ends the reading.
        let mut bad = record(libc::FAN_OPEN, 3, 1);
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

    #[test]
    fn a_marked_file_is_seen_opened_by_any_name_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("canary");
        let other = dir.path().join("other");
        fs_err::write(&canary, b"secret").unwrap();
        fs_err::write(&other, b"x").unwrap();
        std::os::unix::fs::symlink(&canary, dir.path().join("link")).unwrap();
        let Some(w) = OpenWatch::new(std::slice::from_ref(&canary)) else {
            // no CAP_SYS_ADMIN here: the seccomp watch is used instead (tested end to end)
            return;
        };
        let id = {
            let m = std::fs::metadata(&canary).unwrap();
            (m.dev(), m.ino())
        };
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg("cat other link >/dev/null; cat ./canary >/dev/null")
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(child.success());
        let got = w.drain();
        assert!(!got.overflowed);
        assert_eq!(got.opened.len(), 2, "{got:?}");
        assert!(got.opened.iter().all(|o| o.file == id && o.tid > 0));
        assert_eq!(w.drain(), Events::default());
    }
}
