//! `zt secrets exec`: run a command with secrets in its environment or in sealed in-memory
//! files, never in zt's own output.
//!
//! Once the secrets are read, zt **replaces itself** with the command (`execve`), so:
//! - the scoped token is gone: it is removed from the command's environment (as
//!   `ZT_SECRETS_TOKEN` and under any other name that holds it), and no zt process is left
//!   whose `/proc/PID/environ` or `/proc/PID/cmdline` still holds it — the command can read
//!   the secrets it was given and no other secret the token lists;
//! - signals (SIGTERM, SIGINT, SIGHUP, SIGQUIT, …) reach the command itself, it is the
//!   process the caller started; there is no parent to die without it, and its exit status
//!   (a code, or death by a signal) is the caller's to see unchanged;
//! - `--file` secrets are anonymous memory files (`memfd_create`, mode 0600, sealed against
//!   writes and resizing), passed as `/dev/fd/N`: no name in any filesystem, nothing to remove,
//!   nothing left behind when the command is killed, whatever the signal.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use nix::fcntl::{FcntlArg, FdFlag, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::stat::{Mode, fchmod};

use crate::Secret;
use crate::error::Error;

/// The environment variable `--token` may come from; never passed on to the command.
pub const TOKEN_ENV: &str = "ZT_SECRETS_TOKEN";

/// What to run and what to give it.
#[derive(Debug)]
pub struct ExecSpec {
    /// Environment variables to set to secret values.
    pub env: Vec<(String, Secret)>,
    /// Environment variables to set to the path (`/dev/fd/N`) of a memory file holding a
    /// secret value.
    pub files: Vec<(String, Secret)>,
    /// The program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The scoped token the secrets were read with: removed from the command's environment
    /// under whatever name holds it.
    pub token: String,
}

/// Checks an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn check_env_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Replaces the current process with the command; returns only when that fails (the
/// program cannot be found or run, or a memory file cannot be made).
pub fn run(spec: ExecSpec) -> Error {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args);
    for (name, value) in std::env::vars_os() {
        if token_in(&name, &value, &spec.token) {
            cmd.env_remove(name);
        }
    }
    for (name, value) in &spec.env {
        cmd.env(name, OsStr::from_bytes(value.expose()));
    }
    // Held open until the exec: the command inherits them (and only it: they are
    // close-on-exec until the last moment, so nothing else zt might start gets them).
    let mut files = Vec::with_capacity(spec.files.len());
    for (name, value) in &spec.files {
        match memory_file(name, value) {
            Ok(fd) => {
                cmd.env(name, format!("/dev/fd/{}", fd.as_raw_fd()));
                files.push(fd);
            }
            Err(e) => return e,
        }
    }
    for fd in &files {
        if let Err(e) = fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())) {
            return Error::Io(std::io::Error::other(format!(
                "passing a secret file to the command: {e}"
            )));
        }
    }
    let source = cmd.exec();
    Error::Exec {
        program: spec.program.to_string_lossy().into_owned(),
        source,
    }
}

/// Whether the variable is the token's: `ZT_SECRETS_TOKEN`, or any variable whose value
/// holds the token (`T=$(zt secrets token …)` exported by the job).
fn token_in(name: &OsStr, value: &OsStr, token: &str) -> bool {
    name == TOKEN_ENV
        || (!token.is_empty()
            && value
                .as_bytes()
                .windows(token.len())
                .any(|w| w == token.as_bytes()))
}

/// An anonymous memory file (close-on-exec for now) holding `value`: mode 0600, then sealed
/// so that neither the command nor anything else can change or resize it.
fn memory_file(name: &str, value: &Secret) -> Result<OwnedFd, Error> {
    let fail = |what: &str, e: nix::Error| {
        Error::Io(std::io::Error::other(format!(
            "{what} for `--file {name}`: {e}"
        )))
    };
    let fd = memfd_create(
        format!("zt-secret-{}", name.to_ascii_lowercase()).as_str(),
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| fail("creating a memory file (memfd_create)", e))?;
    fchmod(&fd, Mode::from_bits_truncate(0o600)).map_err(|e| fail("chmod 0600", e))?;
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, value.expose())?;
    let fd = OwnedFd::from(file);
    fcntl(
        &fd,
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_WRITE
                | SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_SEAL,
        ),
    )
    .map_err(|e| fail("sealing the memory file", e))?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_under_any_name() {
        let t = "zts1.abc.def";
        assert!(token_in(OsStr::new(TOKEN_ENV), OsStr::new(""), t));
        assert!(token_in(OsStr::new("T"), OsStr::new("zts1.abc.def"), t));
        assert!(token_in(
            OsStr::new("H"),
            OsStr::new("Bearer zts1.abc.def"),
            t
        ));
        assert!(!token_in(OsStr::new("T"), OsStr::new("zts1.abc"), t));
        assert!(!token_in(OsStr::new("PATH"), OsStr::new("/usr/bin"), ""));
    }

    #[test]
    fn a_memory_file_is_private_sealed_and_readable() {
        let fd = memory_file("KEY", &Secret::from(b"s3cret".to_vec())).unwrap();
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        assert_eq!(fs_err::read(&path).unwrap(), b"s3cret");
        // Twice: every open starts at offset 0.
        assert_eq!(fs_err::read(&path).unwrap(), b"s3cret");
        let meta = fs_err::metadata(&path).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600
        );
        // Sealed: writing through a fresh descriptor fails.
        let w = fs_err::OpenOptions::new().write(true).open(&path);
        assert!(
            w.and_then(|mut f| std::io::Write::write_all(&mut f, b"x"))
                .is_err()
        );
        // Close-on-exec until `run` clears it.
        let flags = fcntl(&fd, FcntlArg::F_GETFD).unwrap();
        assert!(FdFlag::from_bits_truncate(flags).contains(FdFlag::FD_CLOEXEC));
    }
}
