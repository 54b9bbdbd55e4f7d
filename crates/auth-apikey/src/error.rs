//! [`Error`]: what can go wrong in auth-apikey other than a refused key.
//!
//! A refused key is not an error: it is a [`Refusal`](crate::Refusal). `Error` is for
//! configuration mistakes, lifecycle requests that cannot be carried out, and stores that
//! fail. [`From<Error> for auth_core::Error`] maps a failing store to 503 and everything else
//! to 500.

use std::borrow::Cow;

use auth_core::BoxError;

use crate::id::{InvalidKeyId, KeyId};

/// An error from auth-apikey. Messages never contain a key or a pepper.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The prefix is not 1 to 32 ASCII letters, digits and single inner underscores starting
    /// with a letter.
    #[error(
        "invalid key prefix: use 1 to 32 ASCII letters, digits and single inner underscores, starting with a letter"
    )]
    InvalidPrefix,
    /// A key id is not 8 base62 characters.
    #[error("invalid key id: expected 8 base62 characters")]
    InvalidKeyId,
    /// The pepper is too short to be a secret.
    #[error("pepper too short: use at least 16 random bytes")]
    WeakPepper,
    /// The pepper or the client key could not be loaded from the environment.
    #[error("cannot load {what}")]
    Load {
        /// What was being loaded: "pepper", "API key".
        what: &'static str,
        /// Why (names the variable, never the value).
        #[source]
        source: BoxError,
    },
    /// A key loaded for a client is not of the expected format.
    #[error("API key in {variable} is not a well-formed {prefix} key ({why})")]
    MalformedClientKey {
        /// The environment variable.
        variable: String,
        /// The expected prefix.
        prefix: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A new key's settings are invalid.
    #[error("invalid key settings: {0}")]
    Misconfigured(&'static str),
    /// The operating system could not supply random bytes.
    #[error("cannot read the operating system's random number generator")]
    Random(#[source] BoxError),
    /// No key has this id.
    #[error("no key {0}")]
    NotFound(KeyId),
    /// A key with this id already exists (a store refuses to overwrite).
    #[error("key {0} already exists")]
    Duplicate(KeyId),
    /// The key is revoked or expired, so it cannot be rotated.
    #[error("key {0} is revoked or expired")]
    Inactive(KeyId),
    /// The key was already rotated: rotate its successor instead.
    #[error("key {id} was already rotated to {successor}")]
    AlreadyRotated {
        /// The key asked for.
        id: KeyId,
        /// Its successor.
        successor: KeyId,
    },
    /// The pepper is not the one the store's keys were digested with: under it no stored
    /// key would verify.
    #[error(
        "the pepper differs from the one this key store's keys were digested with (fingerprint {ours} here, {recorded} recorded): no stored key would verify"
    )]
    PepperMismatch {
        /// This instance's pepper's fingerprint.
        ours: String,
        /// The one the store recorded.
        recorded: String,
    },
    /// The store failed (I/O, corruption, a poisoned lock).
    #[error("key store failed: {what}")]
    Store {
        /// What the store was doing, for logs.
        what: Cow<'static, str>,
        /// The underlying failure.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// A store failure while doing `what`.
    pub fn store(what: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::Store {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

impl From<InvalidKeyId> for Error {
    fn from(_: InvalidKeyId) -> Self {
        Self::InvalidKeyId
    }
}

impl From<Error> for auth_core::Error {
    /// A failing store is 503 (no decision could be reached); anything else is 500.
    fn from(e: Error) -> Self {
        match e {
            Error::Store { .. } | Error::Random(_) => {
                auth_core::Error::unavailable("API key store", e)
            }
            other => auth_core::Error::Misconfigured(other.to_string().into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let e: auth_core::Error = Error::store("reading a key", "disk I/O error").into();
        assert_eq!(e.status(), 503);
        let e: auth_core::Error = Error::WeakPepper.into();
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn messages_are_lower_case() {
        let id: KeyId = "AbCd1234".parse().unwrap();
        for e in [
            Error::InvalidPrefix,
            Error::NotFound(id),
            Error::Inactive(id),
            Error::store("x", "y"),
        ] {
            let m = e.to_string();
            assert!(m.starts_with(|c: char| c.is_ascii_lowercase()), "{m}");
            assert!(!m.ends_with('.'), "{m}");
        }
    }
}
