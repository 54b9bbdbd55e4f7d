//! auth-core hot paths: reading a bearer token from a request head, and rendering a challenge.
//!
//! Rows: auth-core's `TokenExtractor`; the `headers` crate's typed `Authorization<Bearer>`
//! (what hyper/axum users reach for); and the floor, a bare `strip_prefix` on the header.

use std::hint::black_box;

use auth_core::{BearerErrorCode, Challenge, TokenExtractor};
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

criterion_group!(benches, bearer_extraction, challenge_rendering);
criterion_main!(benches);
