//! auth-core hot paths: reading a bearer token or an API key from a request head, and
//! rendering a challenge.
//!
//! Bearer rows: auth-core's `TokenExtractor`; the `headers` crate's typed
//! `Authorization<Bearer>` (what hyper/axum users reach for); and the floor, a bare
//! `strip_prefix` on the header.
//!
//! X-API-Key rows: `TokenExtractor` reading that header alone, and as auth-apikey's default
//! extractor reads (`Authorization: Bearer` or `X-API-Key`, so one more lookup); the peer is
//! `HeaderValue::to_str` on the header, which is what the `headers` crate does inside a typed
//! header (it has none for `X-API-Key`); the floor is the bare lookup, no check at all.

use std::hint::black_box;
use std::time::Instant;

use auth_core::{BearerErrorCode, Challenge, Location, TokenExtractor};
use criterion::{Criterion, criterion_group, criterion_main};
use headers::{Authorization, HeaderMapExt, authorization::Bearer};

const TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";

fn bearer_extraction(c: &mut Criterion) {
    let (parts, ()) = http::Request::get("/api/orders?page=2")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", "application/json")
        .header("user-agent", "bench/1.0")
        .body(())
        .map(http::Request::into_parts)
        .unwrap_or_else(|_| http::Request::new(()).into_parts());
    let extractor = TokenExtractor::bearer();

    let mut g = c.benchmark_group("bearer extraction");
    g.bench_function("auth-rs TokenExtractor", |b| {
        b.iter(|| {
            let found = extractor.extract(black_box(&parts));
            black_box(found.ok().flatten().map(|f| f.value.len()))
        });
    });
    g.bench_function("peer: headers Authorization<Bearer>", |b| {
        b.iter(|| {
            let typed = black_box(&parts.headers).typed_get::<Authorization<Bearer>>();
            black_box(typed.map(|a| a.token().len()))
        });
    });
    g.bench_function("floor: strip_prefix", |b| {
        b.iter(|| {
            let value = black_box(&parts.headers).get("authorization");
            black_box(
                value
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::len),
            )
        });
    });
    g.finish();
}

fn api_key_extraction(c: &mut Criterion) {
    let x_api_key = http::HeaderName::from_static("x-api-key");
    let (parts, ()) = http::Request::get("/v1/deploys")
        .header(&x_api_key, "sk_live_Ab3dE5gH1jK2mN4pQ6rS8tU0vW9xY7zA3bC5dE")
        .header("accept", "application/json")
        .header("user-agent", "bench/1.0")
        .body(())
        .map(http::Request::into_parts)
        .unwrap_or_else(|_| http::Request::new(()).into_parts());
    let header_only = TokenExtractor::new([Location::Header(x_api_key.clone())]);
    let apikey_default = auth_apikey::default_extractor();

    let mut g = c.benchmark_group("x-api-key extraction");
    g.bench_function("auth-rs TokenExtractor (X-API-Key only)", |b| {
        b.iter(|| {
            let found = header_only.extract(black_box(&parts));
            black_box(found.ok().flatten().map(|f| f.value.len()))
        });
    });
    g.bench_function(
        "auth-rs TokenExtractor (auth-apikey default: Bearer or X-API-Key)",
        |b| {
            b.iter(|| {
                let found = apikey_default.extract(black_box(&parts));
                black_box(found.ok().flatten().map(|f| f.value.len()))
            });
        },
    );
    g.bench_function("peer: HeaderValue::to_str (as headers decodes)", |b| {
        b.iter(|| {
            let value = black_box(&parts.headers).get(&x_api_key);
            black_box(value.and_then(|v| v.to_str().ok()).map(str::len))
        });
    });
    g.bench_function("floor: HeaderMap::get (no check)", |b| {
        b.iter(|| {
            let value = black_box(&parts.headers).get(&x_api_key);
            black_box(value.map(|v| v.as_bytes().len()))
        });
    });
    g.finish();
}

/// The extraction goals (at most 1.0x the `headers` crate) as ratios that survive a loaded
/// machine: batches of every path alternate, and the least disturbed batch of each is kept.
/// Printed to stderr; it takes about a second.
fn extraction_goals(_: &mut Criterion) {
    const BATCH: u32 = 1_000;
    const ROUNDS: usize = 300;
    let x_api_key = http::HeaderName::from_static("x-api-key");
    let (parts, ()) = http::Request::get("/v1/deploys")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header(&x_api_key, "sk_live_Ab3dE5gH1jK2mN4pQ6rS8tU0vW9xY7zA3bC5dE")
        .header("accept", "application/json")
        .body(())
        .map(http::Request::into_parts)
        .unwrap_or_else(|_| http::Request::new(()).into_parts());
    let bearer = TokenExtractor::bearer();
    let header_only = TokenExtractor::new([Location::Header(x_api_key.clone())]);
    let paths: [(&str, &dyn Fn()); 6] = [
        ("bearer: auth-rs TokenExtractor", &|| {
            black_box(
                bearer
                    .extract(black_box(&parts))
                    .ok()
                    .flatten()
                    .map(|f| f.value.len()),
            );
        }),
        ("bearer: peer headers Authorization<Bearer>", &|| {
            let typed = black_box(&parts.headers).typed_get::<Authorization<Bearer>>();
            black_box(typed.map(|a| a.token().len()));
        }),
        ("bearer: floor strip_prefix", &|| {
            let value = black_box(&parts.headers).get("authorization");
            black_box(
                value
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(str::len),
            );
        }),
        ("x-api-key: auth-rs TokenExtractor", &|| {
            let found = header_only.extract(black_box(&parts));
            black_box(found.ok().flatten().map(|f| f.value.len()));
        }),
        ("x-api-key: peer HeaderValue::to_str", &|| {
            let value = black_box(&parts.headers).get(&x_api_key);
            black_box(value.and_then(|v| v.to_str().ok()).map(str::len));
        }),
        ("x-api-key: floor HeaderMap::get", &|| {
            let value = black_box(&parts.headers).get(&x_api_key);
            black_box(value.map(|v| v.as_bytes().len()));
        }),
    ];
    let mut best = [f64::MAX; 6];
    for _ in 0..ROUNDS {
        for ((_, f), best) in paths.iter().zip(&mut best) {
            let start = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            *best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(BATCH));
        }
    }
    eprintln!("extraction goals, minimum of {ROUNDS} interleaved batches of {BATCH}:");
    for ((name, _), ns) in paths.iter().zip(best) {
        eprintln!("  {name:<45} {ns:6.1} ns");
    }
    eprintln!(
        "  vs peer (goal <= 1.0): bearer {:.2}, x-api-key {:.2}; vs floor: bearer {:.2}, x-api-key {:.2}",
        best[0] / best[1],
        best[3] / best[4],
        best[0] / best[2],
        best[3] / best[5]
    );
}

fn challenge_rendering(c: &mut Criterion) {
    let challenge = Challenge::bearer()
        .with_realm("api")
        .with_error(BearerErrorCode::InvalidToken)
        .with_error_description("The access token expired");
    let mut g = c.benchmark_group("challenge rendering");
    g.bench_function("auth-rs Challenge::to_header_value", |b| {
        b.iter(|| black_box(black_box(&challenge).to_header_value()));
    });
    g.bench_function("floor: format! + HeaderValue", |b| {
        b.iter(|| {
            let s = format!(
                "Bearer realm=\"{}\", error=\"{}\", error_description=\"{}\"",
                black_box("api"),
                black_box("invalid_token"),
                black_box("The access token expired")
            );
            black_box(http::HeaderValue::try_from(s).ok())
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    extraction_goals,
    bearer_extraction,
    api_key_extraction,
    challenge_rendering
);
criterion_main!(benches);
