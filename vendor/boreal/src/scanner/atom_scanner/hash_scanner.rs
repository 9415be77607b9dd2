//! Provides [`HashScanner`], used to scan all atoms in a single pass.
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

use super::AtomMatch;
use crate::atoms::Atom;
use crate::scanner::ScanError;

// Scanner of extracted atoms, in a single pass.
//
// This scanner is tailor made for how boreal extracts and uses atoms to
// search for literals matches.
//
// The idea is fairly simple: since atoms are 4 bytes max, they can be
// represented as a u32 value. A simple algorithm could thus just be to use a
// `HashMap<u32, Vec<usize>>`, mapping each atom to the list of indices of
// those atoms.
//
// Obviously, this would be fairly unoptimized, so the rest of the code is
// there to make this as fast as possible by layering different levels of
// filters, each one trying to reject non atoms as cheaply as possible
// (since most of the scanned data won't match).
//
// A more detailed implementation explanation is as follows:
//
// - Atoms are stored per width in 4 different tables (1 byte, 2 bytes,
//   3 bytes, 4 bytes).
// - A bloom filter is added in front of the map of each table, to cheaply
//   reject non matches. Each filter is between 8KB and 2MB.
// - A prefix check is added before the bloom filters of each map. This maps
//   the u16 prefix of the atom to a bitmap indicating which widths may
//   contain atoms with this prefix. This prefix table is 64k.
// - Scan is done on blocks on 64 bytes, with a double pass being used:
//   - The first pass computes a u64 bitmap indicating which offset may
//     have atoms (using a precomputed 64k array on u16 prefixes).
//   - The second pass loads the u32 atom on those offsets and checks in
//     order: the prefix table, the bloom filters, and finally the maps.
#[derive(Debug)]
pub struct HashScanner {
    width1: Option<Width1Table>,
    width2: FixedWidthTable,
    width3: FixedWidthTable,
    width4: FixedWidthTable,

    // Indicates if there are atoms that start with the
    // given u16 value (or atoms of width1 starting with
    // the least significant byte).
    can_start: Box<[bool; 65536]>,

    // 64k array indicating for a u16 value, which widths
    // contains atoms that has this u16 value as LSB.
    //
    // This gives a very cheap way to skip some width scanner
    // on non matching u32 values.
    widths_per_hw: Box<[u8; 65536]>,

    // List of patterns that match on every byte
    empty_patterns: Vec<u32>,
}

impl HashScanner {
    pub fn new(atoms: &[Atom]) -> Option<Box<Self>> {
        // Pattern indices are stored as u32, with the top bit
        // reserved for inline tricks. This means this scanner
        // can only handle up to 2**31-1 patterns.
        if atoms.len() >= 1 << 31 {
            return None;
        }

        let mut can_start: Box<[bool; 65536]> = vec![false; 65536]
            .into_boxed_slice()
            .try_into()
            // Safety: the size matches, this cannot fail
            .unwrap();
        let mut widths_per_hw: Box<[u8; 65536]> = vec![0_u8; 65536]
            .into_boxed_slice()
            .try_into()
            // Safety: the size matches, this cannot fail
            .unwrap();
        let mut atoms1 = Vec::new();
        let mut atoms2 = Vec::new();
        let mut atoms3 = Vec::new();
        let mut atoms4 = Vec::new();
        let mut empty_patterns = Vec::new();

        for (index, atom) in atoms.iter().enumerate() {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "Cannot truncate, because atoms.len() < 2**31"
            )]
            let index = index as u32;

            match atom.as_ref() {
                [] => empty_patterns.push(index),
                [a] => {
                    for b in 0..=u8::MAX {
                        let prefix = u16::from_le_bytes([*a, b]);
                        can_start[usize::from(prefix)] = true;
                    }
                    atoms1.push((index, *a));
                }
                [a, b] => {
                    let prefix = u16::from_le_bytes([*a, *b]);
                    can_start[usize::from(prefix)] = true;
                    widths_per_hw[usize::from(prefix)] |= 0b001;

                    atoms2.push((index, u32::from(prefix)));
                }
                [a, b, c] => {
                    let prefix = u16::from_le_bytes([*a, *b]);
                    can_start[usize::from(prefix)] = true;
                    widths_per_hw[usize::from(prefix)] |= 0b010;

                    let atom_u32 = u32::from_le_bytes([*a, *b, *c, 0]);
                    atoms3.push((index, atom_u32));
                }
                [a, b, c, d] => {
                    let prefix = u16::from_le_bytes([*a, *b]);
                    can_start[usize::from(prefix)] = true;
                    widths_per_hw[usize::from(prefix)] |= 0b100;

                    let atom_u32 = u32::from_le_bytes([*a, *b, *c, *d]);
                    atoms4.push((index, atom_u32));
                }
                _ => unreachable!(),
            }
        }

        Some(Box::new(Self {
            width1: if atoms1.is_empty() {
                None
            } else {
                Some(Width1Table::new(&atoms1))
            },
            width2: FixedWidthTable::new(&atoms2, 0xFF_FF),
            width3: FixedWidthTable::new(&atoms3, 0xFF_FF_FF),
            width4: FixedWidthTable::new(&atoms4, 0xFF_FF_FF_FF),
            can_start,
            widths_per_hw,
            empty_patterns,
        }))
    }

    pub fn scan<F>(&self, mem: &[u8], mut on_match: F) -> Result<(), ScanError>
    where
        F: FnMut(AtomMatch) -> Result<(), ScanError>,
    {
        // The scan idea is pretty simple, and can be thought of this way:
        //
        // ```
        // for index in 0..mem.len() {
        //     let atom = u32::from(mem[index..(index+4)]);
        //     find_width1_atoms(atom & 0xFF);
        //     find_width2_atoms(atom & 0xFF_FF);
        //     find_width3_atoms(atom & 0xFF_FF_FF);
        //     find_width4_atoms(atom);
        // }
        // ```
        //
        // This is however reworked to make this iteration as fast as possible
        // by splitting into two passes. The first pass builds a u64 value where
        // every bit indicating if there are atoms that are prefixed by the u16
        // value at the given index. The second pass iterates on this u64 value
        // to probe for atoms.

        // Iterate in steps of 64 bytes
        let mut index = 0;
        // 64 + 3: since we check want to check all atoms that starts with a byte
        // from the 64 range, so 3 additional bytes are needed.
        while index + 67 <= mem.len() {
            let block = &mem[index..index + 67];

            // First pass: compute a u64 value where a bit is set to 1 if the
            // u16 prefix at this given offset is the prefix of existing atoms.
            //
            // This is branch free and computed from values (hopefully) kept
            // in cache.
            //
            // This is a 64 loop, written in 8x8. This helps llvm understand it
            // can get entirely unrolled, but is strictly equivalent to:
            //
            // ```
            // for i in 0..64 {
            //     let prefix = u16::from_le_bytes([block[i], block[i+1]]);
            //     candidates |= self.can_start[prefix] << i;
            // }
            // ```
            let mut candidates = 0u64;
            for j in 0..8 {
                let mut group = 0u64;
                for k in 0..8 {
                    let i = j * 8 + k;
                    // Safety: cannot unwrap for obvious reasons, the slice has the right size
                    let prefix = u16::from_le_bytes(block[i..(i + 2)].try_into().unwrap());
                    group |= u64::from(self.can_start[usize::from(prefix)]) << k;
                }
                candidates |= group << (j * 8);
            }

            // Second pass: for every set bit, probe the different tables.
            while candidates != 0 {
                let pos = candidates.trailing_zeros() as usize;
                // Unset the trailing "1" bit.
                candidates &= candidates - 1;

                // Safety: cannot unwrap for obvious reasons, the slice has the right size
                let atom = u32::from_le_bytes(block[pos..(pos + 4)].try_into().unwrap());
                let start = index + pos;

                let widths = self.widths_per_hw[(atom & 0xFF_FF) as usize];
                if widths & 0b100 != 0 {
                    self.width4.probe(atom, start, 4, &mut on_match)?;
                }
                if widths & 0b010 != 0 {
                    self.width3
                        .probe(atom & 0xFF_FF_FF, start, 3, &mut on_match)?;
                }
                if widths & 0b001 != 0 {
                    self.width2
                        .probe_map(atom & 0xFF_FF, start, 2, &mut on_match)?;
                }
                if let Some(w1) = self.width1.as_ref() {
                    w1.probe(atom & 0xFF, start, 1, &mut on_match)?;
                }
            }

            index += 64;
        }

        // Tail end of the scanned data, use a simple single pass for this.
        while index < mem.len() {
            let available = std::cmp::min(mem.len() - index, 4);
            if available >= 4 {
                let atom = u32::from_le_bytes([
                    mem[index],
                    mem[index + 1],
                    mem[index + 2],
                    mem[index + 3],
                ]);
                self.width4.probe(atom, index, 4, &mut on_match)?;
                self.width3
                    .probe(atom & 0xFF_FF_FF, index, 3, &mut on_match)?;
                self.width2
                    .probe_map(atom & 0xFF_FF, index, 2, &mut on_match)?;
                if let Some(w1) = self.width1.as_ref() {
                    w1.probe(atom & 0xFF, index, 1, &mut on_match)?;
                }
            } else if available >= 3 {
                let atom = u32::from_le_bytes([mem[index], mem[index + 1], mem[index + 2], 0]);
                self.width3
                    .probe(atom & 0xFF_FF_FF, index, 3, &mut on_match)?;
                self.width2
                    .probe_map(atom & 0xFF_FF, index, 2, &mut on_match)?;
                if let Some(w1) = self.width1.as_ref() {
                    w1.probe(atom & 0xFF, index, 1, &mut on_match)?;
                }
            } else if available >= 2 {
                let atom = u32::from_le_bytes([mem[index], mem[index + 1], 0, 0]);
                self.width2
                    .probe_map(atom & 0xFF_FF, index, 2, &mut on_match)?;
                if let Some(w1) = self.width1.as_ref() {
                    w1.probe(atom & 0xFF, index, 1, &mut on_match)?;
                }
            } else if available >= 1 {
                if let Some(w1) = self.width1.as_ref() {
                    w1.probe(u32::from(mem[index]), index, 1, &mut on_match)?;
                }
            }

            index += 1;
        }

        if !self.empty_patterns.is_empty() {
            for i in 0..mem.len() {
                for pattern in &self.empty_patterns {
                    on_match(AtomMatch {
                        pattern: *pattern,
                        start: i,
                        end: i,
                    })?;
                }
            }
        }

        Ok(())
    }
}

/// Scanner for atoms of a given width
#[derive(Debug)]
struct FixedWidthTable {
    filter: BloomFilter,

    // Map from key to pattern indices
    map: FastMap<Pattern>,

    patterns: Box<[PatternNode]>,
}

impl FixedWidthTable {
    fn new(atoms: &[(u32, u32)], atom_mask: u32) -> Self {
        let mut filter = BloomFilter::new(atoms.len());
        let mut map = new_fast_map(atoms.len());
        let mut patterns = PatternsBuilder::default();

        for (pattern_index, atom) in atoms {
            let key = *atom & atom_mask;
            filter.set(key);
            match map.entry(key) {
                Entry::Vacant(v) => {
                    let _r = v.insert(Pattern::new_inline(*pattern_index));
                }
                Entry::Occupied(mut o) => {
                    let existing_pattern = *o.get();

                    let previous_index = if existing_pattern.is_inline() {
                        patterns.add(PatternNode::END, existing_pattern.get())
                    } else {
                        existing_pattern.get()
                    };
                    let i = patterns.add(previous_index, *pattern_index);
                    *o.get_mut() = Pattern::new(i);
                }
            }
        }

        Self {
            filter,
            map,
            patterns: patterns.finish(),
        }
    }

    // Inline this to avoid a function call on the fast pass
    #[inline(always)]
    fn probe<F>(
        &self,
        key: u32,
        start: usize,
        width: usize,
        on_match: &mut F,
    ) -> Result<(), ScanError>
    where
        F: FnMut(AtomMatch) -> Result<(), ScanError>,
    {
        if !self.filter.contains(key) {
            return Ok(());
        }

        // Keep this out of the inlined function: this is
        // the slow path.
        self.probe_map(key, start, width, on_match)
    }

    fn probe_map<F>(
        &self,
        key: u32,
        start: usize,
        width: usize,
        on_match: &mut F,
    ) -> Result<(), ScanError>
    where
        F: FnMut(AtomMatch) -> Result<(), ScanError>,
    {
        if let Some(p) = self.map.get(&key).copied() {
            if p.is_inline() {
                on_match(AtomMatch {
                    pattern: p.get(),
                    start,
                    end: start + width,
                })?;
                return Ok(());
            }

            let mut pi = p.get();
            while pi != PatternNode::END {
                let PatternNode { pattern, next } = self.patterns[pi as usize];

                on_match(AtomMatch {
                    pattern,
                    start,
                    end: start + width,
                })?;

                pi = next;
            }
        }

        Ok(())
    }
}

#[derive(Debug)]
struct Width1Table {
    present: [bool; 256],
    map: [Vec<u32>; 256],
}

impl Width1Table {
    fn new(atoms: &[(u32, u8)]) -> Self {
        let mut map = [const { Vec::new() }; 256];
        let mut present = [false; 256];

        for (pattern_index, atom) in atoms {
            let key = usize::from(*atom);

            present[key] = true;
            map[key].push(*pattern_index);
        }

        Self { present, map }
    }

    #[inline(always)]
    fn probe<F>(
        &self,
        key: u32,
        start: usize,
        width: usize,
        on_match: &mut F,
    ) -> Result<(), ScanError>
    where
        F: FnMut(AtomMatch) -> Result<(), ScanError>,
    {
        let key = key as usize;

        if !self.present[key] {
            return Ok(());
        }

        self.probe_map(key, start, width, on_match)
    }

    fn probe_map<F>(
        &self,
        key: usize,
        start: usize,
        width: usize,
        on_match: &mut F,
    ) -> Result<(), ScanError>
    where
        F: FnMut(AtomMatch) -> Result<(), ScanError>,
    {
        for pattern in &self.map[key] {
            on_match(AtomMatch {
                pattern: *pattern,
                start,
                end: start + width,
            })?;
        }

        Ok(())
    }
}

#[derive(Debug)]
struct BloomFilter {
    bitmap: Box<[u64]>,
    log2_size: u32,
}

impl BloomFilter {
    fn new(size: usize) -> Self {
        let log2_size = size
            .saturating_mul(128)
            // round up to ensure the trailing bits are addressable
            .next_power_of_two()
            // log2
            .trailing_zeros()
            // never below 65536 bits (8 KB), and never above 2^24 bits (2 MB)
            .clamp(16, 24);

        let nb_bits = 1 << (log2_size as usize);

        Self {
            bitmap: vec![0u64; nb_bits / 64].into_boxed_slice(),
            log2_size,
        }
    }

    fn set(&mut self, key: u32) {
        let (bucket, mask) = self.address(key);
        // Safety: this access cannot fail by construction.
        unsafe { *self.bitmap.get_unchecked_mut(bucket) |= mask };
    }

    fn contains(&self, key: u32) -> bool {
        let (bucket, mask) = self.address(key);
        // Safety: this access cannot fail by construction.
        (unsafe { self.bitmap.get_unchecked(bucket) } & mask) != 0
    }

    fn address(&self, key: u32) -> (usize, u64) {
        // Keep the log2_size MSB bits from the hash
        let h = hash(key) >> (32 - self.log2_size);
        ((h / 64) as usize, 1 << (h % 64))
    }
}

#[inline(always)]
fn hash(key: u32) -> u32 {
    key.wrapping_mul(0x9E37_79B1)
}

#[derive(Copy, Clone, Debug)]
struct Pattern(u32);

impl Pattern {
    const INLINE_BIT: u32 = 1 << 31;

    fn new_inline(pattern: u32) -> Self {
        assert_eq!(pattern & Self::INLINE_BIT, 0);
        Self(pattern | Self::INLINE_BIT)
    }

    fn new(pattern: u32) -> Self {
        assert_eq!(pattern & Self::INLINE_BIT, 0);
        Self(pattern)
    }

    fn is_inline(self) -> bool {
        self.0 & (1 << 31) != 0
    }

    fn get(self) -> u32 {
        if self.is_inline() {
            self.0 & !Self::INLINE_BIT
        } else {
            self.0
        }
    }
}

#[derive(Default)]
struct PatternsBuilder {
    data: Vec<PatternNode>,
}

#[derive(Copy, Clone, Debug)]
struct PatternNode {
    pattern: u32,
    next: u32,
}

impl PatternNode {
    const END: u32 = u32::MAX;
}

impl PatternsBuilder {
    fn add(&mut self, next: u32, pattern: u32) -> u32 {
        self.data.push(PatternNode { pattern, next });
        #[allow(clippy::cast_possible_truncation)]
        let res = (self.data.len() - 1) as u32;
        res
    }

    fn finish(self) -> Box<[PatternNode]> {
        self.data.into_boxed_slice()
    }
}

type FastMap<V> = HashMap<u32, V, BuildHasherDefault<FastHasher>>;

fn new_fast_map<V>(capacity: usize) -> FastMap<V> {
    FastMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}

/// Hashes an atom key with a single golden ratio multiply.
///
/// The default hasher is `SipHash`, which is chosen to resist collisions forged through a
/// public API. This is useless here and we need to make this hash as fast as possible.
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _bytes: &[u8]) {
        // This hasher is only used with u32 keys, so only write_u32 is used.
        unreachable!();
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atoms::pick_atom_in_literal;
    use crate::test_helpers::{test_type_traits, test_type_traits_non_clonable};

    fn atom(lit: &[u8]) -> Atom {
        pick_atom_in_literal(lit).0
    }

    #[test]
    fn test_patterns_chaining() {
        // The atom scanner deduplicates atoms, so patterns sharing an atom can only happen
        // by building the hash scanner directly. The second pattern moves the inlined one
        // into a chain, the third one is added to the existing chain.
        let scanner =
            HashScanner::new(&[atom(b"abcd"), atom(b"abcd"), atom(b"xbcd"), atom(b"abcd")])
                .unwrap();

        // One match in the first block, one in the tail.
        let mut mem = vec![b'.'; 100];
        mem[10..14].copy_from_slice(b"abcd");
        mem[70..74].copy_from_slice(b"abcd");

        let mut matches = Vec::new();
        scanner
            .scan(&mem, |mat| {
                matches.push((mat.pattern, mat.start));
                Ok(())
            })
            .unwrap();
        matches.sort_unstable();
        assert_eq!(
            matches,
            [(0, 10), (0, 70), (1, 10), (1, 70), (3, 10), (3, 70)]
        );
    }

    #[test]
    fn test_bloom_filter_size() {
        // Never below 2^16 bits.
        let filter = BloomFilter::new(3);
        assert_eq!(filter.log2_size, 16);
        assert_eq!(filter.bitmap.len(), 1 << 10);

        // 128 bits per element, rounded up to the next power of two.
        let filter = BloomFilter::new(513);
        assert_eq!(filter.log2_size, 17);
        assert_eq!(filter.bitmap.len(), 1 << 11);

        // Never above 2^24 bits.
        let filter = BloomFilter::new(1 << 20);
        assert_eq!(filter.log2_size, 24);
        assert_eq!(filter.bitmap.len(), 1 << 18);
    }

    #[test]
    fn test_bloom_filter_address() {
        // The bitmap is accessed without bounds checks, every key must address a bucket
        // inside it, whatever its size.
        for log2_size in 16..=24 {
            let filter = BloomFilter::new(1 << (log2_size - 7));
            assert_eq!(filter.log2_size, log2_size);

            for key in [0, u32::MAX / 2, u32::MAX] {
                let (bucket, mask) = filter.address(key);
                assert!(bucket < filter.bitmap.len());
                assert_eq!(mask.count_ones(), 1);
            }
        }
    }

    #[test]
    fn test_types_traits() {
        test_type_traits_non_clonable(HashScanner::new(&[atom(b"a")]).unwrap());
        test_type_traits_non_clonable(FixedWidthTable::new(&[], 0xFF_FF));
        test_type_traits_non_clonable(Width1Table::new(&[]));
        test_type_traits_non_clonable(BloomFilter::new(0));
        test_type_traits(Pattern::new(0));
        test_type_traits(PatternNode {
            pattern: 0,
            next: PatternNode::END,
        });
    }
}
