//! The artifacts a statement is about, named as `zt pipeline run` names them: by their path
//! relative to the repository, with their SHA-256. `--attest --subject FILE` on `zt sbom`,
//! `zt vuln scan` and `zt deps check` goes through [`of_files`], so a statement made in a
//! separate CI step names the artifact exactly as the pipeline's own statement does.

use std::path::{Path, PathBuf};

use zt_core::{Digest, DigestAlgorithm, ResourceDescriptor};

use crate::Error;

/// One artifact: its name in statements and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The path relative to the repository (`out/hello`), or as given for a file outside it.
    pub name: String,
    /// Its SHA-256.
    pub digest: Digest,
}

impl Subject {
    /// The in-toto subject.
    pub fn descriptor(&self) -> ResourceDescriptor {
        ResourceDescriptor::subject(self.name.clone(), &self.digest)
    }
}

/// The in-toto subjects of `subjects`, in order.
pub fn descriptors(subjects: &[Subject]) -> Vec<ResourceDescriptor> {
    subjects.iter().map(Subject::descriptor).collect()
}

/// `path` relative to `repo` when it lies inside it (both resolved), else `path` as given.
pub fn name_in(repo: &Path, path: &Path) -> String {
    let inside = fs_err::canonicalize(repo).ok().and_then(|root| {
        let full = fs_err::canonicalize(path).ok()?;
        full.strip_prefix(&root).ok().map(Path::to_path_buf)
    });
    inside
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Each file as a subject: named relative to `repo` ([`name_in`]), digested as it is now.
/// A missing file or a directory is an error naming it; the same file twice is kept once.
pub fn of_files(repo: &Path, files: &[PathBuf]) -> Result<Vec<Subject>, Error> {
    let mut out: Vec<Subject> = Vec::new();
    for file in files {
        if !file.is_file() {
            return Err(Error::Input {
                what: format!("subject `{}` is not a file", file.display()),
                help: "name the built artifact with `--subject FILE` (e.g. `--subject out/hello`), after `zt build`".into(),
            });
        }
        let subject = Subject {
            name: name_in(repo, file),
            digest: Digest::of_file(DigestAlgorithm::Sha256, file)?,
        };
        if !out.contains(&subject) {
            out.push(subject);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_named_relative_to_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        fs_err::create_dir_all(repo.join("out")).unwrap();
        fs_err::write(repo.join("out/hello"), b"hi").unwrap();
        fs_err::write(dir.path().join("outside"), b"x").unwrap();
        let s = of_files(
            &repo,
            &[
                repo.join("out/hello"),
                repo.join("out/../out/hello"),
                dir.path().join("outside"),
            ],
        )
        .unwrap();
        assert_eq!(s.len(), 2, "the same file twice is one subject");
        assert_eq!(s[0].name, "out/hello");
        assert_eq!(s[0].digest, Digest::sha256(b"hi"));
        assert_eq!(s[1].name, dir.path().join("outside").to_string_lossy());
        let e = of_files(&repo, &[repo.join("out")]).unwrap_err();
        assert!(e.to_string().contains("is not a file"), "{e}");
        assert!(of_files(&repo, &[repo.join("nope")]).is_err());
    }
}
