//! [`OwnQuota`]: a rate limit a principal carries for itself (an API key's own quota), which
//! a [`RateLimit`](super::RateLimit) gate built [`with_own_quotas`](super::RateLimit::with_own_quotas)
//! enforces in place of its limiter's quotas.

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::time::Duration;

/// A principal's own rate limit: `requests` per `period`, up to `burst` at once, for the
/// credential `id`.
///
/// An authenticator puts it on the [`Principal`](crate::Principal) as an attribute (auth-apikey
/// does for a key with a quota of its own; any authenticator may, from a token's claim say).
/// A [`RateLimit`](super::RateLimit) gate built with
/// [`with_own_quotas`](super::RateLimit::with_own_quotas) then limits that principal by this
/// quota alone instead of the limiter's quotas, under a state of its own keyed by `id` (so each
/// credential has its own budget, apart from its subject's default one), and names the quota
/// [`name`](Self::name) in the `RateLimit` and `RateLimit-Policy` fields.
///
/// The gate reads it on every request, so a credential whose quota changes is held to the
/// new one from its next request on. Whether the numbers make a quota a limiter can enforce
/// (a period longer than zero, an interval of at least a nanosecond, a name that is printable
/// ASCII) is the limiter's call: one that cannot take it refuses the request with 500.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use auth_core::OwnQuota;
///
/// let two = NonZeroU32::new(2).unwrap();
/// let quota = OwnQuota::new("AbCd1234", two, Duration::from_secs(60)).named("key");
/// assert_eq!((quota.id(), quota.requests(), quota.burst()), ("AbCd1234", two, two));
/// assert_eq!(quota.name(), "key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnQuota {
    id: String,
    requests: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
    name: Cow<'static, str>,
}

impl OwnQuota {
    /// The name a quota gets unless [`named`](Self::named): `own`.
    pub const DEFAULT_NAME: &'static str = "own";

    /// `requests` per `period` for the credential `id` (an API key's id), with a burst of
    /// `requests`, named [`OwnQuota::DEFAULT_NAME`].
    pub fn new(id: impl Into<String>, requests: NonZeroU32, period: Duration) -> Self {
        Self {
            id: id.into(),
            requests,
            period,
            burst: requests,
            name: Cow::Borrowed(Self::DEFAULT_NAME),
        }
    }

    /// Sets how many requests may arrive at once.
    #[must_use]
    pub fn with_burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = burst;
        self
    }

    /// Names the quota in the `RateLimit` fields (printable ASCII, distinct from the names of
    /// the limiter's own quotas so that a client can tell them apart).
    #[must_use]
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The credential the quota belongs to: what its state is kept under.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Requests per period.
    pub fn requests(&self) -> NonZeroU32 {
        self.requests
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// How many requests may arrive at once.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }

    /// The name in the `RateLimit` fields.
    pub fn name(&self) -> &str {
        &self.name
    }
}
