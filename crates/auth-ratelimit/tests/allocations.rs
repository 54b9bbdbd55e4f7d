//! Allocation counts and held heap, through a counting global allocator. This file is its own
//! test binary without libtest (`harness = false`), running the cases one after the other, so
//! the allocator counts nothing but the case at hand (no other test, nor a harness starting
//! one, runs meanwhile). Counts are deterministic, unlike timings, so they are asserted:
//! no allocation when deciding on a key already tracked, the response fields of an admitted
//! request in three (five with the legacy fields), and the heap held under a stream of
//! distinct keys stays within the bound the crate docs give.
#![allow(clippy::unwrap_used)]

use std::alloc::System;
use std::time::Duration;

use std::future::Future;
use std::task::{Context, Poll, Waker};

use auth_core::{Limiter, ManualClock, UnixTime};
use auth_ratelimit::{Policy, Quota, RateLimiter};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The cases, one at a time: the allocator's counters are global to the process.
/// Without libtest (`harness = false`): its main thread allocates while a test starts, which
/// the process-wide counter would count. The line printed is libtest's, for `cargo xtask ci
/// --repeat`; a failure panics, which exits non-zero.
#[allow(clippy::print_stdout)] // the line libtest would print
fn main() {
    allocations_and_held_heap();
    println!("test allocations_and_held_heap ... ok");
}

fn allocations_and_held_heap() {
    deciding_on_tracked_keys_allocates_nothing();
    tracking_new_keys_allocates();
    admitting_allocates_only_the_fields();
    idle_keys_are_evicted_so_the_heap_stays_bounded();
    keys_still_replenishing_are_all_kept();
}

fn clock() -> ManualClock {
    ManualClock::new(UnixTime::from_secs(1_700_000_000))
}

/// Allocations (and reallocations) made while running `f`.
fn allocations_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    stats.allocations + stats.reallocations
}

fn deciding_on_tracked_keys_allocates_nothing() {
    let c = clock();
    let one = RateLimiter::builder(Quota::per_second(10).unwrap())
        .clock(c.clone())
        .build::<u64>()
        .unwrap();
    let named = RateLimiter::builder(Quota::per_second(10).unwrap())
        .clock(c.clone())
        .build::<String>()
        .unwrap();
    let policy = Policy::new(Quota::per_second(10).unwrap().named("s").unwrap())
        .quota(Quota::per_hour(100).unwrap().named("h").unwrap());
    let many = RateLimiter::builder(policy)
        .clock(c.clone())
        .build::<u64>()
        .unwrap();
    let own = Quota::per_minute(5).unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("client-{i}")).collect();
    // Track every key first (inserting a key may grow the table).
    for key in 0..100u64 {
        let _ = one.check(&key);
        let _ = many.check(&key);
        let _ = one.check_under(&(key + 1_000), &own, 1).unwrap();
    }
    for name in &names {
        let _ = named.check(name.as_str());
    }

    let mut limited = 0;
    let allocations = allocations_during(|| {
        for round in 0..20 {
            for key in 0..100u64 {
                limited += usize::from(!one.check(&key).is_allowed());
                limited += usize::from(!many.check(&key).is_allowed());
                limited += usize::from(!one.check_cost(&key, 1).unwrap().is_allowed());
                limited += usize::from(
                    !one.check_under(&(key + 1_000), &own, 1)
                        .unwrap()
                        .is_allowed(),
                );
            }
            for name in &names {
                limited += usize::from(!named.check(name.as_str()).is_allowed());
            }
            if round % 5 == 4 {
                c.advance(Duration::from_millis(300));
            }
        }
    });
    assert_eq!(allocations, 0);
    // Both outcomes were on the measured path.
    assert!(limited > 0);
}

fn tracking_new_keys_allocates() {
    let limiter = RateLimiter::builder(Quota::per_second(10).unwrap())
        .clock(clock())
        .build::<String>()
        .unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("client-{i}")).collect();
    // The counter sees the limiter's own allocations: the owned keys and the growing table.
    let allocations = allocations_during(|| {
        for name in &names {
            assert!(limiter.check(name.as_str()).is_allowed());
        }
    });
    assert!(allocations >= 100, "{allocations}");
}

/// `Limiter::admit` on a tracked key, polled once with no executor (the future is ready):
/// whether it admitted.
fn admitted(limiter: &RateLimiter<String, ManualClock>, key: &str) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    match std::pin::pin!(limiter.admit(key, 1)).poll(&mut cx) {
        Poll::Ready(r) => r.is_ok(),
        Poll::Pending => panic!("the in-memory limiter never waits"),
    }
}

fn admitting_allocates_only_the_fields() {
    const N: usize = 1_000;
    let policy = || {
        Policy::new(Quota::per_second(1_000_000).unwrap()).quota(
            Quota::per_hour(1_000_000_000)
                .unwrap()
                .named("h\"our")
                .unwrap(),
        )
    };
    // The `HeaderMap`'s index and entries, and the `RateLimit` value; `RateLimit-Policy` is
    // shared, and so is the legacy `X-RateLimit-Limit`, while `-Remaining` and `-Reset` take
    // one each.
    for (legacy, per_call) in [(false, 3), (true, 5)] {
        let limiter = RateLimiter::builder(policy().legacy_headers(legacy))
            .clock(clock())
            .build::<String>()
            .unwrap();
        // Tracks the key and shares the policy's bytes (their first clone).
        assert!(admitted(&limiter, "client"));
        let allocations = allocations_during(|| {
            for _ in 0..N {
                assert!(admitted(&limiter, "client"));
            }
        });
        assert_eq!(allocations, per_call * N, "legacy {legacy}");
    }
}

/// Heap bytes held after `keys` distinct `u64` keys, one request each, one every 10 µs, on a
/// limiter with 4 shards under `quota`; checks the tracked count against `max_tracked` all
/// along.
fn held_after_distinct_keys(quota: Quota, keys: u64, max_tracked: usize) -> (usize, usize) {
    let c = clock();
    let limiter = RateLimiter::builder(quota)
        .clock(c.clone())
        .shards(4)
        .build::<u64>()
        .unwrap();
    let region = Region::new(GLOBAL);
    for key in 0..keys {
        assert!(limiter.check(&key).is_allowed());
        c.advance(Duration::from_micros(10));
        if key % 1_000 == 0 {
            assert!(limiter.len() <= max_tracked, "{} keys", limiter.len());
        }
    }
    let stats = region.change();
    let tracked = limiter.len();
    drop(limiter);
    (stats.bytes_allocated - stats.bytes_deallocated, tracked)
}

/// The crate docs' bound for 4 shards of `u64` keys under one quota, where fewer than 2048
/// keys are replenishing at any time: each shard at most 4096 keys, so at most 8192 buckets
/// of 16 bytes plus a control byte each (and a group of trailing control bytes).
const BOUND_KEYS: usize = 4 * 4096;
const BOUND_BYTES: usize = 4 * (8192 * (16 + 1) + 64);

fn idle_keys_are_evicted_so_the_heap_stays_bounded() {
    // 100 per second: a key seen once is replenished 10 ms later, so about 1000 keys (10 ms
    // at one key per 10 µs) are replenishing at any time, out of 200 000 seen.
    let (held, tracked) =
        held_after_distinct_keys(Quota::per_second(100).unwrap(), 200_000, BOUND_KEYS);
    assert!(tracked <= BOUND_KEYS, "{tracked} keys");
    assert!(held <= BOUND_BYTES, "{held} bytes held");
}

fn keys_still_replenishing_are_all_kept() {
    // The same stream under an hourly quota: no key replenishes, none may be evicted (that
    // would reset it), so every key is tracked and the heap grows past the bound above.
    let (held, tracked) =
        held_after_distinct_keys(Quota::per_hour(100).unwrap(), 200_000, usize::MAX);
    assert_eq!(tracked, 200_000);
    assert!(held > BOUND_BYTES, "{held} bytes held");
}
