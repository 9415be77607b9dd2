//! The C2SP tlog-tiles layout (<https://c2sp.org/tlog-tiles>): where each tile and entry bundle
//! lives under the log directory, and reading subtree hashes back out of tiles.
//!
//! A tile at level `L` holds up to 256 consecutive hashes of level-`8L` subtrees; a full tile
//! is `tile/<L>/<N>`, a partial one `tile/<L>/<N>.p/<W>`. `<N>` is written in zero-padded
//! three-digit path elements, all but the last prefixed with `x` (1234067 →
//! `x001/x234/067`). Entry bundles (`tile/entries/<N>[.p/<W>]`) hold the entries of the
//! matching level-0 tile, each prefixed with its big-endian u16 length.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::Error;
use crate::merkle::{HASH_SIZE, Hash, NodeSource, node_hash};

/// Tile height: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: usize = 256;
/// The largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// `<N>` as tlog-tiles writes it: 3-digit groups, all but the last prefixed with `x`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The path of a hash tile relative to the log directory. `width` is 1..=256; 256 is a full
/// tile.
pub fn tile_path(level: u8, index: u64, width: usize) -> String {
    with_width(format!("tile/{level}/{}", encode_index(index)), width)
}

/// The path of an entry bundle relative to the log directory.
pub fn entries_path(index: u64, width: usize) -> String {
    with_width(format!("tile/entries/{}", encode_index(index)), width)
}

fn with_width(base: String, width: usize) -> String {
    if width >= TILE_WIDTH {
        base
    } else {
        format!("{base}.p/{width}")
    }
}

/// The number of full tiles at `level` in a tree of `size` leaves, and the width of the
/// partial tile after them (0 if none).
pub fn tiles_at(level: u8, size: u64) -> (u64, usize) {
    let shift = TILE_HEIGHT * u32::from(level);
    let at_level = size.checked_shr(shift).unwrap_or(0);
    (at_level >> TILE_HEIGHT, (at_level & 0xff) as usize)
}

/// Encodes an entry bundle.
pub fn encode_bundle(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for e in entries {
        // Callers refuse entries over MAX_ENTRY_SIZE before they get here.
        let len = u16::try_from(e.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&e[..usize::from(len)]);
    }
    out
}

/// Decodes an entry bundle; `None` if a length prefix runs past the end.
pub fn decode_bundle(mut bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return None;
        }
        let (e, rest) = rest.split_at(len);
        out.push(e.to_vec());
        bytes = rest;
    }
    Some(out)
}

/// Splits a tile file into hashes; `None` unless its length is a whole number of hashes.
pub fn decode_tile(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(HASH_SIZE) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(HASH_SIZE)
            .filter_map(|c| Hash::try_from(c).ok())
            .collect(),
    )
}

/// Concatenates hashes into a tile file.
pub fn encode_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// The root of a perfect subtree whose leaves are `hashes` (a power-of-two count).
pub fn perfect_root(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        0 => crate::merkle::empty_root(),
        1 => hashes[0],
        n => {
            let (l, r) = hashes.split_at(n / 2);
            node_hash(&perfect_root(l), &perfect_root(r))
        }
    }
}

/// Reads complete subtree hashes of a tree of `size` leaves from its tiles: full tiles from
/// disk (each read once), the rightmost partial tile of each level from memory.
pub(crate) struct TileReader<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) size: u64,
    pub(crate) edge: &'a [Vec<Hash>],
    cache: HashMap<(u8, u64), Rc<Vec<Hash>>>,
}

impl<'a> TileReader<'a> {
    pub(crate) fn new(dir: &'a Path, size: u64, edge: &'a [Vec<Hash>]) -> Self {
        Self {
            dir,
            size,
            edge,
            cache: HashMap::new(),
        }
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<Rc<Vec<Hash>>, Error> {
        if let Some(t) = self.cache.get(&(level, index)) {
            return Ok(Rc::clone(t));
        }
        let (full, width) = tiles_at(level, self.size);
        let tile = if index < full {
            let path: PathBuf = self.dir.join(tile_path(level, index, TILE_WIDTH));
            let bytes = fs_err::read(&path)?;
            match decode_tile(&bytes) {
                Some(t) if t.len() == TILE_WIDTH => t,
                _ => {
                    return Err(Error::Corrupt {
                        path,
                        reason: format!("a full tile is {} bytes, not 8192", bytes.len()),
                    });
                }
            }
        } else if index == full && width > 0 {
            match self.edge.get(usize::from(level)) {
                Some(t) if t.len() == width => t.clone(),
                _ => return Err(self.missing(level, index)),
            }
        } else {
            return Err(self.missing(level, index));
        };
        let tile = Rc::new(tile);
        self.cache.insert((level, index), Rc::clone(&tile));
        Ok(tile)
    }

    fn missing(&self, level: u8, index: u64) -> Error {
        Error::Corrupt {
            path: self.dir.join(tile_path(level, index, TILE_WIDTH)),
            reason: format!("no such tile in a tree of size {}", self.size),
        }
    }
}

impl NodeSource for TileReader<'_> {
    type Error = Error;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Error> {
        let tile_level = level / TILE_HEIGHT as u8;
        let r = u32::from(level % TILE_HEIGHT as u8);
        let first = index << r;
        let count = 1usize << r;
        let tile = self.tile(tile_level, first >> TILE_HEIGHT)?;
        let offset = (first & 0xff) as usize;
        match tile.get(offset..offset + count) {
            Some(hashes) => Ok(perfect_root(hashes)),
            None => Err(self.missing(tile_level, first >> TILE_HEIGHT)),
        }
    }
}

/// Reads complete subtree hashes of a tree of `size` leaves from tiles fetched one by one
/// (over HTTP from a log served in the tlog-tiles layout, say): `fetch` gets a path such as
/// `tile/0/x001/234` and returns its bytes, or `None` if there is no such file. A partial tile
/// that is gone (its full tile was published since, which tlog-tiles allows) is read from
/// the full tile instead. Every tile is checked for length; the hashes themselves are
/// checked by whoever verifies the resulting proof against a signed checkpoint.
pub struct FetchedTiles<F> {
    size: u64,
    fetch: F,
    cache: HashMap<(u8, u64), Rc<Vec<Hash>>>,
}

impl<F: FnMut(&str) -> Result<Option<Vec<u8>>, Error>> FetchedTiles<F> {
    /// Tiles of the tree of `size` leaves, read through `fetch`.
    pub fn new(size: u64, fetch: F) -> Self {
        Self {
            size,
            fetch,
            cache: HashMap::new(),
        }
    }

    fn get(&mut self, level: u8, index: u64, width: usize) -> Result<Option<Vec<Hash>>, Error> {
        let path = tile_path(level, index, width);
        let Some(bytes) = (self.fetch)(&path)? else {
            return Ok(None);
        };
        match decode_tile(&bytes) {
            Some(t) if t.len() >= width => Ok(Some(t[..width].to_vec())),
            _ => Err(Error::Corrupt {
                path: PathBuf::from(path),
                reason: format!(
                    "the tile is {} bytes, not {} hashes of 32 bytes",
                    bytes.len(),
                    width
                ),
            }),
        }
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<Rc<Vec<Hash>>, Error> {
        if let Some(t) = self.cache.get(&(level, index)) {
            return Ok(Rc::clone(t));
        }
        let (full, width) = tiles_at(level, self.size);
        let want = if index < full {
            TILE_WIDTH
        } else if index == full && width > 0 {
            width
        } else {
            0
        };
        let size = self.size;
        let missing = move || Error::Corrupt {
            path: PathBuf::from(tile_path(level, index, TILE_WIDTH)),
            reason: format!("no such tile in a tree of size {size}"),
        };
        if want == 0 {
            return Err(missing());
        }
        let tile = match self.get(level, index, want)? {
            Some(t) => t,
            // A partial tile may be removed once its full tile exists.
            None if want < TILE_WIDTH => self.get(level, index, TILE_WIDTH)?.ok_or_else(missing)?,
            None => return Err(missing()),
        };
        let mut tile = tile;
        tile.truncate(want);
        let tile = Rc::new(tile);
        self.cache.insert((level, index), Rc::clone(&tile));
        Ok(tile)
    }
}

impl<F: FnMut(&str) -> Result<Option<Vec<u8>>, Error>> NodeSource for FetchedTiles<F> {
    type Error = Error;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Error> {
        let tile_level = level / TILE_HEIGHT as u8;
        let r = u32::from(level % TILE_HEIGHT as u8);
        let first = index << r;
        let count = 1usize << r;
        let tile = self.tile(tile_level, first >> TILE_HEIGHT)?;
        let offset = (first & 0xff) as usize;
        match tile.get(offset..offset + count) {
            Some(hashes) => Ok(perfect_root(hashes)),
            None => Err(Error::Corrupt {
                path: PathBuf::from(tile_path(tile_level, first >> TILE_HEIGHT, TILE_WIDTH)),
                reason: format!("the tile is too short for a tree of size {}", self.size),
            }),
        }
    }
}

/// Whether `path` (relative, `/`-separated) is a tlog-tiles resource: `tile/<L>/<N>` or
/// `tile/entries/<N>`, optionally `.p/<W>` with `W` in 1..=255. Anything else — `private/`,
/// `..`, a key file — is not. Servers use this to serve a log directory without exposing
/// more than the layout.
pub fn is_tile_path(path: &str) -> bool {
    let mut parts = path.split('/');
    if parts.next() != Some("tile") {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    let Some((first, rest)) = rest.split_first() else {
        return false;
    };
    let level_ok = *first == "entries"
        || (matches!(first.len(), 1 | 2)
            && first.bytes().all(|b| b.is_ascii_digit())
            && (first.len() == 1 || !first.starts_with('0')));
    if !level_ok || rest.is_empty() {
        return false;
    }
    // `.p/<W>` at the end.
    let (index, width) = match rest.len() {
        n if n >= 2 && rest[n - 2].ends_with(".p") => (
            [&rest[..n - 2], &[rest[n - 2].trim_end_matches(".p")]].concat(),
            Some(rest[n - 1]),
        ),
        _ => (rest.to_vec(), None),
    };
    if let Some(w) = width {
        let ok = !w.is_empty()
            && w.bytes().all(|b| b.is_ascii_digit())
            && !w.starts_with('0')
            && w.parse::<u16>().is_ok_and(|w| (1..=255).contains(&w));
        if !ok {
            return false;
        }
    }
    let Some((last, groups)) = index.split_last() else {
        return false;
    };
    let digits3 = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit());
    digits3(last)
        && groups
            .iter()
            .all(|g| g.strip_prefix('x').is_some_and(digits3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_follows_the_spec() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(2, 3, 17), "tile/2/003.p/17");
        assert_eq!(entries_path(1, 5), "tile/entries/001.p/5");
    }

    #[test]
    fn tile_counts_match_the_spec_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
        // 17, and one partial level 2 tile of width 1."
        assert_eq!(tiles_at(0, 70_000), (273, 112));
        assert_eq!(tiles_at(1, 70_000), (1, 17));
        assert_eq!(tiles_at(2, 70_000), (0, 1));
        assert_eq!(tiles_at(3, 70_000), (0, 0));
        assert_eq!(tiles_at(1, 256), (0, 1));
        assert_eq!(tiles_at(7, u64::MAX), (0, 255));
        assert_eq!(tiles_at(8, u64::MAX), (0, 0));
    }

    #[test]
    fn bundles_round_trip_and_truncation_is_caught() {
        let entries = vec![b"a".to_vec(), Vec::new(), vec![7; 300]];
        let b = encode_bundle(&entries);
        assert_eq!(decode_bundle(&b).unwrap(), entries);
        assert!(decode_bundle(&b[..b.len() - 1]).is_none());
        assert!(decode_bundle(&[0]).is_none());
    }

    #[test]
    fn tile_paths_are_recognised_and_nothing_else() {
        for ok in [
            "tile/0/000",
            "tile/0/x001/x234/067",
            "tile/2/003.p/17",
            "tile/entries/001.p/5",
            "tile/entries/x001/000",
            "tile/0/000.p/255",
        ] {
            assert!(is_tile_path(ok), "{ok}");
        }
        for bad in [
            "",
            "checkpoint",
            "log.pub",
            "private/log.key",
            "tile",
            "tile/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/../private/log.key",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/017",
            "tile/0/001/000",
            "tile/x/000",
            "tile/0/000/",
            "tile//000",
            "tile/0/000.p/",
            "tile/0/.zt-tmp-abc",
        ] {
            assert!(!is_tile_path(bad), "{bad}");
        }
        for l in 0..8u8 {
            for n in [0, 5, 999, 1000, 1_234_067] {
                assert!(is_tile_path(&tile_path(l, n, 256)));
                assert!(is_tile_path(&tile_path(l, n, 7)));
                assert!(is_tile_path(&entries_path(n, 9)));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn tile_path_checks_never_panic(path in "\\PC{0,80}") {
            let _ = is_tile_path(&path);
        }

        #[test]
        fn every_tile_the_layout_names_is_accepted(
            level in 0u8..64,
            index in proptest::num::u64::ANY,
            width in 1usize..=256,
        ) {
            proptest::prop_assert!(is_tile_path(&tile_path(level, index, width)));
            proptest::prop_assert!(is_tile_path(&entries_path(index, width)));
            // Nothing outside `tile/` ever is.
            let outside = tile_path(level, index, width).replacen("tile/", "private/", 1);
            proptest::prop_assert!(!is_tile_path(&outside));
        }
    }
}
