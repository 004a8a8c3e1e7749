//! Time as the API speaks it: RFC 3339 UTC strings with milliseconds (what Immich sends), and
//! the lenient parser for client-supplied dates (RFC 3339 or milliseconds since the epoch).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn to_api(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_api() -> String {
    to_api(now())
}

pub fn unix_now() -> i64 {
    now().timestamp()
}

/// Parses a client date; `None` when it is neither RFC 3339 nor epoch milliseconds.
pub fn parse_client(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    s.parse::<i64>()
        .ok()
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// An HTTP date (RFC 9110 IMF-fixdate) for `Upload-Expires`.
pub fn http_date(unix: i64) -> String {
    Utc.timestamp_opt(unix, 0)
        .single()
        .unwrap_or_else(now)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_and_epoch_millis_and_rejects_garbage() {
        let a = parse_client("2024-03-01T10:00:00.000Z").unwrap();
        let b = parse_client("1709287200000").unwrap();
        assert_eq!(a, b);
        assert!(parse_client("yesterday").is_none());
        assert_eq!(to_api(a), "2024-03-01T10:00:00.000Z");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
