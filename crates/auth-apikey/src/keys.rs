//! [`ApiKeys`]: one kind of key (a format, a digest, a clock) over one store. It issues,
//! verifies, revokes and rotates keys, and plugs into [`auth_core::TokenAuthenticator`].

use std::fmt;
use std::sync::Arc;

use auth_core::{Clock, CoarseClock, Secret, TokenAuthenticator, TokenExtractor};
use http::HeaderName;

use crate::digest::{KeyDigest, KeyHasher};
use crate::error::Error;
use crate::format::KeyFormat;
use crate::store::KeyStore;

/// The header a bare API key is read from by default.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// Where [`ApiKeys::authenticator`] reads keys from: `Authorization: Bearer <key>` or
/// `X-API-Key: <key>`. A key in both is 400 `invalid_request`.
///
/// A query parameter is off; switch it on only for clients that cannot send a header, and
/// know that URLs end up in logs:
///
/// ```
/// let extractor = auth_apikey::default_extractor().with_query_parameter("api_key");
/// # let _ = extractor;
/// ```
pub fn default_extractor() -> TokenExtractor {
    TokenExtractor::bearer().with_header(X_API_KEY)
}

/// API keys of one format, kept in store `S`. Cheap to clone: clones share everything.
///
/// ```
/// use auth_apikey::{ApiKeys, KeyFormat, MemoryStore, NewKey};
/// use auth_core::Scopes;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let keys = ApiKeys::new(KeyFormat::new("sk_test").unwrap(), MemoryStore::new());
/// let issued = keys
///     .create(NewKey::new("alice", "laptop").with_scopes(Scopes::from_space_separated("read")))
///     .await
///     .unwrap();
/// // Show issued.expose_key() to the user once; only its digest was stored.
/// let status = keys.check(issued.expose_key()).await.unwrap();
/// assert!(status.is_valid());
/// # });
/// ```
pub struct ApiKeys<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    format: KeyFormat,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
    store: S,
    /// Compared against on a lookup miss, so that a miss costs what a hit costs.
    dummy: KeyDigest,
}

impl<S: KeyStore> ApiKeys<S> {
    /// Keys of `format` in `store`, digested with SHA-256 (no pepper), on the system clock
    /// at tick resolution ([`CoarseClock`]).
    pub fn new(format: KeyFormat, store: S) -> Self {
        Self::assemble(format, KeyHasher::sha256(), Arc::new(CoarseClock), store)
    }

    fn assemble(format: KeyFormat, hasher: KeyHasher, clock: Arc<dyn Clock>, store: S) -> Self {
        let dummy = hasher.digest(b"auth-apikey: no key has this digest");
        Self {
            inner: Arc::new(Inner {
                format,
                hasher,
                clock,
                store,
                dummy,
            }),
        }
    }

    /// A [`TokenAuthenticator`] reading keys with [`default_extractor`] and answering with
    /// `Bearer realm="{realm}"` challenges. Keys without this format's prefix are left to the
    /// next authenticator (see [`auth_core::AuthenticateExt::or`]).
    pub fn authenticator(&self, realm: &str) -> TokenAuthenticator<Self> {
        TokenAuthenticator::bearer(realm, self.clone()).with_extractor(default_extractor())
    }

    /// Records this instance's pepper [fingerprint](KeyHasher::fingerprint) in the store on
    /// first use, and afterwards checks that it is the one recorded: run it at start-up, so
    /// that an instance given another pepper (under which none of the stored keys would
    /// verify, and every client would get a bare 401) refuses to start instead.
    ///
    /// # Errors
    ///
    /// [`Error::PepperMismatch`]; [`Error::Store`] when the store fails or keeps no settings.
    pub async fn check_pepper(&self) -> Result<(), Error> {
        let ours = self.hasher().fingerprint();
        let recorded = self
            .store()
            .claim_setting("pepper_fingerprint", &ours)
            .await?;
        if recorded == ours {
            Ok(())
        } else {
            Err(Error::PepperMismatch { ours, recorded })
        }
    }
}

impl ApiKeys<()> {
    /// A builder, to set a pepper or a clock; the store comes last, in
    /// [`ApiKeysBuilder::build`]. (Like `http::Request::builder`, it lives on `ApiKeys<()>`
    /// so that no type needs naming.)
    pub fn builder(format: KeyFormat) -> ApiKeysBuilder {
        ApiKeysBuilder {
            format,
            pepper: None,
            clock: Arc::new(CoarseClock),
        }
    }
}

impl<S> ApiKeys<S> {
    /// The key format.
    pub fn format(&self) -> &KeyFormat {
        &self.inner.format
    }

    /// The digest in use.
    pub fn hasher(&self) -> &KeyHasher {
        &self.inner.hasher
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    pub(crate) fn dummy_digest(&self) -> KeyDigest {
        self.inner.dummy
    }
}

impl<S> Clone for ApiKeys<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for ApiKeys<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("format", &self.inner.format)
            .field("hasher", &self.inner.hasher)
            .field("clock", &self.inner.clock)
            .field("store", &self.inner.store)
            .finish()
    }
}

/// Builds [`ApiKeys`]: a pepper and a clock are optional.
pub struct ApiKeysBuilder {
    format: KeyFormat,
    pepper: Option<Secret>,
    clock: Arc<dyn Clock>,
}

impl ApiKeysBuilder {
    /// Digests keys with HMAC-SHA-256 keyed with `pepper` (at least 16 bytes), for example
    /// `Secret::from_env("API_KEY_PEPPER")?`. Changing the pepper invalidates every stored
    /// key.
    pub fn pepper(mut self, pepper: Secret) -> Self {
        self.pepper = Some(pepper);
        self
    }

    /// Uses `clock` for creation times, expiry and rotation (a `ManualClock` in tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds over `store`.
    ///
    /// # Errors
    ///
    /// [`Error::WeakPepper`] when the pepper is shorter than 16 bytes.
    pub fn build<S: KeyStore>(self, store: S) -> Result<ApiKeys<S>, Error> {
        let hasher = match &self.pepper {
            Some(pepper) => KeyHasher::hmac_sha256(pepper)?,
            None => KeyHasher::sha256(),
        };
        Ok(ApiKeys::assemble(self.format, hasher, self.clock, store))
    }
}

impl fmt::Debug for ApiKeysBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeysBuilder")
            .field("format", &self.format)
            .field("pepper", &self.pepper)
            .field("clock", &self.clock)
            .finish()
    }
}
