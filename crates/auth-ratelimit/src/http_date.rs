//! HTTP-date (RFC 9110 §5.6.7) parsing in its three forms, case-sensitive as the grammar is:
//!
//! ```text
//! IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//! rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//! asctime-date Sun Nov  6 08:49:37 1994
//! ```

use std::time::Duration;

use auth_core::UnixTime;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an HTTP-date; `now` resolves a two-digit year (more than 50 years ahead means the
/// previous century). `None` when malformed or before 1970.
pub(crate) fn parse(s: &str, now: UnixTime) -> Option<UnixTime> {
    if let Some((day, rest)) = s.split_once(", ") {
        if DAYS.contains(&day) {
            // 06 Nov 1994 08:49:37 GMT
            let rest = rest.strip_suffix(" GMT")?;
            let ([d, m, y], time) = split3(rest, ' ')?;
            return build(num(d, 2)?, month(m)?, num(y, 4)?, time);
        }
        if LONG_DAYS.contains(&day) {
            // 06-Nov-94 08:49:37 GMT
            let rest = rest.strip_suffix(" GMT")?;
            let (date, time) = rest.split_once(' ')?;
            let ([d, m, y], "") = split3(date, '-')? else {
                return None;
            };
            return build(num(d, 2)?, month(m)?, full_year(num(y, 2)?, now), time);
        }
        return None;
    }
    // Sun Nov  6 08:49:37 1994
    let (day, rest) = s.split_at_checked(4)?;
    if !DAYS.contains(&day.strip_suffix(' ')?) {
        return None;
    }
    let (m, rest) = rest.split_at_checked(4)?;
    let (d, rest) = rest.split_at_checked(3)?;
    let d = d.strip_suffix(' ')?;
    let d = d
        .strip_prefix(' ')
        .map_or_else(|| num(d, 2), |d| num(d, 1))?;
    let (time, y) = rest.split_once(' ')?;
    build(d, month(m.strip_suffix(' ')?)?, num(y, 4)?, time)
}

/// Splits `a<sep>b<sep>c<space>rest` style text into three fields and the rest.
fn split3(s: &str, sep: char) -> Option<([&str; 3], &str)> {
    let mut it = s.splitn(4, sep);
    let a = it.next()?;
    let b = it.next()?;
    let c = it.next()?;
    let rest = it.next().unwrap_or("");
    Some(([a, b, c], rest))
}

fn num(s: &str, digits: usize) -> Option<u64> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month(s: &str) -> Option<u64> {
    MONTHS.iter().position(|m| *m == s).map(|i| i as u64 + 1)
}

fn full_year(yy: u64, now: UnixTime) -> u64 {
    let this_year = 1970 + now.as_secs() / 31_556_952; // mean Gregorian year: close enough
    let mut year = this_year - this_year % 100 + yy;
    if year > this_year + 50 {
        year -= 100;
    }
    year
}

fn build(day: u64, month: u64, year: u64, time: &str) -> Option<UnixTime> {
    let ([h, m, s], "") = split3(time, ':')? else {
        return None;
    };
    let (h, m, s) = (num(h, 2)?, num(m, 2)?, num(s, 2)?);
    if !(1..=days_in_month(year, month)).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    Some(UnixTime::from_duration(Duration::from_secs(secs)))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm), `None` before the epoch.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y % 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, want: Option<u64>) {
        let now = UnixTime::from_secs(1_790_000_000); // 2026
        assert_eq!(parse(input, now).map(UnixTime::as_secs), want, "{input}");
    }

    #[test]
    fn three_forms_and_rejects() {
        let y2k_eve = Some(946_684_799);
        check("Fri, 31 Dec 1999 23:59:59 GMT", y2k_eve);
        check("Friday, 31-Dec-99 23:59:59 GMT", y2k_eve);
        check("Fri Dec 31 23:59:59 1999", y2k_eve);
        check("Sun Nov  6 08:49:37 1994", Some(784_111_777));
        check("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777));
        check("Thu, 01 Jan 1970 00:00:00 GMT", Some(0));
        check("Sunday, 06-Nov-30 08:49:37 GMT", Some(1_920_185_377)); // 2030, not 1930
        for bad in [
            "fri, 31 dec 1999 23:59:59 gmt",
            "Fri, 31 Dec 1999 23:59:59 UTC",
            "Fri, 31 Feb 1999 23:59:59 GMT",
            "Fri, 31 Dec 1999 24:00:00 GMT",
            "Fri, 31 Dec 1969 23:59:59 GMT",
            "Fri,31 Dec 1999 23:59:59 GMT",
            "",
            "Fri",
            "Fri Dec 31 23:59:59 99",
            "Friday, 31-Dec-99-1 23:59:59 GMT",
            "Fri, 31 Dec 1999 23:59:59:1 GMT",
        ] {
            check(bad, None);
        }
    }
}
