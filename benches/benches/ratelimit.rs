//! auth-ratelimit hot paths beside governor, the best-known Rust limiter (Redis decisions are
//! in `ratelimit_redis.rs`).
//!
//! Rows:
//! - keyed check: auth-ratelimit's `RateLimiter::check` (default `FastClock`, and with the OS
//!   clock) beside governor's `check_key` (its default quanta clock), same quota, same `u64`
//!   keys, on one thread and on two threads contending for the same keys; the floor is the
//!   clock read alone.
//! - bytes per tracked key, counted by an instrumented global allocator.
//! - printed, not timed: allocations per check of a tracked key; the heap held while 10^6
//!   distinct keys pass through one limiter on a fake clock (auth-ratelimit evicts on its own,
//!   governor only when its user calls `retain_recent`); and, as load-independent evidence
//!   for the keyed rows on a shared machine, the minimum time per check over many
//!   interleaved batches of each path, beside two floors on the same clock and GCRA step (one
//!   compare-and-swap on a TAT in a fixed array, the least any keyed limiter costs; and the
//!   TATs in sharded `Mutex<HashMap>`s, auth-ratelimit's design bare).
//! - admitted path with its response fields: `Limiter::admit` (the seam gates and servers
//!   call: the decision plus the `RateLimit-Policy` and `RateLimit` fields in a `HeaderMap`)
//!   on one quota, with the legacy `X-RateLimit-*` fields, and on four quotas, beside its
//!   floor `RateLimiter::check` on the same `&str` key; printed too, the minimum over
//!   interleaved batches and the allocations per call.

use std::alloc::System;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use auth_core::{Clock as _, Limiter};
use auth_ratelimit::{FastClock, Policy, Quota, RateLimiter};
use benches::ready_is_ok;
use criterion::{Criterion, criterion_group, criterion_main};
use keyed_floors::CheckFloors;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

mod keyed_floors;

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
    // The limiter's own read: `now_nanos`, integer nanoseconds without a `Duration`.
    g.bench_function("auth-ratelimit FastClock::now_nanos", |b| {
        b.iter(|| black_box(fast.now_nanos()));
    });
    g.bench_function("auth-core SystemClock::now", |b| {
        b.iter(|| black_box(auth_core::SystemClock.now_nanos()));
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

/// Allocations per check of an already-tracked key (the hot path), counted by the
/// instrumented global allocator.
fn allocations_per_check(_c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let limiter = ours(RATE);
    let gov = governor(RATE);
    (0..KEYS).for_each(|k| {
        let _ = black_box(limiter.check(&k));
        let _ = black_box(gov.check_key(&k));
    });
    let count = |f: &dyn Fn(u64)| {
        let region = Region::new(GLOBAL);
        (0..N).for_each(|i| f(i % KEYS));
        let stats = region.change();
        #[allow(clippy::cast_precision_loss)]
        let per_check = (stats.allocations + stats.reallocations) as f64 / N as f64;
        per_check
    };
    let ours_allocs = count(&|k| {
        black_box(limiter.check(&k).is_allowed());
    });
    let gov_allocs = count(&|k| {
        black_box(gov.check_key(&k).is_ok());
    });
    eprintln!(
        "allocations per check of a tracked u64 key ({N} checks): auth-ratelimit {ours_allocs}, governor {gov_allocs}"
    );
}

/// Heap held while 10^6 distinct keys pass through one limiter, one request each, one key per
/// microsecond of fake time, under 10 per second (a key is replenished 100 ms after its
/// request, so about 10^5 keys are replenishing at any time): auth-ratelimit as it comes;
/// governor as it comes (it evicts nothing on its own); governor with its user calling
/// `retain_recent` and `shrink_to_fit` every 10^5 keys.
fn distinct_keys(_c: &mut Criterion) {
    use governor::clock::FakeRelativeClock;

    const KEYS_SEEN: u64 = 1_000_000;
    const REPORT_EVERY: u64 = 100_000;
    let step = Duration::from_micros(1);
    let mib = |region: &Region<'_, System>| {
        let stats = region.change();
        #[allow(clippy::cast_precision_loss)]
        let held =
            (stats.bytes_allocated as f64 - stats.bytes_deallocated as f64) / (1 << 20) as f64;
        held
    };

    let clock = auth_core::ManualClock::new(auth_core::UnixTime::from_secs(1_700_000_000));
    let region = Region::new(GLOBAL);
    #[allow(clippy::expect_used)]
    let limiter = RateLimiter::builder(quota(10))
        .clock(clock.clone())
        .build::<u64>()
        .expect("valid limiter");
    let mut ours_rows = Vec::new();
    let mut ours_peak = 0.0_f64;
    for key in 0..KEYS_SEEN {
        let _ = black_box(limiter.check(&key));
        clock.advance(step);
        if (key + 1) % (REPORT_EVERY / 10) == 0 {
            ours_peak = ours_peak.max(mib(&region));
        }
        if (key + 1) % REPORT_EVERY == 0 {
            ours_rows.push((mib(&region), limiter.len()));
        }
    }
    drop(limiter);

    let governor_rows = |retain: bool| {
        let clock = FakeRelativeClock::default();
        let region = Region::new(GLOBAL);
        let gov = governor::RateLimiter::dashmap_with_clock(
            governor::Quota::per_second(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN)),
            clock.clone(),
        );
        let mut rows = Vec::new();
        for key in 0..KEYS_SEEN {
            let _ = black_box(gov.check_key(&key));
            clock.advance(step);
            if (key + 1) % REPORT_EVERY == 0 {
                if retain {
                    gov.retain_recent();
                    gov.shrink_to_fit();
                }
                rows.push((mib(&region), gov.len()));
            }
        }
        rows
    };
    let gov_plain = governor_rows(false);
    let gov_retain = governor_rows(true);

    eprintln!(
        "heap held (MiB) / keys tracked, 10^6 distinct u64 keys, 1 per µs of fake time, 10 per second each:"
    );
    eprintln!("keys seen | auth-ratelimit | governor | governor + retain_recent + shrink_to_fit");
    for (i, ((o, g), r)) in ours_rows
        .iter()
        .zip(&gov_plain)
        .zip(&gov_retain)
        .enumerate()
    {
        eprintln!(
            "{:>9} | {:6.2} / {:>7} | {:6.2} / {:>7} | {:6.2} / {:>7}",
            (i as u64 + 1) * REPORT_EVERY,
            o.0,
            o.1,
            g.0,
            g.1,
            r.0,
            r.1
        );
    }
    eprintln!("auth-ratelimit peak (sampled every 10^4 keys): {ours_peak:.2} MiB");
}

/// The minimum time per check over many interleaved batches of each path: on a loaded
/// machine the minimum is the batch that ran undisturbed, so the ratio holds where criterion's
/// medians swing. Beside auth-ratelimit and governor, the two floors of [`CheckFloors`].
fn minimum_per_check(_c: &mut Criterion) {
    const ROUNDS: u32 = 300;
    const BATCH: u64 = 20_000;
    let limiter = ours(RATE);
    let gov = governor(RATE);
    let floors = CheckFloors::new();
    let ours_check = |k: u64| {
        black_box(limiter.check(&k).is_allowed());
    };
    let gov_check = |k: u64| {
        black_box(gov.check_key(&k).is_ok());
    };
    let cas_check = |k: u64| {
        black_box(floors.cas(k));
    };
    let mutex_check = |k: u64| {
        black_box(floors.mutex(k));
    };
    let paths: [&(dyn Fn(u64) + Sync); 4] = [&ours_check, &gov_check, &cas_check, &mutex_check];
    for threads in [1, 2] {
        let mut best = [f64::INFINITY; 4];
        for _ in 0..ROUNDS {
            for (slot, check) in paths.into_iter().enumerate() {
                let elapsed = if threads == 1 {
                    let start = Instant::now();
                    (0..BATCH).for_each(|i| check(black_box(i % KEYS)));
                    start.elapsed()
                } else {
                    contended(threads, BATCH, check)
                };
                #[allow(clippy::cast_precision_loss)]
                let per_check = elapsed.as_nanos() as f64 / BATCH as f64;
                best[slot] = best[slot].min(per_check);
            }
        }
        eprintln!(
            "minimum per check over {ROUNDS} interleaved batches of {BATCH}, {threads} thread(s): auth-ratelimit {:.1} ns, governor {:.1} ns, ratio {:.2}",
            best[0],
            best[1],
            best[0] / best[1]
        );
        eprintln!(
            "  floors: one CAS, no map {:.1} ns ({:.2}x governor); sharded Mutex<HashMap> {:.1} ns ({:.2}x governor); auth-ratelimit is {:.2}x the mutex floor",
            best[2],
            best[2] / best[1],
            best[3],
            best[3] / best[1],
            best[0] / best[3]
        );
    }
}

/// The key every admission row decides on (tracked after the first call).
const ADMIT_KEY: &str = "acme-ci";

/// The admission rows' limiters: one quota; one quota with the legacy fields; four quotas.
#[allow(clippy::expect_used)]
fn admit_limiters() -> [(&'static str, RateLimiter<String>); 3] {
    let build = |policy: Policy| RateLimiter::builder(policy).build().expect("valid limiter");
    let four = Policy::new(quota(RATE).named("s").expect("name"))
        .quota(Quota::per_minute(RATE).expect("quota"))
        .quota(Quota::per_hour(RATE).expect("quota"))
        .quota(Quota::per_day(RATE).expect("quota"));
    [
        ("Limiter::admit, one quota", build(Policy::new(quota(RATE)))),
        (
            "Limiter::admit, legacy X-RateLimit-* too",
            build(Policy::new(quota(RATE)).legacy_headers(true)),
        ),
        ("Limiter::admit, four quotas", build(four)),
    ]
}

fn admit(c: &mut Criterion) {
    let limiters = admit_limiters();
    let mut g = c.benchmark_group("admitted, with response fields, &str key");
    g.bench_function("floor: RateLimiter::check", |b| {
        b.iter(|| black_box(limiters[0].1.check(black_box(ADMIT_KEY)).is_allowed()));
    });
    for (name, limiter) in &limiters {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(ready_is_ok(limiter.admit(black_box(ADMIT_KEY), 1))));
        });
    }
    g.finish();
}

/// The admission rows' minimum time per call over interleaved batches, and their
/// allocations per call (the `HeaderMap` and the values written into it).
fn minimum_per_admit(_c: &mut Criterion) {
    const ROUNDS: u32 = 300;
    const BATCH: u32 = 1_000;
    let limiters = admit_limiters();
    let [(one_name, one), (legacy_name, legacy), (four_name, four)] = &limiters;
    let check = || {
        black_box(one.check(black_box(ADMIT_KEY)).is_allowed());
    };
    let admit = |l: &RateLimiter<String>| {
        black_box(ready_is_ok(l.admit(black_box(ADMIT_KEY), 1)));
    };
    let rows: [(&str, &dyn Fn()); 4] = [
        ("floor: RateLimiter::check", &check),
        (one_name, &|| admit(one)),
        (legacy_name, &|| admit(legacy)),
        (four_name, &|| admit(four)),
    ];
    let mut best = [f64::INFINITY; 4];
    for _ in 0..ROUNDS {
        for (slot, (_, f)) in rows.iter().enumerate() {
            let start = Instant::now();
            (0..BATCH).for_each(|_| f());
            best[slot] = best[slot].min(start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
        }
    }
    eprintln!("admitted with response fields, minimum of {ROUNDS} interleaved batches of {BATCH}:");
    for ((name, f), ns) in rows.iter().zip(best) {
        let region = Region::new(GLOBAL);
        (0..BATCH).for_each(|_| f());
        let stats = region.change();
        #[allow(clippy::cast_precision_loss)]
        let (count, bytes) = (
            (stats.allocations + stats.reallocations) as f64 / f64::from(BATCH),
            stats.bytes_allocated as f64 / f64::from(BATCH),
        );
        eprintln!("  {name:<42} {ns:6.1} ns  {count:3.1} allocations ({bytes:4.0} bytes)");
    }
}

criterion_group!(
    benches,
    clock_read,
    keyed_check,
    bytes_per_key,
    allocations_per_check,
    distinct_keys,
    minimum_per_check,
    admit,
    minimum_per_admit
);
criterion_main!(benches);
