//! [`Quota`]: how many requests per how long, and how many at once, in units nobody can
//! misread.
//!
//! `Quota::per_second(10)` means ten requests per second, never "one request per ten
//! seconds". Nonsensical settings (a zero count, a zero period, an emission interval below
//! one nanosecond, a burst of zero) are rejected when the quota is built, not when the first
//! request arrives.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use auth_core::OwnQuota;

use crate::Error;

/// A rate: `count` requests per `period`, with up to `burst` admitted at once.
///
/// The limiter runs the generic cell rate algorithm (GCRA) on it: requests are spaced by the
/// emission interval `T = period / count` (rounded up to whole nanoseconds, so the limiter is
/// never faster than stated), and a client that has been idle may send `burst` requests at
/// once. The burst defaults to `count`: a client may spend a whole period's allowance at once.
///
/// For GCRA, the number admitted in any window of length `L` is at most
/// `burst + ceil(L / T) - 1`; with the default burst a sliding window of one period can see up
/// to `2 * count - 1`. Use `with_burst(1)` for strict spacing.
///
/// ```
/// use std::time::Duration;
/// use auth_ratelimit::Quota;
///
/// let q = Quota::per_second(10)?.with_burst(20)?;
/// assert_eq!(q.count(), 10);
/// assert_eq!(q.period(), Duration::from_secs(1));
/// assert_eq!(q.interval(), Duration::from_millis(100));
/// assert_eq!(q.burst(), 20);
///
/// assert!(Quota::per_second(0).is_err());
/// assert!(Quota::new(3, Duration::ZERO).is_err());
/// # Ok::<(), auth_ratelimit::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Quota {
    count: u32,
    period: Duration,
    burst: u32,
    interval_nanos: u64,
    name: Cow<'static, str>,
}

impl Quota {
    /// `count` requests per `period`, burst `count`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `count` or `period` is zero, or when `period / count` is
    /// below one nanosecond.
    pub fn new(count: u32, period: Duration) -> Result<Self, Error> {
        if count == 0 {
            return Err(Error::InvalidQuota("count must be at least 1".into()));
        }
        if period.is_zero() {
            return Err(Error::InvalidQuota(
                "period must be longer than zero".into(),
            ));
        }
        let period_nanos = u64::try_from(period.as_nanos())
            .map_err(|_| Error::InvalidQuota("period must be shorter than 584 years".into()))?;
        if period_nanos < u64::from(count) {
            return Err(Error::InvalidQuota(
                format!("{count} per {period:?} is an interval below one nanosecond").into(),
            ));
        }
        let interval_nanos = period_nanos.div_ceil(u64::from(count));
        let quota = Self {
            count,
            period,
            burst: count,
            interval_nanos,
            name: Cow::Borrowed(""),
        };
        quota.check_capacity()?;
        Ok(quota.with_default_name())
    }

    /// `count` requests per second.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `count` is zero.
    pub fn per_second(count: u32) -> Result<Self, Error> {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests per minute.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `count` is zero.
    pub fn per_minute(count: u32) -> Result<Self, Error> {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests per hour.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `count` is zero.
    pub fn per_hour(count: u32) -> Result<Self, Error> {
        Self::new(count, Duration::from_secs(3600))
    }

    /// `count` requests per day.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `count` is zero.
    pub fn per_day(count: u32) -> Result<Self, Error> {
        Self::new(count, Duration::from_secs(86_400))
    }

    /// Sets how many requests an idle client may send at once (at least 1).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when `burst` is zero or `burst * interval` overflows.
    pub fn with_burst(mut self, burst: u32) -> Result<Self, Error> {
        if burst == 0 {
            return Err(Error::InvalidQuota("burst must be at least 1".into()));
        }
        self.burst = burst;
        self.check_capacity()?;
        Ok(self)
    }

    /// Names the policy, as sent in the `RateLimit-Policy` and `RateLimit` fields. The default
    /// is made from the quota, like `10-per-1s`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidQuota`] when the name is empty or not printable ASCII (a Structured
    /// Field String cannot carry it).
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() || !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(Error::InvalidQuota(
                "policy name must be non-empty printable ASCII".into(),
            ));
        }
        self.name = name;
        Ok(self)
    }

    fn with_default_name(mut self) -> Self {
        let p = self.period;
        let period = if p.subsec_nanos() == 0 {
            format!("{}s", p.as_secs())
        } else {
            format!("{}ms", p.as_millis())
        };
        self.name = Cow::Owned(format!("{}-per-{period}", self.count));
        self
    }

    fn check_capacity(&self) -> Result<(), Error> {
        // The limiter computes burst * interval (the delay tolerance plus one interval) and
        // adds it to absolute times; keep it well inside u64 nanoseconds.
        match self.interval_nanos.checked_mul(u64::from(self.burst)) {
            Some(n) if n <= MAX_CAPACITY_NANOS => Ok(()),
            _ => Err(Error::InvalidQuota(
                "burst * interval must be below 100 years".into(),
            )),
        }
    }

    /// The number of requests per period.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How many requests an idle client may send at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The emission interval `T`: the steady-state spacing between requests.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_nanos)
    }

    /// The policy name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn interval_nanos(&self) -> u64 {
        self.interval_nanos
    }

    /// `burst * interval`: how far ahead of now the theoretical arrival time may run.
    pub(crate) fn capacity_nanos(&self) -> u64 {
        self.interval_nanos * u64::from(self.burst)
    }
}

/// A caller's own quota (an API key's, carried by its principal) as a limiter enforces it:
/// the same count, period, burst and name.
impl TryFrom<&OwnQuota> for Quota {
    type Error = Error;

    /// # Errors
    ///
    /// [`Error::InvalidQuota`] for numbers or a name no [`Quota`] can have.
    fn try_from(own: &OwnQuota) -> Result<Self, Error> {
        Self::new(own.requests().get(), own.period())?
            .with_burst(own.burst().get())?
            .named(own.name().to_owned())
    }
}

/// 100 years in nanoseconds: the largest `burst * interval` a quota may have.
const MAX_CAPACITY_NANOS: u64 = 100 * 365 * 86_400 * 1_000_000_000;

impl fmt::Debug for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quota")
            .field("name", &self.name)
            .field("count", &self.count)
            .field("period", &self.period)
            .field("burst", &self.burst)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn rejected(r: Result<Quota, Error>) {
        assert!(matches!(r, Err(Error::InvalidQuota(_))), "{r:?}");
    }

    #[test]
    fn units_read_as_written() {
        let q = Quota::per_minute(120).unwrap();
        assert_eq!(q.interval(), Duration::from_millis(500));
        assert_eq!(q.burst(), 120);
        assert_eq!(q.name(), "120-per-60s");
        assert_eq!(
            Quota::per_hour(3600).unwrap().interval(),
            Duration::from_secs(1)
        );
        assert_eq!(
            Quota::per_day(1).unwrap().interval(),
            Duration::from_secs(86_400)
        );
        let q = Quota::new(3, Duration::from_millis(1500)).unwrap();
        assert_eq!(q.name(), "3-per-1500ms");
    }

    #[test]
    fn interval_rounds_up_never_faster() {
        let q = Quota::per_second(3).unwrap();
        assert_eq!(q.interval_nanos(), 333_333_334);
    }

    #[test]
    fn nonsense_is_rejected() {
        rejected(Quota::per_second(0));
        rejected(Quota::new(1, Duration::ZERO));
        rejected(Quota::new(2, Duration::from_nanos(1)));
        rejected(Quota::per_second(1).unwrap().with_burst(0));
        rejected(Quota::per_day(1).unwrap().with_burst(u32::MAX));
        rejected(Quota::new(1, Duration::MAX));
        rejected(Quota::per_second(1).unwrap().named(""));
        rejected(Quota::per_second(1).unwrap().named("caf\u{e9}"));
        assert!(Quota::new(1, Duration::from_nanos(1)).is_ok());
    }
}
