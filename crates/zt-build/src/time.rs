//! UTC calendar arithmetic (what `gmtime` does), without a time crate.

/// Broken-down UTC time: (year, month 1-12, day 1-31, hour, minute, second).
pub(crate) struct Tm {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

/// Seconds since the Unix epoch to UTC calendar time (proleptic Gregorian).
pub(crate) fn gmtime(t: i64) -> Tm {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if m <= 2 { y + 1 } else { y };
    Tm {
        year,
        month: m as u32,
        day: d as u32,
        hour: (secs / 3600) as u32,
        minute: (secs % 3600 / 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// UTC calendar time to seconds since the epoch (what `timegm` does), for valid fields.
pub(crate) fn timegm(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, i64::from(month) + 9)
    } else {
        (year, i64::from(month) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * m + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_fixture_time() {
        let tm = gmtime(1_423_159_771);
        assert_eq!(
            (tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second),
            (2015, 2, 5, 18, 9, 31)
        );
        assert_eq!(timegm(2015, 2, 5, 18, 9, 31), 1_423_159_771);
        let tm = gmtime(0);
        assert_eq!((tm.year, tm.month, tm.day), (1970, 1, 1));
        let tm = gmtime(951_782_400); // 2000-02-29
        assert_eq!((tm.year, tm.month, tm.day), (2000, 2, 29));
    }

    proptest::proptest! {
        #[test]
        fn roundtrip(t in -10_000_000_000i64..100_000_000_000i64) {
            let tm = gmtime(t);
            proptest::prop_assert_eq!(timegm(tm.year, tm.month, tm.day, tm.hour, tm.minute, tm.second), t);
        }
    }
}
