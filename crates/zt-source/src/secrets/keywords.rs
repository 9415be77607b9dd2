//! The keyword pass: every occurrence of every rule keyword in a fragment, ASCII
//! case-insensitive, overlapping (what `AhoCorasick::find_overlapping_iter` reports), found with
//! four interleaved walks of one Aho-Corasick DFA.
//!
//! A DFA walk costs one table load per byte, and each load depends on the one before it, so a
//! single walk runs at the latency of that chain (~1.8 ns per byte here), not at the speed of
//! the memory. The keywords include two-byte ones that occur everywhere in source code (`ey`,
//! `sk`, `s.`, `q~`), so no prefilter can skip bytes. Instead the fragment is cut into four
//! lanes walked in lock step: four independent chains keep the core busy while each load waits.
//!
//! A lane starting at `b` first walks the `m − 1` bytes before `b` (`m` the longest keyword)
//! without reporting: every occurrence ending in the lane starts at or after `b − (m − 1)`, so
//! from there on its state is the state a walk from the start of the fragment would have for
//! every occurrence the lane reports. Each lane reports only occurrences whose last byte is in
//! it, so every occurrence is reported once; lanes are concatenated in order, so occurrences come
//! in the order of their end, as the single walk reports them.
//!
//! ```
//! use zt_source::secrets::keywords::KeywordSearcher;
//!
//! let k = KeywordSearcher::new(&["key", "ey"]).unwrap();
//! let mut hits = Vec::new();
//! k.for_each_hit(b"a KEY", |kw, start, end| hits.push((kw, start, end)));
//! assert_eq!(hits, vec![(0, 2, 5), (1, 3, 5)]);
//! ```

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, PatternID, StartKind};

/// Fragments shorter than this are walked in one lane: the warm-up of the other lanes would
/// cost more than the interleaving saves.
const MIN_INTERLEAVED: usize = 1024;

/// An ASCII case-insensitive multi-keyword searcher reporting every (overlapping) occurrence.
#[derive(Debug, Clone)]
pub struct KeywordSearcher {
    dfa: DFA,
    start: StateID,
}

impl KeywordSearcher {
    /// A searcher for `keywords` (non-empty strings; pattern `i` is `keywords[i]`).
    pub fn new<P: AsRef<[u8]>>(keywords: &[P]) -> Result<Self, String> {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(keywords)
            .map_err(|e| e.to_string())?;
        let start = dfa.start_state(Anchored::No).map_err(|e| e.to_string())?;
        Ok(Self { dfa, start })
    }

    /// Calls `f(keyword, start, end)` for every occurrence in `hay`, in the order of their end
    /// (several ending at one byte: in the DFA's match order, as `find_overlapping_iter`).
    pub fn for_each_hit(&self, hay: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let n = hay.len();
        if n < MIN_INTERLEAVED {
            let mut sid = self.start;
            for (i, &b) in hay.iter().enumerate() {
                sid = self.step(sid, b);
                if self.dfa.is_special(sid) {
                    self.report(sid, i + 1, &mut f);
                }
            }
            return;
        }
        let lane = n.div_ceil(4);
        let warm = self.dfa.max_pattern_len().saturating_sub(1);
        // Lanes [k·lane, (k+1)·lane), the last one shorter or equal.
        let bounds = [0, lane, 2 * lane, (3 * lane).min(n), n];
        let mut sids = [self.start; 4];
        for (k, sid) in sids.iter_mut().enumerate().skip(1) {
            let b = bounds.get(k).copied().unwrap_or(n);
            for &byte in hay.get(b.saturating_sub(warm)..b).unwrap_or(&[]) {
                *sid = self.step(*sid, byte);
            }
        }
        // Hits per lane, reported after the walk so that they come out in order.
        let mut lanes: [Vec<(PatternID, usize)>; 4] = Default::default();
        let part = |k: usize| {
            hay.get(bounds.get(k).copied().unwrap_or(n)..bounds.get(k + 1).copied().unwrap_or(n))
                .unwrap_or(&[])
        };
        let (l0, l1, l2, l3) = (part(0), part(1), part(2), part(3));
        let [mut s0, mut s1, mut s2, mut s3] = sids;
        let common = l3.len();
        let [o0, o1, o2, o3] = [bounds[0], bounds[1], bounds[2], bounds[3]];
        for (i, (((&a, &b), &c), &d)) in l0.iter().zip(l1).zip(l2).zip(l3).enumerate() {
            s0 = self.step(s0, a);
            s1 = self.step(s1, b);
            s2 = self.step(s2, c);
            s3 = self.step(s3, d);
            if self.dfa.is_special(s0)
                | self.dfa.is_special(s1)
                | self.dfa.is_special(s2)
                | self.dfa.is_special(s3)
            {
                for (k, (sid, off)) in [(s0, o0), (s1, o1), (s2, o2), (s3, o3)]
                    .into_iter()
                    .enumerate()
                {
                    if let Some(out) = lanes.get_mut(k) {
                        self.collect(sid, off + i + 1, out);
                    }
                }
            }
        }
        // The first three lanes are `lane` long; the last may be shorter.
        for (k, (sid, l, off)) in [(s0, l0, o0), (s1, l1, o1), (s2, l2, o2)]
            .into_iter()
            .enumerate()
        {
            let mut sid = sid;
            for (i, &b) in l.iter().enumerate().skip(common) {
                sid = self.step(sid, b);
                if let Some(out) = lanes.get_mut(k) {
                    self.collect(sid, off + i + 1, out);
                }
            }
        }
        for out in &lanes {
            for &(pid, end) in out {
                f(pid.as_usize(), end - self.dfa.pattern_len(pid), end);
            }
        }
    }

    #[inline(always)]
    fn step(&self, sid: StateID, byte: u8) -> StateID {
        self.dfa.next_state(Anchored::No, sid, byte)
    }

    /// Reports the keywords ending at `end` when `sid` is a match state.
    #[inline(always)]
    fn report(&self, sid: StateID, end: usize, f: &mut impl FnMut(usize, usize, usize)) {
        if self.dfa.is_match(sid) {
            for i in 0..self.dfa.match_len(sid) {
                let pid = self.dfa.match_pattern(sid, i);
                f(pid.as_usize(), end - self.dfa.pattern_len(pid), end);
            }
        }
    }

    #[inline(always)]
    fn collect(&self, sid: StateID, end: usize, out: &mut Vec<(PatternID, usize)>) {
        if self.dfa.is_special(sid) && self.dfa.is_match(sid) {
            for i in 0..self.dfa.match_len(sid) {
                out.push((self.dfa.match_pattern(sid, i), end));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aho_corasick::AhoCorasickBuilder;

    use super::*;

    fn reference(kws: &[&str], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(kws)
            .unwrap();
        ac.find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    fn ours(kws: &[&str], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let k = KeywordSearcher::new(kws).unwrap();
        let mut out = Vec::new();
        k.for_each_hit(hay, |p, s, e| out.push((p, s, e)));
        out
    }

    #[test]
    fn occurrences_across_lane_boundaries_are_reported_once() {
        // A long keyword placed across every possible lane boundary of a 4 kB haystack.
        let kw = "-----begin private key-----";
        let kws = [kw, "key", "ey", "be"];
        for at in (1000..1030).chain(2030..2060).chain(3060..3090) {
            let mut hay = vec![b'x'; 4096];
            hay.get_mut(at..at + kw.len())
                .unwrap()
                .copy_from_slice(kw.to_ascii_uppercase().as_bytes());
            assert_eq!(ours(&kws, &hay), reference(&kws, &hay), "at {at}");
        }
    }

    proptest::proptest! {
        /// The interleaved walk reports exactly what `find_overlapping_iter` does, in order.
        #[test]
        fn equals_overlapping_iter(
            text in "(key|KEY|Ey|sk|s\\.|api|ApIkEy|token|x|y| |\n|é){0,1200}",
            pad in 0usize..5,
        ) {
            let kws = ["key", "ey", "sk", "s.", "api", "apikey", "token", "keytoken", "y"];
            let mut hay = "z".repeat(pad).into_bytes();
            hay.extend_from_slice(text.as_bytes());
            proptest::prop_assert_eq!(ours(&kws, &hay), reference(&kws, &hay));
        }
    }
}
