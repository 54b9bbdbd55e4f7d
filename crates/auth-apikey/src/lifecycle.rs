//! The life of a key: [`ApiKeys::create`] (shown once as an [`IssuedKey`]), listing,
//! revocation, expiry, and rotation with an overlap. Every time comes from the
//! [`Clock`](auth_core::Clock).

use std::time::Duration;

use auth_core::{Scopes, Secret, UnixTime};

use crate::digest::KeyDigest;
use crate::error::Error;
use crate::id::KeyId;
use crate::keys::ApiKeys;
use crate::record::{KeyRecord, RateQuota};
use crate::store::KeyStore;

/// How many fresh ids to try when a store reports one taken (one in 2^47 per existing key).
const ID_ATTEMPTS: usize = 4;

/// The settings of a key to create.
#[derive(Debug, Clone)]
pub struct NewKey {
    owner: String,
    name: String,
    scopes: Scopes,
    expires: Option<Expiry>,
    max_uses: Option<u64>,
    rate_quota: Option<RateQuota>,
}

#[derive(Debug, Clone, Copy)]
enum Expiry {
    At(UnixTime),
    After(Duration),
}

impl NewKey {
    /// A key for `owner` (the principal's subject), named `name` for people, with no
    /// scopes, no expiry, unlimited uses and no rate quota.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
            scopes: Scopes::default(),
            expires: None,
            max_uses: None,
            rate_quota: None,
        }
    }

    /// Grants `scopes`.
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Refuses the key from `at` on.
    pub fn expires_at(mut self, at: UnixTime) -> Self {
        self.expires = Some(Expiry::At(at));
        self
    }

    /// Refuses the key from `lifetime` after its creation on.
    pub fn expires_after(mut self, lifetime: Duration) -> Self {
        self.expires = Some(Expiry::After(lifetime));
        self
    }

    /// Lets the key authenticate at most `uses` requests.
    pub fn with_max_uses(mut self, uses: u64) -> Self {
        self.max_uses = Some(uses);
        self
    }

    /// Attaches a per-key rate quota for the rate limiter.
    pub fn with_rate_quota(mut self, quota: RateQuota) -> Self {
        self.rate_quota = Some(quota);
        self
    }
}

/// A key just created: the only time the key itself exists outside the client. Show it once
/// and drop it; the store has its digest.
#[derive(Debug)]
#[must_use = "this is the only copy of the new key: show it to its owner"]
pub struct IssuedKey {
    key: Secret,
    record: KeyRecord,
}

impl IssuedKey {
    /// The key, to hand to its owner. It cannot be shown again.
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// The key as text (it is ASCII), to hand to its owner.
    pub fn expose_key(&self) -> &str {
        self.key.expose_str().unwrap_or_default()
    }

    /// Takes the key out.
    pub fn into_key(self) -> Secret {
        self.key
    }

    /// The stored record.
    pub fn record(&self) -> &KeyRecord {
        &self.record
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.record.id
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// Issues a key: generates it, stores its record, and returns it once.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for an empty owner, zero uses or an expiry not in the
    /// future; [`Error::Random`] when the OS has no randomness; [`Error::Store`].
    pub async fn create(&self, settings: NewKey) -> Result<IssuedKey, Error> {
        if settings.owner.is_empty() {
            return Err(Error::Misconfigured("owner must not be empty"));
        }
        if settings.max_uses == Some(0) {
            return Err(Error::Misconfigured("max uses must be at least 1"));
        }
        let now = self.clock().now();
        let expires = match settings.expires {
            None => None,
            Some(Expiry::At(at)) => Some(at),
            Some(Expiry::After(d)) => Some(
                now.checked_add(d)
                    .ok_or(Error::Misconfigured("lifetime overflows the clock"))?,
            ),
        };
        if expires.is_some_and(|at| at <= now) {
            return Err(Error::Misconfigured("expiry must be in the future"));
        }
        let prefix = self.format().prefix().to_owned();
        let build = |id, digest| KeyRecord {
            id,
            digest,
            prefix: prefix.clone(),
            owner: settings.owner.clone(),
            name: settings.name.clone(),
            scopes: settings.scopes.clone(),
            created: now,
            expires,
            revoked: None,
            remaining_uses: settings.max_uses,
            rate_quota: settings.rate_quota,
            replaced_by: None,
        };
        self.issue(build, Put::Insert).await
    }

    /// Generates a key, builds its record with `build`, and stores it as `put` says, with a
    /// fresh id if the first is taken.
    async fn issue(
        &self,
        build: impl Fn(KeyId, KeyDigest) -> KeyRecord,
        put: Put<'_>,
    ) -> Result<IssuedKey, Error> {
        let mut attempt = 1;
        loop {
            let (id, key) = self.format().generate()?;
            let record = build(id, self.hasher().digest(key.expose_secret()));
            let stored = match put {
                Put::Insert => self.store().insert(record.clone()).await,
                Put::Rotate { old, old_expires } => {
                    self.store().rotate(old, old_expires, record.clone()).await
                }
            };
            match stored {
                Ok(()) => return Ok(IssuedKey { key, record }),
                Err(Error::Duplicate(taken)) if taken == id && attempt < ID_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The record of key `id`, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>, Error> {
        Ok(self.store().get(id).await?.map(|r| KeyRecord::clone(&r)))
    }

    /// Every key of `owner`, oldest first, active or not.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails.
    pub async fn list(&self, owner: &str) -> Result<Vec<KeyRecord>, Error> {
        self.store().list_by_owner(owner).await
    }

    /// Revokes key `id` now: the next request with it is refused.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub async fn revoke(&self, id: &KeyId) -> Result<(), Error> {
        self.store().revoke(id, self.clock().now()).await
    }

    /// Sets when key `id` starts being refused (`None`: never). An instant in the past
    /// expires it at once.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub async fn set_expiry(&self, id: &KeyId, expires: Option<UnixTime>) -> Result<(), Error> {
        self.store().set_expires(id, expires).await
    }

    /// Rotates key `id`: issues a successor with the same owner, name, scopes, rate quota
    /// and remaining uses (and, if the old key expires, the same lifetime counted from now),
    /// and lets the old key work for `overlap` more, then refuses it. An overlap of zero
    /// refuses the old key at once.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Inactive`] when the key is revoked or expired;
    /// [`Error::AlreadyRotated`]; [`Error::Random`]; [`Error::Store`]. On error nothing
    /// changes.
    pub async fn rotate(&self, id: &KeyId, overlap: Duration) -> Result<IssuedKey, Error> {
        let old = self.store().get(id).await?.ok_or(Error::NotFound(*id))?;
        let now = self.clock().now();
        if let Some(successor) = old.replaced_by {
            return Err(Error::AlreadyRotated { id: *id, successor });
        }
        if old.revoked.is_some() || old.expires.is_some_and(|at| now >= at) {
            return Err(Error::Inactive(*id));
        }
        let lifetime = old.expires.and_then(|at| at.duration_since(old.created));
        let prefix = self.format().prefix().to_owned();
        let build = |id, digest| KeyRecord {
            id,
            digest,
            prefix: prefix.clone(),
            created: now,
            expires: lifetime.map(|d| now.saturating_add(d)),
            revoked: None,
            replaced_by: None,
            ..KeyRecord::clone(&old)
        };
        let put = Put::Rotate {
            old: id,
            old_expires: now.saturating_add(overlap),
        };
        self.issue(build, put).await
    }
}

/// How [`ApiKeys::issue`] stores a new record.
#[derive(Clone, Copy)]
enum Put<'a> {
    Insert,
    Rotate {
        old: &'a KeyId,
        old_expires: UnixTime,
    },
}
