//! SLSA v1 provenance for a build: an in-toto Statement about every output file, with the
//! pinned inputs (git commit or source-tree digest, lockfiles, toolchain binaries with digests
//! and versions, OS release, kernel) and the environment the sandbox gave the build.
//!
//! The statement is returned as a value and written unsigned to
//! `<tree>/.zt/provenance/build-<invocation>.intoto.json`; signing and logging are done by the
//! caller (zt-sign, the log).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use zt_core::{Digest, ResourceDescriptor, Statement, predicate};

use crate::Error;
use crate::build::{BUILD_PATH, HOSTNAME, Options, Outcome, SourceState};

/// The build type URI of zt's sandboxed builds.
pub const BUILD_TYPE: &str = "https://zt.dev/build/sandbox/v1";

/// The builder id (this crate's version).
pub fn builder_id() -> String {
    format!(
        "https://zt.dev/builder/zt-build@{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Lockfiles whose digests pin a build's dependencies.
const LOCKFILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "go.sum",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "Gemfile.lock",
    "composer.lock",
    "gradle.lockfile",
];

/// Tools recorded when present in the sandbox's PATH (besides the build command itself).
const TOOLS: &[&str] = &[
    "sh", "make", "cc", "gcc", "g++", "clang", "ld", "as", "ar", "rustc", "cargo", "go", "javac",
    "python3",
];

/// RFC 3339 UTC with seconds.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    zt_core::time::rfc3339(secs)
}

fn file_digest(path: &Path) -> Option<Digest> {
    fs_err::read(path).ok().map(|b| Digest::sha256(&b))
}

fn digest_map(d: &Digest) -> Value {
    json!({ d.algorithm().name(): d.hex() })
}

/// sha256 over the sorted list of `<sha256 of contents>  <path>\n` lines of the files in `dir`
/// (like `sha256sum` output), skipping `skip` at the top level: the source tree digest.
pub fn tree_digest(dir: &Path, skip: &[&Path]) -> Result<Digest, Error> {
    fn walk(root: &Path, dir: &Path, skip: &[&Path], lines: &mut Vec<String>) -> Result<(), Error> {
        let entries = crate::build::sorted_entries(dir)?;
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            if skip.contains(&rel.as_path()) {
                continue;
            }
            let meta = fs_err::symlink_metadata(&p).map_err(|err| Error::io(&p, err))?;
            if meta.file_type().is_symlink() {
                let target = fs_err::read_link(&p).map_err(|err| Error::io(&p, err))?;
                lines.push(format!(
                    "{}  {} -> {}\n",
                    Digest::sha256(target.as_os_str().as_encoded_bytes()).hex(),
                    rel.display(),
                    target.display()
                ));
            } else if meta.is_dir() {
                walk(root, &p, skip, lines)?;
            } else if meta.is_file() {
                let d = file_digest(&p)
                    .ok_or_else(|| Error::io(&p, std::io::Error::other("unreadable")))?;
                lines.push(format!("{}  {}\n", d.hex(), rel.display()));
            }
        }
        Ok(())
    }
    let mut lines = Vec::new();
    walk(dir, dir, skip, &mut lines)?;
    Ok(Digest::sha256(lines.concat().as_bytes()))
}

fn version_command(host: &Path) -> Option<std::process::Child> {
    std::process::Command::new(host)
        .arg("--version")
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()
}

fn version_output(child: std::process::Child) -> Option<String> {
    let out = child.wait_with_output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
}

/// Toolchain digests and `--version` lines remembered between builds in
/// `<tree>/.zt/cache/digests.json`, keyed by the file's canonical path and its size,
/// modification time (ns), inode, device and change time (ns): a binary that changes in any
/// of these is hashed and asked again. (The change time is what catches a rewrite in place
/// that keeps the size and sets the mtime back, `cp -p` over the old file: no unprivileged
/// call sets it.) Written atomically, only when something new was learnt.
#[derive(Debug)]
pub struct DigestCache {
    path: PathBuf,
    entries: serde_json::Map<String, Value>,
    changed: bool,
}

/// One file's identity for the cache.
fn stat_key(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let m = fs_err::metadata(path).ok()?;
    Some(format!(
        "{}:{}.{}:{}:{}:{}.{}",
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ino(),
        m.dev(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

impl DigestCache {
    /// The cache of the tree (empty when missing or unreadable).
    pub fn open(tree: &Path) -> DigestCache {
        let path = tree.join(".zt/cache/digests.json");
        // A run that exited while its idle digest thread was saving leaves a temporary file.
        zt_core::fsutil::sweep_stale_temps(&tree.join(".zt/cache"), Duration::from_secs(600));
        let entries = fs_err::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("entries").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        DigestCache {
            path,
            entries,
            changed: false,
        }
    }

    fn lookup(&self, real: &Path, key: &str) -> Option<(Digest, Option<String>)> {
        let e = self.entries.get(&real.to_string_lossy().into_owned())?;
        if e.get("key").and_then(Value::as_str) != Some(key) {
            return None;
        }
        let d = Digest::from_hex(
            zt_core::DigestAlgorithm::Sha256,
            e.get("sha256").and_then(Value::as_str)?,
        )
        .ok()?;
        Some((
            d,
            e.get("version").and_then(Value::as_str).map(str::to_owned),
        ))
    }

    fn insert(&mut self, real: &Path, key: String, d: &Digest, version: Option<&str>) {
        self.entries.insert(
            real.to_string_lossy().into_owned(),
            json!({ "key": key, "sha256": d.hex(), "version": version }),
        );
        self.changed = true;
    }

    /// [`tree_digest`] of an input directory (a toolchain can be a gigabyte): reused while a
    /// walk finds every file with the same path, size, mtime, inode and device (and every
    /// symlink with the same target) as when it was computed.
    pub fn tree_digest(&mut self, dir: &Path) -> Result<Digest, Error> {
        fn walk(root: &Path, dir: &Path, h: &mut Vec<u8>) -> Result<(), Error> {
            use std::os::unix::fs::MetadataExt as _;
            let entries = crate::build::sorted_entries(dir)?;
            for e in entries {
                let p = e.path();
                // Relative to the directory's descriptor (fstatat), not followed.
                let m = e.metadata().map_err(|err| Error::io(&p, err))?;
                let rel = p.strip_prefix(root).unwrap_or(&p);
                h.extend_from_slice(rel.as_os_str().as_encoded_bytes());
                if m.file_type().is_symlink() {
                    let t = fs_err::read_link(&p).map_err(|err| Error::io(&p, err))?;
                    h.extend_from_slice(b"\0->");
                    h.extend_from_slice(t.as_os_str().as_encoded_bytes());
                    h.push(b'\n');
                } else if m.is_dir() {
                    h.extend_from_slice(b"/\n");
                    walk(root, &p, h)?;
                } else if m.is_file() {
                    h.push(0);
                    for n in [
                        m.size(),
                        m.mtime() as u64,
                        m.mtime_nsec() as u64,
                        m.ino(),
                        m.dev(),
                    ] {
                        h.extend_from_slice(&n.to_le_bytes());
                    }
                    h.push(b'\n');
                }
            }
            Ok(())
        }
        let real = fs_err::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
        let mut listing = Vec::new();
        walk(&real, &real, &mut listing)?;
        let key = Digest::sha256(&listing).hex();
        let slot = PathBuf::from(format!("{}/<tree>", real.display()));
        if let Some((d, _)) = self.lookup(&slot, &key) {
            return Ok(d);
        }
        let d = tree_digest(&real, &[])?;
        self.insert(&slot, key, &d, None);
        Ok(d)
    }

    /// Writes the cache back if it changed (a failure only costs the next build time).
    pub fn save(&self) {
        if self.changed {
            let bytes =
                serde_json::to_vec_pretty(&json!({ "version": 1, "entries": self.entries }))
                    .unwrap_or_default();
            let _ = zt_core::fsutil::write_atomic(&self.path, &bytes);
        }
    }
}

/// Pinned inputs: source, lockfiles, toolchain, OS, kernel.
///
/// None of these can be changed by the build (the real tree is not visible in the sandbox, the
/// base system and inputs are read-only), so [`crate::build::build`] collects them while the
/// build runs.
pub fn resolved_dependencies(opts: &Options, source: &SourceState) -> Result<Vec<Value>, Error> {
    let mut deps = Vec::new();
    match (&source.commit, source.dirty) {
        (Some(commit), false) => deps.push(json!({ "uri": format!("git+file://{}", opts.tree.display()), "digest": { "gitCommit": commit } })),
        (commit, _) => {
            let d = tree_digest(&opts.tree, &[Path::new(".git"), Path::new(".zt"), &opts.out])?;
            let mut v = json!({ "name": "source-tree", "uri": format!("file://{}", opts.tree.display()), "digest": digest_map(&d),
                "annotations": { "dirty": true } });
            if let Some(c) = commit {
                v["annotations"]["headCommit"] = json!(c);
            }
            deps.push(v);
        }
    }
    if let Some(ps) = &opts.package_source {
        deps.extend(ps.records.iter().cloned());
    }
    let mut locks = Vec::new();
    find_lockfiles(&opts.tree, &opts.tree, 0, &mut locks);
    for rel in locks {
        if let Some(d) = file_digest(&opts.tree.join(&rel)) {
            deps.push(json!({ "uri": format!("file:{}", rel.display()), "digest": digest_map(&d), "annotations": { "kind": "lockfile" } }));
        }
    }
    let env = crate::build::environment(source.source_date_epoch);
    let mut tools: Vec<String> = opts.argv.first().cloned().into_iter().collect();
    tools.extend(TOOLS.iter().map(|t| (*t).to_owned()));
    let mut seen = std::collections::BTreeSet::new();
    let mut cache = DigestCache::open(&opts.tree);
    // (tool, path inside, host path, real path, stat key, digest, version) — the versions
    // not in the cache are asked for all at once.
    let mut found = Vec::new();
    let mut asking = Vec::new();
    for tool in tools {
        let Some(inside) = crate::sandbox::resolve_command(&tool, &env, &opts.rootfs, &opts.inputs)
        else {
            continue;
        };
        if !seen.insert(tool.clone()) {
            continue;
        }
        let host = if opts.inputs.iter().any(|i| inside.starts_with(i)) {
            inside.clone()
        } else {
            opts.rootfs
                .join(inside.strip_prefix("/").unwrap_or(&inside))
        };
        let real = fs_err::canonicalize(&host).unwrap_or(host.clone());
        let Some(key) = stat_key(&real) else {
            continue;
        };
        // `--version` of JVM and interpreter launchers costs hundreds of milliseconds: those
        // are recorded by digest only.
        let wants_version = !matches!(tool.as_str(), "sh" | "javac" | "python3");
        let (digest, version) = match cache.lookup(&real, &key) {
            Some((d, v)) => (d, v),
            None => {
                let Some(d) = file_digest(&real) else {
                    continue;
                };
                if wants_version {
                    asking.push((found.len(), version_command(&host)));
                }
                cache.insert(&real, key.clone(), &d, None);
                (d, None)
            }
        };
        found.push((tool, inside, real, key, digest, version));
    }
    for (i, child) in asking {
        let version = child.and_then(version_output);
        let (_, _, real, key, digest, v) = &mut found[i];
        cache.insert(real, key.clone(), digest, version.as_deref());
        *v = version;
    }
    // Names for the same binary (cc and gcc) share what was learnt about it in this run.
    for i in 0..found.len() {
        if found[i].5.is_none() && !matches!(found[i].0.as_str(), "sh" | "javac" | "python3") {
            let same = found
                .iter()
                .find(|f| f.2 == found[i].2 && f.5.is_some())
                .and_then(|f| f.5.clone());
            found[i].5 = same;
        }
    }
    for (tool, inside, real, _, digest, version) in found {
        let mut v = json!({ "name": tool, "uri": format!("file://{}", inside.display()), "digest": digest_map(&digest),
            "annotations": { "kind": "toolchain", "resolvedPath": real } });
        if let Some(ver) = version {
            v["annotations"]["version"] = json!(ver);
        }
        deps.push(v);
    }
    for input in &opts.inputs {
        if input.is_file()
            && let Some(d) = file_digest(input)
        {
            deps.push(json!({ "uri": format!("file://{}", input.display()), "digest": digest_map(&d), "annotations": { "kind": "input" } }));
        } else if input.is_dir() {
            let d = cache.tree_digest(input)?;
            deps.push(json!({ "uri": format!("file://{}", input.display()), "digest": digest_map(&d), "annotations": { "kind": "input" } }));
        }
    }
    cache.save();
    let os_release = opts.rootfs.join("etc/os-release");
    if let Some(d) = file_digest(&os_release) {
        let text = fs_err::read_to_string(&os_release).unwrap_or_default();
        let pretty = text
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_owned());
        deps.push(json!({ "name": "os-release", "uri": "file:///etc/os-release", "digest": digest_map(&d), "annotations": { "kind": "os", "prettyName": pretty } }));
    }
    let kernel = fs_err::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let version = fs_err::read_to_string("/proc/sys/kernel/version")
        .unwrap_or_default()
        .trim()
        .to_owned();
    deps.push(json!({ "name": "kernel", "digest": digest_map(&Digest::sha256(format!("{kernel} {version}").as_bytes())),
        "annotations": { "kind": "kernel", "release": kernel, "version": version } }));
    Ok(deps)
}

fn find_lockfiles(root: &Path, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs_err::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let p = e.path();
        if name == ".git" || name == ".zt" || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() && depth < 3 && !p.is_symlink() {
            find_lockfiles(root, &p, depth + 1, out);
        } else if LOCKFILES.iter().any(|l| name == *l) {
            out.push(p.strip_prefix(root).unwrap_or(&p).to_path_buf());
        }
    }
}

/// What the provenance says beyond the build itself.
#[derive(Debug, Clone)]
pub struct Run {
    /// The invocation id.
    pub invocation_id: String,
    /// When the build started.
    pub started: SystemTime,
    /// When it finished.
    pub finished: SystemTime,
    /// Whether the build ran hermetically: source pinned by a clean commit, and the sandbox
    /// observed fully enforced (namespaces with no network, Landlock, seccomp, no inherited
    /// descriptor; see [`crate::sandbox::Observed::enforced`]).
    pub hermetic: bool,
    /// Set after rebuild-and-compare.
    pub reproducible: Option<bool>,
}

/// The SLSA v1 provenance statement about every output of a successful build.
pub fn statement(opts: &Options, outcome: &Outcome, run: &Run, deps: Vec<Value>) -> Statement {
    let subjects = outcome
        .outputs
        .iter()
        .map(|o| ResourceDescriptor::subject(o.path.to_string_lossy(), &o.digest))
        .collect();
    let env: serde_json::Map<String, Value> =
        crate::build::environment(outcome.source.source_date_epoch)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
    // What the sandbox enforced, as the child observed it just before exec; not literals.
    let mut sandbox = outcome.sandbox.to_json();
    if let Some(obj) = sandbox.as_object_mut() {
        obj.insert("buildPath".into(), json!(BUILD_PATH));
        obj.insert("hostname".into(), json!(HOSTNAME));
        obj.insert("umask".into(), json!("0022"));
        obj.insert("rootfs".into(), json!(opts.rootfs));
        obj.insert(
            "secretsDir".into(),
            json!((!opts.secrets.is_empty()).then_some(crate::sandbox::SECRETS_DIR)),
        );
    }
    let mut internal = json!({
        "hermetic": run.hermetic,
        "sandbox": sandbox,
        "behaviour": outcome.behaviour.to_json(),
        "environment": env,
    });
    if let Some(r) = run.reproducible {
        internal["reproducible"] = json!(r);
    }
    let predicate = json!({
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "command": opts.argv,
                "output": opts.out,
                "source": outcome.source.commit,
                "allowDirty": opts.allow_dirty,
                "sourceDateEpoch": outcome.source.source_date_epoch,
                "inputs": opts.inputs,
                "secrets": opts.secrets,
                "timeoutSeconds": opts.timeout.map(|t| t.as_secs_f64()),
                "allowWeakSandbox": opts.allow_weak_sandbox,
            },
            "internalParameters": internal,
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": { "id": builder_id() },
            "metadata": {
                "invocationId": run.invocation_id,
                "startedOn": rfc3339(run.started),
                "finishedOn": rfc3339(run.finished),
            },
        },
    });
    Statement::new(subjects, predicate::SLSA_PROVENANCE_V1, predicate)
}

/// Writes the statement unsigned to `<tree>/.zt/provenance/build-<invocation>.intoto.json`.
pub fn write(tree: &Path, invocation_id: &str, statement: &Statement) -> Result<PathBuf, Error> {
    let path = tree
        .join(".zt/provenance")
        .join(format!("build-{invocation_id}.intoto.json"));
    zt_core::fsutil::write_atomic(&path, &statement.to_json()).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
