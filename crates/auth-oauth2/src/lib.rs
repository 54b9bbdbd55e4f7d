//! OAuth 2.0 for auth-rs: client flows, a token source that refreshes exactly once, and
//! token introspection for resource servers.
//!
//! Built on the [`oauth2`] crate, run over auth-core's [`HttpClient`](auth_core::HttpClient)
//! seam: no transport type appears in this crate's API, and one concrete [`OAuthClient`]
//! (checked in `build()`) stands in front of `oauth2`'s many type parameters.
//!
//! Strict by default: HTTPS for every endpoint except loopback, only `Bearer` tokens, RFC 6749
//! §5.1 types; provider deviations are accepted one by one with [`Quirk`]. The server's
//! refusals are typed ([`ServerError`], [`ErrorCode`]) and kept apart from transport failures.

pub mod access_token;
pub mod assertion;
pub mod authorize;
mod bridge;
pub mod client;
mod current;
pub mod device;
mod endpoint;
pub mod error;
pub mod introspect;
pub mod metadata;
pub mod response;
pub mod revoke;
pub mod source;
pub mod store;

pub use authorize::{AuthorizationRequest, PendingAuthorization, Pkce};
pub use client::{OAuthClient, OAuthClientBuilder};
pub use device::{DeviceAuthorization, DevicePoll};
pub use error::{Error, ErrorCode, ServerError};
pub use introspect::{IntrospectionClaims, Introspector, IntrospectorBuilder};
pub use metadata::{Metadata, WellKnown};
pub use response::{Quirk, TokenSet};
pub use revoke::TokenKind;
pub use source::{AccessToken, TokenSource, TokenSourceBuilder};
pub use store::{BoxTokenStore, DynTokenStore, FileTokenStore, MemoryTokenStore, TokenStore};

/// The quickstart in the crate's README.md, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
