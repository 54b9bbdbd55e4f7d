//! Forward-auth: a proxy in front of the service asks the gateway about each request and
//! lets it through on a 2xx. The request asked about is described by headers:
//!
//! - `/auth/verify` (any method) with `X-Forwarded-Method`, `X-Forwarded-Uri` and
//!   `X-Forwarded-Host` (Traefik's ForwardAuth, Caddy's `forward_auth`), or `X-Original-URI`
//!   (and `X-Original-Method` when set) from nginx's `auth_request`;
//! - any method on `/auth/envoy/<path>`: Envoy's ext_authz in HTTP-service mode, the original
//!   path appended to the configured prefix `/auth/envoy`, its method and headers kept.
//!
//! A DPoP proof (RFC 9449) is checked against the URL the client used: `X-Forwarded-Proto`,
//! `X-Forwarded-Host` and the path.
//!
//! The answer is the API gate's: 200 with the identity headers (`X-Auth-Subject`,
//! `X-Auth-Scopes`, `X-Auth-Key-Id`) and the `RateLimit` fields, or the refusal (401, 403,
//! 429 with its challenge, `Retry-After` and the fields; 503 when it could not decide). The
//! client address is the one behind the trusted proxies (`trusted_proxies` in the config:
//! list the proxy asking, or every request is keyed by its address).

use std::net::SocketAddr;

use auth_jwt::dpop::DpopTarget;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde_json::json;

use super::{App, Reply};
use crate::serve::proxy::identity;

/// The prefix of Envoy's ext_authz HTTP-service requests.
pub(crate) const ENVOY_PREFIX: &str = "/auth/envoy";

/// Answers a forward-auth request `parts` (its body, if any, is not the request's).
pub(crate) async fn verify(app: &App, parts: &Parts, peer: SocketAddr) -> Reply {
    let Some(mut original) = described(parts) else {
        return Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description":
                "no X-Forwarded-Uri or X-Original-URI describes the request to check"}),
        );
    };
    match app.admit("verify", &mut original, peer).await {
        Ok(limits) => {
            let mut reply = Reply::json(StatusCode::OK, &json!({"ok": true}));
            if let Some(principal) = original.extensions.get::<auth_core::Principal>() {
                reply.headers.extend(identity(principal));
            }
            reply.headers.extend(limits);
            reply
        }
        Err(refusal) => refusal,
    }
}

/// The request `parts` asks about: its method, target and host from the proxy's headers,
/// every other header as sent.
fn described(parts: &Parts) -> Option<Parts> {
    let h = &parts.headers;
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let (method, target) = match parts.uri.path().strip_prefix(ENVOY_PREFIX) {
        Some(rest) if rest.starts_with('/') => {
            let query = parts
                .uri
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            (parts.method.clone(), format!("{rest}{query}"))
        }
        _ => {
            let target = text("x-forwarded-uri").or_else(|| text("x-original-uri"))?;
            let method = text("x-forwarded-method")
                .or_else(|| text("x-original-method"))
                .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
                .unwrap_or(Method::GET);
            (method, target.to_owned())
        }
    };
    // Origin form only: a proxy describes a path and query, never another host.
    let uri: Uri = target
        .parse()
        .ok()
        .filter(|u: &Uri| u.scheme().is_none() && u.path().starts_with('/'))?;
    let mut headers: HeaderMap = h.clone();
    if let Some(host) = text("x-forwarded-host").and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::HOST, host);
    }
    // The URL the client used, for a DPoP proof's `htu` (RFC 9449 §4.3): the scheme and host
    // the proxy saw, and the path.
    let target = match (text("x-forwarded-proto"), text("x-forwarded-host")) {
        (Some(proto @ ("http" | "https")), Some(host)) => {
            Some(DpopTarget(format!("{proto}://{host}{}", uri.path())))
        }
        _ => None,
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .ok()?;
    *request.headers_mut() = headers;
    if let Some(target) = target {
        request.extensions_mut().insert(target);
    }
    Some(request.into_parts().0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut r = http::Request::get(path);
        for (n, v) in headers {
            r = r.header(*n, *v);
        }
        r.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn each_proxy_describes_the_request_its_way() {
        let traefik = head(
            "/auth/verify",
            &[
                ("x-forwarded-method", "POST"),
                ("x-forwarded-uri", "/orders?x=1"),
                ("x-forwarded-host", "shop.example"),
                ("authorization", "Bearer t"),
            ],
        );
        let d = described(&traefik).unwrap_or_else(|| unreachable!());
        assert_eq!(
            (d.method.as_str(), d.uri.to_string()),
            ("POST", "/orders?x=1".into())
        );
        assert_eq!(d.headers["host"], "shop.example");
        assert_eq!(d.headers["authorization"], "Bearer t");
        let nginx = head("/auth/verify", &[("x-original-uri", "/admin")]);
        let d = described(&nginx).unwrap_or_else(|| unreachable!());
        assert_eq!((d.method.as_str(), d.uri.path()), ("GET", "/admin"));
        let envoy = head("/auth/envoy/orders/7?q=1", &[]);
        let d = described(&envoy).unwrap_or_else(|| unreachable!());
        assert_eq!(d.uri.to_string(), "/orders/7?q=1");
        // Nothing describes a request: nothing to check.
        assert!(described(&head("/auth/verify", &[])).is_none());
        assert!(described(&head("/auth/verify", &[("x-original-uri", "http://evil/")])).is_none());
    }
}
