//! Which Rego files make up a policy: zt's built-in library (compiled into the binary), then
//! each override folder in order. A file named like one already loaded replaces it; any other
//! `.rego` file adds its rules.

use std::path::{Path, PathBuf};

use crate::Error;

/// The built-in policy library: `(file name, source)`, sorted by name.
pub const BUILTIN: &[(&str, &str)] = &[
    ("build.rego", include_str!("../policies/build.rego")),
    (
        "build_test.rego",
        include_str!("../policies/build_test.rego"),
    ),
    ("deps.rego", include_str!("../policies/deps.rego")),
    ("deps_test.rego", include_str!("../policies/deps_test.rego")),
    ("lib.rego", include_str!("../policies/lib.rego")),
    (
        "library_test.rego",
        include_str!("../policies/library_test.rego"),
    ),
    (
        "provenance.rego",
        include_str!("../policies/provenance.rego"),
    ),
    (
        "provenance_test.rego",
        include_str!("../policies/provenance_test.rego"),
    ),
    ("sbom.rego", include_str!("../policies/sbom.rego")),
    ("sbom_test.rego", include_str!("../policies/sbom_test.rego")),
    ("signature.rego", include_str!("../policies/signature.rego")),
    (
        "signature_test.rego",
        include_str!("../policies/signature_test.rego"),
    ),
    ("source.rego", include_str!("../policies/source.rego")),
    (
        "source_test.rego",
        include_str!("../policies/source_test.rego"),
    ),
    ("testing.rego", include_str!("../policies/testing.rego")),
    ("tests.rego", include_str!("../policies/tests.rego")),
    (
        "tests_test.rego",
        include_str!("../policies/tests_test.rego"),
    ),
    ("vuln.rego", include_str!("../policies/vuln.rego")),
    ("vuln_test.rego", include_str!("../policies/vuln_test.rego")),
];

/// Where a policy file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into zt.
    Builtin,
    /// Read from this path.
    File(PathBuf),
}

/// One Rego file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The file name (the override key), e.g. `vuln.rego`.
    pub name: String,
    /// Where it came from.
    pub origin: Origin,
    /// The Rego text.
    pub text: String,
}

impl PolicySource {
    /// How errors name the file: its path, or `builtin:NAME`.
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::Builtin => format!("builtin:{}", self.name),
            Origin::File(p) => p.display().to_string(),
        }
    }
}

/// The files of one policy, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    sources: Vec<PolicySource>,
}

impl PolicySet {
    /// No policy at all (every evaluation allows: use only with files added).
    pub fn empty() -> Self {
        Self::default()
    }

    /// zt's built-in library.
    pub fn builtin() -> Self {
        Self {
            sources: BUILTIN
                .iter()
                .map(|(name, text)| PolicySource {
                    name: (*name).to_string(),
                    origin: Origin::Builtin,
                    text: (*text).to_string(),
                })
                .collect(),
        }
    }

    /// Adds (or replaces, by file name) one file.
    pub fn insert(&mut self, source: PolicySource) {
        match self.sources.binary_search_by(|s| s.name.cmp(&source.name)) {
            Ok(i) => {
                if let Some(slot) = self.sources.get_mut(i) {
                    *slot = source;
                }
            }
            Err(i) => self.sources.insert(i, source),
        }
    }

    /// Lays a folder's `*.rego` files over the set (not recursive; hidden files skipped).
    pub fn overlay_dir(&mut self, dir: &Path) -> Result<(), Error> {
        if !dir.is_dir() {
            return Err(Error::MissingPolicyDir(dir.to_path_buf()));
        }
        let mut paths = Vec::new();
        for entry in fs_err::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.extension().is_some_and(|e| e == "rego")
                && !name.starts_with('.')
                && path.is_file()
            {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let text = fs_err::read_to_string(&path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.insert(PolicySource {
                name,
                origin: Origin::File(path),
                text,
            });
        }
        Ok(())
    }

    /// The policy `zt.toml` asks for: the built-in library (unless `builtin = false`) with each
    /// of `dirs` (relative to `repo`) laid over it, then `extra` (a `--policy` flag) last.
    pub fn from_config(
        config: &zt_core::config::PolicyConfig,
        repo: &Path,
        extra: Option<&Path>,
    ) -> Result<Self, Error> {
        let mut set = if config.builtin {
            Self::builtin()
        } else {
            Self::empty()
        };
        for dir in &config.dirs {
            set.overlay_dir(&repo.join(dir))?;
        }
        if let Some(dir) = extra {
            set.overlay_dir(dir)?;
        }
        Ok(set)
    }

    /// The files, sorted by name.
    pub fn sources(&self) -> &[PolicySource] {
        &self.sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_matches_the_policies_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
        let mut on_disk: Vec<String> = fs_err::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rego"))
            .collect();
        on_disk.sort();
        let table: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, table);
    }

    #[test]
    fn same_name_overrides_and_new_names_add() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("vuln.rego"), "package zt.vuln\n").unwrap();
        fs_err::write(dir.path().join("extra.rego"), "package zt.extra\n").unwrap();
        fs_err::write(dir.path().join("notes.md"), "not policy").unwrap();
        let mut set = PolicySet::builtin();
        set.overlay_dir(dir.path()).unwrap();
        assert_eq!(set.sources().len(), BUILTIN.len() + 1);
        let vuln = set
            .sources()
            .iter()
            .find(|s| s.name == "vuln.rego")
            .unwrap();
        assert_eq!(vuln.text, "package zt.vuln\n");
        assert_eq!(vuln.origin, Origin::File(dir.path().join("vuln.rego")));
        assert!(set.sources().iter().any(|s| s.name == "extra.rego"));
        let names: Vec<&str> = set.sources().iter().map(|s| s.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }

    #[test]
    fn missing_folder_is_an_error() {
        let mut set = PolicySet::builtin();
        let e = set
            .overlay_dir(Path::new("/nonexistent/policies"))
            .unwrap_err();
        assert!(matches!(e, Error::MissingPolicyDir(_)));
    }
}
