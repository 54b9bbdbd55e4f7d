//! JSON Web Token verification and signing for auth-rs, on `jsonwebtoken`'s signatures with
//! a validation policy of our own.
//!
//! jsonwebtoken alone accepts a token whose `exp` equals now, does not check `nbf` by
//! default, lets a missing or mistyped `aud`, `iss` or `sub` through, ignores `crit`, never
//! checks `typ`, takes short HMAC secrets and tokens of any size, and reads the wall clock.
//! A [`Verifier`] here closes each of those:
//!
//! - `build()` requires an algorithm allow-list (`none` cannot be named), the issuer(s) and
//!   audience(s) (waived only by `danger_` calls), and keys; the leeway is capped.
//! - Tokens longer than 8 KiB are refused before any decoding; JWE and nested tokens are
//!   refused; `crit` is refused (no extension is understood); `jku`, `x5u`, `jwk` and `x5c`
//!   are never followed; `typ` can be required (`at+jwt`).
//! - Claims are strictly typed and members unique at every depth; `exp` is required and
//!   `exp == now` is expired; time comes from auth-core's [`Clock`](auth_core::Clock).
//! - Keys come from JWK/JWKS, PEM or raw secrets (32/48/64 bytes at least), are found by
//!   `kid` without guessing, and never cross families (an RSA key is never an HMAC secret).
//!
//! The result is the application's typed claims plus an [`auth_core::Principal`]; the
//! verifier is an [`auth_core::VerifyToken`], so
//! `TokenAuthenticator::bearer(realm, verifier)` is the authenticator.
//!
//! # Crypto backend
//!
//! One of the features `aws-lc-rs` (default: RSA and ECDSA several times faster, a C build)
//! or `rust-crypto` (pure Rust). Neither is a compile error; with both (Cargo unifies the
//! features of a build) aws-lc-rs is used.
//!
//! # Example
//!
//! ```
//! use auth_core::{Guard, ManualClock, Secret, TokenAuthenticator, UnixTime};
//! use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
//!
//! let secret = Secret::new(b"an example secret of at least 32 bytes".to_vec());
//! let verifier = Verifier::builder()
//!     .algorithms([Algorithm::HS256])
//!     .issuer("https://issuer.example")
//!     .audience("reports")
//!     .keys(KeySet::new([Key::hmac(&secret, Algorithm::HS256).unwrap()]))
//!     .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
//!     .build()
//!     .unwrap();
//! let guard = Guard::new(TokenAuthenticator::bearer("reports", verifier));
//!
//! let token = SigningKey::hmac(&secret, Algorithm::HS256).unwrap().sign(&serde_json::json!({
//!     "iss": "https://issuer.example", "aud": "reports", "sub": "alice", "exp": 1_700_000_300,
//! })).unwrap();
//! let (parts, ()) = http::Request::get("/")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(()).unwrap().into_parts();
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let principal = guard.decide(&parts).await.unwrap().unwrap();
//! assert_eq!(principal.subject(), "alice");
//! # });
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod backend;
mod claims;
#[cfg(feature = "serde")]
mod claims_serde;
pub mod dpop;
mod error;
mod header;
mod json;
mod jwk;
mod jws;
mod key;
mod keyring;
mod keyset;
mod remote;
mod signing_key;
mod source;
mod verifier;
mod verify_signature;

pub mod danger;

pub use algorithm::{Algorithm, Family};
pub use claims::Claims;
pub use error::{Error, ErrorKind};
pub use json::{JsonError, duplicate_members};
pub use key::Key;
pub use keyring::{KeyRing, Rotation};
pub use keyset::KeySet;
pub use remote::{Health, RemoteConfig, RemoteJwks};
pub use signing_key::SigningKey;
pub use source::KeySource;
pub use verifier::{
    BorrowedClaims, ClaimsVerifier, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, IssuersBuilder,
    MAX_LEEWAY, Tenants, Verified, Verifier, VerifierBuilder,
};
pub use verify_signature::Scratch;

/// Computes the RFC 7638 thumbprint (SHA-256, base64url) of a public JWK given as JSON.
///
/// # Errors
///
/// [`Error::InvalidKey`] when the JWK is not a usable signature key.
pub fn thumbprint(jwk_json: &str) -> Result<String, Error> {
    Key::from_jwk(jwk_json)?
        .thumbprint()
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid_key("HMAC secrets have no published thumbprint"))
}

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
