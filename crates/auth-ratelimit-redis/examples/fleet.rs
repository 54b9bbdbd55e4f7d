//! Three limiter instances (think: three servers) share one Redis and admit exactly the
//! global quota between them.
//!
//! Run: `cargo run -p auth-ratelimit-redis --example fleet` (Redis on 127.0.0.1:6379, or set
//! `AUTH_RS_REDIS_URL`).

use auth_ratelimit::Quota;
use auth_ratelimit_redis::RedisLimiter;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), auth_ratelimit::Error> {
    let url =
        std::env::var("AUTH_RS_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("example-fleet:{}:", std::process::id());
    let quota = Quota::per_minute(5)?;
    let fleet: Vec<RedisLimiter> = (0..3)
        .map(|_| {
            RedisLimiter::builder(url.clone(), quota.clone())
                .prefix(prefix.clone())
                .build()
        })
        .collect::<Result<_, _>>()?;
    for round in 0..3 {
        for (i, server) in fleet.iter().enumerate() {
            let d = server.check("api-key-1", 1).await?;
            eprintln!(
                "round {round}, server {i}: allowed={} remaining={} retry_after={:?}",
                d.is_allowed(),
                d.remaining(),
                d.retry_after()
            );
        }
    }
    Ok(())
}
