//! Rate limiting for APIs: a keyed GCRA limiter in memory, the IETF `RateLimit` headers, and
//! client addresses taken only from trusted proxies.
//!
//! - [`Quota`]: a count per period and a burst, in units nobody can misread
//!   (`Quota::per_second(10)` is ten per second); nonsense is refused at construction.
//! - [`RateLimiter`]: keyed by anything `Hash + Eq + Clone`, up to [`MAX_QUOTAS`] quotas per
//!   key (all must admit; a refusal charges none), a cost per request, dry-run mode. The hot
//!   path reads the clock once (the default [`FastClock`] reads the CPU's counter) and updates
//!   the key's state under one shard's mutex (two atomic operations in all), without
//!   allocating. Memory is bounded: see [Memory](#memory) below.
//! - [`LimitDecision`]: allowed, remaining, reset, retry-after (exact: waiting the advertised delay,
//!   rounded up to whole seconds, is enough).
//! - [`headers`]: `RateLimit-Policy`, `RateLimit` and `Retry-After`, and the 429
//!   [`Rejection`](auth_core::Rejection) via [`RateLimiter::enforce`].
//! - [`client_addr`]: client addresses from `Forwarded` / `X-Forwarded-For`, trusted only
//!   through configured proxies (the rightmost untrusted hop, never the first entry).
//! - auth-core's [`Limiter`](auth_core::Limiter), the seam behind every rate-limit gate
//!   (`auth_core::RateLimit`): implemented by `RateLimiter<String>` here and by
//!   `auth-ratelimit-redis` for state shared across a fleet.
//! - [`client`]: the client side, reading `Retry-After` first, then `RateLimit`.
//!
//! # Memory
//!
//! Each tracked key costs the key plus eight bytes per quota, held inline in a hash table
//! (about 22 bytes for a `u64` key under one quota, table overhead included). Deciding on a
//! key already tracked allocates nothing.
//!
//! A key is evicted only once every quota is fully replenished, when it behaves exactly like
//! a key never seen, so eviction never resets a throttled key. The limiter sweeps on its own:
//! a shard sweeps when a new key arrives while it holds `max(4096, 2 × kept)` keys, `kept`
//! being the keys its previous sweep kept (still replenishing then), and a sweep that leaves
//! its table at most a quarter full gives the memory back.
//! [`RateLimiter::evict_replenished`] sweeps on demand (say from a periodic task, to return
//! memory when traffic stops: sweeps otherwise run only as new keys arrive). Hence the bound:
//! with `s` shards (default four per CPU) and at most `L` keys replenishing at any time (keys
//! seen within the last burst × interval), at most `s × 4096 + 2 × L` keys are tracked, each
//! table at most about 2.3 times its keys in slots (a power of two, 7/8 full at most). For
//! example, 10^6 distinct `u64` keys, one request each, one per microsecond, under 10 per
//! second (`L` about 10^5), on 8 shards: about 170 000 keys and 4.3 MiB held (8.5 MiB at the
//! peak), where a limiter that never evicts holds all 10^6 keys, 34 MiB (`benches/`).
//!
//! At most `max_keys` keys (default [`DEFAULT_MAX_KEYS`]) have their own state; past that,
//! new keys share one overflow state with the same quotas until older keys replenish. A flood
//! of fresh keys is thus throttled as one client and cannot push out (and so reset) the keys
//! being throttled.
//!
//! # Non-goals
//!
//! No I/O and no async runtime: the Redis store is `auth-ratelimit-redis`. No framework
//! middleware: a handler calls [`RateLimiter::check`] and [`RateLimiter::enforce`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use auth_core::{ManualClock, UnixTime};
//! use auth_ratelimit::{Quota, RateLimiter};
//!
//! let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
//! let limiter = RateLimiter::builder(Quota::per_minute(2)?)
//!     .clock(clock.clone())
//!     .build()?;
//!
//! for _ in 0..2 {
//!     let ok = limiter.check(&"api-key-1");
//!     let headers = limiter.enforce(&ok).unwrap();
//!     assert_eq!(headers["ratelimit-policy"], r#""2-per-60s";q=2;w=60"#);
//! }
//! let refused = limiter.check(&"api-key-1");
//! let rejection = limiter.enforce(&refused).unwrap_err();
//! let response = rejection.to_response();
//! assert_eq!(response.status(), 429);
//! assert_eq!(response.headers()["retry-after"], "30");
//! assert_eq!(response.headers()["ratelimit"], r#""2-per-60s";r=0;t=60"#);
//!
//! clock.advance(Duration::from_secs(30)); // exactly the advertised wait
//! assert!(limiter.check(&"api-key-1").is_allowed());
//! # Ok::<(), auth_ratelimit::Error>(())
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod client_addr;
mod clock;
mod decision;
mod error;
mod gcra;
pub mod headers;
mod limit;
mod limiter;
mod per_ip;
mod policy;
mod quota;
#[cfg(feature = "serde")]
mod serde_impls;
mod shards;

pub use clock::FastClock;
pub use decision::{LimitDecision, MAX_QUOTAS, Outcome, PolicyState};
pub use error::Error;
pub use limiter::{DEFAULT_MAX_KEYS, DefaultHasher, RateLimiter, RateLimiterBuilder};
pub use per_ip::PerIp;
pub use policy::Policy;
pub use quota::Quota;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
