//! [`TokenSource`]: hands out a valid access token, refreshes it ahead of expiry with exactly
//! one request in flight however many callers, persists tokens through a [`TokenStore`], and
//! says when a 401 warrants one forced refresh and one retry.
//!
//! The hot path ([`TokenSource::get`] with a token that is not yet due) reads the clock and
//! one atomic generation number, and clones this thread's own copy of the token: no lock, no
//! allocation, no I/O, and no write to memory another thread uses, so threads calling at once
//! do not slow each other down (each thread that calls keeps one small copy, about half a
//! kilobyte, until the source is dropped; see `token_cache.rs`). Everything else happens under one async
//! mutex (`tokio::sync::Mutex`, runtime-agnostic), held by the one caller that refreshes; the
//! others wait for it and take its result, success or failure.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use auth_core::{Challenge, Secret, UnixTime};
use http::HeaderValue;
use http::header::WWW_AUTHENTICATE;

use crate::client::OAuthClient;
use crate::error::{Error, ErrorCode};
use crate::response::{TokenSet, TokenType};
use crate::store::{BoxTokenStore, MemoryTokenStore, TokenStore};
pub use crate::token_cache::AccessToken;
use crate::token_cache::{Cached, Current};

/// Which grant obtains new tokens when there is no usable refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    ClientCredentials,
    RefreshOnly,
}

/// Builds a [`TokenSource`]; see [`TokenSource::client_credentials`] and
/// [`TokenSource::refreshing`].
#[must_use]
pub struct TokenSourceBuilder {
    client: OAuthClient,
    grant: Grant,
    store: BoxTokenStore,
    margin: Duration,
    jitter: Duration,
    assumed_lifetime: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceBuilder")
            .field("client", &self.client)
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl TokenSourceBuilder {
    /// Where tokens are kept. Default: a fresh [`MemoryTokenStore`].
    pub fn store(mut self, store: impl TokenStore + 'static) -> Self {
        self.store = BoxTokenStore::new(store);
        self
    }

    /// How long before expiry to refresh. Default: 60 s. Never more than half the token's
    /// lifetime, so that short-lived tokens are not refreshed on every call.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Up to how much earlier still, at random, to refresh, so that a fleet started together
    /// does not refresh together. Default: 15 s.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The lifetime assumed for a token whose response had no `expires_in`. Default: 5 min.
    pub fn assumed_lifetime(mut self, lifetime: Duration) -> Self {
        self.assumed_lifetime = lifetime;
        self
    }

    /// The wait after a failed refresh before the next attempt: `min`, doubling on each
    /// further failure up to `max`. Default: 1 s to 60 s.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Builds the source. Nothing is fetched until the first [`TokenSource::get`].
    pub fn build(self) -> TokenSource {
        let seed = RandomState::new().hash_one(std::process::id());
        TokenSource {
            inner: Arc::new(Inner {
                settings: self,
                current: Current::default(),
                flight: tokio::sync::Mutex::new(Flight::default()),
                attempts: AtomicU64::new(0),
                rng: AtomicU64::new(seed),
                unsaved: AtomicBool::new(false),
            }),
        }
    }
}

/// Hands out valid access tokens for one client and grant. Cheap to clone: clones share
/// tokens and the one refresh in flight.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};
/// use auth_oauth2::{ClientAuth, OAuthClient, TokenSource};
///
/// let http = |_req: HttpRequest| async {
///     Ok::<_, HttpError>(HttpResponse::new(br#"{"access_token":"AT","token_type":"Bearer","expires_in":600}"#.to_vec()))
/// };
/// let client = OAuthClient::builder("my-service")
///     .token_endpoint("https://as.example/token")
///     .client_auth(ClientAuth::SecretBasic(Secret::new("s3cr3t")))
///     .http_client(Arc::new(http))
///     .build()?;
/// let source = TokenSource::client_credentials(client).build();
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let mut request = http::Request::get("https://api.example/reports").body(())?;
/// let used = source.authorize(&mut request).await?;
/// assert_eq!(request.headers()["authorization"], "Bearer AT");
/// assert!(request.headers()["authorization"].is_sensitive());
/// // ... send it; on a 401 with error="invalid_token", retry once:
/// let response = http::Response::builder().status(401)
///     .header("www-authenticate", r#"Bearer error="invalid_token""#).body(())?;
/// assert!(source.should_retry(&response, &used));
/// # Ok::<_, Box<dyn std::error::Error>>(()) })?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("client", &self.inner.settings.client)
            .field("grant", &self.inner.settings.grant)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// What the builder was given, unchanged.
    settings: TokenSourceBuilder,
    current: Current,
    flight: tokio::sync::Mutex<Flight>,
    /// Completed refresh attempts, successful or not: a waiter that sees it move knows an
    /// attempt ran while it waited.
    attempts: AtomicU64,
    rng: AtomicU64,
    /// The last save to the store failed: the tokens in memory are newer than the stored ones.
    unsaved: AtomicBool,
}

#[derive(Default)]
struct Flight {
    failure: Option<Failure>,
}

struct Failure {
    at: UnixTime,
    consecutive: u32,
    error: Arc<Error>,
}

impl TokenSource {
    /// A source that obtains tokens with the client credentials grant (and refreshes with a
    /// refresh token if the server issues one).
    pub fn client_credentials(client: OAuthClient) -> TokenSourceBuilder {
        Self::builder(client, Grant::ClientCredentials)
    }

    /// A source that only refreshes: the store must hold a refresh token (from an
    /// authorization code or device login). When it is gone, [`Error::NoRefreshToken`].
    pub fn refreshing(client: OAuthClient) -> TokenSourceBuilder {
        Self::builder(client, Grant::RefreshOnly)
    }

    fn builder(client: OAuthClient, grant: Grant) -> TokenSourceBuilder {
        TokenSourceBuilder {
            client,
            grant,
            store: BoxTokenStore::new(MemoryTokenStore::new()),
            margin: Duration::from_secs(60),
            jitter: Duration::from_secs(15),
            assumed_lifetime: Duration::from_secs(300),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }

    /// A valid access token: the cached one, or a new one.
    ///
    /// # Errors
    ///
    /// [`Error::Refresh`] with the failure of the refresh this call waited for (every caller
    /// waiting on one refresh gets the same failure), [`Error::BackingOff`] while waiting out
    /// the backoff after a failure, [`Error::Store`] when the new tokens could not be saved
    /// (they are used nonetheless).
    pub async fn get(&self) -> Result<AccessToken, Error> {
        let now = self.inner.settings.client.clock().now();
        if let Some(token) = self.inner.current.token(|c| now < c.refresh_at) {
            return Ok(token);
        }
        // Boxed so that the hot path's future stays a few words, not the size of a refresh.
        Box::pin(self.get_slow(now)).await
    }

    /// The cached token if it is not yet due for refresh, without waiting: for callers that
    /// cannot await (a synchronous hook), which then fall back to [`TokenSource::get`].
    pub fn cached(&self) -> Option<AccessToken> {
        let now = self.inner.settings.client.clock().now();
        self.inner.current.token(|c| now < c.refresh_at)
    }

    /// Gets a token and sets it on `request` as `Authorization: Bearer`, marked sensitive.
    /// Keep the returned token for [`TokenSource::should_retry`].
    ///
    /// The request's URL is checked first against the client's transport policy
    /// ([`OAuthClientBuilder::transport`](crate::OAuthClientBuilder::transport): `https`, or
    /// `http` to loopback), as the client's own endpoints are: a token is never attached to
    /// a request that would carry it in clear text.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] for a URL the policy refuses (no token is fetched or set);
    /// otherwise as [`TokenSource::get`].
    pub async fn authorize<B>(&self, request: &mut http::Request<B>) -> Result<AccessToken, Error> {
        let transport = self.inner.settings.client.shared.transport;
        transport
            .check(request.uri())
            .map_err(|source| Error::Transport {
                endpoint: crate::bridge::endpoint_name("resource", request.uri()),
                source,
            })?;
        let token = self.get().await?;
        token.apply(request)?;
        Ok(token)
    }

    /// Whether `response`, received for a request sent with `used`, warrants one forced
    /// refresh and one retry: a 401 whose Bearer (or DPoP) challenge says
    /// `error="invalid_token"` (RFC 6750 §3.1). For a DPoP-bound token prefer
    /// [`TokenSource::should_retry_at`], which also answers a nonce challenge. When it does, `used` is dropped so that the next
    /// [`TokenSource::get`] fetches a new token.
    ///
    /// Retry once only: if the retry is refused again, the server refuses this client, and
    /// another refresh will not change that.
    pub fn should_retry<B>(&self, response: &http::Response<B>, used: &AccessToken) -> bool {
        if response.status() != http::StatusCode::UNAUTHORIZED {
            return false;
        }
        let invalid_token = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Challenge::parse_all(v).ok())
            .flatten()
            .any(|c| {
                (c.is_scheme("Bearer") || c.is_scheme("DPoP"))
                    && c.param("error") == Some("invalid_token")
            });
        if invalid_token {
            self.invalidate(used);
        }
        invalid_token
    }

    /// Drops `used` if it is still the current token, so that the next `get` refreshes.
    pub fn invalidate(&self, used: &AccessToken) {
        self.inner.current.invalidate(used);
    }

    /// The client.
    pub fn client(&self) -> &OAuthClient {
        &self.inner.settings.client
    }

    async fn get_slow(&self, now: UnixTime) -> Result<AccessToken, Error> {
        let inner = &*self.inner;
        if let Some(token) = inner.current.token(|c| now < c.expires_at) {
            // Due but still valid: refresh ahead unless someone already is; on failure, keep
            // handing out the valid token.
            if let Ok(mut flight) = inner.flight.try_lock()
                && !inner.in_backoff(&flight, now)
                && let Ok(token) = self.refresh_locked(&mut flight).await
            {
                return Ok(token);
            }
            return Ok(token);
        }
        let attempts_before = inner.attempts.load(Ordering::Acquire);
        let mut flight = inner.flight.lock().await;
        let now = inner.settings.client.clock().now();
        if let Some(token) = inner.current.token(|c| now < c.expires_at) {
            return Ok(token);
        }
        if let Some(failure) = &flight.failure {
            if inner.attempts.load(Ordering::Acquire) != attempts_before {
                // A refresh ran while we waited, and failed: its failure is ours too.
                return Err(Error::Refresh(Arc::clone(&failure.error)));
            }
            if inner.in_backoff(&flight, now) {
                return Err(Error::BackingOff {
                    retry_in: inner
                        .retry_at(failure)
                        .duration_since(now)
                        .unwrap_or_default(),
                    source: Arc::clone(&failure.error),
                });
            }
        }
        self.refresh_locked(&mut flight).await
    }

    /// Obtains new tokens; the caller holds the flight lock.
    async fn refresh_locked(&self, flight: &mut Flight) -> Result<AccessToken, Error> {
        let inner = &*self.inner;
        let result = self.obtain().await;
        inner.attempts.fetch_add(1, Ordering::AcqRel);
        #[cfg(feature = "metrics")]
        metrics::counter!("auth_token_refreshes_total",
            "outcome" => if result.is_ok() { "ok" } else { "error" })
        .increment(1);
        let now = inner.settings.client.clock().now();
        match result {
            Ok((tokens, saved)) => {
                flight.failure = None;
                let token = inner.install(tokens, now)?;
                saved.map(|()| token)
            }
            Err(error) => {
                let error = Arc::new(error);
                let consecutive = flight.failure.as_ref().map_or(0, |f| f.consecutive) + 1;
                flight.failure = Some(Failure {
                    at: now,
                    consecutive,
                    error: Arc::clone(&error),
                });
                Err(Error::Refresh(error))
            }
        }
    }

    /// New tokens, and whether saving them worked. Adopts tokens another source saved when
    /// they are newer than ours and valid; otherwise refreshes (re-reading the store once on
    /// `invalid_grant`), or runs the client credentials grant.
    async fn obtain(&self) -> Result<(TokenSet, Result<(), Error>), Error> {
        let inner = &*self.inner;
        let ours = inner.current.load();
        let stored = inner.settings.store.load().await?;
        let now = inner.settings.client.clock().now();
        if let Some(s) = stored
            .as_ref()
            .filter(|s| inner.adoptable(s, ours.as_deref(), now))
        {
            return Ok((s.clone(), Ok(())));
        }
        // The store holds the newest refresh token, unless our last save failed: then ours is
        // newer and the stored one may be dead (rotated away by our own refresh).
        let ours_rt = ours.as_ref().and_then(|c| c.tokens.refresh_token());
        let stored_rt = stored.as_ref().and_then(TokenSet::refresh_token);
        let refresh_token = if inner.unsaved.load(Ordering::Acquire) {
            ours_rt.or(stored_rt)
        } else {
            stored_rt.or(ours_rt)
        }
        .cloned();
        let tokens = match refresh_token {
            Some(rt) => match inner.settings.client.refresh(&rt).await {
                Ok(t) => t,
                Err(e) if e.is_server_error(&ErrorCode::InvalidGrant) => {
                    // Another process may have rotated it: re-read the store once.
                    let again = inner.settings.store.load().await?;
                    let now = inner.settings.client.clock().now();
                    match again {
                        Some(s) if inner.adoptable(&s, ours.as_deref(), now) => {
                            return Ok((s, Ok(())));
                        }
                        Some(s)
                            if s.refresh_token()
                                .is_some_and(|r| !r.ct_eq(rt.expose_secret())) =>
                        {
                            let newer = s.refresh_token().cloned().ok_or(Error::NoRefreshToken)?;
                            inner.settings.client.refresh(&newer).await?
                        }
                        _ if inner.settings.grant == Grant::ClientCredentials => {
                            inner.settings.client.client_credentials().await?
                        }
                        _ => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            },
            None if inner.settings.grant == Grant::ClientCredentials => {
                inner.settings.client.client_credentials().await?
            }
            None => return Err(Error::NoRefreshToken),
        };
        let saved = inner.settings.store.save(&tokens).await;
        inner.unsaved.store(saved.is_err(), Ordering::Release);
        Ok((tokens, saved))
    }
}

impl Inner {
    /// Whether stored tokens are another source's newer, valid tokens.
    fn adoptable(&self, stored: &TokenSet, ours: Option<&Cached>, now: UnixTime) -> bool {
        let same = ours.is_some_and(|c| {
            c.tokens
                .access_token()
                .ct_eq(stored.access_token().expose_secret())
        });
        !same && stored.expires_at().is_some_and(|at| now < at)
    }

    fn retry_at(&self, failure: &Failure) -> UnixTime {
        let shift = failure.consecutive.saturating_sub(1).min(20);
        let wait = self
            .settings
            .backoff_min
            .saturating_mul(1 << shift)
            .min(self.settings.backoff_max);
        failure.at.saturating_add(wait)
    }

    fn in_backoff(&self, flight: &Flight, now: UnixTime) -> bool {
        flight
            .failure
            .as_ref()
            .is_some_and(|f| now < self.retry_at(f))
    }

    /// A random duration in `[0, max]` (splitmix64; jitter needs spread, not secrecy).
    fn random_up_to(&self, max: Duration) -> Duration {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(if nanos == 0 { 0 } else { z % (nanos + 1) })
    }

    fn install(&self, tokens: TokenSet, now: UnixTime) -> Result<AccessToken, Error> {
        let expires_at = tokens
            .expires_at()
            .unwrap_or_else(|| now.saturating_add(self.settings.assumed_lifetime));
        let lifetime = expires_at.duration_since(now).unwrap_or_default();
        let ahead =
            (self.settings.margin + self.random_up_to(self.settings.jitter)).min(lifetime / 2);
        let client = &self.settings.client.shared;
        let dpop = match tokens.token_type() {
            TokenType::Bearer => None,
            TokenType::DPoP => Some(client.dpop.clone().ok_or_else(|| {
                Error::DpopProof(
                    "a DPoP-bound token (from the store) for a client without a DPoP key".into(),
                )
            })?),
        };
        let scheme = tokens.token_type().as_str();
        let mut value = Vec::with_capacity(scheme.len() + 1 + tokens.access_token().len());
        value.extend_from_slice(scheme.as_bytes());
        value.push(b' ');
        value.extend_from_slice(tokens.access_token().expose_secret());
        // Zeroized when dropped; the header value is the one copy that must stay.
        let value = Secret::new(value);
        let mut header = HeaderValue::from_bytes(value.expose_secret()).map_err(|_| {
            Error::invalid(
                &self.settings.client.shared.token_name,
                "access token cannot be sent in a header",
            )
        })?;
        header.set_sensitive(true);
        let refresh_at = expires_at.saturating_sub(ahead);
        let transport = self.settings.client.shared.transport;
        let cached =
            Cached::new(tokens, header, (refresh_at, expires_at), transport).with_dpop(dpop);
        Ok(self.current.publish(cached))
    }
}
