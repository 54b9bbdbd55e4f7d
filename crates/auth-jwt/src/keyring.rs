//! [`KeyRing`]: the signing side of rotation. It signs with the current key, publishes the
//! current, next and recently retired public keys as a JWKS, and rotates on a schedule read
//! from the [`Clock`], so that relying parties learn a key before its first token and keep it
//! until its last token has expired.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use auth_core::{Clock, UnixTime};
use serde::Serialize;

use crate::error::Error;
use crate::{KeySet, KeySource, SigningKey};

/// When a [`KeyRing`] rotates and how long it keeps retired keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotation {
    /// How long a key signs before the next one takes over.
    pub every: Duration,
    /// How long a retired key stays published: at least the longest token lifetime, so that
    /// tokens signed before a rotation verify until they expire.
    pub keep_retired_for: Duration,
}

impl Rotation {
    /// A key signs for `every`, then stays published for `keep_retired_for`.
    pub fn new(every: Duration, keep_retired_for: Duration) -> Self {
        Self {
            every,
            keep_retired_for,
        }
    }
}

type Generate = dyn Fn() -> Result<SigningKey, Error> + Send + Sync;

struct Ring {
    current: Arc<SigningKey>,
    since: UnixTime,
    next: Arc<SigningKey>,
    retired: Vec<(Arc<SigningKey>, UnixTime)>,
}

/// A rotating set of signing keys. Signing takes no lock except during a rotation.
///
/// A rotation makes a new key (the generator runs: milliseconds for ECDSA and Ed25519, up
/// to a second for RSA). [`KeyRing::sign`] rotates when due, so the request that finds the
/// period over pays for it; to keep key generation off the request path, call
/// [`KeyRing::rotate_if_due`] from a background task more often than the period (every
/// minute, say), and `sign` then never finds a rotation due.
pub struct KeyRing {
    clock: Arc<dyn Clock>,
    rotation: Rotation,
    generate: Box<Generate>,
    ring: Mutex<Ring>,
    current: ArcSwap<(Arc<SigningKey>, UnixTime)>,
    verification: Arc<ArcSwap<KeySet>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("rotation", &self.rotation)
            .field("current", &self.current.load().0.kid())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring that makes its keys with `generate` (for example
    /// `|| SigningKey::generate(Algorithm::ES256)`), rotating as `rotation` says.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for a zero rotation period, a zero `keep_retired_for` (every
    /// token signed before a rotation would fail at once), or a key without `kid`; the
    /// generator's error.
    pub fn new(
        clock: impl Clock + 'static,
        rotation: Rotation,
        generate: impl Fn() -> Result<SigningKey, Error> + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        if rotation.every.is_zero() {
            return Err(Error::Misconfigured("rotation period is zero".into()));
        }
        if rotation.keep_retired_for.is_zero() {
            return Err(Error::Misconfigured(
                "keep_retired_for is zero: tokens signed before a rotation would fail at once; \
                 keep retired keys at least as long as the longest token lifetime"
                    .into(),
            ));
        }
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let make = move || -> Result<Arc<SigningKey>, Error> {
            let key = generate()?;
            if key.kid().is_none() {
                return Err(Error::Misconfigured(
                    "key ring keys need a kid (HMAC keys: set one with with_kid)".into(),
                ));
            }
            Ok(Arc::new(key))
        };
        let now = clock.now();
        let ring = Ring {
            current: make()?,
            since: now,
            next: make()?,
            retired: Vec::new(),
        };
        let keys = verification_set(&ring)?;
        Ok(Self {
            clock,
            rotation,
            current: ArcSwap::from_pointee((ring.current.clone(), now)),
            ring: Mutex::new(ring),
            verification: Arc::new(ArcSwap::from_pointee(keys)),
            generate: Box::new(move || make().map(Arc::unwrap_or_clone)),
        })
    }

    /// Signs `claims` with the current key, rotating first if it is due.
    ///
    /// # Errors
    ///
    /// As [`SigningKey::sign`], or the generator's error on a rotation.
    pub fn sign<T: Serialize + ?Sized>(&self, claims: &T) -> Result<String, Error> {
        self.rotate_if_due()?;
        let current = self.current.load();
        current.0.sign(claims)
    }

    /// Rotates if the current key has signed for its period: the next key becomes current, a
    /// new next key is made, the old current key is retired, and keys retired longer than
    /// `keep_retired_for` are dropped. Returns whether it rotated.
    ///
    /// # Errors
    ///
    /// The generator's error; the ring is then unchanged.
    pub fn rotate_if_due(&self) -> Result<bool, Error> {
        let now = self.clock.now();
        if now < self.current.load().1.saturating_add(self.rotation.every) {
            return Ok(false);
        }
        let mut guard = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = &mut *guard;
        // Another caller may have rotated while this one waited.
        if now < ring.since.saturating_add(self.rotation.every) {
            return Ok(false);
        }
        let fresh = Arc::new((self.generate)()?);
        let old = std::mem::replace(&mut ring.current, ring.next.clone());
        ring.next = fresh;
        ring.retired.push((old, now));
        ring.since = now;
        let keep = self.rotation.keep_retired_for;
        ring.retired.retain(|(_, at)| now < at.saturating_add(keep));
        self.verification.store(Arc::new(verification_set(ring)?));
        self.current.store(Arc::new((ring.current.clone(), now)));
        Ok(true)
    }

    /// The current key's id.
    pub fn current_kid(&self) -> Option<String> {
        self.current.load().0.kid().map(str::to_owned)
    }

    /// The JWKS document to publish: current, next and retired public keys (HMAC secrets are
    /// never published).
    pub fn jwks(&self) -> String {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let keys: Vec<_> = all(&ring).filter_map(|k| k.public_jwk()).collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// A key source for local verifiers that follows the ring's rotations.
    pub fn key_source(&self) -> KeySource {
        KeySource::live(self.verification.clone())
    }
}

fn all(ring: &Ring) -> impl Iterator<Item = &SigningKey> {
    [&ring.current, &ring.next]
        .into_iter()
        .chain(ring.retired.iter().map(|(k, _)| k))
        .map(|k| &**k)
}

fn verification_set(ring: &Ring) -> Result<KeySet, Error> {
    all(ring)
        .map(SigningKey::verification_key)
        .collect::<Result<Vec<_>, _>>()
        .map(KeySet::new)
}
