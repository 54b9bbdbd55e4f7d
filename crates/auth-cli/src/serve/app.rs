//! The gateway's routes: the crates called directly on each request head.
//!
//! | route | who |
//! |---|---|
//! | `GET /healthz` | anyone |
//! | `GET /.well-known/jwks.json`, `GET /.well-known/oauth-authorization-server` | anyone |
//! | `GET /.well-known/oauth-protected-resource` (RFC 9728; named in every API challenge) | anyone |
//! | `POST /oauth/token`, `POST /oauth/introspect` | a client (API key id + key) |
//! | `/auth/verify`, `/auth/envoy/...`, any method (forward-auth) | anyone; answers for the request described |
//! | `GET /metrics` (Prometheus) | anyone |
//! | `GET /api/whoami` | any principal (API key or issued JWT, as Bearer) |
//! | `GET /api/admin` | a principal with the admin scope |
//! | anything else, with `--upstream` (instead of `/api/`) | any principal; proxied |
//!
//! Every `/api/` and OAuth response carries `RateLimit-Policy` and `RateLimit` for the budget
//! it spent: the caller's own once authenticated, its address's failure budget otherwise
//! (see [`super::budgets`]).

use std::net::SocketAddr;
use std::time::Instant;

use auth_apikey::{ApiKeys, BoxKeyStore};

use auth_core::{
    BoxGate, Denial, Gate as _, PeerAddr, Principal, ProtectedResource, RESOURCE_METADATA_PARAM,
    RequireScope,
};
use auth_jwt::KeyRing;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use serde_json::{Value, json};

use super::budgets::{Budgets, Class, is_failure};
use super::config::Config;
use super::issued::IssuedTokens;
use super::log::Log;

mod forward_auth;
mod gateway;

use super::proxy::Upstream;
use forward_auth::ENVOY_PREFIX;

/// The realm of every challenge.
pub(crate) const REALM: &str = "auth-serve";

/// Everything a request needs.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: Config,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) keys: ApiKeys<BoxKeyStore>,
    pub(crate) ring: KeyRing,
    pub(crate) tokens: IssuedTokens,
    /// The API's gate: authentication (its failures spending the address's failure budget),
    /// then the principal's own budget.
    pub(crate) api_gate: BoxGate,
    /// `/api/admin`'s scope.
    pub(crate) admin: RequireScope,
    /// DPoP proofs at the token endpoint (RFC 9449 §5); the API's authenticator holds a clone
    /// (one replay cache for both).
    pub(crate) proofs: auth_jwt::dpop::ProofVerifier,
    /// The API's RFC 9728 metadata: the resource is the issuer, its own authorization server.
    pub(crate) resource: ProtectedResource,
    pub(crate) budgets: Budgets,
    pub(crate) clock: std::sync::Arc<dyn auth_core::Clock>,
    pub(crate) log: Log,
    /// Where requests that pass go, with `--upstream` (the example API is off then).
    pub(crate) upstream: Option<Upstream>,
    /// The policies for the upstream's paths (empty without one).
    /// Swapped whole when the config is reloaded (SIGHUP).
    pub(crate) routes: arc_swap::ArcSwap<Vec<super::routes::Route>>,
    /// Whether `/metrics` is served on a listener of its own (`--metrics-listen`).
    pub(crate) metrics_apart: bool,
    /// Whether the listener speaks TLS (for `X-Forwarded-Proto`).
    pub(crate) tls: bool,
}

/// A response being built: status, headers, JSON or text body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// A JSON reply.
    pub(crate) fn json(status: StatusCode, body: &Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            status,
            headers,
            body: body.to_string(),
        }
    }

    pub(crate) fn from_response(response: http::Response<String>) -> Self {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    fn not_found() -> Self {
        Self::json(StatusCode::NOT_FOUND, &json!({"error": "not_found"}))
    }

    fn method_not_allowed(allow: &'static str) -> Self {
        let mut r = Self::json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "method_not_allowed"}),
        );
        r.headers
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        r
    }

    /// Into an `http::Response`.
    pub(crate) fn into_response(self) -> http::Response<String> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }
}

impl App {
    /// The RFC 8414 metadata document.
    pub(crate) fn metadata(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "token_endpoint": format!("{}/oauth/token", self.issuer),
            "jwks_uri": format!("{}/.well-known/jwks.json", self.issuer),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint": format!("{}/oauth/introspect", self.issuer),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
            "scopes_supported": [self.config.admin_scope],
        })
    }

    /// Answers one request; `body` is already read (and capped) by the caller.
    pub(crate) async fn handle(&self, parts: Parts, body: &[u8], peer: SocketAddr) -> Reply {
        let started = Instant::now();
        // The path only: a query string may carry a credential.
        let (method, path) = (json!(parts.method.as_str()), json!(parts.uri.path()));
        let client = self.budgets.client_addr(&parts.headers, peer);
        let span = request_span(&parts.method, parts.uri.path());
        let (reply, principal) =
            tracing::Instrument::instrument(self.route(parts, body, peer), span.clone()).await;
        span.record("status", reply.status.as_u16());
        if let Some(p) = &principal {
            span.record("subject", p.subject());
        }
        let mut fields = vec![
            ("method", method),
            ("path", path),
            ("status", json!(reply.status.as_u16())),
            ("peer", json!(peer.ip().to_string())),
            ("client", json!(client.to_string())),
            (
                "micros",
                json!(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
            ),
        ];
        if let Some(p) = &principal {
            fields.push(("subject", json!(p.subject())));
            fields.push(("kind", json!(p.kind().as_str())));
        }
        self.log.event("request", &fields);
        reply
    }

    async fn route(
        &self,
        parts: Parts,
        body: &[u8],
        peer: SocketAddr,
    ) -> (Reply, Option<Principal>) {
        let path = parts.uri.path();
        let get = parts.method == Method::GET || parts.method == Method::HEAD;
        let reply = match path {
            "/healthz" if get => Reply::json(StatusCode::OK, &json!({"status": "ok"})),
            "/.well-known/jwks.json" if get => {
                let mut r = Reply::json(
                    StatusCode::OK,
                    &serde_json::from_str(&self.ring.jwks()).unwrap_or(Value::Null),
                );
                r.headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("max-age=300"),
                );
                r
            }
            "/.well-known/oauth-authorization-server" if get => {
                Reply::json(StatusCode::OK, &self.metadata())
            }
            p if p == self.resource.metadata_path() => {
                if get {
                    Reply::from_response(self.resource.to_response())
                } else {
                    Reply::method_not_allowed("GET, HEAD")
                }
            }
            "/oauth/token" | "/oauth/introspect" if parts.method == Method::POST => {
                self.oauth(path == "/oauth/token", &parts, body, peer).await
            }
            "/healthz" | "/.well-known/jwks.json" | "/.well-known/oauth-authorization-server" => {
                Reply::method_not_allowed("GET, HEAD")
            }
            "/oauth/token" | "/oauth/introspect" => Reply::method_not_allowed("POST"),
            "/metrics" if self.metrics_apart => Reply::not_found(),
            "/metrics" if get => Reply::from_response(super::metrics::response()),
            // Any method: nginx's auth_request asks with the original request's.
            "/auth/verify" => forward_auth::verify(self, &parts, peer).await,
            p if p.starts_with(ENVOY_PREFIX) && p[ENVOY_PREFIX.len()..].starts_with('/') => {
                forward_auth::verify(self, &parts, peer).await
            }
            "/metrics" => Reply::method_not_allowed("GET, HEAD"),
            p if p.starts_with("/api/") => return self.api(parts, peer).await,
            _ => Reply::not_found(),
        };
        (reply, None)
    }

    /// Whether `path` is the gateway's own (answered here even with `--upstream`).
    pub(crate) fn is_own(path: &str) -> bool {
        matches!(path, "/healthz" | "/metrics" | "/auth/verify")
            || ["/oauth/", "/.well-known/", "/auth/envoy/"]
                .iter()
                .any(|p| path.starts_with(p))
    }

    /// The token or introspection endpoint: authenticate the client, then spend its own
    /// budget; a failed authentication spends the address's failure budget instead.
    async fn oauth(&self, token: bool, parts: &Parts, body: &[u8], peer: SocketAddr) -> Reply {
        let (class, name) = if token {
            (Class::Token, "token")
        } else {
            (Class::Introspect, "introspect")
        };
        let (form, client) = match self.authenticate_client(&parts.headers, body, name).await {
            Ok(ok) => ok,
            Err(refusal) => return self.refused(class, *refusal, parts, peer).await,
        };
        let limits = match self.budgets.granted(class, client.id.as_str()).await {
            Ok(limits) => limits,
            Err(limited) => return Reply::from_response(limited.to_response()),
        };
        let mut reply = if token {
            self.token(form, &client, parts).await
        } else {
            self.introspect(form, &client).await
        };
        reply.headers.extend(limits);
        reply
    }

    /// A refusal of `class`: a failed authentication spends the failure budget of the
    /// client's address and, once that is spent, becomes a 429; the server's own failures
    /// (503, 500) spend nothing.
    async fn refused(
        &self,
        class: Class,
        mut reply: Reply,
        parts: &Parts,
        peer: SocketAddr,
    ) -> Reply {
        if !is_failure(reply.status) {
            return reply;
        }
        let addr = self.budgets.client_addr(&parts.headers, peer);
        match self.budgets.failed(class, addr).await {
            Ok(limits) => {
                reply.headers.extend(limits);
                reply
            }
            Err(limited) => Reply::from_response(limited.to_response()),
        }
    }

    /// The API's gate on `parts` (authentication, its failures spending the address's
    /// failure budget, then the principal's own budget): the `RateLimit` fields for the
    /// response, or the refusal to answer, its challenges naming the resource metadata. The
    /// decision is counted in the metrics under `route`.
    pub(crate) async fn admit(
        &self,
        route: &'static str,
        parts: &mut Parts,
        peer: SocketAddr,
    ) -> Result<HeaderMap, Reply> {
        self.admit_with(&self.api_gate, route.into(), parts, peer)
            .await
    }

    /// [`App::admit`] with `gate` (a route policy's).
    async fn admit_with(
        &self,
        gate: &BoxGate,
        route: super::metrics::Label,
        parts: &mut Parts,
        peer: SocketAddr,
    ) -> Result<HeaderMap, Reply> {
        let started = Instant::now();
        parts.extensions.insert(PeerAddr(peer));
        let decided = gate.check(parts).await;
        let status = decided
            .as_ref()
            .map_or_else(Denial::status, |_| StatusCode::OK);
        super::metrics::decision(&route, status, started.elapsed());
        decided.map_err(|denial| {
            self.log_denial(&denial);
            Reply::from_response(self.challenge(denial).to_response())
        })
    }

    /// The protected API: the gate (authenticate, rate limit), then the route.
    async fn api(&self, mut parts: Parts, peer: SocketAddr) -> (Reply, Option<Principal>) {
        let limits = match self.admit("api", &mut parts, peer).await {
            Ok(limits) => limits,
            Err(refusal) => return (refusal, None),
        };
        let get = parts.method == Method::GET || parts.method == Method::HEAD;
        let mut reply = match parts.uri.path() {
            "/api/whoami" if get => match parts.extensions.get::<Principal>() {
                Some(principal) => Reply::json(StatusCode::OK, &whoami(principal)),
                None => Reply::from_response(missing_principal().to_response()),
            },
            "/api/admin" if get => match self.admin.check(&mut parts).await {
                Ok(_) => Reply::json(
                    StatusCode::OK,
                    &json!({
                        "ok": true,
                        "subject": parts.extensions.get::<Principal>().map(Principal::subject),
                        "scope": self.config.admin_scope,
                    }),
                ),
                Err(denial) => Reply::from_response(self.challenge(denial).to_response()),
            },
            "/api/whoami" | "/api/admin" => Reply::method_not_allowed("GET, HEAD"),
            _ => Reply::not_found(),
        };
        reply.headers.extend(limits);
        (reply, parts.extensions.remove::<Principal>())
    }

    /// `denial` with its challenges naming the resource metadata (RFC 9728 §5.1).
    fn challenge(&self, denial: Denial) -> Denial {
        denial.with_challenge_param(RESOURCE_METADATA_PARAM, self.resource.metadata_url())
    }

    /// Logs why the API refused a request (the reason, never the credential).
    fn log_denial(&self, denial: &Denial) {
        match denial {
            Denial::Failed(e) => {
                self.log
                    .event("auth_error", &[("error", json!(e.to_string()))]);
            }
            Denial::Rejected(r) => {
                tracing::Span::current().record("reason", r.reason());
                self.log
                    .event("auth_refused", &[("reason", json!(r.reason()))]);
            }
            other => {
                self.log.event(
                    "auth_refused",
                    &[("status", json!(other.status().as_u16()))],
                );
            }
        }
    }
}

/// A gate let a request through without the principal it should have put there.
fn missing_principal() -> auth_core::Error {
    auth_core::Error::Misconfigured("no principal after authentication".into())
}

/// The span of one request: its method and path (never the query, which may carry a
/// credential), then its status, the caller, and a refusal's reason.
pub(crate) fn request_span(method: &Method, path: &str) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %method,
        path = %path,
        status = tracing::field::Empty,
        subject = tracing::field::Empty,
        reason = tracing::field::Empty,
    )
}

/// `GET /api/whoami`.
fn whoami(principal: &Principal) -> Value {
    json!({
        "subject": principal.subject(),
        "scopes": principal.scopes().iter().collect::<Vec<_>>(),
        "kind": principal.kind().as_str(),
    })
}
