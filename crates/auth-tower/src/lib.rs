//! A tower layer for auth-rs: put authentication, scope requirements and rate limits in front
//! of any tower service (axum, tonic, hyper via `hyper-util`'s tower adapter).
//!
//! The checks are auth-core's [`Gate`]s, the same ones any other server runs:
//! [`auth_core::Guard`] (authentication; it puts the [`auth_core::Principal`] into the
//! request's extensions), [`RequireScope`] (a per-route scope), [`RateLimit`] (any
//! [`auth_core::Limiter`]: auth-ratelimit's in memory, or auth-ratelimit-redis's for a fleet),
//! and their combinations. [`GateLayer`] is the adapter: it runs a gate in front of a
//! service, adds the gate's headers to the service's responses, and answers refusals itself,
//! as HTTP (400/401/403/429/503/500 with `WWW-Authenticate`) or as gRPC ([`GateLayer::grpc`]:
//! `grpc-status` 16, 7, 8, 14, 13 with HTTP 200).
//!
//! # Example
//!
//! ```
//! use auth_core::{Challenge, CredentialKind, Guard, Principal, ScopeRequirement, Scopes};
//! use auth_core::{TokenAuthenticator, TokenVerdict};
//! use auth_tower::{GateLayer, RequireScope};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let verify = |token: &str| -> Result<TokenVerdict, auth_core::Error> {
//!     Ok(match token {
//!         "reader-token" => TokenVerdict::Valid(
//!             Principal::new("reader", CredentialKind::ApiKey)
//!                 .with_scopes(Scopes::from_space_separated("orders:read")),
//!         ),
//!         _ => TokenVerdict::Invalid("unknown token".into()),
//!     })
//! };
//! let service = ServiceBuilder::new()
//!     .layer(GateLayer::new(Guard::new(TokenAuthenticator::bearer("shop", verify))))
//!     .layer(GateLayer::new(RequireScope::new(
//!         ScopeRequirement::parse("orders:write").unwrap(),
//!         [Challenge::bearer().with_realm("shop")],
//!     )))
//!     .service_fn(|req: http::Request<()>| async move {
//!         let who = req.extensions().get::<Principal>().map(|p| p.subject().to_owned());
//!         Ok::<_, std::convert::Infallible>(http::Response::new(format!("{who:?}")))
//!     });
//!
//! let request = http::Request::post("/orders")
//!     .header("authorization", "Bearer reader-token")
//!     .body(())
//!     .unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 403);
//! # });
//! ```

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
pub mod axum;
mod grpc;
mod layer;

pub use auth_core::{BoxGate, Gate, GateExt, Guard, ProtectedResource, RateLimit, RequireScope};
pub use auth_ratelimit::{PerIp, Quota};
pub use grpc::{grpc_response, grpc_status};
pub use layer::{GateLayer, GateResponse, GateService, Protocol};

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
