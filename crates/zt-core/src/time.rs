//! Civil time without a time-zone library: Unix seconds as RFC 3339 UTC text, the one format
//! zt writes into statements, SBOMs and policy input.

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian; days-from-civil inverse).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch of an RFC 3339 date-time (`2026-11-25T12:00:00Z`,
/// `…T12:00:00.123+02:00`); `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86400 + hour * 3600 + minute * 60 + second.min(59) - offset)
}

/// A length of time as people type it on a command line: a number (fractions allowed) and a
/// unit, one of `ms`, `s`, `m`/`min`, `h`, `d`; a bare number is seconds. `90s`, `10m`,
/// `1.5h`, `7d`, `500ms`. The error says what was wrong and what to write instead.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. `90s`, `10m`, `1h` or `7d`"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{s}`; use ms, s, m, h or d"
            ));
        }
    };
    let secs = n * scale;
    // Below 1e9 s (31 years): longer is a typo, and f64 → Duration stays exact enough.
    if !(secs > 0.0 && secs.is_finite() && secs < 1e9) {
        return Err(format!(
            "`{s}` is not a positive duration (at most 31 years)"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// An instant as people type it on a command line: an RFC 3339 date-time with a zone
/// (`2026-11-25T12:00:00Z`) or Unix seconds. With `ago_from: Some(now)`, an age
/// ([`parse_duration`]: `30m`, `12h`, `7d`) is also taken, as `now` minus the age. The error
/// says which forms are accepted.
pub fn parse_instant(s: &str, ago_from: Option<i64>) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(secs) = parse_rfc3339(t) {
        return Ok(secs);
    }
    match ago_from {
        Some(now) if t.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            let age = parse_duration(t)?;
            Ok(now.saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX)))
        }
        Some(_) => Err(format!(
            "`{s}` is not a time; give an RFC 3339 date-time with a zone \
             (`2026-11-25T12:00:00Z`), Unix seconds, or an age like `30m`, `12h`, `7d`"
        )),
        None => Err(format!(
            "`{s}` is not a time; give an RFC 3339 date-time with a zone \
             (`2026-11-25T12:00:00Z`) or Unix seconds"
        )),
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::{parse_duration, parse_instant, parse_rfc3339, rfc3339};
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10min"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration(" 3s "), Ok(Duration::from_secs(3)));
        for bad in [
            "",
            "s",
            "0",
            "-1s",
            "5w",
            "1e3",
            "soon",
            "1.2.3s",
            "99999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(
            parse_duration("5w")
                .unwrap_err()
                .contains("unknown unit `w`")
        );
    }

    #[test]
    fn instants() {
        let now = 1_800_000_000;
        assert_eq!(parse_instant("1700000000", None), Ok(1_700_000_000));
        assert_eq!(
            parse_instant("2023-11-14T22:13:20Z", None),
            Ok(1_700_000_000)
        );
        assert_eq!(
            parse_instant("2023-11-14T22:13:20Z", Some(now)),
            Ok(1_700_000_000)
        );
        assert_eq!(parse_instant("12h", Some(now)), Ok(now - 12 * 3600));
        assert_eq!(parse_instant("7d", Some(now)), Ok(now - 7 * 86_400));
        // Ages are only taken where the caller allows them.
        assert!(parse_instant("12h", None).unwrap_err().contains("RFC 3339"));
        assert!(
            parse_instant("yesterday", Some(now))
                .unwrap_err()
                .contains("age")
        );
        assert!(parse_instant("2023-11-14", Some(now)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn duration_never_panics(s in "\\PC{0,12}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn instant_never_panics(s in "\\PC{0,24}", now in proptest::num::i64::ANY) {
            let _ = parse_instant(&s, Some(now));
        }

        #[test]
        fn seconds_round_trip(n in 1u32..1_000_000) {
            proptest::prop_assert_eq!(parse_duration(&format!("{n}s")), Ok(Duration::from_secs(u64::from(n))));
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(
            parse_rfc3339("2026-11-25T14:00:00.5+02:00"),
            Some(1_795_608_000)
        );
    }

    #[test]
    fn malformed() {
        for s in [
            "",
            "2026-11-25",
            "2026-11-25T12:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T12:00:00.Z",
            "2026-11-25T12:00:00+2:00",
            "2026-11-25T12:00:00Zjunk",
            "yyyy-11-25T12:00:00Z",
            "2026-11-25T12:00:00+02:00x",
            "+026-11-25T12:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(t in -62_135_596_800i64..253_402_300_799i64) {
            proptest::prop_assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
