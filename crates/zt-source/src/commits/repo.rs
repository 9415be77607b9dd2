//! Reading a git repository with `gix`: revisions, the commit graph, raw commit objects, files
//! in a commit's tree and the paths a commit changes. Only the object database, the ref store
//! and the configuration are used: no network, index or worktree.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::object::Commit;
use crate::Error;

/// An open repository.
pub struct Repo {
    repo: gix::Repository,
    /// Where zt keeps its state (`.zt/` in the work tree, or in the git dir of a bare repo).
    pub root: PathBuf,
}

fn git_err(what: impl Into<String>, e: impl std::fmt::Display) -> Error {
    Error::Repository {
        what: what.into(),
        reason: e.to_string(),
    }
}

impl Repo {
    /// Opens the repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Self, Error> {
        let repo = gix::discover(dir).map_err(|_| Error::NotGit {
            path: dir.to_path_buf(),
        })?;
        let root = repo
            .workdir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| repo.git_dir().to_path_buf());
        Ok(Self { repo, root })
    }

    /// A string value of the repository's git configuration (`zt.trustRoot`).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
    }

    /// Resolves a revision: a full or abbreviated object id, `HEAD`, a ref name (`main`,
    /// `refs/tags/v1`, `origin/main`), each optionally followed by `~N`, `^` or `^N`.
    pub fn resolve(&self, spec: &str) -> Result<ObjectId, Error> {
        let bad = |reason: &str| Error::Revision {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let cut = spec.find(['~', '^']).unwrap_or(spec.len());
        let (base, mut rest) = spec.split_at(cut);
        let mut id = self
            .resolve_base(base)
            .ok_or_else(|| bad("no such commit or ref"))?;
        id = self
            .peel_to_commit(id)
            .ok_or_else(|| bad("does not name a commit"))?;
        while !rest.is_empty() {
            let (op, tail) = rest.split_at(1);
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            let (num, tail) = tail.split_at(digits);
            let n: usize = if num.is_empty() {
                1
            } else {
                num.parse().map_err(|_| bad("bad number"))?
            };
            if op == "~" {
                for _ in 0..n {
                    id = *self
                        .commit(id)?
                        .parents
                        .first()
                        .ok_or_else(|| bad("walks past the first commit"))?;
                }
            } else if n > 0 {
                id = *self
                    .commit(id)?
                    .parents
                    .get(n - 1)
                    .ok_or_else(|| bad("no such parent"))?;
            }
            rest = tail;
        }
        Ok(id)
    }

    fn resolve_base(&self, base: &str) -> Option<ObjectId> {
        let base = if base.is_empty() || base == "@" {
            "HEAD"
        } else {
            base
        };
        if base == "HEAD" {
            return self.repo.head_id().ok().map(|id| id.detach());
        }
        for name in [
            base.to_string(),
            format!("refs/{base}"),
            format!("refs/tags/{base}"),
            format!("refs/heads/{base}"),
            format!("refs/remotes/{base}"),
        ] {
            if let Ok(Some(mut r)) = self.repo.try_find_reference(name.as_str())
                && let Ok(id) = r.peel_to_id()
            {
                return Some(id.detach());
            }
        }
        if base.len() >= 4 && base.len() <= 40 && base.bytes().all(|b| b.is_ascii_hexdigit()) {
            if base.len() == 40 {
                return ObjectId::from_hex(base.as_bytes()).ok();
            }
            let prefix = gix::hash::Prefix::from_hex(base).ok()?;
            if let Ok(Some(Ok(id))) = self.repo.objects.lookup_prefix(prefix, None) {
                return Some(id);
            }
        }
        None
    }

    fn peel_to_commit(&self, mut id: ObjectId) -> Option<ObjectId> {
        for _ in 0..16 {
            let obj = self.repo.find_object(id).ok()?;
            match obj.kind {
                gix::object::Kind::Commit => return Some(id),
                gix::object::Kind::Tag => {
                    let tag =
                        gix::objs::TagRef::from_bytes(&obj.data, self.repo.object_hash()).ok()?;
                    id = tag.target();
                }
                _ => return None,
            }
        }
        None
    }

    /// The content of object `id`, which must be of `kind` (named `what` in errors).
    fn object_data(
        &self,
        id: ObjectId,
        kind: gix::object::Kind,
        what: &str,
    ) -> Result<Vec<u8>, Error> {
        let obj = self
            .repo
            .find_object(id)
            .map_err(|e| git_err(format!("{what} {id}"), e))?;
        if obj.kind != kind {
            return Err(git_err(format!("object {id}"), format!("is not a {what}")));
        }
        Ok(obj.detach().data)
    }

    /// The raw bytes of commit `id` (the object's content, without git's `commit <len>\0`).
    pub fn raw_commit(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        self.object_data(id, gix::object::Kind::Commit, "commit")
    }

    /// Commit `id`, parsed.
    pub fn commit(&self, id: ObjectId) -> Result<Commit, Error> {
        let raw = self.raw_commit(id)?;
        Commit::parse(id, raw).map_err(|reason| git_err(format!("commit {id}"), reason))
    }

    /// The ids of `tips` and all their ancestors.
    pub fn ancestors(&self, tips: &[ObjectId]) -> Result<HashSet<ObjectId>, Error> {
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut stack: Vec<ObjectId> = tips.to_vec();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.commit(id)?.parents);
            }
        }
        Ok(seen)
    }

    /// The commits reachable from `tip` and not in `hidden`, parents before children.
    pub fn walk(&self, tip: ObjectId, hidden: &HashSet<ObjectId>) -> Result<Vec<Commit>, Error> {
        let mut commits: HashMap<ObjectId, Commit> = HashMap::new();
        let mut stack = vec![tip];
        while let Some(id) = stack.pop() {
            if hidden.contains(&id) || commits.contains_key(&id) {
                continue;
            }
            let c = self.commit(id)?;
            stack.extend(c.parents.iter().copied());
            commits.insert(id, c);
        }
        // Depth-first post-order from the tip: every parent is emitted before its children.
        let mut order = Vec::with_capacity(commits.len());
        let mut done: HashSet<ObjectId> = HashSet::new();
        let mut stack: Vec<(ObjectId, bool)> = vec![(tip, false)];
        while let Some((id, expanded)) = stack.pop() {
            if done.contains(&id) {
                continue;
            }
            let Some(c) = commits.get(&id) else { continue };
            if expanded {
                done.insert(id);
                order.push(id);
            } else {
                stack.push((id, true));
                for p in c.parents.iter().rev() {
                    if !done.contains(p) && commits.contains_key(p) {
                        stack.push((*p, false));
                    }
                }
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|id| commits.remove(&id))
            .collect())
    }

    /// The id of the blob at `path` (`/`-separated) in tree `tree`, if there is one.
    pub fn blob_at(&self, tree: ObjectId, path: &str) -> Result<Option<ObjectId>, Error> {
        let mut current = tree;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let Some((oid, is_tree)) = self.tree_entry(current, part)? else {
                return Ok(None);
            };
            match (parts.peek().is_some(), is_tree) {
                (true, true) => current = oid,
                (false, false) => return Ok(Some(oid)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    fn tree_entry(&self, tree: ObjectId, name: &str) -> Result<Option<(ObjectId, bool)>, Error> {
        let data = self.tree_data(tree)?;
        let parsed = gix::objs::TreeRef::from_bytes(&data, self.repo.object_hash())
            .map_err(|e| git_err(format!("tree {tree}"), e))?;
        Ok(parsed
            .entries
            .iter()
            .find(|e| e.filename == name.as_bytes())
            .map(|e| (e.oid.to_owned(), e.mode.is_tree())))
    }

    fn tree_data(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        self.object_data(id, gix::object::Kind::Tree, "tree")
    }

    /// The contents of blob `id`.
    pub fn blob(&self, id: ObjectId) -> Result<Vec<u8>, Error> {
        let obj = self
            .repo
            .find_object(id)
            .map_err(|e| git_err(format!("blob {id}"), e))?;
        Ok(obj.detach().data)
    }

    /// The paths (files, `/`-separated) that differ between trees `old` (none: the empty tree)
    /// and `new`: added, removed or modified.
    pub fn changed_paths(
        &self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<BTreeSet<String>, Error> {
        let mut out = BTreeSet::new();
        self.diff_trees(old, Some(new), "", &mut out)?;
        Ok(out)
    }

    fn entries(&self, tree: Option<ObjectId>) -> Result<HashMap<Vec<u8>, (ObjectId, bool)>, Error> {
        let Some(tree) = tree else {
            return Ok(HashMap::new());
        };
        let data = self.tree_data(tree)?;
        let parsed = gix::objs::TreeRef::from_bytes(&data, self.repo.object_hash())
            .map_err(|e| git_err(format!("tree {tree}"), e))?;
        Ok(parsed
            .entries
            .iter()
            .map(|e| (e.filename.to_vec(), (e.oid.to_owned(), e.mode.is_tree())))
            .collect())
    }

    fn diff_trees(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        prefix: &str,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Error> {
        if old == new {
            return Ok(());
        }
        let a = self.entries(old)?;
        let b = self.entries(new)?;
        let names: BTreeSet<&Vec<u8>> = a.keys().chain(b.keys()).collect();
        for name in names {
            let path = format!("{prefix}{}", String::from_utf8_lossy(name));
            let (ea, eb) = (a.get(name), b.get(name));
            if ea == eb {
                continue;
            }
            let tree_of = |e: Option<&(ObjectId, bool)>| e.filter(|x| x.1).map(|x| x.0);
            let is_file = |e: Option<&(ObjectId, bool)>| e.is_some_and(|x| !x.1);
            if is_file(ea) || is_file(eb) {
                out.insert(path.clone());
            }
            let (ta, tb) = (tree_of(ea), tree_of(eb));
            if ta.is_some() || tb.is_some() {
                self.diff_trees(ta, tb, &format!("{path}/"), out)?;
            }
        }
        Ok(())
    }
}
