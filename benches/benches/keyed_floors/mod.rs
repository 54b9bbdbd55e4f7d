//! The keyed check's floors, beside which `ratelimit.rs` prints auth-ratelimit and governor.

use auth_core::Clock as _;
use auth_ratelimit::FastClock;

use super::KEYS;

/// Two floors for the keyed check, each on the same clock read (`FastClock::now_nanos`) and
/// the same GCRA step as the limiter, so what separates them from it is the key's state:
///
/// - `cas`: one compare-and-swap on a TAT in a fixed array indexed by the key itself. No map,
///   no hashing, no eviction, no cap: what any keyed limiter costs at the least (one clock read
///   and one atomic read-modify-write), and not a limiter (it cannot take a key it was not
///   built for).
/// - `mutex`: the keys' TATs in eight `Mutex<HashMap>` shards, looked up under the lock:
///   auth-ratelimit's design without its eviction, cap and decision.
pub(crate) struct CheckFloors {
    clock: FastClock,
    cas: Vec<std::sync::atomic::AtomicU64>,
    shards: Vec<FloorShard>,
    hasher: auth_ratelimit::DefaultHasher,
}

#[repr(align(128))]
struct FloorShard(
    std::sync::Mutex<std::collections::HashMap<u64, u64, auth_ratelimit::DefaultHasher>>,
);

/// The GCRA step on the bench's quota (one request per nanosecond, burst 1e9), written out
/// as auth-ratelimit's `gcra::step_raw` computes it (which is private to that crate): the TAT
/// after an admitted request, or `None` when refused.
#[inline(always)]
fn floor_step(tat: u64, now: u64) -> Option<u64> {
    const CAPACITY: u64 = 1_000_000_000;
    let next = tat.max(now).saturating_add(1);
    (next.saturating_sub(CAPACITY) <= now).then_some(next)
}

impl CheckFloors {
    pub(crate) fn new() -> Self {
        let hasher = auth_ratelimit::DefaultHasher::default();
        let shards = (0..8)
            .map(|_| {
                let map = std::collections::HashMap::with_hasher(hasher.clone());
                FloorShard(std::sync::Mutex::new(map))
            })
            .collect();
        Self {
            clock: FastClock::new(),
            cas: (0..KEYS)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
            shards,
            hasher,
        }
    }

    pub(crate) fn cas(&self, key: u64) -> bool {
        use std::sync::atomic::Ordering;
        let now = self.clock.now_nanos();
        let Some(slot) = usize::try_from(key).ok().and_then(|k| self.cas.get(k)) else {
            return false;
        };
        slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
            floor_step(tat, now)
        })
        .is_ok()
    }

    pub(crate) fn mutex(&self, key: u64) -> bool {
        use std::hash::BuildHasher as _;
        let now = self.clock.now_nanos();
        let hash = self.hasher.hash_one(key);
        #[allow(clippy::cast_possible_truncation)] // masked to the shard count
        let shard = &self.shards[(hash >> 32) as usize & 7].0;
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tat = map.entry(key).or_insert(0);
        floor_step(*tat, now).map(|next| *tat = next).is_some()
    }
}
