//! Reading a build's outputs out of the source copy without trusting them: every directory
//! is opened relative to its parent's descriptor with `O_NOFOLLOW | O_DIRECTORY`, every file
//! with `O_NOFOLLOW` and checked to be a regular file through its descriptor, so that a
//! symbolic link the build left (the output directory itself, or anything in it) is never
//! followed on the host. Links are reported as links; [`check_link`] decides whether one may
//! be kept (relative, staying inside the output directory). Permission bits are masked to
//! 0o777 by the callers: no setuid, setgid or sticky bit leaves a build.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstat, fstatat};

use crate::Error;

/// How deep below the output directory zt descends.
pub const MAX_DEPTH: usize = 128;

/// One entry below the output directory, in sorted order, parents before children.
#[derive(Debug)]
pub enum Entry {
    /// A directory and its permission bits (masked to 0o777).
    Dir(u32),
    /// A regular file, open for reading, and its permission bits (masked to 0o777).
    File(std::fs::File, u32),
    /// A symbolic link and its target (never followed).
    Symlink(PathBuf),
}

fn err(path: &Path, e: Errno) -> Error {
    Error::io(path, std::io::Error::from(e))
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// Opens `name` below `dir` as a directory without following a link; `Ok(None)` when it is a
/// link (its target returned), `Err` for anything else that fails.
fn open_dir(dir: impl AsFd, name: &Path, shown: &Path) -> Result<Result<Dir, PathBuf>, Error> {
    match Dir::openat(dir.as_fd(), name, DIR_FLAGS, Mode::empty()) {
        Ok(d) => Ok(Ok(d)),
        // A link opened with O_NOFOLLOW | O_DIRECTORY fails with ENOTDIR (ELOOP without
        // O_DIRECTORY): look at the entry itself to tell.
        Err(e @ (Errno::ELOOP | Errno::ENOTDIR)) => {
            let st = fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| err(shown, e))?;
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFLNK {
                return Err(err(shown, e));
            }
            let target = readlinkat(dir.as_fd(), name).map_err(|e| err(shown, e))?;
            Ok(Err(PathBuf::from(target)))
        }
        Err(e) => Err(err(shown, e)),
    }
}

/// Calls `visit(path relative to the tree, entry)` for every entry below `tree/out` (the
/// source copy `copy` standing for the tree), in sorted order. Returns false when `out` does
/// not exist (or is not a directory). `out` itself being a symbolic link is an
/// [`Error::OutputLink`].
pub fn walk(
    copy: &Path,
    out: &Path,
    visit: &mut dyn FnMut(&Path, Entry) -> Result<(), Error>,
) -> Result<bool, Error> {
    let root: OwnedFd =
        nix::fcntl::open(copy, DIR_FLAGS, Mode::empty()).map_err(|e| err(copy, e))?;
    let mut dir = Dir::from_fd(root).map_err(|e| err(copy, e))?;
    let mut rel = PathBuf::new();
    for c in out.components() {
        let Component::Normal(name) = c else {
            if c == Component::CurDir {
                continue;
            }
            return Err(Error::OutputLink {
                path: out.to_path_buf(),
                target: out.to_path_buf(),
            });
        };
        rel.push(name);
        match open_dir(&dir, Path::new(name), &rel) {
            Ok(Ok(d)) => dir = d,
            Ok(Err(target)) => return Err(Error::OutputLink { path: rel, target }),
            Err(Error::Io { source, .. })
                if matches!(
                    source.raw_os_error(),
                    Some(nix::libc::ENOENT | nix::libc::ENOTDIR)
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    walk_dir(&mut dir, &rel, 0, visit)?;
    Ok(true)
}

fn walk_dir(
    dir: &mut Dir,
    rel: &Path,
    depth: usize,
    visit: &mut dyn FnMut(&Path, Entry) -> Result<(), Error>,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::OutputTooDeep {
            path: rel.to_path_buf(),
            max: MAX_DEPTH,
        });
    }
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for e in dir.iter() {
        let e = e.map_err(|e| err(rel, e))?;
        let name = e.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name).to_os_string(),
            );
        }
    }
    names.sort();
    for name in names {
        let path = rel.join(&name);
        let name = Path::new(&name);
        let st =
            fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| err(&path, e))?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFLNK {
            let target = readlinkat(dir.as_fd(), name).map_err(|e| err(&path, e))?;
            visit(&path, Entry::Symlink(PathBuf::from(target)))?;
        } else if kind == SFlag::S_IFDIR {
            match open_dir(&*dir, name, &path)? {
                Ok(mut sub) => {
                    visit(&path, Entry::Dir(st.st_mode & 0o777))?;
                    walk_dir(&mut sub, &path, depth + 1, visit)?;
                }
                // Swapped for a link since the stat: a link all the same.
                Err(target) => visit(&path, Entry::Symlink(target))?,
            }
        } else if kind == SFlag::S_IFREG {
            // O_NONBLOCK: a FIFO swapped in since the stat does not block the open.
            let fd = openat(
                dir.as_fd(),
                name,
                OFlag::O_RDONLY
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_NONBLOCK
                    | OFlag::O_NOCTTY
                    | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| err(&path, e))?;
            let st = fstat(&fd).map_err(|e| err(&path, e))?;
            if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
                continue;
            }
            visit(
                &path,
                Entry::File(std::fs::File::from(fd), st.st_mode & 0o777),
            )?;
        }
        // FIFOs, sockets and device nodes are not outputs.
    }
    Ok(())
}

/// Whether a link at `link` (relative to the tree) with `target` stays inside `out`: relative,
/// and never climbing above `out` (lexically; nothing is resolved).
pub fn check_link(out: &Path, link: &Path, target: &Path) -> Result<(), Error> {
    let refuse = || Error::OutputLink {
        path: link.to_path_buf(),
        target: target.to_path_buf(),
    };
    let base = link
        .parent()
        .and_then(|p| p.strip_prefix(out).ok())
        .ok_or_else(refuse)?;
    let mut depth = base.components().count();
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth = depth.checked_sub(1).ok_or_else(refuse)?,
            Component::RootDir | Component::Prefix(_) => return Err(refuse()),
        }
    }
    if target.as_os_str().is_empty() {
        return Err(refuse());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_inside_the_output_are_kept_others_refused() {
        let out = Path::new("out");
        let ok = |l: &str, t: &str| check_link(out, Path::new(l), Path::new(t)).is_ok();
        assert!(ok("out/libfoo.so", "libfoo.so.1"));
        assert!(ok("out/a/b/x", "../../y"));
        assert!(ok("out/a/x", "./b/../c"));
        assert!(!ok("out/key", "/root/.zt/keys/local"));
        assert!(!ok("out/x", "../.zt/keys/local"));
        assert!(!ok("out/a/x", "../../src"));
        assert!(!ok("out/a/x", "b/../../../etc"));
        assert!(!ok("out/x", ""));
    }

    #[test]
    fn an_output_directory_that_is_a_link_is_refused_and_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let secret = tempfile::tempdir().unwrap();
        fs_err::write(secret.path().join("key"), "KEY").unwrap();
        std::os::unix::fs::symlink(secret.path(), t.path().join("out")).unwrap();
        let mut seen = Vec::new();
        let e = walk(t.path(), Path::new("out"), &mut |p, _| {
            seen.push(p.to_path_buf());
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(e, Error::OutputLink { .. }), "{e}");
        assert!(seen.is_empty());
    }

    #[test]
    fn walk_reports_links_as_links_and_masks_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        fs_err::create_dir_all(out.join("d")).unwrap();
        fs_err::write(out.join("d/f"), "x").unwrap();
        std::fs::set_permissions(out.join("d/f"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::os::unix::fs::symlink("/etc", out.join("d/l")).unwrap();
        let mut seen = Vec::new();
        assert!(
            walk(t.path(), Path::new("out"), &mut |p, e| {
                seen.push(format!(
                    "{} {}",
                    p.display(),
                    match e {
                        Entry::Dir(m) => format!("dir {m:o}"),
                        Entry::File(_, m) => format!("file {m:o}"),
                        Entry::Symlink(t) => format!("link {}", t.display()),
                    }
                ));
                Ok(())
            })
            .unwrap()
        );
        assert_eq!(
            seen,
            ["out/d dir 755", "out/d/f file 755", "out/d/l link /etc"]
        );
        assert!(!walk(t.path(), Path::new("missing"), &mut |_, _| Ok(())).unwrap());
    }
}
