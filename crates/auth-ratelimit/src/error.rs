//! The crate's one error type, and how it maps onto auth-core's 503 / 500 split.

use std::borrow::Cow;

use auth_core::BoxError;

/// Why no rate-limit decision could be made, or why a limiter could not be built.
///
/// A request over its limit is not an error: it is a [`LimitDecision`](crate::LimitDecision) that is
/// not allowed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A quota makes no sense (zero count, zero period, sub-nanosecond interval, zero burst).
    #[error("invalid quota: {0}")]
    InvalidQuota(Cow<'static, str>),
    /// A limiter setting makes no sense (no quota, too many quotas, zero keys).
    #[error("invalid limiter configuration: {0}")]
    Misconfigured(Cow<'static, str>),
    /// A request costs more than a quota's burst, so no wait would ever admit it.
    #[error("a request of cost {cost} can never fit a burst of {burst}")]
    CostExceedsBurst {
        /// The request's cost.
        cost: u32,
        /// The smallest burst among the quotas.
        burst: u32,
    },
    /// The shared store could not be reached in time or answered garbage.
    #[error("rate-limit store {what} unavailable")]
    Unavailable {
        /// What failed, for logs: "redis 127.0.0.1:6379".
        what: Cow<'static, str>,
        /// The underlying failure.
        #[source]
        source: BoxError,
    },
}

impl From<Error> for auth_core::Error {
    /// [`Error::Unavailable`] becomes 503, everything else is a misconfiguration (500).
    fn from(e: Error) -> Self {
        match e {
            Error::Unavailable { what, source } => Self::Unavailable {
                what: format!("rate-limit store {what}").into(),
                retry_after: None,
                source: Some(source),
            },
            other => Self::Misconfigured(other.to_string().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_503_or_500() {
        let down = Error::Unavailable {
            what: "redis".into(),
            source: "connection refused".into(),
        };
        assert_eq!(auth_core::Error::from(down).status(), 503);
        let cost = Error::CostExceedsBurst { cost: 5, burst: 2 };
        assert_eq!(
            cost.to_string(),
            "a request of cost 5 can never fit a burst of 2"
        );
        assert_eq!(auth_core::Error::from(cost).status(), 500);
    }
}
