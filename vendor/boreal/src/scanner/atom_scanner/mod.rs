//! Provides the [`AtomScanner`] object, used to scan for all variables in a single pass.
use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};

use super::{
    CallbackEvents, ScanCallbackResult, ScanData, ScanError, ScanEvent, StringIdentifier,
    StringMatch,
};
use crate::atoms::pick_atom_in_literal;
use crate::compiler::CompilerProfile;
use crate::matcher::{LiteralMatchStatus, Matcher};
use crate::memory::Region;

mod hash_scanner;
use hash_scanner::HashScanner;

/// Factorize atoms from all variables, to scan for them in a single pass.
///
/// For every variable, literals named atoms are extracted from the variables
/// expressions. A single object is built from all those literals, and a
/// single pass on the scanned bytes is done with this object.
/// For every match on a atom, the match is then verified to see if it
/// matches the whole variable expression.
///
/// An exception to this is for variables that we either:
///
/// - cannot manage to extract atoms from
/// - need to or prefer scanning on their own
///
/// For those variables, the atom scan pass does not provide any result, and
/// each such variable is thus scanned on its own.
#[derive(Debug)]
pub(crate) struct AtomScanner {
    /// Aho Corasick for variables that are literals.
    inner: Inner,

    /// Map from a pattern index to a list details on the literals.
    pattern_index_to_literal_info: Box<[Box<[LiteralInfo]>]>,

    /// List of indexes for vars that are not part of the atom scanner.
    non_handled_var_indexes: Box<[usize]>,
}

#[derive(Debug)]
enum Inner {
    AhoCorasick(AhoCorasick),
    HashScanner(Box<HashScanner>),
}

/// Details on a literal of a matcher.
#[derive(Debug, Copy, Clone)]
struct LiteralInfo {
    /// Index of the matcher in the matcher array.
    matcher_index: usize,

    /// Index of the literal for the matcher.
    literal_index: usize,

    /// Left and right offset for the slice picked in the Aho-Corasick.
    slice_offset: (usize, usize),

    /// Is the literal case insensitive.
    nocase: bool,

    /// First and last two bytes of the literal.
    ///
    /// The atom is only a slice of the literal, so most matches of the atom do not extend
    /// into a match of the literal. Checking those bytes rejects almost all of them without
    /// reaching for the matcher and its literals, which are two dependent loads away and
    /// rarely in cache for a large rule set.
    ///
    /// If nocase is true, those bytes are lowercased.
    first_bytes: [u8; 2],
    last_bytes: [u8; 2],
}

#[derive(Debug, Copy, Clone)]
struct AtomMatch {
    pattern: u32,
    start: usize,
    end: usize,
}

impl AtomScanner {
    pub(crate) fn new(matchers: &[Matcher], profile: CompilerProfile) -> Self {
        let mut lits = Vec::new();
        let mut known_lits = HashMap::new();
        let mut aho_index_to_literal_info = Vec::new();
        let mut non_handled_var_indexes = Vec::new();

        for (matcher_index, matcher) in matchers.iter().enumerate() {
            if matcher.literals.is_empty() {
                non_handled_var_indexes.push(matcher_index);
            } else {
                let mut known_literals_of_var: HashSet<Cow<[u8]>> = HashSet::new();

                for (literal_index, lit) in matcher.literals.iter().enumerate() {
                    let (atom, start) = pick_atom_in_literal(lit);
                    let nocase = matcher.modifiers.nocase;
                    let literal_info = LiteralInfo {
                        matcher_index,
                        literal_index,
                        slice_offset: (start, lit.len() - start - atom.len()),
                        first_bytes: literal_edge(lit, false, nocase),
                        last_bytes: literal_edge(lit, true, nocase),
                        nocase,
                    };

                    // Sometimes, two literals of the same variable are identical
                    // (for example, something like `/(abc|abc)/`). We must
                    // *not* add both, as this would result in two identical
                    // matches for the same variable.
                    //
                    // This must be done on the literal and not on its atom:
                    // different literals can pick the same atom at the same
                    // position. For example, the 16 literals of
                    // `{ b? 89 4d 39 8c }` all pick `89 4d 39 8c`. All of
                    // those literals must be kept, otherwise their matches
                    // are lost.
                    let dedup_literal = if nocase {
                        Cow::Owned(lit.to_ascii_lowercase())
                    } else {
                        Cow::Borrowed(&**lit)
                    };
                    if !known_literals_of_var.insert(dedup_literal) {
                        continue;
                    }

                    let mut add_atom = |atom| {
                        // Ensure the literals provided to the aho corasick are not
                        // duplicated. If multiple variables uses the same atoms,
                        // we will iterate on every variable in this module, instead
                        // of going back into the aho-corasick just for it to
                        // iterate over the matching ids and return immediately
                        // to this code. This improves performances significantly.
                        match known_lits.entry(atom) {
                            Entry::Vacant(v) => {
                                let _r = v.insert(lits.len());
                                aho_index_to_literal_info.push(vec![literal_info]);
                                lits.push(atom);
                            }
                            Entry::Occupied(o) => {
                                let index = o.get();
                                aho_index_to_literal_info[*index].push(literal_info);
                            }
                        }
                    };

                    if nocase {
                        atom.generate_case_variants(&mut add_atom);
                    } else {
                        add_atom(atom);
                    }
                }
            }
        }

        let inner = match HashScanner::new(&lits) {
            Some(hs) => Inner::HashScanner(hs),
            // Fallback to aho-corasick if hash scanner cannot be built.
            None => {
                let mut builder = AhoCorasickBuilder::new();
                let builder = builder.kind(Some(match profile {
                    CompilerProfile::Speed => AhoCorasickKind::DFA,
                    CompilerProfile::Memory => AhoCorasickKind::ContiguousNFA,
                }));
                Inner::AhoCorasick(builder.build(&lits).unwrap())
            }
        };

        Self {
            inner,
            pattern_index_to_literal_info: aho_index_to_literal_info
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
            non_handled_var_indexes: non_handled_var_indexes.into_boxed_slice(),
        }
    }

    pub(super) fn scan_region<'scanner>(
        &self,
        region: &Region,
        scanner: &'scanner super::Inner,
        scan_data: &mut ScanData<'scanner, '_>,
        all_matches: &mut [Vec<StringMatch>],
    ) -> Result<(), ScanError> {
        #[cfg(feature = "profiling")]
        if let Some(stats) = scan_data.statistics.as_mut() {
            stats.nb_memory_chunks += 1;
            stats.memory_scanned_size += region.mem.len();
        }

        // Iterate over aho-corasick matches, validating those matches
        match &self.inner {
            Inner::AhoCorasick(aho) => {
                for mat in aho.find_overlapping_iter(region.mem) {
                    if scan_data.check_timeout() {
                        return Err(ScanError::Timeout);
                    }
                    let mat = AtomMatch {
                        pattern: mat.pattern().as_u32(),
                        start: mat.start(),
                        end: mat.end(),
                    };
                    self.handle_possible_match(region, scanner, mat, scan_data, all_matches)?;
                }
            }
            Inner::HashScanner(hs) => {
                hs.scan(region.mem, |mat| {
                    if scan_data.check_timeout() {
                        return Err(ScanError::Timeout);
                    }
                    self.handle_possible_match(region, scanner, mat, scan_data, all_matches)
                })?;
            }
        }

        if !self.non_handled_var_indexes.is_empty() {
            #[cfg(feature = "profiling")]
            let start = scan_data
                .statistics
                .as_ref()
                .map(|_| std::time::Instant::now());

            // For every "raw" matcher, scan the memory for this matcher.
            for matcher_index in &self.non_handled_var_indexes {
                if scan_data.matcher_disabled(*matcher_index) {
                    continue;
                }
                let matcher = &scanner.matchers[*matcher_index];

                scan_single_matcher(region, matcher, scan_data, &mut all_matches[*matcher_index]);
            }

            #[cfg(feature = "profiling")]
            if let Some(stats) = scan_data.statistics.as_mut() {
                if let Some(start) = start {
                    stats.raw_regexes_eval_duration += start.elapsed();
                }
            }
        }

        Ok(())
    }

    fn handle_possible_match<'scanner>(
        &self,
        region: &Region,
        scanner: &'scanner super::Inner,
        mat: AtomMatch,
        scan_data: &mut ScanData<'scanner, '_>,
        all_matches: &mut [Vec<StringMatch>],
    ) -> Result<(), ScanError> {
        for literal_info in &self.pattern_index_to_literal_info[mat.pattern as usize] {
            let LiteralInfo {
                matcher_index,
                literal_index,
                slice_offset: (start_offset, end_offset),
                nocase,
                first_bytes,
                last_bytes,
            } = *literal_info;

            #[cfg(feature = "profiling")]
            if let Some(stats) = scan_data.statistics.as_mut() {
                stats.nb_ac_matches += 1;
            }
            #[cfg(feature = "profiling")]
            let start_instant = scan_data
                .statistics
                .as_ref()
                .map(|_| std::time::Instant::now());

            // zt: a variable of a namespace this scan leaves out is not looked at
            if scan_data.matcher_disabled(matcher_index) {
                continue;
            }

            // Upscale to the original literal shape before feeding it to the matcher verification
            // function.
            let Some(start) = mat.start.checked_sub(start_offset) else {
                continue;
            };
            let end = match mat.end.checked_add(end_offset) {
                Some(v) if v <= region.mem.len() => v,
                _ => continue,
            };

            // Check the first & last bytes of the literal to cheaply reject
            // the match if possible. Only do so if the literal is a superset
            // of the atom.
            if start_offset != 0 || end_offset != 0 {
                let edge = |at: usize| {
                    let mut a = region.mem[at];
                    let mut b = region.mem[at + 1];
                    if nocase {
                        a.make_ascii_lowercase();
                        b.make_ascii_lowercase();
                    }
                    [a, b]
                };
                if edge(start) != first_bytes || edge(end - 2) != last_bytes {
                    continue;
                }
            }

            let matcher = &scanner.matchers[matcher_index];
            let m = start..end;

            // Verify the literal is valid.
            let Some(match_type) = matcher.confirm_atom_literal(region.mem, &m, literal_index)
            else {
                continue;
            };

            let var_matches = &mut all_matches[matcher_index];

            // Shorten the mem to prevent new matches on the same starting byte.
            // For example, for `a.*?bb`, and input `abbb`, this can happen:
            //
            // - extract atom `bb`
            // - get match on `a(bb)b`: call check_ac_match, this will return the
            //   match `(abb)b`.
            // - get match on `ab(bb)`: call check_ac_match, this will return the
            //   match `(abbb)`.
            //
            // This is invalid, only one match per starting byte can happen.
            // To avoid this, ensure the mem given to check_ac_match starts one byte after the last
            // saved match.
            //
            // Do not do so if the reverse validator is greedy however: in that case,
            // we actually want to replace previous matches with new, longer ones, if they
            // share the same start.
            let mut start_position = 0;
            if let Some(mat) = var_matches.last() {
                if mat.base == region.start && !matcher.has_greedy_reverse_validator() {
                    start_position = mat.offset + 1;
                }
            }

            let res = matcher.process_literal_match(
                &mut scan_data.validator_caches,
                matcher_index,
                region.mem,
                m,
                start_position,
                match_type,
            );

            #[cfg(feature = "profiling")]
            {
                if let Some(stats) = scan_data.statistics.as_mut() {
                    if let Some(start) = start_instant {
                        stats.ac_confirm_duration += start.elapsed();
                    }
                }
            }

            match res {
                LiteralMatchStatus::None => (),
                LiteralMatchStatus::Multiple(found_matches) => {
                    for new_match in found_matches {
                        let new_match = StringMatch::new(
                            region,
                            new_match,
                            scan_data.params.match_max_length,
                            0,
                        );
                        add_match(matcher, new_match, var_matches);
                    }
                }
                LiteralMatchStatus::Single(m) => {
                    let xor_key = matcher.get_xor_key(literal_index);
                    let new_match =
                        StringMatch::new(region, m, scan_data.params.match_max_length, xor_key);
                    add_match(matcher, new_match, var_matches);
                }
            }

            if var_matches.len() > (scan_data.params.string_max_nb_matches as usize) {
                var_matches.truncate(scan_data.params.string_max_nb_matches as usize);
                if (scan_data.params.callback_events & CallbackEvents::STRING_REACHED_MATCH_LIMIT).0
                    != 0
                    && scan_data.string_reached_match_limit.insert(matcher_index)
                {
                    if let Some(cb) = &mut scan_data.callback {
                        if let Some(string_identifier) =
                            build_string_identifier(scanner, matcher_index)
                        {
                            match (cb)(ScanEvent::StringReachedMatchLimit(string_identifier)) {
                                ScanCallbackResult::Continue => (),
                                ScanCallbackResult::Abort => return Err(ScanError::CallbackAbort),
                            }
                        }
                    }
                }
            }
        }

        Ok(())
    }
}

fn add_match(matcher: &Matcher, new_match: StringMatch, var_matches: &mut Vec<StringMatch>) {
    // Matches of a variable are kept sorted by offset, with a single match per offset.
    //
    // Atoms are found in order, so a new match is usually after all the existing ones,
    // but not always: the atom of a literal is not always at its start, and two literals
    // of a variable can match at the same offset (see `test_duplicate_matches_at_same_offset`).
    //
    // When two matches have the same offset, the first one found is kept. libyara does
    // not guarantee any heuristic about this and is not itself consistent, so the same
    // is done here. The match being kept may not be the same as in libyara.
    //
    // For example, for /(abcd|abc)/, and input "abcd", there is no guarantee on whether
    // the reported match is "abcd" or "abc".
    //
    // The exception to this "first match found is kept" rule is when the left HIR
    // has greedy repetitions: the reverse validator may then give matches that replace
    // existing matches.
    //
    // For example, a regex that looks like: `a.+foo.b` will extract the literal foo,
    // but against the string `aafoobbaafoobb`, the only match should be the
    // entire string. A first `foo` atom match will result in `aafoobb` being found,
    // but the second `foo` atom match should then replace the first match, since the
    // longest match always wins.
    let offset = new_match.base + new_match.offset;

    // Happy (and extremely common) path
    if var_matches
        .last()
        .is_none_or(|last| last.base + last.offset < offset)
    {
        var_matches.push(new_match);
        return;
    }

    // Rare path: use a binary search to find the right place for this match.
    match var_matches.binary_search_by_key(&offset, |m| m.base + m.offset) {
        Ok(position) => {
            if matcher.has_greedy_reverse_validator() {
                var_matches[position] = new_match;
            }
        }
        Err(position) => var_matches.insert(position, new_match),
    }
}

fn scan_single_matcher(
    region: &Region,
    matcher: &Matcher,
    scan_data: &mut ScanData,
    string_matches: &mut Vec<StringMatch>,
) {
    let mut offset = 0;
    while offset < region.mem.len() {
        let mat = matcher.find_next_match_at(region.mem, offset);

        match mat {
            None => break,
            Some(mat) => {
                offset = mat.start + 1;
                string_matches.push(StringMatch::new(
                    region,
                    mat,
                    scan_data.params.match_max_length,
                    // No xor key, since this function is only used for regex matchers
                    0,
                ));

                // This is safe to allow because this is called on every iterator of self.matches, so
                // it cannot overflow u32 before this condition is true.
                #[allow(clippy::cast_possible_truncation)]
                if (string_matches.len() as u32) >= scan_data.params.string_max_nb_matches {
                    break;
                }
            }
        }
    }
}

fn build_string_identifier(
    scanner: &super::Inner,
    matcher_index: usize,
) -> Option<StringIdentifier<'_>> {
    let mut index = 0;
    // Go through all the rules of the scanner to find the right one.
    // This is O(n) on the rules, which isn't ideal. But this is only done
    // iff:
    // - the callback API is used
    // - the "string reaches match limit" event is enabled
    // - a string reaches the match limit
    // This thus should not be called frequently, and a O(n) search through
    // the rules should not take that long.
    //
    // A solution to improve this would be to store in each rule the index
    // of its first matcher, which would make a binary search through
    // the rules possible. However, this means an additional word to store
    // with each rule, only to alleviate this very specific event. For
    // the moment, this is not considered to be worth the cost.
    for rule in scanner.global_rules.iter().chain(scanner.rules.iter()) {
        if index + rule.variables.len() > matcher_index {
            let string_index = matcher_index - index;
            return Some(StringIdentifier {
                rule_namespace: scanner.namespaces[rule.namespace_index].as_ref(),
                rule_name: &rule.name,
                string_name: scanner
                    .bytes_pool
                    .get_str(rule.variables[string_index].name),
                string_index,
            });
        }
        index += rule.variables.len();
    }
    // Should technically be impossible to reach.
    debug_assert!(false);
    None
}

/// The first or last two bytes of a literal.
fn literal_edge(lit: &[u8], from_end: bool, nocase: bool) -> [u8; 2] {
    if lit.len() < 2 {
        return [0, 0];
    }
    let mut s = if from_end {
        [lit[lit.len() - 2], lit[lit.len() - 1]]
    } else {
        [lit[0], lit[1]]
    };
    if nocase {
        s[0].make_ascii_lowercase();
        s[1].make_ascii_lowercase();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_helpers::test_type_traits_non_clonable;

    #[test]
    fn test_types_traits() {
        test_type_traits_non_clonable(AtomScanner::new(&[], CompilerProfile::Speed));
        test_type_traits_non_clonable(LiteralInfo {
            matcher_index: 0,
            literal_index: 0,
            slice_offset: (0, 0),
            nocase: false,
            first_bytes: [0, 0],
            last_bytes: [0, 0],
        });
    }
}
