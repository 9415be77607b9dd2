use std::ops::Range;

use crate::regex::Hir;
use boreal_parser::regex::{RepetitionKind, RepetitionRange};

use super::analysis::{HirAnalysis, analyze_hir};
use super::{MatchType, Matches, Modifiers};

mod dfa;
mod simple;

pub(crate) use dfa::{LAZY_MAX_POSITIONS, ValidatorCaches};

/// zt: an upper bound of the positions of `hir` — bytes, classes, masks and assertions, a
/// bounded repetition counted as its maximum number of copies and an unbounded one as its
/// minimum plus one, as regex-automata's Thompson compiler expands them — which bounds the
/// states of its NFA. Saturates.
pub(crate) fn size_bound(hir: &Hir) -> usize {
    match hir {
        Hir::Alternation(v) => v
            .iter()
            .fold(v.len(), |n, h| n.saturating_add(size_bound(h))),
        Hir::Concat(v) => v.iter().fold(1, |n, h| n.saturating_add(size_bound(h))),
        Hir::Group(h) => size_bound(h).saturating_add(1),
        Hir::Repetition { hir, kind, .. } => {
            let copies = match kind {
                RepetitionKind::ZeroOrOne | RepetitionKind::ZeroOrMore => 1,
                RepetitionKind::OneOrMore => 2,
                RepetitionKind::Range(RepetitionRange::Exactly(n)) => *n as usize,
                RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n as usize).saturating_add(1),
                RepetitionKind::Range(RepetitionRange::Bounded(_, m)) => *m as usize,
            };
            size_bound(hir)
                .saturating_add(1)
                .saturating_mul(copies.max(1))
                .saturating_add(1)
        }
        Hir::Assertion(_) | Hir::Class(_) | Hir::Mask { .. } | Hir::Dot | Hir::Empty | Hir::Literal(_) => 1,
    }
}

// Maximum length against which a regex validator of a AC literal match will be run.
//
// For example, lets say you have the `{ AA [1-] BB CC DD [1-] FF }` hex string. The
// `\xbb\xcc\xdd` literal is extracted, with:
// - the pre validator `\xaa.{1,}?\xbb\xcc\xdd$`
// - the post validator `^\xbb\xcc\xdd.{1,}?\xff`
//
// Both the pre and post validator will be run against a slice which maximum length is
// limited by the constant. Which means that `\xaa0\xbb\xcc\xdd` + ('0' * MAX+1) + '\xff'
// will not match.
//
// zt: libyara's limit (1024 bytes forwards from the literal's start, 1024 bytes before it),
// not boreal's 4096, so that GuardDog's rules match where GuardDog's libyara does. See
// ZT-PATCH.md.
const MAX_SPLIT_MATCH_LENGTH: usize = 1024;

#[derive(Debug)]
#[cfg_attr(all(test, feature = "serialize"), derive(PartialEq))]
pub(super) struct Validator {
    forward: Option<HalfValidator>,
    reverse: Option<HalfValidator>,
    pub(super) reverse_is_greedy: bool,
}

impl Validator {
    pub(super) fn new(
        pre: Option<&Hir>,
        post: Option<&Hir>,
        modifiers: Modifiers,
    ) -> Result<Self, crate::regex::Error> {
        let forward = match post {
            Some(hir) => {
                let analysis = analyze_hir(hir, modifiers.dot_all);
                Some(HalfValidator::new(hir, &analysis, modifiers, false)?)
            }
            None => None,
        };

        match pre {
            Some(pre) => {
                let left_analysis = analyze_hir(pre, modifiers.dot_all);

                Ok(Self {
                    forward,
                    reverse: Some(HalfValidator::new(pre, &left_analysis, modifiers, true)?),
                    reverse_is_greedy: left_analysis.has_greedy_repetitions,
                })
            }
            None => Ok(Self {
                forward,
                reverse: None,
                reverse_is_greedy: false,
            }),
        }
    }

    #[cfg(feature = "serialize")]
    pub(super) fn deserialize<R: std::io::Read>(
        modifiers: Modifiers,
        reader: &mut R,
    ) -> std::io::Result<Self> {
        wire::deserialize_validator(modifiers, reader)
    }

    /// zt: builds the lazily built halves now.
    pub(super) fn build_now(&self) -> Result<(), crate::regex::Error> {
        for half in [&self.forward, &self.reverse].into_iter().flatten() {
            if let HalfValidator::Dfa(v) = half {
                v.build_now()?;
            }
        }
        Ok(())
    }

    /// `variable`: the index of the variable this validates, which names its caches' slots
    /// in `caches`.
    pub(super) fn validate_match<'s>(
        &'s self,
        caches: &mut ValidatorCaches<'s>,
        variable: usize,
        mem: &[u8],
        mat: Range<usize>,
        start_position: usize,
        match_type: MatchType,
    ) -> Matches {
        let end = match &self.forward {
            Some(validator) => {
                let end =
                    std::cmp::min(mem.len(), mat.start.saturating_add(MAX_SPLIT_MATCH_LENGTH));
                match validator.find_anchored_fwd(caches, variable * 2, mem, mat.start, end, match_type) {
                    Some(end) => end,
                    None => return Matches::None,
                }
            }
            None => mat.end,
        };

        match &self.reverse {
            None => Matches::Single(mat.start..end),
            Some(validator) => {
                // The left validator can yield multiple matches.
                // For example, `a.?bb`, with the `bb` atom, can match as many times as there are
                // 'a' characters before the `bb` atom.
                let mut matches = Vec::new();
                let mut start = std::cmp::max(
                    start_position,
                    mat.start.saturating_sub(MAX_SPLIT_MATCH_LENGTH),
                );
                while let Some(s) =
                    validator.find_anchored_rev(caches, variable * 2 + 1, mem, start, mat.end, match_type)
                {
                    matches.push(s..end);
                    start = s + 1;
                    if start > mat.end {
                        break;
                    }
                }
                Matches::Multiple(matches)
            }
        }
    }
}

impl std::fmt::Display for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Validator {{ ")?;
        match &self.reverse {
            Some(v) => write!(f, "reverse: {v}")?,
            None => write!(f, "reverse: none")?,
        }
        if self.reverse_is_greedy {
            write!(f, " (greedy)")?;
        }
        write!(f, ", ")?;
        match &self.forward {
            Some(v) => write!(f, "forward: {v}")?,
            None => write!(f, "forward: none")?,
        }
        write!(f, " }}")
    }
}

#[derive(Debug)]
#[cfg_attr(all(test, feature = "serialize"), derive(PartialEq))]
pub(super) enum HalfValidator {
    // Simplified validator for very simple regex expressions.
    Simple(simple::SimpleValidator),
    // Dfa validator, handling all the complex cases
    Dfa(dfa::DfaValidator),
}

impl HalfValidator {
    fn new(
        hir: &Hir,
        analysis: &HirAnalysis,
        modifiers: Modifiers,
        reverse: bool,
    ) -> Result<Self, crate::regex::Error> {
        match simple::SimpleValidator::new(hir, analysis, modifiers, reverse) {
            Some(v) => Ok(Self::Simple(v)),
            None => Ok(Self::Dfa(dfa::DfaValidator::new(
                hir, analysis, modifiers, reverse,
            )?)),
        }
    }

    fn find_anchored_fwd<'s>(
        &'s self,
        caches: &mut ValidatorCaches<'s>,
        slot: usize,
        haystack: &[u8],
        start: usize,
        end: usize,
        match_type: MatchType,
    ) -> Option<usize> {
        match self {
            Self::Simple(validator) => validator.find_anchored_fwd(haystack, start, end),
            Self::Dfa(validator) => {
                validator.find_anchored_fwd_with(caches, slot, haystack, start, end, match_type)
            }
        }
    }

    fn find_anchored_rev<'s>(
        &'s self,
        caches: &mut ValidatorCaches<'s>,
        slot: usize,
        haystack: &[u8],
        start: usize,
        end: usize,
        match_type: MatchType,
    ) -> Option<usize> {
        match self {
            Self::Simple(validator) => validator.find_anchored_rev(haystack, start, end),
            Self::Dfa(validator) => {
                validator.find_anchored_rev_with(caches, slot, haystack, start, end, match_type)
            }
        }
    }
}

impl std::fmt::Display for HalfValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Simple(_) => write!(f, "Simple"),
            Self::Dfa(_) => write!(f, "Dfa"),
        }
    }
}

#[cfg(feature = "serialize")]
mod wire {
    use std::io;

    use crate::wire::{Deserialize, Serialize};

    use crate::matcher::Modifiers;

    use super::simple::SimpleValidator;
    use super::{HalfValidator, Validator, dfa};

    impl Serialize for Validator {
        fn serialize<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
            self.forward.serialize(writer)?;
            self.reverse.serialize(writer)?;
            self.reverse_is_greedy.serialize(writer)?;
            Ok(())
        }
    }

    pub(super) fn deserialize_validator<R: io::Read>(
        modifiers: Modifiers,
        reader: &mut R,
    ) -> io::Result<Validator> {
        let forward_opt = bool::deserialize_reader(reader)?;
        let forward = if forward_opt {
            Some(deserialize_half_validator(modifiers, false, reader)?)
        } else {
            None
        };
        let reverse_opt = bool::deserialize_reader(reader)?;
        let reverse = if reverse_opt {
            Some(deserialize_half_validator(modifiers, true, reader)?)
        } else {
            None
        };
        let reverse_is_greedy = bool::deserialize_reader(reader)?;
        Ok(Validator {
            forward,
            reverse,
            reverse_is_greedy,
        })
    }

    impl Serialize for HalfValidator {
        fn serialize<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
            match self {
                Self::Simple(simple) => {
                    0_u8.serialize(writer)?;
                    simple.serialize(writer)?;
                }
                Self::Dfa(dfa) => {
                    1_u8.serialize(writer)?;
                    dfa.serialize(writer)?;
                }
            }
            Ok(())
        }
    }

    fn deserialize_half_validator<R: io::Read>(
        modifiers: Modifiers,
        reverse: bool,
        reader: &mut R,
    ) -> io::Result<HalfValidator> {
        let discriminant = u8::deserialize_reader(reader)?;
        match discriminant {
            0 => Ok(HalfValidator::Simple(SimpleValidator::deserialize_reader(
                reader,
            )?)),
            1 => {
                let dfa = dfa::DfaValidator::deserialize(modifiers, reverse, reader)?;
                Ok(HalfValidator::Dfa(dfa))
            }
            v => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("invalid discriminant when deserializing a half validator: {v}"),
            )),
        }
    }

    #[cfg(test)]
    mod tests {
        use dfa::DfaValidator;

        use crate::matcher::analysis::analyze_hir;
        use crate::regex::Hir;
        use crate::wire::tests::test_round_trip_custom_deser;

        use super::*;

        #[test]
        fn test_wire_validator() {
            let hir = Hir::Dot;
            let analysis = analyze_hir(&hir, false);
            let modifiers = Modifiers::default();

            test_round_trip_custom_deser(
                &Validator {
                    forward: None,
                    reverse: Some(HalfValidator::Simple(
                        SimpleValidator::new(&hir, &analysis, modifiers, false).unwrap(),
                    )),
                    reverse_is_greedy: true,
                },
                |reader| deserialize_validator(modifiers, reader),
                &[0, 1, 2],
            );
            test_round_trip_custom_deser(
                &Validator {
                    forward: Some(HalfValidator::Simple(
                        SimpleValidator::new(&hir, &analysis, modifiers, false).unwrap(),
                    )),
                    reverse: None,
                    reverse_is_greedy: false,
                },
                |reader| deserialize_validator(modifiers, reader),
                &[0],
            );

            // Test failure when compiling expressions.
            let mut reader = io::Cursor::new(b"\x05");
            assert!(deserialize_validator(modifiers, &mut reader).is_err());
        }

        #[test]
        fn test_wire_half_validator() {
            let hir = Hir::Dot;
            let analysis = analyze_hir(&hir, false);
            let modifiers = Modifiers::default();

            test_round_trip_custom_deser(
                &HalfValidator::Simple(
                    SimpleValidator::new(&hir, &analysis, modifiers, false).unwrap(),
                ),
                |reader| deserialize_half_validator(modifiers, false, reader),
                &[0, 1],
            );
            test_round_trip_custom_deser(
                &HalfValidator::Dfa(DfaValidator::new(&hir, &analysis, modifiers, false).unwrap()),
                |reader| deserialize_half_validator(modifiers, false, reader),
                &[0, 1],
            );

            // Test failure when compiling expressions.
            let mut reader = io::Cursor::new(b"\x05");
            assert!(deserialize_half_validator(modifiers, false, &mut reader).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_helpers::test_type_traits_non_clonable;

    #[test]
    fn test_types_traits() {
        test_type_traits_non_clonable(Validator::new(None, None, Modifiers::default()).unwrap());
        test_type_traits_non_clonable(
            HalfValidator::new(
                &Hir::Empty,
                &analyze_hir(&Hir::Empty, false),
                Modifiers::default(),
                false,
            )
            .unwrap(),
        );
    }
}
