//! The rate-limit seam: a [`Limiter`] admits or refuses one request for a key, wherever its
//! state lives (auth-ratelimit's in-memory `RateLimiter`, auth-ratelimit-redis's
//! `RedisLimiter` for a fleet), and [`RateLimit`] makes any limiter a [`Gate`] keyed by what
//! the request says (its principal, its client address). A principal may carry an
//! [`OwnQuota`] (an API key's own rate limit), which a gate built
//! [`with_own_quotas`](RateLimit::with_own_quotas) enforces in place of the limiter's quotas.

mod own_quota;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;
use http::request::Parts;

use crate::BoxFuture;
use crate::gate::Gate;
use crate::principal::{Principal, Subject};
use crate::rejection::{Denial, Error};

pub use own_quota::OwnQuota;

/// Admits or refuses requests per key, atomically, wherever the state lives.
pub trait Limiter: Send + Sync {
    /// One request of `cost` units for `key`: the `RateLimit` headers for the response when
    /// admitted.
    ///
    /// # Errors
    ///
    /// The 429 [`Rejection`](crate::Rejection) (with `Retry-After` and the `RateLimit`
    /// fields) when limited; [`Error::Unavailable`] (503) when
    /// shared state cannot answer in time; [`Error::Misconfigured`](crate::Error) when no
    /// wait could admit `cost`.
    fn admit(&self, key: &str, cost: u32)
    -> impl Future<Output = Result<HeaderMap, Denial>> + Send;

    /// One request of `cost` units for `key` under `quota` alone, in place of the limiter's
    /// own quotas: for a caller that carries a quota of its own. The fields name the quota
    /// [`OwnQuota::name`]. The caller keeps such keys apart from those [`Limiter::admit`]
    /// decides ([`RateLimit`] appends `#` and the quota's id).
    ///
    /// The default refuses with [`Error::Misconfigured`] (500): a limiter that cannot apply a
    /// quota per call must not apply its own quotas instead and so ignore the caller's.
    ///
    /// # Errors
    ///
    /// As [`Limiter::admit`]; [`Error::Misconfigured`] too when `quota` is not one the
    /// limiter can enforce.
    fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let _ = (key, cost);
        let refused = Error::Misconfigured(
            format!(
                "this limiter cannot enforce a quota of the caller's own ({:?})",
                quota.name()
            )
            .into(),
        );
        std::future::ready(Err(Denial::Failed(refused)))
    }
}

/// [`Limiter`] in object-safe form, implemented for every limiter: what [`BoxLimiter`] holds.
pub trait DynLimiter: Send + Sync {
    /// [`Limiter::admit`], boxed.
    fn admit_boxed<'a>(
        &'a self,
        key: &'a str,
        cost: u32,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>>;

    /// [`Limiter::admit_under`], boxed.
    fn admit_under_boxed<'a>(
        &'a self,
        key: &'a str,
        cost: u32,
        quota: &'a OwnQuota,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>>;
}

impl<L: Limiter> DynLimiter for L {
    fn admit_boxed<'a>(
        &'a self,
        key: &'a str,
        cost: u32,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>> {
        Box::pin(self.admit(key, cost))
    }

    fn admit_under_boxed<'a>(
        &'a self,
        key: &'a str,
        cost: u32,
        quota: &'a OwnQuota,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>> {
        Box::pin(self.admit_under(key, cost, quota))
    }
}

/// A type-erased, cheaply cloneable limiter: one process's or a fleet's, chosen at start-up.
#[derive(Clone)]
pub struct BoxLimiter(Arc<dyn DynLimiter>);

impl BoxLimiter {
    /// Erases `limiter`'s type.
    pub fn new(limiter: impl Limiter + 'static) -> Self {
        Self(Arc::new(limiter))
    }
}

impl fmt::Debug for BoxLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxLimiter").finish_non_exhaustive()
    }
}

impl Limiter for BoxLimiter {
    async fn admit(&self, key: &str, cost: u32) -> Result<HeaderMap, Denial> {
        self.0.admit_boxed(key, cost).await
    }

    async fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> Result<HeaderMap, Denial> {
        self.0.admit_under_boxed(key, cost, quota).await
    }
}

impl<L: Limiter + ?Sized> Limiter for Arc<L> {
    fn admit(
        &self,
        key: &str,
        cost: u32,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        (**self).admit(key, cost)
    }

    fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        (**self).admit_under(key, cost, quota)
    }
}

/// The TCP peer of a request, put into its extensions by the server that accepted the
/// connection (`http` has no place for it), for gates keyed by client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A limiter as a [`Gate`]: `key` picks the request's key (`None` lets it through unlimited
/// by this gate), the limiter decides, and its headers go on the response. The key is any
/// text: a `String`, or a [`Subject`] (which [`RateLimit::per_principal`] takes from the
/// principal without copying it).
pub struct RateLimit<L, K> {
    limiter: L,
    key: K,
    cost: u32,
    own_quotas: bool,
}

/// The key function of [`RateLimit::per_principal`]: the principal's [`Subject`], a clone
/// that allocates nothing.
pub type SubjectKey = fn(&Parts) -> Option<Subject>;

impl<L: Limiter> RateLimit<L, SubjectKey> {
    /// Limits each principal by its subject. Stack it after the authentication gate;
    /// requests without a principal (anonymous routes) pass unlimited by this gate. Add
    /// [`with_own_quotas`](RateLimit::with_own_quotas) to hold principals that carry an
    /// [`OwnQuota`] to it.
    pub fn per_principal(limiter: L) -> Self {
        fn subject(parts: &Parts) -> Option<Subject> {
            parts
                .extensions
                .get::<Principal>()
                .map(|p| p.shared_subject().clone())
        }
        Self::new(limiter, subject as SubjectKey)
    }
}

impl<L: Limiter, K> RateLimit<L, K> {
    /// Limits requests by `key(request)`, one unit each.
    pub fn new<R>(limiter: L, key: K) -> Self
    where
        K: Fn(&Parts) -> Option<R> + Send + Sync,
        R: AsRef<str> + Send,
    {
        Self {
            limiter,
            key,
            cost: 1,
            own_quotas: false,
        }
    }

    /// Holds a request whose [`Principal`] carries an [`OwnQuota`] attribute (an API key with
    /// a quota of its own) to that quota alone, in place of the limiter's quotas, through
    /// [`Limiter::admit_under`]: keyed by `key(request)`, `#` and the quota's id, so that each
    /// credential has a budget of its own and never spends (or is held to) the default one.
    /// Other requests are limited as before. The quota is read on every request: a credential
    /// whose quota changes is held to the new one from its next request on.
    pub fn with_own_quotas(mut self) -> Self {
        self.own_quotas = true;
        self
    }

    /// Each request costs `cost` units instead of one.
    pub fn with_cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }
}

impl<L, K, R> Gate for RateLimit<L, K>
where
    L: Limiter,
    K: Fn(&Parts) -> Option<R> + Send + Sync,
    R: AsRef<str> + Send,
{
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        let Some(key) = (self.key)(request) else {
            return Ok(HeaderMap::new());
        };
        let key = key.as_ref();
        let own = if self.own_quotas {
            request
                .extensions
                .get::<Principal>()
                .and_then(Principal::attribute::<OwnQuota>)
        } else {
            None
        };
        match own {
            None => self.limiter.admit(key, self.cost).await,
            Some(quota) => {
                let key = format!("{key}#{}", quota.id());
                self.limiter.admit_under(&key, self.cost, quota).await
            }
        }
    }
}

impl<L: fmt::Debug, K> fmt::Debug for RateLimit<L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("limiter", &self.limiter)
            .field("cost", &self.cost)
            .field("own_quotas", &self.own_quotas)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // Denial by value, as every gate returns it
mod tests {
    use std::num::NonZeroU32;
    use std::sync::Mutex;
    use std::time::Duration;

    use http::HeaderValue;

    use super::*;
    use crate::principal::CredentialKind;

    /// Records what it was asked; answers the key (and the quota's name) in a header.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Limiter for Recorder {
        async fn admit(&self, key: &str, _: u32) -> Result<HeaderMap, Denial> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(key.to_owned());
            Ok(HeaderMap::new())
        }

        async fn admit_under(
            &self,
            key: &str,
            _: u32,
            quota: &OwnQuota,
        ) -> Result<HeaderMap, Denial> {
            let seen = format!("{key} under {}", quota.name());
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
            let mut h = HeaderMap::new();
            h.insert("ratelimit-policy", HeaderValue::from_static("\"key\";q=2"));
            Ok(h)
        }
    }

    /// Admits through the trait's default `admit_under`.
    struct Plain;

    impl Limiter for Plain {
        async fn admit(&self, _: &str, _: u32) -> Result<HeaderMap, Denial> {
            Ok(HeaderMap::new())
        }
    }

    fn run<G: Gate>(gate: &G, principal: Option<Principal>) -> Result<HeaderMap, Denial> {
        let (mut parts, ()) = http::Request::get("/")
            .body(())
            .unwrap_or_default()
            .into_parts();
        if let Some(p) = principal {
            parts.extensions.insert(p);
        }
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(gate.check(&mut parts)))
            .unwrap_or_else(|e| Err(Error::Misconfigured(e.to_string().into()).into()))
    }

    fn alice(quota: Option<OwnQuota>) -> Option<Principal> {
        let p = Principal::new("alice", CredentialKind::ApiKey);
        Some(match quota {
            Some(q) => p.with_attribute(q),
            None => p,
        })
    }

    fn quota(id: &str) -> OwnQuota {
        let two = NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN);
        OwnQuota::new(id, two, Duration::from_secs(60)).named("key")
    }

    #[test]
    fn own_quotas_are_enforced_only_when_asked_and_each_under_its_own_key() {
        let limiter = Arc::new(Recorder::default());
        let plain = RateLimit::per_principal(Arc::clone(&limiter));
        let own = RateLimit::per_principal(BoxLimiter::new(Arc::clone(&limiter))).with_own_quotas();
        assert!(run(&plain, alice(Some(quota("K1")))).is_ok());
        let headers = run(&own, alice(Some(quota("K1")))).unwrap_or_default();
        assert!(headers.contains_key("ratelimit-policy"), "{headers:?}");
        assert!(run(&own, alice(None)).is_ok());
        assert!(run(&own, None).is_ok());
        let seen = limiter.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(seen, ["alice", "alice#K1 under key", "alice"]);
    }

    #[test]
    fn a_limiter_that_cannot_take_a_quota_refuses_rather_than_ignore_it() {
        let gate = RateLimit::per_principal(Plain).with_own_quotas();
        assert!(run(&gate, alice(None)).is_ok());
        let refused = run(&gate, alice(Some(quota("K1")))).unwrap_err();
        assert_eq!(refused.status(), 500);
        assert!(matches!(refused, Denial::Failed(Error::Misconfigured(_))));
    }
}
