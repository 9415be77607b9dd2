//! Benchmark driver for `bench/tlog.sh`.
//!
//! - `tlog-bench append DIR TOTAL BATCH`: durable appends via `Log::append_batch` (fsync on).
//! - `tlog-bench concurrent DIR TOTAL THREADS`: durable appends via `Log::append` from many
//!   threads (group commit).
//! - `tlog-bench build DIR SIZE`: builds a SIZE-leaf log in memory and writes its tiles,
//!   bundles and signed checkpoint (files are not fsynced one by one; run `sync` after).
//! - `tlog-bench prove DIR COUNT`: opens the log and times COUNT inclusion proofs at random
//!   indices against the full tree, and COUNT consistency proofs.
#![allow(clippy::print_stdout)] // A benchmark prints its figures.
#![allow(missing_docs)]
// A benchmark driver: a failed unwrap aborts the run, which is what it should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;
use std::time::Instant;

use zt_tlog::ed25519_dalek::SigningKey;
use zt_tlog::tiles::{encode_bundle, encode_tile, entries_path, tile_path, tiles_at};
use zt_tlog::{
    Checkpoint, Log, MemoryTree, NoteSigner, leaf_hash, verify_consistency, verify_inclusion,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const ORIGIN: &str = "bench.example/log";

fn entry(i: u64) -> Vec<u8> {
    // 64-byte entries, like a digest record: the same size `openssl speed -bytes 64` hashes.
    let mut e = [0u8; 64];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e[8..].fill((i % 251) as u8);
    e.to_vec()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

fn arg(args: &[String], i: usize) -> Result<u64> {
    Ok(args.get(i).ok_or("missing argument")?.parse()?)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or_default();
    let dir = Path::new(args.get(2).ok_or("usage: tlog-bench MODE DIR N [M]")?);
    match mode {
        "append" => {
            let (total, batch) = (arg(&args, 3)?, arg(&args, 4)?);
            let log = Log::init(dir, key(), ORIGIN)?;
            let start = Instant::now();
            let mut next = 0;
            while next < total {
                let n = batch.min(total - next);
                let entries: Vec<Vec<u8>> = (next..next + n).map(entry).collect();
                log.append_batch(&entries)?;
                next += n;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "append_batch: {total} entries in batches of {batch}: {secs:.2} s, {:.0} entries/s, {:.1} ms/batch",
                total as f64 / secs,
                secs * 1000.0 / (total.div_ceil(batch)) as f64
            );
        }
        "concurrent" => {
            let (total, threads) = (arg(&args, 3)?, arg(&args, 4)?);
            let log = Log::init(dir, key(), ORIGIN)?;
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..threads {
                    let log = &log;
                    s.spawn(move || {
                        let mut i = t;
                        while i < total {
                            if log.append(&entry(i)).is_err() {
                                return;
                            }
                            i += threads;
                        }
                    });
                }
            });
            let secs = start.elapsed().as_secs_f64();
            if log.size() != total {
                return Err(format!("only {} of {total} entries landed", log.size()).into());
            }
            println!(
                "append (group commit): {total} entries from {threads} threads: {secs:.2} s, {:.0} entries/s",
                total as f64 / secs
            );
        }
        "build" => {
            let size = arg(&args, 3)?;
            let start = Instant::now();
            Log::init(dir, key(), ORIGIN)?;
            let mut tree = MemoryTree::new();
            let mut bundle = Vec::with_capacity(256);
            for i in 0..size {
                let e = entry(i);
                tree.push_leaf_hash(leaf_hash(&e));
                bundle.push(e);
                if bundle.len() == 256 || i + 1 == size {
                    let (full, width) = tiles_at(0, i + 1);
                    let n = if width == 0 { full - 1 } else { full };
                    let path = dir.join(entries_path(n, if width == 0 { 256 } else { width }));
                    fs_err::create_dir_all(path.parent().ok_or("no parent")?)?;
                    fs_err::write(path, encode_bundle(&bundle))?;
                    bundle.clear();
                }
            }
            let hashed = start.elapsed().as_secs_f64();
            for level in 0u8..8 {
                let hashes = tree.level(8 * usize::from(level));
                let (full, width) = tiles_at(level, size);
                if full == 0 && width == 0 {
                    break;
                }
                for (n, chunk) in hashes.chunks(256).enumerate() {
                    let path = dir.join(tile_path(level, n as u64, chunk.len()));
                    fs_err::create_dir_all(path.parent().ok_or("no parent")?)?;
                    fs_err::write(path, encode_tile(chunk))?;
                }
            }
            let signer = NoteSigner::new(ORIGIN, key())?;
            let root = tree.prover().root(size)?;
            let signed = Checkpoint::new(ORIGIN, size, root).sign(&signer)?;
            zt_core::fsutil::write_atomic(&dir.join("checkpoint"), signed.as_bytes())?;
            drop(tree);
            let log = Log::open(dir)?; // checks the partial tiles against the checkpoint
            println!(
                "build: {} leaves hashed in {hashed:.1} s, tiles written in {:.1} s",
                log.size(),
                start.elapsed().as_secs_f64() - hashed
            );
        }
        "prove" => {
            let count = arg(&args, 3)?;
            let open = Instant::now();
            let log = Log::open(dir)?;
            let open = open.elapsed();
            let size = log.size();
            let root = log.root_at(size)?;
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            let mut rand = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            // The same indices twice: the first pass reads each tile from the file system
            // (page cache or disk), the second finds it in the page cache.
            let indices: Vec<u64> = (0..count).map(|_| rand() % size).collect();
            for pass in ["first touch", "warm"] {
                let mut times = Vec::new();
                for &index in &indices {
                    let t = Instant::now();
                    let proof = log.inclusion_proof(index, size)?;
                    times.push(t.elapsed().as_secs_f64() * 1e6);
                    verify_inclusion(&leaf_hash(&entry(index)), index, size, &proof, &root)?;
                }
                report(
                    &format!("inclusion proof at {size} leaves, {pass}"),
                    &mut times,
                );
            }
            let mut times = Vec::new();
            for _ in 0..count {
                let old = 1 + rand() % size;
                let t = Instant::now();
                let proof = log.consistency_proof(old, size)?;
                times.push(t.elapsed().as_secs_f64() * 1e6);
                verify_consistency(old, size, &proof, &log.root_at(old)?, &root)?;
            }
            report(&format!("consistency proof to {size} leaves"), &mut times);
            println!(
                "open (reload right edge, check root): {:.0} µs",
                open.as_secs_f64() * 1e6
            );
        }
        _ => return Err("usage: tlog-bench append|concurrent|build|prove DIR N [M]".into()),
    }
    Ok(())
}

fn report(what: &str, times: &mut [f64]) {
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{what}: mean {mean:.0} µs, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} proofs, verified)",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        times.len()
    );
}
