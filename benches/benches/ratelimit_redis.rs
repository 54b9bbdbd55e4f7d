//! auth-ratelimit-redis beside a plain fixed-window script on the same Redis.
//!
//! Rows: one auth-ratelimit-redis decision (GCRA script, Redis `TIME`) beside the plain
//! `INCR` + `EXPIRE` fixed-window script on the same server and connection type. Skipped
//! (with a note) when Redis is not reachable.

use std::hint::black_box;
use std::time::{Duration, Instant};

use auth_ratelimit::Quota;
use auth_ratelimit_redis::RedisLimiter;
use criterion::{Criterion, criterion_group, criterion_main};

/// Distinct keys cycled through by every row.
const KEYS: u64 = 1024;

#[allow(clippy::expect_used)]
fn quota(rate: u32) -> Quota {
    Quota::per_second(rate).expect("valid quota")
}

const FIXED_WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

fn redis_decisions(c: &mut Criterion) {
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let setup = rt.block_on(async {
        let limiter = RedisLimiter::builder(url.clone(), quota(1_000_000))
            .prefix("bench:gcra:")
            .build()
            .ok()?;
        let _probe = limiter.check("probe", 1).await.ok()?;
        let client = redis::Client::open(url.as_str()).ok()?;
        // The same connection settings as RedisLimiter's (timeouts of half its 250 ms each),
        // so that only the script differs.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(125)))
            .set_response_timeout(Some(Duration::from_millis(125)))
            .set_number_of_retries(0);
        let conn = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .ok()?;
        Some((limiter, conn))
    });
    let Some((limiter, conn)) = setup else {
        eprintln!("redis at {url} not reachable: Redis rows skipped");
        return;
    };
    let keys: Vec<String> = (0..KEYS).map(|k| format!("key-{k}")).collect();
    let script = redis::Script::new(FIXED_WINDOW);

    let mut g = c.benchmark_group("redis decision, sequential");
    g.bench_function("auth-ratelimit-redis GCRA script", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let key = &keys[usize::try_from(i % KEYS).unwrap_or(0)];
                    black_box(limiter.check(key, 1).await.map(|d| d.is_allowed()).ok());
                }
                start.elapsed()
            })
        });
    });
    g.bench_function("peer: INCR + EXPIRE fixed window", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut conn = conn.clone();
                let start = Instant::now();
                for i in 0..iters {
                    let key = &keys[usize::try_from(i % KEYS).unwrap_or(0)];
                    let n: Result<i64, _> = script
                        .key(format!("bench:fixed:{key}"))
                        .arg(1)
                        .invoke_async(&mut conn)
                        .await;
                    black_box(n.ok());
                }
                start.elapsed()
            })
        });
    });
    g.finish();
}

criterion_group!(benches, redis_decisions);
criterion_main!(benches);
