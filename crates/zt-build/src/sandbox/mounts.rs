//! The sandbox's file system, built by the child in its own mount namespace: a tmpfs root,
//! read-only binds of the base system and the inputs, a generated `/etc`, the source copy
//! (nosuid, nodev), `/tmp`, a minimal `/dev` (no `tty`), `/run/secrets`, and `/proc`.

use std::ffi::CString;
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};

use super::{SecretFile, Spec};

/// The directories of the base system exposed in the sandbox (read-only).
pub(crate) const BASE_DIRS: &[&str] = &[
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt",
];

/// The devices in the sandbox's `/dev`. No `tty`: a build must not reach the caller's
/// terminal (TIOCSTI, the CVE-2017-5226 class).
pub(crate) const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// What of the base system's `/etc` is shown (read-only binds; a trailing `*` matches a
/// prefix): public configuration that toolchains read (the dynamic linker's cache, Debian's
/// `alternatives` symlinks — `/usr/bin/cc` points through them —, CA certificates, the
/// configuration of perl, python and the JDK). Never `shadow`, `gshadow`, `ssl/private`,
/// `ssh`, credentials of package managers (`pip.conf`, `npmrc`) or the host's `passwd`.
pub const ETC_SHOWN: &[&str] = &[
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "ssl/certs",
    "ssl/openssl.cnf",
    "ca-certificates",
    "ca-certificates.conf",
    "os-release",
    "debian_version",
    "lsb-release",
    "protocols",
    "services",
    "localtime",
    "timezone",
    "mime.types",
    "magic",
    "magic.mime",
    "perl",
    "python3*",
    "java-*",
    "fonts",
    "terminfo",
    "xml",
    "sgml",
    "gai.conf",
    "host.conf",
    "shells",
];

/// The files zt writes into the sandbox's `/etc` (name, contents) for a build running as
/// `uid`/`gid` with `hostname`.
pub fn etc_generated(uid: u32, gid: u32, hostname: &str) -> Vec<(&'static str, String)> {
    let mut passwd = String::from("root:x:0:0:root:/tmp:/bin/sh\n");
    let mut group = String::from("root:x:0:\n");
    if uid != 0 {
        passwd.push_str(&format!("build:x:{uid}:{gid}:zt build:/tmp:/bin/sh\n"));
    }
    if gid != 0 {
        group.push_str(&format!("build:x:{gid}:\n"));
    }
    passwd.push_str("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    group.push_str("nogroup:x:65534:\n");
    vec![
        ("passwd", passwd),
        ("group", group),
        ("hostname", format!("{hostname}\n")),
        (
            "hosts",
            format!("127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{hostname}\n"),
        ),
        (
            "resolv.conf",
            "# the zt build sandbox has no network\n".to_owned(),
        ),
        (
            "nsswitch.conf",
            "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\nprotocols: files\nservices: files\n".to_owned(),
        ),
    ]
}

pub(crate) fn bind(src: &Path, dst: &Path) -> Result<(), String> {
    mount(
        Some(src),
        dst,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        let hint = if e == nix::errno::Errno::EACCES {
            " (the build runs as an unprivileged user: the path and its parents must be readable by others)"
        } else {
            ""
        };
        format!("bind {} → {}: {e}{hint}", src.display(), dst.display())
    })
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

/// Sets nosuid and nodev on the mount at `dst` and the mounts below it, and read-only too
/// when `read_only` (one mount_setattr(2) call; a remount where the kernel lacks it).
pub(crate) fn restrict(dst: &Path, recursive: bool, read_only: bool) -> Result<(), String> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let c = CString::new(dst.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{}: NUL in path", dst.display()))?;
    let mut set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if read_only {
        set |= MOUNT_ATTR_RDONLY;
    }
    let attr = MountAttr {
        attr_set: set,
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
        return Err(format!("restrict {}: {e}", dst.display()));
    }
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    mount(None::<&str>, dst, None::<&str>, flags, None::<&str>)
        .map_err(|e| format!("remount {}: {e}", dst.display()))
}

pub(crate) fn mkdirs(p: &Path) -> Result<(), String> {
    fs_err::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))
}

pub(crate) fn inside(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

/// tmpfs options with a size limit (bytes, rounded up to whole KiB) when there is one.
fn sized(options: &str, limit: Option<u64>) -> String {
    match limit {
        Some(bytes) => format!("{options},size={}k", bytes.div_ceil(1024).max(1)),
        None => options.to_owned(),
    }
}

pub(crate) fn tmpfs(dst: &Path, flags: MsFlags, data: &str) -> Result<(), String> {
    mount(Some("tmpfs"), dst, Some("tmpfs"), flags, Some(data))
        .map_err(|e| format!("tmpfs {}: {e}", dst.display()))
}

/// A host path to show in the sandbox, resolved while the child still has zt's own
/// credentials (so that a toolchain below `/root`, or a base system in a private directory,
/// can be bound although the build's unprivileged user could not reach it).
pub(crate) enum Source {
    /// A symbolic link, copied as a link.
    Link(PathBuf),
    /// A directory, bound read-only from this `O_PATH` descriptor.
    Dir(OwnedFd),
    /// A file, bound read-only from this `O_PATH` descriptor.
    File(OwnedFd),
}

/// Every host path the new root shows, resolved: `(target inside, source)`.
pub(crate) struct Plan(Vec<(PathBuf, Source)>);

fn resolve(host: &Path, follow: bool) -> Result<Option<Source>, String> {
    let Ok(meta) = (if follow {
        std::fs::metadata(host)
    } else {
        std::fs::symlink_metadata(host)
    }) else {
        return Ok(None);
    };
    if meta.file_type().is_symlink() {
        let link =
            std::fs::read_link(host).map_err(|e| format!("readlink {}: {e}", host.display()))?;
        return Ok(Some(Source::Link(link)));
    }
    if !meta.is_dir() && !meta.is_file() {
        return Ok(None);
    }
    let fd = nix::fcntl::open(
        host,
        OFlag::O_PATH
            | OFlag::O_CLOEXEC
            | if follow {
                OFlag::empty()
            } else {
                OFlag::O_NOFOLLOW
            },
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("open {}: {e}", host.display()))?;
    Ok(Some(if meta.is_dir() {
        Source::Dir(fd)
    } else {
        Source::File(fd)
    }))
}

/// Resolves the base system's directories, the shown part of its `/etc` and the inputs.
pub(crate) fn plan(spec: &Spec) -> Result<Plan, String> {
    let mut plan = Vec::new();
    for d in BASE_DIRS {
        if let Some(s) = resolve(&spec.rootfs.join(d), false)? {
            plan.push((PathBuf::from("/").join(d), s));
        }
    }
    let host_etc = spec.rootfs.join("etc");
    // Listed once, for all the prefix patterns, and only if there is one.
    let mut listing: Option<Vec<String>> = None;
    for pattern in ETC_SHOWN {
        let names = match pattern.strip_suffix('*') {
            Some(prefix) => {
                let all = listing.get_or_insert_with(|| {
                    let mut all: Vec<String> = std::fs::read_dir(&host_etc)
                        .map(|rd| {
                            rd.filter_map(Result::ok)
                                .map(|e| e.file_name().to_string_lossy().into_owned())
                                .collect()
                        })
                        .unwrap_or_default();
                    all.sort();
                    all
                });
                all.iter()
                    .filter(|n| n.starts_with(prefix))
                    .cloned()
                    .collect()
            }
            None => vec![(*pattern).to_owned()],
        };
        for name in names {
            if let Some(s) = resolve(&host_etc.join(&name), false)? {
                plan.push((Path::new("/etc").join(name), s));
            }
        }
    }
    for input in &spec.inputs {
        if let Some(s) = resolve(input, true)? {
            plan.push((input.clone(), s));
        }
    }
    Ok(Plan(plan))
}

fn bind_fd(fd: &OwnedFd, dst: &Path) -> Result<(), String> {
    bind(Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd())), dst)
}

/// `/etc`: a small tmpfs of its own holding the generated files (the shown ones are bound
/// into it from the [`Plan`]); made read-only with everything bound below it in one call.
fn etc(spec: &Spec, root: &Path) -> Result<(), String> {
    let etc = root.join("etc");
    std::fs::create_dir(&etc).map_err(|e| format!("mkdir {}: {e}", etc.display()))?;
    tmpfs(
        &etc,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=0755,size=1m",
    )?;
    for (name, mut text) in etc_generated(spec.uid, spec.gid, &spec.hostname) {
        if let Some(ns) = &spec.resolver {
            match name {
                "resolv.conf" => text = format!("nameserver {ns}\noptions attempts:1 timeout:1\n"),
                "nsswitch.conf" => text = text.replace("hosts: files\n", "hosts: files dns\n"),
                _ => {}
            }
        }
        let path = etc.join(name);
        fs_err::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Builds the new root at `spec.scratch` (still below the old root); returns when it is ready
/// for pivot_root(2).
pub(crate) fn build_root(spec: &Spec, plan: &Plan) -> Result<(), String> {
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
    etc(spec, root)?;
    // /tmp first, so that inputs below /tmp are bound on top of the new tmpfs.
    let tmp = root.join("tmp");
    std::fs::create_dir(&tmp).map_err(|e| format!("mkdir {}: {e}", tmp.display()))?;
    tmpfs(
        &tmp,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        &sized("mode=1777", spec.write_limit),
    )?;
    let mut read_only_binds = Vec::new();
    for (at, source) in &plan.0 {
        let target = inside(root, at);
        if at.starts_with("/usr")
            && spec.inputs.contains(at)
            && std::fs::symlink_metadata(&target).is_ok()
        {
            continue; // an input already visible through a base bind
        }
        match source {
            Source::Link(link) => {
                mkdirs(target.parent().unwrap_or(root))?;
                std::os::unix::fs::symlink(link, &target)
                    .map_err(|e| format!("symlink {}: {e}", target.display()))?;
                continue;
            }
            Source::Dir(fd) => {
                mkdirs(&target)?;
                bind_fd(fd, &target)?;
            }
            Source::File(fd) => {
                mkdirs(target.parent().unwrap_or(root))?;
                if std::fs::symlink_metadata(&target).is_err() {
                    fs_err::File::create(&target)
                        .map_err(|e| format!("create {}: {e}", target.display()))?;
                }
                bind_fd(fd, &target)?;
            }
        }
        // Below /etc: made read-only with /etc itself, in one recursive call.
        if !at.starts_with("/etc") {
            read_only_binds.push(target);
        }
    }
    read_only_binds.push(root.join("etc"));
    for target in &read_only_binds {
        restrict(target, true, true)?;
    }
    let build = inside(root, &spec.build_path);
    mkdirs(&build)?;
    match &spec.source_copy {
        Some(copy) => {
            bind(copy, &build)?;
            // Writable, but a setuid bit or a device node made there means nothing.
            restrict(&build, true, false)?;
        }
        None => tmpfs(
            &build,
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            &sized("mode=0755", spec.write_limit),
        )?,
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
    // The new root's own tmpfs (with the generated /etc files) becomes read-only (not the
    // mounts on it).
    restrict(root, false, true)
}

/// `/run/secrets`: a small tmpfs holding one 0600 file per secret, then made read-only.
fn secrets(root: &Path, secrets: &[SecretFile]) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = root.join(super::SECRETS_DIR.trim_start_matches('/'));
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
    restrict(&dir, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_etc_names_the_build_user_and_holds_no_secret() {
        let files = etc_generated(1000, 1000, "zt-build");
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "passwd",
                "group",
                "hostname",
                "hosts",
                "resolv.conf",
                "nsswitch.conf"
            ]
        );
        let passwd = &files[0].1;
        assert!(passwd.contains("build:x:1000:1000:"), "{passwd}");
        assert!(files.iter().all(|(_, t)| !t.contains("$6$")));
        assert!(
            !ETC_SHOWN.iter().any(|p| p.contains("shadow")
                || p.starts_with("ssl/private")
                || p.starts_with("ssh"))
        );
    }
}
