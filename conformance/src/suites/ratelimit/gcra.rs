//! The GCRA limiter: scripted sequences step by step, its bounds as properties on a manual
//! clock, concurrency, a Redis fleet, configuration.

use std::sync::Arc;
use std::time::Duration;

use auth_core::ManualClock;
use auth_ratelimit::{Error, Outcome, Policy, Quota, RateLimiter};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{Limiter, NowTime, at_ms, fail, json, limiter, ms};
use crate::harness::{CheckResult, Suite, block_on, check, ensure, ensure_eq};
use crate::services::Service;

/// Every scripted sequence: decision, retry delay and TAT (now + reset) at each step.
fn gcra_vectors() -> CheckResult {
    let (g, _) = json()?;
    let scripted = g["scripted"].as_array().ok_or("no scripted sequences")?;
    ensure(scripted.len() >= 8, || "sequences missing".into())?;
    for seq in scripted {
        let name = seq["name"].as_str().unwrap_or("?");
        let t = seq["T"].as_u64().ok_or("T")?;
        let b = u32::try_from(seq["B"].as_u64().ok_or("B")?).map_err(|e| e.to_string())?;
        let clock = ManualClock::new(at_ms(0));
        let l = limiter::<&str>(t, b, &clock);
        for (i, step) in seq["arrivals_and_expected"]
            .as_array()
            .ok_or("steps")?
            .iter()
            .enumerate()
        {
            let now = step["t"].as_u64().ok_or("t")?;
            clock.set(at_ms(now));
            let d = l.check(&"key");
            let at = format!("{name} step {i} (t={now})");
            ensure_eq(
                &format!("{at} allowed"),
                d.is_allowed(),
                step["allowed"] == true,
            )?;
            ensure_eq(
                &format!("{at} retry_after"),
                d.retry_after().map_or(0, ms),
                step["retry_after"].as_u64().ok_or("retry_after")?,
            )?;
            ensure_eq(
                &format!("{at} tat_after"),
                now + ms(d.reset()),
                step["tat_after"].as_u64().ok_or("tat_after")?,
            )?;
        }
    }
    Ok(())
}

/// Arrivals at cumulative `gaps` (ms) on one key; returns the admitted times in ns.
fn admitted_times(t_ms: u64, b: u32, gaps: &[u64]) -> Vec<u64> {
    let clock = ManualClock::new(at_ms(0));
    let l = limiter::<u8>(t_ms, b, &clock);
    let mut now = 0;
    let mut out = Vec::new();
    for gap in gaps {
        now += gap;
        clock.set(at_ms(now));
        if l.check(&0).is_allowed() {
            out.push(now * 1_000_000);
        }
    }
    out
}

fn window_bound((t_ms, b, gaps): (u64, u32, Vec<u64>)) -> Result<(), TestCaseError> {
    let t = t_ms * 1_000_000;
    let times = admitted_times(t_ms, b, &gaps);
    for i in 0..times.len() {
        for j in i..times.len() {
            // The shortest half-open window holding admissions i..=j has length L below.
            let l = times[j] - times[i] + 1;
            let bound = u64::from(b) + l.div_ceil(t) - 1;
            let count = (j - i + 1) as u64;
            if count > bound {
                return Err(fail(format!(
                    "{count} admitted in a window of {l} ns, bound {bound}"
                )));
            }
        }
    }
    Ok(())
}

fn long_run_rate((t_ms, b, steps): (u64, u32, u64)) -> Result<(), TestCaseError> {
    // A greedy client asking every millisecond gets the rate, and no more.
    let times = admitted_times(t_ms, b, &vec![1; usize::try_from(steps).unwrap_or(0)]);
    let span = steps - 1;
    let got = times.len() as u64;
    let most = u64::from(b) + span / t_ms;
    let least = span / t_ms;
    if got > most || got < least {
        return Err(fail(format!(
            "{got} admitted over {span} ms, want {least}..={most}"
        )));
    }
    Ok(())
}

/// Replaying only the admitted arrivals on a fresh limiter admits all of them with the same
/// `remaining`: the refused ones changed nothing.
fn rejections_cost_nothing((t_ms, b, gaps): (u64, u32, Vec<u64>)) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(at_ms(0));
    let first = limiter::<u8>(t_ms, b, &clock);
    let mut kept = Vec::new();
    let mut now = 0;
    for gap in &gaps {
        now += gap;
        clock.set(at_ms(now));
        let d = first.check(&0);
        if d.is_allowed() {
            kept.push((now, d.remaining()));
        }
    }
    let clock = ManualClock::new(at_ms(0));
    let replay = limiter::<u8>(t_ms, b, &clock);
    for (now, remaining) in kept {
        clock.set(at_ms(now));
        let d = replay.check(&0);
        if !d.is_allowed() || d.remaining() != remaining {
            return Err(fail(format!("replay at {now} ms differs: {d:?}")));
        }
    }
    Ok(())
}

/// A refusal's retry-after is tight: one nanosecond less is still refused, exactly that long
/// is admitted (with any cost up to the burst).
fn retry_after_exact((t_ms, b, costs): (u64, u32, Vec<u32>)) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(at_ms(0));
    let l = limiter::<u8>(t_ms, b, &clock);
    for cost in costs {
        let cost = cost % b + 1;
        let d = l.check_cost(&0, cost).map_err(|e| fail(e.to_string()))?;
        if let Some(wait) = d.retry_after() {
            let now = clock.now_time();
            clock.set(now.saturating_add(wait - Duration::from_nanos(1)));
            let early = l.check_cost(&0, cost).map_err(|e| fail(e.to_string()))?;
            if early.is_allowed() {
                return Err(fail(format!(
                    "admitted 1 ns before the advertised {wait:?}"
                )));
            }
            clock.set(now.saturating_add(wait));
            let on_time = l.check_cost(&0, cost).map_err(|e| fail(e.to_string()))?;
            if !on_time.is_allowed() {
                return Err(fail(format!(
                    "refused after waiting the advertised {wait:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Interleaved keys see exactly what each would see alone.
fn keys_isolated((t_ms, b, arrivals): (u64, u32, Vec<(u8, u64)>)) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(at_ms(0));
    let shared = limiter::<u8>(t_ms, b, &clock);
    let alone: Vec<Limiter<u8>> = (0..3).map(|_| limiter(t_ms, b, &clock)).collect();
    let mut now = 0;
    for (key, gap) in arrivals {
        now += gap;
        clock.set(at_ms(now));
        let key = key % 3;
        let a = shared.check(&key);
        let b = alone[usize::from(key)].check(&key);
        if a != b {
            return Err(fail(format!(
                "key {key} at {now} ms: shared {a:?}, alone {b:?}"
            )));
        }
    }
    Ok(())
}

/// The clock jumping back and forth (and sweeps in between) never admits more than the span
/// of time actually seen allows, and never panics.
fn time_backwards((t_ms, b, moves): (u64, u32, Vec<(i64, bool)>)) -> Result<(), TestCaseError> {
    let start = 1_000_000u64; // ms after BASE, so jumps back stay after it
    let clock = ManualClock::new(at_ms(start));
    let l = limiter::<u8>(t_ms, b, &clock);
    let (mut now, mut lo, mut hi, mut admitted) = (start, start, start, 0u64);
    let mut first = true;
    for (delta, sweep) in moves {
        now = now.saturating_add_signed(delta);
        lo = lo.min(now);
        hi = hi.max(now);
        clock.set(at_ms(now));
        if sweep {
            l.evict_replenished();
        }
        let allowed = l.check(&0).is_allowed();
        // The positive twin of the bound: a fresh key's first request is admitted, so a
        // limiter that refused everything could not pass.
        if first && !allowed {
            return Err(fail("a fresh key's first request was refused".into()));
        }
        first = false;
        admitted += u64::from(allowed);
        let bound = u64::from(b) + (hi - lo) / t_ms;
        if admitted > bound {
            return Err(fail(format!(
                "{admitted} admitted within [{lo}, {hi}] ms, bound {bound}"
            )));
        }
    }
    Ok(())
}

/// Sweeping replenished keys never admits more than keeping them: with time moving forward
/// the decisions are identical, and with the clock stepping back (where an evicted key must not
/// come back as a fresh burst) the sweeping limiter never admits more in total.
fn eviction_is_invisible(
    (t_ms, b, moves): (u64, u32, Vec<(i64, bool)>),
) -> Result<(), TestCaseError> {
    for forward_only in [true, false] {
        let start = 1_000_000u64;
        let clock = ManualClock::new(at_ms(start));
        let swept = limiter::<u8>(t_ms, b, &clock);
        let kept = limiter::<u8>(t_ms, b, &clock);
        let (mut now, mut swept_n, mut kept_n) = (start, 0u32, 0u32);
        for &(delta, sweep) in &moves {
            let delta = if forward_only { delta.abs() } else { delta };
            now = now.saturating_add_signed(delta);
            clock.set(at_ms(now));
            if sweep {
                swept.evict_replenished();
                continue;
            }
            let (a, k) = (swept.check(&0), kept.check(&0));
            if forward_only && a != k {
                return Err(fail(format!("at {now} ms: swept {a:?}, kept {k:?}")));
            }
            swept_n += u32::from(a.is_allowed());
            kept_n += u32::from(k.is_allowed());
            if swept_n > kept_n {
                return Err(fail(format!(
                    "at {now} ms: swept admitted {swept_n}, kept {kept_n}"
                )));
            }
        }
    }
    Ok(())
}

fn threads_admit_exactly_the_burst() -> CheckResult {
    for quotas in [1, 2] {
        let clock = ManualClock::new(at_ms(0));
        let mut policy = Policy::new(
            Quota::per_hour(10)
                .and_then(|q| q.with_burst(777))
                .map_err(|e| e.to_string())?,
        );
        if quotas == 2 {
            let day = Quota::per_day(10).and_then(|q| q.with_burst(900));
            policy = policy.quota(day.map_err(|e| e.to_string())?);
        }
        let builder = RateLimiter::builder(policy).clock(clock);
        let l = Arc::new(builder.build::<u64>().map_err(|e| e.to_string())?);
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let l = Arc::clone(&l);
                    s.spawn(move || (0..500).filter(|_| l.check(&42).is_allowed()).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        ensure_eq(&format!("admitted with {quotas} quota(s)"), admitted, 777)?;
    }
    Ok(())
}

/// Three instances sharing one Redis (`AUTH_RS_REDIS_URL`), 90 concurrent requests: exactly
/// the global burst is admitted.
fn redis_fleet_admits_the_global_quota() -> CheckResult {
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let nanos = auth_core::Clock::now(&auth_core::SystemClock).as_nanos();
    let prefix = format!("conformance:fleet:{}:{nanos}:", std::process::id());
    block_on(async move {
        let quota = Quota::per_hour(1)
            .and_then(|q| q.with_burst(25))
            .map_err(|e| e.to_string())?;
        let mut fleet = Vec::new();
        for _ in 0..3 {
            let l = auth_ratelimit_redis::RedisLimiter::builder(url.clone(), quota.clone())
                .prefix(prefix.clone())
                .build()
                .map_err(|e| e.to_string())?;
            fleet.push(Arc::new(l));
        }
        let mut tasks = Vec::new();
        for l in &fleet {
            for _ in 0..30 {
                let l = Arc::clone(l);
                tasks.push(tokio::spawn(async move { l.check("shared", 1).await }));
            }
        }
        let mut admitted = 0;
        for t in tasks {
            let d = t
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            admitted += usize::from(d.is_allowed());
        }
        ensure_eq("admitted across three instances", admitted, 25)
    })
}

fn strategy() -> impl Strategy<Value = (u64, u32, Vec<u64>)> {
    (1u64..50, 1u32..8, prop::collection::vec(0u64..120, 1..120))
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "GCRA scripted sequences, step by step",
        "GCRA (ITU-T I.371), gcra_derived_vectors",
        gcra_vectors,
    );
    s.case(
        "any window of length L admits at most B + ceil(L/T) - 1",
        "GCRA bound",
        || check(64, strategy(), window_bound),
    );
    s.case(
        "long-run rate: a greedy client gets the rate, no more",
        "GCRA bound",
        || check(32, (1u64..50, 1u32..8, 2u64..2000), long_run_rate),
    );
    s.case("rejections cost nothing", "GCRA", || {
        check(64, strategy(), rejections_cost_nothing)
    });
    s.case(
        "retry-after is exact (any cost)",
        "GCRA, RFC 9110 §10.2.3",
        || {
            check(
                64,
                (
                    1u64..50,
                    1u32..8,
                    prop::collection::vec(any::<u32>(), 1..60),
                ),
                retry_after_exact,
            )
        },
    );
    s.case("keys are isolated", "design", || {
        check(
            64,
            (
                1u64..50,
                1u32..8,
                prop::collection::vec((any::<u8>(), 0u64..60), 1..150),
            ),
            keys_isolated,
        )
    });
    s.case(
        "time going backwards never admits extra or panics",
        "design",
        || {
            check(
                64,
                (
                    1u64..50,
                    1u32..8,
                    prop::collection::vec((-400i64..400, any::<bool>()), 1..150),
                ),
                time_backwards,
            )
        },
    );
    s.case(
        "evicting replenished keys never admits more",
        "design",
        || {
            check(
                128,
                (
                    1u64..50,
                    1u32..8,
                    prop::collection::vec((-400i64..400, any::<bool>()), 1..150),
                ),
                eviction_is_invisible,
            )
        },
    );
    s.case(
        "threads on a frozen clock admit exactly the burst",
        "design",
        threads_admit_exactly_the_burst,
    );
    s.case_needing(
        &[Service::Redis],
        "three instances sharing one Redis admit exactly the global quota",
        "design (distributed GCRA)",
        redis_fleet_admits_the_global_quota,
    );
    s.case(
        "nonsense quotas are refused at construction",
        "design",
        || {
            for bad in [
                Quota::per_second(0),
                Quota::new(1, Duration::ZERO),
                Quota::new(10, Duration::from_nanos(9)),
                Quota::per_second(1).and_then(|q| q.with_burst(0)),
            ] {
                ensure(matches!(bad, Err(Error::InvalidQuota(_))), || {
                    format!("{bad:?}")
                })?;
            }
            let q = Quota::per_second(10).map_err(|e| e.to_string())?;
            ensure_eq(
                "per_second(10) interval",
                q.interval(),
                Duration::from_millis(100),
            )
        },
    );
    s.case("dry run reports and never refuses", "design", || {
        let clock = ManualClock::new(at_ms(0));
        let q = Quota::per_minute(1).map_err(|e| e.to_string())?;
        let l = RateLimiter::builder(Policy::new(q).dry_run(true))
            .clock(clock)
            .build::<u8>()
            .map_err(|e| e.to_string())?;
        let outcomes: Vec<Outcome> = (0..3).map(|_| l.check(&0).outcome()).collect();
        ensure_eq(
            "outcomes",
            outcomes,
            vec![
                Outcome::Allowed,
                Outcome::DryRunLimited,
                Outcome::DryRunLimited,
            ],
        )?;
        ensure(l.enforce(&l.check(&0)).is_ok(), || "dry run refused".into())
    });
}
