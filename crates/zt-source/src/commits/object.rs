//! A commit object as git writes it: headers, the signature header, and the signed payload.
//!
//! The payload is what git signs and verifies: the object's bytes with every line of the
//! `gpgsig` and `gpgsig-sha256` headers (and their continuation lines) removed, exactly as
//! git's `parse_buffer_signed_by_header` builds it.

use gix::ObjectId;

/// A person line (`author`, `committer`): `Name <email> seconds tz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name.
    pub name: String,
    /// The e-mail address, without the angle brackets.
    pub email: String,
    /// Seconds since the epoch, as the person claimed (not trusted).
    pub time: i64,
}

/// A commit, parsed.
#[derive(Debug, Clone)]
pub struct Commit {
    /// Its id.
    pub id: ObjectId,
    /// The root tree.
    pub tree: ObjectId,
    /// The parents, in order.
    pub parents: Vec<ObjectId>,
    /// The author.
    pub author: Person,
    /// The committer.
    pub committer: Person,
    /// The first line of the message.
    pub summary: String,
    /// The signature (`gpgsig`, else `gpgsig-sha256`) with the header's indentation removed.
    pub signature: Option<Vec<u8>>,
    /// The signed bytes: the object without its signature headers.
    pub payload: Vec<u8>,
    /// The object's bytes as stored.
    pub raw: Vec<u8>,
}

/// Splits a commit object into payload and signature the way git does. `header` is the
/// signature header of the repository's hash (`gpgsig` for SHA-1); the other `gpgsig*`
/// headers are dropped from the payload. Returns `(payload, signature)`.
pub fn split_signature(buf: &[u8], header: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut payload = Vec::with_capacity(buf.len());
    let mut signature: Vec<u8> = Vec::new();
    let (mut in_sig, mut saw, mut other) = (false, false, false);
    let mut pos = 0;
    while pos < buf.len() {
        let rest = buf.get(pos..).unwrap_or_default();
        let mut next = memchr::memchr(b'\n', rest).map_or(buf.len(), |i| pos + i + 1);
        let line = buf.get(pos..next).unwrap_or_default();
        let sig = if in_sig && line.first() == Some(&b' ') {
            line.get(1..)
        } else if line.starts_with(header) && line.get(header.len()) == Some(&b' ') {
            other = false;
            line.get(header.len() + 1..)
        } else {
            if line.starts_with(b"gpgsig") {
                other = true;
            } else if other && line.first() != Some(&b' ') {
                other = false;
            }
            None
        };
        if let Some(sig) = sig {
            signature.extend_from_slice(sig);
            saw = true;
            in_sig = true;
        } else {
            if line.first() == Some(&b'\n') {
                next = buf.len();
            }
            if !other {
                payload.extend_from_slice(buf.get(pos..next).unwrap_or_default());
            }
            in_sig = false;
        }
        pos = next;
    }
    (payload, saw.then_some(signature))
}

fn parse_person(v: &[u8]) -> Option<Person> {
    let s = String::from_utf8_lossy(v);
    let lt = s.find('<')?;
    let gt = s.rfind('>')?;
    let name = s.get(..lt)?.trim().to_string();
    let email = s.get(lt + 1..gt)?.to_string();
    let time = s
        .get(gt + 1..)?
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    Some(Person { name, email, time })
}

impl Commit {
    /// Parses the raw object `raw` of commit `id`.
    pub fn parse(id: ObjectId, raw: Vec<u8>) -> Result<Self, String> {
        let (mut payload, mut signature) = split_signature(&raw, b"gpgsig");
        if signature.is_none() {
            (payload, signature) = split_signature(&raw, b"gpgsig-sha256");
        }
        let mut tree = None;
        let mut parents = Vec::new();
        let (mut author, mut committer) = (None, None);
        let mut summary = String::new();
        let mut lines = raw.split(|b| *b == b'\n');
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            let (key, value) = match line.iter().position(|b| *b == b' ') {
                Some(i) => (
                    line.get(..i).unwrap_or_default(),
                    line.get(i + 1..).unwrap_or_default(),
                ),
                None => (line, &b""[..]),
            };
            let hex = |v: &[u8]| ObjectId::from_hex(v).map_err(|e| format!("bad object id: {e}"));
            match key {
                b"tree" => tree = Some(hex(value)?),
                b"parent" => parents.push(hex(value)?),
                b"author" => author = parse_person(value),
                b"committer" => committer = parse_person(value),
                _ => {}
            }
        }
        if let Some(first) = lines.find(|l| !l.is_empty()) {
            summary = String::from_utf8_lossy(first).into_owned();
        }
        Ok(Self {
            id,
            tree: tree.ok_or("no tree header")?,
            parents,
            author: author.ok_or("no author header")?,
            committer: committer.ok_or("no committer header")?,
            summary,
            signature,
            payload,
            raw,
        })
    }

    /// The object as git hashes it: `commit <len>\0` followed by the raw bytes.
    pub fn object_bytes(&self) -> Vec<u8> {
        let mut v = format!("commit {}\0", self.raw.len()).into_bytes();
        v.extend_from_slice(&self.raw);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <a@example.com> 1700000000 +0000\n\
committer A U Thor <a@example.com> 1700000000 +0000\n\
gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\
gpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n abc\n -----END PGP SIGNATURE-----\n\
\n\
subject\n\nbody\n gpgsig not a header\n";

    #[test]
    fn payload_drops_both_signature_headers_and_keeps_the_message() {
        let (payload, sig) = split_signature(SIGNED, b"gpgsig");
        assert_eq!(
            sig.as_deref(),
            Some(&b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"[..])
        );
        let expected = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A U Thor <a@example.com> 1700000000 +0000\n\
committer A U Thor <a@example.com> 1700000000 +0000\n\
\n\
subject\n\nbody\n gpgsig not a header\n";
        assert_eq!(payload, expected);
        let (payload2, sig2) = split_signature(SIGNED, b"gpgsig-sha256");
        assert_eq!(payload2, expected);
        assert_eq!(
            sig2.as_deref(),
            Some(&b"-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"[..])
        );
    }

    #[test]
    fn parses_headers() {
        let id = ObjectId::null(gix::hash::Kind::Sha1);
        let c = Commit::parse(id, SIGNED.to_vec()).unwrap();
        assert!(c.parents.is_empty());
        assert_eq!(c.author.email, "a@example.com");
        assert_eq!(c.committer.time, 1_700_000_000);
        assert_eq!(c.summary, "subject");
        assert!(c.signature.is_some());
    }

    proptest::proptest! {
        #[test]
        fn split_never_panics_and_payload_is_a_subsequence(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let (payload, sig) = split_signature(&data, b"gpgsig");
            proptest::prop_assert!(payload.len() + sig.map_or(0, |s| s.len()) <= data.len() + 1);
            let id = ObjectId::null(gix::hash::Kind::Sha1);
            let _ = Commit::parse(id, data);
        }

        #[test]
        fn a_signature_header_round_trips(lines in proptest::collection::vec("[A-Za-z0-9+/=-]{1,30}", 1..6)) {
            let sig = lines.join("\n ");
            let raw = format!("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\ngpgsig {sig}\n\nmsg\n");
            let (payload, got) = split_signature(raw.as_bytes(), b"gpgsig");
            proptest::prop_assert_eq!(got, Some(format!("{}\n", lines.join("\n")).into_bytes()));
            proptest::prop_assert_eq!(payload, b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nmsg\n".to_vec());
        }
    }

    #[test]
    fn unsigned_commit_payload_is_the_object() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nm\n";
        let (payload, sig) = split_signature(raw, b"gpgsig");
        assert_eq!(payload, raw);
        assert!(sig.is_none());
    }
}
