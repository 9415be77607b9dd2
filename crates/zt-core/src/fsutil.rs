//! Writing files so that a crash never leaves half of one: write a temporary file beside the
//! target, fsync it, rename it over the target, and fsync the directory.
//!
//! Crash tests set `ZT_FAILPOINT=before-rename:TEXT`: an atomic write to a path containing
//! `TEXT` then aborts the process after the temporary file is synced and before the rename,
//! leaving the temporary file behind as a power cut would.

use std::io::Write;
use std::path::Path;

/// Atomically replaces `path` with `contents` (temp file + fsync + rename + directory fsync).
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, contents, None)
}

/// Like [`write_atomic`], with Unix permission bits for the new file (e.g. `0o600` for keys).
pub fn write_atomic_mode(path: &Path, contents: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = parent_dir(path);
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zt-tmp-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    if let Some(mode) = mode {
        set_mode(tmp.as_file(), mode)?;
    }
    tmp.write_all(contents).map_err(|e| with_path(e, path))?;
    tmp.as_file().sync_all().map_err(|e| with_path(e, path))?;
    if failpoint_before_rename(path) {
        let _ = tmp.keep();
        std::process::abort();
    }
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    sync_dir(dir)
}

/// Creates `path` with `contents` only if nothing exists there yet (no overwrite, no race):
/// the file is written and synced under a temporary name, then hard-linked into place, which
/// fails if the target exists.
pub fn create_new_atomic(path: &Path, contents: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = parent_dir(path);
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zt-tmp-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    if let Some(mode) = mode {
        set_mode(tmp.as_file(), mode)?;
    }
    tmp.write_all(contents).map_err(|e| with_path(e, path))?;
    tmp.as_file().sync_all().map_err(|e| with_path(e, path))?;
    if failpoint_before_rename(path) {
        let _ = tmp.keep();
        std::process::abort();
    }
    tmp.persist_noclobber(path)
        .map_err(|e| with_path(e.error, path))?;
    sync_dir(dir)
}

/// Removes the temporary files an interrupted atomic write left in `dir` (a crash, or a process
/// that exited mid-write) once they are older than `age`, so that a writer still at work in
/// another process keeps its own. Best effort: errors are ignored.
pub fn sweep_stale_temps(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(".zt-tmp-") {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d >= age);
        if old {
            let _ = fs_err::remove_file(e.path());
        }
    }
}

/// Whether the crash-test failpoint (see the module's documentation) names `path`.
fn failpoint_before_rename(path: &Path) -> bool {
    std::env::var("ZT_FAILPOINT").ok().is_some_and(|f| {
        f.strip_prefix("before-rename:")
            .is_some_and(|text| !text.is_empty() && path.to_string_lossy().contains(text))
    })
}

/// Fsyncs a directory so that a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let d = fs_err::File::open(dir)?;
    d.sync_all().map_err(|e| with_path(e, dir))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

fn with_path(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{e} at `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        create_new_atomic(&p, b"one", Some(0o600)).unwrap();
        let err = create_new_atomic(&p, b"two", Some(0o600)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs_err::read(&p).unwrap(), b"one");
        use std::os::unix::fs::PermissionsExt;
        let mode = fs_err::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temporary file is left behind.
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporary_files_are_swept_young_ones_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let old = dir.path().join(".zt-tmp-old");
        let young = dir.path().join(".zt-tmp-young");
        let other = dir.path().join("digests.json");
        for p in [&old, &young, &other] {
            fs_err::write(p, b"x").unwrap_or_else(|e| panic!("{e}"));
        }
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs_err::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.file().set_modified(hour_ago))
            .unwrap_or_else(|e| panic!("{e}"));
        fs_err::File::options()
            .write(true)
            .open(&other)
            .and_then(|f| f.file().set_modified(hour_ago))
            .unwrap_or_else(|e| panic!("{e}"));
        sweep_stale_temps(dir.path(), std::time::Duration::from_secs(600));
        assert!(!old.exists());
        assert!(young.exists() && other.exists());
    }

    #[test]
    fn write_atomic_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"a").unwrap();
        write_atomic(&p, b"b").unwrap();
        assert_eq!(fs_err::read(&p).unwrap(), b"b");
    }
}
