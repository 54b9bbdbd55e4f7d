//! [`GateLayer`] and the service it wraps around yours.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use auth_core::{Denial, ProtectedResource, RESOURCE_METADATA_PARAM};
use http::{Method, Request, Response};
use http_body_util::Either;
use tower_layer::Layer;
use tower_service::Service;

use crate::grpc::grpc_response;
use auth_core::Gate;

/// How refusals are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Plain HTTP status codes: 400, 401, 403, 429, 503, 500.
    #[default]
    Http,
    /// gRPC: HTTP 200 with `grpc-status` 16, 7, 8, 14 or 13.
    Grpc,
}

/// A tower [`Layer`] that runs a [`Gate`] before the inner service.
///
/// Requests that pass go on with the gate's additions in their extensions (the `Principal`),
/// and the inner response gets the gate's headers; refused requests are answered by the layer
/// (the inner service never sees them). The server-side reason of each refusal is logged with
/// `tracing` at `info` (rejections) or `warn` (could not decide); no credential is ever logged.
#[derive(Debug)]
pub struct GateLayer<G> {
    gate: Arc<G>,
    protocol: Protocol,
    metadata: Option<Arc<ProtectedResource>>,
}

impl<G> Clone for GateLayer<G> {
    fn clone(&self) -> Self {
        Self {
            gate: Arc::clone(&self.gate),
            protocol: self.protocol,
            metadata: self.metadata.clone(),
        }
    }
}

impl<G: Gate> GateLayer<G> {
    /// A layer that answers refusals with HTTP status codes.
    pub fn new(gate: G) -> Self {
        Self {
            gate: Arc::new(gate),
            protocol: Protocol::Http,
            metadata: None,
        }
    }

    /// A layer that answers refusals the gRPC way.
    pub fn grpc(gate: G) -> Self {
        Self {
            gate: Arc::new(gate),
            protocol: Protocol::Grpc,
            metadata: None,
        }
    }

    /// Publishes `metadata` (RFC 9728): `GET` on its well-known path is answered with the
    /// document, without the gate (a client without a token must be able to read it), and
    /// every refusal's challenges carry `resource_metadata="<its URL>"` (§5.1).
    #[must_use]
    pub fn protected_resource(mut self, metadata: ProtectedResource) -> Self {
        self.metadata = Some(Arc::new(metadata));
        self
    }
}

impl<S, G> Layer<S> for GateLayer<G> {
    type Service = GateService<S, G>;

    fn layer(&self, inner: S) -> Self::Service {
        GateService {
            inner,
            gate: Arc::clone(&self.gate),
            protocol: self.protocol,
            metadata: self.metadata.clone(),
        }
    }
}

/// The service [`GateLayer`] produces.
#[derive(Debug)]
pub struct GateService<S, G> {
    inner: S,
    gate: Arc<G>,
    protocol: Protocol,
    metadata: Option<Arc<ProtectedResource>>,
}

impl<S: Clone, G> Clone for GateService<S, G> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            gate: Arc::clone(&self.gate),
            protocol: self.protocol,
            metadata: self.metadata.clone(),
        }
    }
}

/// The response of a [`GateService`]: the layer's own refusal, or the inner service's answer.
pub type GateResponse<B> = Response<Either<String, B>>;

impl<S, G, ReqBody, ResBody> Service<Request<ReqBody>> for GateService<S, G>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    G: Gate + 'static,
    ReqBody: Send + 'static,
{
    type Response = GateResponse<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready is the one to call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = Arc::clone(&self.gate);
        let protocol = self.protocol;
        let metadata = self.metadata.clone();
        // One span per request through the gate: its path, then the decision (the status it
        // answers, and a refusal's server-side reason; never the credential). The inner
        // service runs inside it, so its own spans nest under the decision.
        let span = tracing::info_span!(
            "auth.gate",
            path = %request.uri().path(),
            status = tracing::field::Empty,
            reason = tracing::field::Empty,
        );
        let future = async move {
            let (mut parts, body) = request.into_parts();
            if let Some(m) = &metadata
                && parts.uri.path() == m.metadata_path()
                && matches!(parts.method, Method::GET | Method::HEAD)
            {
                return Ok(m.to_response().map(Either::Left));
            }
            #[cfg(feature = "axum")]
            crate::axum::peer_from_connect_info(&mut parts);
            match gate.check(&mut parts).await {
                Ok(headers) => {
                    tracing::Span::current().record("status", "passed");
                    let mut response = inner.call(Request::from_parts(parts, body)).await?;
                    for (name, value) in &headers {
                        response.headers_mut().append(name, value.clone());
                    }
                    Ok(response.map(Either::Right))
                }
                Err(mut denial) => {
                    let current = tracing::Span::current();
                    current.record("status", denial.status().as_u16());
                    if let Denial::Rejected(r) = &denial {
                        current.record("reason", r.reason());
                    }
                    log(&denial, &parts);
                    if let Some(m) = &metadata {
                        denial =
                            denial.with_challenge_param(RESOURCE_METADATA_PARAM, m.metadata_url());
                    }
                    let response = match protocol {
                        Protocol::Http => denial.to_response(),
                        Protocol::Grpc => grpc_response(&denial),
                    };
                    Ok(response.map(Either::Left))
                }
            }
        };
        Box::pin(tracing::Instrument::instrument(future, span))
    }
}

fn log(denial: &Denial, parts: &http::request::Parts) {
    let path = parts.uri.path();
    match denial {
        Denial::Rejected(r) => {
            tracing::info!(status = r.status().as_u16(), %path, reason = r.reason(), "request refused");
        }
        Denial::Failed(e) => {
            tracing::warn!(status = e.status().as_u16(), %path, error = %e, "authentication could not decide");
        }
        other => {
            tracing::warn!(status = other.status().as_u16(), %path, "request refused");
        }
    }
}
