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
//! - `private/wal`: the write-ahead file of batches appended since the last *durable base*.
//!
//! A batch is made durable by one fdatasync: its entries are appended to `private/wal` (with
//! their first index and a SHA-256 over the record) and synced. Only then are its new full
//! tiles and bundles written (each to a temporary file renamed into place, so readers never
//! see half a file), without syncing them one by one: the WAL is what survives a crash. Its
//! checkpoint is signed in memory, so [`Log::checkpoint`], [`Log::tlog_proof`] and every proof
//! cover the batch when [`Log::append`] returns.
//!
//! **Publication.** The files that change with every batch — the rightmost partial tile of
//! each level, the partial entry bundle and `checkpoint` — are *published* (written, partial
//! tiles first, the checkpoint last) by a batch after which no other append waits, or once
//! [`LogOptions::publish_interval`] has passed since the last publication, and by every base.
//! Under load the files on disk therefore lag the in-memory tree by at most that interval, but
//! they always agree with each other: the `checkpoint` file names a tree whose tiles are all on
//! disk. Each publication creates new files (new partial tile names, the checkpoint's
//! replacement); doing it per interval instead of per batch is what keeps a file system's inode
//! allocator out of the append path (`docs/performance.md`). [`Log::unpublished_tile`] serves
//! the in-memory partial tiles to an HTTP reader of the in-memory checkpoint.
//!
//! Once the WAL holds enough (or when the log is closed), the current tree is published, every
//! file written since the base is fsynced, with its directories, and the WAL is reset to a new
//! base (its header names the base's size and root) — only then are partial tiles that became
//! full removed.
//!
//! [`Log::open`] with the private key replays a WAL that holds batches: it reloads the
//! base's partial tiles (durable), checks that they hash to the base's root, applies every
//! whole, intact record in order (a torn last record was never acknowledged), makes the
//! result durable and resets the WAL. Tiles and checkpoints are deterministic functions of the
//! entries (Ed25519 signatures included), so the replayed files are byte for byte those a
//! client may already hold. A log without a WAL (written before it existed) opens from its
//! checkpoint as before, which older versions made durable file by file.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use sha2::{Digest as _, Sha256};

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
const WAL: &str = "private/wal";
const WAL_MAGIC: &[u8; 16] = b"zt-tlog-wal/v1\n\0";
/// The WAL header: magic, base size (u64, big-endian), base root.
const WAL_HEADER: usize = 16 + 8 + 32;
/// A durable base is taken once the WAL holds this many bytes or entries.
const WAL_MAX_BYTES: u64 = 16 << 20;
const WAL_MAX_ENTRIES: u64 = 1 << 16;

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
    /// While other appends wait to run, how long a batch may leave its partial tiles, partial
    /// entry bundle and `checkpoint` file to a later batch (default 25 ms). The in-memory
    /// checkpoint and proofs are current regardless, and a batch after which no append waits
    /// publishes at once; `Duration::ZERO` publishes every batch.
    pub publish_interval: Duration,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            max_batch: 4096,
            max_delay: Duration::ZERO,
            lock_wait: lock_wait(),
            publish_interval: Duration::from_millis(25),
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
    /// The size whose partial tiles and bundle are on disk and whose checkpoint is the
    /// `checkpoint` file.
    published: u64,
    /// The text of the `checkpoint` file.
    published_checkpoint: String,
    /// When it was written.
    published_at: Instant,
}

/// An open transparency log. `Sync`: share it between threads and call [`Log::append`] from
/// each; concurrent appends are committed together.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    verifier: NoteVerifier,
    signer: Option<NoteSigner>,
    state: Mutex<State>,
    /// Concurrent [`Log::append`]s, committed together.
    batches: zt_core::group::Group<Vec<u8>, Result<u64, String>>,
    /// Appends that have not reached a running batch yet: [`Log::append`] entries not taken
    /// by a batch, [`Log::append_batch`] callers waiting for `state`. A batch that sees one
    /// knows another batch will run after it.
    queued: AtomicUsize,
    /// [`LogOptions::publish_interval`].
    publish_interval: Duration,
    /// The write-ahead file and what was written since the durable base (locked after
    /// `state`, only by a writer).
    wal: Mutex<Result<Wal, String>>,
    _lock: fs_err::File,
}

/// The open write-ahead file.
#[derive(Debug)]
struct Wal {
    file: fs_err::File,
    /// Bytes in the file (header included).
    len: u64,
    since: Since,
}

/// What was written since the durable base.
#[derive(Debug, Default)]
struct Since {
    /// Entries appended since the base.
    entries: u64,
    /// Files written (synced when the next base is taken).
    written: BTreeSet<PathBuf>,
    /// Their directories and every ancestor up to the log directory (a directory created
    /// since the base exists but may not be durable, nor may a rename inside one).
    dirs: BTreeSet<PathBuf>,
    /// Partial tiles and bundles whose full versions were written since the base: removed
    /// once the next base is durable (a replay from the current base still needs them).
    obsolete: Vec<PathBuf>,
}

impl Since {
    fn track(&mut self, root: &Path, path: &Path) {
        if !self.written.insert(path.to_path_buf()) {
            return;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if !self.dirs.insert(d.to_path_buf()) || d == root || !d.starts_with(root) {
                break;
            }
            dir = d.parent();
        }
    }
}

impl Wal {
    fn open(path: &Path, len: u64) -> Result<Self, Error> {
        Ok(Self {
            file: fs_err::OpenOptions::new().append(true).open(path)?,
            len,
            since: Since::default(),
        })
    }

    /// Appends one record (first index, count, length-prefixed entries, SHA-256 of all that)
    /// and syncs it: from here on the batch survives a crash.
    fn append(&mut self, first: u64, entries: &[Vec<u8>]) -> Result<(), Error> {
        let count = u32::try_from(entries.len())
            .map_err(|_| Error::BatchFailed("a batch of more than 2^32 entries".into()))?;
        let mut rec =
            Vec::with_capacity(12 + 32 + entries.iter().map(|e| 4 + e.len()).sum::<usize>());
        rec.extend_from_slice(&first.to_be_bytes());
        rec.extend_from_slice(&count.to_be_bytes());
        for e in entries {
            // check_entry bounds every entry far below 4 GiB.
            rec.extend_from_slice(&u32::try_from(e.len()).unwrap_or(u32::MAX).to_be_bytes());
            rec.extend_from_slice(e);
        }
        let digest = Sha256::digest(&rec);
        rec.extend_from_slice(&digest);
        self.file.write_all(&rec)?;
        self.file.sync_data()?;
        self.len += rec.len() as u64;
        self.since.entries += u64::from(count);
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<(), Error> {
        self.file.set_len(len)?;
        self.file.sync_data()?;
        self.len = len;
        Ok(())
    }
}

/// A write-ahead file as read back.
struct WalRead {
    base_size: u64,
    base_root: Hash,
    /// Whole, intact records that follow each other from the base.
    records: Vec<(u64, Vec<Vec<u8>>)>,
    /// Bytes after the last good record (a batch whose sync never finished).
    torn: bool,
}

impl WalRead {
    fn end(&self) -> u64 {
        self.records
            .last()
            .map_or(self.base_size, |(first, e)| first + e.len() as u64)
    }
}

fn read_wal(path: &Path) -> Result<Option<WalRead>, Error> {
    let bytes = match fs_err::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if bytes.len() < WAL_HEADER || &bytes[..16] != WAL_MAGIC {
        return Err(corrupt(path, "not a zt-tlog-wal/v1 write-ahead file"));
    }
    let base_size = u64::from_be_bytes(bytes[16..24].try_into().unwrap_or_default());
    let base_root: Hash = bytes[24..56].try_into().unwrap_or_default();
    let mut records = Vec::new();
    let mut at = WAL_HEADER;
    let mut next = base_size;
    while let Some((first, entries, len)) = parse_record(&bytes[at..]) {
        if first != next {
            break;
        }
        next += entries.len() as u64;
        records.push((first, entries));
        at += len;
    }
    Ok(Some(WalRead {
        base_size,
        base_root,
        records,
        torn: at < bytes.len(),
    }))
}

/// One record and its length in bytes, if `b` starts with a whole, intact one.
fn parse_record(b: &[u8]) -> Option<(u64, Vec<Vec<u8>>, usize)> {
    let first = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
    let count = u32::from_be_bytes(b.get(8..12)?.try_into().ok()?) as usize;
    let mut at = 12;
    // Each entry takes at least its 4-byte length: a count beyond that is torn or forged.
    let mut entries = Vec::with_capacity(count.min(b.len() / 4));
    for _ in 0..count {
        let len = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        if len > MAX_ENTRY_SIZE {
            return None;
        }
        entries.push(b.get(at + 4..at + 4 + len)?.to_vec());
        at += 4 + len;
    }
    let digest = b.get(at..at + 32)?;
    (Sha256::digest(&b[..at])[..] == *digest).then_some((first, entries, at + 32))
}

impl Drop for Log {
    fn drop(&mut self) {
        // Closing makes the files durable, so the next opener has nothing to replay; if it
        // fails, the WAL still holds every batch.
        let _ = self.sync();
    }
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
        let cp = Checkpoint::open(&signed, &verifier)
            .map(|(cp, _)| cp)
            .map_err(|e| corrupt(&cp_path, &format!("the checkpoint does not verify: {e}")));
        let checkpoint = String::from_utf8(signed).unwrap_or_default();
        let wal_path = dir.join(WAL);
        // Only a writer replays: a reader (no private key) cannot sign the replayed tree, and
        // reads the last checkpoint as the files hold it.
        let wal = match &signer {
            Some(_) => read_wal(&wal_path)?,
            None => None,
        };
        let cp_size = cp.as_ref().map_or(0, |cp| cp.size);
        let (state, replay, clean) = match wal {
            // Batches acknowledged after the base: start from the base (durable) and apply
            // them; the checkpoint file, written after them and never synced, may be lost or
            // old. A checkpoint beyond them was written durably by a zt without the WAL.
            Some(w) if !w.records.is_empty() && cp_size <= w.end() => {
                let state = load_state(dir, w.base_size, w.base_root, String::new()).map_err(
                    |e| match e {
                        Error::Corrupt { reason, .. } => corrupt(
                            &wal_path,
                            &format!("the write-ahead file's base does not load: {reason}"),
                        ),
                        e => e,
                    },
                )?;
                (state, w.records, false)
            }
            w => {
                let cp = cp?;
                let clean = w.is_some_and(|w| {
                    w.records.is_empty()
                        && !w.torn
                        && w.base_size == cp.size
                        && w.base_root == cp.root
                });
                (
                    load_state(dir, cp.size, cp.root, checkpoint)?,
                    Vec::new(),
                    clean,
                )
            }
        };
        let log = Self {
            dir: dir.to_path_buf(),
            verifier,
            signer,
            state: Mutex::new(state),
            batches: zt_core::group::Group::with_delay(options.max_batch, options.max_delay),
            queued: AtomicUsize::new(0),
            publish_interval: options.publish_interval,
            wal: Mutex::new(Err("the log is read-only".into())),
            _lock,
        };
        if log.signer.is_some() {
            let mut state = relock(&log.state);
            let wal = if clean {
                // Header only, at the checkpoint: append to it as it is.
                Wal::open(&wal_path, WAL_HEADER as u64)
            } else if replay.is_empty() {
                // A log from before the WAL (durable file by file), or a WAL left by a zt
                // that wrote the checkpoint durably past it: this state becomes the base.
                log.take_base(&mut state, &mut Since::default())
            } else {
                let mut since = Since::default();
                for (first, entries) in replay {
                    if first != state.size {
                        return Err(corrupt(
                            &wal_path,
                            "a record does not follow the one before it",
                        ));
                    }
                    log.apply(&mut state, &entries, &mut since)?;
                }
                // What was replayed becomes the new base (published first); the log is not
                // usable until then.
                Ok(log.take_base(&mut state, &mut since)?)
            };
            // Nothing needed replaying, so the log reads as it is even where its WAL cannot
            // be written (a read-only copy with its key): only appends fail, saying why.
            *relock(&log.wal) = wal.map_err(|e| e.to_string());
        }
        Ok(log)
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

    /// The current signed checkpoint (note text): it covers every acknowledged append.
    pub fn checkpoint(&self) -> String {
        relock(&self.state).checkpoint.clone()
    }

    /// The signed checkpoint in the `checkpoint` file: the newest whose tiles are all on disk
    /// (at most [`LogOptions::publish_interval`] behind [`Log::checkpoint`] while appends
    /// keep coming, the same once they stop).
    pub fn published_checkpoint(&self) -> String {
        relock(&self.state).published_checkpoint.clone()
    }

    /// A partial tile or entry bundle (`rel`, e.g. `tile/0/x001/234.p/17`) of the current
    /// tree that is not on disk yet (see the module documentation, "Publication"): the first
    /// `W` hashes or entries of the rightmost tile, the bytes the file will hold. `None` for
    /// any other path.
    pub fn unpublished_tile(&self, rel: &str) -> Option<Vec<u8>> {
        let state = relock(&self.state);
        let width_in = |full_path: String| -> Option<usize> {
            rel.strip_prefix(&full_path)?
                .strip_prefix(".p/")?
                .parse::<usize>()
                .ok()
                .filter(|w| (1..TILE_WIDTH).contains(w))
        };
        for (level, tile) in state.edge.iter().enumerate() {
            let level = u8::try_from(level).ok()?;
            let (full, _) = tiles_at(level, state.size);
            if let Some(w) = width_in(tile_path(level, full, TILE_WIDTH)) {
                return tile.get(..w).map(encode_tile);
            }
        }
        let (full, _) = tiles_at(0, state.size);
        let w = width_in(entries_path(full, TILE_WIDTH))?;
        state.bundle.get(..w).map(encode_bundle)
    }

    /// Appends one entry and returns its index once a checkpoint covering it is durable.
    /// Concurrent calls are committed together (group commit; see [`LogOptions`]).
    pub fn append(&self, entry: &[u8]) -> Result<u64, Error> {
        check_entry(entry)?;
        if self.signer.is_none() {
            return Err(Error::ReadOnly(self.dir.join(PRIVATE_KEY)));
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.batches
            .submit(
                entry.to_vec(),
                |entries| {
                    self.queued.fetch_sub(entries.len(), Ordering::SeqCst);
                    match self.append_batch(&entries) {
                        Ok(first) => (first..).take(entries.len()).map(Ok).collect(),
                        Err(e) => vec![Err(e.to_string()); entries.len()],
                    }
                },
                || Err("the batch holding this entry ended without an answer".to_string()),
            )
            .map_err(Error::BatchFailed)
    }

    /// Appends `entries` as one batch and returns the index of the first, once the batch is
    /// durable (in the write-ahead file) and its checkpoint is published. An empty batch
    /// changes nothing.
    pub fn append_batch(&self, entries: &[Vec<u8>]) -> Result<u64, Error> {
        for e in entries {
            check_entry(e)?;
        }
        if self.signer.is_none() {
            return Err(Error::ReadOnly(self.dir.join(PRIVATE_KEY)));
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut state = relock(&self.state);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let first = state.size;
        if entries.is_empty() && state.published == state.size {
            return Ok(first);
        }
        let mut guard = relock(&self.wal);
        let wal = match guard.as_mut() {
            Ok(wal) => wal,
            Err(why) => {
                return Err(Error::BatchFailed(format!(
                    "the log's write-ahead file cannot be written: {why}"
                )));
            }
        };
        let before = wal.len;
        let mut next = state.clone();
        let applied = (|| {
            if !entries.is_empty() {
                wal.append(first, entries)?;
                self.apply(&mut next, entries, &mut wal.since)?;
            }
            // Publish now unless another append will run right after this one (it, or the
            // one after it, publishes) and the files on disk are recent enough.
            let waiting = self.queued.load(Ordering::SeqCst);
            if next.published != next.size
                && (waiting == 0 || next.published_at.elapsed() >= self.publish_interval)
            {
                self.publish(&mut next, &mut wal.since)?;
            }
            Ok(())
        })();
        if let Err(e) = applied {
            // Take the record back, so that neither a replay nor the next batch sees it.
            if wal.len != before
                && let Err(t) = wal.truncate(before)
            {
                *guard = Err(format!(
                    "a failed batch's record could not be taken back ({t}); reopen the log to \
                     replay what was acknowledged"
                ));
            }
            return Err(e);
        }
        *state = next;
        if wal.len >= WAL_MAX_BYTES || wal.since.entries >= WAL_MAX_ENTRIES {
            // The batch is durable in the WAL already: a base that fails is tried again later.
            if let Ok(base) = self.take_base(&mut state, &mut wal.since) {
                *wal = base;
            }
        }
        Ok(first)
    }

    /// Makes every file written since the last base durable and starts a new, empty
    /// write-ahead file (what closing the log does too).
    pub fn sync(&self) -> Result<(), Error> {
        let mut state = relock(&self.state);
        let mut guard = relock(&self.wal);
        if let Ok(wal) = guard.as_mut()
            && (wal.since.entries > 0 || wal.len > WAL_HEADER as u64)
        {
            *wal = self.take_base(&mut state, &mut wal.since)?;
        }
        Ok(())
    }

    /// Applies a batch to `state`: writes the tiles and bundles it fills, renamed into place
    /// but not synced (the caller has the batch in the WAL), and signs its checkpoint. The
    /// partial tiles, the partial bundle and the checkpoint file are left to [`Log::publish`].
    fn apply(
        &self,
        state: &mut State,
        entries: &[Vec<u8>],
        since: &mut Since,
    ) -> Result<(), Error> {
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| Error::ReadOnly(self.dir.join(PRIVATE_KEY)))?;
        // On failure `state` is left part-way: callers apply to a copy they drop then.
        let next = state;
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut completed = Vec::new();
        for entry in entries {
            next.size += 1;
            next.bundle.push(entry.clone());
            if next.bundle.len() == TILE_WIDTH {
                let index = (next.size >> 8) - 1;
                files.push((entries_path(index, TILE_WIDTH), encode_bundle(&next.bundle)));
                completed.push(format!("{}.p", entries_path(index, TILE_WIDTH)));
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
                if tile.len() < TILE_WIDTH {
                    break;
                }
                let (full, _) = tiles_at(level, next.size);
                files.push((tile_path(level, full - 1, TILE_WIDTH), encode_tile(tile)));
                completed.push(format!("{}.p", tile_path(level, full - 1, TILE_WIDTH)));
                hash = perfect_root(tile);
                tile.clear();
                level += 1;
            }
        }
        // The root comes from the in-memory right edge alone.
        next.root =
            Prover::new(TileReader::new(&self.dir, next.size, &next.edge)).root(next.size)?;
        next.checkpoint = Checkpoint::new(self.origin(), next.size, next.root).sign(signer)?;
        for (rel, bytes) in files {
            let path = self.dir.join(&rel);
            since.track(&self.dir, &path);
            write_renamed(&path, &bytes)?;
        }
        since
            .obsolete
            .extend(completed.into_iter().map(|rel| self.dir.join(rel)));
        Ok(())
    }

    /// Writes the partial tiles and bundle of `state` that are not on disk yet, then its
    /// checkpoint (each renamed into place, not synced): from here on the `checkpoint` file
    /// names `state`'s tree, and every tile it needs is on disk.
    fn publish(&self, state: &mut State, since: &mut Since) -> Result<(), Error> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for (level, tile) in state.edge.iter().enumerate() {
            let level = u8::try_from(level).unwrap_or(u8::MAX);
            let (full, width) = tiles_at(level, state.size);
            // The same path holds the same bytes: a tile of that width is on disk already.
            if width > 0 && tiles_at(level, state.published) != (full, width) {
                files.push((tile_path(level, full, width), encode_tile(tile)));
            }
        }
        let (full, width) = tiles_at(0, state.size);
        if width > 0 && tiles_at(0, state.published) != (full, width) {
            files.push((entries_path(full, width), encode_bundle(&state.bundle)));
        }
        // The checkpoint last: readers of the directory never see it before its tiles.
        files.push((
            CHECKPOINT.to_string(),
            state.checkpoint.clone().into_bytes(),
        ));
        for (rel, bytes) in files {
            let path = self.dir.join(&rel);
            since.track(&self.dir, &path);
            write_renamed(&path, &bytes)?;
        }
        state.published = state.size;
        state.published_checkpoint.clone_from(&state.checkpoint);
        state.published_at = Instant::now();
        Ok(())
    }

    /// Publishes `state`, syncs every file written since the base and their directories, then
    /// replaces the WAL with an empty one whose base is `state`, and removes partial tiles that
    /// became full.
    fn take_base(&self, state: &mut State, since: &mut Since) -> Result<Wal, Error> {
        if state.published != state.size {
            self.publish(state, since)?;
        }
        // Partial tiles about to be removed need not be synced first.
        let obsolete: BTreeSet<&Path> = since.obsolete.iter().map(PathBuf::as_path).collect();
        let keep = since
            .written
            .iter()
            .filter(|p| !p.parent().is_some_and(|d| obsolete.contains(d)))
            .collect();
        parallel(keep, |p| {
            match fs_err::File::open(p) {
                Ok(f) => f.sync_all().map_err(Error::from),
                // A file a failed batch never renamed into place.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        })?;
        let dirs = since
            .dirs
            .iter()
            .filter(|d| !obsolete.contains(d.as_path()))
            .collect();
        parallel(dirs, |d| zt_core::fsutil::sync_dir(d).map_err(Error::from))?;
        let mut header = Vec::with_capacity(WAL_HEADER);
        header.extend_from_slice(WAL_MAGIC);
        header.extend_from_slice(&state.size.to_be_bytes());
        header.extend_from_slice(&state.root);
        let private = self.dir.join("private");
        let path = self.dir.join(WAL);
        synced_temp(&private, &header)?
            .persist(&path)
            .map_err(|e| with_path(e.error, &path))?;
        zt_core::fsutil::sync_dir(&private)?;
        // Partial tiles may go once their full tile is durable (tlog-tiles, "Partial
        // Tiles"); failing to remove one is harmless.
        for p in &since.obsolete {
            let _ = fs_err::remove_dir_all(p);
        }
        Wal::open(&path, WAL_HEADER as u64)
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

/// Rebuilds the in-memory right edge of the tree of `size` entries from its partial tiles,
/// and checks it against `expected` (the root its checkpoint or WAL header names).
fn load_state(dir: &Path, size: u64, expected: Hash, checkpoint: String) -> Result<State, Error> {
    let mut edge = Vec::new();
    let mut level = 0u8;
    loop {
        let (full, width) = tiles_at(level, size);
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
    let (full, width) = tiles_at(0, size);
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
    let root = Prover::new(TileReader::new(dir, size, &edge)).root(size)?;
    if root != expected {
        return Err(corrupt(
            &dir.join(CHECKPOINT),
            "the tiles do not hash to the checkpoint's root",
        ));
    }
    Ok(State {
        size,
        root,
        published_checkpoint: checkpoint.clone(),
        checkpoint,
        edge,
        bundle,
        // The partial tiles of `size` are on disk (they were just read); its checkpoint file
        // too, unless a replay follows (which publishes).
        published: size,
        published_at: Instant::now(),
    })
}

/// At most this many threads sync files at once.
const SYNC_THREADS: usize = 16;

/// Writes `bytes` to a temporary file beside `path` and renames it into place (readers see the
/// old file or the new one, never half of one), without syncing: see the module documentation.
fn write_renamed(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zt-tmp-")
        .tempfile_in(dir)
        .map_err(|e| with_path(e, dir))?;
    tmp.write_all(bytes).map_err(|e| with_path(e, path))?;
    tmp.persist(path).map_err(|e| with_path(e.error, path))?;
    Ok(())
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
