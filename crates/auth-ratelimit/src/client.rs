//! The client side: reading `Retry-After`, `RateLimit` and `RateLimit-Policy` from a response
//! to decide how long to wait.
//!
//! `Retry-After` takes precedence (draft-ietf-httpapi-ratelimit-headers-10 §6). Malformed
//! fields and items are ignored, never trusted and never a panic: a `RateLimit-Policy` that
//! fails Structured Field parsing is dropped whole (RFC 9651 §4.2), an item that parses but
//! breaks the draft's rules (a Token name, a missing or negative `q` / `r`, a zero `w`) is
//! dropped alone. `RateLimit` on a response served from a cache (`Age` present) is ignored
//! (draft §6.4). Every wait is capped by the caller's maximum, so a huge `Retry-After`
//! cannot overflow or park a client for years.

use std::time::Duration;

use auth_core::UnixTime;
use http::HeaderMap;
use http::header::{AGE, RETRY_AFTER};

use crate::headers::{RATELIMIT, RATELIMIT_POLICY};
use crate::sf::{self, Bare, Member};

/// One item of `RateLimit-Policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyItem {
    /// The policy name.
    pub name: String,
    /// `q`: quota units per window.
    pub quota: u64,
    /// `w`: the window, if given.
    pub window: Option<Duration>,
    /// `qu`: the quota unit, passed through as sent (`requests` when absent); units outside
    /// the draft's registry are kept for the caller to judge.
    pub unit: Option<String>,
    /// `pk`: the partition key as the base64 text sent.
    pub partition_key: Option<String>,
}

/// One item of `RateLimit`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitItem {
    /// The policy name.
    pub name: String,
    /// `r`: quota units left.
    pub remaining: u64,
    /// `t`: time until the quota resets, if given.
    pub reset: Option<Duration>,
    /// `pk`: the partition key as the base64 text sent.
    pub partition_key: Option<String>,
}

/// A parsed `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// delay-seconds (saturating at `u64::MAX` seconds).
    Delay(Duration),
    /// An HTTP-date.
    Date(UnixTime),
}

impl RetryAfter {
    /// How long to wait from `now`: zero for a date in the past.
    pub fn delay(self, now: UnixTime) -> Duration {
        match self {
            Self::Delay(d) => d,
            Self::Date(at) => at.duration_since(now).unwrap_or_default(),
        }
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date in any of RFC 9110 §5.6.7's three forms
/// (`now` resolves RFC 850's two-digit years). `None` when malformed.
pub fn parse_retry_after(value: &str, now: UnixTime) -> Option<RetryAfter> {
    let v = value.trim_matches([' ', '\t']);
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs = v.bytes().fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    crate::http_date::parse(v).map(RetryAfter::Date)
}

/// The `RateLimit-Policy` items of a response (all field lines combined).
pub fn parse_policy(headers: &HeaderMap) -> Vec<PolicyItem> {
    members(headers, &RATELIMIT_POLICY)
        .iter()
        .filter_map(|m| {
            let name = string_name(m)?;
            let quota = non_negative(m.param("q")?)?;
            let window = match m.param("w") {
                None => None,
                Some(w) => Some(Duration::from_secs(non_negative(w).filter(|&w| w > 0)?)),
            };
            let unit = match m.param("qu") {
                None => None,
                Some(Bare::String(u)) => Some(u.clone()),
                Some(_) => return None,
            };
            Some(PolicyItem {
                name,
                quota,
                window,
                unit,
                partition_key: partition_key(m)?,
            })
        })
        .collect()
}

/// The `RateLimit` items of a response (all field lines combined). Empty when the response
/// came from a cache (`Age` present).
pub fn parse_ratelimit(headers: &HeaderMap) -> Vec<LimitItem> {
    if headers.contains_key(AGE) {
        return Vec::new();
    }
    members(headers, &RATELIMIT)
        .iter()
        .filter_map(|m| {
            let name = string_name(m)?;
            let remaining = non_negative(m.param("r")?)?;
            let reset = match m.param("t") {
                None => None,
                Some(t) => Some(Duration::from_secs(non_negative(t)?)),
            };
            Some(LimitItem {
                name,
                remaining,
                reset,
                partition_key: partition_key(m)?,
            })
        })
        .collect()
}

/// How long a client should wait before retrying, capped at `max`: `Retry-After` if valid,
/// else the longest reset among exhausted `RateLimit` items (the most restrictive limit),
/// else `None` (no reason to wait).
pub fn retry_delay(headers: &HeaderMap, now: UnixTime, max: Duration) -> Option<Duration> {
    let mut values = headers.get_all(RETRY_AFTER).iter();
    if let (Some(v), None) = (values.next(), values.next())
        && let Some(retry) = v.to_str().ok().and_then(|v| parse_retry_after(v, now))
    {
        return Some(retry.delay(now).min(max));
    }
    parse_ratelimit(headers)
        .iter()
        .filter(|item| item.remaining == 0)
        .filter_map(|item| item.reset)
        .max()
        .map(|d| d.min(max))
}

/// The members of a List field, all lines combined with `,` (RFC 9651 §4.2); empty when
/// absent or malformed.
fn members(headers: &HeaderMap, name: &http::HeaderName) -> Vec<Member> {
    let mut combined = String::new();
    for (i, v) in headers.get_all(name).iter().enumerate() {
        let Ok(v) = v.to_str() else {
            return Vec::new();
        };
        if i > 0 {
            combined.push(',');
        }
        combined.push_str(v);
    }
    sf::parse_list(&combined).unwrap_or_default()
}

fn string_name(m: &Member) -> Option<String> {
    match &m.item {
        Some(Bare::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn non_negative(b: &Bare) -> Option<u64> {
    match b {
        Bare::Integer(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

/// `Some(None)` when absent, `None` (drop the item) when not a byte sequence.
fn partition_key(m: &Member) -> Option<Option<String>> {
    match m.param("pk") {
        None => Some(None),
        Some(Bare::Bytes(b)) => Some(Some(b.clone())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in fields {
            m.append(*n, v.parse().unwrap());
        }
        m
    }

    #[test]
    fn retry_after_first_then_most_restrictive_exhausted_limit() {
        let now = UnixTime::from_secs(1_000_000);
        let max = Duration::from_secs(600);
        let h = map(&[("retry-after", "20"), ("ratelimit", r#""d";r=0;t=40"#)]);
        assert_eq!(retry_delay(&h, now, max), Some(Duration::from_secs(20)));
        let h = map(&[
            ("retry-after", "soon"),
            ("ratelimit", r#""a";r=0;t=4, "b";r=0;t=9, "c";r=5;t=99"#),
        ]);
        assert_eq!(retry_delay(&h, now, max), Some(Duration::from_secs(9)));
        let h = map(&[("ratelimit", r#""a";r=0;t=4"#), ("age", "30")]);
        assert_eq!(retry_delay(&h, now, max), None);
        let h = map(&[("retry-after", "99999999999999999999")]);
        assert_eq!(retry_delay(&h, now, max), Some(max));
    }
}
