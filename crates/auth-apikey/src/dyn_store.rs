//! [`KeyStore`] in object-safe form: [`DynKeyStore`] (implemented for every store) and
//! [`BoxKeyStore`], for a store chosen at start-up (SQLite on one machine, PostgreSQL for a
//! fleet) behind one `ApiKeys<BoxKeyStore>`, with no dispatch enum to write.

use std::fmt;
use std::sync::Arc;

use auth_core::{BoxFuture, UnixTime};

use crate::error::Error;
use crate::id::KeyId;
use crate::record::KeyRecord;
use crate::store::KeyStore;

/// [`KeyStore`], each method's future boxed: what [`BoxKeyStore`] holds. Call [`KeyStore`].
#[allow(missing_docs)] // each method is its KeyStore namesake, boxed
pub trait DynKeyStore: Send + Sync {
    fn insert_boxed(&self, record: KeyRecord) -> BoxFuture<'_, Result<(), Error>>;
    fn get_boxed<'a>(
        &'a self,
        id: &'a KeyId,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyRecord>>, Error>>;
    fn list_by_owner_boxed<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<KeyRecord>, Error>>;
    fn revoke_boxed<'a>(&'a self, id: &'a KeyId, at: UnixTime) -> BoxFuture<'a, Result<(), Error>>;
    fn set_expires_boxed<'a>(
        &'a self,
        id: &'a KeyId,
        expires: Option<UnixTime>,
    ) -> BoxFuture<'a, Result<(), Error>>;
    fn consume_use_boxed<'a>(&'a self, id: &'a KeyId) -> BoxFuture<'a, Result<bool, Error>>;
    fn rotate_boxed<'a>(
        &'a self,
        old: &'a KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> BoxFuture<'a, Result<(), Error>>;
    fn claim_setting_boxed<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<String, Error>>;
}

impl<S: KeyStore> DynKeyStore for S {
    fn insert_boxed(&self, record: KeyRecord) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.insert(record))
    }

    fn get_boxed<'a>(
        &'a self,
        id: &'a KeyId,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyRecord>>, Error>> {
        Box::pin(self.get(id))
    }

    fn list_by_owner_boxed<'a>(
        &'a self,
        owner: &'a str,
    ) -> BoxFuture<'a, Result<Vec<KeyRecord>, Error>> {
        Box::pin(self.list_by_owner(owner))
    }

    fn revoke_boxed<'a>(&'a self, id: &'a KeyId, at: UnixTime) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.revoke(id, at))
    }

    fn set_expires_boxed<'a>(
        &'a self,
        id: &'a KeyId,
        expires: Option<UnixTime>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.set_expires(id, expires))
    }

    fn consume_use_boxed<'a>(&'a self, id: &'a KeyId) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.consume_use(id))
    }

    fn rotate_boxed<'a>(
        &'a self,
        old: &'a KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.rotate(old, old_expires, successor))
    }

    fn claim_setting_boxed<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<String, Error>> {
        Box::pin(self.claim_setting(name, value))
    }
}

/// A type-erased, cheaply cloneable key store.
#[derive(Clone)]
pub struct BoxKeyStore(Arc<dyn DynKeyStore>);

impl BoxKeyStore {
    /// Erases `store`'s type.
    pub fn new(store: impl KeyStore + 'static) -> Self {
        Self(Arc::new(store))
    }
}

impl fmt::Debug for BoxKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxKeyStore").finish_non_exhaustive()
    }
}

impl KeyStore for BoxKeyStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), Error> {
        self.0.insert_boxed(record).await
    }

    async fn get(&self, id: &KeyId) -> Result<Option<Arc<KeyRecord>>, Error> {
        self.0.get_boxed(id).await
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        self.0.list_by_owner_boxed(owner).await
    }

    async fn revoke(&self, id: &KeyId, at: UnixTime) -> Result<(), Error> {
        self.0.revoke_boxed(id, at).await
    }

    async fn set_expires(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        self.0.set_expires_boxed(id, expires).await
    }

    async fn consume_use(&self, id: &KeyId) -> Result<bool, Error> {
        self.0.consume_use_boxed(id).await
    }

    async fn rotate(
        &self,
        old: &KeyId,
        old_expires: UnixTime,
        successor: KeyRecord,
    ) -> Result<(), Error> {
        self.0.rotate_boxed(old, old_expires, successor).await
    }

    async fn claim_setting(&self, name: &str, value: &str) -> Result<String, Error> {
        self.0.claim_setting_boxed(name, value).await
    }
}
