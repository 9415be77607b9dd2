//! A rewritten file as a list of pieces: new bytes, and ranges of the input that are kept as
//! they are (a zip member's compressed data, most of a large archive). Nothing is copied in
//! memory to build it: the pieces are compared with the input and written to the new file
//! straight from the input's buffer.

use std::io::Write as _;
use std::ops::Range;

/// The pieces of a rewritten file, in order.
#[derive(Debug, Default)]
pub(crate) struct Assembled {
    pieces: Vec<Piece>,
    len: usize,
}

#[derive(Debug)]
enum Piece {
    New(Vec<u8>),
    Input(Range<usize>),
}

impl From<Vec<u8>> for Assembled {
    /// A file that is all new bytes (the normalisers that rebuild the whole file).
    fn from(bytes: Vec<u8>) -> Assembled {
        Assembled {
            len: bytes.len(),
            pieces: vec![Piece::New(bytes)],
        }
    }
}

impl Assembled {
    /// The length of the assembled file.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends new bytes.
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        match self.pieces.last_mut() {
            Some(Piece::New(v)) => v.extend_from_slice(bytes),
            _ => self.pieces.push(Piece::New(bytes.to_vec())),
        }
        self.len += bytes.len();
    }

    /// Appends one new byte.
    pub(crate) fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    /// Appends a range of the input, kept as it is.
    pub(crate) fn push_input(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.len += range.len();
        match self.pieces.last_mut() {
            Some(Piece::Input(r)) if r.end == range.start => r.end = range.end,
            _ => self.pieces.push(Piece::Input(range)),
        }
    }

    /// Overwrites new bytes already appended at `at` (a header field filled in after its
    /// data); `false` if that span is not one run of new bytes. Searched from the end, where
    /// such a header is.
    pub(crate) fn patch(&mut self, at: usize, bytes: &[u8]) -> bool {
        let mut end = self.len;
        for p in self.pieces.iter_mut().rev() {
            let start = end - p.len();
            if at >= start {
                return match p {
                    Piece::New(v) if at + bytes.len() <= end => {
                        v[at - start..at - start + bytes.len()].copy_from_slice(bytes);
                        true
                    }
                    _ => false,
                };
            }
            end = start;
        }
        false
    }

    /// The same file with `prefix` (a range of the outer input) in front and every input range
    /// moved by `shift`: for a normaliser that ran on `input[shift..]`.
    pub(crate) fn within(self, prefix: Range<usize>, shift: usize) -> Assembled {
        let mut out = Assembled::default();
        out.push_input(prefix);
        for p in self.pieces {
            match p {
                Piece::New(v) => out.extend_from_slice(&v),
                Piece::Input(r) => out.push_input(r.start + shift..r.end + shift),
            }
        }
        out
    }

    /// Whether the assembled file is byte for byte `input`.
    pub(crate) fn same_as(&self, input: &[u8]) -> bool {
        if self.len != input.len() {
            return false;
        }
        let mut pos = 0;
        for p in &self.pieces {
            let len = p.len();
            let same = match p {
                Piece::New(v) => input.get(pos..pos + len) == Some(v.as_slice()),
                Piece::Input(r) => {
                    r.start == pos || input.get(pos..pos + len) == input.get(r.clone())
                }
            };
            if !same {
                return false;
            }
            pos += len;
        }
        true
    }

    /// The assembled bytes.
    pub(crate) fn to_vec(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for p in &self.pieces {
            match p {
                Piece::New(v) => out.extend_from_slice(v),
                Piece::Input(r) => out.extend_from_slice(input.get(r.clone()).unwrap_or_default()),
            }
        }
        out
    }

    /// Writes the assembled file to `file`, calling `written(bytes so far)` at least every
    /// `every` bytes (after the data up to there was handed to the kernel).
    pub(crate) fn write_to(
        &self,
        input: &[u8],
        file: &std::fs::File,
        every: usize,
        mut written: impl FnMut(usize),
    ) -> std::io::Result<()> {
        // Small pieces (a zip's headers) are gathered; large ones go straight from the input.
        let mut w = std::io::BufWriter::with_capacity(256 << 10, file);
        let (mut done, mut reported) = (0usize, 0usize);
        for p in &self.pieces {
            let bytes = match p {
                Piece::New(v) => v.as_slice(),
                Piece::Input(r) => input
                    .get(r.clone())
                    .ok_or_else(|| std::io::Error::other("a kept range lies outside the input"))?,
            };
            w.write_all(bytes)?;
            done += bytes.len();
            if done - reported >= every {
                w.flush()?;
                written(done);
                reported = done;
            }
        }
        w.flush()?;
        written(done);
        Ok(())
    }
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::New(v) => v.len(),
            Piece::Input(r) => r.len(),
        }
    }
}

/// The range `part` occupies in `whole`, if it is a sub-slice of it.
pub(crate) fn range_in(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    // The same memory, not merely equal bytes.
    (end <= whole.len() && std::ptr::eq(whole[start..end].as_ptr(), part.as_ptr()))
        .then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_compare_patch_and_write_like_the_bytes_they_stand_for() {
        let input = b"0123456789abcdef";
        let mut a = Assembled::default();
        a.extend_from_slice(b"XY");
        a.push_input(2..6);
        a.push_input(6..10);
        a.push(b'!');
        assert_eq!(a.len(), 11);
        assert_eq!(a.to_vec(input), b"XY23456789!");
        assert!(a.patch(0, b"01"));
        assert!(!a.patch(3, b"zz"), "inside a kept range");
        assert!(a.patch(10, b"a"));
        assert_eq!(a.to_vec(input), b"0123456789a");
        assert!(!a.same_as(input), "shorter");
        a.push_input(11..16);
        assert!(a.same_as(input));
        let moved = a.within(0..2, 2);
        assert_eq!(moved.len(), 18);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("out");
        let file = fs_err::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut marks = Vec::new();
        let longer = b"..0123456789abcdef";
        moved
            .write_to(longer, file.file(), 4, |n| marks.push(n))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            fs_err::read(&path).unwrap_or_default(),
            b"..0123456789abcdef"
        );
        assert_eq!(marks.last(), Some(&18));
        assert!(moved.same_as(longer));
    }

    #[test]
    fn range_in_finds_sub_slices_only() {
        let whole = b"hello world".to_vec();
        assert_eq!(range_in(&whole, &whole[6..]), Some(6..11));
        assert_eq!(range_in(&whole, &whole[..0]), Some(0..0));
        let copy = whole[6..].to_vec();
        assert_eq!(range_in(&whole, &copy), None);
    }
}
