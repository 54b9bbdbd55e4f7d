//! Where the gateway's budgets live: in this process, or in Redis (`--redis`) over one
//! multiplexed connection that every budget and route limiter shares, opened before the
//! first request so that no request pays the (TLS) handshake inside its budget.

use std::sync::Arc;
use std::time::Duration;

use auth_core::BoxLimiter;
use auth_ratelimit::{Quota, RateLimiter};
use auth_ratelimit_redis::RedisLimiter;
use serde_json::json;

use super::ServeArgs;
use super::log::Log;
use crate::output::Error;

/// Makes the gateway's limiters.
#[derive(Debug, Clone)]
pub(crate) enum Limiters {
    /// Each limiter in this process.
    Local,
    /// In Redis: every limiter is made from this one and shares its connection.
    Redis(Arc<RedisLimiter>),
}

impl Limiters {
    /// From the arguments: with `--redis`, connects now (the connection opened and the
    /// decision script loaded). A Redis that does not answer is logged (`redis_unavailable`)
    /// and the gateway starts anyway: its budgets fail closed (503) until Redis answers, as
    /// they do when it goes away later, and the connection is retried on each decision.
    pub(crate) async fn start(args: &ServeArgs, quota: &Quota) -> Result<Self, Error> {
        let Some(url) = &args.redis else {
            return Ok(Self::Local);
        };
        let mut builder = RedisLimiter::builder(url.clone(), quota.clone())
            .prefix("auth-serve:")
            .timeout(Duration::from_millis(args.redis_timeout_ms));
        if let Some(ca) = &args.redis_ca {
            builder = builder.ca_certificate_pem(crate::output::read_file(ca)?);
        }
        let base = builder.build().map_err(Error::config)?;
        // The error names the server with any password redacted.
        match base.connect().await {
            Ok(()) => Log.event("redis_connected", &[]),
            Err(e) => Log.event("redis_unavailable", &[("error", json!(e.to_string()))]),
        }
        Ok(Self::Redis(Arc::new(base)))
    }

    /// A limiter of `quota` for keys under `prefix` (Redis's keys; a local limiter's are its
    /// own).
    pub(crate) fn limiter(&self, quota: &Quota, prefix: &str) -> Result<BoxLimiter, Error> {
        Ok(match self {
            Self::Local => BoxLimiter::new(
                RateLimiter::builder(quota.clone())
                    .build::<String>()
                    .map_err(Error::config)?,
            ),
            Self::Redis(base) => BoxLimiter::new(
                base.with_policy(quota.clone(), prefix)
                    .map_err(Error::config)?,
            ),
        })
    }
}
