//! [`MemoryReplayCache`]: the `jti`s of proofs seen within their window, in memory, so that
//! each proof is used once on one server.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use auth_core::{Error, ReplayCache, UnixTime};

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
