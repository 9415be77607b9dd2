//! The one error type of zt-build.

use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Everything that can go wrong in zt-build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A file named on the command line does not exist.
    #[error("`{}` does not exist", path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// A file is not a well-formed instance of the format its name and magic bytes claim.
    #[error("`{}` is not a valid {format} file: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The format (zip, gzip, ar, png, tar).
        format: &'static str,
        /// What is wrong, with the offset or field where known.
        detail: String,
    },
    /// The kernel refused to create the namespaces.
    #[error("Linux namespaces are not available: {detail}")]
    NamespacesUnavailable {
        /// The failing step and errno.
        detail: String,
    },
    /// Setting up the sandbox failed after the namespaces existed.
    #[error("cannot set up the build sandbox: {detail}")]
    SandboxSetup {
        /// The failing step.
        detail: String,
    },
    /// The sandbox cannot be enforced in full here (no Landlock, or too old an ABI), and the
    /// caller did not consent to a weak one.
    #[error("the build sandbox cannot be fully enforced: {detail}")]
    WeakSandbox {
        /// What is missing.
        detail: String,
    },
    /// The build left a symbolic link leading out of its output directory (or made the
    /// output directory itself a link): zt does not follow it.
    #[error("the build made `{}` a symbolic link to `{}`, which leads out of the output directory; zt does not follow links out of a build, and collected nothing", path.display(), target.display())]
    OutputLink {
        /// The link, relative to the tree.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
    },
    /// The build's output directory is nested deeper than zt collects.
    #[error("the build's output nests directories deeper than {max} levels at `{}`; collected nothing", path.display())]
    OutputTooDeep {
        /// The directory, relative to the tree.
        path: PathBuf,
        /// The limit.
        max: usize,
    },
    /// The build command is not in the sandbox's PATH.
    #[error("command `{command}` not found in the sandbox")]
    MissingCommand {
        /// The command.
        command: String,
    },
    /// The output directory (or a folder on its way) is a symbolic link in the tree.
    #[error("output directory `{}` is a symbolic link: zt replaces `--out` whole, and never through a link", path.display())]
    OutputIsLink {
        /// The link.
        path: PathBuf,
    },
    /// The source tree has uncommitted changes (or is not a git work tree).
    #[error("source tree `{}` is not clean: {detail}", path.display())]
    DirtyTree {
        /// The tree.
        path: PathBuf,
        /// What git reported.
        detail: String,
    },
    /// A build inside rebuild-and-compare failed.
    #[error("a build failed ({exit}); log: `{}`", log.display())]
    BuildFailed {
        /// The build's log.
        log: PathBuf,
        /// How it ended.
        exit: String,
    },
    /// The build ran past `--timeout` and was killed.
    #[error("the build did not finish within {}s and was killed; log: `{}`", after.as_secs_f64(), log.display())]
    TimedOut {
        /// The limit.
        after: std::time::Duration,
        /// The build's log (kept).
        log: PathBuf,
    },
    /// A secret named with `--secret` cannot be read.
    #[error("secret `{name}` is not available: {detail}")]
    Secret {
        /// The secret's name.
        name: String,
        /// Why.
        detail: String,
    },
    /// `--type` named a format zt does not normalise.
    #[error("unknown file type `{name}`")]
    UnknownType {
        /// The name given.
        name: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A `map_err` adapter naming `path`.
    pub fn from_io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        match self {
            Error::BuildFailed { .. } | Error::OutputLink { .. } | Error::OutputTooDeep { .. } => {
                Outcome::Rejected
            }
            _ => Outcome::InputError,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::Io { .. } => {
                "check that the file exists and that you may read and write it".into()
            }
            Error::NotFound { .. } => {
                "check the path; `zt normalize` works on existing files in place".into()
            }
            Error::Malformed { format, .. } => {
                format!(
                    "the file was left unchanged; check it with a {format} tool or pass `--type` to choose another normaliser"
                )
            }
            Error::NamespacesUnavailable { .. } => {
                "enable unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`, `sysctl user.max_user_namespaces=15000`) or run where they are allowed".into()
            }
            Error::SandboxSetup { .. } => "check that the base system and `--input` paths exist and are readable by others (a build started by root runs as an unprivileged user), and that `/tmp` allows mounts; then run `zt build` again".into(),
            Error::WeakSandbox { .. } => "run on a kernel with Landlock ABI 4 or later (Linux 6.7+, `landlock` in `lsm=`), or pass `--allow-weak-sandbox` to `zt build` to build anyway (the provenance then says the sandbox was weak)".into(),
            Error::OutputLink { .. } => "make the build write files (or relative links that stay inside the output directory), then run `zt build` again".into(),
            Error::OutputTooDeep { .. } => "flatten the output directory, then run `zt build` again".into(),
            Error::MissingCommand { .. } => {
                "the sandbox sees only `/usr`, `/bin`, `/sbin`, `/lib*`, `/opt`, part of `/etc` and `--input` paths; install the tool there or add its directory with `--input`".into()
            }
            Error::OutputIsLink { .. } => "remove the link from the tree (a build output directory is a plain directory), or choose another one with `--out`".into(),
            Error::DirtyTree { .. } => "commit your changes, or pass `--allow-dirty` to build anyway (the tree digest is then recorded)".into(),
            Error::BuildFailed { .. } => "read the log; rebuild-and-compare needs a build that succeeds".into(),
            Error::TimedOut { .. } => "read the log to see where it stopped; raise `--timeout` if the build needs longer".into(),
            Error::Secret { .. } => "pass `--secret NAME=@FILE` to read the value from a file, or store it with `zt secrets` and pass `--secret NAME`".into(),
            Error::UnknownType { .. } => {
                "use one of `zip`, `jar`, `jmod`, `pyzip`, `gzip`, `ar`, `png`, `javadoc`, `tar`"
                    .into()
            }
        })
    }
}
