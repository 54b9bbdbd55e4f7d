//! The batched mode ([`LeasedRedisLimiter`]) on the shared Redis: two instances leasing one
//! key hold the quota (never more admitted than Redis granted), expired leases lose their
//! tokens, and a caller that goes away mid-request neither wedges the lease nor lets tokens
//! be spent twice. The quota is one per hour, so Redis's clock, which moves by milliseconds
//! during a test, replenishes nothing; lease expiry runs on a `ManualClock`.
#![allow(clippy::unwrap_used)]

mod common;
use common::{prefix, redis_conn, url};

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use auth_core::{ManualClock, UnixTime};
use auth_ratelimit::{Error, Outcome, Policy, Quota};
use auth_ratelimit_redis::{LeaseConfig, LeasedRedisLimiter, RedisLimiter};

fn hourly(burst: u32) -> Quota {
    Quota::per_hour(1).unwrap().with_burst(burst).unwrap()
}

fn leased(prefix: &str, burst: u32, lease: LeaseConfig) -> LeasedRedisLimiter {
    RedisLimiter::builder(url(), hourly(burst))
        .prefix(prefix)
        .build_leased(lease)
        .unwrap()
}

async fn allowed(limiter: &LeasedRedisLimiter, key: &str) -> bool {
    limiter.check(key).await.unwrap().is_allowed()
}

/// Admits on `limiter` until the first refusal: how many were admitted.
async fn spend_all(limiter: &LeasedRedisLimiter, key: &str) -> u32 {
    let mut admitted = 0;
    while allowed(limiter, key).await {
        admitted += 1;
        assert!(admitted <= 1000, "never refused");
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_admit_exactly_the_quota_between_them() {
    let prefix = prefix("lease-fleet");
    let a = leased(&prefix, 10, LeaseConfig::new(4));
    let b = leased(&prefix, 10, LeaseConfig::new(4));

    // A's first check takes a lease of 4 and spends one: 3 left here, 6 in Redis.
    let first = a.check("k").await.unwrap();
    assert_eq!(first.outcome(), Outcome::Allowed);
    assert_eq!(first.remaining(), 9);
    assert_eq!(a.leased_tokens("k"), 3);
    assert!(allowed(&b, "k").await);
    assert_eq!(b.leased_tokens("k"), 3);
    // Redis has 2 left: A spends its 3, then its next lease takes the 2 (fewer than 4).
    for _ in 0..3 {
        assert!(allowed(&a, "k").await);
    }
    assert_eq!(a.leased_tokens("k"), 0);
    assert!(allowed(&a, "k").await);
    assert_eq!(a.leased_tokens("k"), 1);
    // B spends its lease; then Redis refuses B's next lease, and A's after its last token.
    for _ in 0..3 {
        assert!(allowed(&b, "k").await);
    }
    let refused = b.check("k").await.unwrap();
    assert_eq!(refused.outcome(), Outcome::Limited);
    let retry = refused.retry_after().unwrap();
    assert!(retry > Duration::from_secs(3590) && retry <= Duration::from_secs(3600));
    assert!(b.enforce(&refused).is_err());
    assert!(allowed(&a, "k").await);
    assert!(!allowed(&a, "k").await);
    // Ten admitted in all, the burst; the per-request limiter on the same keys agrees.
    let per_request = RedisLimiter::builder(url(), hourly(10))
        .prefix(&prefix)
        .build()
        .unwrap();
    assert!(!per_request.check("k", 1).await.unwrap().is_allowed());
    assert!(per_request.check("other", 1).await.unwrap().is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_loses_its_tokens_and_the_next_lease_is_taken() {
    let prefix = prefix("lease-expiry");
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let config = LeaseConfig::new(4)
        .ttl(Duration::from_secs(1))
        .clock(clock.clone());
    let a = leased(&prefix, 10, config);
    let b = leased(&prefix, 10, LeaseConfig::new(4));

    assert!(allowed(&a, "k").await);
    clock.advance(Duration::from_millis(999));
    assert_eq!(a.leased_tokens("k"), 3);
    clock.advance(Duration::from_millis(1));
    assert_eq!(a.leased_tokens("k"), 0);
    // The next check takes a new lease: the first lease's 3 unspent tokens are lost.
    assert!(allowed(&a, "k").await);
    assert_eq!(a.leased_tokens("k"), 3);
    // 10 - 8 = 2 left in Redis for B.
    assert_eq!(spend_all(&b, "k").await, 2);
    assert_eq!(spend_all(&a, "k").await, 3);
    // Admitted in all: 1 + 4 + 2 = 7 of the burst of 10, never more.
}

/// Polls `future` once: the request is queued on the connection, its answer not awaited.
fn poll_once<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Waits for Redis to hold a state for `key` (a server answering, not time passing).
async fn charged(key: &str) {
    let mut conn = redis_conn(&url()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tat: Option<u64> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        if tat.is_some() {
            return;
        }
        assert!(Instant::now() < deadline, "the request never reached Redis");
        tokio::task::yield_now().await;
    }
}

// One thread, so the first poll cannot see the answer: the request is queued, then the
// connection's task sends it while the test waits for Redis (the caller's future is kept,
// unpolled), and the caller goes away only then.
#[tokio::test(flavor = "current_thread")]
async fn a_caller_gone_after_redis_charged_its_lease_loses_the_tokens_and_wedges_nothing() {
    let prefix = prefix("lease-dropped-late");
    let a = leased(&prefix, 10, LeaseConfig::new(4));
    let b = leased(&prefix, 10, LeaseConfig::new(4));
    // Connected, and the lease script loaded: the next request goes out as one EVALSHA.
    assert!(allowed(&a, "warm-up").await);

    let mut abandoned = Box::pin(a.check("k"));
    assert!(poll_once(abandoned.as_mut()).is_pending());
    assert_eq!(a.leased_tokens("k"), 0);
    charged(&format!("{prefix}k")).await;
    // Redis charged 4 tokens; the caller goes away before it reads the answer.
    drop(abandoned);
    assert_eq!(a.leased_tokens("k"), 0);
    // Not wedged: the next check takes a lease of its own (4 more; 2 left in Redis).
    assert!(allowed(&a, "k").await);
    assert_eq!(a.leased_tokens("k"), 3);
    assert_eq!(spend_all(&b, "k").await, 2);
    assert_eq!(spend_all(&a, "k").await, 3);
    // Admitted in all: 1 + 2 + 3 = 6, the burst less the 4 lost with the abandoned request.
}

// One thread: the caller goes away before the connection's task has sent its request.
#[tokio::test(flavor = "current_thread")]
async fn a_caller_gone_before_its_lease_request_left_wedges_nothing() {
    let prefix = prefix("lease-dropped-early");
    let a = leased(&prefix, 10, LeaseConfig::new(4));
    let b = leased(&prefix, 10, LeaseConfig::new(4));
    assert!(allowed(&a, "warm-up").await);

    let mut abandoned = Box::pin(a.check("k"));
    assert!(poll_once(abandoned.as_mut()).is_pending());
    drop(abandoned);
    // Not wedged: the next check takes a lease of its own.
    assert!(allowed(&a, "k").await);
    assert_eq!(a.leased_tokens("k"), 3);
    let admitted = 1 + spend_all(&b, "k").await + spend_all(&a, "k").await;
    // The redis crate skips a queued request whose caller is gone, so nothing was lost (10);
    // had the request gone out, its 4 tokens would be lost (6). Never more than the burst.
    assert!(admitted == 10 || admitted == 6, "{admitted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_settings_are_checked() {
    let build = |policy: Policy, lease: LeaseConfig| {
        RedisLimiter::builder(url(), policy)
            .prefix(prefix("lease-config"))
            .build_leased(lease)
    };
    let refused = |r: Result<LeasedRedisLimiter, Error>| match r {
        Err(Error::Misconfigured(why)) => why.into_owned(),
        other => panic!("{other:?}"),
    };
    let one = || Policy::new(hourly(10));
    assert!(refused(build(one(), LeaseConfig::new(0))).contains("at least one token"));
    let no_time = LeaseConfig::new(4).ttl(Duration::ZERO);
    assert!(refused(build(one(), no_time)).contains("longer than zero"));
    assert!(refused(build(one(), LeaseConfig::new(4).max_keys(0))).contains("room"));
    let two = Policy::new(hourly(10)).quota(Quota::per_second(100).unwrap());
    assert!(refused(build(two, LeaseConfig::new(4))).contains("exactly one quota"));
    let built = build(one(), LeaseConfig::new(4)).unwrap();
    assert_eq!(built.lease_config().tokens, 4);
    assert!(built.check("k").await.unwrap().is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_keys_a_key_is_decided_per_request() {
    let prefix = prefix("lease-max-keys");
    let a = leased(&prefix, 10, LeaseConfig::new(4).max_keys(1));
    assert!(allowed(&a, "first").await);
    assert_eq!(a.leased_tokens("first"), 3);
    // The table is full of a live lease: the second key is decided per request, leasing none.
    assert!(allowed(&a, "second").await);
    assert_eq!(a.leased_tokens("second"), 0);
    assert_eq!(spend_all(&a, "second").await, 9);
}

// One thread, so the first check is still waiting when the second one starts.
#[tokio::test(flavor = "current_thread")]
async fn while_a_lease_is_requested_other_checks_of_the_key_go_per_request() {
    let prefix = prefix("lease-concurrent");
    let a = leased(&prefix, 10, LeaseConfig::new(4));
    assert!(allowed(&a, "warm-up").await);

    let mut first = Box::pin(a.check("k"));
    assert!(poll_once(first.as_mut()).is_pending());
    // A second check while the lease is under way: one token charged in Redis on its own.
    let second = a.check("k").await.unwrap();
    assert!(second.is_allowed());
    assert_eq!(a.leased_tokens("k"), 0);
    // The first check completes with its lease.
    assert!(first.await.unwrap().is_allowed());
    assert_eq!(a.leased_tokens("k"), 3);
    assert_eq!(spend_all(&a, "k").await, 8);
    // 1 per request, 1 + 3 from the first lease, 5 from the next ones: the burst of 10.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_auth_cores_seam_leased_decisions_carry_headers_and_the_429() {
    use auth_core::{Denial, Limiter as _};

    let prefix = prefix("lease-seam");
    let a = leased(&prefix, 2, LeaseConfig::new(4));
    // A lease of 2 (all the burst): both admitted from it, with the quota's fields.
    for left in [1, 0] {
        let headers = a.admit("k", 1).await.unwrap();
        let fields = headers["ratelimit"].to_str().unwrap();
        assert!(fields.contains(&format!(";r={left};")), "{fields}");
    }
    match a.admit("k", 1).await {
        Err(Denial::Rejected(rejection)) => {
            let response = rejection.to_response();
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!("{other:?}"),
    }
}
