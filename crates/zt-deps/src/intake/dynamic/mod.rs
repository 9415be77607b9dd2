//! Install-time code run in the sandbox (`zt deps intake --dynamic`): what a package manager
//! would run when it installs the package, and what running it showed.
//!
//! This module decides and judges; it runs nothing (the sandbox belongs to `zt-build`, and
//! `zt-pipeline` joins the two):
//!
//! - [`unpack`] writes the archive's regular files where the package manager would put them
//!   (see [`Layout`]);
//! - [`plan`] lists the [`Hook`]s to run, per ecosystem: npm `preinstall`, `install`,
//!   `postinstall` (or the implicit `node-gyp rebuild` of a package with a `binding.gyp`),
//!   a Python sdist's PEP 517 build backend (`setup.py` through setuptools' legacy backend
//!   when the sdist names none), a crate's `build.rs` (compiled with the host's `rustc`, then
//!   run), a gem's `extconf.rb` (with `ruby`, where installed). Wheels and Go modules run
//!   nothing at install;
//! - [`Canaries`] are the fake credentials planted in the sandbox's home (`~/.npmrc`,
//!   `~/.aws/credentials`, `~/.ssh/id_ed25519`, `~/.pypirc`, …) and environment, each holding
//!   a value unique to the run;
//! - [`judge`] turns what each hook did ([`Observation`]) into findings of source `dynamic`.

mod canary;
mod plan;

use serde::Serialize;

pub use canary::{Canaries, CanaryFile, Leak};
pub use plan::{BACKEND_MISSING, Finish, Hook, Layout, Step, Tools, plan, unpack};

/// The `PATH` inside the sandbox.
pub fn plan_path() -> &'static str {
    plan::PATH
}

use super::malware::{Context, Finding, RuleSource, Severity, SourceKind};

/// The rule source of every dynamic finding.
pub const SOURCE: RuleSource = RuleSource {
    kind: SourceKind::Dynamic,
    file: None,
};

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Ended {
    /// Exited with this code.
    Exited {
        /// The code.
        code: i32,
    },
    /// Killed by a signal.
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// Killed at the time limit.
    TimedOut {
        /// The limit, in seconds.
        limit_s: u64,
    },
    /// Killed when the files it wrote passed the write limit.
    WriteLimit {
        /// The limit, in MiB.
        limit_mib: u64,
    },
    /// Not run: what it needs is missing.
    NotRun {
        /// Why.
        reason: String,
    },
}

/// A network attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetAttempt {
    /// `inet`, `inet6`, `unix`, …
    pub family: String,
    /// The address.
    pub address: String,
    /// The port.
    pub port: u16,
    /// The program that tried.
    pub program: String,
    /// How many times.
    pub count: u64,
}

/// An opening of a canary file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryRead {
    /// The canary, as a path below the home (`.npmrc`).
    pub canary: String,
    /// The path the code named; empty where openings are seen by fanotify, which knows the
    /// file opened but not the name it was opened by.
    pub path: String,
    /// The program that opened it.
    pub program: String,
    /// How many times.
    pub count: u64,
}

/// A file the hook wrote or created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Write {
    /// Its path inside the sandbox.
    pub path: String,
    /// Whether it lies in the package's own directory (or the build's output directory).
    pub in_package: bool,
    /// A canary value found in it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak: Option<Leak>,
}

/// A program the hook executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Executed {
    /// The path as the code named it.
    pub path: String,
    /// `sha256:…` of the file, where it could be read.
    pub digest: Option<String>,
    /// How many times.
    pub count: u64,
    /// Whether the file was written during the install (neither in the package nor in the
    /// base system).
    pub written: bool,
}

/// What running one hook showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// The hook (`npm postinstall`, `PEP 517 build_wheel (setuptools.build_meta)`, …).
    pub hook: String,
    /// The file the hook's code is in or named from (`package.json`, `setup.py`, `build.rs`).
    pub file: String,
    /// The command run.
    pub command: Vec<String>,
    /// How it ended.
    pub ended: Ended,
    /// Wall-clock time of the command, in milliseconds.
    pub duration_ms: u64,
    /// Wall-clock time the sandbox took before the command started, in milliseconds.
    pub setup_ms: u64,
    /// Peak resident memory of one process, KiB.
    pub peak_rss_kib: u64,
    /// The programs executed (the hook's own command first).
    pub executed: Vec<Executed>,
    /// The command lines executed.
    pub commands: Vec<Vec<String>>,
    /// Network attempts (all refused).
    pub network: Vec<NetAttempt>,
    /// Openings of canary files.
    pub canary_reads: Vec<CanaryRead>,
    /// Files written or created below the sandbox's home (the package's directory included).
    pub writes: Vec<Write>,
    /// The end of what the hook printed (at most 2000 bytes).
    pub output_tail: String,
    /// How openings of the canaries were seen: `fanotify` (inode marks on the canaries: zt
    /// holds `CAP_SYS_ADMIN`) or `seccomp` (every open stopped and its path resolved);
    /// absent when nothing was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_watched_by: Option<String>,
    /// Whether exec, connect and open were recorded at all (no: the kernel gave no seccomp
    /// listener, and why).
    #[serde(serialize_with = "recorded")]
    pub recorded: Result<(), String>,
}

fn recorded<S: serde::Serializer>(r: &Result<(), String>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Ok(()) => s.serialize_bool(true),
        Err(why) => s.serialize_str(why),
    }
}

/// What `--dynamic` ran and saw: part of the signed decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The canary files planted (paths below the home; never their values).
    pub canaries: Vec<String>,
    /// The canary environment variables set (names only).
    pub canary_env: Vec<String>,
    /// The time limit of each hook, in seconds.
    pub time_limit_s: u64,
    /// The address-space limit of each hook, in bytes.
    pub memory_limit: u64,
    /// The most each hook may write, in bytes (its `/tmp`, and the growth of the tree).
    pub write_limit: u64,
    /// Why nothing ran, when nothing did (a wheel, a Go module, a package without hooks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nothing_to_run: Option<String>,
    /// Each hook and what it did.
    pub hooks: Vec<Observation>,
}

/// Programs that fetch or send over the network: running one at install is a deny, whether
/// or not the network was there.
const NETWORK_TOOLS: &[&str] = &[
    "curl",
    "wget",
    "wget2",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "ftp",
    "tftp",
    "ssh",
    "scp",
    "sftp",
    "rsync",
    "nslookup",
    "dig",
    "host",
    "ping",
    "aria2c",
    "lynx",
    "w3m",
    "powershell",
    "pwsh",
    "certutil",
    "bitsadmin",
];

/// Whether `base` (a program's file name) is a compiler, linker or build driver: a program
/// written during an install that ran one of these was most likely built by it.
fn builds_programs(base: &str) -> bool {
    matches!(
        base,
        "cc" | "c++"
            | "rustc"
            | "make"
            | "gmake"
            | "cmake"
            | "ninja"
            | "go"
            | "collect2"
            | "configure"
            | "libtool"
    ) || base.contains("gcc")
        || base.contains("g++")
        || base.contains("clang")
        || base == "ld"
        || base.starts_with("ld.")
        || base.ends_with("-ld")
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Home files whose change plants code that runs later (a shell's start-up files, SSH keys
/// and authorised keys, autostart entries) or redirects credentials (package-manager and git
/// configuration): writing one at install is a deny. Paths below the home.
const PERSISTENCE: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".config/fish/",
    ".ssh/",
    ".config/autostart/",
    ".config/systemd/",
    ".local/share/systemd/",
    ".gitconfig",
    ".config/git/",
    ".npmrc",
    ".yarnrc",
    ".pypirc",
    ".pip/",
    ".config/pip/",
    ".aws/",
    ".docker/",
    ".kube/",
    ".gnupg/",
    ".cargo/config",
    ".cargo/credentials",
    ".gem/credentials",
    ".netrc",
    ".git-credentials",
    ".local/bin/",
];

fn finding(
    rule: &str,
    severity: Severity,
    file: &str,
    message: String,
    excerpt: String,
) -> Finding {
    let mut excerpt = excerpt;
    if excerpt.chars().count() > 160 {
        excerpt = excerpt.chars().take(159).collect::<String>() + "…";
    }
    Finding {
        rule: rule.into(),
        severity,
        file: file.into(),
        line: None,
        message,
        excerpt,
        context: Context::Install,
        source: SOURCE,
        deny_at_install_only: false,
        native_addon: false,
        platform: None,
    }
}

/// The findings of one run: `home` is the home directory inside the sandbox (to tell the
/// home's files in writes), `canaries` the values planted.
///
/// | rule | severity | when |
/// |---|---|---|
/// | `dynamic-canary-read` | deny | a canary credential file was opened |
/// | `dynamic-canary-leak` | deny | a canary value (plain, hex or base64) is in a command line or a file written |
/// | `dynamic-network` | deny | an `inet`/`inet6` connect (DNS included) |
/// | `dynamic-network-local` | warn | a unix-socket connect (nothing answers in the sandbox) |
/// | `dynamic-network-tool` | deny | `curl`, `wget`, `nc`, … executed |
/// | `dynamic-exec-written` | deny (warn after a compiler ran) | a program written during the install executed |
/// | `dynamic-write-persistence` | deny | a shell start-up file, `~/.ssh/…`, a credential or package-manager configuration written |
/// | `dynamic-write-outside` | warn | another file written outside the package |
/// | `dynamic-timeout` | warn | killed at the time limit: what it would have done later was not seen |
/// | `dynamic-hook-failed` | warn | the hook failed (often a dependency it needs is not installed) |
/// | `dynamic-not-run` | warn | the toolchain or build backend it needs is missing |
/// | `dynamic-unrecorded` | deny | the kernel gave no seccomp listener: nothing was observed |
pub fn judge(report: &Report, home: &str, canaries: &Canaries) -> Vec<Finding> {
    let mut out = Vec::new();
    let home_prefix = format!("{}/", home.trim_end_matches('/'));
    for h in &report.hooks {
        let file = h.file.as_str();
        let what = &h.hook;
        if let Err(why) = &h.recorded
            && !matches!(h.ended, Ended::NotRun { .. })
        {
            out.push(finding(
                "dynamic-unrecorded",
                Severity::Deny,
                file,
                format!("{what}: its behaviour could not be recorded ({why}), so running it proved nothing"),
                h.command.join(" "),
            ));
        }
        for r in &h.canary_reads {
            out.push(finding(
                "dynamic-canary-read",
                Severity::Deny,
                file,
                format!(
                    "{what} opened the canary credential file `~/{}` ({} time(s), by `{}`)",
                    r.canary, r.count, r.program
                ),
                if r.path.is_empty() {
                    format!("~/{}", r.canary)
                } else {
                    r.path.clone()
                },
            ));
        }
        for c in &h.commands {
            let line = c.join(" ");
            if let Some(leak) = canaries.find(line.as_bytes(), true) {
                out.push(finding(
                    "dynamic-canary-leak",
                    Severity::Deny,
                    file,
                    format!(
                        "{what} ran a command carrying the canary {} ({})",
                        leak.canary, leak.encoding
                    ),
                    canaries.redact(&line),
                ));
            }
        }
        for w in &h.writes {
            if let Some(leak) = &w.leak {
                out.push(finding(
                    "dynamic-canary-leak",
                    Severity::Deny,
                    file,
                    format!(
                        "{what} wrote the canary {} ({}) to `{}`",
                        leak.canary, leak.encoding, w.path
                    ),
                    w.path.clone(),
                ));
            }
        }
        for n in &h.network {
            let (rule, severity) = if n.family == "unix" {
                ("dynamic-network-local", Severity::Warn)
            } else {
                ("dynamic-network", Severity::Deny)
            };
            let target = if n.family == "inet6" {
                format!("[{}]:{}", n.address, n.port)
            } else if n.family == "unix" {
                n.address.clone()
            } else {
                format!("{}:{}", n.address, n.port)
            };
            out.push(finding(
                rule,
                severity,
                file,
                format!(
                    "{what} tried to connect to {target} ({}, {} time(s), by `{}`; refused: the sandbox has no network)",
                    n.family, n.count, n.program
                ),
                target.clone(),
            ));
        }
        let compiled = h.executed.iter().any(|e| builds_programs(base(&e.path)));
        for e in &h.executed {
            let mut name = base(&e.path);
            // `busybox wget …`: the applet is the program.
            if name == "busybox"
                && let Some(applet) = h
                    .commands
                    .iter()
                    .find(|c| {
                        c.first()
                            .is_some_and(|a| a == &e.path || base(a) == "busybox")
                    })
                    .and_then(|c| c.get(1))
            {
                name = base(applet);
            }
            if NETWORK_TOOLS.contains(&name) {
                out.push(finding(
                    "dynamic-network-tool",
                    Severity::Deny,
                    file,
                    format!(
                        "{what} executed `{}`, a network client ({} time(s))",
                        e.path, e.count
                    ),
                    h.commands
                        .iter()
                        .find(|c| c.first().is_some_and(|a| base(a) == name))
                        .map(|c| canaries.redact(&c.join(" ")))
                        .unwrap_or_else(|| e.path.clone()),
                ));
            }
            // The hook's own command is what was asked for, written or not.
            if e.written && h.command.first() != Some(&e.path) {
                let severity = if compiled {
                    Severity::Warn
                } else {
                    Severity::Deny
                };
                out.push(finding(
                    "dynamic-exec-written",
                    severity,
                    file,
                    format!(
                        "{what} executed `{}`, a program that was neither in the package nor in the base system but written during the install{}",
                        e.path,
                        if compiled {
                            " (a compiler ran first, so it is likely one the install built)"
                        } else {
                            ""
                        }
                    ),
                    e.path.clone(),
                ));
            }
        }
        for w in h.writes.iter().filter(|w| !w.in_package) {
            let rel = w.path.strip_prefix(&home_prefix).unwrap_or(&w.path);
            let persistent = w.path.starts_with(&home_prefix)
                && PERSISTENCE.iter().any(|p| {
                    rel == p.trim_end_matches('/') || p.ends_with('/') && rel.starts_with(p)
                });
            let canary = canaries.files.iter().any(|c| c.path == rel);
            if persistent || canary {
                out.push(finding(
                    "dynamic-write-persistence",
                    Severity::Deny,
                    file,
                    format!(
                        "{what} wrote `{}`: a shell start-up file, SSH key or credential/configuration file that outlives the install",
                        w.path
                    ),
                    w.path.clone(),
                ));
            } else {
                out.push(finding(
                    "dynamic-write-outside",
                    Severity::Warn,
                    file,
                    format!("{what} wrote `{}`, outside the package's directory", w.path),
                    w.path.clone(),
                ));
            }
        }
        match &h.ended {
            Ended::TimedOut { limit_s } => out.push(finding(
                "dynamic-timeout",
                Severity::Warn,
                file,
                format!(
                    "{what} was still running at the time limit ({limit_s} s) and was killed: what it would have done later was not seen"
                ),
                h.command.join(" "),
            )),
            Ended::WriteLimit { limit_mib } => out.push(finding(
                "dynamic-write-limit",
                Severity::Warn,
                file,
                format!(
                    "{what} wrote more than {limit_mib} MiB and was killed: what it would have done later was not seen"
                ),
                h.command.join(" "),
            )),
            Ended::Exited { code } if *code != 0 => out.push(finding(
                "dynamic-hook-failed",
                Severity::Warn,
                file,
                format!(
                    "{what} exited with status {code} (a dependency or toolchain it needs may be missing in the sandbox): what it did up to then is recorded"
                ),
                canaries.redact(&last_line(&h.output_tail)),
            )),
            Ended::Signal { signal } => out.push(finding(
                "dynamic-hook-failed",
                Severity::Warn,
                file,
                format!("{what} was killed by signal {signal} (the memory limit, or its own doing)"),
                canaries.redact(&last_line(&h.output_tail)),
            )),
            Ended::NotRun { reason } => out.push(finding(
                "dynamic-not-run",
                Severity::Warn,
                file,
                format!("{what} was not run: {reason}"),
                h.command.join(" "),
            )),
            Ended::Exited { .. } => {}
        }
    }
    out
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Adds a dynamic run's findings to a decision: every `deny` finding a reviewer did not accept
/// (`accepts`, see [`super::malware::accept`]) rejects (one reason per rule and hook file),
/// and the verdict is decided again.
pub fn apply(
    d: &mut super::Decision,
    report: Report,
    mut findings: Vec<Finding>,
    accepts: &[zt_core::config::MalwareAccept],
) {
    super::malware::accept::apply(
        &mut findings,
        accepts,
        super::malware::accept::Archive {
            name: &d.name,
            version: &d.version,
            sha256: &d.sha256,
        },
        &mut d.accepted,
    );
    let mut seen = std::collections::BTreeSet::new();
    for f in findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .filter(|f| seen.insert((f.rule.clone(), f.message.clone())))
    {
        d.reasons.push(super::Reason {
            rule: f.rule.clone(),
            hold: false,
            message: format!("{}: {} (the sandboxed install run)", f.file, f.message),
        });
    }
    d.findings.extend(findings);
    super::malware::sort(&mut d.findings);
    d.dynamic = Some(report);
    d.verdict = super::verdict_of(&d.reasons);
}

#[cfg(test)]
mod tests;
