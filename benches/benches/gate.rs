//! A whole gate decision, as auth-http, auth-tower and `auth serve` run one: the request head
//! carries `X-API-Key`; `Guard` extracts it, auth-apikey verifies it against a memory store of
//! 10k keys and builds the `Principal`, which goes into the request's extensions; then
//! `RateLimit::per_principal` over auth-ratelimit's in-process `RateLimiter` admits the
//! request and answers the `RateLimit` headers.
//!
//! Rows, beside the whole: its parts alone, as `floor` rows (the key verification,
//! `ApiKeys::check`; the limiter's admission with its headers, `Limiter::admit`; its bare
//! decision, `RateLimiter::check`), and the two parts back to back, the row the ratio table
//! takes as the floor (it sorts first). The goal is the whole at most 1.3x that sum.
//!
//! Printed to stderr too: the same ratio from the minimum of many interleaved batches (which
//! survives a loaded machine), and allocations per decision and per part, counted by an
//! instrumented global allocator.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use auth_apikey::{ApiKeys, KeyFormat, MemoryStore, NewKey};
use auth_core::{Gate, GateExt, Guard, Limiter, RateLimit, Scopes};
use auth_ratelimit::{Quota, RateLimiter};
use benches::{ready, ready_is_ok};
use criterion::{Criterion, criterion_group, criterion_main};
use http::Extensions;
use http::request::Parts;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The key's owner: the principal's subject and the limiter's key.
const OWNER: &str = "acme-ci";

/// The gate: the API key guard, then the limiter per principal.
type WholeGate = auth_core::Then<
    Guard<auth_core::TokenAuthenticator<ApiKeys<MemoryStore>>>,
    RateLimit<Arc<RateLimiter<String>>, auth_core::SubjectKey>,
>;

/// Everything a decision needs: the keys (10k others and the one presented), the limiter,
/// the gate composed of both, and the request head.
struct Setup {
    keys: ApiKeys<MemoryStore>,
    key: String,
    limiter: Arc<RateLimiter<String>>,
    gate: WholeGate,
    parts: Parts,
}

#[allow(clippy::expect_used)] // setup, not measurement
fn setup() -> Setup {
    let keys = ApiKeys::new(
        KeyFormat::new("sk_live").expect("format"),
        MemoryStore::new(),
    );
    for i in 0..10_000 {
        let _other = ready(keys.create(NewKey::new(format!("tenant-{i}"), "other")));
    }
    let issued = ready(keys.create(
        NewKey::new(OWNER, "deploy").with_scopes(Scopes::from_space_separated("deploy read")),
    ))
    .expect("issue");
    let key = issued.expose_key().to_owned();
    // High enough that every request is admitted (and writes its state).
    let limiter = Arc::new(
        RateLimiter::builder(Quota::per_second(1_000_000_000).expect("quota"))
            .build()
            .expect("limiter"),
    );
    let gate =
        Guard::new(keys.authenticator("api")).then(RateLimit::per_principal(Arc::clone(&limiter)));
    let (parts, ()) = http::Request::get("/v1/deploys")
        .header("x-api-key", &key)
        .header("accept", "application/json")
        .body(())
        .expect("request")
        .into_parts();
    Setup {
        keys,
        key,
        limiter,
        gate,
        parts,
    }
}

/// One whole decision on a fresh request: a server hands each request empty extensions and
/// drops them with it, so the bench does too (the principal's slot is allocated each time).
#[inline(always)]
fn whole(s: &mut Setup) -> bool {
    drop(std::mem::replace(
        &mut s.parts.extensions,
        Extensions::new(),
    ));
    ready_is_ok(s.gate.check(black_box(&mut s.parts)))
}

fn key_check(s: &Setup) -> bool {
    ready_is_ok(s.keys.check(black_box(&s.key)))
}

fn limiter_admit(s: &Setup) -> bool {
    ready_is_ok(s.limiter.admit(black_box(OWNER), 1))
}

fn gate_decision(c: &mut Criterion) {
    let mut s = setup();
    let mut g = c.benchmark_group("gate decision (X-API-Key, in-process limiter)");
    g.bench_function("auth-rs Gate::check (Guard then RateLimit)", |b| {
        b.iter(|| black_box(whole(&mut s)));
    });
    g.bench_function("auth-rs Guard::decide alone", |b| {
        let guard = Guard::new(s.keys.authenticator("api"));
        b.iter(|| black_box(ready_is_ok(guard.decide(black_box(&s.parts)))));
    });
    g.bench_function("floor, sum: ApiKeys::check + Limiter::admit", |b| {
        b.iter(|| black_box(key_check(&s) & limiter_admit(&s)));
    });
    g.bench_function("floor: ApiKeys::check", |b| {
        b.iter(|| black_box(key_check(&s)));
    });
    g.bench_function("floor: Limiter::admit", |b| {
        b.iter(|| black_box(limiter_admit(&s)));
    });
    g.bench_function("floor: RateLimiter::check", |b| {
        b.iter(|| black_box(s.limiter.check(black_box(OWNER))));
    });
    g.finish();
}

/// Allocations (count, bytes) per call of `f`, over `n` calls after a warm-up.
fn allocations(n: u32, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let region = Region::new(GLOBAL);
    for _ in 0..n {
        f();
    }
    let stats = region.change();
    #[allow(clippy::cast_precision_loss)]
    (
        stats.allocations as f64 / f64::from(n),
        stats.bytes_allocated as f64 / f64::from(n),
    )
}

/// The goal as a ratio that survives a loaded machine (batches of each path alternate, the
/// least disturbed batch of each is kept), and the allocations of each path. Printed to
/// stderr; it takes about a second.
fn goal_ratio(_: &mut Criterion) {
    const BATCH: u32 = 1_000;
    const ROUNDS: usize = 300;
    let mut s = setup();
    let guard = Guard::new(s.keys.authenticator("api"));
    let names = [
        "whole: Guard.then(RateLimit), Gate::check",
        "Guard::decide alone",
        "part: ApiKeys::check",
        "part: Limiter::admit",
        "part: RateLimiter::check",
    ];
    let mut best = [f64::MAX; 5];
    let mut allocs = [(0.0, 0.0); 5];
    for round in 0..=ROUNDS {
        for (i, best) in best.iter_mut().enumerate() {
            let mut run = || match i {
                0 => {
                    black_box(whole(&mut s));
                }
                1 => {
                    black_box(ready_is_ok(guard.decide(black_box(&s.parts))));
                }
                2 => {
                    black_box(key_check(&s));
                }
                3 => {
                    black_box(limiter_admit(&s));
                }
                _ => {
                    let _decision = black_box(s.limiter.check(black_box(OWNER)));
                }
            };
            if round == ROUNDS {
                allocs[i] = allocations(BATCH, run);
                continue;
            }
            let start = Instant::now();
            for _ in 0..BATCH {
                run();
            }
            *best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
        }
    }
    eprintln!("gate decision, minimum of {ROUNDS} interleaved batches of {BATCH}:");
    for ((name, ns), (count, bytes)) in names.iter().zip(best).zip(allocs) {
        eprintln!("  {name:<45} {ns:7.1} ns  {count:4.1} allocations ({bytes:5.0} bytes)");
    }
    let [whole_ns, decide_ns, check_ns, admit_ns, _] = best;
    eprintln!(
        "  whole / (key check + limiter admit) (goal <= 1.3): {:.2}; Guard::decide / key check: {:.2}",
        whole_ns / (check_ns + admit_ns),
        decide_ns / check_ns
    );
}

criterion_group!(benches, goal_ratio, gate_decision);
criterion_main!(benches);
