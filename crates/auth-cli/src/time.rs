//! Times for people: Unix seconds as RFC 3339 dates (UTC) and durations as `59m` or
//! `2d3h`, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// The latest time `auth` writes in a token: 9999-12-31T23:59:59Z. RFC 7519 sets no bound on
/// a NumericDate, but past year 9999 no date format, database or person reads it back, and
/// `u64::MAX` is a mistake, not an expiry.
pub(crate) const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Now in Unix seconds, or `--now` when given.
pub(crate) fn now_or(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// `1700000000` -> `2023-11-14T22:13:20Z`.
pub(crate) fn date(unix: u64) -> String {
    let days = unix / 86_400;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (never negative here).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// A duration in the two largest units: `42s`, `59m`, `1h5m`, `2d3h`.
pub(crate) fn human(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut left = secs;
    let mut shown = 0;
    for (size, unit) in UNITS {
        let n = left / size;
        if n > 0 || (shown > 0 && left > 0) {
            if n > 0 {
                out.push_str(&format!("{n}{unit}"));
            }
            shown += 1;
            left %= size;
        }
        if shown == 2 || left == 0 {
            break;
        }
    }
    out
}

/// How a time claim relates to now: `expires in 59m`, `expired 3m ago`, `issued 1m ago`,
/// `valid in 5m`.
pub(crate) fn relative(claim: &str, at: u64, now: u64) -> String {
    let future = at > now;
    let d = human(at.abs_diff(now));
    match (claim, future) {
        ("exp", true) => format!("expires in {d}"),
        ("exp", false) => format!("expired {d} ago"),
        ("nbf", true) => format!("valid in {d}"),
        ("nbf", false) => format!("valid since {d} ago"),
        ("iat", false) => format!("issued {d} ago"),
        ("iat", true) => format!("issued {d} in the future"),
        (_, true) => format!("in {d}"),
        (_, false) => format!("{d} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01T00:00:00Z");
        assert_eq!(date(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(date(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(date(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(date(MAX_NUMERIC_DATE), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn durations() {
        for (secs, want) in [
            (0, "0s"),
            (42, "42s"),
            (3540, "59m"),
            (3599, "59m59s"),
            (3900, "1h5m"),
            (3601, "1h"),
            (183_600, "2d3h"),
        ] {
            assert_eq!(human(secs), want, "{secs}");
        }
    }

    #[test]
    fn relatives() {
        assert_eq!(relative("exp", 4540, 1000), "expires in 59m");
        assert_eq!(relative("exp", 1000, 1180), "expired 3m ago");
        assert_eq!(relative("exp", 1000, 1000), "expired 0s ago");
        assert_eq!(relative("iat", 940, 1000), "issued 1m ago");
        assert_eq!(relative("nbf", 1300, 1000), "valid in 5m");
    }
}
