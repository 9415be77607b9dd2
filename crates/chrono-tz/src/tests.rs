//! Against the machine's database (`.ci/run` installs `tzdata`) and, independently, Python's
//! `zoneinfo` reading the same files.

use super::*;
use chrono::{DateTime, Utc};

fn tz(name: &str) -> Tz {
    name.parse()
        .unwrap_or_else(|e| panic!("{e}\n(the tests need the system's tzdata)"))
}

fn offset(zone: &str, rfc3339: &str) -> (i32, String) {
    let t = DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc);
    let o = tz(zone).offset_from_utc_datetime(&t.naive_utc());
    (o.fix().local_minus_utc(), o.abbreviation().to_owned())
}

#[test]
fn known_offsets_of_real_zones() {
    let cases = [
        // the day New York changed to daylight time in 2024, either side of 2:00 EST
        ("America/New_York", "2024-03-10T06:59:59Z", -18000, "EST"),
        ("America/New_York", "2024-03-10T07:00:00Z", -14400, "EDT"),
        ("America/New_York", "2024-11-03T05:59:59Z", -14400, "EDT"),
        ("America/New_York", "2024-11-03T06:00:00Z", -18000, "EST"),
        // far past the file's transitions: its footer's rules
        ("America/New_York", "2099-07-01T00:00:00Z", -14400, "EDT"),
        ("Europe/Paris", "2026-12-07T12:00:00Z", 3600, "CET"),
        ("Europe/Paris", "2026-07-01T12:00:00Z", 7200, "CEST"),
        ("Asia/Kolkata", "2026-01-01T00:00:00Z", 19800, "IST"),
        ("Australia/Lord_Howe", "2026-01-01T00:00:00Z", 39600, "+11"),
        (
            "Australia/Lord_Howe",
            "2026-07-01T00:00:00Z",
            37800,
            "+1030",
        ),
        // negative daylight saving: Irish Standard Time is the summer's
        ("Europe/Dublin", "2026-07-01T00:00:00Z", 3600, "IST"),
        ("Europe/Dublin", "2026-01-01T00:00:00Z", 0, "GMT"),
        // local mean time before the zone's first transition
        ("America/New_York", "1850-01-01T00:00:00Z", -17762, "LMT"),
        ("Etc/GMT+5", "2026-01-01T00:00:00Z", -18000, "-05"),
    ];
    for (zone, at, want, abbr) in cases {
        assert_eq!(offset(zone, at), (want, abbr.to_owned()), "{zone} at {at}");
    }
}

#[test]
fn local_times_in_gaps_and_folds() {
    let ny = tz("America/New_York");
    let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    // 2:30 on the spring-forward day never happened
    assert!(matches!(
        ny.offset_from_local_datetime(&local("2024-03-10 02:30:00")),
        MappedLocalTime::None
    ));
    // 1:30 on the fall-back day happened twice: EDT first, then EST
    match ny.offset_from_local_datetime(&local("2024-11-03 01:30:00")) {
        MappedLocalTime::Ambiguous(a, b) => {
            assert_eq!(
                (a.fix().local_minus_utc(), b.fix().local_minus_utc()),
                (-14400, -18000)
            );
        }
        other => panic!("{other:?}"),
    }
    let noon = ny
        .from_local_datetime(&local("2024-07-04 12:00:00"))
        .unwrap();
    assert_eq!(
        noon.with_timezone(&Utc).to_rfc3339(),
        "2024-07-04T16:00:00+00:00"
    );
    assert_eq!(noon.to_string(), "2024-07-04 12:00:00 EDT");
}

#[test]
fn names_that_are_not_zones_are_refused_with_the_fix() {
    for bad in [
        "",
        "/etc/passwd",
        "../etc/passwd",
        "America/../../etc/passwd",
        "a\\b",
        "Europe//Paris",
        "./UTC",
    ] {
        let err = bad.parse::<Tz>().unwrap_err();
        assert!(
            matches!(err, ParseError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("help: "), "{err}");
    }
    let err = "Mars/Olympus_Mons".parse::<Tz>().unwrap_err();
    assert!(matches!(err, ParseError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("apt-get install tzdata"), "{err}");
}

#[test]
fn tzdir_and_damaged_files() {
    let dir = std::env::temp_dir().join(format!("zt-tz-{}", std::process::id()));
    let _ = fs_err::remove_dir_all(&dir);
    fs_err::create_dir_all(dir.join("Test")).unwrap();
    fs_err::write(dir.join("Test/Broken"), b"not a zone").unwrap();
    fs_err::copy(
        ZONEINFO_DIRS
            .iter()
            .map(|d| Path::new(d).join("Asia/Tokyo"))
            .find(|p| p.exists())
            .expect("the system's tzdata"),
        dir.join("Test/Tokyo"),
    )
    .unwrap();
    let dirs = [dir.clone()];
    let tokyo = Tz::load("Test/Tokyo", &dirs).unwrap();
    assert_eq!(tokyo.name(), "Test/Tokyo");
    assert_eq!(
        tokyo
            .offset_from_utc_datetime(
                &NaiveDate::from_ymd_opt(2026, 1, 1)
                    .unwrap()
                    .and_time(NaiveTime::MIN)
            )
            .fix()
            .local_minus_utc(),
        32400
    );
    let err = Tz::load("Test/Broken", &dirs).unwrap_err();
    assert!(
        matches!(err, ParseError::Invalid { .. }) && err.to_string().contains("TZif"),
        "{err}"
    );
    // a FIFO is refused without being opened (opening it would wait for a writer)
    let fifo = dir.join("Test/Fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = Tz::load("Test/Fifo", &dirs).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // a directory is not a zone
    assert!(matches!(
        Tz::load("Test", &dirs),
        Err(ParseError::NotFound { .. })
    ));
    assert!(matches!(
        Tz::load("Europe/Paris", &dirs),
        Err(ParseError::NotFound { .. })
    ));
    fs_err::remove_dir_all(&dir).unwrap();
}

/// Every zone of the database, at instants from 1900 to 2100, against Python's `zoneinfo`
/// (CPython's own reader of the same files): the offsets must agree.
#[test]
fn agrees_with_python_zoneinfo_on_every_zone() {
    let script = r#"
import sys, zoneinfo, datetime
names = sorted(zoneinfo.available_timezones())
step = 86400 * 37 + 3607
for name in names:
    z = zoneinfo.ZoneInfo(name)
    t = -2208988800
    offs = []
    while t < 4102444800:
        d = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc).astimezone(z)
        offs.append(str(int(d.utcoffset().total_seconds())))
        t += step
    print(name, ",".join(offs))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3 (with zoneinfo) for the differential test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut zones = 0;
    let mut differ = Vec::new();
    for line in text.lines() {
        let (name, offs) = line.split_once(' ').unwrap();
        let tz = tz(name);
        for (i, want) in offs.split(',').enumerate() {
            let t = -2_208_988_800 + i64::try_from(i).unwrap() * (86400 * 37 + 3607);
            let utc = DateTime::from_timestamp(t, 0).unwrap().naive_utc();
            let got = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
            if got.to_string() != want {
                differ.push(format!("{name} at {t}: zt {got}, python {want}"));
            }
        }
        zones += 1;
    }
    assert!(zones > 300, "only {zones} zones");
    assert!(
        differ.is_empty(),
        "{} differences, first: {:?}",
        differ.len(),
        &differ[..differ.len().min(10)]
    );
}
