//! auth-apikey hot paths: verifying a key against the in-memory and SQLite stores, rejecting
//! a bad checksum, and comparing digests.
//!
//! Floors: one SHA-256 (or HMAC-SHA-256 with the pepper's state precomputed) of the key,
//! which every verification must pay, and a 32-byte constant-time comparison.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_apikey::{ApiKeys, KeyFormat, KeyStore, MemoryStore, NewKey, SqliteStore};
use auth_core::{Guard, Scopes, Secret, UnixTime, VerifyToken};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PEPPER: &str = "bench-pepper-0123456789abcdef";

/// Runs a future that is ready at once (the memory and SQLite stores' futures are), without
/// an executor in the measurement.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn keys<S: KeyStore>(store: S, pepper: bool) -> ApiKeys<S> {
    let mut builder = ApiKeys::builder(KeyFormat::new("sk_live").unwrap_or_else(|e| panic!("{e}")));
    if pepper {
        builder = builder.pepper(Secret::new(PEPPER));
    }
    builder.build(store).unwrap_or_else(|e| panic!("{e}"))
}

/// Issues `extra` other keys (so lookups hit a realistic table) and one key to verify.
fn issue<S: KeyStore>(keys: &ApiKeys<S>, extra: usize, settings: NewKey) -> String {
    for i in 0..extra {
        ready(keys.create(NewKey::new(format!("tenant-{i}"), "other")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let issued = ready(keys.create(settings)).unwrap_or_else(|e| panic!("{e}"));
    issued.expose_key().to_owned()
}

fn settings() -> NewKey {
    NewKey::new("acme-ci", "deploy").with_scopes(Scopes::from_space_separated("deploy read"))
}

fn verification(c: &mut Criterion) {
    let plain = keys(MemoryStore::new(), false);
    let key = issue(&plain, 10_000, settings());
    let expiring_key = issue(
        &plain,
        0,
        settings().expires_at(UnixTime::from_secs(4_000_000_000)),
    );
    let peppered = keys(MemoryStore::new(), true);
    let peppered_key = issue(&peppered, 10_000, settings());
    let mac = Hmac::<Sha256>::new_from_slice(PEPPER.as_bytes()).unwrap_or_else(|e| panic!("{e}"));

    let mut g = c.benchmark_group("api key verification (memory store, 10k keys)");
    g.bench_function("auth-apikey check, SHA-256", |b| {
        b.iter(|| black_box(ready(plain.check(black_box(&key))).is_ok()));
    });
    g.bench_function(
        "auth-apikey check, SHA-256, key with expiry (reads clock)",
        |b| {
            b.iter(|| black_box(ready(plain.check(black_box(&expiring_key))).is_ok()));
        },
    );
    g.bench_function("floor: SHA-256 of the key", |b| {
        b.iter(|| black_box(Sha256::digest(black_box(key.as_bytes()))));
    });
    g.bench_function("auth-apikey check, HMAC-SHA-256", |b| {
        b.iter(|| black_box(ready(peppered.check(black_box(&peppered_key))).is_ok()));
    });
    g.bench_function("floor: HMAC-SHA-256 of the key (keyed state reused)", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(peppered_key.as_bytes()));
            black_box(m.finalize().into_bytes())
        });
    });
    g.bench_function(
        "auth-apikey VerifyToken::verify -> Principal, SHA-256",
        |b| {
            b.iter(|| black_box(ready(plain.verify(black_box(&key))).is_ok()));
        },
    );
    let guard = Guard::new(plain.authenticator("api"));
    let (parts, ()) = http::Request::get("/v1/deploys")
        .header("x-api-key", &key)
        .header("accept", "application/json")
        .body(())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_parts();
    g.bench_function("Guard::check, X-API-Key -> Principal, SHA-256", |b| {
        b.iter(|| black_box(ready(guard.check(black_box(&parts))).is_ok()));
    });
    g.finish();
}

fn rejection(c: &mut Criterion) {
    let plain = keys(MemoryStore::new(), false);
    let key = issue(&plain, 10_000, settings());
    let mut bad_checksum = key.clone();
    let last = if bad_checksum.ends_with('0') {
        "1"
    } else {
        "0"
    };
    bad_checksum.replace_range(bad_checksum.len() - 1.., last);
    let unknown = plain
        .format()
        .generate()
        .map(|(_, k)| k.expose_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut random = key["sk_live_".len()..][..30].to_owned();
    let flip = if random.ends_with('a') { "b" } else { "a" };
    random.replace_range(29.., flip);
    let sum = auth_apikey::checksum::checksum(random.as_bytes());
    let wrong_secret = format!("sk_live_{random}{}", String::from_utf8_lossy(&sum));

    let mut g = c.benchmark_group("api key rejection (memory store, 10k keys)");
    for (name, k) in [
        ("valid key (reference)", &key),
        ("bad checksum", &bad_checksum),
        ("unknown id", &unknown),
        ("wrong secret", &wrong_secret),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(ready(plain.check(black_box(k))).is_ok()));
        });
    }
    let format = plain.format().clone();
    g.bench_function(
        "bad checksum, offline check alone (KeyFormat::parse)",
        |b| {
            b.iter(|| black_box(format.parse(black_box(&bad_checksum)).is_ok()));
        },
    );
    g.bench_function("malformed (wrong length)", |b| {
        b.iter(|| black_box(ready(plain.check(black_box(&key[1..]))).is_ok()));
    });
    g.finish();
}

fn comparison(c: &mut Criterion) {
    let a = Sha256::digest(b"a");
    let mut b2 = [0u8; 32];
    b2.copy_from_slice(&a);
    let da = auth_apikey::KeyDigest::from_bytes(b2);
    let db = auth_apikey::KeyDigest::from_bytes(b2);
    let mut g = c.benchmark_group("32-byte digest comparison");
    g.bench_function("auth-apikey KeyDigest::ct_eq (4 x u64)", |b| {
        b.iter(|| black_box(black_box(&da).ct_eq(black_box(&db))));
    });
    g.bench_function("peer: subtle byte by byte", |b| {
        b.iter(|| black_box(bool::from(black_box(&b2[..]).ct_eq(black_box(&b2[..])))));
    });
    g.bench_function("floor: == (not constant time)", |b| {
        b.iter(|| black_box(black_box(&b2) == black_box(&b2)));
    });
    g.finish();
}

fn sqlite(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("auth-rs-bench-apikey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(dir.join("keys.db")).unwrap_or_else(|e| panic!("{e}"));
    let keys = keys(store, false);
    // Each insert is a durable transaction (an fsync): 1k keys keep the setup short.
    let key = issue(&keys, 1_000, settings());
    let id = keys.format().parse(&key).unwrap_or_else(|e| panic!("{e}"));

    let mut g = c.benchmark_group("api key verification (SQLite store, 1k keys)");
    g.bench_function("auth-apikey check, SHA-256", |b| {
        b.iter(|| black_box(ready(keys.check(black_box(&key))).is_ok()));
    });
    g.bench_function("SqliteStore::get (one indexed read)", |b| {
        b.iter(|| black_box(ready(keys.store().get(black_box(&id))).is_ok()));
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, verification, rejection, comparison, sqlite);
criterion_main!(benches);
