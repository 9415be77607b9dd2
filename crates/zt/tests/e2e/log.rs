//! End-to-end: the real `zt log …` in a temp dir. Every RFC 6962 vector through the verify
//! verbs, the append/prove/verify cycle, the witness, input errors, and the crash test.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use zt_tlog::tiles::{decode_bundle, entries_path};
use zt_tlog::{Checkpoint, Log, verify_consistency};

const ZT: &str = env!("CARGO_BIN_EXE_zt");
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/merkle"
);

fn zt(cwd: &Path, args: &[&str]) -> Output {
    Command::new(ZT)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("HOME", cwd)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn vector_files(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in fs_err::read_dir(Path::new(VECTORS).join(sub)).unwrap() {
        for f in fs_err::read_dir(d.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap()
}

fn proof_flag(v: &serde_json::Value) -> Option<String> {
    let hashes: Vec<&str> = v["proof"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str())
        .collect();
    // An absent `--proof` means an empty proof (`null` and `[]` in the vectors); `[""]` is
    // one empty hash and is passed as `--proof ""`.
    (!hashes.is_empty()).then(|| hashes.join(","))
}

#[test]
fn every_inclusion_vector_gets_its_verdict_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let files = vector_files("inclusion");
    let mut verdicts = (0, 0);
    for f in &files {
        let v = json(f);
        let (index, size) = (v["leafIdx"].to_string(), v["treeSize"].to_string());
        let mut args = vec![
            "log",
            "verify-inclusion",
            "--leaf-hash",
            v["leafHash"].as_str().unwrap(),
            "--index",
            &index,
            "--size",
            &size,
            "--root",
            v["root"].as_str().unwrap(),
        ];
        let proof = proof_flag(&v);
        if let Some(p) = &proof {
            args.extend(["--proof", p]);
        }
        let o = zt(tmp.path(), &args);
        let want = if v["wantErr"].as_bool().unwrap() {
            1
        } else {
            0
        };
        assert_eq!(code(&o), want, "{}: {}", f.display(), stderr(&o));
        if want == 0 {
            assert!(
                stdout(&o).contains("inclusion proof valid"),
                "{}",
                f.display()
            );
            verdicts.0 += 1;
        } else {
            assert!(stderr(&o).contains("error:") && stderr(&o).contains("help:"));
            verdicts.1 += 1;
        }
    }
    assert_eq!(
        verdicts,
        (4, 49),
        "4 valid and 49 rejected of 53 inclusion vectors"
    );
}

#[test]
fn every_consistency_vector_gets_its_verdict_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let files = vector_files("consistency");
    let mut verdicts = (0, 0);
    for f in &files {
        let v = json(f);
        let (s1, s2) = (v["size1"].to_string(), v["size2"].to_string());
        let mut args = vec![
            "log",
            "verify-consistency",
            "--size1",
            &s1,
            "--size2",
            &s2,
            "--root1",
            v["root1"].as_str().unwrap(),
            "--root2",
            v["root2"].as_str().unwrap(),
        ];
        let proof = proof_flag(&v);
        if let Some(p) = &proof {
            args.extend(["--proof", p]);
        }
        let o = zt(tmp.path(), &args);
        let want = if v["wantErr"].as_bool().unwrap() {
            1
        } else {
            0
        };
        assert_eq!(code(&o), want, "{}: {}", f.display(), stderr(&o));
        if want == 0 {
            verdicts.0 += 1
        } else {
            verdicts.1 += 1
        }
    }
    assert_eq!(
        verdicts,
        (3, 40),
        "3 valid and 40 rejected of 43 consistency vectors"
    );
}

#[test]
fn append_prove_and_verify_round_trip_with_json() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let o = zt(cwd, &["log", "init", "--origin", "example.com/log"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("example.com/log+"));
    assert!(cwd.join(".zt/log/checkpoint").is_file());
    for i in 0..7 {
        fs_err::write(cwd.join(format!("e{i}")), format!("entry {i}")).unwrap();
    }
    let o = zt(
        cwd,
        &["--json", "log", "append", "e0", "e1", "e2", "e3", "e4"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["size"], 5);
    assert_eq!(v["entries"][4]["index"], 4);
    let o = zt(cwd, &["log", "append", "e5", "e6"]);
    assert_eq!(stdout(&o), "5 e5\n6 e6\n");

    // `prove` prints the flags `verify-inclusion` takes.
    let o = zt(
        cwd,
        &["--json", "log", "prove", "--index", "3", "--size", "6"],
    );
    let p: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let proof = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let args = [
        "log",
        "verify-inclusion",
        "--leaf-hash",
        p["leaf_hash"].as_str().unwrap(),
        "--index",
        "3",
        "--size",
        "6",
        "--root",
        p["root"].as_str().unwrap(),
        "--proof",
        &proof,
    ];
    assert_eq!(code(&zt(cwd, &args)), 0);
    let mut wrong = args;
    wrong[5] = "2";
    assert_eq!(code(&zt(cwd, &wrong)), 1);

    let o = zt(
        cwd,
        &["--json", "log", "consistency", "--from", "5", "--to", "7"],
    );
    let c: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let proof = c["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let args = [
        "log",
        "verify-consistency",
        "--size1",
        "5",
        "--size2",
        "7",
        "--root1",
        c["root1"].as_str().unwrap(),
        "--root2",
        c["root2"].as_str().unwrap(),
        "--proof",
        &proof,
    ];
    assert_eq!(code(&zt(cwd, &args)), 0);

    // The proof file verifies offline for the right entry only.
    let o = zt(
        cwd,
        &["log", "prove", "--index", "6", "--out", "e6.tlog-proof"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = fs_err::read_to_string(cwd.join("e6.tlog-proof")).unwrap();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 6\n"));
    assert_eq!(
        code(&zt(
            cwd,
            &["log", "verify-proof", "e6.tlog-proof", "--entry", "e6"]
        )),
        0
    );
    assert_eq!(
        code(&zt(
            cwd,
            &["log", "verify-proof", "e6.tlog-proof", "--entry", "e5"]
        )),
        1
    );
    let o = zt(cwd, &["--json", "log", "checkpoint"]);
    let cp: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (cp["origin"].as_str(), cp["size"].as_u64()),
        (Some("example.com/log"), Some(7))
    );
}

#[test]
fn input_errors_exit_2_and_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let o = zt(cwd, &["log", "checkpoint"]);
    assert_eq!(code(&o), 2);
    // The repository's log, found from the current directory, named in full.
    assert!(
        stderr(&o).contains("no transparency log at `/") && stderr(&o).contains("/.zt/log`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("help: create a log with `zt log init`"));
    let root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
    let o = zt(
        cwd,
        &[
            "log",
            "verify-inclusion",
            "--leaf-hash",
            "not base64!",
            "--index",
            "0",
            "--size",
            "1",
            "--root",
            root,
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("`--leaf-hash` is not base64"));
    assert_eq!(
        code(&zt(cwd, &["log", "init", "--origin", "bad origin"])),
        2
    );
    assert_eq!(
        code(&zt(cwd, &["log", "init", "--origin", "example.com/log"])),
        0
    );
    assert_eq!(
        code(&zt(cwd, &["log", "init", "--origin", "example.com/log"])),
        2
    );
    assert_eq!(code(&zt(cwd, &["log", "append", "missing-file"])), 2);
    fs_err::write(cwd.join("big"), vec![b'x'; 70_000]).unwrap();
    let o = zt(cwd, &["log", "append", "big"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("larger than the 65535 bytes"));
    fs_err::write(
        cwd.join("junk.tlog-proof"),
        "c2sp.org/tlog-proof@v1\nindex 01\n",
    )
    .unwrap();
    fs_err::write(cwd.join("e"), "e").unwrap();
    let o = zt(
        cwd,
        &["log", "verify-proof", "junk.tlog-proof", "--entry", "e"],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
    assert_eq!(code(&zt(cwd, &["log", "prove", "--index", "0"])), 2);
}

#[test]
fn witness_cosigns_consistent_checkpoints_and_refuses_rollback_and_forks() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    assert_eq!(code(&zt(cwd, &["key", "generate", "--out", "w1.pem"])), 0);
    assert_eq!(code(&zt(cwd, &["key", "generate", "--out", "w2.pem"])), 0);
    assert_eq!(
        code(&zt(cwd, &["log", "init", "--origin", "example.com/log"])),
        0
    );
    fs_err::write(cwd.join("e"), "entry").unwrap();
    zt(cwd, &["log", "append", "e"]);
    let cosign = |name: &str, key: &str, cp: &str, out: &str| {
        zt(
            cwd,
            &[
                "log",
                "cosign",
                "--key",
                key,
                "--name",
                name,
                "--checkpoint",
                cp,
                "--out",
                out,
                "--state",
                &format!("state-{name}"),
            ],
        )
    };
    let o = cosign("w1.example", "w1.pem", ".zt/log/checkpoint", "cp1");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let old = fs_err::read_to_string(cwd.join(".zt/log/checkpoint")).unwrap();
    fs_err::write(cwd.join("old-cp"), &old).unwrap();
    zt(cwd, &["log", "append", "e", "e"]);
    assert_eq!(
        code(&cosign(
            "w1.example",
            "w1.pem",
            ".zt/log/checkpoint",
            "cp-a"
        )),
        0
    );
    assert_eq!(code(&cosign("w2.example", "w2.pem", "cp-a", "cp-ab")), 0);
    // Rollback to the older checkpoint is refused.
    let o = cosign("w1.example", "w1.pem", "old-cp", "x");
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("rollback"), "{}", stderr(&o));

    // A policy needing both witnesses accepts the doubly cosigned proof only.
    let vkey = |k: &str, n: &str| {
        stdout(&zt(
            cwd,
            &["log", "vkey", "--key", k, "--name", n, "--witness"],
        ))
        .trim()
        .to_owned()
    };
    let log_vkey = fs_err::read_to_string(cwd.join(".zt/log/log.pub")).unwrap();
    let stranger = stdout(&zt(
        cwd,
        &[
            "log",
            "vkey",
            "--key",
            "w2.pem",
            "--name",
            "stranger.example",
            "--witness",
        ],
    ));
    assert!(stranger.starts_with("stranger.example+"));
    let policy = format!(
        "log {}witness {}\nwitness {}\nquorum 2\n",
        log_vkey,
        vkey("w1.pem", "w1.example"),
        vkey("w2.pem", "w2.example")
    );
    fs_err::write(cwd.join("policy"), policy).unwrap();
    zt(cwd, &["log", "prove", "--index", "1", "--out", "p"]);
    let proof = fs_err::read_to_string(cwd.join("p")).unwrap();
    let plain_cp = fs_err::read_to_string(cwd.join(".zt/log/checkpoint")).unwrap();
    let o = zt(
        cwd,
        &[
            "log",
            "verify-proof",
            "p",
            "--entry",
            "e",
            "--policy",
            "policy",
        ],
    );
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("0 valid witness cosignatures; the trust policy needs 2"),
        "{}",
        stderr(&o)
    );
    for (cp, want) in [("cp-a", 1), ("cp-ab", 0)] {
        let cosigned = fs_err::read_to_string(cwd.join(cp)).unwrap();
        fs_err::write(cwd.join("p2"), proof.replace(&plain_cp, &cosigned)).unwrap();
        let o = zt(
            cwd,
            &[
                "--json",
                "log",
                "verify-proof",
                "p2",
                "--entry",
                "e",
                "--policy",
                "policy",
            ],
        );
        assert_eq!(code(&o), want, "{cp}: {}", stderr(&o));
    }

    // A different log under the same origin and key forks at the size w1 saw: refused.
    let fork = tmp.path().join("fork");
    fs_err::create_dir_all(&fork).unwrap();
    fs_err::create_dir_all(fork.join(".zt/log/private")).unwrap();
    fs_err::copy(
        cwd.join(".zt/log/private/log.key"),
        fork.join(".zt/log/private/log.key"),
    )
    .unwrap();
    let skey = fs_err::read_to_string(cwd.join(".zt/log/private/log.key")).unwrap();
    let signer = zt_tlog::NoteSigner::parse(&skey).unwrap();
    let forked = Checkpoint::new("example.com/log", 3, [9; 32])
        .sign(&signer)
        .unwrap();
    fs_err::write(cwd.join("forked-cp"), forked).unwrap();
    let o = zt(
        cwd,
        &[
            "log",
            "cosign",
            "--key",
            "w1.pem",
            "--name",
            "w1.example",
            "--checkpoint",
            "forked-cp",
            "--state",
            "state-w1.example",
        ],
    );
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("fork"), "{}", stderr(&o));
}

/// Kills `zt log append` with SIGKILL at random moments, many rounds. After every kill the
/// log must open, hold every acknowledged entry at its index, and be consistent with every
/// checkpoint that was ever visible in the `checkpoint` file.
#[test]
fn appender_killed_at_random_moments_never_loses_or_forks() {
    const ROUNDS: usize = 30;
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    assert_eq!(
        code(&zt(cwd, &["log", "init", "--origin", "example.com/crash"])),
        0
    );
    let files: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
    for (i, f) in files.iter().enumerate() {
        fs_err::write(cwd.join(f), format!("payload {i}")).unwrap();
    }
    let dir = cwd.join(".zt/log");
    let mut rng = Rng::from_time();
    eprintln!("crash test seed {}", rng.0);
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    let mut published: Vec<Checkpoint> = Vec::new();
    let mut kills = 0;
    // How long an unkilled append of every file takes here; kill moments are drawn from
    // 0 to that, so appenders die at every stage. Every fifth round runs to completion.
    let started = std::time::Instant::now();
    let o = zt(
        cwd,
        &[
            &["--json", "log", "append"][..],
            &files.iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(code(&o), 0);
    let span = (started.elapsed().as_micros() as usize).max(1000);
    acknowledged.extend(files.iter().enumerate().map(|(i, f)| (i as u64, f.clone())));
    for round in 0..ROUNDS {
        let n = 1 + rng.below(files.len());
        let mut child = Command::new(ZT)
            .args(["--json", "log", "append"])
            .args(&files[..n])
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if round % 5 != 4 {
            std::thread::sleep(Duration::from_micros(rng.below(span) as u64));
            let _ = child.kill(); // SIGKILL; harmless if it already exited
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for e in v["entries"].as_array().unwrap() {
                acknowledged.push((
                    e["index"].as_u64().unwrap(),
                    e["file"].as_str().unwrap().into(),
                ));
            }
        } else {
            kills += 1;
        }
        // Whatever checkpoint is visible now has been published.
        let log = Log::open(&dir).expect("the log opens after a kill");
        let text = log.checkpoint();
        let (cp, _) = Checkpoint::open(text.as_bytes(), log.verifier()).unwrap();
        let mut bundles = std::collections::HashMap::new();
        for (index, file) in &acknowledged {
            let want = fs_err::read(cwd.join(file)).unwrap();
            assert!(*index < cp.size, "acknowledged entry {index} lost");
            // One read per full entry bundle; the partial one through the log.
            let got = if index >> 8 < cp.size >> 8 {
                let bundle = bundles.entry(index >> 8).or_insert_with(|| {
                    let path = dir.join(entries_path(index >> 8, 256));
                    decode_bundle(&fs_err::read(path).unwrap()).unwrap()
                });
                bundle[(index & 255) as usize].clone()
            } else {
                log.entry(*index).unwrap()
            };
            assert_eq!(got, want, "acknowledged entry {index} changed");
        }
        for old in &published {
            let proof = log.consistency_proof(old.size, cp.size).unwrap();
            verify_consistency(old.size, cp.size, &proof, &old.root, &cp.root)
                .expect("the new checkpoint is consistent with every earlier one");
        }
        published.push(cp);
    }
    eprintln!(
        "{kills} of {ROUNDS} appenders killed, {} entries acknowledged",
        acknowledged.len()
    );
    assert!(kills > 0, "the test killed no appender mid-run");
    assert!(kills <= ROUNDS - ROUNDS / 5);
}

/// xorshift64*: enough randomness for kill timing, seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Self(nanos | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}
