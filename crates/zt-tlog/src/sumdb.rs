//! The Go checksum database (<https://go.dev/design/25530-sumdb>, `golang.org/x/mod/sumdb`):
//! proving that a module version's `h1:` hash is the one the database logged, offline from
//! saved documents or online, with this crate's Merkle verification.
//!
//! The database is a transparency log of records, one per module version:
//!
//! ```text
//! github.com/fatih/camelcase v1.0.0 h1:hxNvNX/xYBp0ovncs8WyWZrOrpBNub/JfaMvbURyft8=
//! github.com/fatih/camelcase v1.0.0/go.mod h1:yN2Sb0lFhZJUdVvtELVWefmrXpuZESvPmqwoZc+/fpc=
//! ```
//!
//! - `GET /lookup/MODULE@VERSION` (module path and version case-escaped, `!b` for `B`) answers
//!   the record's index, the record, a blank line and a signed tree note
//!   ([`parse_lookup`]);
//! - the tree note is a C2SP signed note whose text is `go.sum database tree`, the tree size
//!   and the root hash ([`open_tree`]), signed by the database key (for `sum.golang.org`,
//!   [`GO_SUMDB_KEY`], the key compiled into the `go` command);
//! - the tree's hashes are served as tiles of height 8 under `tile/8/L/N[.p/W]` (the
//!   tlog-tiles layout with the height as the first path element);
//! - a record's leaf hash is RFC 6962's `SHA-256(0x00 ‖ record)`, so its inclusion proof is
//!   the ordinary one, computed here from the tiles and checked against the signed root.
//!
//! [`verify_module`] does all of it through a `fetch` function that maps a path relative to
//! the database (`lookup/…`, `tile/8/…`) to its bytes: a directory laid out like the `go`
//! command's cache (`$GOMODCACHE/cache/download/sumdb/sum.golang.org/`) offline, or HTTP
//! online. The tiles need not be trusted: a wrong hash in one makes the proof fail.
//!
//! ```no_run
//! use zt_tlog::NoteVerifier;
//! use zt_tlog::sumdb::{GO_SUMDB_KEY, verify_module};
//! let key = NoteVerifier::parse(GO_SUMDB_KEY).unwrap();
//! let dir = std::path::Path::new("sum.golang.org");
//! let found = verify_module(&key, "github.com/fatih/camelcase", "v1.0.0",
//!     "h1:hxNvNX/xYBp0ovncs8WyWZrOrpBNub/JfaMvbURyft8=", |p: &str| {
//!         match std::fs::read(dir.join(p)) {
//!             Ok(b) => Ok(Some(b)),
//!             Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
//!             Err(e) => Err(e.into()),
//!         }
//!     }).unwrap();
//! println!("record {} in tree {}", found.record_id, found.tree_size);
//! ```

use crate::checkpoint::Checkpoint;
use crate::error::Error;
use crate::merkle::{Prover, leaf_hash, verify_inclusion};
use crate::note::{Note, NoteVerifier};
use crate::tiles::FetchedTiles;

/// The verifier key of `sum.golang.org`, as compiled into the `go` command.
pub const GO_SUMDB_KEY: &str =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
/// The first line of every tree note the database signs.
pub const TREE_ORIGIN: &str = "go.sum database tree";
/// Lookup responses larger than this are refused (a record is two lines).
pub const MAX_LOOKUP_SIZE: usize = 64 << 10;

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Sumdb {
        what,
        reason: reason.into(),
    }
}

/// A `/lookup/` response split into its parts (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The record's index in the log.
    pub id: u64,
    /// The record text (its lines, each ending in a newline): the leaf.
    pub record: &'a [u8],
    /// The signed tree note that follows.
    pub tree_note: &'a [u8],
}

/// Splits a `/lookup/` response: a decimal record id line, the record text up to a blank
/// line, then the signed tree note (as `golang.org/x/mod/sumdb/tlog.ParseRecord`).
pub fn parse_lookup(bytes: &[u8]) -> Result<Lookup<'_>, Error> {
    let what = "lookup response";
    if bytes.len() > MAX_LOOKUP_SIZE {
        return Err(malformed(
            what,
            format!("{} bytes is more than a record", bytes.len()),
        ));
    }
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| malformed(what, "no record id line"))?;
    let (id_line, rest) = bytes.split_at(nl);
    let rest = rest.get(1..).unwrap_or_default();
    let id = std::str::from_utf8(id_line)
        .ok()
        .and_then(crate::checkpoint::parse_decimal)
        .ok_or_else(|| {
            malformed(
                what,
                "the first line is not a record id (a decimal number without leading zeros)",
            )
        })?;
    let end = rest
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| malformed(what, "no blank line between the record and the tree note"))?;
    let (record, tree_note) = (&rest[..=end], &rest[end + 2..]);
    if record.contains(&0) {
        return Err(malformed(what, "the record contains a NUL byte"));
    }
    Ok(Lookup {
        id,
        record,
        tree_note,
    })
}

/// Parses a signed tree note and checks the database's signature on it: the text must be
/// `go.sum database tree`, a size and a root hash (later lines are allowed, as the Go
/// client ignores them). Signatures by other keys (witnesses) are not checked here.
pub fn open_tree(note: &[u8], key: &NoteVerifier) -> Result<Checkpoint, Error> {
    let parsed = Note::parse(note)?;
    parsed.verify(key)?;
    let tree = Checkpoint::parse_body(parsed.text())?;
    if tree.origin != TREE_ORIGIN {
        return Err(Error::OriginMismatch {
            expected: TREE_ORIGIN.into(),
            found: tree.origin,
        });
    }
    Ok(tree)
}

/// Escapes a module path or version for a URL or file name as the `go` command does
/// (`golang.org/x/mod/module.EscapePath`): each upper-case letter becomes `!` and the
/// lower-case letter. Refuses what the `go` command would never look up: an empty string,
/// `!`, control characters, spaces, `..` elements and leading or trailing `/`.
pub fn escape(s: &str) -> Result<String, Error> {
    let bad = |why: &str| malformed("module path", format!("`{s}`: {why}"));
    if s.is_empty() {
        return Err(bad("empty"));
    }
    if s.starts_with('/') || s.ends_with('/') || s.split('/').any(|e| e.is_empty() || e == "..") {
        return Err(bad("an empty or `..` path element"));
    }
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c == '!' || c.is_control() || c.is_whitespace() || c == '\\' || c == '@' {
            return Err(bad("a character module paths cannot hold"));
        }
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The path of a module version's lookup, relative to the database: `lookup/MODULE@VERSION`,
/// both escaped.
pub fn lookup_path(module: &str, version: &str) -> Result<String, Error> {
    if version.contains('/') {
        return Err(malformed(
            "module version",
            format!("`{version}` holds a `/`"),
        ));
    }
    Ok(format!("lookup/{}@{}", escape(module)?, escape(version)?))
}

/// What [`verify_module`] proved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SumdbRecord {
    /// The database key's name (`sum.golang.org`).
    pub database: String,
    /// The module path.
    pub module: String,
    /// The module version.
    pub version: String,
    /// The module zip's hash the record holds (and the archive has): `h1:…`.
    pub hash: String,
    /// The record's `go.mod` hash, if it holds one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_mod_hash: Option<String>,
    /// The record's index in the log.
    pub record_id: u64,
    /// The size of the signed tree the record was proved in.
    pub tree_size: u64,
    /// That tree's root hash (standard base64, as in the note).
    pub tree_root: String,
    /// The signed tree note, as served.
    pub tree_note: String,
    /// The number of hashes in the inclusion proof.
    pub proof_hashes: usize,
}

/// Proves that the checksum database signed by `key` logged `hash` (`h1:…`) as the hash of
/// `module@version`: fetches the lookup, checks the tree note's signature, finds the record's
/// line for the module zip and compares the hash, then proves the record's inclusion in the
/// signed tree from the tiles. `fetch` maps a path relative to the database (`lookup/…`,
/// `tile/8/…`) to its bytes, or `None` when there is no such document.
pub fn verify_module<F>(
    key: &NoteVerifier,
    module: &str,
    version: &str,
    hash: &str,
    mut fetch: F,
) -> Result<SumdbRecord, Error>
where
    F: FnMut(&str) -> Result<Option<Vec<u8>>, Error>,
{
    let path = lookup_path(module, version)?;
    let body = fetch(&path)?.ok_or_else(|| Error::SumdbNoRecord {
        module: module.into(),
        version: version.into(),
        path: path.clone(),
    })?;
    let lookup = parse_lookup(&body)?;
    let tree = open_tree(lookup.tree_note, key)?;
    if lookup.id >= tree.size {
        return Err(malformed(
            "lookup response",
            format!(
                "record {} is not in the signed tree of size {}",
                lookup.id, tree.size
            ),
        ));
    }

    // The record: every line `MODULE VERSION[/go.mod] h1:HASH`, about this module version.
    let text = std::str::from_utf8(lookup.record).map_err(|_| malformed("record", "not UTF-8"))?;
    let (mut zip_hash, mut go_mod_hash) = (None, None);
    for line in text.lines() {
        let mut f = line.split(' ');
        let (Some(m), Some(v), Some(h), None) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(malformed(
                "record",
                format!("`{line}` is not `module version hash`"),
            ));
        };
        if m != module {
            return Err(malformed(
                "record",
                format!("it is about `{m}`, not `{module}`"),
            ));
        }
        if v == version {
            zip_hash = Some(h.to_owned());
        } else if v.strip_suffix("/go.mod") == Some(version) {
            go_mod_hash = Some(h.to_owned());
        } else {
            return Err(malformed(
                "record",
                format!("it is about version `{v}`, not `{version}`"),
            ));
        }
    }
    let logged = zip_hash.ok_or_else(|| {
        malformed(
            "record",
            format!("no line for the module zip of `{module}@{version}`"),
        )
    })?;

    // The record's inclusion in the signed tree, from the tiles (height 8, `tile/8/…`).
    let size = tree.size;
    let mut prover = Prover::new(FetchedTiles::new(size, |p: &str| {
        let go_path = format!("tile/8/{}", p.strip_prefix("tile/").unwrap_or(p));
        fetch(&go_path)
    }));
    let proof = prover.inclusion(lookup.id, size)?;
    verify_inclusion(
        &leaf_hash(lookup.record),
        lookup.id,
        size,
        &proof,
        &tree.root,
    )
    .map_err(|e| Error::SumdbProof {
        module: module.into(),
        version: version.into(),
        reason: e.to_string(),
    })?;

    // Only a logged record is compared: a mismatch is then the archive's fault.
    if logged != hash {
        return Err(Error::SumdbHashMismatch {
            module: module.into(),
            version: version.into(),
            logged,
            found: hash.into(),
        });
    }
    use base64::Engine as _;
    Ok(SumdbRecord {
        database: key.name().into(),
        module: module.into(),
        version: version.into(),
        hash: logged,
        go_mod_hash,
        record_id: lookup.id,
        tree_size: size,
        tree_root: base64::engine::general_purpose::STANDARD.encode(tree.root),
        tree_note: String::from_utf8_lossy(lookup.tree_note).into_owned(),
        proof_hashes: proof.len(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::merkle::MemoryTree;
    use crate::note::NoteSigner;
    use crate::tiles::{TILE_WIDTH, encode_tile, tile_path};
    use std::collections::HashMap;

    #[test]
    fn escape_is_the_go_commands() {
        assert_eq!(
            escape("github.com/BurntSushi/toml").unwrap(),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(escape("v1.0.0-RC1").unwrap(), "v1.0.0-!r!c1");
        for bad in ["", "/a", "a/", "a//b", "a/../b", "a!b", "a b", "a@b"] {
            assert!(escape(bad).is_err(), "{bad:?}");
        }
        assert!(lookup_path("a.com/b", "v1/x").is_err());
    }

    #[test]
    fn lookup_parts() {
        let l = parse_lookup(b"7\na v1 h1:x\na v1/go.mod h1:y\n\ngo.sum database tree\n").unwrap();
        assert_eq!(l.id, 7);
        assert_eq!(l.record, b"a v1 h1:x\na v1/go.mod h1:y\n");
        assert_eq!(l.tree_note, b"go.sum database tree\n");
        for bad in [
            &b"07\na\n\nn"[..],
            b"x\na\n\nn",
            b"7\na\nn",
            b"7",
            b"7\na\0\n\nn",
        ] {
            assert!(parse_lookup(bad).is_err(), "{bad:?}");
        }
    }

    /// A database of `n` records served from memory, as a test server would.
    struct Db {
        signer: NoteSigner,
        docs: HashMap<String, Vec<u8>>,
    }

    fn record(i: u64) -> String {
        format!("example.com/m{i} v1.0.{i} h1:{i}=\nexample.com/m{i} v1.0.{i}/go.mod h1:g{i}=\n")
    }

    fn db(n: u64) -> Db {
        let signer = NoteSigner::new(
            "sum.example",
            ed25519_dalek::SigningKey::from_bytes(&[3; 32]),
        )
        .unwrap();
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.push(record(i).as_bytes());
        }
        let mut docs = HashMap::new();
        let root = tree.prover().root(n).unwrap();
        let note = Checkpoint::new(TREE_ORIGIN, n, root).sign(&signer).unwrap();
        // every tile of the tree, full and partial, under tile/8/
        for level in 0..4u8 {
            let hashes = tree.level(usize::from(level) * 8);
            for (i, chunk) in hashes.chunks(TILE_WIDTH).enumerate() {
                let w = if chunk.len() == TILE_WIDTH {
                    TILE_WIDTH
                } else {
                    chunk.len()
                };
                let p = tile_path(level, i as u64, w);
                docs.insert(
                    format!("tile/8/{}", &p["tile/".len()..]),
                    encode_tile(chunk),
                );
            }
        }
        for i in 0..n {
            docs.insert(
                lookup_path(&format!("example.com/m{i}"), &format!("v1.0.{i}")).unwrap(),
                format!("{i}\n{}\n{note}", record(i)).into_bytes(),
            );
        }
        Db { signer, docs }
    }

    fn check(db: &Db, i: u64, hash: &str) -> Result<SumdbRecord, Error> {
        verify_module(
            db.signer.verifier(),
            &format!("example.com/m{i}"),
            &format!("v1.0.{i}"),
            hash,
            |p: &str| Ok(db.docs.get(p).cloned()),
        )
    }

    #[test]
    fn every_record_of_a_tree_proves_and_a_wrong_hash_is_refused() {
        for n in [1u64, 2, 255, 256, 257, 700] {
            let db = db(n);
            for i in [0, n / 2, n - 1] {
                let r = check(&db, i, &format!("h1:{i}=")).unwrap();
                assert_eq!((r.record_id, r.tree_size), (i, n));
                assert_eq!(r.go_mod_hash.as_deref(), Some(format!("h1:g{i}=").as_str()));
                assert!(matches!(
                    check(&db, i, "h1:other="),
                    Err(Error::SumdbHashMismatch { .. })
                ));
            }
        }
    }

    #[test]
    fn a_forged_record_a_bad_tile_or_another_key_is_refused() {
        let mut db = db(300);
        // the record for m5 rewritten (as a malicious proxy would) under the real tree note
        let p5 = lookup_path("example.com/m5", "v1.0.5").unwrap();
        let doc = String::from_utf8(db.docs[&p5].clone()).unwrap();
        db.docs
            .insert(p5.clone(), doc.replace("h1:5=", "h1:evil=").into_bytes());
        assert!(matches!(
            check(&db, 5, "h1:evil="),
            Err(Error::SumdbProof { .. })
        ));
        // a tile with one wrong hash breaks the proofs that pass through it
        let t = "tile/8/0/000".to_owned();
        let mut tile = db.docs[&t].clone();
        tile[32 * 9] ^= 1;
        db.docs.insert(t, tile);
        assert!(check(&db, 8, "h1:8=").is_err());
        // a lookup missing from the database
        assert!(matches!(
            check(&db, 999, "h1:999="),
            Err(Error::SumdbNoRecord { .. })
        ));
        // another key with the same name signs nothing the real one accepts
        let other = NoteSigner::new(
            "sum.example",
            ed25519_dalek::SigningKey::from_bytes(&[4; 32]),
        )
        .unwrap();
        let r = verify_module(
            other.verifier(),
            "example.com/m1",
            "v1.0.1",
            "h1:1=",
            |p: &str| Ok(db.docs.get(p).cloned()),
        );
        assert!(matches!(r, Err(Error::Note(_))), "{r:?}");
    }
}
