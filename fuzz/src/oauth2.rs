//! `token_response`: RFC 6749 §5 token and error responses, through auth-oauth2's public
//! path (`OAuthClient::client_credentials` over an `HttpClient` closure that answers with the
//! input). auth-oauth2 has no public function that takes a token response's raw bytes, so the
//! target drives the client; its `HttpClient` seam is where those bytes enter.
//!
//! The first byte picks the status (200, 400, 401, 500); the rest is the body. Properties: no
//! panic; a token comes only from a 200 whose body is a JSON object with `token_type` Bearer
//! (any case) and a non-empty `access_token`, and it is that `access_token`.

use auth_core::Secret;
use auth_core::http_client::{HttpError, HttpRequest, HttpResponse};
use auth_oauth2::{ClientAuth, OAuthClient};

fn client(status: u16, body: Vec<u8>) -> OAuthClient {
    let http = move |_req: HttpRequest| {
        let mut r = HttpResponse::new(body.clone());
        *r.status_mut() = http::StatusCode::from_u16(status).expect("a status");
        async move { Ok::<_, HttpError>(r) }
    };
    OAuthClient::builder("client")
        .token_endpoint("https://as.example/token")
        .client_auth(ClientAuth::SecretBasic(Secret::new("secret")))
        .http_client(http)
        .build()
        .expect("the fuzzing client builds")
}

/// The property of target `token_response`.
pub fn check(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = [200, 400, 401, 500][usize::from(first % 4)];
    let got = crate::block_on(client(status, body.to_vec()).client_credentials());
    let Ok(tokens) = got else { return };
    assert_eq!(status, 200, "a token from HTTP {status}");
    // Both findings (fuzz/README.md) are fixed: the whole body must be one JSON value, in
    // UTF-8.
    let doc: serde_json::Value = serde_json::from_slice(body)
        .expect("a token from a body that is not one JSON value in UTF-8");
    let token_type = doc["token_type"]
        .as_str()
        .expect("a token without token_type");
    assert!(token_type.eq_ignore_ascii_case("bearer"), "{token_type:?}");
    let access = doc["access_token"]
        .as_str()
        .expect("a token without access_token");
    assert!(!access.is_empty(), "an empty access_token");
    assert_eq!(tokens.access_token().expose_secret(), access.as_bytes());
}
