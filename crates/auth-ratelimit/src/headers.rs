//! Server-side response fields: `RateLimit-Policy` and `RateLimit` as in
//! draft-ietf-httpapi-ratelimit-headers-10, `Retry-After` (RFC 9110 §10.2.3) on 429, and the
//! legacy `X-RateLimit-*` fields when asked for.
//!
//! Both IETF fields are Structured Field Lists (RFC 9651) with one item per quota, the item
//! being the policy name as an sf-string:
//!
//! ```text
//! RateLimit-Policy: "10-per-1s";q=10;w=1, "1000-per-3600s";q=1000;w=3600
//! RateLimit: "10-per-1s";r=0;t=1, "1000-per-3600s";r=990;t=36
//! Retry-After: 1
//! ```
//!
//! `r` is the number of unit requests left now, `t` the whole seconds (rounded up) until the
//! quota is fully replenished; on a refusal `t` of a refusing quota is never below
//! `Retry-After`. `w` is omitted for a period that is not whole seconds (the draft has no
//! sub-second windows).

use std::fmt::Write as _;
use std::time::Duration;

use auth_core::Rejection;
use auth_core::rejection::delay_seconds;
use http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use crate::{LimitDecision, Outcome, Quota};

/// `RateLimit-Policy`.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// Legacy `X-RateLimit-Limit`: the binding quota's count per period.
pub const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
/// Legacy `X-RateLimit-Remaining`: requests left under the binding quota.
pub const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
/// Legacy `X-RateLimit-Reset`: seconds (a delay, not a date) until the binding quota resets.
pub const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Writes the fields for one set of quotas; `RateLimit-Policy` is built once (each response
/// shares its bytes), and so is each quota's legacy `X-RateLimit-Limit`. An admitted request's
/// fields cost three allocations: the `HeaderMap`'s two and the `RateLimit` value's one (plus
/// two for the legacy `X-RateLimit-Remaining` and `-Reset`).
#[derive(Debug, Clone)]
pub struct Headers {
    policy: HeaderValue,
    legacy: bool,
    /// Each quota's count and its `X-RateLimit-Limit` value, when `legacy`.
    limits: Box<[(u32, HeaderValue)]>,
}

impl Headers {
    /// The fields for `quotas`, with the legacy `X-RateLimit-*` ones if `legacy`.
    pub fn new(quotas: &[Quota], legacy: bool) -> Self {
        let mut policy = String::new();
        for (i, q) in quotas.iter().enumerate() {
            if i > 0 {
                policy.push_str(", ");
            }
            push_sf_string(&mut policy, q.name());
            let _ = write!(policy, ";q={}", q.count());
            let period = q.period();
            if period.subsec_nanos() == 0 {
                let _ = write!(policy, ";w={}", period.as_secs());
            }
        }
        // Copied once into a `Bytes` of its own length, which its first clone turns into a
        // shared buffer (one allocation, once): every response's clone after that is a
        // reference count's bump (bytes' `promotable_even_clone`).
        let policy =
            HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(""));
        let limits = if legacy {
            quotas
                .iter()
                .map(|q| (q.count(), number(u64::from(q.count()))))
                .collect()
        } else {
            Box::default()
        };
        Self {
            policy,
            legacy,
            limits,
        }
    }

    /// Whether the legacy `X-RateLimit-*` fields are sent too.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The response fields for `decision` made under `quotas`.
    pub fn for_decision(&self, quotas: &[Quota], decision: &LimitDecision) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.capacity(decision, true));
        self.write(quotas, decision, &mut map, true);
        map
    }

    /// The fields to add to the response, or a 429 [`Rejection`] that carries them and
    /// `Retry-After` (rounded up to whole seconds). Dry-run decisions always pass.
    ///
    /// # Errors
    ///
    /// The rejection, when the decision is [`Outcome::Limited`].
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere; 429 is cold
    pub fn enforce(
        &self,
        quotas: &[Quota],
        decision: &LimitDecision,
    ) -> Result<HeaderMap, Rejection> {
        if decision.outcome() != Outcome::Limited {
            return Ok(self.for_decision(quotas, decision));
        }
        let mut map = HeaderMap::with_capacity(self.capacity(decision, false));
        self.write(quotas, decision, &mut map, false);
        let retry = decision.retry_after().unwrap_or(Duration::from_secs(1));
        let mut rejection = Rejection::rate_limited(retry);
        let mut last = None;
        for (name, value) in map {
            // `None` repeats the previous name (a multi-valued field).
            last = name.or(last);
            if let Some(name) = &last {
                rejection = rejection.with_header(name.clone(), value);
            }
        }
        Err(rejection)
    }

    /// How many fields [`write`](Self::write) may insert: a map of just that capacity is the
    /// smallest `HeaderMap` allocation that holds them.
    fn capacity(&self, d: &LimitDecision, retry_after: bool) -> usize {
        let retry = retry_after && d.outcome() == Outcome::Limited;
        2 + usize::from(retry) + if self.legacy { 3 } else { 0 }
    }

    fn write(&self, quotas: &[Quota], d: &LimitDecision, map: &mut HeaderMap, retry_after: bool) {
        map.insert(RATELIMIT_POLICY, self.policy.clone());
        // The value is written on the stack and copied once into its `HeaderValue`; a value
        // too long for the stack (quota names of hundreds of bytes) is written on the heap.
        let mut stack = [0u8; STACK_FIELD];
        let mut field = Field::new(&mut stack);
        let mut binding = ratelimit_value(quotas, d, &mut field);
        let mut heap;
        if field.overflow {
            heap = vec![0u8; heap_bound(quotas)];
            field = Field::new(&mut heap);
            binding = ratelimit_value(quotas, d, &mut field);
        }
        let value = field.written();
        // A decision made without state (a store that failed open) has nothing to report.
        if value.is_empty() {
            return;
        }
        if let Ok(v) = HeaderValue::from_bytes(value) {
            map.insert(RATELIMIT, v);
        }
        if retry_after
            && d.outcome() == Outcome::Limited
            && let Some(retry) = d.retry_after()
        {
            map.insert(RETRY_AFTER, delay_seconds(retry));
        }
        if let (true, Some((i, r))) = (self.legacy, binding) {
            let state = d.policies().nth(i).unwrap_or_default();
            let count = quotas[i].count();
            let limit = match self.limits.get(i) {
                Some((c, v)) if *c == count => v.clone(),
                _ => number(u64::from(count)),
            };
            map.insert(X_RATELIMIT_LIMIT, limit);
            map.insert(X_RATELIMIT_REMAINING, number(r));
            map.insert(X_RATELIMIT_RESET, number(ceil_secs(state.reset)));
        }
    }
}

/// Writes the `RateLimit` value for `d` under `quotas` into `out`; returns the binding quota
/// (the one with the fewest requests left, the first of equals) and what it has left.
fn ratelimit_value(
    quotas: &[Quota],
    d: &LimitDecision,
    out: &mut Field<'_>,
) -> Option<(usize, u64)> {
    let mut binding: Option<(usize, u64)> = None;
    for (i, (q, p)) in quotas.iter().zip(d.policies()).enumerate() {
        if i > 0 {
            out.push(b", ");
        }
        let mut t = ceil_secs(p.reset);
        if let Some(retry) = p.retry_after {
            t = t.max(ceil_secs(retry));
        }
        let r = p.remaining.min(u64::from(q.burst()));
        out.push_sf_string(q.name());
        out.push(b";r=");
        out.push_u64(r);
        out.push(b";t=");
        out.push_u64(t);
        if binding.is_none_or(|(_, best)| r < best) {
            binding = Some((i, r));
        }
    }
    binding
}

/// Bytes of a `RateLimit` value written on the stack: four quotas of names up to about 30
/// bytes with the largest numbers, or longer names with everyday numbers.
const STACK_FIELD: usize = 256;

/// The most bytes the `RateLimit` value for `quotas` can take: every name's character
/// escaped, both numbers of 20 digits.
fn heap_bound(quotas: &[Quota]) -> usize {
    quotas
        .iter()
        .map(|q| 2 * q.name().len() + "\"\";r=;t=, ".len() + 2 * 20)
        .sum()
}

/// A field value written into a buffer of fixed size; what does not fit is dropped and
/// noted in `overflow`, so that the caller writes it again into a larger buffer.
struct Field<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> Field<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            overflow: false,
        }
    }

    fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(to) => {
                to.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflow = true,
        }
    }

    /// `n` in decimal.
    fn push_u64(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.push(decimal(n, &mut digits));
    }

    /// `s` as an RFC 9651 sf-string, as [`push_sf_string`] writes it.
    fn push_sf_string(&mut self, s: &str) {
        self.push(b"\"");
        if s.bytes().any(|b| b == b'"' || b == b'\\') {
            for b in s.bytes() {
                if b == b'"' || b == b'\\' {
                    self.push(b"\\");
                }
                self.push(&[b]);
            }
        } else {
            self.push(s.as_bytes());
        }
        self.push(b"\"");
    }
}

/// `n` in decimal, written at the end of `digits`.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[start..];
        }
    }
}

/// `n` in decimal as a field value, in one allocation of just its digits.
fn number(n: u64) -> HeaderValue {
    let mut digits = [0u8; 20];
    HeaderValue::from_bytes(decimal(n, &mut digits)).unwrap_or_else(|_| HeaderValue::from(n))
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Appends `s` as an RFC 9651 sf-string (quotes, with `"` and `\` escaped). Quota names are
/// printable ASCII by construction.
fn push_sf_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyState;

    fn quotas() -> Vec<Quota> {
        vec![
            Quota::per_second(10).unwrap().named("a\"b").unwrap(),
            Quota::new(5, Duration::from_millis(500)).unwrap(),
        ]
    }

    #[test]
    fn policy_field() {
        let h = Headers::new(&quotas(), false);
        assert_eq!(h.policy, r#""a\"b";q=10;w=1, "5-per-500ms";q=5"#);
    }

    #[test]
    fn refusal_carries_retry_after_and_t_never_below_it() {
        let qs = quotas();
        let d = LimitDecision::new(
            Outcome::Limited,
            &[
                PolicyState {
                    remaining: 0,
                    reset: Duration::from_millis(1500),
                    retry_after: Some(Duration::from_millis(1200)),
                },
                PolicyState {
                    remaining: 7,
                    reset: Duration::from_millis(10),
                    retry_after: None,
                },
            ],
        );
        let h = Headers::new(&qs, true);
        let r = h.enforce(&qs, &d).unwrap_err();
        assert_eq!(r.status(), 429);
        let resp = r.to_response();
        let hv = |n: &str| resp.headers()[n].to_str().unwrap().to_owned();
        assert_eq!(hv("retry-after"), "2");
        assert_eq!(hv("ratelimit"), r#""a\"b";r=0;t=2, "5-per-500ms";r=5;t=1"#);
        assert_eq!(hv("x-ratelimit-limit"), "10");
        assert_eq!(hv("x-ratelimit-remaining"), "0");
        assert_eq!(hv("x-ratelimit-reset"), "2");
        assert_eq!(resp.headers().get_all("retry-after").iter().count(), 1);

        let dry = LimitDecision::new(Outcome::DryRunLimited, &d.policies().collect::<Vec<_>>());
        let ok = Headers::new(&qs, false).enforce(&qs, &dry).unwrap();
        assert!(ok.contains_key("ratelimit"));
        assert!(!ok.contains_key("x-ratelimit-limit"));
    }
}

#[cfg(test)]
#[path = "headers/format_tests.rs"]
mod format_tests;
