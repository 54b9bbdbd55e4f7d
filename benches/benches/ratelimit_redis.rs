//! auth-ratelimit-redis beside a plain fixed-window script on the same Redis.
//!
//! Rows: one auth-ratelimit-redis decision (GCRA script, Redis `TIME`), the same limiter in
//! batched mode (`LeasedRedisLimiter`, leases of [`LEASE`] tokens answered locally), and the
//! plain `INCR` + `EXPIRE` fixed-window script on the same server and connection type, all by
//! `EVALSHA` on a multiplexed connection. Each group runs once with one decision in flight
//! and once with [`IN_FLIGHT`] decisions in flight on the one connection (tasks on one
//! current-thread runtime), where the server's time per call shows. Skipped (with a note)
//! when Redis is not reachable. With `AUTH_RS_REDIS_INTERLEAVED` set, prints instead the
//! minimum and median per call of each path over interleaved batches (less sensitive to the
//! machine's load than separate criterion runs).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_ratelimit::Quota;
use auth_ratelimit_redis::{LeaseConfig, LeasedRedisLimiter, RedisLimiter};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Distinct keys cycled through by every row.
const KEYS: u64 = 1024;

/// Decisions in flight at once in the loaded groups.
const IN_FLIGHT: u64 = 64;

/// Tokens per lease in the batched rows.
const LEASE: u32 = 64;

#[allow(clippy::expect_used)]
fn quota(rate: u32) -> Quota {
    Quota::per_second(rate).expect("valid quota")
}

const FIXED_WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// What every row needs: the runtime, the limiters and a plain connection for the peer.
struct Setup {
    rt: Runtime,
    gcra: Arc<RedisLimiter>,
    leased: Arc<LeasedRedisLimiter>,
    conn: redis::aio::ConnectionManager,
    keys: Arc<[String]>,
}

fn setup() -> Option<Setup> {
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let made = rt.block_on(async {
        let gcra = RedisLimiter::builder(url.clone(), quota(1_000_000))
            .prefix("bench:gcra:")
            .build()
            .ok()?;
        let _probe = gcra.check("probe", 1).await.ok()?;
        let leased = RedisLimiter::builder(url.clone(), quota(1_000_000))
            .prefix("bench:lease:")
            .build_leased(LeaseConfig::new(LEASE))
            .ok()?;
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
        Some((gcra, leased, conn))
    });
    let Some((gcra, leased, conn)) = made else {
        eprintln!("redis at {url} not reachable: Redis rows skipped");
        return None;
    };
    Some(Setup {
        rt,
        gcra: Arc::new(gcra),
        leased: Arc::new(leased),
        conn,
        keys: (0..KEYS).map(|k| format!("key-{k}")).collect(),
    })
}

fn key_index(i: u64) -> usize {
    usize::try_from(i % KEYS).unwrap_or(0)
}

/// Runs `iters` calls of `one` (given the call's number), `tasks` at a time: `tasks` tasks on
/// the current-thread runtime, each making its share of the calls one after another.
fn timed<F, Fut>(rt: &Runtime, iters: u64, tasks: u64, one: F) -> Duration
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let start = Instant::now();
        let mut handles = Vec::new();
        for t in 0..tasks {
            let one = one.clone();
            let share = iters / tasks + u64::from(t < iters % tasks);
            handles.push(tokio::spawn(async move {
                for i in 0..share {
                    one(i * tasks + t).await;
                }
            }));
        }
        for h in handles {
            let _ = h.await;
        }
        start.elapsed()
    })
}

fn rows(c: &mut Criterion, s: &Setup, group: &str, tasks: u64) {
    let mut g = c.benchmark_group(group);
    g.bench_function("auth-ratelimit-redis GCRA script", |b| {
        b.iter_custom(|iters| {
            let (limiter, keys) = (Arc::clone(&s.gcra), Arc::clone(&s.keys));
            timed(&s.rt, iters, tasks, move |i| {
                let (limiter, keys) = (Arc::clone(&limiter), Arc::clone(&keys));
                async move {
                    let d = limiter.check(&keys[key_index(i)], 1).await;
                    black_box(d.map(|d| d.is_allowed()).ok());
                }
            })
        });
    });
    g.bench_function(format!("auth-ratelimit-redis leases of {LEASE}"), |b| {
        b.iter_custom(|iters| {
            let (limiter, keys) = (Arc::clone(&s.leased), Arc::clone(&s.keys));
            timed(&s.rt, iters, tasks, move |i| {
                let (limiter, keys) = (Arc::clone(&limiter), Arc::clone(&keys));
                async move {
                    let d = limiter.check(&keys[key_index(i)]).await;
                    black_box(d.map(|d| d.is_allowed()).ok());
                }
            })
        });
    });
    let script = Arc::new(redis::Script::new(FIXED_WINDOW));
    g.bench_function("peer: INCR + EXPIRE fixed window", |b| {
        b.iter_custom(|iters| {
            let (conn, keys, script) = (s.conn.clone(), Arc::clone(&s.keys), Arc::clone(&script));
            timed(&s.rt, iters, tasks, move |i| {
                let (mut conn, keys, script) =
                    (conn.clone(), Arc::clone(&keys), Arc::clone(&script));
                async move {
                    // The key built per call, as the limiter builds its prefixed key.
                    let n: Result<i64, _> = script
                        .key(format!("bench:fixed:{}", keys[key_index(i)]))
                        .arg(1)
                        .invoke_async(&mut conn)
                        .await;
                    black_box(n.ok());
                }
            })
        });
    });
    g.finish();
}

/// One decision of a path, given the call's number.
type Op = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Rounds and calls per batch of the interleaved measurement.
const ROUNDS: usize = 40;
const BATCH: u64 = 512;

/// The minimum and median per-call time of each path over [`ROUNDS`] rounds, the paths
/// taking turns within each round (so the machine's load falls on all of them alike), each
/// sequentially and with [`IN_FLIGHT`] in flight; printed as a table with ratios to the peer.
fn interleaved(s: &Setup) {
    let script = Arc::new(redis::Script::new(FIXED_WINDOW));
    let gcra_script = Arc::new(redis::Script::new(include_str!(
        "../../crates/auth-ratelimit-redis/src/script.lua"
    )));
    let (gcra, leased, keys, conn) = (&s.gcra, &s.leased, &s.keys, &s.conn);
    let ops: Vec<(&str, Op)> = vec![
        ("GCRA, RedisLimiter::check", {
            let (limiter, keys) = (Arc::clone(gcra), Arc::clone(keys));
            Arc::new(move |i| {
                let (limiter, keys) = (Arc::clone(&limiter), Arc::clone(&keys));
                Box::pin(async move {
                    black_box(limiter.check(&keys[key_index(i)], 1).await.ok());
                })
            })
        }),
        ("GCRA script alone, raw EVALSHA", {
            let (conn, keys, script) = (conn.clone(), Arc::clone(keys), gcra_script);
            Arc::new(move |i| {
                let (mut conn, keys, script) =
                    (conn.clone(), Arc::clone(&keys), Arc::clone(&script));
                Box::pin(async move {
                    let n: Result<i64, _> = script
                        .key(format!("bench:raw:{}", keys[key_index(i)]))
                        .arg(1)
                        .arg(999_999)
                        .invoke_async(&mut conn)
                        .await;
                    black_box(n.ok());
                })
            })
        }),
        ("LeasedRedisLimiter::check, leases of 64", {
            let (limiter, keys) = (Arc::clone(leased), Arc::clone(keys));
            Arc::new(move |i| {
                let (limiter, keys) = (Arc::clone(&limiter), Arc::clone(&keys));
                Box::pin(async move {
                    black_box(limiter.check(&keys[key_index(i)]).await.ok());
                })
            })
        }),
        ("peer: INCR + EXPIRE fixed window", {
            let (conn, keys, script) = (conn.clone(), Arc::clone(keys), script);
            Arc::new(move |i| {
                let (mut conn, keys, script) =
                    (conn.clone(), Arc::clone(&keys), Arc::clone(&script));
                Box::pin(async move {
                    let n: Result<i64, _> = script
                        .key(format!("bench:fixed:{}", keys[key_index(i)]))
                        .arg(1)
                        .invoke_async(&mut conn)
                        .await;
                    black_box(n.ok());
                })
            })
        }),
    ];
    let loads = [1, IN_FLIGHT];
    let mut per_call = vec![vec![Vec::new(); loads.len()]; ops.len()];
    for round in 0..ROUNDS {
        for k in 0..ops.len() {
            let k = (k + round) % ops.len();
            for (l, &tasks) in loads.iter().enumerate() {
                let op = Arc::clone(&ops[k].1);
                let took = timed(&s.rt, BATCH, tasks, move |i| op(i));
                per_call[k][l].push(took.as_nanos() as f64 / BATCH as f64);
            }
        }
    }
    let stat = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    let mut table: Vec<Vec<(f64, f64)>> = per_call
        .iter_mut()
        .map(|loads| loads.iter_mut().map(stat).collect())
        .collect();
    let peer = table.pop().unwrap_or_default();
    eprintln!("path | in flight | min ns/call | median ns/call | vs peer (min) | vs peer (median)");
    for ((name, _), row) in ops.iter().zip(table.iter().chain([&peer])) {
        for (l, &tasks) in loads.iter().enumerate() {
            let ((min, median), (pmin, pmedian)) = (row[l], peer[l]);
            eprintln!(
                "{name} | {tasks} | {min:.0} | {median:.0} | {:.2} | {:.2}",
                min / pmin,
                median / pmedian
            );
        }
    }
}

fn redis_decisions(c: &mut Criterion) {
    let Some(s) = setup() else { return };
    if std::env::var_os("AUTH_RS_REDIS_INTERLEAVED").is_some() {
        interleaved(&s);
        return;
    }
    rows(c, &s, "redis decision, sequential", 1);
    rows(
        c,
        &s,
        &format!("redis decision, {IN_FLIGHT} in flight"),
        IN_FLIGHT,
    );
}

criterion_group!(benches, redis_decisions);
criterion_main!(benches);
