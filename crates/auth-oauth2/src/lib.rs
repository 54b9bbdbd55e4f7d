//! OAuth 2.0 for auth-rs: client flows, a token source that refreshes exactly once, and
//! token introspection for resource servers.
//!
//! Built on the [`oauth2`] crate, run over auth-core's [`HttpClient`](auth_core::HttpClient)
//! seam: no transport type appears in this crate's API, and one concrete [`OAuthClient`]
//! (checked in `build()`) stands in front of `oauth2`'s many type parameters.
//!
//! Strict by default: HTTPS for every endpoint except loopback, only `Bearer` tokens (and
//! `DPoP` ones for a client with a DPoP key), RFC 6749 §5.1 types; provider deviations are
//! accepted one by one with [`Quirk`]. The server's refusals are typed ([`ServerError`],
//! [`ErrorCode`]) and kept apart from transport failures.
//!
//! # Features
//!
//! - `jwt` (on through either backend): `private_key_jwt` client authentication
//!   ([`ClientAuth::PrivateKeyJwt`]) and RFC 9068 JWT access tokens (`jwt_access_token`), on
//!   auth-jwt. Without it, an OAuth client builds neither auth-jwt nor a crypto library.
//! - `jwt` also brings DPoP (RFC 9449): tokens bound to a client key
//!   ([`OAuthClientBuilder::dpop`], see [`dpop`]).
//! - `aws-lc-rs` (default) or `rust-crypto`: auth-jwt's crypto backend, each with `jwt`.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "jwt")]
pub mod assertion;
pub mod authorize;
mod bridge;
mod builder;
pub mod client;
pub mod client_auth;
pub mod device;
pub mod dpop;
mod endpoint;
mod endpoint_url;
pub mod error;
#[cfg(feature = "jwt")]
pub mod id_token;
pub mod introspect;
#[cfg(feature = "jwt")]
pub mod jwt_access_token;
pub mod metadata;
#[cfg(feature = "jwt")]
pub mod oidc;
mod par;
mod proof_key;
pub mod resource_metadata;
pub mod response;
pub mod revoke;
pub mod source;
pub mod store;
mod token_cache;
pub mod token_exchange;
#[cfg(feature = "jwt")]
pub mod userinfo;

pub use authorize::{AuthorizationRequest, PendingAuthorization, Pkce};
pub use builder::OAuthClientBuilder;
pub use client::OAuthClient;
pub use client_auth::{ClientAuth, JWT_BEARER};
#[cfg(feature = "jwt")]
pub use client_auth::{ClientSecretJwt, PrivateKeyJwt};
pub use device::{DeviceAuthorization, DevicePoll};
pub use error::{Error, ErrorCode, ServerError};
#[cfg(feature = "jwt")]
pub use id_token::{IdToken, IdTokenClaims, IdTokenError};
pub use introspect::{IntrospectionClaims, Introspector, IntrospectorBuilder};
pub use metadata::{Metadata, WellKnown};
pub use resource_metadata::ResourceMetadata;
pub use response::{Quirk, TokenSet, TokenType};
pub use revoke::TokenKind;
pub use source::{AccessToken, TokenSource, TokenSourceBuilder};
pub use store::{BoxTokenStore, DynTokenStore, FileTokenStore, MemoryTokenStore, TokenStore};
pub use token_exchange::{ExchangedToken, TokenExchange, TokenTypeId};
#[cfg(feature = "jwt")]
pub use userinfo::{UserInfo, UserInfoError};

/// The quickstart in the crate's README.md, compiled as a doctest so it stays true (with the
/// default features it is written for).
#[cfg(all(doctest, feature = "jwt"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
