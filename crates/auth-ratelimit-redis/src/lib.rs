//! Distributed rate limiting on Redis for auth-rs: auth-core's
//! [`Limiter`](auth_core::Limiter) for a fleet, so the same gates (`auth_core::RateLimit`, the
//! tower layer, `auth serve`) take it as they take auth-ratelimit's in-memory limiter.
//!
//! - One atomic server-side script per decision, one round trip, one key (Redis Cluster
//!   compatible), GCRA on Redis's own clock (`TIME`), so instances need no clock agreement.
//! - Keys expire when fully replenished: Redis holds only keys that are being limited.
//! - A [`FailurePolicy`] chosen explicitly: fail closed (the default: 503 through
//!   `auth_core::Error`), fail open, or fall back to a local limiter; no decision waits longer
//!   than the configured timeout for Redis.
//! - Reconnects on its own (the `redis` crate's connection manager).
//! - TLS with `rediss://` (rustls, the server's certificate and name verified against the
//!   platform's roots or [a private CA](RedisLimiterBuilder::ca_certificate_pem)); plaintext `redis://`
//!   only to loopback unless [explicitly allowed](RedisLimiterBuilder::danger_allow_plaintext).
//!
//! - A batched mode, [`LeasedRedisLimiter`]: one script call leases up to N tokens of a key's
//!   quota to the process, and checks are answered locally until the lease is spent or
//!   expires; its accuracy bound is written on the type.
//!
//! [`RedisReplayCache`] keeps one-time ids (DPoP proofs' `jti`) for a fleet: auth-core's
//! `ReplayCache` with one `SET NX PXAT` per id.
//!
//! The Tokio runtime comes from the `redis` crate's async support; the limiter's own code
//! uses none of it, and the decision logic is the same GCRA as the in-memory limiter.
//!
//! # Example
//!
//! ```no_run
//! use auth_ratelimit::Quota;
//! use auth_ratelimit_redis::{FailurePolicy, RedisLimiter};
//!
//! # async fn run() -> Result<(), auth_ratelimit::Error> {
//! let limiter = RedisLimiter::builder("redis://127.0.0.1:6379", Quota::per_second(10)?)
//!     .prefix("api:")
//!     .failure_policy(FailurePolicy::FailClosed)
//!     .build()?;
//! match limiter.check("api-key-1", 1).await {
//!     Ok(decision) => match limiter.enforce(&decision) {
//!         Ok(_headers) => { /* serve, adding the headers */ }
//!         Err(rejection) => { let _429 = rejection.to_response(); }
//!     },
//!     // Redis unreachable within the timeout: 503.
//!     Err(e) => { let _503 = auth_core::Error::from(e).to_response(); }
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connect;
mod lease;
mod limiter;
mod replay;

pub use auth_ratelimit::Error;
pub use lease::{LeaseConfig, LeasedRedisLimiter};
pub use limiter::{FailurePolicy, RedisLimiter, RedisLimiterBuilder};
pub use replay::{RedisReplayCache, RedisReplayCacheBuilder};

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
