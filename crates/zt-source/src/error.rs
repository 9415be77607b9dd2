//! The one error type of `zt-source`.

use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Everything that can go wrong in `zt-source`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file is malformed (bad TOML, invalid regex, gitleaks validation error).
    #[error("rule file `{file}`: {message}")]
    RuleFile {
        /// The file (or `built-in default`).
        file: String,
        /// The rule the problem is about, if any.
        rule: Option<String>,
        /// gitleaks' wording of the problem.
        message: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Some files could not be scanned (the others were).
    #[error("{count} file(s) could not be scanned, first: `{first}`: {reason}")]
    Unscanned {
        /// How many.
        count: usize,
        /// The first one.
        first: String,
        /// Why the first one failed.
        reason: String,
    },
    /// The directory is not inside a git work tree.
    #[error("`{}` is not a git repository", path.display())]
    NotGit {
        /// The directory.
        path: PathBuf,
    },
    /// `git` could not be run or failed.
    #[error("`git {args}` failed: {message}")]
    Git {
        /// The arguments.
        args: String,
        /// Its stderr, or why it could not start.
        message: String,
    },
    /// A hook exists that zt did not write.
    #[error("`{}` exists and was not written by zt", path.display())]
    ForeignHook {
        /// The hook file.
        path: PathBuf,
    },
    /// The signer policy (`.zt/signers.toml`) is malformed.
    #[error("signer policy `{file}` line {line}: {message}")]
    SignerPolicy {
        /// `<commit>:.zt/signers.toml`, or a path.
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No commit in the history has a signer policy, and no trust root was given.
    #[error("no commit in the history of {tip} has a signer policy `.zt/signers.toml`")]
    NoSignerPolicy {
        /// The tip commit.
        tip: String,
    },
    /// The trust root is not in the history being verified.
    #[error("trust root {root} is not an ancestor of {tip}")]
    TrustRoot {
        /// The trust root.
        root: String,
        /// The tip.
        tip: String,
    },
    /// The trust root has no signer policy to start from.
    #[error("trust root {root} has no `.zt/signers.toml`")]
    TrustRootWithoutPolicy {
        /// The trust root.
        root: String,
    },
    /// A revision does not resolve to a commit.
    #[error("revision `{spec}`: {reason}")]
    Revision {
        /// The revision as given.
        spec: String,
        /// Why it does not resolve.
        reason: String,
    },
    /// The repository could not be read.
    #[error("cannot read {what}: {reason}")]
    Repository {
        /// The object.
        what: String,
        /// Why.
        reason: String,
    },
    /// The verified-commit cache is malformed.
    #[error("verified-commit cache `{}` is malformed: {reason}", path.display())]
    Cache {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing a file failed.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::RuleFile { rule: Some(rule), .. } => {
                format!("fix rule `{rule}` (gitleaks rules are Go RE2 regular expressions)")
            }
            Error::RuleFile { .. } => "fix the rule file; its format is gitleaks' `.gitleaks.toml`".into(),
            Error::Read { .. } => "check that the path exists and is readable".into(),
            Error::Unscanned { .. } => "check the permissions of the files named, then scan again".into(),
            Error::NotGit { .. } => {
                "run `zt source scan` inside a git work tree for `--staged`, `--range` and `--history`".into()
            }
            Error::Git { .. } => "check that `git` is installed and the revision range exists".into(),
            Error::ForeignHook { .. } => {
                "move the existing hook away (or call `zt source scan --staged` from it), then run `zt source install-hooks` again".into()
            }
            Error::Write { .. } => "check that the directory exists and is writable".into(),
            Error::SignerPolicy { .. } => {
                "fix the named line of `.zt/signers.toml` (see docs/source-verify.md for its format)".into()
            }
            Error::NoSignerPolicy { .. } => {
                "commit a signed `.zt/signers.toml` listing the allowed signing keys, or pass `--trust-root COMMIT`".into()
            }
            Error::TrustRoot { .. } => {
                "pass a commit of this history to `--trust-root`, or fix `git config zt.trustRoot`".into()
            }
            Error::TrustRootWithoutPolicy { .. } => {
                "choose as trust root a commit whose tree has `.zt/signers.toml` (`--trust-root`, `git config zt.trustRoot`)".into()
            }
            Error::Revision { .. } => "name a commit, branch or tag of this repository (e.g. `main`, `HEAD~3..HEAD`)".into(),
            Error::Repository { .. } => "check that the repository is complete (`git fsck`)".into(),
            Error::Cache { .. } => "delete the file; zt rebuilds it on the next run (first-seen times start again from now)".into(),
        })
    }
}
