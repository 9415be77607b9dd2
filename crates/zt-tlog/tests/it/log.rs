//! The on-disk log: appends in batches of every shape agree with an in-memory tree, survive
//! reopening, and serve proofs that verify; damage is detected on open.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use zt_tlog::ed25519_dalek::SigningKey;
use zt_tlog::tiles::{FetchedTiles, entries_path, tile_path};
use zt_tlog::{
    Checkpoint, Error, Log, LogOptions, MemoryTree, Prover, TrustPolicy, WitnessSigner, leaf_hash,
    verify_consistency, verify_inclusion,
};

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

#[test]
fn batches_across_tile_boundaries_match_the_reference_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut log = Log::init(&dir, key(), "example.com/log").unwrap();
    let mut reference = MemoryTree::new();
    let mut published = vec![(0u64, log.root_at(0).unwrap())];
    let mut next = 0u64;
    // Crosses the first full level-0 tile (256), several more, and a full level-1 tile
    // (65536) in one large batch.
    for (round, batch) in [1u64, 2, 253, 1, 300, 255, 257, 65_536, 3]
        .into_iter()
        .enumerate()
    {
        let entries: Vec<Vec<u8>> = (next..next + batch).map(entry).collect();
        assert_eq!(log.append_batch(&entries).unwrap(), next);
        for e in &entries {
            reference.push(e);
        }
        next += batch;
        if round % 3 == 2 {
            // Reopening reloads the partial tiles and checks them against the checkpoint.
            drop(log);
            log = Log::open(&dir).unwrap();
        }
        assert_eq!(log.size(), next);
        let root = log.root_at(next).unwrap();
        assert_eq!(root, reference.prover().root(next).unwrap());
        let cp = Checkpoint::open(log.checkpoint().as_bytes(), log.verifier())
            .unwrap()
            .0;
        assert_eq!((cp.size, cp.root), (next, root));
        for &(size, old_root) in &published {
            let proof = log.consistency_proof(size, next).unwrap();
            verify_consistency(size, next, &proof, &old_root, &root).unwrap();
        }
        for index in [0, next / 3, next / 2, next - 1] {
            let proof = log.inclusion_proof(index, next).unwrap();
            assert_eq!(proof, reference.prover().inclusion(index, next).unwrap());
            verify_inclusion(&leaf_hash(&entry(index)), index, next, &proof, &root).unwrap();
            assert_eq!(log.entry(index).unwrap(), entry(index));
            assert_eq!(log.leaf_hash(index).unwrap(), leaf_hash(&entry(index)));
        }
        published.push((next, root));
    }
    // Proofs into older trees come from the current tiles.
    let old = published[3];
    let proof = log.inclusion_proof(1, old.0).unwrap();
    verify_inclusion(&leaf_hash(&entry(1)), 1, old.0, &proof, &old.1).unwrap();
    // Full tiles replaced their partials; the spec's paths exist.
    assert!(dir.join(tile_path(1, 0, 256)).is_file());
    assert!(dir.join(tile_path(0, 0, 256)).is_file());
    assert!(!dir.join(format!("{}.p", tile_path(0, 0, 256))).exists());
    assert!(dir.join(entries_path(0, 256)).is_file());
    let size = log.size();
    assert!(
        dir.join(tile_path(0, size >> 8, (size & 255) as usize))
            .is_file()
    );
}

#[test]
fn concurrent_appends_share_batches_and_all_land() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    drop(Log::init(&dir, key(), "example.com/log").unwrap());
    // Default options, then small batches that wait for company: with three times as many
    // writers as a batch takes, most wait through several batches before theirs (each woken
    // only when its entry is committed or it is first in line).
    let small = LogOptions {
        max_batch: 7,
        max_delay: std::time::Duration::from_millis(2),
        ..LogOptions::default()
    };
    for (round, options) in [LogOptions::default(), small].into_iter().enumerate() {
        let log = Log::open_with(&dir, options).unwrap();
        let before = log.size();
        let indices = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..24u64 {
                let (log, indices) = (&log, &indices);
                s.spawn(move || {
                    for i in 0..20u64 {
                        let e = entry(round as u64 * 100_000 + t * 1000 + i);
                        let index = log.append(&e).unwrap();
                        indices.lock().unwrap().push((index, e));
                    }
                });
            }
        });
        let mut indices = indices.into_inner().unwrap();
        indices.sort();
        assert_eq!(indices.len(), 480);
        assert_eq!(log.size(), before + 480);
        for (n, (index, e)) in indices.iter().enumerate() {
            assert_eq!(*index, before + n as u64, "indices are dense and unique");
            assert_eq!(&log.entry(*index).unwrap(), e);
        }
    }
}

/// A tile as a reader of the log directory (a static web server's copy) fetches it.
fn from_disk(dir: &std::path::Path, rel: &str) -> Result<Option<Vec<u8>>, Error> {
    match fs_err::read(dir.join(rel)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[test]
fn under_load_the_files_lag_but_always_agree_and_catch_up_when_appends_stop() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    drop(Log::init(&dir, key(), "example.com/log").unwrap());
    // Publication only when no append waits: the files lag as far as they ever can.
    let options = LogOptions {
        publish_interval: std::time::Duration::from_secs(3600),
        ..LogOptions::default()
    };
    let log = Log::open_with(&dir, options).unwrap();
    let verifier = log.verifier().clone();
    let done = AtomicBool::new(false);
    let (mut checked, mut lagging) = (0u32, 0u32);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..32u64)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    for i in 0..37u64 {
                        let index = log.append(&entry(t * 1000 + i)).unwrap();
                        // What the caller gets covers its entry.
                        let proof = log.tlog_proof(index, None).unwrap();
                        let policy = TrustPolicy::log_only(log.verifier().clone()).unwrap();
                        proof
                            .verify(&leaf_hash(&entry(t * 1000 + i)), &policy)
                            .unwrap();
                    }
                })
            })
            .collect();
        let reader = s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                // A reader of the directory: the checkpoint file and the tiles it names
                // (a partial tile removed since is read from its full tile).
                let text = fs_err::read(dir.join("checkpoint")).unwrap();
                let (on_disk, _) = Checkpoint::open(&text, &verifier).unwrap();
                let tiles = FetchedTiles::new(on_disk.size, |rel: &str| from_disk(&dir, rel));
                assert_eq!(
                    Prover::new(tiles).root(on_disk.size).unwrap(),
                    on_disk.root,
                    "the checkpoint file names a tree whose tiles are on disk"
                );
                // A reader over HTTP (`zt serve`): the in-memory checkpoint, each tile from
                // disk or, not published yet, from memory.
                let text = log.checkpoint();
                let (current, _) = Checkpoint::open(text.as_bytes(), &verifier).unwrap();
                let tiles = FetchedTiles::new(current.size, |rel: &str| {
                    Ok(from_disk(&dir, rel)?.or_else(|| log.unpublished_tile(rel)))
                });
                assert_eq!(Prover::new(tiles).root(current.size).unwrap(), current.root);
                checked += 1;
                lagging += u32::from(on_disk.size < current.size);
            }
        });
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        reader.join().unwrap();
    });
    eprintln!("{checked} reads, {lagging} with the files behind the in-memory tree");
    assert!(checked > 0);
    // Appends stopped: the files are the current tree.
    assert_eq!(log.size(), 32 * 37);
    assert_eq!(log.published_checkpoint(), log.checkpoint());
    assert_eq!(
        fs_err::read_to_string(dir.join("checkpoint")).unwrap(),
        log.checkpoint()
    );
    let size = log.size();
    let (full, width) = zt_tlog::tiles::tiles_at(0, size);
    assert!(dir.join(tile_path(0, full, width)).is_file());
    assert!(dir.join(entries_path(full, width)).is_file());
}

#[test]
fn unpublished_tiles_are_prefixes_of_the_rightmost_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::init(&dir, key(), "example.com/log").unwrap();
    log.append_batch(&(0..300).map(entry).collect::<Vec<_>>())
        .unwrap();
    // Published (no append waited): the same bytes as the files.
    for rel in [tile_path(0, 1, 44), entries_path(1, 44), tile_path(1, 0, 1)] {
        assert_eq!(
            log.unpublished_tile(&rel).unwrap(),
            fs_err::read(dir.join(&rel)).unwrap(),
            "{rel}"
        );
    }
    let whole = fs_err::read(dir.join(tile_path(0, 1, 44))).unwrap();
    assert_eq!(
        log.unpublished_tile(&tile_path(0, 1, 10)).unwrap(),
        whole[..320]
    );
    // Wider than the tree, another tile, a full tile, a path that is no tile.
    for rel in [
        tile_path(0, 1, 45),
        tile_path(0, 0, 44),
        tile_path(0, 1, 256),
        tile_path(2, 0, 1),
        entries_path(1, 45),
        "checkpoint".to_string(),
        format!("{}/../../private/log.key", tile_path(0, 1, 3)),
    ] {
        assert_eq!(log.unpublished_tile(&rel), None, "{rel}");
    }
}

#[test]
fn proof_files_verify_under_a_witness_quorum() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::init(&tmp.path().join("log"), key(), "example.com/log").unwrap();
    log.append_batch(&(0..10).map(entry).collect::<Vec<_>>())
        .unwrap();
    let w1 = WitnessSigner::new("w1.example", SigningKey::from_bytes(&[1; 32])).unwrap();
    let w2 = WitnessSigner::new("w2.example", SigningKey::from_bytes(&[2; 32])).unwrap();
    let policy = TrustPolicy::new(
        log.verifier().clone(),
        vec![w1.verifier().clone(), w2.verifier().clone()],
        2,
    )
    .unwrap();
    let mut proof = log.tlog_proof(4, Some(b"context".to_vec())).unwrap();
    assert!(matches!(
        proof.verify(&leaf_hash(&entry(4)), &policy),
        Err(Error::QuorumNotMet {
            valid: 0,
            required: 2
        })
    ));
    let mut note = zt_tlog::Note::parse(proof.checkpoint.as_bytes()).unwrap();
    let text = note.text().to_owned();
    note.push_signature(w1.cosign(&text, 1));
    note.push_signature(w2.cosign(&text, 2));
    proof.checkpoint = note.to_text();
    let reparsed = zt_tlog::TlogProof::parse(proof.to_text().as_bytes()).unwrap();
    let ok = reparsed.verify(&leaf_hash(&entry(4)), &policy).unwrap();
    assert_eq!(ok.witnesses.len(), 2);
    assert!(reparsed.verify(&leaf_hash(&entry(5)), &policy).is_err());
}

#[test]
fn damage_and_misuse_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::init(&dir, key(), "example.com/log").unwrap();
    log.append_batch(&(0..5).map(entry).collect::<Vec<_>>())
        .unwrap();
    assert!(matches!(
        log.append(&vec![0; 70_000]),
        Err(Error::EntryTooLarge { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(5, 5),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(0, 6),
        Err(Error::SizeOutOfRange { .. })
    ));
    drop(log);
    assert!(matches!(
        Log::init(&dir, key(), "example.com/log"),
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        Log::open(&tmp.path().join("none")),
        Err(Error::NotALog(_))
    ));
    // A partial tile altered after the checkpoint was signed.
    let tile = dir.join(tile_path(0, 0, 5));
    let mut bytes = fs_err::read(&tile).unwrap();
    bytes[0] ^= 1;
    fs_err::write(&tile, &bytes).unwrap();
    assert!(matches!(Log::open(&dir), Err(Error::Corrupt { .. })));
}

#[test]
fn a_log_held_by_another_opener_is_busy_after_the_wait_not_forever() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let held = Log::init(&dir, key(), "example.com/log").unwrap();
    let quick = LogOptions {
        lock_wait: std::time::Duration::from_millis(100),
        ..LogOptions::default()
    };
    let err = Log::open_with(&dir, quick).err().unwrap();
    assert!(
        matches!(&err, Error::Busy { path, .. } if *path == dir),
        "{err}"
    );
    assert!(err.to_string().contains("held by another process"), "{err}");
    // Released, it opens at once.
    drop(held);
    assert!(Log::open_with(&dir, quick).is_ok());
}

/// Files under `dir` (relative paths), for telling what a run wrote.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// The child of [`a_crash_loses_no_acknowledged_batch`]: appends in batches of every shape,
/// writes down the checkpoint each one was acknowledged with, then dies without closing.
fn crash_child(dir: &std::path::Path, start: u64) -> ! {
    use std::io::Write as _;
    let log = Log::open(dir).unwrap();
    let mut acked = fs_err::File::create(dir.join("../acked")).unwrap();
    let mut next = start;
    for batch in [1u64, 300, 255, 2, 1000, 7] {
        let entries: Vec<Vec<u8>> = (next..next + batch).map(entry).collect();
        assert_eq!(log.append_batch(&entries).unwrap(), next);
        next += batch;
        acked.write_all(log.checkpoint().as_bytes()).unwrap();
        acked.write_all(b"\x00").unwrap();
        acked.sync_all().unwrap();
    }
    // The batches are acknowledged; the process dies before anything is closed.
    std::process::abort();
}

#[test]
fn a_crash_loses_no_acknowledged_batch() {
    if let Ok(dir) = std::env::var("ZT_TLOG_CRASH_CHILD") {
        let start = std::env::var("ZT_TLOG_CRASH_START")
            .unwrap()
            .parse()
            .unwrap();
        crash_child(std::path::Path::new(&dir), start);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut reference = MemoryTree::new();
    let mut size = 0u64;
    {
        let log = Log::init(&dir, key(), "example.com/log").unwrap();
        let entries: Vec<Vec<u8>> = (0..200).map(entry).collect();
        log.append_batch(&entries).unwrap();
        entries.iter().for_each(|e| reference.push(e));
        size += 200;
    } // closed: the base is durable
    for round in 0..3 {
        let before = files_under(&dir);
        // This test's name as libtest knows it: its module path inside the test binary.
        let name = module_path!()
            .split_once("::")
            .map_or(String::new(), |(_, m)| format!("{m}::"))
            + "a_crash_loses_no_acknowledged_batch";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &name, "--test-threads=1"])
            .env("ZT_TLOG_CRASH_CHILD", &dir)
            .env("ZT_TLOG_CRASH_START", size.to_string())
            .output()
            .unwrap();
        assert!(!out.status.success(), "the child should have aborted");
        let acked = fs_err::read(tmp.path().join("acked")).unwrap();
        let last = acked
            .split(|b| *b == 0)
            .rfind(|c| !c.is_empty())
            .unwrap()
            .to_vec();
        for i in size..size + 1565 {
            reference.push(&entry(i));
        }
        size += 1565;
        // The machine loses what was never synced: every file the child created comes back
        // empty or not at all, and so does the checkpoint (round 2: the WAL gets a torn tail).
        for (n, rel) in files_under(&dir).difference(&before).enumerate() {
            let p = dir.join(rel);
            if rel.ends_with("private/wal") {
                continue;
            }
            if n % 2 == 0 {
                fs_err::remove_file(&p).unwrap();
            } else {
                fs_err::write(&p, b"").unwrap();
            }
        }
        fs_err::write(dir.join("checkpoint"), b"").unwrap();
        if round == 2 {
            let mut wal = fs_err::read(dir.join("private/wal")).unwrap();
            wal.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0xff]);
            fs_err::write(dir.join("private/wal"), &wal).unwrap();
        }
        let log = Log::open(&dir).unwrap();
        assert_eq!(log.size(), size, "round {round}");
        assert_eq!(
            log.checkpoint().into_bytes(),
            last,
            "the replayed checkpoint is the one acknowledged, byte for byte"
        );
        let root = reference.prover().root(size).unwrap();
        assert_eq!(log.root_at(size).unwrap(), root);
        for index in (0..size).step_by(97).chain([size - 1]) {
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion(&leaf_hash(&entry(index)), index, size, &proof, &root).unwrap();
            assert_eq!(log.entry(index).unwrap(), entry(index));
        }
        for old in [1, 200, size - 1565, size - 7] {
            let proof = log.consistency_proof(old, size).unwrap();
            let old_root = reference.prover().root(old).unwrap();
            verify_consistency(old, size, &proof, &old_root, &root).unwrap();
        }
    }
    // A reader (no private key) of a replayed log sees the same tree.
    fs_err::rename(dir.join("private/log.key"), tmp.path().join("log.key")).unwrap();
    let reader = Log::open(&dir).unwrap();
    assert_eq!(reader.size(), size);
}

#[test]
fn a_damaged_write_ahead_file_is_reported_not_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    drop(Log::init(&dir, key(), "example.com/log").unwrap());
    fs_err::write(dir.join("private/wal"), b"not a wal").unwrap();
    let err = Log::open(&dir).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { path, .. } if path.ends_with("private/wal")),
        "{err}"
    );
}

#[test]
fn a_log_whose_write_ahead_file_cannot_be_written_still_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    {
        let log = Log::init(&dir, key(), "example.com/log").unwrap();
        log.append_batch(&(0..3).map(entry).collect::<Vec<_>>())
            .unwrap();
    }
    // A log from before the write-ahead file, in a directory nobody may write (root too:
    // the immutable attribute).
    fs_err::remove_file(dir.join("private/wal")).unwrap();
    let private = dir.join("private");
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&private)
        .status();
    if !immutable.is_ok_and(|s| s.success()) {
        eprintln!("skipped: `chattr +i` is not available here");
        return;
    }
    let opened = Log::open(&dir);
    let appended = opened
        .as_ref()
        .map(|log| log.append(&entry(3)))
        .map_err(ToString::to_string);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(&private)
        .status();
    let log = opened.unwrap();
    assert_eq!(log.size(), 3);
    assert_eq!(log.entry(2).unwrap(), entry(2));
    let err = appended.unwrap().unwrap_err();
    assert!(
        err.to_string()
            .contains("write-ahead file cannot be written"),
        "{err}"
    );
}
