//! API keys done the way the best issuers do them: GitHub's checksummed tokens, Stripe's
//! reveal-once keys, a hashed store with expiry and rotation with overlap.
//!
//! - **Format** ([`KeyFormat`]): `<prefix>_<id><secret><checksum>`, e.g.
//!   `sk_test_tzo2wFIy4NJFebdkxxwh25FbLMULvT1bomjh` (an example, issued nowhere): a prefix
//!   naming the kind and environment, an 8-character key id for lookup, 22 characters
//!   (130 bits) from the operating system's CSPRNG, and GitHub's 6-character CRC-32
//!   checksum, so typos and made-up strings are rejected offline. [`KEY_PATTERN`] is the
//!   regular expression for leak scanners.
//! - **At rest** ([`KeyHasher`]): only a digest, HMAC-SHA-256 with a server-side pepper or
//!   SHA-256 without one. The key is shown once, as an [`IssuedKey`].
//! - **Stores** ([`KeyStore`]): [`MemoryStore`], and `SqliteStore` behind the `sqlite`
//!   feature.
//! - **Verification** ([`ApiKeys::check`]): length, checksum, lookup by id, constant-time
//!   digest comparison, then revoked / expired / uses, giving a [`KeyStatus`] for the server
//!   and, through [`auth_core::VerifyToken`], a [`Principal`](auth_core::Principal) or 401.
//! - **Lifecycle**: [`ApiKeys::create`], [`ApiKeys::list`], [`ApiKeys::revoke`],
//!   [`ApiKeys::set_expiry`], [`ApiKeys::rotate`] with an overlap, all on an injected clock.
//! - **Client side**: [`client_credential_from_env`].
//!
//! # Example
//!
//! ```
//! use auth_apikey::{ApiKeys, KeyFormat, MemoryStore, NewKey};
//! use auth_core::{Guard, Principal, Scopes};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = ApiKeys::new(KeyFormat::new("sk_test").unwrap(), MemoryStore::new());
//! let issued = keys
//!     .create(NewKey::new("acme-ci", "deploy").with_scopes(Scopes::from_space_separated("deploy")))
//!     .await
//!     .unwrap();
//!
//! // Bearer or X-API-Key; the principal lands in the request's extensions.
//! let guard = Guard::new(keys.authenticator("deploys"));
//! let (mut parts, ()) = http::Request::post("/deploy")
//!     .header("x-api-key", issued.expose_key())
//!     .body(()).unwrap().into_parts();
//! guard.authorize(&mut parts).await.unwrap();
//! let principal = parts.extensions.get::<Principal>().unwrap();
//! assert_eq!(principal.subject(), "acme-ci");
//! assert_eq!(principal.attribute::<auth_apikey::KeyId>(), Some(&issued.id()));
//!
//! // Revocation takes effect on the next request.
//! keys.revoke(&issued.id()).await.unwrap();
//! let denial = guard.decide(&parts).await.unwrap_err();
//! assert_eq!(denial.to_response().status(), 401);
//! # });
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod checksum;
mod client;
pub mod columns;
mod digest;
mod dyn_store;
mod error;
mod format;
mod id;
mod keys;
mod lifecycle;
mod record;
mod refusal;
#[cfg(feature = "serde")]
mod serde_impls;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod verify;

pub use client::{Placement, client_credential_from_env, client_credential_from_lookup};
pub use digest::{DIGEST_LEN, KeyDigest, KeyHasher};
pub use dyn_store::{BoxKeyStore, DynKeyStore};
pub use error::Error;
pub use format::{BODY_LEN, KEY_PATTERN, KeyFormat, MAX_PREFIX_LEN, SECRET_LEN};
pub use id::{ID_LEN, InvalidKeyId, KeyId};
pub use keys::{ApiKeys, ApiKeysBuilder, X_API_KEY, default_extractor};
pub use lifecycle::{IssuedKey, NewKey};
pub use record::{KeyRecord, RateQuota};
pub use refusal::Refusal;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{KeyStore, MemoryStore};
pub use verify::{KeyStatus, principal};

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
