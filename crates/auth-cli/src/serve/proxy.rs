//! The reverse proxy (`--upstream URL`): a request that passed the gate goes to the upstream
//! with its body streamed, on a pooled keep-alive hyper client; the answer streams back.
//!
//! On the way up: the credential the gate checked is removed (`X-API-Key`, a `Bearer` or
//! `DPoP` `Authorization`, the `DPoP` proof); the client's own `X-Auth-*` headers are dropped and the identity is
//! added (`X-Auth-Subject`, `X-Auth-Scopes`, `X-Auth-Key-Id` for a key); `Forwarded` and
//! `X-Forwarded-For/-Proto/-Host` are replaced by what the trusted-proxy walk found; the
//! hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded. An upstream that cannot be
//! reached is a 502, one that does not answer in time a 504, both with a JSON body.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use auth_apikey::KeyId;
use auth_core::{Principal, Transport};
use auth_ratelimit::client_addr::TrustedProxies;
use http::header::{self, HeaderName};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Response, StatusCode, Uri};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::output::Error;

/// A response body: the gateway's own, or the upstream's streamed through.
pub(crate) type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The gateway's own body.
pub(crate) fn full(text: String) -> Body {
    Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed()
}

/// The identity headers the upstream (or a forward-auth caller) gets.
pub(crate) const SUBJECT: HeaderName = HeaderName::from_static("x-auth-subject");
/// Space-separated scopes.
pub(crate) const SCOPES: HeaderName = HeaderName::from_static("x-auth-scopes");
/// The API key's id, for a request made with a key.
pub(crate) const KEY_ID: HeaderName = HeaderName::from_static("x-auth-key-id");
/// A short-lived JWT of the caller signed by the gateway for the upstream (`upstream_token`).
pub(crate) const TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The upstream service.
#[derive(Debug)]
pub(crate) struct Upstream {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The upstream's path prefix, without a trailing slash.
    prefix: String,
    /// The URL as configured: the audience of `X-Auth-Token`.
    pub(crate) url: String,
    client: Client<HttpConnector, Body>,
    proxies: TrustedProxies,
    /// How long the upstream may take to answer with its head.
    timeout: Duration,
}

impl Upstream {
    /// The upstream at `url`: plain `http` (TLS to the upstream is not supported yet), to a
    /// loopback host unless `plaintext_anywhere`.
    pub(crate) fn new(
        url: &str,
        proxies: TrustedProxies,
        timeout: Duration,
        plaintext_anywhere: bool,
    ) -> Result<Self, Error> {
        let bad = |why: &str| Error::config(format!("--upstream {url}: {why}"));
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad(
                "only http:// upstreams for now (put the upstream on loopback or a private network)",
            ));
        }
        if uri.query().is_some() {
            return Err(bad("an upstream URL has no query"));
        }
        let transport = if plaintext_anywhere {
            Transport::danger_allow_plaintext()
        } else {
            Transport::default()
        };
        transport.check(&uri).map_err(|e| {
            bad(&format!(
                "{e}; give --insecure-http to send requests (and identities) in clear"
            ))
        })?;
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Self {
            scheme: http::uri::Scheme::HTTP,
            authority,
            prefix: uri.path().trim_end_matches('/').to_owned(),
            url: url.to_owned(),
            client,
            proxies,
            timeout,
        })
    }

    /// Sends the request that passed the gate as `principal` to the upstream.
    pub(crate) async fn forward(
        &self,
        mut parts: Parts,
        body: Incoming,
        max_body: u64,
        identity: HeaderMap,
        peer: SocketAddr,
        tls: bool,
    ) -> Response<Body> {
        let original_host = parts.headers.get(header::HOST).cloned();
        let client = self.proxies.client_ip(&parts.headers, peer.ip());
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let target = format!("{}{path}", self.prefix);
        parts.uri = match Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(target)
            .build()
        {
            Ok(uri) => uri,
            Err(_) => {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "the request path cannot be forwarded",
                );
            }
        };
        let headers = &mut parts.headers;
        strip_hop_by_hop(headers);
        strip_credentials(headers);
        headers.remove(header::FORWARDED);
        for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
            headers.remove(name);
        }
        headers.extend(identity);
        let proto = if tls { "https" } else { "http" };
        let forwarded = match &original_host {
            Some(h) => format!(
                "for=\"{}\";proto={proto};host=\"{}\"",
                node(client),
                h.to_str().unwrap_or_default()
            ),
            None => format!("for=\"{}\";proto={proto}", node(client)),
        };
        if let Ok(v) = HeaderValue::from_str(&forwarded) {
            headers.insert(header::FORWARDED, v);
        }
        if let Ok(v) = HeaderValue::from_str(&client.to_string()) {
            headers.insert("x-forwarded-for", v);
        }
        headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
        if let Some(h) = original_host {
            headers.insert("x-forwarded-host", h);
        }
        if let Ok(v) = HeaderValue::from_str(self.authority.as_str()) {
            headers.insert(header::HOST, v);
        }
        let started = Instant::now();
        let sent = tokio::time::timeout(
            self.timeout,
            self.client.request(http::Request::from_parts(
                parts,
                Limited::new(body, usize::try_from(max_body).unwrap_or(usize::MAX)).boxed(),
            )),
        )
        .await;
        let response = match sent {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => {
                super::metrics::upstream(StatusCode::BAD_GATEWAY, started.elapsed());
                return failure(StatusCode::BAD_GATEWAY, "the upstream cannot be reached");
            }
            Err(_) => {
                super::metrics::upstream(StatusCode::GATEWAY_TIMEOUT, started.elapsed());
                return failure(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the upstream did not answer in time",
                );
            }
        };
        super::metrics::upstream(response.status(), started.elapsed());
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Response::from_parts(parts, body.map_err(Into::into).boxed())
    }
}

/// The identity headers for `principal`; a value that cannot be a header value is left out.
pub(crate) fn identity(principal: &Principal) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(SUBJECT, principal.subject());
    put(SCOPES, principal.scopes().as_str());
    if let Some(id) = principal.attribute::<KeyId>() {
        put(KEY_ID, id.as_str());
    }
    headers
}

/// Removes the credential the gate reads (the key or token goes no further) and every
/// `X-Auth-*` header the client sent (only the gateway says who the caller is).
pub(crate) fn strip_credentials(headers: &mut HeaderMap) {
    headers.remove(X_API_KEY);
    headers.remove(auth_jwt::dpop::DPOP_HEADER);
    let ours = headers.get(header::AUTHORIZATION).is_some_and(|v| {
        let v = v.as_bytes();
        let scheme = |s: &[u8]| v.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s));
        scheme(b"bearer ") || scheme(b"dpop ")
    });
    if ours {
        headers.remove(header::AUTHORIZATION);
    }
    let claimed: Vec<HeaderName> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("x-auth-"))
        .cloned()
        .collect();
    for name in claimed {
        headers.remove(name);
    }
}

/// Removes the hop-by-hop fields: the fixed ones and those `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// An RFC 7239 node: an IPv6 address in brackets.
fn node(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// The gateway's own answer when the upstream failed.
fn failure(status: StatusCode, why: &str) -> Response<Body> {
    let mut response = Response::new(full(json!({"error": why}).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_claimed_identities_go_no_further() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_static("sk_live_x"));
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        h.insert("x-auth-subject", HeaderValue::from_static("root"));
        h.insert("x-auth-whatever", HeaderValue::from_static("1"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        strip_credentials(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        let mut dpop = HeaderMap::new();
        dpop.insert("authorization", HeaderValue::from_static("DPoP t"));
        dpop.insert("dpop", HeaderValue::from_static("proof"));
        dpop.insert("accept", HeaderValue::from_static("*/*"));
        strip_credentials(&mut dpop);
        assert_eq!(dpop.len(), 1, "{dpop:?}");
        // Another scheme is the upstream's own business.
        let mut basic = HeaderMap::new();
        basic.insert("authorization", HeaderValue::from_static("Basic dXNlcg=="));
        strip_credentials(&mut basic);
        assert!(basic.contains_key("authorization"));
    }

    #[test]
    fn hop_by_hop_fields_stop_here() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(
            h.keys().map(HeaderName::as_str).collect::<Vec<_>>(),
            ["x-kept"]
        );
    }
}
