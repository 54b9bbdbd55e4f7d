//! The token source's current tokens: one source of truth, and a copy per thread so that the
//! hot path writes no memory another thread reads.
//!
//! The truth is a `Mutex<Option<Arc<Cached>>>` plus an atomic *generation*: every new
//! [`Cached`] (a refresh, an invalidation) gets the next number from a counter, and the
//! generation is stored after the pointer, both under the mutex. Numbers are never reused, so
//! equal generations mean the same tokens (no ABA, unlike comparing pointers to memory that
//! may be freed and reused).
//!
//! Each thread that asks keeps its own [`Handle`] (its own allocation, with its own copy of the
//! `Authorization` header value) in a [`ThreadLocal`]. The hot path loads the generation (a
//! shared read), compares it with its handle's, and clones its handle: the reference count it
//! bumps lives in memory only this thread touches. A shared `Arc` would instead bounce its
//! count's cache line between cores on every call, which costs more than the rest of the path
//! as soon as two threads call at once. A thread whose handle is stale takes the mutex once to
//! make a new one.
//!
//! Memory: per thread that has called, one slot (128 bytes) and one handle (a 256-byte
//! allocation: the `Arc`'s counts padded to the handle's 128-byte alignment, then the handle),
//! aligned so that no other data shares their cache lines, plus the header value (the token's length and
//! 7 bytes): about half a kilobyte. Slots live until the source is dropped (a thread that exits
//! leaves its slot to the next thread that gets its index). A handle keeps its tokens alive
//! until its thread's next call after they are replaced, or until the source is dropped.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use auth_core::{Scopes, Secret, Transport, UnixTime};
use http::HeaderValue;
use http::header::AUTHORIZATION;
use thread_local::ThreadLocal;

use crate::proof_key::DpopState;
use crate::response::{TokenSet, TokenType};

/// Tokens obtained once, and when to refresh them. Never changed after it is published.
pub(crate) struct Cached {
    pub(crate) tokens: TokenSet,
    /// `Bearer <access token>` (or `DPoP <access token>`), checked to be a valid header
    /// value, sensitive.
    pub(crate) header: HeaderValue,
    /// The client's DPoP key and nonces, for a DPoP-bound token.
    pub(crate) dpop: Option<Arc<DpopState>>,
    pub(crate) refresh_at: UnixTime,
    pub(crate) expires_at: UnixTime,
    /// Where the token may be sent: the client's policy.
    pub(crate) transport: Transport,
    /// Set by [`Current::publish`]: unique per published `Cached`.
    generation: u64,
}

impl Cached {
    /// Unpublished tokens; [`Current::publish`] numbers them.
    pub(crate) fn new(
        tokens: TokenSet,
        header: HeaderValue,
        (refresh_at, expires_at): (UnixTime, UnixTime),
        transport: Transport,
    ) -> Self {
        Self {
            tokens,
            header,
            refresh_at,
            expires_at,
            transport,
            dpop: None,
            generation: 0,
        }
    }

    /// Binds the tokens to the client's DPoP key: each request gets a proof.
    pub(crate) fn with_dpop(mut self, dpop: Option<Arc<DpopState>>) -> Self {
        self.dpop = dpop;
        self
    }
}

/// One thread's view of a [`Cached`]. Aligned so that its reference counts, which the thread
/// writes on every `get()`, share no cache line with another allocation.
#[repr(align(128))]
struct Handle {
    cached: Arc<Cached>,
    /// A copy of `cached.header` in this handle's own allocation: cloning it (in
    /// [`AccessToken::apply`]) bumps a count no other thread's handle uses.
    header: HeaderValue,
}

impl Handle {
    fn new(cached: Arc<Cached>) -> Arc<Self> {
        let header = HeaderValue::from_bytes(cached.header.as_bytes())
            .map(|mut h| {
                h.set_sensitive(true);
                h
            })
            .unwrap_or_else(|_| cached.header.clone());
        Arc::new(Self { cached, header })
    }
}

/// An access token handed out by a [`TokenSource`](crate::TokenSource). Cheap to clone;
/// redacted `Debug`.
#[derive(Clone)]
pub struct AccessToken(Arc<Handle>);

impl AccessToken {
    /// The token.
    pub fn secret(&self) -> &Secret {
        self.0.cached.tokens.access_token()
    }

    /// When it expires by our clock (when the server did not say: the configured assumed
    /// lifetime after it was issued).
    pub fn expires_at(&self) -> UnixTime {
        self.0.cached.expires_at
    }

    /// The granted scopes, when the server said.
    pub fn scopes(&self) -> Option<&Scopes> {
        self.0.cached.tokens.scopes()
    }

    /// How the token is presented: [`TokenType::DPoP`] when the server bound it to the
    /// client's DPoP key.
    pub fn token_type(&self) -> TokenType {
        self.0.cached.tokens.token_type()
    }

    /// The client's DPoP key and nonces, for a DPoP-bound token.
    pub(crate) fn dpop(&self) -> Option<&DpopState> {
        self.0.cached.dpop.as_deref()
    }

    /// A fresh DPoP proof for a request with `method` to `uri`, with `ath` for this token and
    /// the origin's latest nonce: `None` for a bearer token. [`AccessToken::apply`] adds it
    /// by itself; this is for callers that set headers themselves.
    ///
    /// # Errors
    ///
    /// [`Error::DpopProof`](crate::Error::DpopProof) when the key cannot sign.
    pub fn dpop_proof(
        &self,
        method: &http::Method,
        uri: &http::Uri,
    ) -> Result<Option<HeaderValue>, crate::Error> {
        let cached = &self.0.cached;
        let Some(dpop) = cached.dpop.as_deref() else {
            return Ok(None);
        };
        let token = cached
            .tokens
            .access_token()
            .expose_str()
            .map_err(|e| crate::Error::DpopProof(Box::new(e)))?;
        dpop.proof(method, uri, Some(token)).map(Some)
    }

    /// Sets `Authorization: Bearer <token>` on `request`, marked sensitive, replacing any
    /// earlier value, once the request's URL passes the client's transport policy (`https`,
    /// or `http` to loopback), as every other sender of a credential checks it.
    ///
    /// For a DPoP-bound token ([`TokenType::DPoP`]): `Authorization: DPoP <token>` and a
    /// `DPoP` header with a fresh proof for the request's method and URL (RFC 9449 §7.1).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`](crate::Error::Transport) for a URL the policy refuses;
    /// [`Error::DpopProof`](crate::Error::DpopProof) when the proof cannot be made. The
    /// request is then left without the token.
    pub fn apply<B>(&self, request: &mut http::Request<B>) -> Result<(), crate::Error> {
        self.0
            .cached
            .transport
            .check(request.uri())
            .map_err(|source| crate::Error::Transport {
                endpoint: crate::bridge::endpoint_name("resource", request.uri()),
                source,
            })?;
        let proof = self.dpop_proof(request.method(), request.uri())?;
        self.apply_to_headers(request.headers_mut());
        if let Some(proof) = proof {
            request
                .headers_mut()
                .insert(http::HeaderName::from_static("dpop"), proof);
        }
        Ok(())
    }

    /// Sets `Authorization: Bearer <token>` (or `DPoP <token>`) in `headers`. There is no URL
    /// here to check: use it only where the caller knows the request goes over HTTPS, and
    /// prefer [`AccessToken::apply`]. A DPoP-bound token also needs its proof, from
    /// [`AccessToken::dpop_proof`], in the `DPoP` header.
    pub fn apply_to_headers(&self, headers: &mut http::HeaderMap) {
        headers.insert(AUTHORIZATION, self.0.header.clone());
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("token_type", &self.token_type())
            .field("expires_at", &self.0.cached.expires_at)
            .finish()
    }
}

/// A thread's slot, padded like [`Handle`]: `get()` writes it (`Cell::take`/`set`).
#[derive(Default)]
#[repr(align(128))]
struct Slot(Cell<Option<Arc<Handle>>>);

/// The current tokens of one token source; see the module documentation.
#[derive(Default)]
pub(crate) struct Current {
    cached: Mutex<Option<Arc<Cached>>>,
    /// The generation of `cached` (0 while there is none). Written under `cached`'s lock.
    generation: AtomicU64,
    local: ThreadLocal<Slot>,
}

impl Current {
    /// The current tokens as this thread's [`AccessToken`], if `usable` says so. The hot path:
    /// no lock and no write to shared memory unless the tokens changed since this thread last
    /// asked.
    #[inline]
    pub(crate) fn token(&self, usable: impl FnOnce(&Cached) -> bool) -> Option<AccessToken> {
        // Acquire: pairs with the Release in `publish_locked`; a thread that sees generation `g`
        // also sees the tokens published with it.
        let generation = self.generation.load(Ordering::Acquire);
        if generation == 0 {
            return None;
        }
        let slot = &self.local.get_or_default().0;
        let mut handle = slot.take();
        if handle
            .as_ref()
            .is_none_or(|h| h.cached.generation != generation)
        {
            // Stale: copy what is current now (possibly newer than `generation`; the next
            // call then copies again).
            handle = self.load().map(Handle::new);
        }
        let token = handle
            .as_ref()
            .filter(|h| usable(&h.cached))
            .map(|h| AccessToken(Arc::clone(h)));
        slot.set(handle);
        token
    }

    /// The current tokens, shared (for the slow paths).
    pub(crate) fn load(&self) -> Option<Arc<Cached>> {
        self.lock().clone()
    }

    /// Publishes `new` as the current tokens, under a new generation, and returns it as this
    /// thread's [`AccessToken`].
    pub(crate) fn publish(&self, new: Cached) -> AccessToken {
        self.publish_locked(&mut self.lock(), new)
    }

    /// Marks `used` due for refresh and expired, if it is still the current token, so that the
    /// next `get()` on any thread refreshes.
    pub(crate) fn invalidate(&self, used: &AccessToken) {
        let mut cached = self.lock();
        if let Some(c) = cached
            .as_ref()
            .filter(|c| c.generation == used.0.cached.generation)
        {
            let (tokens, header) = (c.tokens.clone(), c.header.clone());
            let never = (UnixTime::EPOCH, UnixTime::EPOCH);
            let expired = Cached::new(tokens, header, never, c.transport).with_dpop(c.dpop.clone());
            self.publish_locked(&mut cached, expired);
        }
    }

    fn publish_locked(&self, cached: &mut Option<Arc<Cached>>, mut new: Cached) -> AccessToken {
        new.generation = self.generation.load(Ordering::Relaxed) + 1;
        let generation = new.generation;
        let new = Arc::new(new);
        *cached = Some(Arc::clone(&new));
        self.generation.store(generation, Ordering::Release);
        let handle = Handle::new(new);
        self.local.get_or_default().0.set(Some(Arc::clone(&handle)));
        AccessToken(handle)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Cached>>> {
        // Nothing panics while the lock is held (assignments and clones), but a poisoned lock
        // would still hold consistent tokens.
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memory the module documentation states: a 128-byte slot and a 256-byte handle
    /// allocation (128 bytes of handle behind the `Arc`'s counts, padded to the alignment).
    #[test]
    fn per_thread_memory_is_as_documented() {
        assert_eq!(std::mem::size_of::<Slot>(), 128);
        assert_eq!(std::mem::size_of::<Handle>(), 128);
        assert_eq!(std::mem::align_of::<Handle>(), 128);
    }

    fn publish(current: &Current, token: &str, expires: u64) -> AccessToken {
        let tokens = TokenSet::new(Secret::new(token), None);
        let header = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        let at = UnixTime::from_secs(expires);
        current.publish(Cached::new(tokens, header, (at, at), Transport::default()))
    }

    fn secret(t: &AccessToken) -> &[u8] {
        t.secret().expose_secret()
    }

    #[test]
    fn each_thread_hands_out_its_own_copy_of_the_current_tokens() {
        let current = Current::default();
        assert!(current.token(|_| true).is_none());
        let published = publish(&current, "A", 100);
        let here = current.token(|_| true).unwrap();
        assert!(Arc::ptr_eq(&here.0, &published.0), "the publisher's copy");
        std::thread::scope(|s| {
            s.spawn(|| {
                let there = current.token(|_| true).unwrap();
                assert_eq!(secret(&there), b"A");
                assert!(!Arc::ptr_eq(&there.0, &here.0), "another thread's copy");
                assert!(Arc::ptr_eq(&there.0.cached, &here.0.cached));
                assert_ne!(
                    there.0.header.as_bytes().as_ptr(),
                    here.0.header.as_bytes().as_ptr(),
                    "its own header bytes"
                );
                assert!(there.0.header.is_sensitive());
                let again = current.token(|_| true).unwrap();
                assert!(Arc::ptr_eq(&there.0, &again.0), "kept for the next call");
            });
        });
    }

    #[test]
    fn another_thread_never_hands_out_tokens_older_than_the_published_ones() {
        let current = Current::default();
        publish(&current, "A", 100);
        let (ask, asked) = std::sync::mpsc::channel::<()>();
        let (answer, answers) = std::sync::mpsc::channel::<Option<(Vec<u8>, UnixTime)>>();
        std::thread::scope(|s| {
            let current = &current;
            s.spawn(move || {
                // Keeps its copy between questions, as a worker thread would.
                while asked.recv().is_ok() {
                    let t = current.token(|_| true);
                    let seen = t.map(|t| (secret(&t).to_vec(), t.expires_at()));
                    answer.send(seen).unwrap();
                }
            });
            let there = || {
                ask.send(()).unwrap();
                answers.recv().unwrap().unwrap()
            };
            assert_eq!(there(), (b"A".to_vec(), UnixTime::from_secs(100)));
            publish(current, "B", 200);
            assert_eq!(there(), (b"B".to_vec(), UnixTime::from_secs(200)));
            // Invalidated here: the same tokens under a new generation, expired there too.
            let b = current.token(|_| true).unwrap();
            current.invalidate(&b);
            assert_eq!(there(), (b"B".to_vec(), UnixTime::EPOCH));
            drop(ask);
        });
    }

    #[test]
    fn invalidating_a_superseded_token_changes_nothing() {
        let current = Current::default();
        let a = publish(&current, "A", 100);
        let b = publish(&current, "B", 200);
        current.invalidate(&a);
        let now = current.token(|_| true).unwrap();
        assert!(Arc::ptr_eq(&now.0, &b.0));
        assert_eq!(now.expires_at(), UnixTime::from_secs(200));
    }

    #[test]
    fn tokens_can_go_anywhere() {
        fn send_sync<T: Send + Sync + Clone>() {}
        send_sync::<AccessToken>();
        send_sync::<crate::TokenSource>();
    }

    #[test]
    fn generations_only_grow() {
        let current = Current::default();
        let a = publish(&current, "A", 100);
        current.invalidate(&a);
        let b = publish(&current, "A", 100);
        assert!(b.0.cached.generation > a.0.cached.generation + 1);
        assert_eq!(
            current.generation.load(Ordering::Relaxed),
            b.0.cached.generation
        );
    }
}
