//! `zt source verify` against real git: repositories built with `git`, `ssh-keygen` and `gpg`,
//! zt's verdict per commit compared with `git log --format=%G?` wherever git's verdict is
//! right. Where zt deliberately differs (a backdated commit signed with a revoked key, a
//! policy change or path outside what the old policy allows) the row says why.
//!
//! Skips (with a printed reason) only when `git`, `ssh-keygen` or `gpg` is missing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::zt;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
        || Command::new(tool)
            .arg("-?")
            .output()
            .map(|o| !o.stderr.is_empty() || !o.stdout.is_empty())
            .unwrap_or(false)
}

fn tools_missing() -> Option<String> {
    let missing: Vec<&str> = ["git", "ssh-keygen", "gpg"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    // CI installs them (.ci/run): there a skip would hide the oracle, so it fails instead.
    assert!(
        missing.is_empty() || std::env::var_os("CI").is_none(),
        "CI must have {} installed",
        missing.join(", ")
    );
    (!missing.is_empty()).then(|| format!("skipped: {} not installed", missing.join(", ")))
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A signing identity.
#[derive(Clone)]
enum Sign {
    None,
    Ssh(PathBuf),
    /// Fingerprint and the GNUPGHOME holding its secret key.
    Pgp(String, PathBuf),
    /// Like `Pgp`, with gpg's clock set to this `--faked-system-time`.
    PgpAt(String, PathBuf, String),
}

#[derive(Clone)]
struct Who {
    name: &'static str,
    email: &'static str,
    sign: Sign,
}

struct Lab {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    repo: PathBuf,
    /// The keyring git's oracle reads (the policy's OpenPGP keys).
    gnupg: PathBuf,
}

impl Lab {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let repo = dir.join("repo");
        let gnupg = dir.join("gnupg");
        fs_err::create_dir_all(&gnupg).unwrap();
        set_private(&gnupg);
        let lab = Self {
            _tmp: tmp,
            dir,
            repo,
            gnupg,
        };
        lab.git(&["init", "-q", "-b", "main", "."]);
        lab
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("HOME", &self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.dir.join("gitconfig"))
            .env("GNUPGHOME", &self.gnupg)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        c
    }

    fn git(&self, args: &[&str]) -> String {
        fs_err::create_dir_all(&self.repo).unwrap();
        ok(
            self.cmd("git")
                .current_dir(&self.repo)
                .args(args)
                .output()
                .unwrap(),
            &format!("git {}", args.join(" ")),
        )
    }

    fn ssh_key(&self, name: &str) -> (PathBuf, String) {
        self.ssh_key_of(name, &["-t", "ed25519"])
    }

    fn ssh_key_of(&self, name: &str, kind: &[&str]) -> (PathBuf, String) {
        let path = self.dir.join(format!("{name}.key"));
        ok(
            self.cmd("ssh-keygen")
                .args(kind)
                .args(["-q", "-N", "", "-C", name, "-f"])
                .arg(&path)
                .output()
                .unwrap(),
            "ssh-keygen",
        );
        let public = fs_err::read_to_string(path.with_extension("key.pub")).unwrap();
        (path, public.trim().to_string())
    }

    /// Generates an OpenPGP key in `home` (created if needed); returns its fingerprint.
    fn pgp_key(&self, home: &Path, uid: &str, expire: &str, faked_time: Option<&str>) -> String {
        fs_err::create_dir_all(home).unwrap();
        set_private(home);
        let mut c = self.cmd("gpg");
        c.env("GNUPGHOME", home)
            .args(["--batch", "--passphrase", ""]);
        if let Some(t) = faked_time {
            c.args(["--faked-system-time", t]);
        }
        ok(
            c.args(["--quick-gen-key", uid, "ed25519", "sign", expire])
                .output()
                .unwrap(),
            "gpg --quick-gen-key",
        );
        let listing = ok(
            self.cmd("gpg")
                .env("GNUPGHOME", home)
                .args(["--batch", "--with-colons", "--list-keys", uid])
                .output()
                .unwrap(),
            "gpg --list-keys",
        );
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_string())
            .unwrap()
    }

    fn armored(&self, home: &Path, fpr: &str) -> String {
        ok(
            self.cmd("gpg")
                .env("GNUPGHOME", home)
                .args(["--batch", "--armor", "--export", fpr])
                .output()
                .unwrap(),
            "gpg --export",
        )
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.repo.join(path);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, text).unwrap();
        self.git(&["add", path]);
    }

    /// Commits what is staged (or nothing) as `who`, signed their way; returns the id.
    fn commit(&self, who: &Who, msg: &str, date: Option<&str>) -> String {
        let mut c = self.cmd("git");
        c.current_dir(&self.repo)
            .arg("-c")
            .arg(format!("user.name={}", who.name))
            .arg("-c")
            .arg(format!("user.email={}", who.email));
        if let Some(d) = date {
            c.env("GIT_AUTHOR_DATE", d).env("GIT_COMMITTER_DATE", d);
        }
        let mut sign = true;
        match &who.sign {
            Sign::None => sign = false,
            Sign::Ssh(key) => {
                c.args(["-c", "gpg.format=ssh", "-c"])
                    .arg(format!("user.signingkey={}", key.display()));
            }
            Sign::Pgp(fpr, home) => {
                c.env("GNUPGHOME", home)
                    .args(["-c", "gpg.format=openpgp", "-c"])
                    .arg(format!("user.signingkey={fpr}"));
            }
            Sign::PgpAt(fpr, home, at) => {
                let wrapper = self.dir.join("gpg-at");
                fs_err::write(
                    &wrapper,
                    format!("#!/bin/sh\nexec gpg --faked-system-time {at} \"$@\"\n"),
                )
                .unwrap();
                set_exec(&wrapper);
                c.env("GNUPGHOME", home)
                    .args(["-c", "gpg.format=openpgp", "-c"])
                    .arg(format!("gpg.program={}", wrapper.display()))
                    .arg("-c")
                    .arg(format!("user.signingkey={fpr}"));
            }
        }
        c.args(["commit", "-q", "--allow-empty", "-m", msg]);
        if sign {
            c.arg("-S");
        }
        ok(c.output().unwrap(), &format!("commit {msg}"));
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `git log --format='%H %G?'` over all refs, as a map.
    fn git_verdicts(&self) -> HashMap<String, String> {
        self.git(&["log", "--all", "--format=%H %G?"])
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(h, g)| (h.to_string(), g.to_string()))
            .collect()
    }

    fn zt(&self, args: &[&str]) -> Output {
        let mut c = zt(&self.repo);
        c.args(args);
        c.output().unwrap()
    }

    /// `zt --json source verify ARGS`: exit code and commit → (verdict, reason).
    fn verify(&self, args: &[&str]) -> (i32, HashMap<String, (String, String)>, serde_json::Value) {
        let mut all = vec!["--json", "source", "verify"];
        all.extend_from_slice(args);
        let out = self.zt(&all);
        let code = out.status.code().unwrap_or(-1);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "zt output is not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let map = v["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["commit"].as_str().unwrap().to_string(),
                    (
                        c["verdict"].as_str().unwrap().to_string(),
                        c["reason"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        (code, map, v)
    }
}

impl Drop for Lab {
    /// Stops the gpg agents the test's keyrings started.
    fn drop(&mut self) {
        for home in [self.gnupg.clone(), self.dir.join("gnupg-other")] {
            if home.is_dir() {
                let _ = Command::new("gpgconf")
                    .env("GNUPGHOME", &home)
                    .args(["--kill", "all"])
                    .output();
            }
        }
    }
}

fn set_private(p: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn set_exec(p: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn signer(name: &str, key: &str, extra: &str) -> String {
    if key.starts_with("-----BEGIN") {
        format!("[[signer]]\nname = \"{name}\"\nkey = '''\n{key}'''\n{extra}\n")
    } else {
        format!("[[signer]]\nname = \"{name}\"\nkey = \"{key}\"\n{extra}\n")
    }
}

/// What git says for a zt verdict, when git's verdict is right.
fn git_letters(verdict: &str) -> &'static [&'static str] {
    match verdict {
        "good" => &["G"],
        "unsigned" => &["N"],
        "bad-signature" => &["B"],
        // SSH: git verifies with the key in the signature, then finds no principal (U);
        // OpenPGP: the key is not in the keyring, so gpg cannot check (E).
        "unknown-key" => &["U", "E"],
        "expired-key" => &["Y", "X"],
        "revoked-key" => &["R"],
        _ => &[],
    }
}

#[test]
fn verdicts_match_git_where_git_is_right() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let lab = Lab::new();
    let other_gnupg = lab.dir.join("gnupg-other");

    let (alice_key, alice_pub) = lab.ssh_key("alice");
    let (dave_key, dave_pub) = lab.ssh_key("dave");
    let (mallory_key, _) = lab.ssh_key("mallory");
    let (eve_key, eve_pub) = lab.ssh_key("eve");
    let (trudy_key, trudy_pub) = lab.ssh_key("trudy");
    let (grace_key, grace_pub) = lab.ssh_key_of("grace", &["-t", "ecdsa", "-b", "256"]);
    let (heidi_key, heidi_pub) = lab.ssh_key_of("heidi", &["-t", "rsa", "-b", "2048"]);
    let bob_fpr = lab.pgp_key(&lab.gnupg, "Bob <bob@example.com>", "0", None);
    // Carol's key was made in 2024 and expired a day later.
    let carol_fpr = lab.pgp_key(
        &lab.gnupg,
        "Carol <carol@example.com>",
        "1d",
        Some("20240101T000000"),
    );
    // Frank's key is in no policy and not in git's keyring.
    let frank_fpr = lab.pgp_key(&other_gnupg, "Frank <frank@example.com>", "0", None);

    let alice = Who {
        name: "Alice",
        email: "alice@example.com",
        sign: Sign::Ssh(alice_key),
    };
    let bob = Who {
        name: "Bob",
        email: "bob@example.com",
        sign: Sign::Pgp(bob_fpr.clone(), lab.gnupg.clone()),
    };
    let carol = Who {
        name: "Carol",
        email: "carol@example.com",
        sign: Sign::PgpAt(
            carol_fpr.clone(),
            lab.gnupg.clone(),
            "20240101T120000".into(),
        ),
    };
    let dave = Who {
        name: "Dave",
        email: "dave@example.com",
        sign: Sign::Ssh(dave_key),
    };
    let mallory = Who {
        name: "Mallory",
        email: "mallory@example.com",
        sign: Sign::Ssh(mallory_key),
    };
    let frank = Who {
        name: "Frank",
        email: "frank@example.com",
        sign: Sign::Pgp(frank_fpr, other_gnupg.clone()),
    };
    let eve = Who {
        name: "Eve",
        email: "eve@example.com",
        sign: Sign::Ssh(eve_key),
    };
    let trudy = Who {
        name: "Trudy",
        email: "trudy@example.com",
        sign: Sign::Ssh(trudy_key),
    };
    let grace = Who {
        name: "Grace",
        email: "grace@example.com",
        sign: Sign::Ssh(grace_key),
    };
    let heidi = Who {
        name: "Heidi",
        email: "heidi@example.com",
        sign: Sign::Ssh(heidi_key),
    };
    let nobody = Who {
        name: "Nobody",
        email: "nobody@example.com",
        sign: Sign::None,
    };

    // git's oracle: every SSH key it should accept, Dave's only before 2025 as git can say
    // it (git judges that window at the committer date, which the signer sets).
    let allowed = lab.dir.join("allowed_signers");
    fs_err::write(
        &allowed,
        format!(
            "alice@example.com {alice_pub}\ndave@example.com valid-before=\"20250101\" {dave_pub}\neve@example.com {eve_pub}\ntrudy@example.com {trudy_pub}\ngrace@example.com {grace_pub}\nheidi@example.com {heidi_pub}\n"
        ),
    )
    .unwrap();
    lab.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        allowed.to_str().unwrap(),
    ]);

    let base_policy = [
        signer("alice", &alice_pub, ""),
        signer(
            "bob",
            &lab.armored(&lab.gnupg, &bob_fpr),
            "email = \"bob@example.com\"",
        ),
        signer("carol", &lab.armored(&lab.gnupg, &carol_fpr), ""),
        signer("dave", &dave_pub, "revoked_at = 2025-01-01T00:00:00Z"),
        signer("grace", &grace_pub, ""),
        signer("heidi", &heidi_pub, ""),
    ]
    .concat();

    // (commit, zt verdict, git's letter, why zt differs — None when git is right)
    let mut rows: Vec<(String, &str, &str, Option<&str>)> = Vec::new();
    lab.write(".zt/signers.toml", &base_policy);
    let root = lab.commit(&alice, "policy", None);
    rows.push((root.clone(), "good", "G", None));
    lab.write("src/a.rs", "a\n");
    rows.push((lab.commit(&alice, "alice ssh", None), "good", "G", None));
    rows.push((lab.commit(&bob, "bob openpgp", None), "good", "G", None));
    rows.push((lab.commit(&grace, "grace ecdsa", None), "good", "G", None));
    rows.push((lab.commit(&heidi, "heidi rsa", None), "good", "G", None));

    // A signed commit whose message was changed afterwards (the signature no longer covers it).
    let signed = lab.commit(&alice, "to be tampered", None);
    let raw = lab
        .git(&["cat-file", "commit", &signed])
        .replace("to be tampered", "tampered");
    let raw_path = lab.dir.join("tampered");
    fs_err::write(&raw_path, raw).unwrap();
    let tampered = lab
        .git(&[
            "hash-object",
            "-t",
            "commit",
            "-w",
            raw_path.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    lab.git(&["update-ref", "refs/heads/main", &tampered]);
    lab.git(&["reset", "-q", "--hard", &tampered]);
    rows.push((tampered, "bad-signature", "B", None));

    rows.push((
        lab.commit(&mallory, "mallory ssh", None),
        "unknown-key",
        "U",
        None,
    ));
    rows.push((
        lab.commit(&frank, "frank openpgp", None),
        "unknown-key",
        "E",
        None,
    ));
    rows.push((
        lab.commit(&carol, "carol expired", Some("2024-01-01T12:00:00Z")),
        "expired-key",
        "Y",
        None,
    ));
    rows.push((
        lab.commit(&dave, "dave backdated", Some("2024-06-01T00:00:00Z")),
        "revoked-key",
        "G",
        Some("backdated: git judges Dave's key at the committer date Dave chose (2024); zt at the time it first saw the commit, after the revocation"),
    ));
    rows.push((lab.commit(&nobody, "unsigned", None), "unsigned", "N", None));

    // A merge: both parents' policies must authorise it.
    let fork = lab.git(&["rev-parse", "HEAD"]).trim().to_string();
    lab.git(&["checkout", "-q", "-b", "side"]);
    lab.write("src/side.rs", "s\n");
    rows.push((lab.commit(&alice, "side", None), "good", "G", None));
    lab.git(&["checkout", "-q", "main"]);
    lab.write("src/main.rs", "m\n");
    rows.push((lab.commit(&bob, "main", None), "good", "G", None));
    let mut merge = lab.cmd("git");
    merge.current_dir(&lab.repo).args([
        "-c",
        "user.name=Alice",
        "-c",
        "user.email=alice@example.com",
        "-c",
        "gpg.format=ssh",
        "-c",
    ]);
    merge.arg(format!(
        "user.signingkey={}",
        lab.dir.join("alice.key").display()
    ));
    ok(
        merge
            .args(["merge", "-q", "-S", "--no-ff", "-m", "merge side", "side"])
            .output()
            .unwrap(),
        "git merge",
    );
    let merged = lab.git(&["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(merged, fork);
    rows.push((merged, "good", "G", None));

    // An authorised policy change: Alice adds Eve, who may touch docs/ only.
    lab.write(
        ".zt/signers.toml",
        &format!(
            "{base_policy}{}",
            signer("eve", &eve_pub, "paths = [\"docs/**\"]")
        ),
    );
    rows.push((
        lab.commit(&alice, "alice adds eve", None),
        "good",
        "G",
        None,
    ));
    lab.write("docs/guide.md", "g\n");
    rows.push((lab.commit(&eve, "eve docs", None), "good", "G", None));
    lab.write("src/eve.rs", "e\n");
    rows.push((
        lab.commit(&eve, "eve src", None),
        "not-authorised",
        "G",
        Some("git has no per-path signer rules; the policy allows Eve docs/** only"),
    ));

    // An unauthorised policy change: Trudy adds herself and signs it.
    lab.write(
        ".zt/signers.toml",
        &format!(
            "{base_policy}{}{}",
            signer("eve", &eve_pub, "paths = [\"docs/**\"]"),
            signer("trudy", &trudy_pub, "")
        ),
    );
    rows.push((
        lab.commit(&trudy, "trudy adds herself", None),
        "not-authorised",
        "G",
        Some("git trusts any key in its allowed-signers file; the parent's policy does not list Trudy"),
    ));
    lab.write("src/trudy.rs", "t\n");
    rows.push((
        lab.commit(&trudy, "trudy after", None),
        "not-authorised",
        "G",
        Some("Trudy's own policy change never took effect: the child is judged by the last verified policy"),
    ));
    // Failures do not spread: Alice's next commit is judged by the last verified policy.
    rows.push((lab.commit(&alice, "alice after", None), "good", "G", None));

    let git = lab.git_verdicts();
    let (code, zt, json) = lab.verify(&["--trust-root", &root]);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(zt.len(), rows.len(), "{json:#}");
    for (commit, want, git_letter, differs) in &rows {
        let (got, reason) = zt
            .get(commit)
            .unwrap_or_else(|| panic!("zt did not judge {commit}: {json:#}"));
        assert_eq!(got, want, "commit {commit}: {reason}");
        assert!(!reason.is_empty());
        let g = git.get(commit).unwrap();
        assert_eq!(g, git_letter, "git's verdict on {commit} ({reason})");
        match differs {
            None => assert!(
                git_letters(want).contains(&g.as_str()),
                "zt says {want} for {commit}, git says {g}"
            ),
            Some(why) => {
                assert!(!git_letters(want).contains(&g.as_str()), "{why}");
                eprintln!("zt differs from git on {commit}: zt {want}, git {g}: {why}");
            }
        }
    }
    assert_eq!(json["trust_root_source"], "flag");
    let policy_changes: Vec<&str> = json["commits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["policy_changed"] == true)
        .map(|c| c["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        policy_changes,
        ["policy", "alice adds eve", "trudy adds herself"]
    );
    let new_keys: Vec<&str> = json["new_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        new_keys,
        [
            "alice@example.com",
            "bob@example.com",
            "grace@example.com",
            "heidi@example.com",
            "eve@example.com"
        ]
    );

    // The cache: a second run checks only the commits that did not verify.
    let (code, again, json) = lab.verify(&["--trust-root", &root]);
    assert_eq!(code, 1);
    let failed = rows.iter().filter(|r| r.1 != "good").count();
    assert_eq!(again.len(), failed, "{json:#}");
    assert_eq!(json["cached"], rows.len() - failed);
    assert_eq!(json["new_keys"].as_array().unwrap().len(), 0);
    // `--no-cache` checks everything again, with the same verdicts.
    let (_, all, _) = lab.verify(&["--trust-root", &root, "--no-cache"]);
    assert_eq!(all, zt);

    // A range: only the commits after the merge.
    let (code, range, _) = lab.verify(&["--no-cache", "--trust-root", &root, "HEAD~2..HEAD"]);
    assert_eq!(code, 1);
    assert_eq!(range.len(), 2);
}

/// A clean history of one SSH signer, with a window.
fn simple_repo(extra: &str) -> (Lab, String) {
    let lab = Lab::new();
    let (key, public) = lab.ssh_key("alice");
    let alice = Who {
        name: "Alice",
        email: "alice@example.com",
        sign: Sign::Ssh(key),
    };
    lab.write(".zt/signers.toml", &signer("alice", &public, extra));
    let root = lab.commit(&alice, "policy", None);
    lab.write("a", "a\n");
    lab.commit(&alice, "a", None);
    (lab, root)
}

#[test]
fn keys_are_judged_at_the_push_time_not_the_committer_date() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let (lab, root) = simple_repo("not_after = 2030-01-01T00:00:00Z");
    // Pushed (first seen) after the key's window: expired, whatever the commit dates say; the
    // trust root failing, its child has no verified policy to be judged by.
    let (code, map, _) = lab.verify(&["--push-time", "2031-01-01T00:00:00Z"]);
    assert_eq!(code, 1);
    let (v, r) = &map[&root];
    assert!(
        v == "expired-key" && r.contains("2031-01-01T00:00:00Z"),
        "{map:?}"
    );
    let child = map.iter().find(|(k, _)| **k != root).unwrap().1;
    assert!(
        child.0 == "not-authorised" && child.1.contains("no verified"),
        "{map:?}"
    );
    // The first-seen record stands: a later run with an earlier push time keeps the earlier of
    // the two, here 2029, inside the window.
    let (code, map, json) = lab.verify(&["--push-time", "2029-06-01T00:00:00Z"]);
    assert_eq!(code, 0, "{json:#}");
    assert!(map.values().all(|(v, _)| v == "good"));
    assert!(map.len() == 2);
    // Bad push time: exit 2.
    let out = lab.zt(&["source", "verify", "--push-time", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("help:"));
}

#[test]
fn the_trust_root_comes_from_git_config_or_the_first_policy_loudly() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let (lab, root) = simple_repo("");
    let out = lab.zt(&["source", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no trust root configured") && stderr.contains(&root),
        "{stderr}"
    );
    lab.git(&["config", "zt.trustRoot", &root]);
    let (code, _, json) = lab.verify(&["--no-cache"]);
    assert_eq!(code, 0);
    assert_eq!(json["trust_root_source"], "config");
    assert_eq!(json["trust_root"], root.as_str());
}

#[test]
fn bad_input_is_exit_2_and_leaves_the_cache_alone() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let (lab, _) = simple_repo("");
    let (code, _, _) = lab.verify(&[]);
    assert_eq!(code, 0);
    let cache = lab.repo.join(".zt/source/verified");
    let before = fs_err::read(&cache).unwrap();

    // A malformed policy committed on top: its child is judged by it, and zt names the line.
    lab.write(
        ".zt/signers.toml",
        "[[signer]]\nname = \"alice\"\nkey = \"ssh-ed25519 AAAA\"\n",
    );
    let alice = Who {
        name: "Alice",
        email: "alice@example.com",
        sign: Sign::Ssh(lab.dir.join("alice.key")),
    };
    lab.commit(&alice, "break the policy", None);
    lab.commit(&alice, "child", None);
    let out = lab.zt(&["source", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".zt/signers.toml") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(stderr.contains("help:"), "{stderr}");
    assert_eq!(
        fs_err::read(&cache).unwrap(),
        before,
        "the cache was rewritten on a failed run"
    );

    // Not a repository; a revision that does not exist.
    let empty = tempfile::tempdir().unwrap();
    let out = zt(empty.path())
        .args(["source", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));
    let out = lab.zt(&["source", "verify", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-branch"));
    // A trust root without a policy.
    let first = lab
        .git(&["rev-list", "--max-parents=0", "HEAD"])
        .trim()
        .to_string();
    lab.git(&["checkout", "-q", "--orphan", "other"]);
    lab.git(&["rm", "-q", "-r", "--cached", "."]);
    let orphan = lab.commit(&alice, "no policy here", None);
    let out = lab.zt(&["source", "verify", "--trust-root", &orphan]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no `.zt/signers.toml`"));
    // A trust root that is not in the history verified.
    let out = lab.zt(&["source", "verify", "--trust-root", &first]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an ancestor"));
    // A history without any policy.
    let bare = Lab::new();
    bare.commit(
        &Who {
            name: "N",
            email: "n@example.com",
            sign: Sign::None,
        },
        "x",
        None,
    );
    let out = bare.zt(&["source", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signers.toml"));
}

#[test]
fn attest_records_a_signed_source_verification_statement() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let (lab, _) = simple_repo("");
    let head = lab.git(&["rev-parse", "HEAD"]).trim().to_string();
    let (code, _, json) = lab.verify(&["--attest"]);
    assert_eq!(code, 0, "{json:#}");
    let bundle = PathBuf::from(json["statement"]["bundle"].as_str().unwrap());
    let bundle: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&bundle).unwrap()).unwrap();
    let payload = bundle
        .pointer("/dsseEnvelope/payload")
        .unwrap()
        .as_str()
        .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&b64(payload)).unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://zt.dev/attestation/source-verification/v1"
    );
    assert_eq!(
        statement["subject"][0]["digest"]["gitCommit"],
        head.as_str()
    );
    assert_eq!(statement["predicate"]["verified"], true);
    assert_eq!(
        statement["predicate"]["commits"].as_array().unwrap().len(),
        2
    );
    // The sha256 is that of the commit object as git frames it.
    let raw = lab.git(&["cat-file", "commit", &head]);
    let mut object = format!("commit {}\0", raw.len()).into_bytes();
    object.extend_from_slice(raw.as_bytes());
    let sha = zt_sha256(&object);
    assert_eq!(statement["subject"][0]["digest"]["sha256"], sha.as_str());
}

/// `zt verify FILE --stage` reads the source verification of the commit the artifact's
/// provenance was built from: a good one satisfies `require_signed_commits`, a failing one
/// denies with the failing commit, and one about another commit does not count.
#[test]
fn the_gate_judges_the_source_verification_of_the_commit_built_from() {
    if let Some(why) = tools_missing() {
        eprintln!("{why}");
        return;
    }
    let (lab, _) = simple_repo("");
    let alice = Who {
        name: "Alice",
        email: "alice@example.com",
        sign: Sign::Ssh(lab.dir.join("alice.key")),
    };
    ok(lab.zt(&["init"]), "zt init");
    let toml = fs_err::read_to_string(lab.repo.join("zt.toml")).unwrap();
    lab.write(
        "zt.toml",
        &toml.replacen("[policy]\n", "[policy]\nrequire_signed_commits = true\n", 1),
    );
    lab.git(&["add", "-A"]);
    lab.commit(&alice, "zt init", None);
    // Each build makes a different artifact, so that each has only its own provenance.
    let build = |lab: &Lab, text: &str| {
        let _ = fs_err::remove_dir_all(lab.repo.join("out"));
        let script = format!("mkdir -p out && echo {text} > out/app");
        ok(lab.zt(&["build", "--", "sh", "-c", &script]), "zt build");
    };
    let gate = |lab: &Lab| -> (Vec<String>, Vec<String>, serde_json::Value) {
        let out = lab.zt(&["--json", "verify", "out/app", "--stage", "ci"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let ids = v["deny"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect();
        let types = v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["predicate_type"].as_str().unwrap().to_string())
            .collect();
        (ids, types, v)
    };
    let sv = "https://zt.dev/attestation/source-verification/v1".to_string();

    // Built, but nothing says the source verified: fail closed.
    build(&lab, "one");
    let (ids, _, _) = gate(&lab);
    assert!(ids.contains(&"source.unverified".to_string()), "{ids:?}");
    // The history verified and was attested: the gate finds it through the provenance.
    let (code, _, json) = lab.verify(&["--attest"]);
    assert_eq!(code, 0, "{json:#}");
    let (ids, types, v) = gate(&lab);
    assert!(types.contains(&sv), "{v:#}");
    assert!(!ids.contains(&"source.unverified".to_string()), "{v:#}");

    // An unsigned commit on top: its verification fails, and the artifact built from it is
    // denied, naming the commit; the earlier good verification is about another commit.
    lab.write("b", "b\n");
    lab.git(&["add", "b"]);
    let mallory = Who {
        name: "Mallory",
        email: "mallory@example.com",
        sign: Sign::None,
    };
    let bad = lab.commit(&mallory, "unsigned", None);
    build(&lab, "two");
    let (code, _, _) = lab.verify(&["--attest"]);
    assert_eq!(code, 1);
    let (ids, types, v) = gate(&lab);
    assert_eq!(types.iter().filter(|t| **t == sv).count(), 1, "{v:#}");
    // Two denies: the failing verification, naming the commit, and (require_signed_commits)
    // the want of one that verified.
    let named = v["deny"].as_array().unwrap().iter().any(|d| {
        d["id"] == "source.unverified" && d["message"].as_str().unwrap().contains(&bad[..12])
    });
    assert!(named, "{ids:?} {v:#}");
}

fn b64(s: &str) -> Vec<u8> {
    let out = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    out.stdin.as_ref().unwrap().write_all(s.as_bytes()).unwrap();
    out.wait_with_output().unwrap().stdout
}

fn zt_sha256(bytes: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    c.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
