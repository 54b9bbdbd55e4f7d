//! axum extractors (the `axum` feature): what the layer's gates found, handed to handlers.
//!
//! - [`Claims<C>`]: the token's claims as the application's own type, put on the principal
//!   by a claims-typed verifier (auth-jwt's `Verifier::with_claims::<C>()`).
//! - [`Authenticated`]: the [`Principal`].
//!
//! A handler behind the authentication gate always finds them. Where none is there (a route
//! outside the gate, an anonymous request on a route that allows them), the extractor
//! answers 401 with a `Bearer` challenge (RFC 6750 §3), never a 500; wrap it in `Option` on
//! routes that serve anonymous callers too.
//!
//! The layer also copies axum's `ConnectInfo<SocketAddr>` into auth-core's [`PeerAddr`], so
//! per-IP gates work when the app is served with
//! `into_make_service_with_connect_info::<SocketAddr>()`.

use std::net::SocketAddr;
use std::ops::Deref;

use auth_core::{Challenge, PeerAddr, Principal, Rejection};
use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

/// The application's claims, of type `C`, from the verified token.
///
/// ```
/// use auth_tower::axum::Claims;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct MyClaims { sub: String, tenant: String }
///
/// async fn handler(Claims(claims): Claims<MyClaims>) -> String {
///     format!("{} of {}", claims.sub, claims.tenant)
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(handler);
/// ```
#[derive(Debug, Clone)]
pub struct Claims<C>(pub C);

impl<C> Deref for Claims<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

/// The authenticated [`Principal`].
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// The answer when no principal (or no claims of the asked type) is there: 401 with
/// `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Unauthenticated;

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        Rejection::missing([Challenge::bearer()])
            .to_response()
            .into_response()
    }
}

impl<S: Send + Sync, C: Clone + Send + Sync + 'static> FromRequestParts<S> for Claims<C> {
    type Rejection = Unauthenticated;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Unauthenticated> {
        claims(parts).ok_or(Unauthenticated)
    }
}

impl<S: Send + Sync, C: Clone + Send + Sync + 'static> OptionalFromRequestParts<S> for Claims<C> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Option<Self>, std::convert::Infallible> {
        Ok(claims(parts))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Unauthenticated;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Unauthenticated> {
        principal(parts).ok_or(Unauthenticated)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Option<Self>, std::convert::Infallible> {
        Ok(principal(parts))
    }
}

fn principal(parts: &Parts) -> Option<Authenticated> {
    parts
        .extensions
        .get::<Principal>()
        .cloned()
        .map(Authenticated)
}

fn claims<C: Clone + Send + Sync + 'static>(parts: &Parts) -> Option<Claims<C>> {
    parts
        .extensions
        .get::<Principal>()?
        .attribute::<C>()
        .cloned()
        .map(Claims)
}

/// Copies axum's `ConnectInfo<SocketAddr>` into [`PeerAddr`] when the server set one and
/// nothing set a `PeerAddr` yet.
pub(crate) fn peer_from_connect_info(parts: &mut Parts) {
    if parts.extensions.get::<PeerAddr>().is_none()
        && let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>()
    {
        let addr = *addr;
        parts.extensions.insert(PeerAddr(addr));
    }
}
