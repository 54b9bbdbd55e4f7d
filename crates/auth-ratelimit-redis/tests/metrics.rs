//! With the `metrics` feature, a decision Redis could not give is counted
//! (`auth_ratelimit_store_errors_total{store="redis"}`), whatever the failure policy answers;
//! a decision it gave is not. Read by a local debugging recorder.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use auth_ratelimit::Quota;
use auth_ratelimit_redis::{FailurePolicy, RedisLimiter};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// The count of store errors after checking `times` keys on a limiter of `url`.
fn errors_after(url: &str, times: usize) -> u64 {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let limiter = RedisLimiter::builder(url.to_owned(), Quota::per_hour(100).unwrap())
                .prefix(format!("auth-rs-test:metrics:{}:", std::process::id()))
                .timeout(Duration::from_millis(200))
                .failure_policy(FailurePolicy::FailOpen)
                .build()
                .unwrap();
            for i in 0..times {
                // Fail open: the answer is Allowed either way; only the counter tells.
                assert!(limiter.check(&format!("k{i}"), 1).await.is_ok());
            }
        });
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) if key.key().name() == "auth_ratelimit_store_errors_total" => {
                Some(n)
            }
            _ => None,
        })
        .unwrap_or(0)
}

#[test]
fn a_decision_redis_could_not_give_is_counted() {
    // Nothing listens on port 1: every decision fails and is counted.
    assert_eq!(errors_after("redis://127.0.0.1:1", 3), 3);
    // The positive twin: the Redis of .ci/services answers, and nothing is counted.
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    assert_eq!(errors_after(&url, 3), 0);
}
