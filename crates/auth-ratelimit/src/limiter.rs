//! [`RateLimiter`]: the keyed, in-memory GCRA limiter, and its [`Builder`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::{Clock, UnixTime};
use http::HeaderMap;

use crate::decision::{MAX_QUOTAS, Outcome, Raw};
use crate::gcra::{self, Step};
use crate::headers::Headers;
use crate::shards::{ManyTats, Shards};
use crate::{Decision, Error, FastClock, Quota};

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
/// use auth_ratelimit::{Quota, RateLimiter};
///
/// let limiter = RateLimiter::builder(Quota::per_second(10)?.with_burst(2)?)
///     .quota(Quota::per_hour(1000)?)
///     .build()?;
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
    One(Shards<K, AtomicU64, S>),
    Many(Shards<K, ManyTats, S>),
}

impl RateLimiter<()> {
    /// Starts a limiter with its first quota; add more with [`Builder::quota`]. The key type
    /// is chosen by [`Builder::build`].
    pub fn builder(quota: Quota) -> Builder<FastClock, DefaultHasher> {
        Builder {
            quotas: vec![quota],
            clock: FastClock::new(),
            hasher: DefaultHasher::default(),
            max_keys: DEFAULT_MAX_KEYS,
            shards: None,
            dry_run: false,
            legacy_headers: false,
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher + Clone> RateLimiter<K, C, S> {
    /// Decides on one request (cost 1) for `key` now. The key may be given borrowed, as for
    /// a `HashMap`: `&str` for a limiter keyed by `String`.
    #[inline]
    pub fn check<Q>(&self, key: &Q) -> Decision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.decide(key, 1, self.now_nanos())
    }

    /// Decides on a request of `cost` units (0 asks without spending).
    ///
    /// # Errors
    ///
    /// [`Error::CostExceedsBurst`] when `cost` exceeds a quota's burst: no wait would ever
    /// admit it.
    pub fn check_cost<Q>(&self, key: &Q, cost: u32) -> Result<Decision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_cost_at(key, cost, self.clock.now())
    }

    /// [`check_cost`](Self::check_cost) at a time read by the caller (who may have read the
    /// clock already for this request).
    ///
    /// # Errors
    ///
    /// [`Error::CostExceedsBurst`] as for `check_cost`.
    pub fn check_cost_at<Q>(&self, key: &Q, cost: u32, now: UnixTime) -> Result<Decision, Error>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let burst = self.quotas.iter().map(Quota::burst).min().unwrap_or(0);
        if cost > burst {
            return Err(Error::CostExceedsBurst { cost, burst });
        }
        Ok(self.decide(key, cost, now.as_nanos()))
    }

    /// The response headers for `decision`: `RateLimit-Policy` and `RateLimit`, plus
    /// `Retry-After` when over the limit and the legacy `X-RateLimit-*` fields if asked for.
    pub fn headers(&self, decision: &Decision) -> HeaderMap {
        self.headers.for_decision(&self.quotas, decision)
    }

    /// Turns `decision` into the headers to add to the response, or a 429
    /// [`Rejection`](auth_core::Rejection) carrying them (dry-run decisions always pass).
    ///
    /// # Errors
    ///
    /// The 429 rejection when the decision is [`Outcome::Limited`].
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere; 429 is cold
    pub fn enforce(&self, decision: &Decision) -> Result<HeaderMap, auth_core::Rejection> {
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
        self.clock.now().as_nanos()
    }

    #[inline]
    fn decide<Q>(&self, key: &Q, cost: u32, now: u64) -> Decision
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match &self.state {
            State::One(shards) => shards.with(key, now, |tat| self.decide_one(tat, cost, now)),
            State::Many(shards) => shards.with(key, now, |tats| {
                let mut tats = tats.lock().unwrap_or_else(PoisonError::into_inner);
                self.decide_many(&mut tats, cost, now)
            }),
        }
    }

    #[inline]
    fn decide_one(&self, tat: &AtomicU64, cost: u32, now: u64) -> Decision {
        let quota = &self.quotas[0];
        let mut current = tat.load(Ordering::Relaxed);
        loop {
            let step = gcra::step(quota, current, now, cost);
            if !step.allowed {
                return self.finish(&[step], &[current], now);
            }
            // Relaxed is enough: every decision is a read-modify-write of this one location,
            // and their total order is what bounds the admissions.
            match tat.compare_exchange_weak(current, step.tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return self.finish(&[step], &[step.tat], now),
                Err(actual) => current = actual,
            }
        }
    }

    fn decide_many(&self, tats: &mut [u64; MAX_QUOTAS], cost: u32, now: u64) -> Decision {
        let n = self.quotas.len();
        let mut steps = [Step {
            allowed: true,
            tat: 0,
            retry_after: 0,
        }; MAX_QUOTAS];
        for (i, quota) in self.quotas.iter().enumerate() {
            steps[i] = gcra::step(quota, tats[i], now, cost);
        }
        if steps[..n].iter().all(|s| s.allowed) {
            for (tat, step) in tats.iter_mut().zip(&steps[..n]) {
                *tat = step.tat;
            }
        }
        self.finish(&steps[..n], &tats[..n], now)
    }

    /// Builds the decision from each quota's step and its TAT afterwards.
    #[inline]
    fn finish(&self, steps: &[Step], tats: &[u64], now: u64) -> Decision {
        let mut raw = [Raw::default(); MAX_QUOTAS];
        let mut allowed = true;
        for (i, ((quota, step), &tat)) in self.quotas.iter().zip(steps).zip(tats).enumerate() {
            allowed &= step.allowed;
            raw[i] = Raw {
                remaining: gcra::remaining(quota, tat, now),
                reset_nanos: tat.saturating_sub(now),
                retry_nanos: step.retry_after,
            };
        }
        Decision::from_raw(Outcome::new(allowed, self.dry_run), raw, steps.len())
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

/// Configures a [`RateLimiter`]; [`build`](Builder::build) checks the settings.
#[derive(Debug)]
#[must_use]
pub struct Builder<C, S> {
    quotas: Vec<Quota>,
    clock: C,
    hasher: S,
    max_keys: usize,
    shards: Option<usize>,
    dry_run: bool,
    legacy_headers: bool,
}

impl<C: Clock, S: BuildHasher + Clone> Builder<C, S> {
    /// Adds a quota; every quota must admit a request (at most [`MAX_QUOTAS`]).
    pub fn quota(mut self, quota: Quota) -> Self {
        self.quotas.push(quota);
        self
    }

    /// Uses `clock` (default: [`FastClock`]; [`SystemClock`](auth_core::SystemClock) works
    /// too, at about 20 to 50 ns more a decision); tests pass a
    /// [`ManualClock`](auth_core::ManualClock).
    pub fn clock<C2: Clock>(self, clock: C2) -> Builder<C2, S> {
        Builder {
            quotas: self.quotas,
            clock,
            hasher: self.hasher,
            max_keys: self.max_keys,
            shards: self.shards,
            dry_run: self.dry_run,
            legacy_headers: self.legacy_headers,
        }
    }

    /// Uses `hasher` for keys (default: [`DefaultHasher`]).
    pub fn hasher<S2: BuildHasher + Clone>(self, hasher: S2) -> Builder<C, S2> {
        Builder {
            quotas: self.quotas,
            clock: self.clock,
            hasher,
            max_keys: self.max_keys,
            shards: self.shards,
            dry_run: self.dry_run,
            legacy_headers: self.legacy_headers,
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

    /// Dry-run mode: decide and report (headers, [`Decision::is_over_limit`]), never refuse,
    /// and charge nothing for requests that would have been refused.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Also send the legacy `X-RateLimit-Limit`, `-Remaining` and `-Reset` fields.
    pub fn legacy_headers(mut self, legacy: bool) -> Self {
        self.legacy_headers = legacy;
        self
    }

    /// Builds the limiter.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] with more than [`MAX_QUOTAS`] quotas, two quotas of the same
    /// name, or `max_keys` of zero.
    pub fn build<K: Hash + Eq + Clone>(self) -> Result<RateLimiter<K, C, S>, Error> {
        check_quotas(&self.quotas)?;
        if self.max_keys == 0 {
            return Err(Error::Misconfigured("max_keys must be at least 1".into()));
        }
        let shards = self
            .shards
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get() * 4));
        let sweep_gap = self
            .quotas
            .iter()
            .map(Quota::interval_nanos)
            .min()
            .unwrap_or(1);
        let headers = Headers::new(&self.quotas, self.legacy_headers);
        Ok(RateLimiter {
            state: if self.quotas.len() == 1 {
                State::One(Shards::new(shards, self.max_keys, sweep_gap, self.hasher))
            } else {
                State::Many(Shards::new(shards, self.max_keys, sweep_gap, self.hasher))
            },
            quotas: self.quotas.into_boxed_slice(),
            clock: self.clock,
            dry_run: self.dry_run,
            headers,
        })
    }
}

/// Checks a list of quotas for a limiter: 1 to [`MAX_QUOTAS`], names unique.
///
/// # Errors
///
/// [`Error::Misconfigured`] saying which rule is broken.
pub fn check_quotas(quotas: &[Quota]) -> Result<(), Error> {
    if quotas.is_empty() || quotas.len() > MAX_QUOTAS {
        return Err(Error::Misconfigured(
            format!("a limiter takes 1 to {MAX_QUOTAS} quotas").into(),
        ));
    }
    for (i, q) in quotas.iter().enumerate() {
        if quotas[..i].iter().any(|p| p.name() == q.name()) {
            return Err(Error::Misconfigured(
                format!("two quotas are named {:?}", q.name()).into(),
            ));
        }
    }
    Ok(())
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
        let l = RateLimiter::builder(Quota::per_second(10).unwrap())
            .quota(Quota::per_minute(3).unwrap().with_burst(1).unwrap())
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
        let l = RateLimiter::builder(Quota::per_hour(1).unwrap())
            .clock(clock())
            .dry_run(true)
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
        let too_many = (0..5).fold(RateLimiter::builder(q().named("x").unwrap()), |b, i| {
            b.quota(q().named(format!("q{i}")).unwrap())
        });
        assert!(matches!(
            too_many.build::<u8>(),
            Err(Error::Misconfigured(_))
        ));
        assert!(matches!(
            RateLimiter::builder(q()).quota(q()).build::<u8>(),
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
