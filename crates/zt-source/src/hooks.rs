//! `zt source install-hooks`: a `pre-commit` hook that scans what is about to be committed and a
//! `pre-push` hook that scans the lines added by the commits being pushed.
//!
//! Hooks are written atomically (temp file, fsync, rename) with mode 0755. A hook that exists and
//! does not carry zt's marker line is someone else's: it is never overwritten.

use std::path::{Path, PathBuf};

use crate::Error;

/// The line that marks a hook as written by zt.
pub const MARKER: &str = "# zt-source-hook: written by `zt source install-hooks`";

/// The pre-commit hook.
pub fn pre_commit_script(zt: &str) -> String {
    format!(
        "#!/bin/sh\n{MARKER}\n# Refuses the commit when the staged blobs contain secrets.\nexec {zt} source scan --staged\n",
        zt = shell_quote(zt)
    )
}

/// The pre-push hook: git gives `<local ref> <local oid> <remote ref> <remote oid>` lines on stdin.
pub fn pre_push_script(zt: &str) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Refuses the push when the commits being pushed add lines that contain secrets.
zero=$(git hash-object --stdin </dev/null | tr '0-9a-f' '0')
status=0
while read -r local_ref local_oid remote_ref remote_oid; do
  [ "$local_oid" = "$zero" ] && continue
  if [ "$remote_oid" = "$zero" ]; then
    range="$local_oid"
  else
    range="$remote_oid..$local_oid"
  fi
  {zt} source scan --range "$range" || status=$?
done
exit $status
"#,
        zt = shell_quote(zt)
    )
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The hook files written (or rewritten, when zt had written them before).
    pub written: Vec<PathBuf>,
}

/// Writes both hooks into `hooks_dir`, refusing to replace a hook zt did not write.
pub fn install(hooks_dir: &Path, zt: &str) -> Result<Installed, Error> {
    let hooks = [
        (hooks_dir.join("pre-commit"), pre_commit_script(zt)),
        (hooks_dir.join("pre-push"), pre_push_script(zt)),
    ];
    // Check both first so that nothing is written when one is foreign.
    for (path, _) in &hooks {
        if path.exists() {
            let existing = fs_err::read_to_string(path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            if !existing.lines().any(|l| l == MARKER) {
                return Err(Error::ForeignHook { path: path.clone() });
            }
        }
    }
    fs_err::create_dir_all(hooks_dir).map_err(|source| Error::Write {
        path: hooks_dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (path, text) in hooks {
        zt_core::fsutil::write_atomic_mode(&path, text.as_bytes(), Some(0o755)).map_err(
            |source| Error::Write {
                path: path.clone(),
                source,
            },
        )?;
        written.push(path);
    }
    Ok(Installed { written })
}

/// The hooks directory of the repository containing `dir` (honours `core.hooksPath`).
pub fn hooks_dir(dir: &Path) -> Result<PathBuf, Error> {
    let root = crate::secrets::git::repo_root(dir)?;
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .map_err(|e| Error::Git {
            args: "rev-parse --git-path hooks".into(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::NotGit {
            path: dir.to_path_buf(),
        });
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']));
    Ok(if p.is_absolute() { p } else { root.join(p) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_writes_executable_hooks_and_refuses_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        let got = install(&hooks, "/usr/bin/zt").unwrap();
        assert_eq!(got.written.len(), 2);
        let text = fs_err::read_to_string(hooks.join("pre-commit")).unwrap();
        assert!(text.contains("/usr/bin/zt source scan --staged"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs_err::metadata(hooks.join("pre-push"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        // Re-installing over zt's own hooks is fine.
        install(&hooks, "zt").unwrap();
        // A foreign hook is never replaced, and nothing else is written either.
        fs_err::write(hooks.join("pre-push"), "#!/bin/sh\necho mine\n").unwrap();
        let before = fs_err::read_to_string(hooks.join("pre-commit")).unwrap();
        let err = install(&hooks, "/other/zt").unwrap_err();
        assert!(matches!(err, Error::ForeignHook { .. }));
        assert_eq!(
            fs_err::read_to_string(hooks.join("pre-push")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert_eq!(
            fs_err::read_to_string(hooks.join("pre-commit")).unwrap(),
            before
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b"), "/a/b");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
