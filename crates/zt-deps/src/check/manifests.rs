//! **unpinned-manifest**: a dependency manifest with no lockfile beside it.
//!
//! A manifest names dependencies by range (`^1.2`, `*`, `latest`, `>=2`, a bare name); only
//! a lockfile pins each one — and every transitive dependency — to one artifact with a
//! checksum. Without one, `zt deps check` would read "0 lockfiles" and pass whatever the next
//! install resolves to. So a manifest that declares dependencies and has none of the
//! lockfiles zt reads for its ecosystem is a deny finding naming the manifest, a few of its
//! dependencies, and the command that writes the lockfile:
//!
//! | manifest | lockfiles zt reads | fix |
//! |---|---|---|
//! | `package.json` | `package-lock.json`, `npm-shrinkwrap.json`, `pnpm-lock.yaml`, `yarn.lock` | `npm install --package-lock-only` |
//! | `pyproject.toml` | `uv.lock`, `poetry.lock`, `requirements*.txt` | `uv lock` / `poetry lock` |
//! | `requirements.in` | `requirements*.txt` | `pip-compile --generate-hashes` |
//! | `Cargo.toml` | `Cargo.lock` (here or in a parent workspace) | `cargo generate-lockfile` |
//! | `Gemfile` | `Gemfile.lock`, `gems.locked` | `bundle lock` |
//!
//! `go.mod` is its own lock (exact versions, `go.sum` checksums) and is read as one. A
//! manifest that cannot be parsed is a finding too (fail closed): zt cannot tell that it
//! declares nothing.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Ecosystem, Error};

/// The most bytes of a manifest read; a larger one is reported as unreadable.
const MAX_MANIFEST_BYTES: u64 = 8 << 20;

/// How many dependencies a finding's message names.
const NAMED: usize = 5;

/// A manifest that declares dependencies and has no lockfile zt reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnlockedManifest {
    /// The manifest.
    pub path: PathBuf,
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// The project's own name, when the manifest gives one.
    pub project: Option<String>,
    /// Declared dependencies: (name, requirement as written; empty for none).
    pub dependencies: Vec<(String, String)>,
    /// Why the manifest could not be read, when it could not.
    pub unreadable: Option<String>,
    /// The lockfiles zt would read for it.
    pub lockfiles: &'static [&'static str],
    /// The command(s) that write the lockfile.
    pub fix: &'static str,
}

impl UnlockedManifest {
    /// The finding's message: the manifest, what it declares, that nothing pins it.
    pub fn message(&self) -> String {
        let name = self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if let Some(why) = &self.unreadable {
            return format!(
                "`{name}` has no lockfile ({}) and cannot be read ({why}): its dependencies resolve to whatever the next install finds",
                self.lockfiles.join(", ")
            );
        }
        let mut named: Vec<String> = self
            .dependencies
            .iter()
            .take(NAMED)
            .map(|(n, spec)| {
                if spec.is_empty() {
                    format!("`{n}`")
                } else {
                    format!("`{n}` `{spec}`")
                }
            })
            .collect();
        if self.dependencies.len() > NAMED {
            named.push(format!("{} more", self.dependencies.len() - NAMED));
        }
        format!(
            "`{name}` declares {} dependenc{} ({}) and has no lockfile ({}): nothing pins them or their dependencies",
            self.dependencies.len(),
            if self.dependencies.len() == 1 {
                "y"
            } else {
                "ies"
            },
            named.join(", "),
            self.lockfiles.join(", ")
        )
    }
}

const NPM_LOCKS: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
];
const NPM_FIX: &str = "generate the lockfile and commit it: `npm install --package-lock-only` (or `pnpm install --lockfile-only`, `yarn install`)";
const PYPROJECT_LOCKS: &[&str] = &["uv.lock", "poetry.lock", "requirements*.txt"];
const PYPROJECT_FIX: &str = "generate the lockfile and commit it: `uv lock` (or `poetry lock`, or `pip-compile --generate-hashes -o requirements.txt pyproject.toml`)";
const REQUIREMENTS_IN_LOCKS: &[&str] = &["requirements*.txt"];
const REQUIREMENTS_IN_FIX: &str = "compile and commit the pinned list: `pip-compile --generate-hashes requirements.in` (writes `requirements.txt`)";
const CARGO_LOCKS: &[&str] = &["Cargo.lock"];
const CARGO_FIX: &str = "generate the lockfile and commit it: `cargo generate-lockfile` (writes `Cargo.lock`; remove it from `.gitignore`)";
const GEM_LOCKS: &[&str] = &["Gemfile.lock", "gems.locked"];
const GEM_FIX: &str = "generate the lockfile and commit it: `bundle lock` (writes `Gemfile.lock`)";

/// The manifests directly in `dir` that declare dependencies and have no lockfile zt reads
/// (for `Cargo.toml`, in `dir` or a parent directory up to the repository root).
pub fn find_unlocked(dir: &Path) -> Result<Vec<UnlockedManifest>, Error> {
    let has = |name: &str| dir.join(name).is_file();
    let has_requirements_txt = || -> Result<bool, Error> {
        for entry in fs_err::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("requirements") && name.ends_with(".txt") && entry.path().is_file()
            {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let mut out = Vec::new();
    let mut check = |file: &str,
                     ecosystem: Ecosystem,
                     lockfiles: &'static [&'static str],
                     fix: &'static str,
                     read: fn(&str) -> Result<Declared, String>| {
        let path = dir.join(file);
        let declared = match read_capped(&path) {
            Ok(text) => read(&text),
            Err(e) => Err(e),
        };
        let found = match declared {
            Ok(d) if d.dependencies.is_empty() => None,
            Ok(d) => Some(UnlockedManifest {
                path,
                ecosystem,
                project: d.project,
                dependencies: d.dependencies,
                unreadable: None,
                lockfiles,
                fix,
            }),
            Err(why) => Some(UnlockedManifest {
                path,
                ecosystem,
                project: None,
                dependencies: Vec::new(),
                unreadable: Some(why),
                lockfiles,
                fix,
            }),
        };
        out.extend(found);
    };
    if has("package.json") && !NPM_LOCKS.iter().any(|l| has(l)) {
        check(
            "package.json",
            Ecosystem::Npm,
            NPM_LOCKS,
            NPM_FIX,
            package_json,
        );
    }
    if has("pyproject.toml") && !has("uv.lock") && !has("poetry.lock") && !has_requirements_txt()? {
        check(
            "pyproject.toml",
            Ecosystem::PyPI,
            PYPROJECT_LOCKS,
            PYPROJECT_FIX,
            pyproject,
        );
    }
    if has("requirements.in") && !has_requirements_txt()? {
        check(
            "requirements.in",
            Ecosystem::PyPI,
            REQUIREMENTS_IN_LOCKS,
            REQUIREMENTS_IN_FIX,
            requirements_in,
        );
    }
    if has("Cargo.toml") && !cargo_lock_above(dir) {
        check(
            "Cargo.toml",
            Ecosystem::CratesIo,
            CARGO_LOCKS,
            CARGO_FIX,
            cargo_toml,
        );
    }
    if has("Gemfile") && !GEM_LOCKS.iter().any(|l| has(l)) {
        check("Gemfile", Ecosystem::RubyGems, GEM_LOCKS, GEM_FIX, gemfile);
    }
    Ok(out)
}

/// What a manifest declares.
#[derive(Debug, Default)]
struct Declared {
    project: Option<String>,
    dependencies: Vec<(String, String)>,
}

fn read_capped(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = fs_err::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!("larger than {} MiB", MAX_MANIFEST_BYTES >> 20));
    }
    Ok(text)
}

/// A `Cargo.lock` in `dir` or a parent, up to the directory holding `.git` (a workspace
/// member's lockfile is the workspace root's).
fn cargo_lock_above(dir: &Path) -> bool {
    let start = fs_err::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    for d in start.ancestors() {
        if d.join("Cargo.lock").is_file() {
            return true;
        }
        if d.join(".git").exists() {
            return false;
        }
    }
    false
}

fn spec_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                o.keys()
                    .next()
                    .map(|k| format!("{{{k} = …}}"))
                    .unwrap_or_default()
            }),
        other => other.to_string(),
    }
}

fn package_json(text: &str) -> Result<Declared, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let mut deps = Vec::new();
    for table in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        match obj.get(table) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => deps.extend(m.iter().map(|(k, v)| (k.clone(), spec_of(v)))),
            Some(_) => return Err(format!("`{table}` is not an object")),
        }
    }
    Ok(Declared {
        project: obj.get("name").and_then(Value::as_str).map(str::to_owned),
        dependencies: deps,
    })
}

/// A TOML table's entries as (name, spec), skipping `skip`.
fn toml_table(t: Option<&toml::Value>, skip: &[&str], out: &mut Vec<(String, String)>) {
    if let Some(toml::Value::Table(t)) = t {
        for (k, v) in t {
            if skip.contains(&k.as_str()) {
                continue;
            }
            let spec = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Table(t) => t
                    .get("version")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        t.keys()
                            .next()
                            .map(|k| format!("{{{k} = …}}"))
                            .unwrap_or_default()
                    }),
                _ => String::new(),
            };
            out.push((k.clone(), spec));
        }
    }
}

/// PEP 508 requirement strings as (name, the rest).
fn pep508_list(t: Option<&toml::Value>, out: &mut Vec<(String, String)>) {
    if let Some(toml::Value::Array(a)) = t {
        for r in a.iter().filter_map(toml::Value::as_str) {
            out.push(split_requirement(r));
        }
    }
}

fn split_requirement(r: &str) -> (String, String) {
    let r = r.trim();
    let end = r
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(r.len());
    let (name, rest) = r.split_at(end);
    (name.to_owned(), rest.trim().to_owned())
}

fn pyproject(text: &str) -> Result<Declared, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| format!("not TOML: {}", e.message()))?;
    let mut deps = Vec::new();
    let project = v.get("project");
    pep508_list(project.and_then(|p| p.get("dependencies")), &mut deps);
    if let Some(toml::Value::Table(extras)) = project.and_then(|p| p.get("optional-dependencies")) {
        for list in extras.values() {
            pep508_list(Some(list), &mut deps);
        }
    }
    if let Some(toml::Value::Table(groups)) = v.get("dependency-groups") {
        for list in groups.values() {
            pep508_list(Some(list), &mut deps);
        }
    }
    let poetry = v.get("tool").and_then(|t| t.get("poetry"));
    toml_table(
        poetry.and_then(|p| p.get("dependencies")),
        &["python"],
        &mut deps,
    );
    toml_table(
        poetry.and_then(|p| p.get("dev-dependencies")),
        &[],
        &mut deps,
    );
    if let Some(toml::Value::Table(groups)) = poetry.and_then(|p| p.get("group")) {
        for g in groups.values() {
            toml_table(g.get("dependencies"), &[], &mut deps);
        }
    }
    let name = project
        .and_then(|p| p.get("name"))
        .or_else(|| poetry.and_then(|p| p.get("name")))
        .and_then(toml::Value::as_str)
        .map(str::to_owned);
    Ok(Declared {
        project: name,
        dependencies: deps,
    })
}

fn requirements_in(text: &str) -> Result<Declared, String> {
    let deps = text
        .lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            if l.starts_with('-') {
                (l.to_owned(), String::new())
            } else {
                split_requirement(l)
            }
        })
        .collect();
    Ok(Declared {
        project: None,
        dependencies: deps,
    })
}

fn cargo_toml(text: &str) -> Result<Declared, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| format!("not TOML: {}", e.message()))?;
    let mut deps = Vec::new();
    let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
    for t in tables {
        toml_table(v.get(t), &[], &mut deps);
    }
    if let Some(toml::Value::Table(targets)) = v.get("target") {
        for target in targets.values() {
            for t in tables {
                toml_table(target.get(t), &[], &mut deps);
            }
        }
    }
    if let Some(ws) = v.get("workspace") {
        toml_table(ws.get("dependencies"), &[], &mut deps);
        // A workspace's members declare their own dependencies; the root's lockfile pins them.
        if let Some(toml::Value::Array(members)) = ws.get("members") {
            for m in members.iter().filter_map(toml::Value::as_str) {
                deps.push((format!("workspace member `{m}`"), String::new()));
            }
        }
    }
    Ok(Declared {
        project: v
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned),
        dependencies: deps,
    })
}

fn gemfile(text: &str) -> Result<Declared, String> {
    let deps = text
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("gem "))
        .map(|rest| {
            let mut parts = rest.split(',').map(|p| p.trim().trim_matches(['"', '\'']));
            let name = parts.next().unwrap_or("").to_owned();
            let spec: Vec<&str> = parts.collect();
            (name, spec.join(", "))
        })
        .collect();
    Ok(Declared {
        project: None,
        dependencies: deps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(files: &[(&str, &str)]) -> Vec<UnlockedManifest> {
        let tmp = tempfile::tempdir().unwrap();
        // A repository root, so that the Cargo.lock search stops here.
        fs_err::create_dir(tmp.path().join(".git")).unwrap();
        for (name, text) in files {
            fs_err::write(tmp.path().join(name), text).unwrap();
        }
        find_unlocked(tmp.path()).unwrap()
    }

    #[test]
    fn package_json_with_floating_specs_and_no_lockfile() {
        let f = found(&[(
            "package.json",
            r#"{"name":"app","dependencies":{"left-pad":"*","lodash":"latest"},"devDependencies":{"jest":"^29"}}"#,
        )]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].ecosystem, Ecosystem::Npm);
        assert_eq!(f[0].project.as_deref(), Some("app"));
        let m = f[0].message();
        assert!(
            m.contains("`package.json` declares 3 dependencies")
                && m.contains("`left-pad` `*`")
                && m.contains("`lodash` `latest`"),
            "{m}"
        );
        assert!(f[0].fix.contains("npm install --package-lock-only"));
        // With a lockfile zt reads: nothing.
        for lock in NPM_LOCKS {
            let f = found(&[
                ("package.json", r#"{"dependencies":{"a":"*"}}"#),
                (lock, ""),
            ]);
            assert!(f.is_empty(), "{lock}");
        }
        // No dependencies: nothing to pin.
        assert!(found(&[("package.json", r#"{"name":"x"}"#)]).is_empty());
    }

    #[test]
    fn unreadable_manifest_is_a_finding() {
        let f = found(&[("package.json", "{ not json")]);
        assert_eq!(f.len(), 1);
        assert!(f[0].unreadable.is_some());
        assert!(f[0].message().contains("cannot be read"));
        let f = found(&[("package.json", r#"{"dependencies":["a"]}"#)]);
        assert_eq!(f.len(), 1);
        let f = found(&[("Cargo.toml", "[dependencies\n")]);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn python_manifests() {
        let py = "[project]\nname = \"app\"\ndependencies = [\"requests>=2\", \"flask\"]\n";
        let f = found(&[("pyproject.toml", py)]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].dependencies,
            [
                ("requests".to_owned(), ">=2".to_owned()),
                ("flask".to_owned(), String::new())
            ]
        );
        assert!(f[0].fix.contains("uv lock"));
        for lock in ["uv.lock", "poetry.lock", "requirements-dev.txt"] {
            assert!(
                found(&[("pyproject.toml", py), (lock, "")]).is_empty(),
                "{lock}"
            );
        }
        let poetry = "[tool.poetry.dependencies]\npython = \"^3.11\"\nrequests = \"*\"\n";
        let f = found(&[("pyproject.toml", poetry)]);
        assert_eq!(f[0].dependencies, [("requests".to_owned(), "*".to_owned())]);
        // Only `python`: nothing to pin.
        assert!(
            found(&[(
                "pyproject.toml",
                "[tool.poetry.dependencies]\npython = \"^3.11\"\n"
            )])
            .is_empty()
        );
        let f = found(&[("requirements.in", "# top\nrequests\nflask>=2 # web\n")]);
        assert_eq!(f.len(), 1);
        assert!(f[0].fix.contains("pip-compile"));
    }

    #[test]
    fn cargo_and_gems() {
        let toml = "[package]\nname = \"app\"\n[dependencies]\nserde = \"1\"\nrand = { version = \"0.8\" }\n";
        let f = found(&[("Cargo.toml", toml)]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].dependencies.len(), 2);
        assert!(f[0].fix.contains("cargo generate-lockfile"));
        assert!(found(&[("Cargo.toml", toml), ("Cargo.lock", "")]).is_empty());
        assert!(found(&[("Cargo.toml", "[package]\nname = \"x\"\n")]).is_empty());
        let ws = "[workspace]\nmembers = [\"a\"]\n";
        assert_eq!(found(&[("Cargo.toml", ws)]).len(), 1);
        let f = found(&[(
            "Gemfile",
            "source 'https://rubygems.org'\ngem 'rails', '~> 7'\n",
        )]);
        assert_eq!(f[0].dependencies, [("rails".to_owned(), "~> 7".to_owned())]);
        assert!(found(&[("Gemfile", "gem 'rails'\n"), ("Gemfile.lock", "")]).is_empty());
    }

    #[test]
    fn a_workspace_members_lockfile_is_in_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        fs_err::create_dir(tmp.path().join(".git")).unwrap();
        fs_err::write(tmp.path().join("Cargo.lock"), "").unwrap();
        let member = tmp.path().join("crates/a");
        fs_err::create_dir_all(&member).unwrap();
        fs_err::write(member.join("Cargo.toml"), "[dependencies]\nserde = \"1\"\n").unwrap();
        assert!(find_unlocked(&member).unwrap().is_empty());
        fs_err::remove_file(tmp.path().join("Cargo.lock")).unwrap();
        assert_eq!(find_unlocked(&member).unwrap().len(), 1);
    }
}
