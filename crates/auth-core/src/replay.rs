//! [`ReplayCache`]: ids seen within their lifetime, so that a one-time credential (a DPoP
//! proof's `jti`, RFC 9449 §11.1) is used once. auth-jwt has an in-memory cache for one
//! server; auth-ratelimit-redis one on Redis for a fleet.

use std::future::Future;
use std::sync::Arc;

use crate::{BoxFuture, Error, UnixTime};

/// Remembers proof ids until they expire. Implement it on a shared store (Redis `SET NX PX`)
/// so that a fleet of servers refuses a proof replayed to another member.
pub trait ReplayCache: Send + Sync {
    /// Records `id` (a proof issued at `issued_at`, acceptable until `expires`): `true` if this
    /// is its first use, `false` if it was seen, or if it is older than what the cache can
    /// still vouch for.
    ///
    /// # Errors
    ///
    /// [`Error`] when the store cannot be reached: no decision.
    fn first_use(
        &self,
        id: [u8; 32],
        issued_at: UnixTime,
        expires: UnixTime,
    ) -> impl Future<Output = Result<bool, Error>> + Send;
}

/// [`ReplayCache`] in object-safe form, implemented for every cache: what [`BoxReplayCache`]
/// holds. Call [`ReplayCache`] instead.
pub trait DynReplayCache: Send + Sync {
    /// [`ReplayCache::first_use`], boxed.
    fn first_use_boxed(
        &self,
        id: [u8; 32],
        issued_at: UnixTime,
        expires: UnixTime,
    ) -> BoxFuture<'_, Result<bool, Error>>;
}

impl<C: ReplayCache> DynReplayCache for C {
    fn first_use_boxed(
        &self,
        id: [u8; 32],
        issued_at: UnixTime,
        expires: UnixTime,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(self.first_use(id, issued_at, expires))
    }
}

/// A type-erased, cheaply cloneable replay cache.
#[derive(Clone)]
pub struct BoxReplayCache(Arc<dyn DynReplayCache>);

impl BoxReplayCache {
    /// Erases `cache`'s type.
    pub fn new(cache: impl ReplayCache + 'static) -> Self {
        Self(Arc::new(cache))
    }
}

impl std::fmt::Debug for BoxReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BoxReplayCache").finish_non_exhaustive()
    }
}

impl ReplayCache for BoxReplayCache {
    async fn first_use(
        &self,
        id: [u8; 32],
        issued_at: UnixTime,
        expires: UnixTime,
    ) -> Result<bool, Error> {
        self.0.first_use_boxed(id, issued_at, expires).await
    }
}
