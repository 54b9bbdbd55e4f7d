//! Injected time: [`Clock`], with [`SystemClock`] for production and [`ManualClock`] for tests.
//!
//! Architecture invariant: nothing in auth-rs reads the wall clock except through a `Clock`,
//! so expiry, leeway, cache lifetimes, token refresh and rate limits are all testable by
//! moving a [`ManualClock`].

use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An instant as a duration since the Unix epoch, with nanosecond resolution.
///
/// Unlike [`SystemTime`], arithmetic on it is total (saturating or checked) and it converts
/// directly to the whole seconds that JWT and OAuth 2.0 speak.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(Duration);

impl UnixTime {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(Duration::ZERO);

    /// The instant `secs` whole seconds after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// The instant `since_epoch` after the epoch.
    pub const fn from_duration(since_epoch: Duration) -> Self {
        Self(since_epoch)
    }

    /// Converts a [`SystemTime`]; instants before the epoch become the epoch.
    pub fn from_system_time(time: SystemTime) -> Self {
        Self(time.duration_since(UNIX_EPOCH).unwrap_or_default())
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// The duration since the epoch.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// Nanoseconds since the epoch, saturating at `u64::MAX` (the year 2554).
    #[inline]
    pub fn as_nanos(self) -> u64 {
        u64::try_from(self.0.as_nanos()).unwrap_or(u64::MAX)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        self.0.checked_add(d).map(Self)
    }

    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d))
    }

    /// This instant moved by `secs` whole seconds, later when positive, saturating at the
    /// epoch and at the maximum: for moving between two clocks by a measured offset.
    pub fn saturating_shift(self, secs: i64) -> Self {
        let d = Duration::from_secs(secs.unsigned_abs());
        if secs >= 0 {
            self.saturating_add(d)
        } else {
            self.saturating_sub(d)
        }
    }

    /// Whole seconds from `earlier` to this instant, negative when it is before, saturating:
    /// the offset [`saturating_shift`](Self::saturating_shift) moves by, such as a server's
    /// clock against ours.
    pub fn signed_secs_since(self, earlier: Self) -> i64 {
        let (a, b) = (self.as_secs(), earlier.as_secs());
        if a >= b {
            i64::try_from(a - b).unwrap_or(i64::MAX)
        } else {
            i64::try_from(b - a).map_or(i64::MIN, |d| -d)
        }
    }

    /// How long after `earlier` this instant is, or `None` if it is before it.
    pub fn duration_since(self, earlier: Self) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three forms, with the `httpdate`
    /// crate (the parser hyper uses), which also checks that the weekday fits the date.
    /// `None` when malformed or before 1970.
    ///
    /// One deliberate difference from §5.6.7: a two-digit year (the obsolete rfc850-date) is
    /// 1970 to 2069, as `httpdate` reads it, where the RFC would read 70 to 76 as 2070 to
    /// 2076 today; no server sends a date half a century away.
    ///
    /// ```
    /// # use auth_core::UnixTime;
    /// let t = UnixTime::from_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    /// assert_eq!(t, Some(UnixTime::from_secs(784_111_777)));
    /// ```
    pub fn from_http_date(s: &str) -> Option<Self> {
        httpdate::parse_http_date(s)
            .ok()
            .map(Self::from_system_time)
    }

    /// The instant a response's `Date` header names (a server's clock), if it holds one
    /// valid HTTP-date.
    pub fn from_date_header(headers: &http::HeaderMap) -> Option<Self> {
        let mut dates = headers.get_all(http::header::DATE).iter();
        match (dates.next(), dates.next()) {
            (Some(date), None) => Self::from_http_date(date.to_str().ok()?),
            _ => None,
        }
    }
}

impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UnixTime({}.{:09})",
            self.0.as_secs(),
            self.0.subsec_nanos()
        )
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> UnixTime;

    /// Time elapsed since an origin of the clock's choosing, on a clock that never steps
    /// back: for ages and bounds ("read less than `max_stale` ago"), which a correction of
    /// the wall clock must neither stretch nor shrink. Compare only readings of one clock.
    ///
    /// The default reads the operating system's monotonic clock ([`Instant`]) since the
    /// first call in the process.
    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }

    /// [`now`](Self::now) as nanoseconds since the epoch, saturating at `u64::MAX` (the year
    /// 2554): what a rate limiter counts in. The default converts `now`; a clock that counts
    /// in nanoseconds itself overrides it and skips the round trip through [`Duration`]
    /// (auth-ratelimit's `FastClock`; the figures are in `benches/README.md`).
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.now().as_nanos()
    }
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_system_time(SystemTime::now())
    }
}

/// The operating system's wall clock read at the kernel's tick: behind the exact time by at
/// most one tick (1 to 4 ms on Linux), and about five times cheaper to read than
/// [`SystemClock`] (6 ns against 28 ns for `CLOCK_REALTIME` measured here).
///
/// The default clock of the components that decide in whole seconds (key and token expiry,
/// refresh ahead of expiry), where the clock read was the largest cost of a check. Like
/// [`SystemClock`] it follows corrections of the wall clock. Where the kernel has no coarse
/// clock (outside Linux, Android and FreeBSD) it reads the exact one.
///
/// ```
/// use std::time::Duration;
/// use auth_core::{Clock, CoarseClock, SystemClock};
///
/// let coarse = CoarseClock.now();
/// let exact = SystemClock.now();
/// let apart = exact.duration_since(coarse).or_else(|| coarse.duration_since(exact));
/// assert!(apart.is_some_and(|d| d < Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CoarseClock;

impl Clock for CoarseClock {
    #[inline]
    fn now(&self) -> UnixTime {
        coarse_now()
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[inline]
fn coarse_now() -> UnixTime {
    use rustix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::RealtimeCoarse);
    match (u64::try_from(t.tv_sec), u32::try_from(t.tv_nsec)) {
        // Before 1970, or a nanosecond field out of range: never on a sane system, and the
        // exact clock's own handling (the epoch) then applies.
        (Ok(secs), Ok(nanos)) if nanos < 1_000_000_000 => UnixTime(Duration::new(secs, nanos)),
        _ => SystemClock.now(),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
#[inline]
fn coarse_now() -> UnixTime {
    SystemClock.now()
}

/// A clock that only moves when told to. Clones share the same time.
///
/// [`ManualClock::advance`] is time passing: it moves both the wall clock and the
/// [`monotonic`](Clock::monotonic) reading. [`ManualClock::set`] is a correction of the wall
/// clock: the monotonic reading does not move.
///
/// ```
/// use std::time::Duration;
/// use auth_core::{Clock, ManualClock, UnixTime};
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
/// let seen_by_component = clock.clone();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(seen_by_component.now().as_secs(), 1_700_000_090);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
    /// Nanoseconds advanced in all: the monotonic reading.
    elapsed: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock frozen at `start`.
    pub fn new(start: UnixTime) -> Self {
        Self {
            nanos: Arc::new(AtomicU64::new(start.as_nanos())),
            elapsed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Lets `by` pass (saturating): the wall clock and the monotonic reading move forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        for counter in [&self.nanos, &self.elapsed] {
            // fetch_update never fails with a closure that always returns Some.
            let _ = counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
        }
    }

    /// Sets the wall clock to `to`, forwards or backwards, as a correction of the wall clock
    /// does: no time passes, so the [`monotonic`](Clock::monotonic) reading stays.
    pub fn set(&self, to: UnixTime) {
        self.nanos.store(to.as_nanos(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_duration(Duration::from_nanos(self.nanos.load(Ordering::SeqCst)))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.elapsed.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> UnixTime {
        (**self).now()
    }

    fn monotonic(&self) -> Duration {
        (**self).monotonic()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_date(input: &str, want: Option<u64>) {
        assert_eq!(
            UnixTime::from_http_date(input).map(UnixTime::as_secs),
            want,
            "{input}"
        );
    }

    #[test]
    fn three_forms_and_rejects() {
        let y2k_eve = Some(946_684_799);
        check_date("Fri, 31 Dec 1999 23:59:59 GMT", y2k_eve);
        check_date("Friday, 31-Dec-99 23:59:59 GMT", y2k_eve);
        check_date("Fri Dec 31 23:59:59 1999", y2k_eve);
        check_date("Sun Nov  6 08:49:37 1994", Some(784_111_777));
        check_date("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777));
        check_date("Thu, 01 Jan 1970 00:00:00 GMT", Some(0));
        check_date("Wednesday, 06-Nov-30 08:49:37 GMT", Some(1_920_185_377)); // 2030, not 1930
        for bad in [
            "fri, 31 dec 1999 23:59:59 gmt",
            "Fri, 31 Dec 1999 23:59:59 UTC",
            "Fri, 31 Feb 1999 23:59:59 GMT",
            "Fri, 31 Dec 1999 24:00:00 GMT",
            "Fri, 31 Dec 1969 23:59:59 GMT",
            "Fri,31 Dec 1999 23:59:59 GMT",
            "",
            "Fri",
            "Fri Dec 31 23:59:59 99",
            "Friday, 31-Dec-99-1 23:59:59 GMT",
            // The weekday must fit the date.
            "Sunday, 06-Nov-30 08:49:37 GMT",
            "Sat, 31 Dec 1999 23:59:59 GMT",
            "Fri, 31 Dec 1999 23:59:59:1 GMT",
        ] {
            check_date(bad, None);
        }
    }

    #[test]
    fn shifts_saturate_both_ways() {
        let t = UnixTime::from_secs(100);
        assert_eq!(t.saturating_shift(20), UnixTime::from_secs(120));
        assert_eq!(t.saturating_shift(-20), UnixTime::from_secs(80));
        assert_eq!(t.saturating_shift(0), t);
        assert_eq!(t.saturating_shift(-101), UnixTime::EPOCH);
        assert_eq!(t.saturating_shift(i64::MIN), UnixTime::EPOCH);
        assert!(t.saturating_shift(i64::MAX) > UnixTime::from_secs(u64::MAX / 4));
        // The offset between two instants moves one onto the other.
        for (a, b) in [(100, 130), (130, 100), (7, 7)] {
            let (a, b) = (UnixTime::from_secs(a), UnixTime::from_secs(b));
            assert_eq!(a.saturating_shift(b.signed_secs_since(a)), b);
        }
        let (zero, max) = (UnixTime::EPOCH, UnixTime::from_secs(u64::MAX));
        assert_eq!(max.signed_secs_since(zero), i64::MAX);
        assert_eq!(zero.signed_secs_since(max), i64::MIN);
    }

    #[test]
    fn one_date_header_or_none() {
        let mut h = http::HeaderMap::new();
        assert_eq!(UnixTime::from_date_header(&h), None);
        h.insert(
            http::header::DATE,
            "Thu, 01 Jan 1970 00:00:10 GMT".parse().unwrap(),
        );
        assert_eq!(
            UnixTime::from_date_header(&h),
            Some(UnixTime::from_secs(10))
        );
        h.append(
            http::header::DATE,
            "Thu, 01 Jan 1970 00:00:10 GMT".parse().unwrap(),
        );
        assert_eq!(UnixTime::from_date_header(&h), None, "two Date fields");
    }

    #[test]
    fn manual_clock_moves_both_ways() {
        let c = ManualClock::new(UnixTime::from_secs(100));
        c.advance(Duration::from_millis(1500));
        assert_eq!(
            c.now(),
            UnixTime::from_duration(Duration::from_millis(101_500))
        );
        assert_eq!(c.monotonic(), Duration::from_millis(1500));
        c.set(UnixTime::from_secs(50));
        assert_eq!(c.now().as_secs(), 50);
        // A correction of the wall clock is not time passing.
        assert_eq!(c.monotonic(), Duration::from_millis(1500));
        c.advance(Duration::MAX);
        assert_eq!(c.now().as_nanos(), u64::MAX);
    }

    #[test]
    fn unix_time_arithmetic_is_total() {
        let t = UnixTime::from_secs(10);
        assert_eq!(t.saturating_sub(Duration::from_secs(20)), UnixTime::EPOCH);
        assert_eq!(t.duration_since(UnixTime::from_secs(11)), None);
        assert_eq!(
            t.duration_since(UnixTime::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert!(t.checked_add(Duration::MAX).is_none());
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now().as_secs() > 1_577_836_800);
    }
}
