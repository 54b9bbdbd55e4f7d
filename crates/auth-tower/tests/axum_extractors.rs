//! The axum extractors behind the layer: typed claims and the principal reach the handler;
//! a route outside the gate answers 401 with a challenge, never 500; the connection's
//! address reaches a per-IP gate.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::net::SocketAddr;

use auth_core::{CredentialKind, Error, Guard, Principal, TokenAuthenticator, TokenVerdict};
use auth_ratelimit::{Quota, RateLimiter};
use auth_tower::axum::{Authenticated, Claims};
use auth_tower::{GateLayer, PerIp};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Debug, Clone, PartialEq)]
struct MyClaims {
    tenant: String,
}

fn verify(token: &str) -> Result<TokenVerdict, Error> {
    Ok(match token {
        "good" => TokenVerdict::Valid(Principal::new("alice", CredentialKind::Jwt).with_attribute(
            MyClaims {
                tenant: "acme".into(),
            },
        )),
        _ => TokenVerdict::Invalid("unknown".into()),
    })
}

async fn orders(Claims(c): Claims<MyClaims>, Authenticated(p): Authenticated) -> String {
    format!("{} of {}", p.subject(), c.tenant)
}

async fn maybe(who: Option<Authenticated>) -> String {
    who.map_or_else(|| "anonymous".to_owned(), |p| p.subject().to_owned())
}

fn app() -> Router {
    let guard = Guard::new(TokenAuthenticator::bearer(
        "orders",
        verify as fn(&str) -> Result<TokenVerdict, Error>,
    ));
    Router::new()
        .route("/orders", get(orders))
        .layer(GateLayer::new(guard))
        // Outside the gate: nobody authenticated anything.
        .route("/open", get(orders))
        .route("/maybe", get(maybe))
}

async fn send(app: Router, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let mut request = request.body(axum::body::Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo("192.0.2.7:4000".parse::<SocketAddr>().unwrap()));
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn typed_claims_and_the_principal_reach_the_handler() {
    let (status, _, body) = send(app(), "/orders", Some("good")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice of acme"));
    let (status, challenge, _) = send(app(), "/orders", Some("bad")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.starts_with("Bearer"), "{challenge}");
}

#[tokio::test]
async fn without_a_principal_the_extractor_answers_401_not_500() {
    let (status, challenge, _) = send(app(), "/open", Some("good")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer");
    let (status, _, body) = send(app(), "/maybe", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
}

#[tokio::test]
async fn the_connection_address_keys_a_per_ip_gate() {
    let limiter = RateLimiter::builder(Quota::per_minute(1).unwrap())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/maybe", get(maybe))
        .layer(GateLayer::new(PerIp::new(limiter)));
    let (first, _, _) = send(app.clone(), "/maybe", None).await;
    assert_eq!(first, StatusCode::OK);
    let (second, _, _) = send(app.clone(), "/maybe", None).await;
    assert_eq!(second, StatusCode::TOO_MANY_REQUESTS);
    // Without the address the gate cannot key the request: a loud 500, not a pass.
    let bare = app
        .oneshot(
            Request::get("/maybe")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
