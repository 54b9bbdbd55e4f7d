//! auth-jwt verification beside `jsonwebtoken::decode` (same token, same checks) and beside
//! the raw signature primitive with a prepared key (the floor) and a careful hand-written
//! whole-token check around that same primitive (the careful floor); and key lookup by `kid`,
//! and routing between issuers.
//!
//! Each group verifies one ~400-byte token signed with HS256, RS256, ES256 or EdDSA. The
//! rows are built in `jwt_cases`, which `jwt_allocations` shares to count each row's heap
//! allocations (a counting allocator here would add its atomics to the allocating rows'
//! times).

use std::hint::black_box;
use std::time::Instant;

use auth_jwt::Scratch;
use criterion::{Criterion, criterion_group, criterion_main};

mod jwt_cases;

use jwt_cases::{block, cases, issuers_setup, kid_lookup_setup, rows};

/// Before criterion: each verification group's rows timed in interleaved batches, the
/// minimum batch of each printed. Another process's burst slows every row of one round alike
/// and the least disturbed batch of each row is kept, so these ratios hold on a loaded
/// machine where criterion's means swing (see benches/README.md, auth-jwt).
fn interleaved_minimum(_c: &mut Criterion) {
    const ROUNDS: usize = 200;
    const BATCH: u32 = 100;
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    for case in cases() {
        let group = format!("jwt verify {}", case.name);
        if filter
            .as_ref()
            .is_some_and(|f| !group.contains(f.as_str()) && !f.contains(&group))
        {
            continue;
        }
        let mut rows = rows(&case);
        let mut best = vec![f64::INFINITY; rows.len()];
        for _ in 0..ROUNDS {
            for ((_, row), best) in rows.iter_mut().zip(&mut best) {
                let start = Instant::now();
                for _ in 0..BATCH {
                    black_box(row());
                }
                *best = best.min(start.elapsed().as_nanos() as f64 / f64::from(BATCH));
            }
        }
        let minimum_of = |prefix: &str| {
            rows.iter()
                .zip(&best)
                .find(|((id, _), _)| id.starts_with(prefix))
                .map_or(f64::NAN, |(_, ns)| *ns)
        };
        let floor = minimum_of("floor: prepared-key");
        let careful = minimum_of("floor: whole token, careful");
        for ((id, _), ns) in rows.iter().zip(&best) {
            eprintln!(
                "{group}/{id}: minimum {ns:.0} ns ({:.2}x the primitive, {:.2}x the careful floor)",
                ns / floor,
                ns / careful
            );
        }
    }
}

fn verify(c: &mut Criterion) {
    for case in cases() {
        let mut g = c.benchmark_group(format!("jwt verify {}", case.name));
        for (id, mut row) in rows(&case) {
            // Sanity: every row accepts the token.
            assert!(row(), "{} {id}", case.name);
            g.bench_function(id, |b| b.iter(&mut row));
        }
        g.finish();
    }
}

fn kid_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("jwt kid lookup (HS256, 100 keys)");
    let (many, one, token) = kid_lookup_setup();
    assert!(block(many.verify_principal(&token)).is_ok());
    g.bench_function("last of 100 keys", |b| {
        b.iter(|| block(many.verify_principal(black_box(&token))).is_ok())
    });
    g.bench_function("the only key", |b| {
        b.iter(|| block(one.verify_principal(black_box(&token))).is_ok())
    });
    g.finish();
}

/// The cost of routing by `iss` (the payload's claims read before the signature, and then
/// used by the verification): the same HS256 token through its issuer's verifier alone, and
/// through a set of two issuers; into a `Principal` and into borrowed claims.
fn issuer_routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("jwt issuers (HS256)");
    let (alone, set, token) = issuers_setup();
    assert!(block(set.verify_principal(&token)).is_ok());
    g.bench_function("one issuer's verifier", |b| {
        b.iter(|| block(alone.verify_principal(black_box(&token))).is_ok())
    });
    g.bench_function("a set of two issuers", |b| {
        b.iter(|| block(set.verify_principal(black_box(&token))).is_ok())
    });
    let mut scratch = Scratch::new();
    assert!(block(set.verify_in(&token, &mut scratch)).is_ok());
    g.bench_function("one issuer's verifier, borrowed claims", |b| {
        b.iter(|| block(alone.verify_in(black_box(&token), &mut scratch)).is_ok())
    });
    g.bench_function("a set of two issuers, borrowed claims", |b| {
        b.iter(|| block(set.verify_in(black_box(&token), &mut scratch)).is_ok())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = interleaved_minimum, verify, kid_lookup, issuer_routing
}
criterion_main!(benches);
