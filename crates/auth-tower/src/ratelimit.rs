//! [`RateLimit`]: auth-ratelimit's keyed limiter as a [`Gate`], so every response carries the
//! `RateLimit-Policy` and `RateLimit` fields and a refusal is 429 with `Retry-After` (or gRPC
//! status 8).

use std::fmt;
use std::hash::{BuildHasher, Hash};

use auth_core::{Clock, Denial, Principal};
use auth_ratelimit::RateLimiter;
use http::HeaderMap;
use http::request::Parts;

use crate::gate::Gate;

/// A rate-limit gate: `key` picks the request's key (or `None` to let it through unlimited),
/// the limiter decides, and the decision's headers go on the response.
pub struct RateLimit<K, C, S, F> {
    limiter: RateLimiter<K, C, S>,
    key: F,
}

impl<K, C, S, F> RateLimit<K, C, S, F>
where
    F: Fn(&Parts) -> Option<K> + Send + Sync,
{
    /// Limits requests by `key(request)`.
    pub fn new(limiter: RateLimiter<K, C, S>, key: F) -> Self {
        Self { limiter, key }
    }
}

/// The key function of [`per_principal`].
pub type SubjectKey = fn(&Parts) -> Option<String>;

/// Limits each authenticated principal by its subject. Stack it after the authentication gate;
/// requests without a principal (anonymous routes) pass unlimited by this gate, so limit those
/// by client address with [`RateLimit::new`] and `auth_ratelimit::client_addr`.
pub fn per_principal<C, S>(
    limiter: RateLimiter<String, C, S>,
) -> RateLimit<String, C, S, SubjectKey> {
    fn subject(parts: &Parts) -> Option<String> {
        parts
            .extensions
            .get::<Principal>()
            .map(|p| p.subject().to_owned())
    }
    RateLimit::new(limiter, subject)
}

impl<K, C, S, F> Gate for RateLimit<K, C, S, F>
where
    K: Hash + Eq + Clone + Send + Sync,
    C: Clock,
    S: BuildHasher + Clone + Send + Sync,
    F: Fn(&Parts) -> Option<K> + Send + Sync,
{
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let decided = match (self.key)(request) {
            None => Ok(HeaderMap::new()),
            Some(key) => {
                let decision = self.limiter.check(&key);
                self.limiter.enforce(&decision).map_err(Denial::from)
            }
        };
        std::future::ready(decided)
    }
}

impl<K, C: fmt::Debug, S, F> fmt::Debug for RateLimit<K, C, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}
