//! [`FastClock`]: the limiter's default clock, a calibrated CPU counter anchored to the Unix
//! epoch.
//!
//! The clock read is the largest cost of a rate-limit decision: the operating system's clock
//! (`SystemTime::now`, `Instant::now`) takes 20 to 60 ns on common virtual machines, the
//! rest of a keyed check about 25. quanta reads the time-stamp counter instead (about 10 ns),
//! calibrated against the OS clock once per process, and falls back to the OS monotonic clock
//! where the counter is not reliable.

use std::fmt;
use std::time::Duration;

use auth_core::{Clock, SystemClock, UnixTime};

/// A fast, monotonic [`Clock`]: the wall-clock time when it was created plus the time elapsed
/// since on the CPU's calibrated counter.
///
/// Being monotonic it never steps back when the wall clock is corrected; it drifts from the
/// wall clock only by the counter's calibration error (parts per million), which a rate
/// limiter cannot notice. Clones share the anchor.
#[derive(Clone)]
pub struct FastClock {
    counter: quanta::Clock,
    /// The counter's raw reading at the anchor (scaled to nanoseconds only as a difference).
    anchor_raw: u64,
    /// The wall-clock time at the anchor, in nanoseconds since the epoch.
    anchor_unix_nanos: u64,
}

impl FastClock {
    /// A clock anchored at the system clock's current time.
    pub fn new() -> Self {
        let counter = quanta::Clock::new();
        let anchor_raw = counter.raw();
        Self {
            counter,
            anchor_raw,
            anchor_unix_nanos: SystemClock.now().as_nanos(),
        }
    }

    /// Nanoseconds elapsed since the anchor: one counter read and one multiply-shift.
    #[inline]
    fn elapsed_nanos(&self) -> u64 {
        self.counter
            .delta_as_nanos(self.anchor_raw, self.counter.raw())
    }
}

impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FastClock {
    #[inline]
    fn now(&self) -> UnixTime {
        UnixTime::from_duration(Duration::from_nanos(self.now_nanos()))
    }

    #[inline]
    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos())
    }

    /// The limiter's read: integer nanoseconds throughout, no `Duration` in between
    /// (governor's `QuantaClock` reads the same way).
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.anchor_unix_nanos.saturating_add(self.elapsed_nanos())
    }
}

impl fmt::Debug for FastClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastClock")
            .field("anchor_unix_nanos", &self.anchor_unix_nanos)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_system_clock() {
        let fast = FastClock::new();
        let a = fast.now();
        let sys = SystemClock.now();
        let b = fast.now();
        assert!(b >= a, "monotonic");
        let nanos = fast.now_nanos();
        assert!(
            nanos >= b.as_nanos() && nanos >= a.as_nanos(),
            "one reading, in nanoseconds"
        );
        let skew = sys
            .duration_since(a)
            .or_else(|| a.duration_since(sys))
            .unwrap_or_default();
        assert!(skew < Duration::from_secs(1), "{skew:?}");
    }
}
