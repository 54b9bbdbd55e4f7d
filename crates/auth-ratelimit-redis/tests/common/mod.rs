//! What the Redis integration tests share: the Redis to use, a key prefix of each test's own,
//! and a plain connection for looking at what the code under test wrote.
#![allow(clippy::unwrap_used, dead_code)]

/// The shared Redis: `AUTH_RS_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub(crate) fn url() -> String {
    std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test or run uses.
pub(crate) fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("auth-rs-test:{test}:{}:{nanos}:", std::process::id())
}

/// A plain connection to `url`.
pub(crate) async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}
