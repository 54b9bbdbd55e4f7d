//! A PostgreSQL [`KeyStore`](auth_apikey::KeyStore) for auth-apikey, for a fleet of API
//! servers sharing one set of keys, with a stated bound on how long a revoked key can still
//! be accepted anywhere.
//!
//! - **Schema**: versioned migrations the store applies itself at connect (idempotent,
//!   under an advisory lock, in one transaction), in a schema of your choosing; lookup by
//!   the primary key.
//! - **Transactions**: create, revoke, set expiry and rotate (which touches two rows) are
//!   each one transaction; a failure changes nothing. Same semantics as the SQLite store.
//! - **Cache**: each instance keeps the records it has verified (digest included), so the
//!   hot path makes no database round trip. An entry is served for at most
//!   [`max_stale`](PgStoreBuilder::max_stale) after it was read, on the injected
//!   [`Clock`](auth_core::Clock).
//! - **Push**: every change commits a `NOTIFY`; each instance `LISTEN`s and drops the key
//!   from its cache at once. After a lost listener connection the instance clears its cache
//!   when it listens again; while it cannot, `max_stale` bounds the delay.
//! - **Database down**: cached keys keep working until they are `max_stale` old; unknown
//!   keys (and stale ones) fail with [`Error::Store`](auth_apikey::Error::Store), which
//!   auth-core turns into 503, never 401 and never a pass. The store reconnects by itself.
//! - **TLS**: rustls, the server's certificate and name verified against the platform's
//!   roots or [a private CA](PgStoreBuilder::ca_certificate_pem); `sslmode` is honoured, but
//!   a host that is not loopback always gets TLS unless
//!   [explicitly allowed](PgStoreBuilder::danger_allow_plaintext). See the README.
//!
//! The promise: **no instance accepts a key later than `max_stale` after it was revoked,
//! expired by [`set_expires`](auth_apikey::KeyStore::set_expires) or rotated out**, whatever
//! happens to notifications.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use auth_apikey::{ApiKeys, KeyFormat, NewKey};
//! use auth_apikey_postgres::PgStore;
//!
//! # async fn run() -> Result<(), auth_apikey::Error> {
//! // The store and `ApiKeys` both default to `CoarseClock`; give both the same clock if
//! // you set one (a `ManualClock` in tests).
//! let store = PgStore::builder("postgres://auth_rs:auth_rs@127.0.0.1:5433/auth_rs")?
//!     .max_stale(Duration::from_secs(10))
//!     .connect()
//!     .await?;
//! let keys = ApiKeys::new(KeyFormat::new("sk_live")?, store);
//! let issued = keys.create(NewKey::new("acme", "ci")).await?;
//! assert!(keys.check(issued.expose_key()).await?.is_valid());
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod cache;
mod conn;
mod listener;
mod row;
mod schema;
mod settings;
mod store;
mod tls;

pub use listener::SyncState;
pub use store::{DEFAULT_MAX_STALE, PgStore, PgStoreBuilder};

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
