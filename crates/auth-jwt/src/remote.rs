//! [`RemoteJwks`]: keys fetched from a JWKS endpoint through auth-core's `HttpClient`.
//!
//! - Cached for `Cache-Control: max-age`, clamped to `[min_ttl, max_ttl]` (default TTL when
//!   absent); revalidated with `If-None-Match` when the server sent an `ETag`.
//! - An unknown `kid` triggers one refetch, single-flight (every waiting caller shares it),
//!   at most once per `cooldown`; kids still unknown after it are remembered (negative cache).
//! - A failed fetch (error status, transport error, oversized or malformed body) keeps the
//!   last good keys serving until `max_stale` past their expiry, then verification fails with
//!   "key source unavailable" (503), never 401. Failed fetches are retried at most once per
//!   `cooldown`.
//! - Timeouts are the `HttpClient`'s (auth-http's client: 10 s, body capped); a timed-out
//!   fetch is a failed fetch as above.
//! - The read path loads the key set from an `ArcSwap` and takes no lock a fetch holds: the
//!   new set is built aside and swapped in whole. A short `Mutex` guards bookkeeping and is
//!   never held across an `await`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Duration;

use arc_swap::ArcSwap;
use auth_core::transport::redacted_origin;
use auth_core::{BoxHttpClient, Clock, CoarseClock, HttpClient, Transport, UnixTime};
use http::Uri;

use crate::error::Error;
use crate::{Algorithm, KeySet};

mod discovery;
mod fetch;

use discovery::Discovery;

/// Tuning for a [`RemoteJwks`]; every field has a documented default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteConfig {
    /// Cache lifetime when the response has no usable `max-age` (default 5 min).
    pub default_ttl: Duration,
    /// Lower bound on `max-age` (default 1 min).
    pub min_ttl: Duration,
    /// Upper bound on `max-age` (default 24 h).
    pub max_ttl: Duration,
    /// Least time between two fetches caused by unknown kids or failures (default 30 s).
    pub cooldown: Duration,
    /// How long past their expiry the last good keys keep serving while fetches fail
    /// (default 1 h).
    pub max_stale: Duration,
    /// The largest JWKS body accepted (default 256 KiB).
    pub max_body_bytes: usize,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(3600),
            max_body_bytes: 256 * 1024,
        }
    }
}

/// What a [`RemoteJwks`] last saw, for health endpoints and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// When a fetch last succeeded (200 or 304).
    pub last_success: Option<UnixTime>,
    /// When a fetch was last attempted.
    pub last_attempt: Option<UnixTime>,
    /// How many usable keys are held.
    pub key_count: usize,
    /// Why the last fetch failed, if it did.
    pub last_error: Option<String>,
    /// Whether the keys are past their TTL (served stale, or about to be refetched).
    pub stale: bool,
    /// How many fetches were made.
    pub fetches: u64,
}

#[derive(Default)]
struct Book {
    etag: Option<String>,
    last_success: Option<UnixTime>,
    last_attempt: Option<UnixTime>,
    last_error: Option<String>,
    /// Kids still unknown after a refetch, with when.
    unknown: Vec<(Box<str>, UnixTime)>,
    /// A fetch is in progress.
    running: bool,
    /// Bumped when a fetch ends.
    generation: u64,
    waiters: Vec<Waker>,
}

/// Where the keys are: a JWKS URL, or an issuer whose metadata names it.
enum Locator {
    Jwks(Uri),
    Issuer(Box<Discovery>),
}

struct Shared {
    locator: Locator,
    client: BoxHttpClient,
    clock: Arc<dyn Clock>,
    config: RemoteConfig,
    keys: ArcSwap<KeySet>,
    /// Nanoseconds since the epoch when the keys expire; 0 before the first success.
    expires_at: AtomicU64,
    fetches: AtomicU64,
    book: Mutex<Book>,
}

/// A JWKS endpoint's keys, cached and refreshed. Use with
/// [`KeySource::remote`](crate::KeySource::remote).
///
/// Only public keys are taken from the endpoint ([`KeySet::from_public_jwks`]): an `oct` key
/// in a published set is a secret anyone can fetch, so it is skipped, and a verifier that
/// allows an HMAC algorithm with a remote source is refused when it is built.
#[derive(Clone)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("origin", &self.shared.origin())
            .field("keys", &self.shared.keys.load().len())
            .finish_non_exhaustive()
    }
}

impl RemoteJwks {
    /// Keys from `url`, fetched with `client`, on the system clock ([`CoarseClock`]), with
    /// default tuning.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `url` is not an absolute `https` URL (plain `http` is
    /// allowed to loopback hosts only).
    pub fn new(url: &str, client: impl HttpClient + 'static) -> Result<Self, Error> {
        Self::with_options(
            url,
            client,
            CoarseClock,
            RemoteConfig::default(),
            Transport::default(),
        )
    }

    /// Keys from `url` with an explicit clock, tuning and transport policy.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `url` fails `transport`, or the tuning is inconsistent
    /// (`min_ttl > max_ttl`, a zero cooldown).
    pub fn with_options(
        url: &str,
        client: impl HttpClient + 'static,
        clock: impl Clock + 'static,
        config: RemoteConfig,
        transport: Transport,
    ) -> Result<Self, Error> {
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::Misconfigured("JWKS URL does not parse".into()))?;
        transport
            .check(&uri)
            .map_err(|e| Error::Misconfigured(e.to_string().into()))?;
        Self::located(Locator::Jwks(uri), client, clock, config)
    }

    /// The keys of `issuer`, found by discovery: its metadata's `jwks_uri`, on the system
    /// clock, with default tuning. See [`RemoteJwks::discover_with_options`].
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `issuer` is not an absolute `https` URL without query
    /// or fragment (plain `http` is allowed to loopback hosts only).
    pub fn discover(issuer: &str, client: impl HttpClient + 'static) -> Result<Self, Error> {
        Self::discover_with_options(
            issuer,
            client,
            CoarseClock,
            RemoteConfig::default(),
            Transport::default(),
        )
    }

    /// The keys of `issuer`, found through its metadata: `/.well-known/openid-configuration`,
    /// or `/.well-known/oauth-authorization-server` (RFC 8414) when that is not found. The
    /// document's `issuer` must be `issuer` exactly and its `jwks_uri` must pass `transport`.
    /// Nothing is fetched until the first verification needs keys; the metadata is then
    /// cached and refreshed within the JWKS fetch (its single flight, cooldown and
    /// stale-if-error).
    ///
    /// # Errors
    ///
    /// As [`RemoteJwks::with_options`], for the issuer's URL.
    pub fn discover_with_options(
        issuer: &str,
        client: impl HttpClient + 'static,
        clock: impl Clock + 'static,
        config: RemoteConfig,
        transport: Transport,
    ) -> Result<Self, Error> {
        let discovery =
            Discovery::new(issuer, transport).map_err(|e| Error::Misconfigured(e.into()))?;
        Self::located(Locator::Issuer(Box::new(discovery)), client, clock, config)
    }

    fn located(
        locator: Locator,
        client: impl HttpClient + 'static,
        clock: impl Clock + 'static,
        config: RemoteConfig,
    ) -> Result<Self, Error> {
        if config.min_ttl > config.max_ttl || config.cooldown.is_zero() {
            return Err(Error::Misconfigured(
                "JWKS tuning: min_ttl above max_ttl, or a zero cooldown".into(),
            ));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                locator,
                client: BoxHttpClient::new(client),
                clock: Arc::new(clock),
                config,
                keys: ArcSwap::from_pointee(KeySet::default()),
                expires_at: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                book: Mutex::new(Book::default()),
            }),
        })
    }

    /// The issuer whose metadata locates the keys, for a source made by discovery.
    pub fn issuer(&self) -> Option<&str> {
        match &self.shared.locator {
            Locator::Issuer(d) => Some(&d.issuer),
            Locator::Jwks(_) => None,
        }
    }

    /// The health of this source.
    pub fn health(&self) -> Health {
        let s = &*self.shared;
        let book = s.book();
        Health {
            last_success: book.last_success,
            last_attempt: book.last_attempt,
            key_count: s.keys.load().len(),
            last_error: book.last_error.clone(),
            stale: s.clock.now().as_nanos() >= s.expires_at.load(Ordering::Acquire),
            fetches: s.fetches.load(Ordering::Relaxed),
        }
    }

    /// Fetches now, whatever the cache says (single-flight with any fetch in progress).
    ///
    /// # Errors
    ///
    /// [`Error::KeySourceUnavailable`] when the fetch fails and no usable keys remain.
    pub async fn refresh(&self) -> Result<(), Error> {
        self.shared.refresh().await;
        self.shared.serve(self.shared.clock.now()).map(|_| ())
    }

    /// The keys to verify a token whose header names `kid` and `alg`, under the same cache,
    /// single flight and cooldown as a [`Verifier`](crate::Verifier): for callers that check
    /// a JWS with [`danger::verify_jws_signature`](crate::danger::verify_jws_signature) and
    /// its claims by rules of their own (OpenID Connect ID tokens and signed UserInfo).
    ///
    /// # Errors
    ///
    /// [`Error::KeySourceUnavailable`] when no usable keys can be had.
    pub async fn keys_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<KeySet>, Error> {
        self.snapshot_for(kid, alg)
            .await
            .map(arc_swap::Guard::into_inner)
    }

    /// The cached set when it is fresh and knows the key: the read path, no lock.
    pub(crate) fn snapshot_now(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<arc_swap::Guard<Arc<KeySet>>> {
        let s = &*self.shared;
        let fresh = s.clock.now().as_nanos() < s.expires_at.load(Ordering::Acquire);
        let keys = fresh.then(|| s.keys.load())?;
        let known = match kid {
            Some(kid) => keys.contains_kid(kid),
            None => keys.supports(alg),
        };
        known.then_some(keys)
    }

    /// The keys to verify a token with `kid`: the cached set, refreshed first when expired
    /// or when `kid` is unknown (subject to the cooldown).
    pub(crate) async fn snapshot_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<arc_swap::Guard<Arc<KeySet>>, Error> {
        if let Some(keys) = self.snapshot_now(kid, alg) {
            return Ok(keys);
        }
        let s = &*self.shared;
        let now = s.clock.now();
        let fresh = now.as_nanos() < s.expires_at.load(Ordering::Acquire);
        if fresh {
            if !s.may_fetch_for(kid, now) {
                return Ok(s.keys.load());
            }
        } else if !s.may_fetch_for(None, now) {
            return s.serve(now);
        }
        s.refresh().await;
        let now = s.clock.now();
        if let Some(kid) = kid
            && !s.keys.load().contains_kid(kid)
        {
            let mut book = s.book();
            book.unknown
                .retain(|(_, at)| now < at.saturating_add(s.config.cooldown));
            if book.unknown.len() < 1024 {
                book.unknown.push((kid.into(), now));
            }
        }
        s.serve(now)
    }
}

impl Shared {
    /// Where the keys come from, safe for messages (no path or query).
    fn origin(&self) -> String {
        match &self.locator {
            Locator::Jwks(uri) => redacted_origin(uri).to_string(),
            Locator::Issuer(d) => format!("of issuer {}", crate::error::shown(&d.issuer)),
        }
    }

    /// The JWKS location, found through the issuer's metadata when it is one.
    async fn jwks_uri(&self) -> Result<Uri, String> {
        match &self.locator {
            Locator::Jwks(uri) => Ok(uri.clone()),
            Locator::Issuer(d) => d.jwks_uri(self).await,
        }
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether to fetch now: join the fetch in progress; else start one unless within the
    /// cooldown of the last start or with `kid` in the negative cache.
    fn may_fetch_for(&self, kid: Option<&str>, now: UnixTime) -> bool {
        let book = self.book();
        if book.running {
            return true;
        }
        let cooled = book
            .last_attempt
            .is_none_or(|at| now >= at.saturating_add(self.config.cooldown));
        let negative = kid.is_some_and(|kid| {
            book.unknown
                .iter()
                .any(|(k, at)| &**k == kid && now < at.saturating_add(self.config.cooldown))
        });
        cooled && !negative
    }

    /// The keys if they may still be served: fresh, or stale within `max_stale`.
    fn serve(&self, now: UnixTime) -> Result<arc_swap::Guard<Arc<KeySet>>, Error> {
        let expires = self.expires_at.load(Ordering::Acquire);
        let limit = UnixTime::from_duration(Duration::from_nanos(expires))
            .saturating_add(self.config.max_stale);
        if expires != 0 && now < limit {
            return Ok(self.keys.load());
        }
        let book = self.book();
        let retry_after = book
            .last_attempt
            .and_then(|at| at.saturating_add(self.config.cooldown).duration_since(now));
        Err(Error::KeySourceUnavailable {
            what: format!("JWKS {}", self.origin()),
            retry_after,
            source: Some(
                book.last_error
                    .clone()
                    .unwrap_or_else(|| "no keys fetched yet".into())
                    .into(),
            ),
        })
    }
}

#[cfg(test)]
mod tests;
