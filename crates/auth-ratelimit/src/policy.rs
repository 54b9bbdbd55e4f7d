//! [`Policy`]: what a limiter enforces, wherever its state lives: the quotas every key must
//! pass, dry-run mode, and the response fields. One type for the in-memory
//! [`RateLimiter`](crate::RateLimiter) and for auth-ratelimit-redis's limiter, so a policy is
//! written once and moved between one process and a fleet.

use crate::decision::MAX_QUOTAS;
use crate::error::Error;
use crate::headers::Headers;
use crate::quota::Quota;

/// The quotas, dry-run mode and response fields of a limiter. A single [`Quota`] converts
/// into a policy of that quota alone.
///
/// ```
/// use auth_ratelimit::{Policy, Quota, RateLimiter};
///
/// let policy = Policy::new(Quota::per_second(10)?).quota(Quota::per_hour(1_000)?);
/// let limiter = RateLimiter::builder(policy).build::<String>()?;
/// assert_eq!(limiter.quotas().len(), 2);
/// # Ok::<_, auth_ratelimit::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Policy {
    quotas: Vec<Quota>,
    dry_run: bool,
    legacy_headers: bool,
}

impl Policy {
    /// A policy of one quota; add more with [`Policy::quota`].
    pub fn new(quota: Quota) -> Self {
        Self {
            quotas: vec![quota],
            dry_run: false,
            legacy_headers: false,
        }
    }

    /// Adds a quota; every quota must admit a request (at most [`MAX_QUOTAS`], names unique).
    pub fn quota(mut self, quota: Quota) -> Self {
        self.quotas.push(quota);
        self
    }

    /// Dry-run mode: decide and report (headers, `LimitDecision::is_over_limit`), never refuse,
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

    /// The quotas, in order.
    pub fn quotas(&self) -> &[Quota] {
        &self.quotas
    }

    /// Whether refusals are only reported.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Checks the quotas: 1 to [`MAX_QUOTAS`], names unique. Every limiter's `build` calls it.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] saying which rule is broken.
    pub fn check(&self) -> Result<(), Error> {
        let quotas = &self.quotas;
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

    /// The response fields this policy sends.
    pub fn headers(&self) -> Headers {
        Headers::new(&self.quotas, self.legacy_headers)
    }
}

impl From<Quota> for Policy {
    fn from(quota: Quota) -> Self {
        Self::new(quota)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_checked() {
        let q = || Quota::per_second(1).unwrap();
        assert!(Policy::new(q()).check().is_ok());
        // Two quotas of the same name (the default name is the rate).
        assert!(Policy::new(q()).quota(q()).check().is_err());
        let named = |n: String| q().named(n).unwrap();
        let mut many = Policy::new(named("q0".into()));
        for i in 1..MAX_QUOTAS {
            many = many.quota(named(format!("q{i}")));
        }
        assert!(many.check().is_ok());
        assert!(many.quota(named("one too many".into())).check().is_err());
    }
}
