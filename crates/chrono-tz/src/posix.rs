//! The POSIX `TZ` rule at the end of a TZif file (RFC 8536 §3.3), which gives local time after
//! the file's last transition: `std offset [dst [offset] [,start[/time],end[/time]]]`, as
//! Go's `time` package (and so OPA) reads and applies it.

use std::sync::Arc;

use chrono::{DateTime, Datelike as _, NaiveDate};

const DAY: i64 = 86_400;

/// A parsed rule; offsets are seconds east of UTC (the POSIX string's sign is the other way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) std: Arc<str>,
    pub(crate) std_off: i32,
    pub(crate) dst: Option<Dst>,
}

/// Daylight time and when it starts and ends (local wall-clock rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dst {
    pub(crate) name: Arc<str>,
    pub(crate) off: i32,
    start: Change,
    end: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    day: When,
    /// Seconds after local midnight (may be negative or beyond a day: RFC 8536 §3.3.1).
    time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// `Jn`: day 1–365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0–365, February 29 counted in leap years.
    Ordinal(u16),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = the last) of month `m`.
    MonthWeekDay { month: u8, week: u8, weekday: u8 },
}

/// The local time type `rule` gives at `t` (Unix seconds): its offset, name and whether it
/// is daylight time.
pub(crate) fn at(rule: &Rule, t: i64) -> (i32, &Arc<str>, bool) {
    let Some(dst) = &rule.dst else {
        return (rule.std_off, &rule.std, false);
    };
    // Go's `tzset`: the year of `t` in UTC, the changes as seconds after that year's start
    let Some(year) = DateTime::from_timestamp(t, 0).map(|d| d.year()) else {
        return (rule.std_off, &rule.std, false);
    };
    let Some(year_start) = NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
    else {
        return (rule.std_off, &rule.std, false);
    };
    let ysec = t - year_start;
    let start = change_time(year, dst.start, rule.std_off);
    let end = change_time(year, dst.end, dst.off);
    let standard = (rule.std_off, &rule.std, false);
    let daylight = (dst.off, &dst.name, true);
    // southern hemisphere: daylight time spans the new year
    let (first, second, outside, inside) = if end < start {
        (end, start, daylight, standard)
    } else {
        (start, end, standard, daylight)
    };
    if ysec < first || ysec >= second {
        outside
    } else {
        inside
    }
}

/// Seconds after the UTC start of `year` at which `change` happens, for a wall clock at
/// `off` seconds east of UTC (Go's `tzruleTime`).
fn change_time(year: i32, change: Change, off: i32) -> i64 {
    let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
    let day = match change.day {
        When::Julian(n) => i64::from(n) - 1 + i64::from(leap && n >= 60),
        When::Ordinal(n) => i64::from(n),
        When::MonthWeekDay {
            month,
            week,
            weekday,
        } => {
            let first = NaiveDate::from_ymd_opt(year, u32::from(month), 1);
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(year, u32::from(month) + 1, 1)
            };
            match (first, next) {
                (Some(first), Some(next)) => {
                    let days_in = (next - first).num_days();
                    let dow = i64::from(first.weekday().num_days_from_sunday());
                    let mut d = (i64::from(weekday) - dow).rem_euclid(7);
                    for _ in 1..week {
                        if d + 7 >= days_in {
                            break;
                        }
                        d += 7;
                    }
                    i64::from(first.ordinal0()) + d
                }
                _ => 0,
            }
        }
    };
    day * DAY + change.time - i64::from(off)
}

/// Parses a POSIX `TZ` string as a TZif footer holds it; `None` when it is not one.
pub(crate) fn parse(s: &str) -> Option<Rule> {
    let mut p = Parser { s: s.as_bytes() };
    let std = p.name()?;
    let std_off = -p.offset(24)?;
    if p.s.is_empty() {
        return Some(Rule {
            std,
            std_off,
            dst: None,
        });
    }
    let name = p.name()?;
    let off = if p.s.is_empty() || p.s.first() == Some(&b',') {
        std_off.checked_add(3600)?
    } else {
        -p.offset(24)?
    };
    let (start, end) = if p.s.is_empty() {
        // POSIX leaves the default to the implementation; Go (and glibc) use the US rules
        (
            Change {
                day: When::MonthWeekDay {
                    month: 3,
                    week: 2,
                    weekday: 0,
                },
                time: 7200,
            },
            Change {
                day: When::MonthWeekDay {
                    month: 11,
                    week: 1,
                    weekday: 0,
                },
                time: 7200,
            },
        )
    } else {
        p.eat(b',')?;
        let start = p.change()?;
        p.eat(b',')?;
        let end = p.change()?;
        (start, end)
    };
    if !p.s.is_empty() {
        return None;
    }
    Some(Rule {
        std,
        std_off,
        dst: Some(Dst {
            name,
            off,
            start,
            end,
        }),
    })
}

struct Parser<'a> {
    s: &'a [u8],
}

impl Parser<'_> {
    fn eat(&mut self, b: u8) -> Option<()> {
        let (first, rest) = self.s.split_first()?;
        (*first == b).then(|| self.s = rest)
    }

    /// `<+0530>` or at least three letters.
    fn name(&mut self) -> Option<Arc<str>> {
        let (name, rest) = if self.s.first() == Some(&b'<') {
            let close = self.s.iter().position(|b| *b == b'>')?;
            let name = self.s.get(1..close)?;
            if !name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'-')
            {
                return None;
            }
            (name, self.s.get(close + 1..)?)
        } else {
            let end = self
                .s
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(self.s.len());
            self.s.split_at(end)
        };
        if name.len() < 3 {
            return None;
        }
        self.s = rest;
        Some(Arc::from(std::str::from_utf8(name).ok()?))
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, hours up to `max_hours` (24 for an offset, as POSIX
    /// says; 167 for a change's time, RFC 8536 §3.3.1); an offset stays within a day.
    fn offset(&mut self, max_hours: i32) -> Option<i32> {
        let sign = match self.s.first() {
            Some(b'-') => {
                self.s = self.s.get(1..)?;
                -1
            }
            Some(b'+') => {
                self.s = self.s.get(1..)?;
                1
            }
            _ => 1,
        };
        let hours = self.number(0, max_hours)?;
        let mut secs = hours * 3600;
        if self.eat(b':').is_some() {
            secs += self.number(0, 59)? * 60;
            if self.eat(b':').is_some() {
                secs += self.number(0, 59)?;
            }
        }
        (max_hours > 24 || secs < 86_400).then_some(sign * secs)
    }

    fn number(&mut self, min: i32, max: i32) -> Option<i32> {
        let digits = self.s.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        let (n, rest) = self.s.split_at(digits);
        let n: i32 = std::str::from_utf8(n).ok()?.parse().ok()?;
        self.s = rest;
        (min..=max).contains(&n).then_some(n)
    }

    fn change(&mut self) -> Option<Change> {
        let day = match self.s.first()? {
            b'J' => {
                self.s = self.s.get(1..)?;
                When::Julian(u16::try_from(self.number(1, 365)?).ok()?)
            }
            b'M' => {
                self.s = self.s.get(1..)?;
                let month = u8::try_from(self.number(1, 12)?).ok()?;
                self.eat(b'.')?;
                let week = u8::try_from(self.number(1, 5)?).ok()?;
                self.eat(b'.')?;
                let weekday = u8::try_from(self.number(0, 6)?).ok()?;
                When::MonthWeekDay {
                    month,
                    week,
                    weekday,
                }
            }
            _ => When::Ordinal(u16::try_from(self.number(0, 365)?).ok()?),
        };
        let time = if self.eat(b'/').is_some() {
            i64::from(self.offset(167)?)
        } else {
            7200
        };
        Some(Change { day, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn off(rule: &str, t: &str) -> (i32, String, bool) {
        let r = parse(rule).unwrap_or_else(|| panic!("{rule} does not parse"));
        let (o, n, d) = at(&r, ts(t));
        (o, n.to_string(), d)
    }

    #[test]
    fn us_eastern_changes_at_two_local() {
        let r = "EST5EDT,M3.2.0,M11.1.0";
        assert_eq!(
            off(r, "2030-03-10T06:59:59Z"),
            (-18000, "EST".into(), false)
        );
        assert_eq!(off(r, "2030-03-10T07:00:00Z"), (-14400, "EDT".into(), true));
        // 2:00 EDT = 6:00 UTC
        assert_eq!(off(r, "2030-11-03T05:59:59Z"), (-14400, "EDT".into(), true));
        assert_eq!(
            off(r, "2030-11-03T06:00:00Z"),
            (-18000, "EST".into(), false)
        );
        // the default rules are the same
        assert_eq!(off("EST5EDT", "2030-07-01T00:00:00Z").0, -14400);
    }

    #[test]
    fn southern_hemisphere_and_half_hours() {
        // Australia/Lord_Howe: +10:30 standard, +11 daylight from October to April
        let r = "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0";
        assert_eq!(off(r, "2030-01-15T00:00:00Z"), (39600, "+11".into(), true));
        assert_eq!(
            off(r, "2030-06-15T00:00:00Z"),
            (37800, "+1030".into(), false)
        );
        // first Sunday of October 2030 is the 6th: 2:00 local standard = 15:30 UTC the 5th
        assert_eq!(off(r, "2030-10-05T15:29:59Z").0, 37800);
        assert_eq!(off(r, "2030-10-05T15:30:00Z").0, 39600);
    }

    #[test]
    fn negative_daylight_saving_and_times() {
        // Europe/Dublin: "daylight" (GMT) in winter, standard IST in summer
        let r = "IST-1GMT0,M10.5.0,M3.5.0/1";
        assert_eq!(off(r, "2030-07-01T00:00:00Z"), (3600, "IST".into(), false));
        assert_eq!(off(r, "2030-12-01T00:00:00Z"), (0, "GMT".into(), true));
        // America/Godthab-style negative change times and ones past midnight
        let r = "<-02>2<-01>,M3.5.0/-1,M10.5.0/0";
        assert_eq!(off(r, "2030-07-01T00:00:00Z").0, -3600);
        assert_eq!(off(r, "2030-01-01T00:00:00Z").0, -7200);
    }

    #[test]
    fn julian_and_ordinal_days_and_permanent_daylight_time() {
        // J60 is March 1 every year; 59 is February 29 in leap years, March 1 in others
        assert_eq!(
            off("AAA3BBB,J60/0,J300/0", "2032-02-29T12:00:00Z").0,
            -10800
        );
        assert_eq!(off("AAA3BBB,59/0,300/0", "2032-02-29T12:00:00Z").0, -7200);
        assert_eq!(off("AAA3BBB,59/0,300/0", "2031-02-28T12:00:00Z").0, -10800);
        assert_eq!(off("AAA3BBB,59/0,300/0", "2031-03-01T12:00:00Z").0, -7200);
        assert_eq!(off("AAA3BBB,J60/0,J300/0", "2031-03-01T12:00:00Z").0, -7200);
        // "daylight time all year" as zic writes it
        let r = "EST5EDT,0/0,J365/25";
        assert_eq!(off(r, "2030-01-01T05:00:00Z").0, -14400);
        assert_eq!(off(r, "2030-12-31T23:00:00Z").0, -14400);
    }

    #[test]
    fn malformed_strings_are_refused() {
        for bad in [
            "",
            "E5",
            "EST",
            "EST5EDT,M13.1.0,M11.1.0",
            "EST5EDT,M3.6.0,M11.1.0",
            "EST5EDT,M3.2.7,M11.1.0",
            "EST5EDT,J0,J365",
            "EST5EDT,366,1",
            "EST168",
            "EST25",
            "EST5EDT24:00:01,M3.2.0,M11.1.0",
            "<+0530-5:30",
            "EST5EDT,M3.2.0",
            "EST5EDT,M3.2.0,M11.1.0,",
            "EST5EDT4x",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_parses_or_is_refused_without_panicking(s in "\\PC{0,40}", t: i64) {
            if let Some(r) = parse(&s) {
                let _ = at(&r, t / 4);
            }
        }

        #[test]
        fn rule_shaped_strings_give_one_of_their_offsets(
            std in 0i32..24, dst in 0i32..24, m1 in 1u8..=12, m2 in 1u8..=12,
            w1 in 1u8..=5, w2 in 1u8..=5, d1 in 0u8..=6, d2 in 0u8..=6,
            t in -4_000_000_000i64..8_000_000_000,
        ) {
            let s = format!("AAA{std}BBB{dst},M{m1}.{w1}.{d1},M{m2}.{w2}.{d2}/3");
            let r = parse(&s).unwrap();
            let (o, _, _) = at(&r, t);
            proptest::prop_assert!(o == -std * 3600 || o == -dst * 3600);
        }
    }
}
