//! auth-ratelimit hot paths beside governor, the best-known Rust limiter.
//!
//! Rows: auth-ratelimit's keyed check and governor's keyed check (same quota, same `u64`
//! keys, each with its production clock), on one thread and on two threads contending for the
//! same keys; and bytes of memory per tracked key, counted by an instrumented allocator.
//! The Redis rows (auth-ratelimit-redis beside a plain INCR + EXPIRE fixed-window script on
//! the same server) are in `ratelimit_redis.rs`.

use std::alloc::System;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use auth_ratelimit::{Quota, RateLimiter};
use criterion::{Criterion, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Distinct keys cycled through by every row.
const KEYS: u64 = 1024;
/// Requests per second per key: high enough that every check is admitted and writes.
const RATE: u32 = 1_000_000_000;

fn ours() -> RateLimiter<u64> {
    #[allow(clippy::expect_used)]
    RateLimiter::builder(Quota::per_second(RATE).expect("valid quota"))
        .build()
        .expect("valid limiter")
}

type Governor = governor::DefaultKeyedRateLimiter<u64>;

fn governor() -> Governor {
    let rate = NonZeroU32::new(RATE).unwrap_or(NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_second(rate))
}

/// Runs `check` for `iters` keys on each of `threads` threads; returns the wall time, so a
/// row reads as time per check per thread.
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

fn clock_read(c: &mut Criterion) {
    use auth_core::Clock as _;
    use governor::clock::Clock as _;
    let mut g = c.benchmark_group("clock read (floor)");
    g.bench_function("auth-core SystemClock::now", |b| {
        b.iter(|| black_box(auth_core::SystemClock.now().as_nanos()));
    });
    let quanta = governor::clock::QuantaClock::default();
    g.bench_function("governor QuantaClock::now", |b| {
        b.iter(|| black_box(quanta.now()));
    });
    g.finish();
}

fn keyed_check(c: &mut Criterion) {
    let limiter = ours();
    let gov = governor();
    let mut g = c.benchmark_group("keyed check, u64 keys, 1 thread");
    g.bench_function("auth-ratelimit RateLimiter::check", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % KEYS;
            black_box(limiter.check(black_box(&k)).is_allowed())
        });
    });
    g.bench_function("peer: governor check_key", |b| {
        let mut k = 0;
        b.iter(|| {
            k = (k + 1) % KEYS;
            black_box(gov.check_key(black_box(&k)).is_ok())
        });
    });
    g.finish();
    for threads in [2] {
        let mut g = c.benchmark_group(format!("keyed check, u64 keys, {threads} thread(s)"));
        g.bench_function("auth-ratelimit RateLimiter::check", |b| {
            b.iter_custom(|iters| {
                contended(threads, iters, &|k| {
                    black_box(limiter.check(&k).is_allowed());
                })
            });
        });
        g.bench_function("peer: governor check_key", |b| {
            b.iter_custom(|iters| {
                contended(threads, iters, &|k| {
                    black_box(gov.check_key(&k).is_ok());
                })
            });
        });
        g.finish();
    }
}

/// Bytes allocated per tracked key, net of what an empty limiter holds.
fn bytes_per_key(c: &mut Criterion) {
    const N: u64 = 100_000;
    let measure = |fill: &dyn Fn() -> Box<dyn std::any::Any>| {
        let region = Region::new(GLOBAL);
        let held = fill();
        let stats = region.change();
        drop(held);
        (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64) / N as f64
    };
    let ours_bytes = measure(&|| {
        let l = ours();
        (0..N).for_each(|k| {
            l.check(&k);
        });
        Box::new(l)
    });
    let gov_bytes = measure(&|| {
        let l = governor();
        (0..N).for_each(|k| {
            let _ = l.check_key(&k);
        });
        Box::new(l)
    });
    eprintln!(
        "bytes per tracked u64 key ({N} keys): auth-ratelimit {ours_bytes:.1}, governor {gov_bytes:.1}"
    );
    // Keep criterion's report complete: the cost of tracking one new key.
    let mut g = c.benchmark_group("new key");
    g.bench_function("auth-ratelimit first check of a key", |b| {
        let l = ours();
        let mut k = 0u64;
        b.iter(|| {
            k += 1;
            black_box(l.check(&k).is_allowed())
        });
    });
    g.finish();
}

criterion_group!(benches, clock_read, keyed_check, bytes_per_key);
criterion_main!(benches);
