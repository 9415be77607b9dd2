//! pnpm-lock.yaml and yarn.lock over the shared fixtures: sources, hashes, lines, edges and
//! pinning findings, beyond the name/version lists of the conformance test; a property test
//! of the classic yarn.lock syntax.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use zt_deps::lockfile::Format;
use zt_deps::{Package, Source};

const SHARED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/lockfiles"
);

fn fixture(folder: &str, file: &str) -> PathBuf {
    Path::new(SHARED).join(folder).join(file)
}

fn read(folder: &str, file: &str, format: Format) -> Vec<Package> {
    zt_deps::read_lockfile_as(&fixture(folder, file), format)
        .unwrap()
        .1
}

fn by<'a>(pkgs: &'a [Package], purl: &str) -> &'a Package {
    pkgs.iter().find(|p| p.purl == purl).unwrap_or_else(|| {
        panic!(
            "{purl} not in {:?}",
            pkgs.iter().map(|p| &p.purl).collect::<Vec<_>>()
        )
    })
}

fn hex(p: &Package) -> Vec<String> {
    p.hashes
        .iter()
        .map(|h| format!("{}:{}", h.algorithm, h.value))
        .collect()
}

#[test]
fn pnpm_v5_edges_hashes_and_lines() {
    let pkgs = read("pnpm-lock-yaml", "multiple-packages.yaml", Format::PnpmLock);
    assert_eq!(pkgs.len(), 14);
    let aws = by(&pkgs, "pkg:npm/aws-sdk@2.1087.0");
    assert_eq!(aws.line, Some(11));
    assert_eq!(aws.dependencies.len(), 9);
    assert!(
        aws.dependencies
            .contains(&"pkg:npm/xml2js@0.4.19".to_string())
    );
    assert_eq!(
        by(&pkgs, "pkg:npm/xml2js@0.4.19").dependencies,
        ["pkg:npm/sax@1.2.1", "pkg:npm/xmlbuilder@9.0.7"]
    );
    // `sha1-nr23Y1rQmccNzEwqH1AEKI6L2SQ=` decoded to hex
    assert_eq!(
        hex(by(&pkgs, "pkg:npm/events@1.1.1")),
        ["sha1:9ebdb7635ad099c70dcc4c2a1f5004288e8bd924"]
    );
    assert!(by(&pkgs, "pkg:npm/uuid@3.3.2").hashes[0].algorithm == "sha512");
    let edges: usize = pkgs.iter().map(|p| p.dependencies.len()).sum();
    assert_eq!(edges, 9 + 3 + 2 + 2);
}

#[test]
fn pnpm_peer_suffixes_resolve_in_5_6_and_9() {
    let v5 = read("pnpm-lock-yaml", "peer-dependencies.yaml", Format::PnpmLock);
    assert_eq!(
        by(&v5, "pkg:npm/acorn-jsx@5.3.2").dependencies,
        ["pkg:npm/acorn@8.7.0"]
    );
    let v6 = read(
        "pnpm-lock-yaml",
        "peer-dependencies-v6.yaml",
        Format::PnpmLock,
    );
    assert_eq!(
        by(&v6, "pkg:npm/react-dom@18.2.0").dependencies,
        [
            "pkg:npm/loose-envify@1.4.0",
            "pkg:npm/react@18.2.0",
            "pkg:npm/scheduler@0.23.0"
        ]
    );
    assert_eq!(by(&v6, "pkg:npm/react-dom@18.2.0").line, Some(25));
    let v9 = read(
        "pnpm-lock-yaml",
        "peer-dependencies.v9.yaml",
        Format::PnpmLock,
    );
    assert_eq!(
        by(&v9, "pkg:npm/acorn-jsx@5.3.2").dependencies,
        ["pkg:npm/acorn@8.11.3"]
    );
    assert_eq!(by(&v9, "pkg:npm/acorn@8.11.3").line, Some(22));
    let scoped = read(
        "pnpm-lock-yaml",
        "scoped-packages.v9.yaml",
        Format::PnpmLock,
    );
    assert_eq!(scoped[0].purl, "pkg:npm/%40typescript-eslint/types@5.62.0");
}

#[test]
fn pnpm_sources_git_tarball_directory() {
    let pkgs = read("pnpm-lock-yaml", "commits.yaml", Format::PnpmLock);
    match &by(&pkgs, "pkg:npm/%40my-scope/my-package@1.0.0").source {
        Source::Git { url, commit } => {
            assert_eq!(url, "git+ssh://git@github.com/my-org/my-package.git");
            assert_eq!(
                commit.as_deref(),
                Some("267087851ad5fac92a184749c27cd539e2fc862e")
            );
        }
        s => panic!("{s:?}"),
    }
    // a codeload tarball is git at the commit in its path
    match &by(&pkgs, "pkg:npm/mocks@20.0.1").source {
        Source::Git { url, commit } => {
            assert_eq!(url, "https://github.com/my-org/mocks");
            assert_eq!(
                commit.as_deref(),
                Some("590f321b4eb3f692bb211bd74e22947639a6f79d")
            );
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(
        by(&pkgs, "pkg:npm/mocks@20.0.1").dependencies,
        ["pkg:npm/faker-parser@0.0.1"]
    );
    let tar = read("pnpm-lock-yaml", "tarball.yaml", Format::PnpmLock);
    assert!(matches!(tar[0].source, Source::Url { .. }));
    assert!(tar[0].dev);
    let files = read("pnpm-lock-yaml", "files.yaml", Format::PnpmLock);
    assert!(
        files
            .iter()
            .all(|p| matches!(p.source, Source::Path { .. }))
    );
    assert_eq!(files.len(), 5, "the nameless file: entry is not a package");
}

#[test]
fn pnpm_pinning_findings() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::copy(
        fixture("pnpm-lock-yaml", "tarball.yaml"),
        dir.path().join("pnpm-lock.yaml"),
    )
    .unwrap();
    let inv = zt_deps::inventory(dir.path()).unwrap();
    let f = zt_deps::check::pinning(&inv);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].problem, zt_deps::check::Problem::UnverifiedUrl);
    assert_eq!(f[0].line, Some(10));
}

#[test]
fn yarn_v1_hashes_edges_and_sources() {
    let pkgs = read("yarn-lock", "two-packages.v1.lock", Format::YarnLock);
    let map = by(&pkgs, "pkg:npm/concat-map@0.0.1");
    // the resolved URL's #fragment (SHA-1) and the SRI integrity agree
    assert_eq!(hex(map), ["sha1:d8a96bd77fd68df7793a73036a3ba0d5405d477b"]);
    assert_eq!(map.line, Some(5));
    assert!(matches!(
        &map.source,
        Source::Registry { url: Some(u) } if u == "https://registry.yarnpkg.com/concat-map/-/concat-map-0.0.1.tgz"
    ));
    let files = read("yarn-lock", "files.v1.lock", Format::YarnLock);
    let other = by(&files, "pkg:npm/other_package@0.0.2");
    assert_eq!(
        other.dependencies,
        ["pkg:npm/etag@1.8.1", "pkg:npm/lodash@1.3.1"]
    );
    assert!(matches!(&other.source, Source::Path { path } if path == "./deps/other_package"));
    assert!(matches!(
        by(&files, "pkg:npm/etag@1.8.0").source,
        Source::Path { .. }
    ));
    let multi = read(
        "yarn-lock",
        "multiple-constraints.v1.lock",
        Format::YarnLock,
    );
    assert_eq!(multi.len(), 2);
    assert_eq!(
        by(&multi, "pkg:npm/%40babel/code-frame@7.12.13").line,
        Some(10)
    );
    let aliases = read("yarn-lock", "with-aliases.v1.lock", Format::YarnLock);
    assert!(aliases.iter().any(|p| p.purl == "pkg:npm/ansi-regex@5.0.1"));
}

#[test]
fn yarn_v1_commits_pin_or_not() {
    let pkgs = read("yarn-lock", "commits.v1.lock", Format::YarnLock);
    assert_eq!(pkgs.len(), 18);
    assert!(pkgs.iter().all(|p| matches!(
        &p.source,
        Source::Git {
            commit: Some(_),
            ..
        }
    )));
    let lab = by(&pkgs, "pkg:npm/babel-preset-php@1.1.1");
    assert!(matches!(
        &lab.source,
        Source::Git { commit: Some(c), .. } if c == "c5a7ba5e0ad98b8db1cb8ce105403dd4b768cced"
    ));
}

#[test]
fn yarn_berry_checksums_resolutions_and_workspaces() {
    let pkgs = read("yarn-lock", "with-aliases.v2.lock", Format::YarnLock);
    assert_eq!(pkgs.len(), 3, "the workspace itself is not a dependency");
    let a5 = by(&pkgs, "pkg:npm/ansi-regex@5.0.1");
    assert_eq!(
        hex(a5),
        [
            "yarn-cache-sha512:9a64bb8627b434ba9327b60c027742e5d17ac69277960d041898596271d992d4d52ba7267a63ca10232e29f6107fc8a835f6ce8d719b88c5f8493f8254813737"
        ]
    );
    assert_eq!(a5.line, Some(8));
    let commits = read("yarn-lock", "commits.v2.lock", Format::YarnLock);
    let t = by(&commits, "pkg:npm/%40typegoose/typegoose@7.2.0");
    assert!(matches!(
        &t.source,
        Source::Git { commit: Some(c), .. } if c == "3ed06e5097ab929f69755676fee419318aaec73a"
    ));
    let files = read("yarn-lock", "files.v2.lock", Format::YarnLock);
    assert!(
        matches!(&files[0].source, Source::Path { path } if path.starts_with("../../deps/my-local-package"))
    );
}

#[test]
fn yarn_berry_edges_through_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("yarn.lock");
    let h = "ab".repeat(64);
    fs_err::write(
        &p,
        format!(
            "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"a@npm:^1.0.0\":\n  version: 1.2.0\n  resolution: \"a@npm:1.2.0\"\n  dependencies:\n    b: ^2.0.0\n  checksum: {h}\n  languageName: node\n  linkType: hard\n\n\"b@npm:^2.0.0, b@npm:^2.1.0\":\n  version: 2.1.3\n  resolution: \"b@npm:2.1.3\"\n  languageName: node\n  linkType: hard\n"
        ),
    )
    .unwrap();
    let inv = zt_deps::inventory(dir.path()).unwrap();
    assert_eq!(inv.lockfiles[0].format, Format::YarnLock);
    let a = by(&inv.packages, "pkg:npm/a@1.2.0");
    assert_eq!(a.dependencies, ["pkg:npm/b@2.1.3"]);
    let f = zt_deps::check::pinning(&inv);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].purl, "pkg:npm/b@2.1.3");
    assert_eq!(f[0].problem, zt_deps::check::Problem::MissingHash);
    assert_eq!(f[0].line, Some(14));
}

#[test]
fn malformed_yarn_and_pnpm_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("yarn.lock");
    fs_err::write(&y, "# yarn lockfile v1\n\na@^1:\n  version \"1.0.0\n").unwrap();
    let err = zt_deps::read_lockfile(&y).unwrap_err().to_string();
    assert!(err.contains("yarn.lock:4: unterminated string"), "{err}");
    let p = dir.path().join("pnpm-lock.yaml");
    fs_err::write(&p, "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n").unwrap();
    let err = zt_deps::read_lockfile(&p).unwrap_err().to_string();
    assert!(err.contains("pnpm-lock.yaml:"), "{err}");
    assert!(err.contains("not valid YAML"), "{err}");
    let err =
        zt_deps::read_lockfile_as(&fixture("pnpm-lock-yaml", "not-yaml.txt"), Format::PnpmLock)
            .unwrap_err()
            .to_string();
    assert!(err.contains("not-yaml.txt:1:"), "{err}");
}

/// One generated classic yarn.lock entry.
#[derive(Debug, Clone)]
struct Gen {
    name: String,
    ranges: Vec<String>,
    version: String,
    deps: Vec<(String, String)>,
}

fn quote_if_needed(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.contains([':', ' ', ',', '"', '\\', '#'])
        && s != "true"
        && s != "false";
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap()
    }
}

fn render(entries: &[Gen]) -> String {
    let mut out = String::from(
        "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n",
    );
    for e in entries {
        let keys: Vec<String> = e
            .ranges
            .iter()
            .map(|r| quote_if_needed(&format!("{}@{r}", e.name)))
            .collect();
        out.push_str(&format!("\n{}:\n", keys.join(", ")));
        out.push_str(&format!(
            "  version {}\n",
            serde_json::to_string(&e.version).unwrap()
        ));
        if !e.deps.is_empty() {
            out.push_str("  dependencies:\n");
            for (n, r) in &e.deps {
                out.push_str(&format!(
                    "    {} {}\n",
                    quote_if_needed(n),
                    serde_json::to_string(r).unwrap()
                ));
            }
        }
    }
    out
}

proptest::proptest! {
    /// Entries written in yarn's own style come back with their names, versions, one line
    /// each and every edge that names a written descriptor.
    #[test]
    fn yarn_v1_round_trip(
        raw in proptest::collection::vec(
            ("(@[a-z]{1,5}/)?[a-z][a-z0-9._-]{0,12}", proptest::collection::vec("[\\^~]?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}", 1..3), "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}(-[a-z0-9.]{1,6})?"),
            1..8,
        ),
        dep_picks in proptest::collection::vec((0usize..8, 0usize..3), 0..10),
    ) {
        let mut entries: Vec<Gen> = Vec::new();
        for (name, ranges, version) in raw {
            if entries.iter().any(|e| e.name == name) {
                continue;
            }
            let mut ranges = ranges;
            ranges.sort();
            ranges.dedup();
            entries.push(Gen { name, ranges, version, deps: Vec::new() });
        }
        let n = entries.len();
        for (from, pick) in &dep_picks {
            let to = (from + 1) % n;
            let target = entries[to].clone();
            let r = target.ranges[pick % target.ranges.len()].clone();
            let e = &mut entries[from % n];
            if e.name != target.name && !e.deps.iter().any(|(d, _)| *d == target.name) {
                e.deps.push((target.name.clone(), r));
            }
        }
        let text = render(&entries);
        let got = zt_deps::lockfile::parse(Format::YarnLock, Path::new("yarn.lock"), &text).unwrap();
        proptest::prop_assert_eq!(got.len(), entries.len());
        for (e, p) in entries.iter().zip(&got) {
            proptest::prop_assert_eq!(&p.name, &e.name);
            proptest::prop_assert_eq!(&p.version, &e.version);
            proptest::prop_assert_eq!(p.dependencies.len(), e.deps.len());
            let line = text.lines().position(|l| l.starts_with(&quote_if_needed(&format!("{}@{}", e.name, e.ranges[0])))).unwrap() + 1;
            proptest::prop_assert_eq!(p.line, Some(line));
        }
    }

    /// The classic syntax parser never panics and reports errors with a line inside the text.
    #[test]
    fn yarn_v1_syntax_never_panics(text in "(?s)[a-z@^~\"\\\\:, #\\n0-9.-]{0,300}") {
        if let Err(e) = zt_deps::lockfile::yarn_v1::parse_syntax(Path::new("yarn.lock"), &text) {
            let s = e.to_string();
            let line: usize = s.trim_start_matches("yarn.lock:").split(':').next().unwrap().parse().unwrap();
            proptest::prop_assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
        }
    }
}
