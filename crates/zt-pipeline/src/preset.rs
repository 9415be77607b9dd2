//! `zt init --preset`: the `[build]` table (build, test, output, toolchains) that builds and
//! tests a project of one ecosystem inside zt's sandbox — no network, the base system
//! read-only, `HOME=/tmp` — so every dependency must be vendored in the repository, and the
//! files the ecosystem needs to build offline from them.
//!
//! | preset | found by | build (offline) | artifacts in `out/` |
//! |---|---|---|---|
//! | `rust` | `Cargo.toml` | `cargo build --offline --locked --release`, `vendor/` via `.cargo/config.toml` | executables (or `.rlib`s) |
//! | `node` | `package.json` | `npm ci --offline --cache .npm-cache`, `npm pack` | the package tarball |
//! | `python` | `pyproject.toml`, `setup.py`, `requirements.txt` | `pip wheel --no-index --no-deps --no-build-isolation` | the wheel |
//! | `go` | `go.mod` | `go build -trimpath` (`-mod=vendor` with `vendor/`), `CGO_ENABLED=0` | the commands |
//! | `java` | `pom.xml`, `build.gradle` | `mvn -o` / `gradle --offline`; neither: `javac` + `jar` | the jar |
//! | `c` | `Makefile` | `make` | what the Makefile puts in `out/` |
//!
//! A test command writes JUnit XML for the pipeline's test stage; where the ecosystem's own
//! runner cannot, the command runs under a small wrapper that writes one test case carrying
//! its exit status.
//!
//! ```
//! use zt_pipeline::preset::{Preset, detect};
//! let dir = tempfile::tempdir().unwrap();
//! assert_eq!(detect(dir.path()), None);
//! std::fs::write(dir.path().join("go.mod"), "module example.com/hi\n").unwrap();
//! assert_eq!(detect(dir.path()), Some(Preset::Go));
//! assert_eq!("rust".parse::<Preset>().unwrap(), Preset::Rust);
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::Error;

/// An ecosystem zt knows how to build offline in its sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Cargo.
    Rust,
    /// npm.
    Node,
    /// pip (a wheel).
    Python,
    /// The go command.
    Go,
    /// Maven, Gradle, or `javac` and `jar`.
    Java,
    /// make.
    C,
}

impl Preset {
    /// Every preset, in the order [`detect`] tries them.
    pub const ALL: [Preset; 6] = [
        Preset::Rust,
        Preset::Node,
        Preset::Python,
        Preset::Go,
        Preset::Java,
        Preset::C,
    ];

    /// The name `--preset` takes.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Rust => "rust",
            Preset::Node => "node",
            Preset::Python => "python",
            Preset::Go => "go",
            Preset::Java => "java",
            Preset::C => "c",
        }
    }

    /// The files whose presence at the repository root means this ecosystem.
    pub fn markers(self) -> &'static [&'static str] {
        match self {
            Preset::Rust => &["Cargo.toml"],
            Preset::Node => &["package.json"],
            Preset::Python => &["pyproject.toml", "setup.py", "requirements.txt"],
            Preset::Go => &["go.mod"],
            Preset::Java => &["pom.xml", "build.gradle", "build.gradle.kts"],
            Preset::C => &["Makefile", "makefile", "GNUmakefile"],
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Preset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| Error::Input {
                what: format!(
                    "unknown preset `{}`",
                    s.chars().take(32).collect::<String>()
                ),
                help: "use `zt init --preset rust|node|python|go|java|c`".into(),
            })
    }
}

/// The ecosystem of the project at `repo`, from the first marker file found (in
/// [`Preset::ALL`] order: a Rust or Node project with a `Makefile` is Rust or Node).
pub fn detect(repo: &Path) -> Option<Preset> {
    Preset::ALL
        .into_iter()
        .find(|p| p.markers().iter().any(|m| repo.join(m).is_file()))
}

/// What a preset adds to a repository.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// The preset.
    pub preset: Preset,
    /// The `[build]` table for `zt.toml` (TOML text, with comments).
    pub table: String,
    /// Files the offline build needs, relative to the repository, with their contents
    /// (written only where absent).
    pub files: Vec<(PathBuf, String)>,
    /// What the person must still do (vendor the dependencies, write a lockfile…).
    pub next: Vec<String>,
}

/// A shell wrapper that runs a test command and writes a one-case JUnit report of its exit
/// status to `$1` (for runners that write no JUnit of their own); argv: `sh -c WRAPPER sh
/// {junit} CMD…`.
pub const JUNIT_WRAPPER: &str = "j=$1; shift; if \"$@\"; then f=0; r=''; else f=1; r='<failure message=\"the test command failed: see the test log\"/>'; fi; printf '<?xml version=\"1.0\" encoding=\"UTF-8\"?>\\n<testsuite name=\"%s\" tests=\"1\" failures=\"%s\"><testcase classname=\"zt.preset\" name=\"%s\">%s</testcase></testsuite>\\n' \"$1\" \"$f\" \"$1\" \"$r\" > \"$j\"; exit $f";

/// `CMD…` run under [`JUNIT_WRAPPER`].
fn wrapped(cmd: &[&str]) -> Vec<String> {
    let mut argv = vec!["sh", "-c", JUNIT_WRAPPER, "sh", "{junit}"];
    argv.extend_from_slice(cmd);
    argv.into_iter().map(str::to_owned).collect()
}

/// A shell script as an argv.
fn script(s: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), s.into()]
}

/// The `[build]` table and the files `preset` needs in `repo`.
pub fn setup(preset: Preset, repo: &Path) -> Result<Setup, Error> {
    let mut files = Vec::new();
    let mut next = Vec::new();
    let mut toolchains = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let (command, test) = match preset {
        Preset::Rust => {
            if let Some(t) = host_output("rustc", &["--print", "sysroot"]) {
                toolchains.extend(outside_base(&t));
            }
            let lock = fs_err::read_to_string(repo.join("Cargo.lock")).unwrap_or_default();
            if lock.is_empty() {
                next.push("write the lockfile: `cargo generate-lockfile`, and commit it".into());
            }
            if lock.contains("source = \"registry+") || lock.contains("source = \"sparse+") {
                if !repo.join(".cargo/config.toml").exists() && !repo.join(".cargo/config").exists()
                {
                    files.push((PathBuf::from(".cargo/config.toml"), CARGO_VENDOR.into()));
                }
                if !repo.join("vendor").is_dir() {
                    next.push("vendor the dependencies (the sandbox has no network): `cargo vendor`, and commit `vendor/` and `.cargo/config.toml`".into());
                }
            }
            comments.push("Dependencies come from `vendor/` (`cargo vendor`, see `.cargo/config.toml`); paths are remapped so that the build path does not reach the binary.".into());
            (
                script(
                    "set -e; export RUSTFLAGS=\"--remap-path-prefix=$PWD=.\"; \
                     cargo build --offline --locked --release; mkdir -p out; \
                     find target/release -maxdepth 1 -type f \\( -perm -u+x -o -name '*.rlib' \\) -exec cp {} out/ \\;",
                ),
                wrapped(&["cargo", "test", "--offline", "--locked"]),
            )
        }
        Preset::Go => {
            if let Some(root) = host_output("go", &["env", "GOROOT"]) {
                toolchains.extend(outside_base(&root));
            }
            let flags = if repo.join("vendor").is_dir() {
                "-mod=vendor"
            } else {
                if fs_err::read_to_string(repo.join("go.mod"))
                    .unwrap_or_default()
                    .contains("require")
                {
                    next.push("vendor the dependencies (the sandbox has no network): `go mod vendor`, and commit `vendor/`".into());
                }
                "-mod=mod"
            };
            comments.push("No module proxy in the sandbox: dependencies come from `vendor/` (`go mod vendor`). Static (CGO_ENABLED=0) and -trimpath, so that the build is reproducible.".into());
            let env = format!(
                "export GOFLAGS={flags} GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=/tmp/go-cache GOPATH=/tmp/go"
            );
            (
                script(&format!(
                    "set -e; {env}; mkdir -p out; go build -trimpath -buildvcs=false -o out/ ./..."
                )),
                {
                    let mut t = script(&format!("{env}; exec \"$@\""));
                    t.push("sh".into());
                    t.extend(wrapped(&["go", "test", "./..."]));
                    t
                },
            )
        }
        Preset::Python => {
            if !repo.join("pyproject.toml").is_file() && !repo.join("setup.py").is_file() {
                next.push("add a `pyproject.toml` (the build makes a wheel of the project), or edit `[build] command` in `zt.toml`".into());
            }
            if repo.join("requirements.txt").is_file() {
                next.push("the tests run with no network: keep the wheels of `requirements.txt` in `wheels/` (`pip download -r requirements.txt -d wheels`) and install them in `[build] test` with `pip install --no-index --find-links wheels`".into());
            }
            comments.push("The base system's python3 (`/usr/bin/python3`, with setuptools and wheel) builds a wheel with no index and no build isolation: nothing is downloaded. Tests: unittest, with `src` on the path.".into());
            (
                script(
                    "set -e; umask 022; python3 -m pip wheel --no-deps --no-build-isolation --no-index --no-cache-dir --wheel-dir out .",
                ),
                {
                    let mut t = script("PYTHONPATH=src:. PYTHONDONTWRITEBYTECODE=1 exec \"$@\"");
                    t.push("sh".into());
                    t.extend(wrapped(&["python3", "-m", "unittest", "discover", "-v"]));
                    t
                },
            )
        }
        Preset::Node => {
            if let Some(node) = which("node") {
                toolchains.extend(outside_base_bin(&node));
            }
            if !repo.join("package-lock.json").is_file() {
                next.push(
                    "write the lockfile: `npm install --package-lock-only`, and commit it".into(),
                );
            }
            if !repo.join(".npm-cache").is_dir() {
                next.push("if the package has dependencies, keep them for the offline install: `npm ci --cache .npm-cache` once (with network), and commit `.npm-cache/`".into());
            }
            let manifest = fs_err::read_to_string(repo.join("package.json")).unwrap_or_default();
            if repo.join(".npm-cache").is_dir()
                && !manifest.contains("\"files\"")
                && !repo.join(".npmignore").is_file()
            {
                next.push("keep `.npm-cache/` out of the package: list the package's files in `package.json` (`\"files\"`) or add `.npm-cache/` to `.npmignore`".into());
            }
            comments.push("`npm ci --offline` installs from a copy of the committed cache `.npm-cache/` (the sandbox has no registry); install scripts do not run.".into());
            (
                script(&format!(
                    "{NPM_INSTALL}; mkdir -p out; npm pack --offline --cache /tmp/npm-cache --pack-destination out"
                )),
                {
                    let mut t = script(&format!("{NPM_INSTALL} >&2; exec \"$@\""));
                    t.push("sh".into());
                    t.extend(wrapped(&[
                        "npm",
                        "test",
                        "--offline",
                        "--cache",
                        "/tmp/npm-cache",
                    ]));
                    t
                },
            )
        }
        Preset::Java => {
            if let Some(javac) = which("javac") {
                toolchains.extend(outside_base_bin(&javac));
            }
            if repo.join("pom.xml").is_file() {
                if !repo.join(".m2/repository").is_dir() {
                    next.push("vendor Maven's repository (the sandbox has no network): `mvn -Dmaven.repo.local=.m2/repository dependency:go-offline package`, and commit `.m2/repository`".into());
                }
                comments.push("Maven offline from the committed repository `.m2/repository`; set `project.build.outputTimestamp` in `pom.xml` for a reproducible jar.".into());
                (
                    script(
                        "set -e; mvn -o -B -q -Dmaven.repo.local=.m2/repository -DskipTests package; mkdir -p out; cp target/*.jar out/",
                    ),
                    wrapped(&[
                        "mvn",
                        "-o",
                        "-B",
                        "-q",
                        "-Dmaven.repo.local=.m2/repository",
                        "test",
                    ]),
                )
            } else if repo.join("build.gradle").is_file() || repo.join("build.gradle.kts").is_file()
            {
                next.push("make the Gradle build work offline with its dependencies in the repository (`--offline` with a committed `GRADLE_USER_HOME`, `.gradle-home`), and set `preserveFileTimestamps = false` and `reproducibleFileOrder = true` on the jar task".into());
                comments.push("Gradle offline from the committed `.gradle-home`.".into());
                (
                    script(
                        "set -e; GRADLE_USER_HOME=.gradle-home ./gradlew --offline --no-daemon assemble; mkdir -p out; cp build/libs/*.jar out/",
                    ),
                    wrapped(&[
                        "env",
                        "GRADLE_USER_HOME=.gradle-home",
                        "./gradlew",
                        "--offline",
                        "--no-daemon",
                        "test",
                    ]),
                )
            } else {
                comments.push("No build tool: javac compiles `src/main/java` (or `src`), jar packs it with the commit's time and a sorted file list; every `*Test` class under `src/test/java` is run with `java` (a non-zero exit fails).".into());
                (script(JAVAC_BUILD), wrapped(&["sh", "-c", JAVAC_TEST]))
            }
        }
        Preset::C => {
            let makefile = Preset::C
                .markers()
                .iter()
                .find_map(|m| fs_err::read_to_string(repo.join(m)).ok())
                .unwrap_or_default();
            comments.push(
                "`make` must put the artifacts in `out/`; `make test` runs the tests.".into(),
            );
            let test = if makefile.contains("JUNIT") {
                // The Makefile writes JUnit XML itself (as the bundled example's does).
                vec!["make".into(), "test".into(), "JUNIT={junit}".into()]
            } else {
                wrapped(&["make", "test"])
            };
            (vec!["make".into()], test)
        }
    };
    let mut table = String::new();
    table.push_str(&format!(
        "\n# How `zt pipeline run` builds and tests this repository (preset `{preset}`): in the\n\
         # sandbox, with no network and the base system read-only, so dependencies are vendored.\n"
    ));
    for c in comments {
        table.push_str(&format!("# {c}\n"));
    }
    table.push_str("[build]\n");
    table.push_str(&format!("command = {}\n", toml_array(&command)));
    table.push_str(&format!(
        "test = {}  # `{{junit}}`: where the JUnit report goes\n",
        toml_array(&test)
    ));
    table.push_str("out = \"out\"\n");
    if !toolchains.is_empty() {
        table.push_str(&format!(
            "# Shown read-only in the sandbox, `bin/` first on PATH (`~/` is the home directory).\n\
             toolchains = {}\n",
            toml_array(&toolchains)
        ));
    }
    Ok(Setup {
        preset,
        table,
        files,
        next,
    })
}

/// `.cargo/config.toml`: crates.io replaced by `vendor/` (what `cargo vendor` asks for).
const CARGO_VENDOR: &str = "# The build runs with no network: crates come from `vendor/` (`cargo vendor`).\n\
[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
[source.vendored-sources]\ndirectory = \"vendor\"\n";

/// npm's offline install from a copy of the committed cache (outside the tree: npm writes
/// its logs into the cache, and `npm pack` would pack them).
const NPM_INSTALL: &str = "set -e; if [ -d .npm-cache ]; then cp -R .npm-cache /tmp/npm-cache; fi; \
npm ci --offline --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache";

/// The Java build with no build tool.
const JAVAC_BUILD: &str = "set -e; src=src/main/java; [ -d \"$src\" ] || src=src; \
rm -rf /tmp/classes; mkdir -p /tmp/classes out; find \"$src\" -name '*.java' | LC_ALL=C sort > /tmp/sources; \
javac -encoding UTF-8 -d /tmp/classes @/tmp/sources; top=$PWD; cd /tmp/classes; \
jar --create --file \"$top/out/app.jar\" --date=\"$(date -u -d @\"$SOURCE_DATE_EPOCH\" +%Y-%m-%dT%H:%M:%SZ)\" $(find . -type f | LC_ALL=C sort)";

/// The Java tests with no build tool.
const JAVAC_TEST: &str = "set -e; [ -d src/test/java ] || exit 0; mkdir -p /tmp/test-classes; \
find src/test/java -name '*.java' | LC_ALL=C sort > /tmp/tests; \
javac -encoding UTF-8 -cp out/app.jar -d /tmp/test-classes @/tmp/tests; \
for c in $(cd /tmp/test-classes && find . -name '*Test.class' | LC_ALL=C sort | sed 's|^\\./||; s|\\.class$||; s|/|.|g'); do \
java -ea -cp out/app.jar:/tmp/test-classes \"$c\"; done";

/// A TOML array of basic strings (JSON string escapes are TOML's).
fn toml_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// The first line `CMD ARGS` prints on the host, if it runs.
fn host_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !line.is_empty()).then_some(line)
}

/// `cmd` on the host's PATH, links resolved.
fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .and_then(|p| fs_err::canonicalize(p).ok())
}

/// The sandbox shows the base system's `/usr`, `/bin`, `/sbin`, `/lib*` and `/opt`;
/// anything else must be a toolchain input.
fn in_base(path: &Path) -> bool {
    ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/opt"]
        .iter()
        .any(|b| path.starts_with(b))
}

/// A toolchain root as `zt.toml` writes it (`~/…` under the home directory), unless the
/// sandbox shows it anyway.
fn outside_base(root: &str) -> Option<String> {
    let root = Path::new(root);
    if in_base(root) || !root.is_absolute() {
        return None;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Some(
        match home.as_deref().and_then(|h| root.strip_prefix(h).ok()) {
            Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
            _ => root.display().to_string(),
        },
    )
}

/// The toolchain root of a binary at `ROOT/bin/NAME`, unless the sandbox shows it anyway.
fn outside_base_bin(bin: &Path) -> Option<String> {
    let root = bin.parent()?.parent()?;
    outside_base(&root.to_string_lossy())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_preset_makes_a_valid_build_table() {
        let dir = tempfile::tempdir().unwrap();
        for p in Preset::ALL {
            let setup = setup(p, dir.path()).unwrap();
            let config =
                zt_core::config::Config::parse(&setup.table, Path::new("zt.toml")).unwrap();
            assert!(!config.build.command.is_empty(), "{p}");
            assert!(
                config.build.test.iter().any(|a| a.contains("{junit}")),
                "{p}: the test command writes the JUnit report"
            );
            assert_eq!(config.build.out.as_deref(), Some(Path::new("out")));
        }
    }

    #[test]
    fn detection_prefers_the_language_over_its_makefile() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("Makefile"), "all:\n").unwrap();
        assert_eq!(detect(dir.path()), Some(Preset::C));
        fs_err::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(detect(dir.path()), Some(Preset::Rust));
        assert!("cobol".parse::<Preset>().is_err());
    }

    #[test]
    fn toolchains_in_the_base_system_are_not_inputs() {
        assert_eq!(outside_base("/usr/lib/go-1.19"), None);
        assert_eq!(
            outside_base("/srv/toolchains/go").as_deref(),
            Some("/srv/toolchains/go")
        );
    }
}
