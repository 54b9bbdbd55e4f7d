//! The `RateLimit`, `RateLimit-Policy` and `Retry-After` fields both ways, and client
//! addresses behind proxies.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_ratelimit::client::{self, RetryAfter};
use auth_ratelimit::client_addr::{ForwardedHeader, TrustedProxies};
use auth_ratelimit::{Quota, RateLimiter};
use http::HeaderMap;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::{BASE, at_ms, fail, json};
use crate::harness::{CheckResult, Suite, check, ensure_eq};

fn header_map(lines: &[(&str, &str)]) -> Result<HeaderMap, String> {
    let mut m = HeaderMap::new();
    for (name, value) in lines {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        m.append(
            name,
            http::HeaderValue::from_str(value).map_err(|e| e.to_string())?,
        );
    }
    Ok(m)
}

/// The field values of a vector: one line, or the JSON array after "field lines: ".
fn lines(v: &str) -> Vec<String> {
    match v.split_once("field lines: ") {
        Some((_, list)) => serde_json::from_str(list).unwrap_or_default(),
        None => vec![v.to_owned()],
    }
}

/// The policy name and partition key of a parsed item against a vector's expectation.
fn same_name_and_key(raw: &str, name: &str, pk: Option<&[u8]>, want: &Value) -> CheckResult {
    use base64::Engine as _;
    ensure_eq(&format!("{raw}: name"), Some(name), want["policy"].as_str())?;
    let want_pk = match want["pk_bytes_b64"].as_str() {
        None => None,
        // RFC 9651 §4.2.7: a parser may accept non-zero padding bits, as `sfv` does and
        // one vector sends.
        Some(b64) => Some(
            base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
            )
            .decode(b64)
            .map_err(|e| format!("{raw}: vector pk: {e}"))?,
        ),
    };
    ensure_eq(&format!("{raw}: pk"), pk, want_pk.as_deref())
}

fn policy_vectors() -> CheckResult {
    let (_, f) = json()?;
    for v in f["ratelimit_policy_field"]
        .as_array()
        .ok_or("policy vectors")?
    {
        let raw = v["field_value"].as_str().ok_or("field_value")?;
        let ls = lines(raw);
        let pairs: Vec<(&str, &str)> = ls
            .iter()
            .map(|l| ("ratelimit-policy", l.as_str()))
            .collect();
        // A value that is not even a valid header value is dropped before we see it.
        let Ok(h) = header_map(&pairs) else { continue };
        let got = client::parse_policy(&h);
        let want: Vec<Value> = match &v["expected"] {
            Value::Array(items) => items.clone(),
            Value::String(s) if s.contains("pass through") => {
                ensure_eq(
                    &format!("{raw}: unit passed through"),
                    got.first().and_then(|p| p.unit.as_deref()),
                    Some("bytes"),
                )?;
                continue;
            }
            _ => Vec::new(),
        };
        ensure_eq(&format!("{raw}: items"), got.len(), want.len())?;
        for (g, w) in got.iter().zip(&want) {
            same_name_and_key(raw, &g.name, g.partition_key.as_deref(), w)?;
            ensure_eq(&format!("{raw}: q"), Some(g.quota), w["q"].as_u64())?;
            ensure_eq(
                &format!("{raw}: w"),
                g.window.map(|d| d.as_secs()),
                w["w"].as_u64(),
            )?;
            ensure_eq(&format!("{raw}: qu"), g.unit.as_deref(), w["qu"].as_str())?;
        }
    }
    Ok(())
}

fn ratelimit_vectors() -> CheckResult {
    let (_, f) = json()?;
    for v in f["ratelimit_field"].as_array().ok_or("ratelimit vectors")? {
        let raw = v["field_value"].as_str().ok_or("field_value")?;
        let (value, cached) = match raw.split_once(" with response from cache") {
            Some((value, _)) => (value, true),
            None => (raw, false),
        };
        let mut pairs = vec![("ratelimit", value)];
        if cached {
            pairs.push(("age", "30"));
        }
        let h = header_map(&pairs)?;
        let got = client::parse_ratelimit(&h);
        let want = v["expected"].as_array().cloned().unwrap_or_default();
        ensure_eq(&format!("{raw}: items"), got.len(), want.len())?;
        for (g, w) in got.iter().zip(&want) {
            same_name_and_key(raw, &g.name, g.partition_key.as_deref(), w)?;
            ensure_eq(&format!("{raw}: r"), Some(g.remaining), w["r"].as_u64())?;
            ensure_eq(
                &format!("{raw}: t"),
                g.reset.map(|d| d.as_secs()),
                w["t"].as_u64(),
            )?;
        }
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` to seconds since the epoch (the vectors' expected dates).
fn iso_secs(s: &str) -> Option<u64> {
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<u64>().ok();
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1 - 719_468;
    Some(days * 86_400 + n(11, 13)? * 3600 + n(14, 16)? * 60 + n(17, 19)?)
}

fn retry_after_vectors() -> CheckResult {
    let (_, f) = json()?;
    let now = UnixTime::from_secs(1_790_000_000);
    let cap = Duration::from_secs(600);
    for v in f["retry_after"].as_array().ok_or("retry-after vectors")? {
        let raw = v["field_value"].as_str().ok_or("field_value")?;
        let got = client::parse_retry_after(raw);
        let expected = &v["expected"];
        if let Some(secs) = expected["delay_seconds"].as_u64() {
            ensure_eq(raw, got, Some(RetryAfter::Delay(Duration::from_secs(secs))))?;
        } else if let Some(date) = expected["http_date"].as_str() {
            let secs = iso_secs(date).ok_or("bad expected date")?;
            ensure_eq(raw, got, Some(RetryAfter::Date(UnixTime::from_secs(secs))))?;
        } else if raw.starts_with("9999") {
            let h = header_map(&[("retry-after", raw)])?;
            ensure_eq(raw, client::retry_delay(&h, now, cap), Some(cap))?;
        } else if raw == "<HTTP-date in the past>" {
            let h = header_map(&[("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT")])?;
            ensure_eq(raw, client::retry_delay(&h, now, cap), Some(Duration::ZERO))?;
        } else if let Some(rest) = raw.strip_prefix("Retry-After: ") {
            let (retry, limit) = rest
                .split_once(" with RateLimit: ")
                .ok_or("precedence vector")?;
            let h = header_map(&[("retry-after", retry), ("ratelimit", limit)])?;
            let want = retry.parse::<u64>().map_err(|e| e.to_string())?;
            ensure_eq(
                raw,
                client::retry_delay(&h, now, cap),
                Some(Duration::from_secs(want)),
            )?;
        } else {
            ensure_eq(&format!("{raw} is invalid"), got, None)?;
            if let Ok(h) = header_map(&[("retry-after", raw)]) {
                ensure_eq(
                    &format!("{raw} is ignored"),
                    client::retry_delay(&h, now, cap),
                    None,
                )?;
            }
        }
    }
    Ok(())
}

/// Our own fields read back by the client parser: names, q, w, r, t, and Retry-After first.
fn headers_round_trip(
    (count, secs, burst, spent): (u32, u64, u32, u32),
) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(at_ms(0));
    let quota = Quota::new(count, Duration::from_secs(secs))
        .and_then(|q| q.with_burst(burst))
        .map_err(|e| fail(e.to_string()))?;
    let l = RateLimiter::builder(quota)
        .clock(clock)
        .build::<u8>()
        .map_err(|e| fail(e.to_string()))?;
    let mut d = l.check(&0);
    for _ in 0..spent {
        d = l.check(&0);
    }
    let headers = match l.enforce(&d) {
        Ok(h) => h,
        Err(r) => r.to_response().headers().clone(),
    };
    let policy = client::parse_policy(&headers);
    let limit = client::parse_ratelimit(&headers);
    let ok = policy.len() == 1
        && policy[0].quota == u64::from(count)
        && policy[0].window == Some(Duration::from_secs(secs))
        && limit.len() == 1
        && limit[0].name == policy[0].name
        && limit[0].remaining == d.remaining();
    if !ok {
        return Err(fail(format!(
            "{headers:?} read back as {policy:?} {limit:?}"
        )));
    }
    let now = UnixTime::from_secs(BASE);
    let wait = client::retry_delay(&headers, now, Duration::MAX);
    match (d.is_allowed(), d.retry_after()) {
        (true, _) => Ok(()),
        (false, Some(r)) => {
            let secs = r.as_secs() + u64::from(r.subsec_nanos() > 0);
            let t = limit[0].reset.unwrap_or_default();
            if wait != Some(Duration::from_secs(secs)) || t < Duration::from_secs(secs) {
                return Err(fail(format!("retry {r:?}: client waits {wait:?}, t {t:?}")));
            }
            Ok(())
        }
        (false, None) => Err(fail("refusal without retry-after".into())),
    }
}

fn spoofing((forged, client, hops): (Vec<u32>, u32, usize)) -> Result<(), TestCaseError> {
    // Trusted: 10.0.0.0/8. The real client is outside it; forged entries come first.
    let client = Ipv4Addr::from_bits(client % 0x0900_0000 + 0x0b00_0000); // 11.0.0.0..
    let proxies = TrustedProxies::new(ForwardedHeader::XForwardedFor, ["10.0.0.0/8"])
        .map_err(|e| fail(e.to_string()))?;
    let mut entries: Vec<String> = forged
        .iter()
        .map(|f| Ipv4Addr::from_bits(*f).to_string())
        .collect();
    entries.push(client.to_string());
    entries.extend((0..hops).map(|i| format!("10.0.0.{i}")));
    let h = header_map(&[("x-forwarded-for", &entries.join(", "))]).map_err(fail)?;
    let got = proxies.client_addr(&h, IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)));
    if got != IpAddr::V4(client) {
        return Err(fail(format!("{entries:?}: keyed as {got}")));
    }
    Ok(())
}

fn parsers_never_panic(input: String) -> Result<(), TestCaseError> {
    let now = UnixTime::from_secs(BASE);
    let _ = client::parse_retry_after(&input);
    if let Ok(v) = http::HeaderValue::from_str(&input) {
        let mut h = HeaderMap::new();
        for name in [
            "ratelimit",
            "ratelimit-policy",
            "retry-after",
            "forwarded",
            "x-forwarded-for",
        ] {
            h.insert(http::HeaderName::from_static(name), v.clone());
        }
        let _ = client::parse_policy(&h);
        let _ = client::retry_delay(&h, now, Duration::from_secs(60));
        for header in [ForwardedHeader::Forwarded, ForwardedHeader::XForwardedFor] {
            if let Ok(p) = TrustedProxies::new(header, ["0.0.0.0/0", "::/0"]) {
                let _ = p.client_addr(&h, IpAddr::V4(Ipv4Addr::LOCALHOST));
            }
        }
    }
    Ok(())
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "RateLimit-Policy vectors",
        "draft-ietf-httpapi-ratelimit-headers-10 §3, RFC 9651",
        policy_vectors,
    );
    s.case(
        "RateLimit vectors",
        "draft-ietf-httpapi-ratelimit-headers-10 §4, §6.4",
        ratelimit_vectors,
    );
    s.case(
        "Retry-After vectors (Retry-After first, malformed ignored)",
        "RFC 9110 §10.2.3, §5.6.7",
        retry_after_vectors,
    );
    s.case(
        "our fields read back; Retry-After rounded up; t never below it",
        "draft-ietf-httpapi-ratelimit-headers-10, RFC 9110 §10.2.3",
        || {
            check(
                128,
                (1u32..20, 1u64..100, 1u32..20, 0u32..40),
                headers_round_trip,
            )
        },
    );
    s.case(
        "forged X-Forwarded-For entries never pick the key",
        "RFC 7239 §7.4, design",
        || {
            check(
                64,
                (
                    prop::collection::vec(any::<u32>(), 0..5),
                    any::<u32>(),
                    0usize..4,
                ),
                spoofing,
            )
        },
    );
    s.case("client parsers never panic", "design", || {
        check(256, ".{0,80}", parsers_never_panic)
    });
}
