//! [`RateLimiter`]: the keyed, in-memory GCRA limiter, and its [`RateLimiterBuilder`].

mod under;

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use auth_core::{Clock, UnixTime};
use http::HeaderMap;

use crate::decision::{MAX_QUOTAS, Outcome, Raw};
use crate::gcra::{self, Step};
use crate::headers::Headers;
use crate::shards::Shards;
use crate::{Error, FastClock, LimitDecision, Policy, Quota};

/// The default hasher: foldhash, seeded per process (fast, and minimally resistant to keys
/// chosen to collide).
pub type DefaultHasher = foldhash::fast::RandomState;

/// How many keys a limiter tracks by default (about 40 MiB with `u64` keys at worst).
pub const DEFAULT_MAX_KEYS: usize = 1 << 20;

/// A keyed GCRA rate limiter held in memory.
///
/// Each key (a principal, an API key id, a client address: any `Hash + Eq + Clone`) gets its
/// own state for every quota; a request is admitted only when every quota admits it, and a
/// refused request is charged to none. Time comes from the injected [`Clock`], read once per
/// decision.
///
/// ```
/// use auth_ratelimit::{Policy, Quota, RateLimiter};
///
/// let policy = Policy::new(Quota::per_second(10)?.with_burst(2)?).quota(Quota::per_hour(1000)?);
/// let limiter = RateLimiter::builder(policy).build()?;
/// assert!(limiter.check(&"alice").is_allowed());
/// assert!(limiter.check(&"alice").is_allowed());
/// let third = limiter.check(&"alice");
/// assert!(!third.is_allowed());
/// assert!(third.retry_after().unwrap() <= std::time::Duration::from_millis(100));
/// assert!(limiter.check(&"bob").is_allowed()); // keys are independent
/// # Ok::<(), auth_ratelimit::Error>(())
/// ```
pub struct RateLimiter<K, C = FastClock, S = DefaultHasher> {
    quotas: Box<[Quota]>,
    clock: C,
    state: State<K, S>,
    dry_run: bool,
    headers: Headers,
}

/// The keyed state, by the number of quotas.
enum State<K, S> {
    One(Shards<K, 1, S>),
    Many(Shards<K, MAX_QUOTAS, S>),
}

impl RateLimiter<()> {
    /// Starts a limiter enforcing `policy` (a [`Policy`], or a single [`Quota`]). The key
    /// type is chosen by [`RateLimiterBuilder::build`].
    pub fn builder(policy: impl Into<Policy>) -> RateLimiterBuilder<FastClock, DefaultHasher> {
        RateLimiterBuilder {
            policy: policy.into(),
            clock: FastClock::new(),
            hasher: DefaultHasher::default(),
            max_keys: DEFAULT_MAX_KEYS,
            shards: None,
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher + Clone> RateLimiter<K, C, S> {
    /// Decides on one request (cost 1) for `key` now. The key may be given borrowed, as for
    /// a `HashMap`: `&str` for a limiter keyed by `String`.
    #[inline]
    pub fn check<Q>(&self, key: &Q) -> LimitDecision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(&self.quotas, key, 1, self.now_nanos())
    }

    /// Decides on a request of `cost` units (0 asks without spending).
    ///
    /// # Errors
    ///
    /// [`Error::CostExceedsBurst`] when `cost` exceeds a quota's burst: no wait would ever
    /// admit it.
    pub fn check_cost<Q>(&self, key: &Q, cost: u32) -> Result<LimitDecision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_cost_nanos(key, cost, self.now_nanos())
    }

    /// [`check_cost`](Self::check_cost) at a time read by the caller (who may have read the
    /// clock already for this request).
    ///
    /// # Errors
    ///
    /// [`Error::CostExceedsBurst`] as for `check_cost`.
    pub fn check_cost_at<Q>(
        &self,
        key: &Q,
        cost: u32,
        now: UnixTime,
    ) -> Result<LimitDecision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_cost_nanos(key, cost, now.as_nanos())
    }

    fn check_cost_nanos<Q>(&self, key: &Q, cost: u32, now: u64) -> Result<LimitDecision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let burst = self.quotas.iter().map(Quota::burst).min().unwrap_or(0);
        if cost > burst {
            return Err(Error::CostExceedsBurst { cost, burst });
        }
        Ok(self.decide(&self.quotas, key, cost, now))
    }

    /// The response headers for `decision`: `RateLimit-Policy` and `RateLimit`, plus
    /// `Retry-After` when over the limit and the legacy `X-RateLimit-*` fields if asked for.
    pub fn headers(&self, decision: &LimitDecision) -> HeaderMap {
        self.headers.for_decision(&self.quotas, decision)
    }

    /// Turns `decision` into the headers to add to the response, or a 429
    /// [`Rejection`](auth_core::Rejection) carrying them (dry-run decisions always pass).
    ///
    /// # Errors
    ///
    /// The 429 rejection when the decision is [`Outcome::Limited`].
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere; 429 is cold
    pub fn enforce(&self, decision: &LimitDecision) -> Result<HeaderMap, auth_core::Rejection> {
        self.headers.enforce(&self.quotas, decision)
    }

    /// Evicts every key whose quotas are all fully replenished (they behave exactly like keys
    /// never seen). The limiter also does this on its own as it grows; call it from a
    /// periodic task to return memory sooner. Returns how many keys were evicted.
    pub fn evict_replenished(&self) -> usize {
        let now = self.now_nanos();
        match &self.state {
            State::One(shards) => shards.evict_replenished(now),
            State::Many(shards) => shards.evict_replenished(now),
        }
    }

    /// How many keys have their own state.
    pub fn len(&self) -> usize {
        match &self.state {
            State::One(shards) => shards.len(),
            State::Many(shards) => shards.len(),
        }
    }

    /// Whether no key has its own state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The quotas, in order.
    pub fn quotas(&self) -> &[Quota] {
        &self.quotas
    }

    /// Whether refusals are reported but not enforced.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.now_nanos()
    }

    /// Decides for `key` under `quotas`: the limiter's own, or a caller's quota alone (which
    /// then uses the key's first TAT).
    #[inline]
    fn decide<Q>(&self, quotas: &[Quota], key: &Q, cost: u32, now: u64) -> LimitDecision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match &self.state {
            State::One(shards) => {
                let quota = &quotas[0];
                // Under the shard's lock: the step and its write-back only.
                let step = shards.with(key, now, |tats| {
                    let step = gcra::step(quota, tats[0], now, cost);
                    tats[0] = step.tat;
                    step
                });
                self.finish(std::slice::from_ref(quota), &[step], &[step.tat], now)
            }
            State::Many(shards) => {
                let n = quotas.len().min(MAX_QUOTAS);
                let mut steps = [Step {
                    allowed: true,
                    tat: 0,
                    retry_after: 0,
                }; MAX_QUOTAS];
                let tats = shards.with(key, now, |tats| {
                    for (i, quota) in quotas.iter().take(n).enumerate() {
                        steps[i] = gcra::step(quota, tats[i], now, cost);
                    }
                    // All admit or none is charged.
                    if steps[..n].iter().all(|s| s.allowed) {
                        for (tat, step) in tats.iter_mut().zip(&steps[..n]) {
                            *tat = step.tat;
                        }
                    }
                    *tats
                });
                self.finish(quotas, &steps[..n], &tats[..n], now)
            }
        }
    }

    /// Builds the decision from each quota's step and its TAT afterwards.
    #[inline]
    fn finish(&self, quotas: &[Quota], steps: &[Step], tats: &[u64], now: u64) -> LimitDecision {
        let mut raw = [Raw::default(); MAX_QUOTAS];
        let mut allowed = true;
        for (i, ((quota, step), &tat)) in quotas.iter().zip(steps).zip(tats).enumerate() {
            allowed &= step.allowed;
            raw[i] = Raw {
                remaining: gcra::remaining(quota, tat, now),
                reset_nanos: tat.saturating_sub(now),
                retry_nanos: step.retry_after,
            };
        }
        LimitDecision::from_raw(Outcome::new(allowed, self.dry_run), raw, steps.len())
    }
}

impl<K, C: fmt::Debug, S> fmt::Debug for RateLimiter<K, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("quotas", &self.quotas)
            .field("clock", &self.clock)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Configures a [`RateLimiter`]; [`build`](RateLimiterBuilder::build) checks the settings.
#[derive(Debug)]
#[must_use]
pub struct RateLimiterBuilder<C, S> {
    policy: Policy,
    clock: C,
    hasher: S,
    max_keys: usize,
    shards: Option<usize>,
}

impl<C: Clock, S: BuildHasher + Clone> RateLimiterBuilder<C, S> {
    /// Uses `clock` (default: [`FastClock`]; [`SystemClock`](auth_core::SystemClock) works
    /// too, at about 20 to 50 ns more a decision); tests pass a
    /// [`ManualClock`](auth_core::ManualClock). The limiter keeps its clock's type, not an
    /// `Arc<dyn Clock>`: the clock read is the largest cost of a decision (`benches/`).
    pub fn clock<C2: Clock>(self, clock: C2) -> RateLimiterBuilder<C2, S> {
        RateLimiterBuilder {
            policy: self.policy,
            clock,
            hasher: self.hasher,
            max_keys: self.max_keys,
            shards: self.shards,
        }
    }

    /// Uses `hasher` for keys (default: [`DefaultHasher`]).
    pub fn hasher<S2: BuildHasher + Clone>(self, hasher: S2) -> RateLimiterBuilder<C, S2> {
        RateLimiterBuilder {
            policy: self.policy,
            clock: self.clock,
            hasher,
            max_keys: self.max_keys,
            shards: self.shards,
        }
    }

    /// The most keys with their own state (default [`DEFAULT_MAX_KEYS`]); beyond it, new keys
    /// share one overflow state until older keys replenish (see the crate docs).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The number of shards (rounded up to a power of two; default four per available CPU).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Builds the limiter.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for quotas the policy cannot take ([`Policy::check`]), or
    /// `max_keys` of zero.
    pub fn build<K: Hash + Eq + Clone>(self) -> Result<RateLimiter<K, C, S>, Error> {
        self.policy.check()?;
        if self.max_keys == 0 {
            return Err(Error::Misconfigured("max_keys must be at least 1".into()));
        }
        let shards = self
            .shards
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get() * 4));
        let quotas = self.policy.quotas();
        let sweep_gap = quotas.iter().map(Quota::interval_nanos).min().unwrap_or(1);
        let headers = self.policy.headers();
        Ok(RateLimiter {
            state: if quotas.len() == 1 {
                State::One(Shards::new(shards, self.max_keys, sweep_gap, self.hasher))
            } else {
                State::Many(Shards::new(shards, self.max_keys, sweep_gap, self.hasher))
            },
            quotas: quotas.into(),
            clock: self.clock,
            dry_run: self.policy.is_dry_run(),
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use auth_core::ManualClock;

    use super::*;

    fn clock() -> ManualClock {
        ManualClock::new(UnixTime::from_secs(1_000))
    }

    #[test]
    fn borrowed_keys_are_the_same_key() {
        let l: RateLimiter<String> = RateLimiter::builder(Quota::per_hour(2).unwrap())
            .build()
            .unwrap();
        assert!(l.check("alice").is_allowed());
        assert!(l.check(&"alice".to_owned()).is_allowed());
        assert!(!l.check("alice").is_allowed());
        assert!(l.check("bob").is_allowed());
    }

    #[test]
    fn a_refusal_charges_no_quota() {
        let c = clock();
        let policy = Policy::new(Quota::per_second(10).unwrap())
            .quota(Quota::per_minute(3).unwrap().with_burst(1).unwrap());
        let l = RateLimiter::builder(policy)
            .clock(c.clone())
            .build()
            .unwrap();
        assert!(l.check(&1).is_allowed());
        // The per-second quota would admit, the per-minute one refuses: neither is charged.
        let d = l.check(&1);
        assert_eq!(d.outcome(), Outcome::Limited);
        assert_eq!(d.retry_after(), Some(Duration::from_secs(20)));
        assert_eq!(d.policies().next().unwrap().remaining, 9);
        c.advance(Duration::from_secs(20));
        let d = l.check(&1);
        assert!(d.is_allowed());
        assert_eq!(d.policies().next().unwrap().remaining, 9);
    }

    #[test]
    fn dry_run_reports_and_charges_nothing() {
        let l = RateLimiter::builder(Policy::new(Quota::per_hour(1).unwrap()).dry_run(true))
            .clock(clock())
            .build()
            .unwrap();
        assert_eq!(l.check(&"k").outcome(), Outcome::Allowed);
        for _ in 0..3 {
            let d = l.check(&"k");
            assert_eq!(d.outcome(), Outcome::DryRunLimited);
            assert!(d.is_allowed());
            assert_eq!(d.retry_after(), Some(Duration::from_secs(3600)));
            let headers = l.enforce(&d).unwrap();
            assert!(!headers.contains_key(http::header::RETRY_AFTER));
        }
    }

    #[test]
    fn cost() {
        let l = RateLimiter::builder(Quota::per_second(4).unwrap())
            .clock(clock())
            .build()
            .unwrap();
        assert!(matches!(
            l.check_cost(&0, 5),
            Err(Error::CostExceedsBurst { cost: 5, burst: 4 })
        ));
        assert_eq!(l.check_cost(&0, 0).unwrap().remaining(), 4);
        assert_eq!(l.check_cost(&0, 3).unwrap().remaining(), 1);
        let d = l.check_cost(&0, 2).unwrap();
        assert!(!d.is_allowed());
        assert_eq!(d.retry_after(), Some(Duration::from_millis(250)));
        assert!(l.check_cost(&0, 1).unwrap().is_allowed());
    }

    #[test]
    fn bad_configurations_fail_to_build() {
        let q = || Quota::per_second(1).unwrap();
        let too_many = (0..5).fold(Policy::new(q().named("x").unwrap()), |p, i| {
            p.quota(q().named(format!("q{i}")).unwrap())
        });
        assert!(matches!(
            RateLimiter::builder(too_many).build::<u8>(),
            Err(Error::Misconfigured(_))
        ));
        assert!(matches!(
            RateLimiter::builder(Policy::new(q()).quota(q())).build::<u8>(),
            Err(Error::Misconfigured(_))
        ));
        assert!(matches!(
            RateLimiter::builder(q()).max_keys(0).build::<u8>(),
            Err(Error::Misconfigured(_))
        ));
    }

    #[test]
    fn evicts_replenished_keys_only() {
        let c = clock();
        let l = RateLimiter::builder(Quota::per_second(1).unwrap())
            .clock(c.clone())
            .build()
            .unwrap();
        assert!(l.check(&1).is_allowed());
        assert!(l.check(&2).is_allowed());
        c.advance(Duration::from_millis(500));
        assert!(!l.check(&2).is_allowed());
        assert_eq!(l.evict_replenished(), 0);
        c.advance(Duration::from_millis(500));
        assert_eq!(l.evict_replenished(), 2);
        assert!(l.is_empty());
    }
}
