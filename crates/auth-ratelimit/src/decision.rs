//! [`LimitDecision`]: allowed or not, with what is left, when it resets, and when to retry.

use std::time::Duration;

/// The most quotas one limiter applies to a key (say per second, minute, hour and day).
pub const MAX_QUOTAS: usize = 4;

/// Where one quota stands for a key after a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PolicyState {
    /// Unit requests that would be admitted right now.
    pub remaining: u64,
    /// Time until the quota is fully replenished (`remaining == burst`).
    pub reset: Duration,
    /// When this quota refused the request: how long until the same request conforms.
    pub retry_after: Option<Duration>,
}

impl PolicyState {
    /// A quota's state: `remaining` unit requests admissible now, fully replenished after
    /// `reset`, and `retry_after` when this quota refused the request.
    pub fn new(remaining: u64, reset: Duration, retry_after: Option<Duration>) -> Self {
        Self {
            remaining,
            reset,
            retry_after,
        }
    }
}

/// Whether the request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Within every quota; the request was counted.
    Allowed,
    /// Over a quota; nothing was counted.
    Limited,
    /// Over a quota in dry-run mode: reported, not enforced, nothing counted.
    DryRunLimited,
}

impl Outcome {
    /// The outcome of a decision that every quota `allowed` (or not), in dry-run mode or not.
    pub fn new(allowed: bool, dry_run: bool) -> Self {
        match (allowed, dry_run) {
            (true, _) => Self::Allowed,
            (false, false) => Self::Limited,
            (false, true) => Self::DryRunLimited,
        }
    }
}

/// The answer for one request: allowed or not, plus what the `RateLimit` and `Retry-After`
/// headers report. One [`PolicyState`] per quota, in the limiter's order.
///
/// Retry-after is exact: the same request sent after [`LimitDecision::retry_after`] (or after that
/// delay rounded up to whole seconds, as `Retry-After` sends it) is admitted, unless other
/// requests for the key consumed the capacity first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a request over the limit is refused only if the decision is enforced"]
pub struct LimitDecision {
    outcome: Outcome,
    len: u8,
    raw: [Raw; MAX_QUOTAS],
}

/// A [`PolicyState`] in nanoseconds, cheap to fill on the hot path. `retry_nanos` is 0 when
/// the quota admitted (a refusal always has a positive wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Raw {
    pub(crate) remaining: u64,
    pub(crate) reset_nanos: u64,
    pub(crate) retry_nanos: u64,
}

impl Raw {
    fn state(self) -> PolicyState {
        PolicyState {
            remaining: self.remaining,
            reset: Duration::from_nanos(self.reset_nanos),
            retry_after: (self.retry_nanos > 0).then(|| Duration::from_nanos(self.retry_nanos)),
        }
    }
}

impl LimitDecision {
    /// A decision from per-quota states (for limiters whose state lives elsewhere). At
    /// most [`MAX_QUOTAS`] states are kept.
    pub fn new(outcome: Outcome, policies: &[PolicyState]) -> Self {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut d = Self {
            outcome,
            len: 0,
            raw: [Raw::default(); MAX_QUOTAS],
        };
        for (slot, p) in d.raw.iter_mut().zip(policies) {
            *slot = Raw {
                remaining: p.remaining,
                reset_nanos: nanos(p.reset),
                retry_nanos: p.retry_after.map_or(0, |r| nanos(r).max(1)),
            };
            d.len += 1;
        }
        d
    }

    /// A decision from raw per-quota states (the limiter's hot path).
    #[inline]
    pub(crate) fn from_raw(outcome: Outcome, raw: [Raw; MAX_QUOTAS], len: usize) -> Self {
        Self {
            outcome,
            len: u8::try_from(len.min(MAX_QUOTAS)).unwrap_or(0),
            raw,
        }
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// Whether to let the request through: true when allowed, and in dry-run mode.
    pub fn is_allowed(&self) -> bool {
        self.outcome != Outcome::Limited
    }

    /// Whether the request was over a quota, enforced or not.
    pub fn is_over_limit(&self) -> bool {
        self.outcome != Outcome::Allowed
    }

    /// Each quota's state, in the limiter's order.
    pub fn policies(&self) -> impl ExactSizeIterator<Item = PolicyState> + '_ {
        self.raw[..usize::from(self.len)].iter().map(|r| r.state())
    }

    /// The quota that binds: the one with the fewest requests left (on a tie, the one that
    /// takes longest to reset).
    pub fn binding(&self) -> PolicyState {
        self.policies()
            .min_by(|a, b| a.remaining.cmp(&b.remaining).then(b.reset.cmp(&a.reset)))
            .unwrap_or_default()
    }

    /// Unit requests left right now under every quota.
    pub fn remaining(&self) -> u64 {
        self.binding().remaining
    }

    /// Time until the binding quota is fully replenished.
    pub fn reset(&self) -> Duration {
        self.binding().reset
    }

    /// When over the limit: how long until the same request would conform to every quota.
    pub fn retry_after(&self) -> Option<Duration> {
        self.policies().filter_map(|p| p.retry_after).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_quota_and_retry() {
        let secs = Duration::from_secs;
        let d = LimitDecision::new(
            Outcome::Limited,
            &[
                PolicyState {
                    remaining: 3,
                    reset: secs(1),
                    retry_after: None,
                },
                PolicyState {
                    remaining: 0,
                    reset: secs(60),
                    retry_after: Some(secs(5)),
                },
                PolicyState {
                    remaining: 0,
                    reset: secs(600),
                    retry_after: Some(secs(2)),
                },
            ],
        );
        assert!(!d.is_allowed());
        assert!(d.is_over_limit());
        assert_eq!(d.remaining(), 0);
        assert_eq!(d.reset(), secs(600));
        assert_eq!(d.retry_after(), Some(secs(5)));
        assert_eq!(d.policies().len(), 3);
        let states: Vec<PolicyState> = d.policies().collect();
        let dry = LimitDecision::new(Outcome::DryRunLimited, &states);
        assert_eq!(dry.policies().nth(1).unwrap().retry_after, Some(secs(5)));
        assert!(dry.is_allowed() && dry.is_over_limit());
        let too_many = LimitDecision::new(Outcome::Allowed, &[PolicyState::default(); 9]);
        assert_eq!(too_many.policies().len(), MAX_QUOTAS);
    }
}
