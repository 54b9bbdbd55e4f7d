//! [`KeyRecord`]: what the store keeps about a key (never the key itself), and the typed
//! per-key [`RateQuota`], which reaches rate limiters as the principal's
//! [`OwnQuota`](auth_core::OwnQuota).

use std::num::NonZeroU32;
use std::time::Duration;

use auth_core::OwnQuota;
use auth_core::{Scopes, UnixTime};

use crate::digest::KeyDigest;
use crate::error::Error;
use crate::id::KeyId;
use crate::refusal::Refusal;

/// Everything the store holds about one key: its id and digest, never the key.
///
/// Plain data: stores build it from their rows, and listings show it. Times are instants on
/// the [`Clock`](auth_core::Clock) the keys are managed with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key id, the store's index.
    pub id: KeyId,
    /// The digest of the whole key (see [`KeyHasher`](crate::KeyHasher)).
    pub digest: KeyDigest,
    /// The prefix the key was issued with (`sk_live`), for listings.
    pub prefix: String,
    /// Who the key speaks for: the subject of the [`Principal`](auth_core::Principal).
    pub owner: String,
    /// A name for people: "CI deploy key".
    pub name: String,
    /// The scopes the key grants.
    pub scopes: Scopes,
    /// When it was issued.
    pub created: UnixTime,
    /// The first instant at which it is refused, if it expires.
    pub expires: Option<UnixTime>,
    /// When it was revoked; a revoked key is refused from then on, whatever the clock says.
    pub revoked: Option<UnixTime>,
    /// How many more requests it may authenticate, if limited.
    pub remaining_uses: Option<u64>,
    /// Its own rate limit, for a rate limiter to read from the principal.
    pub rate_quota: Option<RateQuota>,
    /// The key that replaced it in a rotation.
    pub replaced_by: Option<KeyId>,
}

impl KeyRecord {
    /// The record of a key `id` with `digest`, issued at `created` under `prefix` to
    /// `owner`, named `name`: no scopes, no expiry, not revoked, unlimited uses, no quota, no
    /// successor. Set the rest on the value (every field is public).
    pub fn new(
        id: KeyId,
        digest: KeyDigest,
        (prefix, owner, name): (&str, &str, &str),
        created: UnixTime,
    ) -> Self {
        Self {
            id,
            digest,
            prefix: prefix.to_owned(),
            owner: owner.to_owned(),
            name: name.to_owned(),
            scopes: Scopes::default(),
            created,
            expires: None,
            revoked: None,
            remaining_uses: None,
            rate_quota: None,
            replaced_by: None,
        }
    }

    /// Why the key is refused at `now` (revoked, then expired, then out of uses), or `None`
    /// if it is usable.
    pub fn refusal_at(&self, now: UnixTime) -> Option<Refusal> {
        if self.revoked.is_some() {
            Some(Refusal::Revoked)
        } else if self.expires.is_some_and(|at| now >= at) {
            Some(Refusal::Expired)
        } else if self.remaining_uses == Some(0) {
            Some(Refusal::Exhausted)
        } else {
            None
        }
    }

    /// Whether the key is usable at `now`.
    pub fn is_active_at(&self, now: UnixTime) -> bool {
        self.refusal_at(now).is_none()
    }

    /// The key's own quota as rate limiters take it, if it has one: its [`RateQuota`] for
    /// the key id, named [`RateQuota::POLICY_NAME`]. The principal of a key carries it (see
    /// [`principal`](crate::principal)); a server that authenticates something minted from
    /// the key (an access token) can attach it too, so the token spends the key's budget.
    pub fn own_quota(&self) -> Option<OwnQuota> {
        self.rate_quota.map(|q| {
            OwnQuota::new(self.id.as_str(), q.requests(), q.period())
                .with_burst(q.burst())
                .named(RateQuota::POLICY_NAME)
        })
    }
}

/// A per-key rate limit: `requests` per `period`, with bursts of up to `burst` requests.
///
/// auth-apikey stores it and puts it on the principal twice: as itself
/// (`principal.attribute::<RateQuota>()`), and as auth-core's
/// [`OwnQuota`](auth_core::OwnQuota) for the key's id
/// ([`KeyRecord::own_quota`]), which `auth_core::RateLimit::with_own_quotas` enforces in
/// place of the limiter's default quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateQuota {
    requests: NonZeroU32,
    period: Duration,
    burst: NonZeroU32,
}

impl RateQuota {
    /// The name of a key's own quota in the `RateLimit` and `RateLimit-Policy` fields:
    /// `key` (`RateLimit: "key";r=0;t=60`), apart from the default quotas' names.
    pub const POLICY_NAME: &'static str = "key";

    /// `requests` per `period`, with a burst of `requests`.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `period` is zero.
    pub fn new(requests: NonZeroU32, period: Duration) -> Result<Self, Error> {
        if period.is_zero() {
            return Err(Error::Misconfigured("rate quota period must not be zero"));
        }
        Ok(Self {
            requests,
            period,
            burst: requests,
        })
    }

    /// Sets the burst: how many requests may arrive at once.
    pub fn with_burst(mut self, burst: NonZeroU32) -> Self {
        self.burst = burst;
        self
    }

    /// Requests allowed per period.
    pub fn requests(&self) -> NonZeroU32 {
        self.requests
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The burst.
    pub fn burst(&self) -> NonZeroU32 {
        self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::KeyHasher;

    fn record() -> KeyRecord {
        KeyRecord {
            id: "AbCd1234".parse().unwrap(),
            digest: KeyHasher::sha256().digest(b"k"),
            prefix: "sk_test".into(),
            owner: "alice".into(),
            name: "ci".into(),
            scopes: Scopes::from_space_separated("read"),
            created: UnixTime::from_secs(100),
            expires: Some(UnixTime::from_secs(200)),
            revoked: None,
            remaining_uses: Some(1),
            rate_quota: None,
            replaced_by: None,
        }
    }

    #[test]
    fn refusal_order_and_boundaries() {
        let mut r = record();
        assert_eq!(r.refusal_at(UnixTime::from_secs(199)), None);
        assert_eq!(
            r.refusal_at(UnixTime::from_secs(200)),
            Some(Refusal::Expired)
        );
        r.remaining_uses = Some(0);
        assert_eq!(
            r.refusal_at(UnixTime::from_secs(150)),
            Some(Refusal::Exhausted)
        );
        r.revoked = Some(UnixTime::from_secs(300));
        // Revocation wins, even "before" it happened on a clock that went back.
        assert_eq!(
            r.refusal_at(UnixTime::from_secs(150)),
            Some(Refusal::Revoked)
        );
    }

    #[test]
    fn the_own_quota_is_the_keys_quota_for_its_id() {
        let mut r = record();
        assert_eq!(r.own_quota(), None);
        let n = NonZeroU32::new(2).unwrap();
        let quota = RateQuota::new(n, Duration::from_secs(60)).unwrap();
        r.rate_quota = Some(quota.with_burst(NonZeroU32::MIN));
        let own = r.own_quota().unwrap();
        assert_eq!((own.id(), own.name()), ("AbCd1234", "key"));
        assert_eq!((own.requests(), own.period()), (n, Duration::from_secs(60)));
        assert_eq!(own.burst(), NonZeroU32::MIN);
    }

    #[test]
    fn quota_needs_a_period() {
        let n = NonZeroU32::new(10).unwrap();
        assert!(RateQuota::new(n, Duration::ZERO).is_err());
        let q = RateQuota::new(n, Duration::from_secs(60)).unwrap();
        assert_eq!(q.burst(), n);
        assert_eq!(q.with_burst(NonZeroU32::MIN).burst().get(), 1);
    }
}
