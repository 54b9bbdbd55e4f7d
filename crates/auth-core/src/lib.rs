//! The shared vocabulary of auth-rs.
//!
//! auth-core holds what every authentication crate needs and nothing more: reading
//! credentials from a request head, [`Challenge`]s and the [`Rejection`] / [`Error`] split
//! turned into correct responses (RFC 6750, RFC 9110), [`Principal`] and [`Scopes`],
//! [`Secret`], [`Clock`], the [`HttpClient`] seam for outbound calls, the [`Transport`]
//! policy and [`CaCertificates`], and attaching credentials to outgoing requests.
//!
//! It also holds the seams the other crates meet at. On the server side, a [`Gate`] decides
//! a request head: a [`Guard`] (authenticate, then authorize), a [`RequireScope`], or a
//! [`RateLimit`] over any [`Limiter`] (auth-ratelimit's in-process one, auth-ratelimit-redis's
//! for a fleet), chained with [`GateExt::then`]; auth-tower, `auth serve` and the examples run
//! the same gate. Every async trait has an object-safe `Dyn*` form and a `Box*` type.
//!
//! It speaks only [`http`] types, so it embeds in hyper, axum, tonic, actix or a serverless
//! handler alike.
//!
//! # Non-goals
//!
//! - No I/O: no sockets, no files except [`Secret::from_env`]'s `*_FILE`, no async runtime.
//!   The real HTTP client lives in `auth-http`.
//! - No verification of any particular credential: that is `auth-apikey`, `auth-jwt` and
//!   `auth-oauth2`.
//! - No web framework types; adapters live beside the frameworks.
//!
//! # Example
//!
//! Protecting a request with a bearer token check, a scope requirement, and the one place
//! that turns a refusal into a response:
//!
//! ```
//! use auth_core::{CredentialKind, Guard, Principal, ScopeRequirement, Scopes, Secret};
//! use auth_core::{TokenAuthenticator, TokenVerdict};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let expected = Secret::new("s3cr3t-token-for-the-demo");
//! let verify = move |token: &str| -> Result<TokenVerdict, auth_core::Error> {
//!     Ok(if expected.ct_eq(token.as_bytes()) {
//!         let scopes = Scopes::from_space_separated("reports:read");
//!         TokenVerdict::Valid(Principal::new("ci-bot", CredentialKind::ApiKey).with_scopes(scopes))
//!     } else {
//!         TokenVerdict::Invalid("token does not match".into())
//!     })
//! };
//! let guard = Guard::new(TokenAuthenticator::bearer("reports", verify))
//!     .require_scope(ScopeRequirement::parse("reports:read").unwrap());
//!
//! // No credential: 401 with a bare challenge.
//! let (parts, ()) = http::Request::get("/reports").body(()).unwrap().into_parts();
//! let response = guard.decide(&parts).await.unwrap_err().to_response();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="reports""#);
//!
//! // A good token, in any case of the scheme: the principal goes into the extensions.
//! let (mut parts, ()) = http::Request::get("/reports")
//!     .header("authorization", "bearer s3cr3t-token-for-the-demo")
//!     .body(()).unwrap().into_parts();
//! guard.authorize(&mut parts).await.unwrap();
//! assert_eq!(parts.extensions.get::<Principal>().unwrap().subject(), "ci-bot");
//! # });
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod authenticate;
pub mod ca_certificates;
pub mod challenge;
pub mod clock;
pub mod confirmation;
pub mod credentials;
pub mod gate;
pub mod http_client;
pub mod limit;
pub mod outgoing;
pub mod principal;
pub mod rejection;
pub mod replay;
pub mod resource_metadata;
pub mod secret;
#[cfg(feature = "serde")]
mod serde_impls;
pub mod transport;
pub mod well_known;

pub use authenticate::{
    Authenticate, AuthenticateExt, BoxAuthenticator, BoxVerifyToken, Decision, DynAuthenticate,
    DynVerifyToken, Either, Guard, TokenAuthenticator, TokenVerdict, VerifyToken,
};
pub use gate::{BoxGate, DynGate, Gate, GateExt, OnRefusal, RequireScope, Then};
pub use limit::{BoxLimiter, DynLimiter, Limiter, OwnQuota, PeerAddr, RateLimit, SubjectKey};

/// A boxed, sendable future: the object-safe form of the async traits' futures.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub use ca_certificates::{CaCertificates, InvalidCaCertificates};
pub use challenge::{BearerErrorCode, Challenge};
pub use clock::{Clock, CoarseClock, ManualClock, SystemClock, UnixTime};
pub use confirmation::{ClientCertificate, Confirmation};
pub use credentials::{CredentialError, Location, TokenExtractor};
pub use http_client::{
    BoxHttpClient, DynHttpClient, HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
};
pub use outgoing::StaticCredential;
pub use principal::{CredentialKind, Principal, ScopeRequirement, Scopes, Subject};
pub use rejection::{BoxError, Denial, Error, Rejection, RejectionKind};
pub use replay::{BoxReplayCache, DynReplayCache, ReplayCache};
pub use resource_metadata::{ProtectedResource, RESOURCE_METADATA_PARAM};
pub use secret::{Secret, SecretError};
#[cfg(feature = "serde")]
pub use serde_impls::MAX_OTHER_KINDS;
pub use transport::Transport;
pub use well_known::{InvalidIdentifier, WellKnown};

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
