//! [`Store`]: a limiter whose state may live elsewhere (Redis, for a fleet), behind an async
//! call. No runtime: implementations return `impl Future`.
//!
//! The in-memory [`RateLimiter`] implements it too (the future is ready at once), so code
//! written against `Store` runs on one process or a fleet unchanged, and a distributed store
//! can fall back to a local limiter.

use std::future::Future;
use std::hash::BuildHasher;

use auth_core::Clock;
use http::HeaderMap;

use crate::headers::Headers;
use crate::{Decision, Error, Quota, RateLimiter};

/// Decides on requests for string keys, atomically, wherever the state lives.
pub trait Store: Send + Sync {
    /// Decides on one request of `cost` units for `key`.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the shared state could not be reached in time (maps to 503
    /// through `auth_core::Error`), [`Error::CostExceedsBurst`] when no wait could admit `cost`.
    fn check(&self, key: &str, cost: u32) -> impl Future<Output = Result<Decision, Error>> + Send;

    /// The quotas applied to every key, in order (for the response fields).
    fn quotas(&self) -> &[Quota];

    /// Headers for the response, or the 429 rejection, as [`RateLimiter::enforce`] (without
    /// the legacy fields unless the implementation was configured to send them).
    ///
    /// # Errors
    ///
    /// The 429 rejection when the decision is over the limit and enforced.
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere
    fn enforce(&self, decision: &Decision) -> Result<HeaderMap, auth_core::Rejection> {
        let quotas = self.quotas();
        Headers::new(quotas, false).enforce(quotas, decision)
    }
}

impl<C: Clock, S: BuildHasher + Clone + Send + Sync> Store for RateLimiter<String, C, S> {
    fn check(&self, key: &str, cost: u32) -> impl Future<Output = Result<Decision, Error>> + Send {
        std::future::ready(self.check_cost(key, cost))
    }

    fn quotas(&self) -> &[Quota] {
        RateLimiter::quotas(self)
    }

    #[allow(clippy::result_large_err)]
    fn enforce(&self, decision: &Decision) -> Result<HeaderMap, auth_core::Rejection> {
        RateLimiter::enforce(self, decision)
    }
}
