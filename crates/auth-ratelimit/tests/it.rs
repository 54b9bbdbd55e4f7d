//! Integration tests for auth-ratelimit through its public API only. The exhaustive checks
//! (vectors, properties, concurrency) live in the conformance suite `auth-ratelimit`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_ratelimit::{Quota, RateLimiter};

#[test]
fn threads_on_a_frozen_clock_admit_exactly_the_burst() {
    let clock = ManualClock::new(UnixTime::from_secs(5));
    let limiter = Arc::new(
        RateLimiter::builder(Quota::per_minute(1).unwrap().with_burst(500).unwrap())
            .clock(clock)
            .build::<u32>()
            .unwrap(),
    );
    let admitted: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                s.spawn(move || (0..400).filter(|_| limiter.check(&7).is_allowed()).count())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(admitted, 500);
}

#[test]
fn waiting_the_advertised_whole_seconds_is_enough() {
    let clock = ManualClock::new(UnixTime::from_secs(100));
    let limiter = RateLimiter::builder(Quota::new(3, Duration::from_secs(7)).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut refused = 0;
    for _ in 0..50 {
        let d = limiter.check(&"k");
        if !d.is_allowed() {
            refused += 1;
            let response = limiter.enforce(&d).unwrap_err().to_response();
            let secs: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            clock.advance(Duration::from_secs(secs));
            assert!(limiter.check(&"k").is_allowed());
        }
    }
    // The burst of 3 admitted, then each check refused (the retry after the advertised wait
    // takes the slot it frees): the refusals are what this test is about.
    assert_eq!(refused, 47);
}

#[test]
fn an_evicted_key_is_no_fresher_when_the_clock_steps_back() {
    let clock = ManualClock::new(UnixTime::from_secs(1_000));
    let limiter = RateLimiter::builder(Quota::per_second(1).unwrap().with_burst(1).unwrap())
        .clock(clock.clone())
        .build()
        .unwrap();
    assert!(limiter.check(&0).is_allowed()); // TAT = 1001 s
    clock.set(UnixTime::from_secs(1_002));
    assert_eq!(limiter.evict_replenished(), 1);
    clock.set(UnixTime::from_secs(1_000)); // the wall clock was corrected backwards
    assert!(!limiter.check(&0).is_allowed());
}
