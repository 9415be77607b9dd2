//! The example project bundled in the binary, so `zt pipeline run` with no directory works on
//! a fresh machine from any working directory.

use std::path::Path;
use std::process::Command;

use crate::Error;

/// The example's files (path, contents, executable).
const FILES: &[(&str, &str, bool)] = &[
    (
        "README.md",
        include_str!("../../../examples/hello/README.md"),
        false,
    ),
    (
        "Makefile",
        include_str!("../../../examples/hello/Makefile"),
        false,
    ),
    (
        "src/hello.c",
        include_str!("../../../examples/hello/src/hello.c"),
        false,
    ),
    (
        "tests/run.sh",
        include_str!("../../../examples/hello/tests/run.sh"),
        true,
    ),
    (
        "advisories/ZT-EXAMPLE-2026-0001.json",
        include_str!("../../../examples/hello/advisories/ZT-EXAMPLE-2026-0001.json"),
        false,
    ),
    (
        "zt.toml",
        include_str!("../../../examples/hello/zt.toml"),
        false,
    ),
];

/// The example's advisory feed folder (imported by the pipeline's vuln stage).
const FEED_DIR: &str = "advisories";
/// The `modified` date the feed's records carry in the source tree.
const FEED_DATE: &str = "\"modified\": \"2026-01-01T00:00:00Z\"";

/// Writes the example into `dir` (which must be empty or absent) as a git repository with one
/// commit at a fixed date, so that its builds are reproducible from the commit time.
pub fn materialise(dir: &Path) -> Result<(), Error> {
    if dir.exists() && fs_err::read_dir(dir)?.next().is_some() {
        return Err(Error::Repository {
            path: dir.to_path_buf(),
            reason: "is not empty; the example needs an empty directory".into(),
        });
    }
    // The example's advisory feed stands for a feed the CI machine refreshes, not for code:
    // it is dated when the example is written (the vulnerability database's age is the age
    // of its newest record, which `vuln.stale-database` judges) and kept out of git, so the
    // commit stays the same everywhere.
    let fed = zt_core::time::rfc3339(zt_core::time::now());
    for (path, contents, exec) in FILES {
        let target = dir.join(path);
        let contents = if path.starts_with(FEED_DIR) {
            contents.replace(FEED_DATE, &format!("\"modified\": \"{fed}\""))
        } else {
            (*contents).to_owned()
        };
        zt_core::fsutil::write_atomic_mode(
            &target,
            contents.as_bytes(),
            Some(if *exec { 0o755 } else { 0o644 }),
        )?;
    }
    zt_core::fsutil::write_atomic(
        &dir.join(".gitignore"),
        format!("/out/\n/.zt/\n/{FEED_DIR}/\n").as_bytes(),
    )?;
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "The zt example project"])?;
    Ok(())
}

/// Runs git with a fixed identity and date (the example's commit is the same everywhere).
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "zt example")
        .env("GIT_AUTHOR_EMAIL", "example@zt.invalid")
        .env("GIT_COMMITTER_NAME", "zt example")
        .env("GIT_COMMITTER_EMAIL", "example@zt.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| Error::Git {
            args: args.join(" "),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Git {
            args: args.join(" "),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
