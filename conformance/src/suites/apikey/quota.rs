//! A key's own rate quota, enforced: the quota stored on its record reaches the rate-limit
//! gate through the principal, replaces the default for that key, and names itself in the
//! RateLimit fields (draft-ietf-httpapi-ratelimit-headers).

use std::num::NonZeroU32;
use std::time::Duration;

use auth_apikey::RateQuota;
use auth_core::{Gate, GateExt as _, Guard, RateLimit};

use crate::harness::ensure;
use auth_ratelimit::{Policy, Quota, RateLimiter};

use super::*;

pub(super) fn quota_cases(s: &mut Suite) {
    s.case(
        "a key created with 2 per 60 s gets 429 on its third request while another key is served",
        "auth-apikey rate quota, draft-ietf-httpapi-ratelimit-headers §4",
        || {
            let (keys, clock) = keys_on(MemoryStore::new())?;
            let two = NonZeroU32::new(2).ok_or("2")?;
            let quota = RateQuota::new(two, Duration::from_secs(60)).map_err(|e| e.to_string())?;
            let (limited, _) = issue(
                &keys,
                NewKey::new("alice", "limited").with_rate_quota(quota),
            )?;
            let (plain, _) = issue(&keys, NewKey::new("alice", "plain"))?;
            let default = Quota::per_minute(60)
                .and_then(|q| q.named("default"))
                .map_err(|e| e.to_string())?;
            let limiter = RateLimiter::builder(Policy::new(default))
                .clock(clock.clone())
                .build::<String>()
                .map_err(|e| e.to_string())?;
            let gate = Guard::new(keys.authenticator("api"))
                .then(RateLimit::per_principal(limiter).with_own_quotas());
            #[allow(clippy::result_large_err)] // the refusal's response is what the case reads
            let call = |key: &str| {
                let mut parts = head(&[("x-api-key", key)], "/api/whoami");
                block_on(gate.check(&mut parts)).map_err(|d| d.to_response())
            };
            for left in ["r=1", "r=0"] {
                let ok = call(&limited).map_err(|r| format!("refused: {}", r.status()))?;
                let fields = ok
                    .get("ratelimit")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                ensure(fields.starts_with(&format!("\"key\";{left}")), || {
                    format!("fields: {fields}")
                })?;
            }
            let refused = call(&limited).err().ok_or("the third request passed")?;
            ensure_eq("status", refused.status().as_u16(), 429)?;
            let policy = refused
                .headers()
                .get("ratelimit-policy")
                .and_then(|v| v.to_str().ok());
            ensure_eq("policy", policy, Some(r#""key";q=2;w=60"#))?;
            ensure(refused.headers().contains_key("retry-after"), || {
                "no Retry-After".into()
            })?;
            // The same subject's key without a quota of its own: the default budget, untouched.
            let other = call(&plain).map_err(|r| format!("the other key: {}", r.status()))?;
            let fields = other
                .get("ratelimit")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            ensure(fields.starts_with("\"default\";r=59"), || {
                format!("fields: {fields}")
            })?;
            // A minute on, the limited key is served again.
            clock.advance(Duration::from_secs(60));
            call(&limited)
                .map(|_| ())
                .map_err(|r| format!("after a minute: {}", r.status()))
        },
    );
}
