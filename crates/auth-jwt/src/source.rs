//! [`KeySource`]: where a verifier gets its keys. A fixed [`KeySet`], a live set that a
//! [`KeyRing`](crate::KeyRing) keeps current, or a [`RemoteJwks`](crate::RemoteJwks) that
//! fetches through auth-core's `HttpClient`.
//!
//! Architecture invariant: the read path takes no lock a writer can hold; new key sets are
//! built aside and swapped in whole (arc-swap).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::Error;
use crate::{Algorithm, KeySet};

/// Where a verifier's keys come from.
#[derive(Clone)]
pub struct KeySource(Kind);

#[derive(Clone)]
enum Kind {
    Fixed(Arc<KeySet>),
    Live(Arc<ArcSwap<KeySet>>),
    Remote(crate::remote::RemoteJwks),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Fixed(k) => f.debug_tuple("Fixed").field(&k.len()).finish(),
            Kind::Live(k) => f.debug_tuple("Live").field(&k.load().len()).finish(),
            Kind::Remote(r) => f.debug_tuple("Remote").field(r).finish(),
        }
    }
}

/// The keys in force for one verification.
pub(crate) enum Snapshot<'a> {
    Borrowed(&'a KeySet),
    Guarded(arc_swap::Guard<Arc<KeySet>>),
}

impl Snapshot<'_> {
    pub(crate) fn key_set(&self) -> &KeySet {
        match self {
            Self::Borrowed(k) => k,
            Self::Guarded(g) => g.deref(),
        }
    }
}

impl KeySource {
    /// A fixed set of keys.
    pub fn fixed(keys: KeySet) -> Self {
        Self(Kind::Fixed(Arc::new(keys)))
    }

    /// A set that someone else replaces, as a whole, while verifiers read it.
    pub fn live(keys: Arc<ArcSwap<KeySet>>) -> Self {
        Self(Kind::Live(keys))
    }

    /// Keys fetched from a remote JWKS endpoint.
    pub fn remote(jwks: crate::remote::RemoteJwks) -> Self {
        Self(Kind::Remote(jwks))
    }

    /// The remote JWKS, for its health, when that is the source.
    pub fn as_remote(&self) -> Option<&crate::remote::RemoteJwks> {
        match &self.0 {
            Kind::Remote(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn fixed_keys(&self) -> Option<&KeySet> {
        match &self.0 {
            Kind::Fixed(k) => Some(k),
            _ => None,
        }
    }

    /// The keys to verify a token with `kid` and `alg` when they are at hand without a
    /// fetch: always for fixed and live sets, for a remote JWKS when its cached set is fresh
    /// and knows the key. `None`: ask [`KeySource::snapshot_for`].
    pub(crate) fn snapshot_now(&self, kid: Option<&str>, alg: Algorithm) -> Option<Snapshot<'_>> {
        match &self.0 {
            Kind::Fixed(k) => Some(Snapshot::Borrowed(k)),
            Kind::Live(k) => Some(Snapshot::Guarded(k.load())),
            Kind::Remote(r) => r.snapshot_now(kid, alg).map(Snapshot::Guarded),
        }
    }

    /// The keys to verify a token with `kid` and `alg`; a remote source may fetch first.
    pub(crate) async fn snapshot_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Snapshot<'_>, Error> {
        match &self.0 {
            Kind::Fixed(k) => Ok(Snapshot::Borrowed(k)),
            Kind::Live(k) => Ok(Snapshot::Guarded(k.load())),
            Kind::Remote(r) => r.snapshot_for(kid, alg).await.map(Snapshot::Guarded),
        }
    }
}

impl From<KeySet> for KeySource {
    fn from(keys: KeySet) -> Self {
        Self::fixed(keys)
    }
}
