//! `ratelimit_fields`: auth-ratelimit's client parsers for `RateLimit-Policy`, `RateLimit` and
//! `Retry-After`.
//!
//! Properties: no panic; what parses, written back as Structured Fields (RFC 9651) or as
//! delay-seconds / an HTTP-date, parses to the same items or value. The first byte picks the
//! field; the rest is its value, one field line per `\n`.

use std::time::{Duration, SystemTime};

use auth_ratelimit::client::{
    LimitItem, PolicyItem, RetryAfter, parse_policy, parse_ratelimit, parse_retry_after,
};
use base64::Engine as _;
use http::header::{HeaderMap, HeaderName, HeaderValue};

const POLICY: &str = "ratelimit-policy";
const LIMIT: &str = "ratelimit";

/// An sf-string: `"` and `\` escaped (the parsed string holds printable ASCII only).
fn sf_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn sf_bytes(b: &[u8]) -> String {
    format!(":{}:", base64::engine::general_purpose::STANDARD.encode(b))
}

fn policy_text(items: &[PolicyItem]) -> String {
    let rendered: Vec<String> = items
        .iter()
        .map(|i| {
            let mut s = format!("{};q={}", sf_string(&i.name), i.quota);
            if let Some(w) = i.window {
                s += &format!(";w={}", w.as_secs());
            }
            if let Some(u) = &i.unit {
                s += &format!(";qu={}", sf_string(u));
            }
            if let Some(pk) = &i.partition_key {
                s += &format!(";pk={}", sf_bytes(pk));
            }
            s
        })
        .collect();
    rendered.join(", ")
}

fn limit_text(items: &[LimitItem]) -> String {
    let rendered: Vec<String> = items
        .iter()
        .map(|i| {
            let mut s = format!("{};r={}", sf_string(&i.name), i.remaining);
            if let Some(t) = i.reset {
                s += &format!(";t={}", t.as_secs());
            }
            if let Some(pk) = &i.partition_key {
                s += &format!(";pk={}", sf_bytes(pk));
            }
            s
        })
        .collect();
    rendered.join(", ")
}

fn headers(name: &'static str, lines: &[&[u8]]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            map.append(HeaderName::from_static(name), v);
        }
    }
    map
}

fn retry_after(text: &str) {
    let Some(parsed) = parse_retry_after(text) else {
        return;
    };
    let written = match parsed {
        RetryAfter::Delay(d) => d.as_secs().to_string(),
        RetryAfter::Date(t) => {
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_secs()))
        }
        _ => return,
    };
    assert_eq!(
        parse_retry_after(&written),
        Some(parsed),
        "{text:?} as {written:?}"
    );
}

/// The property of target `ratelimit_fields`.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    match mode % 3 {
        0 => {
            let items = parse_policy(&headers(POLICY, &lines));
            let text = policy_text(&items);
            let again = parse_policy(&headers(POLICY, &[text.as_bytes()]));
            assert_eq!(again, items, "written back as {text:?}");
        }
        1 => {
            let items = parse_ratelimit(&headers(LIMIT, &lines));
            let text = limit_text(&items);
            let again = parse_ratelimit(&headers(LIMIT, &[text.as_bytes()]));
            assert_eq!(again, items, "written back as {text:?}");
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                retry_after(text);
            }
        }
    }
}
