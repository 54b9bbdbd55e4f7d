//! Principals' own quotas through auth-core's gate (`RateLimit::with_own_quotas`) on one
//! in-memory limiter, on a manual clock: each quota is enforced alone and apart from the
//! default, a changed quota applies from the next request, and the state stays bounded.
#![allow(clippy::unwrap_used, clippy::result_large_err)] // tests; Denial by value as gates return it

use std::num::NonZeroU32;
use std::time::Duration;

use auth_core::OwnQuota;
use auth_core::{
    BoxLimiter, CredentialKind, Denial, Gate, ManualClock, Principal, RateLimit, UnixTime,
};
use http::HeaderMap;
use http::request::Parts;

use crate::{Policy, Quota, RateLimiter};

/// A limiter whose default is 60 per minute (named `default`), on `clock`.
fn limiter(clock: &ManualClock, max_keys: usize) -> RateLimiter<String, ManualClock> {
    let default = Quota::per_minute(60).unwrap().named("default").unwrap();
    RateLimiter::builder(Policy::new(default))
        .clock(clock.clone())
        .max_keys(max_keys)
        .shards(1)
        .build()
        .unwrap()
}

fn own(id: &str, requests: u32, secs: u64) -> OwnQuota {
    let n = NonZeroU32::new(requests).unwrap();
    OwnQuota::new(id, n, Duration::from_secs(secs)).named("key")
}

/// `alice` with her key `quota`, if any.
fn alice(quota: Option<OwnQuota>) -> Parts {
    let mut principal = Principal::new("alice", CredentialKind::ApiKey);
    if let Some(q) = quota {
        principal = principal.with_attribute(q);
    }
    let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
    parts.extensions.insert(principal);
    parts
}

/// Runs `gate` on `parts`: the in-memory limiter decides at once, so one poll is enough.
fn pass<G: Gate>(gate: &G, mut parts: Parts) -> Result<HeaderMap, Denial> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(gate.check(&mut parts)).poll(&mut cx) {
        std::task::Poll::Ready(r) => r,
        std::task::Poll::Pending => panic!("the in-memory limiter never waits"),
    }
}

fn field(headers: &HeaderMap, name: &str) -> String {
    headers[name].to_str().unwrap().to_owned()
}

#[test]
fn a_key_with_two_per_minute_is_refused_on_its_third_request_while_others_are_admitted() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let gate = RateLimit::per_principal(BoxLimiter::new(limiter(&clock, 1_000))).with_own_quotas();
    for left in [1, 0] {
        let ok = pass(&gate, alice(Some(own("K2", 2, 60)))).unwrap();
        assert_eq!(field(&ok, "ratelimit-policy"), r#""key";q=2;w=60"#);
        assert!(field(&ok, "ratelimit").starts_with(&format!("\"key\";r={left};")));
    }
    let refused = pass(&gate, alice(Some(own("K2", 2, 60)))).unwrap_err();
    let response = refused.to_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "30");
    assert_eq!(response.headers()["ratelimit"], r#""key";r=0;t=60"#);
    assert_eq!(response.headers()["ratelimit-policy"], r#""key";q=2;w=60"#);

    // At that moment, on the same limiter: the same subject's key without a quota of its own
    // spends the default budget (untouched by K2's requests) ...
    let default = pass(&gate, alice(None)).unwrap();
    assert_eq!(field(&default, "ratelimit"), r#""default";r=59;t=1"#);
    // ... and a key with a larger quota is admitted past two.
    for _ in 0..3 {
        let larger = pass(&gate, alice(Some(own("K10", 10, 60)))).unwrap();
        assert!(field(&larger, "ratelimit-policy").contains("q=10"));
    }
    // The advertised wait admits K2 again, exactly once.
    clock.advance(Duration::from_secs(30));
    assert!(pass(&gate, alice(Some(own("K2", 2, 60)))).is_ok());
    assert!(pass(&gate, alice(Some(own("K2", 2, 60)))).is_err());
}

#[test]
fn without_with_own_quotas_the_default_applies_to_every_key() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let gate = RateLimit::per_principal(limiter(&clock, 1_000));
    for _ in 0..3 {
        let ok = pass(&gate, alice(Some(own("K2", 2, 60)))).unwrap();
        assert!(field(&ok, "ratelimit").starts_with("\"default\""));
    }
}

#[test]
fn a_changed_quota_applies_from_the_next_request_and_grants_no_fresh_burst() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let gate = RateLimit::per_principal(limiter(&clock, 1_000)).with_own_quotas();
    let retry = |d: Denial| d.to_response().headers()["retry-after"].to_owned();
    for _ in 0..2 {
        assert!(pass(&gate, alice(Some(own("K", 2, 60)))).is_ok());
    }
    let refused = pass(&gate, alice(Some(own("K", 2, 60)))).unwrap_err();
    assert_eq!(retry(refused), "30");
    // Raised to ten a minute: the minute booked by the two requests still counts (no fresh
    // burst), but the wait is the new quota's interval, 6 s instead of 30.
    let refused = pass(&gate, alice(Some(own("K", 10, 60)))).unwrap_err();
    assert_eq!(retry(refused), "6");
    clock.advance(Duration::from_secs(6));
    let ok = pass(&gate, alice(Some(own("K", 10, 60)))).unwrap();
    assert_eq!(field(&ok, "ratelimit-policy"), r#""key";q=10;w=60"#);
    // Six seconds on, ten a minute admits again where two a minute would not.
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        pass(&gate, alice(Some(own("K", 2, 60))))
            .unwrap_err()
            .status(),
        429
    );
    assert!(pass(&gate, alice(Some(own("K", 10, 60)))).is_ok());
}

#[test]
fn own_quotas_share_the_limiters_bounded_state() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let limiter = std::sync::Arc::new(limiter(&clock, 8));
    let gate = RateLimit::per_principal(std::sync::Arc::clone(&limiter)).with_own_quotas();
    for i in 0..1_000 {
        let _ = pass(&gate, alice(Some(own(&format!("K{i}"), 1 + i % 7, 60))));
    }
    assert!(limiter.len() <= 8, "{} keys tracked", limiter.len());
    // Once replenished they are evicted like any key.
    clock.advance(Duration::from_secs(60));
    let tracked = limiter.len();
    assert_eq!(limiter.evict_replenished(), tracked);
    assert!(limiter.is_empty());
}

#[test]
fn a_quota_no_limiter_can_take_is_a_server_error_not_a_free_pass() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let gate = RateLimit::per_principal(limiter(&clock, 1_000)).with_own_quotas();
    let zero_period = OwnQuota::new("K", NonZeroU32::MIN, Duration::ZERO);
    let refused = pass(&gate, alice(Some(zero_period))).unwrap_err();
    assert_eq!(refused.status(), 500);
    let unprintable = own("K", 2, 60).named("caf\u{e9}");
    assert_eq!(
        pass(&gate, alice(Some(unprintable))).unwrap_err().status(),
        500
    );
}

#[test]
fn a_cost_beyond_the_own_burst_is_refused_as_unfittable() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let gate = RateLimit::per_principal(limiter(&clock, 1_000))
        .with_own_quotas()
        .with_cost(3);
    let refused = pass(&gate, alice(Some(own("K", 2, 60)))).unwrap_err();
    assert!(matches!(refused, Denial::Failed(_)), "{refused:?}");
    assert!(pass(&gate, alice(Some(own("K", 3, 60)))).is_ok());
}

#[test]
fn own_quotas_work_on_a_limiter_of_several_quotas_and_in_dry_run() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let policy = Policy::new(Quota::per_second(10).unwrap())
        .quota(Quota::per_hour(1_000).unwrap())
        .dry_run(true);
    let limiter: RateLimiter<String, _> = RateLimiter::builder(policy)
        .clock(clock.clone())
        .build()
        .unwrap();
    let two = Quota::per_minute(2).unwrap().named("key").unwrap();
    for _ in 0..2 {
        assert!(!limiter.check_under("k", &two, 1).unwrap().is_over_limit());
    }
    let third = limiter.check_under("k", &two, 1).unwrap();
    assert!(
        third.is_over_limit() && third.is_allowed(),
        "dry run reports, never refuses"
    );
    let headers = limiter.enforce_under(&two, &third).unwrap();
    assert_eq!(field(&headers, "ratelimit"), r#""key";r=0;t=60"#);
    assert!(!headers.contains_key("retry-after"));
}
