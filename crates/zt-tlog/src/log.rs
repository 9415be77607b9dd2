//! The log itself: a directory in tlog-tiles layout, appended to in durable batches.
//!
//! Files under the log directory:
//!
//! - `checkpoint`: the signed checkpoint of the current tree (the only mutable file);
//! - `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`: hash tiles and entry bundles;
//! - `log.pub`: the log's note verifier key;
//! - `private/log.key`: the log's note signer key (mode 0600; never serve `private/`);
//! - `private/lock`: held (`flock`) by the one process that has the log open.
//!
//! A batch is committed in this order: every new tile and bundle is written to a temporary
//! file, fsynced and renamed into place; the directories are fsynced; only then is the new
//! checkpoint written the same way. Files a batch writes are either new names or leftovers of
//! a batch that never got its checkpoint, so a crash at any point leaves the previous
//! checkpoint and every tile it needs intact. [`Log::open`] starts from `checkpoint`, reloads
//! the rightmost partial tiles, and checks that they hash to the checkpoint's root.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use ed25519_dalek::SigningKey;

use crate::checkpoint::Checkpoint;
use crate::error::Error;
use crate::merkle::{Hash, Prover, leaf_hash};
use crate::note::{NoteSigner, NoteVerifier};
use crate::proof_file::TlogProof;
use crate::tiles::{
    MAX_ENTRY_SIZE, TILE_WIDTH, TileReader, decode_bundle, decode_tile, encode_bundle, encode_tile,
    entries_path, perfect_root, tile_path, tiles_at,
};

const CHECKPOINT: &str = "checkpoint";
const PUBLIC_KEY: &str = "log.pub";
const PRIVATE_KEY: &str = "private/log.key";
const LOCK: &str = "private/lock";

/// How appends are grouped into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// The most entries one batch (one checkpoint) takes from concurrent [`Log::append`]s.
    pub max_batch: usize,
    /// How long the first [`Log::append`] of a batch waits for others to join it.
    pub max_delay: Duration,
    /// How long opening waits for another process that has the log open before failing with
    /// [`Error::Busy`] (default: `ZT_LOG_WAIT` seconds, or 30).
    pub lock_wait: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            max_delay: Duration::ZERO,
            lock_wait: lock_wait(),
        }
    }
}

/// What an open log knows about its current tree.
#[derive(Debug, Clone)]
struct State {
    size: u64,
    root: Hash,
    checkpoint: String,
    /// The rightmost partial tile at each level (empty where the level has none).
    edge: Vec<Vec<Hash>>,
    /// The entries of the partial entry bundle.
    bundle: Vec<Vec<u8>>,
}

/// Entries waiting for the next batch, and the outcome of finished ones.
#[derive(Debug, Default)]
struct Queue {
    pending: Vec<(u64, Vec<u8>)>,
    next_ticket: u64,
    committing: bool,
    done: HashMap<u64, Result<u64, String>>,
}

/// An open transparency log. `Sync`: share it between threads and call [`Log::append`] from
/// each; concurrent appends are committed together.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    verifier: NoteVerifier,
    signer: Option<NoteSigner>,
    options: LogOptions,
    state: Mutex<State>,
    queue: Mutex<Queue>,
    wake: Condvar,
    synced_once: std::sync::atomic::AtomicBool,
    _lock: fs_err::File,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread cannot leave the state half-updated: it is replaced whole.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Log {
    /// Creates an empty log in `dir` signed by `key` under `origin` (the checkpoint origin
    /// and the key name, e.g. `example.com/log`), and opens it.
    pub fn init(dir: &Path, key: SigningKey, origin: &str) -> Result<Self, Error> {
        let signer = NoteSigner::new(origin, key)?;
        if dir.join(CHECKPOINT).exists() {
            return Err(Error::AlreadyExists(dir.to_path_buf()));
        }
        fs_err::create_dir_all(dir.join("private"))?;
        let _lock = lock(dir, lock_wait())?;
        zt_core::fsutil::write_atomic_mode(
            &dir.join(PRIVATE_KEY),
            format!("{}\n", signer.to_skey()).as_bytes(),
            Some(0o600),
        )?;
        zt_core::fsutil::write_atomic(
            &dir.join(PUBLIC_KEY),
            format!("{}\n", signer.verifier().to_vkey()).as_bytes(),
        )?;
        // The checkpoint goes last: its presence is what makes the directory a log.
        let root = crate::merkle::empty_root();
        let signed = Checkpoint::new(origin, 0, root).sign(&signer)?;
        zt_core::fsutil::write_atomic(&dir.join(CHECKPOINT), signed.as_bytes())?;
        drop(_lock);
        Self::open(dir)
    }

    /// Opens the log in `dir` with default [`LogOptions`], recovering from any crash.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_with(dir, LogOptions::default())
    }

    /// Opens the log in `dir`. Waits for any other process that has it open. Without
    /// `private/log.key` the log opens read-only (appends fail with [`Error::ReadOnly`]).
    pub fn open_with(dir: &Path, options: LogOptions) -> Result<Self, Error> {
        let cp_path = dir.join(CHECKPOINT);
        if !cp_path.exists() {
            return Err(Error::NotALog(dir.to_path_buf()));
        }
        let _lock = lock(dir, options.lock_wait)?;
        let vkey = fs_err::read_to_string(dir.join(PUBLIC_KEY))?;
        let verifier = NoteVerifier::parse(&vkey)?;
        let key_path = dir.join(PRIVATE_KEY);
        let signer = if key_path.exists() {
            let signer = NoteSigner::parse(&fs_err::read_to_string(&key_path)?)?;
            if signer.verifier() != &verifier {
                return Err(corrupt(
                    &key_path,
                    "the private key does not match `log.pub`",
                ));
            }
            Some(signer)
        } else {
            None
        };
        let signed = fs_err::read(&cp_path)?;
        let (cp, _) = Checkpoint::open(&signed, &verifier)
            .map_err(|e| corrupt(&cp_path, &format!("the checkpoint does not verify: {e}")))?;
        let checkpoint = String::from_utf8(signed).unwrap_or_default();
        let state = load_state(dir, cp, checkpoint)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            verifier,
            signer,
            options,
            state: Mutex::new(state),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            synced_once: std::sync::atomic::AtomicBool::new(false),
            _lock,
        })
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's origin (its checkpoints' first line and its key name).
    pub fn origin(&self) -> &str {
        self.verifier.name()
    }

    /// The log's note verifier key.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The number of entries covered by the current checkpoint.
    pub fn size(&self) -> u64 {
        relock(&self.state).size
    }

    /// The current signed checkpoint (note text).
    pub fn checkpoint(&self) -> String {
        relock(&self.state).checkpoint.clone()
    }

    /// Appends one entry and returns its index once a checkpoint covering it is durable.
    /// Concurrent calls are committed together (group commit; see [`LogOptions`]).
    pub fn append(&self, entry: &[u8]) -> Result<u64, Error> {
        check_entry(entry)?;
        let mut q = relock(&self.queue);
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push((ticket, entry.to_vec()));
        loop {
            if let Some(result) = q.done.remove(&ticket) {
                return result.map_err(Error::BatchFailed);
            }
            if q.committing {
                q = self
                    .wake
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            q.committing = true;
            if !self.options.max_delay.is_zero() {
                drop(q);
                std::thread::sleep(self.options.max_delay);
                q = relock(&self.queue);
            }
            let take = q.pending.len().min(self.options.max_batch.max(1));
            let batch: Vec<(u64, Vec<u8>)> = q.pending.drain(..take).collect();
            drop(q);
            let (tickets, entries): (Vec<u64>, Vec<Vec<u8>>) = batch.into_iter().unzip();
            let result = self.append_batch(&entries);
            q = relock(&self.queue);
            let mut mine = None;
            for (i, t) in tickets.iter().enumerate() {
                let r = match &result {
                    Ok(first) => Ok(first + i as u64),
                    Err(e) => Err(e.to_string()),
                };
                if *t == ticket {
                    mine = Some(r);
                } else {
                    q.done.insert(*t, r);
                }
            }
            q.committing = false;
            self.wake.notify_all();
            match (mine, result) {
                (Some(Ok(index)), _) => return Ok(index),
                (Some(Err(_)), Err(e)) => return Err(e),
                _ => {}
            }
        }
    }

    /// Appends `entries` as one batch and returns the index of the first, once the checkpoint
    /// covering all of them is durable. An empty batch changes nothing.
    pub fn append_batch(&self, entries: &[Vec<u8>]) -> Result<u64, Error> {
        for e in entries {
            check_entry(e)?;
        }
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| Error::ReadOnly(self.dir.join(PRIVATE_KEY)))?;
        let mut state = relock(&self.state);
        let first = state.size;
        if entries.is_empty() {
            return Ok(first);
        }
        let mut next = state.clone();
        let first_batch = !self
            .synced_once
            .swap(true, std::sync::atomic::Ordering::Relaxed);
        let mut files = DurableWriter::new(&self.dir, first_batch);
        let mut changed = BTreeSet::new();
        let mut completed = Vec::new();
        for entry in entries {
            next.size += 1;
            next.bundle.push(entry.clone());
            if next.bundle.len() == TILE_WIDTH {
                let index = (next.size >> 8) - 1;
                files.write(
                    &entries_path(index, TILE_WIDTH),
                    encode_bundle(&next.bundle),
                )?;
                next.bundle.clear();
            }
            let mut hash = leaf_hash(entry);
            let mut level = 0u8;
            loop {
                if next.edge.len() <= usize::from(level) {
                    next.edge.push(Vec::new());
                }
                let tile = &mut next.edge[usize::from(level)];
                tile.push(hash);
                changed.insert(level);
                if tile.len() < TILE_WIDTH {
                    break;
                }
                let (full, _) = tiles_at(level, next.size);
                files.write(&tile_path(level, full - 1, TILE_WIDTH), encode_tile(tile))?;
                completed.push((level, full - 1));
                hash = perfect_root(tile);
                tile.clear();
                level += 1;
            }
        }
        for &level in &changed {
            let (full, width) = tiles_at(level, next.size);
            if width > 0 {
                files.write(
                    &tile_path(level, full, width),
                    encode_tile(&next.edge[usize::from(level)]),
                )?;
            }
        }
        if !next.bundle.is_empty() {
            files.write(
                &entries_path(next.size >> 8, next.bundle.len()),
                encode_bundle(&next.bundle),
            )?;
        }
        // The root comes from the in-memory right edge alone, so the checkpoint can be
        // signed and synced (not yet renamed) while the tiles are being written.
        next.root =
            Prover::new(TileReader::new(&self.dir, next.size, &next.edge)).root(next.size)?;
        next.checkpoint = Checkpoint::new(self.origin(), next.size, next.root).sign(signer)?;
        files.commit_then(CHECKPOINT, next.checkpoint.as_bytes())?;
        *state = next;
        drop(state);
        // Partial tiles may go once their full tile is published (tlog-tiles, "Partial
        // Tiles"); failing to remove one is harmless.
        for (level, index) in completed {
            let _ = fs_err::remove_dir_all(
                self.dir
                    .join(format!("{}.p", tile_path(level, index, TILE_WIDTH))),
            );
        }
        Ok(first)
    }

    /// The root hash of the tree of the first `size` entries (`size` ≤ the log's size).
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        let state = relock(&self.state);
        check_size(size, state.size)?;
        Prover::new(TileReader::new(&self.dir, state.size, &state.edge)).root(size)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        let state = relock(&self.state);
        check_size(size, state.size)?;
        if index >= size {
            return Err(Error::IndexOutOfRange { index, size });
        }
        Prover::new(TileReader::new(&self.dir, state.size, &state.edge)).inclusion(index, size)
    }

    /// The consistency proof from the tree of `size1` entries to that of `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, Error> {
        let state = relock(&self.state);
        check_size(size2, state.size)?;
        if size1 > size2 {
            return Err(Error::SizeOutOfRange {
                size: size1,
                log_size: size2,
            });
        }
        Prover::new(TileReader::new(&self.dir, state.size, &state.edge)).consistency(size1, size2)
    }

    /// The leaf hash of entry `index`, read from its level-0 tile.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, Error> {
        use crate::merkle::NodeSource as _;
        let state = relock(&self.state);
        if index >= state.size {
            return Err(Error::IndexOutOfRange {
                index,
                size: state.size,
            });
        }
        TileReader::new(&self.dir, state.size, &state.edge).node(0, index)
    }

    /// The entry at `index`, read from its entry bundle.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        let state = relock(&self.state);
        if index >= state.size {
            return Err(Error::IndexOutOfRange {
                index,
                size: state.size,
            });
        }
        let (full, _) = tiles_at(0, state.size);
        let (n, offset) = (index >> 8, (index & 0xff) as usize);
        let bundle = if n < full {
            let path = self.dir.join(entries_path(n, TILE_WIDTH));
            decode_bundle(&fs_err::read(&path)?)
                .filter(|b| b.len() == TILE_WIDTH)
                .ok_or_else(|| corrupt(&path, "the entry bundle does not hold 256 entries"))?
        } else {
            state.bundle.clone()
        };
        bundle
            .into_iter()
            .nth(offset)
            .ok_or_else(|| corrupt(&self.dir, "the partial entry bundle is short"))
    }

    /// A `c2sp.org/tlog-proof@v1` proof of entry `index` under the current checkpoint.
    pub fn tlog_proof(&self, index: u64, extra: Option<Vec<u8>>) -> Result<TlogProof, Error> {
        let (size, checkpoint) = {
            let s = relock(&self.state);
            (s.size, s.checkpoint.clone())
        };
        let hashes = self.inclusion_proof(index, size)?;
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint,
        })
    }
}

fn check_entry(entry: &[u8]) -> Result<(), Error> {
    if entry.len() > MAX_ENTRY_SIZE {
        return Err(Error::EntryTooLarge { len: entry.len() });
    }
    Ok(())
}

fn check_size(size: u64, log_size: u64) -> Result<(), Error> {
    if size > log_size {
        return Err(Error::SizeOutOfRange { size, log_size });
    }
    Ok(())
}

fn corrupt(path: &Path, reason: &str) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// How long to wait for another process's hold on a log before giving up (`ZT_LOG_WAIT`
/// seconds, default 30): long enough for any batch, short enough that a command meeting a
/// server that holds the log for good says so instead of hanging.
fn lock_wait() -> Duration {
    let secs = std::env::var("ZT_LOG_WAIT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

fn lock(dir: &Path, wait: Duration) -> Result<fs_err::File, Error> {
    fs_err::create_dir_all(dir.join("private"))?;
    let path = dir.join(LOCK);
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    let start = std::time::Instant::now();
    loop {
        match file.file().try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy {
                    path: dir.to_path_buf(),
                    waited: start.elapsed(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("locking `{}`: {e}", path.display()),
                )
                .into());
            }
        }
    }
}

/// Rebuilds the in-memory right edge of the tree from the partial tiles of `cp.size`, and
/// checks it against the checkpoint.
fn load_state(dir: &Path, cp: Checkpoint, checkpoint: String) -> Result<State, Error> {
    let mut edge = Vec::new();
    let mut level = 0u8;
    loop {
        let (full, width) = tiles_at(level, cp.size);
        if full == 0 && width == 0 {
            break;
        }
        let mut tile = Vec::new();
        if width > 0 {
            let path = dir.join(tile_path(level, full, width));
            tile = decode_tile(&fs_err::read(&path)?)
                .filter(|t| t.len() == width)
                .ok_or_else(|| corrupt(&path, "the partial tile has the wrong length"))?;
        }
        edge.push(tile);
        level += 1;
    }
    let (full, width) = tiles_at(0, cp.size);
    let mut bundle = Vec::new();
    if width > 0 {
        let path = dir.join(entries_path(full, width));
        bundle = decode_bundle(&fs_err::read(&path)?)
            .filter(|b| b.len() == width)
            .ok_or_else(|| corrupt(&path, "the partial entry bundle is malformed"))?;
        let hashes: Vec<Hash> = bundle.iter().map(|e| leaf_hash(e)).collect();
        if edge.first() != Some(&hashes) {
            return Err(corrupt(
                &path,
                "the entries do not hash to the level-0 tile",
            ));
        }
    }
    let root = Prover::new(TileReader::new(dir, cp.size, &edge)).root(cp.size)?;
    if root != cp.root {
        return Err(corrupt(
            &dir.join(CHECKPOINT),
            "the tiles do not hash to the checkpoint's root",
        ));
    }
    Ok(State {
        size: cp.size,
        root,
        checkpoint,
        edge,
        bundle,
    })
}

/// Writes a batch of files durably: each to a temp file, fsynced, renamed into place; then
/// every directory touched is fsynced. Files and directories are synced from several threads
/// at once, so the file system can group their journal commits.
struct DurableWriter<'a> {
    root: &'a Path,
    files: Vec<(PathBuf, Vec<u8>)>,
    dirs: BTreeSet<PathBuf>,
    /// Sync every ancestor directory, not only new ones: done on a process's first batch,
    /// since a directory created just before a crash exists but may not be durable.
    all_ancestors: bool,
}

/// At most this many threads sync files at once.
const SYNC_THREADS: usize = 16;

impl<'a> DurableWriter<'a> {
    fn new(root: &'a Path, all_ancestors: bool) -> Self {
        Self {
            root,
            files: Vec::new(),
            dirs: BTreeSet::new(),
            all_ancestors,
        }
    }

    /// Queues a file; nothing is visible until [`DurableWriter::commit`].
    fn write(&mut self, rel: &str, bytes: Vec<u8>) -> Result<(), Error> {
        let path = self.root.join(rel);
        let dir = path.parent().unwrap_or(self.root).to_path_buf();
        // The rename needs its directory synced; a directory created here also needs its
        // parent synced, up to the first one that already existed.
        let mut up = dir.as_path();
        while (self.all_ancestors || !up.exists()) && up != self.root {
            self.dirs.insert(up.to_path_buf());
            match up.parent() {
                Some(p) => up = p,
                None => break,
            }
        }
        self.dirs.insert(up.to_path_buf());
        self.dirs.insert(dir.clone());
        fs_err::create_dir_all(&dir)?;
        self.files.push((path, bytes));
        Ok(())
    }

    /// Writes, syncs and renames every queued file and syncs their directories; only then
    /// renames `last` (written and synced alongside the others) into place and syncs the
    /// root directory.
    fn commit_then(&mut self, last: &str, last_bytes: &[u8]) -> Result<(), Error> {
        let root = self.root;
        let files = std::mem::take(&mut self.files);
        let (pending, written) = std::thread::scope(|s| {
            let pending = s.spawn(|| synced_temp(root, last_bytes));
            let written = parallel(files, |(path, bytes)| write_synced(&path, &bytes));
            let pending = pending.join().unwrap_or_else(|_| {
                Err(Error::Io(std::io::Error::other(
                    "the checkpoint-writing thread panicked",
                )))
            });
            (pending, written)
        });
        written?;
        let pending = pending?;
        parallel(std::mem::take(&mut self.dirs).into_iter().collect(), |d| {
            zt_core::fsutil::sync_dir(&d).map_err(Error::from)
        })?;
        let path = root.join(last);
        pending
            .persist(&path)
            .map_err(|e| with_path(e.error, &path))?;
        zt_core::fsutil::sync_dir(root)?;
        Ok(())
    }
}

/// A synced temporary file in `dir`, ready to be renamed.
fn synced_temp(dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, Error> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".zt-tmp-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    tmp.write_all(bytes).map_err(|e| with_path(e, dir))?;
    tmp.as_file().sync_all().map_err(|e| with_path(e, dir))?;
    Ok(tmp)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    synced_temp(dir, bytes)?
        .persist(path)
        .map_err(|e| with_path(e.error, path))?;
    Ok(())
}

/// Runs `f` on every item from up to [`SYNC_THREADS`] threads; the first error wins.
fn parallel<T: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    let threads = items.len().min(SYNC_THREADS);
    if threads <= 1 {
        return items.into_iter().try_for_each(f);
    }
    let queue = Mutex::new(items.into_iter());
    let next = || relock(&queue).next();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    while let Some(item) = next() {
                        f(item)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join().unwrap_or_else(|_| {
                Err(Error::Io(std::io::Error::other(
                    "a file-writing thread panicked",
                )))
            })
        })
    })
}

fn with_path(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{e} at `{}`", path.display()))
}
