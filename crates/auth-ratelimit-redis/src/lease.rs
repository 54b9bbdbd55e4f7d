//! [`LeasedRedisLimiter`]: the batched mode. One script call takes a lease of up to N tokens
//! of a key's quota for this process; checks are then answered locally until the lease is
//! spent or expires.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use auth_core::{Clock, Denial, Limiter, OwnQuota, Rejection, SystemClock};
use auth_ratelimit::{Error, LimitDecision, Outcome, PolicyState, Quota};
use http::HeaderMap;

use crate::limiter::{RedisLimiter, RedisLimiterBuilder, state};

/// The lease script: GCRA on the per-request script's key and value, charging up to N tokens.
const LEASE_SCRIPT: &str = include_str!("lease.lua");

/// How a [`LeasedRedisLimiter`] leases tokens: see its documentation for what these settings
/// bound.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LeaseConfig {
    /// The most tokens one lease takes from Redis (N). A lease takes fewer when the quota
    /// has fewer left.
    pub tokens: u32,
    /// How long a lease may be drawn on after it was requested (L); its unspent tokens are
    /// then dropped.
    pub ttl: Duration,
    /// The most keys this process holds a lease for at once; past it, keys without a live
    /// lease are decided one request at a time, as by [`RedisLimiter`]. A full table is swept
    /// of spent and expired leases at most once per [`ttl`](Self::ttl).
    pub max_keys: usize,
    /// The clock that times leases (its [`monotonic`](Clock::monotonic) reading).
    pub clock: Arc<dyn Clock>,
}

impl LeaseConfig {
    /// Leases of up to `tokens` tokens, drawn on for at most one second, for up to 65 536
    /// keys at once, timed by the system's monotonic clock.
    pub fn new(tokens: u32) -> Self {
        Self {
            tokens,
            ttl: Duration::from_secs(1),
            max_keys: 65_536,
            clock: Arc::new(SystemClock),
        }
    }

    /// How long a lease may be drawn on after it was requested (default one second).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most keys with a lease held at once (default 65 536).
    #[must_use]
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The clock that times leases (default [`SystemClock`]; tests pass a
    /// [`ManualClock`](auth_core::ManualClock)).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

/// A key's lease in this process.
#[derive(Debug, Default)]
struct Lease {
    /// Tokens not yet spent.
    left: u32,
    /// Monotonic reading after which the lease is not drawn on.
    expires: Duration,
    /// When the lease was requested (monotonic).
    taken: Duration,
    /// How far the key's TAT was ahead of Redis's clock once the lease was charged (µs).
    ahead: u64,
    /// A request for the next lease is under way.
    fetching: bool,
}

/// A [`RedisLimiter`] in batched mode: one script call reserves up to
/// [`LeaseConfig::tokens`] (N) of a key's quota for this process, and checks are answered
/// from that lease, with no round trip, until it is spent or [`LeaseConfig::ttl`] (L) has
/// passed since it was requested; then the next check takes the next lease. It shares keys
/// and their state with [`RedisLimiter`] (same prefix, same value), so a fleet may mix both.
///
/// # Accuracy
///
/// Tokens are charged in Redis, by GCRA on Redis's clock, before this process spends them, so
/// the fleet never spends a token Redis did not grant. What leasing changes is *when* a
/// granted token is spent: up to L after it was charged. With K instances leasing a key
/// whose quota has burst B and emission interval T, the requests admitted in any window of
/// length W are at most
///
/// > B + W / T + min(K × N, L / T)
///
/// against B + W / T for per-request decisions: the excess is at most the tokens the K
/// instances can hold unspent when the window opens (one lease each, N at most), and at most
/// what the quota replenishes in L. With L at most T (a lease lives no longer than one
/// token's interval), leasing admits at most one request more than per-request GCRA.
///
/// The other way, leased tokens not spent are lost, never returned: when a lease expires with
/// tokens left, or a caller goes away while its lease request is under way after Redis
/// charged it (the tokens taken then reach no lease). In any window of length L, at most
/// K × N tokens are withheld so. A lease takes `min(N, tokens left)`, so a nearly spent quota
/// is split rather than held by one instance.
///
/// While one check of a key waits for that key's next lease, other checks of the key in this
/// process are decided one request at a time (one `EVALSHA` each, as [`RedisLimiter`]), so at
/// most one lease per key and process is outstanding. A caller that goes away mid-request
/// leaves no lock held: the next check requests a lease afresh.
///
/// The `RateLimit` fields of a decision answered from a lease are as of the lease: the
/// remaining count is the lease's tokens left plus what Redis had left when it was charged,
/// the reset time counts down from then; other instances' spending since is not seen.
///
/// Only the limiter's single quota is leased; [`check_under`](Self::check_under) (a caller's
/// own quota) is decided per request.
pub struct LeasedRedisLimiter {
    inner: RedisLimiter,
    script: redis::Script,
    micros: (u64, u64),
    config: LeaseConfig,
    leases: Mutex<HashMap<String, Lease>>,
    /// Monotonic nanoseconds before which a full table is not swept again (so a flood of new
    /// keys costs one sweep per lease time, not one per key).
    next_sweep: AtomicU64,
}

impl RedisLimiterBuilder {
    /// Builds a [`LeasedRedisLimiter`]: this builder's limiter in batched mode, leasing as
    /// `lease` says.
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build); also [`Error::Misconfigured`] for a policy of more than one
    /// quota, a lease of zero tokens, a zero lease time or room for no keys.
    pub fn build_leased(self, lease: LeaseConfig) -> Result<LeasedRedisLimiter, Error> {
        let refuse = |why: &'static str| Err(Error::Misconfigured(why.into()));
        if lease.tokens == 0 {
            return refuse("a lease must take at least one token");
        }
        if lease.ttl.is_zero() {
            return refuse("a lease's time to live must be longer than zero");
        }
        if lease.max_keys == 0 {
            return refuse("a leased limiter must have room for at least one key");
        }
        let inner = self.build()?;
        let &[micros] = &*inner.micros else {
            return refuse("a leased limiter takes a policy of exactly one quota");
        };
        Ok(LeasedRedisLimiter {
            inner,
            script: redis::Script::new(LEASE_SCRIPT),
            micros: (micros.0.max(1), micros.1),
            config: lease,
            leases: Mutex::new(HashMap::new()),
            next_sweep: AtomicU64::new(0),
        })
    }
}

/// What a check found in the lease table.
enum Found {
    /// A token of the lease, spent: the decision.
    Spent(LimitDecision),
    /// No usable lease, and this check is to request the next one.
    Fetch,
    /// No usable lease, and another check is already requesting it (or the table is full).
    PerRequest,
}

impl LeasedRedisLimiter {
    /// The per-request limiter underneath (its connection, prefix and failure policy).
    pub fn per_request(&self) -> &RedisLimiter {
        &self.inner
    }

    /// The lease settings.
    pub fn lease_config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Tokens left in this process's live lease for `key` (0 when there is none or it has
    /// expired).
    pub fn leased_tokens(&self, key: &str) -> u32 {
        let now = self.config.clock.monotonic();
        self.table()
            .get(key)
            .filter(|lease| now < lease.expires)
            .map_or(0, |lease| lease.left)
    }

    /// Decides on one request for `key`: from this process's lease when it has a token left,
    /// else by taking the next lease from Redis.
    ///
    /// # Errors
    ///
    /// As [`RedisLimiter::check`].
    pub async fn check(&self, key: &str) -> Result<LimitDecision, Error> {
        match self.find(key) {
            Found::Spent(decision) => Ok(decision),
            Found::PerRequest => self.inner.check(key, 1).await,
            Found::Fetch => {
                let guard = FetchGuard {
                    limiter: self,
                    key,
                    done: false,
                };
                guard.fetch().await
            }
        }
    }

    /// Decides on one request for `key` under `quota` alone, one round trip per request: as
    /// [`RedisLimiter::check_under`].
    ///
    /// # Errors
    ///
    /// As [`RedisLimiter::check_under`].
    pub async fn check_under(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<LimitDecision, Error> {
        self.inner.check_under(key, quota, cost).await
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, Lease>> {
        // The table holds plain counters, consistent after any panic elsewhere.
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spends a token of `key`'s live lease, or says how to decide instead.
    fn find(&self, key: &str) -> Found {
        let now = self.config.clock.monotonic();
        let mut table = self.table();
        if let Some(lease) = table.get_mut(key) {
            if lease.left > 0 && now < lease.expires {
                lease.left -= 1;
                return Found::Spent(self.local_decision(lease, now));
            }
            if lease.fetching {
                return Found::PerRequest;
            }
            lease.fetching = true;
            return Found::Fetch;
        }
        if table.len() >= self.config.max_keys {
            let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            // Under the table's lock: the order of these reads and writes is the lock's.
            if nanos(now) >= self.next_sweep.load(Ordering::Relaxed) {
                table.retain(|_, lease| lease.fetching || (lease.left > 0 && now < lease.expires));
                let next = nanos(now.saturating_add(self.config.ttl));
                self.next_sweep.store(next, Ordering::Relaxed);
            }
            if table.len() >= self.config.max_keys {
                return Found::PerRequest;
            }
        }
        let lease = Lease {
            fetching: true,
            ..Lease::default()
        };
        table.insert(key.to_owned(), lease);
        Found::Fetch
    }

    /// The decision for a token spent from `lease` at `now`: the lease's tokens left plus
    /// what Redis had left when it was charged, the reset counted down from then.
    fn local_decision(&self, lease: &Lease, now: Duration) -> LimitDecision {
        let (interval, capacity) = self.micros;
        let in_redis = capacity.saturating_sub(lease.ahead) / interval;
        let elapsed = now.saturating_sub(lease.taken);
        let policy = PolicyState::new(
            in_redis.saturating_add(u64::from(lease.left)),
            Duration::from_micros(lease.ahead).saturating_sub(elapsed),
            None,
        );
        LimitDecision::new(Outcome::new(true, self.inner.dry_run), &[policy])
    }
}

/// A check requesting `key`'s next lease. Dropped before it is done (the caller went away
/// mid-request), it clears the key's "request under way" mark, so the next check requests a
/// lease afresh; tokens Redis charged for the abandoned request are lost, never spent.
struct FetchGuard<'a> {
    limiter: &'a LeasedRedisLimiter,
    key: &'a str,
    done: bool,
}

impl FetchGuard<'_> {
    async fn fetch(mut self) -> Result<LimitDecision, Error> {
        let limiter = self.limiter;
        let (interval, capacity) = limiter.micros;
        let requested = limiter.config.clock.monotonic();
        let mut call = limiter
            .script
            .key(format!("{}{}", limiter.inner.prefix, self.key));
        call.arg(interval)
            .arg(capacity.saturating_sub(interval))
            .arg(limiter.config.tokens);
        let mut conn = limiter.inner.conn.clone();
        let reply: Result<(i64, i64), redis::RedisError> = call.invoke_async(&mut conn).await;
        let granted = match reply {
            Ok((taken, ahead)) => match (u32::try_from(taken), u64::try_from(ahead)) {
                (Ok(taken), Ok(ahead)) if taken <= limiter.config.tokens => Ok((taken, ahead)),
                _ => Err(format!("malformed lease reply: {taken} tokens, {ahead} µs").into()),
            },
            Err(e) => Err(auth_core::BoxError::from(e)),
        };
        let mut table = limiter.table();
        let lease = table.entry(self.key.to_owned()).or_default();
        lease.fetching = false;
        self.done = true;
        match granted {
            Ok((0, ahead)) => {
                *lease = Lease::default();
                let refused = state(ahead, 1, false, limiter.micros);
                let outcome = Outcome::new(false, limiter.inner.dry_run);
                Ok(LimitDecision::new(outcome, &[refused]))
            }
            Ok((taken, ahead)) => {
                *lease = Lease {
                    left: taken - 1,
                    expires: requested.saturating_add(limiter.config.ttl),
                    taken: requested,
                    ahead,
                    fetching: false,
                };
                let now = limiter.config.clock.monotonic();
                Ok(limiter.local_decision(lease, now))
            }
            Err(failure) => {
                drop(table);
                limiter.inner.failed(self.key, 1, None, failure)
            }
        }
    }
}

impl Drop for FetchGuard<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Some(lease) = self.limiter.table().get_mut(self.key)
        {
            lease.fetching = false;
        }
    }
}

impl LeasedRedisLimiter {
    /// The response headers for `decision`, or the 429: as [`RedisLimiter::enforce`].
    ///
    /// # Errors
    ///
    /// The 429 rejection.
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere
    pub fn enforce(&self, decision: &LimitDecision) -> Result<HeaderMap, Rejection> {
        self.inner.enforce(decision)
    }
}

/// The batched limiter behind auth-core's seam, as [`RedisLimiter`]'s. A `cost` other than
/// one, and a caller's own quota, are decided per request.
impl Limiter for LeasedRedisLimiter {
    async fn admit(&self, key: &str, cost: u32) -> Result<HeaderMap, Denial> {
        let decision = if cost == 1 {
            self.check(key).await
        } else {
            self.inner.check(key, cost).await
        };
        let decision = decision.map_err(|e| Denial::Failed(e.into()))?;
        self.enforce(&decision).map_err(Denial::from)
    }

    async fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> Result<HeaderMap, Denial> {
        self.inner.admit_under(key, cost, quota).await
    }
}

impl fmt::Debug for LeasedRedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeasedRedisLimiter")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
