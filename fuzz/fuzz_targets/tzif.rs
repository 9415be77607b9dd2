//! Time zone files from untrusted bytes (a zone name in a policy's input picks the file; the
//! database may be anyone's `TZDIR`): parsing never panics, and whatever parses converts any
//! instant and any local time without panicking, each local time to an instant it came from.
#![no_main]

use chrono::{DateTime, Offset as _, TimeZone as _};
use chrono_tz::Tz;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tz) = Tz::from_tzif("Fuzz/Zone", data) else {
        return;
    };
    for t in [i64::MIN / 4, -2_208_988_800, -1, 0, 1_700_000_000, 4_102_444_800, i64::MAX / 4] {
        let Some(utc) = DateTime::from_timestamp(t / 1_000_000, 0) else {
            continue;
        };
        let off = tz.offset_from_utc_datetime(&utc.naive_utc());
        let local = utc.naive_utc() + off.fix();
        // the local time of an instant maps back to (at least) that instant
        let back = tz.from_local_datetime(&local);
        assert!(back.earliest().is_some(), "{local} of {utc} has no instant");
    }
});
