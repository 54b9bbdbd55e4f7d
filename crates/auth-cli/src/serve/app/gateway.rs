//! The gateway half of [`App`]: a request for the upstream picks its route, passes that
//! route's gate and goes up with the caller's identity (and, with `upstream_token`, a JWT of
//! it); a request no route allows, or whose body is over the route's limit, goes no further.

use std::net::SocketAddr;
use std::time::Instant;

use auth_core::Principal;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use super::{App, Reply};
use crate::serve::proxy::{Body, Upstream, full};

impl App {
    /// A request for the upstream: the gate, then the upstream with the body streamed; a
    /// refused request never reaches it.
    pub(crate) async fn proxy(
        &self,
        upstream: &Upstream,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> http::Response<Body> {
        let span = super::request_span(request.method(), request.uri().path());
        let response =
            tracing::Instrument::instrument(self.proxied(upstream, request, peer), span.clone())
                .await;
        span.record("status", response.status().as_u16());
        response
    }

    /// [`App::proxy`], inside the request's span.
    async fn proxied(
        &self,
        upstream: &Upstream,
        request: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> http::Response<Body> {
        let started = Instant::now();
        let (mut parts, body) = request.into_parts();
        let (method, path) = (json!(parts.method.as_str()), json!(parts.uri.path()));
        // The routes in force when the request arrived, whatever a reload does meanwhile.
        let routes = self.routes.load_full();
        let route =
            crate::serve::routes::pick(&routes, |r| &r.config, &parts.method, parts.uri.path());
        let decided = match route {
            None => {
                crate::serve::metrics::decision(
                    &"none".into(),
                    StatusCode::FORBIDDEN,
                    started.elapsed(),
                );
                Err(Reply::json(
                    StatusCode::FORBIDDEN,
                    &json!({"error": "forbidden", "error_description": "no route allows this request"}),
                ))
            }
            Some(route) => match &route.gate {
                None => Ok((route, HeaderMap::new())),
                Some(gate) => self
                    .admit_with(gate, route.label.clone(), &mut parts, peer)
                    .await
                    .map(|limits| (route, limits)),
            },
        };
        let (response, subject) = match decided {
            Err(refusal) => (refusal.into_response().map(full), None),
            Ok((route, _)) if over_limit(&parts, route.config.max_body) => (
                Reply::json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &json!({"error": "request body over this route's limit",
                        "max_body_bytes": route.config.max_body}),
                )
                .into_response()
                .map(full),
                None,
            ),
            Ok((route, limits)) => {
                let principal = parts.extensions.get::<Principal>().cloned();
                if let Some(p) = &principal {
                    tracing::Span::current().record("subject", p.subject());
                }
                let identity = principal
                    .as_ref()
                    .map(|p| self.identity_for(upstream, p))
                    .unwrap_or_default();
                let max_body = route.config.max_body;
                let mut response = upstream
                    .forward(parts, body, max_body, identity, peer, self.tls)
                    .await;
                response.headers_mut().extend(limits);
                (response, principal.map(|p| p.subject().to_owned()))
            }
        };
        self.log.event(
            "request",
            &[
                ("method", method),
                ("path", path),
                ("status", json!(response.status().as_u16())),
                ("peer", json!(peer.ip().to_string())),
                ("subject", json!(subject)),
                ("upstream", json!(true)),
                (
                    "micros",
                    json!(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
                ),
            ],
        );
        response
    }

    /// The identity headers for the upstream, with `X-Auth-Token` when `upstream_token` is
    /// on: a JWT of the caller from the gateway's key ring (verifiable with its JWKS), for
    /// the upstream's URL as audience, good for 60 s. A signing failure leaves it out.
    fn identity_for(&self, upstream: &Upstream, principal: &Principal) -> HeaderMap {
        let mut headers = crate::serve::proxy::identity(principal);
        if !self.config.upstream_token {
            return headers;
        }
        let now = self.clock.now().as_secs();
        let mut claims = json!({
            "iss": self.issuer,
            "sub": principal.subject(),
            "aud": upstream.url,
            "scope": principal.scopes().as_str(),
            "iat": now,
            "exp": now + 60,
        });
        if let Some(id) = principal.attribute::<auth_apikey::KeyId>() {
            claims["client_id"] = json!(id.as_str());
        }
        match self.ring.sign(&claims).map(|t| HeaderValue::from_str(&t)) {
            Ok(Ok(token)) => {
                headers.insert(crate::serve::proxy::TOKEN, token);
            }
            _ => self.log.event("upstream_token_error", &[]),
        }
        headers
    }
}

/// Whether the request declares a body longer than `max` (a chunked one is cut off at `max`
/// on its way up instead).
fn over_limit(parts: &Parts, max: u64) -> bool {
    parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > max)
}
