//! HTTP-date (RFC 9110 §5.6.7) in its three forms, read with the `httpdate` crate (the
//! parser hyper uses), which also checks that the weekday fits the date:
//!
//! ```text
//! IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
//! rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
//! asctime-date Sun Nov  6 08:49:37 1994
//! ```
//!
//! One deliberate difference from §5.6.7: a two-digit year (the obsolete rfc850-date) is
//! 1970 to 2069, as `httpdate` reads it, where the RFC would read 70 to 76 as 2070 to 2076
//! today; that is a `Retry-After` half a century away, which no server sends.

use auth_core::UnixTime;

/// Parses an HTTP-date. `None` when malformed (a wrong weekday included) or before 1970.
pub(crate) fn parse(s: &str) -> Option<UnixTime> {
    httpdate::parse_http_date(s)
        .ok()
        .map(UnixTime::from_system_time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, want: Option<u64>) {
        assert_eq!(parse(input).map(UnixTime::as_secs), want, "{input}");
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
        check("Wednesday, 06-Nov-30 08:49:37 GMT", Some(1_920_185_377)); // 2030, not 1930
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
            // The weekday must fit the date.
            "Sunday, 06-Nov-30 08:49:37 GMT",
            "Sat, 31 Dec 1999 23:59:59 GMT",
            "Fri, 31 Dec 1999 23:59:59:1 GMT",
        ] {
            check(bad, None);
        }
    }
}
