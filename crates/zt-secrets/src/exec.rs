//! `zt secrets exec`: run a command with secrets in its environment or in 0600 files on a
//! tmpfs, never in zt's own output. The files live in a private (0700) directory under
//! `/dev/shm` (memory only) that is removed when the command ends; the command's exit code
//! is passed through.

use fs_err::os::unix::fs::OpenOptionsExt as _;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::Command;

use crate::Secret;
use crate::error::Error;

/// Where secret files go: memory-backed, never written to disk.
pub const TMPFS: &str = "/dev/shm";

/// What to run and what to give it.
#[derive(Debug)]
pub struct ExecSpec {
    /// Environment variables to set to secret values.
    pub env: Vec<(String, Secret)>,
    /// Environment variables to set to the path of a file holding a secret value.
    pub files: Vec<(String, Secret)>,
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

/// Checks an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn check_env_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Runs the command; returns its exit code (128 + signal number when killed by a signal).
pub fn run(spec: ExecSpec) -> Result<i32, Error> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args);
    for (name, value) in &spec.env {
        cmd.env(name, std::ffi::OsStr::from_bytes(value.expose()));
    }
    let dir = if spec.files.is_empty() {
        None
    } else {
        let dir = tempfile::Builder::new()
            .prefix("zt-secrets-")
            .tempdir_in(TMPFS)
            .map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("creating a private directory under `{TMPFS}`: {e}"),
                ))
            })?;
        fs_err::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        for (i, (name, value)) in spec.files.iter().enumerate() {
            let path: PathBuf = dir
                .path()
                .join(format!("{i}-{}", name.to_ascii_lowercase()));
            let mut f = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            std::io::Write::write_all(&mut f, value.expose())?;
            cmd.env(name, &path);
        }
        Some(dir)
    };
    let status = cmd.status().map_err(|source| Error::Exec {
        program: spec.program.to_string_lossy().into_owned(),
        source,
    });
    drop(dir);
    let status = status?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}
