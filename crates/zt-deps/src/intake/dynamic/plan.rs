//! What a package manager runs when it installs a package, and where the package sits then.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::intake::{Candidate, archive};
use crate::{Ecosystem, Error};

/// Where things are inside the sandbox: the writable tree is mounted at [`Layout::ROOT`], the
/// home is [`Layout::HOME`], and the package is unpacked where its package manager would put
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The package's directory inside the sandbox.
    pub package: String,
    /// Directories, besides the package's, where the install is expected to write (a build
    /// script's `OUT_DIR`).
    pub outputs: Vec<String>,
}

impl Layout {
    /// The writable tree's mount point inside the sandbox.
    pub const ROOT: &'static str = "/home";
    /// The home directory (holding the canaries).
    pub const HOME: &'static str = "/home/user";

    /// The layout for `c`.
    pub fn of(c: &Candidate) -> Layout {
        let safe = |s: &str| {
            s.chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | '@') {
                        ch
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        };
        let (name, version) = (safe(&c.name), safe(&c.version));
        let h = Self::HOME;
        match c.ecosystem {
            Ecosystem::Npm => {
                // a scope stays a directory level, as npm lays it out
                let path = match c.name.split_once('/') {
                    Some((scope, rest)) => format!("{}/{}", safe(scope), safe(rest)),
                    None => name,
                };
                Layout {
                    package: format!("{h}/app/node_modules/{path}"),
                    outputs: Vec::new(),
                }
            }
            Ecosystem::CratesIo => Layout {
                package: format!("{h}/.cargo/registry/src/index/{name}-{version}"),
                outputs: vec![format!("{h}/target")],
            },
            Ecosystem::RubyGems => Layout {
                package: format!("{h}/.gem/gems/{name}-{version}"),
                outputs: Vec::new(),
            },
            _ => Layout {
                package: format!("{h}/src/{name}-{version}"),
                outputs: Vec::new(),
            },
        }
    }

    /// The host path of `inside` (a path below [`Layout::ROOT`]) when the writable tree is
    /// at `host_root`.
    pub fn host(host_root: &Path, inside: &str) -> PathBuf {
        host_root.join(
            inside
                .strip_prefix(Self::ROOT)
                .unwrap_or(inside)
                .trim_start_matches('/'),
        )
    }
}

/// How [`unpack`] leaves each file and directory it makes, set on the descriptor it has
/// just written (one pass, instead of walks of the tree after the unpack): the mtime and
/// atime that tell later what a hook wrote, and the owner the sandboxed build runs as (when
/// the caller runs as root and the build as another user; `None`: left to the caller's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish {
    /// Seconds since the epoch.
    pub mtime: i64,
    /// User and group ids.
    pub owner: Option<(u32, u32)>,
}

/// Writes the archive's regular files into `dest` (the package's directory on the host,
/// which exists), without its top directory (`package/` of an npm tarball, `NAME-VERSION/` of
/// an sdist or a crate; a gem's `data/`). Paths were checked by the archive reader (no `..`,
/// no absolute path, no links); the execute bit is kept. Every file, every directory made
/// and `dest` itself get `finish`'s times and owner. Returns the files written: their paths
/// relative to `dest` and their sizes.
pub fn unpack(
    c: &Candidate,
    limits: archive::Limits,
    dest: &Path,
    finish: Finish,
) -> Result<BTreeMap<String, u64>, Error> {
    let name = c
        .archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = archive::Kind::from_name(&name)
        .ok_or_else(|| archive::ArchiveError::UnknownFormat(name.clone()))?;
    let file = fs_err::File::open(&c.archive)?;
    let size = file.metadata()?.len();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let strip = !matches!(kind, archive::Kind::Zip) || name.ends_with(".zip");
    let mut failed = None;
    let mut written = BTreeMap::new();
    // The directories known to exist (made here, or `dest`), in the order they were made.
    let mut dirs: Vec<PathBuf> = vec![dest.to_path_buf()];
    let mut known: HashSet<PathBuf> = dirs.iter().cloned().collect();
    archive::stream(kind, &mut reader, size, limits, &mut |e| {
        let rel = if kind == archive::Kind::Gem {
            match e.path.strip_prefix("data/") {
                Some(r) => r.to_owned(),
                None => return Ok(()),
            }
        } else if strip {
            match e.path.split_once('/') {
                Some((_, r)) if !r.is_empty() => r.to_owned(),
                _ => return Ok(()),
            }
        } else {
            e.path.clone()
        };
        if failed.is_some() {
            return Ok(());
        }
        let path = dest.join(&rel);
        let mode = if e.executable { 0o755 } else { 0o644 };
        let result = make_parents(&path, &mut known, &mut dirs, finish)
            .and_then(|()| write_file(&path, &e.data, mode, finish));
        match result {
            Ok(()) => {
                written.insert(rel, e.data.len() as u64);
            }
            Err(err) => {
                failed = Some(err);
            }
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    // Last, as writing a file changes its directory's mtime.
    for d in &dirs {
        finish_fd(&fs_err::File::open(d)?, finish)?;
    }
    Ok(written)
}

/// Makes the missing directories above `path`, recording each one made.
fn make_parents(
    path: &Path,
    known: &mut HashSet<PathBuf>,
    dirs: &mut Vec<PathBuf>,
    finish: Finish,
) -> std::io::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if known.contains(parent) {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut at = parent;
    while !known.contains(at) {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(p) => at = p,
            None => break,
        }
    }
    for d in missing.into_iter().rev() {
        match fs_err::create_dir(&d) {
            Ok(()) => {}
            // A path that two entries share: made for the first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
        if let Some((uid, gid)) = finish.owner {
            std::os::unix::fs::lchown(&d, Some(uid), Some(gid)).map_err(|e| {
                std::io::Error::new(e.kind(), format!("chown {}: {e}", d.display()))
            })?;
        }
        known.insert(d.clone());
        dirs.push(d);
    }
    Ok(())
}

/// Writes one file (replacing an earlier entry of the same path) and finishes it through
/// the descriptor it was written with.
fn write_file(path: &Path, data: &[u8], mode: u32, finish: Finish) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut f = fs_err::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(data)?;
    // `fchmod`: the mode exactly, whatever the umask.
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    finish_fd(&f, finish)
}

/// `fchown` (when an owner is set), then `futimens`, on an open file or directory.
fn finish_fd(f: &fs_err::File, finish: Finish) -> std::io::Result<()> {
    if let Some((uid, gid)) = finish.owner {
        std::os::unix::fs::fchown(f.file(), Some(uid), Some(gid)).map_err(|e| {
            std::io::Error::new(e.kind(), format!("chown {}: {e}", f.path().display()))
        })?;
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(finish.mtime.max(0) as u64);
    f.file()
        .set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t))
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("set times of {}: {e}", f.path().display()),
            )
        })
}

/// One command of a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Variables added to the sandbox's environment.
    pub env: Vec<(String, String)>,
    /// The working directory inside.
    pub workdir: String,
}

/// One piece of install-time code to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// What it is (`npm postinstall`, `PEP 517 build_wheel (setuptools.build_meta)`).
    pub name: String,
    /// The file its code comes from (`package.json`, `setup.py`, `build.rs`).
    pub file: String,
    /// A step zt runs first to make the hook runnable (compiling a `build.rs` with
    /// `rustc`): sandboxed too, but its behaviour is the toolchain's, not judged.
    pub prepare: Option<Step>,
    /// The hook itself.
    pub run: Step,
    /// Why it cannot run here (its toolchain is missing), if so.
    pub not_run: Option<String>,
}

/// The tools of the base system the sandbox shows (paths inside it), found by the caller.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    /// `node`.
    pub node: Option<String>,
    /// `python3`.
    pub python: Option<String>,
    /// `ruby`.
    pub ruby: Option<String>,
    /// A Rust toolchain's `rustc` (its sysroot must be shown to the sandbox).
    pub rustc: Option<String>,
    /// npm's `node-gyp` (its `bin/node-gyp.js`) and the directory of npm's `node-gyp`
    /// wrapper, for packages with a `binding.gyp`.
    pub node_gyp: Option<(String, String)>,
    /// The Node.js headers' prefix (`/usr` when `/usr/include/node/node.h` exists), so that
    /// node-gyp does not download them.
    pub node_headers: Option<String>,
}

/// The PATH inside the sandbox.
pub(crate) const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The hooks a package manager would run for `c`, unpacked in `pkg_host` (its directory on
/// the host) and laid out as `layout` says. A package with none gives an empty list and why.
pub fn plan(
    c: &Candidate,
    pkg_host: &Path,
    layout: &Layout,
    tools: &Tools,
) -> Result<(Vec<Hook>, Option<String>), Error> {
    let archive = c
        .archive
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let hooks = match c.ecosystem {
        Ecosystem::Npm => npm(c, pkg_host, layout, tools)?,
        Ecosystem::PyPI if archive.ends_with(".whl") => {
            return Ok((
                Vec::new(),
                Some("a wheel: installing one runs no code of the package".into()),
            ));
        }
        Ecosystem::PyPI => python(pkg_host, layout, tools)?,
        Ecosystem::CratesIo => crate_build_script(c, pkg_host, layout, tools)?,
        Ecosystem::RubyGems => gem(pkg_host, layout, tools),
        Ecosystem::Go | Ecosystem::Other => {
            return Ok((
                Vec::new(),
                Some(format!(
                    "{} packages run no code when they are fetched or built as dependencies",
                    c.ecosystem.name()
                )),
            ));
        }
    };
    let why = hooks
        .is_empty()
        .then(|| "the package has no install-time code".to_owned());
    Ok((hooks, why))
}

fn npm(c: &Candidate, pkg_host: &Path, layout: &Layout, tools: &Tools) -> Result<Vec<Hook>, Error> {
    let manifest = pkg_host.join("package.json");
    let Ok(bytes) = fs_err::read(&manifest) else {
        return Ok(Vec::new());
    };
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let script = |name: &str| {
        json.pointer(&format!("/scripts/{name}"))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut scripts: Vec<(&str, String)> = ["preinstall", "install", "postinstall"]
        .into_iter()
        .filter_map(|h| script(h).map(|s| (h, s)))
        .collect();
    // npm's default: a package with a binding.gyp and no install or preinstall script is
    // built with `node-gyp rebuild`.
    if script("install").is_none()
        && script("preinstall").is_none()
        && pkg_host.join("binding.gyp").is_file()
    {
        scripts.insert(0, ("install", "node-gyp rebuild".into()));
    }
    let version = json
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or(&c.version)
        .to_owned();
    let app = format!("{}/app", Layout::HOME);
    let mut path = format!(
        "{}/node_modules/.bin:{app}/node_modules/.bin",
        layout.package
    );
    if let Some((_, dir)) = &tools.node_gyp {
        path.push(':');
        path.push_str(dir);
    }
    path.push(':');
    path.push_str(PATH);
    Ok(scripts
        .into_iter()
        .map(|(event, script)| {
            let mut env = vec![
                ("PATH".to_owned(), path.clone()),
                ("npm_lifecycle_event".to_owned(), event.to_owned()),
                ("npm_lifecycle_script".to_owned(), script.clone()),
                ("npm_package_name".to_owned(), c.name.clone()),
                ("npm_package_version".to_owned(), version.clone()),
                (
                    "npm_package_json".to_owned(),
                    format!("{}/package.json", layout.package),
                ),
                ("npm_command".to_owned(), "install".to_owned()),
                (
                    "npm_config_cache".to_owned(),
                    format!("{}/.npm", Layout::HOME),
                ),
                (
                    "npm_config_global_prefix".to_owned(),
                    "/usr/local".to_owned(),
                ),
                ("npm_config_prefix".to_owned(), app.clone()),
                (
                    "npm_config_user_agent".to_owned(),
                    "npm/10 node linux x64".to_owned(),
                ),
                ("INIT_CWD".to_owned(), app.clone()),
                ("COLOR".to_owned(), "0".to_owned()),
            ];
            if let Some(node) = &tools.node {
                env.push(("npm_node_execpath".into(), node.clone()));
                env.push(("NODE".into(), node.clone()));
            }
            if let Some((js, _)) = &tools.node_gyp {
                env.push(("npm_config_node_gyp".into(), js.clone()));
            }
            if let Some(prefix) = &tools.node_headers {
                env.push(("npm_config_nodedir".into(), prefix.clone()));
            }
            Hook {
                name: format!("npm {event}"),
                file: "package.json".into(),
                prepare: None,
                run: Step {
                    argv: vec!["/bin/sh".into(), "-c".into(), script],
                    env,
                    workdir: layout.package.clone(),
                },
                not_run: tools
                    .node
                    .is_none()
                    .then(|| "`node` is not installed in the base system".into()),
            }
        })
        .collect())
}

/// The PEP 517 front end run inside the sandbox: imports the backend (from `backend-path`
/// first), asks it for its build requirements and builds a wheel, as pip does in an
/// isolated build. Exit status 3: the backend is not importable here.
const PEP517_DRIVER: &str = r#"
import importlib, os, sys
backend, paths, out = sys.argv[1], sys.argv[2], sys.argv[3]
for p in reversed([p for p in paths.split(os.pathsep) if p]):
    sys.path.insert(0, os.path.abspath(p))
sys.path.insert(0, os.getcwd())
mod, _, obj = backend.partition(":")
try:
    b = importlib.import_module(mod)
except ImportError as e:
    print("zt: the build backend %r cannot be imported in the sandbox: %s" % (backend, e), file=sys.stderr)
    sys.exit(3)
for a in [a for a in obj.split(".") if a]:
    b = getattr(b, a)
hook = getattr(b, "get_requires_for_build_wheel", None)
if hook is not None:
    print("zt: build requires %r" % (hook(None),), file=sys.stderr)
os.makedirs(out, exist_ok=True)
print("zt: built %s" % b.build_wheel(out), file=sys.stderr)
"#;

/// Exit status of [`PEP517_DRIVER`] when the backend cannot be imported.
pub const BACKEND_MISSING: i32 = 3;

fn python(pkg_host: &Path, layout: &Layout, tools: &Tools) -> Result<Vec<Hook>, Error> {
    let pyproject = pkg_host.join("pyproject.toml");
    let setup = pkg_host.join("setup.py").is_file();
    let (mut backend, mut paths) = (None, Vec::new());
    if let Ok(text) = fs_err::read_to_string(&pyproject)
        && let Ok(doc) = text.parse::<toml::Table>()
        && let Some(bs) = doc.get("build-system").and_then(|v| v.as_table())
    {
        backend = bs
            .get("build-backend")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        paths = bs
            .get("backend-path")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    }
    // PEP 517: without a backend, setuptools' legacy backend runs `setup.py`
    let backend = match backend {
        Some(b) => b,
        None if setup || pyproject.is_file() => "setuptools.build_meta:__legacy__".to_owned(),
        None => return Ok(Vec::new()),
    };
    let file = if backend.starts_with("setuptools") && setup {
        "setup.py"
    } else {
        "pyproject.toml"
    };
    let python = tools
        .python
        .clone()
        .unwrap_or_else(|| "/usr/bin/python3".into());
    Ok(vec![Hook {
        name: format!("PEP 517 build_wheel ({backend})"),
        file: file.into(),
        prepare: None,
        run: Step {
            argv: vec![
                python,
                "-c".into(),
                PEP517_DRIVER.trim_start().into(),
                backend,
                paths.join(":"),
                "/tmp/zt-wheel".into(),
            ],
            env: vec![("PATH".into(), PATH.into())],
            workdir: layout.package.clone(),
        },
        not_run: tools
            .python
            .is_none()
            .then(|| "`python3` is not installed in the base system".into()),
    }])
}

fn crate_build_script(
    c: &Candidate,
    pkg_host: &Path,
    layout: &Layout,
    tools: &Tools,
) -> Result<Vec<Hook>, Error> {
    let manifest: toml::Table = fs_err::read_to_string(pkg_host.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    let package = manifest.get("package").and_then(|p| p.as_table());
    let build = match package.and_then(|p| p.get("build")) {
        Some(toml::Value::Boolean(false)) => return Ok(Vec::new()),
        Some(toml::Value::String(s)) => s.clone(),
        _ => "build.rs".into(),
    };
    if build.contains("..") || build.starts_with('/') || !pkg_host.join(&build).is_file() {
        return Ok(Vec::new());
    }
    let edition = package
        .and_then(|p| p.get("edition"))
        .and_then(|e| e.as_str())
        .unwrap_or("2015")
        .to_owned();
    let out = layout
        .outputs
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}/target", Layout::HOME));
    let bin = format!("{out}/build-script-build");
    let out_dir = format!("{out}/out");
    let rustc = tools.rustc.clone().unwrap_or_else(|| "rustc".into());
    let v: Vec<&str> = c.version.split(['.', '-', '+']).collect();
    let arch = std::env::consts::ARCH;
    let target = format!("{arch}-unknown-linux-gnu");
    let env = vec![
        ("PATH".into(), PATH.into()),
        ("OUT_DIR".into(), out_dir.clone()),
        ("TARGET".into(), target.clone()),
        ("HOST".into(), target),
        ("NUM_JOBS".into(), "1".into()),
        ("OPT_LEVEL".into(), "0".into()),
        ("DEBUG".into(), "true".into()),
        ("PROFILE".into(), "debug".into()),
        ("RUSTC".into(), rustc.clone()),
        ("CARGO_MANIFEST_DIR".into(), layout.package.clone()),
        (
            "CARGO_MANIFEST_PATH".into(),
            format!("{}/Cargo.toml", layout.package),
        ),
        ("CARGO_PKG_NAME".into(), c.name.clone()),
        ("CARGO_PKG_VERSION".into(), c.version.clone()),
        (
            "CARGO_PKG_VERSION_MAJOR".into(),
            v.first().copied().unwrap_or("0").into(),
        ),
        (
            "CARGO_PKG_VERSION_MINOR".into(),
            v.get(1).copied().unwrap_or("0").into(),
        ),
        (
            "CARGO_PKG_VERSION_PATCH".into(),
            v.get(2).copied().unwrap_or("0").into(),
        ),
        ("CARGO_CFG_TARGET_OS".into(), "linux".into()),
        ("CARGO_CFG_TARGET_FAMILY".into(), "unix".into()),
        ("CARGO_CFG_TARGET_ARCH".into(), arch.into()),
        ("CARGO_CFG_TARGET_ENV".into(), "gnu".into()),
        ("CARGO_CFG_TARGET_ENDIAN".into(), "little".into()),
        ("CARGO_CFG_TARGET_POINTER_WIDTH".into(), "64".into()),
        ("CARGO_CFG_UNIX".into(), String::new()),
        ("CARGO_ENCODED_RUSTFLAGS".into(), String::new()),
    ];
    Ok(vec![Hook {
        name: "cargo build script".into(),
        file: build.clone(),
        prepare: Some(Step {
            argv: vec![
                rustc,
                "--crate-name".into(),
                "build_script_build".into(),
                "--crate-type".into(),
                "bin".into(),
                "--edition".into(),
                edition,
                "--cap-lints".into(),
                "allow".into(),
                "-C".into(),
                "debuginfo=0".into(),
                "-o".into(),
                bin.clone(),
                format!("{}/{build}", layout.package),
            ],
            env: vec![("PATH".into(), PATH.into())],
            workdir: layout.package.clone(),
        }),
        run: Step {
            argv: vec![bin],
            env,
            workdir: layout.package.clone(),
        },
        not_run: tools
            .rustc
            .is_none()
            .then(|| "no Rust toolchain (`rustc`) was found to compile the build script".into()),
    }])
}

fn gem(pkg_host: &Path, layout: &Layout, tools: &Tools) -> Vec<Hook> {
    let mut found = Vec::new();
    let mut stack = vec![pkg_host.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs_err::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name() == "extconf.rb"
                && let Ok(rel) = p.strip_prefix(pkg_host)
            {
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|rel| {
            let dir = rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            let workdir = if dir.is_empty() {
                layout.package.clone()
            } else {
                format!("{}/{dir}", layout.package)
            };
            Hook {
                name: "gem extension (extconf.rb)".into(),
                file: rel.clone(),
                prepare: None,
                run: Step {
                    argv: vec![
                        tools.ruby.clone().unwrap_or_else(|| "ruby".into()),
                        "extconf.rb".into(),
                    ],
                    env: vec![("PATH".into(), PATH.into())],
                    workdir,
                },
                not_run: tools
                    .ruby
                    .is_none()
                    .then(|| "`ruby` is not installed in the base system".into()),
            }
        })
        .collect()
}
