//! auth-apikey-postgres: cached verification beside auth-apikey's in-memory store (the goal
//! is at most 1.1 times), and the uncached lookup on loopback beside the raw prepared query
//! it is built on.
//!
//! Needs the PostgreSQL from `.ci/services` (`AUTH_RS_DATABASE_URL`; with TLS for the
//! `sslmode=require` row, its test CA from `.ci/services`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_apikey::{ApiKeys, KeyFormat, KeyId, KeyStore, MemoryStore, NewKey};
use auth_apikey_postgres::PgStore;
use auth_core::{ManualClock, Scopes, UnixTime};
use benches::ready;
use criterion::{Criterion, criterion_group, criterion_main};

// Only the CA file is read here.
#[allow(dead_code)]
#[path = "../../.ci/tls_files.rs"]
mod tls_files;

fn url() -> String {
    std::env::var("AUTH_RS_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs".to_owned())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn pg_store(
    rt: &tokio::runtime::Runtime,
    schema: &str,
    max_stale: Duration,
    clock: &ManualClock,
) -> PgStore {
    pg_store_at(rt, &url(), schema, max_stale, clock)
}

/// The store at `store_url` (the schema is dropped first through the plain `url()`). A
/// `sslmode=require` URL trusts the test CA of `.ci/services`.
fn pg_store_at(
    rt: &tokio::runtime::Runtime,
    store_url: &str,
    schema: &str,
    max_stale: Duration,
    clock: &ManualClock,
) -> PgStore {
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL from .ci/services: {e}"));
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut builder = PgStore::builder(store_url).unwrap_or_else(|e| panic!("{e}"));
        if store_url.contains("sslmode=require") {
            builder = builder.ca_certificate_pem(tls_files::tls_file("ca.pem"));
        }
        builder
            .schema(schema)
            .max_stale(max_stale)
            .clock(Arc::new(clock.clone()))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn keys<S: KeyStore>(store: S, clock: &ManualClock) -> ApiKeys<S> {
    ApiKeys::builder(KeyFormat::new("sk_live").unwrap_or_else(|e| panic!("{e}")))
        .clock(Arc::new(clock.clone()))
        .build(store)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Issues `extra` other keys and one key to verify; returns the key.
fn issue<S: KeyStore>(rt: &tokio::runtime::Runtime, keys: &ApiKeys<S>, extra: usize) -> String {
    rt.block_on(async {
        for i in 0..extra {
            let _other = keys
                .create(NewKey::new(format!("tenant-{i}"), "other"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let settings = NewKey::new("acme-ci", "deploy")
            .with_scopes(Scopes::from_space_separated("deploy read"));
        let issued = keys
            .create(settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        issued.expose_key().to_owned()
    })
}

/// The ratio that survives a loaded machine: batches of the two alternate, so a disturbance
/// hits both, and the least disturbed batch of each is kept. Printed beside criterion's run.
fn interleaved_minimum(
    memory: &ApiKeys<MemoryStore>,
    memory_key: &str,
    pg: &ApiKeys<PgStore>,
    pg_key: &str,
) {
    const BATCH: u32 = 2_000;
    let batch = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed() / BATCH
    };
    let (mut m, mut p) = (Duration::MAX, Duration::MAX);
    for _ in 0..400 {
        m = m.min(batch(&|| {
            black_box(ready(memory.check(black_box(memory_key))).is_ok());
        }));
        p = p.min(batch(&|| {
            black_box(ready(pg.check(black_box(pg_key))).is_ok());
        }));
    }
    eprintln!(
        "cached verification, minimum of 400 interleaved batches: MemoryStore {m:?}, \
         PgStore {p:?}, ratio {:.3}",
        p.as_secs_f64() / m.as_secs_f64()
    );
}

fn cached(c: &mut Criterion) {
    let rt = runtime();
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    let memory = keys(MemoryStore::new(), &clock);
    let memory_key = issue(&rt, &memory, 1_000);
    let pg = keys(
        pg_store(&rt, "bench_cached", Duration::from_secs(3600), &clock),
        &clock,
    );
    let pg_key = issue(&rt, &pg, 1_000);
    // Warm the cache with every key, as a busy instance would have it.
    assert!(rt.block_on(pg.check(&pg_key)).is_ok_and(|s| s.is_valid()));

    interleaved_minimum(&memory, &memory_key, &pg, &pg_key);

    let mut g = c.benchmark_group("api key verification, cached");
    g.bench_function("auth-apikey MemoryStore", |b| {
        b.iter(|| black_box(ready(memory.check(black_box(&memory_key))).is_ok()));
    });
    g.bench_function("auth-apikey-postgres PgStore (cache hit)", |b| {
        b.iter(|| black_box(ready(pg.check(black_box(&pg_key))).is_ok()));
    });
    g.finish();
}

/// What TLS adds to a cache miss, as the ratio that survives a loaded machine: batches of
/// plaintext and TLS lookups alternate, and the least disturbed batch of each is kept.
fn tls_cost(
    rt: &tokio::runtime::Runtime,
    clock: &ManualClock,
    plain: (&ApiKeys<PgStore>, &KeyId),
    tls: (&ApiKeys<PgStore>, &KeyId),
) {
    const BATCH: u32 = 100;
    let batch = |(keys, id): (&ApiKeys<PgStore>, &KeyId)| {
        let start = Instant::now();
        for _ in 0..BATCH {
            clock.advance(Duration::from_millis(1));
            black_box(rt.block_on(keys.store().get(black_box(id))).is_ok());
        }
        start.elapsed() / BATCH
    };
    let (mut p, mut t) = (Duration::MAX, Duration::MAX);
    for _ in 0..60 {
        p = p.min(batch(plain));
        t = t.min(batch(tls));
    }
    eprintln!(
        "cache miss, minimum of 60 interleaved batches: plaintext {p:?}, TLS {t:?}, ratio {:.3}",
        t.as_secs_f64() / p.as_secs_f64()
    );
}

fn uncached(c: &mut Criterion) {
    let rt = runtime();
    let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
    // Every lookup misses: the clock moves past max_stale before each one.
    let store = pg_store(&rt, "bench_uncached", Duration::from_nanos(1), &clock);
    let pg = keys(store, &clock);
    let key = issue(&rt, &pg, 1_000);
    let id = pg.format().parse(&key).unwrap_or_else(|_| panic!("key"));
    let raw = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(conn);
        let stmt = client
            .prepare("SELECT id, digest, prefix, owner, name, scopes, created_ns, expires_ns, revoked_ns, remaining_uses, quota_requests, quota_period_ns, quota_burst, replaced_by FROM bench_uncached.api_keys WHERE id = $1")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (client, stmt)
    });

    // The same lookups over TLS (rustls, TLS 1.3 on loopback), same rows in another schema.
    let plain = url();
    let joint = if plain.contains('?') { '&' } else { '?' };
    let tls_url = format!("{plain}{joint}sslmode=require");
    let tls_store = pg_store_at(
        &rt,
        &tls_url,
        "bench_uncached_tls",
        Duration::from_nanos(1),
        &clock,
    );
    let tls = keys(tls_store, &clock);
    let tls_key = issue(&rt, &tls, 1_000);
    let tls_id = tls
        .format()
        .parse(&tls_key)
        .unwrap_or_else(|_| panic!("key"));

    tls_cost(&rt, &clock, (&pg, &id), (&tls, &tls_id));

    let mut g = c.benchmark_group("api key lookup, uncached (PostgreSQL on loopback)");
    g.bench_function("auth-apikey-postgres PgStore::get (cache miss)", |b| {
        b.iter(|| {
            clock.advance(Duration::from_millis(1));
            black_box(rt.block_on(pg.store().get(black_box(&id))).is_ok())
        });
    });
    g.bench_function("auth-apikey-postgres PgStore::get (cache miss, TLS)", |b| {
        b.iter(|| {
            clock.advance(Duration::from_millis(1));
            black_box(rt.block_on(tls.store().get(black_box(&tls_id))).is_ok())
        });
    });
    g.bench_function("auth-apikey-postgres check (cache miss)", |b| {
        b.iter(|| {
            clock.advance(Duration::from_millis(1));
            black_box(rt.block_on(pg.check(black_box(&key))).is_ok())
        });
    });
    g.bench_function("floor: raw prepared tokio-postgres query", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(raw.0.query_opt(&raw.1, &[&id.as_str()]))
                    .is_ok(),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, cached, uncached);
criterion_main!(benches);
