//! The generic cell rate algorithm as a pure function on nanoseconds.
//!
//! One number per key and quota, the theoretical arrival time (TAT): the instant at which the
//! key would be fully replenished. A request of cost `c` at `now` conforms when
//! `max(TAT, now) + c*T - B*T <= now`, and then moves TAT to `max(TAT, now) + c*T`; a request
//! that does not conform leaves TAT alone, so rejections cost nothing. With `c = 1` this is
//! the virtual-scheduling form `now >= TAT - tau`, `tau = (B - 1) * T`.
//!
//! Everything is saturating arithmetic on absolute times: a clock that goes backwards only
//! makes `now` smaller, which can never admit more, and nothing can overflow or panic. The
//! in-memory limiter and the Redis script run this same rule.

use crate::Quota;

/// The outcome of one quota's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// Whether the request conforms.
    pub(crate) allowed: bool,
    /// The TAT after the step (unchanged on rejection).
    pub(crate) tat: u64,
    /// On rejection, how long until the same request would conform; 0 when allowed.
    pub(crate) retry_after: u64,
}

/// One GCRA step for `quota` with stored `tat` (0 for a key never seen).
#[inline]
pub(crate) fn step(quota: &Quota, tat: u64, now: u64, cost: u32) -> Step {
    step_raw(
        quota.interval_nanos(),
        quota.capacity_nanos(),
        tat,
        now,
        cost,
    )
}

/// [`step`] on raw numbers: emission interval `t`, capacity `B*T`.
#[inline]
pub(crate) fn step_raw(t: u64, capacity: u64, tat: u64, now: u64, cost: u32) -> Step {
    let base = if tat > now { tat } else { now };
    let next = base.saturating_add(t.saturating_mul(u64::from(cost)));
    let allow_at = next.saturating_sub(capacity);
    if allow_at <= now {
        Step {
            allowed: true,
            tat: next,
            retry_after: 0,
        }
    } else {
        Step {
            allowed: false,
            tat,
            retry_after: allow_at - now,
        }
    }
}

/// How many unit requests would conform at `now` given `tat`.
#[inline]
pub(crate) fn remaining(quota: &Quota, tat: u64, now: u64) -> u64 {
    let tat = tat.max(now);
    now.saturating_add(quota.capacity_nanos())
        .saturating_sub(tat)
        / quota.interval_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_reject() {
        // T = 100 ns, B = 5: five at once, the sixth waits one interval.
        let q = Quota::new(1, std::time::Duration::from_nanos(100))
            .unwrap()
            .with_burst(5)
            .unwrap();
        let mut tat = 0;
        for i in 1..=5 {
            let s = step(&q, tat, 1000, 1);
            assert!(s.allowed);
            tat = s.tat;
            assert_eq!(tat, 1000 + 100 * i);
        }
        let s = step(&q, tat, 1000, 1);
        assert_eq!((s.allowed, s.tat, s.retry_after), (false, tat, 100));
        assert_eq!(remaining(&q, tat, 1000), 0);
        assert_eq!(remaining(&q, tat, 1100), 1);
        assert_eq!(remaining(&q, 0, 1000), 5);
        // A cost of 2 at the same time needs two intervals.
        assert_eq!(step(&q, tat, 1000, 2).retry_after, 200);
    }

    #[test]
    fn extremes_saturate() {
        assert!(step_raw(1, 1, u64::MAX, u64::MAX, 1).allowed);
        assert!(!step_raw(u64::MAX, 1, u64::MAX, 0, 7).allowed);
        assert!(step_raw(5, 5, 0, 0, 0).allowed);
    }
}
