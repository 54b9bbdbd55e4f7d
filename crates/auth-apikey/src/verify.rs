//! Verification: from the presented string to a [`KeyStatus`], and to an
//! [`auth_core::Principal`] through [`VerifyToken`].
//!
//! The order is fixed and cheap things come first: exact length and prefix, base62, the
//! checksum (all offline, no store touched), then the lookup by id, the digest, a
//! constant-time comparison of the fixed-length digests, and the record's state (revoked,
//! expired, out of uses).
//!
//! # Security
//!
//! An unknown id and a wrong secret cost the same work (on a miss the digest is computed all
//! the same and compared against a dummy) and give the client the same answer, 401
//! `invalid_token`. Only the server's [`Refusal`] tells them apart.

use std::borrow::Cow;
use std::sync::Arc;

use auth_core::{CredentialKind, Error as CoreError, Principal, TokenVerdict, VerifyToken};

use crate::error::Error;
use crate::keys::ApiKeys;
use crate::record::KeyRecord;
use crate::refusal::Refusal;
use crate::store::KeyStore;

/// The outcome of checking a key.
#[derive(Debug, Clone)]
#[must_use = "a checked key is valid only if its status says so"]
#[non_exhaustive]
pub enum KeyStatus {
    /// The key is valid; this is its record (as read, before a use was taken).
    Valid(Arc<KeyRecord>),
    /// The key is refused, and why.
    Refused(Refusal),
}

impl KeyStatus {
    /// The refusal, if refused.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Valid(_) => None,
            Self::Refused(r) => Some(*r),
        }
    }

    /// Whether the key is valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, Self::Valid(_))
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// Checks a presented key. A usable key with limited uses has one use taken.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store fails: no decision (503), never a refusal.
    pub fn check<'a>(
        &'a self,
        key: &'a str,
    ) -> impl Future<Output = Result<KeyStatus, Error>> + Send + 'a {
        self.status(key, Use::Take)
    }

    /// Checks a presented key as [`ApiKeys::check`] does, without taking a use: for
    /// looking at a key (token introspection, an admin's "is this key good?") rather than
    /// accepting a request with it. A key with no uses left is [`Refusal::Exhausted`].
    ///
    /// # Errors
    ///
    /// As [`ApiKeys::check`].
    pub fn inspect<'a>(
        &'a self,
        key: &'a str,
    ) -> impl Future<Output = Result<KeyStatus, Error>> + Send + 'a {
        self.status(key, Use::Keep)
    }

    fn status<'a>(
        &'a self,
        key: &'a str,
        uses: Use,
    ) -> impl Future<Output = Result<KeyStatus, Error>> + Send + 'a {
        // The offline checks run before the future is built, so that a forged key costs
        // what they cost. The future is kept small (nothing large lives across an await):
        // it is moved into every caller's future.
        let offline = self.format().parse_inline(key);
        async move {
            let id = match offline {
                Ok(id) => id,
                Err(refusal) => return Ok(KeyStatus::Refused(refusal)),
            };
            let record = self.store().get(&id).await?;
            // The same digest and the same comparison on a hit and a miss. (In a block, so
            // that the two digests are not kept in the future across the next await.)
            let matches = {
                let expected = record.as_ref().map_or(self.dummy_digest(), |r| r.digest);
                self.hasher().digest(key.as_bytes()).ct_eq(&expected)
            };
            let Some(record) = record else {
                return Ok(KeyStatus::Refused(Refusal::UnknownKey));
            };
            if !matches {
                return Ok(KeyStatus::Refused(Refusal::WrongSecret));
            }
            if record.revoked.is_some() {
                return Ok(KeyStatus::Refused(Refusal::Revoked));
            }
            // The clock is read only for keys that expire: it costs as much as a lookup.
            if let Some(expires) = record.expires
                && self.clock().now() >= expires
            {
                return Ok(KeyStatus::Refused(Refusal::Expired));
            }
            let exhausted = match (record.remaining_uses, uses) {
                (None, _) => false,
                (Some(left), Use::Keep) => left == 0,
                (Some(_), Use::Take) => !self.store().consume_use(&id).await?,
            };
            if exhausted {
                return Ok(KeyStatus::Refused(Refusal::Exhausted));
            }
            Ok(KeyStatus::Valid(record))
        }
    }
}

/// Whether a check takes one of a limited key's uses.
#[derive(Debug, Clone, Copy)]
enum Use {
    Take,
    Keep,
}

/// The principal for a valid key: the owner as subject, the key's scopes,
/// [`CredentialKind::ApiKey`], and the [`KeyId`](crate::KeyId) as attributes; for a key with
/// a [`RateQuota`](crate::RateQuota), that quota and its
/// [`OwnQuota`](auth_core::OwnQuota) ([`KeyRecord::own_quota`]) too, which a rate
/// limit gate built `with_own_quotas` enforces in place of its default.
pub fn principal(record: &KeyRecord) -> Principal {
    let mut p = Principal::new(record.owner.as_str(), CredentialKind::ApiKey)
        .with_scopes(record.scopes.clone())
        .with_attribute(record.id);
    if let Some(quota) = record.rate_quota {
        p = p.with_attribute(quota);
    }
    if let Some(own) = record.own_quota() {
        p = p.with_attribute(own);
    }
    p
}

impl<S: KeyStore> VerifyToken for ApiKeys<S> {
    /// A key is ours when it starts with our `<prefix>_`; anything else is left to the next
    /// authenticator (a JWT, another key kind).
    fn recognizes(&self, token: &str) -> bool {
        self.format().recognizes(token)
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, CoreError> {
        Ok(match self.check(token).await? {
            KeyStatus::Valid(record) => TokenVerdict::Valid(principal(&record)),
            KeyStatus::Refused(refusal) => TokenVerdict::Invalid(Cow::Borrowed(refusal.as_str())),
        })
    }
}
