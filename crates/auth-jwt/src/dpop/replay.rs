//! [`ReplayCache`]: the `jti`s of proofs seen within their window, so that each proof is
//! used once.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use auth_core::{BoxFuture, Error, UnixTime};

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

/// An in-memory replay cache for one server, bounded to `capacity` entries.
///
/// When it is full, the oldest entry is forgotten and the cache raises its floor to that
/// entry's `iat`: a proof issued at or before the floor is refused as if replayed, since the
/// cache can no longer tell. A flood of unique proofs therefore costs a bounded amount of
/// memory and never lets a replay through; at worst, proofs older than the flood's start are
/// refused, and clients make fresh ones.
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    expiry: HashMap<[u8; 32], UnixTime>,
    /// In the order recorded: the id, its `iat` and its expiry.
    order: VecDeque<([u8; 32], UnixTime, UnixTime)>,
    floor: Option<UnixTime>,
}

impl MemoryReplayCache {
    /// A cache of at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::default(),
        }
    }

    /// The entries held now.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expiry
            .len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(&self, id: [u8; 32], issued_at: UnixTime, expires: UnixTime) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        if state.floor.is_some_and(|floor| issued_at <= floor) {
            return false;
        }
        // Forget what expired before this proof was made (a proof cannot be replayed after its
        // own expiry, and expiries are close to recording order).
        while let Some(&(old, _, old_expiry)) = state.order.front() {
            if old_expiry >= issued_at {
                break;
            }
            state.order.pop_front();
            if state.expiry.get(&old) == Some(&old_expiry) {
                state.expiry.remove(&old);
            }
        }
        if state.expiry.contains_key(&id) {
            return false;
        }
        while state.expiry.len() >= self.capacity {
            let Some((old, old_iat, old_expiry)) = state.order.pop_front() else {
                break;
            };
            if state.expiry.get(&old) == Some(&old_expiry) {
                state.expiry.remove(&old);
            }
            state.floor = Some(state.floor.map_or(old_iat, |f| f.max(old_iat)));
        }
        state.expiry.insert(id, expires);
        state.order.push_back((id, issued_at, expires));
        true
    }
}

impl ReplayCache for MemoryReplayCache {
    fn first_use(
        &self,
        id: [u8; 32],
        issued_at: UnixTime,
        expires: UnixTime,
    ) -> impl Future<Output = Result<bool, Error>> + Send {
        std::future::ready(Ok(self.record(id, issued_at, expires)))
    }
}
