//! RFC 9728 end to end: auth-tower's layer publishes a resource's metadata and names it in
//! its challenges; the layer's own answers, served on a loopback server, lead auth-oauth2's
//! client from a 401 to the resource's metadata and on to its authorization server.

use auth_core::{
    CredentialKind, HttpClient as _, Principal, ProtectedResource, TokenVerdict, Transport,
};
use auth_oauth2::ResourceMetadata;
use auth_tower::GateLayer;
use http_body_util::Either;
use tower_layer::Layer as _;
use tower_service::Service as _;

use super::*;

type Verify = fn(&str) -> Result<TokenVerdict, auth_core::Error>;

fn verify(token: &str) -> Result<TokenVerdict, auth_core::Error> {
    Ok(match token {
        "reader" => TokenVerdict::Valid(Principal::new("reader", CredentialKind::Jwt)),
        _ => TokenVerdict::Invalid("unknown".into()),
    })
}

/// The layer's answer to `method path` (with `token` as Bearer): status, headers, body.
async fn ask(
    layer: &GateLayer<Guard<TokenAuthenticator<Verify>>>,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<(u16, http::HeaderMap, String), String> {
    let mut service = layer.layer(tower_service_fn());
    let mut request = http::Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request.body(()).map_err(|e| e.to_string())?;
    let response = service.call(request).await.map_err(|e| format!("{e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = match body {
        Either::Left(refusal) => refusal,
        Either::Right(inner) => inner,
    };
    Ok((parts.status.as_u16(), parts.headers, body))
}

/// The protected service: answers "orders".
fn tower_service_fn() -> impl tower_service::Service<
    http::Request<()>,
    Response = http::Response<String>,
    Error = std::convert::Infallible,
    Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>,
> + Clone {
    #[derive(Clone)]
    struct Orders;
    impl tower_service::Service<http::Request<()>> for Orders {
        type Response = http::Response<String>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            std::future::ready(Ok(http::Response::new("orders".to_owned())))
        }
    }
    Orders
}

/// A loopback server answering `path` with the layer's own `response`.
async fn replay(server: &MockServer, at: &str, status: u16, headers: &http::HeaderMap, body: &str) {
    let mut template = ResponseTemplate::new(status).set_body_string(body);
    for (name, value) in headers {
        if let Ok(v) = value.to_str() {
            template = template.insert_header(name.as_str(), v);
        }
    }
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(template)
        .mount(server)
        .await;
}

pub(super) fn cases(s: &mut Suite) {
    s.case(
        "a 401 names the resource metadata, which names the authorization server",
        "RFC 9728 §3, §5.1, RFC 8414 §3",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let resource = format!("{}/api", server.uri());
                let issuer = format!("{}/as", server.uri());
                let metadata = ProtectedResource::new(&resource, Transport::default())
                    .map_err(|e| e.to_string())?
                    .authorization_server(&issuer)
                    .scopes(["orders:read"]);
                let layer = GateLayer::new(Guard::bearer("orders", verify as Verify))
                    .protected_resource(metadata);
                // The layer's answers, served over HTTP: a 401 on the API, the document on
                // its well-known path (read without a token), the AS's own metadata.
                let (status, headers, body) = ask(&layer, "GET", "/api/orders", None).await?;
                ensure_eq("status without a token", status, 401)?;
                replay(&server, "/api/orders", status, &headers, &body).await;
                let well_known = "/.well-known/oauth-protected-resource/api";
                let (status, headers, body) = ask(&layer, "GET", well_known, None).await?;
                ensure_eq("the document's status", status, 200)?;
                replay(&server, well_known, status, &headers, &body).await;
                let as_doc = json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")});
                Mock::given(method("GET"))
                    .and(path("/.well-known/oauth-authorization-server/as"))
                    .respond_with(ResponseTemplate::new(200).set_body_json(as_doc))
                    .mount(&server)
                    .await;
                // The positive twin on the same layer: a token passes, no challenge.
                let (status, headers, body) =
                    ask(&layer, "GET", "/api/orders", Some("reader")).await?;
                ensure(
                    status == 200 && body == "orders" && headers.get("www-authenticate").is_none(),
                    || format!("a valid token: {status} {body}"),
                )?;

                let http = http()?;
                let request_url = format!("{resource}/orders");
                let refused = http
                    .send(
                        http::Request::get(request_url.as_str())
                            .body(Vec::new())
                            .map_err(|e| e.to_string())?,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let found = ResourceMetadata::from_challenge(
                    &http,
                    &request_url,
                    refused.headers(),
                    Transport::default(),
                )
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the 401 named no resource metadata")?;
                ensure_eq("resource", found.resource(), resource.as_str())?;
                ensure_eq("scopes", found.scopes_supported(), vec!["orders:read"])?;
                ensure_eq(
                    "bearer methods",
                    found.bearer_methods_supported(),
                    vec!["header"],
                )?;
                let authorization_server = found
                    .authorization_server(&http, Transport::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure_eq(
                    "token endpoint",
                    authorization_server.token_endpoint(),
                    Some(format!("{issuer}/token").as_str()),
                )
            })
        },
    );
    s.case(
        "a challenge's document must describe the server that answered",
        "RFC 9728 §3.3, §7.3 (impersonation)",
        || {
            block_on(async {
                let server = MockServer::start().await;
                let named = |r: &str| json!({"resource": r, "authorization_servers": ["https://as.example"]});
                for (at, resource) in [
                    ("/good", format!("{}/api", server.uri())),
                    ("/other-origin", "https://api.example/api".to_owned()),
                    ("/other-path", format!("{}/billing", server.uri())),
                ] {
                    Mock::given(method("GET"))
                        .and(path(at))
                        .respond_with(ResponseTemplate::new(200).set_body_json(named(&resource)))
                        .mount(&server)
                        .await;
                }
                let http = http()?;
                let request_url = format!("{}/api/orders", server.uri());
                let follow = |at: &str| {
                    let mut headers = http::HeaderMap::new();
                    let challenge = format!(r#"Bearer resource_metadata="{}{at}""#, server.uri());
                    if let Ok(v) = http::HeaderValue::from_str(&challenge) {
                        headers.insert("www-authenticate", v);
                    }
                    let (http, request_url) = (http.clone(), request_url.clone());
                    async move {
                        ResourceMetadata::from_challenge(&http, &request_url, &headers, Transport::default()).await
                    }
                };
                ensure(matches!(follow("/good").await, Ok(Some(_))), || "the server's own document".into())?;
                for at in ["/other-origin", "/other-path"] {
                    let got = follow(at).await;
                    ensure(got.is_err(), || format!("{at}: {got:?}"))?;
                }
                // No resource_metadata in the challenge: nothing to follow, nothing fetched.
                let before = server.received_requests().await.map_or(0, |r| r.len());
                let mut bare = http::HeaderMap::new();
                bare.insert("www-authenticate", http::HeaderValue::from_static("Bearer realm=\"api\""));
                let none = ResourceMetadata::from_challenge(&http, &request_url, &bare, Transport::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure(none.is_none(), || "a bare challenge yielded metadata".into())?;
                ensure_eq("requests", server.received_requests().await.map_or(0, |r| r.len()), before)
            })
        },
    );
}
