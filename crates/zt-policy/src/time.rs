//! RFC 3339 timestamps as the policy input uses them: parsed to check them, and written from
//! Unix seconds when zt assembles an input. Both live in `zt_core::time`; these names are the
//! policy crate's public API.

/// Seconds since the Unix epoch of an RFC 3339 date-time (`2026-11-25T12:00:00Z`,
/// `…T12:00:00.123+02:00`); `None` if it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    zt_core::time::parse_rfc3339(s)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn format_rfc3339(unix: i64) -> String {
    zt_core::time::rfc3339(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_through_zt_core() {
        assert_eq!(parse_rfc3339("2026-11-25T12:00:00Z"), Some(1_795_608_000));
        assert_eq!(parse_rfc3339("2026-11-25T12:00:00"), None);
        assert_eq!(format_rfc3339(1_795_608_000), "2026-11-25T12:00:00Z");
    }
}
