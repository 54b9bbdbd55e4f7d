//! RFC 9728 through the layer: the document is public, every refusal points at it, and the
//! gate still guards everything else.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::convert::Infallible;

use auth_core::{
    Challenge, CredentialKind, Error, Guard, Principal, TokenAuthenticator, TokenVerdict, Transport,
};
use auth_tower::{GateLayer, ProtectedResource};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};

fn verify(token: &str) -> Result<TokenVerdict, Error> {
    Ok(match token {
        "good" => TokenVerdict::Valid(Principal::new("alice", CredentialKind::Jwt)),
        _ => TokenVerdict::Invalid("unknown".into()),
    })
}

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn layer() -> GateLayer<Guard<TokenAuthenticator<Verify>>> {
    let guard = Guard::new(TokenAuthenticator::bearer("orders", verify as Verify));
    let metadata = ProtectedResource::new("https://api.example/orders", Transport::default())
        .unwrap()
        .authorization_server("https://login.example")
        .scopes(["orders:read"]);
    GateLayer::new(guard).protected_resource(metadata)
}

async fn send(method: &str, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let service = ServiceBuilder::new()
        .layer(layer())
        .service_fn(|_req: Request<()>| async {
            Ok::<_, Infallible>(Response::new("the resource".to_owned()))
        });
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = service.oneshot(request.body(()).unwrap()).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource/orders";

#[tokio::test]
async fn the_document_is_served_to_anyone() {
    let (status, _, body) = send("GET", WELL_KNOWN, None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["resource"], "https://api.example/orders");
    assert_eq!(doc["authorization_servers"][0], "https://login.example");
    assert_eq!(doc["scopes_supported"][0], "orders:read");
    assert_eq!(doc["bearer_methods_supported"][0], "header");
}

#[tokio::test]
async fn refusals_point_at_the_document_and_the_gate_guards_the_rest() {
    let url = "https://api.example/.well-known/oauth-protected-resource/orders";
    for token in [None, Some("forged")] {
        let (status, challenge, _) = send("GET", "/orders/1", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let challenges = Challenge::parse_all(&challenge).unwrap();
        assert_eq!(
            challenges[0].param("resource_metadata"),
            Some(url),
            "{challenge}"
        );
    }
    // The positive twin on the same layer.
    let (status, challenge, body) = send("GET", "/orders/1", Some("good")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "the resource"));
    assert!(challenge.is_empty());
    // Only reading the document skips the gate.
    let (status, _, _) = send("POST", WELL_KNOWN, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
