//! [`Cache`]: each instance's verification cache, keyed by key id, holding the whole record
//! (digest included) and when it was read.
//!
//! An entry is served for at most `max_stale` after it was read from the database, measured
//! on the store clock's monotonic reading (a correction of the wall clock neither stretches
//! nor shrinks it); then the next lookup reads the row again. Notifications remove entries
//! sooner. A read that races a notification must not put the old row back: every removal
//! bumps an epoch, and a row read before the bump is not cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use auth_apikey::{KeyId, KeyRecord};
use foldhash::fast::FixedState;

#[derive(Debug)]
struct Entry {
    record: Arc<KeyRecord>,
    /// The clock's monotonic reading when the row was read.
    read_at: Duration,
}

/// The cache. Locks are held for a hash-map operation, never across I/O.
#[derive(Debug)]
pub(crate) struct Cache {
    // Ids are issued from a CSPRNG and never chosen by a client: a fixed-seed fast hash
    // cannot be flooded (and a lookup for a made-up id inserts nothing).
    entries: RwLock<HashMap<KeyId, Entry, FixedState>>,
    epoch: AtomicU64,
    max_stale: Duration,
}

impl Cache {
    pub(crate) fn new(max_stale: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::with_hasher(FixedState::default())),
            epoch: AtomicU64::new(0),
            max_stale,
        }
    }

    /// The bound on how long an entry is served after it was read.
    pub(crate) fn max_stale(&self) -> Duration {
        self.max_stale
    }

    /// The record for `id` if it was read less than `max_stale` before `now` (monotonic
    /// readings of one clock).
    pub(crate) fn fresh(&self, id: &KeyId, now: Duration) -> Option<Arc<KeyRecord>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(id)?;
        // Monotonic readings never go back; were one to, the entry would be re-read.
        let age = now.checked_sub(entry.read_at)?;
        (age < self.max_stale).then(|| Arc::clone(&entry.record))
    }

    /// The epoch to pass to [`Cache::put`]: read it before reading the row.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches `record`, read at `read_at`, unless something was invalidated since `epoch`.
    pub(crate) fn put(&self, record: Arc<KeyRecord>, read_at: Duration, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        // Checked under the write lock: an invalidation bumps the epoch under it too.
        if self.epoch.load(Ordering::Acquire) == epoch {
            entries.insert(record.id, Entry { record, read_at });
        }
    }

    /// Forgets `id` (it changed).
    pub(crate) fn invalidate(&self, id: &KeyId) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.remove(id);
    }

    /// Forgets everything (changes may have been missed).
    pub(crate) fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Replaces the cached use count of `id`, keeping when the entry was read.
    pub(crate) fn set_remaining_uses(&self, id: &KeyId, remaining: Option<u64>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(id) {
            let mut record = KeyRecord::clone(&entry.record);
            record.remaining_uses = remaining;
            entry.record = Arc::new(record);
        }
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_apikey::KeyHasher;
    use auth_core::UnixTime;

    fn record(id: &str) -> Arc<KeyRecord> {
        let digest = KeyHasher::sha256().digest(id.as_bytes());
        let mut r = KeyRecord::new(
            id.parse().unwrap(),
            digest,
            ("sk_test", "bob", "n"),
            UnixTime::EPOCH,
        );
        r.remaining_uses = Some(3);
        Arc::new(r)
    }

    #[test]
    fn entries_go_stale_after_the_bound() {
        let cache = Cache::new(Duration::from_secs(5));
        let id: KeyId = "AAAAAAA1".parse().unwrap();
        let t0 = Duration::from_secs(100);
        cache.put(record("AAAAAAA1"), t0, cache.epoch());
        assert!(cache.fresh(&id, t0).is_some());
        assert!(cache.fresh(&id, Duration::from_secs(104)).is_some());
        assert!(cache.fresh(&id, Duration::from_secs(105)).is_none());
        assert!(
            cache.fresh(&id, Duration::from_secs(50)).is_none(),
            "a reading from before the read is never trusted"
        );
    }

    #[test]
    fn a_read_racing_an_invalidation_is_not_cached() {
        let cache = Cache::new(Duration::from_secs(5));
        let id: KeyId = "AAAAAAA1".parse().unwrap();
        let before = cache.epoch();
        cache.invalidate(&id);
        cache.put(record("AAAAAAA1"), Duration::ZERO, before);
        assert!(cache.fresh(&id, Duration::ZERO).is_none());
        cache.put(record("AAAAAAA1"), Duration::ZERO, cache.epoch());
        assert_eq!(cache.len(), 1);
        cache.set_remaining_uses(&id, Some(0));
        assert_eq!(
            cache.fresh(&id, Duration::ZERO).unwrap().remaining_uses,
            Some(0)
        );
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
