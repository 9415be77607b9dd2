//! An image's filesystem as its layers make it: each layer applied over the ones below, with
//! the OCI whiteouts (`.wh.NAME` deletes `NAME` of the lower layers, `.wh..wh..opq` empties
//! its directory of what the lower layers put there; neither touches entries of its own
//! layer). Only the data of the files a caller asks for is kept; every path is known.

use std::collections::BTreeMap;

use crate::Error;
use crate::tar::{self, Kind};

/// One path of the merged filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A regular file; its data when it was kept.
    File(Option<Vec<u8>>),
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink(String),
    /// A device or FIFO.
    Other,
}

/// The merged filesystem.
#[derive(Debug, Default, Clone)]
pub struct Rootfs {
    nodes: BTreeMap<String, Node>,
    /// Entries skipped because their path leaves the root (`..`): named for the report.
    pub skipped: Vec<String>,
}

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

impl Rootfs {
    /// An empty filesystem.
    pub fn new() -> Self {
        Rootfs::default()
    }

    /// Every path, in order, with its node.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many paths there are.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Removes `path` and everything under it.
    fn remove_tree(&mut self, path: &str) {
        self.nodes.remove(path);
        self.remove_children(path);
    }

    /// Removes everything under `dir` (not `dir` itself).
    fn remove_children(&mut self, dir: &str) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    /// Applies one layer (its bytes: tar or tar+gzip) over the filesystem. The data of files
    /// for which `keep(path)` holds is kept (at most `max_kept` bytes each). `name` names the
    /// layer in errors.
    pub fn apply(
        &mut self,
        layer: &[u8],
        name: &str,
        keep: &dyn Fn(&str) -> bool,
        max_kept: u64,
    ) -> Result<(), Error> {
        let mut entries = Vec::new();
        tar::read_layer(layer, name, keep, max_kept, &mut |e| entries.push(e))?;
        // Whiteouts first: they apply to the lower layers only.
        let mut own = Vec::with_capacity(entries.len());
        for e in entries {
            if e.path.split('/').any(|c| c == "..") {
                self.skipped.push(e.path);
                continue;
            }
            let base = e.path.rsplit('/').next().unwrap_or_default();
            let parent = parent_of(&e.path);
            if base == OPAQUE {
                self.remove_children(parent);
            } else if let Some(victim) = base.strip_prefix(WHITEOUT) {
                let target = if parent.is_empty() {
                    victim.to_string()
                } else {
                    format!("{parent}/{victim}")
                };
                self.remove_tree(&target);
            } else if !e.path.is_empty() {
                own.push(e);
            }
        }
        for e in own {
            let node = match e.kind {
                Kind::Dir => Node::Dir,
                Kind::File => Node::File(e.data),
                Kind::Symlink(t) => Node::Symlink(t),
                Kind::Hardlink(target) => match self.nodes.get(&target) {
                    Some(Node::File(data)) => {
                        Node::File(if keep(&e.path) { data.clone() } else { None })
                    }
                    Some(other) => other.clone(),
                    None => Node::File(None),
                },
                Kind::Other => Node::Other,
            };
            // A directory over a directory keeps what is below it; anything else replaces
            // the lower entry and what was below it.
            let replaces = match self.nodes.get(&e.path) {
                Some(Node::Dir) => node != Node::Dir,
                Some(_) => true,
                None => false,
            };
            if replaces {
                self.remove_tree(&e.path);
            }
            self.nodes.insert(e.path, node);
        }
        Ok(())
    }

    /// The node at `path` without following links.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path.trim_matches('/'))
    }

    /// `path` with every symbolic link in it resolved inside the image (absolute targets are
    /// relative to the image's root, `..` stops at it); `None` past 40 links.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = path
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            done.push(c);
            let here = done.join("/");
            // A layer need not list the directories above its files: a missing component is
            // a directory; only a link redirects.
            if let Some(Node::Symlink(target)) = self.nodes.get(&here) {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|c| !c.is_empty())
                        .rev()
                        .map(str::to_string),
                );
            }
        }
        Some(done.join("/"))
    }

    /// The kept data of the file at `path`, links followed.
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(&self.resolve(path)?)? {
            Node::File(Some(data)) => Some(data),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        // (path, Some(content)) is a file, (path/, None) a dir, (path, None) an empty file;
        // "a -> b" is a link.
        let dir = tempfile::tempdir().unwrap();
        for (p, c) in entries {
            let full = dir.path().join(p.trim_end_matches('/'));
            if let Some((from, to)) = p.split_once(" -> ") {
                std::os::unix::fs::symlink(to, dir.path().join(from)).unwrap();
            } else if p.ends_with('/') {
                fs_err::create_dir_all(&full).unwrap();
            } else {
                fs_err::create_dir_all(full.parent().unwrap()).unwrap();
                fs_err::write(&full, c.unwrap_or("")).unwrap();
            }
        }
        tar::gzip(&tar::from_dir(dir.path(), "/", 0).unwrap())
    }

    #[test]
    fn whiteouts_and_opaque_directories_hide_the_lower_layers_only() {
        let mut fs = Rootfs::new();
        let all = |_: &str| true;
        fs.apply(
            &layer(&[
                ("etc/os-release", Some("ID=debian")),
                ("etc/keep", Some("k")),
                ("var/lib/dpkg/status", Some("old")),
                ("var/lib/dpkg/status.d/a", Some("a")),
                ("opt/app/x", Some("x")),
            ]),
            "1",
            &all,
            1 << 20,
        )
        .unwrap();
        fs.apply(
            &layer(&[
                ("etc/.wh.os-release", None),
                ("var/lib/dpkg/status.d/.wh..wh..opq", None),
                ("var/lib/dpkg/status.d/b", Some("b")),
                ("var/lib/dpkg/status", Some("new")),
                ("opt/.wh.app", None),
            ]),
            "2",
            &all,
            1 << 20,
        )
        .unwrap();
        assert_eq!(fs.read("etc/os-release"), None);
        assert_eq!(fs.read("/etc/keep"), Some(&b"k"[..]));
        assert_eq!(fs.read("var/lib/dpkg/status"), Some(&b"new"[..]));
        assert_eq!(fs.read("var/lib/dpkg/status.d/a"), None);
        assert_eq!(fs.read("var/lib/dpkg/status.d/b"), Some(&b"b"[..]));
        assert!(fs.get("opt/app").is_none() && fs.get("opt/app/x").is_none());
        assert!(fs.get("opt").is_some());
        // No whiteout file itself shows.
        assert!(fs.iter().all(|(p, _)| !p.contains(".wh.")));
    }

    #[test]
    fn links_resolve_inside_the_image() {
        let mut fs = Rootfs::new();
        fs.apply(
            &layer(&[
                ("usr/lib/os-release", Some("ID=alpine")),
                ("etc/", None),
                ("etc/os-release -> ../usr/lib/os-release", None),
                ("lib -> /usr/lib", None),
                ("loop -> loop", None),
                ("up -> ../../../usr/lib/os-release", None),
            ]),
            "1",
            &|_| true,
            1 << 20,
        )
        .unwrap();
        assert_eq!(fs.read("etc/os-release"), Some(&b"ID=alpine"[..]));
        assert_eq!(fs.read("lib/os-release"), Some(&b"ID=alpine"[..]));
        assert_eq!(fs.read("up"), Some(&b"ID=alpine"[..]));
        assert_eq!(fs.read("loop"), None);
    }

    /// A hostile layer: entries that climb out of the root are skipped and named, absolute
    /// and `./` paths land inside it, and a hard link to a kept file carries its data.
    #[test]
    fn entries_that_leave_the_root_are_skipped_and_named() {
        let mut t = Vec::new();
        for (name, kind, data, link) in [
            (&b"../../etc/shadow"[..], b'0', &b"x"[..], &b""[..]),
            (b"/var/lib/dpkg/status", b'0', b"Package: a", b""),
            (b"./etc/os-release", b'0', b"ID=debian", b""),
            (b"etc/os-release.bak", b'1', b"", b"./etc/os-release"),
            (b"a/../../b", b'5', b"", b""),
        ] {
            t.extend_from_slice(&tar::header(name, kind, 0o644, data.len() as u64, link, 0));
            t.extend_from_slice(data);
            tar::pad(&mut t);
        }
        t.extend_from_slice(&[0u8; 1024]);
        let mut fs = Rootfs::new();
        fs.apply(&t, "evil", &|_| true, 1 << 20).unwrap();
        assert_eq!(fs.skipped, ["../../etc/shadow", "a/../../b"]);
        assert_eq!(fs.read("var/lib/dpkg/status"), Some(&b"Package: a"[..]));
        assert_eq!(fs.read("etc/os-release.bak"), Some(&b"ID=debian"[..]));
        assert!(fs.iter().all(|(p, _)| !p.contains("..")));
    }

    #[test]
    fn a_file_replacing_a_directory_removes_what_was_below() {
        let mut fs = Rootfs::new();
        fs.apply(&layer(&[("a/b/c", Some("c"))]), "1", &|_| true, 1 << 20)
            .unwrap();
        fs.apply(&layer(&[("a/b", Some("file"))]), "2", &|_| true, 1 << 20)
            .unwrap();
        assert_eq!(fs.read("a/b"), Some(&b"file"[..]));
        assert!(fs.get("a/b/c").is_none());
    }
}
