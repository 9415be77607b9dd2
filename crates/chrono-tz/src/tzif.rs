//! TZif files (RFC 8536), the compiled form of the IANA time zone database that
//! `/usr/share/zoneinfo` holds: transitions, local time types, and the POSIX `TZ` footer for
//! instants after the last transition.

use std::sync::Arc;

use crate::posix;

/// The largest TZif file read (the biggest in the database are ~10 KB).
pub(crate) const MAX_LEN: usize = 1 << 20;

/// One local time type: its offset (seconds east of UTC), daylight flag and abbreviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalType {
    pub(crate) utoff: i32,
    pub(crate) isdst: bool,
    pub(crate) abbr: Arc<str>,
}

/// A zone's rules.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Zone {
    /// When each transition happens (Unix seconds), ascending.
    transitions: Vec<i64>,
    /// The local time type each transition starts.
    kinds: Vec<u8>,
    types: Vec<LocalType>,
    /// The type before the first transition (Go's `lookupFirstZone`).
    first: usize,
    footer: Option<posix::Rule>,
}

impl Zone {
    /// The offset, abbreviation and daylight flag at `t` (Unix seconds), as Go's
    /// `Location.lookup` gives them.
    pub(crate) fn at(&self, t: i64) -> (i32, &Arc<str>, bool) {
        let ty = |i: usize| {
            let lt = self.types.get(i).unwrap_or(&self.types[0]);
            (lt.utoff, &lt.abbr, lt.isdst)
        };
        let after = self.transitions.partition_point(|tr| *tr <= t);
        if self.transitions.is_empty() || after == self.transitions.len() {
            // no transition (Go makes one at the beginning of time), or after the last one
            if let Some(rule) = &self.footer {
                return posix::at(rule, t);
            }
        }
        if after == 0 {
            return ty(self.first);
        }
        ty(usize::from(self.kinds[after - 1]))
    }

    /// Every offset the zone uses (its types' and its footer's).
    pub(crate) fn offsets(&self) -> Vec<i32> {
        let mut out: Vec<i32> = self.types.iter().map(|t| t.utoff).collect();
        if let Some(f) = &self.footer {
            out.push(f.std_off);
            if let Some(d) = &f.dst {
                out.push(d.off);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.b.len() {
            return Err("the file ends early".into());
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|_| "a count does not fit".to_owned())
    }
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn header(r: &mut Reader<'_>) -> Result<Header, String> {
    if r.take(4)? != b"TZif" {
        return Err("it does not start with `TZif`".into());
    }
    let version = r.take(1)?[0];
    if version != 0 && !(b'2'..=b'9').contains(&version) {
        return Err(format!("unknown version byte {version:#04x}"));
    }
    r.take(15)?;
    Ok(Header {
        version,
        isutcnt: r.count()?,
        isstdcnt: r.count()?,
        leapcnt: r.count()?,
        timecnt: r.count()?,
        typecnt: r.count()?,
        charcnt: r.count()?,
    })
}

/// The length of a data block of `h` with `time` bytes per transition time.
fn block_len(h: &Header, time: usize) -> Option<usize> {
    let parts = [
        h.timecnt.checked_mul(time)?,
        h.timecnt,
        h.typecnt.checked_mul(6)?,
        h.charcnt,
        h.leapcnt.checked_mul(time + 4)?,
        h.isstdcnt,
        h.isutcnt,
    ];
    parts.iter().try_fold(0usize, |a, b| a.checked_add(*b))
}

/// Parses a TZif file; the error says what is wrong with it.
pub(crate) fn parse(bytes: &[u8]) -> Result<Zone, String> {
    if bytes.len() > MAX_LEN {
        return Err(format!("it is larger than {MAX_LEN} bytes"));
    }
    let mut r = Reader { b: bytes };
    let mut h = header(&mut r)?;
    let mut time = 4;
    if h.version >= b'2' {
        // the version 1 block is for old readers; the 64-bit block follows it
        let skip = block_len(&h, 4).ok_or("its counts overflow")?;
        r.take(skip)?;
        h = header(&mut r)?;
        time = 8;
    }
    let len = block_len(&h, time).ok_or("its counts overflow")?;
    if len > r.b.len() {
        return Err("the file ends early".into());
    }
    if h.typecnt == 0 || h.charcnt == 0 {
        return Err("it has no local time type".into());
    }
    if h.typecnt > 256 {
        return Err("it has more than 256 local time types".into());
    }
    if (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) || (h.isutcnt != 0 && h.isutcnt != h.typecnt) {
        return Err("its standard/UT indicator counts do not match its types".into());
    }
    let mut transitions = Vec::with_capacity(h.timecnt);
    for chunk in r.take(h.timecnt * time)?.chunks_exact(time) {
        let t = match *chunk {
            [a, b, c, d] => i64::from(i32::from_be_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err("a transition time is cut".into()),
        };
        if transitions.last().is_some_and(|last| *last >= t) {
            return Err("its transition times do not ascend".into());
        }
        transitions.push(t);
    }
    let kinds = r.take(h.timecnt)?.to_vec();
    if kinds.iter().any(|k| usize::from(*k) >= h.typecnt) {
        return Err("a transition names a local time type it does not have".into());
    }
    let raw_types: Vec<(i32, bool, usize)> = r
        .take(h.typecnt * 6)?
        .chunks_exact(6)
        .map(|c| {
            (
                i32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                c[4] != 0,
                usize::from(c[5]),
            )
        })
        .collect();
    let chars = r.take(h.charcnt)?;
    let mut types = Vec::with_capacity(raw_types.len());
    for (utoff, isdst, idx) in raw_types {
        // within a day, as chrono's FixedOffset (and every zone: −12 h to +14 h)
        if !(-86_399..=86_399).contains(&utoff) {
            return Err(format!("a local time type has the offset {utoff} s"));
        }
        let rest = chars
            .get(idx..)
            .ok_or("an abbreviation index is past the abbreviations")?;
        let end = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or("an abbreviation is not terminated")?;
        let abbr = std::str::from_utf8(&rest[..end]).map_err(|_| "an abbreviation is not UTF-8")?;
        types.push(LocalType {
            utoff,
            isdst,
            abbr: Arc::from(abbr),
        });
    }
    // leap second records, standard/wall and UT/local indicators: not used for conversions
    r.take(h.leapcnt * (time + 4) + h.isstdcnt + h.isutcnt)?;
    let footer = if time == 8 {
        let rest = r.b;
        if rest.first() != Some(&b'\n') {
            return Err("the footer does not start with a newline".into());
        }
        let body = &rest[1..];
        let end = body
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("the footer does not end with a newline")?;
        let text = std::str::from_utf8(&body[..end]).map_err(|_| "the footer is not ASCII")?;
        if text.is_empty() {
            None
        } else {
            Some(
                posix::parse(text)
                    .ok_or_else(|| format!("its footer `{text}` is not a POSIX TZ rule"))?,
            )
        }
    } else {
        None
    };
    let first = first_type(&transitions, &kinds, &types);
    Ok(Zone {
        transitions,
        kinds,
        types,
        first,
        footer,
    })
}

/// The local time type before the first transition, as Go's `lookupFirstZone` picks it.
fn first_type(transitions: &[i64], kinds: &[u8], types: &[LocalType]) -> usize {
    // the first type, unless transitions use it
    if !kinds.contains(&0) {
        return 0;
    }
    // a transition to daylight time first: the standard type before it
    if let (Some(_), Some(k)) = (transitions.first(), kinds.first())
        && types.get(usize::from(*k)).is_some_and(|t| t.isdst)
    {
        for i in (0..usize::from(*k)).rev() {
            if !types[i].isdst {
                return i;
            }
        }
    }
    types.iter().position(|t| !t.isdst).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 TZif file: `transitions` (time, type), `types` (offset, dst, abbr), footer.
    pub(crate) fn build(
        transitions: &[(i64, u8)],
        types: &[(i32, bool, &str)],
        footer: &str,
    ) -> Vec<u8> {
        let mut chars = Vec::new();
        let mut idx = Vec::new();
        for (_, _, a) in types {
            idx.push(u8::try_from(chars.len()).unwrap());
            chars.extend_from_slice(a.as_bytes());
            chars.push(0);
        }
        let head = |v: &mut Vec<u8>, timecnt: usize, typecnt: usize, charcnt: usize| {
            v.extend_from_slice(b"TZif2");
            v.extend_from_slice(&[0; 15]);
            for n in [0, 0, 0, timecnt, typecnt, charcnt] {
                v.extend_from_slice(&u32::try_from(n).unwrap().to_be_bytes());
            }
        };
        let mut v = Vec::new();
        // an empty version 1 block with one type, as zic -b slim writes it
        head(&mut v, 0, 1, 1);
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        head(&mut v, transitions.len(), types.len(), chars.len());
        for (t, _) in transitions {
            v.extend_from_slice(&t.to_be_bytes());
        }
        for (_, k) in transitions {
            v.push(*k);
        }
        for ((off, dst, _), i) in types.iter().zip(&idx) {
            v.extend_from_slice(&off.to_be_bytes());
            v.push(u8::from(*dst));
            v.push(*i);
        }
        v.extend_from_slice(&chars);
        v.push(b'\n');
        v.extend_from_slice(footer.as_bytes());
        v.push(b'\n');
        v
    }

    #[test]
    fn transitions_then_the_footer() {
        let z = parse(&build(
            &[(-100, 1), (0, 2), (1000, 1)],
            &[
                (-17762, false, "LMT"),
                (-18000, false, "EST"),
                (-14400, true, "EDT"),
            ],
            "EST5EDT,M3.2.0,M11.1.0",
        ))
        .unwrap();
        assert_eq!(z.at(-101).0, -17762);
        assert_eq!(z.at(-100).0, -18000);
        assert_eq!(z.at(0).0, -14400);
        assert_eq!(z.at(999).1.as_ref(), "EDT");
        // after the last transition the footer decides: July is daylight time
        assert_eq!(z.at(1_909_000_000).0, -14400);
        assert_eq!(z.at(1_890_000_000).0, -18000);
        assert_eq!(z.offsets(), vec![-18000, -17762, -14400]);
    }

    #[test]
    fn a_zone_without_transitions_is_its_footer() {
        let z = parse(&build(&[], &[(-18000, false, "-05")], "<-05>5")).unwrap();
        assert_eq!(z.at(i64::MIN / 2).0, -18000);
        assert_eq!(z.at(0).1.as_ref(), "-05");
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        let good = build(&[(0, 0)], &[(3600, false, "CET")], "CET-1");
        assert!(parse(&good).is_ok());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"TZxf".to_vec(), "TZif"),
            (good[..good.len() - 10].to_vec(), "ends early"),
            (
                build(&[(0, 3)], &[(3600, false, "CET")], ""),
                "local time type",
            ),
            (
                build(&[(5, 0), (5, 0)], &[(3600, false, "CET")], ""),
                "ascend",
            ),
            (build(&[], &[(3600, false, "CET")], "C"), "footer"),
            (build(&[], &[(i32::MIN, false, "CET")], ""), "offset"),
        ];
        for (bytes, want) in cases {
            let err = parse(&bytes).unwrap_err();
            assert!(err.contains(want), "{err} should say {want}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_are_refused_without_panicking(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            t: i64,
        ) {
            if let Ok(z) = parse(&bytes) {
                let _ = z.at(t / 4);
            }
        }

        #[test]
        fn mutated_files_parse_or_are_refused_without_panicking(
            at in 0usize..200, byte: u8, t in -3_000_000_000i64..5_000_000_000,
        ) {
            let mut bytes = build(
                &[(-100, 1), (0, 2), (1000, 1)],
                &[(-17762, false, "LMT"), (-18000, false, "EST"), (-14400, true, "EDT")],
                "EST5EDT,M3.2.0,M11.1.0",
            );
            let i = at % bytes.len();
            bytes[i] = byte;
            if let Ok(z) = parse(&bytes) {
                let _ = z.at(t);
            }
        }
    }
}
