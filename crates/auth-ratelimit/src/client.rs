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
use sfv::{BareItem, Item, ListEntry, Parser};

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
    /// `pk`: the partition key, decoded from its byte sequence.
    pub partition_key: Option<Vec<u8>>,
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
    /// `pk`: the partition key, decoded from its byte sequence.
    pub partition_key: Option<Vec<u8>>,
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

/// Parses `Retry-After`: delay-seconds or an HTTP-date in any of RFC 9110 §5.6.7's three forms.
/// `None` when malformed.
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let v = value.trim_matches([' ', '\t']);
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let secs = v.bytes().fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    UnixTime::from_http_date(v).map(RetryAfter::Date)
}

/// The `RateLimit-Policy` items of a response (all field lines combined).
pub fn parse_policy(headers: &HeaderMap) -> Vec<PolicyItem> {
    members(headers, &RATELIMIT_POLICY)
        .iter()
        .filter_map(|m| {
            let name = string_name(m)?;
            let quota = non_negative(param(m, "q")?)?;
            let window = match param(m, "w") {
                None => None,
                Some(w) => Some(Duration::from_secs(non_negative(w).filter(|&w| w > 0)?)),
            };
            let unit = match param(m, "qu") {
                None => None,
                Some(u) => Some(u.as_string()?.as_str().to_owned()),
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
            let remaining = non_negative(param(m, "r")?)?;
            let reset = match param(m, "t") {
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
        && let Some(retry) = v.to_str().ok().and_then(parse_retry_after)
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

/// The items of a List field, all lines combined with `,` (RFC 9651 §4.2), parsed by `sfv`;
/// empty when absent or malformed anywhere (a failure fails the whole field). Inner lists
/// carry no name, so they are dropped here.
fn members(headers: &HeaderMap, name: &http::HeaderName) -> Vec<Item> {
    let mut combined = Vec::new();
    for (i, v) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            combined.push(b',');
        }
        combined.extend_from_slice(v.as_bytes());
    }
    if combined.is_empty() {
        return Vec::new();
    }
    Parser::new(&combined)
        .parse_list::<sfv::List>()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| match entry {
            ListEntry::Item(item) => Some(item),
            ListEntry::InnerList(_) => None,
        })
        .collect()
}

fn param<'a>(item: &'a Item, key: &str) -> Option<&'a BareItem> {
    item.params
        .iter()
        .find(|(k, _)| k.as_str() == key)
        .map(|(_, v)| v)
}

fn string_name(item: &Item) -> Option<String> {
    item.bare_item.as_string().map(|s| s.as_str().to_owned())
}

fn non_negative(b: &BareItem) -> Option<u64> {
    u64::try_from(i64::from(b.as_integer()?)).ok()
}

/// `Some(None)` when absent, `None` (drop the item) when not a byte sequence.
fn partition_key(item: &Item) -> Option<Option<Vec<u8>>> {
    match param(item, "pk") {
        None => Some(None),
        Some(b) => b.as_byte_sequence().map(|b| Some(b.to_vec())),
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
