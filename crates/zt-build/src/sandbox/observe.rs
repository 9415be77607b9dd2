//! What the sandbox enforced, as the child saw it just before exec (after pivot_root, Landlock
//! and seccomp): sent to the parent over the set-up pipe, recorded in the provenance.

use serde_json::{Value, json};

use super::filter::LandlockState;

/// The namespaces zt creates, by their `/proc/<pid>/ns/` names.
pub(crate) const NAMESPACES: &[&str] = &["user", "mnt", "pid", "net", "uts", "ipc"];

/// The identities of the namespaces of the calling process (`user:[4026531837]`, …).
pub(crate) fn namespace_ids() -> Vec<String> {
    NAMESPACES
        .iter()
        .map(|n| {
            std::fs::read_link(format!("/proc/self/ns/{n}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// What the sandbox enforced, observed from inside.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The namespaces that differ from zt's own (observed through `/proc/self/ns`).
    pub namespaces: Vec<String>,
    /// Landlock's state.
    pub landlock: LandlockState,
    /// sha256 of the seccomp programs installed (see the filter module).
    pub seccomp_digest: String,
    /// `Seccomp:` of `/proc/self/status` (2: filter mode) and the number of filters.
    pub seccomp_mode: u32,
    /// `Seccomp_filters:` of `/proc/self/status`.
    pub seccomp_filters: u32,
    /// `NoNewPrivs:` of `/proc/self/status`.
    pub no_new_privs: bool,
    /// The mounts seen from inside: (mount point, file system type, options among `ro`/`rw`,
    /// `nosuid`, `nodev`, `noexec`), in mount order.
    pub mounts: Vec<(String, String, Vec<String>)>,
    /// `/proc/self/uid_map`, lines trimmed (inside, outside, count).
    pub uid_map: String,
    /// `/proc/self/gid_map`.
    pub gid_map: String,
    /// Network interfaces in the sandbox (`/proc/net/dev`).
    pub interfaces: Vec<String>,
    /// The session id equals the pid (`setsid` was called).
    pub new_session: bool,
    /// Descriptors open at exec besides 0, 1 and 2 (after close_range; 0 expected).
    pub inherited_fds: u32,
    /// The caller consented to a weak sandbox (`--allow-weak-sandbox`).
    pub weak_allowed: bool,
}

impl Observed {
    /// Why the sandbox is weaker than zt's default (empty: fully enforced).
    pub fn weaknesses(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.landlock.enforced() {
            w.push(format!(
                "landlock {} at ABI {} (kernel ABI {})",
                self.landlock.status, self.landlock.abi, self.landlock.kernel_abi
            ));
        }
        if self.seccomp_mode != 2 || !self.no_new_privs {
            w.push("seccomp filter not in place".into());
        }
        for n in NAMESPACES {
            if !self.namespaces.iter().any(|m| m == n) {
                w.push(format!("no new {n} namespace"));
            }
        }
        if self.interfaces.iter().any(|i| i != "lo") {
            w.push(format!("network interfaces {:?}", self.interfaces));
        }
        if !self.new_session {
            w.push("no new session".into());
        }
        if self.inherited_fds != 0 {
            w.push(format!("{} inherited descriptor(s)", self.inherited_fds));
        }
        w
    }

    /// Whether everything zt enforces by default was enforced.
    pub fn enforced(&self) -> bool {
        self.weaknesses().is_empty()
    }

    /// The provenance's `sandbox` object (merged with the build's own settings there).
    pub fn to_json(&self) -> Value {
        json!({
            "enforced": self.enforced(),
            "weaknesses": self.weaknesses(),
            "weakSandboxAllowed": self.weak_allowed,
            "namespaces": self.namespaces,
            "network": { "interfaces": self.interfaces },
            "landlock": {
                "kernelAbi": self.landlock.kernel_abi,
                "abi": self.landlock.abi,
                "status": self.landlock.status,
            },
            "seccomp": {
                "digest": self.seccomp_digest,
                "mode": self.seccomp_mode,
                "filters": self.seccomp_filters,
                "noNewPrivs": self.no_new_privs,
            },
            "mounts": self.mounts.iter().map(|(p, t, o)| json!({"path": p, "type": t, "options": o})).collect::<Vec<_>>(),
            "uidMap": self.uid_map,
            "gidMap": self.gid_map,
            "newSession": self.new_session,
            "inheritedFds": self.inherited_fds,
        })
    }

    /// Reads the message the child sent (see [`collect`]); `None` when it is not one.
    pub(crate) fn from_message(v: &Value) -> Option<Observed> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let n = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .and_then(|x| u32::try_from(x).ok())
        };
        let strings = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let ll = v.get("landlock")?;
        let status = match ll.get("status").and_then(Value::as_str)? {
            "fully-enforced" => "fully-enforced",
            "partially-enforced" => "partially-enforced",
            _ => "not-enforced",
        };
        let abi = |k: &str| {
            ll.get(k)
                .and_then(Value::as_i64)
                .and_then(|x| i32::try_from(x).ok())
        };
        let mounts = v
            .get("mounts")
            .and_then(Value::as_array)?
            .iter()
            .filter_map(|m| {
                let a = m.as_array()?;
                let opts = a
                    .get(2)?
                    .as_array()?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                Some((
                    a.first()?.as_str()?.to_owned(),
                    a.get(1)?.as_str()?.to_owned(),
                    opts,
                ))
            })
            .collect();
        Some(Observed {
            namespaces: strings("namespaces"),
            landlock: LandlockState {
                kernel_abi: abi("kernelAbi")?,
                abi: abi("abi")?,
                status,
            },
            seccomp_digest: String::new(),
            seccomp_mode: n("seccompMode")?,
            seccomp_filters: n("seccompFilters")?,
            no_new_privs: v.get("noNewPrivs").and_then(Value::as_bool)?,
            mounts,
            uid_map: s("uidMap")?,
            gid_map: s("gidMap")?,
            interfaces: strings("interfaces"),
            new_session: v.get("newSession").and_then(Value::as_bool)?,
            inherited_fds: n("inheritedFds")?,
            weak_allowed: false,
        })
    }
}

fn status_field(status: &str, key: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

fn id_map(path: &str) -> String {
    fs_err::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `/proc/self/mountinfo`: mount point, type and the security-relevant options of
/// each mount.
pub(crate) fn mounts(mountinfo: &str) -> Vec<(String, String, Vec<String>)> {
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            let point = f.get(4)?.replace("\\040", " ");
            let opts: Vec<String> = f
                .get(5)?
                .split(',')
                .filter(|o| matches!(*o, "ro" | "rw" | "nosuid" | "nodev" | "noexec"))
                .map(str::to_owned)
                .collect();
            let fstype = right.split(' ').next()?.to_owned();
            Some((point, fstype, opts))
        })
        .collect()
}

/// Collects the message in the child, just before exec: the namespaces that differ from
/// `parent_ns`, the Landlock state, what `/proc/self/status` says of seccomp, the mounts,
/// the id maps, the interfaces, the session, the descriptors left.
pub(crate) fn collect(parent_ns: &[String], landlock: &LandlockState) -> Value {
    let mine = namespace_ids();
    let namespaces: Vec<&str> = NAMESPACES
        .iter()
        .zip(mine.iter().zip(parent_ns))
        .filter(|(_, (m, p))| !m.is_empty() && m != p)
        .map(|(n, _)| *n)
        .collect();
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    let mountinfo = fs_err::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let interfaces: Vec<String> = fs_err::read_to_string("/proc/self/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_owned()))
        .collect();
    let pid = nix::unistd::getpid();
    let new_session = nix::unistd::getsid(None).is_ok_and(|s| s == pid);
    // Descriptors that will survive exec: 0, 1, 2 and any without close-on-exec.
    let mut inherited = 0u32;
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        for e in rd.filter_map(Result::ok) {
            let Ok(fd) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if fd <= 2 {
                continue;
            }
            // (One of them is read_dir's own, close-on-exec like everything std opens.)
            let flags = nix::fcntl::fcntl(unsafe_borrow(fd), nix::fcntl::FcntlArg::F_GETFD);
            if let Ok(f) = flags
                && f & nix::libc::FD_CLOEXEC == 0
            {
                inherited += 1;
            }
        }
    }
    json!({
        "namespaces": namespaces,
        "landlock": { "kernelAbi": landlock.kernel_abi, "abi": landlock.abi, "status": landlock.status },
        "seccompMode": status_field(&status, "Seccomp:"),
        "seccompFilters": status_field(&status, "Seccomp_filters:"),
        "noNewPrivs": status_field(&status, "NoNewPrivs:") == Some(1),
        "mounts": mounts(&mountinfo).into_iter().map(|(p, t, o)| json!([p, t, o])).collect::<Vec<_>>(),
        "uidMap": id_map("/proc/self/uid_map"),
        "gidMap": id_map("/proc/self/gid_map"),
        "interfaces": interfaces,
        "newSession": new_session,
        "inheritedFds": inherited,
    })
}

fn unsafe_borrow(fd: i32) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the descriptor number comes from /proc/self/fd of this single-threaded process
    // and is only passed to fcntl(F_GETFD) while no code here closes it; a number closed in
    // the meantime makes fcntl fail with EBADF, which is ignored.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_gives_point_type_and_security_options() {
        let info = "22 1 0:21 / / ro,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755\n\
                    23 22 8:1 /usr /usr ro,nosuid,nodev,relatime master:1 - ext4 /dev/sda1 rw\n\
                    24 22 0:22 / /build/my\\040src rw,nosuid,nodev - tmpfs tmpfs rw\n";
        let m = mounts(info);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            (
                "/".into(),
                "tmpfs".into(),
                vec!["ro".into(), "nosuid".into(), "nodev".into()]
            )
        );
        assert_eq!(m[1].1, "ext4");
        assert_eq!(m[2].0, "/build/my src");
    }

    #[test]
    fn weaknesses_name_what_was_missing() {
        let o = Observed {
            namespaces: vec!["user".into(), "mnt".into()],
            landlock: LandlockState {
                kernel_abi: -95,
                abi: 0,
                status: "not-enforced",
            },
            seccomp_digest: String::new(),
            seccomp_mode: 2,
            seccomp_filters: 2,
            no_new_privs: true,
            mounts: Vec::new(),
            uid_map: String::new(),
            gid_map: String::new(),
            interfaces: vec!["lo".into()],
            new_session: true,
            inherited_fds: 1,
            weak_allowed: true,
        };
        let w = o.weaknesses();
        assert!(w[0].starts_with("landlock not-enforced"), "{w:?}");
        assert!(w.iter().any(|x| x == "no new pid namespace"), "{w:?}");
        assert!(w.iter().any(|x| x == "1 inherited descriptor(s)"), "{w:?}");
        assert!(!o.enforced());
    }
}
