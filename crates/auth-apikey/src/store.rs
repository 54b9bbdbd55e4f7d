//! [`KeyStore`]: where key records live, and [`MemoryStore`], the in-process one.
//!
//! The trait is async (`impl Future` in the trait, as [`auth_core::Authenticate`]) so that
//! network databases fit, and needs no runtime: the in-memory and SQLite stores return
//! futures that are ready at once.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

use auth_core::UnixTime;
use foldhash::fast::RandomState;

use crate::error::Error;
use crate::id::KeyId;
use crate::record::KeyRecord;

/// Storage for [`KeyRecord`]s, indexed by [`KeyId`].
///
/// Implementations must make each method atomic: a crash or an error in the middle of one
/// leaves the store as it was before the call. [`KeyStore::get`] is on every request's path:
/// it should be one indexed read.
pub trait KeyStore: Send + Sync {
    /// Adds a record.
    ///
    /// # Errors
    ///
    /// [`Error::Duplicate`] when a record with the same id exists (nothing is overwritten);
    /// [`Error::Store`] when the store fails.
    fn insert(&self, record: KeyRecord) -> impl Future<Output = Result<(), Error>> + Send;

    /// The record with `id`, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    fn get(&self, id: &KeyId)
    -> impl Future<Output = Result<Option<Arc<KeyRecord>>, Error>> + Send;

    /// Every record of `owner`, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, Error>> + Send;

    /// Marks the key revoked at `at`. Revoking twice keeps the first time.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], or [`Error::Store`] when the store fails.
    fn revoke(&self, id: &KeyId, at: UnixTime) -> impl Future<Output = Result<(), Error>> + Send;

    /// Sets (or clears, with `None`) the instant from which the key is refused.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], or [`Error::Store`] when the store fails.
    fn set_expires(
        &self,
        id: &KeyId,
        expires: Option<UnixTime>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Takes one use from a key with limited uses: `true` if one was left (and is now
    /// taken), `false` if none was. Keys without a limit always give `true`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], or [`Error::Store`] when the store fails.
    fn consume_use(&self, id: &KeyId) -> impl Future<Output = Result<bool, Error>> + Send;

    /// In one atomic step: checks that `old` is still active (not rotated, not revoked, not
    /// expired at the successor's `created` time), inserts `successor`, records it as the
    /// replacement of `old`, and brings `old`'s expiry forward to `old_expires` (an earlier
    /// expiry is kept). The check is part of the step, so a revocation racing a rotation
    /// either comes first (and the rotation fails) or after (and revokes the old key only).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when `old` does not exist, [`Error::AlreadyRotated`] when it was
    /// rotated before, [`Error::Inactive`] when it is revoked or expired, [`Error::Duplicate`]
    /// when the successor's id is taken, [`Error::Store`] when the store fails. On any error
    /// nothing changes.
    fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Records `value` under `name` unless a value is recorded already, and returns the
    /// recorded value: facts every user of the store must agree on, such as the pepper's
    /// [fingerprint](crate::KeyHasher::fingerprint) ([`ApiKeys::check_pepper`](crate::ApiKeys::check_pepper)).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails or keeps no settings (the default).
    fn claim_setting(
        &self,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        let _ = (name, value);
        std::future::ready(Err(Error::Store {
            what: "this key store keeps no settings".into(),
            source: None,
        }))
    }
}

/// A shared store: for example one database behind an `sk_live` and an `sk_test`
/// [`ApiKeys`](crate::ApiKeys).
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    fn insert(&self, record: KeyRecord) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).insert(record)
    }

    fn get(
        &self,
        id: &KeyId,
    ) -> impl Future<Output = Result<Option<Arc<KeyRecord>>, Error>> + Send {
        (**self).get(id)
    }

    fn list_by_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<KeyRecord>, Error>> + Send {
        (**self).list_by_owner(owner)
    }

    fn revoke(&self, id: &KeyId, at: UnixTime) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).revoke(id, at)
    }

    fn set_expires(
        &self,
        id: &KeyId,
        expires: Option<UnixTime>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).set_expires(id, expires)
    }

    fn consume_use(&self, id: &KeyId) -> impl Future<Output = Result<bool, Error>> + Send {
        (**self).consume_use(id)
    }

    fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).rotate(old, old_expires, successor)
    }

    fn claim_setting(
        &self,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<String, Error>> + Send {
        (**self).claim_setting(name, value)
    }
}

/// Keys in memory, behind a read-write lock that no one holds across I/O. For tests, demos,
/// and as the reference every other store is checked against.
///
/// Lookups hash the id with foldhash (a folded multiply, a few nanoseconds) instead of
/// SipHash, seeded at random per store: the id in a lookup is whatever the client sent,
/// so the hash must not be predictable.
#[derive(Default)]
pub struct MemoryStore {
    keys: RwLock<HashMap<KeyId, Arc<KeyRecord>, RandomState>>,
    settings: RwLock<HashMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A panic while the lock is held cannot leave a half-written record: every write
    // replaces a whole `Arc<KeyRecord>`. So a poisoned lock is safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<KeyId, Arc<KeyRecord>, RandomState>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<KeyId, Arc<KeyRecord>, RandomState>> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, id: &KeyId, f: impl FnOnce(&mut KeyRecord)) -> Result<(), Error> {
        let mut keys = self.write();
        let entry = keys.get_mut(id).ok_or(Error::NotFound(*id))?;
        let mut record = KeyRecord::clone(entry);
        f(&mut record);
        *entry = Arc::new(record);
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.read();
        let mut records: Vec<&KeyRecord> = keys.values().map(|r| &**r).collect();
        records.sort_by_key(|r| (r.created, r.id));
        f.debug_struct("MemoryStore")
            .field("keys", &records)
            .finish()
    }
}

impl KeyStore for MemoryStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        let mut keys = self.write();
        if keys.contains_key(&record.id) {
            return Err(Error::Duplicate(record.id));
        }
        keys.insert(record.id, Arc::new(record));
        Ok(())
    }

    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        Ok(self.read().get(id).cloned())
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        let mut out: Vec<KeyRecord> = self
            .read()
            .values()
            .filter(|r| r.owner == owner)
            .map(|r| KeyRecord::clone(r))
            .collect();
        out.sort_by_key(|r| (r.created, r.id));
        Ok(out)
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        self.update(id, |r| {
            r.revoked.get_or_insert(at);
        })
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        self.update(id, |r| r.expires = expires)
    }

    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        let mut keys = self.write();
        let entry = keys.get_mut(id).ok_or(Error::NotFound(*id))?;
        match entry.remaining_uses {
            None => Ok(true),
            Some(0) => Ok(false),
            Some(n) => {
                let mut record = KeyRecord::clone(entry);
                record.remaining_uses = Some(n - 1);
                *entry = Arc::new(record);
                Ok(true)
            }
        }
    }

    async fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> Result<(), Error> {
        let mut keys = self.write();
        let current = keys.get(old).ok_or(Error::NotFound(*old))?;
        if let Some(next) = current.replaced_by {
            return Err(Error::AlreadyRotated {
                id: *old,
                successor: next,
            });
        }
        if current.revoked.is_some() || current.expires.is_some_and(|at| at <= successor.created) {
            return Err(Error::Inactive(*old));
        }
        if keys.contains_key(&successor.id) {
            return Err(Error::Duplicate(successor.id));
        }
        let mut record = KeyRecord::clone(current);
        record.expires = Some(record.expires.map_or(old_expires, |e| e.min(old_expires)));
        record.replaced_by = Some(successor.id);
        keys.insert(*old, Arc::new(record));
        keys.insert(successor.id, Arc::new(successor));
        Ok(())
    }

    async fn claim_setting(&self, name: &str, value: &str) -> Result<String, Error> {
        let mut settings = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(settings
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned())
            .clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::KeyHasher;
    use auth_core::Scopes;

    fn record(id: &str, owner: &str, created: u64) -> KeyRecord {
        KeyRecord {
            id: id.parse().unwrap(),
            digest: KeyHasher::sha256().digest(id.as_bytes()),
            prefix: "sk_test".into(),
            owner: owner.into(),
            name: "n".into(),
            scopes: Scopes::default(),
            created: UnixTime::from_secs(created),
            expires: None,
            revoked: None,
            remaining_uses: None,
            rate_quota: None,
            replaced_by: None,
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn insert_get_list() {
        block_on(async {
            let s = MemoryStore::new();
            s.insert(record("AAAAAAA2", "bob", 2)).await.unwrap();
            s.insert(record("AAAAAAA1", "bob", 1)).await.unwrap();
            s.insert(record("AAAAAAA3", "eve", 3)).await.unwrap();
            assert!(matches!(
                s.insert(record("AAAAAAA3", "eve", 4)).await,
                Err(Error::Duplicate(_))
            ));
            let bob: Vec<String> = s
                .list_by_owner("bob")
                .await
                .unwrap()
                .iter()
                .map(|r| r.id.to_string())
                .collect();
            assert_eq!(bob, ["AAAAAAA1", "AAAAAAA2"]);
            assert!(s.get(&"AAAAAAA9".parse().unwrap()).await.unwrap().is_none());
            assert_eq!(s.len(), 3);
        });
    }

    #[test]
    fn uses_run_out() {
        block_on(async {
            let s = MemoryStore::new();
            let mut r = record("AAAAAAA1", "bob", 1);
            r.remaining_uses = Some(2);
            let id = r.id;
            s.insert(r).await.unwrap();
            assert!(s.consume_use(&id).await.unwrap());
            assert!(s.consume_use(&id).await.unwrap());
            assert!(!s.consume_use(&id).await.unwrap());
            assert_eq!(s.get(&id).await.unwrap().unwrap().remaining_uses, Some(0));
        });
    }

    #[test]
    fn rotate_is_all_or_nothing() {
        block_on(async {
            let s = MemoryStore::new();
            s.insert(record("AAAAAAA1", "bob", 1)).await.unwrap();
            s.insert(record("AAAAAAA2", "bob", 2)).await.unwrap();
            let old = "AAAAAAA1".parse().unwrap();
            let until = UnixTime::from_secs(50);
            // The successor's id is taken: nothing changes.
            let err = s.rotate(&old, until, record("AAAAAAA2", "bob", 3)).await;
            assert!(matches!(err, Err(Error::Duplicate(_))));
            assert_eq!(s.get(&old).await.unwrap().unwrap().expires, None);

            s.rotate(&old, until, record("AAAAAAA3", "bob", 3))
                .await
                .unwrap();
            let r = s.get(&old).await.unwrap().unwrap();
            assert_eq!(r.expires, Some(until));
            assert_eq!(r.replaced_by, Some("AAAAAAA3".parse().unwrap()));
            let again = s.rotate(&old, until, record("AAAAAAA4", "bob", 4)).await;
            assert!(matches!(again, Err(Error::AlreadyRotated { .. })));
        });
    }
}
