//! auth-ratelimit hot paths beside governor, the best-known Rust limiter (Redis decisions are
//! in `ratelimit_redis.rs`).
//!
//! Rows:
//! - keyed check: auth-ratelimit's `RateLimiter::check` (default `FastClock`, and with the OS
//!   clock) beside governor's `check_key` (its default quanta clock), same quota, same `u64`
//!   keys, on one thread and on two threads contending for the same keys; the floor is the
//!   clock read alone.
//! - bytes per tracked key, counted by an instrumented global allocator.

use std::alloc::System;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use auth_core::Clock as _;
use auth_ratelimit::{FastClock, Quota, RateLimiter};
use criterion::{Criterion, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Distinct keys cycled through by every row.
const KEYS: u64 = 1024;
/// Requests per second per key: high enough that every check is admitted and writes.
const RATE: u32 = 1_000_000_000;

#[allow(clippy::expect_used)]
fn quota(rate: u32) -> Quota {
    Quota::per_second(rate).expect("valid quota")
}

#[allow(clippy::expect_used)]
fn ours(rate: u32) -> RateLimiter<u64> {
    RateLimiter::builder(quota(rate))
        .build()
        .expect("valid limiter")
}

type Governor = governor::DefaultKeyedRateLimiter<u64>;

fn governor(rate: u32) -> Governor {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_second(rate))
}

fn clock_read(c: &mut Criterion) {
    use governor::clock::Clock as _;
    let mut g = c.benchmark_group("clock read (floor)");
    let fast = FastClock::new();
    g.bench_function("auth-ratelimit FastClock::now", |b| {
        b.iter(|| black_box(fast.now().as_nanos()));
    });
    g.bench_function("auth-core SystemClock::now", |b| {
        b.iter(|| black_box(auth_core::SystemClock.now().as_nanos()));
    });
    let quanta = governor::clock::QuantaClock::default();
    g.bench_function("peer: governor QuantaClock::now", |b| {
        b.iter(|| black_box(quanta.now()));
    });
    g.finish();
}

/// Runs `check` for `iters` keys on each of `threads` threads, all cycling through the same
/// keys; returns the wall time, so a row reads as time per check per thread.
fn contended(threads: u64, iters: u64, check: &(dyn Fn(u64) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..iters {
                    check(black_box((i + t * 7) % KEYS));
                }
            });
        }
    });
    start.elapsed()
}

fn keyed_check(c: &mut Criterion) {
    let limiter = ours(RATE);
    #[allow(clippy::expect_used)]
    let os_clock = RateLimiter::builder(quota(RATE))
        .clock(auth_core::SystemClock)
        .build::<u64>()
        .expect("valid limiter");
    let gov = governor(RATE);

    let mut g = c.benchmark_group("keyed check, u64 keys, 1 thread");
    let mut k = 0;
    g.bench_function("auth-ratelimit RateLimiter::check", |b| {
        b.iter(|| {
            k = (k + 1) % KEYS;
            black_box(limiter.check(black_box(&k)).is_allowed())
        });
    });
    g.bench_function("auth-ratelimit with SystemClock", |b| {
        b.iter(|| {
            k = (k + 1) % KEYS;
            black_box(os_clock.check(black_box(&k)).is_allowed())
        });
    });
    g.bench_function("peer: governor check_key", |b| {
        b.iter(|| {
            k = (k + 1) % KEYS;
            black_box(gov.check_key(black_box(&k)).is_ok())
        });
    });
    g.finish();

    let mut g = c.benchmark_group("keyed check, u64 keys, 2 threads contending");
    g.bench_function("auth-ratelimit RateLimiter::check", |b| {
        b.iter_custom(|iters| {
            contended(2, iters, &|k| {
                black_box(limiter.check(&k).is_allowed());
            })
        });
    });
    g.bench_function("peer: governor check_key", |b| {
        b.iter_custom(|iters| {
            contended(2, iters, &|k| {
                black_box(gov.check_key(&k).is_ok());
            })
        });
    });
    g.finish();
}

/// Bytes allocated and still held per tracked key (keys on an hourly quota, so none is
/// replenished and evicted while measuring).
fn bytes_per_key(_c: &mut Criterion) {
    const N: u64 = 100_000;
    let measure = |fill: &dyn Fn() -> Box<dyn std::any::Any>| {
        let region = Region::new(GLOBAL);
        let held = fill();
        let stats = region.change();
        drop(held);
        #[allow(clippy::cast_precision_loss)]
        let per_key = (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64) / N as f64;
        per_key
    };
    let ours_bytes = measure(&|| {
        #[allow(clippy::expect_used)]
        let l = RateLimiter::builder(Quota::per_hour(10).expect("valid quota"))
            .build::<u64>()
            .expect("valid limiter");
        (0..N).for_each(|k| {
            let _ = black_box(l.check(&k));
        });
        Box::new(l)
    });
    let gov_bytes = measure(&|| {
        let l = governor::RateLimiter::keyed(governor::Quota::per_hour(
            NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        ));
        (0..N).for_each(|k: u64| {
            let _ = black_box(l.check_key(&k));
        });
        Box::new(l)
    });
    eprintln!(
        "bytes per tracked u64 key ({N} keys): auth-ratelimit {ours_bytes:.1}, governor {gov_bytes:.1}"
    );
}

criterion_group!(
    benches,
    clock_read,
    keyed_check,
    bytes_per_key
);
criterion_main!(benches);
