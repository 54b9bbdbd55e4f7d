//! A caller's own quota on the in-memory limiter: [`RateLimiter::check_under`] decides a key
//! under one quota given with the request, in place of the limiter's quotas, on the same
//! bounded state (`max_keys`, eviction, the overflow cell) as every other key.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use auth_core::{Clock, Rejection};
use http::HeaderMap;

use crate::headers::Headers;
use crate::{Error, LimitDecision, Quota, RateLimiter};

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher + Clone> RateLimiter<K, C, S> {
    /// Decides on a request of `cost` units for `key` under `quota` alone, in place of the
    /// limiter's quotas: for a caller with a quota of its own (an API key's, see
    /// [`auth_core::OwnQuota`]). Dry-run mode applies as to any key.
    ///
    /// The key's state lives with every other key's: it counts towards `max_keys`, is evicted
    /// once replenished, and shares the overflow cell when the limiter is full. Keep such keys
    /// apart from the keys [`check`](Self::check) decides (`auth_core::RateLimit` appends `#`
    /// and the quota's id). A key whose quota changes keeps its state: the time its past
    /// requests booked counts under the new quota, so a change grants no fresh burst.
    ///
    /// ```
    /// use auth_core::{ManualClock, UnixTime};
    /// use auth_ratelimit::{Quota, RateLimiter};
    ///
    /// let limiter = RateLimiter::builder(Quota::per_minute(60)?)
    ///     .clock(ManualClock::new(UnixTime::from_secs(1_000)))
    ///     .build::<String>()?;
    /// let own = Quota::per_minute(2)?.named("key")?;
    /// assert!(limiter.check_under("alice#AbCd1234", &own, 1)?.is_allowed());
    /// assert!(limiter.check_under("alice#AbCd1234", &own, 1)?.is_allowed());
    /// let third = limiter.check_under("alice#AbCd1234", &own, 1)?;
    /// let refused = limiter.enforce_under(&own, &third).unwrap_err().to_response();
    /// assert_eq!(refused.headers()["ratelimit"], r#""key";r=0;t=60"#);
    /// assert!(limiter.check("alice").is_allowed()); // the default budget is another key's
    /// # Ok::<(), auth_ratelimit::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::CostExceedsBurst`] when `cost` exceeds the quota's burst.
    pub fn check_under<Q>(&self, key: &Q, quota: &Quota, cost: u32) -> Result<LimitDecision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if cost > quota.burst() {
            return Err(Error::CostExceedsBurst {
                cost,
                burst: quota.burst(),
            });
        }
        let quotas = std::slice::from_ref(quota);
        Ok(self.decide(quotas, key, cost, self.now_nanos()))
    }

    /// [`enforce`](Self::enforce) for a decision of [`check_under`](Self::check_under): the
    /// fields name `quota` alone (with the legacy ones if the limiter sends them).
    ///
    /// # Errors
    ///
    /// The 429 rejection when the decision is over the quota and not a dry run.
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere; 429 is cold
    pub fn enforce_under(
        &self,
        quota: &Quota,
        decision: &LimitDecision,
    ) -> Result<HeaderMap, Rejection> {
        let quotas = std::slice::from_ref(quota);
        Headers::new(quotas, self.headers.is_legacy()).enforce(quotas, decision)
    }
}
