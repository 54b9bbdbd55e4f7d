//! [`RedisReplayCache`]: auth-core's [`ReplayCache`] on Redis, so that a fleet of servers
//! refuses a DPoP proof (or any one-time id) replayed to another member.
//!
//! One `SET key 1 NX PXAT expiry` per id: set means first use, not set means seen. Redis
//! forgets the key when the id can no longer be accepted anyway. Run Redis with a
//! `maxmemory-policy` that never evicts these keys early (`noeviction`, or a `volatile-*`
//! policy with room to spare): an evicted id could be replayed.

use std::fmt::Write as _;
use std::time::Duration;

use auth_core::{Error, ReplayCache, Transport, UnixTime};
use redis::aio::ConnectionManager;

use crate::connect;

/// Proof ids on Redis, under a key prefix.
#[derive(Clone)]
pub struct RedisReplayCache {
    conn: ConnectionManager,
    prefix: String,
    server: String,
}

impl std::fmt::Debug for RedisReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplayCache")
            .field("server", &self.server)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisReplayCache`]: the URL, TLS trust and transport policy as for
/// [`RedisLimiter`](crate::RedisLimiter).
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisReplayCacheBuilder {
    url: String,
    ca_pem: Option<Vec<u8>>,
    transport: Transport,
    prefix: String,
    timeout: Duration,
}

impl RedisReplayCache {
    /// A cache on the Redis at `url`, keys under `auth-replay:`, a 1 s timeout.
    pub fn builder(url: impl Into<String>) -> RedisReplayCacheBuilder {
        RedisReplayCacheBuilder {
            url: url.into(),
            ca_pem: None,
            transport: Transport::default(),
            prefix: "auth-replay:".to_owned(),
            timeout: Duration::from_secs(1),
        }
    }
}

impl RedisReplayCacheBuilder {
    /// Trusts these CA certificates (PEM) for `rediss://` instead of the platform's roots.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Allows plaintext `redis://` to hosts that are not loopback.
    pub fn danger_allow_plaintext(mut self) -> Self {
        self.transport = Transport::danger_allow_plaintext();
        self
    }

    /// Puts every key under `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Gives up on Redis after `timeout` (no decision: 503).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects lazily (the first use opens the connection).
    ///
    /// # Errors
    ///
    /// As [`RedisLimiterBuilder::build`](crate::RedisLimiterBuilder::build).
    pub fn build(self) -> Result<RedisReplayCache, crate::Error> {
        if self.timeout.is_zero() {
            return Err(crate::Error::Misconfigured(
                "timeout must be longer than zero".into(),
            ));
        }
        let (conn, server) = connect::manager(
            &self.url,
            self.ca_pem.as_deref(),
            self.transport,
            self.timeout,
            "RedisReplayCache::build",
        )?;
        Ok(RedisReplayCache {
            conn,
            prefix: self.prefix,
            server,
        })
    }
}

impl ReplayCache for RedisReplayCache {
    async fn first_use(
        &self,
        id: [u8; 32],
        _issued_at: UnixTime,
        expires: UnixTime,
    ) -> Result<bool, Error> {
        let mut key = String::with_capacity(self.prefix.len() + 64);
        key.push_str(&self.prefix);
        for b in id {
            let _ = write!(key, "{b:02x}");
        }
        let at_ms = expires.as_duration().as_millis().max(1);
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("NX")
            .arg("PXAT")
            .arg(u64::try_from(at_ms).unwrap_or(u64::MAX))
            .query_async(&mut conn)
            .await
            .map_err(|e| Error::unavailable(format!("replay cache {}", self.server), e))?;
        Ok(set.is_some())
    }
}
