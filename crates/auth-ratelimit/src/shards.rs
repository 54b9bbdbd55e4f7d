//! The keyed state: a sharded map from key to theoretical arrival times, with eviction of
//! replenished keys and a cap on how many keys are tracked.
//!
//! The hot path takes a shard's read lock (never held across anything but a map insert or a
//! sweep) and does a compare-and-swap on the key's TAT; the write lock is taken only to insert
//! a key not seen before.
//!
//! Eviction policy: a key is evicted only when every one of its quotas is fully replenished
//! (TAT at or before now), which is indistinguishable from a key never seen, so eviction
//! never resets a throttled key. Sweeps run, under the shard's write lock, when inserting a
//! key into a shard that holds at least 4096 keys and has doubled since its last sweep. Each shard remembers the latest
//! time it swept and starts new keys there, so a clock stepping backwards after a sweep cannot
//! turn an evicted key into a fresh burst.
//!
//! Cap policy: when a shard is full of keys that are all still replenishing, new keys share
//! one overflow cell with the same quotas. Memory stays bounded, a flood of new keys cannot
//! evict (and so reset) throttled ones, and the flood is throttled as one client; keys get
//! their own cell again once older ones replenish and are swept (at most one sweep per
//! emission interval per full shard).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use crate::decision::MAX_QUOTAS;

/// Sweep a shard no sooner than when it holds this many keys: a small working set of keys
/// that replenish between requests is kept rather than evicted and re-inserted (a write lock)
/// over and over. Memory for up to this many keys per shard is kept for reuse.
const MIN_SWEEP: usize = 4096;

/// The TATs of one key: an atomic for a single quota (compare-and-swap), a small locked
/// array behind a pointer for several (so that "all quotas admit or none is charged" is
/// atomic). Either way a map entry is the key plus eight bytes.
pub(crate) trait Tats: Send + Sync {
    /// A key's state starting at `tat` (the time it is fully replenished).
    fn starting_at(tat: u64) -> Self;
    /// Whether every quota is fully replenished at `now`.
    fn replenished(&self, now: u64) -> bool;
}

impl Tats for AtomicU64 {
    fn starting_at(tat: u64) -> Self {
        Self::new(tat)
    }

    fn replenished(&self, now: u64) -> bool {
        self.load(Ordering::Relaxed) <= now
    }
}

/// Several quotas' TATs.
pub(crate) type ManyTats = Box<Mutex<[u64; MAX_QUOTAS]>>;

impl Tats for ManyTats {
    fn starting_at(tat: u64) -> Self {
        Box::new(Mutex::new([tat; MAX_QUOTAS]))
    }

    fn replenished(&self, now: u64) -> bool {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .all(|&t| t <= now)
    }
}

#[derive(Debug)]
struct Inner<K, V, S> {
    map: HashMap<K, V, S>,
    next_sweep: usize,
    last_sweep: u64,
}

/// One shard, on its own cache line so that neighbours' lock traffic does not collide.
#[derive(Debug)]
#[repr(align(128))]
struct Shard<K, V, S>(RwLock<Inner<K, V, S>>);

/// Key to [`Tats`], sharded.
#[derive(Debug)]
pub(crate) struct Shards<K, V, S> {
    shards: Box<[Shard<K, V, S>]>,
    hasher: S,
    mask: usize,
    cap_per_shard: usize,
    sweep_gap: u64,
    overflow: V,
}

impl<K: Hash + Eq + Clone, V: Tats, S: BuildHasher + Clone> Shards<K, V, S> {
    /// `shards` (rounded up to a power of two) shards holding at most `max_keys` in total; a
    /// full shard sweeps at most once per `sweep_gap` nanoseconds.
    pub(crate) fn new(shards: usize, max_keys: usize, sweep_gap: u64, hasher: S) -> Self {
        let count = shards.max(1).next_power_of_two();
        let cap_per_shard = max_keys.div_ceil(count).max(1);
        let shards = (0..count)
            .map(|_| {
                Shard(RwLock::new(Inner {
                    map: HashMap::with_hasher(hasher.clone()),
                    next_sweep: MIN_SWEEP.min(cap_per_shard),
                    last_sweep: 0,
                }))
            })
            .collect();
        Self {
            shards,
            hasher,
            mask: count - 1,
            cap_per_shard,
            sweep_gap,
            overflow: V::starting_at(0),
        }
    }

    /// Runs `f` on `key`'s cell, inserting it (or using the overflow cell when the shard is
    /// full) if it is new.
    #[inline]
    pub(crate) fn with<Q, R>(&self, key: &Q, now: u64, f: impl FnOnce(&V) -> R) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        // Bits 32.. pick the shard: the map inside uses the low bits for buckets and the top
        // seven as tags, so the shard choice does not skew either.
        let hash = self.hasher.hash_one(key);
        #[allow(clippy::cast_possible_truncation)] // masked to the shard count
        let shard = &self.shards[(hash >> 32) as usize & self.mask].0;
        {
            let inner = shard.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = inner.map.get(key) {
                return f(cell);
            }
        }
        self.insert(shard, key, now, f)
    }

    #[cold]
    fn insert<Q, R>(
        &self,
        shard: &RwLock<Inner<K, V, S>>,
        key: &Q,
        now: u64,
        f: impl FnOnce(&V) -> R,
    ) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut guard = shard.write().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        if let Some(cell) = inner.map.get(key) {
            // Another thread inserted it between our read and write locks.
            return f(cell);
        }
        if inner.map.len() >= inner.next_sweep {
            let full = inner.map.len() >= self.cap_per_shard;
            if !full || now.saturating_sub(inner.last_sweep) >= self.sweep_gap {
                sweep(inner, now);
                inner.next_sweep = (inner.map.len() * 2).max(MIN_SWEEP).min(self.cap_per_shard);
            }
        }
        if inner.map.len() >= self.cap_per_shard {
            drop(guard);
            return f(&self.overflow);
        }
        // A new key starts at the shard's last sweep time: equivalent to "never seen" while
        // the clock moves forward, and no fresher than an evicted key if it steps back.
        let start = inner.last_sweep;
        f(inner
            .map
            .entry(key.to_owned())
            .or_insert_with(|| V::starting_at(start)))
    }

    /// Evicts every fully replenished key; returns how many were evicted.
    pub(crate) fn evict_replenished(&self, now: u64) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut inner = shard.0.write().unwrap_or_else(PoisonError::into_inner);
                let before = inner.map.len();
                sweep(&mut inner, now);
                before - inner.map.len()
            })
            .sum()
    }

    /// How many keys have their own cell.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.read().unwrap_or_else(PoisonError::into_inner).map.len())
            .sum()
    }
}

fn sweep<K, V: Tats, S>(inner: &mut Inner<K, V, S>, now: u64) {
    inner.map.retain(|_, cell| !cell.replenished(now));
    inner.last_sweep = inner.last_sweep.max(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    type Map = Shards<u64, AtomicU64, std::hash::RandomState>;

    fn touch(map: &Map, key: u64, now: u64, tat: u64) {
        map.with(&key, now, |t| t.store(tat, Ordering::Relaxed));
    }

    #[test]
    fn evicts_only_replenished_keys() {
        let map = Map::new(1, 1000, 1, Default::default());
        touch(&map, 1, 100, 150);
        touch(&map, 2, 100, 500);
        assert_eq!(map.len(), 2);
        assert_eq!(map.evict_replenished(200), 1);
        assert_eq!(map.len(), 1);
        // A key inserted after the sweep starts at the sweep time, not at zero.
        map.with(&3, 50, |t| assert_eq!(t.load(Ordering::Relaxed), 200));
    }

    #[test]
    fn full_shard_uses_the_overflow_cell() {
        let map = Map::new(1, 2, 1_000, Default::default());
        touch(&map, 1, 0, 10_000);
        touch(&map, 2, 0, 10_000);
        touch(&map, 3, 0, 7);
        assert_eq!(map.len(), 2);
        assert_eq!(map.overflow.load(Ordering::Relaxed), 7);
        // Once the others replenish, a later insert sweeps them and key 4 gets its own cell.
        touch(&map, 4, 20_000, 20_001);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn sweeps_keep_memory_bounded() {
        let map = Map::new(4, 1_000_000, 1, Default::default());
        for key in 0..100_000 {
            // Every key replenishes one tick after it is touched.
            touch(&map, key, key, key + 1);
        }
        assert!(map.len() <= 4 * MIN_SWEEP, "{} keys tracked", map.len());
    }
}
