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

/// Writes the fields for one set of quotas; `RateLimit-Policy` is built once.
#[derive(Debug, Clone)]
pub struct Headers {
    policy: HeaderValue,
    legacy: bool,
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
        Self {
            policy: HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("")),
            legacy,
        }
    }

    /// Whether the legacy `X-RateLimit-*` fields are sent too.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// The response fields for `decision` made under `quotas`.
    pub fn for_decision(&self, quotas: &[Quota], decision: &LimitDecision) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(6);
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
        let mut map = HeaderMap::with_capacity(6);
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

    fn write(&self, quotas: &[Quota], d: &LimitDecision, map: &mut HeaderMap, retry_after: bool) {
        map.insert(RATELIMIT_POLICY, self.policy.clone());
        let mut value = String::with_capacity(32 * quotas.len());
        let mut binding: Option<(usize, u64)> = None;
        for (i, (q, p)) in quotas.iter().zip(d.policies()).enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            let mut t = ceil_secs(p.reset);
            if let Some(retry) = p.retry_after {
                t = t.max(ceil_secs(retry));
            }
            let r = p.remaining.min(u64::from(q.burst()));
            push_sf_string(&mut value, q.name());
            let _ = write!(value, ";r={r};t={t}");
            if binding.is_none_or(|(_, best)| r < best) {
                binding = Some((i, r));
            }
        }
        // A decision made without state (a store that failed open) has nothing to report.
        if value.is_empty() {
            return;
        }
        if let Ok(v) = HeaderValue::from_str(&value) {
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
            let quota = &quotas[i];
            map.insert(X_RATELIMIT_LIMIT, HeaderValue::from(quota.count()));
            map.insert(X_RATELIMIT_REMAINING, HeaderValue::from(r));
            map.insert(X_RATELIMIT_RESET, HeaderValue::from(ceil_secs(state.reset)));
        }
    }
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
