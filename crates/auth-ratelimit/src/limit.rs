//! The in-memory limiter as auth-core's [`Limiter`]: the seam every rate-limit gate and
//! server uses, so code written against it runs on one process or, with
//! auth-ratelimit-redis, on a fleet, unchanged. The decision is taken at once (the future is
//! ready when made). A caller's own quota ([`OwnQuota`]) is decided by
//! [`RateLimiter::check_under`] on the same state as every other key.

use std::future::Future;
use std::hash::BuildHasher;

use auth_core::OwnQuota;
use auth_core::{Clock, Denial, Limiter};
use http::HeaderMap;

use crate::{Quota, RateLimiter};

/// Counts a refusal (`auth_ratelimit_rejections_total`) with the `metrics` feature.
#[allow(clippy::result_large_err)] // auth-core's Denial, by value as every limiter returns it
fn counted(decided: Result<HeaderMap, Denial>) -> Result<HeaderMap, Denial> {
    #[cfg(feature = "metrics")]
    if decided.is_err() {
        metrics::counter!("auth_ratelimit_rejections_total").increment(1);
    }
    decided
}

impl<C: Clock, S: BuildHasher + Clone + Send + Sync> Limiter for RateLimiter<String, C, S> {
    fn admit(
        &self,
        key: &str,
        cost: u32,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let decided = match self.check_cost(key, cost) {
            Ok(decision) => self.enforce(&decision).map_err(Denial::from),
            Err(e) => Err(Denial::Failed(e.into())),
        };
        std::future::ready(counted(decided))
    }

    fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let decided = match Quota::try_from(quota).and_then(|q| {
            self.check_under(key, &q, cost)
                .map(|decision| (q, decision))
        }) {
            Ok((quota, decision)) => self.enforce_under(&quota, &decision).map_err(Denial::from),
            Err(e) => Err(Denial::Failed(e.into())),
        };
        std::future::ready(counted(decided))
    }
}

#[cfg(test)]
#[path = "limit/own_quota_tests.rs"]
mod own_quota_tests;

#[cfg(test)]
mod tests {
    use auth_core::{ManualClock, UnixTime};

    use super::*;
    use crate::Quota;

    #[test]
    #[allow(clippy::result_large_err)] // auth-core's Denial, by value as every gate returns it
    fn admits_the_burst_then_answers_429_with_the_fields() {
        let limiter = RateLimiter::builder(Quota::per_minute(2).unwrap())
            .clock(ManualClock::new(UnixTime::from_secs(1_000)))
            .build::<String>()
            .unwrap();
        let admit = |key: &str| -> Result<HeaderMap, Denial> {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match std::pin::pin!(limiter.admit(key, 1)).poll(&mut cx) {
                std::task::Poll::Ready(r) => r,
                std::task::Poll::Pending => panic!("the in-memory limiter never waits"),
            }
        };
        for left in ["r=1", "r=0"] {
            let headers = admit("k").unwrap();
            assert!(headers["ratelimit"].to_str().unwrap().contains(left));
        }
        let refused = admit("k").unwrap_err();
        assert_eq!(refused.status(), 429);
        assert!(refused.to_response().headers().contains_key("retry-after"));
        // Another key has its own budget; a cost beyond the burst is a server error.
        assert!(admit("other").is_ok());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let too_much = std::pin::pin!(limiter.admit("k2", 3)).poll(&mut cx);
        assert!(matches!(
            too_much,
            std::task::Poll::Ready(Err(Denial::Failed(_)))
        ));
    }
}
