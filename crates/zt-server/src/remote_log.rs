//! Reading a transparency log served in the C2SP tlog-tiles layout (by `zt serve`, a static
//! web server or a CDN): its signed checkpoint, and proofs computed from its tiles. Nothing
//! the server sends is taken on trust: the checkpoint must verify under the log's key, and
//! every proof is checked against the checkpoint's root before it is returned.

use zt_tlog::tiles::FetchedTiles;
use zt_tlog::{Checkpoint, Hash, NoteVerifier, Prover, verify_consistency, verify_inclusion};

use crate::{Client, Error};

/// The largest tile or checkpoint read (a full tile is 8 KiB; an entry bundle at most 16 MiB).
const MAX_FETCH: u64 = 17 << 20;

/// A remote log.
#[derive(Debug, Clone)]
pub struct RemoteLog {
    client: Client,
    verifier: NoteVerifier,
}

/// A verified checkpoint and its note text.
#[derive(Debug, Clone)]
pub struct RemoteCheckpoint {
    /// The checkpoint's origin, size and root.
    pub checkpoint: Checkpoint,
    /// The signed note as served.
    pub text: String,
}

impl RemoteLog {
    /// The log at `url` (its tlog-tiles prefix), whose checkpoints `verifier` signs.
    pub fn new(url: &str, verifier: NoteVerifier) -> Result<Self, Error> {
        Ok(Self {
            client: Client::new(url)?,
            verifier,
        })
    }

    /// The verifier key the server publishes at `<url>/log.pub` (trust on first use: pin
    /// it with the key you got out of band where it matters).
    pub fn published_key(url: &str) -> Result<NoteVerifier, Error> {
        let client = Client::new(url)?;
        let bad = |reason: &str| Error::BadReply {
            url: format!("{}/log.pub", client.base()),
            reason: reason.into(),
        };
        let text = client
            .fetch("log.pub", 4096)?
            .ok_or_else(|| bad("the server publishes no log.pub"))?;
        let text = String::from_utf8(text).map_err(|_| bad("not UTF-8"))?;
        NoteVerifier::parse(text.trim()).map_err(|e| bad(&e.to_string()))
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The current checkpoint, verified under the log's key.
    pub fn checkpoint(&self) -> Result<RemoteCheckpoint, Error> {
        let url = format!("{}/checkpoint", self.client.base());
        let signed = self
            .client
            .fetch("checkpoint", 1 << 20)?
            .ok_or_else(|| Error::BadReply {
                url: url.clone(),
                reason: "no checkpoint (404): not a tlog-tiles log prefix".into(),
            })?;
        let (checkpoint, _) = Checkpoint::open(&signed, &self.verifier)?;
        Ok(RemoteCheckpoint {
            checkpoint,
            text: String::from_utf8_lossy(&signed).into_owned(),
        })
    }

    fn prover(
        &self,
        size: u64,
    ) -> Prover<impl zt_tlog::merkle::NodeSource<Error = zt_tlog::Error> + '_> {
        Prover::new(FetchedTiles::new(size, move |path: &str| {
            self.client
                .fetch(path, MAX_FETCH)
                .map_err(|e| zt_tlog::Error::Io(std::io::Error::other(e.to_string())))
        }))
    }

    /// The root of the tree of `size` entries under checkpoint `cp`, checked: the tree of
    /// `cp.size` computed from the tiles must have the checkpoint's root, and the tree of
    /// `size` must be consistent with it.
    pub fn root_at(&self, size: u64, cp: &Checkpoint) -> Result<Hash, Error> {
        check_size(size, cp.size)?;
        let mut prover = self.prover(cp.size);
        let top = prover.root(cp.size)?;
        if top != cp.root {
            return Err(zt_tlog::Error::Corrupt {
                path: "tile/".into(),
                reason: "the served tiles do not hash to the checkpoint's root".into(),
            }
            .into());
        }
        let root = prover.root(size)?;
        let proof = prover.consistency(size, cp.size)?;
        verify_consistency(size, cp.size, &proof, &root, &cp.root).map_err(zt_tlog::Error::from)?;
        Ok(root)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries, its leaf hash and
    /// the tree's root, all checked against `cp`.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
        cp: &Checkpoint,
    ) -> Result<(Vec<Hash>, Hash, Hash), Error> {
        if index >= size {
            return Err(zt_tlog::Error::IndexOutOfRange { index, size }.into());
        }
        let root = self.root_at(size, cp)?;
        let mut prover = self.prover(cp.size);
        let proof = prover.inclusion(index, size)?;
        let leaf = prover.range_root(index, index + 1)?;
        verify_inclusion(&leaf, index, size, &proof, &root).map_err(zt_tlog::Error::from)?;
        Ok((proof, leaf, root))
    }

    /// The consistency proof from the tree of `size1` entries to that of `size2`, and both
    /// roots, checked against `cp`.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: u64,
        cp: &Checkpoint,
    ) -> Result<(Vec<Hash>, Hash, Hash), Error> {
        if size1 > size2 {
            return Err(zt_tlog::Error::SizeOutOfRange {
                size: size1,
                log_size: size2,
            }
            .into());
        }
        let root1 = self.root_at(size1, cp)?;
        let root2 = self.root_at(size2, cp)?;
        let proof = self.prover(cp.size).consistency(size1, size2)?;
        verify_consistency(size1, size2, &proof, &root1, &root2).map_err(zt_tlog::Error::from)?;
        Ok((proof, root1, root2))
    }
}

fn check_size(size: u64, log_size: u64) -> Result<(), Error> {
    if size > log_size {
        return Err(zt_tlog::Error::SizeOutOfRange { size, log_size }.into());
    }
    Ok(())
}
