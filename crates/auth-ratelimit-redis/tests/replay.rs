//! `RedisReplayCache` against a real Redis (`AUTH_RS_REDIS_URL`, default
//! `redis://127.0.0.1:6379`, started by `.ci/services`): ids under a prefix of the test's own.
#![allow(clippy::unwrap_used)]

mod common;
use common::{prefix, redis_conn, url};

use std::net::TcpListener;
use std::time::Duration;

/// DPoP proofs' ids on Redis: the first use passes, a replay to another instance (another
/// cache on the same Redis) is refused, and the key expires when the id would anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_cache_refuses_a_replay_across_instances() {
    use auth_core::{ReplayCache as _, UnixTime};
    use auth_ratelimit_redis::RedisReplayCache;
    let prefix = prefix("replay");
    let a = RedisReplayCache::builder(url())
        .prefix(&prefix)
        .build()
        .unwrap();
    let b = RedisReplayCache::builder(url())
        .prefix(&prefix)
        .build()
        .unwrap();
    let now = UnixTime::from_system_time(std::time::SystemTime::now());
    let expires = now.saturating_add(Duration::from_secs(60));
    let (id, other) = ([1u8; 32], [2u8; 32]);
    assert!(a.first_use(id, now, expires).await.unwrap());
    assert!(
        !b.first_use(id, now, expires).await.unwrap(),
        "replayed to b"
    );
    assert!(
        !a.first_use(id, now, expires).await.unwrap(),
        "replayed to a"
    );
    assert!(b.first_use(other, now, expires).await.unwrap());
    // The key carries the id's expiry.
    let mut conn = redis_conn(&url()).await;
    let key = format!("{prefix}{}", "01".repeat(32));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "{ttl}");
}

/// Redis not answering (a listener that never accepts, kept open so no one else takes its
/// port): no decision, an error (503), never "first use".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_cache_without_redis_decides_nothing() {
    use auth_core::{ReplayCache as _, UnixTime};
    use auth_ratelimit_redis::RedisReplayCache;
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let cache = RedisReplayCache::builder(format!("redis://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let now = UnixTime::from_secs(1_800_000_000);
    let e = cache.first_use([3; 32], now, now).await.unwrap_err();
    assert_eq!(e.status(), 503);
}
