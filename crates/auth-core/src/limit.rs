//! The rate-limit seam: a [`Limiter`] admits or refuses one request for a key, wherever its
//! state lives (auth-ratelimit's in-memory `RateLimiter`, auth-ratelimit-redis's
//! `RedisLimiter` for a fleet), and [`RateLimit`] makes any limiter a [`Gate`] keyed by what
//! the request says (its principal, its client address).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http::HeaderMap;
use http::request::Parts;

use crate::BoxFuture;
use crate::gate::Gate;
use crate::principal::Principal;
use crate::rejection::Denial;

/// Admits or refuses requests per key, atomically, wherever the state lives.
pub trait Limiter: Send + Sync {
    /// One request of `cost` units for `key`: the `RateLimit` headers for the response when
    /// admitted.
    ///
    /// # Errors
    ///
    /// The 429 [`Rejection`](crate::Rejection) (with `Retry-After` and the `RateLimit`
    /// fields) when limited; [`Error::Unavailable`](crate::Error::Unavailable) (503) when
    /// shared state cannot answer in time; [`Error::Misconfigured`](crate::Error) when no
    /// wait could admit `cost`.
    fn admit(&self, key: &str, cost: u32)
    -> impl Future<Output = Result<HeaderMap, Denial>> + Send;
}

/// [`Limiter`] in object-safe form, implemented for every limiter: what [`BoxLimiter`] holds.
pub trait DynLimiter: Send + Sync {
    /// [`Limiter::admit`], boxed.
    fn admit_boxed<'a>(
        &'a self,
        key: &'a str,
        cost: u32,
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
}

impl<L: Limiter + ?Sized> Limiter for Arc<L> {
    fn admit(
        &self,
        key: &str,
        cost: u32,
    ) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        (**self).admit(key, cost)
    }
}

/// The TCP peer of a request, put into its extensions by the server that accepted the
/// connection (`http` has no place for it), for gates keyed by client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A limiter as a [`Gate`]: `key` picks the request's key (`None` lets it through unlimited
/// by this gate), the limiter decides, and its headers go on the response.
pub struct RateLimit<L, K> {
    limiter: L,
    key: K,
    cost: u32,
}

/// The key function of [`RateLimit::per_principal`].
pub type SubjectKey = fn(&Parts) -> Option<String>;

impl<L: Limiter> RateLimit<L, SubjectKey> {
    /// Limits each principal by its subject. Stack it after the authentication gate;
    /// requests without a principal (anonymous routes) pass unlimited by this gate.
    pub fn per_principal(limiter: L) -> Self {
        fn subject(parts: &Parts) -> Option<String> {
            parts
                .extensions
                .get::<Principal>()
                .map(|p| p.subject().to_owned())
        }
        Self::new(limiter, subject)
    }
}

impl<L: Limiter, K: Fn(&Parts) -> Option<String> + Send + Sync> RateLimit<L, K> {
    /// Limits requests by `key(request)`, one unit each.
    pub fn new(limiter: L, key: K) -> Self {
        Self {
            limiter,
            key,
            cost: 1,
        }
    }

    /// Each request costs `cost` units instead of one.
    pub fn with_cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }
}

impl<L: Limiter, K: Fn(&Parts) -> Option<String> + Send + Sync> Gate for RateLimit<L, K> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        match (self.key)(request) {
            None => Ok(HeaderMap::new()),
            Some(key) => self.limiter.admit(&key, self.cost).await,
        }
    }
}

impl<L: fmt::Debug, K> fmt::Debug for RateLimit<L, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("limiter", &self.limiter)
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}
